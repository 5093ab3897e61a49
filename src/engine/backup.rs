//! Online backup (DESIGN §5 "Snapshots"): one pinned committed state copied
//! record by record into a fresh, compact container, as `mdb_copy -c` does.
//!
//! The copy reads one state under its pin, so writers of any process go
//! on meanwhile and are never blocked. Only what the state's namespace
//! reaches is copied: no allocator records, no snapshots, no orphans. Its
//! pages are numbered anew from 1 in key order, data pages right before
//! the leaf that names them, so the copy is written strictly front to back
//! and every page is live; data checksums are recomputed for the new page
//! numbers after the old ones verified. The result is generation 1 in
//! slot B, as a new container is.

use std::collections::HashSet;

use super::{Engine, Snapshot};
use crate::error::Result;
use crate::format::node::{leaf_entry_size, HEADER};
use crate::format::records::{self, ExtentRecord, InodeKind, InodeRecord, Key, Kind, SYSTEM_INO};
use crate::format::{page_checksum, Node, PagePtr, Superblock, SUPERBLOCK_SLOT};

/// What a backup wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// The generation copied.
    pub generation: u64,
    /// Pages in the copy, page 0 included.
    pub pages: u64,
    /// Files and symbolic links copied.
    pub files: u64,
    /// Directories copied, the root included.
    pub dirs: u64,
}

/// Bytes gathered before one write to the copy.
const WRITE_CHUNK: usize = 1 << 20;
/// The generation of every page of the copy.
const COPY_GENERATION: u64 = 1;

/// Pages written front to back through one buffer.
struct Out<'w> {
    page_size: usize,
    next_page: u64,
    buf: Vec<u8>,
    buf_first: u64,
    write: &'w mut dyn FnMut(&[u8], u64) -> Result<()>,
}

impl Out<'_> {
    /// Appends one page; returns its number.
    fn page(&mut self, bytes: &[u8]) -> Result<u64> {
        let page = self.next_page;
        self.buf.extend_from_slice(bytes);
        self.next_page += 1;
        if self.buf.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        Ok(page)
    }

    fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            (self.write)(&self.buf, self.buf_first * self.page_size as u64)?;
            self.buf.clear();
        }
        self.buf_first = self.next_page;
        Ok(())
    }
}

/// Splits entries of the given encoded sizes into nodes: greedily up to
/// 7/8 of a page (room for later edits), and a small last node is merged
/// with the one before it, or the two are split evenly. Returns the end
/// index of each node.
fn pack(sizes: &[usize], capacity: usize) -> Vec<usize> {
    let target = capacity * 7 / 8;
    let mut ends = Vec::new();
    let mut used = 0;
    for (i, &s) in sizes.iter().enumerate() {
        if used > 0 && used + s > target {
            ends.push(i);
            used = 0;
        }
        used += s;
    }
    ends.push(sizes.len());
    let n = ends.len();
    if n >= 2 {
        let prev_start = if n >= 3 { ends[n - 3] } else { 0 };
        let last: usize = sizes[ends[n - 2]..].iter().sum();
        if last < capacity / 4 {
            let both: usize = sizes[prev_start..].iter().sum();
            ends.truncate(n - 2);
            if both > capacity {
                // Cut the two evenly by bytes.
                let mut acc = 0;
                let mut cut = prev_start;
                while acc + sizes[cut] <= both / 2 {
                    acc += sizes[cut];
                    cut += 1;
                }
                ends.push(cut.max(prev_start + 1));
            }
            ends.push(sizes.len());
        }
    }
    ends
}

/// Copies the state `snap` into `write` (called with bytes and their
/// offset, front to back); `progress` gets (data pages done, data pages
/// in all).
pub fn copy_compact(
    engine: &Engine,
    snap: &Snapshot,
    write: &mut dyn FnMut(&[u8], u64) -> Result<()>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<CopyReport> {
    let ps = engine.page_size() as usize;
    let root = snap.root();
    let mut orphans = HashSet::new();
    let lo = records::kind_start(SYSTEM_INO, Kind::Orphan);
    let hi = records::kind_end(SYSTEM_INO, Kind::Orphan);
    super::tree::visit(engine, &root, &lo, Some(&hi), false, &mut |k, _| {
        orphans.insert(Key::decode(k)?.sub_u64()?);
        Ok(true)
    })?;
    // Everything past the system inode's records, in key order.
    let first_key = records::kind_start(records::ROOT_INO, Kind::Inode);
    let mut total = 0u64;
    super::tree::visit(engine, &root, &first_key, None, false, &mut |k, v| {
        let key = Key::decode(k)?;
        if key.kind == Kind::Extent && !orphans.contains(&key.ino) {
            total += ExtentRecord::decode(v)?.count();
        }
        Ok(true)
    })?;

    let mut out = Out {
        page_size: ps,
        next_page: 1,
        buf: Vec::with_capacity(WRITE_CHUNK + ps),
        buf_first: 1,
        write,
    };
    let mut report = CopyReport {
        generation: snap.sb.generation,
        ..Default::default()
    };
    let capacity = ps - HEADER;
    let mut leaf: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut leaf_bytes = 0;
    let mut held_back: Option<Vec<(Vec<u8>, Vec<u8>)>> = None;
    let mut level: Vec<(Vec<u8>, PagePtr)> = Vec::new();
    let mut data = vec![0u8; ps * records::max_extent_pages(engine.page_size()) as usize];
    let mut done = 0u64;
    let emit_leaf = |entries: &[(Vec<u8>, Vec<u8>)],
                     out: &mut Out,
                     level: &mut Vec<(Vec<u8>, PagePtr)>|
     -> Result<()> {
        let page = out.next_page;
        let n = Node::build_leaf(
            ps,
            page,
            COPY_GENERATION,
            entries.iter().map(|(k, v)| (&k[..], &v[..])),
        );
        out.page(n.bytes())?;
        let ptr = PagePtr {
            page,
            generation: COPY_GENERATION,
            checksum: page_checksum(page, COPY_GENERATION, n.bytes()),
        };
        level.push((entries[0].0.clone(), ptr));
        Ok(())
    };
    super::tree::visit(engine, &root, &first_key, None, false, &mut |k, v| {
        let key = Key::decode(k)?;
        if orphans.contains(&key.ino) {
            return Ok(true);
        }
        let value = match key.kind {
            Kind::Extent => {
                let ext = ExtentRecord::decode(v)?;
                let n = ext.count() as usize;
                let buf = &mut data[..n * ps];
                engine.read_data_run(ext.first, &ext.checksums, buf)?;
                let first = out.next_page;
                let mut checksums = Vec::with_capacity(n);
                for (i, page) in buf.chunks_exact(ps).enumerate() {
                    checksums.push(page_checksum(first + i as u64, 0, page));
                    out.page(page)?;
                }
                done += n as u64;
                progress(done, total);
                ExtentRecord {
                    first,
                    generation: COPY_GENERATION,
                    checksums,
                }
                .encode()
            }
            Kind::Inode => {
                match InodeRecord::decode(v)?.kind {
                    InodeKind::Dir => report.dirs += 1,
                    InodeKind::File | InodeKind::Symlink => report.files += 1,
                }
                v.to_vec()
            }
            _ => v.to_vec(),
        };
        let size = leaf_entry_size(k, &value);
        if leaf_bytes > 0 && leaf_bytes + size > capacity * 7 / 8 {
            if let Some(prev) = held_back.take() {
                emit_leaf(&prev, &mut out, &mut level)?;
            }
            held_back = Some(std::mem::take(&mut leaf));
            leaf_bytes = 0;
        }
        leaf_bytes += size;
        leaf.push((k.to_vec(), value));
        Ok(true)
    })?;
    // The last leaf and the one held back, balanced like any two nodes.
    let mut tail = held_back.unwrap_or_default();
    tail.append(&mut leaf);
    let sizes: Vec<usize> = tail.iter().map(|(k, v)| leaf_entry_size(k, v)).collect();
    let mut start = 0;
    for end in pack(&sizes, capacity) {
        emit_leaf(&tail[start..end], &mut out, &mut level)?;
        start = end;
    }

    // Internal levels, bottom up.
    let mut height = 0u8;
    while level.len() > 1 {
        height += 1;
        let sizes: Vec<usize> = level
            .iter()
            .map(|(k, _)| 2 + k.len() + PagePtr::SIZE)
            .collect();
        let mut upper = Vec::new();
        let mut start = 0;
        for end in pack(&sizes, capacity) {
            let page = out.next_page;
            let n = Node::build_internal(
                ps,
                page,
                COPY_GENERATION,
                height,
                level[start..end].iter().map(|(k, p)| (&k[..], *p)),
            );
            out.page(n.bytes())?;
            upper.push((
                level[start].0.clone(),
                PagePtr {
                    page,
                    generation: COPY_GENERATION,
                    checksum: page_checksum(page, COPY_GENERATION, n.bytes()),
                },
            ));
            start = end;
        }
        level = upper;
    }
    let root = level
        .pop()
        .expect("the root inode makes one leaf at least")
        .1;
    out.flush()?;

    let sb = Superblock {
        page_size: engine.page_size(),
        generation: COPY_GENERATION,
        root,
        page_count: out.next_page,
        next_ino: snap.sb.next_ino,
        free_pages: 0,
        pending_pages: 0,
        files: report.files,
        dirs: report.dirs,
        created_ns: snap.sb.created_ns,
        label: snap.sb.label.clone(),
        synced_commit: true,
        manifest: Default::default(),
        held_pages: 0,
        snapshots: 0,
    };
    let mut page0 = vec![0u8; ps];
    let slot = Superblock::slot_offset(COPY_GENERATION) as usize;
    page0[slot..slot + SUPERBLOCK_SLOT].copy_from_slice(&sb.encode());
    (out.write)(&page0, 0)?;
    report.pages = out.next_page;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::pack;

    #[test]
    fn packing_fills_nodes_and_never_leaves_a_tiny_last_one() {
        let cap = 4072;
        for n in [1usize, 2, 10, 37, 38, 39, 200, 1000] {
            for size in [20usize, 300, 1000] {
                let sizes = vec![size; n];
                let ends = pack(&sizes, cap);
                assert_eq!(*ends.last().unwrap(), n);
                let mut start = 0;
                for (i, &end) in ends.iter().enumerate() {
                    assert!(end > start, "empty node for {n} × {size}");
                    let bytes: usize = sizes[start..end].iter().sum();
                    assert!(bytes <= cap, "overfull node for {n} × {size}");
                    if ends.len() > 1 {
                        assert!(bytes >= cap / 4 - size, "tiny node {i} for {n} × {size}");
                    }
                    start = end;
                }
            }
        }
    }
}
