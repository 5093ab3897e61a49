//! The lookup memo: paths this open resolved, and the first extent of the
//! file each names, remembered for one committed tree (DESIGN §4, "re-walk
//! nothing when nothing changed"). A read of a path resolved before costs
//! no tree descent at all, as the kernel's dentry cache spares `open()`.
//!
//! Invariant: an entry is served only for the tree it was resolved in. A
//! shard remembers the root pointer (page, generation and checksum) its
//! entries came from and forgets them all when asked about another root;
//! a committed tree never changes under its root, so what a path resolved
//! to in it stays true. Only successful resolutions are kept.
//!
//! Bounded by bytes: a shard past its share forgets half its entries
//! (cheap, and a workload larger than the memo only loses part of the
//! memo's gain).
//!
//! An open's first resolution is not remembered, and the memo's tables
//! are made only with its second: a process that opens, reads one file
//! and exits (a CGI program) would only pay for them (64 shards, and the
//! random keys of their hasher: a `getrandom`).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

use crate::format::records::{ExtentRecord, InodeRecord};
use crate::format::PagePtr;
use crate::lazy::SecondUse;

const SHARDS: usize = 64;
/// Memory the memo may use, all shards together: about 130,000 paths of
/// small files, so that a working set of 100,000 files stays resolved.
/// It is only taken as paths are resolved: a short-lived process uses
/// almost none.
const BUDGET: usize = 32 << 20;
/// Bytes an entry costs beyond its path, checksums and inline data: the
/// map slot at the table's load factor, the record, and the two
/// allocations' headers.
const ENTRY_OVERHEAD: usize = 224;

/// What a path resolved to (following symbolic links) in one tree.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub ino: u64,
    pub rec: InodeRecord,
    /// The extent holding the file's first page, with the file page it
    /// starts at, when the file has one.
    pub first_extent: Option<(u64, ExtentRecord)>,
}

impl Resolved {
    fn cost(&self, path: &str) -> usize {
        ENTRY_OVERHEAD
            + path.len()
            + self.rec.inline.as_ref().map_or(0, Vec::len)
            + self
                .first_extent
                .as_ref()
                .map_or(0, |(_, e)| 8 * e.checksums.len())
    }
}

#[derive(Default)]
struct Shard {
    root: Option<PagePtr>,
    paths: HashMap<Box<str>, Resolved>,
    bytes: usize,
}

impl Shard {
    /// The shard's entries if they belong to `root`; emptied otherwise.
    fn for_root(&mut self, root: &PagePtr) -> &mut Self {
        if self.root.as_ref() != Some(root) {
            self.paths.clear();
            self.bytes = 0;
            self.root = Some(*root);
        }
        self
    }

    /// Forgets every other entry (in the table's order, which has nothing
    /// to do with use): the shard stays between half full and full.
    fn evict_half(&mut self) {
        let (mut keep, mut bytes) = (false, 0);
        self.paths.retain(|path, r| {
            keep = !keep;
            if keep {
                bytes += r.cost(path);
            }
            keep
        });
        self.bytes = bytes;
    }
}

/// Resolved paths of one open, per committed tree.
pub(crate) struct LookupMemo {
    /// Made by the second [`LookupMemo::put`]: the open's first
    /// resolution is not remembered.
    tables: SecondUse<Tables>,
}

struct Tables {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
}

impl Tables {
    fn new() -> Tables {
        Tables {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, path: &str) -> std::sync::MutexGuard<'_, Shard> {
        let i = self.hasher.hash_one(path) as usize % SHARDS;
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl LookupMemo {
    pub fn new() -> LookupMemo {
        LookupMemo {
            tables: SecondUse::new(),
        }
    }

    /// What `path` resolved to in the tree under `root`, if remembered.
    pub fn get(&self, root: &PagePtr, path: &str) -> Option<Resolved> {
        let tables = self.tables.get()?;
        tables.shard(path).for_root(root).paths.get(path).cloned()
    }

    /// Remembers what `path` resolved to in the tree under `root`, unless
    /// it is the open's first resolution.
    pub fn put(&self, root: &PagePtr, path: &str, resolved: Resolved) {
        let Some(tables) = self.tables.get_or_make(Tables::new) else {
            return;
        };
        let cost = resolved.cost(path);
        let mut shard = tables.shard(path);
        let shard = shard.for_root(root);
        if shard.bytes + cost > BUDGET / SHARDS {
            shard.evict_half();
        }
        if let Some(old) = shard.paths.insert(path.into(), resolved) {
            shard.bytes -= old.cost(path);
        }
        shard.bytes += cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::records::InodeKind;

    fn root(generation: u64) -> PagePtr {
        PagePtr {
            page: 3,
            generation,
            checksum: generation * 7,
        }
    }

    fn resolved(ino: u64) -> Resolved {
        Resolved {
            ino,
            rec: InodeRecord {
                kind: InodeKind::File,
                mode: 0o644,
                uid: 0,
                gid: 0,
                nlink: 1,
                parent: 0,
                size: 10,
                atime_ns: 0,
                mtime_ns: 0,
                ctime_ns: 0,
                inline: None,
            },
            first_extent: None,
        }
    }

    /// A memo past its open's first resolution (which it does not keep).
    fn memo_in_use() -> LookupMemo {
        let memo = LookupMemo::new();
        memo.put(&root(1), "first", resolved(1));
        assert!(memo.get(&root(1), "first").is_none());
        memo
    }

    #[test]
    fn the_first_resolution_is_not_remembered() {
        let memo = LookupMemo::new();
        memo.put(&root(5), "a/b", resolved(9));
        assert!(memo.get(&root(5), "a/b").is_none());
        assert!(memo.tables.get().is_none(), "no tables for one resolution");
        memo.put(&root(5), "a/b", resolved(9));
        assert_eq!(memo.get(&root(5), "a/b").map(|r| r.ino), Some(9));
    }

    #[test]
    fn an_entry_is_served_only_for_the_tree_it_came_from() {
        let memo = memo_in_use();
        memo.put(&root(5), "a/b", resolved(9));
        assert_eq!(memo.get(&root(5), "a/b").map(|r| r.ino), Some(9));
        assert!(memo.get(&root(5), "a/c").is_none());
        // Another tree: forgotten, and not back for the first one either.
        assert!(memo.get(&root(6), "a/b").is_none());
        assert!(memo.get(&root(5), "a/b").is_none());
    }

    #[test]
    fn the_memo_stays_within_its_budget() {
        let memo = memo_in_use();
        let n = 4 * BUDGET / ENTRY_OVERHEAD;
        for i in 0..n {
            memo.put(&root(1), &format!("f{i}"), resolved(i as u64));
        }
        let shards = &memo.tables.get().expect("in use").shards;
        let used: usize = shards.iter().map(|s| s.lock().unwrap().bytes).sum();
        assert!(used <= BUDGET, "{used} bytes used of {BUDGET}");
        assert!(used > BUDGET / 3, "the memo keeps entries: {used} bytes");
        assert_eq!(
            memo.get(&root(1), &format!("f{}", n - 1)).map(|r| r.ino),
            Some(n as u64 - 1)
        );
    }
}
