//! The container side shared by the commands: opening a container as the
//! global options say, expanding glob operands with the library's
//! [`Fs::glob`], and walking a directory tree.
//!
//! Invariants: a command that only reads never opens the container for
//! writing, and `--snapshot` only ever opens a read-only view; an operand without glob characters is a path, passed to the
//! library as it is (which validates and normalizes it, in one place); a
//! walk of a damaged namespace ends with an error, never loops.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::time::Duration;

use whefs::{DirEntry, Error, FileType, Fs, FsOptions, ReadDir};

use crate::failure::{Exit, Failure};
use crate::text::join;
use crate::Global;

/// What a command does to the container: read-only commands never open it
/// for writing, so they work beside any writer and on read-only files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Only reads.
    Read,
    /// May change the container (refused by the library under `--read-only`).
    Write,
}

/// Open options from the global command-line options.
pub fn options(global: &Global) -> FsOptions {
    let mut options = Fs::options();
    options.durability(global.durability.into());
    if let Some(ms) = global.timeout {
        options.busy_timeout(Duration::from_millis(ms));
    }
    options
}

/// Open options for `access`: for a read under `--snapshot`, of the
/// snapshot's read-only view. A write under `--snapshot` is a usage error
/// (the commands refuse it before they get here, with a better message).
pub fn access_options(global: &Global, access: Access) -> Result<FsOptions, Failure> {
    let mut options = options(global);
    match (access, &global.snapshot) {
        (Access::Read, Some(name)) => {
            options.snapshot(name);
        }
        (Access::Read, None) => {}
        (Access::Write, Some(_)) => {
            return Err(Failure::usage(
                "--snapshot: a snapshot is read-only, and this command changes the container",
            ))
        }
        (Access::Write, None) => {
            options.write(!global.read_only);
        }
    }
    Ok(options)
}

/// Opens an existing container (the snapshot's view for a read under
/// `--snapshot`).
pub fn open(global: &Global, container: &Path, access: Access) -> Result<Fs, Failure> {
    access_options(global, access)?
        .open(container)
        .map_err(|e| Failure::fs(container.display(), e))
}

/// Fails with [`Exit::Exists`] if a host file exists at `path`.
pub fn refuse_existing(path: &Path) -> Result<(), Failure> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Err(Failure::new(
            Exit::Exists,
            format!("{}: already exists", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Failure::host(path.display(), e)),
    }
}

/// Whether an operand is a glob pattern: it has `*`, `?` or `[`. (A name
/// with those characters is reached by escaping them: `'a\*b'`.)
pub fn is_glob(operand: &str) -> bool {
    operand.contains(['*', '?', '['])
}

/// The container paths an operand names: itself, or for a glob pattern
/// every match in name order (as `/`-rooted paths). A pattern that matches
/// nothing is [`Exit::NotFound`], as in a shell with `failglob`.
pub fn expand(fs: &Fs, operand: &str, command: &str) -> Result<Vec<String>, Failure> {
    if !is_glob(operand) {
        return Ok(vec![operand.to_string()]);
    }
    let matches = fs
        .glob(operand)
        .map_err(|e| Failure::fs(format!("{command} {operand}"), e))?;
    if matches.is_empty() {
        return Err(Failure::new(
            Exit::NotFound,
            format!("{command} {operand}: no match"),
        ));
    }
    Ok(matches.into_iter().map(|m| format!("/{m}")).collect())
}

/// Expands every operand (see [`expand`]) in order.
pub fn expand_all(fs: &Fs, operands: &[String], command: &str) -> Result<Vec<String>, Failure> {
    let mut paths = Vec::new();
    for operand in operands {
        paths.extend(expand(fs, operand, command)?);
    }
    Ok(paths)
}

/// Calls `visit(full_path, entry)` for each entry of `dir` in name order,
/// and with `recursive` for everything below it, parents before children.
/// Iterative, and a directory met twice is reported as corruption, so a
/// hostile container can neither overflow the stack nor loop forever.
pub fn walk(
    fs: &Fs,
    dir: &str,
    recursive: bool,
    visit: &mut dyn FnMut(&str, &DirEntry) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let read_dir = |path: &str| {
        fs.read_dir(path)
            .map_err(|e| Failure::fs(format!("ls {path}"), e))
    };
    let mut stack: Vec<(String, ReadDir)> = vec![(dir.to_string(), read_dir(dir)?)];
    let mut seen = HashSet::new();
    while let Some((parent, entries)) = stack.last_mut() {
        let entry = match entries.next() {
            None => {
                stack.pop();
                continue;
            }
            Some(Err(e)) => return Err(Failure::fs(format!("ls {parent}"), e)),
            Some(Ok(entry)) => entry,
        };
        let full = join(parent, &entry.name);
        visit(&full, &entry)?;
        if recursive && entry.kind == FileType::Dir {
            if !seen.insert(entry.ino) {
                let msg = format!("ls {full}: directory inode {} is reached twice", entry.ino);
                return Err(Failure::new(Exit::Corrupt, msg));
            }
            let sub = read_dir(&full)?;
            stack.push((full, sub));
        }
    }
    Ok(())
}

/// One entry of a tree read out of a container, for `get -r`, `cp -r`
/// and `export`.
#[derive(Clone, Debug)]
pub struct TreeEntry {
    /// The full container path.
    pub path: String,
    /// The names from the top of the tree down to this entry (the top
    /// itself has none).
    pub names: Vec<String>,
    /// File or directory.
    pub kind: FileType,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
}

/// The tree at `top`, parents before children: `top` itself first, then
/// (for a directory) everything below it. Names that could not be host
/// file names — empty, `.`, `..`, or holding `/` or NUL, which the library
/// never writes but a damaged container might hold — are
/// [`Exit::Corrupt`].
pub fn tree(fs: &Fs, top: &str) -> Result<Vec<TreeEntry>, Failure> {
    let meta = fs
        .metadata(top)
        .map_err(|e| Failure::fs(format!("read {top}"), e))?;
    let mut entries = vec![TreeEntry {
        path: top.to_string(),
        names: Vec::new(),
        kind: meta.kind,
        size: meta.size,
        mode: meta.mode & 0o7777,
        mtime_ns: meta.mtime_ns,
    }];
    if meta.kind != FileType::Dir {
        return Ok(entries);
    }
    let prefix = top.trim_end_matches('/');
    walk(fs, top, true, &mut |full, entry| {
        if !is_plain_name(&entry.name) {
            return Err(Failure::new(
                Exit::Corrupt,
                format!("{full}: {:?} cannot be a file name", entry.name),
            ));
        }
        let meta = match fs.metadata(full) {
            Ok(meta) => meta,
            // Removed since the listing's snapshot: not part of the tree.
            Err(Error::NotFound(_)) => return Ok(()),
            Err(e) => return Err(Failure::fs(format!("read {full}"), e)),
        };
        let below = full[prefix.len()..].trim_start_matches('/');
        entries.push(TreeEntry {
            path: full.to_string(),
            names: below.split('/').map(str::to_string).collect(),
            kind: meta.kind,
            size: meta.size,
            mode: meta.mode & 0o7777,
            mtime_ns: meta.mtime_ns,
        });
        Ok(())
    })?;
    Ok(entries)
}

/// Whether `name` is one plain path component (what a directory entry of
/// the library always is).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}
