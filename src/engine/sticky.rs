//! The pin an open keeps between operations (DESIGN §4: "hold the pin while
//! any handle or operation of the process is active; release it when
//! idle"). Taking and dropping a PIN lock around every read would cost two
//! `fcntl` calls each time; keeping one makes a read lock-free.
//!
//! Invariants:
//! - The slot is one more holder of a pin, never the only guard of a state:
//!   each `Snapshot` holds its own `Arc` of the [`PinnedState`] it reads,
//!   so replacing or clearing the slot never unpins a state still in use.
//! - This open's committers know the oldest state any of its readers uses
//!   ([`StateTable`]), which may be newer than the pin it was read under:
//!   the pin guards against other processes' committers, the table against
//!   this open's own.
//! - A kept pin never holds back page reuse for long: it moves forward
//!   once newer states have existed for [`ADVANCE`], and a reaper thread
//!   drops it after [`IDLE`] without an operation.
//! - On storage whose locks no other open can see (memory, fault
//!   injection: `Storage::shared_locks` is false) no pin is kept
//!   ([`StickyPin::off`]): a pin there guards nothing this open's state
//!   table does not, and keeping none leaves no clock in the engine's page
//!   choices (the crash sweep replays a failure exactly).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use crate::lock::Pin;

/// How long a kept pin may lag behind newer commits.
pub const ADVANCE: Duration = Duration::from_millis(10);
/// How long an open may be idle (no operation, no open handle reading)
/// before its pin is dropped and other processes' committers may reuse the
/// pages it held back.
pub const IDLE: Duration = Duration::from_millis(50);

/// The generations this open's readers are reading, with how many
/// [`PinnedState`]s name each.
#[derive(Default)]
pub struct StateTable {
    states: Mutex<BTreeMap<u64, usize>>,
}

impl StateTable {
    /// The oldest generation a reader of this open uses, leaving out
    /// `unused` (a state only the kept slot names) once.
    pub fn oldest(&self, unused: Option<u64>) -> Option<u64> {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states
            .iter()
            .find(|&(&g, &n)| !(Some(g) == unused && n == 1))
            .map(|(&g, _)| g)
    }
}

/// A committed state some reader of this open uses: its generation, under
/// a pin at or before it. Registered in the [`StateTable`] while it lives.
pub struct PinnedState {
    generation: u64,
    pin: Arc<Pin>,
    table: Arc<StateTable>,
}

impl PinnedState {
    /// Registers state `generation`, read under `pin`.
    pub fn new(generation: u64, pin: Arc<Pin>, table: &Arc<StateTable>) -> PinnedState {
        let mut states = table.states.lock().unwrap_or_else(|p| p.into_inner());
        *states.entry(generation).or_insert(0) += 1;
        drop(states);
        PinnedState {
            generation,
            pin,
            table: Arc::clone(table),
        }
    }

    /// The state's generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The pin it was read under.
    pub fn pin(&self) -> &Arc<Pin> {
        &self.pin
    }
}

impl Drop for PinnedState {
    fn drop(&mut self) {
        let mut states = self.table.states.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = states.get_mut(&self.generation) {
            *n -= 1;
            if *n == 0 {
                states.remove(&self.generation);
            }
        }
    }
}

/// The kept pin of one open, and the reaper that drops it when idle.
pub struct StickyPin {
    shared: Arc<Shared>,
}

struct Shared {
    /// The latest state read, and when its pin was taken.
    slot: RwLock<Option<(Arc<PinnedState>, Instant)>>,
    /// Milliseconds since `epoch` at the last operation.
    last_used: AtomicU64,
    epoch: Instant,
    reaper: Mutex<Reaper>,
    wake: Condvar,
    /// An operation ran before: from the second on, pins are kept.
    used: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Reaper {
    running: bool,
    /// Keeping pins is off: the storage's locks are not shared
    /// ([`StickyPin::off`]), or the reaper thread could not be started.
    disabled: bool,
    closed: bool,
}

impl StickyPin {
    /// No pin kept yet; the reaper starts with the first one.
    pub fn new() -> StickyPin {
        StickyPin::with(Reaper::default())
    }

    /// Never keeps a pin (and starts no reaper): every snapshot pins for
    /// itself.
    pub fn off() -> StickyPin {
        StickyPin::with(Reaper {
            disabled: true,
            ..Reaper::default()
        })
    }

    fn with(reaper: Reaper) -> StickyPin {
        StickyPin {
            shared: Arc::new(Shared {
                slot: RwLock::new(None),
                last_used: AtomicU64::new(0),
                epoch: Instant::now(),
                reaper: Mutex::new(reaper),
                wake: Condvar::new(),
                used: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Whether a new pin should be kept: not for an open's first
    /// operation, so that a process that opens, reads once and exits (a
    /// CGI program) pays one lock and unlock instead of a reaper thread.
    pub fn keep_new_pins(&self) -> bool {
        self.shared.used.swap(true, Ordering::Relaxed)
    }

    /// The kept state and when its pin was taken.
    pub fn current(&self) -> Option<(Arc<PinnedState>, Instant)> {
        self.shared
            .slot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(p, t)| (Arc::clone(p), *t))
    }

    /// Whether the kept pin was taken too long ago to cover newer states:
    /// then it moves forward.
    pub fn pin_is_stale(&self, taken: Instant) -> bool {
        taken.elapsed() >= ADVANCE
    }

    /// The generation of the kept state if nothing but this slot holds it.
    pub fn unused_generation(&self) -> Option<u64> {
        let slot = self.shared.slot.read().unwrap_or_else(|p| p.into_inner());
        slot.as_ref()
            .filter(|(st, _)| Arc::strong_count(st) == 1)
            .map(|(st, _)| st.generation())
    }

    /// Notes an operation (the reaper measures idleness from it).
    pub fn touch(&self) {
        let ms = self.shared.epoch.elapsed().as_millis() as u64;
        // Stored only when it changed: threads reading at once would
        // otherwise take the cache line from each other on every call.
        if self.shared.last_used.load(Ordering::Relaxed) != ms {
            self.shared.last_used.store(ms, Ordering::Relaxed);
        }
    }

    /// Keeps `state`, whose pin was taken at `taken`, instead of the current
    /// one (which snapshots may still hold).
    pub fn replace(&self, state: Arc<PinnedState>, taken: Instant) {
        self.touch();
        let mut r = self.shared.reaper.lock().unwrap_or_else(|p| p.into_inner());
        if !self.ensure_reaper(&mut r) {
            return;
        }
        let old = self
            .shared
            .slot
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .replace((state, taken));
        // Under the reaper's mutex, so a reaper about to sleep sees the pin.
        // A reaper already timing a kept pin needs no wake-up.
        if old.is_none() {
            self.shared.wake.notify_one();
        }
        drop(r);
        drop(old); // outside the locks: dropping may unlock
    }

    /// Drops the kept pin.
    pub fn clear(&self) {
        let old = self
            .shared
            .slot
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(old);
    }

    /// Starts the reaper thread if it is not running; false if it cannot be.
    fn ensure_reaper(&self, r: &mut Reaper) -> bool {
        if r.running || r.closed || r.disabled {
            return r.running && !r.closed;
        }
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("whefs-pin-reaper".into())
            .spawn(move || reap(shared));
        r.running = spawned.is_ok();
        r.disabled = !r.running;
        r.running
    }
}

impl Drop for StickyPin {
    /// Drops the kept pin before the open goes: under the reaper's mutex, so
    /// a reaper dropping it at this moment has finished (the last reference
    /// to the container may go with it; closing must be done when the open's
    /// drop returns, or another open could still find this one's locks).
    fn drop(&mut self) {
        let mut r = self.shared.reaper.lock().unwrap_or_else(|p| p.into_inner());
        self.clear();
        r.closed = true;
        // Only a reaper waits on `wake`, and none starts once `closed` is
        // set (a wake-up is a syscall even when nobody waits).
        let reaper = r.running;
        drop(r);
        if reaper {
            self.shared.wake.notify_all();
        }
    }
}

/// The reaper: sleeps while no pin is kept, and drops the kept pin once the
/// open has been idle for [`IDLE`]. Ends when the open is closed (its drop
/// sets `closed` and wakes this thread).
fn reap(s: Arc<Shared>) {
    let mut guard = s.reaper.lock().unwrap_or_else(|p| p.into_inner());
    while !guard.closed {
        let kept = s.slot.read().unwrap_or_else(|p| p.into_inner()).is_some();
        let mut wait = None;
        if kept {
            let now = s.epoch.elapsed().as_millis() as u64;
            let last = s.last_used.load(Ordering::Relaxed);
            let idle = Duration::from_millis(now.saturating_sub(last));
            if idle >= IDLE {
                let old = s.slot.write().unwrap_or_else(|p| p.into_inner()).take();
                drop(old);
            } else {
                wait = Some(IDLE - idle);
            }
        }
        guard = match wait {
            Some(t) => match s.wake.wait_timeout(guard, t) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            },
            None => s.wake.wait(guard).unwrap_or_else(|p| p.into_inner()),
        };
    }
}
