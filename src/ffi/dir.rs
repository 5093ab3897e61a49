//! `whefs_dir`: a directory listing, one entry per `whefs_dir_next()`.
//!
//! Invariant: the listing keeps the generation it was opened at, whatever
//! commits happen meanwhile (DESIGN G2). The name handed out lives in the
//! handle until the next call on it, so C never frees a Rust string.

use std::ffi::{c_char, c_int, CString};
use std::sync::Mutex;

use super::boundary::{self, handle, out_param, put, str_arg};
use super::fs::{kind_code, whefs_fs};
use crate::error::{Error, Result};
use crate::fs::dir::ReadDir;

/// One directory entry, from `whefs_dir_next()` or `whefs_ls()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct whefs_dirent {
    /// The entry's name (one path component), NUL-terminated UTF-8. Owned by
    /// the library: valid until the next call on the same `whefs_dir` (or,
    /// in a `whefs_ls()` callback, until the callback returns).
    pub name: *const c_char,
    /// `WHEFS_KIND_FILE` or `WHEFS_KIND_DIR`.
    pub kind: u32,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes (0 for directories).
    pub size: u64,
}

/// An open directory listing. Create with `whefs_dir_open()`, free with
/// `whefs_dir_close()`.
pub struct whefs_dir {
    cursor: Mutex<Cursor>,
}

struct Cursor {
    entries: ReadDir,
    /// The name of the entry returned last (`whefs_dirent.name` points here).
    name: CString,
}

/// Opens a listing of the directory at `path` ("/" is the root), as
/// of the latest commit. Entries come in name order.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` a NUL-terminated string; `out`
/// points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_dir_open(
    fs: *mut whefs_fs,
    path: *const c_char,
    out: *mut *mut whefs_dir,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let out = out_param(out, "out")?;
        let entries = fs.fs.read_dir(path)?;
        let dir = whefs_dir {
            cursor: Mutex::new(Cursor {
                entries,
                name: CString::default(),
            }),
        };
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, Box::into_raw(Box::new(dir))) };
        Ok(())
    })
}

/// Fetches the next entry: `*has_entry` is 1 and `*out` filled, or, at the
/// end, `*has_entry` is 0 and `*out` untouched. `out->name` stays valid
/// until the next call on `d`; copy it to keep it.
///
/// # Safety
/// `d` is NULL or a live handle; `out` and `has_entry` point to writable
/// memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_dir_next(
    d: *mut whefs_dir,
    out: *mut whefs_dirent,
    has_entry: *mut c_int,
) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let d = unsafe { handle(d, "d") }?;
        let out = out_param(out, "out")?;
        let has_entry = out_param(has_entry, "has_entry")?;
        let mut cursor = d.cursor.lock().map_err(|_| {
            Error::Internal("an earlier call on this directory handle panicked".into())
        })?;
        let Some(entry) = cursor.entries.next().transpose()? else {
            // SAFETY: checked, writable per the contract.
            unsafe { put(has_entry, 0) };
            return Ok(());
        };
        cursor.name = c_name(&entry.name)?;
        let value = whefs_dirent {
            name: cursor.name.as_ptr(),
            kind: kind_code(entry.kind),
            ino: entry.ino,
            size: entry.size,
        };
        // SAFETY: checked, writable per the contract.
        unsafe {
            put(out, value);
            put(has_entry, 1);
        }
        Ok(())
    })
}

/// Closes a listing. NULL is allowed (does nothing).
///
/// # Safety
/// `d` is NULL or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn whefs_dir_close(d: *mut whefs_dir) -> c_int {
    boundary::status(|| {
        if !d.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, closed once.
            drop(unsafe { Box::from_raw(d) });
        }
        Ok(())
    })
}

/// A stored name as a C string. Names never hold NUL (the path rules forbid
/// it), so one that does is a damaged container.
pub(crate) fn c_name(name: &str) -> Result<CString> {
    CString::new(name)
        .map_err(|_| Error::corrupt(format!("a stored name contains a NUL byte: {name:?}")))
}
