//! What the run ran on, read from the system at run time: CPU model and
//! cores, memory, kernel, the filesystem holding the bench directory, the
//! date and the git commit of the code measured. A figure is only
//! meaningful next to these.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Machine {
    pub cpu: String,
    pub cores: String,
    pub memory: String,
    pub kernel: String,
    /// Type, device and mount point of the bench directory's filesystem.
    pub fs_type: String,
    pub fs: String,
    pub date: String,
    pub commit: String,
    pub rustc: String,
    pub sqlite: String,
    pub load_start: String,
}

fn first_line_with(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

fn uname() -> String {
    // SAFETY: plain old data, filled by the call.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a writable struct.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown".into();
    }
    let field = |f: &[libc::c_char]| {
        // SAFETY: uname fills NUL-terminated strings.
        unsafe { std::ffi::CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    format!(
        "{} {} ({})",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

/// The mount that holds `dir`: (type, "device on mount point").
pub fn filesystem(dir: &Path) -> (String, String) {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let best = mounts
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 3).then(|| {
                (
                    w[0].to_string(),
                    w[1].replace("\\040", " "),
                    w[2].to_string(),
                )
            })
        })
        .filter(|(_, at, _)| dir.starts_with(at))
        .max_by_key(|(_, at, _)| at.len());
    match best {
        Some((dev, at, ty)) => (ty.clone(), format!("{ty} ({dev} on {at})")),
        None => ("unknown".into(), "unknown".into()),
    }
}

fn command(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit measured, with "+ local changes" when the tree differs from it.
fn git_commit() -> String {
    let Some(hash) = command("git", &["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown (no git)".into();
    };
    let subject = command("git", &["log", "-1", "--format=%s"]).unwrap_or_default();
    let subject: String = subject.chars().take(72).collect();
    let dirty = command("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    format!(
        "{hash}{} — {subject}",
        if dirty { " + local changes" } else { "" }
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60
    )
}

pub fn describe(dir: &Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = first_line_with(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into());
    let logical = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let usable = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = first_line_with(&meminfo, "MemTotal")
        .and_then(|v| {
            v.split_whitespace()
                .next()
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or("unknown".into(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    let (fs_type, fs) = filesystem(dir);
    Machine {
        cpu,
        cores: format!("{logical} logical CPUs, {usable} usable by this process"),
        memory,
        kernel: uname(),
        fs_type,
        fs: format!("{} — {fs}", dir.display()),
        date: now_utc(),
        commit: git_commit(),
        rustc: command("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        sqlite: rusqlite::version().to_string(),
        load_start: loadavg(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(super::civil(0), (1970, 1, 1));
        assert_eq!(super::civil(19_723), (2024, 1, 1));
        assert_eq!(super::civil(19_782), (2024, 2, 29));
    }
}
