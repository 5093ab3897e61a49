//! Arbitrary bytes as a container: open read-only, check, read everything,
//! then try a few commits. Never a panic, a hang or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    whefs_fuzz::open_check(data);
});
