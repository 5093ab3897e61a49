//! `whefs diff`: the paths added, removed or changed between two states of
//! a container — two snapshots, or a snapshot and the latest state — as
//! `git diff --name-status` prints them, or as JSON. The comparison is the
//! library's ([`whefs::Fs::diff`]); both sides are read-only views, so a
//! diff never blocks a writer and sees no half of a commit.

use std::path::{Path, PathBuf};

use serde::Serialize;
use whefs::{ChangeKind, Fs};

use crate::container::{open, Access};
use crate::failure::{Exit, Failure};
use crate::printer::Printer;
use crate::Global;

/// List the paths that differ between two states of the container.
///
/// With one snapshot: that snapshot against the latest state; with two:
/// the first against the second; with none: the newest snapshot (the one
/// taken last) against the latest state. One line per path, in path
/// order, as `git diff --name-status` prints them: `A` added, `D` removed
/// (deleted), `M` changed (content, size, kind, mode, owner or mtime), a
/// tab, the path. A directory added or removed is listed with everything
/// below it. With --json: one object with old and new (a snapshot's name,
/// or null for the latest state) and changes, an array of objects with
/// change ("added", "removed" or "changed") and path.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The older state: a snapshot [default: the newest snapshot].
    old: Option<String>,
    /// The newer state: a snapshot [default: the latest state].
    new: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    old: &'a str,
    new: Option<&'a str>,
    changes: Vec<JsonChange<'a>>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    change: &'static str,
    path: &'a str,
}

/// Compares.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let old_name = match &args.old {
        Some(name) => name.clone(),
        None => newest_snapshot(&fs, &args.container)?,
    };
    let what = match &args.new {
        Some(new) => format!("diff {old_name} {new}"),
        None => format!("diff {old_name}"),
    };
    let view = |name: &str| fs.open_snapshot(name).map_err(|e| Failure::fs(&what, e));
    let old = view(&old_name)?;
    let new = match &args.new {
        Some(name) => view(name)?,
        None => fs.clone(),
    };
    let changes = old.diff(&new).map_err(|e| Failure::fs(&what, e))?;
    let mut printer = Printer::new(global, args.json);
    if printer.json() {
        printer.document(&JsonDiff {
            old: &old_name,
            new: args.new.as_deref(),
            changes: changes
                .iter()
                .map(|c| JsonChange {
                    change: change_name(c.kind),
                    path: &c.path,
                })
                .collect(),
        })?;
    } else {
        for c in &changes {
            printer.line(format_args!("{}\t{}", status_letter(c.kind), c.path))?;
        }
    }
    printer.finish()
}

/// The name of the snapshot taken last (by time, then generation).
fn newest_snapshot(fs: &Fs, container: &Path) -> Result<String, Failure> {
    let list = fs
        .snapshots()
        .map_err(|e| Failure::fs(format!("diff {}", container.display()), e))?;
    list.into_iter()
        .max_by_key(|s| (s.created_ns, s.generation))
        .map(|s| s.name)
        .ok_or_else(|| {
            Failure::new(
                Exit::NotFound,
                format!(
                    "diff {}: the container has no snapshot to compare with (whefs snapshot create)",
                    container.display()
                ),
            )
        })
}

/// `git diff --name-status`'s letter for a change.
fn status_letter(kind: ChangeKind) -> char {
    match kind {
        ChangeKind::Added => 'A',
        ChangeKind::Removed => 'D',
        ChangeKind::Changed => 'M',
    }
}

/// The JSON name of a change.
fn change_name(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    }
}
