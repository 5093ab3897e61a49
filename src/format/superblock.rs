//! Superblock slots: two fixed 512-byte slots at offsets 0 and 512, whatever
//! the page size, so that a torn slot A can never hide slot B.
//!
//! Invariant: commit *g* writes slot *g mod 2*; the valid slot with the
//! higher generation is the container's state. A slot is valid only if its
//! magic, version and checksum all match — and, at open, if the pages its
//! [`Manifest`] names verify (a commit made with one sync may have reached
//! the disk only in part: docs/format.md §7).

use super::{
    struct_checksum, valid_page_size, PagePtr, Reader, FORMAT_VERSION, MAX_CONTAINER_BYTES,
    MAX_GENERATION, MAX_INO, OLDEST_READ_VERSION, SUPERBLOCK_SLOT,
};
use crate::error::{Error, Result};

/// PNG-style magic: a high-bit byte and CR LF catch text-mode mangling.
pub const MAGIC: [u8; 8] = [0x89, b'W', b'H', b'E', b'F', b'S', b'\r', b'\n'];
/// Longest container label, in bytes.
pub const MAX_LABEL: usize = 64;
/// Most page runs one manifest lists.
pub const MAX_MANIFEST_RUNS: usize = 20;
/// Most pages one manifest covers (so verifying a commit at open is cheap).
pub const MAX_MANIFEST_PAGES: u64 = 256;

/// A run of pages a commit wrote and did not sync before its superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManifestRun {
    /// First page.
    pub start: u64,
    /// Pages in the run.
    pub len: u32,
    /// Data pages (checksummed with generation 0) rather than tree pages
    /// (checksummed with the commit's generation).
    pub data: bool,
}

/// What open verifies before it trusts a commit made with one sync: the
/// pages written with the superblock and the checksum of their checksums,
/// in run order. Empty when every page was durable before the superblock
/// was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The runs.
    pub runs: Vec<ManifestRun>,
    /// `struct_checksum` over the pages' checksums (little-endian u64 each).
    pub sum: u64,
}

/// One committed state of the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// Page size in bytes.
    pub page_size: u32,
    /// Commit counter; slot = generation mod 2.
    pub generation: u64,
    /// Root of the one copy-on-write tree (files, directories and the
    /// allocator state all live in it).
    pub root: PagePtr,
    /// Pages in the container (the high-water mark); pages at or past it are free.
    pub page_count: u64,
    /// Next inode number to hand out.
    pub next_ino: u64,
    /// Pages in free extents.
    pub free_pages: u64,
    /// Pages on pending-free lists.
    pub pending_pages: u64,
    /// Number of pseudofiles.
    pub files: u64,
    /// Number of directories, the root included.
    pub dirs: u64,
    /// Creation time, ns since the Unix epoch.
    pub created_ns: i64,
    /// A label for people.
    pub label: String,
    /// The committer syncs after writing this slot (durability full): a
    /// later committer may take this state as durable without a sync.
    pub synced_commit: bool,
    /// The pages open must verify before trusting this state.
    pub manifest: Manifest,
    /// Pages held for named snapshots (format 3; 0 in a version 2 slot).
    pub held_pages: u64,
    /// Named snapshots (format 3; 0 in a version 2 slot).
    pub snapshots: u64,
}

impl Superblock {
    /// Encodes into one 512-byte slot.
    pub fn encode(&self) -> [u8; SUPERBLOCK_SLOT] {
        let mut b = Vec::with_capacity(SUPERBLOCK_SLOT);
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        b.extend_from_slice(&self.page_size.to_le_bytes());
        b.extend_from_slice(&self.generation.to_le_bytes());
        self.root.encode(&mut b);
        for v in [
            self.page_count,
            self.next_ino,
            self.free_pages,
            self.pending_pages,
            self.files,
            self.dirs,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&self.created_ns.to_le_bytes());
        let label = self.label.as_bytes();
        let n = label.len().min(MAX_LABEL);
        b.push(n as u8);
        b.extend_from_slice(&label[..n]);
        b.push(u8::from(self.synced_commit));
        let runs = &self.manifest.runs[..self.manifest.runs.len().min(MAX_MANIFEST_RUNS)];
        b.push(runs.len() as u8);
        for r in runs {
            b.extend_from_slice(&r.start.to_le_bytes());
            b.extend_from_slice(&(r.len | if r.data { 1 << 31 } else { 0 }).to_le_bytes());
        }
        b.extend_from_slice(&self.manifest.sum.to_le_bytes());
        b.extend_from_slice(&self.held_pages.to_le_bytes());
        b.extend_from_slice(&self.snapshots.to_le_bytes());
        b.resize(SUPERBLOCK_SLOT - 8, 0);
        let sum = struct_checksum(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b.try_into().expect("slot is exactly 512 bytes")
    }

    /// Decodes one slot. `BadMagic` when the slot is not a whefs superblock
    /// at all, `Corrupt` when it is one but damaged.
    pub fn decode(slot: &[u8]) -> Result<Superblock> {
        if slot.len() < SUPERBLOCK_SLOT {
            return Err(Error::BadMagic("file too short for a superblock".into()));
        }
        let slot = &slot[..SUPERBLOCK_SLOT];
        if slot[..8] != MAGIC {
            return Err(Error::BadMagic(
                "no whefs magic at the start of the superblock".into(),
            ));
        }
        let stored = u64::from_le_bytes(slot[SUPERBLOCK_SLOT - 8..].try_into().expect("8 bytes"));
        if struct_checksum(&slot[..SUPERBLOCK_SLOT - 8]) != stored {
            return Err(Error::corrupt("superblock checksum mismatch"));
        }
        let mut r = Reader::new(&slot[8..]);
        let version = r.u32()?;
        if !(OLDEST_READ_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::BadMagic(format!(
                "unsupported format version {version} (this library reads {OLDEST_READ_VERSION} to {FORMAT_VERSION})"
            )));
        }
        let page_size = r.u32()?;
        if !valid_page_size(page_size) {
            return Err(Error::corrupt(format!("invalid page size {page_size}")));
        }
        let generation = r.u64()?;
        let root = PagePtr::decode(r.take(PagePtr::SIZE)?)?;
        let (page_count, next_ino, free_pages, pending_pages, files, dirs) =
            (r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let created_ns = r.i64()?;
        let n = r.u8()? as usize;
        if n > MAX_LABEL {
            return Err(Error::corrupt("superblock label too long"));
        }
        let label = String::from_utf8_lossy(r.take(n)?).into_owned();
        let flags = r.u8()?;
        if flags > 1 {
            return Err(Error::corrupt(format!(
                "superblock flags {flags:#x} unknown"
            )));
        }
        let count = r.u8()? as usize;
        if count > MAX_MANIFEST_RUNS {
            return Err(Error::corrupt("superblock manifest too long"));
        }
        let mut runs = Vec::with_capacity(count);
        let mut covered = 0u64;
        for _ in 0..count {
            let start = r.u64()?;
            let word = r.u32()?;
            let run = ManifestRun {
                start,
                len: word & !(1 << 31),
                data: word >> 31 == 1,
            };
            covered += u64::from(run.len);
            runs.push(run);
        }
        let sum = r.u64()?;
        let (held_pages, snapshots) = if version >= 3 {
            (r.u64()?, r.u64()?)
        } else {
            (0, 0)
        };
        // Bounds that keep every later computation in range: a forged
        // counter is corruption here, not an overflow somewhere else.
        let max_pages = MAX_CONTAINER_BYTES / page_size as u64;
        if generation == 0 || generation >= MAX_GENERATION {
            return Err(Error::corrupt(format!(
                "superblock generation {generation} out of range"
            )));
        }
        if page_count < 2 || page_count > max_pages || root.page == 0 || root.page >= page_count {
            return Err(Error::corrupt(format!(
                "superblock page count {page_count} or root page {} out of range",
                root.page
            )));
        }
        if covered > MAX_MANIFEST_PAGES
            || runs.iter().any(|run| {
                run.len == 0
                    || run.start == 0
                    || run.start.saturating_add(run.len.into()) > page_count
            })
        {
            return Err(Error::corrupt("superblock manifest out of range"));
        }
        if next_ino > MAX_INO
            || free_pages
                .checked_add(pending_pages)
                .and_then(|n| n.checked_add(held_pages))
                .is_none_or(|n| n >= page_count)
            || snapshots > page_count
        {
            return Err(Error::corrupt("superblock counters out of range"));
        }
        Ok(Superblock {
            page_size,
            generation,
            root,
            page_count,
            next_ino,
            free_pages,
            pending_pages,
            files,
            dirs,
            created_ns,
            label,
            synced_commit: flags & 1 == 1,
            manifest: Manifest { runs, sum },
            held_pages,
            snapshots,
        })
    }

    /// Byte offset of the slot that commit `generation` writes.
    pub fn slot_offset(generation: u64) -> u64 {
        (generation % 2) * SUPERBLOCK_SLOT as u64
    }

    /// Picks the state from the two slots: the valid one with the higher
    /// generation. Returns the error of slot A when neither is valid.
    pub fn choose(a: Result<Superblock>, b: Result<Superblock>) -> Result<Superblock> {
        match (a, b) {
            (Ok(a), Ok(b)) => Ok(if b.generation > a.generation { b } else { a }),
            (Ok(a), Err(_)) => Ok(a),
            (Err(_), Ok(b)) => Ok(b),
            (Err(Error::BadMagic(m)), Err(Error::BadMagic(_))) => Err(Error::BadMagic(m)),
            (Err(Error::BadMagic(_)), Err(e)) | (Err(e), Err(_)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Superblock {
        Superblock {
            page_size: 4096,
            generation: 7,
            root: PagePtr {
                page: 3,
                generation: 7,
                checksum: 99,
            },
            page_count: 10,
            next_ino: 5,
            free_pages: 1,
            pending_pages: 2,
            files: 3,
            dirs: 1,
            created_ns: 123,
            label: "demo".into(),
            synced_commit: true,
            held_pages: 0,
            snapshots: 0,
            manifest: Manifest {
                runs: vec![
                    ManifestRun {
                        start: 3,
                        len: 1,
                        data: false,
                    },
                    ManifestRun {
                        start: 5,
                        len: 2,
                        data: true,
                    },
                ],
                sum: 42,
            },
        }
    }

    #[test]
    fn superblock_round_trips_and_detects_any_flipped_bit() {
        let sb = sample();
        let enc = sb.encode();
        assert_eq!(Superblock::decode(&enc).unwrap(), sb);
        for bit in (0..SUPERBLOCK_SLOT * 8).step_by(13) {
            let mut bad = enc;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                Superblock::decode(&bad).is_err(),
                "bit {bit} flip went unnoticed"
            );
        }
    }

    #[test]
    fn a_slot_of_format_version_1_is_refused_with_a_clear_error() {
        let mut slot = sample().encode();
        slot[8..12].copy_from_slice(&1u32.to_le_bytes());
        let sum = struct_checksum(&slot[..SUPERBLOCK_SLOT - 8]);
        slot[SUPERBLOCK_SLOT - 8..].copy_from_slice(&sum.to_le_bytes());
        match Superblock::decode(&slot) {
            Err(Error::BadMagic(m)) => assert!(m.contains("version 1"), "{m}"),
            other => panic!("a version 1 slot decoded as {other:?}"),
        }
    }

    #[test]
    fn a_version_2_slot_is_read_and_a_newer_one_refused() {
        for (version, ok) in [(2u32, true), (FORMAT_VERSION + 1, false)] {
            let mut slot = sample().encode();
            slot[8..12].copy_from_slice(&version.to_le_bytes());
            let sum = struct_checksum(&slot[..SUPERBLOCK_SLOT - 8]);
            slot[SUPERBLOCK_SLOT - 8..].copy_from_slice(&sum.to_le_bytes());
            match Superblock::decode(&slot) {
                Ok(sb) if ok => assert_eq!(sb, sample()),
                Err(Error::BadMagic(m)) if !ok => assert!(m.contains("version"), "{m}"),
                other => panic!("a version {version} slot decoded as {other:?}"),
            }
        }
    }

    #[test]
    fn choose_prefers_valid_higher_generation() {
        let mut older = sample();
        older.generation = 6;
        let chosen = Superblock::choose(Ok(older.clone()), Ok(sample())).unwrap();
        assert_eq!(chosen.generation, 7);
        let chosen = Superblock::choose(Ok(older), Err(Error::corrupt("torn"))).unwrap();
        assert_eq!(chosen.generation, 6);
    }
}
