//! File storage: a container in a real file on a local Linux filesystem.
//!
//! It owns the container's descriptor, the race-free creation of a new
//! container (DESIGN §5) and the mapping of the storage trait's byte-range
//! locks onto Linux open-file-description (OFD) locks (DESIGN §4).
//!
//! Invariants it keeps:
//! - every access is positional (`pread`/`pwrite`); the descriptor's cursor is
//!   never used, so threads sharing this storage cannot disturb each other;
//! - locks are only ever OFD locks: they belong to this open, survive any
//!   unrelated `open`/`close` of the file by the host program and vanish when
//!   the last descriptor of this open closes. Where the kernel lacks them the
//!   storage says `Unsupported`; it never falls back to classic `F_SETLK`;
//! - a container path names either nothing or a complete initial image: new
//!   containers are built under a temporary name and `link()`ed into place;
//! - in a child after `fork()` the descriptor is closed by the fork handler
//!   (`storage::fork`) and never used again: every call returns `Closed`,
//!   and no lock is released.

use std::collections::hash_map::RandomState;
use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use super::mapped::{DataMap, MAP_AFTER, MAX_MAPPED_READ};
use super::{LockMode, Storage};
use crate::error::{Error, Result};
use crate::lazy::SecondUse;

/// Filesystem magic numbers (`statfs.f_type`) of network filesystems, where
/// byte-range locks and the page cache are not coherent between hosts.
const NETWORK_FS_MAGIC: &[(u32, &str)] = &[
    (0x6969, "NFS"),
    (0x517B, "SMB"),
    (0xFF53_4D42, "CIFS"),
    (0xFE53_4D42, "SMB2"),
    (0x00C3_6400, "Ceph"),
];

/// Longest prefix of the container's name kept in a temporary name, so that
/// the temporary name stays under the usual 255-byte limit.
const TEMP_NAME_PREFIX_MAX: usize = 200;

/// A container stored in a real file.
///
/// Reads, writes and lock calls take no lock of their own: the descriptor is
/// shared by all threads and every call is positional.
#[derive(Debug)]
pub struct FileStorage {
    /// The open container. `ManuallyDrop` because in a forked child the
    /// fork handler has already closed the descriptor; `Drop` closes it only
    /// in the process that opened it.
    file: ManuallyDrop<File>,
    /// The fork epoch at open: another epoch means this is a forked child.
    epoch: u64,
    /// Slot of the descriptor in the fork handler's table.
    fork_slot: Option<usize>,
    /// Whether the descriptor was opened for writing.
    writable: bool,
    /// The path given at open, for error messages.
    path: PathBuf,
    /// A read-only shared mapping of the superblock slots, made by the
    /// second read of them ([`FileStorage::header`]; the first is a
    /// `pread`); `None` inside when they cannot be mapped.
    header: SecondUse<Option<HeaderMap>>,
    /// A read-only shared mapping of the whole container for small reads
    /// ([`DataMap`]), made by the open's [`MAP_AFTER`]th read; `None`
    /// inside when the file cannot be mapped.
    data: OnceLock<Option<DataMap>>,
    /// Reads so far, until the mapping is made.
    reads: AtomicU64,
}

/// The superblock slots (the file's first [`HEADER_BYTES`]) mapped shared
/// and read-only: on one host the mapping shows every process's writes as
/// they land, so checking for a new commit is a memory read, not a
/// syscall. whefs never shrinks a container below its first page; a
/// foreign truncation of an open container below this range would fault.
#[derive(Debug)]
struct HeaderMap {
    ptr: std::ptr::NonNull<u64>,
}

/// Bytes of the file that [`HeaderMap`] covers: both superblock slots.
const HEADER_BYTES: usize = 1024;

// SAFETY: the mapping is read-only and only read with volatile loads; it
// is unmapped once, on drop.
unsafe impl Send for HeaderMap {}
// SAFETY: as above: no `&mut` access exists.
unsafe impl Sync for HeaderMap {}

impl HeaderMap {
    /// Maps the slots of `file`, or `None` (reads then use `pread`).
    fn new(file: &File) -> Option<HeaderMap> {
        if file.metadata().ok()?.len() < HEADER_BYTES as u64 {
            return None;
        }
        // SAFETY: a fresh read-only shared mapping of an open descriptor;
        // the kernel picks the address.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                HEADER_BYTES,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        // A mapping holds the open file description, and with it the OFD
        // locks: a forked child must not inherit it, or it would keep the
        // parent's locks alive (DESIGN §4 "fork").
        // SAFETY: `p` is the mapping just made, of this length.
        if unsafe { libc::madvise(p, HEADER_BYTES, libc::MADV_DONTFORK) } != 0 {
            // SAFETY: as above; the mapping is not used.
            unsafe { libc::munmap(p, HEADER_BYTES) };
            return None;
        }
        std::ptr::NonNull::new(p.cast()).map(|ptr| HeaderMap { ptr })
    }

    /// Copies the slots into `buf` (at most [`HEADER_BYTES`]). Another
    /// process may be writing them: the slots' checksums catch a torn copy.
    fn copy(&self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(HEADER_BYTES) / 8 * 8;
        for (i, chunk) in buf[..n].chunks_exact_mut(8).enumerate() {
            // SAFETY: i < HEADER_BYTES / 8, inside the live mapping; a
            // volatile load, since another process may store concurrently.
            let word = unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(i)) };
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        n
    }
}

impl Drop for HeaderMap {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with this length, unmapped only here.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), HEADER_BYTES) };
    }
}

/// What [`FileStorage::create_new`] found.
#[derive(Debug)]
pub enum CreateOutcome {
    /// This call created the container; the storage is open for writing.
    Created(FileStorage),
    /// Something already exists at the path (another process may have won
    /// the race to create it): open it with [`FileStorage::open`] instead.
    AlreadyExists,
}

impl FileStorage {
    /// Opens an existing container file, for reading and writing if `write`,
    /// otherwise through a read-only descriptor. The descriptor is
    /// close-on-exec.
    ///
    /// A missing file is [`Error::NotFound`], a refused one
    /// [`Error::Access`], a directory [`Error::IsDir`].
    pub fn open(path: &Path, write: bool) -> Result<FileStorage> {
        let file = OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| open_error(path, e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io(format!("inspecting {}", path.display()), e))?;
        if meta.is_dir() {
            return Err(Error::IsDir(path.display().to_string()));
        }
        Ok(FileStorage::from_file(file, write, path))
    }

    /// Creates a new container at `path` holding exactly `initial`, race-free
    /// against other processes doing the same (DESIGN §5).
    ///
    /// The bytes go to a temporary file in the same directory
    /// (`.<name>.whefs-tmp-<pid>-<random>`), which is synced and then
    /// `link()`ed to `path`: the path never names a partial container. If the
    /// link finds the path taken, the temporary file is removed and
    /// [`CreateOutcome::AlreadyExists`] is returned. Otherwise the temporary
    /// name is removed and the directory synced. A crash in the middle leaves
    /// at most a temporary file behind, never a partial container.
    pub fn create_new(path: &Path, initial: &[u8]) -> Result<CreateOutcome> {
        if path.symlink_metadata().is_ok() {
            return Ok(CreateOutcome::AlreadyExists);
        }
        let mut staged = NewFile::stage(path)?;
        staged.write_at(initial, 0)?;
        match staged.link_into_place()? {
            Some(file) => Ok(CreateOutcome::Created(FileStorage::from_file(
                file, true, path,
            ))),
            None => Ok(CreateOutcome::AlreadyExists),
        }
    }

    /// The path this storage was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the container lives on a network filesystem (NFS, SMB/CIFS,
    /// Ceph), where locks and caches are not coherent between hosts; the lock
    /// layer refuses concurrent mode there. FUSE filesystems are not counted:
    /// whether one is networked cannot be told from `statfs`.
    pub fn is_network_fs(&self) -> Result<bool> {
        let file = self.file()?;
        // SAFETY: `statfs` is plain old data; all-zero is a valid value.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is open (checked by `file()`) and `st` is a
        // valid, writable `statfs`.
        let rc = unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) };
        if rc != 0 {
            return Err(self.io_error("statfs", io::Error::last_os_error()));
        }
        // Magic numbers are 32-bit; `f_type`'s width varies by platform.
        let magic = st.f_type as u32;
        Ok(NETWORK_FS_MAGIC.iter().any(|&(m, _)| m == magic))
    }

    fn from_file(file: File, writable: bool, path: &Path) -> FileStorage {
        let fork_slot = super::fork::register(file.as_raw_fd());
        FileStorage {
            file: ManuallyDrop::new(file),
            epoch: super::fork::epoch(),
            fork_slot,
            writable,
            path: path.to_path_buf(),
            header: SecondUse::new(),
            data: OnceLock::new(),
            reads: AtomicU64::new(0),
        }
    }

    /// The mapping of the superblock slots, made when they are read the
    /// second time: the mapping (`mmap`, `madvise`, and `munmap` at close)
    /// pays off only for an open that checks for new commits again and
    /// again, not for a process that opens, reads one file and exits (one
    /// `pread`). `None` while not mapped or when the slots cannot be.
    fn header(&self, file: &File) -> Option<&HeaderMap> {
        self.header
            .get_or_make(|| HeaderMap::new(file))
            .and_then(Option::as_ref)
    }

    /// The mapping for small reads, made at the [`MAP_AFTER`]th read.
    fn data_map(&self, file: &File) -> Option<&DataMap> {
        if let Some(map) = self.data.get() {
            return map.as_ref();
        }
        if self.reads.fetch_add(1, Ordering::Relaxed) < MAP_AFTER {
            return None;
        }
        self.data.get_or_init(|| DataMap::new(file)).as_ref()
    }

    /// Serves a small read from the mapping; false if it cannot be.
    fn mapped_read(&self, file: &File, buf: &mut [u8], offset: u64) -> bool {
        self.data_map(file)
            .is_some_and(|map| map.copy(buf, offset, || length_now(file)))
    }

    /// The open descriptor, or `Closed` in a forked child.
    fn file(&self) -> Result<&File> {
        if self.epoch != super::fork::epoch() {
            return Err(Error::Closed(format!(
                "{} was inherited across fork()",
                self.path.display()
            )));
        }
        Ok(&self.file)
    }

    /// The open descriptor for a change to the container, or `Access` when it
    /// was opened read-only.
    fn writable_file(&self, what: &str) -> Result<&File> {
        let file = self.file()?;
        if !self.writable {
            return Err(Error::Access(format!(
                "{what}: {} is open read-only",
                self.path.display()
            )));
        }
        Ok(file)
    }

    fn io_error(&self, what: &str, err: io::Error) -> Error {
        Error::io(format!("{what} {}", self.path.display()), err)
    }

    /// One `F_OFD_SETLK`/`F_OFD_GETLK` call. Returns the kernel's answer in
    /// `fl` or the raw OS error.
    fn fcntl_lock(&self, cmd: libc::c_int, fl: &mut libc::flock) -> Result<io::Result<()>> {
        let fd = self.file()?.as_raw_fd();
        loop {
            // SAFETY: `fd` is open and `fl` is a valid, writable `flock`.
            let rc = unsafe { libc::fcntl(fd, cmd, fl as *mut libc::flock) };
            if rc != -1 {
                return Ok(Ok(()));
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Ok(Err(err));
            }
        }
    }

    /// Maps the errors every OFD lock call shares.
    fn lock_error(&self, what: &str, start: u64, len: u64, err: io::Error) -> Error {
        match err.raw_os_error() {
            // The kernel does not know the OFD commands (Linux < 3.15). Running
            // without locks, or with classic locks that any close() drops,
            // would break G1; say so instead.
            Some(libc::EINVAL) => Error::Unsupported(format!(
                "open file description locks (F_OFD_SETLK) on {}: {err}",
                self.path.display()
            )),
            Some(libc::EOVERFLOW) => Error::Range(format!(
                "lock range {start}+{len} passes the largest file offset"
            )),
            _ => self.io_error(what, err),
        }
    }
}

impl FileStorage {
    /// The plain way of `read_vectored_at`: one positional read per part.
    fn read_parts(&self, bufs: &mut [&mut [u8]], offset: u64) -> Result<usize> {
        self.read_rest(bufs, offset, 0)
    }

    /// Continues a vectored read after its first `done` bytes.
    fn read_rest(&self, bufs: &mut [&mut [u8]], offset: u64, mut done: usize) -> Result<usize> {
        let mut skip = done;
        for b in bufs.iter_mut() {
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            let part = &mut b[skip..];
            skip = 0;
            let n = self.read_at(part, offset + done as u64)?;
            done += n;
            if n < part.len() {
                break;
            }
        }
        Ok(done)
    }
}

impl Storage for FileStorage {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let file = self.file()?;
        if offset > i64::MAX as u64 {
            // Past the largest file offset: nothing is there (as in memory).
            return Ok(0);
        }
        if self.mapped_read(file, buf, offset) {
            return Ok(buf.len());
        }
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error("reading", e)),
            }
        }
        Ok(done)
    }

    fn read_superblocks(&self, buf: &mut [u8]) -> Result<usize> {
        let file = self.file()?;
        if buf.len() <= HEADER_BYTES && buf.len() % 8 == 0 {
            if let Some(map) = self.header(file) {
                return Ok(map.copy(buf));
            }
        }
        self.read_at(buf, 0)
    }

    fn read_vectored_at(&self, bufs: &mut [&mut [u8]], offset: u64) -> Result<usize> {
        let file = self.file()?;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total <= MAX_MAPPED_READ {
            if let Some(map) = self.data_map(file) {
                // The whole span first, so that no part is copied from a
                // mapping that cannot serve the rest.
                if map.covers(offset, total, || length_now(file)) {
                    let mut at = offset;
                    let mut whole = true;
                    for b in bufs.iter_mut() {
                        // Fails only if a compaction of this open lowered
                        // the bound meanwhile: then the kernel decides.
                        whole &= map.copy(b, at, || None);
                        at += b.len() as u64;
                    }
                    if whole {
                        return Ok(total);
                    }
                }
            }
        }
        const MAX_PARTS: usize = 8;
        if bufs.len() > MAX_PARTS
            || offset
                .checked_add(total as u64)
                .is_none_or(|e| e > i64::MAX as u64)
        {
            return self.read_parts(bufs, offset);
        }
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_PARTS];
        for (v, b) in iov.iter_mut().zip(bufs.iter_mut()) {
            v.iov_base = b.as_mut_ptr().cast();
            v.iov_len = b.len();
        }
        let iov = &iov[..bufs.len()];
        loop {
            // SAFETY: each iovec points into a live, exclusively borrowed
            // buffer of its length; the descriptor is open.
            let n = unsafe {
                libc::preadv(
                    file.as_raw_fd(),
                    iov.as_ptr(),
                    iov.len() as libc::c_int,
                    offset as libc::off_t,
                )
            };
            if n >= 0 {
                let n = n as usize;
                if n == total {
                    return Ok(n);
                }
                // Short: finish part by part from where it stopped.
                return self.read_rest(bufs, offset, n);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(self.io_error("reading", e));
            }
        }
    }

    fn write_vectored_at(&self, bufs: &[&[u8]], offset: u64) -> Result<()> {
        const MAX_PARTS: usize = 64;
        if bufs.len() > MAX_PARTS {
            // One call per 64 parts (a transaction's commit writes thousands
            // of consecutive data pages), not one per part.
            let mut at = offset;
            for chunk in bufs.chunks(MAX_PARTS) {
                self.write_vectored_at(chunk, at)?;
                at += chunk.iter().map(|b| b.len() as u64).sum::<u64>();
            }
            return Ok(());
        }
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if bufs.len() < 2 {
            let mut at = offset;
            for b in bufs {
                self.write_at(b, at)?;
                at += b.len() as u64;
            }
            return Ok(());
        }
        let file = self.writable_file("writing")?;
        if offset
            .checked_add(total as u64)
            .is_none_or(|end| end > i64::MAX as u64)
        {
            return Err(Error::Full(format!(
                "writing {total} bytes at {offset} passes the largest file offset"
            )));
        }
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_PARTS];
        for (v, b) in iov.iter_mut().zip(bufs) {
            v.iov_base = b.as_ptr() as *mut libc::c_void;
            v.iov_len = b.len();
        }
        let mut done = 0usize;
        while done < total {
            // Skip what is written; the first part may be cut.
            let mut skip = done;
            let mut first = 0;
            while skip >= iov[first].iov_len {
                skip -= iov[first].iov_len;
                first += 1;
            }
            let mut part = iov;
            // SAFETY: `skip` < the part's length, so the pointer stays in it.
            part[first].iov_base = unsafe { part[first].iov_base.cast::<u8>().add(skip) }.cast();
            part[first].iov_len -= skip;
            // SAFETY: every iovec points into a live buffer of its length
            // (`bufs` outlives the call); the descriptor is open.
            let n = unsafe {
                libc::pwritev(
                    file.as_raw_fd(),
                    part[first..bufs.len()].as_ptr(),
                    (bufs.len() - first) as libc::c_int,
                    (offset + done as u64) as libc::off_t,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(self.io_error("writing", e));
            }
            if n == 0 {
                return Err(self.io_error("writing", io::Error::from(io::ErrorKind::WriteZero)));
            }
            done += n as usize;
        }
        Ok(())
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        let file = self.writable_file("writing")?;
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > i64::MAX as u64)
        {
            return Err(Error::Full(format!(
                "writing {} bytes at {offset} passes the largest file offset",
                buf.len()
            )));
        }
        write_all_at(file, buf, offset).map_err(|e| self.io_error("writing", e))
    }

    fn sync(&self) -> Result<()> {
        // Not retried on failure: after a failed fdatasync the kernel may have
        // dropped the dirty pages, and a second call would report success for
        // data that never reached the disk. The caller poisons instead.
        self.file()?
            .sync_data()
            .map_err(|e| self.io_error("syncing", e))
    }

    fn start_writeback(&self, offset: u64, len: u64) {
        #[cfg(target_os = "linux")]
        if let (Ok(file), Ok(offset), Ok(len)) =
            (self.file(), i64::try_from(offset), i64::try_from(len))
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a plain syscall on an open descriptor. WRITE alone
            // neither waits nor consumes a write-back error (only
            // SYNC_FILE_RANGE_WAIT_AFTER checks the file's error sequence),
            // so the commit's fdatasync still reports one.
            unsafe {
                libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (offset, len);
    }

    fn len(&self) -> Result<u64> {
        Ok(self
            .file()?
            .metadata()
            .map_err(|e| self.io_error("inspecting", e))?
            .len())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let file = self.writable_file("resizing")?;
        if let Some(Some(map)) = self.data.get() {
            map.shrink(len);
        }
        file.set_len(len).map_err(|e| self.io_error("resizing", e))
    }

    fn read_only(&self) -> bool {
        !self.writable
    }

    fn try_lock(&self, start: u64, len: u64, mode: LockMode) -> Result<bool> {
        if mode == LockMode::Exclusive && !self.writable {
            // The kernel would say EBADF: write locks need a writable open.
            self.file()?;
            return Err(Error::Access(format!(
                "exclusive lock: {} is open read-only",
                self.path.display()
            )));
        }
        let mut fl = lock_request(lock_type(mode), start, len)?;
        match self.fcntl_lock(libc::F_OFD_SETLK, &mut fl)? {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => Ok(false),
            Err(e) => Err(self.lock_error("locking", start, len, e)),
        }
    }

    fn unlock(&self, start: u64, len: u64) -> Result<()> {
        let mut fl = lock_request(libc::F_UNLCK as libc::c_short, start, len)?;
        self.fcntl_lock(libc::F_OFD_SETLK, &mut fl)?
            .map_err(|e| self.lock_error("unlocking", start, len, e))
    }

    fn probe_lock(&self, start: u64, len: u64, mode: LockMode) -> Result<Option<(u64, u64)>> {
        let mut fl = lock_request(lock_type(mode), start, len)?;
        self.fcntl_lock(libc::F_OFD_GETLK, &mut fl)?
            .map_err(|e| self.lock_error("probing locks of", start, len, e))?;
        if fl.l_type == libc::F_UNLCK as libc::c_short {
            return Ok(None);
        }
        // The kernel reports offsets it accepted from us, so they are >= 0.
        Ok(Some((fl.l_start as u64, fl.l_len as u64)))
    }

    fn shared_locks(&self) -> bool {
        true
    }

    fn parallel_reads(&self) -> bool {
        true
    }

    fn background_sync(&self) -> bool {
        true
    }
}

impl Drop for FileStorage {
    fn drop(&mut self) {
        if self.epoch == super::fork::epoch() {
            if let Some(slot) = self.fork_slot {
                super::fork::unregister(slot);
            }
            // SAFETY: this process opened the descriptor and nothing closed
            // it; `self.file` is not used after this.
            unsafe { ManuallyDrop::drop(&mut self.file) }
        } else {
            // A forked child did not inherit the mappings (`MADV_DONTFORK`):
            // their addresses may hold the child's own memory by now, which
            // unmapping them would take away.
            std::mem::forget(self.data.take());
            std::mem::forget(self.header.take());
        }
    }
}

/// The file's length now, for a mapping asked about bytes past the length
/// it last saw; `None` if it cannot be had (the read then uses `pread`).
fn length_now(file: &File) -> Option<u64> {
    file.metadata().ok().map(|m| m.len())
}

fn lock_type(mode: LockMode) -> libc::c_short {
    match mode {
        LockMode::Shared => libc::F_RDLCK as libc::c_short,
        LockMode::Exclusive => libc::F_WRLCK as libc::c_short,
    }
}

/// A `flock` for `[start, start + len)`; `len == 0` means "to the end of all
/// offsets", as in `fcntl`. `l_pid` is 0, as OFD commands require.
fn lock_request(l_type: libc::c_short, start: u64, len: u64) -> Result<libc::flock> {
    let (Ok(l_start), Ok(l_len)) = (libc::off_t::try_from(start), libc::off_t::try_from(len))
    else {
        return Err(Error::Range(format!(
            "lock range {start}+{len} passes the largest file offset"
        )));
    };
    // SAFETY: `flock` is plain old data; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = l_type;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = l_start;
    fl.l_len = l_len;
    fl.l_pid = 0;
    Ok(fl)
}

/// `pwrite` until all of `buf` is written, retrying interrupted and short
/// writes.
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match file.write_at(&buf[done..], offset + done as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn open_error(path: &Path, err: io::Error) -> Error {
    let what = path.display().to_string();
    match err.raw_os_error() {
        Some(libc::ENOENT) => Error::NotFound(what),
        Some(libc::EACCES | libc::EPERM | libc::EROFS) => Error::Access(format!("{what}: {err}")),
        Some(libc::EISDIR) => Error::IsDir(what),
        _ => Error::io(format!("opening {what}"), err),
    }
}

/// A new file being written under a temporary name beside its final path,
/// which it takes only whole and synced ([`NewFile::link_into_place`]): the
/// path never names a partial file, and a crash leaves at most the
/// temporary file. Dropped before that, the temporary file is removed.
pub struct NewFile {
    path: PathBuf,
    dir: PathBuf,
    temp: TempFile,
    file: File,
}

impl NewFile {
    /// Starts `.<name>.whefs-tmp-<pid>-<random>` in `path`'s directory.
    pub fn stage(path: &Path) -> Result<NewFile> {
        let Some(name) = path.file_name() else {
            return Err(Error::Arg(format!(
                "{} does not name a file",
                path.display()
            )));
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let (temp, file) = create_temp(dir, name)?;
        Ok(NewFile {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            temp,
            file,
        })
    }

    /// Writes `buf` at `offset` of the temporary file.
    pub fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<()> {
        write_all_at(&self.file, buf, offset)
            .map_err(|e| Error::io(format!("writing {}", self.temp.path.display()), e))
    }

    /// Syncs the file, links it to its path and syncs the directory. `None`
    /// (and nothing changed) if the path exists by then.
    pub fn link_into_place(self) -> Result<Option<File>> {
        self.file
            .sync_all()
            .map_err(|e| Error::io(format!("syncing {}", self.temp.path.display()), e))?;
        match std::fs::hard_link(&self.temp.path, &self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
            Err(e) => {
                return Err(Error::io(
                    format!("linking {} into place", self.path.display()),
                    e,
                ));
            }
        }
        self.temp.remove()?;
        sync_dir(&self.dir)?;
        Ok(Some(self.file))
    }
}

/// A temporary file that is removed when dropped, unless [`TempFile::remove`]
/// already removed it.
struct TempFile {
    path: PathBuf,
    removed: bool,
}

impl TempFile {
    /// Removes the temporary name, reporting failure.
    fn remove(mut self) -> Result<()> {
        self.removed = true;
        std::fs::remove_file(&self.path)
            .map_err(|e| Error::io(format!("removing {}", self.path.display()), e))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.removed {
            // Best effort on an error path; the original error is reported.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates `.<name>.whefs-tmp-<pid>-<random>` in `dir` (exclusively,
/// close-on-exec, read-write).
fn create_temp(dir: &Path, name: &OsStr) -> Result<(TempFile, File)> {
    let prefix = &name.as_bytes()[..name.len().min(TEMP_NAME_PREFIX_MAX)];
    let mut attempts = 0;
    loop {
        let mut temp_name = OsString::from(".");
        temp_name.push(OsStr::from_bytes(prefix));
        temp_name.push(format!(
            ".whefs-tmp-{}-{:016x}",
            std::process::id(),
            random_u64()
        ));
        let path = dir.join(temp_name);
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(file) => {
                return Ok((
                    TempFile {
                        path,
                        removed: false,
                    },
                    file,
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => attempts += 1,
            Err(e) => return Err(open_error(&path, e)),
        }
    }
}

/// 64 unpredictable bits without a dependency: `RandomState` is seeded from
/// the OS; the counter and clock make successive values differ.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}

/// Makes a new directory entry in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    let d = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| Error::io(format!("opening directory {}", dir.display()), e))?;
    d.sync_all()
        .map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    const B: u64 = 1 << 62;

    fn created(path: &Path, initial: &[u8]) -> FileStorage {
        match FileStorage::create_new(path, initial).expect("create") {
            CreateOutcome::Created(s) => s,
            CreateOutcome::AlreadyExists => panic!("{} already exists", path.display()),
        }
    }

    #[test]
    fn file_storage_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.whefs");
        let s = created(&path, b"hello");
        assert_eq!(s.len().unwrap(), 5);
        s.write_at(b"world", 8192).unwrap();
        s.sync().unwrap();
        assert_eq!(s.len().unwrap(), 8197);

        let mut buf = [0xFFu8; 16];
        assert_eq!(s.read_at(&mut buf, 0).unwrap(), 16);
        assert_eq!(&buf[..5], b"hello");
        assert!(buf[5..].iter().all(|&b| b == 0), "the hole reads as zeros");
        // Short only at the end of the container.
        assert_eq!(s.read_at(&mut buf, 8192).unwrap(), 5);
        assert_eq!(&buf[..5], b"world");
        assert_eq!(s.read_at(&mut buf, 1 << 40).unwrap(), 0);
        assert_eq!(s.read_at(&mut buf, u64::MAX).unwrap(), 0);
        let err = s.write_at(b"x", u64::MAX - 1).unwrap_err();
        assert!(matches!(err, Error::Full(_)), "{err}");

        s.set_len(3).unwrap();
        assert_eq!(s.len().unwrap(), 3);
        drop(s);

        let r = FileStorage::open(&path, false).unwrap();
        assert!(r.read_only());
        assert_eq!(r.read_at(&mut buf, 0).unwrap(), 3);
        assert_eq!(&buf[..3], b"hel");
        assert!(!r.is_network_fs().unwrap());
    }

    /// Vectored writes of 1, 2, 64, 65 and 300 parts of uneven sizes land
    /// where plain writes would (past 64 parts they go in several calls).
    #[test]
    fn vectored_writes_of_any_number_of_parts_land_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = created(&dir.path().join("v.whefs"), b"");
        let mut model = Vec::new();
        let mut at = 0u64;
        for n in [1usize, 2, 64, 65, 300] {
            let parts: Vec<Vec<u8>> = (0..n)
                .map(|i| vec![(i * 7 + n) as u8; 1 + (i * 37) % 700])
                .collect();
            let refs: Vec<&[u8]> = parts.iter().map(|p| &p[..]).collect();
            s.write_vectored_at(&refs, at).unwrap();
            for p in &parts {
                model.extend_from_slice(p);
            }
            at = model.len() as u64;
        }
        let mut back = vec![0u8; model.len()];
        assert_eq!(s.read_at(&mut back, 0).unwrap(), model.len());
        assert!(back == model);
    }

    #[test]
    fn open_reports_missing_file_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = FileStorage::open(&dir.path().join("none"), true).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err}");
        let err = FileStorage::open(dir.path(), false).unwrap_err();
        assert!(matches!(err, Error::IsDir(_)), "{err}");
    }

    #[test]
    fn ofd_locks_conflict_between_two_opens_in_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.whefs");
        let a = created(&path, b"x");
        let b = FileStorage::open(&path, true).unwrap();

        assert!(a.try_lock(B + 1, 1, LockMode::Exclusive).unwrap());
        assert!(!b.try_lock(B + 1, 1, LockMode::Exclusive).unwrap());
        assert!(!b.try_lock(B + 1, 1, LockMode::Shared).unwrap());
        // An unrelated open + close in this process does not drop a's lock.
        drop(FileStorage::open(&path, false).unwrap());
        assert!(!b.try_lock(B + 1, 1, LockMode::Exclusive).unwrap());
        a.unlock(B + 1, 1).unwrap();
        assert!(b.try_lock(B + 1, 1, LockMode::Exclusive).unwrap());

        // Shared locks share.
        assert!(a.try_lock(B, 1, LockMode::Shared).unwrap());
        assert!(b.try_lock(B, 1, LockMode::Shared).unwrap());
        assert!(!a.try_lock(B, 1, LockMode::Exclusive).unwrap());
        // Dropping an open releases its locks.
        drop(b);
        assert!(a.try_lock(B + 1, 1, LockMode::Exclusive).unwrap());
        assert!(a.try_lock(B, 1, LockMode::Exclusive).unwrap());
    }

    #[test]
    fn probe_reports_the_other_opens_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.whefs");
        let a = created(&path, b"x");
        let b = FileStorage::open(&path, false).unwrap();
        let pin = B + (1 << 58);

        assert!(b.try_lock(pin + 7, 1, LockMode::Shared).unwrap());
        assert!(b.try_lock(pin + 3, 1, LockMode::Shared).unwrap());
        // The lowest-starting conflicting lock of the other open.
        assert_eq!(
            a.probe_lock(pin, 100, LockMode::Exclusive).unwrap(),
            Some((pin + 3, 1))
        );
        // Shared locks do not conflict with a shared probe.
        assert_eq!(a.probe_lock(pin, 100, LockMode::Shared).unwrap(), None);
        // Never the caller's own locks.
        assert_eq!(b.probe_lock(pin, 100, LockMode::Exclusive).unwrap(), None);
        b.unlock(pin + 3, 1).unwrap();
        assert_eq!(
            a.probe_lock(pin, 100, LockMode::Exclusive).unwrap(),
            Some((pin + 7, 1))
        );
    }

    #[test]
    fn lock_range_past_the_largest_offset_is_range() {
        let dir = tempfile::tempdir().unwrap();
        let a = created(&dir.path().join("c.whefs"), b"");
        let err = a.try_lock(1 << 63, 1, LockMode::Shared).unwrap_err();
        assert!(matches!(err, Error::Range(_)), "{err}");
        let err = a
            .try_lock(i64::MAX as u64, 2, LockMode::Shared)
            .unwrap_err();
        assert!(matches!(err, Error::Range(_)), "{err}");
    }

    #[test]
    fn read_only_open_rejects_writes_with_access() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.whefs");
        drop(created(&path, b"data"));
        let r = FileStorage::open(&path, false).unwrap();
        for err in [
            r.write_at(b"x", 0).unwrap_err(),
            r.set_len(0).unwrap_err(),
            r.try_lock(B, 1, LockMode::Exclusive).unwrap_err(),
        ] {
            assert!(matches!(err, Error::Access(_)), "{err}");
        }
        // Shared locks and probes work on a read-only open.
        assert!(r.try_lock(B, 1, LockMode::Shared).unwrap());
        assert_eq!(r.probe_lock(B, 1, LockMode::Exclusive).unwrap(), None);
        let mut buf = [0u8; 4];
        assert_eq!(r.read_at(&mut buf, 0).unwrap(), 4);
        assert_eq!(&buf, b"data");
    }

    #[test]
    fn create_new_race_has_exactly_one_winner_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join("c.whefs"));
        let threads = 6;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let initial = vec![i as u8; 4096];
                    barrier.wait();
                    match FileStorage::create_new(&path, &initial).unwrap() {
                        CreateOutcome::Created(_) => Some(i as u8),
                        CreateOutcome::AlreadyExists => None,
                    }
                })
            })
            .collect();
        let winners: Vec<u8> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(winners.len(), 1, "exactly one creator: {winners:?}");

        let bytes = std::fs::read(&*path).unwrap();
        assert_eq!(bytes, vec![winners[0]; 4096], "the winner's complete image");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("c.whefs")]);
    }

    #[test]
    fn a_forked_child_that_drops_the_storage_leaves_its_own_memory_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.whefs");
        let a = created(&path, &[7u8; 8192]);
        let mut buf = [0u8; 16];
        for _ in 0..=MAP_AFTER {
            a.read_at(&mut buf, 4096).unwrap();
        }
        a.read_superblocks(&mut [0u8; 1024]).unwrap();
        a.read_superblocks(&mut [0u8; 1024]).unwrap();
        let at = a
            .data
            .get()
            .and_then(Option::as_ref)
            .expect("mapped")
            .start();
        // SAFETY: the child maps memory where the parent's mapping is (it
        // is not inherited), drops the storage, and touches that memory:
        // an unmap in the drop would kill it. Raw calls only, then _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let p = unsafe {
                libc::mmap(
                    at.cast(),
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                )
            };
            if p != at.cast() {
                unsafe { libc::_exit(2) };
            }
            unsafe { p.cast::<u8>().write_volatile(1) };
            drop(a);
            let seen = unsafe { p.cast::<u8>().read_volatile() };
            unsafe { libc::_exit(if seen == 1 { 0 } else { 3 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child status {status:#x}"
        );
        assert_eq!(a.read_at(&mut buf, 4096).unwrap(), 16);
        assert_eq!(buf, [7u8; 16]);
    }

    #[test]
    fn forked_child_closes_the_descriptor_without_unlocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.whefs");
        let a = created(&path, b"x");
        let other = FileStorage::open(&path, true).unwrap();
        assert!(a.try_lock(B + 1, 1, LockMode::Exclusive).unwrap());
        let fd = a.file.as_raw_fd();
        // SAFETY: the child only makes raw system calls and reads atomics
        // (no allocation), then leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1;
            let code = if closed && a.file().is_err() { 0 } else { 1 };
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child saw an open descriptor"
        );
        // The parent's lock survived the child's close and exit.
        assert!(!other.try_lock(B + 1, 1, LockMode::Exclusive).unwrap());
        drop(a);
        assert!(other.try_lock(B + 1, 1, LockMode::Exclusive).unwrap());
    }
}
