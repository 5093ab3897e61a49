//! `whefs mv`: one atomic rename, into a directory like `mv(1)`.

use std::path::PathBuf;

use crate::container::{open, Access};
use crate::failure::Failure;
use crate::text::{basename, join};
use crate::Global;

/// Rename or move a file or directory, atomically.
///
/// When TO is a directory, FROM moves into it; an existing file at TO
/// is replaced.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The path to move.
    from: String,
    /// The new path, or a directory to move into.
    to: String,
}

/// Renames.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Write)?;
    let (from, to) = (&args.from, &args.to);
    let target = match (fs.metadata(to), basename(from)) {
        (Ok(meta), Some(name)) if meta.is_dir() => join(to, name),
        _ => to.to_string(),
    };
    fs.rename(from, &target)
        .map_err(|e| Failure::fs(format!("mv {from} {target}"), e))
}
