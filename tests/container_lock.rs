//! The container lock — the 2009 library's mode, kept as an open flag: a
//! read-write open with `container_lock(true)` holds the `CONTAINER` region
//! exclusively, every other open holds it shared — tested with two real
//! processes: the
//! test binary re-executes itself in a child role (`WHEFS_LOCK_ROLE`), the
//! child opens the container and holds it until the parent closes its stdin
//! (or kills it).
//!
//! Also: two `Fs` opens of one file in one process behave like two
//! processes (OFD locks belong to the open, not the process).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use whefs::{Error, Fs, FsOptions};

const ROLE_ENV: &str = "WHEFS_LOCK_ROLE";
const PATH_ENV: &str = "WHEFS_LOCK_PATH";
const READY: &str = "WHEFS-LOCK-CHILD-READY";
const FAILED: &str = "WHEFS-LOCK-CHILD-FAILED";

/// The child's side. Does nothing in an ordinary test run; re-executed with
/// `WHEFS_LOCK_ROLE=writer|reader` it opens the container, writes (writer)
/// or reads (reader) a file, says it is ready and holds the open until its
/// stdin closes.
#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let path = PathBuf::from(std::env::var(PATH_ENV).expect("the parent sets the container path"));
    let opened = match role.as_str() {
        "writer" => FsOptions::new()
            .write(true)
            .container_lock(true)
            .busy_timeout(Duration::ZERO)
            .open(&path)
            .and_then(|fs| {
                fs.write("written-by-child", b"hello from the child")?;
                Ok(fs)
            }),
        "reader" => FsOptions::new()
            .busy_timeout(Duration::ZERO)
            .open(&path)
            .and_then(|fs| {
                fs.read("seed")?;
                Ok(fs)
            }),
        other => panic!("unknown role {other:?}"),
    };
    let fs = match opened {
        Ok(fs) => fs,
        Err(e) => {
            println!("{FAILED}: {e}");
            std::process::exit(3);
        }
    };
    println!("{READY}");
    std::io::stdout().flush().expect("flush stdout");
    // Hold the container until the parent closes stdin (or kills us).
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(fs);
}

/// A child process holding the container open.
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Holder {
    /// Starts a child in `role` and waits until it holds the container.
    fn start(role: &str, path: &Path) -> Holder {
        let mut child = Command::new(std::env::current_exe().expect("test binary path"))
            .args([
                "--exact",
                "child_process_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE_ENV, role)
            .env(PATH_ENV, path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the test binary as a child");
        let stdin = child.stdin.take();
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        loop {
            line.clear();
            let n = out.read_line(&mut line).expect("read the child's stdout");
            assert!(
                n > 0,
                "the {role} child exited before it was ready (status {:?})",
                child.wait()
            );
            assert!(
                !line.contains(FAILED),
                "the {role} child could not open: {line}"
            );
            if line.contains(READY) {
                break;
            }
        }
        // Keep draining the child's stdout so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        Holder { child, stdin }
    }

    /// Closes the child's stdin: it drops its `Fs` and exits; waits for it.
    fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("wait for the child");
        assert!(status.success(), "child exited with {status}");
    }

    /// `kill -9`s the child and reaps it.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the child");
        self.child.wait().expect("reap the child");
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // A failing assertion must not leave a child behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn new_container() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    let fs = Fs::create(&path).unwrap();
    fs.write("seed", b"seed content").unwrap();
    drop(fs);
    (dir, path)
}

const SHORT: Duration = Duration::from_millis(150);

fn open_rw(path: &Path, timeout: Duration) -> whefs::Result<Fs> {
    FsOptions::new()
        .write(true)
        .container_lock(true)
        .busy_timeout(timeout)
        .open(path)
}

fn open_ro(path: &Path, timeout: Duration) -> whefs::Result<Fs> {
    FsOptions::new().busy_timeout(timeout).open(path)
}

/// Asserts `Busy` after waiting about the busy timeout.
fn assert_busy(r: impl FnOnce() -> whefs::Result<Fs>, what: &str) {
    let start = Instant::now();
    match r() {
        Err(Error::Busy(_)) => {}
        other => panic!(
            "{what}: expected Busy, got {:?}",
            other.map(|_| "an open Fs")
        ),
    }
    let waited = start.elapsed();
    assert!(
        waited >= SHORT - Duration::from_millis(5),
        "{what}: gave up after {waited:?}, before the busy timeout"
    );
}

#[test]
fn writer_in_another_process_makes_a_read_write_open_busy() {
    let (_dir, path) = new_container();
    let child = Holder::start("writer", &path);
    assert_busy(
        || open_rw(&path, SHORT),
        "read-write open while a writer holds the container",
    );
    child.finish();
    let fs = open_rw(&path, Duration::ZERO).expect("open once the writer is gone");
    assert_eq!(
        fs.read("written-by-child").unwrap(),
        b"hello from the child"
    );
    fs.check().unwrap();
}

#[test]
fn writer_in_another_process_makes_a_read_only_open_busy() {
    let (_dir, path) = new_container();
    let child = Holder::start("writer", &path);
    assert_busy(
        || open_ro(&path, SHORT),
        "read-only open while a writer holds the container",
    );
    child.finish();
    let fs = open_ro(&path, Duration::ZERO).expect("read-only open once the writer is gone");
    assert_eq!(fs.read("seed").unwrap(), b"seed content");
}

#[test]
fn readers_in_two_processes_coexist_and_keep_writers_out() {
    let (_dir, path) = new_container();
    let child = Holder::start("reader", &path);
    let fs = open_ro(&path, Duration::ZERO).expect("a second reader opens at once");
    assert_eq!(fs.read("seed").unwrap(), b"seed content");
    // A second child reader too: three readers in three opens.
    let other = Holder::start("reader", &path);
    assert_busy(
        || open_rw(&path, SHORT),
        "read-write open while readers hold the container",
    );
    other.finish();
    child.finish();
    assert_busy(
        || open_rw(&path, SHORT),
        "read-write open while this process still reads",
    );
    drop(fs);
    open_rw(&path, Duration::ZERO).expect("read-write open once every reader is gone");
}

#[test]
fn a_killed_writer_releases_the_container_at_once() {
    let (_dir, path) = new_container();
    let child = Holder::start("writer", &path);
    assert_busy(
        || open_rw(&path, SHORT),
        "read-write open while a writer holds the container",
    );
    child.kill();
    // No waiting, no cleanup: the kernel dropped the dead process's locks.
    let fs = open_rw(&path, Duration::ZERO).expect("open right after kill -9");
    assert_eq!(fs.read("seed").unwrap(), b"seed content");
    assert_eq!(
        fs.read("written-by-child").unwrap(),
        b"hello from the child",
        "the child's commit survives its death"
    );
    fs.write("after", b"the parent writes").unwrap();
    fs.check().unwrap();
}

#[test]
fn a_killed_reader_releases_the_container_at_once() {
    let (_dir, path) = new_container();
    let child = Holder::start("reader", &path);
    assert_busy(
        || open_rw(&path, SHORT),
        "read-write open while a reader holds the container",
    );
    child.kill();
    open_rw(&path, Duration::ZERO).expect("open right after kill -9 of the reader");
}

#[test]
fn a_waiting_open_succeeds_when_the_writer_leaves_within_the_timeout() {
    let (_dir, path) = new_container();
    let mut child = Holder::start("writer", &path);
    let stdin = child.stdin.take();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        drop(stdin);
    });
    let start = Instant::now();
    let fs =
        open_rw(&path, Duration::from_secs(20)).expect("the open waits for the writer to leave");
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "the open did not wait: {:?}",
        start.elapsed()
    );
    release.join().unwrap();
    child.finish();
    assert_eq!(
        fs.read("written-by-child").unwrap(),
        b"hello from the child"
    );
}

#[test]
fn two_opens_in_one_process_exclude_each_other_like_two_processes() {
    let (_dir, path) = new_container();
    let first = open_rw(&path, Duration::ZERO).unwrap();
    assert_busy(
        || open_rw(&path, SHORT),
        "second read-write open in the same process",
    );
    assert_busy(
        || open_ro(&path, SHORT),
        "read-only open while this process writes",
    );
    // A clone is the same open, not a second one.
    let clone = first.clone();
    clone.write("via-clone", b"same open").unwrap();
    drop(first);
    assert_busy(|| open_rw(&path, SHORT), "the clone still holds the open");
    drop(clone);
    let a = open_ro(&path, Duration::ZERO).unwrap();
    let b = open_ro(&path, Duration::ZERO).expect("two read-only opens in one process coexist");
    assert_eq!(a.read("via-clone").unwrap(), b.read("via-clone").unwrap());
    assert_busy(
        || open_rw(&path, SHORT),
        "read-write open while two readers in this process hold it",
    );
    drop((a, b));
    open_rw(&path, Duration::ZERO).expect("free again");
}

#[test]
fn read_only_opens_with_the_container_lock_share_like_readers() {
    let (_dir, path) = new_container();
    let child = Holder::start("reader", &path);
    let fs = FsOptions::new()
        .container_lock(true)
        .busy_timeout(Duration::ZERO)
        .open(&path)
        .expect("a container-lock reader shares");
    assert_eq!(fs.read("seed").unwrap(), b"seed content");
    let rw = || {
        FsOptions::new()
            .write(true)
            .container_lock(true)
            .busy_timeout(SHORT)
            .open(&path)
    };
    assert_busy(
        rw,
        "container-lock read-write open while readers hold the container",
    );
    child.finish();
    drop(fs);
    let fs = FsOptions::new()
        .write(true)
        .container_lock(true)
        .busy_timeout(Duration::ZERO)
        .open(&path)
        .expect("exclusive once alone");
    let other = Holder::start_expecting_failure("reader", &path);
    assert!(
        other.contains("busy"),
        "a reader in another process is refused by the container lock: {other}"
    );
    drop(fs);
}

impl Holder {
    /// Starts a child that is expected to fail to open; returns its message.
    fn start_expecting_failure(role: &str, path: &Path) -> String {
        let out = Command::new(std::env::current_exe().expect("test binary path"))
            .args([
                "--exact",
                "child_process_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE_ENV, role)
            .env(PATH_ENV, path)
            .stdin(Stdio::null())
            .output()
            .expect("run the child");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !out.status.success(),
            "the {role} child opened although it should not: {text}"
        );
        text.lines()
            .find(|l| l.contains(FAILED))
            .unwrap_or("no failure line")
            .to_string()
    }
}
