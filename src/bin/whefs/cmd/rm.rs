//! `whefs rm`: removes files (with `-r`, whole directories) named by paths
//! or glob patterns, all in one commit: every path goes, or none does.

use std::path::PathBuf;

use whefs::{Error, Fs};

use crate::container::{expand, open, Access};
use crate::failure::{Exit, Failure};
use crate::text::{is_root, is_within, normalize};
use crate::Global;

/// Remove files (with -r, directories and everything in them).
///
/// PATHS may be glob patterns ('logs/*.tmp'). Everything named is
/// removed in one commit; if any path cannot be removed, nothing is.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// Remove directories and their contents.
    #[arg(short, long)]
    recursive: bool,
    /// Ignore paths and patterns that name nothing.
    #[arg(short, long)]
    force: bool,
    /// The paths (or glob patterns) to remove.
    #[arg(required = true)]
    paths: Vec<String>,
}

/// Removes the paths.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Write)?;
    remove(&fs, &args.paths, args.recursive, args.force)
}

/// Removes `operands` in one commit (shared with the demo).
pub fn remove(fs: &Fs, operands: &[String], recursive: bool, force: bool) -> Result<(), Failure> {
    let mut t = fs.begin().map_err(|e| Failure::fs("rm", e))?;
    // A path named twice, or inside a directory already being removed,
    // is not removed again (that would fail the whole commit).
    let mut removed: Vec<String> = Vec::new();
    for operand in operands {
        let paths = match expand(fs, operand, "rm") {
            Err(failure) if force && failure.exit == Exit::NotFound => continue,
            other => other?,
        };
        for path in paths {
            let what = format!("rm {path}");
            if is_root(&path) {
                return Err(Failure::usage("rm: refusing to remove the root directory"));
            }
            let normal = normalize(&path);
            if removed.iter().any(|r| is_within(&normal, r)) {
                continue;
            }
            removed.push(normal);
            let recorded = match fs.metadata(&path) {
                Ok(meta) if meta.is_dir() && recursive => t.remove_dir_all(&path),
                Ok(meta) if meta.is_dir() => {
                    return Err(Failure::new(
                        Exit::Kind,
                        format!("{what}: is a directory (-r removes directories)"),
                    ))
                }
                Ok(_) => t.remove_file(&path),
                Err(Error::NotFound(_)) if force => continue,
                Err(e) => return Err(Failure::fs(&what, e)),
            };
            recorded.map_err(|e| Failure::fs(&what, e))?;
        }
    }
    t.commit()
        .map_err(|e| Failure::fs(format!("rm {}", operands.join(" ")), e))
}
