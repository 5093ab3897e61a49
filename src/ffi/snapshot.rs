//! Named snapshots through the C ABI: `whefs_snapshot_create`,
//! `whefs_snapshot_delete`, the `whefs_snapshot_list` listing (opened,
//! stepped and closed like a `whefs_dir`), read-only views
//! (`whefs_fs_open_snapshot`), `whefs_fs_restore` and `whefs_diff`, over
//! [`Fs::create_snapshot`](crate::Fs::create_snapshot) and its neighbours.
//! How a snapshot holds its pages is the engine's business.
//!
//! Invariant: a listing is the snapshot list of one commit, taken whole when
//! it is opened, so later creations and deletions never show up half-way;
//! the name handed out lives in the handle until the next call on it, so C
//! never frees a Rust string. A view is a `whefs_fs` of its own that holds
//! the open it came from, so the two may be closed in either order.

use std::ffi::{c_char, c_int, c_void, CString};
use std::ptr::NonNull;
use std::sync::Mutex;

use super::boundary::{self, handle, out_param, put, str_arg};
use super::dir::c_name;
use super::fs::{new_handle, whefs_fs};
use crate::error::Error;
use crate::fs::{ChangeKind, SnapshotInfo};

/// `whefs_diff()` change kind: the path is only in the newer state.
pub const WHEFS_CHANGE_ADDED: u32 = 1;
/// `whefs_diff()` change kind: the path is only in the older state.
pub const WHEFS_CHANGE_REMOVED: u32 = 2;
/// `whefs_diff()` change kind: the path is in both, with other content,
/// kind or metadata.
pub const WHEFS_CHANGE_CHANGED: u32 = 3;

/// One named snapshot, from `whefs_snapshot_list_next()` or
/// `whefs_snapshot_create()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct whefs_snapshot_info {
    /// The snapshot's name, NUL-terminated UTF-8. From
    /// `whefs_snapshot_list_next()`: owned by the listing, valid until the
    /// next call on it. From `whefs_snapshot_create()`: the `name` argument
    /// itself.
    pub name: *const c_char,
    /// The generation (commit number) whose state the snapshot keeps.
    pub generation: u64,
    /// When it was taken, nanoseconds since the Unix epoch.
    pub created_ns: i64,
    /// Files and symbolic links in it.
    pub files: u64,
    /// Directories in it, the root included.
    pub dirs: u64,
    /// Pages only this snapshot references: what deleting it gives back
    /// (0 from `whefs_snapshot_create()`: a new snapshot shares all its
    /// pages with the latest state).
    pub exclusive_pages: u64,
}

impl whefs_snapshot_info {
    fn of(info: &SnapshotInfo, name: *const c_char) -> Self {
        whefs_snapshot_info {
            name,
            generation: info.generation,
            created_ns: info.created_ns,
            files: info.files,
            dirs: info.dirs,
            exclusive_pages: info.exclusive_pages,
        }
    }
}

/// Takes a snapshot named `name` of the latest committed state, in one
/// commit: a read-only copy that costs no space until the files change,
/// survives crashes, and keeps its pages from reuse until
/// `whefs_snapshot_delete()`. The name follows the rules of a file name
/// (1 to 255 bytes of UTF-8, no `/`, not `.` or `..`).
///
/// On success, if `out` is not NULL, `*out` describes the new snapshot;
/// `out->name` is `name` itself (valid as long as the caller keeps it).
///
/// Errors: `WHEFS_ERR_EXISTS` (the name is taken), `WHEFS_ERR_ARG` (bad
/// name), `WHEFS_ERR_ACCESS` (read-only open, or a snapshot view),
/// `WHEFS_ERR_BUSY`, `WHEFS_ERR_FULL`, `WHEFS_ERR_IO`.
///
/// # Safety
/// `fs` is NULL or a live handle; `name` a NUL-terminated string; `out` is
/// NULL or points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_snapshot_create(
    fs: *mut whefs_fs,
    name: *const c_char,
    out: *mut whefs_snapshot_info,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let text = unsafe { str_arg(name, "name") }?;
        let info = fs.fs.create_snapshot(text)?;
        if let Some(out) = NonNull::new(out) {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { put(out, whefs_snapshot_info::of(&info, name)) };
        }
        Ok(())
    })
}

/// Deletes the snapshot `name` in one commit. The pages only it held are
/// reused once no reader needs them; a view opened on it keeps reading
/// until it is closed. On success, if `pages_freed` is not NULL, it is the
/// number of pages the snapshot gave back.
///
/// Errors: `WHEFS_ERR_NOT_FOUND` (no such snapshot), `WHEFS_ERR_ARG` (bad
/// name), `WHEFS_ERR_ACCESS` (read-only open, or a snapshot view),
/// `WHEFS_ERR_BUSY`, `WHEFS_ERR_IO`.
///
/// # Safety
/// `fs` is NULL or a live handle; `name` a NUL-terminated string;
/// `pages_freed` is NULL or points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_snapshot_delete(
    fs: *mut whefs_fs,
    name: *const c_char,
    pages_freed: *mut u64,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let name = unsafe { str_arg(name, "name") }?;
        let freed = fs.fs.delete_snapshot(name)?;
        if let Some(out) = NonNull::new(pages_freed) {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { put(out, freed) };
        }
        Ok(())
    })
}

/// A listing of the named snapshots. Create with
/// `whefs_snapshot_list_open()`, free with `whefs_snapshot_list_close()`.
/// Any thread may use it; calls on one handle are serialized.
pub struct whefs_snapshot_list {
    cursor: Mutex<SnapshotCursor>,
}

struct SnapshotCursor {
    /// The snapshots of the commit the listing was opened at, in name order.
    entries: std::vec::IntoIter<SnapshotInfo>,
    /// The name of the snapshot returned last (`whefs_snapshot_info.name`
    /// points here).
    name: CString,
}

/// Opens a listing of the container's named snapshots as of the latest
/// commit (through a view: of the container it came from), in name order.
/// The whole list is read now: snapshots created or deleted later do not
/// appear in it.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_snapshot_list_open(
    fs: *mut whefs_fs,
    out: *mut *mut whefs_snapshot_list,
) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let out = out_param(out, "out")?;
        let entries = fs.fs.snapshots()?.into_iter();
        let list = whefs_snapshot_list {
            cursor: Mutex::new(SnapshotCursor {
                entries,
                name: CString::default(),
            }),
        };
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, Box::into_raw(Box::new(list))) };
        Ok(())
    })
}

/// Fetches the next snapshot: `*has_entry` is 1 and `*out` filled, or, at
/// the end, `*has_entry` is 0 and `*out` untouched. `out->name` stays
/// valid until the next call on `l`; copy it to keep it.
///
/// # Safety
/// `l` is NULL or a live handle; `out` and `has_entry` point to writable
/// memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_snapshot_list_next(
    l: *mut whefs_snapshot_list,
    out: *mut whefs_snapshot_info,
    has_entry: *mut c_int,
) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let l = unsafe { handle(l, "l") }?;
        let out = out_param(out, "out")?;
        let has_entry = out_param(has_entry, "has_entry")?;
        let mut cursor = l.cursor.lock().map_err(|_| {
            Error::Internal("an earlier call on this snapshot listing panicked".into())
        })?;
        let Some(info) = cursor.entries.next() else {
            // SAFETY: checked, writable per the contract.
            unsafe { put(has_entry, 0) };
            return Ok(());
        };
        cursor.name = c_name(&info.name)?;
        let value = whefs_snapshot_info::of(&info, cursor.name.as_ptr());
        // SAFETY: checked, writable per the contract.
        unsafe {
            put(out, value);
            put(has_entry, 1);
        }
        Ok(())
    })
}

/// Closes a snapshot listing. NULL is allowed (does nothing).
///
/// # Safety
/// `l` is NULL or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn whefs_snapshot_list_close(l: *mut whefs_snapshot_list) -> c_int {
    boundary::status(|| {
        if !l.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, closed once.
            drop(unsafe { Box::from_raw(l) });
        }
        Ok(())
    })
}

/// Opens a read-only view of the snapshot `name`: a new `whefs_fs` on which
/// every reading call (`whefs_read_file()`, `whefs_stat()`,
/// `whefs_dir_open()`, `whefs_file_open()` with "r", `whefs_fs_info()`,
/// ...) sees the container as it was at the snapshot, and every writing
/// call fails with `WHEFS_ERR_ACCESS`. The view shares `fs`'s descriptor
/// and locks, and keeps reading its state even if the snapshot is deleted
/// meanwhile. Free it with `whefs_fs_close()`; it may be closed before or
/// after `fs` (it keeps what it needs of `fs` alive).
///
/// Errors: `WHEFS_ERR_NOT_FOUND` (no such snapshot), `WHEFS_ERR_ARG`.
///
/// # Safety
/// `fs` is NULL or a live handle; `name` a NUL-terminated string; `out`
/// points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_open_snapshot(
    fs: *mut whefs_fs,
    name: *const c_char,
    out: *mut *mut whefs_fs,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let name = unsafe { str_arg(name, "name") }?;
        let out = out_param(out, "out")?;
        let view = fs.fs.open_snapshot(name)?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, new_handle(view)) };
        Ok(())
    })
}

/// Brings `path` — a file, a link or a whole subtree; "/" for the whole
/// container — back to its content in the snapshot `snapshot`, in one
/// commit: what is there now is removed, and the snapshot's entries are
/// written again with their metadata and hard links. A path the snapshot
/// does not have is removed. The restored files are copies and share no
/// pages with the snapshot, which stays as it is. Files open for writing
/// under `path` keep writing to files nobody sees, as after any removal.
///
/// Errors: `WHEFS_ERR_NOT_FOUND` (no such snapshot, or no parent of
/// `path`), `WHEFS_ERR_ARG` (bad path), `WHEFS_ERR_ACCESS` (read-only open
/// or view), `WHEFS_ERR_BUSY`, `WHEFS_ERR_FULL`, `WHEFS_ERR_IO`.
///
/// # Safety
/// `fs` is NULL or a live handle; `snapshot` and `path` NUL-terminated
/// strings.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_restore(
    fs: *mut whefs_fs,
    snapshot: *const c_char,
    path: *const c_char,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let snapshot = unsafe { str_arg(snapshot, "snapshot") }?;
        let path = unsafe { str_arg(path, "path") }?;
        fs.fs.restore(snapshot, path)
    })
}

/// Called by `whefs_diff()` once per difference with its kind
/// (`WHEFS_CHANGE_ADDED`, `_REMOVED` or `_CHANGED`), its absolute path
/// (with a leading `/`, valid only during the call) and the caller's
/// `userdata`. Return 0 to go on, anything else to stop. It may call whefs
/// functions (but must not close either handle being compared) and must
/// not `longjmp` out.
pub type whefs_diff_callback =
    Option<unsafe extern "C" fn(kind: u32, path: *const c_char, userdata: *mut c_void) -> c_int>;

/// Calls `callback` for every path that differs from the state `older`
/// reads to the state `newer` reads, sorted by path: added, removed, or
/// changed (kind, size, content, mode, owner, or a file's modification
/// time). A directory added or removed is reported with everything below
/// it. Typically `older` is a view from `whefs_fs_open_snapshot()` and
/// `newer` the container itself, or another view; any two handles work.
///
/// The differences are all found before the first call. Stopping early (a
/// nonzero callback result) still returns `WHEFS_OK`.
///
/// # Safety
/// `older` and `newer` are NULL or live handles; `callback` a valid
/// function, given `userdata` as is.
#[no_mangle]
pub unsafe extern "C" fn whefs_diff(
    older: *mut whefs_fs,
    newer: *mut whefs_fs,
    callback: whefs_diff_callback,
    userdata: *mut c_void,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let older = unsafe { handle(older, "older") }?;
        let newer = unsafe { handle(newer, "newer") }?;
        let callback = callback.ok_or_else(|| Error::Arg("callback is NULL".into()))?;
        for change in older.fs.diff(&newer.fs)? {
            let path = c_name(&change.path)?;
            // SAFETY: a C function pointer given by the caller, called with
            // a pointer valid for the call.
            if unsafe { callback(change_code(change.kind), path.as_ptr(), userdata) } != 0 {
                break;
            }
        }
        Ok(())
    })
}

fn change_code(kind: ChangeKind) -> u32 {
    match kind {
        ChangeKind::Added => WHEFS_CHANGE_ADDED,
        ChangeKind::Removed => WHEFS_CHANGE_REMOVED,
        ChangeKind::Changed => WHEFS_CHANGE_CHANGED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers are ABI: they must not move when the enum does.
    #[test]
    fn change_codes_are_stable() {
        assert_eq!(change_code(ChangeKind::Added), 1);
        assert_eq!(change_code(ChangeKind::Removed), 2);
        assert_eq!(change_code(ChangeKind::Changed), 3);
    }
}
