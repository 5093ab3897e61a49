//! `fork()` safety. After `fork()` the child shares the parent's open file
//! descriptions: an unlock in the child would drop the parent's locks, and a
//! child outliving its parent would keep them alive (PLATFORM-NOTES). So a
//! `pthread_atfork` child handler closes every container descriptor in the
//! child — `close()` of a shared description releases nothing — and bumps
//! the fork epoch; every handle made before then sees a new epoch and
//! answers `Closed` without touching a lock, a file or an in-process mutex
//! (another thread may have held one at the moment of the fork).
//!
//! Invariant: the handler uses only atomics and `close()`, which are
//! async-signal-safe; descriptors are registered in a fixed table, so no
//! lock is needed to find them.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Once;

/// How many container descriptors the fork handler can close.
const SLOTS: usize = 1024;

static EPOCH: AtomicU64 = AtomicU64::new(0);
static FDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
static INSTALL: Once = Once::new();

extern "C" fn in_child() {
    for slot in &FDS {
        let fd = slot.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: the descriptor was registered by a FileStorage of the
            // parent; in the child nothing else will use it (the epoch
            // changes below before any handle can be used again).
            unsafe {
                libc::close(fd);
            }
        }
    }
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

/// Installs the child handler (once per process).
pub fn install() {
    INSTALL.call_once(|| {
        // SAFETY: registering a plain function with no preconditions.
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
}

/// The current fork epoch: it changes in a child after every `fork()`.
pub fn epoch() -> u64 {
    EPOCH.load(Ordering::SeqCst)
}

/// Registers a descriptor for closing in a forked child; returns its slot,
/// or `None` when the table is full (the child then keeps the descriptor
/// open, which only matters if the child outlives its parent).
pub fn register(fd: i32) -> Option<usize> {
    install();
    FDS.iter().position(|slot| {
        slot.compare_exchange(-1, fd, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    })
}

/// Forgets a registered descriptor before it is closed normally.
pub fn unregister(slot: usize) {
    FDS[slot].store(-1, Ordering::SeqCst);
}
