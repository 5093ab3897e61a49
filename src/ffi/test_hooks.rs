//! Test-only entry points, compiled with the cargo feature `test-hooks` and
//! never in a library build. They are not in `include/whefs.h`: a test that
//! uses one declares it itself (`tests/c/whefs_test.h`, the SWIG interface
//! under `WHEFS_TEST_HOOKS`).

use std::ffi::c_int;

use super::boundary;

/// Panics inside the library, to show that a panic becomes
/// `WHEFS_ERR_INTERNAL` (with a message in `whefs_errmsg()`) rather than an
/// abort of the calling process. Always returns `WHEFS_ERR_INTERNAL`. Has no
/// other effect (the default panic hook may print a line to stderr).
#[no_mangle]
pub extern "C" fn whefs_test_panic() -> c_int {
    boundary::status(|| panic!("whefs_test_panic() was called"))
}
