//! `whefs rmdir`: removes empty directories, all in one commit.

use std::path::PathBuf;

use crate::container::{open, Access};
use crate::failure::Failure;
use crate::Global;

/// Remove empty directories (all of them in one commit, or none).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The directories to remove.
    #[arg(required = true)]
    paths: Vec<String>,
}

/// Removes the directories.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Write)?;
    let mut t = fs.begin().map_err(|e| Failure::fs("rmdir", e))?;
    for path in &args.paths {
        t.remove_dir(path)
            .map_err(|e| Failure::fs(format!("rmdir {path}"), e))?;
    }
    t.commit()
        .map_err(|e| Failure::fs(format!("rmdir {}", args.paths.join(" ")), e))
}
