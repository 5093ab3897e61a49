//! `whefs mkdir`: creates directories, all in one commit.

use std::path::PathBuf;

use crate::container::{open, Access};
use crate::failure::Failure;
use crate::Global;

/// Create directories (all of them in one commit, or none).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// Create missing parents too; an existing directory is fine.
    #[arg(short, long)]
    parents: bool,
    /// The directories to create.
    #[arg(required = true)]
    paths: Vec<String>,
}

/// Creates the directories.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Write)?;
    let mut t = fs.begin().map_err(|e| Failure::fs("mkdir", e))?;
    for path in &args.paths {
        let what = format!("mkdir {path}");
        let recorded = if args.parents {
            t.create_dir_all(path)
        } else {
            t.create_dir(path)
        };
        recorded.map_err(|e| Failure::fs(&what, e))?;
    }
    t.commit()
        .map_err(|e| Failure::fs(format!("mkdir {}", args.paths.join(" ")), e))
}
