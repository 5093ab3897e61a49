//! `make bench`: whefs against plain files and SQLite in one run — the
//! workloads of issues 9 (reads) and 10 (commits) plus the machine's
//! floors. It measures random whole-file reads (10,000 and 100,000 files
//! of 10 KiB), stat, a 2,000-entry listing, a 512 MiB sequential read, the
//! CGI path (a new process per read), reader p99 latency under a writer
//! process, 1 → 2 reader threads, small commits durable and unsynced, a
//! 10,000-file import in one transaction and the container size after it,
//! a 512 MiB sequential write + sync, 1 → 2 writer processes, and syscalls
//! per commit under `strace`, a backup of a container against `cp` of its
//! file and compaction after deleting half of 10,000 files (issue 13);
//! and one `pread`, `pwrite`, `fdatasync`,
//! checksum and process start as floors. whefs is driven through its C API
//! (`whefs::ffi`), plain files through libc, SQLite (bundled) through
//! rusqlite; warm page cache; the systems alternate over repetitions and
//! every figure is a median.
//!
//! It prints markdown tables and writes `docs/benchmarks.md` (with the
//! machine), `docs/benchmarks.tsv` (medians, read back by the next run to
//! show "previous" next to each target), `docs/bench-speed.svg`,
//! `docs/bench-targets.svg`, and the block of README.md between
//! `<!-- bench:start -->` and `<!-- bench:end -->`.
//!
//! ```text
//! cargo run --release --features bench-sqlite --example bench             # = make bench
//! ... --example bench -- --quick        # tiny sizes, seconds (WHEFS_BENCH_QUICK=1; make test runs it)
//! ... --example bench -- --only stat,cgi   # some workloads (see --list); output to target/bench-partial/
//! WHEFS_BENCH_REPS=N      repetitions of every workload (default 5, 3 for the expensive ones)
//! WHEFS_BENCH_DIR=DIR     scratch data (default target/bench-data; not a tmpfs)
//! WHEFS_BENCH_KEEP=1      keep the scratch data afterwards
//! ```
//!
//! Adding a workload is one function `fn(&mut Ctx)` that measures with
//! `Ctx::alternate` and records `Ctx::row`s (and `Ctx::target`s), plus its
//! line in `WORKLOADS`.

mod capi;
mod child;
mod concurrency;
mod fixture;
mod floors;
mod harness;
mod machine;
mod maintenance;
mod plain;
mod reads;
mod report;
mod sql;
mod writes;

use std::path::{Path, PathBuf};

use harness::{Config, Ctx, Sizes};

/// A workload: it measures with `Ctx::alternate` and records rows and targets.
type Workload = fn(&mut Ctx);

/// Every workload, in the order they run: (name for `--only`, function).
const WORKLOADS: &[(&str, Workload)] = &[
    ("floors", floors::run),
    ("read-small", reads::random_reads_small),
    ("read-large", reads::random_reads_large),
    ("stat", reads::stat),
    ("list", reads::list),
    ("seq-read", reads::sequential_read),
    ("cgi", reads::cgi),
    ("latency", concurrency::reader_latency),
    ("threads", concurrency::reader_threads),
    ("commits-full", writes::small_commits_durable),
    ("commits-off", writes::small_commits_off),
    ("import", writes::import),
    ("seq-write", writes::sequential_write),
    ("writers", concurrency::writer_processes),
    ("syscalls", writes::syscalls),
    ("backup", maintenance::backup),
    ("compact", maintenance::compaction),
];

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn usage() -> ! {
    eprintln!("usage: bench [--quick] [--only NAME,NAME...] [--list]");
    std::process::exit(2)
}

fn main() {
    if child::run_if_child() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut quick = env_flag("WHEFS_BENCH_QUICK");
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--only" => {
                only = Some(
                    args.next()
                        .unwrap_or_else(|| usage())
                        .split(',')
                        .map(String::from)
                        .collect(),
                )
            }
            "--list" => {
                for (name, _) in WORKLOADS {
                    println!("{name}");
                }
                return;
            }
            _ => usage(),
        }
    }
    if let Some(names) = &only {
        for n in names {
            if !WORKLOADS.iter().any(|(w, _)| w == n) {
                eprintln!("no workload {n}; --list shows them");
                std::process::exit(2);
            }
        }
    }

    let reps_env: Option<usize> = std::env::var("WHEFS_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok());
    let (reps, heavy_reps) = match (reps_env, quick) {
        (Some(n), _) => (n.max(1), n.max(1)),
        (None, true) => (2, 1),
        (None, false) => (5, 3),
    };
    let dir = std::env::var_os("WHEFS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            root.join("target").join(if quick {
                "bench-data-quick"
            } else {
                "bench-data"
            })
        });
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the bench directory");

    let out_dir = if quick {
        root.join("target/bench-quick")
    } else if only.is_some() {
        root.join("target/bench-partial")
    } else {
        root.join("docs")
    };
    std::fs::create_dir_all(&out_dir).expect("create the output directory");
    let previous = std::env::var_os("WHEFS_BENCH_BASELINE")
        .map(PathBuf::from)
        .or_else(|| Some(root.join("docs/benchmarks.tsv")))
        .and_then(|p| report::read_previous(&p));

    let machine = machine::describe(&dir);
    let mut notes = Vec::new();
    if machine.fs_type == "tmpfs" {
        let warn = format!("the bench directory {} is on tmpfs: syncs cost nothing there; set WHEFS_BENCH_DIR to a disk", dir.display());
        eprintln!("warning: {warn}");
        notes.push(format!("Warning: {warn}."));
    }
    let strace = match child::find_strace() {
        Ok(p) => Some(p),
        Err(why) => {
            notes.push(format!("Syscall counts skipped: {why}."));
            None
        }
    };
    let mut ctx = Ctx::new(Config {
        quick,
        reps,
        heavy_reps,
        dir: dir.clone(),
        sizes: if quick { Sizes::quick() } else { Sizes::full() },
        strace,
    });
    ctx.notes = notes;
    ctx.progress(&format!(
        "whefs bench{}: {} repetitions ({} for the expensive workloads), data in {}",
        if quick { " (quick)" } else { "" },
        reps,
        heavy_reps,
        dir.display()
    ));
    // A workload that fails (a whefs error panics) is reported and the
    // others still run; the exit status says so (make test's smoke run fails).
    let mut failed = Vec::new();
    for (name, run) in WORKLOADS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&mut ctx))) {
            let why = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            ctx.notes
                .push(format!("**Workload `{name}` failed**: {why}"));
            failed.push(*name);
        }
    }

    let meta = report::Meta {
        machine: &machine,
        load_end: machine::loadavg(),
        secs: ctx.elapsed(),
        previous: previous.as_ref(),
    };
    let md = report::markdown(&ctx, &meta);
    print!("{md}");
    write(&out_dir.join("benchmarks.md"), &md);
    write(
        &out_dir.join("benchmarks.tsv"),
        &report::tsv(&ctx, &machine),
    );
    write(&out_dir.join("bench-speed.svg"), &report::speed_svg(&ctx));
    write(
        &out_dir.join("bench-targets.svg"),
        &report::targets_svg(&ctx),
    );
    let block = report::readme_block(&ctx, &meta, "docs/");
    if quick || only.is_some() {
        write(&out_dir.join("readme-block.md"), &block);
        eprintln!(
            "wrote {} (README.md left alone: not a full run)",
            out_dir.display()
        );
    } else {
        let readme_path = root.join("README.md");
        let readme = std::fs::read_to_string(&readme_path).expect("read README.md");
        match report::splice_readme(&readme, &block) {
            Some(new) => {
                write(&readme_path, &new);
                eprintln!("wrote docs/benchmarks.md, docs/benchmarks.tsv, docs/bench-*.svg and README.md's bench block");
            }
            None => eprintln!(
                "README.md has no {} … {} markers: its block is in docs/benchmarks.md",
                report::README_START,
                report::README_END
            ),
        }
    }
    if env_flag("WHEFS_BENCH_KEEP") {
        eprintln!("kept the data in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if !failed.is_empty() {
        eprintln!("failed workloads: {}", failed.join(", "));
        std::process::exit(1);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
