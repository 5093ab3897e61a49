//! Library-wide entry points: the version and the panic test hook.
//!
//! Invariant: `whefs_version()` and the header's `WHEFS_VERSION_*` macros
//! both come from `Cargo.toml` (the macros through `build.rs`), so a program
//! can compare the header it was compiled with and the library it runs with.

use std::ffi::{c_char, c_int};

use super::boundary;

/// The library's version, "MAJOR.MINOR.PATCH" (static string, never NULL).
///
/// Equal to `WHEFS_VERSION_STRING` when the header and the library match.
#[no_mangle]
pub extern "C" fn whefs_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    boundary::infallible(VERSION.as_ptr().cast(), || VERSION.as_ptr().cast())
}

/// Test hook: panics inside the library, to show that a panic becomes
/// `WHEFS_ERR_INTERNAL` (with a message in `whefs_errmsg()`) rather than an
/// abort of the calling process. Always returns `WHEFS_ERR_INTERNAL`. Has no
/// other effect (the default panic hook may print a line to stderr).
#[no_mangle]
pub extern "C" fn whefs_test_panic() -> c_int {
    boundary::status(|| panic!("whefs_test_panic() was called"))
}
