//! Whole-file writes (`Fs::write`, one commit each) racing on the same few
//! names, from threads and from processes that are `kill -9`ed at random,
//! while others read and list them: the pattern of the PHP filedrop load
//! test (`bindings/php/tests/web/loadtest.py`: php-fpm workers, each request
//! one open, then a write, a read or a listing).
//!
//! The bug it pins down: a whole-file write holds no writer lock on the
//! inode its commit creates, so as soon as that commit is published another
//! writer's commit may replace the name and delete the inode. The first
//! writer's refresh after its commit then did not find the inode and
//! reported `Corrupt` ("inode N is named but missing") for a write that had
//! been committed, while `check()` found nothing wrong. Every write here must
//! succeed, every read must be one whole written version, and the container
//! must check clean.
//!
//! `WHEFS_LONG_MP=1` runs the process test for a minute instead of a few
//! seconds; `WHEFS_MP_SEED` repeats its random choices (not the interleaving).

mod mp_common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mp_common::*;
use whefs::{Durability, Error, FileType, Fs, FsOptions};

/// The names every writer overwrites (the load test's `shared-0.bin`, `shared-1.bin`).
const SHARED: [&str; 2] = ["files/shared-0.bin", "files/shared-1.bin"];

/// A file of one writer process: uploaded, replaced and now and then deleted.
fn own_file(slot: u32, k: u64) -> String {
    format!("files/own-{slot}-{k}.bin")
}

#[test]
fn mp_child() {
    let role = std::env::var(ROLE_ENV);
    let code = match role.as_deref() {
        Ok("overwriter") => overwriter_main(),
        Ok("overwrite-reader") => reader_main(),
        _ => return child_main(),
    };
    std::process::exit(code);
}

fn new_container(durability: Durability) -> (tempfile::TempDir, PathBuf, Fs) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overwrite.whefs");
    let fs = FsOptions::new()
        .create(true)
        .durability(durability)
        .open(&path)
        .unwrap();
    fs.create_dir("files").unwrap();
    for name in SHARED {
        fs.write(name, &stamp(u32::MAX, file_id(name), 0, 1000, 1))
            .unwrap();
    }
    (dir, path, fs)
}

/// Threads writing the same two names through one open and through opens
/// of their own (as processes do): before the fix about one write in a
/// hundred failed with `Corrupt` here.
#[test]
fn whole_writes_racing_on_one_name_all_succeed() {
    let (_dir, path, fs) = new_container(Durability::Off);
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for id in 0..6u32 {
        // Threads 0-2 share the test's open; 3-5 each open the container.
        let fs = if id < 3 {
            fs.clone()
        } else {
            FsOptions::new()
                .write(true)
                .durability(Durability::Off)
                .open(&path)
                .unwrap()
        };
        let (stop, writes) = (Arc::clone(&stop), Arc::clone(&writes));
        threads.push(std::thread::spawn(move || {
            let mut rng = Rng::new(u64::from(id) + 1);
            let mut seq = 0;
            let mut errors = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                let name = *rng.pick(&SHARED);
                let len = rng.range(100, 6000) as usize;
                let data = stamp(id, file_id(name), seq, len, rng.next());
                match fs.write(name, &data) {
                    Ok(()) => {
                        writes.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.push(format!("thread {id}: write {name}: {e}")),
                }
                // A reader's view: always one whole version of the name.
                let read = *rng.pick(&SHARED);
                match fs.read(read) {
                    Ok(d) => {
                        if let Err(e) = verify_at(read, &d) {
                            errors.push(format!("thread {id}: read {e}"));
                        }
                    }
                    Err(e) => errors.push(format!("thread {id}: read {read}: {e}")),
                }
            }
            errors
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let mut errors = Vec::new();
    for t in threads {
        errors.extend(t.join().unwrap());
    }
    let n = writes.load(Ordering::Relaxed);
    let shown: Vec<&String> = errors.iter().take(5).collect();
    assert!(
        errors.is_empty(),
        "{} of {} writes and reads failed, e.g. {shown:#?}",
        errors.len(),
        n + errors.len() as u64
    );
    assert!(n > 100, "only {n} writes in the time given");
    fs.check().unwrap();
    for name in SHARED {
        verify_at(name, &fs.read(name).unwrap()).unwrap();
    }
}

// ---- The processes ------------------------------------------------------------

/// A worker process: its stdin (closed to stop it), its output lines.
struct Worker {
    role: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    pump: JoinHandle<()>,
}

struct Fleet {
    path: PathBuf,
    rng: Rng,
    tx: Sender<(String, String)>,
    rx: Receiver<(String, String)>,
    workers: Vec<Option<Worker>>,
    roles: Vec<&'static str>,
    next_uid: u32,
    problems: Vec<String>,
    writes: u64,
    reads: u64,
    kills: u64,
}

impl Fleet {
    fn spawn(&mut self, i: usize) {
        let role = self.roles[i];
        let uid = self.next_uid;
        self.next_uid += 1;
        let mut child = worker_command(role, &self.path)
            .env(SLOT_ENV, uid.to_string())
            .env(SEED_ENV, self.rng.next().to_string())
            .spawn()
            .expect("spawn a worker");
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("piped stdout");
        let tx = self.tx.clone();
        let who = format!("{role} #{uid}");
        let pump = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((who.clone(), line)).is_err() {
                    break;
                }
            }
        });
        self.workers[i] = Some(Worker {
            role,
            child,
            stdin,
            pump,
        });
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut w) = self.workers[i].take() {
            kill9(&mut w.child);
            let _ = w.pump.join();
        }
    }

    fn drain(&mut self) {
        while let Ok((who, line)) = self.rx.try_recv() {
            let mut words = line.split_whitespace();
            let count = |w: Option<&str>| w.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
            match words.next() {
                Some("@wrote") => self.writes += count(words.next()),
                Some("@read") => self.reads += count(words.next()),
                Some("@fail") => self.problems.push(format!("{who}: {line}")),
                _ => {}
            }
        }
    }

    /// Lets every worker finish what it does (stdin closed) and reaps it.
    fn stop_all(&mut self) {
        for w in self.workers.iter_mut().flatten() {
            w.stdin = None;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for i in 0..self.workers.len() {
            let Some(mut w) = self.workers[i].take() else {
                continue;
            };
            let status = loop {
                match w.child.try_wait() {
                    Ok(Some(s)) => break Some(s),
                    _ if Instant::now() > deadline => break None,
                    _ => std::thread::sleep(Duration::from_millis(5)),
                }
            };
            match status {
                Some(s) if s.success() => {}
                Some(s) => self.problems.push(format!("{} ended with {s}", w.role)),
                None => {
                    self.problems
                        .push(format!("{} did not stop within 30 s", w.role));
                    kill9(&mut w.child);
                }
            }
            let _ = w.pump.join();
        }
        self.drain();
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in 0..self.workers.len() {
            self.kill(i);
        }
    }
}

/// Four writer processes on the two shared names (and their own files),
/// two readers and listers, full durability as the PHP application has
/// it, a writer `kill -9`ed every ~150 ms: no call may fail, every read is
/// one whole version, and the container checks clean.
#[test]
fn killed_processes_overwriting_shared_files_leave_no_error_and_a_clean_container() {
    let (_dir, path, fs) = new_container(Durability::Full);
    let seed = seed();
    let secs = if long_mode() { 60 } else { 6 };
    eprintln!("overwrite fleet: {secs} s, seed {seed} (WHEFS_MP_SEED={seed} repeats the choices)");
    let (tx, rx) = channel();
    let roles = vec![
        "overwriter",
        "overwriter",
        "overwriter",
        "overwriter",
        "overwrite-reader",
        "overwrite-reader",
    ];
    let mut fleet = Fleet {
        path: path.clone(),
        rng: Rng::new(seed),
        tx,
        rx,
        workers: roles.iter().map(|_| None).collect(),
        roles,
        next_uid: 0,
        problems: Vec::new(),
        writes: 0,
        reads: 0,
        kills: 0,
    };
    for i in 0..fleet.workers.len() {
        fleet.spawn(i);
    }
    let writers = fleet.roles.iter().filter(|r| **r == "overwriter").count() as u64;
    let end = Instant::now() + Duration::from_secs(secs);
    let mut next_kill = Instant::now() + Duration::from_millis(fleet.rng.range(50, 250));
    while Instant::now() < end && fleet.problems.is_empty() {
        fleet.drain();
        if Instant::now() >= next_kill {
            // A writer, mid-request: they never pause.
            let i = fleet.rng.below(writers) as usize;
            fleet.kill(i);
            fleet.kills += 1;
            fleet.spawn(i);
            next_kill = Instant::now() + Duration::from_millis(fleet.rng.range(50, 250));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    fleet.stop_all();
    eprintln!(
        "overwrite fleet: {} writes, {} reads, {} writers killed",
        fleet.writes, fleet.reads, fleet.kills
    );
    assert!(
        fleet.problems.is_empty(),
        "seed {seed}: {:#?}",
        fleet.problems
    );
    assert!(
        fleet.writes > 20 && fleet.reads > 20 && fleet.kills > 5,
        "the fleet did too little to show anything"
    );
    fs.check().unwrap();
    for name in SHARED {
        verify_at(name, &fs.read(name).unwrap()).unwrap();
    }
}

// ---- The worker side ------------------------------------------------------------

fn env_u64(name: &str) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Set when stdin closes: the test asks the worker to stop.
fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        s.store(true, Ordering::SeqCst);
    });
    stop
}

/// Opens the container as a request of the PHP application does: read-write,
/// full durability, a long busy timeout.
fn open_request(path: &Path) -> Result<Fs, Error> {
    FsOptions::new()
        .write(true)
        .busy_timeout(Duration::from_secs(10))
        .open(path)
}

/// Reports a failure and ends the worker.
fn fail(msg: String) -> i32 {
    say(&format!("@fail {}", msg.replace('\n', " ")));
    1
}

/// Role `overwriter`: requests that each open the container (half of them;
/// the others reuse the last open, as a persistent connection would), then
/// overwrite a shared name (70%) or write or delete one of this process's
/// own files.
fn overwriter_main() -> i32 {
    let path = PathBuf::from(std::env::var(PATH_ENV).expect("the test sets the path"));
    let slot = env_u64(SLOT_ENV) as u32;
    let mut rng = Rng::new(env_u64(SEED_ENV));
    let stop = stop_flag();
    let mut fs: Option<Fs> = None;
    let mut seq = 0u64;
    let mut done = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if fs.is_none() || rng.chance(50) {
            // The last request's open is closed before the next one opens.
            drop(fs.take());
            match open_request(&path) {
                Ok(f) => fs = Some(f),
                Err(e) => return fail(format!("open: {e}")),
            }
        }
        let f = fs.as_ref().expect("opened above");
        match f.metadata("files") {
            Ok(m) if m.kind == FileType::Dir => {}
            other => return fail(format!("stat files: {other:?}")),
        }
        seq += 1;
        let (name, delete) = if rng.chance(70) {
            ((*rng.pick(&SHARED)).to_string(), false)
        } else {
            (own_file(slot, rng.below(4)), rng.chance(15))
        };
        if delete {
            match f.remove_file(&name) {
                Ok(()) | Err(Error::NotFound(_)) => {}
                Err(e) => return fail(format!("delete {name}: {e}")),
            }
        } else {
            let data = stamp(
                slot,
                file_id(&name),
                seq,
                content_len(&mut rng).min(64 * 1024),
                rng.next(),
            );
            if let Err(e) = f.write(&name, &data) {
                return fail(format!("write {name} ({} bytes): {e}", data.len()));
            }
        }
        done += 1;
        if done % 5 == 0 {
            say("@wrote 5");
        }
    }
    0
}

/// Role `overwrite-reader`: downloads a shared name (each download one whole
/// version of it) or lists `files` and stats what it lists.
fn reader_main() -> i32 {
    let path = PathBuf::from(std::env::var(PATH_ENV).expect("the test sets the path"));
    let mut rng = Rng::new(env_u64(SEED_ENV));
    let stop = stop_flag();
    let mut fs: Option<Fs> = None;
    let mut done = 0u64;
    while !stop.load(Ordering::SeqCst) {
        if fs.is_none() || rng.chance(50) {
            drop(fs.take());
            match open_request(&path) {
                Ok(f) => fs = Some(f),
                Err(e) => return fail(format!("open: {e}")),
            }
        }
        let f = fs.as_ref().expect("opened above");
        if rng.chance(80) {
            let name = *rng.pick(&SHARED);
            match f.read(name) {
                Ok(d) => {
                    if let Err(e) = verify_at(name, &d) {
                        return fail(format!("download: {e}"));
                    }
                }
                Err(e) => return fail(format!("download {name}: {e}")),
            }
        } else {
            let entries = match f.read_dir("files") {
                Ok(d) => d,
                Err(e) => return fail(format!("list files: {e}")),
            };
            for e in entries {
                let e = match e {
                    Ok(e) => e,
                    Err(e) => return fail(format!("listing entry: {e}")),
                };
                let p = format!("files/{}", e.name);
                match f.metadata(&p) {
                    Ok(m) if m.kind == FileType::File => {}
                    // Removed since the listing's commit.
                    Err(Error::NotFound(_)) if !SHARED.contains(&p.as_str()) => {}
                    other => return fail(format!("stat {p} after listing: {other:?}")),
                }
            }
        }
        done += 1;
        if done % 10 == 0 {
            say("@read 10");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    0
}
