//! `whefs restore`: brings the whole container, or one file or subtree,
//! back to a snapshot's content in one commit ([`whefs::Fs::restore`]):
//! another process sees the state before the restore or after it, never a
//! mix.

use std::path::PathBuf;

use crate::container::{open, Access};
use crate::failure::Failure;
use crate::Global;

/// Bring the container, or one path, back to a snapshot's content.
///
/// What is at PATH now (everything, for `/`) is replaced by what the
/// snapshot has there, with its modes, owners, times and hard links, in
/// one commit; a path the snapshot does not have is removed. The snapshot
/// itself stays, unchanged. `whefs diff CONTAINER SNAP` shows beforehand
/// what a restore of everything would undo.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The snapshot to bring back (not `snapshot`: that id is the global
    /// --snapshot's).
    #[arg(value_name = "SNAP")]
    snap: String,
    /// The file or directory to restore.
    #[arg(default_value = "/")]
    path: String,
}

/// Restores.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Write)?;
    fs.restore(&args.snap, &args.path)
        .map_err(|e| Failure::fs(format!("restore {} {}", args.snap, args.path), e))
}
