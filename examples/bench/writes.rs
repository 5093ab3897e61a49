//! The write workloads of issue 10, each one function: small commits
//! durable and not, a 10,000-file import in one transaction (and the
//! container's size after it), a large sequential write + sync, and the
//! syscalls of one small commit under `strace -c`. Every repetition writes
//! into a fresh store, created and removed outside the timed part.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use rusqlite::params;

use crate::capi::{cpath, cstr, Container, WHEFS_DURABLE_FULL, WHEFS_DURABLE_OFF};
use crate::child;
use crate::fixture::content;
use crate::harness::{thousands, timed, Ctx, Goal, Section, Stepper, Sys, SyscallProfile, Unit};
use crate::plain::{self, Fd};
use crate::sql;

/// A scratch directory, emptied first.
fn fresh(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("mkdir");
    dir.to_path_buf()
}

pub fn small_commits_durable(ctx: &mut Ctx) {
    small_commits(ctx, true);
}

pub fn small_commits_off(ctx: &mut Ctx) {
    small_commits(ctx, false);
}

/// whefs: `whefs_write_file` of new files in a fresh container.
struct WhefsCommits<'a> {
    dir: PathBuf,
    mode: i32,
    names: &'a [CString],
    size: usize,
    fs: Option<Container>,
}

impl Stepper for WhefsCommits<'_> {
    fn begin(&mut self) {
        let fs = Container::writable(&fresh(&self.dir).join("c.whefs"), self.mode);
        fs.mkdir_all("w");
        self.fs = Some(fs);
    }
    fn step(&mut self, i: usize) {
        let fs = self.fs.as_ref().expect("begun");
        fs.write_file(&self.names[i], content(i, self.size));
    }
    fn end(&mut self) {
        self.fs = None;
    }
}

/// Plain files: open + pwrite [+ fdatasync [+ fsync of the directory]] +
/// close of new files in a fresh directory; only the first `count` steps.
struct PlainCommits<'a> {
    dir: PathBuf,
    names: &'a [String],
    size: usize,
    count: usize,
    /// 0: no sync, 1: fdatasync, 2: and an fsync of the directory.
    syncs: u8,
    paths: Vec<CString>,
    wdir: Option<Fd>,
}

impl Stepper for PlainCommits<'_> {
    fn begin(&mut self) {
        let dir = fresh(&self.dir);
        std::fs::create_dir_all(dir.join("w")).expect("mkdir");
        self.paths = self.names[..self.count]
            .iter()
            .map(|s| cpath(&dir.join(s)))
            .collect();
        self.wdir = Some(Fd::open(&dir.join("w"), libc::O_RDONLY | libc::O_DIRECTORY));
    }
    fn step(&mut self, i: usize) {
        if i >= self.count {
            return;
        }
        let sync = match self.syncs {
            0 => plain::Sync::None,
            1 => plain::Sync::Data,
            _ => plain::Sync::DataAndDir(self.wdir.as_ref().expect("begun").0),
        };
        plain::write_file(&self.paths[i], content(i, self.size), sync);
    }
    fn end(&mut self) {
        self.wdir = None;
    }
}

/// SQLite: an autocommit INSERT per file into a fresh WAL database.
struct SqliteCommits<'a> {
    dir: PathBuf,
    sync: &'static str,
    names: &'a [String],
    size: usize,
    db: Option<rusqlite::Connection>,
}

impl Stepper for SqliteCommits<'_> {
    fn begin(&mut self) {
        self.db = Some(sql::open(&fresh(&self.dir).join("c.sqlite"), self.sync));
    }
    fn step(&mut self, i: usize) {
        let db = self.db.as_ref().expect("begun");
        let mut st = db.prepare_cached(sql::INSERT).expect("prepare");
        st.execute(params![self.names[i], content(i, self.size)])
            .expect("INSERT");
    }
    fn end(&mut self) {
        self.db = None;
    }
}

/// The floor beside the commits: a 4 KiB `pwrite` [+ `fdatasync`] into a
/// file of 256 allocated pages, taking its turn with them.
struct SyncFloor {
    path: PathBuf,
    sync: bool,
    fd: Option<Fd>,
}

impl Stepper for SyncFloor {
    fn begin(&mut self) {
        let fd = Fd::open(&self.path, libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC);
        plain::write_all_at(fd.0, content(0, 256 * 4096), 0);
        plain::datasync(fd.0);
        self.fd = Some(fd);
    }
    fn step(&mut self, i: usize) {
        let fd = self.fd.as_ref().expect("begun").0;
        plain::write_all_at(fd, content(i, 4096), (i % 256) as u64 * 4096);
        if self.sync {
            plain::datasync(fd);
        }
    }
    fn end(&mut self) {
        self.fd = None;
    }
}

/// `n` new files of 4 KiB, one commit each, the systems taking turns per
/// commit (a sync's cost drifts by 10× over minutes on a shared disk).
fn small_commits(ctx: &mut Ctx, durable: bool) {
    let (n, size) = (ctx.sizes().commits, ctx.sizes().commit_size);
    let reps = if durable {
        ctx.cfg.heavy_reps
    } else {
        ctx.cfg.reps
    };
    let d = if durable { "full" } else { "off" };
    let dir = ctx.cfg.dir.join(format!("commits-{d}"));
    let names: Vec<String> = (0..n).map(|i| format!("w/f{i:06}")).collect();
    let wnames: Vec<_> = names.iter().map(|s| cstr(s)).collect();
    let mut whefs = WhefsCommits {
        dir: dir.join("whefs"),
        mode: if durable {
            WHEFS_DURABLE_FULL
        } else {
            WHEFS_DURABLE_OFF
        },
        names: &wnames,
        size,
        fs: None,
    };
    let mut plain = PlainCommits {
        dir: dir.join("plain"),
        names: &names,
        size,
        count: n,
        syncs: u8::from(durable),
        paths: Vec::new(),
        wdir: None,
    };
    // A tenth of the files: it only says what the directory fsync adds per commit.
    let n_dir = n.div_ceil(10);
    let mut plain_dir = PlainCommits {
        dir: dir.join("plain-dirsync"),
        names: &names,
        size,
        count: n_dir,
        syncs: 2,
        paths: Vec::new(),
        wdir: None,
    };
    let mut sqlite = SqliteCommits {
        dir: dir.join("sqlite"),
        sync: if durable { "FULL" } else { "OFF" },
        names: &names,
        size,
        db: None,
    };
    ctx.progress(&format!(
        "{n} small commits ({d}), the systems taking turns per commit"
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut floor = SyncFloor {
        path: dir.join("floor.bin"),
        sync: durable,
        fd: None,
    };
    let mut systems: Vec<(Sys, &mut dyn Stepper)> = vec![
        (Sys::Plain, &mut plain),
        (Sys::Sqlite, &mut sqlite),
        (Sys::Whefs, &mut whefs),
        (Sys::Host, &mut floor),
    ];
    if durable {
        systems.push((Sys::Plain, &mut plain_dir));
    }
    let mut cells = ctx.interleave(reps, n, &mut systems);
    drop(systems);
    let _ = std::fs::remove_dir_all(&dir);
    let extra = durable.then(|| cells.pop().expect("the directory-fsync trial"));
    let (host, floor_secs) = cells.pop().expect("the floor trial");
    let (floor_id, floor_label) = if durable {
        (
            "floor-fdatasync-beside",
            "one `fdatasync` after a 4 KiB `pwrite`, taking turns with the durable commits",
        )
    } else {
        (
            "floor-pwrite-beside",
            "one 4 KiB `pwrite`, taking turns with the unsynced commits",
        )
    };
    let per_op: Vec<f64> = floor_secs.iter().map(|t| t / n as f64 * 1e6).collect();
    ctx.row(
        Section::Floors,
        floor_id,
        floor_label,
        Unit::Micros,
        1,
        vec![(host, per_op)],
        false,
    );
    let how = if durable {
        "`whefs_write_file` at WHEFS_DURABLE_FULL / write+fdatasync / WAL synchronous=FULL"
    } else {
        "WHEFS_DURABLE_OFF / write, no sync / WAL synchronous=OFF"
    };
    let label = format!(
        "{} new files of {} KiB, one {} commit each ({how})",
        thousands(n as u64),
        size / 1024,
        if durable { "durable" } else { "unsynced" }
    );
    let row = ctx.row(
        Section::Writes,
        &format!("commits-{d}"),
        &label,
        Unit::Secs,
        n as u64,
        cells,
        true,
    );
    row.readme = true;
    let v = row.speed(Sys::Whefs, Sys::Sqlite).unwrap_or(f64::NAN);
    if let Some(extra) = extra {
        ctx.row(
            Section::Writes,
            "commits-full-dirsync",
            &format!(
                "{} such files on plain files with an `fsync` of the directory after each (POSIX durability of the new name)",
                thousands(n_dir as u64)
            ),
            Unit::Secs,
            n_dir as u64,
            vec![extra],
            false,
        );
    }
    let what = if durable {
        "durable small commits"
    } else {
        "unsynced small commits"
    };
    ctx.target(
        10,
        &format!("{what}: speed vs SQLite WAL"),
        v,
        Goal::AtLeast(1.0),
        "× SQLite",
    );
}

/// 10,000 files of 10 KiB in one transaction, and the store's size after.
pub fn import(ctx: &mut Ctx) {
    let (n, size, reps) = (
        ctx.sizes().import_files,
        ctx.sizes().file_size,
        ctx.cfg.heavy_reps,
    );
    let dir = ctx.cfg.dir.join("import");
    let names: Vec<String> = (0..n)
        .map(|i| format!("i{:03}/f{i:06}", i / 1000))
        .collect();
    let wnames: Vec<_> = names.iter().map(|s| cstr(s)).collect();
    let dirs: Vec<String> = (0..n.div_ceil(1000)).map(|d| format!("i{d:03}")).collect();
    let payload = (n * size) as f64;
    let mut whefs = || {
        let dir = fresh(&dir);
        let path = dir.join("c.whefs");
        let fs = Container::writable(&path, WHEFS_DURABLE_FULL);
        let t = timed(|| {
            let mut txn = fs.begin();
            for d in &dirs {
                txn.mkdir_all(d);
            }
            for (i, name) in wnames.iter().enumerate() {
                txn.write(name, content(i, size));
            }
            txn.commit();
        });
        let info = fs.info();
        drop(fs);
        let bytes = std::fs::metadata(&path).expect("container").len();
        let free = info.pages_free * info.page_size as u64;
        (t, bytes as f64 / payload, free as f64 / payload)
    };
    let mut sqlite = || {
        let dir = fresh(&dir);
        let path = dir.join("c.sqlite");
        let mut db = sql::open(&path, "FULL");
        let t = timed(|| {
            let tx = db.transaction().expect("BEGIN");
            {
                let mut st = tx.prepare(sql::INSERT).expect("prepare");
                for (i, name) in names.iter().enumerate() {
                    st.execute(params![name, content(i, size)]).expect("INSERT");
                }
            }
            tx.commit().expect("COMMIT");
        });
        drop(db);
        (t, sql::disk_bytes(&path) as f64 / payload, f64::NAN)
    };
    ctx.progress(&format!("{n}-file import in one transaction"));
    let res = ctx.alternate(
        reps,
        false,
        &mut [(Sys::Sqlite, &mut sqlite), (Sys::Whefs, &mut whefs)],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let pick = |f: &dyn Fn(&(f64, f64, f64)) -> f64| -> Vec<(Sys, Vec<f64>)> {
        res.iter()
            .map(|(s, v)| (*s, v.iter().map(f).collect()))
            .collect()
    };
    let label = format!(
        "{} files of {} KiB in one transaction (`whefs_txn_*` / BEGIN…COMMIT), durable",
        thousands(n as u64),
        size / 1024
    );
    let row = ctx.row(
        Section::Writes,
        "import",
        &label,
        Unit::Secs,
        n as u64,
        pick(&|x| x.0),
        true,
    );
    row.readme = true;
    let v = row.speed(Sys::Whefs, Sys::Sqlite).unwrap_or(f64::NAN);
    ctx.target(
        10,
        "one-transaction import of 10,000 × 10 KiB: speed vs SQLite",
        v,
        Goal::AtLeast(1.0),
        "× SQLite",
    );
    ctx.row(
        Section::Writes,
        "import-size",
        "size on disk after that import (closed), × the payload",
        Unit::Payload,
        1,
        pick(&|x| x.1),
        false,
    );
    let whefs_free: Vec<(Sys, Vec<f64>)> = pick(&|x| x.2)
        .into_iter()
        .filter(|(s, _)| *s == Sys::Whefs)
        .collect();
    ctx.row(
        Section::Writes,
        "import-free",
        "of which free pages in the container after it (`whefs_fs_info`), × the payload",
        Unit::Payload,
        1,
        whefs_free,
        false,
    );
    let v = ctx
        .find("import-size")
        .median(Sys::Whefs)
        .unwrap_or(f64::NAN);
    ctx.target(
        10,
        "container size after that import: × payload",
        v,
        Goal::AtMost(1.25),
        "× payload",
    );
}

/// One large file written in 1 MiB calls and synced.
pub fn sequential_write(ctx: &mut Ctx) {
    let (mib, reps) = (ctx.sizes().seq_mib, ctx.cfg.heavy_reps);
    let dir = ctx.cfg.dir.join("seq-write");
    let mut whefs = || {
        let dir = fresh(&dir);
        let fs = Container::writable(&dir.join("c.whefs"), WHEFS_DURABLE_FULL);
        timed(|| {
            let mut f = fs.file("big", "w");
            for c in 0..mib {
                f.write(content(c, 1 << 20));
            }
            f.close();
        })
    };
    let mut raw = || {
        let dir = fresh(&dir);
        let path = dir.join("big");
        timed(|| {
            let fd = Fd::open(&path, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC);
            for c in 0..mib {
                plain::write_all_at(fd.0, content(c, 1 << 20), (c << 20) as u64);
            }
            plain::datasync(fd.0);
        })
    };
    ctx.progress(&format!("{mib} MiB sequential writes"));
    let cells = ctx.alternate(
        reps,
        false,
        &mut [(Sys::Plain, &mut raw), (Sys::Whefs, &mut whefs)],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let label = format!(
        "{mib} MiB sequential write + sync, 1 MiB calls (`whefs_file_write` + close at FULL / raw pwrite + fdatasync)"
    );
    let row = ctx.row(
        Section::Writes,
        "seq-write",
        &label,
        Unit::Secs,
        mib as u64,
        cells,
        true,
    );
    row.readme = true;
    let v = row.speed(Sys::Whefs, Sys::Plain).unwrap_or(f64::NAN);
    ctx.target(
        10,
        "512 MiB sequential write + sync: speed vs raw",
        v,
        Goal::AtLeast(0.9),
        "× raw",
    );
}

/// Syscalls per small commit: a child makes N1, then N2 commits under
/// `strace -f -c`; the difference per commit, by name.
pub fn syscalls(ctx: &mut Ctx) {
    let Some(strace) = ctx.cfg.strace.clone() else {
        ctx.notes
            .push("Syscalls per commit: skipped, no working `strace` on this machine.".into());
        return;
    };
    ctx.progress("syscalls per small commit (strace -c -f)");
    let scratch = fresh(&ctx.cfg.dir.join("strace"));
    let mut totals: Vec<(String, Sys, f64)> = Vec::new();
    for new in [true, false] {
        for durable in [true, false] {
            let (n1, n2) = if durable {
                ctx.sizes().strace_commits_full
            } else {
                ctx.sizes().strace_commits_off
            };
            let d = if durable { "full" } else { "off" };
            for sys in [Sys::Plain, Sys::Sqlite, Sys::Whefs] {
                let count = |n: usize| {
                    let store = fresh(&scratch.join("store"));
                    let store = match sys {
                        Sys::Whefs => store.join("c.whefs"),
                        Sys::Sqlite => store.join("c.sqlite"),
                        _ => store,
                    };
                    let (s, n) = (
                        store.to_str().expect("UTF-8 path").to_string(),
                        n.to_string(),
                    );
                    let op = if new { "new" } else { "rewrite" };
                    child::strace_counts(&strace, &scratch, &["commits", sys.key(), d, &s, &n, op])
                };
                let by_name = child::per_op(&count(n1), &count(n2), n1, n2);
                let total: f64 = by_name.iter().map(|(_, c)| c).sum();
                let op = if new {
                    "a new 4 KiB file (`whefs_write_file` / open+write+close / INSERT)"
                } else {
                    "4 KiB rewritten in an open file (`whefs_file_pwrite` + `whefs_file_flush` / pwrite / UPDATE)"
                };
                ctx.syscalls.push(SyscallProfile {
                    label: format!("{}, {d}: {op}", sys.name()),
                    total,
                    by_name,
                });
                totals.push((
                    format!("{}-{d}", if new { "new" } else { "rewrite" }),
                    sys,
                    total,
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    for (key, label) in [
        (
            "new-full",
            "syscalls per small commit, a new 4 KiB file, durable (full / fdatasync / FULL)",
        ),
        (
            "new-off",
            "syscalls per small commit, a new 4 KiB file, unsynced (off / no sync / OFF)",
        ),
        (
            "rewrite-full",
            "syscalls per small commit, 4 KiB rewritten in an open file, durable",
        ),
        (
            "rewrite-off",
            "syscalls per small commit, 4 KiB rewritten in an open file, unsynced",
        ),
    ] {
        let cells = totals
            .iter()
            .filter(|(k, _, _)| k == key)
            .map(|(_, s, t)| (*s, vec![*t]))
            .collect();
        ctx.row(
            Section::Writes,
            &format!("syscalls-{key}"),
            label,
            Unit::Calls,
            1,
            cells,
            false,
        );
    }
    let full = ctx
        .find("syscalls-new-full")
        .median(Sys::Whefs)
        .unwrap_or(f64::NAN);
    let off = ctx
        .find("syscalls-new-off")
        .median(Sys::Whefs)
        .unwrap_or(f64::NAN);
    ctx.target(
        10,
        "syscalls per small commit, full (`whefs_write_file`)",
        full,
        Goal::AtMost(6.0),
        "",
    );
    ctx.target(
        10,
        "syscalls per small commit, off (`whefs_write_file`)",
        off,
        Goal::AtMost(4.0),
        "",
    );
}
