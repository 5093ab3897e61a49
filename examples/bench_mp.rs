//! Benchmark: many processes on one container (issue 4).
//!
//! - Reader latency (open + read of a 4 KiB file, then close), p50 and p99:
//!   idle, and while another process commits as fast as it can
//!   (durability `off`, then `full`).
//! - Commits per second (rewrite 4 KiB of a file, `commit`), one writer
//!   process vs two writer processes on different files, durability `off`
//!   and `full`.
//!
//! ```text
//! cargo run --release --example bench_mp [SECONDS]   # per measurement, default 3
//! WHEFS_BENCH_DIR=/some/dir                          # where the container goes (default: a temp dir)
//! ```
//!
//! The other processes are this program re-executed (`WHEFS_BENCH_ROLE`);
//! they wait for a "go" line on stdin, work until stdin closes, and print
//! how many commits they made.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use whefs::{Durability, Fs, FsOptions};

const ROLE: &str = "WHEFS_BENCH_ROLE";

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Full => "full",
        Durability::Normal => "normal",
        Durability::Off => "off",
    }
}

/// Child: commits 4 KiB rewrites of `file` until stdin closes; prints the count.
fn writer_child(path: &Path, file: &str, durability: Durability) {
    let fs = FsOptions::new()
        .write(true)
        .durability(durability)
        .open(path)
        .expect("open the container");
    let mut f = fs.open_file(file, "c+").expect("open the writer's file");
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("wait for go");
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        s.store(true, Ordering::SeqCst);
    });
    let mut page = vec![0u8; 4096];
    let start = Instant::now();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        page[..8].copy_from_slice(&n.to_le_bytes());
        f.write_at(&page, 0).expect("write");
        f.commit().expect("commit");
        n += 1;
    }
    println!("{n} {}", start.elapsed().as_secs_f64());
}

struct Writer {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Writer {
    fn start(path: &Path, file: &str, d: Durability) -> Writer {
        let mut child = Command::new(std::env::current_exe().expect("this program's path"))
            .env(ROLE, format!("writer {file} {}", durability_name(d)))
            .env("WHEFS_BENCH_PATH", path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn a writer process");
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line).expect("ready line");
        assert_eq!(line.trim(), "ready", "writer did not start");
        Writer { child, out }
    }

    fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "go")
            .and_then(|_| stdin.flush())
            .expect("send go");
    }

    /// Stops the writer; returns its commits per second.
    fn stop(mut self) -> f64 {
        drop(self.child.stdin.take());
        let mut line = String::new();
        self.out.read_line(&mut line).expect("count line");
        self.child.wait().expect("wait");
        let mut w = line.split_whitespace();
        let n: f64 = w.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
        let secs: f64 = w.next().and_then(|s| s.parse().ok()).unwrap_or(1.0);
        n / secs
    }
}

/// Open + read 4 KiB + close, as many times as fit in `secs`; returns sorted µs.
fn reader_latencies(fs: &Fs, secs: f64) -> Vec<f64> {
    let mut lat = Vec::new();
    let mut buf = vec![0u8; 4096];
    let end = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < end {
        let t = Instant::now();
        let f = fs.open_file("r/f4k", "r").expect("open r/f4k");
        let n = f.read_at(&mut buf, 0).expect("read");
        assert_eq!(n, 4096);
        drop(f);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    lat
}

fn quantile(v: &[f64], q: f64) -> f64 {
    v.get(((v.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        let path = PathBuf::from(std::env::var("WHEFS_BENCH_PATH").expect("path"));
        let w: Vec<&str> = role.split_whitespace().collect();
        let d = if w.get(2) == Some(&"off") {
            Durability::Off
        } else {
            Durability::Full
        };
        writer_child(&path, w[1], d);
        return;
    }
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let tmp;
    let dir = match std::env::var("WHEFS_BENCH_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            tmp = tempfile::tempdir().expect("temp dir");
            tmp.path().to_path_buf()
        }
    };
    let path = dir.join("bench_mp.whefs");
    let _ = std::fs::remove_file(&path);
    let fs = Fs::create(&path).expect("create the container");
    fs.create_dir_all("r").expect("mkdir");
    fs.create_dir_all("w").expect("mkdir");
    fs.write("r/f4k", &vec![7u8; 4096]).expect("write r/f4k");
    let reader = FsOptions::new().open(&path).expect("open read-only");

    println!("whefs multi-process benchmark ({secs} s per measurement, page size 4096)");
    println!();
    println!("reader: open + read 4 KiB + close, in its own process");
    println!(
        "{:<32} {:>10} {:>10} {:>10} {:>18}",
        "condition", "samples", "p50 µs", "p99 µs", "writer commits/s"
    );
    let _ = reader_latencies(&reader, 0.3); // warm up
    let idle = reader_latencies(&reader, secs);
    println!(
        "{:<32} {:>10} {:>10.1} {:>10.1} {:>18}",
        "idle",
        idle.len(),
        quantile(&idle, 0.5),
        quantile(&idle, 0.99),
        "-"
    );
    for d in [Durability::Off, Durability::Full] {
        let mut w = Writer::start(&path, "w/a", d);
        w.go();
        let lat = reader_latencies(&reader, secs);
        let rate = w.stop();
        println!(
            "{:<32} {:>10} {:>10.1} {:>10.1} {:>18.0}",
            format!("one writer process ({})", durability_name(d)),
            lat.len(),
            quantile(&lat, 0.5),
            quantile(&lat, 0.99),
            rate
        );
    }
    println!();
    println!("commits per second: rewrite 4 KiB + commit, each process on its own file");
    println!(
        "{:<12} {:>14} {:>22} {:>10}",
        "durability", "1 process", "2 processes (sum)", "scaling"
    );
    for d in [Durability::Off, Durability::Full] {
        let mut one = Writer::start(&path, "w/a", d);
        one.go();
        std::thread::sleep(Duration::from_secs_f64(secs));
        let r1 = one.stop();
        let mut a = Writer::start(&path, "w/a", d);
        let mut b = Writer::start(&path, "w/b", d);
        a.go();
        b.go();
        std::thread::sleep(Duration::from_secs_f64(secs));
        let (ra, rb) = (a.stop(), b.stop());
        println!(
            "{:<12} {:>14.0} {:>22} {:>9.2}x",
            durability_name(d),
            r1,
            format!("{:.0} ({:.0} + {:.0})", ra + rb, ra, rb),
            (ra + rb) / r1
        );
    }
    let info = fs.info().expect("info");
    fs.check().expect("check after the benchmark");
    println!();
    println!(
        "container after the runs: {} pages ({} free, {} pending), generation {}",
        info.pages_total, info.pages_free, info.pages_pending, info.generation
    );
}
