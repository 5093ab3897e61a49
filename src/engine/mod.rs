//! The engine: snapshots, transactions and the commit protocol (DESIGN §5)
//! over the copy-on-write tree, the allocator and the page cache.
//!
//! Invariants:
//! - Every operation reads one committed state: a [`Snapshot`] pins its
//!   generation, so no page reachable from it is reused while it lives.
//! - An open starts from a commit only once the pages it names verify, and
//!   calls one torn only if they fail while nothing can reuse them
//!   ([`open_state`]); a torn one is retired before the open writes
//!   ([`Engine::retire_torn_commit`]).
//! - A commit takes the commit lock, re-reads the latest superblock and
//!   applies its changes to the latest tree; it publishes by writing the
//!   other superblock slot, after the pages it points to are synced.
//! - A failed sync, or a failure while writing a superblock, poisons the
//!   open: the disk may no longer match what this process believes.

mod alloc;
mod assist;
mod background_sync;
mod backup;
mod cache;
mod compact;
mod pool;
mod snapshots;
mod sticky;
pub mod tree;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use assist::{split_parts, Assist};
use background_sync::BackgroundSync;
use cache::PageCache;
use pool::PagePool;
use sticky::{PinnedState, StateTable, StickyPin};
use tree::{Child, PageSource, TxTree};

use crate::error::{Error, Result};
use crate::format::records::{self, ExtentRecord, InodeKind, InodeRecord, Key, Kind, ROOT_INO};
use crate::format::superblock::{Manifest, ManifestRun, MAX_MANIFEST_PAGES, MAX_MANIFEST_RUNS};
use crate::format::{node, page_checksum, Node, PagePtr, Superblock, SUPERBLOCK_SLOT};
use crate::lock::{FileGuard, LockMap, Owner, Reservations, RESERVE_SPAN};
use crate::storage::{read_exact_at, LockMode, Storage};

pub use alloc::CheckReport;
pub use backup::copy_compact;
pub use compact::CompactReport;
pub use snapshots::{list as list_snapshots, SnapshotEntry};
pub use sticky::IDLE as IDLE_PIN_RELEASE;

/// How hard a commit works to survive power loss (DESIGN §5 step 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Sync before and after writing the superblock: an acknowledged commit
    /// survives power loss. The default.
    #[default]
    Full,
    /// Skip the last sync: a crash may lose the latest commits, never
    /// corrupts the container.
    Normal,
    /// No syncs: safe against process crashes, not against power loss.
    Off,
}

/// Pending pages from which a commit looks for ones it may reuse.
const RECLAIM_MIN: u64 = 32;

/// Pending pages from which a sync just to reuse them is worth it (fewer,
/// and `off` and `normal` would sync on every commit).
fn reuse_sync_threshold(page_count: u64) -> u64 {
    (page_count / 16).max(256)
}

/// Test-only switches that break the commit protocol on purpose, so the
/// crash tests can prove they notice (DESIGN §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultSwitches {
    /// Write the superblock before syncing the pages it points to.
    pub superblock_before_sync: bool,
    /// Reuse pending pages at once, ignoring pins and durability.
    pub reuse_pages_early: bool,
    /// Do not check reserved pages against a superblock read after locking.
    pub skip_reservation_check: bool,
    /// Take snapshots without pinning their generation.
    pub skip_pin: bool,
    /// Trust the latest commit at open without verifying its manifest.
    pub skip_commit_verify: bool,
    /// Verify the latest commit at open without pinning its generation
    /// first: other processes' commits may reuse its pages meanwhile.
    pub verify_without_pin: bool,
    /// Compaction points extents at moved data before syncing it.
    pub compact_without_sync: bool,
    /// Freed pages go on the pending list even where a snapshot needs them.
    pub ignore_snapshots: bool,
}

/// Bytes of pages written before their write-back is started (as
/// RocksDB's `bytes_per_sync`): a large write or a large transaction keeps
/// the disk busy while it goes on, and the sync before its commit waits
/// only for the last few.
const WRITEBACK_BYTES: u64 = 8 << 20;

/// Bytes of data pages from which one read is split between this thread
/// and the open's helper ([`Assist`]): each half then costs more than
/// handing it over (a few microseconds).
const ASSIST_BYTES: usize = 256 << 10;

/// Pages written (by writers and by commits) and not yet handed to the
/// disk's write-back: how many, and the span `lo..hi` they lie in.
struct Unstarted {
    pages: u64,
    lo: u64,
    hi: u64,
}

impl Default for Unstarted {
    fn default() -> Unstarted {
        Unstarted {
            pages: 0,
            lo: u64::MAX,
            hi: 0,
        }
    }
}

/// One open container's engine, shared by every handle of an `Fs`.
pub struct Engine {
    storage: Arc<dyn Storage>,
    locks: Arc<LockMap>,
    page_size: u32,
    cache: PageCache,
    durability: AtomicU8,
    busy_timeout_ms: AtomicU64,
    read_only: bool,
    poisoned: Arc<AtomicBool>,
    /// Highest generation known to be on disk durably.
    known_durable: Arc<AtomicU64>,
    /// Runs the syncs that only make freed pages reusable (a file open
    /// that writes; elsewhere they run inline).
    background_sync: Option<BackgroundSync>,
    /// Highest generation this open has seen committed.
    published: AtomicU64,
    /// Pages the container file is known to hold at least (it only grows,
    /// but for compaction's truncation, which sets it): pages below it
    /// need no look at the file's length before they are zeroed ahead.
    file_pages: AtomicU64,
    /// Pages written since write-back was last started.
    unstarted: std::sync::Mutex<Unstarted>,
    /// `published` is still the generation open just read: the first
    /// snapshot aims its pin at it without reading the slots again.
    aim_from_open: AtomicBool,
    /// Test-only fault switches as bits (an atomic: snapshots read it).
    faults: AtomicU8,
    /// The superblock slots as last read and the state decoded from them:
    /// when the slots' bytes have not changed, nothing is decoded again.
    header: RwLock<HeaderCache>,
    /// The pin this open keeps between operations.
    sticky: StickyPin,
    /// The helper thread that reads half of a large read.
    assist: Assist,
    /// The states this open's readers use.
    states: Arc<StateTable>,
    /// Pages this open has reserved for its writers and commits.
    pool: std::sync::Mutex<PagePool>,
    /// A commit found torn at open: never read (the next commit overwrites
    /// its slot).
    torn: Option<Torn>,
    /// The snapshot a read-only view reads instead of the latest state.
    frozen: Option<snapshots::Frozen>,
    /// The effective user and group of the process at a writable open: the
    /// owner of what this open creates unless told otherwise (read once,
    /// not per create: two system calls a commit). A read-only open creates
    /// nothing and does not read them.
    creator: Option<(u32, u32)>,
}

/// Pages a writer claimed, and the state whose free list they came from.
struct Claim {
    pages: Vec<(u64, u64)>,
    from: Arc<Superblock>,
}

/// Identifies a superblock slot whose commit did not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Torn {
    generation: u64,
    root: PagePtr,
}

impl Torn {
    fn of(sb: &Superblock) -> Torn {
        Torn {
            generation: sb.generation,
            root: sb.root,
        }
    }

    fn is(&self, sb: &Superblock) -> bool {
        sb.generation == self.generation && sb.root == self.root
    }
}

/// How an open checks the latest commit before it trusts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "fault-switches"), allow(dead_code))]
pub enum OpenCheck {
    /// Verify its manifest under a pin of its generation: the only check
    /// but for the fault switches.
    Pinned,
    /// Verify it without a pin (the `verify_without_pin` switch).
    Unpinned,
    /// Trust it (the `skip_commit_verify` switch).
    Trust,
}

/// What [`Engine::retire_torn_commit`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retirement {
    /// Nothing to do: no torn commit, a read-only open, or its slot no
    /// longer holds it.
    Nothing,
    /// The torn commit's slot was blanked and synced.
    Blanked,
    /// The commit verifies on the second look: the open's verdict does not
    /// stand, and the open must start over.
    Misjudged,
}

/// The last superblock read: its slot bytes and what they decode to.
struct HeaderCache {
    raw: [u8; 2 * SUPERBLOCK_SLOT],
    sb: Option<Arc<Superblock>>,
}

/// A pinned committed state.
pub struct Snapshot {
    /// The superblock of the state.
    pub sb: Arc<Superblock>,
    _state: Option<Arc<PinnedState>>,
}

impl Snapshot {
    /// The tree of this state.
    pub fn root(&self) -> Child {
        Child::Clean(self.sb.root)
    }
}

impl PageSource for Engine {
    fn load(&self, ptr: &PagePtr) -> Result<Arc<Node>> {
        if let Some(n) = self.cache.get(ptr) {
            return Ok(n);
        }
        let bytes = self.read_page(ptr.page)?;
        if page_checksum(ptr.page, ptr.generation, &bytes) != ptr.checksum {
            return Err(Error::corrupt(format!(
                "checksum mismatch in tree page {} (generation {})",
                ptr.page, ptr.generation
            )));
        }
        let n = Arc::new(node::decode(bytes, ptr)?);
        self.cache.insert(*ptr, Arc::clone(&n));
        Ok(n)
    }

    fn page_size(&self) -> usize {
        self.page_size as usize
    }
}

/// Builds the image of a new, empty container: slot B holds generation 1,
/// whose tree is one leaf with the root directory's inode.
pub fn new_container_image(page_size: u32, label: &str, now_ns: i64) -> Vec<u8> {
    let ps = page_size as usize;
    let root_inode = InodeRecord {
        kind: InodeKind::Dir,
        mode: 0o755,
        // SAFETY: geteuid and getegid cannot fail and touch no memory.
        uid: unsafe { libc::geteuid() },
        gid: unsafe { libc::getegid() },
        nlink: 2,
        parent: ROOT_INO,
        size: 0,
        atime_ns: now_ns,
        mtime_ns: now_ns,
        ctime_ns: now_ns,
        inline: None,
    };
    let (key, val) = (records::inode_key(ROOT_INO), root_inode.encode());
    let leaf = node::encode_leaf(ps, 1, 1, std::iter::once((&key[..], &val[..])));
    let sb = Superblock {
        page_size,
        generation: 1,
        root: PagePtr {
            page: 1,
            generation: 1,
            checksum: page_checksum(1, 1, &leaf),
        },
        page_count: 2,
        next_ino: records::FIRST_FREE_INO,
        free_pages: 0,
        pending_pages: 0,
        files: 0,
        dirs: 1,
        created_ns: now_ns,
        label: label.to_string(),
        synced_commit: true,
        manifest: Default::default(),
        held_pages: 0,
        snapshots: 0,
    };
    let mut image = vec![0u8; ps * 2];
    let slot = Superblock::slot_offset(1) as usize;
    image[slot..slot + SUPERBLOCK_SLOT].copy_from_slice(&sb.encode());
    image[ps..].copy_from_slice(&leaf);
    image
}

/// The effective user and group of this process.
fn process_owner() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail and touch no memory.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn durability_code(d: Durability) -> u8 {
    match d {
        Durability::Full => 0,
        Durability::Normal => 1,
        Durability::Off => 2,
    }
}

impl Engine {
    /// Opens the engine over a storage holding a valid container, holding
    /// the `CONTAINER` region in `container` mode.
    ///
    /// The latest commit is trusted only once the pages its manifest names
    /// verify ([`open_state`]); a commit torn by a crash is passed over for
    /// the one before it (and remembered, so this open never reads it).
    /// `check` is other than [`OpenCheck::Pinned`] only for the test
    /// switches that prove the tests notice.
    pub fn open(
        storage: Arc<dyn Storage>,
        read_only: bool,
        durability: Durability,
        busy_timeout: Duration,
        container: LockMode,
        check: OpenCheck,
    ) -> Result<Engine> {
        let locks = Arc::new(LockMap::new(Arc::clone(&storage)));
        // Before the state is read: compaction reuses pages without looking
        // at pins, so it must not run while this open verifies (it needs
        // the container to itself).
        locks.lock_container(container, busy_timeout)?;
        let (sb, torn) = open_state(&*storage, &locks, check)?;
        Ok(Engine::new_over(
            storage,
            locks,
            Arc::default(),
            &sb,
            read_only,
            durability,
            busy_timeout,
            torn,
        ))
    }

    /// An engine over an open container's storage and locks, whose readers
    /// register in `states` (a snapshot view shares its parent's).
    #[allow(clippy::too_many_arguments)]
    fn new_over(
        storage: Arc<dyn Storage>,
        locks: Arc<LockMap>,
        states: Arc<StateTable>,
        sb: &Superblock,
        read_only: bool,
        durability: Durability,
        busy_timeout: Duration,
        torn: Option<Torn>,
    ) -> Engine {
        let pool = std::sync::Mutex::new(PagePool::new(locks.new_owner(), locks.new_owner()));
        let poisoned = Arc::new(AtomicBool::new(false));
        let known_durable = Arc::new(AtomicU64::new(0));
        let background_sync = (!read_only && storage.background_sync()).then(|| {
            BackgroundSync::new(
                Arc::clone(&storage),
                Arc::clone(&known_durable),
                Arc::clone(&poisoned),
            )
        });
        Engine {
            torn,
            pool,
            header: RwLock::new(HeaderCache {
                raw: [0; 2 * SUPERBLOCK_SLOT],
                sb: None,
            }),
            // A pin only other opens' committers look at: none can on
            // storage whose locks are not shared, so none is kept there.
            sticky: if storage.shared_locks() {
                StickyPin::new()
            } else {
                StickyPin::off()
            },
            states,
            assist: Assist::new(storage.parallel_reads()),
            storage,
            locks,
            page_size: sb.page_size,
            cache: PageCache::new(4096),
            durability: AtomicU8::new(durability_code(durability)),
            busy_timeout_ms: AtomicU64::new(busy_timeout.as_millis() as u64),
            read_only,
            poisoned,
            known_durable,
            background_sync,
            published: AtomicU64::new(sb.generation),
            file_pages: AtomicU64::new(0),
            unstarted: Default::default(),
            aim_from_open: AtomicBool::new(true),
            faults: AtomicU8::new(0),
            frozen: None,
            creator: (!read_only).then(process_owner),
        }
    }

    /// Why this open cannot write: a read-only open, or a snapshot's view.
    pub fn read_only_reason(&self) -> &'static str {
        match self.is_view() {
            true => "a snapshot is read-only (this is a view of one)",
            false => "the container is open read-only",
        }
    }

    /// The owner (effective user and group at open) of what this open creates.
    pub fn creator(&self) -> (u32, u32) {
        self.creator.unwrap_or_else(process_owner)
    }

    /// Makes a commit found torn at open torn for good, before this open
    /// writes anything (docs/format.md §7): under the commit lock, if its
    /// slot still holds that commit and it still does not verify, the slot
    /// is blanked and synced.
    ///
    /// Invariant kept: no open that passed over a commit writes while that
    /// commit's slot holds it. "Torn" is a fact about the bytes on disk
    /// when open looked, and later writes change them: a listed page torn
    /// only past the end of the file reads whole once any write extends
    /// the file, and the next commit from the same base may write the same
    /// bytes to the same page. Left in place, the torn slot would verify
    /// after a power loss that drops the slot of the commit meant to
    /// replace it, and bring back a state that this open passed over,
    /// whose unlisted pages it may have reused.
    ///
    /// The second look is final, without a pin: under the commit lock no
    /// commit runs, and no writer writes a page the slot names while it
    /// holds them — they are live in that commit (or freed by the one
    /// after it, reusable only two commits on), or, if it is torn, free
    /// only in the state before it, which every open that passed it over
    /// reads, and (by the invariant) none of those has written yet. So a
    /// commit that fails again is torn and is blanked; one that verifies
    /// was never torn (an open verifies under a pin, so this is defence in
    /// depth: a misread, or a commit identical to the torn one that another
    /// open made after retiring it), and blanking it would throw away a
    /// commit others build on: the open starts over instead
    /// ([`Retirement::Misjudged`]).
    pub fn retire_torn_commit(&self) -> Result<Retirement> {
        let Some(torn) = self.torn.filter(|_| !self.read_only) else {
            return Ok(Retirement::Nothing);
        };
        let _commit = self.locks.commit(self.busy_timeout())?;
        let offset = Superblock::slot_offset(torn.generation);
        let mut slot = [0u8; SUPERBLOCK_SLOT];
        let n = self.storage.read_at(&mut slot, offset)?;
        let sb = match Superblock::decode(&slot) {
            Ok(sb) if n == SUPERBLOCK_SLOT && torn.is(&sb) => sb,
            // Another open got there first (blanked or overwrote it).
            _ => return Ok(Retirement::Nothing),
        };
        if commit_verifies(&*self.storage, &sb)? {
            return Ok(Retirement::Misjudged);
        }
        self.storage
            .write_at(&[0u8; SUPERBLOCK_SLOT], offset)
            .map_err(|e| self.poison(e))?;
        // Everything written before is durable now, the base state's slot
        // included.
        self.sync_latest_durable()?;
        Ok(Retirement::Blanked)
    }

    /// Syncs, and notes that the latest state is durable from now on.
    fn sync_latest_durable(&self) -> Result<()> {
        self.sync_or_poison()?;
        let latest = self.latest()?.generation;
        self.known_durable.fetch_max(latest, Ordering::AcqRel);
        Ok(())
    }

    /// The lock map.
    pub fn locks(&self) -> &Arc<LockMap> {
        &self.locks
    }

    /// Page size in bytes.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Whether this open is read-only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The busy timeout.
    pub fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.busy_timeout_ms.load(Ordering::Relaxed))
    }

    /// Sets the busy timeout.
    pub fn set_busy_timeout(&self, t: Duration) {
        self.busy_timeout_ms.store(
            t.as_millis().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// The durability of later commits.
    pub fn durability(&self) -> Durability {
        match self.durability.load(Ordering::Relaxed) {
            0 => Durability::Full,
            1 => Durability::Normal,
            _ => Durability::Off,
        }
    }

    /// Sets the durability of later commits.
    pub fn set_durability(&self, d: Durability) {
        self.durability.store(durability_code(d), Ordering::Relaxed);
    }

    /// Sets the test-only fault switches.
    #[cfg(feature = "fault-switches")]
    pub fn set_fault_switches(&self, f: FaultSwitches) {
        let bits = u8::from(f.superblock_before_sync)
            | u8::from(f.reuse_pages_early) << 1
            | u8::from(f.skip_reservation_check) << 2
            | u8::from(f.skip_pin) << 3
            | u8::from(f.skip_commit_verify) << 4
            | u8::from(f.compact_without_sync) << 5
            | u8::from(f.ignore_snapshots) << 6
            | u8::from(f.verify_without_pin) << 7;
        self.faults.store(bits, Ordering::Relaxed);
    }

    pub(crate) fn faults(&self) -> FaultSwitches {
        let bits = self.faults.load(Ordering::Relaxed);
        FaultSwitches {
            superblock_before_sync: bits & 1 != 0,
            reuse_pages_early: bits & 2 != 0,
            skip_reservation_check: bits & 4 != 0,
            skip_pin: bits & 8 != 0,
            skip_commit_verify: bits & 16 != 0,
            compact_without_sync: bits & 32 != 0,
            ignore_snapshots: bits & 64 != 0,
            verify_without_pin: bits & 128 != 0,
        }
    }

    /// Fails if an earlier sync failed (DESIGN §6: a failed fsync poisons).
    pub fn check_usable(&self) -> Result<()> {
        self.check_not_forked()?;
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Io {
                context: "an earlier sync or superblock write failed; reopen the container".into(),
                source: std::io::Error::from_raw_os_error(libc::EIO),
            });
        }
        Ok(())
    }

    /// Syncs; a failure poisons.
    pub fn sync_or_poison(&self) -> Result<()> {
        self.storage.sync().map_err(|e| self.poison(e))
    }

    /// Fails with `Closed` in a child that inherited this open across `fork()`.
    pub fn check_not_forked(&self) -> Result<()> {
        if self.locks.is_stale() {
            return Err(Error::Closed(
                "the container was opened before fork(); open it again in this process".into(),
            ));
        }
        Ok(())
    }

    fn poison(&self, e: Error) -> Error {
        self.poisoned.store(true, Ordering::Release);
        e
    }

    /// Byte offset of `page`; a page past the largest container is corruption.
    fn offset_of(&self, page: u64) -> Result<u64> {
        page.checked_mul(self.page_size as u64)
            .filter(|&o| o < crate::format::MAX_CONTAINER_BYTES)
            .ok_or_else(|| Error::corrupt(format!("page {page} lies past the largest container")))
    }

    /// Reads one whole page.
    pub fn read_page(&self, page: u64) -> Result<Vec<u8>> {
        let ps = self.page_size as usize;
        let mut buf = vec![0u8; ps];
        read_exact_at(&*self.storage, &mut buf, self.offset_of(page)?)?;
        Ok(buf)
    }

    /// Reads a data page and verifies it against its extent's checksum.
    pub fn read_data_page(&self, page: u64, checksum: u64, buf: &mut [u8]) -> Result<()> {
        read_exact_at(&*self.storage, buf, self.offset_of(page)?)?;
        if page_checksum(page, 0, buf) != checksum {
            return Err(Error::corrupt(format!(
                "checksum mismatch in data page {page}"
            )));
        }
        Ok(())
    }

    /// Reads consecutive data pages `first..` in one call and verifies each
    /// against its checksum; `out` holds `checksums.len()` pages.
    pub fn read_data_run(&self, first: u64, checksums: &[u64], out: &mut [u8]) -> Result<()> {
        self.read_data_parts(first, checksums, &mut [out])
    }

    /// Reads consecutive data pages `first..` with one vectored read into
    /// `parts` (each a whole number of pages, `checksums.len()` pages in
    /// all) and verifies each page against its checksum. A read of
    /// [`ASSIST_BYTES`] or more is done in two halves at once, the second
    /// by the open's helper thread ([`Assist`]).
    pub fn read_data_parts(
        &self,
        first: u64,
        checksums: &[u64],
        parts: &mut [&mut [u8]],
    ) -> Result<()> {
        let ps = self.page_size as usize;
        if checksums.len() * ps < ASSIST_BYTES {
            return self.read_verified(first, checksums, parts);
        }
        let half = checksums.len() / 2;
        let (mut low, mut high) = split_parts(parts, half * ps);
        let (low_sums, high_sums) = checksums.split_at(half);
        let (a, b) = self.assist.both(
            || self.read_verified(first, low_sums, &mut low),
            || self.read_verified(first.saturating_add(half as u64), high_sums, &mut high),
        );
        a.and(b)
    }

    /// [`Engine::read_data_parts`] on this thread.
    fn read_verified(&self, first: u64, checksums: &[u64], parts: &mut [&mut [u8]]) -> Result<()> {
        let ps = self.page_size as usize;
        let total: usize = parts.iter().map(|p| p.len()).sum();
        debug_assert_eq!(total, checksums.len() * ps);
        let n = self
            .storage
            .read_vectored_at(parts, self.offset_of(first)?)?;
        if n < total {
            return Err(Error::corrupt(format!(
                "container ends inside data pages {first}+{}",
                checksums.len()
            )));
        }
        let pages = parts.iter().flat_map(|p| p.chunks_exact(ps));
        for (i, (page, &sum)) in pages.zip(checksums).enumerate() {
            if page_checksum(first + i as u64, 0, page) != sum {
                return Err(Error::corrupt(format!(
                    "checksum mismatch in data page {}",
                    first + i as u64
                )));
            }
        }
        Ok(())
    }

    /// Writes data pages that this writer has reserved to the consecutive
    /// pages from `first`, in one call; returns their checksums.
    pub fn write_data_run(&self, first: u64, pages: &[&[u8]]) -> Result<Vec<u64>> {
        self.check_usable()?;
        self.storage
            .write_vectored_at(pages, self.offset_of(first)?)?;
        self.note_unstarted(first, pages.len() as u64);
        Ok((first..)
            .zip(pages)
            .map(|(page, bytes)| page_checksum(page, 0, bytes))
            .collect())
    }

    /// Notes pages `first..first + count` written (a writer's data pages, a
    /// commit's pages); once [`WRITEBACK_BYTES`] have been written since the
    /// last time, starts the disk writing back the span they lie in
    /// ([`Storage::start_writeback`]), unless commits are not synced at
    /// all: then nothing waits for them.
    fn note_unstarted(&self, first: u64, count: u64) {
        if self.durability() == Durability::Off {
            return;
        }
        let span = {
            let mut w = self.unstarted.lock().unwrap_or_else(|p| p.into_inner());
            w.pages += count;
            w.lo = w.lo.min(first);
            w.hi = w.hi.max(first + count);
            if w.pages * u64::from(self.page_size) < WRITEBACK_BYTES {
                return;
            }
            std::mem::take(&mut *w)
        };
        if let Ok(offset) = self.offset_of(span.lo) {
            let len = (span.hi - span.lo).saturating_mul(u64::from(self.page_size));
            self.storage.start_writeback(offset, len);
        }
    }

    /// The latest committed superblock. One read of the two slots; they are
    /// decoded only when their bytes differ from the last read's.
    pub fn latest(&self) -> Result<Arc<Superblock>> {
        if let Some(f) = &self.frozen {
            return Ok(Arc::clone(&f.sb));
        }
        let mut raw = [0u8; 2 * SUPERBLOCK_SLOT];
        if self.storage.read_superblocks(&mut raw)? == raw.len() {
            let newer_slot = {
                let cache = self.header.read().unwrap_or_else(|p| p.into_inner());
                if let Some(sb) = cache.sb.as_ref().filter(|_| cache.raw == raw) {
                    return Ok(Arc::clone(sb));
                }
                cache
                    .sb
                    .as_ref()
                    .and_then(|sb| newer_slot(&cache.raw, &raw, sb, self.torn))
            };
            let (a, b) = raw.split_at(SUPERBLOCK_SLOT);
            if let Some(sb) = newer_slot.or_else(|| choose_untorn(a, b, self.torn).ok()) {
                let sb = Arc::new(sb);
                self.published.fetch_max(sb.generation, Ordering::AcqRel);
                let mut cache = self.header.write().unwrap_or_else(|p| p.into_inner());
                cache.raw = raw;
                cache.sb = Some(Arc::clone(&sb));
                return Ok(sb);
            }
        }
        // A short file, or no valid slot (a writer may be mid-write): the
        // careful path, with its retries and errors.
        let sb = Arc::new(read_superblock_untorn(&*self.storage, self.torn)?);
        self.published.fetch_max(sb.generation, Ordering::AcqRel);
        Ok(sb)
    }

    /// Pins and returns the latest committed state.
    ///
    /// Pin first, then read (DESIGN §4 "Pins"): a state g at or after the
    /// pinned p keeps its pages, since they can only be freed by commits
    /// after g, whose reclaim sees the pin. The pin is kept between
    /// operations ([`StickyPin`]), so a read usually takes no lock at all;
    /// it moves forward (new pin first, then the old one goes) once newer
    /// states have been committed for a while, and is dropped when this open
    /// is idle, so that it never holds back page reuse for long. An open's
    /// first operation keeps no pin (a one-shot process starts no reaper).
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.check_usable()?;
        if let Some(view) = self.frozen_snapshot() {
            return Ok(view);
        }
        if self.faults().skip_pin {
            return Ok(Snapshot {
                sb: self.latest()?,
                _state: None,
            });
        }
        if let Some((state, taken)) = self.sticky.current() {
            let sb = self.latest()?;
            if sb.generation == state.generation() {
                self.sticky.touch();
                return Ok(Snapshot {
                    sb,
                    _state: Some(state),
                });
            }
            if sb.generation > state.generation() && !self.sticky.pin_is_stale(taken) {
                // A newer state under the same pin.
                let pin = Arc::clone(state.pin());
                let newer = Arc::new(PinnedState::new(sb.generation, pin, &self.states));
                self.sticky.replace(Arc::clone(&newer), taken);
                return Ok(Snapshot {
                    sb,
                    _state: Some(newer),
                });
            }
        }
        // A new pin, then a read at or after it. A read that lands on an
        // older slot (the newer one was being written) is retried.
        for _ in 0..100 {
            // Aim the pin at the newest state known (a cheap read): the
            // read after pinning then usually finds exactly that state, and
            // the pin holds back no page that only older states need. The
            // first snapshot aims at the state open read instead: a pin at
            // or before the state read next is safe, if perhaps older than
            // need be, and a process that opens, reads once and exits reads
            // the slots once.
            let from_open = self.aim_from_open.load(Ordering::Relaxed)
                && self.aim_from_open.swap(false, Ordering::Relaxed);
            if !from_open {
                self.latest()?;
            }
            let p = self.published.load(Ordering::Acquire);
            let pin = Arc::new(self.locks.pin(p)?);
            let taken = std::time::Instant::now();
            let sb = self.latest()?;
            if sb.generation >= p {
                let state = Arc::new(PinnedState::new(sb.generation, pin, &self.states));
                if self.sticky.keep_new_pins() {
                    self.sticky.replace(Arc::clone(&state), taken);
                }
                return Ok(Snapshot {
                    sb,
                    _state: Some(state),
                });
            }
        }
        Err(Error::Busy(
            "the superblock kept changing while being read".into(),
        ))
    }

    /// Reserves about `want` free pages for a writer `owner` (DESIGN §4
    /// "Reservations"): first from free extents of the latest commit, then
    /// past its end. Lock first, then check the pages against a superblock
    /// read after locking: a committer of another process may have used
    /// them between our first read and our lock. The pages stay reserved
    /// until released.
    pub fn reserve(&self, owner: Owner, adopt: Owner, want: u64) -> Result<Vec<(u64, u64)>> {
        self.check_usable()?;
        // Pages that pass the check stay ours (no committer takes a locked
        // page), so each round only replaces the ones another process's
        // commit used meanwhile; every failed round means that process made
        // progress. Bounded by the busy timeout (at least a second).
        let deadline = std::time::Instant::now() + self.busy_timeout().max(Duration::from_secs(1));
        let mut kept = Vec::new();
        let mut have = 0;
        loop {
            let Claim { pages: got, from } = self.claim_free(owner, adopt, want - have)?;
            let faults = self.faults();
            if faults.skip_reservation_check || faults.reuse_pages_early {
                kept.extend(got);
                return Ok(kept);
            }
            let sb = self.latest()?;
            // Pages claimed from this very state's free list (or past its
            // end) are free in it: only a commit made in between, which
            // shows as another state, can have used them.
            let unchanged = *sb == *from;
            let mut stale = Vec::new();
            for (s, l) in got {
                if unchanged || self.pages_free(&sb, s, l)? {
                    kept.push((s, l));
                    have += l;
                } else {
                    stale.push((s, l));
                }
            }
            self.locks.release_pages(owner, &stale);
            if have >= want {
                return Ok(kept);
            }
            if std::time::Instant::now() >= deadline {
                self.locks.release_pages(owner, &kept);
                return Err(Error::Busy(
                    "free pages kept being taken by other writers".into(),
                ));
            }
        }
    }

    /// Claims up to `want` pages that the latest commit lists as free, and
    /// returns them with that commit's superblock. Pages of this open held
    /// under `adopt` are taken over without a lock.
    fn claim_free(&self, owner: Owner, adopt: Owner, want: u64) -> Result<Claim> {
        let mut table = self.locks.reservations();
        let sb = self.latest()?;
        let mut got = Vec::new();
        let mut need = want;
        let claim = |table: &mut Reservations,
                     start: u64,
                     len: u64,
                     need: &mut u64,
                     got: &mut Vec<(u64, u64)>| {
            for r in self
                .locks
                .claim_pages(table, start, start + len, *need, owner, adopt)?
            {
                *need -= r.1;
                got.push(r);
            }
            Ok::<(), Error>(())
        };
        let root = Child::Clean(sb.root);
        let lo = records::kind_start(records::SYSTEM_INO, Kind::Free);
        let hi = records::kind_end(records::SYSTEM_INO, Kind::Free);
        // Free pages other writers were seen holding are passed over; if
        // that leaves the claim short, the hints are forgotten and the free
        // list walked again, so a stale hint never grows the container.
        table.take_passed_foreign();
        let faults = self.faults();
        if faults.skip_reservation_check || faults.reuse_pages_early {
            // The broken protocols trust their lock alone, as a writer
            // without hints would: the hints only narrow the race the
            // missing check loses, and the torture must still see it lost.
            table.forget_foreign_from(0);
        }
        for _ in 0..2 {
            tree::visit(self, &root, &lo, Some(&hi), false, &mut |k, v| {
                let start = Key::decode(k)?.sub_u64()?;
                let len = records::decode_count(v)?;
                if start == 0 || start.checked_add(len).is_none_or(|e| e > sb.page_count) {
                    return Err(Error::corrupt(format!(
                        "free extent {start}+{len} lies outside the container"
                    )));
                }
                claim(&mut table, start, len, &mut need, &mut got)?;
                Ok(need > 0)
            })?;
            if need == 0 || !table.take_passed_foreign() {
                break;
            }
            table.forget_foreign_from(0);
        }
        if faults.reuse_pages_early && need > 0 {
            // The broken protocol: pages freed by recent commits, at once.
            let lo = records::kind_start(records::SYSTEM_INO, Kind::Pending);
            let hi = records::kind_end(records::SYSTEM_INO, Kind::Pending);
            tree::visit(self, &root, &lo, Some(&hi), false, &mut |k, v| {
                let (_, start) = Key::decode(k)?.pending()?;
                let len = records::decode_count(v)?;
                claim(&mut table, start, len, &mut need, &mut got)?;
                Ok(need > 0)
            })?;
        }
        if need > 0 {
            // Past the end a page passed over would leave a hole.
            table.forget_foreign_from(sb.page_count);
            got.extend(self.locks.claim_pages(
                &mut table,
                sb.page_count,
                RESERVE_SPAN,
                need,
                owner,
                adopt,
            )?);
        }
        Ok(Claim {
            pages: got,
            from: sb,
        })
    }

    /// Whether pages `start..start+len` are free in `sb`: past its end, or
    /// inside one of its free extents.
    fn pages_free(&self, sb: &Superblock, start: u64, len: u64) -> Result<bool> {
        if start >= sb.page_count {
            return Ok(true);
        }
        let end = (start + len).min(sb.page_count);
        let lo = records::kind_start(records::SYSTEM_INO, Kind::Free);
        let mut covered = false;
        tree::visit(
            self,
            &Child::Clean(sb.root),
            &lo,
            Some(&records::free_key(start + 1)),
            true,
            &mut |k, v| {
                let fs = Key::decode(k)?.sub_u64()?;
                covered = fs <= start && fs.saturating_add(records::decode_count(v)?) >= end;
                Ok(false)
            },
        )?;
        Ok(covered)
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, PagePool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes `want` reserved pages from this open's pool, reserving more
    /// (in batches of at least [`pool::REFILL`]) when it runs dry. The
    /// pages stay locked until [`Engine::pages_committed`] or
    /// [`Engine::return_pages`].
    pub fn take_pages(&self, want: u64) -> Result<Vec<(u64, u64)>> {
        let mut pool = self.pool();
        let faults = self.faults();
        if faults.reuse_pages_early || faults.skip_reservation_check {
            // The broken protocols reserve for every request, as a writer
            // without a pool would: early reuse takes recently freed pages
            // at once; an unchecked reservation races with every commit.
            return self.reserve(pool.owner, pool.held_owner, want);
        }
        if pool.available() < want {
            // Batches come from free pages inside the container; past its
            // end only what is needed (and a little), so that the pool never
            // grows the container while freed pages wait.
            let short = want - pool.available();
            let free = self.latest()?.free_pages;
            let more = if free >= pool::REFILL {
                short.max(pool::REFILL)
            } else {
                short.max(pool::TAIL_REFILL)
            };
            let got = self.reserve(pool.owner, pool.held_owner, more)?;
            if more <= pool::TAIL_REFILL && self.durability() != Durability::Off {
                if let Err(e) = self.zero_past_file_end(&got) {
                    self.locks.release_pages(pool.owner, &got);
                    return Err(e);
                }
            }
            pool.add(&got);
        }
        Ok(pool.take(want))
    }

    /// Writes zeros over the pages of `got` (just reserved, so nobody
    /// writes them yet) that lie past the end of the container file, so
    /// that the file grows ahead of small commits in one write instead of
    /// one page per commit: a commit that overwrites blocks the file
    /// already has syncs only their data, one that extends the file also
    /// the file system's journal (`fdatasync` of a 4 KiB `pwrite` here:
    /// 99-106 us over written blocks, 164-179 us appending). Only free
    /// pages are written (past every committed state's end), so no state
    /// depends on these writes landing, in any order.
    fn zero_past_file_end(&self, got: &[(u64, u64)]) -> Result<()> {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        let ps = u64::from(self.page_size);
        let end = got.iter().map(|&(s, l)| s + l).max().unwrap_or(0);
        if end <= self.file_pages.load(Ordering::Relaxed) {
            return Ok(()); // no `fstat` for pages inside the file
        }
        let file_pages = self.storage.len()?.div_ceil(ps);
        for &(s, l) in got {
            let mut at = s.max(file_pages);
            while at < s + l {
                let n = (s + l - at).min(ZEROS.len() as u64 / ps);
                let bytes = &ZEROS[..(n * ps) as usize];
                self.storage.write_at(bytes, self.offset_of(at)?)?;
                at += n;
            }
        }
        self.file_pages
            .fetch_max(end.max(file_pages), Ordering::Relaxed);
        Ok(())
    }

    /// Gives pages back to the pool unused (their commit failed or never
    /// came): they are still free in every committed state. Pages past the
    /// container's end are released instead of kept, so later writers use
    /// freed pages inside it first.
    pub fn return_pages(&self, ranges: &[(u64, u64)]) {
        if ranges.is_empty() {
            return;
        }
        let end = self.latest().map_or(0, |sb| sb.page_count);
        let (mut keep, mut release) = (Vec::new(), Vec::new());
        for &(s, l) in ranges {
            if s + l <= end {
                keep.push((s, l));
            } else if s >= end {
                release.push((s, l));
            } else {
                keep.push((s, end - s));
                release.push((end, s + l - end));
            }
        }
        let mut pool = self.pool();
        pool.add(&keep);
        release.extend(pool.excess());
        let owner = pool.owner;
        drop(pool);
        self.locks.release_pages(owner, &release);
    }

    /// Notes pages whose use a written superblock records; their locks go
    /// in batches.
    pub fn pages_committed(&self, ranges: &[(u64, u64)]) {
        let mut pool = self.pool();
        {
            let mut table = self.locks.reservations();
            for &(s, l) in ranges {
                table.transfer(s, l, pool.owner, pool.held_owner);
            }
        }
        let done = pool.committed(ranges);
        let held = pool.held_owner;
        drop(pool);
        self.locks.release_pages(held, &done);
    }

    /// Runs `f` as one commit on the latest state (DESIGN §5). `f` changes
    /// the tree through the [`Tx`]; if it fails, nothing is written. `force_durable`
    /// syncs whatever the durability setting. Returns `f`'s value and the new
    /// superblock (`None` when `f` changed nothing).
    pub fn commit<T>(
        &self,
        force_durable: bool,
        f: impl FnOnce(&mut Tx) -> Result<T>,
    ) -> Result<(T, Option<Superblock>)> {
        if self.read_only {
            return Err(Error::Access(self.read_only_reason().into()));
        }
        self.check_usable()?;
        let _commit = self.locks.commit(self.busy_timeout())?;
        let sb = Superblock::clone(&*self.latest()?);
        let mut tx = Tx::new(self, sb);
        let result = f(&mut tx).and_then(|out| {
            if !tx.changed {
                return Ok((out, None));
            }
            let sb = self.finish(&mut tx, force_durable)?;
            self.published.fetch_max(sb.generation, Ordering::AcqRel);
            Ok((out, Some(sb)))
        });
        // The tree pages are recorded as used in the new superblock, or
        // were never published and are still free.
        let taken = std::mem::take(&mut tx.taken);
        if result.as_ref().is_ok_and(|(_, sb)| sb.is_some()) {
            self.pages_committed(&taken);
        } else {
            self.return_pages(&taken);
        }
        // The writer locks of inodes this commit deleted go with the Tx.
        drop(tx);
        result
    }

    /// Makes `latest` durable so that the pages its commits freed can be
    /// reused: on the background syncer where there is one — this commit
    /// then reuses nothing yet, the ones after it do once the sync has
    /// returned — unless so many pages wait (four times what asks for a
    /// sync) that the container would keep growing while they do;
    /// otherwise inline.
    fn sync_for_reuse(&self, latest: u64, pending: u64, page_count: u64) -> Result<()> {
        if let Some(bg) = &self.background_sync {
            if bg.request(latest) {
                if pending >= 4 * reuse_sync_threshold(page_count) {
                    bg.wait_idle();
                    self.check_usable()?;
                }
                return Ok(());
            }
        }
        self.sync_or_poison()?;
        self.known_durable.fetch_max(latest, Ordering::AcqRel);
        Ok(())
    }

    /// The oldest generation a reader of any process may still follow.
    ///
    /// This open's kept pin counts only while a snapshot uses it: a reader
    /// that starts now reads `latest` or newer, never a state whose pages
    /// this commit may reuse.
    fn reclaim_limit(&self, latest: u64) -> Result<u64> {
        let own = self.states.oldest(self.sticky.unused_generation());
        let other = self.locks.oldest_other_pin(latest + 1)?;
        Ok([own, other]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(latest)
            .min(latest))
    }

    fn finish(&self, tx: &mut Tx, force_durable: bool) -> Result<Superblock> {
        let faults = self.faults();
        let durability = if force_durable {
            Durability::Full
        } else {
            self.durability()
        };
        let ps = self.page_size as usize;
        let latest = tx.sb.generation;

        // Reuse pages freed by commits no reader can still see, once the
        // commit that freed them is durable (DESIGN §3 rules a and b).
        tx.reap_orphans()?;
        let worth_a_sync = tx.sb.pending_pages >= reuse_sync_threshold(tx.sb.page_count);
        let oldest = tx.oldest_pending()?;
        // Finding the oldest pin costs a lock probe: made only when enough
        // pages wait and some of them could be reused now (freed by a durable
        // commit, or worth a sync to make it so).
        let reusable =
            oldest.is_some_and(|k| k <= self.known_durable.load(Ordering::Acquire) || worth_a_sync);
        let mut limit = if tx.sb.pending_pages >= RECLAIM_MIN && reusable {
            self.reclaim_limit(latest)?
        } else {
            0
        };
        if faults.reuse_pages_early {
            limit = latest;
        }
        if oldest.is_some_and(|k| k <= limit && k > self.known_durable.load(Ordering::Acquire))
            && (worth_a_sync || faults.reuse_pages_early)
        {
            if faults.reuse_pages_early {
                self.known_durable.fetch_max(latest, Ordering::AcqRel);
            } else {
                self.sync_for_reuse(latest, tx.sb.pending_pages, tx.sb.page_count)?;
            }
        }
        let durable = if faults.reuse_pages_early {
            latest
        } else {
            self.known_durable.load(Ordering::Acquire)
        };
        // Pending keys sort by the generation that freed the pages, so with
        // the oldest past the limit there is nothing to reclaim (the list
        // has not changed since `oldest`: this commit's freed pages join it
        // only in `allocate_tree_pages`, below).
        if oldest.is_some_and(|k| k <= limit.min(durable)) {
            tx.reclaim(limit.min(durable))?;
        }
        tx.account_used()?;
        let pool = tx.allocate_tree_pages()?;

        let mut nodes: Vec<(PagePtr, Node)> = Vec::with_capacity(pool.len());
        let generation = tx.generation;
        let root = tx
            .tree
            .write_out(ps, generation, &mut pool.into_iter(), &mut |p, b| {
                nodes.push((p, b));
                Ok(())
            })?;
        // Data pages staged with the commit and the new tree pages go out
        // together, one vectored write per run of consecutive pages.
        let mut writes: Vec<(u64, &[u8])> = tx
            .data_writes
            .iter()
            .map(|(p, _, b)| (*p, &b[..]))
            .chain(nodes.iter().map(|(p, n)| (p.page, n.bytes())))
            .collect();
        writes.sort_unstable_by_key(|w| w.0);
        let mut i = 0;
        while i < writes.len() {
            let mut j = i + 1;
            // A run ends after `WRITEBACK_BYTES`, so that the disk starts on
            // a large commit's pages while the rest are written.
            while j < writes.len()
                && writes[j].0 == writes[j - 1].0 + 1
                && ((j - i) as u64) < WRITEBACK_BYTES / ps as u64
            {
                j += 1;
            }
            let parts: Vec<&[u8]> = writes[i..j].iter().map(|w| w.1).collect();
            self.storage
                .write_vectored_at(&parts, self.offset_of(writes[i].0)?)?;
            self.note_unstarted(writes[i].0, (j - i) as u64);
            i = j;
        }
        let mut sb = tx.sb.clone();
        sb.generation = generation;
        sb.root = root;
        sb.synced_commit = durability == Durability::Full;
        sb.manifest = Default::default();
        let write_slot = |sb: &Superblock| {
            self.storage
                .write_at(&sb.encode(), Superblock::slot_offset(generation))
                .map_err(|e| self.poison(e))
        };
        match durability {
            // One sync (DESIGN §5 step 5): the superblock goes out with the
            // pages, and names in its manifest every page not yet durable,
            // so that open can tell a commit that reached the disk whole.
            Durability::Full => {
                // The state this commit's slot falls back to must be durable.
                let base_durable =
                    self.known_durable.load(Ordering::Acquire) >= latest || tx.sb.synced_commit;
                if !base_durable {
                    self.storage.sync().map_err(|e| self.poison(e))?;
                    self.known_durable.fetch_max(latest, Ordering::AcqRel);
                }
                let fresh = tx
                    .fresh_data
                    .iter()
                    .map(|&(p, sum)| (p, true, sum))
                    .chain(tx.data_writes.iter().map(|&(p, sum, _)| (p, true, sum)))
                    .chain(nodes.iter().map(|(p, _)| (p.page, false, p.checksum)));
                match manifest(fresh) {
                    Some(m) if !faults.superblock_before_sync => {
                        sb.manifest = m;
                        write_slot(&sb)?;
                    }
                    // Too much to verify at open, cheaply: the pages first.
                    None if !faults.superblock_before_sync => {
                        self.storage.sync().map_err(|e| self.poison(e))?;
                        write_slot(&sb)?;
                    }
                    // The bug the crash sweep must catch: a superblock that
                    // names nothing to verify, before its pages are durable.
                    _ => write_slot(&sb)?,
                }
                if let Err(e) = self.storage.sync() {
                    // The commit failed, but its superblock is in the page
                    // cache, where a later open would find and trust it
                    // while its pages may never reach the disk: blank the
                    // slot (the base state stays in the other one).
                    let _ = self
                        .storage
                        .write_at(&[0u8; SUPERBLOCK_SLOT], Superblock::slot_offset(generation));
                    return Err(self.poison(e));
                }
                self.known_durable.fetch_max(generation, Ordering::AcqRel);
            }
            // The pages are durable before the superblock is written; the
            // superblock is, at the latest, with the next commit's sync.
            Durability::Normal => {
                if faults.superblock_before_sync {
                    write_slot(&sb)?;
                }
                self.storage.sync().map_err(|e| self.poison(e))?;
                if !faults.superblock_before_sync {
                    write_slot(&sb)?;
                }
            }
            Durability::Off => write_slot(&sb)?,
        }
        // The next operation reads these nodes: keep them, verified by
        // construction, instead of reading them back.
        for (ptr, n) in nodes {
            self.cache.insert(ptr, Arc::new(n));
        }
        Ok(sb)
    }

    /// Walks the whole latest state and verifies it (fsck).
    pub fn check(&self) -> Result<CheckReport> {
        let snap = self.snapshot()?;
        alloc::check(self, &snap.sb, !self.is_view())
    }
}

/// The manifest of the pages `(page, data?, checksum)` a commit writes with
/// its superblock, in page order; `None` if it would be too long to
/// verify cheaply at open (the pages are then synced first).
fn manifest(pages: impl Iterator<Item = (u64, bool, u64)>) -> Option<Manifest> {
    if pages.size_hint().0 as u64 > MAX_MANIFEST_PAGES {
        return None;
    }
    let mut pages: Vec<(u64, bool, u64)> = pages.collect();
    if pages.len() as u64 > MAX_MANIFEST_PAGES {
        return None;
    }
    pages.sort_unstable_by_key(|p| p.0);
    let mut runs: Vec<ManifestRun> = Vec::new();
    let mut sums = Vec::with_capacity(pages.len() * 8);
    for &(page, data, sum) in &pages {
        sums.extend_from_slice(&sum.to_le_bytes());
        match runs.last_mut() {
            Some(r) if r.data == data && r.start + u64::from(r.len) == page => r.len += 1,
            _ => runs.push(ManifestRun {
                start: page,
                len: 1,
                data,
            }),
        }
    }
    (runs.len() <= MAX_MANIFEST_RUNS).then(|| Manifest {
        runs,
        sum: crate::format::struct_checksum(&sums),
    })
}

/// Reads both superblock slots and picks the state. A writer may be in the
/// middle of writing one slot; the other then holds the previous state. If
/// neither is valid, retry a few times before calling it corrupt.
pub fn read_superblock(storage: &dyn Storage) -> Result<Superblock> {
    read_superblock_untorn(storage, None)
}

/// [`Superblock::choose`], passing over a slot found torn at open.
/// The new latest state when only one slot changed since `before` (whose
/// latest state was `latest`) and it now holds a valid, untorn commit newer
/// than that: the other slot still holds what it held, which is at most
/// `latest`, so [`choose_untorn`] would pick this one too, and only one
/// slot needs decoding (the usual case: one commit since the last look).
/// `None` sends the caller to [`choose_untorn`].
fn newer_slot(
    before: &[u8; 2 * SUPERBLOCK_SLOT],
    now: &[u8; 2 * SUPERBLOCK_SLOT],
    latest: &Superblock,
    torn: Option<Torn>,
) -> Option<Superblock> {
    let (old_a, old_b) = before.split_at(SUPERBLOCK_SLOT);
    let (a, b) = now.split_at(SUPERBLOCK_SLOT);
    let changed = match (old_a == a, old_b == b) {
        (true, false) => b,
        (false, true) => a,
        _ => return None,
    };
    Superblock::decode(changed)
        .ok()
        .filter(|sb| sb.generation > latest.generation && !torn.is_some_and(|t| t.is(sb)))
}

fn choose_untorn(a: &[u8], b: &[u8], torn: Option<Torn>) -> Result<Superblock> {
    let keep = |r: Result<Superblock>| match r {
        Ok(sb) if torn.is_some_and(|t| t.is(&sb)) => {
            Err(Error::corrupt("the commit in this slot is torn"))
        }
        other => other,
    };
    Superblock::choose(keep(Superblock::decode(a)), keep(Superblock::decode(b)))
}

/// Whether every page the commit's manifest names reached the disk whole:
/// each page's checksum, in run order, hashes to the manifest's sum.
fn commit_verifies(storage: &dyn Storage, sb: &Superblock) -> Result<bool> {
    if sb.manifest.runs.is_empty() {
        return Ok(true);
    }
    let ps = sb.page_size as usize;
    let mut sums = Vec::new();
    for run in &sb.manifest.runs {
        let mut buf = vec![0u8; run.len as usize * ps];
        let at = run.start * ps as u64;
        if storage.read_at(&mut buf, at)? < buf.len() {
            return Ok(false);
        }
        let seed = if run.data { 0 } else { sb.generation };
        for (i, page) in buf.chunks_exact(ps).enumerate() {
            let sum = page_checksum(run.start + i as u64, seed, page);
            sums.extend_from_slice(&sum.to_le_bytes());
        }
    }
    Ok(crate::format::struct_checksum(&sums) == sb.manifest.sum)
}

/// The state an open starts from: the latest commit whose manifest
/// verifies. The one before a torn commit is intact by the commit
/// protocol (its pages were durable before the torn commit's superblock
/// was written, and that commit wrote only pages free in it).
///
/// Invariant kept: a commit is called torn only if its pages fail to
/// verify while nothing can reuse them (a commit with an empty manifest
/// has no pages to verify, and is taken as first read). Other processes keep committing
/// while an open verifies, and a commit's pages are freed by the next one
/// and reused by the commits after it (docs/format.md §6): verified
/// unpinned, a whole commit would fail. So each candidate is verified under
/// a pin, pin first, then read (as [`Engine::snapshot`]): a state read at
/// or after the pinned generation keeps its pages until the pin goes.
/// Compaction, which ignores pins, is kept out by the `CONTAINER` region
/// the caller holds. After a torn commit, the candidate is the newest other
/// state: the one before it, or a commit another open made after retiring
/// it ([`Engine::retire_torn_commit`]).
fn open_state(
    storage: &dyn Storage,
    locks: &Arc<LockMap>,
    check: OpenCheck,
) -> Result<(Superblock, Option<Torn>)> {
    if check == OpenCheck::Trust {
        return Ok((read_superblock(storage)?, None));
    }
    let mut torn: Option<Torn> = None;
    let read = |torn: Option<Torn>| {
        read_superblock_untorn(storage, torn).map_err(|e| match (torn, e) {
            (Some(t), Error::Corrupt(_)) => Error::corrupt(format!(
                "the latest commit ({}) is torn and no earlier one is left",
                t.generation
            )),
            (_, e) => e,
        })
    };
    for _ in 0..100 {
        // Aim the pin at the newest state (a cheap read), then read at or
        // after it. A read that lands on an older slot (the newer one was
        // blanked meanwhile) is retried.
        let newest = read(torn)?;
        // A commit whose manifest names no page verifies whatever the pages
        // hold: nothing is read to check it, so nothing needs a pin.
        if newest.manifest.runs.is_empty() {
            return Ok((newest, torn));
        }
        let aim = newest.generation;
        let _pin = match check {
            OpenCheck::Pinned => Some(locks.pin(aim)?),
            _ => None,
        };
        let sb = read(torn)?;
        if sb.generation < aim {
            continue;
        }
        if commit_verifies(storage, &sb)? {
            return Ok((sb, torn));
        }
        if let Some(t) = torn {
            return Err(Error::corrupt(format!(
                "neither commit {} nor commit {}, the newest state besides it, verifies",
                t.generation, sb.generation
            )));
        }
        torn = Some(Torn::of(&sb));
    }
    Err(Error::Busy(
        "the superblock kept changing while open verified the latest commit".into(),
    ))
}

/// [`read_superblock`], passing over a slot found torn at open.
fn read_superblock_untorn(storage: &dyn Storage, torn: Option<Torn>) -> Result<Superblock> {
    let mut last = None;
    for attempt in 0..4 {
        let mut buf = [0u8; 2 * SUPERBLOCK_SLOT];
        let n = storage.read_at(&mut buf, 0)?;
        if n < SUPERBLOCK_SLOT {
            return Err(Error::BadMagic(format!(
                "file of {n} bytes is too short to be a whefs container"
            )));
        }
        let choice = if n >= 2 * SUPERBLOCK_SLOT {
            choose_untorn(&buf[..SUPERBLOCK_SLOT], &buf[SUPERBLOCK_SLOT..], torn)
        } else {
            Superblock::choose(
                Superblock::decode(&buf[..SUPERBLOCK_SLOT]),
                Err(Error::BadMagic("short".into())),
            )
        };
        match choice {
            Ok(sb) => return Ok(sb),
            Err(e @ Error::BadMagic(_)) => return Err(e),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(1 << attempt));
    }
    Err(last.unwrap_or_else(|| Error::corrupt("no valid superblock")))
}

/// One commit in progress: the latest tree being changed, plus the pages
/// it frees and the writer pages it takes into use.
pub struct Tx<'e> {
    engine: &'e Engine,
    /// The base state; counters are updated in place as the tree changes.
    pub sb: Superblock,
    tree: TxTree,
    /// Generation this commit will publish.
    pub generation: u64,
    /// Page ranges this commit stops using, with the generation that wrote
    /// them: they go on its pending list, or are held for a snapshot.
    freed: Vec<(u64, u64, u64)>,
    /// The newest snapshot's generation, once looked up.
    newest_snapshot: Option<Option<u64>>,
    /// Writer-reserved page ranges this commit takes into use.
    used: Vec<(u64, u64)>,
    /// Pool pages this commit took for its tree pages.
    taken: Vec<(u64, u64)>,
    /// Data pages written with this commit's tree pages: (page,
    /// checksum, bytes).
    data_writes: Vec<(u64, u64, Vec<u8>)>,
    /// Data pages writers wrote before this commit and did not sync:
    /// (page, checksum), for the manifest.
    fresh_data: Vec<(u64, u64)>,
    changed: bool,
    /// Writer locks of inodes this commit deletes, held until it is published
    /// so no writer can open them in between.
    held: Vec<FileGuard>,
}

impl<'e> Tx<'e> {
    fn new(engine: &'e Engine, sb: Superblock) -> Tx<'e> {
        let generation = sb.generation + 1;
        let tree = TxTree::new(Some(sb.root));
        Tx {
            engine,
            sb,
            tree,
            generation,
            freed: Vec::new(),
            newest_snapshot: None,
            used: Vec::new(),
            taken: Vec::new(),
            data_writes: Vec::new(),
            fresh_data: Vec::new(),
            changed: false,
            held: Vec::new(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    /// Looks up a key in the tree as this commit has changed it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.tree.get(self.engine, key)
    }

    /// Inserts or replaces a record.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>> {
        self.changed = true;
        self.tree.insert(self.engine, key, value)
    }

    /// Removes a record.
    pub fn remove(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let old = self.tree.remove(self.engine, key)?;
        self.changed |= old.is_some();
        Ok(old)
    }

    /// Calls `f` for records in `lo..hi` in key order (or reverse).
    pub fn visit(&self, lo: &[u8], hi: &[u8], rev: bool, f: &mut tree::Visitor) -> Result<()> {
        tree::visit(self.engine, self.tree.root(), lo, Some(hi), rev, f)
    }

    /// Collects the records in `lo..hi`.
    pub fn collect(&self, lo: &[u8], hi: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        self.visit(lo, hi, false, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(true)
        })?;
        Ok(out)
    }

    /// Hands out a new inode number.
    pub fn alloc_ino(&mut self) -> Result<u64> {
        let ino = self.sb.next_ino;
        if ino >= crate::format::MAX_INO {
            return Err(Error::Full("inode numbers exhausted".into()));
        }
        self.sb.next_ino += 1;
        self.changed = true;
        Ok(ino)
    }

    /// Puts pages that this commit stops using, written by commit `birth`,
    /// on its pending list (or holds them for a snapshot that needs them).
    pub fn free_pages(&mut self, start: u64, len: u64, birth: u64) {
        if len > 0 {
            self.freed.push((start, len, birth));
            self.changed = true;
        }
    }

    /// Writes a data page (reserved by its writer) with this commit's tree
    /// pages, before the superblock; returns its checksum.
    pub fn write_data_page(&mut self, page: u64, bytes: Vec<u8>) -> u64 {
        let sum = page_checksum(page, 0, &bytes);
        self.data_writes.push((page, sum, bytes));
        sum
    }

    /// Notes a data page a writer wrote before this commit and has not
    /// synced: the manifest names it.
    pub fn note_unsynced_data(&mut self, page: u64, checksum: u64) {
        self.fresh_data.push((page, checksum));
    }

    /// Takes writer-reserved pages into use.
    pub fn use_pages(&mut self, start: u64, len: u64) {
        if len > 0 {
            self.used.push((start, len));
            self.changed = true;
        }
    }

    /// Deletes an inode's records and frees its data pages.
    pub fn delete_inode(&mut self, ino: u64, kind: InodeKind) -> Result<()> {
        let lo = records::kind_start(ino, Kind::Extent);
        let hi = records::kind_end(ino, Kind::Extent);
        for (k, v) in self.collect(&lo, &hi)? {
            let ext = ExtentRecord::decode(&v)?;
            self.free_pages(ext.first, ext.count(), ext.generation);
            self.remove(&k)?;
        }
        self.remove(&records::inode_key(ino))?;
        self.count(kind, -1);
        Ok(())
    }

    /// Drops an inode whose last name went away: at once if no writer in
    /// any process has it open (its lock is held until this commit is
    /// published), or as an orphan that the writer frees at close (DESIGN §5).
    pub fn unlink_inode(&mut self, ino: u64, kind: InodeKind) -> Result<()> {
        if kind == InodeKind::File {
            match self.engine.locks.try_lock_file(ino)? {
                Some(guard) => self.held.push(guard),
                None => {
                    self.insert(&records::orphan_key(ino), &[])?;
                    return Ok(());
                }
            }
        }
        self.delete_inode(ino, kind)
    }

    /// Frees orphans whose writer is gone (a killed process leaves them).
    fn reap_orphans(&mut self) -> Result<()> {
        let lo = records::kind_start(records::SYSTEM_INO, Kind::Orphan);
        let hi = records::kind_end(records::SYSTEM_INO, Kind::Orphan);
        for (k, _) in self.collect(&lo, &hi)?.into_iter().take(64) {
            let ino = Key::decode(&k)?.sub_u64()?;
            if let Some(guard) = self.engine.locks.try_lock_file(ino)? {
                self.held.push(guard);
                self.remove(&k)?;
                self.delete_inode(ino, InodeKind::File)?;
            }
        }
        Ok(())
    }

    /// Counts a file or directory created (+1) or removed (-1).
    pub fn count(&mut self, kind: InodeKind, delta: i64) {
        let c = match kind {
            InodeKind::File | InodeKind::Symlink => &mut self.sb.files,
            InodeKind::Dir => &mut self.sb.dirs,
        };
        *c = c.saturating_add_signed(delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(a: &Superblock, b: &Superblock) -> [u8; 2 * SUPERBLOCK_SLOT] {
        let mut raw = [0u8; 2 * SUPERBLOCK_SLOT];
        raw[..SUPERBLOCK_SLOT].copy_from_slice(&a.encode());
        raw[SUPERBLOCK_SLOT..].copy_from_slice(&b.encode());
        raw
    }

    fn state(generation: u64) -> Superblock {
        let image = new_container_image(4096, "t", 1);
        let (a, b) = image[..2 * SUPERBLOCK_SLOT].split_at(SUPERBLOCK_SLOT);
        let mut sb = Superblock::decode(a)
            .or_else(|_| Superblock::decode(b))
            .unwrap();
        sb.generation = generation;
        sb.root.generation = generation;
        sb
    }

    #[test]
    fn decoding_the_one_changed_slot_agrees_with_choosing_between_both() {
        let (g4, g5, g6) = (state(4), state(5), state(6));
        let before = slots(&g4, &g5);
        let now = slots(&g6, &g5);
        let (a, b) = now.split_at(SUPERBLOCK_SLOT);
        let chosen = choose_untorn(a, b, None).unwrap();
        let fast = newer_slot(&before, &now, &g5, None).expect("one slot changed");
        assert_eq!(
            (fast.generation, fast.root),
            (chosen.generation, chosen.root)
        );
        // A torn commit in the changed slot, both slots changed, a changed
        // slot that does not decode, or one no newer: the full choice.
        assert!(newer_slot(&before, &now, &g5, Some(Torn::of(&g6))).is_none());
        assert!(newer_slot(&before, &slots(&g6, &state(7)), &g5, None).is_none());
        let mut torn_bytes = now;
        torn_bytes[100] ^= 1;
        assert!(newer_slot(&before, &torn_bytes, &g5, None).is_none());
        assert!(newer_slot(&now, &slots(&g4, &g5), &g6, None).is_none());
    }
}
