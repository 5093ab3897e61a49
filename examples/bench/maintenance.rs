//! The maintenance workloads of issue 13: an online backup of a container
//! against `cp` of its file, and compaction after deleting half of the
//! files. Both go through the Rust API (`Fs::backup_to`, `Fs::compact`),
//! which the C API does not offer yet.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fixture::content;
use crate::harness::{thousands, timed, Ctx, Goal, Section, Sys, Unit};

/// A scratch directory, emptied first.
fn fresh(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("mkdir");
    dir.to_path_buf()
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .len()
}

/// `whefs::Fs::backup_to` of the 10,000-file set's container (a fresh copy
/// each time, synced by the library) against `cp` of the same file plus an
/// `fsync` of the copy, both in MB of the container file per second.
pub fn backup(ctx: &mut Ctx) {
    let (n, size, reps) = (
        ctx.sizes().small_set,
        ctx.sizes().file_size,
        ctx.cfg.heavy_reps,
    );
    let set = ctx.file_set(n, size, "r", 1000);
    let source = set.whefs.clone();
    let bytes = file_len(&source) as f64;
    let dir = fresh(&ctx.cfg.dir.join("backup"));
    let dest = dir.join("copy");
    let fs = whefs::Fs::open_read_only(&source).expect("open the set's container");
    let mut copied_bytes = Vec::new();
    let mut whefs = || {
        let _ = std::fs::remove_file(&dest);
        let mut report = None;
        let t = timed(|| report = Some(fs.backup_to(&dest).expect("backup_to")));
        copied_bytes.push(report.expect("timed ran").bytes as f64);
        bytes / t / 1e6
    };
    let mut cp = || {
        let _ = std::fs::remove_file(&dest);
        let t = timed(|| {
            let status = Command::new("cp")
                .arg("--reflink=never")
                .arg(&source)
                .arg(&dest)
                .status()
                .expect("run cp");
            assert!(status.success(), "cp failed: {status}");
            std::fs::File::open(&dest)
                .and_then(|f| f.sync_all())
                .expect("fsync the copy");
        });
        bytes / t / 1e6
    };
    ctx.progress(&format!(
        "backup of a {:.0} MB container ({} files) vs cp",
        bytes / 1e6,
        thousands(n as u64)
    ));
    let cells = ctx.alternate(
        reps,
        true,
        &mut [(Sys::Plain, &mut cp), (Sys::Whefs, &mut whefs)],
    );
    drop(fs);
    let _ = std::fs::remove_dir_all(&dir);
    let label = format!(
        "backup of the {}-file container ({:.0} MB), MB of it per second (`Fs::backup_to` / `cp` + `fsync` of the copy)",
        thousands(n as u64),
        bytes / 1e6
    );
    let row = ctx.row(
        Section::Maintenance,
        "backup",
        &label,
        Unit::MBps,
        1,
        cells,
        true,
    );
    row.readme = true;
    let ratio: Vec<f64> = copied_bytes.iter().map(|b| b / bytes).collect();
    ctx.row(
        Section::Maintenance,
        "backup-size",
        "size of that backup, × the container file (the copy holds live pages only)",
        Unit::Payload,
        1,
        vec![(Sys::Whefs, ratio)],
        false,
    );
}

/// What one compaction sample measured.
struct Compaction {
    secs: f64,
    /// File size before and after, × the live payload.
    before: f64,
    after: f64,
    /// Pages in the container after, × its live pages.
    over_live: f64,
}

/// N files of 10 KiB in one transaction, every other one removed in a
/// second; then a fresh open (as `whefs compact` does) compacts, timed.
pub fn compaction(ctx: &mut Ctx) {
    let (n, size, reps) = (
        ctx.sizes().compact_files,
        ctx.sizes().file_size,
        ctx.cfg.heavy_reps,
    );
    let dir = ctx.cfg.dir.join("compact");
    let names: Vec<String> = (0..n)
        .map(|i| format!("c{:03}/f{i:06}", i / 1000))
        .collect();
    let payload = (n.div_ceil(2) * size) as f64;
    let mut run = || {
        let path = fresh(&dir).join("c.whefs");
        {
            let fs = whefs::FsOptions::new()
                .create(true)
                .durability(whefs::Durability::Off)
                .open(&path)
                .expect("create");
            fs.transaction(|t| {
                for (i, name) in names.iter().enumerate() {
                    if i % 1000 == 0 {
                        t.create_dir_all(&format!("c{:03}", i / 1000))?;
                    }
                    t.write(name, content(i, size))?;
                }
                Ok(())
            })
            .expect("write the files");
            fs.transaction(|t| {
                for name in names.iter().skip(1).step_by(2) {
                    t.remove_file(name)?;
                }
                Ok(())
            })
            .expect("remove half");
        }
        let before = file_len(&path) as f64;
        let fs = whefs::Fs::open(&path).expect("open");
        let secs = timed(|| {
            fs.compact().expect("compact");
        });
        let info = fs.info().expect("info");
        drop(fs);
        let after = file_len(&path) as f64;
        Compaction {
            secs,
            before: before / payload,
            after: after / payload,
            over_live: info.pages_total as f64 / info.pages_used.max(1) as f64,
        }
    };
    ctx.progress(&format!(
        "compaction after deleting half of {} files",
        thousands(n as u64)
    ));
    let samples = ctx.alternate(reps, false, &mut [(Sys::Whefs, &mut run)]);
    let _ = std::fs::remove_dir_all(&dir);
    let pick = |f: &dyn Fn(&Compaction) -> f64| -> Vec<(Sys, Vec<f64>)> {
        samples
            .iter()
            .map(|(s, v)| (*s, v.iter().map(f).collect()))
            .collect()
    };
    let label = format!(
        "compaction after deleting half of {} files of {} KiB (`Fs::compact` from a fresh open, durable)",
        thousands(n as u64),
        size / 1024
    );
    let row = ctx.row(
        Section::Maintenance,
        "compact",
        &label,
        Unit::Secs,
        1,
        pick(&|c| c.secs),
        false,
    );
    row.readme = true;
    ctx.row(
        Section::Maintenance,
        "compact-before",
        "container size before that compaction, × the live payload",
        Unit::Payload,
        1,
        pick(&|c| c.before),
        false,
    );
    ctx.row(
        Section::Maintenance,
        "compact-after",
        "container size after it, × the live payload",
        Unit::Payload,
        1,
        pick(&|c| c.after),
        false,
    );
    ctx.row(
        Section::Maintenance,
        "compact-over-live",
        "pages after it, × the live pages (`Info::pages_total` / `pages_used`)",
        Unit::Payload,
        1,
        pick(&|c| c.over_live),
        false,
    );
    let v = ctx
        .find("compact-over-live")
        .median(Sys::Whefs)
        .unwrap_or(f64::NAN);
    ctx.target(
        13,
        "container after compaction: pages × its live pages",
        v,
        Goal::AtMost(1.1),
        "× live",
    );
}
