//! Arbitrary bytes as a sequence of API operations, run against a real
//! container and a model; every outcome and the final tree must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    whefs_fuzz::api_ops(data);
});
