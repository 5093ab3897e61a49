//! `whefs_ls`: glob listing over [`Fs::glob_each`](crate::Fs::glob_each),
//! where the pattern language and the walk live (the pattern language is
//! repeated on [`whefs_ls`] for the C header).

use std::ffi::{c_char, c_int, c_void};
use std::ops::ControlFlow;

use super::boundary::{self, handle, str_arg};
use super::dir::{c_name, whefs_dirent};
use super::fs::{kind_code, whefs_fs};
use crate::error::Error;
use crate::fs::dir::DirEntry;

/// Called by `whefs_ls()` once per match with its path from the root
/// (no leading `/`), its entry (`entry->name` is the path's last
/// component) and the caller's `userdata`. Both pointers are valid only
/// during the call. Return 0 to go on, anything else to stop the listing.
/// The callback may call whefs functions (but must not close the
/// `whefs_fs` being listed) and must not `longjmp` out.
pub type whefs_ls_callback = Option<
    unsafe extern "C" fn(
        path: *const c_char,
        entry: *const whefs_dirent,
        userdata: *mut c_void,
    ) -> c_int,
>;

/// Calls `callback` for every file and directory matching the glob
/// `pattern`, in name order, depth first: "*.txt", "logs/2024-0?/*.log",
/// "src/**/*.c".
///
/// Per `/`-separated component: `*` matches any run of characters, `?` one
/// character, `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]` one character of (or
/// not of) a set, `\x` a literal `x`; a component that is exactly `**`
/// matches zero or more directories. Wildcards never match `/`; names
/// starting with `.` are not special. Directories that the pattern names
/// but that do not exist simply match nothing.
///
/// Stopping early (a nonzero callback result) still returns `WHEFS_OK`.
/// An empty pattern is `WHEFS_ERR_ARG`. Errors met while walking (such as
/// `WHEFS_ERR_CORRUPT`) end the walk and are returned.
///
/// # Safety
/// `fs` is NULL or a live handle; `pattern` a NUL-terminated string;
/// `callback` a valid function, given `userdata` as is.
#[no_mangle]
pub unsafe extern "C" fn whefs_ls(
    fs: *mut whefs_fs,
    pattern: *const c_char,
    callback: whefs_ls_callback,
    userdata: *mut c_void,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let pattern = unsafe { str_arg(pattern, "pattern") }?;
        let callback = callback.ok_or_else(|| Error::Arg("callback is NULL".into()))?;
        fs.fs.glob_each(pattern, |path: &str, entry: &DirEntry| {
            let c_path = c_name(path)?;
            let name_at = path.len() - entry.name.len();
            let value = whefs_dirent {
                // SAFETY: `name_at` is within `c_path`, whose last component is the name.
                name: unsafe { c_path.as_ptr().add(name_at) },
                kind: kind_code(entry.kind),
                ino: entry.ino,
                size: entry.size,
            };
            // SAFETY: a C function pointer given by the caller, called with
            // pointers valid for the call.
            let rc = unsafe { callback(c_path.as_ptr(), &value, userdata) };
            Ok(if rc == 0 {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            })
        })
    })
}
