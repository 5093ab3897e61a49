//! `whefs cp`: copies a file, or with `-r` a directory tree, inside one
//! container, in one commit: others see the whole copy or none of it.
//! The data streams from the source into the new files' pages.

use std::io::BufReader;
use std::path::PathBuf;

use whefs::FileType;

use crate::cmd::cat::COPY_BUFFER;
use crate::container::{open, tree, Access};
use crate::failure::{Exit, Failure};
use crate::printer::{Printer, Totals};
use crate::text::{basename, is_within, join, normalize};
use crate::Global;

/// Copy a file or (with -r) a directory tree inside the container.
///
/// When DST is a directory, SRC is copied into it, as with `cp -r`; an
/// existing file is replaced and an existing directory merged. The copy
/// appears in one commit. Modes are kept; the copies get new times.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The file or directory to copy.
    src: String,
    /// The new path, or a directory to copy into.
    dst: String,
    /// Copy a directory and everything below it.
    #[arg(short = 'r', visible_short_alias = 'R', long)]
    recursive: bool,
}

/// Copies.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Write)?;
    let printer = Printer::new(global, false);
    let (src, dst) = (&args.src, &args.dst);
    let what = format!("cp {src} {dst}");
    let meta = fs.metadata(src).map_err(|e| Failure::fs(&what, e))?;
    if meta.is_dir() && !args.recursive {
        return Err(Failure::new(
            Exit::Kind,
            format!("{what}: {src} is a directory (-r copies a tree)"),
        ));
    }
    let target = match (fs.metadata(dst), basename(src)) {
        (Ok(m), Some(name)) if m.is_dir() => normalize(&join(dst, name)),
        _ => normalize(dst),
    };
    if meta.is_dir() && is_within(&target, &normalize(src)) {
        return Err(Failure::usage(format!(
            "{what}: cannot copy a directory into itself"
        )));
    }
    let entries = tree(&fs, src)?;
    let totals = Totals {
        bytes: entries.iter().map(|e| e.size).sum(),
        files: entries.iter().filter(|e| e.kind == FileType::File).count() as u64,
    };
    let progress = printer.progress("cp", Some(totals));
    let mut t = fs.begin().map_err(|e| Failure::fs(&what, e))?;
    for entry in &entries {
        let path = if entry.names.is_empty() {
            target.clone()
        } else {
            join(&target, &entry.names.join("/"))
        };
        let failed = |e| Failure::fs(format!("cp {} {path}", entry.path), e);
        match entry.kind {
            FileType::Symlink => {
                eprintln!(
                    "whefs: warning: {}: a symbolic link, not copied",
                    entry.path
                );
            }
            // The top must be new or an existing directory (merged), and
            // its parent must exist, as for cp(1).
            FileType::Dir if entry.names.is_empty() => {
                if !fs.metadata(&path).is_ok_and(|m| m.is_dir()) {
                    t.create_dir(&path).map_err(failed)?;
                }
            }
            FileType::Dir => {
                t.create_dir_all(&path).map_err(failed)?;
            }
            FileType::File => {
                let file = fs.open_file(&entry.path, "r").map_err(failed)?;
                let mut input = progress.meter(BufReader::with_capacity(COPY_BUFFER, file));
                t.write_from(&path, &mut input).map_err(failed)?;
                progress.add_file();
            }
        }
        t.set_mode(&path, entry.mode).map_err(failed)?;
    }
    progress.set_message("committing");
    t.commit().map_err(|e| Failure::fs(&what, e))?;
    progress.finish();
    Ok(())
}
