//! `whefs stat`: what the library knows about paths (or glob matches), as
//! text or, with `--json`, as one JSON array. Goes on after a failure,
//! like `stat(1)`.

use std::path::PathBuf;

use serde::Serialize;
use whefs::{FileType, Metadata};

use crate::container::{expand, open, Access};
use crate::failure::Failure;
use crate::printer::{report, Printer};
use crate::text;
use crate::Global;

/// Show kind, size, inode, mode and times of paths.
///
/// PATHS may be glob patterns ('**/*.c'). With --json the output is one
/// JSON array with an object per path: path, kind ("file" or "dir"),
/// size, ino, mode, mtime_ns, ctime_ns and mtime (UTC, ISO 8601).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The paths (or glob patterns) to describe.
    #[arg(required = true)]
    paths: Vec<String>,
}

/// One path's metadata as JSON (`stat --json`, `ls --json`).
#[derive(Serialize)]
pub struct JsonEntry<'a> {
    /// The container path.
    pub path: &'a str,
    /// `"file"` or `"dir"`.
    pub kind: &'static str,
    /// Size in bytes.
    pub size: u64,
    /// Inode number.
    pub ino: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Status change time, ns since the epoch.
    pub ctime_ns: i64,
    /// The modification time in UTC, `2024-05-01T12:34:56Z`.
    pub mtime: String,
}

impl<'a> JsonEntry<'a> {
    /// The JSON form of `meta` for `path`.
    pub fn new(path: &'a str, meta: &Metadata) -> JsonEntry<'a> {
        JsonEntry {
            path,
            kind: kind_name(meta.kind),
            size: meta.size,
            ino: meta.ino,
            mode: meta.mode & 0o7777,
            mtime_ns: meta.mtime_ns,
            ctime_ns: meta.ctime_ns,
            mtime: text::utc(meta.mtime_ns).replacen(' ', "T", 1),
        }
    }
}

/// `"file"` or `"dir"`.
pub fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::Dir => "dir",
        FileType::File => "file",
        FileType::Symlink => "symlink",
    }
}

/// Describes the paths.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let mut printer = Printer::new(global, args.json);
    let mut last = None;
    let mut found: Vec<(String, Metadata)> = Vec::new();
    for operand in &args.paths {
        let paths = match expand(&fs, operand, "stat") {
            Ok(paths) => paths,
            Err(failure) => {
                report(&failure);
                last = Some(failure.exit);
                continue;
            }
        };
        for path in paths {
            match fs.metadata(&path) {
                Ok(meta) => found.push((path, meta)),
                Err(e) => {
                    let failure = Failure::fs(format!("stat {path}"), e);
                    report(&failure);
                    last = Some(failure.exit);
                }
            }
        }
    }
    if printer.json() {
        let entries: Vec<JsonEntry> = found.iter().map(|(p, m)| JsonEntry::new(p, m)).collect();
        printer.document(&entries)?;
    } else {
        for (i, (path, meta)) in found.iter().enumerate() {
            if i > 0 {
                printer.line(format_args!(""))?;
            }
            print_text(&mut printer, path, meta)?;
        }
    }
    printer.finish()?;
    last.map_or(Ok(()), |exit| Err(Failure::reported(exit)))
}

fn print_text(printer: &mut Printer, path: &str, meta: &Metadata) -> Result<(), Failure> {
    let kind = if meta.is_dir() { "directory" } else { "file" };
    let time = |ns: i64| {
        format!(
            "{} ({}.{:09})",
            text::utc(ns),
            ns.div_euclid(1_000_000_000),
            ns.rem_euclid(1_000_000_000)
        )
    };
    printer.line(format_args!(
        "path:  {path}\nkind:  {kind}\nsize:  {}\nino:   {}\nmode:  {:04o}\nmtime: {}\nctime: {}",
        meta.size,
        meta.ino,
        meta.mode & 0o7777,
        time(meta.mtime_ns),
        time(meta.ctime_ns),
    ))
}
