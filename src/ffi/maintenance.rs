//! Whole-container maintenance through the C ABI: `whefs_fs_backup` (a
//! consistent, compact copy while others write) and `whefs_fs_compact`
//! (shrinking in place), over [`Fs::backup_to_with`](crate::Fs::backup_to_with)
//! and [`Fs::compact`](crate::Fs::compact).
//!
//! Invariant: the progress callback is called only from inside
//! `whefs_fs_backup`, on the calling thread, and never after it returns;
//! the reports are written only when the whole operation succeeded.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::NonNull;

use super::boundary::{self, handle, os_path_arg, put};
use super::fs::whefs_fs;

/// What `whefs_fs_backup()` wrote.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct whefs_backup_report {
    /// The generation copied: of the latest commit, or of the snapshot a
    /// view reads.
    pub generation: u64,
    /// Pages in the copy, page 0 included.
    pub pages: u64,
    /// Bytes in the copy (the size of the new file).
    pub bytes: u64,
    /// Files and symbolic links copied.
    pub files: u64,
    /// Directories copied, the root included.
    pub dirs: u64,
}

/// What `whefs_fs_compact()` did.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct whefs_compact_report {
    /// Pages in the container before.
    pub pages_before: u64,
    /// Pages after (the file is now `pages_after` pages long).
    pub pages_after: u64,
    /// Data pages moved from the tail into free space.
    pub data_pages_moved: u64,
    /// Commits made.
    pub commits: u64,
}

/// Called by `whefs_fs_backup()` as the copy proceeds, with the data pages
/// copied so far, the data pages to copy in all (`done <= total`; the
/// last call has `done == total`) and the caller's `userdata`. It runs on
/// the thread that called `whefs_fs_backup()`, inside that call; it may
/// call whefs functions, also writing ones on the same container (a
/// backup never blocks writers, and copies the state it started with),
/// but must not close `fs` and must not `longjmp` out. It cannot stop the
/// backup.
pub type whefs_progress_callback =
    Option<unsafe extern "C" fn(done_pages: u64, total_pages: u64, userdata: *mut c_void)>;

/// Copies the state `fs` reads — the latest commit, or the snapshot of a
/// view from `whefs_fs_open_snapshot()` — into a new container file at
/// `dest` (a host path), while other threads and processes go on writing:
/// they are never blocked, and what they commit meanwhile is not in the
/// copy. The copy is compact: only live pages, renumbered; no snapshots,
/// no free space. `dest` must not exist; it appears only complete and
/// synced (a failed or interrupted backup leaves nothing there).
///
/// `progress` (may be NULL) is called as pages are copied, with
/// `userdata`. On success, if `out` is not NULL, `*out` tells what was
/// written.
///
/// Errors: `WHEFS_ERR_EXISTS` (`dest` exists), `WHEFS_ERR_NOT_FOUND` (no
/// directory for `dest`), `WHEFS_ERR_IO`, `WHEFS_ERR_FULL` (disk full),
/// `WHEFS_ERR_ARG`.
///
/// # Safety
/// `fs` is NULL or a live handle; `dest` a NUL-terminated string;
/// `progress` NULL or a valid function, given `userdata` as is; `out` NULL
/// or pointing to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_backup(
    fs: *mut whefs_fs,
    dest: *const c_char,
    progress: whefs_progress_callback,
    userdata: *mut c_void,
    out: *mut whefs_backup_report,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let dest = unsafe { os_path_arg(dest, "dest") }?;
        let mut report_progress = |done: u64, total: u64| {
            if let Some(callback) = progress {
                // SAFETY: a C function pointer given by the caller, called
                // with its own `userdata`.
                unsafe { callback(done, total, userdata) }
            }
        };
        let report = fs.fs.backup_to_with(dest, &mut report_progress)?;
        if let Some(out) = NonNull::new(out) {
            let value = whefs_backup_report {
                generation: report.generation,
                pages: report.pages,
                bytes: report.bytes,
                files: report.files,
                dirs: report.dirs,
            };
            // SAFETY: non-NULL and writable per the contract.
            unsafe { put(out, value) };
        }
        Ok(())
    })
}

/// Shrinks the container in place: moves live pages from its end into
/// free space, commits, and truncates the file. Crash-safe at every step:
/// a crash leaves the container as before or as after, with every file
/// intact. Pages that snapshots hold are not moved, so snapshots bound how
/// far it can shrink. On success, if `out` is not NULL, `*out` tells what
/// was done.
///
/// It needs the container to itself: it waits up to the busy timeout for
/// other opens (other handles, in this process or another) to close, and
/// `fs` must have no file, listing, transaction or snapshot view open;
/// otherwise `WHEFS_ERR_BUSY`, with the reason in `whefs_errmsg()`.
///
/// Errors: `WHEFS_ERR_BUSY` (see above), `WHEFS_ERR_ACCESS` (read-only
/// open, or a snapshot view), `WHEFS_ERR_IO`.
///
/// # Safety
/// `fs` is NULL or a live handle; `out` NULL or pointing to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_fs_compact(
    fs: *mut whefs_fs,
    out: *mut whefs_compact_report,
) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let report = fs.fs.compact()?;
        if let Some(out) = NonNull::new(out) {
            let value = whefs_compact_report {
                pages_before: report.pages_before,
                pages_after: report.pages_after,
                data_pages_moved: report.data_pages_moved,
                commits: report.commits,
            };
            // SAFETY: non-NULL and writable per the contract.
            unsafe { put(out, value) };
        }
        Ok(())
    })
}
