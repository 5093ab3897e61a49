//! `whefs get`: copies a file out to a host file or stdout, or files and
//! whole trees (`-r`) into a host directory, keeping modes and mtimes.
//!
//! Invariants: nothing is written outside the target directory (every
//! step below it goes through [`HostDir`], which refuses symlinks); an
//! existing host file is replaced only with `--force`; conflicts are found
//! before the first byte is written, so a refused `get` changes nothing.

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use whefs::{FileType, Fs};

use crate::cmd::cat::{print_file, COPY_BUFFER};
use crate::container::{expand, open, tree, Access, TreeEntry};
use crate::failure::{Exit, Failure};
use crate::host::{exists_failure, refuse_link, utf8_name, HostDir};
use crate::printer::{report, Printer, Progress, Totals};
use crate::text::basename;
use crate::Global;

/// Copy files or trees out of the container.
///
/// PATH may be a glob pattern ('logs/*.txt'). One file goes to DEST, or
/// into DEST when it is a directory, or to stdout when DEST is omitted or
/// `-`. With -r, a directory is copied with everything below it, like
/// `cp -r`: into DEST if DEST is a directory, else as DEST (the current
/// directory when omitted). Several matches go into the directory DEST.
/// Modes and mtimes are kept. Existing host files are not replaced
/// without --force, and nothing is ever written through a symbolic link
/// below DEST, so a get cannot write outside DEST.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The file, directory (with -r) or glob pattern to copy out.
    path: String,
    /// The host file or directory to write; `-` for stdout.
    dest: Option<PathBuf>,
    /// Copy directories and everything below them.
    #[arg(short = 'r', visible_short_alias = 'R', long)]
    recursive: bool,
    /// Replace existing host files.
    #[arg(short, long)]
    force: bool,
}

/// One container path to copy out, and where it lands: inside `into`,
/// as `name` (or, for `None`, its contents go straight into `into`).
struct Copy {
    entries: Vec<TreeEntry>,
    into: PathBuf,
    name: Option<String>,
}

/// Copies out.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let mut printer = Printer::new(global, false);
    let matches = expand(&fs, &args.path, "get")?;
    let to_stdout = args.dest.as_deref().is_none_or(|d| d == Path::new("-"));
    if let [only] = matches.as_slice() {
        let meta = fs
            .metadata(only)
            .map_err(|e| Failure::fs(format!("get {only}"), e))?;
        if meta.is_dir() && !args.recursive {
            return Err(is_dir(only));
        }
        if !meta.is_dir() && to_stdout {
            print_file(&fs, only, &mut printer)?;
            return printer.finish();
        }
    }
    if args.dest.as_deref() == Some(Path::new("-")) {
        return Err(Failure::usage("get: only one file can be copied to stdout"));
    }
    let dest = args.dest.clone().unwrap_or_else(|| PathBuf::from("."));
    let dest_is_dir = std::fs::metadata(&dest).is_ok_and(|m| m.is_dir());
    if matches.len() > 1 && !dest_is_dir {
        return Err(Failure::new(
            Exit::Kind,
            format!(
                "get {}: {} matches; {} is not a directory",
                args.path,
                matches.len(),
                dest.display()
            ),
        ));
    }
    let mut last = None;
    let mut copies = Vec::new();
    for path in &matches {
        let entries = tree(&fs, path)?;
        if entries[0].kind == FileType::Dir && !args.recursive {
            let failure = is_dir(path);
            report(&failure);
            last = Some(failure.exit);
            continue;
        }
        let copy = if dest_is_dir {
            Copy {
                entries,
                into: dest.clone(),
                name: basename(path).map(str::to_string),
            }
        } else {
            // DEST does not exist (or is a file): it becomes the copy.
            let name = dest
                .file_name()
                .ok_or_else(|| Failure::usage(format!("get: {} has no name", dest.display())))?;
            Copy {
                entries,
                into: dest
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf(),
                name: Some(utf8_name(&dest, name)?),
            }
        };
        refuse_conflicts(&copy, args.force)?;
        copies.push(copy);
    }
    let totals = Totals {
        bytes: copies.iter().flat_map(|c| &c.entries).map(|e| e.size).sum(),
        files: copies
            .iter()
            .flat_map(|c| &c.entries)
            .filter(|e| e.kind == FileType::File)
            .count() as u64,
    };
    let progress = printer.progress("get", Some(totals));
    for copy in &copies {
        write_copy(&fs, copy, args.force, &progress)?;
    }
    progress.finish();
    printer.finish()?;
    last.map_or(Ok(()), |exit| Err(Failure::reported(exit)))
}

fn is_dir(path: &str) -> Failure {
    Failure::new(
        Exit::Kind,
        format!("get {path}: is a directory (-r copies a tree)"),
    )
}

/// The host path of `entry` of `copy`.
fn host_path(copy: &Copy, entry: &TreeEntry) -> PathBuf {
    let mut path = copy.into.clone();
    path.extend(copy.name.iter().chain(&entry.names));
    path
}

/// Fails, before anything is written, if a host file is in the way: an
/// existing file (without `force`), a directory where a file goes, or
/// anything but a directory (a symlink included) where a directory goes.
fn refuse_conflicts(copy: &Copy, force: bool) -> Result<(), Failure> {
    for entry in &copy.entries {
        if copy.name.is_none() && entry.names.is_empty() {
            continue; // `into` itself, which the user named
        }
        let path = host_path(copy, entry);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Failure::host(path.display(), e)),
        };
        let kind = meta.file_type();
        match entry.kind {
            FileType::Symlink => {}
            FileType::Dir if kind.is_dir() => {}
            FileType::Dir if kind.is_symlink() => return Err(refuse_link(&path)),
            FileType::Dir => {
                return Err(Failure::new(
                    Exit::Kind,
                    format!("{}: not a directory", path.display()),
                ))
            }
            FileType::File if kind.is_dir() => {
                return Err(Failure::new(
                    Exit::Kind,
                    format!("{}: is a directory", path.display()),
                ))
            }
            FileType::File if !force => return Err(exists_failure(&path)),
            FileType::File => {}
        }
    }
    Ok(())
}

/// Writes one copy out. Directories are entered through open descriptors
/// (a stack, one per level), and each gets its mode and mtime when the
/// walk leaves it, after its entries are written.
fn write_copy(fs: &Fs, copy: &Copy, force: bool, progress: &Progress) -> Result<(), Failure> {
    type Level = (HostDir, Option<(u32, i64)>);
    let mut stack: Vec<Level> = Vec::new();
    let leave = |level: Level| match level.1 {
        Some((mode, mtime)) => level.0.set_attrs(mode, mtime),
        None => Ok(()),
    };
    for entry in &copy.entries {
        // The host names of this entry below `into`.
        let names: Vec<&str> = copy
            .name
            .iter()
            .chain(&entry.names)
            .map(String::as_str)
            .collect();
        if stack.is_empty() {
            stack.push((HostDir::open(&copy.into)?, None));
        }
        let Some((&name, _)) = names.split_last() else {
            // The copy's top is `into` itself: only its contents are copied.
            continue;
        };
        while stack.len() > names.len() {
            let level = stack.pop().expect("the stack is longer than zero");
            leave(level)?;
        }
        let (parent, _) = stack.last().expect("the parent level is open");
        match entry.kind {
            FileType::Symlink => {
                eprintln!(
                    "whefs: warning: {}: a symbolic link, not copied out",
                    entry.path
                );
            }
            FileType::Dir => {
                let dir = parent.subdir(name)?;
                stack.push((dir, Some((entry.mode, entry.mtime_ns))));
            }
            FileType::File => {
                let what = format!("get {}", entry.path);
                let file = fs
                    .open_file(&entry.path, "r")
                    .map_err(|e| Failure::fs(&what, e))?;
                let mut input = progress.meter(BufReader::with_capacity(COPY_BUFFER, file));
                parent.write_file(name, &mut input, entry.mode, entry.mtime_ns, force)?;
                progress.add_file();
            }
        }
    }
    while let Some(level) = stack.pop() {
        leave(level)?;
    }
    Ok(())
}
