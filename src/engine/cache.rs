//! The page cache: decoded tree nodes keyed by the *whole* pointer (page,
//! generation, checksum). A page rewritten by a later or failed commit has
//! another key, so a stale node can never be served.
//!
//! Sharded by page number so threads reading different files rarely meet on
//! one mutex; each shard evicts with the CLOCK algorithm, so the hot top of
//! the tree stays while nodes of old generations age out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::format::{Node, PagePtr};
use crate::mixhash::BuildMixHasher;

const SHARDS: usize = 16;

/// A bounded cache of decoded nodes.
pub struct PageCache {
    shards: Vec<RwLock<Shard>>,
    per_shard: usize,
}

struct Slot {
    ptr: PagePtr,
    node: Arc<Node>,
    /// Used since the clock hand last passed: spared once. Atomic, so a
    /// hit needs only the shard's read lock.
    referenced: AtomicBool,
}

#[derive(Default)]
struct Shard {
    index: HashMap<PagePtr, usize, BuildMixHasher>,
    slots: Vec<Slot>,
    hand: usize,
}

impl PageCache {
    /// A cache of about `capacity` nodes.
    pub fn new(capacity: usize) -> PageCache {
        PageCache {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            per_shard: (capacity / SHARDS).max(4),
        }
    }

    fn shard(&self, ptr: &PagePtr) -> &RwLock<Shard> {
        &self.shards[(ptr.page as usize) % SHARDS]
    }

    fn read(&self, ptr: &PagePtr) -> RwLockReadGuard<'_, Shard> {
        self.shard(ptr).read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, ptr: &PagePtr) -> RwLockWriteGuard<'_, Shard> {
        self.shard(ptr).write().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached node behind `ptr`.
    pub fn get(&self, ptr: &PagePtr) -> Option<Arc<Node>> {
        let shard = self.read(ptr);
        let slot = &shard.slots[*shard.index.get(ptr)?];
        if !slot.referenced.load(Ordering::Relaxed) {
            slot.referenced.store(true, Ordering::Relaxed);
        }
        Some(Arc::clone(&slot.node))
    }

    /// Caches a verified node.
    pub fn insert(&self, ptr: PagePtr, node: Arc<Node>) {
        let cap = self.per_shard;
        let mut shard = self.write(&ptr);
        let shard = &mut *shard;
        if let Some(&i) = shard.index.get(&ptr) {
            shard.slots[i].node = node;
            return;
        }
        let slot = Slot {
            ptr,
            node,
            referenced: AtomicBool::new(false),
        };
        if shard.slots.len() < cap {
            shard.index.insert(ptr, shard.slots.len());
            shard.slots.push(slot);
            return;
        }
        // Sweep: clear reference bits until an unreferenced slot comes up.
        loop {
            let hand = shard.hand;
            shard.hand = (hand + 1) % cap;
            let victim = &mut shard.slots[hand];
            if *victim.referenced.get_mut() {
                *victim.referenced.get_mut() = false;
                continue;
            }
            shard.index.remove(&victim.ptr);
            *victim = slot;
            shard.index.insert(ptr, hand);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn node() -> Arc<Node> {
        let at = PagePtr {
            page: 1,
            generation: 1,
            checksum: 0,
        };
        let page = crate::format::node::encode_leaf(4096, 1, 1, std::iter::empty());
        Arc::new(crate::format::node::decode(page, &at).expect("an empty leaf decodes"))
    }

    fn ptr(page: u64) -> PagePtr {
        // One shard: every page number a multiple of SHARDS.
        PagePtr {
            page: page * SHARDS as u64,
            generation: 1,
            checksum: page,
        }
    }

    #[test]
    fn clock_keeps_a_hot_entry_while_cold_ones_come_and_go() {
        let cache = PageCache::new(4 * SHARDS);
        cache.insert(ptr(0), node());
        for p in 1..1000 {
            assert!(cache.get(&ptr(0)).is_some(), "hot entry evicted at {p}");
            cache.insert(ptr(p), node());
        }
        assert!(cache.get(&ptr(998)).is_some());
        assert!(cache.get(&ptr(1)).is_none());
    }
}
