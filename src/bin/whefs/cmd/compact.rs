//! `whefs compact`: shrinks a container in place ([`whefs::Fs::compact`]):
//! live pages move from the end of the file into free space, a commit
//! makes that the state, and the file is truncated. Crash-safe at every
//! step (the library's commits); it needs the container to itself, and a
//! busy container is reported with what kept it busy and what to do.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use whefs::Error;

use crate::container::{open, Access};
use crate::failure::{Exit, Failure};
use crate::printer::Printer;
use crate::text;
use crate::Global;

/// Shrink the container in place: give its free space back to the disk.
///
/// Moves live pages from the end of the file into free pages, commits and
/// truncates the file, so deleting half of the files and compacting halves
/// the container. Every step is an ordinary commit: a crash at any point
/// leaves a clean container with every file intact. It needs the container
/// to itself: if other processes keep it open longer than --timeout, it
/// fails with status 6 and says so. Pages that snapshots hold stay where
/// they are (delete snapshots first to shrink further). Prints the size
/// before and after. With --json: one object with container, page_size,
/// pages_before, pages_after, file_size_before, file_size_after,
/// data_pages_moved, commits and seconds.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonCompact {
    container: String,
    page_size: u32,
    pages_before: u64,
    pages_after: u64,
    file_size_before: u64,
    file_size_after: u64,
    data_pages_moved: u64,
    commits: u64,
    seconds: f64,
}

/// Compacts.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let container = &args.container;
    let what = format!("compact {}", container.display());
    let fs = open(global, container, Access::Write)?;
    let mut printer = Printer::new(global, args.json);
    let size_before = file_size(container)?;
    let spinner = printer.spinner(
        "compact",
        format!("moving pages of {}", container.display()),
    );
    let started = Instant::now();
    let outcome = fs.compact();
    drop(spinner);
    let report = outcome.map_err(|e| match e {
        Error::Busy(why) => Failure::new(
            Exit::Busy,
            format!(
                "{what}: busy: {why} (compaction waits --timeout for other processes to close \
                 the container; retry when they have, or raise --timeout)"
            ),
        ),
        e => Failure::fs(&what, e),
    })?;
    let seconds = started.elapsed().as_secs_f64();
    // Read after compacting: a read before would pin a state for a while,
    // and pages that state still references could not move.
    let page_size = fs.info().map_err(|e| Failure::fs(&what, e))?.page_size;
    drop(fs);
    let size_after = file_size(container)?;
    if printer.json() {
        printer.document(&JsonCompact {
            container: container.display().to_string(),
            page_size,
            pages_before: report.pages_before,
            pages_after: report.pages_after,
            file_size_before: size_before,
            file_size_after: size_after,
            data_pages_moved: report.data_pages_moved,
            commits: report.commits,
            seconds,
        })?;
    } else {
        let change = if size_after <= size_before {
            format!("{} given back", text::human(size_before - size_after))
        } else {
            format!("{} larger", text::human(size_after - size_before))
        };
        printer.line(format_args!(
            "{}: {} -> {}, {change}; {} moved in {}, {seconds:.3} s",
            container.display(),
            text::pages(report.pages_before, page_size),
            text::pages(report.pages_after, page_size),
            text::count(report.data_pages_moved, "data page"),
            text::count(report.commits, "commit"),
        ))?;
    }
    printer.finish()
}

/// The container file's size on the host.
fn file_size(container: &Path) -> Result<u64, Failure> {
    std::fs::metadata(container)
        .map(|m| m.len())
        .map_err(|e| Failure::host(container.display(), e))
}
