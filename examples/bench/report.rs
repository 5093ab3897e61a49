//! Turns a run's rows and targets into what people read: markdown tables
//! (printed, and written to `benchmarks.md`), a TSV of the medians (read
//! back by the next run as "previous"), two SVG plots, and the README's
//! block between `<!-- bench:start -->` and `<!-- bench:end -->`. Nothing
//! here measures; every number comes from the `Ctx`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::harness::{Ctx, Row, Section, Sys, Target, Unit};
use crate::machine::Machine;

pub const README_START: &str = "<!-- bench:start -->";
pub const README_END: &str = "<!-- bench:end -->";

/// The targets of an earlier run (`benchmarks.tsv`), to show before/after.
pub struct Previous {
    pub commit: String,
    pub date: String,
    pub targets: BTreeMap<String, f64>,
}

pub fn read_previous(path: &Path) -> Option<Previous> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut p = Previous {
        commit: String::new(),
        date: String::new(),
        targets: BTreeMap::new(),
    };
    for line in text.lines() {
        let w: Vec<&str> = line.split('\t').collect();
        match w.as_slice() {
            ["meta", "commit", v] => p.commit = v.to_string(),
            ["meta", "date", v] => p.date = v.to_string(),
            ["target", label, v] => {
                if let Ok(x) = v.parse() {
                    p.targets.insert(label.to_string(), x);
                }
            }
            _ => {}
        }
    }
    Some(p)
}

pub fn tsv(ctx: &Ctx, m: &Machine) -> String {
    let mut s = String::from("# whefs benchmark medians, written by `make bench`; the next run shows these as \"previous\".\n");
    let _ = writeln!(s, "meta\tcommit\t{}", m.commit);
    let _ = writeln!(s, "meta\tdate\t{}", m.date);
    for t in &ctx.targets {
        let _ = writeln!(s, "target\t{}\t{}", t.label, t.value);
    }
    for r in &ctx.rows {
        for (sys, _) in &r.cells {
            let _ = writeln!(
                s,
                "row\t{}\t{}\t{}",
                r.id,
                sys.key(),
                r.median(*sys).unwrap_or(f64::NAN)
            );
        }
    }
    s
}

fn cell(r: &Row, sys: Sys) -> String {
    let Some(v) = r.median(sys) else {
        return "–".into();
    };
    let mut s = r.unit.format(v);
    if r.unit == Unit::Secs && r.ops > 1 {
        let _ = write!(s, " ({}/op)", Unit::Micros.format(v / r.ops as f64 * 1e6));
    }
    s
}

fn ratio(r: &Row, other: Sys) -> String {
    if !r.compare {
        return "".into();
    }
    r.speed(Sys::Whefs, other)
        .map_or("–".into(), |v| format!("{v:.2}×"))
}

fn spread(r: &Row) -> String {
    if r.cells.iter().all(|(_, v)| v.len() < 2) {
        return "–".into();
    }
    format!("{:.0}%", r.spread() * 100.0)
}

/// The value with enough decimals that the rounded number does not
/// contradict met/missed (against ≥ 1.6, 1.599 shows as "1.599", not "1.60").
fn target_value(t: &Target, v: f64) -> String {
    if !v.is_finite() {
        return "not measured".into();
    }
    let mut digits = if t.unit.is_empty() { 1 } else { 2 };
    while digits < 6 {
        let shown: f64 = format!("{v:.digits$}").parse().unwrap_or(v);
        if t.goal.met(shown) == t.goal.met(v) {
            break;
        }
        digits += 1;
    }
    format!("{v:.digits$}{}", t.unit)
}

fn systems_table(out: &mut String, rows: &[&Row]) {
    out.push_str(
        "| workload | plain | SQLite | whefs | whefs vs plain | whefs vs SQLite | spread |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            cell(r, Sys::Plain),
            cell(r, Sys::Sqlite),
            cell(r, Sys::Whefs),
            ratio(r, Sys::Plain),
            ratio(r, Sys::Sqlite),
            spread(r)
        );
    }
}

pub struct Meta<'a> {
    pub machine: &'a Machine,
    pub load_end: String,
    pub secs: f64,
    pub previous: Option<&'a Previous>,
}

pub fn markdown(ctx: &Ctx, meta: &Meta<'_>) -> String {
    let m = meta.machine;
    let mut s = String::new();
    s.push_str("# whefs benchmarks\n\n");
    s.push_str("Written by `make bench` (`examples/bench/`): do not edit, run it again.\n");
    let _ = writeln!(
        s,
        "One run: each workload on plain files, SQLite and whefs in turn, {} repetitions ({} for the expensive ones) with the order of the systems rotated every repetition (for the CGI path and the small commits, every operation); every figure is the median. Warm page cache throughout; whefs through its C API (`whefs::ffi`, the functions of `include/whefs.h`), plain files through libc, SQLite {} bundled (WAL). Speed ratios: above 1× whefs is faster. *Spread* is the widest (max − min) ÷ median of any system in the row: how noisy the machine was.{}\n",
        ctx.cfg.reps,
        ctx.cfg.heavy_reps,
        m.sqlite,
        if ctx.cfg.quick { " **Quick mode: tiny sizes, a smoke run; the figures mean nothing.**" } else { "" }
    );
    s.push_str("## Machine\n\n| | |\n|---|---|\n");
    for (k, v) in [
        ("CPU", m.cpu.as_str()),
        ("cores", m.cores.as_str()),
        ("memory", m.memory.as_str()),
        ("kernel", m.kernel.as_str()),
        ("bench directory", m.fs.as_str()),
        ("date", m.date.as_str()),
        ("commit", m.commit.as_str()),
        ("compiler", m.rustc.as_str()),
    ] {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(
        s,
        "| run | {:.0} s, of which {:.0} s building the data sets (not timed); load average {} at the start, {} at the end |\n",
        meta.secs, ctx.setup_secs, m.load_start, meta.load_end
    );

    let met = ctx.targets.iter().filter(|t| t.goal.met(t.value)).count();
    s.push_str("## Targets (issues 9, 10 and 13, \"Done when\")\n\n");
    let prev = meta.previous.filter(|p| !p.targets.is_empty());
    match prev {
        Some(p) => {
            let _ = writeln!(
                s,
                "*Previous* is the run recorded in `benchmarks.tsv` before this one: {} ({}).\n",
                p.commit, p.date
            );
            s.push_str("| issue | target | previous | this run | goal | met |\n|---|---|---:|---:|---:|---|\n");
        }
        None => s.push_str("| issue | target | this run | goal | met |\n|---|---|---:|---:|---|\n"),
    }
    for t in &ctx.targets {
        let mark = if t.goal.met(t.value) {
            "**met**"
        } else {
            "missed"
        };
        let goal = t.goal.text(t.unit);
        match prev {
            Some(p) => {
                let before = p
                    .targets
                    .get(&t.label)
                    .map_or("–".into(), |v| target_value(t, *v));
                let _ = writeln!(
                    s,
                    "| {} | {} | {before} | {} | {goal} | {mark} |",
                    t.issue,
                    t.label,
                    target_value(t, t.value)
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {goal} | {mark} |",
                    t.issue,
                    t.label,
                    target_value(t, t.value)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n**{met} of {} targets met.** ![targets](bench-targets.svg)\n",
        ctx.targets.len()
    );

    s.push_str("## ");
    s.push_str(Section::Floors.title());
    s.push_str("\n\n| floor | median | spread |\n|---|---:|---:|\n");
    for r in ctx.rows.iter().filter(|r| r.section == Section::Floors) {
        let v = r
            .cells
            .first()
            .map(|(sys, _)| cell(r, *sys))
            .unwrap_or_default();
        let _ = writeln!(s, "| {} | {v} | {} |", r.label, spread(r));
    }
    s.push('\n');
    for sec in [
        Section::Reads,
        Section::Writes,
        Section::Concurrency,
        Section::Maintenance,
    ] {
        let rows: Vec<&Row> = ctx
            .rows
            .iter()
            .filter(|r| r.section == sec && r.unit != Unit::Calls)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {}\n", sec.title());
        systems_table(&mut s, &rows);
        s.push('\n');
        if sec == Section::Reads || sec == Section::Writes {
            let _ = writeln!(s, "![{}](bench-speed.svg)\n", sec.title());
        }
    }
    if !ctx.syscalls.is_empty() {
        s.push_str("## Syscalls (`strace -c -f`)\n\n");
        s.push_str("Per operation: the counts of a run with N₂ operations minus one with N₁, divided by N₂ − N₁, so what a process does once (start, open, exit) cancels out; the CGI rows are one process minus a process that does nothing.\n\n");
        let calls: Vec<&Row> = ctx.rows.iter().filter(|r| r.unit == Unit::Calls).collect();
        if !calls.is_empty() {
            s.push_str("| per small commit | plain | SQLite | whefs |\n|---|---:|---:|---:|\n");
            for r in calls {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    r.label,
                    cell(r, Sys::Plain),
                    cell(r, Sys::Sqlite),
                    cell(r, Sys::Whefs)
                );
            }
            s.push('\n');
        }
        s.push_str("| process | syscalls per op | by name |\n|---|---:|---|\n");
        for p in &ctx.syscalls {
            let names: Vec<String> = p
                .by_name
                .iter()
                .map(|(n, c)| format!("{n} {}", trim_num(*c)))
                .collect();
            let _ = writeln!(s, "| {} | {:.1} | {} |", p.label, p.total, names.join(", "));
        }
        s.push('\n');
    }
    if !ctx.notes.is_empty() {
        s.push_str("## Notes\n\n");
        for n in &ctx.notes {
            let _ = writeln!(s, "- {n}");
        }
        s.push('\n');
    }
    s.push_str(METHOD);
    s.push_str("## The README's block\n\n`make bench` writes this between the `bench:start` and `bench:end` markers of README.md:\n\n");
    s.push_str(&readme_block(ctx, meta, "docs/"));
    s
}

/// How each workload is measured (the code is in `examples/bench/`).
const METHOD: &str = "## How each workload is measured

Every store lives under the bench directory (one filesystem for all three); handles, connections and prepared statements are opened before the clock starts; a read copies the bytes into a buffer the caller owns.

- **Random reads**: every file of the set once, in one shuffled order shared by the systems; 1,000 files to a directory. whefs `whefs_read_file` on a read-only handle; plain `open` + `read` + `close`; SQLite `SELECT data FROM files WHERE path = ?` (WAL, `path` the primary key).
- **stat**: 10,000 names of the 10,000-file set in random order: `whefs_stat`, `stat()`, `SELECT length(data)`.
- **Listing**: one directory of 2,000 files of 4 KiB, listed 20 times per sample: `whefs_dir_open`/`next`/`close` (the size is in each entry), `opendir`/`readdir` + `fstatat` per entry, a range `SELECT path, length(data)` on the key.
- **Sequential read**: a 512 MiB file in 1 MiB calls: `whefs_file_open` + `whefs_file_read` until 0 + close, against `open` + a `pread` loop. whefs reads each extent's span of a call (at most 496 KiB) in two halves at once, one on the calling thread and one on the open's read helper thread, each reading and verifying its own pages; the raw loop reads on one thread.
- **CGI path**: this program re-executed (`--child cgi`) for every request, on every system, and once more doing nothing (the process-start floor); the systems take turns per process. The whefs child does `whefs_fs_open` (read-only) + `whefs_read_file` + `whefs_fs_close`.
- **Reader latency**: this process reads a 4 KiB file (`whefs_read_file`, `open`+`read`+`close`, `SELECT`) for 1 s idle, then 1 s while a writer process (`--child writer`) rewrites 4 KiB of another file and commits in a loop, at off and then at full; p50 and p99 of the single calls; the ratio is taken per repetition.
- **Reader threads**: one thread reads the 10,000 files once, then two threads on the same handle read them once each (own orders); SQLite gets one connection per thread.
- **Small commits**: each repetition into a fresh store per system, the systems taking turns per commit (a sync's cost drifts over minutes on a shared disk), and with them a bare 4 KiB `pwrite` [+ `fdatasync`], the floor of that moment: 2,000 new 4 KiB files in one directory: `whefs_write_file` at `WHEFS_DURABLE_FULL` (or `OFF`); `open(O_CREAT|O_TRUNC)` + `pwrite` + `fdatasync` + `close` (or no sync); an autocommit `INSERT` at `synchronous=FULL` (or `OFF`), WAL. At `full` the whefs container file grows ahead of the commits by up to 16 pages of zeros at a time (SQLite's WAL is rewritten in place once it has its size), so most commits overwrite blocks the file has.
- **Import**: a fresh store: `whefs_txn_begin`, `whefs_txn_mkdir_all` of 10 directories, 10,000 `whefs_txn_write` of 10 KiB, `whefs_txn_commit`, at full; against `BEGIN`, 10,000 `INSERT`, `COMMIT` at `synchronous=FULL`. The size is the file's after close (SQLite: database + WAL).
- **Sequential write**: a fresh store: `whefs_file_open(\"w\")`, 512 `whefs_file_write` of 1 MiB, `whefs_file_close` (the commit, at full), against `open` + 512 `pwrite` + `fdatasync`. whefs starts the write-back of every 8 MiB it has written as it goes (`sync_file_range`, as RocksDB's `bytes_per_sync`); the raw loop leaves it all to its one `fdatasync`.
- **Writer processes**: one process for 1 s, then two at once for 1 s on different files; each rewrites 4 KiB of its own file and commits in a loop (`whefs_file_pwrite` + `whefs_file_flush`; `pwrite` [+ `fdatasync`]; `UPDATE`).
- **Syscalls**: `strace -f -c` of a child making N₁ and then N₂ commits; the difference over N₂ − N₁ is per commit, by name.
- **Backup**: the 10,000-file set's container (built by 10,000 small commits, so it has free pages), opened read-only once: `Fs::backup_to` into a new file (the library syncs it before linking it into place) against `cp --reflink=never` of the container file followed by `fsync` of the copy. Both rates are the *container file's* bytes over the time, so their ratio is the ratio of the times; the backup writes fewer bytes (live pages only), shown as its size × the container file.
- **Compaction**: a fresh container gets 10,000 files of 10 KiB in one transaction and loses every other one in a second (durability off, not timed); a fresh open at full durability, as `whefs compact` makes, runs `Fs::compact`, timed. Sizes before and after are the file's, × the payload of the files left; the target compares the pages after with the live ones.

";

fn trim_num(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

/// The block for README.md; `docs` is the prefix of the links (relative to README.md).
pub fn readme_block(ctx: &Ctx, meta: &Meta<'_>, docs: &str) -> String {
    let m = meta.machine;
    let met = ctx.targets.iter().filter(|t| t.goal.met(t.value)).count();
    let hash = m.commit.split_whitespace().next().unwrap_or("unknown");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "One run of `make bench` ({} repetitions, {} for the expensive workloads, systems alternated, medians; warm page cache; whefs through its C API) on {} ({}), {}, {}, commit {hash}. Ratios are speed: above 1× whefs is faster. Machine, floors, every workload and the issues' targets ({met} of {} met): [{docs}benchmarks.md]({docs}benchmarks.md).\n",
        ctx.cfg.reps,
        ctx.cfg.heavy_reps,
        m.cpu,
        m.cores.split(',').next().unwrap_or(""),
        m.fs_type,
        m.date,
        ctx.targets.len()
    );
    s.push_str("| workload | plain files | SQLite (WAL) | whefs | whefs vs plain | whefs vs SQLite |\n|---|---:|---:|---:|---:|---:|\n");
    for r in ctx.rows.iter().filter(|r| r.readme) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.label,
            cell(r, Sys::Plain),
            cell(r, Sys::Sqlite),
            cell(r, Sys::Whefs),
            ratio(r, Sys::Plain),
            ratio(r, Sys::Sqlite)
        );
    }
    let _ = writeln!(
        s,
        "\n![whefs speed relative to plain files and SQLite]({docs}bench-speed.svg)"
    );
    s
}

/// Replaces the text between the markers; `None` if README has no markers.
pub fn splice_readme(readme: &str, block: &str) -> Option<String> {
    let a = readme.find(README_START)? + README_START.len();
    let b = a + readme[a..].find(README_END)?;
    Some(format!("{}\n{}{}", &readme[..a], block, &readme[b..]))
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "")
}

/// A label for a plot: without the parenthesized groups that name the
/// calls (those holding a backtick or a " / "), at most 90 characters.
fn short(label: &str) -> String {
    let mut out = String::new();
    let mut group = String::new();
    let mut depth = 0;
    for c in label.chars() {
        match c {
            '(' => {
                depth += 1;
                group.push(c);
            }
            ')' if depth > 0 => {
                depth -= 1;
                group.push(c);
                if depth == 0 {
                    if !(group.contains('`') || group.contains(" / ")) {
                        out.push_str(&group);
                    } else if out.ends_with(' ') {
                        out.pop();
                    }
                    group.clear();
                }
            }
            _ if depth > 0 => group.push(c),
            _ => out.push(c),
        }
    }
    out.push_str(&group);
    let l: String = out.chars().take(90).collect();
    xml(&l)
}

/// Horizontal bars on a log axis from 1/`span` to `span`, a line at 1.
struct Bars {
    title: String,
    items: Vec<(String, f64, &'static str, String)>,
}

impl Bars {
    fn svg(&self, span: f64) -> String {
        // About 6 px per character of 11 px sans-serif.
        let longest = self
            .items
            .iter()
            .map(|i| i.0.chars().count())
            .max()
            .unwrap_or(0);
        let left = (longest as f64 * 6.0 + 20.0).clamp(200.0, 600.0);
        let (row, right) = (20.0, 170.0);
        let w = left + 420.0 + right;
        let h = 50.0 + row * self.items.len() as f64;
        let plot = w - left - right;
        let x = |v: f64| {
            left + ((v.max(1.0 / span).min(span)).log10() / span.log10() + 1.0) / 2.0 * plot
        };
        let mut s = format!(
            "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='11'>\n\
             <rect width='100%' height='100%' fill='white'/>\n\
             <text x='10' y='18' font-size='13'>{}</text>\n",
            xml(&self.title)
        );
        for k in [1.0 / span, 0.1, 0.5, 2.0, 10.0, span] {
            if k >= 1.0 / span && k <= span {
                let _ = writeln!(
                    s,
                    "<line x1='{0:.1}' y1='28' x2='{0:.1}' y2='{1}' stroke='#ddd'/><text x='{0:.1}' y='{2}' text-anchor='middle' fill='#888'>{k}×</text>",
                    x(k),
                    h - 14.0,
                    h - 3.0
                );
            }
        }
        for (i, (label, v, color, note)) in self.items.iter().enumerate() {
            let y = 32.0 + row * i as f64;
            let (x0, x1) = (x(1.0), x(*v));
            let (bx, bw) = if x1 >= x0 {
                (x0, x1 - x0)
            } else {
                (x1, x0 - x1)
            };
            let _ = writeln!(
                s,
                "<text x='{:.0}' y='{:.0}' text-anchor='end'>{label}</text><rect x='{bx:.1}' y='{:.0}' width='{:.1}' height='{:.0}' fill='{color}'/><text x='{:.1}' y='{:.0}'>{}</text>",
                left - 6.0,
                y + 12.0,
                y + 2.0,
                bw.max(1.0),
                row - 5.0,
                x0.max(x1) + 4.0,
                y + 12.0,
                xml(note)
            );
        }
        let one = x(1.0);
        let _ = writeln!(
            s,
            "<line x1='{one:.1}' y1='26' x2='{one:.1}' y2='{:.0}' stroke='#000'/>\n</svg>",
            h - 14.0
        );
        s
    }
}

/// whefs's speed relative to plain files and to SQLite, per workload.
pub fn speed_svg(ctx: &Ctx) -> String {
    let mut items = Vec::new();
    for r in ctx.rows.iter().filter(|r| {
        r.compare
            && matches!(
                r.section,
                Section::Reads | Section::Writes | Section::Maintenance
            )
    }) {
        for (other, name, color) in [
            (Sys::Plain, "plain", "#8a8f98"),
            (Sys::Sqlite, "SQLite", "#4a78c8"),
        ] {
            if let Some(v) = r.speed(Sys::Whefs, other) {
                items.push((
                    format!("{} — vs {name}", short(&r.label)),
                    v,
                    color,
                    format!("{v:.2}×"),
                ));
            }
        }
    }
    Bars {
        title: "whefs speed relative to plain files (grey) and SQLite (blue), log scale: right of the line is faster".into(),
        items,
    }
    .svg(20.0)
}

/// Each target's measured value relative to its goal: right of the line is met.
pub fn targets_svg(ctx: &Ctx) -> String {
    let items = ctx
        .targets
        .iter()
        .map(|t| {
            let score = t.goal.score(t.value);
            let met = t.goal.met(t.value);
            (
                format!("#{} {}", t.issue, short(&t.label)),
                if score.is_finite() { score } else { 1.0 / 20.0 },
                if met { "#2a9d55" } else { "#d04a3a" },
                format!(
                    "{} (goal {})",
                    target_value(t, t.value),
                    t.goal.text(t.unit)
                ),
            )
        })
        .collect();
    Bars {
        title: "issues 9, 10 and 13: each target, measured ÷ goal (log scale): right of the line is met (green)".into(),
        items,
    }
    .svg(20.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plot_labels_drop_the_call_names_only() {
        assert_eq!(
            super::short("reads of 10 KiB (`whefs_read_file` / open+read+close), warm (off)"),
            "reads of 10 KiB, warm (off)"
        );
        assert_eq!(
            super::short("10 stat of random names (`whefs_stat` / `stat()` / SELECT length)"),
            "10 stat of random names"
        );
    }

    #[test]
    fn a_target_value_never_rounds_across_its_goal() {
        use crate::harness::{Goal, Target};
        let t = Target {
            issue: 10,
            label: String::new(),
            value: 0.0,
            goal: Goal::AtLeast(1.6),
            unit: "×",
        };
        assert_eq!(super::target_value(&t, 1.599), "1.599×");
        assert_eq!(super::target_value(&t, 1.5996), "1.5996×");
        assert_eq!(super::target_value(&t, 1.23), "1.23×");
    }

    #[test]
    fn readme_block_is_replaced_between_the_markers_only() {
        let readme = "a\n<!-- bench:start -->\nold\n<!-- bench:end -->\nb\n";
        let out = super::splice_readme(readme, "new\n").expect("markers");
        assert_eq!(out, "a\n<!-- bench:start -->\nnew\n<!-- bench:end -->\nb\n");
        assert!(super::splice_readme("no markers", "x").is_none());
    }
}
