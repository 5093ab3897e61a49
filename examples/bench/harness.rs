//! The measuring core: the run's configuration and sizes, the alternation
//! of systems over repetitions, medians, and the rows and targets that a
//! workload records. Invariant: every number in the report is a median of
//! samples taken in this run; nothing here knows a figure in advance except
//! the targets, which are the issues' goals.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use crate::fixture::FileSet;

/// A system under comparison. `Host` is the machine itself (the floors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sys {
    Plain,
    Sqlite,
    Whefs,
    Host,
}

impl Sys {
    pub fn name(self) -> &'static str {
        match self {
            Sys::Plain => "plain",
            Sys::Sqlite => "SQLite",
            Sys::Whefs => "whefs",
            Sys::Host => "host",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Sys::Plain => "plain",
            Sys::Sqlite => "sqlite",
            Sys::Whefs => "whefs",
            Sys::Host => "host",
        }
    }
}

/// What a sample measures, and so which way is better and how it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Wall seconds for the whole sample (lower is better).
    Secs,
    /// Microseconds (lower is better).
    Micros,
    /// Operations per second (higher is better).
    PerSec,
    /// A ratio such as a scaling factor (higher is better).
    Times,
    /// Bytes on disk as a multiple of the payload (lower is better).
    Payload,
    /// System calls per operation (lower is better).
    Calls,
    /// Gigabytes (10^9) per second (higher is better).
    GBps,
    /// Megabytes (10^6) per second (higher is better).
    MBps,
    /// A slowdown factor such as loaded ÷ idle latency (lower is better).
    Slowdown,
}

impl Unit {
    pub fn lower_is_better(self) -> bool {
        matches!(
            self,
            Unit::Secs | Unit::Micros | Unit::Payload | Unit::Calls | Unit::Slowdown
        )
    }

    pub fn format(self, v: f64) -> String {
        if !v.is_finite() {
            return "–".into();
        }
        match self {
            Unit::Secs if v < 0.01 => format!("{:.2} ms", v * 1e3),
            Unit::Secs if v < 10.0 => format!("{v:.3} s"),
            Unit::Secs => format!("{v:.1} s"),
            Unit::Micros if v < 10.0 => format!("{v:.2} µs"),
            Unit::Micros if v < 10_000.0 => format!("{v:.1} µs"),
            Unit::Micros => format!("{:.1} ms", v / 1e3),
            Unit::PerSec => format!("{}/s", thousands(v.round() as u64)),
            Unit::Times | Unit::Payload | Unit::Slowdown => format!("{v:.2}×"),
            Unit::Calls => format!("{v:.1}"),
            Unit::GBps => format!("{v:.2} GB/s"),
            Unit::MBps => format!("{v:.0} MB/s"),
        }
    }
}

/// 12345678 → "12,345,678".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Where a row goes in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Floors,
    Reads,
    Writes,
    /// Latency, threads and processes: ratios within one system.
    Concurrency,
    /// Backup and compaction.
    Maintenance,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Floors => "Floors (the machine, measured in this run)",
            Section::Reads => "Reads (issue 9)",
            Section::Writes => "Writes (issue 10)",
            Section::Concurrency => "Latency, threads and processes (issues 9 and 10)",
            Section::Maintenance => "Backup and compaction (issue 13)",
        }
    }
}

/// One measured quantity on one or more systems.
pub struct Row {
    pub section: Section,
    /// Stable key, used in `benchmarks.tsv`.
    pub id: String,
    pub label: String,
    pub unit: Unit,
    /// Operations per sample: a `Secs` row also shows the time per operation.
    pub ops: u64,
    /// Samples per system, in the order measured.
    pub cells: Vec<(Sys, Vec<f64>)>,
    /// Whether "whefs vs plain / vs SQLite" speed ratios mean something here.
    pub compare: bool,
    /// Whether the README's table shows this row.
    pub readme: bool,
}

impl Row {
    pub fn median(&self, sys: Sys) -> Option<f64> {
        self.cells
            .iter()
            .find(|(s, _)| *s == sys)
            .map(|(_, v)| median(v))
    }

    /// How many times faster (or better) `a` is than `b`: above 1, `a` wins.
    pub fn speed(&self, a: Sys, b: Sys) -> Option<f64> {
        let (x, y) = (self.median(a)?, self.median(b)?);
        Some(if self.unit.lower_is_better() {
            y / x
        } else {
            x / y
        })
    }

    /// The largest relative spread (max − min) / median over the systems.
    pub fn spread(&self) -> f64 {
        self.cells
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(_, v)| {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (hi - lo) / median(v).abs().max(f64::MIN_POSITIVE)
            })
            .fold(0.0, f64::max)
    }
}

/// One system's side of an interleaved workload: `begin` and `end` (not
/// timed) around each repetition, `step(i)` the timed operation i.
pub trait Stepper {
    fn begin(&mut self);
    fn step(&mut self, i: usize);
    fn end(&mut self);
}

/// Which way an issue's target points.
#[derive(Clone, Copy, Debug)]
pub enum Goal {
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    pub fn met(self, v: f64) -> bool {
        match self {
            Goal::AtLeast(t) => v >= t,
            Goal::AtMost(t) => v <= t,
        }
    }

    /// Measured over target, oriented so that ≥ 1 is met.
    pub fn score(self, v: f64) -> f64 {
        match self {
            Goal::AtLeast(t) => v / t,
            Goal::AtMost(t) => t / v,
        }
    }

    pub fn text(self, unit: &str) -> String {
        match self {
            Goal::AtLeast(t) => format!("≥ {t}{unit}"),
            Goal::AtMost(t) => format!("≤ {t}{unit}"),
        }
    }
}

/// One line of an issue's "Targets" table, with what this run measured.
pub struct Target {
    pub issue: u32,
    pub label: String,
    pub value: f64,
    pub goal: Goal,
    /// Printed after the number, e.g. "× plain".
    pub unit: &'static str,
}

/// A syscall count per operation, by name (from `strace -c -f`).
pub struct SyscallProfile {
    pub label: String,
    pub total: f64,
    pub by_name: Vec<(String, f64)>,
}

/// Sizes of every workload; the quick mode shrinks them all.
pub struct Sizes {
    pub small_set: usize,
    pub large_set: usize,
    pub file_size: usize,
    pub stats: usize,
    pub list_entries: usize,
    pub list_rounds: usize,
    pub seq_mib: usize,
    pub cgi_procs: usize,
    pub latency_secs: f64,
    pub writer_secs: f64,
    pub commits: usize,
    pub commit_size: usize,
    pub import_files: usize,
    /// Files written before half of them are deleted and the container compacted.
    pub compact_files: usize,
    pub floor_reads: usize,
    pub floor_writes: usize,
    pub floor_syncs: usize,
    /// Commits traced by strace: the difference between the two runs is
    /// divided by the difference of these, so setup and exit cancel out.
    pub strace_commits_full: (usize, usize),
    pub strace_commits_off: (usize, usize),
}

impl Sizes {
    pub fn full() -> Sizes {
        Sizes {
            small_set: 10_000,
            large_set: 100_000,
            file_size: 10 * 1024,
            stats: 10_000,
            list_entries: 2_000,
            list_rounds: 20,
            seq_mib: 512,
            cgi_procs: 500,
            latency_secs: 1.0,
            writer_secs: 1.0,
            commits: 2_000,
            commit_size: 4096,
            import_files: 10_000,
            compact_files: 10_000,
            floor_reads: 100_000,
            floor_writes: 50_000,
            floor_syncs: 100,
            strace_commits_full: (20, 120),
            strace_commits_off: (50, 550),
        }
    }

    pub fn quick() -> Sizes {
        Sizes {
            small_set: 300,
            large_set: 600,
            file_size: 10 * 1024,
            stats: 300,
            list_entries: 100,
            list_rounds: 2,
            seq_mib: 4,
            cgi_procs: 5,
            latency_secs: 0.05,
            writer_secs: 0.05,
            commits: 30,
            commit_size: 4096,
            import_files: 200,
            compact_files: 200,
            floor_reads: 1_000,
            floor_writes: 1_000,
            floor_syncs: 3,
            strace_commits_full: (2, 6),
            strace_commits_off: (2, 12),
        }
    }
}

pub struct Config {
    pub quick: bool,
    /// Repetitions of a cheap workload, and of an expensive one.
    pub reps: usize,
    pub heavy_reps: usize,
    /// Scratch data (containers, databases, directories); removed at the end.
    pub dir: PathBuf,
    pub sizes: Sizes,
    /// The `strace` binary, if there is a working one.
    pub strace: Option<PathBuf>,
}

/// What a workload function works with and records into.
pub struct Ctx {
    pub cfg: Config,
    pub rows: Vec<Row>,
    pub targets: Vec<Target>,
    pub syscalls: Vec<SyscallProfile>,
    /// Free-form lines for the report ("skipped because ...").
    pub notes: Vec<String>,
    /// Seconds spent building shared data sets (not timed, but part of the run).
    pub setup_secs: f64,
    sets: BTreeMap<(usize, usize, &'static str, usize), Rc<FileSet>>,
    started: Instant,
}

impl Ctx {
    pub fn new(cfg: Config) -> Ctx {
        Ctx {
            cfg,
            rows: Vec::new(),
            targets: Vec::new(),
            syscalls: Vec::new(),
            notes: Vec::new(),
            setup_secs: 0.0,
            sets: BTreeMap::new(),
            started: Instant::now(),
        }
    }

    pub fn sizes(&self) -> &Sizes {
        &self.cfg.sizes
    }

    /// A progress line on stderr (the report goes to stdout).
    pub fn progress(&self, what: &str) {
        eprintln!("[{:>6.1} s] {what}", self.started.elapsed().as_secs_f64());
    }

    /// `n` files of `size` bytes named `<prefix>DDD/fNNNNNN`, `per_dir` to a
    /// directory, on all three systems: built once per run and shared by
    /// the workloads that read it.
    pub fn file_set(
        &mut self,
        n: usize,
        size: usize,
        prefix: &'static str,
        per_dir: usize,
    ) -> Rc<FileSet> {
        let key = (n, size, prefix, per_dir);
        if let Some(s) = self.sets.get(&key) {
            return Rc::clone(s);
        }
        self.progress(&format!(
            "building a set of {} files of {} bytes on the three systems (not timed)",
            thousands(n as u64),
            thousands(size as u64)
        ));
        let t = Instant::now();
        let set = Rc::new(FileSet::build(&self.cfg.dir, n, size, prefix, per_dir));
        self.setup_secs += t.elapsed().as_secs_f64();
        self.sets.insert(key, Rc::clone(&set));
        set
    }

    /// Runs every trial `reps` times, rotating the order of the systems
    /// each repetition (plain, SQLite, whefs; then SQLite, whefs, plain; ...)
    /// so that drift in the machine's load hits all of them alike. With
    /// `warmup`, each trial runs once first, unrecorded.
    pub fn alternate<T>(
        &self,
        reps: usize,
        warmup: bool,
        trials: &mut [(Sys, &mut dyn FnMut() -> T)],
    ) -> Vec<(Sys, Vec<T>)> {
        if warmup {
            for (_, f) in trials.iter_mut() {
                f();
            }
        }
        let n = trials.len();
        let mut out: Vec<(Sys, Vec<T>)> = trials.iter().map(|(s, _)| (*s, Vec::new())).collect();
        for r in 0..reps {
            for k in 0..n {
                let i = (k + r) % n;
                let sample = (trials[i].1)();
                out[i].1.push(sample);
            }
        }
        out
    }

    /// Like `alternate`, but the systems take turns per *operation*: in
    /// each repetition, operation i runs on every system (in an order that
    /// rotates with i and the repetition) before operation i + 1. For
    /// operations of a millisecond or more (a sync, a process), where the
    /// machine's drift over a batch would swamp the comparison. Returns
    /// the seconds of the `steps` operations per system and repetition.
    pub fn interleave(
        &self,
        reps: usize,
        steps: usize,
        systems: &mut [(Sys, &mut dyn Stepper)],
    ) -> Vec<(Sys, Vec<f64>)> {
        let n = systems.len();
        let mut out: Vec<(Sys, Vec<f64>)> = systems.iter().map(|(s, _)| (*s, Vec::new())).collect();
        for r in 0..reps {
            for (_, s) in systems.iter_mut() {
                s.begin();
            }
            let mut total = vec![0.0; n];
            for i in 0..steps {
                for k in 0..n {
                    let j = (k + i + r) % n;
                    let t = Instant::now();
                    systems[j].1.step(i);
                    total[j] += t.elapsed().as_secs_f64();
                }
            }
            for (_, s) in systems.iter_mut() {
                s.end();
            }
            for (j, t) in total.into_iter().enumerate() {
                out[j].1.push(t);
            }
        }
        out
    }

    /// Records a row; returns its index.
    #[allow(clippy::too_many_arguments)]
    pub fn row(
        &mut self,
        section: Section,
        id: &str,
        label: &str,
        unit: Unit,
        ops: u64,
        cells: Vec<(Sys, Vec<f64>)>,
        compare: bool,
    ) -> &mut Row {
        self.rows.push(Row {
            section,
            id: id.into(),
            label: label.into(),
            unit,
            ops,
            cells,
            compare,
            readme: false,
        });
        self.rows.last_mut().expect("just pushed")
    }

    pub fn find(&self, id: &str) -> &Row {
        self.rows
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no row {id}"))
    }

    /// Records an issue's target with the value this run measured. A value
    /// that could not be measured (NaN) shows as missed.
    pub fn target(&mut self, issue: u32, label: &str, value: f64, goal: Goal, unit: &'static str) {
        self.targets.push(Target {
            issue,
            label: label.into(),
            value,
            goal,
            unit,
        });
    }

    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// The `q` quantile of sorted samples (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// Seconds that `f` takes.
pub fn timed(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// A shuffled order of `0..n` (xorshift, fixed seed: every system reads
/// the same random order).
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut x = seed | 1;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}
