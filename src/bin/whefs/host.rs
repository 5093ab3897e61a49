//! The host side of tree copies: [`scan`] lists a host tree for `put -r`
//! (symlinks skipped or followed, other special files skipped), and
//! [`HostDir`] writes a tree out for `get -r` without ever leaving its
//! target directory.
//!
//! Invariants: below the target directory the user named, every directory
//! is entered and every file created relative to an open directory with
//! `O_NOFOLLOW`, so a symlink planted in the target (or swapped in while
//! `get` runs) makes it fail instead of writing elsewhere; an existing
//! host file is replaced only with `--force`, and then by renaming a
//! complete copy over it, so a failure never leaves it half written.

use std::ffi::{CString, OsStr};
use std::fs::{self, File, Permissions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::failure::{Exit, Failure};
use crate::printer::Progress;

/// What a host entry of a scanned tree is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
}

/// One entry of a host tree to copy in.
#[derive(Debug)]
pub struct HostEntry {
    /// The host path to read.
    pub path: PathBuf,
    /// The names from the top of the tree down to this entry (the top
    /// itself has none); UTF-8, as container names must be.
    pub names: Vec<String>,
    /// Directory or file.
    pub kind: HostKind,
    /// Size in bytes at scan time (for the progress bar).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
}

/// How [`scan`] treats what it meets.
pub struct ScanRules<'a> {
    /// Follow symlinks (`-L`); otherwise they are skipped with a warning.
    pub follow: bool,
    /// A host file never to copy (the container itself): device and inode.
    pub skip: Option<(u64, u64)>,
    /// Where warnings go.
    pub progress: &'a Progress,
}

/// Lists the host tree at `top`, parents before children, directories in
/// name order. A symlink as `top` itself is followed, as `cp -r` does.
/// Names that are not UTF-8 are an error ([`Exit::Usage`]) before anything
/// is copied; sockets, FIFOs and devices are skipped with a warning.
pub fn scan(top: &Path, rules: &ScanRules) -> Result<Vec<HostEntry>, Failure> {
    let meta = fs::metadata(top).map_err(|e| Failure::host(top.display(), e))?;
    let mut out = Vec::new();
    let kind = match kind_of(&meta) {
        Some(kind) => kind,
        None => {
            return Err(Failure::new(
                Exit::Kind,
                format!("{}: not a regular file or directory", top.display()),
            ))
        }
    };
    out.push(entry(top.to_path_buf(), Vec::new(), kind, &meta));
    if kind == HostKind::File {
        return Ok(out);
    }
    // Depth first with an explicit stack; with -L, the directories on the
    // way down (device, inode) catch a symlink loop.
    let mut stack: Vec<Pending> = vec![Pending {
        dir: top.to_path_buf(),
        names: Vec::new(),
        ancestors: vec![(meta.dev(), meta.ino())],
    }];
    while let Some(Pending {
        dir,
        names,
        ancestors,
    }) = stack.pop()
    {
        let mut children: Vec<(PathBuf, Vec<String>, fs::Metadata)> = Vec::new();
        let list = fs::read_dir(&dir).map_err(|e| Failure::host(dir.display(), e))?;
        for item in list {
            let item = item.map_err(|e| Failure::host(dir.display(), e))?;
            let path = item.path();
            let name = utf8_name(&path, &item.file_name())?;
            let lmeta =
                fs::symlink_metadata(&path).map_err(|e| Failure::host(path.display(), e))?;
            let meta = if lmeta.file_type().is_symlink() {
                if !rules.follow {
                    rules.progress.warn(format_args!(
                        "{}: skipped, a symbolic link (-L follows links)",
                        path.display()
                    ));
                    continue;
                }
                match fs::metadata(&path) {
                    Ok(meta) => meta,
                    Err(e) => {
                        rules.progress.warn(format_args!(
                            "{}: skipped, a symbolic link that cannot be followed: {e}",
                            path.display()
                        ));
                        continue;
                    }
                }
            } else {
                lmeta
            };
            let mut child_names = names.clone();
            child_names.push(name);
            children.push((path, child_names, meta));
        }
        children.sort_by(|a, b| a.1.cmp(&b.1));
        let mut subdirs = Vec::new();
        for (path, child_names, meta) in children {
            if rules.skip == Some((meta.dev(), meta.ino())) {
                rules.progress.warn(format_args!(
                    "{}: skipped, it is the container being written",
                    path.display()
                ));
                continue;
            }
            match kind_of(&meta) {
                None => rules.progress.warn(format_args!(
                    "{}: skipped, not a regular file or directory",
                    path.display()
                )),
                Some(HostKind::Dir) => {
                    let id = (meta.dev(), meta.ino());
                    if ancestors.contains(&id) {
                        rules.progress.warn(format_args!(
                            "{}: skipped, a link back to a directory above it",
                            path.display()
                        ));
                        continue;
                    }
                    out.push(entry(
                        path.clone(),
                        child_names.clone(),
                        HostKind::Dir,
                        &meta,
                    ));
                    let mut below = ancestors.clone();
                    below.push(id);
                    subdirs.push(Pending {
                        dir: path,
                        names: child_names,
                        ancestors: below,
                    });
                }
                Some(HostKind::File) => {
                    out.push(entry(path, child_names, HostKind::File, &meta));
                }
            }
        }
        // Pushed in reverse so the first directory is walked first.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// A directory [`scan`] has yet to read.
struct Pending {
    dir: PathBuf,
    names: Vec<String>,
    /// (device, inode) of it and the directories above it.
    ancestors: Vec<(u64, u64)>,
}

fn kind_of(meta: &fs::Metadata) -> Option<HostKind> {
    if meta.is_dir() {
        Some(HostKind::Dir)
    } else if meta.is_file() {
        Some(HostKind::File)
    } else {
        None
    }
}

fn entry(path: PathBuf, names: Vec<String>, kind: HostKind, meta: &fs::Metadata) -> HostEntry {
    HostEntry {
        path,
        names,
        kind,
        size: if kind == HostKind::File {
            meta.len()
        } else {
            0
        },
        mode: meta.mode() & 0o7777,
        mtime_ns: meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec(),
    }
}

/// A host name as UTF-8, or a usage error naming the path.
pub fn utf8_name(path: &Path, name: &OsStr) -> Result<String, Failure> {
    name.to_str().map(str::to_string).ok_or_else(|| {
        Failure::usage(format!(
            "{}: the name is not UTF-8, which container names must be",
            path.display()
        ))
    })
}

/// What is at a name in a host directory, without following a symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// Nothing.
    Nothing,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (a file, a device, ...).
    Other,
}

/// An open host directory that a tree is written into.
pub struct HostDir {
    fd: OwnedFd,
    /// Its path, for messages.
    pub path: PathBuf,
}

impl HostDir {
    /// Opens the directory the user named (following symlinks: the user
    /// chose it).
    pub fn open(path: &Path) -> Result<HostDir, Failure> {
        let file = File::open(path).map_err(|e| Failure::host(path.display(), e))?;
        let meta = file
            .metadata()
            .map_err(|e| Failure::host(path.display(), e))?;
        if !meta.is_dir() {
            return Err(Failure::new(
                Exit::Kind,
                format!("{}: not a directory", path.display()),
            ));
        }
        Ok(HostDir {
            fd: file.into(),
            path: path.to_path_buf(),
        })
    }

    /// What is at `name` (never following a symlink).
    pub fn find(&self, name: &str) -> Result<Found, Failure> {
        let c = c_name(name, &self.path)?;
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a valid directory descriptor, a NUL-terminated name and
        // a stat buffer we own.
        let rc = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::NotFound {
                return Ok(Found::Nothing);
            }
            return Err(Failure::host(self.path.join(name).display(), e));
        }
        Ok(match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Found::Dir,
            libc::S_IFLNK => Found::Symlink,
            _ => Found::Other,
        })
    }

    /// Enters the subdirectory `name`, creating it if missing. A symlink
    /// (or anything but a directory) there is an error: nothing is ever
    /// written through a link.
    pub fn subdir(&self, name: &str) -> Result<HostDir, Failure> {
        let c = c_name(name, &self.path)?;
        let path = self.path.join(name);
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        let rc = unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o755) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::AlreadyExists {
                return Err(Failure::host(path.display(), e));
            }
        }
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: as above; the result is checked before use.
        let fd = unsafe { libc::openat(self.fd.as_raw_fd(), c.as_ptr(), flags) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(match self.find(name) {
                Ok(Found::Symlink) => refuse_link(&path),
                Ok(Found::Other) => {
                    Failure::new(Exit::Kind, format!("{}: not a directory", path.display()))
                }
                _ => Failure::host(path.display(), e),
            });
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(HostDir { fd, path })
    }

    /// Writes the file `name` with everything `data` yields, then gives it
    /// `mode` and `mtime_ns`. An existing file (or link) there is an
    /// error unless `force`; then a complete copy is renamed over it.
    /// A file this call created is removed again if the copy fails.
    pub fn write_file(
        &self,
        name: &str,
        data: &mut dyn io::Read,
        mode: u32,
        mtime_ns: i64,
        force: bool,
    ) -> Result<u64, Failure> {
        let path = self.path.join(name);
        let exists = self.find(name)?;
        if exists == Found::Dir {
            return Err(Failure::new(
                Exit::Kind,
                format!("{}: is a directory", path.display()),
            ));
        }
        if exists != Found::Nothing && !force {
            return Err(exists_failure(&path));
        }
        // A new file is written in place (O_EXCL: never through a link);
        // a replacement goes to a temporary name first.
        let temp = format!(".whefs-{}.tmp", std::process::id());
        let target = if exists == Found::Nothing {
            name
        } else {
            temp.as_str()
        };
        let target_path = self.path.join(target);
        let file = self.create(target, &target_path)?;
        let copied = copy_into(file, data, mode, mtime_ns, &target_path);
        let result = copied.and_then(|n| {
            if target != name {
                self.rename(target, name)?;
            }
            Ok(n)
        });
        if result.is_err() {
            let _ = self.unlink(target);
        }
        result
    }

    /// Creates `name` exclusively (`O_EXCL|O_NOFOLLOW`).
    fn create(&self, name: &str, path: &Path) -> Result<File, Failure> {
        let c = c_name(name, &self.path)?;
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: a valid directory descriptor and a NUL-terminated name;
        // the result is checked before use.
        let fd = unsafe { libc::openat(self.fd.as_raw_fd(), c.as_ptr(), flags, 0o600) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(if e.kind() == io::ErrorKind::AlreadyExists {
                exists_failure(path)
            } else {
                Failure::host(path.display(), e)
            });
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), Failure> {
        let (a, b) = (c_name(from, &self.path)?, c_name(to, &self.path)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: valid descriptors and NUL-terminated names.
        if unsafe { libc::renameat(fd, a.as_ptr(), fd, b.as_ptr()) } != 0 {
            let e = io::Error::last_os_error();
            return Err(Failure::host(self.path.join(to).display(), e));
        }
        Ok(())
    }

    fn unlink(&self, name: &str) -> Result<(), Failure> {
        let c = c_name(name, &self.path)?;
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        if unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) } != 0 {
            let e = io::Error::last_os_error();
            return Err(Failure::host(self.path.join(name).display(), e));
        }
        Ok(())
    }

    /// Gives this directory `mode` and `mtime_ns` (after its entries are
    /// written, since each new entry changes a directory's mtime).
    pub fn set_attrs(&self, mode: u32, mtime_ns: i64) -> Result<(), Failure> {
        let dup = self
            .fd
            .try_clone()
            .map_err(|e| Failure::host(self.path.display(), e))?;
        set_attrs(&File::from(dup), mode, mtime_ns, &self.path)
    }
}

/// Streams `data` into `file`, then sets its mode and mtime.
fn copy_into(
    mut file: File,
    data: &mut dyn io::Read,
    mode: u32,
    mtime_ns: i64,
    path: &Path,
) -> Result<u64, Failure> {
    let n = io::copy(data, &mut file).map_err(|e| Failure::host(path.display(), e))?;
    set_attrs(&file, mode, mtime_ns, path)?;
    Ok(n)
}

fn set_attrs(file: &File, mode: u32, mtime_ns: i64, path: &Path) -> Result<(), Failure> {
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(|e| Failure::host(path.display(), e))?;
    file.set_modified(system_time(mtime_ns))
        .map_err(|e| Failure::host(path.display(), e))
}

/// A time in ns since the epoch as a [`SystemTime`].
pub fn system_time(ns: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

fn c_name(name: &str, dir: &Path) -> Result<CString, Failure> {
    if !crate::container::is_plain_name(name) {
        return Err(Failure::new(
            Exit::Corrupt,
            format!("{}: {name:?} cannot be a file name", dir.display()),
        ));
    }
    CString::new(OsStr::new(name).as_bytes()).map_err(|_| {
        Failure::new(
            Exit::Corrupt,
            format!("{}: {name:?} has a NUL byte", dir.display()),
        )
    })
}

/// The failure for an existing host file without `--force`.
pub fn exists_failure(path: &Path) -> Failure {
    Failure::new(
        Exit::Exists,
        format!(
            "{}: already exists (--force replaces host files)",
            path.display()
        ),
    )
}

/// The failure for a symlink where `get` must write.
pub fn refuse_link(path: &Path) -> Failure {
    Failure::new(
        Exit::Access,
        format!(
            "{}: is a symbolic link; get never writes through one",
            path.display()
        ),
    )
}
