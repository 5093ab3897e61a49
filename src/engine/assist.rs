//! A second core for large reads (issue 9: "verify large reads on a second
//! core"). Verifying a page costs about as much as reading it from the page
//! cache, so a read of many pages that one thread reads and verifies takes
//! about twice a bare read's time. [`Assist::both`] runs half of such a
//! read, its own `preadv` and checksums, on a helper thread of the open
//! while the caller does the other half: each half's pages are verified
//! while still in the cache of the core that read them.
//!
//! Invariants:
//! - [`Assist::both`] returns only after the helper's part has run to its
//!   end, also when the caller's part panics (the wait is in a guard's
//!   drop): the part may borrow the caller's buffers.
//! - One part at a time: a caller that finds the helper busy (another
//!   thread's read) runs both parts itself, so no caller ever waits for
//!   another's work.
//! - The helper exists only where the process may run on two cores, is
//!   started by the open's second large read (a process that reads one
//!   large file and exits starts no thread), and ends when the open is
//!   closed. A forked child never reaches it: an open inherited across
//!   `fork()` is closed there, and a child's own open has its own.
//! - Between parts the helper spins for [`SPIN`] before it sleeps, so a
//!   loop of large reads hands it each part without a wake-up.

use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::lazy::SecondUse;

/// How long the helper, and a caller waiting for it, spin before sleeping.
pub const SPIN: Duration = Duration::from_micros(50);

/// The helper's states.
const IDLE: u8 = 0;
/// A caller owns the job slot and is filling it.
const CLAIMED: u8 = 1;
const POSTED: u8 = 2;
const DONE: u8 = 3;

/// The helper thread of one open, made on its second use.
pub struct Assist {
    helper: Option<SecondUse<Option<Helper>>>,
}

struct Helper {
    shared: Arc<Shared>,
    thread: Thread,
}

struct Shared {
    state: AtomicU8,
    /// The posted part; only the claimant writes it (in `CLAIMED`), only the
    /// helper takes it (in `POSTED`).
    job: UnsafeCell<Option<Job>>,
    closed: AtomicBool,
}

// SAFETY: `job` is handed between threads by `state` (release/acquire), as
// the invariants above say; everything else is atomic.
unsafe impl Sync for Shared {}

/// A part to run: a closure on the caller's stack, type-erased.
struct Job {
    run: unsafe fn(*mut ()),
    data: *mut (),
    /// The caller, woken when the part is done.
    caller: Thread,
    panicked: *mut bool,
}

// SAFETY: the pointers are into the stack of a caller that waits for the
// part to end before that stack frame goes (see `Assist::both`).
unsafe impl Send for Job {}

impl Assist {
    /// An open's assist; `usable` is false where reads must stay on the
    /// calling thread (storage that numbers its reads for fault injection).
    pub fn new(usable: bool) -> Assist {
        Assist {
            helper: usable.then(SecondUse::new),
        }
    }

    /// Runs `a` here and `b` on the helper at the same time, or both here
    /// (the helper busy, not started yet, or not available); returns when
    /// both are done.
    pub fn both<A, B>(&self, a: impl FnOnce() -> A, b: impl FnOnce() -> B + Send) -> (A, B)
    where
        B: Send,
    {
        let helper = self
            .helper
            .as_ref()
            .and_then(|h| h.get_or_make(Helper::start))
            .and_then(Option::as_ref);
        let Some(helper) = helper else {
            return (a(), b());
        };
        let s = &*helper.shared;
        if s.state
            .compare_exchange(IDLE, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return (a(), b());
        }
        let mut out_b: Option<B> = None;
        let mut part = Some(|| out_b = Some(b()));
        let mut panicked = false;
        // SAFETY: claimed: nobody else touches the slot until `POSTED`.
        unsafe {
            *s.job.get() = Some(Job {
                run: run_part::<_>(&part),
                data: (&mut part as *mut Option<_>).cast(),
                caller: thread::current(),
                panicked: &mut panicked,
            });
        }
        s.state.store(POSTED, Ordering::Release);
        helper.thread.unpark();
        let out_a = {
            let _wait = WaitForPart(s);
            a()
        };
        drop(part);
        if panicked {
            panic!("the read helper's part panicked");
        }
        (out_a, out_b.expect("the helper ran its part"))
    }
}

impl Drop for Assist {
    /// Ends the helper (it may still be spinning; it does not touch the
    /// open after this).
    fn drop(&mut self) {
        if let Some(Some(h)) = self.helper.as_ref().and_then(SecondUse::get) {
            h.shared.closed.store(true, Ordering::Release);
            h.thread.unpark();
        }
    }
}

/// Waits, when dropped, for the posted part to be done, then frees the
/// helper for the next caller.
struct WaitForPart<'a>(&'a Shared);

impl Drop for WaitForPart<'_> {
    fn drop(&mut self) {
        let s = self.0;
        // The helper unparks this thread after `DONE`; a stale token only
        // makes the wait look once more.
        wait_until(
            || s.state.load(Ordering::Acquire) == DONE,
            || thread::park_timeout(Duration::from_millis(1)),
        );
        s.state.store(IDLE, Ordering::Release);
    }
}

/// Waits until `ready()`: spins for [`SPIN`], then calls `sleep` between
/// looks. The helper and a caller waiting for it wait alike.
fn wait_until(ready: impl Fn() -> bool, sleep: impl Fn()) {
    let start = Instant::now();
    let mut spins = 0u32;
    while !ready() {
        spins += 1;
        if spins % 64 != 0 || start.elapsed() < SPIN {
            std::hint::spin_loop();
        } else {
            sleep();
        }
    }
}

/// `parts` cut at byte `at` of their concatenation into the parts before
/// and those after (a part holding `at` is split in two).
pub fn split_parts<'a>(
    parts: &'a mut [&mut [u8]],
    mut at: usize,
) -> (Vec<&'a mut [u8]>, Vec<&'a mut [u8]>) {
    let (mut low, mut high) = (Vec::new(), Vec::new());
    for part in parts.iter_mut() {
        let part: &'a mut [u8] = part;
        if at >= part.len() {
            at -= part.len();
            low.push(part);
        } else {
            let (l, h) = part.split_at_mut(at);
            at = 0;
            if !l.is_empty() {
                low.push(l);
            }
            high.push(h);
        }
    }
    (low, high)
}

/// The trampoline for a part of type `F`, found from a reference to it.
fn run_part<F: FnOnce()>(_: &Option<F>) -> unsafe fn(*mut ()) {
    unsafe fn run<F: FnOnce()>(data: *mut ()) {
        // SAFETY: `data` is the caller's `Option<F>`, alive until `DONE`.
        let part = unsafe { (*data.cast::<Option<F>>()).take() };
        if let Some(f) = part {
            f();
        }
    }
    run::<F>
}

impl Helper {
    /// Starts the helper thread; `None` if it cannot be started, or the
    /// process may run on one core only. (Asked here, not at open: the
    /// answer costs a dozen system calls, reading the cgroup's CPU limits.)
    fn start() -> Option<Helper> {
        if thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return None;
        }
        let shared = Arc::new(Shared {
            state: AtomicU8::new(IDLE),
            job: UnsafeCell::new(None),
            closed: AtomicBool::new(false),
        });
        let for_thread = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name("whefs-read-helper".into())
            .spawn(move || serve(&for_thread))
            .ok()?;
        Some(Helper {
            shared,
            thread: handle.thread().clone(),
        })
    }
}

/// The helper thread: runs posted parts until the open is closed.
fn serve(s: &Shared) {
    loop {
        let posted = || s.state.load(Ordering::Acquire) == POSTED;
        wait_until(
            || posted() || s.closed.load(Ordering::Acquire),
            thread::park,
        );
        if !posted() {
            return; // closed (no part is posted once the open is closing)
        }
        // SAFETY: posted: the caller filled the slot and waits for `DONE`.
        let Some(job) = (unsafe { (*s.job.get()).take() }) else {
            s.state.store(DONE, Ordering::Release);
            continue;
        };
        // SAFETY: `data` and `panicked` live until this part is `DONE`.
        let ok = panic::catch_unwind(AssertUnwindSafe(|| unsafe { (job.run)(job.data) }));
        if ok.is_err() {
            // SAFETY: as above.
            unsafe { *job.panicked = true };
        }
        let caller = job.caller;
        s.state.store(DONE, Ordering::Release);
        caller.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_run_and_see_their_borrows() {
        let assist = Assist::new(true);
        let mut left = vec![0u8; 1000];
        let mut right = vec![0u8; 1000];
        for round in 0..200u32 {
            let (a, b) = assist.both(
                || {
                    left.fill(round as u8);
                    round
                },
                || {
                    right.fill(round as u8 ^ 0xFF);
                    round * 2
                },
            );
            assert_eq!((a, b), (round, round * 2));
            assert!(left.iter().all(|&x| x == round as u8));
            assert!(right.iter().all(|&x| x == round as u8 ^ 0xFF));
        }
    }

    #[test]
    fn callers_on_many_threads_each_get_their_own_results() {
        let assist = Assist::new(true);
        thread::scope(|sc| {
            for t in 0..4u64 {
                let assist = &assist;
                sc.spawn(move || {
                    for i in 0..500u64 {
                        let (a, b) = assist.both(|| t * 1000 + i, || t * 1000 + i + 1);
                        assert_eq!(b, a + 1);
                    }
                });
            }
        });
    }

    #[test]
    fn a_panic_in_the_callers_part_waits_for_the_helpers() {
        let assist = Assist::new(true);
        assist.both(|| (), || ()); // the first use starts no helper
        let finished = AtomicBool::new(false);
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            assist.both(
                || panic!("the caller's part"),
                || {
                    thread::sleep(Duration::from_millis(20));
                    finished.store(true, Ordering::SeqCst);
                },
            )
        }));
        assert!(r.is_err());
        assert!(
            finished.load(Ordering::SeqCst),
            "unwound before the helper's part ended"
        );
        // And the helper takes parts again.
        assert_eq!(assist.both(|| 1, || 2), (1, 2));
    }

    #[test]
    fn parts_are_cut_at_the_byte_asked_for() {
        let mut a = [1u8; 8];
        let mut b = [2u8; 4];
        let mut c = [3u8; 8];
        for at in 0..=20 {
            let mut parts: [&mut [u8]; 3] = [&mut a, &mut b, &mut c];
            let (low, high) = split_parts(&mut parts, at);
            let flat = |v: &Vec<&mut [u8]>| v.iter().flat_map(|p| p.to_vec()).collect::<Vec<u8>>();
            let (l, h) = (flat(&low), flat(&high));
            assert_eq!(l.len(), at, "at {at}");
            let mut all = l;
            all.extend(h);
            assert_eq!(
                all,
                [[1u8; 8].as_slice(), &[2; 4], &[3; 8]].concat(),
                "at {at}"
            );
            assert!(
                low.iter().chain(&high).all(|p| !p.is_empty()),
                "no empty part"
            );
        }
    }

    #[test]
    fn the_second_part_runs_on_the_helper_from_the_second_use_on() {
        let assist = Assist::new(true);
        let me = thread::current().id();
        let (_, first) = assist.both(|| (), || thread::current().id());
        assert_eq!(first, me, "the first use starts no helper");
        let two_cores = thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        for _ in 0..3 {
            let (_, b) = assist.both(|| (), || thread::current().id());
            assert_eq!(b != me, two_cores, "helper thread used: {}", b != me);
        }
    }

    #[test]
    fn unusable_means_on_the_calling_thread() {
        let assist = Assist::new(false);
        let me = thread::current().id();
        for _ in 0..3 {
            let (_, b) = assist.both(|| (), || thread::current().id());
            assert_eq!(b, me);
        }
    }
}
