//! POSIX metadata through the C ABI: `whefs_statx` and `whefs_file_statx`
//! (link counts, owner, access time; `lstat` with `WHEFS_STAT_NOFOLLOW`),
//! `whefs_chmod`,
//! `whefs_chown`, `whefs_utimens`, `whefs_symlink`, `whefs_readlink`,
//! `whefs_link`, `whefs_truncate` and `whefs_fs_sync`. Each change is one
//! commit of the Rust API's ([`crate::Fs::set_attributes`] and friends).
//!
//! Invariant: as everywhere in `ffi`, out-parameters are written only on
//! success (`whefs_readlink`'s `*len` also on `WHEFS_ERR_RANGE`, as
//! `whefs_read_file`'s).

use std::ffi::{c_char, c_int, c_uint};

use super::boundary::{self, bytes_out, handle, out_param, put, put_c_string, str_arg};
use super::file::whefs_file;
use super::fs::{kind_code, whefs_fs};
use crate::error::Error;
use crate::fs::Metadata;

/// `whefs_statx()` flag: describe a symbolic link at the end of the path
/// itself (`lstat`) instead of following it.
pub const WHEFS_STAT_NOFOLLOW: c_uint = 0x01;
// Spelled as literals so that the header (and SWIG) get plain numbers.
/// `whefs_utimens()`: leave this time as it is (`UTIME_OMIT`); `INT64_MAX`.
pub const WHEFS_TIME_OMIT: i64 = 0x7FFF_FFFF_FFFF_FFFF;
/// `whefs_utimens()`: set this time to now (`UTIME_NOW`); `INT64_MAX - 1`.
pub const WHEFS_TIME_NOW: i64 = 0x7FFF_FFFF_FFFF_FFFE;
/// `whefs_chown()`: leave this id as it is (`-1` to `chown(2)`); `UINT32_MAX`.
pub const WHEFS_ID_KEEP: u32 = 0xFFFF_FFFF;

/// What `whefs_statx()` reports: `whefs_stat_t` and the POSIX fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct whefs_statx_t {
    /// `WHEFS_KIND_FILE`, `WHEFS_KIND_DIR` or `WHEFS_KIND_SYMLINK`.
    pub kind: u32,
    /// Permission bits (`07777`).
    pub mode: u32,
    /// Inode number, stable for the file's life and never reused.
    pub ino: u64,
    /// Size in bytes (0 for directories; a link: its target's length).
    pub size: u64,
    /// Last access as recorded (creation, `whefs_utimens()`), ns since the epoch.
    pub atime_ns: i64,
    /// Last modification, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Last status change, nanoseconds since the Unix epoch.
    pub ctime_ns: i64,
    /// Link count (names of a file; 2 + subdirectories of a directory).
    pub nlink: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
}

impl From<&Metadata> for whefs_statx_t {
    fn from(m: &Metadata) -> Self {
        whefs_statx_t {
            kind: kind_code(m.kind),
            mode: m.mode,
            ino: m.ino,
            size: m.size,
            atime_ns: m.atime_ns,
            mtime_ns: m.mtime_ns,
            ctime_ns: m.ctime_ns,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
        }
    }
}

/// A time argument of `whefs_utimens()`.
fn time_arg(t: i64) -> Option<i64> {
    match t {
        WHEFS_TIME_OMIT => None,
        WHEFS_TIME_NOW => Some(crate::engine::now_ns()),
        t => Some(t),
    }
}

/// `stat` (or with `WHEFS_STAT_NOFOLLOW`, `lstat`) of a path in the latest
/// commit, with link count, owner and access time. Unknown flags are
/// `WHEFS_ERR_ARG`.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string; `out`
/// points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_statx(
    fs: *mut whefs_fs,
    path: *const c_char,
    flags: c_uint,
    out: *mut whefs_statx_t,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let out = out_param(out, "out")?;
        if flags & !WHEFS_STAT_NOFOLLOW != 0 {
            return Err(Error::Arg(format!("unknown statx flags 0x{flags:x}")));
        }
        let meta = if flags & WHEFS_STAT_NOFOLLOW != 0 {
            fs.fs.symlink_metadata(path)?
        } else {
            fs.fs.metadata(path)?
        };
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, whefs_statx_t::from(&meta)) };
        Ok(())
    })
}

/// `fstat` of this handle's view of the file, with link count, owner and
/// access time (as `whefs_file_stat()`, which has no room for them).
///
/// # Safety
/// `f` is NULL or a live handle; `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_statx(f: *mut whefs_file, out: *mut whefs_statx_t) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let out = out_param(out, "out")?;
        let meta = f.lock()?.metadata()?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, whefs_statx_t::from(&meta)) };
        Ok(())
    })
}

/// `chmod`: sets the permission bits (`07777` are kept) of what `path`
/// names, following a symbolic link.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_chmod(fs: *mut whefs_fs, path: *const c_char, mode: u32) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs.set_permissions(path, mode)
    })
}

/// `chown`: sets the owner's user and group ids; `WHEFS_ID_KEEP` leaves
/// one as it is. The library records owners, it does not enforce them.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_chown(
    fs: *mut whefs_fs,
    path: *const c_char,
    uid: u32,
    gid: u32,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let keep = |id: u32| (id != WHEFS_ID_KEEP).then_some(id);
        fs.fs.set_owner(path, keep(uid), keep(gid))
    })
}

/// `utimensat`: sets the access and modification times, in nanoseconds
/// since the Unix epoch; `WHEFS_TIME_NOW` means now, `WHEFS_TIME_OMIT`
/// leaves a time as it is.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_utimens(
    fs: *mut whefs_fs,
    path: *const c_char,
    atime_ns: i64,
    mtime_ns: i64,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs
            .set_times(path, time_arg(atime_ns), time_arg(mtime_ns))
    })
}

/// Creates the symbolic link `linkpath` pointing to `target` (kept as
/// given; relative to the link's directory, or to the container's root if
/// it starts with `/`; it need not exist). A target longer than about a
/// quarter page is `WHEFS_ERR_NAME_TOO_LONG`.
///
/// # Safety
/// `fs` is NULL or a live handle; `target` and `linkpath` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn whefs_symlink(
    fs: *mut whefs_fs,
    target: *const c_char,
    linkpath: *const c_char,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let target = unsafe { str_arg(target, "target") }?;
        let link = unsafe { str_arg(linkpath, "linkpath") }?;
        fs.fs.symlink(target, link)
    })
}

/// Copies the target of the symbolic link at `path` into `buf` as a
/// NUL-terminated string, its length (without the NUL) into `*len`. Not a
/// link: `WHEFS_ERR_ARG`. If `cap` is less than the length + 1, returns
/// `WHEFS_ERR_RANGE`, writes nothing to `buf` and still sets `*len`.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string; `buf` is
/// NULL (with `cap` 0) or points to `cap` writable bytes; `len` points to
/// writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_readlink(
    fs: *mut whefs_fs,
    path: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let buf = unsafe { bytes_out(buf.cast(), cap, "buf") }?;
        let len = out_param(len, "len")?;
        let target = fs.fs.read_link(path)?;
        // SAFETY: `len` was checked above.
        unsafe { put_c_string(&target, buf, len, "target") }
    })
}

/// `link`: gives the file (or symbolic link, not followed) at `existing`
/// the second name `newpath`. Directories cannot be linked
/// (`WHEFS_ERR_IS_DIR`); `newpath` must not exist (`WHEFS_ERR_EXISTS`).
///
/// # Safety
/// `fs` is NULL or a live handle; `existing` and `newpath` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn whefs_link(
    fs: *mut whefs_fs,
    existing: *const c_char,
    newpath: *const c_char,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let existing = unsafe { str_arg(existing, "existing") }?;
        let new = unsafe { str_arg(newpath, "newpath") }?;
        fs.fs.hard_link(existing, new)
    })
}

/// `truncate`: sets the length of the file at `path`, cutting it or
/// extending it with a hole (zeros that take no space), in one commit.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_truncate(
    fs: *mut whefs_fs,
    path: *const c_char,
    size: u64,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs.truncate(path, size)
    })
}

/// Makes every commit so far durable (one `fdatasync` of the container),
/// whatever durability they were made at.
///
/// # Safety
/// `fs` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_sync(fs: *mut whefs_fs) -> c_int {
    boundary::status(|| {
        // SAFETY: NULL or live per the contract.
        let fs = unsafe { handle(fs, "fs") }?;
        fs.fs.sync()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_sentinels_are_not_times() {
        assert_eq!(time_arg(WHEFS_TIME_OMIT), None);
        assert!(time_arg(WHEFS_TIME_NOW).is_some_and(|t| t > 0));
        assert_eq!(time_arg(-1), Some(-1));
    }
}
