//! The page pool: free pages this open has reserved (RESERVE-locked, then
//! checked free against a superblock read after locking, DESIGN §4
//! "Reservations"), handed to writers for data and to commits for tree
//! pages without another lock call each time.
//!
//! Invariants:
//! - A page is in at most one of: this pool, one writer's hands, or a
//!   commit; while it is anywhere of these it stays RESERVE-locked, so no
//!   writer of any process takes it.
//! - A page leaves the lock only after the superblock recording its use was
//!   written (`committed`), in batches; a page whose commit failed is still
//!   free in the committed state and goes back to the pool.
//! - Pages are handed out lowest first, so one writer's pages are
//!   consecutive where the pool allows (one extent, one read).

use std::collections::BTreeMap;

use crate::lock::Owner;

/// Pages reserved at once when the pool runs dry and the container has
/// that many free pages.
pub const REFILL: u64 = 64;
/// Pages reserved at once past the container's end.
pub const TAIL_REFILL: u64 = 16;
/// Unused pages the pool keeps locked; beyond it they are released.
const KEEP_MAX: u64 = 256;
/// Committed pages kept locked until released together.
const HELD_MAX: u64 = 64;

/// The reserved pages of one open.
pub struct PagePool {
    /// The reservation owner every pool page is locked under.
    pub owner: Owner,
    /// The owner of committed pages still locked: a refill takes them
    /// back without a lock call once a commit frees them.
    pub held_owner: Owner,
    /// Reserved, unused pages: start → length.
    free: BTreeMap<u64, u64>,
    free_pages: u64,
    /// Pages whose use is committed, still locked: released in batches.
    held: Vec<(u64, u64)>,
    held_pages: u64,
}

impl PagePool {
    /// An empty pool whose pages are locked under `owner`, and committed
    /// ones under `held_owner`.
    pub fn new(owner: Owner, held_owner: Owner) -> PagePool {
        PagePool {
            owner,
            held_owner,
            free: BTreeMap::new(),
            free_pages: 0,
            held: Vec::new(),
            held_pages: 0,
        }
    }

    /// Reserved pages not handed out.
    pub fn available(&self) -> u64 {
        self.free_pages
    }

    /// Adds reserved pages.
    pub fn add(&mut self, ranges: &[(u64, u64)]) {
        for &(mut s, mut l) in ranges {
            if l == 0 {
                continue;
            }
            self.free_pages += l;
            if let Some((&ps, &pl)) = self.free.range(..s).next_back() {
                if ps + pl == s {
                    self.free.remove(&ps);
                    s = ps;
                    l += pl;
                }
            }
            if let Some(nl) = self.free.remove(&(s + l)) {
                l += nl;
            }
            self.free.insert(s, l);
        }
    }

    /// Takes up to `want` pages: the lowest run that holds them all if
    /// there is one (a file's pages stay one extent), else lowest first.
    pub fn take(&mut self, want: u64) -> Vec<(u64, u64)> {
        let whole = self
            .free
            .iter()
            .find(|&(_, &l)| l >= want)
            .filter(|_| want > 0);
        if let Some((&s, &l)) = whole {
            self.free.remove(&s);
            if want < l {
                self.free.insert(s + want, l - want);
            }
            self.free_pages -= want;
            return vec![(s, want)];
        }
        let mut out = Vec::new();
        let mut need = want;
        while need > 0 {
            let Some((&s, &l)) = self.free.iter().next() else {
                break;
            };
            self.free.remove(&s);
            let n = l.min(need);
            if n < l {
                self.free.insert(s + n, l - n);
            }
            out.push((s, n));
            self.free_pages -= n;
            need -= n;
        }
        out
    }

    /// Pages beyond what the pool keeps: the caller releases their locks.
    pub fn excess(&mut self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        while self.free_pages > KEEP_MAX {
            let Some((&s, &l)) = self.free.iter().next_back() else {
                break;
            };
            let n = l.min(self.free_pages - KEEP_MAX);
            self.free.remove(&s);
            if n < l {
                self.free.insert(s, l - n);
            }
            out.push((s + l - n, n));
            self.free_pages -= n;
        }
        out
    }

    /// Everything the pool holds, its free pages then its committed ones
    /// still locked, as `(pages, owner)`; the caller releases their locks.
    pub fn drain(&mut self) -> [(Vec<(u64, u64)>, Owner); 2] {
        self.free_pages = 0;
        self.held_pages = 0;
        [
            (
                std::mem::take(&mut self.free).into_iter().collect(),
                self.owner,
            ),
            (std::mem::take(&mut self.held), self.held_owner),
        ]
    }

    /// Records pages whose use a published superblock records; returns
    /// the batch to unlock once enough are held.
    pub fn committed(&mut self, ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
        for &(s, l) in ranges {
            match self.held.last_mut() {
                Some(last) if last.0 + last.1 == s => last.1 += l,
                _ => self.held.push((s, l)),
            }
            self.held_pages += l;
        }
        if self.held_pages >= HELD_MAX || self.held.len() >= 16 {
            self.held_pages = 0;
            std::mem::take(&mut self.held)
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_come_back_merged_and_leave_lowest_first() {
        let mut p = PagePool::new(1, 2);
        p.add(&[(10, 5), (20, 5)]);
        p.add(&[(15, 5)]);
        assert_eq!(p.available(), 15);
        assert_eq!(p.take(7), vec![(10, 7)]);
        assert_eq!(p.take(100), vec![(17, 8)]);
        assert!(p.take(1).is_empty());
    }

    #[test]
    fn committed_pages_are_released_in_batches() {
        let mut p = PagePool::new(1, 2);
        assert!(p.committed(&[(1, 10)]).is_empty());
        let out = p.committed(&[(11, HELD_MAX)]);
        assert_eq!(out, vec![(1, 10 + HELD_MAX)]);
    }
}
