//! Directory listings: [`ReadDir`] iterates one directory as of the
//! generation it was opened at, whatever commits happen meanwhile.

use crate::engine::{tree, Snapshot};
use crate::error::Result;
use crate::format::records::{self, DirentRecord, InodeKind, Key, Kind};
use crate::fs::{self, FileType, Fs, SnapView};

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (one path component).
    pub name: String,
    /// File, directory or symbolic link (not followed).
    pub kind: FileType,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes (0 for directories; a link: its target's length).
    pub size: u64,
}

/// Entries fetched from the tree per step.
const BATCH: usize = 64;

/// An iterator over a directory's entries, in name order (bytewise).
pub struct ReadDir {
    fs: Fs,
    snap: Snapshot,
    dir: u64,
    next_key: Vec<u8>,
    pending: std::collections::VecDeque<DirEntry>,
    done: bool,
}

impl ReadDir {
    pub(crate) fn new(fs: Fs, snap: Snapshot, dir: u64) -> ReadDir {
        let next_key = records::kind_start(dir, Kind::Dirent);
        ReadDir {
            fs,
            snap,
            dir,
            next_key,
            pending: Default::default(),
            done: false,
        }
    }

    fn fetch(&mut self) -> Result<()> {
        let engine = self.fs.engine();
        let hi = records::kind_end(self.dir, Kind::Dirent);
        let mut raw = Vec::new();
        tree::visit(
            engine,
            &self.snap.root(),
            &self.next_key,
            Some(&hi),
            false,
            &mut |k, v| {
                raw.push((k.to_vec(), DirentRecord::decode(v)?));
                Ok(raw.len() < BATCH)
            },
        )?;
        if raw.len() < BATCH {
            self.done = true;
        }
        if let Some((k, _)) = raw.last() {
            self.next_key = k.clone();
            self.next_key.push(0);
        }
        let view = SnapView {
            engine,
            snap: &self.snap,
        };
        let sizes = sizes_of(&view, &self.snap, &raw)?;
        for (k, d) in raw {
            let size = match d.kind {
                InodeKind::Dir => Some(0),
                _ => sizes
                    .binary_search_by_key(&d.ino, |&(i, _)| i)
                    .ok()
                    .map(|i| sizes[i].1),
            };
            self.pending.push_back(match size {
                Some(size) => entry_with_size(&k, d, size)?,
                None => entry_of(&view, &k, d)?,
            });
        }
        Ok(())
    }
}

/// The sizes of the inodes a batch of entries names, from one range scan
/// of the tree when their numbers lie close together (files made in a row
/// have consecutive inodes, and one inode's records are adjacent), so a
/// listing costs no tree descent per entry. Sorted by inode; entries it
/// does not hold (scattered numbers) look their inode up one by one.
fn sizes_of(
    view: &SnapView,
    snap: &Snapshot,
    raw: &[(Vec<u8>, DirentRecord)],
) -> Result<Vec<(u64, u64)>> {
    let inos = raw
        .iter()
        .filter(|(_, d)| d.kind != InodeKind::Dir)
        .map(|(_, d)| d.ino);
    let (Some(lo), Some(hi)) = (inos.clone().min(), inos.clone().max()) else {
        return Ok(Vec::new());
    };
    if hi - lo > 4 * raw.len() as u64 {
        return Ok(Vec::new());
    }
    let mut sizes = Vec::with_capacity(raw.len());
    // The scan passes every record of the inodes in range (a directory's
    // entries too): it stops at a budget, and whatever it did not reach is
    // looked up on its own.
    let mut budget = 16 * raw.len() + 64;
    tree::visit(
        view.engine,
        &snap.root(),
        &records::inode_key(lo),
        Some(&records::kind_end(hi, Kind::Inode)),
        false,
        &mut |k, v| {
            let key = Key::decode(k)?;
            if key.kind == Kind::Inode {
                sizes.push((key.ino, records::InodeRecord::decode(v)?.size));
            }
            budget -= 1;
            Ok(budget > 0)
        },
    )?;
    Ok(sizes)
}

/// The listing entry of the directory record `key` → `d`, of `size` bytes.
fn entry_with_size(key: &[u8], d: DirentRecord, size: u64) -> Result<DirEntry> {
    Ok(DirEntry {
        name: String::from_utf8_lossy(Key::decode(key)?.sub).into_owned(),
        kind: FileType::of(d.kind),
        ino: d.ino,
        size,
    })
}

/// The listing entry of the directory record `key` → `d`, with the size
/// read from the inode in `r` (the same state the record came from).
pub(crate) fn entry_of(r: &dyn fs::Records, key: &[u8], d: DirentRecord) -> Result<DirEntry> {
    let size = if d.kind == InodeKind::Dir {
        0
    } else {
        fs::inode(r, d.ino)?.size
    };
    entry_with_size(key, d, size)
}

impl Iterator for ReadDir {
    type Item = Result<DirEntry>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.fs.engine().check_usable() {
            self.done = true;
            self.pending.clear();
            return Some(Err(e));
        }
        if self.pending.is_empty() && !self.done {
            if let Err(e) = self.fetch() {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.pending.pop_front().map(Ok)
    }
}
