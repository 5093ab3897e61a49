//! Arbitrary bytes as a sequence of API operations (namespace, handles,
//! transactions, reopen, and named snapshots: create, delete, views,
//! restore, diff, compaction), run against a real container and a model;
//! every outcome and the final tree must agree (`whefs_fuzz::api_ops`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    whefs_fuzz::api_ops(data);
});
