//! Benchmark: opening a container costs O(1) in the number of files and a
//! lookup O(log n) (DESIGN G9). Builds containers of 1,000 and 100,000
//! files, then measures `Fs::open` and one `metadata` lookup, reopening
//! every run: warm (container in the OS page cache) and cold (the
//! container's pages evicted with `posix_fadvise(DONTNEED)` first).
//!
//! ```text
//! cargo run --release --example bench_open [FILES...]   # default: 1000 100000
//! WHEFS_BENCH_DIR=/some/dir                            # where containers go (default: a temp dir)
//! ```
//!
//! The containers are built in memory (no syncs) and written out in one go;
//! the bytes are the same as building them in place.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use whefs::storage::MemoryStorage;
use whefs::{Durability, Fs, FsOptions};

/// Reopens per measurement.
const RUNS: usize = 21;
/// Files per directory.
const PER_DIR: u64 = 1000;

fn file_path(i: u64) -> String {
    format!("d{:04}/file-{i:07}.txt", i / PER_DIR)
}

/// Builds a container of `n` small (inline) files in `PER_DIR`-file directories.
fn build(path: &Path, n: u64) -> Duration {
    let start = Instant::now();
    let storage = Arc::new(MemoryStorage::new());
    let fs = FsOptions::new()
        .create(true)
        .durability(Durability::Off)
        .open_storage(storage.clone())
        .expect("create in memory");
    for i in 0..n {
        if i % PER_DIR == 0 {
            fs.create_dir(&format!("d{:04}", i / PER_DIR))
                .expect("mkdir");
        }
        fs.write(&file_path(i), format!("content of file {i}\n").as_bytes())
            .expect("write");
    }
    drop(fs);
    std::fs::write(path, storage.snapshot()).expect("write the container file");
    let f = std::fs::File::open(path).expect("reopen the container file");
    f.sync_all().expect("sync the container file");
    start.elapsed()
}

/// Drops the container's pages from the OS page cache (they are clean).
fn evict(path: &Path) {
    let f = std::fs::File::open(path).expect("open for fadvise");
    // SAFETY: plain syscall on a descriptor we own.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise failed");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median open time and median first-lookup time over `RUNS` reopens.
fn measure(path: &Path, n: u64, cold: bool) -> (Duration, Duration) {
    let (mut opens, mut lookups) = (Vec::new(), Vec::new());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..RUNS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = file_path(x % n);
        if cold {
            evict(path);
        }
        let t0 = Instant::now();
        let fs = Fs::open(path).expect("open");
        let t1 = Instant::now();
        let m = fs.metadata(&target).expect("lookup");
        let t2 = Instant::now();
        assert!(m.is_file() && m.size > 0);
        opens.push(t1 - t0);
        lookups.push(t2 - t1);
        drop(fs);
    }
    (median(opens), median(lookups))
}

/// Mean time of many lookups on one open (page cache of the `Fs` warm).
fn many_lookups(path: &Path, n: u64) -> Duration {
    let fs = Fs::open(path).expect("open");
    let count = 10_000u64;
    let t = Instant::now();
    for i in 0..count {
        let p = file_path((i * 7_919) % n);
        fs.metadata(&p).expect("lookup");
    }
    t.elapsed() / count as u32
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn main() {
    let counts: Vec<u64> = {
        let args: Vec<u64> = std::env::args()
            .skip(1)
            .map(|a| a.parse().expect("file counts are numbers"))
            .collect();
        if args.is_empty() {
            vec![1_000, 100_000]
        } else {
            args
        }
    };
    let _tmp;
    let dir: PathBuf = match std::env::var_os("WHEFS_BENCH_DIR") {
        Some(d) => d.into(),
        None => {
            _tmp = tempfile::tempdir().expect("temp dir");
            _tmp.path().to_path_buf()
        }
    };
    println!("whefs bench_open: Fs::open + one metadata lookup, median of {RUNS} reopens");
    println!();
    println!(
        "{:>9} | {:>12} | {:>9} | {:>10} | {:>10} | {:>10} | {:>10} | {:>13}",
        "files",
        "container",
        "build",
        "open warm",
        "stat warm",
        "open cold",
        "stat cold",
        "stat (1 open)"
    );
    println!("{}", "-".repeat(104));
    for &n in &counts {
        let path = dir.join(format!("bench-open-{n}.whefs"));
        let _ = std::fs::remove_file(&path);
        let build_time = build(&path, n);
        let size = std::fs::metadata(&path).expect("stat container").len();
        let (open_w, stat_w) = measure(&path, n, false);
        let (open_c, stat_c) = measure(&path, n, true);
        let per = many_lookups(&path, n);
        println!(
            "{:>9} | {:>9.1} MB | {:>7.1} s | {:>10} | {:>10} | {:>10} | {:>10} | {:>13}",
            n,
            size as f64 / 1e6,
            build_time.as_secs_f64(),
            fmt(open_w),
            fmt(stat_w),
            fmt(open_c),
            fmt(stat_c),
            fmt(per)
        );
        let _ = std::fs::remove_file(&path);
    }
    println!();
    println!("warm: container in the OS page cache; cold: evicted with posix_fadvise(DONTNEED) before each open.");
    println!("stat (1 open): mean of 10,000 lookups of spread-out files on one open Fs.");
}
