//! `whefs ls`: lists directories (the root by default), files and glob
//! matches, as text or JSON: one JSON array, or with `-R` JSON Lines (one
//! object per line, so a script can stream a huge tree).

use std::io::Write;
use std::path::PathBuf;

use whefs::{Error, Fs, Metadata};

use crate::cmd::stat::JsonEntry;
use crate::container::{expand_all, open, walk, Access};
use crate::failure::Failure;
use crate::printer::{stdout_failure, Printer};
use crate::text;
use crate::Global;

/// List directories (the root by default), files and glob matches.
///
/// A directory operand lists its entries (with -R everything below it,
/// as full paths, depth first, in name order); a file operand lists
/// itself. With --json: one JSON array of objects (path, kind, size,
/// ino, mode, mtime_ns, ctime_ns, mtime), or with -R one object per line
/// (JSON Lines).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The directories, files or glob patterns to list.
    #[arg(default_value = "/")]
    paths: Vec<String>,
    /// Long format: kind, size, mtime (UTC), inode, name.
    #[arg(short = 'l')]
    long: bool,
    /// List everything below, as full paths, depth first.
    #[arg(short = 'R', long)]
    recursive: bool,
    /// List directories themselves, not their entries.
    #[arg(short = 'd', long)]
    directory: bool,
    /// Print JSON (JSON Lines with -R) instead of text.
    #[arg(long)]
    json: bool,
}

/// Lists.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let mut printer = Printer::new(global, args.json);
    let paths = expand_all(&fs, &args.paths, "ls")?;
    let mut found = Vec::new();
    for path in paths {
        let meta = fs
            .metadata(&path)
            .map_err(|e| Failure::fs(format!("ls {path}"), e))?;
        found.push((path, meta));
    }
    let (dirs, files): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|(_, meta)| meta.is_dir() && !args.directory);
    let json_lines = args.json && args.recursive;
    let mut array: Vec<(String, Metadata)> = Vec::new();
    // Files first, then each directory's listing, as ls(1) does.
    for (path, meta) in &files {
        if json_lines {
            printer.json_line(&JsonEntry::new(path, meta))?;
        } else if args.json {
            array.push((path.clone(), meta.clone()));
        } else if args.long {
            long_line(printer.out(), meta, path)?;
        } else {
            printer.line(format_args!("{path}"))?;
        }
    }
    let headers = dirs.len() + files.len() > 1 && !args.recursive;
    for (i, (dir, _)) in dirs.iter().enumerate() {
        if args.json {
            walk(&fs, dir, args.recursive, &mut |full, _| {
                let meta = match fs.metadata(full) {
                    Ok(meta) => meta,
                    Err(Error::NotFound(_)) => return Ok(()),
                    Err(e) => return Err(Failure::fs(format!("ls {full}"), e)),
                };
                if json_lines {
                    printer.json_line(&JsonEntry::new(full, &meta))
                } else {
                    array.push((full.to_string(), meta));
                    Ok(())
                }
            })?;
            continue;
        }
        if headers {
            let blank = if i > 0 || !files.is_empty() { "\n" } else { "" };
            printer.line(format_args!("{blank}{dir}:"))?;
        }
        list(&fs, dir, args.long, args.recursive, printer.out())?;
    }
    if args.json && !json_lines {
        let entries: Vec<JsonEntry> = array.iter().map(|(p, m)| JsonEntry::new(p, m)).collect();
        printer.document(&entries)?;
    }
    printer.finish()
}

/// Writes the text listing of directory `dir` to `out` (shared with the demo).
pub fn list(
    fs: &Fs,
    dir: &str,
    long: bool,
    recursive: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    walk(fs, dir, recursive, &mut |full, entry| {
        let shown = if recursive { full } else { entry.name.as_str() };
        if !long {
            return writeln!(out, "{shown}").map_err(stdout_failure);
        }
        match fs.metadata(full) {
            Ok(meta) => long_line(out, &meta, shown),
            // Removed since the listing's snapshot: nothing to show.
            Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(Failure::fs(format!("ls {full}"), e)),
        }
    })
}

/// One line of `ls -l`: kind, size, mtime, inode, name.
fn long_line(out: &mut dyn Write, meta: &Metadata, name: &str) -> Result<(), Failure> {
    let kind = if meta.is_dir() { "dir" } else { "file" };
    let mtime = text::utc(meta.mtime_ns);
    writeln!(
        out,
        "{kind:<4} {:>12} {mtime} {:>8} {name}",
        meta.size, meta.ino
    )
    .map_err(stdout_failure)
}
