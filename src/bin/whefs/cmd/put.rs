//! `whefs put`: copies a host file, a whole host tree (`-r`), or stdin into
//! the container, streaming.
//!
//! Invariant: a put is one commit. A tree's files are streamed into one
//! [`whefs::Transaction`] (their data goes to reserved pages as it is
//! read; only page lists stay in memory) and published at once, so other
//! processes see the whole tree or none of it, and a put that fails or is
//! killed leaves nothing behind.

use std::fs::File;
use std::io::{self, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use whefs::{Fs, Transaction};

use crate::cmd::cat::COPY_BUFFER;
use crate::container::{open, Access};
use crate::failure::{Exit, Failure};
use crate::host::{scan, utf8_name, HostEntry, HostKind, ScanRules};
use crate::printer::{Printer, Progress, Totals};
use crate::text::{is_root, join, normalize, parent};
use crate::Global;

/// Copy a host file or tree (or `-` for stdin) into the container.
///
/// DEST defaults to the source's name in the root directory; when DEST is
/// a directory or ends with `/`, the source goes inside it, as with
/// `cp -r`. Existing files are replaced and existing directories merged.
/// Everything appears in one commit: other processes see all of it or
/// none, and a failed or killed put leaves nothing. Modes and mtimes of
/// host files and directories are kept; stdin makes a file with mode 0644
/// and the time of the commit. Symbolic links below SRC are skipped with
/// a warning unless -L; sockets, FIFOs and devices are always skipped.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The host file or directory to copy, or `-` for stdin.
    src: PathBuf,
    /// Where to put it in the container.
    dest: Option<String>,
    /// Copy a directory and everything below it.
    #[arg(short = 'r', visible_short_alias = 'R', long)]
    recursive: bool,
    /// Follow symbolic links below SRC (copy what they point to) instead
    /// of skipping them.
    #[arg(short = 'L', long)]
    dereference: bool,
    /// Create missing parent directories of DEST.
    #[arg(short, long)]
    parents: bool,
}

/// Copies in.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Write)?;
    let printer = Printer::new(global, false);
    if args.src == Path::new("-") {
        let dest = destination(&fs, args.dest.as_deref(), None)?;
        make_parents(&fs, &dest, args.parents)?;
        return put_stdin(&fs, &dest);
    }
    let src = &args.src;
    let meta = std::fs::metadata(src).map_err(|e| Failure::host(src.display(), e))?;
    if meta.is_dir() && !args.recursive {
        return Err(Failure::new(
            Exit::Kind,
            format!("{}: is a directory (-r copies a tree)", src.display()),
        ));
    }
    // `put -r . /dest` copies the contents of `.`, as `cp -r . dest` does.
    let name = match src.file_name() {
        Some(name) => Some(utf8_name(src, name)?),
        None => None,
    };
    let dest = match &name {
        Some(name) => destination(&fs, args.dest.as_deref(), Some(name))?,
        None => normalize(args.dest.as_deref().unwrap_or("/")),
    };
    let container_id = std::fs::metadata(&args.container)
        .ok()
        .map(|m| (m.dev(), m.ino()));
    if container_id.is_some() && container_id == Some((meta.dev(), meta.ino())) {
        return Err(Failure::usage(format!(
            "{}: is the container itself",
            src.display()
        )));
    }
    let scanning = printer.spinner("put", format!("scanning {}", src.display()));
    let entries = scan(
        src,
        &ScanRules {
            follow: args.dereference,
            skip: container_id,
            progress: &scanning,
        },
    )?;
    drop(scanning);
    if !args.parents && !is_root(parent(&dest)) {
        match fs.metadata(parent(&dest)) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Failure::new(
                    Exit::Kind,
                    format!("put {dest}: {} is not a directory", parent(&dest)),
                ))
            }
            Err(e) => {
                return Err(Failure::fs(
                    format!("put {dest}: {} (-p creates it)", parent(&dest)),
                    e,
                ))
            }
        }
    }
    let mut t = fs.begin().map_err(|e| Failure::fs("put", e))?;
    if args.parents && !is_root(parent(&dest)) {
        t.create_dir_all(parent(&dest))
            .map_err(|e| Failure::fs(format!("put {dest}"), e))?;
    }
    let totals = Totals {
        bytes: entries.iter().map(|e| e.size).sum(),
        files: entries.iter().filter(|e| e.kind == HostKind::File).count() as u64,
    };
    let progress = printer.progress("put", Some(totals));
    stage_tree(&fs, &mut t, &entries, &dest, &progress)?;
    progress.set_message("committing");
    t.commit()
        .map_err(|e| Failure::fs(format!("put {dest}"), e))?;
    progress.finish();
    Ok(())
}

/// Records `entries` (from [`scan`]) under `dest` in `t`, streaming each
/// file's data in and counting it on `progress`.
pub fn stage_tree(
    fs: &Fs,
    t: &mut Transaction,
    entries: &[HostEntry],
    dest: &str,
    progress: &Progress,
) -> Result<(), Failure> {
    let mut dirs = Vec::new();
    for entry in entries {
        let path = if entry.names.is_empty() {
            dest.to_string()
        } else {
            join(dest, &entry.names.join("/"))
        };
        let what = format!("put {} to {path}", entry.path.display());
        match entry.kind {
            HostKind::Dir => {
                let exists = entry.names.is_empty() && fs.metadata(&path).is_ok_and(|m| m.is_dir());
                if !exists && !is_root(&path) {
                    t.create_dir_all(&path).map_err(|e| Failure::fs(&what, e))?;
                }
                dirs.push((path, entry));
            }
            HostKind::File => {
                let file =
                    File::open(&entry.path).map_err(|e| Failure::host(entry.path.display(), e))?;
                let mut input = progress.meter(BufReader::with_capacity(COPY_BUFFER, file));
                t.write_from(&path, &mut input)
                    .map_err(|e| Failure::fs(&what, e))?;
                t.set_mode(&path, entry.mode)
                    .and_then(|t| t.set_mtime(&path, entry.mtime_ns))
                    .map_err(|e| Failure::fs(&what, e))?;
                progress.add_file();
            }
        }
    }
    // Directory times last: every entry made in a directory changes its mtime.
    for (path, entry) in dirs {
        if !is_root(&path) {
            t.set_mode(&path, entry.mode)
                .and_then(|t| t.set_mtime(&path, entry.mtime_ns))
                .map_err(|e| Failure::fs(format!("put {path}"), e))?;
        }
    }
    Ok(())
}

/// Creates the missing parents of `dest` with `-p` (stdin puts).
fn make_parents(fs: &Fs, dest: &str, parents: bool) -> Result<(), Failure> {
    if parents && !is_root(parent(dest)) {
        let dir = parent(dest);
        fs.create_dir_all(dir)
            .map_err(|e| Failure::fs(format!("mkdir -p {dir}"), e))?;
    }
    Ok(())
}

/// Streams stdin into `dest` through a file handle: the file's writer lock
/// is held while it streams (a second writer of `dest` waits), and the new
/// content replaces the old atomically when it commits.
fn put_stdin(fs: &Fs, dest: &str) -> Result<(), Failure> {
    let what = format!("put {dest}");
    let mut input = BufReader::with_capacity(COPY_BUFFER, io::stdin().lock());
    let mut file = fs.open_file(dest, "w").map_err(|e| Failure::fs(&what, e))?;
    match io::copy(&mut input, &mut file) {
        Ok(_) => file.close().map_err(|e| Failure::fs(&what, e)),
        Err(err) => {
            // A half-copied file must not be committed: abort discards it,
            // and `dest` keeps its committed content.
            let _ = file.abort();
            Err(Failure::host(format!("put - to {dest}"), err))
        }
    }
}

/// Where `put` writes: `dest`, or the source's name inside `dest` when
/// `dest` is a directory (or ends with `/`), or at the root when omitted.
fn destination(fs: &Fs, dest: Option<&str>, src_name: Option<&str>) -> Result<String, Failure> {
    let into_dir = |dir: &str| match src_name {
        Some(name) => Ok(normalize(&join(dir, name))),
        None => Err(Failure::usage(format!(
            "put: give a destination file path (stdin has no name), not the directory {dir}"
        ))),
    };
    match dest {
        None => into_dir("/"),
        Some(d) if d.ends_with('/') || is_root(d) => into_dir(d),
        Some(d) => match fs.metadata(d) {
            Ok(meta) if meta.is_dir() => into_dir(d),
            _ => Ok(normalize(d)),
        },
    }
}
