//! whefs side by side with the plain filesystem and SQLite, in one run, as
//! ratios. Each workload runs on all three in a fresh temporary directory:
//!
//! - plain: one host file per pseudofile (`std::fs`), `fsync` where durable;
//! - sqlite: one table `files(path PRIMARY KEY, data BLOB)` in WAL mode,
//!   `synchronous=FULL` where durable and `OFF` where not; a large file is
//!   stored as 1 MiB chunk rows in one transaction;
//! - whefs: `Fs::write` / `open_file`, durability `Full` or `Off`.
//!
//! Prints a table, writes `target/bench_compare.csv` and a bar chart of the
//! ratios to `target/bench_compare.svg`. Sizes: `BENCH_FILES` (default 2000
//! files of 4 KiB) and `BENCH_BIG_MIB` (default 256).
//!
//! Run: `cargo run --release --features bench-sqlite --example bench_compare`
//! (or `make bench-compare`).

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use whefs::{Durability, Fs, FsOptions};

const SMALL: usize = 4096;
const CHUNK: usize = 1 << 20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Deterministic content for file `i`.
fn content(i: usize, len: usize) -> Vec<u8> {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A shuffled order of `0..n` (reads go in an order unlike the writes).
fn shuffled(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// One store under test.
trait Store {
    fn name(&self) -> &'static str;
    fn write_small(&mut self, i: usize, data: &[u8]);
    fn read_small(&mut self, i: usize) -> Vec<u8>;
    fn stat_small(&mut self, i: usize) -> u64;
    fn list(&mut self) -> usize;
    fn write_big(&mut self, chunks: usize);
    fn read_big(&mut self) -> u64;
}

struct Plain {
    dir: std::path::PathBuf,
    durable: bool,
}

impl Store for Plain {
    fn name(&self) -> &'static str {
        "plain fs"
    }
    fn write_small(&mut self, i: usize, data: &[u8]) {
        let mut f = std::fs::File::create(self.dir.join(format!("f{i}"))).expect("create");
        f.write_all(data).expect("write");
        if self.durable {
            f.sync_data().expect("fsync");
        }
    }
    fn read_small(&mut self, i: usize) -> Vec<u8> {
        std::fs::read(self.dir.join(format!("f{i}"))).expect("read")
    }
    fn stat_small(&mut self, i: usize) -> u64 {
        std::fs::metadata(self.dir.join(format!("f{i}")))
            .expect("stat")
            .len()
    }
    fn list(&mut self) -> usize {
        std::fs::read_dir(&self.dir).expect("list").count()
    }
    fn write_big(&mut self, chunks: usize) {
        let mut f = std::fs::File::create(self.dir.join("big")).expect("create");
        for c in 0..chunks {
            f.write_all(&content(c, CHUNK)).expect("write");
        }
        if self.durable {
            f.sync_data().expect("fsync");
        }
    }
    fn read_big(&mut self) -> u64 {
        drop_cache(&self.dir.join("big"));
        let mut f = std::fs::File::open(self.dir.join("big")).expect("open");
        let mut buf = vec![0u8; CHUNK];
        let mut n = 0;
        loop {
            let k = f.read(&mut buf).expect("read");
            if k == 0 {
                return n;
            }
            n += k as u64;
        }
    }
}

struct Sqlite {
    db: Connection,
    path: std::path::PathBuf,
}

impl Sqlite {
    fn open(dir: &Path, durable: bool) -> Sqlite {
        let path = dir.join("bench.sqlite");
        let db = Connection::open(&path).expect("open sqlite");
        db.pragma_update(None, "journal_mode", "WAL").expect("wal");
        db.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })
            .expect("sync");
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, data BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS chunks(path TEXT, n INTEGER, data BLOB NOT NULL, PRIMARY KEY(path, n));",
        )
        .expect("schema");
        Sqlite { db, path }
    }
}

impl Store for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn write_small(&mut self, i: usize, data: &[u8]) {
        self.db
            .prepare_cached("INSERT OR REPLACE INTO files(path, data) VALUES (?1, ?2)")
            .expect("prepare")
            .execute(params![format!("f{i}"), data])
            .expect("insert");
    }
    fn read_small(&mut self, i: usize) -> Vec<u8> {
        self.db
            .prepare_cached("SELECT data FROM files WHERE path = ?1")
            .expect("prepare")
            .query_row(params![format!("f{i}")], |r| r.get(0))
            .expect("select")
    }
    fn stat_small(&mut self, i: usize) -> u64 {
        self.db
            .prepare_cached("SELECT length(data) FROM files WHERE path = ?1")
            .expect("prepare")
            .query_row(params![format!("f{i}")], |r| r.get::<_, i64>(0))
            .expect("select") as u64
    }
    fn list(&mut self) -> usize {
        let mut st = self
            .db
            .prepare_cached("SELECT path FROM files ORDER BY path")
            .expect("prepare");
        let rows = st.query_map([], |r| r.get::<_, String>(0)).expect("query");
        rows.count()
    }
    fn write_big(&mut self, chunks: usize) {
        let tx = self.db.transaction().expect("begin");
        for c in 0..chunks {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO chunks(path, n, data) VALUES ('big', ?1, ?2)",
            )
            .expect("prepare")
            .execute(params![c as i64, content(c, CHUNK)])
            .expect("insert");
        }
        tx.commit().expect("commit");
    }
    fn read_big(&mut self) -> u64 {
        drop_cache(&self.path);
        let mut st = self
            .db
            .prepare_cached("SELECT data FROM chunks WHERE path = 'big' ORDER BY n")
            .expect("prepare");
        let rows = st.query_map([], |r| r.get::<_, Vec<u8>>(0)).expect("query");
        rows.map(|r| r.expect("row").len() as u64).sum()
    }
}

struct Whefs {
    fs: Fs,
    path: std::path::PathBuf,
}

impl Store for Whefs {
    fn name(&self) -> &'static str {
        "whefs"
    }
    fn write_small(&mut self, i: usize, data: &[u8]) {
        self.fs.write(&format!("f{i}"), data).expect("write");
    }
    fn read_small(&mut self, i: usize) -> Vec<u8> {
        self.fs.read(&format!("f{i}")).expect("read")
    }
    fn stat_small(&mut self, i: usize) -> u64 {
        self.fs.metadata(&format!("f{i}")).expect("stat").size
    }
    fn list(&mut self) -> usize {
        self.fs.read_dir("/").expect("list").count()
    }
    fn write_big(&mut self, chunks: usize) {
        let mut f = self.fs.open_file("big", "w").expect("open");
        for c in 0..chunks {
            f.write_all(&content(c, CHUNK)).expect("write");
        }
        f.close().expect("commit");
    }
    fn read_big(&mut self) -> u64 {
        drop_cache(&self.path);
        let mut f = self.fs.open_file("big", "r").expect("open");
        let mut buf = vec![0u8; CHUNK];
        let mut n = 0;
        loop {
            let k = f.read(&mut buf).expect("read");
            if k == 0 {
                return n;
            }
            n += k as u64;
        }
    }
}

/// Asks the kernel to forget a file's cached pages, so a read measures the disk path.
fn drop_cache(path: &Path) {
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.sync_all();
        use std::os::fd::AsRawFd;
        // SAFETY: an advisory call on a descriptor we own.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
}

/// One measured row: workload, store, seconds, operations.
struct Row {
    workload: &'static str,
    store: &'static str,
    secs: f64,
    ops: usize,
    bytes: u64,
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

fn run(store: &mut dyn Store, durable: bool, files: usize, big: usize, rows: &mut Vec<Row>) {
    let name = store.name();
    let w_small = if durable {
        "small writes, durable"
    } else {
        "small writes, no sync"
    };
    let ((), d) = time(|| {
        for i in 0..files {
            store.write_small(i, &content(i, SMALL));
        }
    });
    rows.push(Row {
        workload: w_small,
        store: name,
        secs: d.as_secs_f64(),
        ops: files,
        bytes: (files * SMALL) as u64,
    });
    if !durable {
        return;
    }
    let order = shuffled(files);
    let (ok, d) = time(|| order.iter().all(|&i| store.read_small(i).len() == SMALL));
    assert!(ok, "{name}: short read");
    rows.push(Row {
        workload: "small reads",
        store: name,
        secs: d.as_secs_f64(),
        ops: files,
        bytes: (files * SMALL) as u64,
    });
    let (sum, d) = time(|| order.iter().map(|&i| store.stat_small(i)).sum::<u64>());
    assert_eq!(sum, (files * SMALL) as u64);
    rows.push(Row {
        workload: "stat",
        store: name,
        secs: d.as_secs_f64(),
        ops: files,
        bytes: 0,
    });
    let (n, d) = time(|| store.list());
    assert!(n >= files, "{name}: listed {n}");
    rows.push(Row {
        workload: "list directory",
        store: name,
        secs: d.as_secs_f64(),
        ops: 1,
        bytes: 0,
    });
    let ((), d) = time(|| store.write_big(big));
    rows.push(Row {
        workload: "large write",
        store: name,
        secs: d.as_secs_f64(),
        ops: 1,
        bytes: (big * CHUNK) as u64,
    });
    let (n, d) = time(|| store.read_big());
    assert_eq!(n, (big * CHUNK) as u64);
    rows.push(Row {
        workload: "large read (cold)",
        store: name,
        secs: d.as_secs_f64(),
        ops: 1,
        bytes: n,
    });
}

fn main() {
    let files = env_usize("BENCH_FILES", 2000);
    let big = env_usize("BENCH_BIG_MIB", 256);
    let mut rows = Vec::new();
    for durable in [true, false] {
        let dir = tempfile::tempdir().expect("temp dir");
        let plain_dir = dir.path().join("plain");
        std::fs::create_dir(&plain_dir).expect("mkdir");
        run(
            &mut Plain {
                dir: plain_dir,
                durable,
            },
            durable,
            files,
            big,
            &mut rows,
        );
        run(
            &mut Sqlite::open(dir.path(), durable),
            durable,
            files,
            big,
            &mut rows,
        );
        let path = dir.path().join("bench.whefs");
        let fs = FsOptions::new()
            .create(true)
            .durability(if durable {
                Durability::Full
            } else {
                Durability::Off
            })
            .open(&path)
            .expect("open whefs");
        run(&mut Whefs { fs, path }, durable, files, big, &mut rows);
    }

    println!(
        "whefs vs the plain filesystem and SQLite ({files} files of 4 KiB, one {big} MiB file)"
    );
    println!(
        "{:<24} {:<9} {:>10} {:>12} {:>12} {:>10}",
        "workload", "store", "total ms", "per op µs", "MiB/s", "vs plain"
    );
    let mut csv = String::from("workload,store,seconds,ops,bytes,ratio_vs_plain\n");
    let mut chart = Vec::new();
    for r in &rows {
        let plain = rows
            .iter()
            .find(|p| p.workload == r.workload && p.store == "plain fs")
            .map_or(r.secs, |p| p.secs);
        let ratio = r.secs / plain;
        let mibs = if r.bytes > 0 {
            format!("{:.1}", r.bytes as f64 / (1 << 20) as f64 / r.secs)
        } else {
            "-".into()
        };
        println!(
            "{:<24} {:<9} {:>10.1} {:>12.1} {:>12} {:>9.2}x",
            r.workload,
            r.store,
            r.secs * 1e3,
            r.secs * 1e6 / r.ops as f64,
            mibs,
            ratio
        );
        csv.push_str(&format!(
            "{},{},{:.6},{},{},{:.4}\n",
            r.workload, r.store, r.secs, r.ops, r.bytes, ratio
        ));
        chart.push((r.workload, r.store, ratio));
    }
    println!("(ratio = time / plain filesystem's time: below 1 is faster than plain files)");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).expect("target dir");
    std::fs::write(target.join("bench_compare.csv"), csv).expect("write csv");
    std::fs::write(target.join("bench_compare.svg"), svg(&chart)).expect("write svg");
    println!("wrote target/bench_compare.csv and target/bench_compare.svg");
}

/// A horizontal bar chart of time ratios (log scale, 1× marked).
fn svg(bars: &[(&str, &str, f64)]) -> String {
    let (w, row, left) = (760.0, 18.0, 300.0);
    let h = 40.0 + row * bars.len() as f64;
    let x = |ratio: f64| left + (ratio.max(0.01).log10() + 2.0) / 4.0 * (w - left - 20.0);
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='11'>\n\
         <text x='10' y='16' font-size='13'>time relative to the plain filesystem (log scale; shorter is faster)</text>\n"
    );
    for (i, (work, store, ratio)) in bars.iter().enumerate() {
        let y = 30.0 + row * i as f64;
        let color = match *store {
            "whefs" => "#2a7",
            "sqlite" => "#47c",
            _ => "#999",
        };
        s.push_str(&format!(
            "<text x='10' y='{:.0}'>{work} — {store}</text><rect x='{left}' y='{:.0}' width='{:.1}' height='{:.0}' fill='{color}'/>\
             <text x='{:.1}' y='{:.0}'>{ratio:.2}×</text>\n",
            y + 12.0,
            y + 2.0,
            (x(*ratio) - left).max(1.0),
            row - 4.0,
            x(*ratio) + 4.0,
            y + 12.0
        ));
    }
    let one = x(1.0);
    s.push_str(&format!("<line x1='{one:.1}' y1='24' x2='{one:.1}' y2='{h}' stroke='#000' stroke-dasharray='3,3'/>\n</svg>\n"));
    s
}
