//! `whefs_txn`: a transaction being recorded — namespace changes and
//! whole-file writes that `whefs_txn_commit()` publishes in one commit,
//! over [`Fs::begin`](crate::Fs::begin) and [`Transaction`].
//!
//! Invariant: the [`Transaction`] leaves its handle only through
//! `whefs_txn_commit()` or `whefs_txn_abort()`, which both free the handle,
//! so every recorded operation is either published with all the others or
//! discarded with them. It sits behind a `Mutex`, as in `whefs_file`:
//! calls on one handle are serialized; a panic while recording poisons it,
//! and then later calls fail with `WHEFS_ERR_INTERNAL` and a commit
//! discards instead of publishing a half-recorded transaction.

use std::ffi::{c_char, c_int, c_void};
use std::sync::{Mutex, MutexGuard};

use super::boundary::{self, bytes_in, handle, out_param, put, str_arg};
use super::fs::whefs_fs;
use crate::error::{Error, Result};
use crate::Transaction;

/// A transaction being recorded. Create with `whefs_txn_begin()`; end with
/// `whefs_txn_commit()` or `whefs_txn_abort()`, which free it. Any thread
/// may use it; calls on one handle are serialized.
pub struct whefs_txn {
    txn: Mutex<Transaction>,
}

impl whefs_txn {
    fn lock(&self) -> Result<MutexGuard<'_, Transaction>> {
        self.txn.lock().map_err(|_| {
            Error::Internal("an earlier call on this transaction panicked; abort it".into())
        })
    }

    /// Records one operation. A failure records nothing.
    fn record(&self, op: impl FnOnce(&mut Transaction) -> Result<&mut Transaction>) -> Result<()> {
        op(&mut *self.lock()?).map(drop)
    }
}

/// Starts a transaction on `fs`: the `whefs_txn_*` calls record operations
/// on it, and `whefs_txn_commit()` publishes them all in one commit —
/// every reader, in this process or another, sees all of them or none — or
/// `whefs_txn_abort()` discards them.
///
/// Nothing recorded is visible before the commit, not even through `fs`.
/// Recording checks only the arguments; whether each operation can be done
/// (a parent exists, a file is there to remove, a directory is empty) is
/// checked by the commit, in the order recorded, each operation seeing the
/// ones before it: write "a", then rename "a" to "b" works. A recording
/// call that fails records nothing and leaves the transaction usable;
/// abort it if that failure means the whole must not happen.
///
/// Begin takes no lock. While the transaction is open, its writes keep
/// their pages reserved and pin the state they started from (pages freed
/// later are not reused meanwhile): keep transactions short. End every
/// transaction before closing `fs`.
///
/// Errors: `WHEFS_ERR_ACCESS` on a read-only open, `WHEFS_ERR_ARG`.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_begin(fs: *mut whefs_fs, out: *mut *mut whefs_txn) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let out = out_param(out, "out")?;
        let txn = fs.fs.begin()?;
        let handle = Box::into_raw(Box::new(whefs_txn {
            txn: Mutex::new(txn),
        }));
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, handle) };
        Ok(())
    })
}

/// Records a whole-file write: at the commit, `path` is created, or
/// replaced, with these `len` bytes (NUL bytes included; `data` may be
/// NULL when `len` is 0). The bytes are taken during the call — large data
/// is written to free pages now — so the buffer may be reused at once.
/// Errors now: `WHEFS_ERR_ARG` (bad path), `WHEFS_ERR_FULL`,
/// `WHEFS_ERR_IO`; at the commit: `WHEFS_ERR_NOT_FOUND` (no parent),
/// `WHEFS_ERR_IS_DIR`, ...
///
/// # Safety
/// `t` is NULL or a live handle; `path` a NUL-terminated string; `data`
/// points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_write(
    t: *mut whefs_txn,
    path: *const c_char,
    data: *const c_void,
    len: usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let t = unsafe { handle(t, "t") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let data = unsafe { bytes_in(data, len, "data") }?;
        t.record(|txn| txn.write(path, data))
    })
}

/// Records a `whefs_mkdir()`: the parent must exist at the commit (or be
/// created earlier in the transaction), the path must not.
///
/// # Safety
/// `t` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_mkdir(t: *mut whefs_txn, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let t = unsafe { handle(t, "t") }?;
        let path = unsafe { str_arg(path, "path") }?;
        t.record(|txn| txn.create_dir(path))
    })
}

/// Records a `whefs_mkdir_all()` (`mkdir -p`).
///
/// # Safety
/// `t` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_mkdir_all(t: *mut whefs_txn, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let t = unsafe { handle(t, "t") }?;
        let path = unsafe { str_arg(path, "path") }?;
        t.record(|txn| txn.create_dir_all(path))
    })
}

/// Records a `whefs_unlink()` of a file.
///
/// # Safety
/// `t` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_unlink(t: *mut whefs_txn, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let t = unsafe { handle(t, "t") }?;
        let path = unsafe { str_arg(path, "path") }?;
        t.record(|txn| txn.remove_file(path))
    })
}

/// Records a `whefs_rmdir()` of an empty directory.
///
/// # Safety
/// `t` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_rmdir(t: *mut whefs_txn, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let t = unsafe { handle(t, "t") }?;
        let path = unsafe { str_arg(path, "path") }?;
        t.record(|txn| txn.remove_dir(path))
    })
}

/// Records a `whefs_remove_all()` (`rm -r` of a directory).
///
/// # Safety
/// `t` is NULL or a live handle; `path` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_remove_all(t: *mut whefs_txn, path: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let t = unsafe { handle(t, "t") }?;
        let path = unsafe { str_arg(path, "path") }?;
        t.record(|txn| txn.remove_dir_all(path))
    })
}

/// Records a `whefs_rename()`; it may rename what the transaction wrote.
///
/// # Safety
/// `t` is NULL or a live handle; `from` and `to` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_rename(
    t: *mut whefs_txn,
    from: *const c_char,
    to: *const c_char,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let t = unsafe { handle(t, "t") }?;
        let from = unsafe { str_arg(from, "from") }?;
        let to = unsafe { str_arg(to, "to") }?;
        t.record(|txn| txn.rename(from, to))
    })
}

/// Records a `whefs_fs_label_set()`; a label longer than 64 bytes is
/// `WHEFS_ERR_ARG` now.
///
/// # Safety
/// `t` is NULL or a live handle; `label` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_label_set(t: *mut whefs_txn, label: *const c_char) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let t = unsafe { handle(t, "t") }?;
        let label = unsafe { str_arg(label, "label") }?;
        t.record(|txn| txn.set_label(label))
    })
}

/// Publishes every recorded operation in one commit, at the container's
/// durability, and frees the handle — either way: the result is the
/// commit's. If an operation cannot be done, its error is returned (such
/// as `WHEFS_ERR_NOT_FOUND` for a rename of a missing file) and nothing is
/// committed. The commit waits up to the busy timeout for the commit lock
/// (`WHEFS_ERR_BUSY`). An empty transaction commits nothing.
///
/// NULL is `WHEFS_ERR_ARG` (a commit of nothing is more likely a bug than
/// an intent). No other thread may be using the handle.
///
/// # Safety
/// `t` is NULL or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_commit(t: *mut whefs_txn) -> c_int {
    boundary::status(|| {
        if t.is_null() {
            return Err(Error::Arg("t is NULL".into()));
        }
        // SAFETY: a live handle made by `Box::into_raw`, ended once.
        let handle = unsafe { Box::from_raw(t) };
        match handle.txn.into_inner() {
            Ok(txn) => txn.commit(),
            // A recording call panicked: dropping the transaction discards
            // it rather than publish what it may have half recorded.
            Err(_) => Err(Error::Internal(
                "an earlier call on this transaction panicked; it was discarded".into(),
            )),
        }
    })
}

/// Discards every recorded operation and frees the handle: nothing of the
/// transaction is ever visible, and the pages its writes took are free
/// again. NULL is allowed (does nothing). No other thread may be using the
/// handle.
///
/// # Safety
/// `t` is NULL or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn whefs_txn_abort(t: *mut whefs_txn) -> c_int {
    boundary::status(|| {
        if !t.is_null() {
            // SAFETY: a live handle made by `Box::into_raw`, ended once.
            // Dropping the transaction (poisoned or not) discards it.
            drop(unsafe { Box::from_raw(t) });
        }
        Ok(())
    })
}
