//! Text handling shared by the commands: joining and splitting container
//! paths (as strings only — the library validates and normalizes them, in
//! one place), and times and sizes for people.

/// The container path of entry `name` of directory `dir`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The last component of a container path (`None` for the root).
pub fn basename(path: &str) -> Option<&str> {
    let trimmed = path.trim_end_matches('/');
    let name = trimmed.rsplit('/').next().unwrap_or(trimmed);
    (!name.is_empty()).then_some(name)
}

/// The directory holding a container path (`"/"` for top-level names).
pub fn parent(path: &str) -> &str {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some((dir, _)) if !dir.trim_matches('/').is_empty() => dir,
        _ => "/",
    }
}

/// Whether a container path names the root directory.
pub fn is_root(path: &str) -> bool {
    path.trim_matches('/').is_empty()
}

/// A container path in one spelling: `/`-rooted, no empty components
/// (`a//b/` is `/a/b`). Only for comparing paths; the library does the
/// real validation.
pub fn normalize(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

/// Whether normalized `path` is `dir` or lies below it.
pub fn is_within(path: &str, dir: &str) -> bool {
    path == dir || dir == "/" || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// A time in nanoseconds since the Unix epoch as `2024-05-01 12:34:56Z` (UTC).
pub fn utc(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rest / 3600, rest / 60 % 60, rest % 60);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}Z")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A byte count for people: `512 B`, `4.0 KiB`, `3.5 MiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `n` and a noun, plural unless `n` is 1: `1 page`, `3 pages`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A number of pages with the bytes they are: `3 pages (12.0 KiB)`.
pub fn pages(n: u64, page_size: u32) -> String {
    let bytes = n.saturating_mul(u64::from(page_size));
    format!("{} ({})", count(n, "page"), human(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_and_join_like_unix() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(join("a/", "b"), "a/b");
        assert_eq!(basename("/a/b.txt"), Some("b.txt"));
        assert_eq!(basename("a/b/"), Some("b"));
        assert_eq!(basename("/"), None);
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("a/b/c/"), "a/b");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("a"), "/");
        assert!(is_root("/") && is_root("") && is_root("//") && !is_root("/a"));
        assert_eq!(normalize("a//b/"), "/a/b");
        assert_eq!(normalize("/"), "/");
        assert!(is_within("/a/b", "/a") && is_within("/a", "/a") && is_within("/a", "/"));
        assert!(!is_within("/ab", "/a") && !is_within("/a", "/a/b"));
    }

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(951_782_400 * 1_000_000_000), "2000-02-29 00:00:00Z");
        assert_eq!(utc(1_700_000_000_123_456_789), "2023-11-14 22:13:20Z");
        assert_eq!(utc(-1), "1969-12-31 23:59:59Z");
    }

    #[test]
    fn counts_and_pages() {
        assert_eq!(count(1, "page"), "1 page");
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(pages(3, 4096), "3 pages (12.0 KiB)");
        assert_eq!(pages(1, 8192), "1 page (8.0 KiB)");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(4096), "4.0 KiB");
        assert_eq!(human(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    }
}
