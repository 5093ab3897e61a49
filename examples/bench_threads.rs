//! Benchmark: threads reading different files of one `Fs` do not serialize
//! on a global lock (issue 3, DESIGN G2). Builds a container of 8 files ×
//! 32 MiB (durability off while building), warms the OS page cache, then
//! reads every file in 1 MiB `read_at` chunks with 1, 2 and 4 threads, each
//! thread reading its own files through its own clone of one `Fs`. Prints
//! the read throughput per thread count and its ratio to one thread; with
//! two idle cores, two threads should come near 2×.
//!
//! On a shared machine other processes take cores too, so the table also
//! shows what the process did meanwhile: CPU seconds per wall second (how
//! many threads were running at once) and context switches. Threads that
//! waited on a lock would switch *voluntarily* (a futex sleep); being
//! pushed off a core by other processes is an *involuntary* switch.
//!
//! ```text
//! cargo run --release --example bench_threads [MIB_PER_FILE]   # default: 32
//! WHEFS_BENCH_DIR=/some/dir                                  # where the container goes
//! ```

use std::path::PathBuf;
use std::time::Instant;

use whefs::{Durability, Fs, FsOptions};

const FILES: usize = 8;
const CHUNK: usize = 1 << 20;
/// Timed rounds per thread count; the best is reported.
const ROUNDS: usize = 5;

fn fill(buf: &mut [u8], file: usize, chunk: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u8) ^ (chunk as u8).wrapping_mul(31) ^ file as u8;
    }
}

/// Reads files `mine` completely; returns bytes read (checking one byte per chunk).
fn read_files(fs: &Fs, mine: &[usize]) -> u64 {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0;
    for &i in mine {
        let f = fs.open_file(&format!("f{i}"), "r").expect("open a file");
        let mut at = 0u64;
        loop {
            let n = f.read_at(&mut buf, at).expect("read");
            if n == 0 {
                break;
            }
            let chunk = (at / CHUNK as u64) as usize;
            assert_eq!(buf[7], 7 ^ (chunk as u8).wrapping_mul(31) ^ i as u8);
            at += n as u64;
        }
        total += at;
    }
    total
}

/// CPU seconds, voluntary and involuntary context switches of the process so far.
fn usage() -> (f64, i64, i64) {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(u.ru_utime) + secs(u.ru_stime), u.ru_nvcsw, u.ru_nivcsw)
}

/// One timed round: wall seconds, bytes read, and the process's usage
/// meanwhile (CPU seconds, voluntary and involuntary switches).
struct Round {
    secs: f64,
    bytes: u64,
    cpu: f64,
    voluntary: i64,
    involuntary: i64,
}

/// `threads` threads read all files, files dealt round-robin.
fn timed(fs: &Fs, threads: usize) -> Round {
    let before = usage();
    let start = Instant::now();
    let bytes = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let fs = fs.clone();
                let mine: Vec<usize> = (0..FILES).filter(|i| i % threads == t).collect();
                s.spawn(move || read_files(&fs, &mine))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reader thread"))
            .sum()
    });
    let secs = start.elapsed().as_secs_f64();
    let after = usage();
    Round {
        secs,
        bytes,
        cpu: after.0 - before.0,
        voluntary: after.1 - before.1,
        involuntary: after.2 - before.2,
    }
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(32);
    let dir = match std::env::var_os("WHEFS_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(PathBuf::from(d)),
        None => tempfile::tempdir(),
    }
    .expect("a temporary directory");
    let path = dir.path().join("bench.whefs");

    let fs = FsOptions::new()
        .create(true)
        .durability(Durability::Off)
        .open(&path)
        .expect("create the container");
    let build = Instant::now();
    let mut buf = vec![0u8; CHUNK];
    for i in 0..FILES {
        let mut f = fs.open_file(&format!("f{i}"), "w").expect("create a file");
        for c in 0..mib {
            fill(&mut buf, i, c);
            f.write_at(&buf, (c * CHUNK) as u64).expect("write");
        }
        f.close().expect("commit");
    }
    fs.set_durability(Durability::Full);
    let built = build.elapsed().as_secs_f64();
    let total_mib = (FILES * mib) as f64;
    println!(
        "container: {FILES} files x {mib} MiB = {total_mib} MiB, built in {built:.2} s ({:.0} MB/s, durability off)",
        total_mib * 1.048_576 / built
    );
    println!(
        "cores available: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Warm the OS page cache and whefs's own caches.
    read_files(&fs, &(0..FILES).collect::<Vec<_>>());

    println!(
        "load average before: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!();
    println!("| threads | best of {ROUNDS} | read MB/s | ratio to 1 thread | CPU s / wall s | voluntary switches | involuntary switches |");
    println!("|--------:|----------:|----------:|------------------:|---------------:|-------------------:|---------------------:|");
    let mut base = None;
    for threads in [1, 2, 4] {
        let mut best: Option<Round> = None;
        for _ in 0..ROUNDS {
            let round = timed(&fs, threads);
            assert_eq!(round.bytes, (FILES * mib * CHUNK) as u64);
            if best.as_ref().is_none_or(|b| round.secs < b.secs) {
                best = Some(round);
            }
        }
        let best = best.expect("at least one round");
        let mbs = total_mib * 1.048_576 / best.secs;
        let ratio = mbs / *base.get_or_insert(mbs);
        println!(
            "| {threads:>7} | {:>7.3} s | {mbs:>9.0} | {ratio:>17.2} | {:>14.2} | {:>18} | {:>20} |",
            best.secs,
            best.cpu / best.secs,
            best.voluntary,
            best.involuntary
        );
    }
}
