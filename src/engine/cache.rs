//! The page cache: decoded tree nodes keyed by the *whole* pointer (page,
//! generation, checksum). A page rewritten by a later or failed commit has
//! another key, so a stale node can never be served.
//!
//! Sharded by page number so threads reading different files rarely meet on
//! one mutex.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::format::{Node, PagePtr};

const SHARDS: usize = 16;

/// A bounded cache of decoded nodes.
pub struct PageCache {
    shards: Vec<Mutex<HashMap<PagePtr, Arc<Node>>>>,
    per_shard: usize,
}

impl PageCache {
    /// A cache of about `capacity` nodes.
    pub fn new(capacity: usize) -> PageCache {
        PageCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: (capacity / SHARDS).max(4),
        }
    }

    fn shard(&self, ptr: &PagePtr) -> &Mutex<HashMap<PagePtr, Arc<Node>>> {
        &self.shards[(ptr.page as usize) % SHARDS]
    }

    /// The cached node behind `ptr`.
    pub fn get(&self, ptr: &PagePtr) -> Option<Arc<Node>> {
        self.shard(ptr)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(ptr)
            .cloned()
    }

    /// Caches a verified node. When the shard is full an arbitrary entry
    /// makes room (hash order is as good as random here).
    pub fn insert(&self, ptr: PagePtr, node: Arc<Node>) {
        let mut shard = self.shard(&ptr).lock().unwrap_or_else(|p| p.into_inner());
        if shard.len() >= self.per_shard {
            if let Some(victim) = shard.keys().next().copied() {
                shard.remove(&victim);
            }
        }
        shard.insert(ptr, node);
    }
}
