//! A multiply-rotate hasher for hash tables whose keys no attacker picks
//! in a way that matters: page pointers (the page cache), and hashes
//! already made with a seed this process drew (the lookup memo). A
//! collision there costs a probe, not safety, and SipHash, std's default,
//! cost more than the lookups themselves. Used by two layers, so it
//! belongs to neither.

use std::hash::{BuildHasherDefault, Hasher};

/// The hasher: each word rotated in and multiplied.
#[derive(Default)]
pub(crate) struct MixHasher(u64);

/// Builds [`MixHasher`]s, for `HashMap::with_hasher` and friends.
pub(crate) type BuildMixHasher = BuildHasherDefault<MixHasher>;

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}
