//! `whefs_fs`: an open container, and the calls that work on its namespace
//! (stat, mkdir, unlink, rename, whole-file read and write).
//!
//! Invariant: a `whefs_fs` owns one [`Fs`] clone and nothing else, so every
//! call is as thread-safe as `Fs` (which is `Send + Sync`): calls on one
//! handle from many threads run in parallel, with no lock added here.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::sync::Arc;
use std::time::Duration;

use super::boundary::{
    self, bytes_in, bytes_out, handle, os_path_arg, out_param, put, put_c_string, str_arg,
};
use crate::engine::Durability;
use crate::error::{Error, Result};
use crate::fs::{FileType, Fs, FsOptions, Metadata};
use crate::storage::MemoryStorage;

/// Open for reading only.
pub const WHEFS_OPEN_READONLY: c_uint = 0x01;
/// Open for reading and writing.
pub const WHEFS_OPEN_READWRITE: c_uint = 0x02;
/// Create the container if it is missing (together with `WHEFS_OPEN_READWRITE`).
pub const WHEFS_OPEN_CREATE: c_uint = 0x04;
/// The 2009 library's mode: a read-write open excludes every other open of
/// the container; a read-only open with it shares like any reader.
pub const WHEFS_OPEN_CONTAINER_LOCK: c_uint = 0x08;

/// Every commit survives power loss (the default).
pub const WHEFS_DURABLE_FULL: c_int = 0;
/// A crash may lose the latest commits, never corrupts the container.
pub const WHEFS_DURABLE_NORMAL: c_int = 1;
/// No syncs: safe against process crashes, not against power loss.
pub const WHEFS_DURABLE_OFF: c_int = 2;

/// `whefs_stat_t.kind` / `whefs_dirent.kind` of a pseudofile.
pub const WHEFS_KIND_FILE: u32 = 1;
/// `whefs_stat_t.kind` / `whefs_dirent.kind` of a directory.
pub const WHEFS_KIND_DIR: u32 = 2;
/// `whefs_statx_t.kind` / `whefs_dirent.kind` of a symbolic link (`whefs_stat()`
/// follows links, so it never reports one).
pub const WHEFS_KIND_SYMLINK: u32 = 3;

/// The busy timeout of a new handle, in milliseconds.
pub const WHEFS_DEFAULT_BUSY_TIMEOUT_MS: u32 = 5000;

/// An open container. Create with `whefs_fs_open()`, free with
/// `whefs_fs_close()`. Any thread may use it; calls run in parallel.
pub struct whefs_fs {
    pub(crate) fs: Fs,
}

/// What `whefs_stat()` and `whefs_file_stat()` report.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct whefs_stat_t {
    /// `WHEFS_KIND_FILE` or `WHEFS_KIND_DIR`.
    pub kind: u32,
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

/// Container-wide figures, from `whefs_fs_info()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct whefs_info {
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
    /// Number of pseudofiles.
    pub files: u64,
    /// Number of directories, the root included.
    pub dirs: u64,
    /// Pages freed by recent commits, reusable once no reader needs them.
    pub pages_pending: u64,
}

/// `whefs_info` and the figures of named snapshots, from
/// `whefs_fs_info_v2()`. A struct of its own because `whefs_info` is part
/// of the ABI as it is: its first eight fields are `whefs_info`'s, in the
/// same order.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct whefs_info_v2 {
    /// Page size in bytes.
    pub page_size: u32,
    /// Generation of the latest commit (of a view: of its snapshot).
    pub generation: u64,
    /// Pages in the container, page 0 (the superblocks) included.
    pub pages_total: u64,
    /// Pages holding live data or metadata (not those only snapshots hold).
    pub pages_used: u64,
    /// Pages free for reuse now.
    pub pages_free: u64,
    /// Number of pseudofiles (of a view: in its snapshot).
    pub files: u64,
    /// Number of directories, the root included (of a view: in its snapshot).
    pub dirs: u64,
    /// Pages freed by recent commits, reusable once no reader needs them.
    pub pages_pending: u64,
    /// Number of named snapshots.
    pub snapshots: u64,
    /// Pages that only snapshots reference.
    pub pages_snapshot: u64,
    /// Pages that compaction could give back at most: the free and pending ones.
    pub pages_reclaimable: u64,
}

pub(crate) fn kind_code(kind: FileType) -> u32 {
    match kind {
        FileType::File => WHEFS_KIND_FILE,
        FileType::Dir => WHEFS_KIND_DIR,
        FileType::Symlink => WHEFS_KIND_SYMLINK,
    }
}

impl From<&Metadata> for whefs_stat_t {
    fn from(m: &Metadata) -> Self {
        whefs_stat_t {
            kind: kind_code(m.kind),
            mode: m.mode,
            ino: m.ino,
            size: m.size,
            mtime_ns: m.mtime_ns,
            ctime_ns: m.ctime_ns,
        }
    }
}

/// Turns `WHEFS_OPEN_*` flags into options. Exactly one of READONLY and
/// READWRITE; CREATE only with READWRITE; no unknown bits.
fn options_from_flags(flags: c_uint) -> Result<FsOptions> {
    let known =
        WHEFS_OPEN_READONLY | WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE | WHEFS_OPEN_CONTAINER_LOCK;
    if flags & !known != 0 {
        return Err(Error::Arg(format!(
            "unknown open flags 0x{:x}",
            flags & !known
        )));
    }
    let read_only = flags & WHEFS_OPEN_READONLY != 0;
    let read_write = flags & WHEFS_OPEN_READWRITE != 0;
    let create = flags & WHEFS_OPEN_CREATE != 0;
    if read_only == read_write {
        return Err(Error::Arg(
            "open flags need exactly one of WHEFS_OPEN_READONLY and WHEFS_OPEN_READWRITE".into(),
        ));
    }
    if create && !read_write {
        return Err(Error::Arg(
            "WHEFS_OPEN_CREATE needs WHEFS_OPEN_READWRITE".into(),
        ));
    }
    let mut options = FsOptions::new();
    options
        .write(read_write)
        .create(create)
        .container_lock(flags & WHEFS_OPEN_CONTAINER_LOCK != 0);
    Ok(options)
}

fn durability_from(mode: c_int) -> Result<Durability> {
    match mode {
        WHEFS_DURABLE_FULL => Ok(Durability::Full),
        WHEFS_DURABLE_NORMAL => Ok(Durability::Normal),
        WHEFS_DURABLE_OFF => Ok(Durability::Off),
        other => Err(Error::Arg(format!(
            "unknown durability mode {other} (expected WHEFS_DURABLE_FULL, _NORMAL or _OFF)"
        ))),
    }
}

pub(crate) fn new_handle(fs: Fs) -> *mut whefs_fs {
    Box::into_raw(Box::new(whefs_fs { fs }))
}

/// Opens the container file at `path` (a host path; ":memory:" makes a new,
/// empty container in RAM, which needs `WHEFS_OPEN_READWRITE`).
///
/// `flags`: exactly one of `WHEFS_OPEN_READONLY` and `WHEFS_OPEN_READWRITE`,
/// optionally `WHEFS_OPEN_CREATE` (with READWRITE) and
/// `WHEFS_OPEN_CONTAINER_LOCK`. The busy timeout is 5000 ms, also while
/// opening. On success `*out` is the new handle; free it with
/// `whefs_fs_close()`.
///
/// Errors: `WHEFS_ERR_ARG` (NULL, bad flags), `WHEFS_ERR_NOT_FOUND` (missing
/// and no CREATE), `WHEFS_ERR_BAD_MAGIC`, `WHEFS_ERR_BUSY`, `WHEFS_ERR_IO`, ...
///
/// # Safety
/// `path` is a NUL-terminated string; `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_open(
    path: *const c_char,
    flags: c_uint,
    out: *mut *mut whefs_fs,
) -> c_int {
    boundary::status(|| {
        let out = out_param(out, "out")?;
        // SAFETY: per this function's contract.
        let path = unsafe { os_path_arg(path, "path") }?;
        let fs = options_from_flags(flags)?.open(path)?;
        // SAFETY: `out` was checked and is writable per the contract.
        unsafe { put(out, new_handle(fs)) };
        Ok(())
    })
}

/// `whefs_fs_open()` with more settings: the busy timeout used while
/// opening and afterwards (`WHEFS_DEFAULT_BUSY_TIMEOUT_MS` is the default),
/// and, for a container that this call creates, its page size (a power of
/// two from 4096 to 65536; 0 = default 4096) and its label (at most 64
/// bytes of UTF-8; NULL = none). Page size and label are ignored when the
/// container already exists.
///
/// # Safety
/// `path` is a NUL-terminated string; `label` is NULL or one; `out` points
/// to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_open_ex(
    path: *const c_char,
    flags: c_uint,
    busy_timeout_ms: u32,
    page_size: u32,
    label: *const c_char,
    out: *mut *mut whefs_fs,
) -> c_int {
    boundary::status(|| {
        let out = out_param(out, "out")?;
        // SAFETY: per this function's contract.
        let path = unsafe { os_path_arg(path, "path") }?;
        let mut options = options_from_flags(flags)?;
        options.busy_timeout(Duration::from_millis(busy_timeout_ms.into()));
        if page_size != 0 {
            options.page_size(page_size);
        }
        if !label.is_null() {
            // SAFETY: non-NULL label is a NUL-terminated string per the contract.
            options.label(unsafe { str_arg(label, "label") }?);
        }
        let fs = options.open(path)?;
        // SAFETY: `out` was checked and is writable per the contract.
        unsafe { put(out, new_handle(fs)) };
        Ok(())
    })
}

/// Opens a container image held in memory, read-only. The bytes are
/// borrowed, not copied: they must stay alive and unchanged until the
/// handle and every file, directory and snapshot view handle opened from
/// it are closed.
///
/// # Safety
/// `data` points to `len` readable bytes that outlive the handle (see
/// above); `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_open_image(
    data: *const c_void,
    len: usize,
    out: *mut *mut whefs_fs,
) -> c_int {
    boundary::status(|| {
        let out = out_param(out, "out")?;
        if data.is_null() {
            return Err(Error::Arg("data is NULL".into()));
        }
        // SAFETY: `len` readable bytes at `data` per the contract.
        let bytes = unsafe { bytes_in(data, len, "data") }?;
        // SAFETY: the caller keeps the bytes alive for the handle's life,
        // which is the documented contract of this function.
        let storage = unsafe { MemoryStorage::borrowed(bytes) };
        let fs = FsOptions::new().open_storage(Arc::new(storage))?;
        // SAFETY: `out` was checked and is writable per the contract.
        unsafe { put(out, new_handle(fs)) };
        Ok(())
    })
}

/// Closes a container handle. NULL is allowed (does nothing). Close every
/// file and directory handle opened from it, and end every transaction
/// begun on it, first; using `fs` afterwards is undefined behaviour.
///
/// # Safety
/// `fs` is NULL or a handle from `whefs_fs_open*()` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_close(fs: *mut whefs_fs) -> c_int {
    boundary::status(|| {
        if !fs.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, closed once.
            drop(unsafe { Box::from_raw(fs) });
        }
        Ok(())
    })
}

/// Sets how long later calls wait for a lock before failing with
/// `WHEFS_ERR_BUSY` (default 5000 ms; 0 = fail at once).
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_set_busy_timeout(fs: *mut whefs_fs, ms: u32) -> c_int {
    boundary::status(|| {
        // SAFETY: NULL or live per the contract.
        let fs = unsafe { handle(fs, "fs") }?;
        fs.fs.set_busy_timeout(Duration::from_millis(ms.into()));
        Ok(())
    })
}

/// Sets the durability of later commits through this handle:
/// `WHEFS_DURABLE_FULL` (default), `WHEFS_DURABLE_NORMAL` or
/// `WHEFS_DURABLE_OFF`; anything else is `WHEFS_ERR_ARG`.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_set_durability(fs: *mut whefs_fs, mode: c_int) -> c_int {
    boundary::status(|| {
        // SAFETY: NULL or live per the contract.
        let fs = unsafe { handle(fs, "fs") }?;
        fs.fs.set_durability(durability_from(mode)?);
        Ok(())
    })
}

/// Checks the whole container (fsck): every checksum, the tree and the
/// allocator's accounting. `WHEFS_OK`, or `WHEFS_ERR_CORRUPT` with the
/// finding in `whefs_errmsg()`.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_check(fs: *mut whefs_fs) -> c_int {
    boundary::status(|| {
        // SAFETY: NULL or live per the contract.
        let fs = unsafe { handle(fs, "fs") }?;
        fs.fs.check().map(drop)
    })
}

/// Container-wide figures as of the latest commit. `whefs_fs_info_v2()`
/// adds the figures of named snapshots.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_info(fs: *mut whefs_fs, out: *mut whefs_info) -> c_int {
    boundary::status(|| {
        // SAFETY: NULL or live per the contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let out = out_param(out, "out")?;
        let info = fs.fs.info()?;
        let value = whefs_info {
            page_size: info.page_size,
            generation: info.generation,
            pages_total: info.pages_total,
            pages_used: info.pages_used,
            pages_free: info.pages_free,
            files: info.files,
            dirs: info.dirs,
            pages_pending: info.pages_pending,
        };
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, value) };
        Ok(())
    })
}

/// Container-wide figures as of the latest commit, with the figures of
/// named snapshots (`whefs_info_v2`); one consistent reading. On a view
/// from `whefs_fs_open_snapshot()`, the generation and counts are the
/// snapshot's, the page figures the container's.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_info_v2(fs: *mut whefs_fs, out: *mut whefs_info_v2) -> c_int {
    boundary::status(|| {
        // SAFETY: NULL or live per the contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let out = out_param(out, "out")?;
        let info = fs.fs.info()?;
        let value = whefs_info_v2 {
            page_size: info.page_size,
            generation: info.generation,
            pages_total: info.pages_total,
            pages_used: info.pages_used,
            pages_free: info.pages_free,
            files: info.files,
            dirs: info.dirs,
            pages_pending: info.pages_pending,
            snapshots: info.snapshots,
            pages_snapshot: info.pages_snapshot,
            pages_reclaimable: info.pages_reclaimable,
        };
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, value) };
        Ok(())
    })
}

/// Copies the container's label (set at creation by `whefs_fs_open_ex()`,
/// or later by `whefs_fs_label_set()`) into `buf` as a NUL-terminated
/// string, and its length (without the NUL) into `*len`.
///
/// If `cap` is less than the length + 1, returns `WHEFS_ERR_RANGE`, writes
/// nothing to `buf` and still sets `*len`, so `whefs_fs_label_get(fs, NULL,
/// 0, &n)` asks for the length.
///
/// # Safety
/// `fs` is NULL or a live handle; `buf` is NULL (with `cap` 0) or points to
/// `cap` writable bytes; `len` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_label_get(
    fs: *mut whefs_fs,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY: NULL or live per the contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let len = out_param(len, "len")?;
        // SAFETY: `cap` writable bytes at `buf` per the contract.
        let buf = unsafe { bytes_out(buf.cast(), cap, "buf") }?;
        let label = fs.fs.info()?.label;
        // SAFETY: `len` was checked above.
        unsafe { put_c_string(&label, buf, len, "label") }
    })
}

/// Sets the container's label, in one commit: at most 64 bytes of UTF-8
/// (`WHEFS_ERR_ARG` if longer, or not UTF-8); "" removes it. Read it back
/// with `whefs_fs_label_get()`. `WHEFS_ERR_ACCESS` on a read-only open.
///
/// # Safety
/// `fs` is NULL or a live handle; `label` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_label_set(fs: *mut whefs_fs, label: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let label = unsafe { str_arg(label, "label") }?;
        fs.fs.set_label(label)
    })
}

/// Writes a whole pseudofile — created, or replaced atomically — in one
/// commit. `data` may be NULL when `len` is 0 (an empty file). Binary data,
/// NUL bytes included, is kept as is.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string; `data`
/// points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn whefs_write_file(
    fs: *mut whefs_fs,
    path: *const c_char,
    data: *const c_void,
    len: usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let data = unsafe { bytes_in(data, len, "data") }?;
        fs.fs.write(path, data)
    })
}

/// Reads a whole pseudofile into `buf` (capacity `cap`); `*len` is its size.
///
/// If the file is larger than `cap`, returns `WHEFS_ERR_RANGE`, reads
/// nothing and sets `*len` to the size needed — the one out-parameter that
/// is written on failure — so `whefs_read_file(fs, p, NULL, 0, &n)` asks
/// for the size (the file may change before the next call: loop).
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string; `buf` is
/// NULL (with `cap` 0) or points to `cap` writable bytes; `len` points to
/// writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_read_file(
    fs: *mut whefs_fs,
    path: *const c_char,
    buf: *mut c_void,
    cap: usize,
    len: *mut usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let buf = unsafe { bytes_out(buf, cap, "buf") }?;
        let len = out_param(len, "len")?;
        // One handle, one snapshot: the size and the bytes agree.
        let file = fs.fs.open_file(path, "r")?;
        let size = file.len();
        let fits = usize::try_from(size).ok().filter(|&n| n <= buf.len());
        let Some(size) = fits else {
            let needed = usize::try_from(size).unwrap_or(usize::MAX);
            // SAFETY: checked, writable per the contract.
            unsafe { put(len, needed) };
            return Err(Error::Range(format!(
                "{path} has {size} bytes, the buffer holds {}",
                buf.len()
            )));
        };
        let mut done = 0;
        while done < size {
            let n = file.read_at(&mut buf[done..size], done as u64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        // SAFETY: checked, writable per the contract.
        unsafe { put(len, done) };
        Ok(())
    })
}

/// `stat` of a path in the latest commit.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string; `out`
/// points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_stat(
    fs: *mut whefs_fs,
    path: *const c_char,
    out: *mut whefs_stat_t,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let out = out_param(out, "out")?;
        let meta = fs.fs.metadata(path)?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, whefs_stat_t::from(&meta)) };
        Ok(())
    })
}

/// Sets `*exists` to 1 if `path` names a file or directory in the latest
/// commit, else 0. A missing path is not an error; a malformed one is.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string; `exists`
/// points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_exists(
    fs: *mut whefs_fs,
    path: *const c_char,
    exists: *mut c_int,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let out = out_param(exists, "exists")?;
        let found = fs.fs.exists(path)?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, c_int::from(found)) };
        Ok(())
    })
}

/// Removes a pseudofile (`WHEFS_ERR_IS_DIR` for a directory). Handles open
/// on it keep their snapshot.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_unlink(fs: *mut whefs_fs, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs.remove_file(path)
    })
}

/// Renames a file or directory atomically; replaces a file (not a
/// directory) at `to`.
///
/// # Safety
/// `fs` is NULL or a live handle; `from` and `to` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn whefs_rename(
    fs: *mut whefs_fs,
    from: *const c_char,
    to: *const c_char,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let from = unsafe { str_arg(from, "from") }?;
        let to = unsafe { str_arg(to, "to") }?;
        fs.fs.rename(from, to)
    })
}

/// Copies the file `from` to `to`, replacing a file there, in one commit:
/// readers of `to` see the old file or the whole copy. `from` is read as
/// one snapshot; the data streams (nothing has to fit in memory), NUL bytes
/// and holes included (a hole stays a hole and takes no space). On success
/// `*copied` (may be NULL) is the number of bytes copied, the size of the
/// new `to`.
///
/// Errors: `WHEFS_ERR_NOT_FOUND` (no `from`, or no parent of `to`),
/// `WHEFS_ERR_IS_DIR` (`from` or `to` is a directory), `WHEFS_ERR_NOT_DIR`,
/// `WHEFS_ERR_ACCESS` (read-only open), `WHEFS_ERR_FULL`, ...
///
/// # Safety
/// `fs` is NULL or a live handle; `from` and `to` NUL-terminated strings;
/// `copied` is NULL or points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_copy(
    fs: *mut whefs_fs,
    from: *const c_char,
    to: *const c_char,
    copied: *mut u64,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let from = unsafe { str_arg(from, "from") }?;
        let to = unsafe { str_arg(to, "to") }?;
        let len = fs.fs.copy(from, to)?;
        if let Some(out) = std::ptr::NonNull::new(copied) {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { put(out, len) };
        }
        Ok(())
    })
}

/// Creates a directory; its parent must exist (`WHEFS_ERR_NOT_FOUND`), the
/// path must not (`WHEFS_ERR_EXISTS`).
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_mkdir(fs: *mut whefs_fs, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs.create_dir(path)
    })
}

/// Creates a directory and any missing parents (`mkdir -p`); an existing
/// directory is fine, an existing file is `WHEFS_ERR_NOT_DIR` or
/// `WHEFS_ERR_EXISTS`.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_mkdir_all(fs: *mut whefs_fs, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs.create_dir_all(path)
    })
}

/// Removes an empty directory (`WHEFS_ERR_NOT_EMPTY` otherwise).
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_rmdir(fs: *mut whefs_fs, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs.remove_dir(path)
    })
}

/// Removes the directory `path` and everything below it (`rm -r`), in one
/// commit: others see the whole tree or none of it. Handles open on files
/// in it keep their snapshots; writers keep writing to files nobody sees,
/// freed when they close. A file is `WHEFS_ERR_NOT_DIR` (use
/// `whefs_unlink()`), the root `WHEFS_ERR_ARG`, a missing path
/// `WHEFS_ERR_NOT_FOUND`.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_remove_all(fs: *mut whefs_fs, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs.remove_dir_all(path)
    })
}
