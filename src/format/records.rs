//! Tree keys and record values. Keys sort as byte strings, laid out like
//! btrfs keys: `inode (8, big-endian) | kind (1) | sub-key`, so one inode's
//! records are adjacent and a directory listing is one range scan.
//!
//! Inode 0 is the system's: its records hold the allocator state (free
//! extents and pending-free lists) and the orphan list, so the allocator is
//! committed atomically with everything else under the one root pointer.

use super::{PagePtr, Reader, MAX_INO, MAX_NAME};
use crate::error::{Error, Result};

/// Inode of the root directory.
pub const ROOT_INO: u64 = 1;
/// First inode number handed to a new file or directory.
pub const FIRST_FREE_INO: u64 = 2;
/// The system inode that owns allocator and orphan records.
pub const SYSTEM_INO: u64 = 0;

/// Record kinds (the byte after the inode number in a key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `(ino, INODE)` → [`InodeRecord`].
    Inode = 1,
    /// `(dir, DIRENT, name)` → [`DirentRecord`].
    Dirent = 2,
    /// `(ino, EXTENT, first file page)` → [`ExtentRecord`].
    Extent = 3,
    /// `(0, FREE, first page)` → page count.
    Free = 0x10,
    /// `(0, PENDING, freeing generation, first page)` → page count.
    Pending = 0x11,
    /// `(0, ORPHAN, ino)` → empty: an unlinked inode still open for writing.
    Orphan = 0x12,
    /// `(0, SNAPSHOT, name)` → [`SnapshotRecord`]: a named snapshot.
    Snapshot = 0x13,
    /// `(0, HELD, freeing generation, first page)` → [`HeldExtent`]: pages
    /// the current tree stopped using that a snapshot still references.
    Held = 0x14,
}

/// Builds a key.
pub fn key(ino: u64, kind: Kind, sub: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + sub.len());
    k.extend_from_slice(&ino.to_be_bytes());
    k.push(kind as u8);
    k.extend_from_slice(sub);
    k
}

/// Key of an inode record.
pub fn inode_key(ino: u64) -> Vec<u8> {
    key(ino, Kind::Inode, &[])
}

/// Key of a directory entry.
pub fn dirent_key(dir: u64, name: &[u8]) -> Vec<u8> {
    key(dir, Kind::Dirent, name)
}

/// Key of the extent starting at file page `index`.
pub fn extent_key(ino: u64, index: u64) -> Vec<u8> {
    key(ino, Kind::Extent, &index.to_be_bytes())
}

/// Key of a free extent.
pub fn free_key(start: u64) -> Vec<u8> {
    key(SYSTEM_INO, Kind::Free, &start.to_be_bytes())
}

/// Key of a pending-free extent freed by commit `generation`.
pub fn pending_key(generation: u64, start: u64) -> Vec<u8> {
    let mut sub = [0u8; 16];
    sub[..8].copy_from_slice(&generation.to_be_bytes());
    sub[8..].copy_from_slice(&start.to_be_bytes());
    key(SYSTEM_INO, Kind::Pending, &sub)
}

/// Key of an extent held for snapshots, freed by commit `generation`.
pub fn held_key(generation: u64, start: u64) -> Vec<u8> {
    let mut k = pending_key(generation, start);
    k[8] = Kind::Held as u8;
    k
}

/// Key of a named snapshot.
pub fn snapshot_key(name: &[u8]) -> Vec<u8> {
    key(SYSTEM_INO, Kind::Snapshot, name)
}

/// Key of an orphan record.
pub fn orphan_key(ino: u64) -> Vec<u8> {
    key(SYSTEM_INO, Kind::Orphan, &ino.to_be_bytes())
}

/// The smallest key of `(ino, kind)`; with [`kind_end`] it bounds a range scan.
pub fn kind_start(ino: u64, kind: Kind) -> Vec<u8> {
    key(ino, kind, &[])
}

/// The first key past every `(ino, kind, ...)` key.
pub fn kind_end(ino: u64, kind: Kind) -> Vec<u8> {
    let mut k = ino.to_be_bytes().to_vec();
    k.push(kind as u8 + 1);
    k
}

/// A decoded key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key<'a> {
    /// Inode number.
    pub ino: u64,
    /// Record kind.
    pub kind: Kind,
    /// The rest of the key.
    pub sub: &'a [u8],
}

impl<'a> Key<'a> {
    /// Decodes a key.
    pub fn decode(k: &'a [u8]) -> Result<Key<'a>> {
        if k.len() < 9 {
            return Err(Error::corrupt("tree key shorter than 9 bytes"));
        }
        let ino = u64::from_be_bytes(k[..8].try_into().expect("8 bytes"));
        let kind = match k[8] {
            1 => Kind::Inode,
            2 => Kind::Dirent,
            3 => Kind::Extent,
            0x10 => Kind::Free,
            0x11 => Kind::Pending,
            0x12 => Kind::Orphan,
            0x13 => Kind::Snapshot,
            0x14 => Kind::Held,
            other => return Err(Error::corrupt(format!("unknown record kind {other}"))),
        };
        Ok(Key {
            ino,
            kind,
            sub: &k[9..],
        })
    }

    /// The sub-key as a big-endian `u64` (extent index, free start, orphan ino).
    pub fn sub_u64(&self) -> Result<u64> {
        let b: [u8; 8] = self
            .sub
            .get(..8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Error::corrupt("short sub-key"))?;
        Ok(u64::from_be_bytes(b))
    }

    /// The pending (or held) key's `(freeing generation, start)`.
    pub fn pending(&self) -> Result<(u64, u64)> {
        if self.sub.len() != 16 {
            return Err(Error::corrupt("pending or held key of wrong length"));
        }
        let g = u64::from_be_bytes(self.sub[..8].try_into().expect("8 bytes"));
        let s = u64::from_be_bytes(self.sub[8..].try_into().expect("8 bytes"));
        Ok((g, s))
    }
}

/// What an inode is, as stored in inode and directory records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InodeKind {
    /// A pseudofile.
    File = 1,
    /// A directory.
    Dir = 2,
    /// A symbolic link: its target is the inline data of its inode record
    /// (it never has extents).
    Symlink = 3,
}

impl InodeKind {
    fn decode(b: u8) -> Result<InodeKind> {
        match b {
            1 => Ok(InodeKind::File),
            2 => Ok(InodeKind::Dir),
            3 => Ok(InodeKind::Symlink),
            other => Err(Error::corrupt(format!("unknown inode kind {other}"))),
        }
    }
}

/// Size of an inode record without its inline data.
pub const INODE_HEADER: usize = 58;

/// Largest inline file for a page size: about a quarter page, so a node
/// always holds several records.
pub fn inline_limit(page_size: u32) -> usize {
    page_size as usize / 4 - 64
}

/// Most data pages one extent record covers (a record is at most ¼ page).
pub fn max_extent_pages(page_size: u32) -> u32 {
    (page_size / 4 - 32) / 8
}

/// `(ino, INODE)`: what `stat` shows, plus the data of small files (and
/// the target of a symbolic link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InodeRecord {
    /// File, directory or symbolic link.
    pub kind: InodeKind,
    /// Permission bits (`0o7777`; kept, not enforced by the library).
    pub mode: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Link count: the names of a file or symbolic link (0 for an orphan
    /// still open for writing); 2 + subdirectories for a directory.
    pub nlink: u32,
    /// A directory's parent (the root's is itself); 0 for other inodes,
    /// which may have several names.
    pub parent: u64,
    /// Size in bytes (a symbolic link: its target's length).
    pub size: u64,
    /// Access time, ns (set at creation and by `set_times`, never by reads).
    pub atime_ns: i64,
    /// Modification time, ns.
    pub mtime_ns: i64,
    /// Status change time, ns.
    pub ctime_ns: i64,
    /// The whole content of a small file, or `None` when the data lives in extents.
    pub inline: Option<Vec<u8>>,
}

impl InodeRecord {
    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(INODE_HEADER + self.inline.as_ref().map_or(0, Vec::len));
        b.push(self.kind as u8);
        b.push(u8::from(self.inline.is_some()));
        b.extend_from_slice(&self.mode.to_le_bytes());
        b.extend_from_slice(&self.uid.to_le_bytes());
        b.extend_from_slice(&self.gid.to_le_bytes());
        b.extend_from_slice(&self.nlink.to_le_bytes());
        b.extend_from_slice(&self.parent.to_le_bytes());
        b.extend_from_slice(&self.size.to_le_bytes());
        b.extend_from_slice(&self.atime_ns.to_le_bytes());
        b.extend_from_slice(&self.mtime_ns.to_le_bytes());
        b.extend_from_slice(&self.ctime_ns.to_le_bytes());
        if let Some(data) = &self.inline {
            b.extend_from_slice(data);
        }
        b
    }

    /// Decodes the value.
    pub fn decode(v: &[u8]) -> Result<InodeRecord> {
        let mut r = Reader::new(v);
        let kind = InodeKind::decode(r.u8()?)?;
        let flags = r.u8()?;
        let (mode, uid, gid, nlink) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
        let parent = r.u64()?;
        let (size, atime_ns, mtime_ns, ctime_ns) = (r.u64()?, r.i64()?, r.i64()?, r.i64()?);
        let inline = match flags {
            0 => None,
            1 => {
                let data = r.rest();
                if data.len() as u64 != size {
                    return Err(Error::corrupt("inline data length differs from file size"));
                }
                Some(data.to_vec())
            }
            other => return Err(Error::corrupt(format!("unknown inode flags {other}"))),
        };
        if kind == InodeKind::Symlink && inline.is_none() {
            return Err(Error::corrupt("symbolic link without an inline target"));
        }
        Ok(InodeRecord {
            kind,
            mode,
            uid,
            gid,
            nlink,
            parent,
            size,
            atime_ns,
            mtime_ns,
            ctime_ns,
            inline,
        })
    }

    /// A new, empty inode created at `now_ns`, with one name (a directory:
    /// its own `.` and its parent's entry; its `parent` is set by the caller).
    pub fn new(kind: InodeKind, mode: u32, uid: u32, gid: u32, now_ns: i64) -> InodeRecord {
        InodeRecord {
            kind,
            mode,
            uid,
            gid,
            nlink: if kind == InodeKind::Dir { 2 } else { 1 },
            parent: 0,
            size: 0,
            atime_ns: now_ns,
            mtime_ns: now_ns,
            ctime_ns: now_ns,
            inline: None,
        }
    }
}

/// `(dir, DIRENT, name)`: a name in a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirentRecord {
    /// The child's inode.
    pub ino: u64,
    /// The child's kind (so a listing needs no inode lookups).
    pub kind: InodeKind,
}

impl DirentRecord {
    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.ino.to_le_bytes().to_vec();
        b.push(self.kind as u8);
        b
    }

    /// Decodes the value.
    pub fn decode(v: &[u8]) -> Result<DirentRecord> {
        let mut r = Reader::new(v);
        let ino = r.u64()?;
        if ino >= MAX_INO || ino == 0 {
            return Err(Error::corrupt(format!(
                "directory entry names invalid inode {ino}"
            )));
        }
        Ok(DirentRecord {
            ino,
            kind: InodeKind::decode(r.u8()?)?,
        })
    }
}

/// `(ino, EXTENT, index)`: file pages `index..index+checksums.len()` live in
/// pages `first..first+checksums.len()`, each with its own checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtentRecord {
    /// First container page.
    pub first: u64,
    /// Generation of the commit that recorded the extent.
    pub generation: u64,
    /// `page_checksum(page, 0, bytes)` of each data page.
    pub checksums: Vec<u64>,
}

impl ExtentRecord {
    /// Pages covered.
    pub fn count(&self) -> u64 {
        self.checksums.len() as u64
    }

    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(20 + 8 * self.checksums.len());
        b.extend_from_slice(&self.first.to_le_bytes());
        b.extend_from_slice(&self.generation.to_le_bytes());
        b.extend_from_slice(&(self.checksums.len() as u32).to_le_bytes());
        for c in &self.checksums {
            b.extend_from_slice(&c.to_le_bytes());
        }
        b
    }

    /// Decodes the value.
    pub fn decode(v: &[u8]) -> Result<ExtentRecord> {
        let mut r = Reader::new(v);
        let (first, generation, n) = (r.u64()?, r.u64()?, r.u32()? as usize);
        if n == 0 || r.rest().len() != n * 8 {
            return Err(Error::corrupt("extent record of inconsistent length"));
        }
        let checksums = (0..n).map(|_| r.u64()).collect::<Result<Vec<_>>>()?;
        Ok(ExtentRecord {
            first,
            generation,
            checksums,
        })
    }
}

/// Encodes a page count (free and pending extents).
pub fn encode_count(n: u64) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

/// Decodes a page count.
pub fn decode_count(v: &[u8]) -> Result<u64> {
    let n = Reader::new(v).u64()?;
    if n == 0 {
        return Err(Error::corrupt("empty extent in the allocator state"));
    }
    Ok(n)
}

/// `(0, SNAPSHOT, name)`: a named snapshot holds the root of one committed
/// state. The pages it references are never reused while it exists: those
/// the current tree still uses are live anyway, and those the current tree
/// stopped using are [`HeldExtent`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// The generation whose state the snapshot keeps.
    pub generation: u64,
    /// That state's root.
    pub root: PagePtr,
    /// When the snapshot was taken, ns since the Unix epoch.
    pub created_ns: i64,
    /// Files (and symbolic links) in that state.
    pub files: u64,
    /// Directories in that state, the root included.
    pub dirs: u64,
    /// That state's next inode number.
    pub next_ino: u64,
}

impl SnapshotRecord {
    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(8 + PagePtr::SIZE + 32);
        b.extend_from_slice(&self.generation.to_le_bytes());
        self.root.encode(&mut b);
        b.extend_from_slice(&self.created_ns.to_le_bytes());
        b.extend_from_slice(&self.files.to_le_bytes());
        b.extend_from_slice(&self.dirs.to_le_bytes());
        b.extend_from_slice(&self.next_ino.to_le_bytes());
        b
    }

    /// Decodes the value.
    pub fn decode(v: &[u8]) -> Result<SnapshotRecord> {
        let mut r = Reader::new(v);
        let generation = r.u64()?;
        let root = PagePtr::decode(r.take(PagePtr::SIZE)?)?;
        let rec = SnapshotRecord {
            generation,
            root,
            created_ns: r.i64()?,
            files: r.u64()?,
            dirs: r.u64()?,
            next_ino: r.u64()?,
        };
        if !r.rest().is_empty() || rec.root.generation > rec.generation || rec.next_ino > MAX_INO {
            return Err(Error::corrupt("malformed snapshot record"));
        }
        Ok(rec)
    }
}

/// `(0, HELD, k, start)`: pages `start..start+count`, written by commit
/// `birth` and dropped from the current tree by commit `k`, which a
/// snapshot of a generation in `birth..k` still references.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldExtent {
    /// Pages in the extent.
    pub count: u64,
    /// Generation of the commit that wrote them.
    pub birth: u64,
}

impl HeldExtent {
    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = self.count.to_le_bytes().to_vec();
        b.extend_from_slice(&self.birth.to_le_bytes());
        b
    }

    /// Decodes the value.
    pub fn decode(v: &[u8]) -> Result<HeldExtent> {
        let mut r = Reader::new(v);
        let h = HeldExtent {
            count: r.u64()?,
            birth: r.u64()?,
        };
        if h.count == 0 || !r.rest().is_empty() {
            return Err(Error::corrupt("malformed held extent"));
        }
        Ok(h)
    }

    /// Whether a snapshot of one of `generations` still references pages
    /// written at `birth` and dropped by commit `freed_by`: they were live
    /// in exactly the generations `birth..freed_by`.
    pub fn needed_by(
        birth: u64,
        freed_by: u64,
        generations: impl IntoIterator<Item = u64>,
    ) -> bool {
        generations.into_iter().any(|s| birth <= s && s < freed_by)
    }
}

/// Checks one path component: not empty, not `.` or `..`, no `/` or NUL,
/// at most 255 bytes.
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > MAX_NAME {
        return Err(Error::NameTooLong(format!(
            "{} bytes (limit {MAX_NAME})",
            name.len()
        )));
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(Error::Arg(format!(
            "invalid name {:?}",
            String::from_utf8_lossy(name)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_inode_then_kind_then_sub() {
        let mut keys = [
            extent_key(2, 1),
            dirent_key(1, b"b"),
            inode_key(2),
            dirent_key(1, b"a"),
            free_key(9),
            extent_key(2, 0),
        ];
        keys.sort();
        let decoded: Vec<_> = keys
            .iter()
            .map(|k| Key::decode(k).unwrap())
            .map(|k| (k.ino, k.kind))
            .collect();
        assert_eq!(decoded[0], (0, Kind::Free));
        assert_eq!(decoded[1], (1, Kind::Dirent));
        assert_eq!(decoded[3], (2, Kind::Inode));
        assert_eq!(keys[4], extent_key(2, 0));
        assert!(kind_start(1, Kind::Dirent) < dirent_key(1, &[0xff; 255]));
        assert!(dirent_key(1, &[0xff; 255]) < kind_end(1, Kind::Dirent));
        assert!(kind_end(1, Kind::Dirent) < extent_key(1, 0));
    }

    #[test]
    fn records_round_trip_and_reject_garbage() {
        let ino = InodeRecord {
            kind: InodeKind::File,
            mode: 0o644,
            uid: 1000,
            gid: 100,
            nlink: 2,
            parent: 0,
            size: 3,
            atime_ns: -5,
            mtime_ns: 1,
            ctime_ns: 2,
            inline: Some(b"abc".to_vec()),
        };
        assert_eq!(InodeRecord::decode(&ino.encode()).unwrap(), ino);
        assert_eq!(ino.encode().len(), INODE_HEADER + 3);
        let link = InodeRecord {
            kind: InodeKind::Symlink,
            size: 4,
            inline: Some(b"../x".to_vec()),
            ..InodeRecord::new(InodeKind::Symlink, 0o777, 0, 0, 7)
        };
        assert_eq!(InodeRecord::decode(&link.encode()).unwrap(), link);
        let mut bad = link.encode();
        bad[1] = 0; // a symlink whose target would live in extents
        bad.truncate(INODE_HEADER);
        assert!(InodeRecord::decode(&bad).is_err());
        let d = DirentRecord {
            ino: 9,
            kind: InodeKind::Symlink,
        };
        assert_eq!(DirentRecord::decode(&d.encode()).unwrap(), d);
        let ext = ExtentRecord {
            first: 10,
            generation: 4,
            checksums: vec![1, 2, 3],
        };
        assert_eq!(ExtentRecord::decode(&ext.encode()).unwrap(), ext);
        assert!(InodeRecord::decode(&[9, 0]).is_err());
        assert!(ExtentRecord::decode(&ext.encode()[..20]).is_err());
        assert!(matches!(
            check_name(&[b'a'; 256]),
            Err(Error::NameTooLong(_))
        ));
        assert!(check_name(b"..").is_err());
    }
}
