//! Fault-injecting storage for tests: power loss at a chosen operation, and
//! I/O errors (EIO, ENOSPC, short writes) at a chosen operation, once or for
//! good (DESIGN §6).
//!
//! It owns a model of what a disk keeps: a **durable** image (what survives
//! power loss) and the list of writes issued since the last successful
//! `sync`, which are applied to the **current** view that reads see. The
//! invariant it keeps: only a successful `sync` moves writes into the durable
//! image. A crash image is the durable image plus some subset of the unsynced
//! writes, possibly reordered and torn at 512-byte sectors — never anything
//! that was not written, and never less than what was synced.
//!
//! Every `write_at` and every `sync` call is one numbered *op* (0, 1, 2, …);
//! crash points and the power-loss sweep refer to those numbers.
//!
//! A failed `sync` does not pretend the data became durable: the writes it
//! covered are lost to the durable image for good, even if a later `sync`
//! succeeds (as on Linux, where the kernel drops the failed dirty pages and
//! the next `fsync` reports success). Reads still see them, as reads from the
//! page cache would. A storage that retries a failed sync and then trusts it
//! produces crash images without that data, which the sweep catches.

use std::fmt;
use std::io;
use std::sync::{Mutex, MutexGuard};

use super::{LockMode, Storage};
use crate::error::{Error, Result};

/// Sector size of the modelled disk: a write in flight at power loss lands
/// or not per sector, never part of a sector.
pub const SECTOR: usize = 512;

/// Which unsynced writes a crash image keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// None: the image is the durable image.
    DropAll,
    /// All of them, applied in the order they were issued.
    KeepAll,
    /// Each write (and `set_len`) independently kept or dropped, the kept
    /// ones applied in a random order (reordered).
    Random,
    /// Like `Random`, but each kept write is split at 512-byte sector
    /// boundaries of the container and each sector is independently kept or
    /// dropped (a torn write).
    Torn,
}

/// The kind of operation an error plan matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// `write_at`.
    Write,
    /// `sync`.
    Sync,
    /// `read_at`.
    Read,
    /// `set_len`.
    SetLen,
    /// Any of the above.
    Any,
}

/// The error an error plan injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailKind {
    /// `EIO`: the operation does nothing and fails with [`Error::Io`].
    Eio,
    /// `ENOSPC`: the operation does nothing and fails with [`Error::Full`].
    Enospc,
    /// A write stores only the first half of its buffer, then fails with
    /// `EIO`. Other operations treat it as [`FailKind::Eio`].
    ShortWrite,
}

/// A change issued since the last successful sync.
enum Pending {
    Write { offset: usize, bytes: Vec<u8> },
    SetLen(usize),
}

struct FailPlan {
    op: OpKind,
    nth: u64,
    persistent: bool,
    kind: FailKind,
    /// Matching operations seen since the plan was set.
    seen: u64,
}

struct State {
    durable: Vec<u8>,
    current: Vec<u8>,
    pending: Vec<Pending>,
    ops: u64,
    crash_at: Option<u64>,
    crashed: bool,
    fail: Option<FailPlan>,
}

/// An in-memory container that can lose power and fail operations on cue.
///
/// Locks behave like [`super::MemoryStorage`]'s: always granted, local to
/// this storage.
pub struct FaultStorage {
    state: Mutex<State>,
}

impl FaultStorage {
    /// An empty container.
    pub fn new() -> FaultStorage {
        FaultStorage::from_image(Vec::new())
    }

    /// A container whose durable (and current) content is `image`.
    pub fn from_image(image: Vec<u8>) -> FaultStorage {
        FaultStorage {
            state: Mutex::new(State {
                current: image.clone(),
                durable: image,
                pending: Vec::new(),
                ops: 0,
                crash_at: None,
                crashed: false,
                fail: None,
            }),
        }
    }

    /// How many ops (`write_at` and `sync` calls, failed ones included) have
    /// been issued so far. The next op gets this number.
    pub fn ops(&self) -> u64 {
        self.state().ops
    }

    /// Loses power when op `n` is reached: that op and everything after it
    /// (reads, lengths and resizes included) fail with `EIO` and change
    /// nothing. Locks keep working. If op `n` has already passed, the next
    /// op loses power.
    pub fn set_crash_at(&self, n: u64) {
        self.state().crash_at = Some(n);
    }

    /// Whether power has been lost.
    pub fn crashed(&self) -> bool {
        self.state().crashed
    }

    /// What the disk could hold after losing power now (or when it was lost):
    /// the durable image plus the unsynced writes chosen by `how`. `seed`
    /// drives the choices of `Random` and `Torn`; one seed always gives the
    /// same image.
    pub fn crash_image(&self, how: CrashMode, seed: u64) -> Vec<u8> {
        let st = self.state();
        let mut image = st.durable.clone();
        match how {
            CrashMode::DropAll => {}
            CrashMode::KeepAll => {
                for p in &st.pending {
                    apply(&mut image, p);
                }
            }
            CrashMode::Random | CrashMode::Torn => {
                let mut rng = SplitMix64(seed);
                let mut order: Vec<usize> = (0..st.pending.len()).collect();
                for i in (1..order.len()).rev() {
                    let j = (rng.next() % (i as u64 + 1)) as usize;
                    order.swap(i, j);
                }
                for i in order {
                    if !rng.coin() {
                        continue;
                    }
                    match &st.pending[i] {
                        Pending::Write { offset, bytes } if how == CrashMode::Torn => {
                            for (start, piece) in sectors(*offset, bytes) {
                                if rng.coin() {
                                    write_into(&mut image, start, piece);
                                }
                            }
                        }
                        p => apply(&mut image, p),
                    }
                }
            }
        }
        image
    }

    /// Fails the `nth` (counting from 0 when the plan is set) operation of
    /// kind `op` with `kind` — and, if `persistent`, every later matching one
    /// too. `None` matches any operation, like `Some(OpKind::Any)`. Replaces
    /// any earlier plan. A crash takes precedence over the plan.
    pub fn set_fail(&self, op: Option<OpKind>, nth: u64, persistent: bool, kind: FailKind) {
        self.state().fail = Some(FailPlan {
            op: op.unwrap_or(OpKind::Any),
            nth,
            persistent,
            kind,
            seen: 0,
        });
    }

    /// Removes the error plan.
    pub fn clear_fail(&self) {
        self.state().fail = None;
    }

    /// The current content, as reads see it.
    pub fn snapshot(&self) -> Vec<u8> {
        self.state().current.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the model half-updated
        // in a way later calls depend on; keep serving the test.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for FaultStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for FaultStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state();
        f.debug_struct("FaultStorage")
            .field("len", &st.current.len())
            .field("durable_len", &st.durable.len())
            .field("unsynced", &st.pending.len())
            .field("ops", &st.ops)
            .field("crash_at", &st.crash_at)
            .field("crashed", &st.crashed)
            .finish()
    }
}

impl State {
    /// Starts op number `self.ops` (a write or a sync). Fails if power is,
    /// or is now, lost.
    fn begin_op(&mut self, what: &str) -> Result<u64> {
        let op = self.ops;
        self.ops += 1;
        if self.crash_at.is_some_and(|n| op >= n) {
            self.crashed = true;
        }
        self.check_power(what, op)?;
        Ok(op)
    }

    fn check_power(&self, what: &str, op: u64) -> Result<()> {
        if self.crashed {
            return Err(injected(
                libc::EIO,
                &format!("{what} (op {op}): power lost"),
            ));
        }
        Ok(())
    }

    /// The error the plan injects into this operation, if any.
    fn planned_failure(&mut self, kind: OpKind) -> Option<FailKind> {
        let plan = self.fail.as_mut()?;
        if plan.op != OpKind::Any && plan.op != kind {
            return None;
        }
        let index = plan.seen;
        plan.seen += 1;
        let fires = index == plan.nth || (plan.persistent && index > plan.nth);
        fires.then_some(plan.kind)
    }

    /// Changes the current view and remembers the change as unsynced.
    fn record(&mut self, change: Pending) {
        apply(&mut self.current, &change);
        self.pending.push(change);
    }
}

impl Storage for FaultStorage {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let mut st = self.state();
        let op = st.ops;
        st.check_power("read", op)?;
        if let Some(kind) = st.planned_failure(OpKind::Read) {
            return Err(fail_error(kind, "read"));
        }
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= st.current.len() {
            return Ok(0);
        }
        let n = buf.len().min(st.current.len() - start);
        buf[..n].copy_from_slice(&st.current[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        let mut st = self.state();
        let op = st.begin_op("write")?;
        let offset = usize::try_from(offset)
            .ok()
            .filter(|o| o.checked_add(buf.len()).is_some())
            .ok_or_else(|| Error::Full(format!("write at {offset} beyond memory")))?;
        let keep = match st.planned_failure(OpKind::Write) {
            None => buf.len(),
            Some(FailKind::ShortWrite) => buf.len() / 2,
            Some(kind) => return Err(fail_error(kind, &format!("write (op {op})"))),
        };
        let end = offset + keep;
        if st.current.len() < end {
            let grow = end - st.current.len();
            st.current
                .try_reserve(grow)
                .map_err(|_| Error::NoMem("growing a fault-injection container".into()))?;
        }
        st.record(Pending::Write {
            offset,
            bytes: buf[..keep].to_vec(),
        });
        if keep < buf.len() {
            return Err(injected(
                libc::EIO,
                &format!(
                    "write (op {op}): short write of {keep} of {} bytes",
                    buf.len()
                ),
            ));
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let mut st = self.state();
        let op = st.begin_op("sync")?;
        if let Some(kind) = st.planned_failure(OpKind::Sync) {
            // The unsynced writes are lost to the durable image for good.
            st.pending.clear();
            return Err(fail_error(kind, &format!("sync (op {op})")));
        }
        let st = &mut *st;
        for p in st.pending.drain(..) {
            apply(&mut st.durable, &p);
        }
        Ok(())
    }

    fn len(&self) -> Result<u64> {
        let st = self.state();
        st.check_power("len", st.ops)?;
        Ok(st.current.len() as u64)
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let mut st = self.state();
        let op = st.ops;
        st.check_power("set_len", op)?;
        if let Some(kind) = st.planned_failure(OpKind::SetLen) {
            return Err(fail_error(kind, "set_len"));
        }
        let len =
            usize::try_from(len).map_err(|_| Error::Full(format!("length {len} beyond memory")))?;
        st.record(Pending::SetLen(len));
        Ok(())
    }

    fn read_only(&self) -> bool {
        false
    }

    fn try_lock(&self, _start: u64, _len: u64, _mode: LockMode) -> Result<bool> {
        Ok(true)
    }

    fn unlock(&self, _start: u64, _len: u64) -> Result<()> {
        Ok(())
    }

    fn probe_lock(&self, _start: u64, _len: u64, _mode: LockMode) -> Result<Option<(u64, u64)>> {
        Ok(None)
    }

    fn shared_locks(&self) -> bool {
        false
    }
}

fn injected(errno: i32, what: &str) -> Error {
    Error::io(
        format!("fault injection: {what}"),
        io::Error::from_raw_os_error(errno),
    )
}

fn fail_error(kind: FailKind, what: &str) -> Error {
    match kind {
        FailKind::Enospc => injected(libc::ENOSPC, what),
        FailKind::Eio | FailKind::ShortWrite => injected(libc::EIO, what),
    }
}

fn apply(image: &mut Vec<u8>, change: &Pending) {
    match change {
        Pending::Write { offset, bytes } => write_into(image, *offset, bytes),
        Pending::SetLen(len) => image.resize(*len, 0),
    }
}

fn write_into(image: &mut Vec<u8>, offset: usize, bytes: &[u8]) {
    let end = offset + bytes.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[offset..end].copy_from_slice(bytes);
}

/// Splits a write at `offset` into its pieces per disk sector, as
/// `(offset, bytes)`.
fn sectors(offset: usize, bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut pos = offset;
    let end = offset + bytes.len();
    std::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let next = ((pos / SECTOR + 1) * SECTOR).min(end);
        let piece = (pos, &bytes[pos - offset..next - offset]);
        pos = next;
        Some(piece)
    })
}

/// splitmix64: a tiny deterministic generator, enough to pick crash subsets.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_eio(err: &Error) -> bool {
        matches!(err, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EIO))
    }

    /// 1 KiB of 0x11 made durable, then two unsynced writes.
    fn storage_with_unsynced_writes() -> FaultStorage {
        let s = FaultStorage::new();
        s.write_at(&[0x11; 1024], 0).unwrap();
        s.sync().unwrap();
        s.write_at(&[0x22; 100], 1024).unwrap();
        s.write_at(&[0x33; 10], 10).unwrap();
        s
    }

    #[test]
    fn writes_and_syncs_are_numbered_ops_and_reads_are_not() {
        let s = FaultStorage::new();
        assert_eq!(s.ops(), 0);
        s.write_at(b"abc", 0).unwrap();
        s.sync().unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(s.read_at(&mut buf, 0).unwrap(), 3);
        s.set_len(2).unwrap();
        assert_eq!(s.len().unwrap(), 2);
        assert_eq!(s.ops(), 2);
        assert_eq!(s.snapshot(), b"ab");
    }

    #[test]
    fn crash_fails_op_n_and_everything_after_without_changing_anything() {
        let s = FaultStorage::from_image(vec![7; 8]);
        s.set_crash_at(2);
        s.write_at(b"a", 0).unwrap(); // op 0
        s.sync().unwrap(); // op 1
        assert!(!s.crashed());
        assert!(is_eio(&s.write_at(b"b", 1).unwrap_err())); // op 2
        assert!(s.crashed());
        assert!(is_eio(&s.sync().unwrap_err()));
        assert!(is_eio(&s.set_len(0).unwrap_err()));
        assert!(is_eio(&s.len().unwrap_err()));
        let mut buf = [0u8; 1];
        assert!(is_eio(&s.read_at(&mut buf, 0).unwrap_err()));
        let mut want = vec![7; 8];
        want[0] = b'a';
        assert_eq!(s.snapshot(), want);
        assert_eq!(s.crash_image(CrashMode::KeepAll, 0), want);
    }

    #[test]
    fn crash_images_keep_the_durable_prefix_in_every_mode() {
        let s = storage_with_unsynced_writes();
        for how in [
            CrashMode::DropAll,
            CrashMode::KeepAll,
            CrashMode::Random,
            CrashMode::Torn,
        ] {
            for seed in 0..64 {
                let image = s.crash_image(how, seed);
                assert!(image.len() >= 1024, "{how:?} {seed}");
                for (i, &b) in image[..1024].iter().enumerate() {
                    let unsynced = (10..20).contains(&i) && b == 0x33;
                    assert!(
                        b == 0x11 || unsynced,
                        "{how:?} seed {seed} byte {i} = {b:#x}"
                    );
                }
                assert!(image[1024..].iter().all(|&b| b == 0x22), "{how:?} {seed}");
            }
        }
        assert_eq!(s.crash_image(CrashMode::DropAll, 0), vec![0x11; 1024]);
        assert_eq!(s.crash_image(CrashMode::KeepAll, 0), s.snapshot());
    }

    #[test]
    fn random_mode_keeps_drops_and_reorders_unsynced_writes() {
        // Two overlapping writes: every outcome is told apart by its bytes.
        let s = FaultStorage::from_image(vec![0; 6]);
        s.write_at(&[1; 4], 0).unwrap();
        s.write_at(&[2; 4], 2).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let image = s.crash_image(CrashMode::Random, seed);
            assert_eq!(
                image,
                s.crash_image(CrashMode::Random, seed),
                "deterministic"
            );
            seen.insert(image);
        }
        let want = [
            [0, 0, 0, 0, 0, 0], // both dropped
            [0, 0, 2, 2, 2, 2], // second only
            [1, 1, 1, 1, 0, 0], // first only
            [1, 1, 1, 1, 2, 2], // both, reordered
            [1, 1, 2, 2, 2, 2], // both, in order
        ];
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            want.map(|w| w.to_vec())
        );
    }

    #[test]
    fn torn_mode_tears_at_512_byte_sectors() {
        // Durable zeros; one unsynced write of 0xAA over 3 sectors plus a bit,
        // starting mid-sector: pieces [100,512) [512,1024) [1024,1536) [1536,1600).
        let s = FaultStorage::from_image(vec![0; 2048]);
        s.write_at(&[0xAA; 1500], 100).unwrap();
        let mut torn = false;
        for seed in 0..200 {
            let image = s.crash_image(CrashMode::Torn, seed);
            assert_eq!(image.len(), 2048);
            let pieces = [(100, 512), (512, 1024), (1024, 1536), (1536, 1600)];
            let mut kept = 0;
            for (a, b) in pieces {
                let piece = &image[a..b];
                assert!(
                    piece.iter().all(|&x| x == 0) || piece.iter().all(|&x| x == 0xAA),
                    "seed {seed}: sector piece {a}..{b} is itself torn"
                );
                kept += usize::from(piece[0] == 0xAA);
            }
            assert!(image[..100].iter().chain(&image[1600..]).all(|&x| x == 0));
            torn |= kept > 0 && kept < pieces.len();
        }
        assert!(torn, "some seed keeps part of the write");
    }

    #[test]
    fn error_plan_fires_at_exactly_the_nth_matching_op() {
        let s = FaultStorage::new();
        s.write_at(b"before", 0).unwrap();
        s.set_fail(Some(OpKind::Write), 2, false, FailKind::Eio);
        s.write_at(b"0", 0).unwrap();
        s.sync().unwrap(); // not a write: not counted
        s.write_at(b"1", 1).unwrap();
        assert!(is_eio(&s.write_at(b"2", 2).unwrap_err()));
        assert_eq!(
            &s.snapshot()[..3],
            b"01f",
            "the failed write changed nothing"
        );
        s.write_at(b"3", 3).unwrap();

        // `None` matches any kind; reads count too.
        s.set_fail(None, 1, false, FailKind::Enospc);
        let mut buf = [0u8; 1];
        s.read_at(&mut buf, 0).unwrap();
        let err = s.sync().unwrap_err();
        assert!(matches!(err, Error::Full(_)), "{err}");
        s.set_len(1).unwrap();
    }

    #[test]
    fn once_plan_fires_once_and_persistent_plan_fires_every_later_time() {
        let s = FaultStorage::new();
        s.set_fail(Some(OpKind::Sync), 0, false, FailKind::Eio);
        assert!(s.sync().is_err());
        assert!(s.sync().is_ok());
        assert!(s.sync().is_ok());

        s.set_fail(Some(OpKind::Read), 1, true, FailKind::Eio);
        let mut buf = [0u8; 1];
        assert!(s.read_at(&mut buf, 0).is_ok());
        for _ in 0..3 {
            assert!(is_eio(&s.read_at(&mut buf, 0).unwrap_err()));
        }
        s.clear_fail();
        assert!(s.read_at(&mut buf, 0).is_ok());
    }

    #[test]
    fn short_write_stores_half_then_fails_with_eio() {
        let s = FaultStorage::from_image(vec![0; 8]);
        s.set_fail(Some(OpKind::Write), 0, false, FailKind::ShortWrite);
        assert!(is_eio(&s.write_at(&[9; 8], 0).unwrap_err()));
        assert_eq!(s.snapshot(), [9, 9, 9, 9, 0, 0, 0, 0]);
        assert_eq!(s.crash_image(CrashMode::KeepAll, 0), s.snapshot());
    }

    #[test]
    fn failed_sync_does_not_make_writes_durable() {
        let s = FaultStorage::from_image(vec![0; 4]);
        s.write_at(&[1; 4], 0).unwrap();
        s.set_fail(Some(OpKind::Sync), 0, false, FailKind::Eio);
        assert!(s.sync().is_err());
        // The retry "succeeds", as fsync does on Linux, but the data is gone.
        s.sync().unwrap();
        assert_eq!(s.snapshot(), [1; 4], "reads still see the page cache");
        for how in [
            CrashMode::DropAll,
            CrashMode::KeepAll,
            CrashMode::Random,
            CrashMode::Torn,
        ] {
            assert_eq!(s.crash_image(how, 3), [0; 4], "{how:?}");
        }
        // Later writes are made durable as usual.
        s.write_at(&[2; 2], 2).unwrap();
        s.sync().unwrap();
        assert_eq!(s.crash_image(CrashMode::DropAll, 0), [0, 0, 2, 2]);
    }

    #[test]
    fn set_len_is_unsynced_until_sync() {
        let s = FaultStorage::from_image(vec![5; 1024]);
        s.set_len(10).unwrap();
        assert_eq!(s.len().unwrap(), 10);
        assert_eq!(s.crash_image(CrashMode::DropAll, 0).len(), 1024);
        assert_eq!(s.crash_image(CrashMode::KeepAll, 0).len(), 10);
        s.sync().unwrap();
        assert_eq!(s.crash_image(CrashMode::DropAll, 0), vec![5; 10]);
    }
}
