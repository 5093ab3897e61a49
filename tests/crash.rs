//! The power-loss sweep (DESIGN §6, littlefs "linear"): every scripted
//! workload is run once to count its storage ops (writes and syncs), then
//! once per cut point *n*, losing power at op *n*. Each crash is turned into
//! several disk images — unsynced writes dropped, kept, reordered, torn at
//! 512-byte sectors — and each image must open with no repair step, pass
//! `check`, show exactly the state after the last acknowledged step or after
//! the interrupted one (with durability `Full`; at `Normal`/`Off`, any state
//! from the last durable one on), and then take new commits — one image in
//! four loses power again during those. The protocol-breaking fault switches
//! make the sweep fail (the last tests prove it).
//!
//! Every violation names workload, cut point, crash mode and seed, and the
//! command that replays it: `WHEFS_CRASH_ONLY='<workload>:<cut>:<seed>'`.
//! `WHEFS_LONG_CRASH=1` runs bigger workloads with many more seeds, for
//! `WHEFS_LONG_CRASH_SECS` seconds per sweep (default 300): round after round
//! of fresh seeds over every cut point. `WHEFS_CRASH_SEEDS=<n>` sets the
//! seeds per seeded crash mode (default 24, long runs 64);
//! `WHEFS_CRASH_AGAIN=<k>` crashes every distinct image again during its
//! recovery, with `k` seeds each, instead of one image in four once.
//!
//! A sweep is repeatable: which images are crashed again, and where, is
//! drawn from the workload, cut point, mode and seed — never from the
//! image's bytes, which hold the clock's timestamps — and the engine keeps
//! no timed pin on the fault-injecting storage (its locks are not shared),
//! so its page choices do not depend on the clock either.

mod common;
mod hooked;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use common::{workloads, Session, State, Workload};
use whefs::storage::fault::CrashMode;
use whefs::{Durability, FaultSwitches};

/// How a sweep runs.
#[derive(Clone, Debug)]
struct Sweep {
    durability: Durability,
    faults: FaultSwitches,
    /// Crash modes and the seeds to try with each.
    modes: Vec<(CrashMode, u64)>,
    /// Stop when this passes (the report says how far it got).
    deadline: Option<Instant>,
}

/// What a sweep did and found.
#[derive(Default, Debug)]
struct Report {
    ops: u64,
    cut_points: u64,
    /// Crash images checked (mode × seed per cut point)...
    images: u64,
    /// ...of which this many were distinct (identical ones are checked once).
    distinct: u64,
    /// Distinct images whose recovery was crashed again.
    double_crashes: u64,
    violations: Vec<String>,
    /// Rounds of seeds over every cut point (more than 1 in long runs).
    rounds: u64,
    timed_out: bool,
}

fn long_mode() -> bool {
    std::env::var_os("WHEFS_LONG_CRASH").is_some_and(|v| v != "0" && !v.is_empty())
}

fn scale() -> usize {
    if long_mode() {
        2
    } else {
        1
    }
}

/// `WHEFS_CRASH_ONLY=<workload>:<cut>[:<seed>[:<second seed>]]` restricts
/// every sweep to that one cut point of the named workload, the seeded
/// crash modes to that seed, and the second power loss to that one (to
/// replay a failure; each violation prints its line).
fn only() -> Option<(String, u64, Option<u64>, Option<u64>)> {
    let v = std::env::var("WHEFS_CRASH_ONLY").ok()?;
    let (w, rest) = v.split_once("):")?;
    let mut parts = rest.split(':');
    let cut = parts.next()?.parse().ok()?;
    let seed = parts.next().and_then(|s| s.parse().ok());
    let second = parts.next().and_then(|s| s.parse().ok());
    Some((format!("{w})"), cut, seed, second))
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

/// The seeds of the second power losses of one crash image, drawn from
/// what names the image (never from its bytes: they hold timestamps, and a
/// replay must crash the same image at the same points): by default one
/// image in four is crashed again once; `WHEFS_CRASH_AGAIN=<k>` crashes
/// every image `k` times.
fn second_crash_seeds(workload: &str, cut: u64, mode: CrashMode, seed: u64) -> Vec<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (workload, cut, format!("{mode:?}"), seed).hash(&mut h);
    let key = h.finish();
    if let Some((.., Some(second))) = only() {
        return vec![second];
    }
    match env_number("WHEFS_CRASH_AGAIN") {
        Some(k) => (0..k)
            .map(|i| (key >> 2).wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect(),
        None if key % 4 == 0 => vec![key >> 2],
        None => Vec::new(),
    }
}

/// The crash modes of a default run, or of a long run.
fn modes(power_loss_safe: bool) -> Vec<(CrashMode, u64)> {
    let seeds = env_number("WHEFS_CRASH_SEEDS").unwrap_or(if long_mode() { 64 } else { 24 });
    let mut m = vec![(CrashMode::DropAll, 0), (CrashMode::KeepAll, 0)];
    if power_loss_safe {
        for s in 0..seeds {
            m.push((CrashMode::Random, s));
            m.push((CrashMode::Torn, s));
        }
    }
    m
}

fn sweep_config(durability: Durability) -> Sweep {
    let deadline = long_mode().then(|| {
        let secs = std::env::var("WHEFS_LONG_CRASH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300);
        Instant::now() + Duration::from_secs(secs)
    });
    Sweep {
        durability,
        faults: FaultSwitches::default(),
        // `Off` promises nothing against power loss: only a process crash
        // (every write kept) and "nothing since the last sync" are fair.
        modes: modes(durability != Durability::Off),

        deadline,
    }
}

/// Runs `steps` on a fresh container, losing power at op `cut` (counted from
/// the end of formatting) if given. Returns the storage, the number of steps
/// acknowledged before the first failure, and violations seen on the way.
fn run(
    w: &Workload,
    cfg: &Sweep,
    cut: Option<u64>,
) -> (
    std::sync::Arc<whefs::storage::fault::FaultStorage>,
    usize,
    Vec<String>,
) {
    let (storage, fs) = common::new_container(cfg.durability, cfg.faults);
    if let Some(n) = cut {
        storage.set_crash_at(storage.ops() + n);
    }
    let mut session = Session::reopenable(fs, storage.clone(), cfg.faults);
    let mut bad = Vec::new();
    let mut acked = 0;
    for step in &w.steps {
        if let Err(e) = session.step(step) {
            if !storage.crashed() {
                bad.push(format!(
                    "step {} failed before the power loss: {e}",
                    acked + 1
                ));
            }
            break;
        }
        acked += 1;
        if !storage.crashed() {
            bad.extend(
                session
                    .check_readers()
                    .into_iter()
                    .map(|v| format!("after step {acked}: {v}")),
            );
        }
    }
    let closed = session.close();
    if acked == w.steps.len() && !storage.crashed() {
        if let Err(e) = closed {
            bad.push(format!("closing the handles failed: {e}"));
        }
    }
    (storage, acked, bad)
}

fn image_hash(image: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    image.hash(&mut h);
    h.finish()
}

/// Checks one crash image: returns what is wrong with it (and the seed of
/// the second power loss that showed it, if one did). For each seed of
/// `second_crashes`, power is lost again at a point of the recovery — the
/// open's own writes or the recovered container's new commits (chosen by
/// the seed) — and that image must show one of the recovery's states in
/// turn.
fn check_image(
    image: Vec<u8>,
    cfg: &Sweep,
    states: &[State],
    lo: usize,
    hi: usize,
    second_crashes: &[u64],
) -> Result<(), (String, Option<u64>)> {
    let got = recover(&image, cfg, states, lo, hi).map_err(|e| (e, None))?;
    let (recovery_ops, got) = got;
    for &seed in second_crashes {
        second_crash(&image, cfg, &got, seed % recovery_ops.max(1), seed)
            .map_err(|e| (format!("second crash at op {e}"), Some(seed)))?;
    }
    Ok(())
}

/// Opens a crash image, checks that it shows a state of steps `lo..=hi`,
/// and makes new commits on it; returns how many ops that recovery took
/// (the open's own writes included) and the state found.
fn recover(
    image: &[u8],
    cfg: &Sweep,
    states: &[State],
    lo: usize,
    hi: usize,
) -> Result<(u64, State), String> {
    let (storage, fs) = common::open_image_with(image.to_vec(), cfg.durability, cfg.faults)
        .map_err(|e| format!("open failed: {e}"))?;
    fs.check().map_err(|e| format!("check failed: {e}"))?;
    let got = common::dump(&fs).map_err(|e| format!("reading the container failed: {e}"))?;
    if common::find_state(states, &got, lo..=hi).is_none() {
        let want = if lo == hi {
            format!("the state after step {lo}")
        } else {
            format!("the state after one of steps {lo}..={hi}")
        };
        return Err(format!(
            "wrong content: want {want}; {}",
            common::which_state(states, &got)
        ));
    }
    common::exercise_after_recovery(&fs, &got)?;
    // Counted from the image on (the storage is new): the open's own
    // writes, if any, are part of the recovery.
    Ok((storage.ops(), got))
}

/// Opens `image` again and loses power at op `cut` of the recovery (the
/// open's writes included), then checks the image `seed` makes of that:
/// it must show a state of the recovery steps from the last acknowledged
/// one on. The error starts with the cut point.
fn second_crash(image: &[u8], cfg: &Sweep, got: &State, cut: u64, seed: u64) -> Result<(), String> {
    let (steps, rstates) = common::recovery_steps(got);
    let storage = std::sync::Arc::new(whefs::storage::fault::FaultStorage::from_image(
        image.to_vec(),
    ));
    storage.set_crash_at(cut);
    let acked = match common::open_storage_with(storage.clone(), cfg.durability, cfg.faults) {
        Ok(fs) => {
            let mut session = Session::new(fs);
            steps.iter().take_while(|s| session.step(s).is_ok()).count()
        }
        Err(_) if storage.crashed() => 0,
        Err(e) => return Err(format!("{cut} of the recovery: second open failed: {e}")),
    };
    let floor = if cfg.durability == Durability::Full {
        acked
    } else {
        0
    };
    // `Off` is safe against process crashes only: every write is kept.
    // Otherwise the writes are dropped, kept and reordered, and with an odd
    // seed torn too.
    let mode = if cfg.durability == Durability::Off {
        CrashMode::KeepAll
    } else if seed & 1 == 1 {
        CrashMode::Torn
    } else {
        CrashMode::Random
    };
    let image2 = storage.crash_image(mode, seed);
    let again = common::open_image_with(image2, cfg.durability, cfg.faults)
        .and_then(|(_, fs)| fs.check().and_then(|_| common::dump(&fs)))
        .map_err(|e| format!("{cut} of the recovery: {e}"))?;
    if common::find_state(&rstates, &again, floor..=(acked + 1).min(steps.len())).is_none() {
        return Err(format!(
            "{cut} of the recovery ({acked} of its steps acknowledged): wrong content; {}",
            common::which_state(&rstates, &again)
        ));
    }
    Ok(())
}

/// The sweep: every cut point of `w`, every crash mode of `cfg`.
fn sweep(w: &Workload, cfg: &Sweep) -> Report {
    let mut report = Report::default();
    let states = w.states();
    let floors = common::durable_floors(&w.steps, cfg.durability);

    // The clean run: counts the ops and checks the workload itself.
    let (storage, acked, bad) = run(w, cfg, None);
    report.violations.extend(
        bad.into_iter()
            .map(|v| format!("{} (no crash): {v}", w.name)),
    );
    if acked != w.steps.len() {
        report.violations.push(format!(
            "{} (no crash): step {} failed without any fault",
            w.name,
            acked + 1
        ));
        return report;
    }
    let base = common::new_container(cfg.durability, cfg.faults).0.ops();
    report.ops = storage.ops() - base;
    match common::open_image(storage.snapshot(), cfg.durability)
        .and_then(|(_, fs)| common::dump(&fs))
    {
        Ok(got) if got == states[w.steps.len()] => {}
        Ok(got) => report.violations.push(format!(
            "{} (no crash): final content is wrong:{}",
            w.name,
            common::diff(&got, &states[w.steps.len()])
        )),
        Err(e) => report
            .violations
            .push(format!("{} (no crash): reopening failed: {e}", w.name)),
    }

    let (cuts, seed_only): (Vec<u64>, Option<u64>) = match only() {
        Some((name, n, seed, _)) if w.name == name => (vec![n], seed),
        Some(_) => (vec![], None),
        None => ((0..report.ops).collect(), None),
    };
    // Round 0 uses the configured seeds; a long run (with a deadline) goes on
    // with fresh seeds, round after round over every cut point, until the
    // deadline passes.
    'rounds: for round in 0u64.. {
        for &n in &cuts {
            if cfg.deadline.is_some_and(|d| Instant::now() > d) {
                report.timed_out = true;
                break 'rounds;
            }
            report.cut_points += 1;
            let (storage, acked, bad) = run(w, cfg, Some(n));
            report
                .violations
                .extend(bad.into_iter().map(|v| format!("{} cut {n}: {v}", w.name)));
            // Step `acked + 1` (1-based) was interrupted, if any was: the
            // state is at most after it, and at least after the last step
            // acknowledged as durable.
            let (lo, hi) = (floors[acked], (acked + 1).min(w.steps.len()));
            let mut seen = HashSet::new();
            for &(mode, seed) in &cfg.modes {
                let seeded = matches!(mode, CrashMode::Random | CrashMode::Torn);
                if round > 0 && !seeded {
                    continue;
                }
                let seed = seed_only.unwrap_or(seed + round * cfg.modes.len() as u64);
                report.images += 1;
                let image = storage.crash_image(mode, seed);
                let h = image_hash(&image);
                if !seen.insert(h) {
                    continue;
                }
                report.distinct += 1;
                let second = second_crash_seeds(&w.name, n, mode, seed);
                report.double_crashes += u64::from(!second.is_empty());
                if let Err((v, again)) = check_image(image, cfg, &states, lo, hi, &second) {
                    let again = again.map_or(String::new(), |s| format!(":{s}"));
                    report.violations.push(format!(
                        "{} cut {n} {mode:?} seed {seed} (replay: WHEFS_CRASH_ONLY='{}:{n}:{seed}{again}'): {v}",
                        w.name, w.name
                    ));
                }
            }
        }
        report.rounds = round + 1;
        if cfg.deadline.is_none() || seed_only.is_some() {
            break;
        }
    }
    report
}

/// Runs the sweep, prints what it did, and fails on any violation.
fn sweep_clean(w: Workload, durability: Durability) {
    report_and_assert(&w, &sweep_config(durability));
}

fn report_and_assert(w: &Workload, cfg: &Sweep) {
    let durability = cfg.durability;
    let t = Instant::now();
    let r = sweep(w, cfg);
    let line = format!(
        "crash sweep {} durability {durability:?}: {} ops, {} cut points x {} mode/seed = {} crash images ({} distinct, {} crashed again while recovering) checked in {:.1?}{}; {} violations",
        w.name,
        r.ops,
        r.cut_points,
        cfg.modes.len(),
        r.images,
        r.distinct,
        r.double_crashes,
        t.elapsed(),
        if r.rounds > 1 || r.timed_out { format!(" ({} rounds of seeds, until the time limit)", r.rounds) } else { String::new() },
        r.violations.len()
    );
    println!("{line}");
    eprintln!("{line}");
    if !r.violations.is_empty() {
        let shown: Vec<&String> = r.violations.iter().take(20).collect();
        panic!(
            "{} violations, first ones:\n{}",
            r.violations.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(
        r.cut_points > 0 || only().is_some(),
        "the sweep ran no cut point"
    );
}

#[test]
fn power_loss_at_every_op_small_files() {
    sweep_clean(workloads::small_files(scale()), Durability::Full);
}

#[test]
fn power_loss_at_every_op_big_file_overwritten_in_place() {
    sweep_clean(workloads::big_file_overwrite(scale()), Durability::Full);
}

#[test]
fn power_loss_at_every_op_rename_unlink() {
    sweep_clean(workloads::rename_unlink(scale()), Durability::Full);
}

#[test]
fn power_loss_at_every_op_deep_directories() {
    sweep_clean(workloads::deep_dirs(scale()), Durability::Full);
}

#[test]
fn power_loss_at_every_op_reader_during_overwrite() {
    sweep_clean(
        workloads::reader_during_overwrite(scale()),
        Durability::Full,
    );
}

#[test]
fn power_loss_at_every_op_two_writers_at_once() {
    sweep_clean(workloads::two_writers(scale()), Durability::Full);
}

#[test]
fn power_loss_at_every_op_handoff_between_opens() {
    sweep_clean(workloads::handoff(scale()), Durability::Full);
}

#[test]
fn power_loss_at_every_op_snapshots_and_compaction() {
    sweep_clean(
        workloads::snapshots_and_compaction(scale()),
        Durability::Full,
    );
}

#[test]
fn power_loss_with_durability_normal_keeps_some_committed_state() {
    sweep_clean(workloads::big_file_overwrite(1), Durability::Normal);
}

#[test]
fn power_loss_with_durability_normal_reader_workload() {
    sweep_clean(workloads::reader_during_overwrite(1), Durability::Normal);
}

#[test]
fn power_loss_with_durability_normal_small_files_and_renames() {
    sweep_clean(workloads::small_files(scale()), Durability::Normal);
    sweep_clean(workloads::rename_unlink(scale()), Durability::Normal);
}

#[test]
fn process_crash_with_durability_off_keeps_some_committed_state() {
    sweep_clean(workloads::rename_unlink(scale()), Durability::Off);
    sweep_clean(workloads::small_files(scale()), Durability::Off);
    sweep_clean(workloads::big_file_overwrite(1), Durability::Off);
}

// The sweep is shown to catch protocol bugs (DESIGN §6).

/// Sweeps the small-files workload at durability full with `faults` on
/// and asserts that it reports violations (`what` names the bug).
fn assert_sweep_catches(name: &str, faults: FaultSwitches, what: &str) {
    let mut cfg = sweep_config(Durability::Full);
    cfg.faults = faults;
    cfg.deadline = None;
    let r = sweep(&workloads::small_files(1), &cfg);
    eprintln!(
        "{name}: {} cut points, {} images, {} violations; first: {}",
        r.cut_points,
        r.images,
        r.violations.len(),
        r.violations.first().map_or("-", |s| s.as_str())
    );
    assert!(!r.violations.is_empty(), "the sweep did not notice {what}");
}

#[test]
fn sweep_catches_superblock_written_before_data_sync() {
    let faults = FaultSwitches {
        superblock_before_sync: true,
        ..Default::default()
    };
    assert_sweep_catches(
        "superblock_before_sync",
        faults,
        "the superblock written before the sync",
    );
}

/// The one-sync commit is safe only because open verifies the pages the
/// latest commit's manifest names: an open that trusts it blindly must be
/// caught (a superblock durable before its pages).
#[test]
fn sweep_catches_an_open_that_skips_verifying_the_last_commit() {
    let faults = FaultSwitches {
        skip_commit_verify: true,
        ..Default::default()
    };
    assert_sweep_catches(
        "skip_commit_verify",
        faults,
        "an open that trusts a torn commit",
    );
}

/// Compaction must sync the data it moved before the commit that points
/// the extents at it; and a page a snapshot needs must be held, not freed.
#[test]
fn sweep_catches_unsynced_compaction_and_snapshots_that_hold_nothing() {
    for (what, faults) in [
        (
            "compaction that moves data without a sync",
            FaultSwitches {
                compact_without_sync: true,
                ..Default::default()
            },
        ),
        (
            "snapshots whose pages are freed",
            FaultSwitches {
                ignore_snapshots: true,
                ..Default::default()
            },
        ),
    ] {
        let mut cfg = sweep_config(Durability::Full);
        cfg.faults = faults;
        cfg.deadline = None;
        let r = sweep(&workloads::snapshots_and_compaction(1), &cfg);
        eprintln!(
            "{what}: {} cut points, {} violations; first: {}",
            r.cut_points,
            r.violations.len(),
            r.violations.first().map_or("-", |s| s.as_str())
        );
        assert!(!r.violations.is_empty(), "the sweep did not notice {what}");
    }
}

#[test]
fn sweep_catches_early_page_reuse() {
    let faults = FaultSwitches {
        reuse_pages_early: true,
        ..Default::default()
    };
    // A reader's snapshot: pages it still reads must not be reused.
    let mut cfg = sweep_config(Durability::Full);
    cfg.faults = faults;
    cfg.deadline = None;
    let r = sweep(&workloads::reader_during_overwrite(1), &cfg);
    let readers = r
        .violations
        .iter()
        .filter(|v| v.contains("a reader of"))
        .count();
    eprintln!(
        "reuse_pages_early, reader: {} cut points, {} violations by a reader; first: {}",
        r.cut_points,
        readers,
        r.violations.first().map_or("-", |s| s.as_str())
    );
    assert!(
        readers > 0,
        "a reader's snapshot was not clobbered by early reuse"
    );

    // Durability normal: commit k+1 reuses pages freed by commit k while
    // only k-1 is durable; a crash that loses superblock k shows k-1 torn.
    let mut cfg = sweep_config(Durability::Normal);
    cfg.faults = faults;
    cfg.deadline = None;
    let r = sweep(&workloads::small_files(1), &cfg);
    let images = r.violations.iter().filter(|v| v.contains(" seed ")).count();
    eprintln!(
        "reuse_pages_early, durability normal: {} cut points, {} images, {images} violations by a crash image; first: {}",
        r.cut_points,
        r.images,
        r.violations.first().map_or("-", |s| s.as_str())
    );
    assert!(images > 0, "no crash image showed the early reuse");
}

/// Minimal repro of an engine bug found by the handoff sweep: an open
/// trusts that the superblock it found is durable (`known_durable` starts
/// at the found generation). A previous open with durability `Normal` left
/// generation 3 unsynced; the next open reuses the pages generation 3 freed
/// without syncing first, so a power loss that drops superblock 3 leaves
/// superblock 2 pointing at an overwritten page (DESIGN §3 rule a).
#[test]
fn reopen_does_not_reuse_pages_freed_by_an_unsynced_commit() {
    use std::sync::Arc;
    use whefs::storage::fault::FaultStorage;
    use whefs::Fs;

    let storage = Arc::new(FaultStorage::new());
    let a = Fs::options()
        .create(true)
        .durability(Durability::Normal)
        .open_storage(storage.clone())
        .unwrap();
    a.write("x", b"1").unwrap(); // generation 2
    a.write("x", b"2").unwrap(); // generation 3: frees generation 2's leaf; superblock 3 unsynced
    drop(a);
    let b = Fs::options()
        .write(true)
        .open_storage(storage.clone())
        .unwrap();
    storage.set_crash_at(storage.ops() + 1); // power lost after b's first write
    assert!(b.write("y", b"3").is_err());
    drop(b);
    let mut bad = Vec::new();
    for seed in 0..64 {
        let image = storage.crash_image(CrashMode::Random, seed);
        let result = common::open_image(image, Durability::Full).and_then(|(_, fs)| fs.check());
        if let Err(e) = result {
            bad.push(format!("seed {seed}: {e}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of 64 crash images are broken, e.g. {}",
        bad.len(),
        bad[0]
    );
}

/// Minimal repro of an engine bug found by the deep-directories sweep
/// (cut 2, torn, crashed again during its recovery): open passes over a
/// commit whose leaf is short by one sector past the end of the file (a
/// sector of zeros that never reached the disk), and the next commit from
/// the same base writes pages further out. Had it left the torn slot in
/// place, a power loss that drops this new commit's slot but keeps a page
/// that extends the file completes the old leaf with zeros: the slot open
/// passed over verifies and shows the never-acknowledged `mkdir`. A
/// writable open now blanks a torn slot, and syncs, before it writes.
#[test]
fn a_commit_passed_over_at_open_never_comes_back() {
    use std::sync::Arc;
    use whefs::storage::fault::FaultStorage;

    let (storage, fs) = common::new_container(Durability::Full, FaultSwitches::default());
    // The commit's ops: zeros over the pages it reserved past the file's
    // end (the file grows ahead of small commits), its leaf on the first
    // of them (page 2), its slot, then its sync.
    storage.set_crash_at(storage.ops() + 3); // its sync: leaf and slot written
    assert!(fs.create_dir_all("l0/l1/l2").is_err());
    drop(fs);
    let mut image = storage.snapshot();
    assert!(
        image.len() > 3 * 4096,
        "the commit reserved pages past page 2"
    );
    assert!(
        image[2 * 4096..2 * 4096 + 64].iter().any(|&b| b != 0),
        "the commit wrote its leaf to page 2"
    );
    assert!(
        image[3 * 4096..].iter().all(|&b| b == 0),
        "the pages after the leaf are zeros written ahead"
    );
    // The zeros ahead never reached the disk, nor the leaf's last sector.
    image.truncate(3 * 4096);
    let tail = image.len() - 512;
    assert!(
        image[tail..].iter().all(|&b| b == 0),
        "the leaf ends in zeros"
    );
    // A torn outcome: the slot and all of the leaf but its last sector.
    image.truncate(tail);
    let (_, fs) = common::open_image(image.clone(), Durability::Full).unwrap();
    assert!(
        common::dump(&fs).unwrap().is_empty(),
        "the torn commit is passed over"
    );
    drop(fs);

    let data = common::pattern(6000, 7);
    let mut bad = Vec::new();
    for cut in 0..14 {
        for seed in 0..32 {
            let s = Arc::new(FaultStorage::from_image(image.clone()));
            s.set_crash_at(cut);
            let acked = common::open_storage_with(s.clone(), Durability::Full, Default::default())
                .is_ok_and(|fs| fs.write("x", &data).is_ok());
            let got = common::open_image(s.crash_image(CrashMode::Random, seed), Durability::Full)
                .and_then(|(_, fs)| fs.check().and_then(|_| common::dump(&fs)));
            match got {
                Ok(st) if st.is_empty() && !acked => {}
                Ok(st) if st.len() == 1 && st.get("x") == Some(&Some(data.clone())) => {}
                Ok(st) => bad.push(format!(
                    "cut {cut} seed {seed}: shows {:?}",
                    st.keys().collect::<Vec<_>>()
                )),
                Err(e) => bad.push(format!("cut {cut} seed {seed}: {e}")),
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of 448 images are wrong, e.g. {}",
        bad.len(),
        bad[0]
    );
}

/// Retiring a torn commit looks again under the commit lock, where the
/// answer is final (`Engine::retire_torn_commit`): a commit that verifies
/// then was misjudged at open, and is kept — the open starts over from it
/// — instead of being blanked, which would lose it (and every commit
/// another open based on it).
#[test]
fn a_writable_open_never_blanks_a_commit_that_verifies_on_a_second_look() {
    use std::sync::Arc;
    use whefs::Fs;

    let (storage, fs) = common::new_container(Durability::Full, FaultSwitches::default());
    fs.write("x", b"one").unwrap();
    fs.write("x", b"two").unwrap(); // the latest commit: its manifest names its leaf
    drop(fs);
    // The open's first read of a page past the superblock page comes back
    // with one bit flipped: it misreads the latest commit's pages once,
    // whatever the cause, and takes the commit for a torn one.
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flip = Arc::clone(&armed);
    let misread = Arc::new(
        hooked::Hooked::new(storage.clone()).after_read(move |offset, buf| {
            if offset >= 4096 && flip.swap(false, std::sync::atomic::Ordering::SeqCst) {
                buf[0] ^= 1;
            }
        }),
    );
    let fs = Fs::options()
        .write(true)
        .open_storage(misread.clone())
        .unwrap();
    assert!(
        !armed.load(std::sync::atomic::Ordering::SeqCst),
        "the open misread the latest commit's pages"
    );
    assert_eq!(
        fs.read("x").unwrap(),
        b"two",
        "the misread commit is the state the open starts from"
    );
    fs.write("y", b"three").unwrap();
    fs.check().unwrap();
    drop(fs);
    let image = storage.crash_image(CrashMode::KeepAll, 0);
    let (_, fs) = common::open_image(image, Durability::Full).unwrap();
    assert_eq!(fs.read("x").unwrap(), b"two");
    assert_eq!(fs.read("y").unwrap(), b"three");
}
