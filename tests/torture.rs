//! Multi-process torture (DESIGN §6, issue 4): writer, reader and lister
//! processes — the test binary re-executing itself — work on one container
//! while the test `kill -9`s random ones at random moments and starts new
//! ones. Writers acknowledge every commit on stdout (`@ack PATH SEQ HASH`);
//! readers check that every read is one whole committed version. After each
//! of two rounds: `check()` is clean, every file is one committed version
//! whose seq is at least the last acknowledged one, and the container after
//! round 2 is at most 1.5× its size after round 1 (freed space is reused).
//!
//! And the torture is shown to catch bugs: with the fault switches that
//! skip the pin or the reservation check, targeted runs fail.
//!
//! Backups and snapshots under the torture (issue 13): transaction
//! writers (`txwriter`) rewrite files and a manifest naming every file's
//! seq in one commit each, so a copy shows whether it is one committed
//! state. While they and the torture's writers are killed at random, this
//! process and a `backuper` process take `backup_to` copies: each must
//! check clean, be compact, equal one commit, and hold everything
//! acknowledged before it began. And a snapshot taken while they write
//! reads the same from other processes after everything changed (and
//! after it is deleted, through a view kept open).
//!
//! `WHEFS_LONG_MP=1` makes the rounds longer; `WHEFS_MP_SEED` repeats the
//! random choices (not the interleaving of the processes).

mod mp_common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mp_common::*;
use whefs::{Fs, FsOptions};

#[test]
fn mp_child() {
    child_main();
}

/// The tests here take turns: each keeps both cores busy, and the size
/// check compares two rounds that should run under the same load.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Who plays in a round.
#[derive(Clone)]
struct Config {
    writers: u32,
    readers: u32,
    listers: u32,
    /// Transaction writers (`txwriter`; the container needs the tx layout).
    txwriters: u32,
    /// Processes taking backups in a loop (`backuper`).
    backupers: u32,
    round: Duration,
    /// Mean time between two random kills.
    kill_every: Duration,
    /// Fault switches of every worker.
    faults: String,
}

/// What a round saw.
#[derive(Default, Debug)]
struct RoundStats {
    started: u64,
    killed: u64,
    killed_at_end: u64,
    acks: u64,
    reads: u64,
    listed: u64,
    size: u64,
    pages_total: u64,
    pages_free: u64,
    pages_pending: u64,
}

/// Every acknowledged commit: the last per file, and each (file, seq) once.
#[derive(Default)]
struct Ledger {
    last: HashMap<String, (u64, u64)>,
    seen: HashMap<(String, u64), u64>,
}

impl Ledger {
    fn record(&mut self, path: &str, seq: u64, hash: u64, problems: &mut Vec<String>) {
        if let Some(prev) = self.seen.insert((path.to_string(), seq), hash) {
            if prev != hash {
                problems.push(format!(
                    "two different commits of {path} were acknowledged with seq {seq}: two writers at once?"
                ));
            }
        }
        let e = self.last.entry(path.to_string()).or_insert((seq, hash));
        if seq >= e.0 {
            *e = (seq, hash);
        }
    }
}

struct Worker {
    role: &'static str,
    uid: u64,
    child: Child,
    pump: JoinHandle<()>,
}

/// The supervisor's view of the running workers.
struct Fleet {
    path: PathBuf,
    cfg: Config,
    rng: Rng,
    tx: Sender<(u64, String)>,
    rx: Receiver<(u64, String)>,
    slots: Vec<(&'static str, u32, Option<Worker>)>,
    next_uid: u64,
    roles: HashMap<u64, &'static str>,
    reads: HashMap<u64, u64>,
    listed: HashMap<u64, u64>,
    problems: Vec<String>,
    stats: RoundStats,
    /// The last seq acknowledged per path, shared with threads of this
    /// process that take copies while the round runs.
    acked: Arc<Mutex<HashMap<String, u64>>>,
    /// Where `backuper`s write, and the copies they reported.
    backup_dir: PathBuf,
    backups: Vec<String>,
}

impl Fleet {
    fn new(path: &Path, cfg: &Config, seed: u64) -> Fleet {
        let (tx, rx) = channel();
        let mut slots = Vec::new();
        for w in 0..cfg.writers {
            slots.push(("writer", w, None));
        }
        for r in 0..cfg.readers {
            slots.push(("reader", r, None));
        }
        for l in 0..cfg.listers {
            slots.push(("lister", l, None));
        }
        for t in 0..cfg.txwriters {
            slots.push(("txwriter", t, None));
        }
        for b in 0..cfg.backupers {
            slots.push(("backuper", b, None));
        }
        Fleet {
            path: path.to_path_buf(),
            cfg: cfg.clone(),
            rng: Rng::new(seed),
            tx,
            rx,
            slots,
            next_uid: 0,
            roles: HashMap::new(),
            reads: HashMap::new(),
            listed: HashMap::new(),
            problems: Vec::new(),
            stats: RoundStats::default(),
            acked: Arc::default(),
            backup_dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            backups: Vec::new(),
        }
    }

    fn spawn(&mut self, i: usize) {
        let (role, slot, _) = self.slots[i];
        // One writer of each durability in every round, so that the rounds
        // commit at similar rates (the size check compares their peaks).
        let durability = ["off", "normal", "full"][slot as usize % 3];
        let mut child = worker_command(role, &self.path)
            .stdin(Stdio::null())
            .env(SLOT_ENV, slot.to_string())
            .env(SEED_ENV, self.rng.next().to_string())
            .env(DURABILITY_ENV, durability)
            .env(FAULTS_ENV, &self.cfg.faults)
            .env(ARGS_ENV, &self.backup_dir)
            .spawn()
            .expect("spawn a worker");
        let uid = self.next_uid;
        self.next_uid += 1;
        let out = child.stdout.take().expect("piped stdout");
        let tx = self.tx.clone();
        let pump = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((uid, line)).is_err() {
                    break;
                }
            }
        });
        self.roles.insert(uid, role);
        self.slots[i].2 = Some(Worker {
            role,
            uid,
            child,
            pump,
        });
        self.stats.started += 1;
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut w) = self.slots[i].2.take() {
            kill9(&mut w.child);
            let _ = w.pump.join();
        }
    }

    fn drain(&mut self, ledger: &mut Ledger) {
        while let Ok((uid, line)) = self.rx.try_recv() {
            let mut w = line.split_whitespace();
            match w.next() {
                Some("@ack") => {
                    let (p, seq, h) = (w.next(), w.next(), w.next());
                    match (
                        p,
                        seq.and_then(|s| s.parse().ok()),
                        h.and_then(|s| s.parse().ok()),
                    ) {
                        (Some(p), Some(seq), Some(h)) => {
                            ledger.record(p, seq, h, &mut self.problems);
                            self.stats.acks += 1;
                            let mut acked = self.acked.lock().unwrap_or_else(|e| e.into_inner());
                            let e = acked.entry(p.to_string()).or_insert(seq);
                            *e = (*e).max(seq);
                        }
                        _ => self.problems.push(format!("bad ack line {line:?}")),
                    }
                }
                Some("@backup") => match w.next() {
                    Some(p) => self.backups.push(p.to_string()),
                    None => self.problems.push(format!("bad backup line {line:?}")),
                },
                Some("@reads") => {
                    let n = w.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                    self.reads.insert(uid, n);
                }
                Some("@ls") => {
                    let n = w.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                    self.listed.insert(uid, n);
                }
                Some("@fail") => {
                    let role = self.roles.get(&uid).copied().unwrap_or("?");
                    self.problems.push(format!("{role} #{uid}: {line}"));
                }
                _ => {}
            }
        }
    }

    /// Workers that ended by themselves (a failure: they run until killed).
    fn check_exits(&mut self) {
        for i in 0..self.slots.len() {
            let exited = match &mut self.slots[i].2 {
                Some(w) => w
                    .child
                    .try_wait()
                    .ok()
                    .flatten()
                    .map(|s| (w.role, w.uid, s)),
                None => None,
            };
            if let Some((role, uid, status)) = exited {
                self.problems
                    .push(format!("{role} #{uid} exited by itself: {status}"));
                self.kill(i);
                self.spawn(i);
            }
        }
    }

    /// One round: all slots running, random kills and restarts.
    fn run(&mut self, ledger: &mut Ledger) {
        for i in 0..self.slots.len() {
            self.spawn(i);
        }
        let start = Instant::now();
        let end = start + self.cfg.round;
        let mean = self.cfg.kill_every.as_millis() as u64;
        let mut next_kill = start + Duration::from_millis(self.rng.range(mean / 4, mean * 7 / 4));
        while Instant::now() < end && self.problems.is_empty() {
            self.drain(ledger);
            self.check_exits();
            if Instant::now() >= next_kill {
                let i = self.rng.below(self.slots.len() as u64) as usize;
                self.kill(i);
                self.drain(ledger);
                self.stats.killed += 1;
                self.spawn(i);
                next_kill =
                    Instant::now() + Duration::from_millis(self.rng.range(mean / 4, mean * 7 / 4));
            }
            std::thread::sleep(Duration::from_millis(3));
        }
        for i in 0..self.slots.len() {
            if self.slots[i].2.is_some() {
                self.kill(i);
                self.stats.killed_at_end += 1;
            }
        }
        self.drain(ledger);
        self.stats.reads = self.reads.values().sum();
        self.stats.listed = self.listed.values().sum();
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in 0..self.slots.len() {
            self.kill(i);
        }
    }
}

/// Checks the container after a round: fsck clean, every file one whole
/// committed version at or after its last acknowledged seq.
fn verify_container(path: &Path, ledger: &Ledger, problems: &mut Vec<String>) -> u64 {
    let fs = match Fs::open(path) {
        Ok(fs) => fs,
        Err(e) => {
            problems.push(format!("the container does not open after the round: {e}"));
            return 0;
        }
    };
    if let Err(e) = fs.check() {
        problems.push(format!("check() after the round: {e}"));
    }
    let mut verified = 0;
    let mut all = torture_files();
    all.extend((0..WRITERS).map(own_tmp));
    for p in all {
        let data = match fs.read(&p) {
            Ok(d) => d,
            Err(whefs::Error::NotFound(_)) if p.ends_with("tmp") => continue,
            Err(e) => {
                problems.push(format!("read {p} after the round: {e}"));
                continue;
            }
        };
        match verify_at(&p, &data) {
            Ok(st) => {
                verified += 1;
                if let Some(&(seq, h)) = ledger.last.get(&p) {
                    if st.seq < seq {
                        problems.push(format!(
                            "{p}: seq {} but seq {seq} was acknowledged (a lost commit)",
                            st.seq
                        ));
                    } else if st.seq == seq && hash(&data) != h {
                        problems.push(format!(
                            "{p}: seq {seq} holds other content than was acknowledged"
                        ));
                    }
                }
            }
            Err(e) => problems.push(format!("after the round: {e}")),
        }
    }
    verified
}

/// Runs `rounds` rounds on a fresh container; returns each round's stats
/// and every problem seen.
fn torture(cfg: &Config, rounds: usize, label: &str) -> (Vec<RoundStats>, Vec<String>) {
    let seed = seed();
    eprintln!("torture {label}: seed {seed} (WHEFS_MP_SEED={seed} repeats the choices)");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torture.whefs");
    let fs = Fs::create(&path).unwrap();
    create_torture_layout(&fs).unwrap();
    drop(fs);
    let mut ledger = Ledger::default();
    let mut all = Vec::new();
    let mut problems = Vec::new();
    for round in 0..rounds {
        let mut fleet = Fleet::new(&path, cfg, seed ^ round as u64);
        fleet.run(&mut ledger);
        problems.append(&mut fleet.problems);
        let mut stats = std::mem::take(&mut fleet.stats);
        drop(fleet);
        let verified = verify_container(&path, &ledger, &mut problems);
        stats.reads += verified;
        stats.size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if let Ok(i) = FsOptions::new().open(&path).and_then(|fs| fs.info()) {
            (stats.pages_total, stats.pages_free, stats.pages_pending) =
                (i.pages_total, i.pages_free, i.pages_pending);
        }
        eprintln!(
            "torture {label} round {}: {:?}: {} processes started, {} killed at random (+{} at the end), \
             {} commits acknowledged, {} reads verified, {} listing entries stat'ed; container {} bytes \
             ({} pages, {} free, {} pending); {} problems",
            round + 1,
            cfg.round,
            stats.started,
            stats.killed,
            stats.killed_at_end,
            stats.acks,
            stats.reads,
            stats.listed,
            stats.size,
            stats.pages_total,
            stats.pages_free,
            stats.pages_pending,
            problems.len()
        );
        all.push(stats);
        if !problems.is_empty() {
            break;
        }
    }
    (all, problems)
}

fn default_config() -> Config {
    let long = long_mode();
    Config {
        writers: WRITERS,
        readers: 2,
        listers: 1,
        txwriters: 0,
        backupers: 0,
        round: Duration::from_secs(if long { 60 } else { 8 }),
        kill_every: Duration::from_millis(350),
        faults: "-".into(),
    }
}

#[test]
fn killed_workers_leave_only_committed_versions_and_space_is_reused() {
    let _turn = one_at_a_time();
    let (rounds, problems) = torture(&default_config(), 2, "clean");
    assert!(
        problems.is_empty(),
        "torture found problems:\n{}",
        problems.join("\n")
    );
    assert_eq!(rounds.len(), 2);
    for (i, r) in rounds.iter().enumerate() {
        assert!(r.killed > 0, "round {}: nobody was killed", i + 1);
        assert!(
            r.acks > 0 && r.reads > 0,
            "round {}: nothing happened: {r:?}",
            i + 1
        );
    }
    let (s1, s2) = (rounds[0].size, rounds[1].size);
    assert!(
        s2 * 2 <= s1 * 3,
        "the container grew from {s1} to {s2} bytes in round 2: freed pages are not reused"
    );
}

// ---- The torture catches protocol bugs ----------------------------------------

/// One short round with a protocol-breaking switch in every worker.
fn torture_with(faults: &str) -> Vec<String> {
    let cfg = Config {
        round: Duration::from_secs(if long_mode() { 20 } else { 4 }),
        faults: faults.into(),
        ..default_config()
    };
    torture(&cfg, 1, faults).1
}

#[test]
fn the_torture_catches_readers_that_take_no_pin() {
    let _turn = one_at_a_time();
    let problems = torture_with("skip_pin");
    eprintln!(
        "skip_pin: {} problems, first: {:?}",
        problems.len(),
        problems.first()
    );
    assert!(
        !problems.is_empty(),
        "readers without pins read reused pages, and the torture must notice"
    );
}

/// A reader in process A opens a 64-page file and reads its first page;
/// process B replaces the file 8 times (durability off, so nothing waits
/// for a sync); then A reads the rest of its handle. With pins, A's
/// snapshot keeps its pages and it reads what it opened; without (the
/// `skip_pin` switch in both processes), B reuses them and A must notice.
fn reader_after_overwrites(faults: &str) -> Result<(), String> {
    const LEN: u64 = 64 * 4096;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pin.whefs");
    let fs = Fs::create(&path).unwrap();
    fs.write("victim", &pattern(1, 0, LEN as usize)).unwrap();
    // This process keeps its pin until it has been idle for a while; only
    // the reader's pin (or its lack) may decide what the writer reuses.
    std::thread::sleep(whefs::IDLE_PIN_RELEASE * 4);
    let mut a = Remote::start("reader", &path);
    a.ok(&format!("openfs ro 1000 full {faults}"));
    a.ok("open h victim r");
    a.ok("check h 0 4096 1");
    // At `full` each commit is durable when it returns, so only pins decide
    // what the next one reuses (at `off` the sync that allows reuse runs in
    // the background, and when it returns is up to the disk).
    let mut b = Remote::start("writer", &path);
    b.ok(&format!("openfs rw 1000 full {faults}"));
    for i in 0..8 {
        b.ok(&format!("put victim {LEN} {}", 100 + i));
    }
    let r = a.call(&format!("check h 4096 {} 1", LEN - 4096));
    a.finish();
    b.finish();
    // The bug hurts only the reader's view: the container itself is sound.
    fs.check().expect("check() after the overwrites");
    assert_eq!(fs.read("victim").unwrap(), pattern(107, 0, LEN as usize));
    if r.is_ok() {
        Ok(())
    } else {
        Err(format!("{} {}", r.kind, r.text))
    }
}

#[test]
fn a_reader_without_a_pin_is_caught_reading_reused_pages() {
    let _turn = one_at_a_time();
    reader_after_overwrites("-").expect("with its pin, the reader keeps its snapshot");
    let err = reader_after_overwrites("skip_pin")
        .expect_err("without a pin the reader's pages are reused: the test must notice");
    assert!(
        err.starts_with("Corrupt") || err.starts_with("Mismatch"),
        "the unpinned reader should see corruption or other content, got: {err}"
    );
    eprintln!("skip_pin detected: {err}");
}

/// Three processes write their own file of 4..40 pages over and over
/// (durability off) through a storage that sleeps before every `RESERVE`
/// try-lock — between reading the free list and locking pages, the window
/// in which another process commits those pages. Returns how many wrong
/// results the writers, a final `check()` and a final read-back saw.
fn reservation_race(
    faults: &str,
    procs: u32,
    iterations: u32,
    slow_ms: u64,
) -> (u64, u64, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reserve.whefs");
    let fs = Fs::create(&path).unwrap();
    fs.create_dir("r").unwrap();
    drop(fs);
    let seed = seed();
    let mut reaper = Reaper::default();
    for slot in 0..procs {
        let child = worker_command("reserver", &path)
            .stdin(Stdio::null())
            .env(SLOT_ENV, slot.to_string())
            .env(SEED_ENV, (seed ^ u64::from(slot)).to_string())
            .env(FAULTS_ENV, faults)
            .env(ARGS_ENV, format!("{iterations} {slow_ms}"))
            .spawn()
            .expect("spawn a reserver");
        reaper.0.push(child);
    }
    let (mut writes, mut detected, mut samples) = (0, 0, Vec::new());
    for child in &mut reaper.0 {
        let out = BufReader::new(child.stdout.take().expect("piped stdout"));
        for line in out.lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("@detect ") {
                if samples.len() < 3 {
                    samples.push(rest.to_string());
                }
            } else if let Some(rest) = line.strip_prefix("@done ") {
                for kv in rest.split_whitespace() {
                    match kv.split_once('=') {
                        Some(("writes", n)) => writes += n.parse::<u64>().unwrap(),
                        Some(("detected", n)) => detected += n.parse::<u64>().unwrap(),
                        _ => {}
                    }
                }
            } else if line.starts_with("@fail") {
                panic!("reserver failed: {line}");
            }
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "a reserver exited with {status}");
    }
    let fs = Fs::open(&path).unwrap();
    if let Err(e) = fs.check() {
        detected += 1;
        samples.push(format!("check(): {e}"));
    }
    for slot in 0..procs {
        let p = format!("r/w{slot}");
        let bad = match fs.read(&p) {
            Err(whefs::Error::NotFound(_)) => None,
            Err(e) => Some(e.to_string()),
            Ok(d) => verify_at(&p, &d).err(),
        };
        if let Some(e) = bad {
            detected += 1;
            samples.push(format!("final read: {e}"));
        }
    }
    (writes, detected, samples)
}

#[test]
fn the_torture_catches_writers_that_do_not_check_their_reservations() {
    let _turn = one_at_a_time();
    let problems = torture_with("skip_reservation_check");
    eprintln!(
        "skip_reservation_check: {} problems, first: {:?}",
        problems.len(),
        problems.first()
    );
    assert!(
        !problems.is_empty(),
        "writers that take pages another process just committed corrupt the container, and the torture must notice"
    );
}

#[test]
fn a_reservation_not_checked_after_locking_is_caught() {
    let _turn = one_at_a_time();
    let (iters, slow) = if long_mode() { (300, 2) } else { (60, 2) };
    let (writes, detected, samples) = reservation_race("-", 3, iters, slow);
    assert_eq!(
        detected, 0,
        "with the check, no writer may take committed pages: {samples:?}"
    );
    assert!(writes > 0);
    let (writes_bad, detected_bad, samples_bad) =
        reservation_race("skip_reservation_check", 3, iters, slow);
    eprintln!(
        "reservation race: checked: {writes} writes, {detected} wrong; unchecked: {writes_bad} writes, \
         {detected_bad} wrong, e.g. {samples_bad:?}"
    );
    assert!(
        detected_bad > 0,
        "without the reservation check, writers should have overwritten committed pages ({writes_bad} writes)"
    );
}

// ---- Backups and snapshots while workers write and die -----------------------

/// A container with the torture layout and the transaction writers' files.
fn tx_container(dir: &Path) -> PathBuf {
    let path = dir.join("torture.whefs");
    let fs = Fs::create(&path).unwrap();
    create_torture_layout(&fs).unwrap();
    create_tx_layout(&fs).unwrap();
    drop(fs);
    path
}

/// Checks a copy made by `backup_to`: it opens and checks clean, holds no
/// free, pending or snapshot pages, and is one committed state holding at
/// least what `acked` says. Returns its clock.
fn verify_copy(path: &Path, acked: Option<&HashMap<String, u64>>) -> Result<u64, String> {
    let fs = FsOptions::new()
        .open(path)
        .map_err(|e| format!("{}: does not open: {e}", path.display()))?;
    fs.check()
        .map_err(|e| format!("{}: check(): {e}", path.display()))?;
    let info = fs.info().map_err(|e| e.to_string())?;
    if info.pages_free != 0 || info.pages_pending != 0 || info.snapshots != 0 {
        return Err(format!(
            "{}: not compact: {} free, {} pending pages, {} snapshots",
            path.display(),
            info.pages_free,
            info.pages_pending,
            info.snapshots
        ));
    }
    check_one_commit(&fs, acked).map_err(|e| format!("{}: {e}", path.display()))
}

/// This process's side of the round: a copy every few hundred ms, each
/// verified against the acknowledgements received before it began; the
/// clocks of successive copies never go back. Returns the clocks.
fn take_backups(
    path: &Path,
    dir: &Path,
    acked: &Mutex<HashMap<String, u64>>,
    stop: &AtomicBool,
    seed: u64,
    problems: &Mutex<Vec<String>>,
) -> Vec<u64> {
    let mut rng = Rng::new(seed ^ 0xB4C);
    let fs = FsOptions::new().open(path).unwrap();
    let mut clocks = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(rng.range(100, 500)));
        let before = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let dest = dir.join(format!("main-{}.whefs", clocks.len()));
        let verdict = fs
            .backup_to(&dest)
            .map_err(|e| format!("backup_to: {e}"))
            .and_then(|_| verify_copy(&dest, Some(&before)));
        let _ = std::fs::remove_file(&dest);
        match verdict {
            Ok(clock) => {
                if clocks.last().is_some_and(|&last| clock < last) {
                    problems.lock().unwrap().push(format!(
                        "copy {}: clock {clock} after a copy of clock {:?}",
                        clocks.len(),
                        clocks.last()
                    ));
                }
                clocks.push(clock);
            }
            Err(e) => {
                problems.lock().unwrap().push(e);
                break;
            }
        }
    }
    clocks
}

#[test]
fn backups_taken_while_killed_workers_write_each_equal_one_commit() {
    let _turn = one_at_a_time();
    let started = Instant::now();
    let seed = seed();
    eprintln!("backups: seed {seed} (WHEFS_MP_SEED={seed} repeats the choices)");
    let dir = tempfile::tempdir().unwrap();
    let path = tx_container(dir.path());
    let copies = dir.path().join("copies");
    std::fs::create_dir(&copies).unwrap();
    let cfg = Config {
        writers: 2,
        readers: 1,
        listers: 0,
        txwriters: TX_WRITERS,
        backupers: 1,
        round: Duration::from_secs(if long_mode() { 40 } else { 8 }),
        kill_every: Duration::from_millis(300),
        faults: "-".into(),
    };
    let mut fleet = Fleet::new(&path, &cfg, seed);
    fleet.backup_dir = copies.clone();
    let acked = Arc::clone(&fleet.acked);
    let mut ledger = Ledger::default();
    let stop = AtomicBool::new(false);
    let side_problems = Mutex::new(Vec::new());
    let clocks = std::thread::scope(|s| {
        let side = s.spawn(|| take_backups(&path, &copies, &acked, &stop, seed, &side_problems));
        fleet.run(&mut ledger);
        stop.store(true, Ordering::SeqCst);
        side.join().expect("the backup thread")
    });
    let mut problems = std::mem::take(&mut fleet.problems);
    problems.extend(side_problems.into_inner().unwrap());
    let (started_procs, killed) = (fleet.stats.started, fleet.stats.killed);
    let reported = std::mem::take(&mut fleet.backups);
    drop(fleet);

    // Every copy the backuper finished (reported or not before its kill)
    // is whole; its temporary files are the only other thing it leaves.
    let (mut theirs, mut temps) = (0, 0);
    for e in std::fs::read_dir(&copies).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".whefs-tmp-") {
            temps += 1;
            continue;
        }
        match verify_copy(&p, None) {
            Ok(_) => theirs += 1,
            Err(e) => problems.push(format!("the backuper's copy: {e}")),
        }
    }
    for p in &reported {
        if !Path::new(p).exists() {
            problems.push(format!("{p}: reported as written, but missing"));
        }
    }
    // The container itself: one commit, nothing acknowledged lost.
    let all = acked.lock().unwrap().clone();
    let fs = Fs::open(&path).unwrap();
    if let Err(e) = fs.check() {
        problems.push(format!("check() of the container: {e}"));
    }
    match check_one_commit(&fs, Some(&all)) {
        Ok(clock) if clocks.last().is_some_and(|&c| c > clock) => problems.push(format!(
            "the container's clock {clock} is older than a copy's {clocks:?}"
        )),
        Ok(_) => {}
        Err(e) => problems.push(format!("the container after the round: {e}")),
    }
    eprintln!(
        "backups: {:?}: {started_procs} processes started, {killed} killed at random; {} copies here \
         (clocks {clocks:?}), {theirs} by the backuper ({} reported, {temps} temporary files of killed \
         ones); {:.1?} in all; {} problems",
        cfg.round,
        clocks.len(),
        reported.len(),
        started.elapsed(),
        problems.len()
    );
    assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
    assert!(killed > 0, "nobody was killed");
    assert!(clocks.len() >= 3, "only {} copies taken", clocks.len());
    assert!(
        clocks.last() > clocks.first(),
        "the writers made no progress between copies: {clocks:?}"
    );
}

#[test]
fn a_snapshot_taken_while_workers_write_reads_unchanged_from_other_processes() {
    let _turn = one_at_a_time();
    let started = Instant::now();
    let seed = seed();
    eprintln!("snapshot isolation: seed {seed} (WHEFS_MP_SEED={seed} repeats the choices)");
    let dir = tempfile::tempdir().unwrap();
    let path = tx_container(dir.path());
    let cfg = Config {
        writers: 2,
        readers: 0,
        listers: 0,
        txwriters: TX_WRITERS,
        backupers: 0,
        round: Duration::from_secs(if long_mode() { 20 } else { 4 }),
        kill_every: Duration::from_millis(400),
        faults: "-".into(),
    };
    let mut fleet = Fleet::new(&path, &cfg, seed);
    let acked = Arc::clone(&fleet.acked);
    let mut ledger = Ledger::default();
    let fs = FsOptions::new().write(true).open(&path).unwrap();
    // A third of the way into the round: the snapshot, its digest here,
    // and a view of it kept open by another process.
    let (digest, clock, mut keeper) = std::thread::scope(|s| {
        let side = s.spawn(|| {
            std::thread::sleep(cfg.round / 3);
            let before = acked.lock().unwrap().clone();
            fs.create_snapshot("iso")
                .expect("snapshot while workers write");
            let view = fs.open_snapshot("iso").unwrap();
            let digest = tree_digest(&view).unwrap();
            let clock = check_one_commit(&view, Some(&before))
                .unwrap_or_else(|e| panic!("the snapshot is not one commit: {e}"));
            drop(view);
            let mut keeper = Remote::start("keeper", &path);
            keeper.ok("openfs ro 1000 full");
            keeper.ok("snapview v iso");
            (digest, clock, keeper)
        });
        fleet.run(&mut ledger);
        side.join().expect("the snapshot thread")
    });
    let problems = std::mem::take(&mut fleet.problems);
    drop(fleet);
    assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
    let want = format!("{} {}", digest.0, digest.1);

    // Change everything: rewrite each file the workers left as it was in
    // the snapshot, then move and remove whole directories.
    let view = fs.open_snapshot("iso").unwrap();
    let mut rewritten = 0;
    let mut files = torture_files();
    files.extend(tx_files());
    files.push(TX_CLOCK.to_string());
    for p in &files {
        if fs.read(p).unwrap() == view.read(p).unwrap() {
            fs.write(p, &stamp(7, file_id(p), 1 << 40, 5000, 9))
                .unwrap();
            rewritten += 1;
        }
    }
    drop(view);
    fs.rename("/own", "/own-moved").unwrap();
    fs.remove_dir_all("/tx").unwrap();
    fs.write("/new", &pattern(3, 0, 200_000)).unwrap();
    assert_ne!(
        tree_digest(&fs).unwrap(),
        digest,
        "the latest state still equals the snapshot"
    );

    // The kept view and a fresh process's view read the snapshot unchanged.
    assert_eq!(
        keeper.ok("digest v"),
        want,
        "the view kept open in another process"
    );
    assert_eq!(keeper.ok("consistent v"), clock.to_string());
    let mut reader = Remote::start("reader", &path);
    reader.ok("openfs ro 1000 full");
    reader.ok("snapview w iso");
    assert_eq!(
        reader.ok("digest w"),
        want,
        "a view opened by another process afterwards"
    );
    assert_eq!(reader.ok("consistent w"), clock.to_string());
    assert_eq!(reader.ok("writable w"), "refused");
    // Deleted by a third process: the kept view still reads it, even after
    // this process churned through the pages the deletion gave back.
    let mut deleter = Remote::start("deleter", &path);
    deleter.ok("openfs rw 1000 full");
    let freed: u64 = deleter.ok("snapdelete iso").parse().unwrap();
    deleter.finish();
    reader.err("snapview x iso", "NotFound");
    for i in 0..20 {
        fs.write("/churn", &pattern(i, 0, 100_000)).unwrap();
    }
    assert_eq!(
        keeper.ok("digest v"),
        want,
        "the kept view after the snapshot was deleted"
    );
    keeper.finish();
    reader.finish();
    fs.check().expect("check() after the snapshot's deletion");
    eprintln!(
        "snapshot isolation: snapshot at clock {clock} with {} entries; {rewritten} files rewritten \
         afterwards; deleting it gave back {freed} pages; {:.1?} in all",
        digest.0,
        started.elapsed()
    );
    assert!(freed > 0, "the snapshot held no pages of its own");
}

/// The one-commit check is not vacuous: a state whose data files and
/// manifest come from different commits, or with a torn file, or missing
/// what was acknowledged, fails it.
#[test]
fn the_one_commit_check_catches_mixed_torn_and_stale_states() {
    let dir = tempfile::tempdir().unwrap();
    let path = tx_container(dir.path());
    let fs = FsOptions::new().write(true).open(&path).unwrap();
    assert_eq!(check_one_commit(&fs, None), Ok(0));
    // A data file one commit ahead of the manifest.
    let p = tx_file(1, 2);
    let old = fs.read(&p).unwrap();
    fs.write(&p, &stamp(1, file_id(&p), 1, 3000, 5)).unwrap();
    let e = check_one_commit(&fs, None).unwrap_err();
    assert!(e.contains("not one commit"), "{e}");
    fs.write(&p, &old).unwrap();
    // The manifest ahead of its files.
    let seqs = vec![0; tx_files().len()];
    fs.write(
        TX_CLOCK,
        &clock_bytes(1, &{
            let mut s = seqs.clone();
            s[0] = 1;
            s
        }),
    )
    .unwrap();
    assert!(check_one_commit(&fs, None).is_err());
    fs.write(TX_CLOCK, &clock_bytes(0, &seqs)).unwrap();
    assert_eq!(check_one_commit(&fs, None), Ok(0));
    // Less than was acknowledged.
    let acked = HashMap::from([(TX_CLOCK.to_string(), 5)]);
    assert!(check_one_commit(&fs, Some(&acked)).is_err());
    // A torn torture file.
    let t = &torture_files()[3];
    let mut data = fs.read(t).unwrap();
    let last = data.len() - 1;
    data[last] ^= 1;
    fs.write(t, &data).unwrap();
    let e = check_one_commit(&fs, None).unwrap_err();
    assert!(e.contains("checksum"), "{e}");
}
