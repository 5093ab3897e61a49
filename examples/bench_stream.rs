//! Benchmark: large files stream (DESIGN §5 step 1: "large files stream;
//! nothing has to fit in memory"). Writes one big file into a container
//! through `open_file(.., "w")` in 1 MiB chunks, commits, reads it back in
//! 1 MiB chunks (after evicting the container from the OS page cache) and
//! verifies every byte; prints throughput and the process's peak resident
//! memory (`VmHWM`), which must stay far below the file's size.
//!
//! ```text
//! cargo run --release --example bench_stream [MIB]   # default: 1024 (1 GiB)
//! WHEFS_BENCH_STREAM_MIB=256                         # same, by environment
//! WHEFS_BENCH_DIR=/some/dir                          # where the container goes (default: a temp dir)
//! ```

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use whefs::Fs;

const CHUNK: usize = 1 << 20;

/// A line of `/proc/self/status` in bytes (`VmHWM`, `VmRSS`).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a number of kB");
    kb * 1024
}

/// Chunk `i`: distinct in every 4 KiB block, so a misplaced page shows.
fn fill_chunk(buf: &mut [u8], i: u64) {
    for (b, block) in buf.chunks_mut(4096).enumerate() {
        let tag = (i << 8 | b as u64).to_le_bytes();
        for (j, byte) in block.iter_mut().enumerate() {
            *byte = tag[j % 8] ^ (j as u8);
        }
    }
}

fn evict(path: &Path) {
    let f = std::fs::File::open(path).expect("open for fadvise");
    // SAFETY: plain syscall on a descriptor we own.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise failed");
}

fn mib(b: u64) -> f64 {
    b as f64 / (1u64 << 20) as f64
}

fn main() {
    let size_mib: u64 = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("WHEFS_BENCH_STREAM_MIB").ok())
        .map(|v| v.parse().expect("size in MiB"))
        .unwrap_or(1024);
    let total = size_mib << 20;
    let _tmp;
    let dir: PathBuf = match std::env::var_os("WHEFS_BENCH_DIR") {
        Some(d) => d.into(),
        None => {
            _tmp = tempfile::tempdir().expect("temp dir");
            _tmp.path().to_path_buf()
        }
    };
    let path = dir.join("bench-stream.whefs");
    let _ = std::fs::remove_file(&path);
    let baseline = status_bytes("VmHWM:");

    let fs = Fs::create(&path).expect("create container");
    let mut buf = vec![0u8; CHUNK];

    let t = Instant::now();
    let mut f = fs.open_file("stream.bin", "w").expect("open for writing");
    for i in 0..(total / CHUNK as u64) {
        fill_chunk(&mut buf, i);
        f.write_all(&buf).expect("write chunk");
    }
    let wrote_at = t.elapsed();
    f.close().expect("commit");
    let write_time = t.elapsed();
    let hwm_write = status_bytes("VmHWM:");
    assert_eq!(fs.metadata("stream.bin").expect("stat").size, total);

    evict(&path);
    let t = Instant::now();
    let mut f = fs.open_file("stream.bin", "r").expect("open for reading");
    let mut want = vec![0u8; CHUNK];
    for i in 0..(total / CHUNK as u64) {
        f.read_exact(&mut buf).expect("read chunk");
        fill_chunk(&mut want, i);
        assert!(buf == want, "chunk {i} read back wrong");
    }
    let mut rest = Vec::new();
    f.read_to_end(&mut rest).expect("read the end");
    assert!(rest.is_empty(), "the file is longer than written");
    let read_time = t.elapsed();
    let hwm_read = status_bytes("VmHWM:");
    drop(f);
    let container = std::fs::metadata(&path).expect("stat container").len();
    let pages = fs.info().expect("info");
    drop(fs);

    println!("whefs bench_stream: one {size_mib} MiB file in 1 MiB chunks (durability full, page size {})", pages.page_size);
    println!();
    println!(
        "{:<24} | {:>10} | {:>10} | {:>12} | {:>14}",
        "phase", "MiB", "seconds", "MiB/s", "peak RSS (MiB)"
    );
    println!("{}", "-".repeat(82));
    println!(
        "{:<24} | {:>10} | {:>10} | {:>12} | {:>14.1}",
        "start",
        "",
        "",
        "",
        mib(baseline)
    );
    println!(
        "{:<24} | {:>10.0} | {:>10.2} | {:>12.1} | {:>14}",
        "write (before commit)",
        mib(total),
        wrote_at.as_secs_f64(),
        mib(total) / wrote_at.as_secs_f64(),
        ""
    );
    println!(
        "{:<24} | {:>10.0} | {:>10.2} | {:>12.1} | {:>14.1}",
        "write + commit (close)",
        mib(total),
        write_time.as_secs_f64(),
        mib(total) / write_time.as_secs_f64(),
        mib(hwm_write)
    );
    println!(
        "{:<24} | {:>10.0} | {:>10.2} | {:>12.1} | {:>14.1}",
        "read cold + verify",
        mib(total),
        read_time.as_secs_f64(),
        mib(total) / read_time.as_secs_f64(),
        mib(hwm_read)
    );
    println!();
    println!(
        "container: {:.1} MiB on disk, {} pages ({} used, {} free, {} pending)",
        mib(container),
        pages.pages_total,
        pages.pages_used,
        pages.pages_free,
        pages.pages_pending
    );
    println!(
        "peak RSS {:.1} MiB for a {size_mib} MiB file: {:.1}% of the file size",
        mib(hwm_read.max(hwm_write)),
        100.0 * hwm_read.max(hwm_write) as f64 / total as f64
    );
    let _ = std::fs::remove_file(&path);
}
