//! The lock map (DESIGN §4): named regions of OFD byte-range locks far past
//! any data, plus the in-process table that separates threads sharing one
//! descriptor. Nothing above this layer computes a lock offset.
//!
//! Invariants kept here:
//! - Lock order is FILE → RESERVE → COMMIT; under COMMIT only try-locks.
//! - A page is handed to at most one writer at a time: a reservation is
//!   recorded before the writer checks the page is free, and released only
//!   after the superblock that records the page's use is written.
//! - The oldest pinned generation is known to every committer, so no page a
//!   reader may still follow is reused.
//!
//! Until the cross-process lock map lands, a read-write open holds the
//! `CONTAINER` region exclusively (the 2009 library's semantics), so the
//! in-process table alone separates every writer of the container.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::storage::{LockMode, Storage};

/// Base of the lock regions: 2^62, past any container's data.
pub const BASE: u64 = 1 << 62;
/// Whole-container region.
pub const CONTAINER: u64 = BASE;
/// Commit serialization.
#[allow(dead_code)] // taken by the cross-process lock map (DESIGN §4), next
pub const COMMIT: u64 = BASE + 1;
/// One writer per pseudofile: `FILE + ino`.
#[allow(dead_code)] // taken by the cross-process lock map (DESIGN §4), next
pub const FILE: u64 = BASE + (1 << 56);
/// Pinned generations: `PIN + generation`.
#[allow(dead_code)] // taken by the cross-process lock map (DESIGN §4), next
pub const PIN: u64 = BASE + (1 << 58);
/// Reserved pages: `RESERVE + page`.
#[allow(dead_code)] // taken by the cross-process lock map (DESIGN §4), next
pub const RESERVE: u64 = BASE + (1 << 59);

/// Locks of one open container.
pub struct LockMap {
    storage: Arc<dyn Storage>,
    commit: Gate<bool>,
    files: Gate<HashMap<u64, ()>>,
    pins: Mutex<BTreeMap<u64, usize>>,
    reservations: Mutex<Reservations>,
    container_mode: Mutex<Option<LockMode>>,
}

/// A mutex-protected value with a condition variable for timed waits.
struct Gate<T> {
    state: Mutex<T>,
    changed: Condvar,
}

impl<T> Gate<T> {
    fn new(v: T) -> Gate<T> {
        Gate {
            state: Mutex::new(v),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `free(state)` holds, then runs `take(state)`; `Busy` after `timeout`.
    fn acquire(
        &self,
        timeout: Duration,
        what: &dyn Fn() -> String,
        free: impl Fn(&T) -> bool,
        take: impl FnOnce(&mut T),
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut g = self.lock();
        while !free(&g) {
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Busy(format!(
                    "{} is locked by another handle (waited {:?})",
                    what(),
                    timeout
                )));
            }
            g = self
                .changed
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        take(&mut g);
        Ok(())
    }

    fn release(&self, f: impl FnOnce(&mut T)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }
}

/// Held while a commit runs; released on drop.
pub struct CommitGuard<'a> {
    map: &'a LockMap,
}

impl Drop for CommitGuard<'_> {
    fn drop(&mut self) {
        self.map.commit.release(|held| *held = false);
    }
}

/// Held by a file's one writer; released on drop.
pub struct FileGuard {
    map: Arc<LockMap>,
    ino: u64,
}

impl Drop for FileGuard {
    fn drop(&mut self) {
        let ino = self.ino;
        self.map.files.release(|files| {
            files.remove(&ino);
        });
    }
}

/// Keeps generation `generation` (and every later one) readable.
pub struct Pin {
    map: Arc<LockMap>,
    generation: u64,
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut pins = self.map.pins.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = pins.get_mut(&self.generation) {
            *n -= 1;
            if *n == 0 {
                pins.remove(&self.generation);
            }
        }
    }
}

/// Identifies who holds a reservation.
pub type Owner = u64;

/// An owner id no reservation has: overlap checks against it see everyone's.
pub const ANYONE: Owner = 0;

/// Page ranges handed to writers and not yet committed.
#[derive(Default)]
pub struct Reservations {
    /// start → (len, owner)
    ranges: BTreeMap<u64, (u64, Owner)>,
    next_owner: Owner,
}

impl Reservations {
    /// Whether any page of `start..start+len` is reserved by someone other than `me`.
    pub fn overlaps_other(&self, start: u64, len: u64, me: Owner) -> bool {
        self.first_overlap(start, len, me).is_some()
    }

    /// The first range of another owner overlapping `start..start+len`.
    pub fn first_overlap(&self, start: u64, len: u64, me: Owner) -> Option<(u64, u64)> {
        let end = start + len;
        // A range starting before `start` may still reach into it.
        let before = self
            .ranges
            .range(..start)
            .next_back()
            .map(|(&s, &v)| (s, v));
        before
            .into_iter()
            .chain(self.ranges.range(start..end).map(|(&s, &v)| (s, v)))
            .find(|&(s, (l, o))| o != me && s + l > start && s < end)
            .map(|(s, (l, _))| (s, l))
    }

    /// End of the highest reservation (0 when none).
    pub fn high_water(&self) -> u64 {
        self.ranges
            .iter()
            .map(|(&s, &(l, _))| s + l)
            .max()
            .unwrap_or(0)
    }

    /// Records a reservation; the caller checked it overlaps nobody.
    pub fn insert(&mut self, start: u64, len: u64, owner: Owner) {
        debug_assert!(!self.overlaps_other(start, len, owner));
        self.ranges.insert(start, (len, owner));
    }

    /// Drops every reservation of `owner`.
    pub fn release_owner(&mut self, owner: Owner) {
        self.ranges.retain(|_, &mut (_, o)| o != owner);
    }

    /// Drops `owner`'s reservations of the pages `start..start+len`,
    /// keeping the parts of its ranges outside them.
    pub fn release_range(&mut self, start: u64, len: u64, owner: Owner) {
        let end = start + len;
        let hit: Vec<(u64, u64)> = self
            .ranges
            .iter()
            .filter(|&(&s, &(l, o))| o == owner && s < end && s + l > start)
            .map(|(&s, &(l, _))| (s, l))
            .collect();
        for (s, l) in hit {
            self.ranges.remove(&s);
            if s < start {
                self.ranges.insert(s, (start - s, owner));
            }
            if s + l > end {
                self.ranges.insert(end, (s + l - end, owner));
            }
        }
    }

    /// A new owner id.
    pub fn new_owner(&mut self) -> Owner {
        self.next_owner += 1;
        self.next_owner
    }
}

impl LockMap {
    /// The lock map of one open container.
    pub fn new(storage: Arc<dyn Storage>) -> LockMap {
        LockMap {
            storage,
            commit: Gate::new(false),
            files: Gate::new(HashMap::new()),
            pins: Mutex::new(BTreeMap::new()),
            reservations: Mutex::new(Reservations::default()),
            container_mode: Mutex::new(None),
        }
    }

    /// Takes the `CONTAINER` region for this open, polling up to `timeout`.
    /// Read-write opens take it exclusively (for now), read-only opens shared.
    pub fn lock_container(&self, mode: LockMode, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.storage.try_lock(CONTAINER, 1, mode)? {
                *self
                    .container_mode
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(mode);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let who = if mode == LockMode::Exclusive {
                    "another open (reader or writer)"
                } else {
                    "a writer"
                };
                return Err(Error::Busy(format!(
                    "the container is locked by {who}; waited {timeout:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Serializes commits of this open.
    pub fn commit(&self, timeout: Duration) -> Result<CommitGuard<'_>> {
        self.commit.acquire(
            timeout,
            &|| "the commit lock".to_string(),
            |held| !*held,
            |held| *held = true,
        )?;
        Ok(CommitGuard { map: self })
    }

    /// Takes the one-writer lock of inode `ino`, waiting up to `timeout`.
    pub fn lock_file(
        self: &Arc<Self>,
        ino: u64,
        timeout: Duration,
        name: &str,
    ) -> Result<FileGuard> {
        self.files.acquire(
            timeout,
            &|| format!("file {name:?} (inode {ino})"),
            |files| !files.contains_key(&ino),
            |files| {
                files.insert(ino, ());
            },
        )?;
        Ok(FileGuard {
            map: Arc::clone(self),
            ino,
        })
    }

    /// Whether some handle holds the writer lock of `ino`.
    pub fn file_locked(&self, ino: u64) -> bool {
        self.files.lock().contains_key(&ino)
    }

    /// Pins generation `generation` for a reader. Safe whenever
    /// `generation` is the latest committed one, or already pinned: pages
    /// live in it are freed only by later commits, which see this pin.
    pub fn pin(self: &Arc<Self>, generation: u64) -> Pin {
        *self
            .pins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(generation)
            .or_insert(0) += 1;
        Pin {
            map: Arc::clone(self),
            generation,
        }
    }

    /// The oldest pinned generation, if any reader holds one.
    pub fn oldest_pin(&self) -> Option<u64> {
        self.pins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .next()
            .copied()
    }

    /// The reservation table (held briefly; never across a commit's wait).
    pub fn reservations(&self) -> MutexGuard<'_, Reservations> {
        self.reservations.lock().unwrap_or_else(|p| p.into_inner())
    }
}
