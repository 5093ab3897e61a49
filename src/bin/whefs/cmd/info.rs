//! `whefs info`: container-wide figures, as text or one JSON object: the
//! pages and how they are used, the snapshots and the pages each holds
//! alone, and what `compact` could give back.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use whefs::Fs;

use crate::cmd::snapshot::JsonSnapshot;
use crate::container::{open, Access};
use crate::failure::Failure;
use crate::printer::{stdout_failure, Printer};
use crate::text;
use crate::Global;

/// Show container-wide figures: pages, files, snapshots, reclaimable space.
///
/// Page size, generation, the pages and how they are used, files and
/// directories, the snapshots, and the space `compact` could give back.
/// Pages held by snapshots are the ones only snapshots still reference
/// (not counted as used); each snapshot's line says how many only it holds
/// (what deleting it gives back). Reclaimable pages are the free and
/// pending ones: at most what `compact` returns to the disk. With
/// --snapshot NAME the generation, files and dirs are the snapshot's.
/// With --json: one object with container, snapshot (the one read, or
/// null), label, file_size, page_size, generation, pages_total,
/// pages_used, pages_free, pages_pending, pages_snapshot,
/// pages_reclaimable, files, dirs and snapshots (an array of objects as
/// `snapshot list --json` prints them).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonInfo<'a> {
    container: String,
    snapshot: Option<&'a str>,
    label: &'a str,
    file_size: Option<u64>,
    page_size: u32,
    generation: u64,
    pages_total: u64,
    pages_used: u64,
    pages_free: u64,
    pages_pending: u64,
    pages_snapshot: u64,
    pages_reclaimable: u64,
    files: u64,
    dirs: u64,
    snapshots: Vec<JsonSnapshot<'a>>,
}

/// Shows the figures.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let mut printer = Printer::new(global, args.json);
    if printer.json() {
        let what = format!("info {}", args.container.display());
        let info = fs.info().map_err(|e| Failure::fs(&what, e))?;
        let snapshots = fs.snapshots().map_err(|e| Failure::fs(&what, e))?;
        printer.document(&JsonInfo {
            container: args.container.display().to_string(),
            snapshot: fs.snapshot_name(),
            label: &info.label,
            file_size: std::fs::metadata(&args.container).ok().map(|m| m.len()),
            page_size: info.page_size,
            generation: info.generation,
            pages_total: info.pages_total,
            pages_used: info.pages_used,
            pages_free: info.pages_free,
            pages_pending: info.pages_pending,
            pages_snapshot: info.pages_snapshot,
            pages_reclaimable: info.pages_reclaimable,
            files: info.files,
            dirs: info.dirs,
            snapshots: snapshots
                .iter()
                .map(|s| JsonSnapshot::new(s, info.page_size))
                .collect(),
        })?;
    } else {
        print_text(&fs, &args.container, printer.out())?;
    }
    printer.finish()
}

/// The text form (shared with the demo).
pub fn print_text(fs: &Fs, container: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let what = format!("info {}", container.display());
    let info = fs.info().map_err(|e| Failure::fs(&what, e))?;
    let snapshots = fs.snapshots().map_err(|e| Failure::fs(&what, e))?;
    let file_size = match std::fs::metadata(container) {
        Ok(meta) => format!("{} ({})", meta.len(), text::human(meta.len())),
        Err(_) => "-".to_string(),
    };
    let page = u64::from(info.page_size);
    let pages = |n: u64| format!("{n} ({})", text::human(n.saturating_mul(page)));
    let mut lines = vec![("container", container.display().to_string())];
    if let Some(name) = fs.snapshot_name() {
        lines.push(("snapshot", name.to_string()));
    }
    lines.extend([
        ("label", info.label.clone()),
        ("file size", file_size),
        ("page size", info.page_size.to_string()),
        ("generation", info.generation.to_string()),
        ("pages total", pages(info.pages_total)),
        ("pages used", pages(info.pages_used)),
        ("pages free", pages(info.pages_free)),
        ("pages pending", pages(info.pages_pending)),
        (
            "snapshot pages",
            format!("{}, held only by snapshots", pages(info.pages_snapshot)),
        ),
        (
            "reclaimable",
            format!("{} by compact", pages(info.pages_reclaimable)),
        ),
        ("files", info.files.to_string()),
        ("dirs", info.dirs.to_string()),
        ("snapshots", snapshots.len().to_string()),
    ]);
    let width = lines.iter().map(|(key, _)| key.len()).max().unwrap_or(0) + 2;
    for (key, value) in lines {
        writeln!(out, "{:<width$}{value}", format!("{key}:")).map_err(stdout_failure)?;
    }
    for s in &snapshots {
        writeln!(
            out,
            "  {}: generation {}, holds {} alone",
            s.name,
            s.generation,
            text::pages(s.exclusive_pages, info.page_size)
        )
        .map_err(stdout_failure)?;
    }
    Ok(())
}
