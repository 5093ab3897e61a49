//! `whefs backup`: a consistent, compact copy of one committed state — the
//! latest, or with `--snapshot` a snapshot's — in a new container file
//! ([`whefs::Fs::backup_to`], as `mdb_copy -c` or SQLite's `VACUUM INTO`).
//!
//! Invariants: other processes go on writing meanwhile and are never
//! blocked (the copy reads one pinned state); DEST appears only complete
//! and synced, and an existing DEST is never touched; `--verify` reads the
//! copy back through a fresh open before the command reports success.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use whefs::{BackupReport, CheckReport, Error};

use crate::container::{open, options, refuse_existing, Access};
use crate::failure::{Exit, Failure};
use crate::printer::Printer;
use crate::text;
use crate::Global;

/// Copy the container (or with --snapshot, a snapshot) into a new file.
///
/// The copy is one committed state, taken while other processes keep
/// writing (they are not blocked), and compact: only live pages,
/// renumbered, with no snapshots and no free space, so it is often much
/// smaller than the container. DEST must not exist; it appears only once
/// complete and synced. --verify then opens the copy and checks it (every
/// checksum and the page accounting), and that it holds as many files and
/// directories as were copied. Prints the generation copied, the pages,
/// bytes and time. With --json: one object with container, dest, snapshot
/// (or null), generation, files, dirs, pages, bytes, seconds,
/// bytes_per_second and verified (true, or null without --verify).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The new container file to write.
    dest: PathBuf,
    /// Open the copy and check it before reporting success.
    #[arg(long)]
    verify: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonBackup<'a> {
    container: String,
    dest: String,
    snapshot: Option<&'a str>,
    generation: u64,
    files: u64,
    dirs: u64,
    pages: u64,
    bytes: u64,
    seconds: f64,
    bytes_per_second: f64,
    verified: Option<bool>,
}

/// Backs up.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let (container, dest) = (&args.container, &args.dest);
    let fs = open(global, container, Access::Read)?;
    refuse_existing(dest)?;
    let mut printer = Printer::new(global, args.json);
    let what = format!("backup {}", dest.display());
    let page_size = fs.info().map_err(|e| Failure::fs(&what, e))?.page_size;
    let page = u64::from(page_size);
    let progress = printer.copy_bar("backup");
    let started = Instant::now();
    let report = fs
        .backup_to_with(dest, &mut |done, total| {
            progress.set_bytes(done.saturating_mul(page), total.saturating_mul(page));
        })
        .map_err(|e| Failure::fs(&what, e))?;
    let seconds = started.elapsed().as_secs_f64();
    let per_second = report.bytes as f64 / seconds.max(1e-9);
    progress.finish_with(text::count(report.pages, "page"));
    let verified = if args.verify {
        let check = printer.spinner("verify", format!("checking {}", dest.display()));
        let outcome = verify(global, dest, &report);
        drop(check);
        outcome?;
        Some(true)
    } else {
        None
    };
    if printer.json() {
        printer.document(&JsonBackup {
            container: container.display().to_string(),
            dest: dest.display().to_string(),
            snapshot: fs.snapshot_name(),
            generation: report.generation,
            files: report.files,
            dirs: report.dirs,
            pages: report.pages,
            bytes: report.bytes,
            seconds,
            bytes_per_second: per_second,
            verified,
        })?;
    } else {
        let state = match fs.snapshot_name() {
            Some(name) => format!("snapshot {name} (generation {})", report.generation),
            None => format!("generation {}", report.generation),
        };
        printer.line(format_args!(
            "{}: {state} of {}: {}, {}, {} in {seconds:.3} s ({}/s)",
            dest.display(),
            container.display(),
            text::count(report.files, "file"),
            text::count(report.dirs, "dir"),
            text::pages(report.pages, page_size),
            text::human(per_second as u64),
        ))?;
        if verified.is_some() {
            printer.line(format_args!("{}: verified, clean", dest.display()))?;
        }
    }
    printer.finish()
}

/// Opens the copy afresh and checks it; it must hold what was copied.
/// A copy that does not verify is left in place for inspection.
fn verify(global: &Global, dest: &Path, copied: &BackupReport) -> Result<CheckReport, Failure> {
    let what = format!("backup --verify {}", dest.display());
    let failed = |problem: String| {
        Failure::new(
            Exit::Generic,
            format!("{what}: the copy does not verify (left in place): {problem}"),
        )
    };
    let report = match options(global).open(dest).and_then(|copy| copy.check()) {
        Ok(report) => report,
        Err(e @ (Error::Corrupt(_) | Error::BadMagic(_))) => return Err(failed(e.to_string())),
        Err(e) => return Err(Failure::fs(&what, e)),
    };
    if (report.files, report.dirs) != (copied.files, copied.dirs) {
        return Err(failed(format!(
            "it holds {} files and {} dirs, the backup copied {} and {}",
            report.files, report.dirs, copied.files, copied.dirs
        )));
    }
    Ok(report)
}
