//! The subcommands of `whefs`, one function each, over an open [`Fs`].
//! Each namespace change is one atomic commit of the library; copies stream
//! through a fixed buffer, so no file has to fit in memory.

use std::collections::HashSet;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use whefs::{Error, FileType, Fs, FsOptions, Metadata, ReadDir};

use crate::failure::{Exit, Failure};
use crate::text::{self, basename, is_root, join, parent};
use crate::Global;

/// Size of the buffer that copies stream through.
const COPY_BUFFER: usize = 256 * 1024;

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

/// Opens an existing container.
pub fn open(global: &Global, container: &Path, access: Access) -> Result<Fs, Failure> {
    options(global)
        .write(access == Access::Write && !global.read_only)
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

/// `whefs create`: a new, empty container; an existing file is an error.
pub fn create(
    global: &Global,
    container: &Path,
    page_size: Option<u32>,
    label: Option<&str>,
) -> Result<(), Failure> {
    if global.read_only {
        return Err(Failure::usage(
            "create: --read-only cannot create a container",
        ));
    }
    // The library's create opens an existing container instead (creation
    // races are resolved by link(), DESIGN §5), so refuse one up front.
    refuse_existing(container)?;
    let mut options = options(global);
    options.create(true);
    if let Some(size) = page_size {
        options.page_size(size);
    }
    if let Some(label) = label {
        options.label(label);
    }
    options
        .open(container)
        .map_err(|e| Failure::fs(container.display(), e))?;
    Ok(())
}

/// `whefs put`: copies a host file, or stdin for `-`, into the container.
pub fn put(fs: &Fs, src: &Path, dest: Option<&str>, parents: bool) -> Result<(), Failure> {
    let from_stdin = src == Path::new("-");
    let src_name = if from_stdin {
        None
    } else {
        src.file_name().and_then(|n| n.to_str())
    };
    let dest = put_destination(fs, dest, src_name)?;
    let what = format!("put {dest}");
    if parents && !is_root(parent(&dest)) {
        let dir = parent(&dest);
        fs.create_dir_all(dir)
            .map_err(|e| Failure::fs(format!("mkdir -p {dir}"), e))?;
    }
    let input: Box<dyn Read> = if from_stdin {
        Box::new(io::stdin().lock())
    } else {
        let file = std::fs::File::open(src).map_err(|e| Failure::host(src.display(), e))?;
        let meta = file
            .metadata()
            .map_err(|e| Failure::host(src.display(), e))?;
        if meta.is_dir() {
            return Err(Failure::new(
                Exit::Kind,
                format!("{}: is a directory", src.display()),
            ));
        }
        Box::new(file)
    };
    let mut input = BufReader::with_capacity(COPY_BUFFER, input);
    let mut file = fs
        .open_file(&dest, "w")
        .map_err(|e| Failure::fs(&what, e))?;
    match io::copy(&mut input, &mut file) {
        Ok(_) => file.close().map_err(|e| Failure::fs(&what, e)),
        Err(err) => {
            // A half-copied file must not be committed, and dropping a
            // `File` commits. There is no call to abandon a handle's
            // changes, so leak the handle: the process exits without
            // committing, which is the kill -9 case the commit protocol
            // keeps safe (DESIGN G4, G5): `dest` keeps its committed content.
            std::mem::forget(file);
            Err(Failure::host(
                format!("put {} to {dest}", src.display()),
                err,
            ))
        }
    }
}

/// Where `put` writes: `dest`, or the source's name inside `dest` when
/// `dest` is a directory (or ends with `/`), or at the root when omitted.
fn put_destination(fs: &Fs, dest: Option<&str>, src_name: Option<&str>) -> Result<String, Failure> {
    let into_dir = |dir: &str| {
        match src_name {
        Some(name) => Ok(join(dir, name)),
        None => Err(Failure::usage(format!(
            "put: give a destination file path (the source has no usable name), not the directory {dir}"
        ))),
    }
    };
    match dest {
        None => into_dir("/"),
        Some(d) if d.ends_with('/') || is_root(d) => into_dir(d),
        Some(d) => match fs.metadata(d) {
            Ok(meta) if meta.is_dir() => into_dir(d),
            _ => Ok(d.to_string()),
        },
    }
}

/// `whefs get`: copies a file out to a host file, or to stdout when `dest`
/// is omitted or `-`.
pub fn get(fs: &Fs, path: &str, dest: Option<&Path>) -> Result<(), Failure> {
    let what = format!("get {path}");
    let file = fs.open_file(path, "r").map_err(|e| Failure::fs(&what, e))?;
    let mut input = BufReader::with_capacity(COPY_BUFFER, file);
    match dest {
        None => copy_to_stdout(&mut input, &what)?,
        Some(d) if d == Path::new("-") => copy_to_stdout(&mut input, &what)?,
        Some(d) => {
            let target: PathBuf = match (d.is_dir(), basename(path)) {
                (true, Some(name)) => d.join(name),
                _ => d.to_path_buf(),
            };
            let what = format!("get {path} to {}", target.display());
            let mut out =
                std::fs::File::create(&target).map_err(|e| Failure::host(target.display(), e))?;
            io::copy(&mut input, &mut out).map_err(|e| Failure::host(&what, e))?;
        }
    }
    input
        .into_inner()
        .close()
        .map_err(|e| Failure::fs(&what, e))
}

/// Streams `input` to stdout.
fn copy_to_stdout(input: &mut impl Read, what: &str) -> Result<(), Failure> {
    let mut out = BufWriter::with_capacity(COPY_BUFFER, io::stdout().lock());
    io::copy(input, &mut out).map_err(|e| Failure::host(what, e))?;
    out.flush().map_err(stdout_failure)
}

/// `whefs cat`: prints files one after the other. Like `cat(1)` it goes on
/// after a failure and exits with the status of the last one.
pub fn cat(fs: &Fs, paths: &[String]) -> Result<(), Failure> {
    let mut last = None;
    for path in paths {
        if let Err(failure) = get(fs, path, None) {
            report(&failure);
            last = Some(failure.exit);
        }
    }
    last.map_or(Ok(()), |exit| Err(Failure::reported(exit)))
}

/// Prints a failure now, for commands that go on after one.
fn report(failure: &Failure) {
    if let Some(message) = &failure.message {
        let _ = writeln!(io::stderr(), "whefs: {message}");
    }
}

/// `whefs ls`: lists a directory (or names a file). With `recursive`,
/// entries show as full container paths, depth first, in name order.
pub fn ls(fs: &Fs, path: &str, long: bool, recursive: bool) -> Result<(), Failure> {
    let mut out = BufWriter::new(io::stdout().lock());
    let meta = fs
        .metadata(path)
        .map_err(|e| Failure::fs(format!("ls {path}"), e))?;
    if meta.is_dir() {
        list(fs, path, long, recursive, &mut out)?;
    } else if long {
        long_line(&mut out, &meta, path)?;
    } else {
        writeln!(out, "{path}").map_err(stdout_failure)?;
    }
    out.flush().map_err(stdout_failure)
}

/// Writes the listing of directory `dir` to `out` (shared with the demo).
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

/// Calls `visit(full_path, entry)` for each entry of `dir` in name order,
/// and with `recursive` for everything below it, parents before children.
/// Iterative, and a directory met twice is reported as corruption, so a
/// hostile container can neither overflow the stack nor loop forever.
pub fn walk(
    fs: &Fs,
    dir: &str,
    recursive: bool,
    visit: &mut dyn FnMut(&str, &whefs::DirEntry) -> Result<(), Failure>,
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

/// `whefs mkdir`: creates directories, with `parents` also missing parents
/// (and then an existing directory is fine).
pub fn mkdir(fs: &Fs, paths: &[String], parents: bool) -> Result<(), Failure> {
    for path in paths {
        let made = if parents {
            fs.create_dir_all(path)
        } else {
            fs.create_dir(path)
        };
        made.map_err(|e| Failure::fs(format!("mkdir {path}"), e))?;
    }
    Ok(())
}

/// `whefs rm`: removes files; `recursive` also removes directories with
/// everything in them; `force` ignores paths that do not exist.
pub fn rm(fs: &Fs, paths: &[String], recursive: bool, force: bool) -> Result<(), Failure> {
    for path in paths {
        let what = format!("rm {path}");
        let removed = match fs.metadata(path) {
            Ok(meta) if meta.is_dir() && recursive => remove_tree(fs, path),
            Ok(_) => fs.remove_file(path).map_err(|e| Failure::fs(&what, e)),
            Err(e) => Err(Failure::fs(&what, e)),
        };
        match removed {
            Err(failure) if force && failure.exit == Exit::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// Removes a directory and everything below it, children first.
fn remove_tree(fs: &Fs, dir: &str) -> Result<(), Failure> {
    if is_root(dir) {
        return Err(Failure::usage("rm: refusing to remove the root directory"));
    }
    let mut found = Vec::new();
    walk(fs, dir, true, &mut |full, entry| {
        found.push((full.to_string(), entry.kind));
        Ok(())
    })?;
    // Pre-order lists parents before children: remove in reverse.
    for (path, kind) in found.iter().rev() {
        let removed = match kind {
            FileType::Dir => fs.remove_dir(path),
            FileType::File | FileType::Symlink => fs.remove_file(path),
        };
        removed.map_err(|e| Failure::fs(format!("rm {path}"), e))?;
    }
    fs.remove_dir(dir)
        .map_err(|e| Failure::fs(format!("rm {dir}"), e))
}

/// `whefs rmdir`: removes empty directories.
pub fn rmdir(fs: &Fs, paths: &[String]) -> Result<(), Failure> {
    for path in paths {
        fs.remove_dir(path)
            .map_err(|e| Failure::fs(format!("rmdir {path}"), e))?;
    }
    Ok(())
}

/// `whefs mv`: renames atomically; into `to` when `to` is a directory, like
/// `mv(1)`; replaces a file at `to`.
pub fn mv(fs: &Fs, from: &str, to: &str) -> Result<(), Failure> {
    let target = match (fs.metadata(to), basename(from)) {
        (Ok(meta), Some(name)) if meta.is_dir() => join(to, name),
        _ => to.to_string(),
    };
    fs.rename(from, &target)
        .map_err(|e| Failure::fs(format!("mv {from} {target}"), e))
}

/// `whefs stat`: prints what the library knows about each path. Goes on
/// after a failure, like `stat(1)`.
pub fn stat(fs: &Fs, paths: &[String]) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    let mut last = None;
    for (i, path) in paths.iter().enumerate() {
        let meta = match fs.metadata(path) {
            Ok(meta) => meta,
            Err(e) => {
                let failure = Failure::fs(format!("stat {path}"), e);
                report(&failure);
                last = Some(failure.exit);
                continue;
            }
        };
        let kind = if meta.is_dir() { "directory" } else { "file" };
        let time = |ns: i64| {
            format!(
                "{} ({}.{:09})",
                text::utc(ns),
                ns.div_euclid(1_000_000_000),
                ns.rem_euclid(1_000_000_000)
            )
        };
        let blank = if i > 0 { "\n" } else { "" };
        write!(
            out,
            "{blank}path:  {path}\nkind:  {kind}\nsize:  {}\nino:   {}\nmode:  {:04o}\nmtime: {}\nctime: {}\n",
            meta.size,
            meta.ino,
            meta.mode & 0o7777,
            time(meta.mtime_ns),
            time(meta.ctime_ns),
        )
        .map_err(stdout_failure)?;
    }
    last.map_or(Ok(()), |exit| Err(Failure::reported(exit)))
}

/// `whefs info`: container-wide figures.
pub fn info(fs: &Fs, container: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let info = fs
        .info()
        .map_err(|e| Failure::fs(format!("info {}", container.display()), e))?;
    let file_size = match std::fs::metadata(container) {
        Ok(meta) => format!("{} ({})", meta.len(), text::human(meta.len())),
        Err(_) => "-".to_string(),
    };
    let page = u64::from(info.page_size);
    let pages = |n: u64| format!("{n} ({})", text::human(n.saturating_mul(page)));
    writeln!(
        out,
        "container:     {}\nlabel:         {}\nfile size:     {file_size}\npage size:     {}\ngeneration:    {}\n\
         pages total:   {}\npages used:    {}\npages free:    {}\npages pending: {}\nfiles:         {}\ndirs:          {}",
        container.display(),
        info.label,
        info.page_size,
        info.generation,
        pages(info.pages_total),
        pages(info.pages_used),
        pages(info.pages_free),
        pages(info.pages_pending),
        info.files,
        info.dirs,
    )
    .map_err(stdout_failure)
}

/// `whefs locks`: what other opens of the container hold, for debugging a
/// stuck deployment.
pub fn locks(fs: &Fs, container: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let r = fs
        .lock_report()
        .map_err(|e| Failure::fs(format!("locks {}", container.display()), e))?;
    let list = |v: &[u64]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
        }
    };
    let ranges = r
        .reserved_pages
        .iter()
        .map(|(s, l)| format!("{s}+{l}"))
        .collect::<Vec<_>>();
    writeln!(
        out,
        "container lock:      {}
commit in progress:  {}
file writers (ino):  {}
pinned generations:  {}
reserved pages:      {}",
        if r.container_exclusive {
            "held exclusively"
        } else {
            "-"
        },
        if r.commit_held { "yes" } else { "no" },
        list(&r.file_writers),
        list(&r.pinned_generations),
        if ranges.is_empty() {
            "-".to_string()
        } else {
            ranges.join(" ")
        },
    )
    .map_err(stdout_failure)
}

/// `whefs check`: verifies every checksum and the allocator's accounting.
/// A corrupt container fails with [`Exit::Generic`] (status 1), as `check`
/// promises; other failures keep their usual status.
pub fn check(global: &Global, container: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let what = format!("check {}", container.display());
    let corrupt = |e: Error| match e {
        Error::Corrupt(_) => Failure::new(Exit::Generic, format!("{what}: {e}")),
        e => Failure::fs(&what, e),
    };
    let fs = options(global).open(container).map_err(corrupt)?;
    let report = fs.check().map_err(corrupt)?;
    writeln!(
        out,
        "clean: generation {}\n  tree pages:    {}\n  data pages:    {}\n  files:         {}\n  dirs:          {}\n\
         \x20 free pages:    {}\n  pending pages: {}",
        report.generation,
        report.tree_pages,
        report.data_pages,
        report.files,
        report.dirs,
        report.free_pages,
        report.pending_pages,
    )
    .map_err(stdout_failure)
}

/// A failed write to stdout.
pub fn stdout_failure(err: io::Error) -> Failure {
    Failure::host("stdout", err)
}
