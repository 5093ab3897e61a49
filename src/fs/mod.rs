//! The filesystem API, the Rust face of whefs: [`Fs`] (a cheap-to-clone
//! handle on one open container), [`File`], [`ReadDir`], [`OpenOptions`],
//! [`Transaction`] and glob listing. Each operation is one atomic commit,
//! or reads one committed state; nothing here touches pages or locks
//! itself — that is the engine's.
//!
//! - `mod.rs`: `Fs`, `FsOptions`, `Metadata`, `Info`, path resolution and
//!   the namespace changes of a `Tx` that the rest is built from;
//! - `file.rs`: file handles and their staged writes; `dir.rs`: listings;
//! - `options.rs`: `OpenOptions` and fopen modes; `namespace.rs`: whole-tree
//!   operations (`remove_dir_all`, `copy`, label); `txn.rs`: transactions;
//!   `glob.rs`: pattern listing; `path.rs`: the one path normalizer.

pub(crate) mod dir;
pub(crate) mod file;
pub(crate) mod glob;
mod namespace;
mod options;
pub(crate) mod path;
mod txn;

pub use dir::{DirEntry, ReadDir};
pub use file::{File, Mode};
pub use options::OpenOptions;
pub use txn::Transaction;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use crate::engine::CheckReport;
use crate::engine::{self, Durability, Engine, Snapshot, Tx};
use crate::error::{Error, Result};
use crate::format;
use crate::format::records::{self, DirentRecord, InodeKind, InodeRecord, Kind, ROOT_INO};
use crate::lock::LockReport;
use crate::storage::{CreateOutcome, FileStorage, LockMode, MemoryStorage, Storage};

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A pseudofile.
    File,
    /// A directory.
    Dir,
}

/// What `stat` tells about a file or directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// File or directory.
    pub kind: FileType,
    /// Permission bits, kept for the user (whefs does not enforce them).
    pub mode: u32,
    /// Inode number, stable for the file's life.
    pub ino: u64,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Last modification, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Last status change, nanoseconds since the Unix epoch.
    pub ctime_ns: i64,
}

impl Metadata {
    /// Whether this is a pseudofile.
    pub fn is_file(&self) -> bool {
        self.kind == FileType::File
    }
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == FileType::Dir
    }
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.size
    }
    /// Whether the size is zero.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
}

/// Container-wide figures (`whefs_fs_info`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    /// Page size in bytes.
    pub page_size: u32,
    /// Generation of the latest commit.
    pub generation: u64,
    /// Pages in the container, page 0 (the superblocks) included.
    pub pages_total: u64,
    /// Pages holding live data or metadata.
    pub pages_used: u64,
    /// Pages free for reuse now.
    pub pages_free: u64,
    /// Pages freed by recent commits, reusable once no reader needs them.
    pub pages_pending: u64,
    /// Number of pseudofiles.
    pub files: u64,
    /// Number of directories, the root included.
    pub dirs: u64,
    /// The container's label.
    pub label: String,
}

/// How to open a container: a builder, like `std::fs::OpenOptions`.
#[derive(Clone, Debug)]
pub struct FsOptions {
    pub(crate) write: bool,
    pub(crate) create: bool,
    pub(crate) container_lock: bool,
    pub(crate) durability: Durability,
    pub(crate) page_size: u32,
    pub(crate) busy_timeout: Duration,
    pub(crate) label: String,
    #[cfg(feature = "fault-switches")]
    pub(crate) faults: crate::engine::FaultSwitches,
}

impl Default for FsOptions {
    fn default() -> Self {
        FsOptions {
            write: false,
            create: false,
            container_lock: false,
            durability: Durability::Full,
            page_size: crate::format::DEFAULT_PAGE_SIZE,
            busy_timeout: Duration::from_millis(5000),
            label: String::new(),
            #[cfg(feature = "fault-switches")]
            faults: Default::default(),
        }
    }
}

impl FsOptions {
    /// Read-only options; chain the setters for more.
    pub fn new() -> FsOptions {
        FsOptions::default()
    }
    /// Open for reading and writing.
    pub fn write(&mut self, yes: bool) -> &mut Self {
        self.write = yes;
        self
    }
    /// Create the container if it is missing (implies `write`).
    pub fn create(&mut self, yes: bool) -> &mut Self {
        self.create = yes;
        if yes {
            self.write = true;
        }
        self
    }
    /// The seed's whole-container mode: a read-write open with it excludes
    /// every other open of the container.
    pub fn container_lock(&mut self, yes: bool) -> &mut Self {
        self.container_lock = yes;
        self
    }
    /// Durability of commits made through this open.
    pub fn durability(&mut self, d: Durability) -> &mut Self {
        self.durability = d;
        self
    }
    /// Page size of a new container: a power of two from 4096 to 65536.
    pub fn page_size(&mut self, size: u32) -> &mut Self {
        self.page_size = size;
        self
    }
    /// How long to wait for a lock before failing with `Busy`.
    pub fn busy_timeout(&mut self, t: Duration) -> &mut Self {
        self.busy_timeout = t;
        self
    }
    /// Label of a new container (at most 64 bytes).
    pub fn label(&mut self, label: &str) -> &mut Self {
        self.label = label.to_string();
        self
    }

    /// Test-only switches that break the protocol on purpose, in force from
    /// the open on (some act at open: `skip_commit_verify`).
    #[cfg(feature = "fault-switches")]
    pub fn fault_switches(&mut self, f: crate::engine::FaultSwitches) -> &mut Self {
        self.faults = f;
        self
    }

    /// Opens the container file at `path` (`":memory:"` opens a new one in RAM).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Fs> {
        let path = path.as_ref();
        if path.as_os_str() == ":memory:" {
            return self.open_storage(Arc::new(MemoryStorage::new()));
        }
        if self.create {
            self.check_new()?;
            let image = engine::new_container_image(self.page_size, &self.label, engine::now_ns());
            match FileStorage::create_new(path, &image)? {
                CreateOutcome::Created(storage) => return self.open_file_storage(storage),
                CreateOutcome::AlreadyExists => {}
            }
        }
        self.open_file_storage(FileStorage::open(path, self.write)?)
    }

    fn open_file_storage(&self, storage: FileStorage) -> Result<Fs> {
        if storage.is_network_fs()? && !self.container_lock {
            return Err(Error::Unsupported(format!(
                "{} is on a network filesystem, where byte-range locks are not coherent; open it with the container lock",
                storage.path().display()
            )));
        }
        self.open_storage(Arc::new(storage))
    }

    fn check_new(&self) -> Result<()> {
        if !format::valid_page_size(self.page_size) {
            return Err(Error::Arg(format!(
                "page size {} is not a power of two from 4096 to 65536",
                self.page_size
            )));
        }
        if self.label.len() > format::superblock::MAX_LABEL {
            return Err(Error::Arg(format!(
                "label of {} bytes is longer than 64",
                self.label.len()
            )));
        }
        Ok(())
    }

    /// Opens a container on any storage (memory, fault-injecting, ...). An
    /// empty storage is formatted when `create` is set.
    pub fn open_storage(&self, storage: Arc<dyn Storage>) -> Result<Fs> {
        if self.write && storage.read_only() {
            return Err(Error::Access("the storage is read-only".into()));
        }
        if storage.len()? == 0 {
            if !self.create {
                return Err(Error::BadMagic("the container is empty".into()));
            }
            self.check_new()?;
            storage.write_at(
                &engine::new_container_image(self.page_size, &self.label, engine::now_ns()),
                0,
            )?;
            storage.sync()?;
        }
        #[cfg(feature = "fault-switches")]
        let verify = !self.faults.skip_commit_verify;
        #[cfg(not(feature = "fault-switches"))]
        let verify = true;
        let engine = Engine::open(
            Arc::clone(&storage),
            !self.write,
            self.durability,
            self.busy_timeout,
            verify,
        )?;
        #[cfg(feature = "fault-switches")]
        engine.set_fault_switches(self.faults);
        // Every open shares the container region; only the seed's mode
        // (a read-write open with the container lock) holds it alone.
        let mode = if self.write && self.container_lock {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        };
        engine.locks().lock_container(mode, self.busy_timeout)?;
        Ok(Fs {
            inner: Arc::new(FsInner { engine }),
        })
    }
}
pub(crate) struct FsInner {
    pub(crate) engine: Engine,
}

/// An open container. Cloning is cheap; clones share one open, and every
/// clone may be used from any thread.
#[derive(Clone)]
pub struct Fs {
    pub(crate) inner: Arc<FsInner>,
}

impl std::fmt::Debug for Fs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fs")
            .field("page_size", &self.inner.engine.page_size())
            .finish_non_exhaustive()
    }
}

/// Read access to one state of the tree: a pinned snapshot, or a commit in
/// progress. Path resolution works on either.
pub(crate) trait Records {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
}

/// A snapshot seen through the engine.
pub(crate) struct SnapView<'a> {
    pub engine: &'a Engine,
    pub snap: &'a Snapshot,
}

impl Records for SnapView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        crate::engine::tree::get(self.engine, &self.snap.root(), key)
    }
}

impl Records for Tx<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Tx::get(self, key)
    }
}

/// The inode record of `ino`; a missing one is corruption (something names it).
pub(crate) fn inode(r: &dyn Records, ino: u64) -> Result<InodeRecord> {
    let v = r
        .get(&records::inode_key(ino))?
        .ok_or_else(|| Error::corrupt(format!("inode {ino} is named but missing")))?;
    InodeRecord::decode(&v)
}

/// The entry `name` in directory `dir`.
pub(crate) fn lookup(r: &dyn Records, dir: u64, name: &str) -> Result<Option<DirentRecord>> {
    r.get(&records::dirent_key(dir, name.as_bytes()))?
        .map(|v| DirentRecord::decode(&v))
        .transpose()
}

/// Walks `parts` from the root; returns the inode number and record. Every
/// inode passed through is handed to `seen` (rename uses it to refuse
/// moving a directory into itself).
pub(crate) fn resolve_parts(
    r: &dyn Records,
    parts: &[&str],
    full: &str,
    seen: &mut dyn FnMut(u64),
) -> Result<(u64, InodeRecord)> {
    let mut ino = ROOT_INO;
    seen(ino);
    // The root is a directory by construction (check() verifies it), so a
    // path below it starts with the first entry: one lookup fewer.
    let mut rec = None;
    for (i, name) in parts.iter().enumerate() {
        if rec
            .as_ref()
            .is_some_and(|r: &InodeRecord| r.kind != InodeKind::Dir)
        {
            return Err(Error::NotDir(format!(
                "{:?} in {full:?}",
                parts[..i].join("/")
            )));
        }
        let d = lookup(r, ino, name)?.ok_or_else(|| Error::NotFound(full.to_string()))?;
        ino = d.ino;
        rec = Some(inode(r, ino)?);
        seen(ino);
    }
    match rec {
        Some(rec) => Ok((ino, rec)),
        None => Ok((ino, inode(r, ino)?)),
    }
}

/// Resolves a whole path.
pub(crate) fn resolve(r: &dyn Records, path: &str) -> Result<(u64, InodeRecord)> {
    resolve_parts(r, &path::components(path)?, path, &mut |_| {})
}

/// Resolves the parent directory of `path`; returns it and the last name.
pub(crate) fn resolve_parent<'p>(r: &dyn Records, path: &'p str) -> Result<(u64, &'p str)> {
    let (parent, name) = path::parent_and_name(path)?;
    let (dir, rec) = resolve_parts(r, &parent, path, &mut |_| {})?;
    if rec.kind != InodeKind::Dir {
        return Err(Error::NotDir(format!("parent of {path:?}")));
    }
    Ok((dir, name))
}

pub(crate) fn metadata_of(ino: u64, rec: &InodeRecord) -> Metadata {
    Metadata {
        kind: if rec.kind == InodeKind::Dir {
            FileType::Dir
        } else {
            FileType::File
        },
        mode: rec.mode,
        ino,
        size: rec.size,
        mtime_ns: rec.mtime_ns,
        ctime_ns: rec.ctime_ns,
    }
}

/// Namespace changes inside one commit.
impl Tx<'_> {
    /// Creates an inode named `name` in `dir` and returns its number.
    pub(crate) fn create_inode(&mut self, dir: u64, name: &str, kind: InodeKind) -> Result<u64> {
        let ino = self.alloc_ino()?;
        let now = engine::now_ns();
        let mode = if kind == InodeKind::Dir { 0o755 } else { 0o644 };
        let rec = InodeRecord {
            kind,
            mode,
            size: 0,
            mtime_ns: now,
            ctime_ns: now,
            inline: None,
        };
        self.insert(&records::inode_key(ino), &rec.encode())?;
        self.insert(
            &records::dirent_key(dir, name.as_bytes()),
            &DirentRecord { ino, kind }.encode(),
        )?;
        self.count(kind, 1);
        self.touch_dir(dir)?;
        Ok(ino)
    }

    /// Updates a directory's times after its entries changed.
    pub(crate) fn touch_dir(&mut self, dir: u64) -> Result<()> {
        let mut rec = inode(self, dir)?;
        rec.mtime_ns = engine::now_ns();
        rec.ctime_ns = rec.mtime_ns;
        self.insert(&records::inode_key(dir), &rec.encode())?;
        Ok(())
    }

    /// Removes the entry `name` of `dir` that names a file.
    pub(crate) fn remove_file_entry(
        &mut self,
        dir: u64,
        name: &str,
        d: DirentRecord,
    ) -> Result<()> {
        self.remove(&records::dirent_key(dir, name.as_bytes()))?;
        self.touch_dir(dir)?;
        self.unlink_inode(d.ino, d.kind)
    }

    /// Whether directory `dir` has no entries.
    pub(crate) fn dir_is_empty(&self, dir: u64) -> Result<bool> {
        let mut empty = true;
        let (lo, hi) = (
            records::kind_start(dir, Kind::Dirent),
            records::kind_end(dir, Kind::Dirent),
        );
        Tx::visit(self, &lo, &hi, false, &mut |_, _| {
            empty = false;
            Ok(false)
        })?;
        Ok(empty)
    }

    /// Links a new, empty file at `path`, replacing a file there.
    pub(crate) fn link_new_file(&mut self, path: &str) -> Result<u64> {
        let (dir, name) = resolve_parent(self, path)?;
        if let Some(old) = lookup(self, dir, name)? {
            if old.kind == InodeKind::Dir {
                return Err(Error::IsDir(path.to_string()));
            }
            self.remove_file_entry(dir, name, old)?;
        }
        self.create_inode(dir, name, InodeKind::File)
    }

    pub(crate) fn mkdir(&mut self, path: &str, exist_ok: bool) -> Result<()> {
        let (dir, name) = resolve_parent(self, path)?;
        match lookup(self, dir, name)? {
            Some(d) if exist_ok && d.kind == InodeKind::Dir => Ok(()),
            Some(d) if exist_ok => Err(Error::NotDir(format!(
                "{path:?} exists and is a file (inode {})",
                d.ino
            ))),
            Some(_) => Err(Error::Exists(path.to_string())),
            None => self.create_inode(dir, name, InodeKind::Dir).map(|_| ()),
        }
    }

    /// Removes the file at `path` (see [`Fs::remove_file`]).
    pub(crate) fn remove_file(&mut self, path: &str) -> Result<()> {
        let (dir, name) = resolve_parent(self, path)?;
        let d = lookup(self, dir, name)?.ok_or_else(|| Error::NotFound(path.to_string()))?;
        if d.kind == InodeKind::Dir {
            return Err(Error::IsDir(path.to_string()));
        }
        self.remove_file_entry(dir, name, d)
    }

    /// Removes the empty directory at `path` (see [`Fs::remove_dir`]).
    pub(crate) fn remove_dir(&mut self, path: &str) -> Result<()> {
        let (dir, name) = resolve_parent(self, path)?;
        let d = lookup(self, dir, name)?.ok_or_else(|| Error::NotFound(path.to_string()))?;
        if d.kind != InodeKind::Dir {
            return Err(Error::NotDir(path.to_string()));
        }
        if !self.dir_is_empty(d.ino)? {
            return Err(Error::NotEmpty(path.to_string()));
        }
        self.remove(&records::dirent_key(dir, name.as_bytes()))?;
        self.touch_dir(dir)?;
        self.delete_inode(d.ino, InodeKind::Dir)
    }

    /// Renames `from` to `to` (see [`Fs::rename`]).
    pub(crate) fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let (from_dir, from_name) = resolve_parent(self, from)?;
        let src =
            lookup(self, from_dir, from_name)?.ok_or_else(|| Error::NotFound(from.to_string()))?;
        let (to_parent, to_name) = path::parent_and_name(to)?;
        let mut inside = false;
        let (to_dir, rec) =
            resolve_parts(self, &to_parent, to, &mut |ino| inside |= ino == src.ino)?;
        if rec.kind != InodeKind::Dir {
            return Err(Error::NotDir(format!("parent of {to:?}")));
        }
        if inside {
            return Err(Error::Arg(format!(
                "cannot move {from:?} into itself ({to:?})"
            )));
        }
        if let Some(dst) = lookup(self, to_dir, to_name)? {
            if dst.ino == src.ino {
                return Ok(());
            }
            match (src.kind, dst.kind) {
                (InodeKind::Dir, InodeKind::File) => return Err(Error::NotDir(to.to_string())),
                (InodeKind::File, InodeKind::Dir) => return Err(Error::IsDir(to.to_string())),
                (InodeKind::Dir, InodeKind::Dir) if !self.dir_is_empty(dst.ino)? => {
                    return Err(Error::NotEmpty(to.to_string()))
                }
                _ => {}
            }
            self.remove(&records::dirent_key(to_dir, to_name.as_bytes()))?;
            self.unlink_inode(dst.ino, dst.kind)?;
        }
        self.remove(&records::dirent_key(from_dir, from_name.as_bytes()))?;
        self.insert(
            &records::dirent_key(to_dir, to_name.as_bytes()),
            &src.encode(),
        )?;
        self.touch_dir(from_dir)?;
        if to_dir != from_dir {
            self.touch_dir(to_dir)?;
        }
        Ok(())
    }
}

impl Fs {
    /// Options for opening a container.
    pub fn options() -> FsOptions {
        FsOptions::new()
    }
    /// Opens an existing container for reading and writing.
    pub fn open(path: impl AsRef<Path>) -> Result<Fs> {
        FsOptions::new().write(true).open(path)
    }
    /// Opens an existing container for reading only.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Fs> {
        FsOptions::new().open(path)
    }
    /// Opens a container for reading and writing, creating it if missing.
    pub fn create(path: impl AsRef<Path>) -> Result<Fs> {
        FsOptions::new().create(true).open(path)
    }
    /// A new, empty container in memory.
    pub fn memory() -> Result<Fs> {
        FsOptions::new().create(true).open(":memory:")
    }
    /// A read-only container over an image that lives for the whole program.
    pub fn open_image(bytes: &'static [u8]) -> Result<Fs> {
        FsOptions::new().open_storage(Arc::new(MemoryStorage::image(bytes)))
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Pins the latest commit and resolves `path` in it.
    fn resolve_latest(&self, path: &str) -> Result<(Snapshot, u64, InodeRecord)> {
        let snap = self.engine().snapshot()?;
        let view = SnapView {
            engine: self.engine(),
            snap: &snap,
        };
        let (ino, rec) = resolve(&view, path)?;
        Ok((snap, ino, rec))
    }

    fn commit<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.engine().commit(false, f).map(|(out, _)| out)
    }

    /// Writes a whole file (created or replaced) in one commit. Readers see
    /// the old content or the new, never a mix.
    pub fn write(&self, path: &str, data: &[u8]) -> Result<()> {
        path::parent_and_name(path)?;
        let mut f = File::create_detached(self, path)?;
        if let Err(e) = f.write_at(data, 0) {
            f.discard();
            return Err(e);
        }
        f.close()
    }

    /// Reads a whole file.
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        let mut f = self.open_file(path, "r")?;
        let len = usize::try_from(f.len())
            .map_err(|_| Error::Range("file too large for memory".into()))?;
        let mut out = Vec::new();
        out.try_reserve_exact(len)
            .map_err(|_| Error::NoMem(format!("{len} bytes for {path:?}")))?;
        std::io::Read::read_to_end(&mut f, &mut out).map_err(Error::from_io)?;
        Ok(out)
    }

    /// Opens a pseudofile with an `fopen`-style mode (`"r"`, `"w+"`, `"a"`, `"c+"`, `"x"`, ...).
    pub fn open_file(&self, path: &str, mode: &str) -> Result<File> {
        File::open(self, path, Mode::parse(mode)?)
    }

    /// Creates a directory; its parent must exist.
    pub fn create_dir(&self, path: &str) -> Result<()> {
        self.commit(|tx| tx.mkdir(path, false))
    }

    /// Creates a directory and any missing parents, in one commit.
    pub fn create_dir_all(&self, path: &str) -> Result<()> {
        let parts = path::components(path)?;
        self.commit(|tx| {
            for i in 1..=parts.len() {
                tx.mkdir(&parts[..i].join("/"), true)?;
            }
            Ok(())
        })
    }

    /// Lists a directory as of now; the listing keeps that snapshot.
    pub fn read_dir(&self, path: &str) -> Result<ReadDir> {
        let (snap, ino, rec) = self.resolve_latest(path)?;
        if rec.kind != InodeKind::Dir {
            return Err(Error::NotDir(path.to_string()));
        }
        Ok(ReadDir::new(self.clone(), snap, ino))
    }

    /// `stat` of a path in the latest commit.
    pub fn metadata(&self, path: &str) -> Result<Metadata> {
        let (_snap, ino, rec) = self.resolve_latest(path)?;
        Ok(metadata_of(ino, &rec))
    }

    /// Whether a path exists.
    pub fn exists(&self, path: &str) -> Result<bool> {
        match self.metadata(path) {
            Ok(_) => Ok(true),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes a file. A reader that has it open keeps reading its snapshot;
    /// a writer that has it open keeps writing to an orphan that nobody
    /// sees, freed when the writer closes.
    pub fn remove_file(&self, path: &str) -> Result<()> {
        self.commit(|tx| tx.remove_file(path))
    }

    /// Removes an empty directory.
    pub fn remove_dir(&self, path: &str) -> Result<()> {
        self.commit(|tx| tx.remove_dir(path))
    }

    /// Renames atomically. A file at `to` is replaced; a directory at `to`
    /// is replaced only by a directory and only when empty.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.commit(|tx| tx.rename(from, to))
    }

    /// Walks the whole container, verifies every checksum and the
    /// allocator's accounting (fsck). Problems are `Corrupt` errors.
    pub fn check(&self) -> Result<CheckReport> {
        self.engine().check()
    }

    /// Container-wide figures.
    pub fn info(&self) -> Result<Info> {
        let sb = self.engine().latest()?;
        Ok(Info {
            page_size: sb.page_size,
            generation: sb.generation,
            pages_total: sb.page_count,
            pages_used: sb
                .page_count
                .saturating_sub(sb.free_pages + sb.pending_pages),
            pages_free: sb.free_pages,
            pages_pending: sb.pending_pages,
            files: sb.files,
            dirs: sb.dirs,
            label: sb.label.clone(),
        })
    }

    /// The locks other opens hold on this container (as far as the kernel
    /// shows them: regions, not process ids) and the ones this open holds;
    /// for debugging a stuck deployment.
    pub fn lock_report(&self) -> Result<LockReport> {
        self.engine().check_usable()?;
        self.engine().locks().report()
    }

    /// Sets how long operations wait for a lock before failing with `Busy`.
    pub fn set_busy_timeout(&self, t: Duration) {
        self.engine().set_busy_timeout(t)
    }

    /// Sets the durability of later commits through this open.
    pub fn set_durability(&self, d: Durability) {
        self.engine().set_durability(d)
    }

    /// Test-only (feature `fault-switches`): switches that break the commit
    /// protocol on purpose, so tests can show they catch it.
    #[cfg(feature = "fault-switches")]
    #[doc(hidden)]
    pub fn set_fault_switches(&self, f: crate::engine::FaultSwitches) {
        self.engine().set_fault_switches(f)
    }
}
