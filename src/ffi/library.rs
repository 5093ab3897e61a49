//! Library-wide entry points: the version.
//!
//! Invariant: `whefs_version()` and the header's `WHEFS_VERSION_*` macros
//! both come from `Cargo.toml` (the macros through `build.rs`), so a program
//! can compare the header it was compiled with and the library it runs with.

use std::ffi::c_char;

use super::boundary;

/// The library's version, "MAJOR.MINOR.PATCH" (static string, never NULL).
///
/// Equal to `WHEFS_VERSION_STRING` when the header and the library match.
#[no_mangle]
pub extern "C" fn whefs_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    boundary::infallible(VERSION.as_ptr().cast(), || VERSION.as_ptr().cast())
}
