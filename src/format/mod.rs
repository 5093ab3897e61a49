//! On-disk format, version 2: pure encoding and decoding over byte slices —
//! no I/O, no locks. `docs/format.md` draws the byte layouts.
//!
//! Invariant: every decoder treats its input as hostile. A decoder returns
//! `Error::Corrupt` for anything it cannot make sense of and never panics,
//! never loops without bound and never allocates more than the page it reads.

pub mod checksum;
pub mod node;
pub mod records;
pub mod superblock;

pub use node::Node;
pub use superblock::Superblock;

/// Format version written by this library. Version 3 is version 2 plus
/// the snapshot records (`SNAPSHOT`, `HELD`): a version 2 container is read
/// as it is and is version 3 from its next commit on.
pub const FORMAT_VERSION: u32 = 3;
/// Oldest format version this library reads.
pub const OLDEST_READ_VERSION: u32 = 2;
/// Default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 4096;
/// Smallest allowed page size (a node must hold several 255-byte names).
pub const MIN_PAGE_SIZE: u32 = 4096;
/// Largest allowed page size.
pub const MAX_PAGE_SIZE: u32 = 65536;
/// Size of one superblock slot; slot A at offset 0, slot B at 512.
pub const SUPERBLOCK_SLOT: usize = 512;
/// Longest path component, in bytes.
pub const MAX_NAME: usize = 255;
/// Largest container, in bytes: every page offset stays below 2^62, where
/// the lock regions begin (DESIGN §4).
pub const MAX_CONTAINER_BYTES: u64 = 1 << 62;
/// Generations stay below 2^56 so `PIN + generation` stays a valid offset.
pub const MAX_GENERATION: u64 = 1 << 56;
/// Inode numbers stay below 2^56 (they index lock offsets, DESIGN §4).
pub const MAX_INO: u64 = 1 << 56;

/// Whether `size` is a valid page size.
pub fn valid_page_size(size: u32) -> bool {
    size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&size)
}

/// The one checksum of whefs: 64-bit XXH3 seeded with the page number and
/// the generation that wrote it, so a page read from the wrong place or left
/// over from another commit fails verification even if its bytes are intact.
pub fn page_checksum(page: u64, generation: u64, bytes: &[u8]) -> u64 {
    checksum::xxh3_64(bytes, page ^ generation.rotate_left(32))
}

/// Checksum of a structure that has no page of its own (superblock slots).
pub fn struct_checksum(bytes: &[u8]) -> u64 {
    checksum::xxh3_64(bytes, 0)
}

/// Where a page lives and what it must contain: the pointer every parent
/// (and the superblock) keeps for a child. Following it verifies both the
/// birth generation and the checksum, which catches torn, lost and
/// misdirected writes. The page cache is keyed by the whole pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PagePtr {
    /// Page number (byte offset / page size).
    pub page: u64,
    /// Generation of the commit that wrote the page.
    pub generation: u64,
    /// `page_checksum(page, generation, bytes)`.
    pub checksum: u64,
}

impl PagePtr {
    /// Encoded size in bytes.
    pub const SIZE: usize = 24;

    /// Appends the encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// The encoding.
    pub fn to_bytes(self) -> [u8; PagePtr::SIZE] {
        let mut b = [0u8; PagePtr::SIZE];
        b[0..8].copy_from_slice(&self.page.to_le_bytes());
        b[8..16].copy_from_slice(&self.generation.to_le_bytes());
        b[16..24].copy_from_slice(&self.checksum.to_le_bytes());
        b
    }

    /// Decodes from the first 24 bytes of `b`.
    pub fn decode(b: &[u8]) -> crate::Result<PagePtr> {
        let mut r = Reader::new(b);
        Ok(PagePtr {
            page: r.u64()?,
            generation: r.u64()?,
            checksum: r.u64()?,
        })
    }
}

/// The error for a record that runs past the end of its page.
pub fn past_end() -> crate::Error {
    crate::Error::corrupt("record runs past the end of its page")
}

/// A bounds-checked little-endian reader: every read past the end is a
/// `Corrupt` error ([`past_end`]), never a panic.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads from the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }
    /// How many bytes have been read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> crate::Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(past_end)?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    /// Reads a `u8`.
    pub fn u8(&mut self) -> crate::Result<u8> {
        Ok(self.take(1)?[0])
    }
    /// Reads a little-endian `u16`.
    pub fn u16(&mut self) -> crate::Result<u16> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("took 2 bytes"),
        ))
    }
    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> crate::Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("took 4 bytes"),
        ))
    }
    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> crate::Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("took 8 bytes"),
        ))
    }
    /// Reads a little-endian `i64`.
    pub fn i64(&mut self) -> crate::Result<i64> {
        Ok(self.u64()? as i64)
    }
    /// Bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }
}
