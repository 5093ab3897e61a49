//! Syncs that only let pages be reused, run off the committer's clock
//! (issue 10: "unsynced small commits"). A page a commit frees may be
//! reused once that commit is durable (docs/format.md §6 rule a). At
//! durability `off` no commit syncs, so once enough freed pages wait, a
//! commit used to `fdatasync` just to make them reusable: a sync of every
//! page written since the last one, milliseconds that the commit, which
//! asked for no durability, waited for. [`BackgroundSync`] runs that sync
//! on a helper thread instead, and the commits go on meanwhile; the pages
//! become reusable when it returns.
//!
//! Invariants:
//! - A generation is published as durable only after an `fdatasync` that
//!   began after its commit's writes completed: [`BackgroundSync::request`]
//!   is called under the commit lock with the latest committed generation,
//!   whose slot and pages were written before that lock was released, and
//!   the helper's sync starts after the request.
//! - A failed sync poisons the open (as an inline one does) and publishes
//!   nothing.
//! - The helper exists only where the storage is a file (memory and fault
//!   storage sync inline, so that the crash and I/O-error sweeps see every
//!   sync in order), is started by the first request, and is gone when the
//!   `BackgroundSync` is dropped: the drop waits for a sync in flight, so
//!   the container file is not held open past the open's close. A forked
//!   child never waits for it (the thread does not exist there).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;

use crate::storage::{fork, Storage};

/// The helper's inputs and outputs.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    storage: Arc<dyn Storage>,
    /// The open's highest generation known durable.
    durable: Arc<AtomicU64>,
    /// The open's poisoned flag.
    poisoned: Arc<AtomicBool>,
}

#[derive(Default)]
struct State {
    /// The generation the next sync will make durable.
    asked: Option<u64>,
    syncing: bool,
    closed: bool,
}

/// An open's background syncer; see the module documentation.
pub struct BackgroundSync {
    shared: Arc<Shared>,
    helper: OnceLock<JoinHandle<()>>,
    /// The fork epoch at creation: in a forked child the helper is absent.
    epoch: u64,
}

impl BackgroundSync {
    /// A syncer for `storage` that publishes into `durable` and poisons
    /// `poisoned` on failure.
    pub fn new(
        storage: Arc<dyn Storage>,
        durable: Arc<AtomicU64>,
        poisoned: Arc<AtomicBool>,
    ) -> BackgroundSync {
        BackgroundSync {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
                storage,
                durable,
                poisoned,
            }),
            helper: OnceLock::new(),
            epoch: fork::epoch(),
        }
    }

    /// Asks for a sync that makes `generation` durable, without waiting.
    /// Returns false if the helper could not be started (the caller then
    /// syncs itself).
    pub fn request(&self, generation: u64) -> bool {
        if self.helper.get().is_none() {
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name("whefs-sync".into())
                .spawn(move || run(&shared));
            match spawned {
                Ok(h) => {
                    let _ = self.helper.set(h);
                }
                Err(_) => return false,
            }
        }
        let mut st = self.lock();
        st.asked = Some(st.asked.map_or(generation, |g| g.max(generation)));
        drop(st);
        self.shared.changed.notify_all();
        true
    }

    /// Waits until every requested sync has returned.
    pub fn wait_idle(&self) {
        let mut st = self.lock();
        while st.syncing || st.asked.is_some() {
            st = self
                .shared
                .changed
                .wait(st)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The helper: one sync per request, requests that come during a sync
/// folded into the next.
fn run(s: &Shared) {
    let mut st = s.state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(generation) = st.asked.take() {
            st.syncing = true;
            drop(st);
            match s.storage.sync() {
                Ok(()) => {
                    s.durable.fetch_max(generation, Ordering::AcqRel);
                }
                Err(_) => s.poisoned.store(true, Ordering::Release),
            }
            st = s.state.lock().unwrap_or_else(|p| p.into_inner());
            st.syncing = false;
            s.changed.notify_all();
        } else if st.closed {
            return;
        } else {
            st = s.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for BackgroundSync {
    /// Lets a sync in flight (and one asked for) finish, then ends the
    /// helper; in a forked child, where the helper does not exist, does
    /// nothing.
    fn drop(&mut self) {
        if fork::epoch() != self.epoch {
            return;
        }
        let Some(helper) = self.helper.take() else {
            return;
        };
        self.lock().closed = true;
        self.shared.changed.notify_all();
        let _ = helper.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::fault::{FailKind, FaultStorage, OpKind};
    use crate::storage::MemoryStorage;

    fn syncer(storage: Arc<dyn Storage>) -> (BackgroundSync, Arc<AtomicU64>, Arc<AtomicBool>) {
        let durable = Arc::new(AtomicU64::new(0));
        let poisoned = Arc::new(AtomicBool::new(false));
        let bg = BackgroundSync::new(storage, Arc::clone(&durable), Arc::clone(&poisoned));
        (bg, durable, poisoned)
    }

    #[test]
    fn a_requested_generation_is_durable_once_its_sync_returns() {
        let (bg, durable, poisoned) = syncer(Arc::new(MemoryStorage::new()));
        assert!(bg.request(7));
        bg.wait_idle();
        assert_eq!(durable.load(Ordering::Acquire), 7);
        assert!(bg.request(5)); // never moves back
        bg.wait_idle();
        assert_eq!(durable.load(Ordering::Acquire), 7);
        assert!(!poisoned.load(Ordering::Acquire));
    }

    #[test]
    fn a_failed_sync_poisons_and_publishes_nothing() {
        let faults = FaultStorage::new();
        faults.set_fail(Some(OpKind::Sync), 0, false, FailKind::Eio);
        let (bg, durable, poisoned) = syncer(Arc::new(faults));
        assert!(bg.request(3));
        bg.wait_idle();
        assert_eq!(durable.load(Ordering::Acquire), 0);
        assert!(poisoned.load(Ordering::Acquire));
    }

    #[test]
    fn drop_ends_the_helper_after_its_sync() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let (bg, durable, _) = syncer(Arc::clone(&storage));
        assert!(bg.request(2));
        drop(bg);
        assert_eq!(durable.load(Ordering::Acquire), 2);
        // The helper's reference to the storage is gone with it.
        assert_eq!(Arc::strong_count(&storage), 1);
    }
}
