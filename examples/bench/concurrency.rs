//! Workloads with more than one actor: reader latency while a writer
//! *process* saturates commits (issue 9), 1 → 2 reader threads on one
//! handle (issue 9), and 1 → 2 writer processes on different files
//! (issue 10). Each system gets the same treatment; plain files and SQLite
//! show what the machine allows (on 2 shared cores, no system reaches 2×).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::params;

use crate::capi::{cpath, cstr, Container, WHEFS_DURABLE_FULL};
use crate::child::Writer;
use crate::harness::{quantile, shuffled, timed, Ctx, Goal, Section, Sys, Unit};
use crate::plain;
use crate::sql;

/// A small store per system: `r/f4k` (4 KiB) to read, `w/` for writers.
struct Stores {
    whefs: PathBuf,
    plain: PathBuf,
    sqlite: PathBuf,
}

impl Stores {
    fn build(dir: &Path) -> Stores {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join("plain/r")).expect("mkdir");
        std::fs::create_dir_all(dir.join("plain/w")).expect("mkdir");
        let s = Stores {
            whefs: dir.join("mp.whefs"),
            plain: dir.join("plain"),
            sqlite: dir.join("mp.sqlite"),
        };
        let data = crate::fixture::content(1, 4096);
        {
            let fs = Container::writable(&s.whefs, WHEFS_DURABLE_FULL);
            fs.mkdir_all("r");
            fs.mkdir_all("w");
            fs.write_file(&cstr("r/f4k"), data);
        }
        plain::write_file(&cpath(&s.plain.join("r/f4k")), data, plain::Sync::Data);
        let db = sql::open(&s.sqlite, "FULL");
        db.execute(sql::INSERT, params!["r/f4k", data])
            .expect("INSERT");
        s
    }

    fn path(&self, sys: Sys) -> &Path {
        match sys {
            Sys::Whefs => &self.whefs,
            Sys::Plain => &self.plain,
            Sys::Sqlite => &self.sqlite,
            Sys::Host => unreachable!(),
        }
    }
}

/// Reads of one 4 KiB file for `secs`, one latency (µs) each, sorted.
fn latencies(secs: f64, mut read: impl FnMut() -> usize) -> Vec<f64> {
    let mut lat = Vec::with_capacity(1 << 16);
    let end = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < end {
        let t = Instant::now();
        let n = read();
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(n, 4096, "short read");
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    lat
}

/// What one repetition of the latency workload gives for one system.
#[derive(Clone, Copy)]
struct Latency {
    p50_idle: f64,
    p99_idle: f64,
    p99: [f64; 2],
    rate: [f64; 2],
}

pub fn reader_latency(ctx: &mut Ctx) {
    let (secs, reps) = (ctx.sizes().latency_secs, ctx.cfg.heavy_reps);
    let stores = Stores::build(&ctx.cfg.dir.join("latency"));
    let fs = Container::read_only(&stores.whefs);
    let db = sql::open(&stores.sqlite, "FULL");
    let (wname, pname) = (cstr("r/f4k"), cpath(&stores.plain.join("r/f4k")));
    let one = |sys: Sys, read: &mut dyn FnMut() -> usize| {
        let idle = latencies(secs, &mut *read);
        let mut out = Latency {
            p50_idle: quantile(&idle, 0.5),
            p99_idle: quantile(&idle, 0.99),
            p99: [0.0; 2],
            rate: [0.0; 2],
        };
        for (k, durable) in [false, true].into_iter().enumerate() {
            let mut w = Writer::start(sys, durable, stores.path(sys), "w/a");
            w.go();
            std::thread::sleep(Duration::from_millis(20)); // let it get going
            let lat = latencies(secs, &mut *read);
            out.rate[k] = w.stop();
            out.p99[k] = quantile(&lat, 0.99);
        }
        out
    };
    let mut wbuf = vec![0u8; 8192];
    let mut whefs = || one(Sys::Whefs, &mut || fs.read_file(&wname, &mut wbuf));
    let mut pbuf = vec![0u8; 8192];
    let mut plain = || one(Sys::Plain, &mut || plain::read_whole(&pname, &mut pbuf));
    let mut sbuf = vec![0u8; 8192];
    let mut sqlite = || {
        let mut st = db.prepare(sql::SELECT_DATA).expect("prepare");
        one(Sys::Sqlite, &mut || sql::read(&mut st, "r/f4k", &mut sbuf))
    };
    ctx.progress("reader latency, idle and under a writer process");
    let res = ctx.alternate(
        reps,
        false,
        &mut [
            (Sys::Plain, &mut plain),
            (Sys::Sqlite, &mut sqlite),
            (Sys::Whefs, &mut whefs),
        ],
    );
    let pick = |f: &dyn Fn(&Latency) -> f64| -> Vec<(Sys, Vec<f64>)> {
        res.iter()
            .map(|(s, v)| (*s, v.iter().map(f).collect()))
            .collect()
    };
    let read = "reader (`whefs_read_file` / open+read+close / SELECT of a 4 KiB file)";
    let sec = Section::Concurrency;
    ctx.row(
        sec,
        "lat-p50-idle",
        &format!("{read}: p50, idle"),
        Unit::Micros,
        1,
        pick(&|l| l.p50_idle),
        true,
    );
    ctx.row(
        sec,
        "lat-p99-idle",
        &format!("{read}: p99, idle"),
        Unit::Micros,
        1,
        pick(&|l| l.p99_idle),
        true,
    );
    for (k, d) in ["off", "full"].into_iter().enumerate() {
        ctx.row(
            sec,
            &format!("lat-p99-{d}"),
            &format!("{read}: p99, one writer process committing ({d})"),
            Unit::Micros,
            1,
            pick(&|l| l.p99[k]),
            true,
        );
        ctx.row(
            sec,
            &format!("lat-ratio-{d}"),
            &format!("reader p99 under the writer ({d}) ÷ idle p99, per repetition"),
            Unit::Slowdown,
            1,
            pick(&|l| l.p99[k] / l.p99_idle),
            false,
        );
        ctx.row(
            sec,
            &format!("lat-writer-{d}"),
            &format!("the writer process's commits meanwhile ({d})"),
            Unit::PerSec,
            1,
            pick(&|l| l.rate[k]),
            true,
        );
        let v = ctx
            .find(&format!("lat-ratio-{d}"))
            .median(Sys::Whefs)
            .unwrap_or(f64::NAN);
        ctx.target(
            9,
            &format!("reader p99 latency under a writer process ({d}): × idle"),
            v,
            Goal::AtMost(1.5),
            "× idle",
        );
    }
}

/// 1 thread reads every file of the 10,000-file set; then 2 threads on the
/// same handle each read every file (own orders). Throughput ratio.
pub fn reader_threads(ctx: &mut Ctx) {
    let (n, size, reps) = (ctx.sizes().small_set, ctx.sizes().file_size, ctx.cfg.reps);
    let set = ctx.file_set(n, size, "r", 1000);
    let orders = [shuffled(n, 0x7A1), shuffled(n, 0x7A2)];
    let set: &crate::fixture::FileSet = &set;
    let fs = Container::read_only(&set.whefs);
    let expect = (n * size) as u64;
    // Reads one order with the system's read call, in the calling thread.
    let pass = |sys: Sys, order: &[usize], db: Option<&rusqlite::Connection>| {
        let mut buf = vec![0u8; 2 * size];
        let total: u64 = match (sys, db) {
            (Sys::Whefs, _) => order
                .iter()
                .map(|&i| fs.read_file(&set.wnames[i], &mut buf) as u64)
                .sum(),
            (Sys::Plain, _) => order
                .iter()
                .map(|&i| plain::read_whole(&set.pnames[i], &mut buf) as u64)
                .sum(),
            (Sys::Sqlite, Some(db)) => {
                let mut st = db.prepare(sql::SELECT_DATA).expect("prepare");
                order
                    .iter()
                    .map(|&i| sql::read(&mut st, &set.names[i], &mut buf) as u64)
                    .sum()
            }
            _ => unreachable!(),
        };
        assert_eq!(total, expect);
    };
    let trial = |sys: Sys| -> [f64; 2] {
        // SQLite connections are not shared between threads: one each,
        // opened before the clock starts.
        let open = || (sys == Sys::Sqlite).then(|| sql::open(&set.sqlite, "FULL"));
        let (d0, mut d1) = (open(), open());
        let one = timed(|| pass(sys, &orders[0], d0.as_ref()));
        let two = timed(|| {
            std::thread::scope(|s| {
                let (d1, o1) = (d1.take(), &orders[1]);
                let h = s.spawn(move || pass(sys, o1, d1.as_ref()));
                pass(sys, &orders[0], d0.as_ref());
                h.join().expect("reader thread");
            })
        });
        [n as f64 / one, 2.0 * n as f64 / two]
    };
    ctx.progress("1 and 2 reader threads");
    let mut p = || trial(Sys::Plain);
    let mut s = || trial(Sys::Sqlite);
    let mut w = || trial(Sys::Whefs);
    let res = ctx.alternate(
        reps,
        true,
        &mut [
            (Sys::Plain, &mut p),
            (Sys::Sqlite, &mut s),
            (Sys::Whefs, &mut w),
        ],
    );
    let pick = |k: usize| -> Vec<(Sys, Vec<f64>)> {
        res.iter()
            .map(|(s, v)| (*s, v.iter().map(|x| x[k]).collect()))
            .collect()
    };
    let ratio: Vec<(Sys, Vec<f64>)> = res
        .iter()
        .map(|(s, v)| (*s, v.iter().map(|x| x[1] / x[0]).collect()))
        .collect();
    let what = format!("random {} KiB whole-file reads", size / 1024);
    let sec = Section::Concurrency;
    ctx.row(
        sec,
        "threads-1",
        &format!("{what}, 1 thread"),
        Unit::PerSec,
        1,
        pick(0),
        true,
    );
    ctx.row(
        sec,
        "threads-2",
        &format!("{what}, 2 threads on one handle (SQLite: a connection each)"),
        Unit::PerSec,
        1,
        pick(1),
        true,
    );
    ctx.row(
        sec,
        "threads-ratio",
        "reads/s, 2 threads ÷ 1 thread, per repetition",
        Unit::Times,
        1,
        ratio,
        false,
    );
    let v = ctx
        .find("threads-ratio")
        .median(Sys::Whefs)
        .unwrap_or(f64::NAN);
    ctx.target(
        9,
        "1 → 2 reader threads on one Fs: throughput ratio",
        v,
        Goal::AtLeast(1.9),
        "×",
    );
}

/// Commits per second of one writer process, then of two on different
/// files, durability off and full.
pub fn writer_processes(ctx: &mut Ctx) {
    let (secs, reps) = (ctx.sizes().writer_secs, ctx.cfg.heavy_reps);
    let stores = Stores::build(&ctx.cfg.dir.join("writers"));
    let window = Duration::from_secs_f64(secs);
    let trial = |sys: Sys| -> [f64; 4] {
        let mut out = [0.0; 4];
        for (k, durable) in [false, true].into_iter().enumerate() {
            let mut one = Writer::start(sys, durable, stores.path(sys), "w/a");
            one.go();
            std::thread::sleep(window);
            out[2 * k] = one.stop();
            let mut a = Writer::start(sys, durable, stores.path(sys), "w/a");
            let mut b = Writer::start(sys, durable, stores.path(sys), "w/b");
            a.go();
            b.go();
            std::thread::sleep(window);
            out[2 * k + 1] = a.stop() + b.stop();
        }
        out
    };
    ctx.progress("1 and 2 writer processes");
    let mut p = || trial(Sys::Plain);
    let mut s = || trial(Sys::Sqlite);
    let mut w = || trial(Sys::Whefs);
    let res = ctx.alternate(
        reps,
        false,
        &mut [
            (Sys::Plain, &mut p),
            (Sys::Sqlite, &mut s),
            (Sys::Whefs, &mut w),
        ],
    );
    let pick = |f: &dyn Fn(&[f64; 4]) -> f64| -> Vec<(Sys, Vec<f64>)> {
        res.iter()
            .map(|(s, v)| (*s, v.iter().map(f).collect()))
            .collect()
    };
    let sec = Section::Concurrency;
    let commit = "rewrite 4 KiB of its own file + commit (whefs: `whefs_file_pwrite` + `whefs_file_flush`; plain: pwrite [+ fdatasync]; SQLite: UPDATE)";
    for (k, d) in ["off", "full"].into_iter().enumerate() {
        ctx.row(
            sec,
            &format!("writers-1-{d}"),
            &format!("commits/s, 1 writer process ({d}): {commit}"),
            Unit::PerSec,
            1,
            pick(&|x| x[2 * k]),
            true,
        );
        ctx.row(
            sec,
            &format!("writers-2-{d}"),
            &format!("commits/s, 2 writer processes, different files ({d}), summed"),
            Unit::PerSec,
            1,
            pick(&|x| x[2 * k + 1]),
            true,
        );
        ctx.row(
            sec,
            &format!("writers-ratio-{d}"),
            &format!("2 writer processes ÷ 1 ({d}), per repetition"),
            Unit::Times,
            1,
            pick(&|x| x[2 * k + 1] / x[2 * k]),
            false,
        );
        let v = ctx
            .find(&format!("writers-ratio-{d}"))
            .median(Sys::Whefs)
            .unwrap_or(f64::NAN);
        ctx.target(
            10,
            &format!("2 writer processes on different files vs 1 ({d}): commits/s ratio"),
            v,
            Goal::AtLeast(1.6),
            "×",
        );
    }
}
