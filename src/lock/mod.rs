//! The lock map (DESIGN §4): named regions of OFD byte-range locks far past
//! any data, layered under an in-process table that separates the threads
//! sharing one descriptor (OFD locks of one open never conflict with each
//! other). Nothing above this layer computes a lock offset.
//!
//! Invariants kept here:
//! - Lock order is FILE → RESERVE → COMMIT; under COMMIT only try-locks.
//! - A page is handed to at most one writer at a time, in any process: a
//!   reservation is locked before the writer checks that the page is free,
//!   and released only after the superblock recording its use is written.
//! - A committer knows the oldest generation pinned by any reader, in this
//!   process (its table) or another (a probe of the PIN region), so no page
//!   a reader may still follow is reused.
//! - After `fork()` a child never unlocks, writes or waits on a lock it
//!   inherited: every call sees the map as stale and returns `Closed`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::storage::{fork, LockMode, Storage};

/// Base of the lock regions: 2^62, past any container's data.
pub const BASE: u64 = 1 << 62;
/// Whole-container region: shared by every open, exclusive with the container lock.
pub const CONTAINER: u64 = BASE;
/// Commit serialization.
pub const COMMIT: u64 = BASE + 1;
/// One writer per pseudofile: `FILE + ino`.
pub const FILE: u64 = BASE + (1 << 56);
/// Pinned generations: `PIN + generation`.
pub const PIN: u64 = BASE + (1 << 58);
/// Reserved pages: `RESERVE + page`.
pub const RESERVE: u64 = BASE + (1 << 59);
/// Pages past which no reservation reaches (keeps `RESERVE + page` below 2^63).
pub const RESERVE_SPAN: u64 = 1 << 59;

/// Identifies who holds a reservation.
pub type Owner = u64;

/// An owner id no reservation has: overlap checks against it see everyone's.
pub const ANYONE: Owner = 0;

/// How long a lock is retried without sleeping (see `LockMap::poll`).
const POLL_SPIN: Duration = Duration::from_micros(500);
/// Polling steps while waiting for another process's lock: a commit takes
/// tens of microseconds without syncs, so start short and back off to 1 ms
/// (DESIGN §4: "≤ 1 ms steps").
const POLL_FIRST: Duration = Duration::from_micros(20);
const POLL_MAX: Duration = Duration::from_millis(1);

/// Ranges of other opens' reservations remembered at most; past it the
/// hints start over (each is a few dozen bytes).
const FOREIGN_MAX: usize = 4096;

/// Locks of one open container.
pub struct LockMap {
    storage: Arc<dyn Storage>,
    commit: Gate<bool>,
    /// Inodes with a writer in this open (a tree: a std hash set's random
    /// keys would cost a process that opens once a `getrandom`).
    files: Gate<BTreeSet<u64>>,
    pins: Mutex<BTreeMap<u64, usize>>,
    reservations: Mutex<Reservations>,
    /// The fork epoch this map was made in (see `storage::fork`).
    epoch: u64,
}

/// A mutex-protected value with a condition variable for timed waits.
struct Gate<T> {
    state: Mutex<(T, usize)>,
    changed: Condvar,
}

/// The value of a [`Gate`], with how many threads wait on it.
struct GateGuard<'a, T>(MutexGuard<'a, (T, usize)>);

impl<T> std::ops::Deref for GateGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0 .0
    }
}

impl<T> std::ops::DerefMut for GateGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0 .0
    }
}

impl<T> Gate<T> {
    fn new(v: T) -> Gate<T> {
        Gate {
            state: Mutex::new((v, 0)),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> GateGuard<'_, T> {
        GateGuard(self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits until `free(state)` holds, then runs `take(state)`; `false` at the deadline.
    fn acquire(
        &self,
        deadline: Instant,
        free: impl Fn(&T) -> bool,
        take: impl FnOnce(&mut T),
    ) -> bool {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !free(&g.0) {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g.1 += 1;
            g = self
                .changed
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            g.1 -= 1;
        }
        take(&mut g.0);
        true
    }

    /// Changes the value and wakes the waiters, if there are any (a wake-up
    /// is a syscall even when nobody waits).
    fn release(&self, f: impl FnOnce(&mut T)) {
        let mut g = self.lock();
        f(&mut g);
        let waiting = g.0 .1 > 0;
        drop(g);
        if waiting {
            self.changed.notify_all();
        }
    }
}

fn busy(what: String, timeout: Duration) -> Error {
    Error::Busy(format!(
        "{what} is locked by another handle or process (waited {timeout:?})"
    ))
}

/// Held while a commit runs; released on drop.
pub struct CommitGuard<'a> {
    map: &'a LockMap,
}

impl Drop for CommitGuard<'_> {
    fn drop(&mut self) {
        if self.map.is_stale() {
            return;
        }
        let _ = self.map.storage.unlock(COMMIT, 1);
        self.map.commit.release(|held| *held = false);
    }
}

/// Held by a file's one writer (or by a commit deleting the file); released on drop.
pub struct FileGuard {
    map: Arc<LockMap>,
    ino: u64,
}

impl Drop for FileGuard {
    fn drop(&mut self) {
        if self.map.is_stale() {
            return;
        }
        let _ = self.map.storage.unlock(FILE + self.ino, 1);
        let ino = self.ino;
        self.map.files.release(|files| {
            files.remove(&ino);
        });
    }
}

/// Keeps generation `generation` (and every later one) readable, for every
/// committer in every process.
pub struct Pin {
    map: Arc<LockMap>,
    generation: u64,
}

impl Drop for Pin {
    fn drop(&mut self) {
        if self.map.is_stale() {
            return;
        }
        let mut pins = self.map.pins.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = pins.get_mut(&self.generation) {
            *n -= 1;
            if *n == 0 {
                pins.remove(&self.generation);
                let _ = self.map.storage.unlock(PIN + self.generation, 1);
            }
        }
    }
}

/// What another open holds, as far as `F_OFD_GETLK` can see (regions, not
/// process ids): for people debugging a stuck deployment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockReport {
    /// Another open holds the container lock (the seed's exclusive mode).
    pub container_exclusive: bool,
    /// Another open is committing.
    pub commit_held: bool,
    /// Inodes with a writer in another open.
    pub file_writers: Vec<u64>,
    /// Generations pinned by readers in other opens.
    pub pinned_generations: Vec<u64>,
    /// Page ranges reserved by writers in other opens.
    pub reserved_pages: Vec<(u64, u64)>,
    /// Inodes with a writer in this open.
    pub own_file_writers: Vec<u64>,
    /// Generations pinned in this open.
    pub own_pinned_generations: Vec<u64>,
    /// Page ranges reserved in this open.
    pub own_reserved_pages: Vec<(u64, u64)>,
}

/// Page ranges handed to writers of this open and not yet committed, and
/// ranges writers of other opens were last seen holding.
#[derive(Default)]
pub struct Reservations {
    /// start → (len, owner)
    ranges: BTreeMap<u64, (u64, Owner)>,
    next_owner: Owner,
    /// start → len: reservations another open held when a claim here
    /// collided with them (a failed try-lock and a probe, two `fcntl`).
    /// A claim passes over them without asking again, so two writers whose
    /// pools hold pages scattered through one free list do not pay for
    /// each other's every fragment at each refill. Only a hint: a range
    /// released since is merely passed over, and a claim that comes up
    /// short after passing over any forgets them all and looks again
    /// (`Engine::claim_free`).
    foreign: BTreeMap<u64, u64>,
    /// Whether a claim passed over a `foreign` range since the last
    /// [`Reservations::take_passed_foreign`].
    passed_foreign: bool,
}

impl Reservations {
    /// The first range of another owner overlapping `start..start+len`.
    #[cfg(test)]
    pub fn first_overlap(&self, start: u64, len: u64, me: Owner) -> Option<(u64, u64)> {
        self.first_overlap_owned(start, len, me)
            .map(|(s, l, _)| (s, l))
    }

    /// [`Reservations::first_overlap`], with the owner of the range found.
    fn first_overlap_owned(&self, start: u64, len: u64, me: Owner) -> Option<(u64, u64, Owner)> {
        self.overlapping(start, start.saturating_add(len))
            .find(|&(_, _, o)| o != me)
    }

    /// Hands `from`'s reservation of `start..start+len` to `to` (the OFD
    /// lock stays as it is: both owners are this open).
    pub fn transfer(&mut self, start: u64, len: u64, from: Owner, to: Owner) {
        // Nothing to hand over (a release of no pages inside a range
        // reports an empty piece, which would overwrite the range's rest).
        if len == 0 {
            return;
        }
        for (s, l) in self.release_range(start, len, from) {
            self.insert(s, l, to);
        }
    }

    /// Records `owner`'s reservation of `start..start+len` (pages no range
    /// holds), merged with a range of the same owner that it continues or
    /// that continues it: a writer reserving run after run, as a stream or
    /// a large transaction does, keeps one range, so a claim skips over
    /// its reservations in one step instead of one per run.
    fn insert(&mut self, start: u64, len: u64, owner: Owner) {
        let (mut start, mut len) = (start, len);
        if let Some((&ps, &(pl, po))) = self.ranges.range(..start).next_back() {
            if po == owner && ps + pl == start {
                self.ranges.remove(&ps);
                (start, len) = (ps, pl + len);
            }
        }
        if let Some(&(nl, no)) = self.ranges.get(&(start + len)) {
            if no == owner {
                self.ranges.remove(&(start + len));
                len += nl;
            }
        }
        self.ranges.insert(start, (len, owner));
    }

    /// The ranges overlapping `start..end`, in order: the one starting
    /// before `start` if it reaches into it, then those starting inside.
    fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, u64, Owner)> + '_ {
        let before = self
            .ranges
            .range(..start)
            .next_back()
            .filter(|&(&s, &(l, _))| s + l > start);
        before
            .into_iter()
            .chain(self.ranges.range(start..end.max(start)))
            .map(|(&s, &(l, o))| (s, l, o))
    }

    /// Drops `owner`'s reservations of the pages `start..start+len`,
    /// keeping the parts of its ranges outside them; returns what was dropped.
    fn release_range(&mut self, start: u64, len: u64, owner: Owner) -> Vec<(u64, u64)> {
        let end = start.saturating_add(len);
        let hit: Vec<(u64, u64)> = self
            .overlapping(start, end)
            .filter(|&(_, _, o)| o == owner)
            .map(|(s, l, _)| (s, l))
            .collect();
        let mut dropped = Vec::with_capacity(hit.len());
        for (s, l) in hit {
            self.ranges.remove(&s);
            if s < start {
                self.ranges.insert(s, (start - s, owner));
            }
            if s + l > end {
                self.ranges.insert(end, (s + l - end, owner));
            }
            let (ds, de) = (s.max(start), (s + l).min(end));
            dropped.push((ds, de - ds));
        }
        dropped
    }

    /// Where a claim at page `s` (up to `end`) stands against the ranges
    /// other opens were seen holding: `Err(next)` if one covers `s`, so the
    /// claim goes on at `next`; else `Ok(stop)`, the start of the first one
    /// before `end` (or `end`).
    fn foreign_at(&mut self, s: u64, end: u64) -> Result<u64, u64> {
        if let Some((&fs, &fl)) = self.foreign.range(..=s).next_back() {
            if fs + fl > s {
                self.passed_foreign = true;
                return Err(fs + fl);
            }
        }
        Ok(self.foreign.range(s..end).next().map_or(end, |(&fs, _)| fs))
    }

    /// Notes that another open holds `start..start+len`.
    fn note_foreign(&mut self, start: u64, len: u64) {
        if self.foreign.len() >= FOREIGN_MAX {
            self.foreign.clear();
        }
        let end = start + len;
        let inside: Vec<u64> = self
            .foreign
            .range(..end)
            .rev()
            .take_while(|&(&fs, &fl)| fs + fl > start)
            .map(|(&fs, _)| fs)
            .collect();
        let (mut lo, mut hi) = (start, end);
        for fs in inside {
            let fl = self.foreign.remove(&fs).unwrap_or(0);
            (lo, hi) = (lo.min(fs), hi.max(fs + fl));
        }
        self.foreign.insert(lo, hi - lo);
    }

    /// Forgets the ranges other opens were seen holding from page `from` on.
    pub fn forget_foreign_from(&mut self, from: u64) {
        self.foreign.split_off(&from);
        if let Some((&fs, fl)) = self.foreign.range_mut(..from).next_back() {
            *fl = (*fl).min(from - fs);
        }
    }

    /// Whether a claim passed over a range another open was seen holding
    /// since the last call.
    pub fn take_passed_foreign(&mut self) -> bool {
        std::mem::take(&mut self.passed_foreign)
    }

    /// Every range `owner` holds.
    #[cfg(test)]
    fn of_owner(&self, owner: Owner) -> Vec<(u64, u64)> {
        self.ranges
            .iter()
            .filter(|(_, &(_, o))| o == owner)
            .map(|(&s, &(l, _))| (s, l))
            .collect()
    }
}

impl LockMap {
    /// The lock map of one open container.
    pub fn new(storage: Arc<dyn Storage>) -> LockMap {
        fork::install();
        LockMap {
            storage,
            commit: Gate::new(false),
            files: Gate::new(BTreeSet::new()),
            pins: Mutex::new(BTreeMap::new()),
            reservations: Mutex::new(Reservations::default()),
            epoch: fork::epoch(),
        }
    }

    /// Whether this map was inherited across `fork()` (then every lock it
    /// knows of belongs to the parent).
    pub fn is_stale(&self) -> bool {
        self.epoch != fork::epoch()
    }

    /// Polls an OFD try-lock until `deadline`. Commits hold their lock for
    /// tens of microseconds, and a sleep lasts at least the timer slack
    /// (50 µs) past its end: a waiter that slept from the first miss would
    /// leave the lock idle longer than it was held, so two committers
    /// would commit less than one. So the first `POLL_SPIN` retries at once,
    /// yielding the CPU between tries (to the holder, on a busy machine);
    /// only a lock held longer than that is polled with growing sleeps.
    fn poll(&self, start: u64, len: u64, mode: LockMode, deadline: Instant) -> Result<bool> {
        let begun = Instant::now();
        let mut step = POLL_FIRST;
        loop {
            if self.storage.try_lock(start, len, mode)? {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            if now - begun < POLL_SPIN {
                std::thread::yield_now();
                continue;
            }
            std::thread::sleep(step.min(deadline - now));
            step = (step * 2).min(POLL_MAX);
        }
    }

    /// Takes the `CONTAINER` region for this open, polling up to `timeout`:
    /// shared for every open, exclusive for a read-write open with the
    /// container lock (the seed's whole-container mode).
    pub fn lock_container(&self, mode: LockMode, timeout: Duration) -> Result<()> {
        if self.poll(CONTAINER, 1, mode, Instant::now() + timeout)? {
            return Ok(());
        }
        let who = if mode == LockMode::Exclusive {
            "other opens"
        } else {
            "an open with the container lock"
        };
        Err(Error::Busy(format!(
            "the container is held by {who}; waited {timeout:?}"
        )))
    }

    /// Serializes commits, across threads and processes.
    pub fn commit(&self, timeout: Duration) -> Result<CommitGuard<'_>> {
        let deadline = Instant::now() + timeout;
        if !self
            .commit
            .acquire(deadline, |held| !*held, |held| *held = true)
        {
            return Err(busy("the commit lock".into(), timeout));
        }
        match self.poll(COMMIT, 1, LockMode::Exclusive, deadline) {
            Ok(true) => Ok(CommitGuard { map: self }),
            other => {
                self.commit.release(|held| *held = false);
                other?;
                Err(busy("the commit lock".into(), timeout))
            }
        }
    }

    /// Takes the one-writer lock of inode `ino`, waiting up to `timeout`.
    pub fn lock_file(
        self: &Arc<Self>,
        ino: u64,
        timeout: Duration,
        name: &str,
    ) -> Result<FileGuard> {
        let deadline = Instant::now() + timeout;
        let what = || format!("file {name:?} (inode {ino})");
        if !self.files.acquire(
            deadline,
            |f| !f.contains(&ino),
            |f| {
                f.insert(ino);
            },
        ) {
            return Err(busy(what(), timeout));
        }
        match self.poll(FILE + ino, 1, LockMode::Exclusive, deadline) {
            Ok(true) => Ok(FileGuard {
                map: Arc::clone(self),
                ino,
            }),
            other => {
                self.files.release(|f| {
                    f.remove(&ino);
                });
                other?;
                Err(busy(what(), timeout))
            }
        }
    }

    /// Takes the writer lock of `ino` only if nobody anywhere holds it.
    pub fn try_lock_file(self: &Arc<Self>, ino: u64) -> Result<Option<FileGuard>> {
        {
            let mut files = self.files.lock();
            if !files.insert(ino) {
                return Ok(None);
            }
        }
        match self.storage.try_lock(FILE + ino, 1, LockMode::Exclusive) {
            Ok(true) => Ok(Some(FileGuard {
                map: Arc::clone(self),
                ino,
            })),
            other => {
                self.files.release(|f| {
                    f.remove(&ino);
                });
                other.map(|_| None)
            }
        }
    }

    /// Pins generation `generation` for a reader. Safe when `generation`
    /// is not newer than the superblock the reader reads next: pages live
    /// in that state are freed only by later commits, which see this pin.
    pub fn pin(self: &Arc<Self>, generation: u64) -> Result<Pin> {
        let mut pins = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        if !pins.contains_key(&generation) {
            // Shared locks never conflict with each other; only a probe for
            // an exclusive lock (a committer) sees them.
            if !self
                .storage
                .try_lock(PIN + generation, 1, LockMode::Shared)?
            {
                return Err(Error::Internal("a shared pin lock was refused".into()));
            }
        }
        *pins.entry(generation).or_insert(0) += 1;
        Ok(Pin {
            map: Arc::clone(self),
            generation,
        })
    }

    /// The oldest generation below `below` pinned by a reader of another
    /// open (`F_OFD_GETLK` never reports this open's own locks; this open's
    /// readers are known to the engine's state table).
    pub fn oldest_other_pin(&self, below: u64) -> Result<Option<u64>> {
        Ok(self
            .lowest_conflict(PIN, PIN + below)?
            .map(|(s, _)| s.saturating_sub(PIN)))
    }

    /// The lowest-starting lock of another open that conflicts with an
    /// exclusive lock over `start..end`. `F_OFD_GETLK` reports the first
    /// conflicting lock in the kernel's list, which is the lowest of one
    /// owner but not of all: probe again below each answer until none is left.
    fn lowest_conflict(&self, start: u64, end: u64) -> Result<Option<(u64, u64)>> {
        let mut found = None;
        let mut hi = end;
        while hi > start {
            match self
                .storage
                .probe_lock(start, hi - start, LockMode::Exclusive)?
            {
                Some((s, l)) => {
                    found = Some((s, l));
                    if s <= start {
                        break;
                    }
                    hi = s;
                }
                None => break,
            }
        }
        Ok(found)
    }

    /// The reservation table of this open (held briefly).
    pub fn reservations(&self) -> MutexGuard<'_, Reservations> {
        self.reservations.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new reservation owner.
    pub fn new_owner(&self) -> Owner {
        let mut t = self.reservations();
        t.next_owner += 1;
        t.next_owner
    }

    /// Reserves up to `need` pages inside `start..end` for `owner`, skipping
    /// pages another writer of any process holds, or was last seen holding
    /// (`Reservations::foreign`); returns the ranges taken.
    /// Pages this open holds under `adopt` (committed pages whose lock is
    /// not released yet) are taken over without a lock call. Only
    /// try-locks: safe under the commit lock.
    pub fn claim_pages(
        &self,
        table: &mut Reservations,
        start: u64,
        end: u64,
        need: u64,
        owner: Owner,
        adopt: Owner,
    ) -> Result<Vec<(u64, u64)>> {
        let end = end.min(RESERVE_SPAN);
        let (mut s, mut need) = (start, need);
        let mut got = Vec::new();
        while s < end && need > 0 {
            // Writers of this open first (they share the descriptor's locks).
            let stop = match table.first_overlap_owned(s, end - s, ANYONE) {
                Some((os, ol, o)) if os <= s && o == adopt && adopt != ANYONE => {
                    let n = (os + ol).min(end).min(s + need) - s;
                    table.transfer(s, n, adopt, owner);
                    got.push((s, n));
                    need -= n;
                    s += n;
                    continue;
                }
                Some((os, ol, _)) if os <= s => {
                    s = os + ol;
                    continue;
                }
                Some((os, _, _)) => os,
                None => end,
            };
            let stop = match table.foreign_at(s, stop) {
                Ok(stop) => stop,
                Err(next) => {
                    s = next;
                    continue;
                }
            };
            let n = (stop - s).min(need);
            if self.storage.try_lock(RESERVE + s, n, LockMode::Exclusive)? {
                table.insert(s, n, owner);
                got.push((s, n));
                need -= n;
                s += n;
                continue;
            }
            // Another process holds part of it: skip to past its range, or
            // take what lies before it. (No conflict any more: it was
            // released between the two calls, so the loop tries again.)
            if let Some((ps, pl)) = self
                .storage
                .probe_lock(RESERVE + s, n, LockMode::Exclusive)?
            {
                let ps = ps.saturating_sub(RESERVE);
                if pl != 0 {
                    table.note_foreign(ps, pl);
                }
                if ps <= s {
                    s = if pl == 0 { end } else { (ps + pl).max(s + 1) };
                } else if self
                    .storage
                    .try_lock(RESERVE + s, ps - s, LockMode::Exclusive)?
                {
                    table.insert(s, ps - s, owner);
                    got.push((s, ps - s));
                    need -= ps - s;
                    s = ps;
                } else {
                    s = ps;
                }
            }
        }
        Ok(got)
    }

    /// Releases `owner`'s reservations of the given page ranges. Dropped
    /// ranges with nothing of this open's between them are unlocked with
    /// one call.
    pub fn release_pages(&self, owner: Owner, ranges: &[(u64, u64)]) {
        if self.is_stale() || ranges.is_empty() {
            return;
        }
        let mut table = self.reservations();
        let mut dropped: Vec<(u64, u64)> = ranges
            .iter()
            .flat_map(|&(s, l)| table.release_range(s, l, owner))
            .collect();
        dropped.sort_unstable();
        let mut span: Option<(u64, u64)> = None;
        for (s, l) in dropped {
            span = match span {
                Some((a, e))
                    if table
                        .first_overlap_owned(e, s.saturating_sub(e), ANYONE)
                        .is_none() =>
                {
                    Some((a, e.max(s + l)))
                }
                Some((a, e)) => {
                    let _ = self.storage.unlock(RESERVE + a, e - a);
                    Some((s, s + l))
                }
                None => Some((s, s + l)),
            };
        }
        if let Some((a, e)) = span {
            let _ = self.storage.unlock(RESERVE + a, e - a);
        }
    }

    /// Lists what other opens hold (by probing each region) and what this open holds.
    pub fn report(&self) -> Result<LockReport> {
        let mut r = LockReport {
            container_exclusive: self
                .storage
                .probe_lock(CONTAINER, 1, LockMode::Shared)?
                .is_some(),
            commit_held: self
                .storage
                .probe_lock(COMMIT, 1, LockMode::Exclusive)?
                .is_some(),
            ..LockReport::default()
        };
        r.file_writers = self
            .probe_all(FILE, 1 << 56)?
            .into_iter()
            .flat_map(|(s, l)| s..s + l.max(1))
            .collect();
        r.pinned_generations = self
            .probe_all(PIN, 1 << 56)?
            .into_iter()
            .flat_map(|(s, l)| s..s + l.max(1))
            .collect();
        r.reserved_pages = self.probe_all(RESERVE, RESERVE_SPAN)?;
        r.own_file_writers = self.files.lock().iter().copied().collect();
        r.own_file_writers.sort_unstable();
        r.own_pinned_generations = self
            .pins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect();
        r.own_reserved_pages = self
            .reservations()
            .ranges
            .iter()
            .map(|(&s, &(l, _))| (s, l))
            .collect();
        Ok(r)
    }

    /// Every lock of other opens in `base..base+span`, as offsets from `base`.
    fn probe_all(&self, base: u64, span: u64) -> Result<Vec<(u64, u64)>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < span && out.len() < 100_000 {
            match self.lowest_conflict(base + at, base + span)? {
                Some((s, l)) => {
                    let s = s.saturating_sub(base).max(at);
                    let l = if l == 0 { span - s } else { l };
                    out.push((s, l));
                    at = s + l;
                }
                None => break,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_range_splits_and_reports_what_it_dropped() {
        let mut r = Reservations::default();
        r.insert(10, 10, 1);
        r.insert(30, 5, 2);
        assert_eq!(r.release_range(12, 3, 1), vec![(12, 3)]);
        assert_eq!(r.of_owner(1), vec![(10, 2), (15, 5)]);
        assert_eq!(r.first_overlap(0, 100, 1), Some((30, 5)));
        assert_eq!(r.first_overlap(11, 1, ANYONE), Some((10, 2)));
        assert_eq!(r.release_range(0, 100, 2), vec![(30, 5)]);
    }

    #[test]
    fn runs_reserved_one_after_another_make_one_range() {
        let mut r = Reservations::default();
        // Owner 1 reserves run after run, with owner 2's range in between.
        r.insert(10, 5, 1);
        r.insert(15, 5, 1);
        r.insert(25, 5, 2);
        r.insert(20, 5, 1);
        r.insert(5, 5, 1);
        assert_eq!(r.of_owner(1), vec![(5, 20)]);
        assert_eq!(r.of_owner(2), vec![(25, 5)]);
        // Pages handed over one run at a time join the receiver's range.
        r.transfer(5, 3, 1, 3);
        r.transfer(8, 4, 1, 3);
        assert_eq!(r.of_owner(3), vec![(5, 7)]);
        assert_eq!(r.of_owner(1), vec![(12, 13)]);
        // And a release still cuts exactly what it names.
        assert_eq!(r.release_range(14, 2, 1), vec![(14, 2)]);
        assert_eq!(r.of_owner(1), vec![(12, 2), (16, 9)]);
        assert_eq!(r.first_overlap(14, 2, ANYONE), None);
        assert_eq!(r.first_overlap(13, 2, ANYONE), Some((12, 2)));
    }

    #[test]
    fn ranges_seen_held_elsewhere_merge_and_are_passed_over_until_forgotten() {
        let mut r = Reservations::default();
        r.note_foreign(10, 5);
        r.note_foreign(20, 5);
        r.note_foreign(14, 7); // joins both
        r.note_foreign(40, 2);
        assert_eq!(
            r.foreign.iter().map(|(&s, &l)| (s, l)).collect::<Vec<_>>(),
            vec![(10, 15), (40, 2)]
        );
        assert_eq!(r.foreign_at(0, 100), Ok(10));
        assert!(!r.take_passed_foreign());
        assert_eq!(r.foreign_at(12, 100), Err(25));
        assert!(r.take_passed_foreign());
        assert!(!r.take_passed_foreign());
        assert_eq!(r.foreign_at(25, 30), Ok(30));
        r.forget_foreign_from(12);
        assert_eq!(r.foreign_at(12, 100), Ok(100));
        assert_eq!(r.foreign_at(10, 100), Err(12));
        r.forget_foreign_from(0);
        assert_eq!(r.foreign_at(0, 100), Ok(100));
    }

    #[test]
    fn transfer_hands_over_exactly_the_pages_asked_for() {
        let mut r = Reservations::default();
        r.insert(10, 10, 1);
        r.insert(30, 5, 1);
        // The first pages of a range, a middle piece, a whole range, nothing.
        r.transfer(10, 3, 1, 2);
        r.transfer(15, 2, 1, 2);
        r.transfer(30, 5, 1, 2);
        r.transfer(18, 0, 1, 2);
        assert_eq!(r.of_owner(1), vec![(13, 2), (17, 3)]);
        assert_eq!(r.of_owner(2), vec![(10, 3), (15, 2), (30, 5)]);
    }
}
