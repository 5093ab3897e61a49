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
//!
//! A path is hashed once per lookup: XXH3 with the open's random seed
//! picks the shard (from its middle bits) and is the key of the shard's
//! table (mixed again there by the crate's [`crate::mixhash`] hasher, one
//! multiply), and the entry keeps the path,
//! compared on a hit. Two paths of one hash share a slot, the later one
//! replacing the earlier: a miss, never a wrong answer. (SipHash, std's
//! default, hashed each path twice and was a tenth of a cached read.)

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use crate::format::checksum::xxh3_64;
use crate::format::records::{ExtentRecord, InodeRecord};
use crate::format::PagePtr;
use crate::lazy::SecondUse;
use crate::mixhash::BuildMixHasher;

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
    /// starts at, when the file has one (shared: a hit hands it out
    /// without copying its checksums).
    pub first_extent: Option<(u64, Arc<ExtentRecord>)>,
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
    /// By the path's hash: the path and what it resolved to.
    paths: HashMap<u64, (Box<str>, Resolved), BuildMixHasher>,
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
        self.paths.retain(|_, (path, r)| {
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
    /// The seed of the paths' hash, random per open.
    seed: u64,
}

impl Tables {
    fn new() -> Tables {
        Tables {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            seed: RandomState::new().hash_one(0u64),
        }
    }

    fn hash(&self, path: &str) -> u64 {
        xxh3_64(path.as_bytes(), self.seed)
    }

    fn shard(&self, hash: u64) -> std::sync::MutexGuard<'_, Shard> {
        let i = (hash >> 32) as usize % SHARDS;
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
        let hash = tables.hash(path);
        let mut shard = tables.shard(hash);
        match shard.for_root(root).paths.get(&hash) {
            Some((p, r)) if &**p == path => Some(r.clone()),
            _ => None,
        }
    }

    /// Remembers what `path` resolved to in the tree under `root`, unless
    /// it is the open's first resolution.
    pub fn put(&self, root: &PagePtr, path: &str, resolved: Resolved) {
        let Some(tables) = self.tables.get_or_make(Tables::new) else {
            return;
        };
        let cost = resolved.cost(path);
        let hash = tables.hash(path);
        let mut shard = tables.shard(hash);
        let shard = shard.for_root(root);
        if shard.bytes + cost > BUDGET / SHARDS {
            shard.evict_half();
        }
        if let Some((old_path, old)) = shard.paths.insert(hash, (path.into(), resolved)) {
            shard.bytes -= old.cost(&old_path);
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
    fn a_slot_holding_another_path_of_the_same_hash_is_a_miss() {
        let memo = memo_in_use();
        memo.put(&root(1), "a/b", resolved(9));
        let tables = memo.tables.get().expect("in use");
        let hash = tables.hash("a/b");
        // As if another path with this hash had taken the slot since.
        tables.shard(hash).paths.get_mut(&hash).expect("kept").0 = "x/y".into();
        assert!(memo.get(&root(1), "a/b").is_none());
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
