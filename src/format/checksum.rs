//! XXH3-64, the one hash behind every checksum of the format, and which of
//! two implementations of it computes it. Both give the same value for the
//! same bytes and seed (XXH3 is defined apart from its SIMD kernels).
//!
//! The `xxh3` crate picks its AVX2 kernel at run time, about 40 GB/s here
//! against 27 GB/s for `xxhash-rust`'s SSE2 one, but the pick costs a
//! process its first feature detection: a dozen `CPUID` instructions, each
//! a trap to the hypervisor in a virtual machine, 60 µs in all on the
//! machines `make bench` runs on, a third of what opening a container and
//! reading one small file adds to a CGI process. So a process hashes with
//! the SSE2 kernel, which needs no detection (SSE2 is part of x86-64),
//! until it has hashed [`DETECT_AFTER`] bytes; then it detects once and
//! moves to AVX2 where the CPU has it. A process that opens, reads a few
//! pages and exits never detects; one that reads much pays 60 µs once,
//! after 4 MiB.
//!
//! Invariant: the choice changes speed only, never a value (the tests
//! below hash with both kernels and compare).

#[cfg(target_arch = "x86_64")]
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// Bytes hashed before the process detects the CPU's features.
pub const DETECT_AFTER: u64 = 4 << 20;

#[cfg(target_arch = "x86_64")]
const UNDECIDED: u8 = 0;
#[cfg(target_arch = "x86_64")]
const AVX2: u8 = 1;
#[cfg(target_arch = "x86_64")]
const SSE2: u8 = 2;

#[cfg(target_arch = "x86_64")]
static KERNEL: AtomicU8 = AtomicU8::new(UNDECIDED);
#[cfg(target_arch = "x86_64")]
static HASHED: AtomicU64 = AtomicU64::new(0);

/// XXH3-64 of `bytes` with `seed`.
#[cfg(target_arch = "x86_64")]
pub fn xxh3_64(bytes: &[u8], seed: u64) -> u64 {
    match KERNEL.load(Ordering::Relaxed) {
        AVX2 => xxh3::hash64_with_seed(bytes, seed),
        SSE2 => xxhash_rust::xxh3::xxh3_64_with_seed(bytes, seed),
        _ => {
            let len = bytes.len() as u64;
            if HASHED.fetch_add(len, Ordering::Relaxed) + len >= DETECT_AFTER {
                let kernel = if is_x86_feature_detected!("avx2") {
                    AVX2
                } else {
                    SSE2
                };
                KERNEL.store(kernel, Ordering::Relaxed);
            }
            xxhash_rust::xxh3::xxh3_64_with_seed(bytes, seed)
        }
    }
}

/// XXH3-64 of `bytes` with `seed` (elsewhere `xxh3` picks its kernel at
/// compile time: NEON on aarch64, none on others).
#[cfg(not(target_arch = "x86_64"))]
pub fn xxh3_64(bytes: &[u8], seed: u64) -> u64 {
    xxh3::hash64_with_seed(bytes, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kernels_give_the_same_value_at_every_length() {
        let bytes: Vec<u8> = (0..70_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for len in [0, 1, 16, 128, 240, 241, 1000, 4096, 4097, 65_536, 70_000] {
            for seed in [0, 1, 0xdead_beef_1234_5678] {
                let b = &bytes[..len];
                assert_eq!(
                    xxh3::hash64_with_seed(b, seed),
                    xxhash_rust::xxh3::xxh3_64_with_seed(b, seed),
                    "length {len}, seed {seed}"
                );
                assert_eq!(xxh3_64(b, seed), xxh3::hash64_with_seed(b, seed));
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_kernel_is_picked_only_after_enough_bytes() {
        // The lib tests share the process: others may have hashed already,
        // so hash past the threshold and check that a pick was made.
        let page = vec![7u8; 64 << 10];
        for _ in 0..=DETECT_AFTER / page.len() as u64 {
            xxh3_64(&page, 3);
        }
        assert_ne!(KERNEL.load(Ordering::Relaxed), UNDECIDED);
        assert!(HASHED.load(Ordering::Relaxed) >= DETECT_AFTER);
    }
}
