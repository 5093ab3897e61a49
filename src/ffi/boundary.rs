//! The boundary every C call crosses: panic catching, pointer checks and
//! out-parameter writes, after rustls-ffi's `panic.rs` and regex-capi's
//! `ffi_fn!`.
//!
//! Invariant: an entry point's body runs inside [`status`] (or
//! [`infallible`]), so a panic becomes `WHEFS_ERR_INTERNAL` with a message,
//! never an unwind into C (which aborts the host process). Pointers become
//! references only through the checked helpers here.

use std::any::Any;
use std::ffi::{c_char, c_int, c_void, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use super::error::{record_error, WHEFS_OK};
use crate::error::{Error, Result};

/// Runs the body of an entry point that returns a status code: `Ok` is
/// `WHEFS_OK`; an error or a panic is recorded for `whefs_errmsg()` and its
/// code returned.
pub(crate) fn status(body: impl FnOnce() -> Result<()>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => WHEFS_OK,
        Ok(Err(err)) => record_error(&err),
        Err(payload) => record_error(&panic_error(payload)),
    }
}

/// Runs the body of an entry point that cannot fail; a panic gives `fallback`.
pub(crate) fn infallible<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            record_error(&panic_error(payload));
            fallback
        }
    }
}

fn panic_error(payload: Box<dyn Any + Send>) -> Error {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown payload".to_string()
    };
    // The payload is dropped here, inside the boundary's caller, which is
    // still Rust; a payload whose destructor panics is not worth guarding.
    Error::Internal(format!("panic inside whefs: {what}"))
}

fn null(what: &str) -> Error {
    Error::Arg(format!("{what} is NULL"))
}

/// A shared reference to a handle the library created.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` (not yet closed).
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: non-NULL handles are live per the function's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| null(what))
}

/// An out-parameter, checked for NULL; write it with [`put`] once the call
/// has succeeded. It may point to uninitialized memory, so no `&mut` is made.
pub(crate) fn out_param<T>(ptr: *mut T, what: &str) -> Result<NonNull<T>> {
    NonNull::new(ptr).ok_or_else(|| null(what))
}

/// Writes an out-parameter checked by [`out_param`].
///
/// # Safety
/// `out` points to writable memory for a `T`, per the C caller's contract.
pub(crate) unsafe fn put<T>(out: NonNull<T>, value: T) {
    // SAFETY: the caller passed a valid, writable, aligned pointer; the old
    // contents may be uninitialized, so they are not dropped (T is plain data).
    unsafe { out.as_ptr().write(value) }
}

/// A NUL-terminated UTF-8 string argument (a path, a mode, a label).
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string alive for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes
        .to_str()
        .map_err(|_| Error::Arg(format!("{what} is not valid UTF-8")))
}

/// The container's path in the host filesystem: any bytes, as the OS allows.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn os_path_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a OsStr> {
    if ptr.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.is_empty() {
        return Err(Error::Arg(format!("{what} is empty")));
    }
    Ok(OsStr::from_bytes(bytes))
}

/// An input buffer. NULL is allowed when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes alive for `'a`.
pub(crate) unsafe fn bytes_in<'a>(ptr: *const c_void, len: usize, what: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null(what));
    }
    if len > isize::MAX as usize {
        return Err(Error::Arg(format!("{what}: length {len} is too large")));
    }
    // SAFETY: non-NULL, `len` readable bytes per the contract, len <= isize::MAX.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// An output buffer. NULL is allowed when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` writable bytes alive for `'a`, not
/// aliased by any other argument. (The bytes may be uninitialized; they are
/// only ever written through the slice before being read.)
pub(crate) unsafe fn bytes_out<'a>(
    ptr: *mut c_void,
    len: usize,
    what: &str,
) -> Result<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(null(what));
    }
    if len > isize::MAX as usize {
        return Err(Error::Arg(format!("{what}: length {len} is too large")));
    }
    // SAFETY: non-NULL, `len` writable bytes per the contract, len <= isize::MAX.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<u8>(), len) })
}

/// Copies `text` into the caller's buffer as a NUL-terminated string and
/// its length (without the NUL) into `*len`. A buffer without room for the
/// NUL too is `Range`, with `*len` still set (the one out-parameter C-API.md
/// lets a failure write) and nothing written to `buf`. `what` names the
/// text in the message.
///
/// # Safety
/// `len` is a checked out-parameter ([`out_param`]).
pub(crate) unsafe fn put_c_string(
    text: &str,
    buf: &mut [u8],
    len: NonNull<usize>,
    what: &str,
) -> Result<()> {
    let bytes = text.as_bytes();
    // SAFETY: checked and writable per the caller's contract.
    unsafe { put(len, bytes.len()) };
    if buf.len() <= bytes.len() {
        return Err(Error::Range(format!(
            "the {what} needs {} bytes with its NUL, the buffer has {}",
            bytes.len() + 1,
            buf.len()
        )));
    }
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[bytes.len()] = 0;
    Ok(())
}
