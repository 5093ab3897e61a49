//! The filesystem API: [`Fs`], a cheap-to-clone handle on one open container.
//! Every namespace operation here is one atomic commit.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::dir::ReadDir;
use crate::error::Result;
use crate::file::File;
use crate::storage::Storage;

/// How hard a commit works to survive power loss (DESIGN §5 step 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Sync before and after writing the superblock: an acknowledged commit
    /// survives power loss. The default.
    #[default]
    Full,
    /// Skip the last sync: a crash may lose the latest commits, never
    /// corrupts the container.
    Normal,
    /// No syncs: safe against process crashes, not against power loss.
    Off,
}

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

/// What [`Fs::check`] looked at. A check that finds a problem returns
/// [`crate::Error::Corrupt`] instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Generation checked.
    pub generation: u64,
    /// Tree pages visited and verified.
    pub tree_pages: u64,
    /// Data pages verified.
    pub data_pages: u64,
    /// Files found.
    pub files: u64,
    /// Directories found.
    pub dirs: u64,
    /// Free pages.
    pub free_pages: u64,
    /// Pending-free pages.
    pub pending_pages: u64,
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
    /// Opens the container file at `path` (`":memory:"` opens a new one in RAM).
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Fs> {
        todo!("{:?}", path.as_ref())
    }
    /// Opens a container on any storage (memory, fault-injecting, ...).
    pub fn open_storage(&self, storage: Arc<dyn Storage>) -> Result<Fs> {
        let _ = storage;
        todo!()
    }
}

/// An open container. Cloning is cheap; clones share one open, and every
/// clone may be used from any thread.
#[derive(Clone)]
pub struct Fs {
    pub(crate) inner: Arc<()>,
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
        let _ = bytes;
        todo!()
    }
    /// Writes a whole file (created or replaced) in one commit.
    pub fn write(&self, path: &str, data: &[u8]) -> Result<()> {
        let _ = (path, data);
        todo!()
    }
    /// Reads a whole file.
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        let _ = path;
        todo!()
    }
    /// Opens a pseudofile with an `fopen`-style mode (`"r"`, `"w+"`, `"a"`, `"c+"`, `"x"`, ...).
    pub fn open_file(&self, path: &str, mode: &str) -> Result<File> {
        let _ = (path, mode);
        todo!()
    }
    /// Creates a directory; its parent must exist.
    pub fn create_dir(&self, path: &str) -> Result<()> {
        let _ = path;
        todo!()
    }
    /// Creates a directory and any missing parents.
    pub fn create_dir_all(&self, path: &str) -> Result<()> {
        let _ = path;
        todo!()
    }
    /// Lists a directory as of now; the listing keeps that snapshot.
    pub fn read_dir(&self, path: &str) -> Result<ReadDir> {
        let _ = path;
        todo!()
    }
    /// `stat` of a path in the latest commit.
    pub fn metadata(&self, path: &str) -> Result<Metadata> {
        let _ = path;
        todo!()
    }
    /// Whether a path exists.
    pub fn exists(&self, path: &str) -> Result<bool> {
        let _ = path;
        todo!()
    }
    /// Removes a file.
    pub fn remove_file(&self, path: &str) -> Result<()> {
        let _ = path;
        todo!()
    }
    /// Removes an empty directory.
    pub fn remove_dir(&self, path: &str) -> Result<()> {
        let _ = path;
        todo!()
    }
    /// Renames atomically, replacing a file (not a directory) at `to`.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        let _ = (from, to);
        todo!()
    }
    /// Walks the whole container, verifies every checksum and the
    /// allocator's accounting (fsck).
    pub fn check(&self) -> Result<CheckReport> {
        todo!()
    }
    /// Container-wide figures.
    pub fn info(&self) -> Result<Info> {
        todo!()
    }
    /// Sets how long operations wait for a lock before failing with `Busy`.
    pub fn set_busy_timeout(&self, t: Duration) {
        let _ = t;
        todo!()
    }
    /// Sets the durability of later commits through this open.
    pub fn set_durability(&self, d: Durability) {
        let _ = d;
        todo!()
    }
}
