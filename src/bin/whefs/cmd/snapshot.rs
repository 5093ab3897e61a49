//! `whefs snapshot create|list|delete`: named snapshots, each one committed
//! state kept whole (its pages are not reused) until it is deleted. The
//! library owns how a snapshot holds its pages (`docs/format.md`); this
//! command names them, lists them and gives them back.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::Serialize;
use whefs::{Fs, SnapshotInfo};

use crate::container::{open, Access};
use crate::failure::Failure;
use crate::printer::Printer;
use crate::text;
use crate::Global;

/// Create, list and delete named snapshots.
///
/// A snapshot keeps one committed state whole, as it was, until it is
/// deleted: read it with --snapshot NAME on any reading command (ls, cat,
/// get, export, ...), compare it with `diff`, bring it back with `restore`.
/// Its pages are not reused while it exists, so the container grows as the
/// files it keeps are rewritten; deleting it gives them back.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Take a snapshot of the latest committed state, in one commit.
    ///
    /// NAME follows the rules of a file name and must be new. With --json:
    /// the new snapshot as one object (as in `snapshot list --json`).
    Create {
        /// The container file.
        container: PathBuf,
        /// The snapshot's name.
        name: String,
        /// Print JSON instead of nothing.
        #[arg(long)]
        json: bool,
    },
    /// List the snapshots, in name order.
    ///
    /// Columns: name, the generation it keeps, when it was taken (UTC), its
    /// files and directories, and the pages only it holds (what deleting it
    /// gives back). With --json: one array of objects with name,
    /// generation, created_ns, created, files, dirs, exclusive_pages and
    /// exclusive_bytes.
    List {
        /// The container file.
        container: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete a snapshot, in one commit; the pages only it held are reused.
    ///
    /// Prints how many pages that gives back (once no reader still reads
    /// them; `compact` returns them to the disk). A view of the snapshot
    /// open elsewhere keeps reading it. With --json: one object with name,
    /// pages_released and bytes_released.
    Delete {
        /// The container file.
        container: PathBuf,
        /// The snapshot's name.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

impl Args {
    /// `list` only reads; `create` and `delete` commit.
    pub fn access(&self) -> Access {
        match self.action {
            Action::List { .. } => Access::Read,
            Action::Create { .. } | Action::Delete { .. } => Access::Write,
        }
    }
}

/// One snapshot as JSON (`snapshot list --json`, `snapshot create --json`).
#[derive(Serialize)]
pub struct JsonSnapshot<'a> {
    name: &'a str,
    generation: u64,
    created_ns: i64,
    /// When it was taken in UTC, `2024-05-01T12:34:56Z`.
    created: String,
    files: u64,
    dirs: u64,
    exclusive_pages: u64,
    exclusive_bytes: u64,
}

impl<'a> JsonSnapshot<'a> {
    /// The JSON form of `s` in a container of `page_size` pages.
    pub fn new(s: &'a SnapshotInfo, page_size: u32) -> JsonSnapshot<'a> {
        JsonSnapshot {
            name: &s.name,
            generation: s.generation,
            created_ns: s.created_ns,
            created: text::utc(s.created_ns).replacen(' ', "T", 1),
            files: s.files,
            dirs: s.dirs,
            exclusive_pages: s.exclusive_pages,
            exclusive_bytes: s.exclusive_pages.saturating_mul(u64::from(page_size)),
        }
    }
}

#[derive(Serialize)]
struct JsonDeleted<'a> {
    name: &'a str,
    pages_released: u64,
    bytes_released: u64,
}

/// Runs the action.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    match &args.action {
        Action::Create {
            container,
            name,
            json,
        } => {
            let fs = open(global, container, Access::Write)?;
            let made = fs
                .create_snapshot(name)
                .map_err(|e| Failure::fs(format!("snapshot create {name}"), e))?;
            let mut printer = Printer::new(global, *json);
            if printer.json() {
                let page_size = page_size(&fs, container)?;
                printer.document(&JsonSnapshot::new(&made, page_size))?;
            }
            printer.finish()
        }
        Action::List { container, json } => {
            let fs = open(global, container, Access::Read)?;
            let list = fs
                .snapshots()
                .map_err(|e| Failure::fs(format!("snapshot list {}", container.display()), e))?;
            let page_size = page_size(&fs, container)?;
            let mut printer = Printer::new(global, *json);
            if printer.json() {
                let rows: Vec<JsonSnapshot> = list
                    .iter()
                    .map(|s| JsonSnapshot::new(s, page_size))
                    .collect();
                printer.document(&rows)?;
            } else {
                print_table(&mut printer, &list, page_size)?;
            }
            printer.finish()
        }
        Action::Delete {
            container,
            name,
            json,
        } => {
            let fs = open(global, container, Access::Write)?;
            let pages = fs
                .delete_snapshot(name)
                .map_err(|e| Failure::fs(format!("snapshot delete {name}"), e))?;
            let page_size = page_size(&fs, container)?;
            let bytes = pages.saturating_mul(u64::from(page_size));
            let mut printer = Printer::new(global, *json);
            if printer.json() {
                printer.document(&JsonDeleted {
                    name,
                    pages_released: pages,
                    bytes_released: bytes,
                })?;
            } else {
                printer.line(format_args!(
                    "deleted snapshot {name}: {} given back",
                    text::pages(pages, page_size)
                ))?;
            }
            printer.finish()
        }
    }
}

/// The container's page size.
fn page_size(fs: &Fs, container: &Path) -> Result<u32, Failure> {
    fs.info()
        .map(|info| info.page_size)
        .map_err(|e| Failure::fs(format!("info {}", container.display()), e))
}

/// The text listing: a header and one line per snapshot (nothing at all
/// when there is none, as `ls` of an empty directory).
fn print_table(
    printer: &mut Printer,
    list: &[SnapshotInfo],
    page_size: u32,
) -> Result<(), Failure> {
    if list.is_empty() {
        return Ok(());
    }
    let width = list
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    printer.line(format_args!(
        "{:<width$}  {:>10}  {:<20}  {:>8}  {:>6}  HELD ALONE",
        "NAME", "GENERATION", "CREATED", "FILES", "DIRS"
    ))?;
    for s in list {
        printer.line(format_args!(
            "{:<width$}  {:>10}  {:<20}  {:>8}  {:>6}  {}",
            s.name,
            s.generation,
            text::utc(s.created_ns),
            s.files,
            s.dirs,
            text::pages(s.exclusive_pages, page_size)
        ))?;
    }
    Ok(())
}
