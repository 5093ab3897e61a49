//! I/O errors (DESIGN §6): fail the N-th storage operation — once, and for
//! good — with EIO, ENOSPC and a short write, for every N of a workload and
//! for each kind of operation. Every call returns `Ok` or an error (never a
//! panic), ENOSPC surfaces as `Error::Full`, the container bytes left behind
//! open with `check` clean and show a state the workload went through, and
//! a failed sync poisons the `Fs`.

mod common;
mod hooked;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use common::{workloads, Model, Session, State, Step, Workload};
use hooked::{Call, Hooked};
use whefs::storage::fault::{CrashMode, FailKind, FaultStorage, OpKind};
use whefs::{Durability, Error, FaultSwitches, Fs};

/// The operations an error plan can match, counted per kind.
#[derive(Default)]
struct Counts {
    reads: AtomicU64,
    writes: AtomicU64,
    syncs: AtomicU64,
    set_lens: AtomicU64,
}

/// How many operations of each kind the workload issues after formatting
/// (what an error plan set right after formatting can match).
fn count_ops(w: &Workload) -> BTreeMap<&'static str, u64> {
    let inner = Arc::new(FaultStorage::new());
    Fs::options()
        .create(true)
        .open_storage(inner.clone())
        .expect("format");
    let counts = Arc::new(Counts::default());
    let seen = Arc::clone(&counts);
    let counting = Arc::new(Hooked::new(inner).before(move |call| {
        let n = match call {
            Call::Read { .. } => &seen.reads,
            Call::Write { .. } => &seen.writes,
            Call::Sync => &seen.syncs,
            Call::SetLen(_) => &seen.set_lens,
            Call::TryLock { .. } => return,
        };
        n.fetch_add(1, Ordering::Relaxed);
    }));
    let fs = Fs::options()
        .write(true)
        .open_storage(counting.clone())
        .expect("open");
    let mut session = Session::reopenable(fs, counting.clone(), FaultSwitches::default());
    for (i, step) in w.steps.iter().enumerate() {
        session
            .step(step)
            .unwrap_or_else(|e| panic!("{} step {} fails without faults: {e}", w.name, i + 1));
    }
    session.close().expect("close without faults");
    let (r, wr, s, l) = (
        counts.reads.load(Ordering::Relaxed),
        counts.writes.load(Ordering::Relaxed),
        counts.syncs.load(Ordering::Relaxed),
        counts.set_lens.load(Ordering::Relaxed),
    );
    BTreeMap::from([("any", r + wr + s + l), ("write", wr), ("sync", s)])
}

#[derive(Clone, Copy, Debug)]
struct Plan {
    op: OpKind,
    nth: u64,
    persistent: bool,
    kind: FailKind,
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.persistent { "from" } else { "at" };
        write!(f, "{:?} {how} {:?} op {}", self.kind, self.op, self.nth)
    }
}

/// What one run under an error plan did.
#[derive(Default)]
struct Outcome {
    violations: Vec<String>,
    /// Index (0-based) of the first step that failed, if any.
    first_failure: Option<usize>,
    /// Whether the first error came from a sync (the open must be poisoned).
    sync_failed: bool,
}

/// The states the container may be in: the model after every way the
/// failed steps may have ended (a failed step may or may not have been
/// published, when the failure came after its superblock write).
struct Candidates {
    models: Vec<Model>,
    /// Every state the container was possibly in, in order.
    history: Vec<State>,
}

impl Candidates {
    fn new() -> Candidates {
        Candidates {
            models: vec![Model::default()],
            history: vec![State::new()],
        }
    }

    fn record(&mut self) {
        for m in &self.models {
            if !self.history.contains(&m.state) {
                self.history.push(m.state.clone());
            }
        }
    }

    /// A step succeeded: it applies to every candidate where it is valid.
    fn ok(&mut self, step: &Step) -> Result<(), String> {
        let before = self.models.len();
        self.models.retain_mut(|m| m.apply(step).is_ok());
        self.record();
        if self.models.is_empty() {
            return Err(format!("{step} succeeded, but the model says it must fail in every state it could be in ({before} candidates)"));
        }
        Ok(())
    }

    /// A step failed: it may or may not have taken effect.
    fn failed(&mut self, step: &Step) {
        let mut next = Vec::new();
        for m in &self.models {
            let mut without = m.clone();
            without.discard_staged(step);
            let mut with = m.clone();
            if with.apply(step).is_ok() && step.commits() {
                next.push(with);
            }
            next.push(without);
        }
        next.dedup();
        self.models = next;
        self.record();
    }

    /// The container shows `got`: keep the candidates that agree.
    fn observe(&mut self, got: &State) -> Result<(), String> {
        self.models.retain(|m| m.state == *got);
        if self.models.is_empty() {
            return Err(format!(
                "after a failed step the container shows a state of no candidate: {}",
                common::which_state(&self.history, got)
            ));
        }
        Ok(())
    }
}

fn expected_error(kind: FailKind, e: &Error) -> bool {
    match kind {
        FailKind::Enospc => matches!(e, Error::Full(_)),
        FailKind::Eio | FailKind::ShortWrite => {
            matches!(e, Error::Io { source, .. } if source.raw_os_error() == Some(libc::EIO))
        }
    }
}

fn is_sync_error(e: &Error) -> bool {
    e.to_string().contains("fault injection: sync")
}

/// Runs `w` under `plan`; checks everything but panics (see [`run_plan`]).
fn run_under(w: &Workload, plan: Plan) -> Outcome {
    let mut out = Outcome::default();
    let (storage, fs) = common::new_container(Durability::Full, FaultSwitches::default());
    storage.set_fail(Some(plan.op), plan.nth, plan.persistent, plan.kind);
    let mut session = Session::reopenable(fs, storage.clone(), FaultSwitches::default());
    let mut cands = Candidates::new();
    for (i, step) in w.steps.iter().enumerate() {
        if cands.models.len() > 64 {
            break;
        }
        match session.step(step) {
            Ok(()) => {
                if matches!(step, Step::Reopen(_)) {
                    out.sync_failed = false; // a new open, not poisoned
                }
                if out.sync_failed && step.commits() {
                    out.violations.push(format!(
                        "step {} ({step}) succeeded after a failed sync (the Fs was not poisoned)",
                        i + 1
                    ));
                }
                if let Err(v) = cands.ok(step) {
                    out.violations.push(format!("step {}: {v}", i + 1));
                    break;
                }
            }
            Err(e) => {
                if out.first_failure.is_none() {
                    out.first_failure = Some(i);
                    out.sync_failed = is_sync_error(&e);
                    if !expected_error(plan.kind, &e) {
                        out.violations.push(format!("step {} ({step}) failed with {e:?}, which is not what {:?} should give", i + 1, plan.kind));
                    }
                }
                cands.failed(step);
                // Resolve what happened, if the open can still read.
                if let Ok(got) = common::dump(&session.fs) {
                    if let Err(v) = cands.observe(&got) {
                        out.violations
                            .push(format!("step {} failed with {e}; {v}", i + 1));
                        break;
                    }
                }
            }
        }
    }
    let _ = session.close();

    // The bytes left behind, as the next process would find them.
    storage.clear_fail();
    let current = storage.snapshot();
    match common::open_image(current, Durability::Full) {
        Err(e) => out
            .violations
            .push(format!("reopening the container bytes failed: {e}")),
        Ok((_, fs)) => {
            if let Err(e) = fs.check() {
                out.violations
                    .push(format!("check of the reopened container failed: {e}"));
            } else {
                match common::dump(&fs) {
                    Err(e) => out
                        .violations
                        .push(format!("reading the reopened container failed: {e}")),
                    Ok(got) if cands.models.iter().any(|m| m.state == got) => {
                        if let Err(v) = common::exercise_after_recovery(&fs, &got) {
                            out.violations.push(v);
                        }
                    }
                    Ok(got) => out.violations.push(format!(
                        "the reopened container shows a state of no candidate: {}",
                        common::which_state(&cands.history, &got)
                    )),
                }
            }
        }
    }
    // And what survives a power loss now: a state the workload went through.
    let durable = storage.crash_image(CrashMode::DropAll, 0);
    match common::open_image(durable, Durability::Full)
        .and_then(|(_, fs)| fs.check().and_then(|_| common::dump(&fs)))
    {
        Err(e) => out.violations.push(format!(
            "the durable image (power lost after the run) is broken: {e}"
        )),
        Ok(got) if cands.history.contains(&got) => {}
        Ok(got) => out.violations.push(format!(
            "the durable image shows a state the run never had: {}",
            common::which_state(&cands.history, &got)
        )),
    }
    out
}

/// Runs one plan, turning a panic into a violation.
fn run_plan(w: &Workload, plan: Plan) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| run_under(w, plan))) {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome {
                violations: vec![format!("panicked: {msg}")],
                ..Default::default()
            }
        }
    }
}

/// The workloads every error plan runs on.
fn io_workloads() -> Vec<Workload> {
    vec![
        workloads::mixed(),
        workloads::two_writers(1),
        workloads::rename_unlink(1),
        workloads::deep_dirs(1),
        workloads::handoff(1),
        workloads::snapshots_and_compaction(1),
    ]
}

/// Every error kind, once and for good, at every op of kind `op` (named
/// `name` in [`count_ops`]) of every workload; fails on any violation.
fn sweep(op: OpKind, name: &str) {
    let t = Instant::now();
    let (mut violations, mut plans, mut failed_runs) = (Vec::new(), 0u64, 0u64);
    let mut per_workload = Vec::new();
    for w in io_workloads() {
        let count = count_ops(&w)[name];
        per_workload.push(format!("{} {count}", w.name));
        for n in 0..count {
            for kind in [FailKind::Eio, FailKind::Enospc, FailKind::ShortWrite] {
                for persistent in [false, true] {
                    let plan = Plan {
                        op,
                        nth: n,
                        persistent,
                        kind,
                    };
                    plans += 1;
                    let o = run_plan(&w, plan);
                    failed_runs += u64::from(o.first_failure.is_some());
                    violations.extend(
                        o.violations
                            .into_iter()
                            .map(|v| format!("{} {plan}: {v}", w.name)),
                    );
                }
            }
        }
    }
    let line = format!(
        "I/O errors on {name} ops ({}): {plans} fault points exercised (EIO, ENOSPC, short write; once and for good), {failed_runs} made the workload fail, in {:.1?}; {} violations",
        per_workload.join(", "),
        t.elapsed(),
        violations.len()
    );
    report(&line, &violations);
}

#[test]
fn io_errors_on_every_write_leave_a_committed_state() {
    sweep(OpKind::Write, "write");
}

#[test]
fn io_errors_on_every_sync_leave_a_committed_state_and_poison() {
    sweep(OpKind::Sync, "sync");
}

#[test]
fn io_errors_on_every_op_of_any_kind_leave_a_committed_state() {
    sweep(OpKind::Any, "any");
}

/// Prints a sweep's summary line (also to stderr, for CI logs) and fails
/// with the first violations if there are any.
fn report(line: &str, violations: &[String]) {
    println!("{line}");
    eprintln!("{line}");
    assert!(
        violations.is_empty(),
        "{} violations, first ones:\n{}",
        violations.len(),
        violations
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn assert_clean(what: &str, violations: Vec<String>, plans: u64, t: Instant) {
    let line = format!(
        "{what}: {plans} fault points exercised in {:.1?}; {} violations",
        t.elapsed(),
        violations.len()
    );
    report(&line, &violations);
}

/// DESIGN §6: a failed fsync poisons the `Fs` instead of being retried. For
/// every sync of workloads with one and with two writers: after the sync
/// fails, every later step that writes fails too, and so does a new write.
#[test]
fn failed_sync_poisons_the_fs() {
    let t = Instant::now();
    let mut violations = Vec::new();
    let mut points = 0;
    for w in io_workloads() {
        let syncs = count_ops(&w)["sync"];
        for n in 0..syncs {
            for kind in [FailKind::Eio, FailKind::Enospc] {
                points += 1;
                let plan = Plan {
                    op: OpKind::Sync,
                    nth: n,
                    persistent: false,
                    kind,
                };
                let (storage, fs) =
                    common::new_container(Durability::Full, FaultSwitches::default());
                storage.set_fail(Some(plan.op), plan.nth, false, plan.kind);
                let mut session =
                    Session::reopenable(fs, storage.clone(), FaultSwitches::default());
                let mut failed = None;
                let mut poisoned = None;
                for (i, step) in w.steps.iter().enumerate() {
                    let r = session.step(step);
                    match (&r, failed) {
                        (Err(_), None) => {
                            failed = Some(i);
                            poisoned = Some(session.fs.clone());
                        }
                        // A reopen is a new `Fs`: the poison belongs to the old one.
                        (Ok(()), Some(_)) if matches!(step, Step::Reopen(_)) => break,
                        (Ok(()), Some(f)) if step.commits() => {
                            violations.push(format!("{} {plan}: step {} ({step}) succeeded after the sync failure in step {}", w.name, i + 1, f + 1));
                        }
                        _ => {}
                    }
                }
                if failed.is_none() {
                    let fs = session.fs.clone();
                    if session.close().is_err() {
                        poisoned = Some(fs);
                    }
                }
                if let Some(fs) = poisoned {
                    if fs.write("probe", b"after a failed sync").is_ok() {
                        violations.push(format!(
                            "{} {plan}: a new write succeeded after the failed sync",
                            w.name
                        ));
                    }
                    if fs.create_dir("probe-dir").is_ok() {
                        violations.push(format!(
                            "{} {plan}: create_dir succeeded after the failed sync",
                            w.name
                        ));
                    }
                } else {
                    violations.push(format!("{} {plan}: no step (nor closing) failed", w.name));
                }
            }
        }
    }
    assert_clean("poison after a failed sync", violations, points, t);
}

/// Minimal repro of an engine bug: the data sync a file handle issues
/// before its commit (`File::try_commit`) does not poison the `Fs` when it
/// fails. The failed sync dropped every unsynced write — here the pages
/// another handle has already written — so that handle's later commit is
/// acknowledged with data that never reached the disk.
#[test]
fn failed_data_sync_of_one_handle_poisons_the_fs() {
    let (storage, fs) = common::new_container(Durability::Full, FaultSwitches::default());
    fs.write("one", &common::pattern(8192, 1)).unwrap();
    fs.write("two", &common::pattern(8192, 2)).unwrap();
    let mut one = fs.open_file("one", "r+").unwrap();
    let mut two = fs.open_file("two", "r+").unwrap();
    // More than the 64 pages a handle buffers: they are written now.
    let big = common::pattern(300_000, 3);
    one.write_at(&big, 0).unwrap();
    two.write_at(b"x", 0).unwrap();
    two.write_at(&common::pattern(5000, 4), 0).unwrap();
    storage.set_fail(Some(OpKind::Sync), 0, false, FailKind::Eio);
    assert!(two.commit().is_err(), "the injected sync failure");
    let later = one.commit();
    // What a power loss now leaves behind.
    let image = storage.crash_image(CrashMode::DropAll, 0);
    let after_crash = common::open_image(image, Durability::Full).and_then(|(_, fs)| fs.check());
    assert!(later.is_err(), "a commit succeeded after a failed sync (the Fs was not poisoned); a power loss now gives: {after_crash:?}");
}

/// Minimal repro of an engine bug: `Fs::write` promises one commit of the
/// whole content, but when its `write_at` fails (here a read of the tree
/// fails) the dropped handle still commits — an empty file appears (or an
/// existing file is replaced by an empty one).
#[test]
fn failed_whole_file_write_commits_nothing() {
    let (storage, fs) = common::new_container(Durability::Full, FaultSwitches::default());
    fs.write("keep", b"old content").unwrap();
    // A fresh open has no cached pages: read 0 is the superblock read of the
    // handle's snapshot, read 1 the tree root, read by `write_at`.
    for path in ["new", "keep"] {
        let (fresh_storage, fresh) =
            common::open_image(storage.snapshot(), Durability::Full).unwrap();
        fresh_storage.set_fail(Some(OpKind::Read), 1, false, FailKind::Eio);
        assert!(
            fresh.write(path, &[7u8; 300]).is_err(),
            "the injected read error"
        );
        fresh_storage.clear_fail();
        match path {
            "new" => assert!(
                !fresh.exists("new").unwrap(),
                "a failed Fs::write left a file of {:?} bytes",
                fresh.read("new").map(|d| d.len())
            ),
            _ => assert_eq!(
                fresh.read("keep").unwrap(),
                b"old content",
                "a failed Fs::write replaced the file"
            ),
        }
    }
}

/// Minimal repro of an engine bug: when a handle's commit is published but
/// re-reading the file afterwards fails (`File::commit_with`), the error
/// becomes `Internal` ("a bug in whefs") instead of the I/O error — an
/// ENOSPC there is not `Full`.
#[test]
fn io_error_after_a_published_commit_keeps_its_kind() {
    // Fail every read from the n-th on, for each n: some n hits the re-read.
    let mut kinds = Vec::new();
    for n in 0..40 {
        let (storage, fs) = common::new_container(Durability::Full, FaultSwitches::default());
        let mut f = fs.open_file("f", "w").unwrap();
        f.write_at(b"data", 0).unwrap();
        storage.set_fail(Some(OpKind::Read), n, true, FailKind::Enospc);
        if let Err(e) = f.commit() {
            kinds.push((n, format!("{e:?}")));
            assert!(
                matches!(e, Error::Full(_)),
                "read {n} failing with ENOSPC during a commit gave {e:?}"
            );
        }
        storage.clear_fail();
    }
    assert!(!kinds.is_empty());
}

/// Minimal repro of an engine bug: when a handle's commit is published but
/// re-reading the file afterwards fails, the handle keeps its snapshot from
/// before the commit. A later partial-page write through it then
/// read-modify-writes the stale page and its commit silently reverts the
/// earlier one (a lost update).
#[test]
fn handle_stays_current_after_a_published_commit_reports_an_error() {
    let page_a = vec![b'A'; 4096];
    for n in 0..40 {
        let (storage, fs) = common::new_container(Durability::Full, FaultSwitches::default());
        fs.write("one", &[b'o'; 8192]).unwrap();
        let mut f = fs.open_file("one", "r+").unwrap();
        f.write_at(&page_a, 0).unwrap();
        storage.set_fail(Some(OpKind::Read), n, false, FailKind::Eio);
        let failed = f.commit().is_err();
        storage.clear_fail();
        if !failed || fs.read("one").unwrap()[..4096] != page_a[..] {
            continue; // the error did not come after the commit was published
        }
        // Published, but reported as failed. The handle goes on.
        if f.write_at(b"x", 10).is_ok() && f.commit().is_ok() {
            let mut want = page_a.clone();
            want[10] = b'x';
            let got = fs.read("one").unwrap();
            assert!(got[..4096] == want[..], "read {n}: the handle's next commit reverted page 0 to its content before the published commit (byte 0 is {:?})", got[0] as char);
        }
        return;
    }
    panic!("no read failure hit the re-read after a published commit");
}

/// Committing after a failed `write_at` must not corrupt the container:
/// each page of the file is then its old or its new content, and `check`
/// passes. The failing write here rewrites pages the handle already wrote
/// (its own uncommitted pages, overwritten in place).
#[test]
fn commit_after_a_failed_write_never_corrupts() {
    let ps = 4096usize;
    let first = common::pattern(70 * ps, 1);
    let second = common::pattern(70 * ps, 2);
    let mut points = 0;
    let mut bad = Vec::new();
    for kind in [FailKind::Eio, FailKind::ShortWrite] {
        for n in 0..70 {
            points += 1;
            let (storage, fs) = common::new_container(Durability::Full, FaultSwitches::default());
            fs.write("f", &vec![0u8; 70 * ps]).unwrap();
            let mut f = fs.open_file("f", "r+").unwrap();
            f.write_at(&first, 0).unwrap(); // 64 of its pages go to disk now
            storage.set_fail(Some(OpKind::Write), n, false, kind);
            let second_failed = f.write_at(&second, 0).is_err();
            storage.clear_fail();
            let committed = f.commit();
            drop(f);
            if let Err(e) = fs.check() {
                bad.push(format!("{kind:?} at write {n} (write_at failed: {second_failed}, commit: {committed:?}): check fails: {e}"));
                continue;
            }
            match fs.read("f") {
                Err(e) => bad.push(format!(
                    "{kind:?} at write {n}: reading the file fails: {e}"
                )),
                Ok(got) => {
                    for (i, page) in got.chunks(ps).enumerate() {
                        let ok = [&first, &second]
                            .iter()
                            .any(|d| &d[i * ps..(i + 1) * ps] == page)
                            || page.iter().all(|&b| b == 0);
                        if !ok {
                            bad.push(format!(
                                "{kind:?} at write {n}: page {i} is neither old nor new content"
                            ));
                            break;
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "commit after a failed write: {points} fault points, {} violations",
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{} violations, e.g.:\n{}",
        bad.len(),
        bad.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}
