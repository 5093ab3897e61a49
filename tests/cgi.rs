//! The CGI pattern (issue 4): a thousand short-lived processes, a few at a
//! time, each opens the container, reads or rewrites one file and exits;
//! about a third are `kill -9`ed at random points of their short life.
//! Nothing acknowledged is lost (every read sees at least the last
//! acknowledged version of its file, and so does the final check), no two
//! acknowledged commits of one file carry one sequence number (the file's
//! writer lock held across processes), and `check()` is clean.
//!
//! `WHEFS_LONG_MP=1` runs ten thousand.

mod mp_common;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use mp_common::*;
use whefs::Fs;

#[test]
fn mp_child() {
    child_main();
}

const FILES: u32 = 16;
const AT_ONCE: usize = 8;

fn cgi_file(k: u32) -> String {
    format!("cgi/f{k}")
}

struct Request {
    child: Child,
    started: Instant,
    kill_at: Option<Instant>,
    write: bool,
}

#[derive(Default)]
struct Tally {
    started: u64,
    killed: u64,
    finished: u64,
    commits: u64,
    reads: u64,
    /// Where killed requests were (their last `@stage`).
    killed_after: BTreeMap<String, u64>,
    /// Last acknowledged (seq, hash) per file.
    last: HashMap<String, (u64, u64)>,
    /// Every acknowledged (file, seq) → hash.
    seen: HashMap<(String, u64), u64>,
    problems: Vec<String>,
    /// Lifetimes of requests that ran to the end, for the kill window.
    lifetimes: Vec<Duration>,
}

impl Tally {
    /// Reads what a finished (or killed) request said.
    fn collect(&mut self, mut req: Request, killed: bool) {
        let mut out = String::new();
        if let Some(mut s) = req.child.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        let status = req.child.wait().expect("reap a request");
        let mut stage = "not started".to_string();
        for line in out.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w.as_slice() {
                ["@stage", s] => stage = s.to_string(),
                ["@ack", p, seq, h] => {
                    let (seq, h): (u64, u64) = (seq.parse().unwrap(), h.parse().unwrap());
                    self.commits += 1;
                    stage = "acknowledged".into();
                    if let Some(prev) = self.seen.insert((p.to_string(), seq), h) {
                        if prev != h {
                            self.problems
                                .push(format!("two commits of {p} acknowledged with seq {seq}"));
                        }
                    }
                    let e = self.last.entry(p.to_string()).or_insert((seq, h));
                    if seq >= e.0 {
                        *e = (seq, h);
                    }
                }
                ["@read", _, _] => {
                    self.reads += 1;
                    stage = "read".into();
                }
                ["@fail", ..] => self.problems.push(format!("request: {line}")),
                _ => {}
            }
        }
        if killed {
            self.killed += 1;
            *self.killed_after.entry(stage).or_insert(0) += 1;
        } else {
            self.finished += 1;
            self.lifetimes.push(req.started.elapsed());
            if !status.success() {
                self.problems.push(format!(
                    "a {} request exited with {status}: {out:?}",
                    if req.write { "write" } else { "read" }
                ));
            }
        }
    }

    /// About the median lifetime of a request, to kill at random points of it.
    fn kill_window(&self) -> Duration {
        let recent = &self.lifetimes[self.lifetimes.len().saturating_sub(64)..];
        let mut v: Vec<Duration> = recent.to_vec();
        v.sort_unstable();
        v.get(v.len() / 2)
            .copied()
            .unwrap_or(Duration::from_millis(20))
    }
}

#[test]
fn a_thousand_short_lived_processes_lose_nothing_acknowledged() {
    let total: u64 = if long_mode() { 10_000 } else { 1_000 };
    let seed = seed();
    eprintln!("cgi: seed {seed}");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cgi.whefs");
    let fs = Fs::create(&path).unwrap();
    fs.create_dir("cgi").unwrap();
    for k in 0..FILES {
        let p = cgi_file(k);
        fs.write(&p, &stamp(u32::MAX, file_id(&p), 0, 3000, 1))
            .unwrap();
    }
    drop(fs);

    let mut tally = Tally::default();
    let mut running: Vec<Request> = Vec::new();
    let t0 = Instant::now();
    while tally.started < total || !running.is_empty() {
        // One spawn per turn, so that kill times are checked in between.
        if running.len() < AT_ONCE && tally.started < total {
            let k = rng.below(u64::from(FILES)) as u32;
            let p = cgi_file(k);
            let write = rng.chance(50);
            let args = if write {
                format!("write {p}")
            } else {
                let min = tally.last.get(&p).map_or(0, |&(s, _)| s);
                format!("read {p} {min}")
            };
            let child = worker_command("cgi", &path)
                .stdin(Stdio::null())
                .env(SLOT_ENV, (tally.started % 1000).to_string())
                .env(SEED_ENV, rng.next().to_string())
                .env(DURABILITY_ENV, *rng.pick(&["full", "normal", "off"]))
                .env(ARGS_ENV, args)
                .spawn()
                .expect("spawn a request");
            let now = Instant::now();
            let window = tally.kill_window().as_micros() as u64;
            // Aim at a third actually killed: requests that end before their
            // kill time escape it, so kill more often while behind.
            let behind = tally.started / 3 > tally.killed;
            let kill_at = rng
                .chance(if behind { 70 } else { 20 })
                .then(|| now + Duration::from_micros(rng.below(window.max(1))));
            running.push(Request {
                child,
                started: now,
                kill_at,
                write,
            });
            tally.started += 1;
        }
        let mut i = 0;
        while i < running.len() {
            let now = Instant::now();
            let done = matches!(running[i].child.try_wait(), Ok(Some(_)));
            if done {
                let req = running.swap_remove(i);
                tally.collect(req, false);
            } else if running[i].kill_at.is_some_and(|t| now >= t) {
                let mut req = running.swap_remove(i);
                let _ = req.child.kill();
                tally.collect(req, true);
            } else {
                i += 1;
            }
        }
        if running.len() == AT_ONCE || tally.started == total {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let elapsed = t0.elapsed();

    let fs = Fs::open(&path).unwrap();
    let report = fs.check();
    let mut final_ok = 0;
    for k in 0..FILES {
        let p = cgi_file(k);
        let data = fs.read(&p).unwrap();
        match verify_at(&p, &data) {
            Ok(st) => {
                final_ok += 1;
                if let Some(&(seq, h)) = tally.last.get(&p) {
                    if st.seq < seq {
                        tally
                            .problems
                            .push(format!("{p}: seq {} but {seq} was acknowledged", st.seq));
                    } else if st.seq == seq && hash(&data) != h {
                        tally
                            .problems
                            .push(format!("{p}: seq {seq} is not the acknowledged content"));
                    }
                }
            }
            Err(e) => tally.problems.push(e),
        }
    }
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "cgi: {} processes in {elapsed:?} ({AT_ONCE} at a time): {} ran to the end, {} killed (after: {:?}); \
         {} commits acknowledged, {} reads verified, {final_ok} files verified at the end; container {size} bytes; \
         kill window ~{:?}",
        tally.started,
        tally.finished,
        tally.killed,
        tally.killed_after,
        tally.commits,
        tally.reads,
        tally.kill_window()
    );
    assert!(report.is_ok(), "check() after the requests: {report:?}");
    assert!(
        tally.problems.is_empty(),
        "problems:\n{}",
        tally.problems.join("\n")
    );
    assert!(
        tally.killed * 5 >= total && tally.killed * 2 <= total,
        "about a third should be killed: {} of {total}",
        tally.killed
    );
    assert!(tally.commits > 0 && tally.reads > 0);
}
