//! Several live processes on one container (issue 4): readers never
//! block, writers of different files proceed in parallel, one writer per
//! file with a busy timeout, and lock hygiene — closing frees at once, an
//! unrelated `open()`/`close()` drops nothing, a `fork()`ed child's handles
//! are `Closed`, freed pages come back once readers let go, and
//! `Fs::lock_report` shows another process's locks.
//!
//! The other processes are this test binary re-executed as remotes
//! (`tests/mp_common`), driven line by line: every barrier is a reply, no
//! test sleeps to let another process get somewhere.

mod mp_common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc::channel;
use std::time::Duration;

use mp_common::*;
use whefs::{Error, Fs, FsOptions};

#[test]
fn mp_child() {
    child_main();
}

fn new_container() -> (tempfile::TempDir, std::path::PathBuf, Fs) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mp.whefs");
    let fs = Fs::create(&path).unwrap();
    (dir, path, fs)
}

const PAGE: u64 = 4096;

// ---- Readers never block --------------------------------------------------------

#[test]
fn readers_never_block_while_a_writer_commits() {
    let (_dir, path, fs) = new_container();
    create_torture_layout(&fs).unwrap();
    fs.write("held", &stamp(9, file_id("held"), 1, 20_000, 5))
        .unwrap();
    // A file with an open, uncommitted writer for the whole test: readers
    // read it (and list it) while its writer lock is held elsewhere.
    let mut holder = Remote::start("holder", &path);
    holder.ok("openfs rw 0 full");
    holder.ok("open h held r+");
    holder.ok("write h 100 5000 9");

    let mut committer = worker_command("writer", &path)
        .env(SLOT_ENV, "0")
        .env(SEED_ENV, seed().to_string())
        .env(DURABILITY_ENV, "full")
        .env(STOP_ON_EOF_ENV, "1")
        .spawn()
        .unwrap();
    let out = BufReader::new(committer.stdout.take().unwrap());
    let (tx, rx) = channel();
    let pump = std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait until the writer commits, so the readers run under commits.
    let first = loop {
        let l = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the writer's first commit");
        if l.starts_with('@') {
            break l;
        }
    };
    assert!(first.starts_with("@ack"), "writer: {first}");

    let secs = if long_mode() { 20 } else { 3 };
    let mut readers = Reaper::default();
    for i in 0..2u64 {
        readers.0.push(
            worker_command("nbreader", &path)
                .stdin(Stdio::null())
                .env(SEED_ENV, (seed() ^ i).to_string())
                .env(ARGS_ENV, secs.to_string())
                .spawn()
                .unwrap(),
        );
    }
    let mut summaries = Vec::new();
    for r in &mut readers.0 {
        let out = BufReader::new(r.stdout.take().unwrap());
        let done = out
            .lines()
            .map_while(Result::ok)
            .find(|l| l.starts_with("@done") || l.starts_with("@fail"))
            .expect("a reader's summary");
        assert!(r.wait().unwrap().success(), "reader: {done}");
        summaries.push(done);
    }
    // Stop the writer: close its stdin; it finishes its operation and says how many.
    drop(committer.stdin.take());
    assert!(
        committer.wait().unwrap().success(),
        "the committing writer failed"
    );
    pump.join().unwrap();
    let lines: Vec<String> = rx.try_iter().collect();
    if let Some(f) = lines.iter().find(|l| l.starts_with("@fail")) {
        panic!("the committing writer failed: {f}");
    }
    let commits = 1 + lines.iter().filter(|l| l.starts_with("@ack")).count();
    holder.ok("abort h");
    holder.finish();

    eprintln!("readers never block: {commits} commits meanwhile; readers: {summaries:?}");
    assert!(
        commits >= 10,
        "the writer committed only {commits} times: the test proves little"
    );
    for s in &summaries {
        let field = |name: &str| -> u64 {
            s.split_whitespace()
                .find_map(|kv| {
                    kv.strip_prefix(&format!("{name}="))
                        .and_then(|v| v.parse().ok())
                })
                .unwrap_or_else(|| panic!("no {name} in {s}"))
        };
        assert!(s.starts_with("@done"), "{s}");
        assert!(field("ops") > 50, "a reader did almost nothing: {s}");
        assert_eq!(
            field("busy"),
            0,
            "a reader got Busy (with a zero timeout, any wait is Busy): {s}"
        );
        assert_eq!(field("errors"), 0, "a reader failed: {s}");
    }
    fs.check().unwrap();
}

// ---- Parallel writers, without timing ---------------------------------------------

#[test]
fn writers_of_different_files_in_two_processes_commit_independently() {
    let (_dir, path, fs) = new_container();
    let mut a = Remote::start("A", &path);
    let mut b = Remote::start("B", &path);
    a.ok("openfs rw 5000 full");
    b.ok("openfs rw 5000 full");
    // A writes X without committing: more than its in-memory buffer, so
    // its pages go to reserved pages of the container.
    a.ok("open x X w");
    a.ok("write x 0 400000 11");
    // B writes and commits Y (two ways) while A's writes are pending.
    b.ok("put Y 300000 12");
    b.ok("open y Y2 w");
    b.ok("write y 0 150000 13");
    b.ok("close y");
    assert_eq!(fs.read("Y").unwrap(), pattern(12, 0, 300_000));
    assert_eq!(
        fs.read("X").unwrap(),
        b"",
        "X is created at open, empty until A commits"
    );
    a.ok("commit x");
    a.ok("write x 400000 1000 11");
    a.ok("close x");
    assert_eq!(fs.read("X").unwrap(), pattern(11, 0, 401_000));
    assert_eq!(fs.read("Y").unwrap(), pattern(12, 0, 300_000));
    assert_eq!(fs.read("Y2").unwrap(), pattern(13, 0, 150_000));
    fs.check().unwrap();
    a.finish();
    b.finish();
}

#[test]
fn a_second_writer_of_one_file_gets_busy_after_its_timeout_and_gets_in_once_the_first_closes() {
    let (_dir, path, fs) = new_container();
    fs.write("F", &pattern(1, 0, 10_000)).unwrap();
    let mut a = Remote::start("A", &path);
    let mut b = Remote::start("B", &path);
    a.ok("openfs rw 0 full");
    b.ok("openfs rw 200 full");
    a.ok("open h F r+");
    a.ok("write h 0 100 2");
    let r = b.err("open h F r+", "Busy");
    assert!(
        r.elapsed >= Duration::from_millis(195),
        "Busy came before the timeout: {:?}",
        r.elapsed
    );
    assert!(
        r.text.contains("\"F\""),
        "the message names the busy file: {}",
        r.text
    );
    b.err("open h F w", "Busy");
    // Only that file is taken: B writes another one at once.
    b.ok("timeout 0");
    b.ok("put G 5000 3");
    a.ok("close h");
    let r = b.call("open h F r+");
    assert!(
        r.is_ok(),
        "with a zero timeout, right after A closed: {} {}",
        r.kind,
        r.text
    );
    b.ok("check h 0 100 2");
    b.ok("write h 0 50 4");
    b.ok("close h");
    let data = fs.read("F").unwrap();
    assert_eq!(&data[..50], &pattern(4, 0, 50)[..]);
    assert_eq!(&data[50..100], &pattern(2, 50, 50)[..]);
    fs.check().unwrap();
    a.finish();
    b.finish();
}

// ---- Live-process lock hygiene --------------------------------------------------

#[test]
fn a_closed_aborted_or_dropped_write_handle_frees_its_file_for_another_process_at_once() {
    let (_dir, path, fs) = new_container();
    fs.write("F", &pattern(0, 0, 20_000)).unwrap();
    let mut a = Remote::start("A", &path);
    let mut b = Remote::start("B", &path);
    a.ok("openfs rw 0 full");
    b.ok("openfs rw 0 full");
    let ends = ["close", "abort", "drop"];
    let mut seed = 0;
    for i in 0..12 {
        let (w, other) = if i % 2 == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        let end = ends[(i / 2) % 3];
        let r = w.call("open h F r+");
        assert!(
            r.is_ok(),
            "round {i}: a zero-timeout open after the other process's {end}: {} {}",
            r.kind,
            r.text
        );
        w.ok(&format!("write h 0 20000 {}", i + 1));
        other.err("open h F r+", "Busy");
        w.ok(&format!("{end} h"));
        if end != "abort" {
            seed = i + 1;
        }
    }
    assert_eq!(fs.read("F").unwrap(), pattern(seed as u64, 0, 20_000));
    fs.check().unwrap();
    a.finish();
    b.finish();
}

#[test]
fn pages_pinned_by_readers_in_other_processes_are_reused_once_they_close() {
    let (_dir, path, fs) = new_container();
    const LEN: usize = 40 * PAGE as usize;
    fs.write("big", &pattern(0, 0, LEN)).unwrap();
    let mut readers: Vec<Remote> = (0..2)
        .map(|i| Remote::start(&format!("R{i}"), &path))
        .collect();
    for r in &mut readers {
        r.ok("openfs ro 0 full");
        r.ok("open h big r");
        r.ok("check h 0 4096 0");
    }
    let before = fs.info().unwrap();
    for i in 1..=8 {
        fs.write("big", &pattern(i, 0, LEN)).unwrap();
    }
    let pinned = fs.info().unwrap();
    let report = fs.lock_report().unwrap();
    assert!(
        !report.pinned_generations.is_empty(),
        "the readers' pins are visible: {report:?}"
    );
    // The readers' snapshot is intact: nothing they may read was reused.
    for r in &mut readers {
        r.ok(&format!("check h 0 {LEN} 0"));
    }
    let grew = pinned.pages_total - before.pages_total;
    assert!(
        grew >= 8 * 40,
        "while readers pin the old state, nothing is reused: grew {grew} pages"
    );
    // The readers close their handles; their processes live on, idle: each
    // drops the pin it kept between operations within IDLE_PIN_RELEASE.
    for r in &mut readers {
        r.ok("close h");
    }
    std::thread::sleep(whefs::IDLE_PIN_RELEASE * 4);
    for i in 9..=24 {
        fs.write("big", &pattern(i, 0, LEN)).unwrap();
    }
    let after = fs.info().unwrap();
    let grew_after = after.pages_total - pinned.pages_total;
    eprintln!(
        "pages: {} before, {} after 8 rewrites under pins (+{grew}), {} after 16 more without (+{grew_after}); \
         {} free, {} pending",
        before.pages_total, pinned.pages_total, after.pages_total, after.pages_free, after.pages_pending
    );
    assert!(
        grew_after <= 60,
        "freed pages were not reused once the readers closed: +{grew_after} pages"
    );
    assert!(
        after.pages_free + after.pages_pending >= 8 * 40,
        "{after:?}"
    );
    assert!(fs.lock_report().unwrap().pinned_generations.is_empty());
    fs.check().unwrap();
    for r in readers {
        r.finish();
    }
}

#[test]
fn an_unrelated_open_and_close_of_the_container_drops_no_lock() {
    let (_dir, path, fs) = new_container();
    fs.write("F", &pattern(1, 0, 10_000)).unwrap();
    fs.write("G", &pattern(2, 0, 10_000)).unwrap();
    let ino_f = fs.metadata("F").unwrap().ino;
    let mut a = Remote::start("A", &path);
    let mut b = Remote::start("B", &path);
    a.ok("openfs rw 0 full");
    b.ok("openfs rw 0 full");
    a.ok("open w F r+");
    a.ok("open r G r");
    // What PHP or Python may do behind the library's back.
    a.ok("unrelated");
    a.ok("unrelated");
    b.err("open h F r+", "Busy");
    let report = fs.lock_report().unwrap();
    assert!(
        report.file_writers.contains(&ino_f),
        "A's writer lock survives: {report:?}"
    );
    assert!(
        !report.pinned_generations.is_empty(),
        "A's pin survives: {report:?}"
    );
    let r = FsOptions::new()
        .write(true)
        .container_lock(true)
        .busy_timeout(Duration::ZERO)
        .open(&path);
    assert!(
        matches!(r, Err(Error::Busy(_))),
        "A's share of the container survives: {:?}",
        r.map(|_| ())
    );
    a.ok("write w 0 10 7");
    a.ok("close w");
    a.ok("close r");
    b.ok("open h F r+");
    b.ok("check h 0 10 7");
    b.ok("close h");
    a.finish();
    b.finish();
}

#[test]
fn lock_report_of_another_process_shows_its_writer_and_its_pin() {
    let (_dir, path, fs) = new_container();
    fs.write("F", &pattern(1, 0, 10_000)).unwrap();
    fs.write("G", &pattern(2, 0, 10_000)).unwrap();
    let ino_f = fs.metadata("F").unwrap().ino;
    let mut a = Remote::start("A", &path);
    a.ok("openfs rw 0 full");
    a.ok("open w F r+");
    a.ok("open r G r");
    let generation = fs.info().unwrap().generation;
    // This open has been idle long enough to hold no pin of its own.
    std::thread::sleep(whefs::IDLE_PIN_RELEASE * 4);
    let report = fs.lock_report().unwrap();
    assert_eq!(report.file_writers, vec![ino_f], "{report:?}");
    assert!(
        report.pinned_generations.iter().all(|&g| g <= generation)
            && !report.pinned_generations.is_empty(),
        "A pins a generation at or before {generation}: {report:?}"
    );
    assert!(
        report.own_file_writers.is_empty() && report.own_pinned_generations.is_empty(),
        "{report:?}"
    );
    // And the other way round: A sees nothing of this idle open.
    let text = a.ok("report");
    assert!(
        text.starts_with("writers= pins= "),
        "A sees no other locks: {text}"
    );
    assert!(text.contains(&format!("own_writers={ino_f}")), "{text}");
    a.ok("close w");
    a.ok("close r");
    // A keeps its pin between operations until it has been idle a while.
    std::thread::sleep(whefs::IDLE_PIN_RELEASE * 4);
    let report = fs.lock_report().unwrap();
    assert!(
        report.file_writers.is_empty() && report.pinned_generations.is_empty(),
        "{report:?}"
    );
    a.finish();
}

#[test]
fn a_handle_used_in_a_forked_child_is_closed_and_the_parent_keeps_its_locks() {
    let (_dir, path, fs) = new_container();
    fs.write("F", &pattern(1, 0, 10_000)).unwrap();
    fs.write("G", &pattern(2, 0, 100)).unwrap(); // inline
    fs.write("Big", &pattern(3, 0, 50_000)).unwrap();
    fs.create_dir("d").unwrap();
    let mut a = Remote::start("A", &path);
    let mut b = Remote::start("B", &path);
    a.ok("openfs rw 0 full");
    b.ok("openfs rw 0 full");
    a.ok("open w F r+");
    a.ok("write w 0 10 3");
    a.ok("open r G r");
    a.ok("open rb Big r");
    // Each child makes one call and exits with 100 + the error code.
    let wrong = calls_in_forked_children(
        &mut a,
        &[
            "read rb 0 4096",
            "commit w",
            "close w",
            "abort w",
            "get G",
            "put N 10 1",
            "stat G",
            "ls d",
            "info",
            "report",
            "open x G r",
            "open x F r+",
        ],
    );
    // The children closed nothing of the parent's: its writer lock holds,
    // its uncommitted write is neither committed nor lost.
    b.err("open h F r+", "Busy");
    assert_eq!(fs.read("F").unwrap(), pattern(1, 0, 10_000));
    assert!(!fs.exists("N").unwrap(), "a forked child committed");
    a.ok("check r 0 100 2");
    a.ok("close w");
    let data = fs.read("F").unwrap();
    assert_eq!(&data[..10], &pattern(3, 0, 10)[..]);
    assert!(
        wrong.is_empty(),
        "in a forked child these calls did not return Closed: {wrong:?}"
    );
    a.finish();
    b.finish();
    fs.check().unwrap();
}

/// Runs each call in a child forked by `remote` (one call per child);
/// returns the calls that did not end in `Closed`.
fn calls_in_forked_children(remote: &mut Remote, calls: &[&str]) -> Vec<String> {
    let closed = 100 + Error::Closed(String::new()).code();
    let mut wrong = Vec::new();
    for c in calls {
        let exit = remote.ok(&format!("fork {c}"));
        if exit != format!("exit={closed}") {
            wrong.push(format!("{c:?} -> {exit} (want exit={closed})"));
        }
    }
    wrong
}

/// DESIGN §4 "fork": every later call in the child, close included,
/// returns `Closed` — also the calls that need no I/O: reading inline
/// content or buffered pages, writing into the buffer, `set_len`, closing
/// a read handle. (They once succeeded in the child.)
#[test]
fn every_call_on_a_handle_in_a_forked_child_returns_closed() {
    let (_dir, path, fs) = new_container();
    fs.write("F", &pattern(1, 0, 10_000)).unwrap();
    fs.write("G", &pattern(2, 0, 100)).unwrap(); // inline
    let mut a = Remote::start("A", &path);
    a.ok("openfs rw 0 full");
    a.ok("open w F r+");
    a.ok("write w 0 10 3");
    a.ok("open r G r");
    let wrong = calls_in_forked_children(
        &mut a,
        &[
            "read r 0 10",
            "read w 0 10",
            "write w 0 10 4",
            "setlen w 5",
            "close r",
        ],
    );
    a.finish();
    assert!(
        wrong.is_empty(),
        "in a forked child these calls did not return Closed: {wrong:?}"
    );
}

/// DESIGN §4 "fork" for large reads: in a child the inherited handle's
/// large read is `Closed`, dropping the inherited container returns (the
/// `fork` command reports a child that hangs), and a container opened anew
/// in the child reads large runs intact.
#[test]
fn large_reads_in_a_forked_child_are_closed_and_a_fresh_open_reads_them() {
    let (_dir, path, fs) = new_container();
    let len = 2 << 20;
    fs.write("Big", &pattern(3, 0, len)).unwrap();
    let mut a = Remote::start("A", &path);
    a.ok("openfs ro 0 full");
    a.ok("open rb Big r");
    a.ok(&format!("check rb 0 {len} 3"));
    let closed = 100 + Error::Closed(String::new()).code();
    assert_eq!(
        a.ok(&format!("fork read rb 0 {len}")),
        format!("exit={closed}")
    );
    assert_eq!(
        a.ok(&format!(
            "fork closefs ; openfs ro 0 full ; open rb Big r ; check rb 0 {len} 3 ; check rb 1000 {} 3 ; closefs",
            len - 1000
        )),
        "exit=0"
    );
    // The parent's handle is untouched.
    a.ok(&format!("check rb 100 {} 3", len - 100));
    a.finish();
}

/// Kills a process (a forked grandchild) by pid when dropped.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: sending a signal to a process this test created.
        unsafe {
            libc::kill(self.0, libc::SIGKILL);
        }
    }
}

#[test]
fn a_forked_child_does_not_keep_a_dead_parents_locks_alive() {
    let (_dir, path, fs) = new_container();
    fs.write("F", &pattern(1, 0, 10_000)).unwrap();
    fs.write("G", &pattern(2, 0, 10_000)).unwrap();
    let mut a = Remote::start("A", &path);
    a.ok("openfs rw 0 full");
    a.ok("open w F r+");
    a.ok("open r G r");
    let pid: i32 = a.ok("forkhold").parse().unwrap();
    let _grandchild = KillOnDrop(pid);
    assert!(!fs.lock_report().unwrap().file_writers.is_empty());
    a.kill();
    // The child still runs, yet the parent's locks went with the parent.
    // SAFETY: signal 0 only checks that the process exists.
    assert_eq!(
        unsafe { libc::kill(pid, 0) },
        0,
        "the forked child is alive"
    );
    let report = fs.lock_report().unwrap();
    assert!(
        report.file_writers.is_empty(),
        "the child keeps the writer lock alive: {report:?}"
    );
    assert!(
        report.pinned_generations.is_empty(),
        "the child keeps the pin alive: {report:?}"
    );
    assert!(!report.container_exclusive);
    let f = fs
        .open_file("F", "r+")
        .expect("the writer lock is free at once");
    f.close().unwrap();
}

// ---- The oldest pin across processes --------------------------------------------

/// `F_OFD_GETLK` does not return the lowest-starting conflicting lock when
/// several opens hold locks in the range: the kernel keeps one open's
/// locks together, in the order the opens first locked the file, and
/// reports the first conflict in that list. A committer that asks once for
/// "the oldest pin" gets the pin of the open that locked the file first
/// (PLATFORM-NOTES said otherwise; this test found it).
///
/// Here A (opened first) pins a newer generation than B. A committer that
/// sees only A's pin reuses pages B's snapshot still needs, and B's handle
/// reads garbage.
#[test]
fn a_committer_respects_the_oldest_pin_of_every_process() {
    let (_dir, path, fs) = new_container();
    const LEN: u64 = 64 * PAGE;
    fs.write("victim", &pattern(1, 0, LEN as usize)).unwrap();
    fs.write("other", &pattern(2, 0, 10_000)).unwrap();
    let mut a = Remote::start("A", &path);
    a.ok("openfs ro 0 full"); // A's locks come first in the kernel's list
    let mut b = Remote::start("B", &path);
    b.ok("openfs ro 0 full");
    b.ok("open h victim r"); // B pins the generation of victim's first version
    b.ok("check h 0 4096 1");
    fs.write("victim", &pattern(2, 0, LEN as usize)).unwrap(); // frees version 1 at generation k
    a.ok("stat other"); // A learns of generation k ...
    a.ok("open h other r"); // ... and pins it
    fs.set_durability(whefs::Durability::Off);
    for i in 0..8 {
        fs.write("victim", &pattern(10 + i, 0, LEN as usize))
            .unwrap();
    }
    let r = b.call(&format!("check h 0 {LEN} 1"));
    assert!(
        r.is_ok(),
        "B's snapshot lost pages to a committer that saw only A's newer pin: {} {}",
        r.kind,
        r.text
    );
    a.finish();
    b.finish();
    fs.check().unwrap();
}

/// The same kernel behaviour could hide pins from `Fs::lock_report`, if it
/// walked the `PIN` region from the first conflict `F_OFD_GETLK` returns:
/// pins of later opens below it would be skipped.
#[test]
fn lock_report_lists_the_pins_of_every_process() {
    let (_dir, path, fs) = new_container();
    fs.write("F", &pattern(1, 0, 10_000)).unwrap();
    let mut a = Remote::start("A", &path);
    a.ok("openfs ro 0 full"); // A's locks come first in the kernel's list
    let mut b = Remote::start("B", &path);
    b.ok("openfs ro 0 full");
    b.ok("open h F r"); // B pins an older generation ...
    fs.write("G", b"newer").unwrap();
    a.ok("stat G");
    a.ok("open h G r"); // ... than A
    let report = fs.lock_report().unwrap();
    a.finish();
    b.finish();
    assert_eq!(
        report.pinned_generations.len(),
        2,
        "both readers' pins: {report:?}"
    );
}

/// A process keeps its pin between operations (so a read takes no lock),
/// but not while idle: within `IDLE_PIN_RELEASE` of its last operation the
/// pin is gone, and the pages it held back are reused by other processes'
/// commits. The pin must be visible first, or the test proves nothing.
#[test]
fn an_idle_process_releases_its_kept_pin_and_page_reuse_resumes() {
    let (_dir, path, fs) = new_container();
    const LEN: usize = 20 * PAGE as usize;
    fs.write("big", &pattern(0, 0, LEN)).unwrap();
    let mut reader = Remote::start("R", &path);
    reader.ok("openfs ro 0 full");
    // An open's first operation keeps no pin (a one-shot process starts no
    // reaper thread); from the second on, the pin stays between operations.
    reader.ok("getcheck big 81920 0");
    let once = fs.lock_report().unwrap();
    assert!(
        once.pinned_generations.is_empty(),
        "after its first operation the reader keeps no pin: {once:?}"
    );
    reader.ok("getcheck big 81920 0"); // no handle left open
    let kept = fs.lock_report().unwrap();
    assert!(
        !kept.pinned_generations.is_empty(),
        "right after a later operation the reader keeps its pin: {kept:?}"
    );
    std::thread::sleep(whefs::IDLE_PIN_RELEASE * 4);
    let idle = fs.lock_report().unwrap();
    assert!(
        idle.pinned_generations.is_empty(),
        "an idle reader holds no pin: {idle:?}"
    );
    let before = fs.info().unwrap();
    for i in 1..=20 {
        fs.write("big", &pattern(i, 0, LEN)).unwrap();
    }
    let after = fs.info().unwrap();
    let grew = after.pages_total - before.pages_total;
    // Without reuse the rewrites would need 20 × 20 pages more; with it the
    // container grows by a few rewrites' worth (freed pages become
    // reusable one commit later, and the writer's page pool runs ahead).
    assert!(
        grew <= 5 * 20,
        "20 rewrites of 20 pages reuse the freed pages once the reader is idle: +{grew} pages"
    );
    // The reader still works, and reads the latest state.
    reader.ok("getcheck big 81920 20");
    reader.finish();
}

// ---- Opening while another process commits ---------------------------------------

/// What the opening thread tells the test.
enum OpenEvent {
    /// The open read the superblock and is about to verify what it names.
    Verifying,
    /// The open returned.
    Opened(whefs::Result<Fs>),
}

/// A container file that, while `armed`, holds every read of a page that
/// follows a read of the superblock page until the test says go (`resume`).
/// In `Fs::open` such a read is the verification of a commit (it reads the
/// pages the commit's manifest names, docs/format.md §7), so the test holds
/// an open between reading the superblock and verifying what it names.
fn held_before_verifying(
    path: &std::path::Path,
    write: bool,
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    events: std::sync::mpsc::Sender<OpenEvent>,
    resume: std::sync::mpsc::Receiver<()>,
) -> mp_common::hooked::Hooked {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let file = whefs::storage::FileStorage::open(path, write).unwrap();
    let after_superblock = AtomicBool::new(false);
    let (events, resume) = (std::sync::Mutex::new(events), std::sync::Mutex::new(resume));
    mp_common::hooked::Hooked::new(std::sync::Arc::new(file)).before(move |call| {
        let mp_common::hooked::Call::Read { offset, .. } = call else {
            return;
        };
        let follows = after_superblock.swap(offset < PAGE, SeqCst);
        if offset >= PAGE && follows && armed.load(SeqCst) {
            events.lock().unwrap().send(OpenEvent::Verifying).unwrap();
            resume.lock().unwrap().recv().unwrap();
        }
    })
}

/// Rewrites of `f` (3 pages, durability full) another process commits
/// while an open is held before verifying: enough for the pages of the
/// commit the open read to be freed, reclaimed and written again.
const REWRITES: u64 = 40;

/// Opens the container (writable or not, with `faults`) in this process,
/// held between reading the latest superblock and verifying what it names
/// — and so again at every commit it goes on to verify — while `during`
/// drives process B. Returns the open's result.
fn open_while(
    path: &std::path::Path,
    write: bool,
    faults: whefs::FaultSwitches,
    b: &mut Remote,
    mut during: impl FnMut(&mut Remote),
) -> whefs::Result<Fs> {
    let (events_tx, events) = channel();
    let (resume, resume_rx) = channel();
    let armed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let storage = held_before_verifying(
        path,
        write,
        std::sync::Arc::clone(&armed),
        events_tx.clone(),
        resume_rx,
    );
    let opener = std::thread::spawn(move || {
        let opened = FsOptions::new()
            .write(write)
            .fault_switches(faults)
            .open_storage(std::sync::Arc::new(storage));
        armed.store(false, std::sync::atomic::Ordering::SeqCst);
        events_tx.send(OpenEvent::Opened(opened)).unwrap();
    });
    let opened = loop {
        match events
            .recv_timeout(Duration::from_secs(60))
            .expect("the open verifies or returns")
        {
            OpenEvent::Verifying => {
                during(b);
                resume.send(()).unwrap();
            }
            OpenEvent::Opened(opened) => break opened,
        }
    };
    opener.join().expect("the opening thread");
    opened
}

/// [`open_while`] the latest commit is a durability-full commit of `f`
/// whose manifest names its pages, and B rewrites `f` [`REWRITES`] times
/// at each verification. Returns the open's result, B (still open) and the
/// seed of B's last rewrite.
fn open_while_another_process_commits(
    path: &std::path::Path,
    write: bool,
    faults: whefs::FaultSwitches,
) -> (whefs::Result<Fs>, Remote, u64) {
    let len = 3 * PAGE;
    let mut b = Remote::start("B", path);
    b.ok("openfs rw 1000 full");
    let mut seed = 1;
    b.ok(&format!("put f {len} {seed}")); // the commit the open reads
    let opened = open_while(path, write, faults, &mut b, |b| {
        for _ in 0..REWRITES {
            seed += 1;
            b.ok(&format!("put f {len} {seed}"));
        }
    });
    (opened, b, seed)
}

/// An open verifies the latest commit under a pin of its generation: other
/// processes committing meanwhile do not reuse the pages it reads, so a
/// whole commit is never taken for a torn one. (Verified without a pin,
/// commit N's pages were freed by N+1, reclaimed by N+2 and written again
/// by the commits after, and the open, read-only or not, failed with
/// "neither commit N nor the one before it verifies" on a sound container.)
#[test]
fn an_open_never_finds_a_commit_torn_that_other_processes_build_on() {
    let len = 3 * PAGE;
    for write in [false, true] {
        let (_dir, path, fs) = new_container();
        drop(fs);
        let (opened, mut b, last) =
            open_while_another_process_commits(&path, write, whefs::FaultSwitches::default());
        let fs = opened
            .unwrap_or_else(|e| panic!("the open (write: {write}) while B commits failed: {e}"));
        assert_eq!(last, 1 + REWRITES, "the open verified once");
        assert_eq!(
            fs.read("f").unwrap(),
            pattern(last, 0, len as usize),
            "the open reads B's last commit"
        );
        if write {
            fs.write("g", b"after").unwrap();
        }
        b.ok(&format!("getcheck f {len} {last}"));
        b.ok(&format!("put f {len} 7"));
        assert_eq!(fs.read("f").unwrap(), pattern(7, 0, len as usize));
        fs.check().unwrap();
        b.finish();
    }
}

/// The test above catches an open that verifies without a pin (the
/// `verify_without_pin` switch): the pages it reads are rewritten under it,
/// and it calls a whole commit torn.
#[test]
fn an_open_that_verifies_without_a_pin_is_caught_calling_a_whole_commit_torn() {
    let faults = whefs::FaultSwitches {
        verify_without_pin: true,
        ..Default::default()
    };
    for write in [false, true] {
        let (_dir, path, fs) = new_container();
        drop(fs);
        let (opened, b, _) = open_while_another_process_commits(&path, write, faults);
        match opened {
            Err(Error::Corrupt(m)) => eprintln!("verify_without_pin (write: {write}): {m}"),
            Err(e) => panic!("the unpinned open failed otherwise: {e:?}"),
            Ok(_) => panic!("the unpinned open (write: {write}) verified pages rewritten under it"),
        }
        b.finish();
        // The container itself is sound.
        let fs = FsOptions::new().write(true).open(&path).unwrap();
        fs.check().unwrap();
    }
}

/// Compaction reuses pages without looking at pins (it has the container
/// to itself), so an open takes its share of the container before it reads
/// the superblock: a compaction that starts while the open verifies gets
/// `Busy`, instead of moving and truncating away the pages the open reads.
#[test]
fn compaction_waits_for_an_open_that_is_verifying() {
    let len = 3 * PAGE;
    for write in [false, true] {
        let (_dir, path, fs) = new_container();
        drop(fs);
        let mut b = Remote::start("B", &path);
        b.ok("openfs rw 300 full");
        b.ok(&format!("put junk {} 1", 30 * PAGE));
        b.ok(&format!("put f {len} 2")); // the commit the open reads, past junk
        let mut compacted = Vec::new();
        let opened = open_while(&path, write, Default::default(), &mut b, |b| {
            if compacted.is_empty() {
                b.ok("rm junk");
            }
            compacted.push(b.call("compact"));
        });
        let fs = opened.unwrap_or_else(|e| {
            panic!("the open (write: {write}) while B compacts failed: {e} (compaction: {compacted:?})")
        });
        assert_eq!(compacted.len(), 1, "the open verified once");
        assert_eq!(
            compacted[0].kind, "Busy",
            "a compaction while an open verifies: {:?}",
            compacted[0]
        );
        assert_eq!(fs.read("f").unwrap(), pattern(2, 0, len as usize));
        fs.check().unwrap();
        drop(fs);
        // Alone again, B compacts.
        b.ok("compact");
        b.ok(&format!("getcheck f {len} 2"));
        b.finish();
    }
}
