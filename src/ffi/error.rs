//! Status codes and the per-thread error message: `WHEFS_OK`,
//! `WHEFS_ERR_*`, `whefs_errmsg()` and `whefs_rc_name()`.
//!
//! Invariant: the numbers come from [`crate::Error::code`], the one table;
//! the constants below only spell them for the header, and a test checks
//! each against [`crate::Error::code_name`].

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::sync::OnceLock;

use super::boundary;
use crate::error::Error;

/// Success.
pub const WHEFS_OK: c_int = 0;
/// Bad argument: NULL, bad mode string, bad flags, bad path.
pub const WHEFS_ERR_ARG: c_int = 1;
/// The operating system reported an I/O error.
pub const WHEFS_ERR_IO: c_int = 2;
/// Out of memory.
pub const WHEFS_ERR_NOMEM: c_int = 3;
/// Not a whefs container, or an unsupported format version.
pub const WHEFS_ERR_BAD_MAGIC: c_int = 4;
/// A bug in whefs; a panic caught at the boundary included.
pub const WHEFS_ERR_INTERNAL: c_int = 5;
/// Value out of range (seek before 0, size too large, buffer too small).
pub const WHEFS_ERR_RANGE: c_int = 6;
/// No space (disk full, or a configured size limit).
pub const WHEFS_ERR_FULL: c_int = 7;
/// Not permitted (a write through a read-only open, etc.).
pub const WHEFS_ERR_ACCESS: c_int = 8;
/// A checksum or consistency failure in the container.
pub const WHEFS_ERR_CORRUPT: c_int = 9;
/// Not supported here (e.g. OFD locks unavailable).
pub const WHEFS_ERR_UNSUPPORTED: c_int = 11;
/// No such file or directory.
pub const WHEFS_ERR_NOT_FOUND: c_int = 12;
/// Already exists.
pub const WHEFS_ERR_EXISTS: c_int = 13;
/// A lock could not be had within the busy timeout.
pub const WHEFS_ERR_BUSY: c_int = 14;
/// A path component is not a directory.
pub const WHEFS_ERR_NOT_DIR: c_int = 15;
/// Is a directory.
pub const WHEFS_ERR_IS_DIR: c_int = 16;
/// Directory not empty.
pub const WHEFS_ERR_NOT_EMPTY: c_int = 17;
/// Handle already closed, or inherited across fork().
pub const WHEFS_ERR_CLOSED: c_int = 18;
/// A path component is longer than 255 bytes.
pub const WHEFS_ERR_NAME_TOO_LONG: c_int = 19;

thread_local! {
    /// The message of the last failed call in this thread.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `err` as this thread's last error and returns its code.
pub(crate) fn record_error(err: &Error) -> c_int {
    let text = err.to_string().replace('\0', "\\0");
    let message = CString::new(text).expect("NUL bytes were replaced");
    // During thread teardown the slot may be gone; the code still goes back.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = message);
    err.code()
}

/// The message of the last failed whefs call in the calling thread.
///
/// Never NULL; "" before any failure. Like `errno`, a successful call leaves
/// it unchanged. The string belongs to the library and stays valid until
/// the next failing whefs call in the same thread; copy it to keep it.
#[no_mangle]
pub extern "C" fn whefs_errmsg() -> *const c_char {
    static EMPTY: &[u8] = b"\0";
    boundary::infallible(EMPTY.as_ptr().cast(), || {
        LAST_ERROR
            .try_with(|slot| slot.borrow().as_ptr())
            .unwrap_or(EMPTY.as_ptr().cast())
    })
}

/// The name of a status code, such as "WHEFS_ERR_BUSY" for 14.
///
/// Never NULL: an unknown code gives "WHEFS_ERR_UNKNOWN". The string is
/// static.
#[no_mangle]
pub extern "C" fn whefs_rc_name(rc: c_int) -> *const c_char {
    static UNKNOWN: &[u8] = b"WHEFS_ERR_UNKNOWN\0";
    boundary::infallible(UNKNOWN.as_ptr().cast(), || {
        code_names()
            .iter()
            .find(|(code, _)| *code == rc)
            .map_or(UNKNOWN.as_ptr().cast(), |(_, name)| name.as_ptr())
    })
}

/// `Error::code_name` for every code, as C strings, built once.
fn code_names() -> &'static [(c_int, CString)] {
    static NAMES: OnceLock<Vec<(c_int, CString)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        (0..128)
            .filter_map(|code| {
                let name = Error::code_name(code)?;
                Some((code, CString::new(name).expect("code names have no NUL")))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn header_constants_match_the_error_table() {
        let constants = [
            (WHEFS_OK, "WHEFS_OK"),
            (WHEFS_ERR_ARG, "WHEFS_ERR_ARG"),
            (WHEFS_ERR_IO, "WHEFS_ERR_IO"),
            (WHEFS_ERR_NOMEM, "WHEFS_ERR_NOMEM"),
            (WHEFS_ERR_BAD_MAGIC, "WHEFS_ERR_BAD_MAGIC"),
            (WHEFS_ERR_INTERNAL, "WHEFS_ERR_INTERNAL"),
            (WHEFS_ERR_RANGE, "WHEFS_ERR_RANGE"),
            (WHEFS_ERR_FULL, "WHEFS_ERR_FULL"),
            (WHEFS_ERR_ACCESS, "WHEFS_ERR_ACCESS"),
            (WHEFS_ERR_CORRUPT, "WHEFS_ERR_CORRUPT"),
            (WHEFS_ERR_UNSUPPORTED, "WHEFS_ERR_UNSUPPORTED"),
            (WHEFS_ERR_NOT_FOUND, "WHEFS_ERR_NOT_FOUND"),
            (WHEFS_ERR_EXISTS, "WHEFS_ERR_EXISTS"),
            (WHEFS_ERR_BUSY, "WHEFS_ERR_BUSY"),
            (WHEFS_ERR_NOT_DIR, "WHEFS_ERR_NOT_DIR"),
            (WHEFS_ERR_IS_DIR, "WHEFS_ERR_IS_DIR"),
            (WHEFS_ERR_NOT_EMPTY, "WHEFS_ERR_NOT_EMPTY"),
            (WHEFS_ERR_CLOSED, "WHEFS_ERR_CLOSED"),
            (WHEFS_ERR_NAME_TOO_LONG, "WHEFS_ERR_NAME_TOO_LONG"),
        ];
        for (code, name) in constants {
            assert_eq!(Error::code_name(code), Some(name));
            let c_name = unsafe { CStr::from_ptr(whefs_rc_name(code)) };
            assert_eq!(c_name.to_str().unwrap(), name);
        }
        // Every code the table knows has a constant above.
        assert_eq!(code_names().len(), constants.len());
        assert_eq!(Error::Busy(String::new()).code(), WHEFS_ERR_BUSY);
    }

    #[test]
    fn errmsg_is_per_thread_and_never_null() {
        record_error(&Error::Busy("held by another writer".into()));
        let here = unsafe { CStr::from_ptr(whefs_errmsg()) }
            .to_str()
            .unwrap()
            .to_string();
        assert!(here.contains("held by another writer"), "{here}");
        let there = std::thread::spawn(|| {
            unsafe { CStr::from_ptr(whefs_errmsg()) }
                .to_str()
                .unwrap()
                .to_string()
        })
        .join()
        .unwrap();
        assert_eq!(there, "");
        let unknown = unsafe { CStr::from_ptr(whefs_rc_name(10)) };
        assert_eq!(unknown.to_str().unwrap(), "WHEFS_ERR_UNKNOWN");
    }
}
