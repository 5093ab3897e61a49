//! Shared harness of the multi-process tests (`tests/multiprocess.rs`,
//! `tests/torture.rs`, `tests/cgi.rs`, `tests/overwrite.rs`).
//!
//! Every process is the test binary itself: a test named `mp_child` in each
//! of those files calls [`child_main`], which does nothing in an ordinary run
//! and, when `WHEFS_MP_ROLE` is set, becomes a worker of that role and never
//! returns. Workers talk to the test through lines on stdout (`@ack`,
//! `@reads`, `@fail`, ...), flushed one by one, so that whatever a worker
//! said before a `kill -9` reaches the test.
//!
//! Roles: `remote` (whefs calls on command, one reply line each — the
//! barriers of the scripted tests), `writer`, `reader`, `lister` (the
//! torture), `txwriter` (transactions that keep a manifest, so that a copy
//! shows whether it is one commit), `backuper` (`backup_to` in a loop),
//! `nbreader` (readers never block), `cgi` (one short request),
//! `reserver` (the reservation race).
//!
//! The invariant every checker here relies on: content is **self-checking**
//! (a header with writer, file, sequence number, length and a checksum of
//! the body), so one read shows whether it got one whole committed version;
//! and the sequence number of a file only grows, so "nothing acknowledged
//! was lost" is `seq >= last acknowledged seq`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use whefs::storage::{FileStorage, LockMode};

#[path = "../hooked/mod.rs"]
pub mod hooked;
use hooked::{Call, Hooked};
use whefs::{Durability, Error, FaultSwitches, File, FileType, Fs, FsOptions};

/// The role a re-executed test binary plays.
pub const ROLE_ENV: &str = "WHEFS_MP_ROLE";
/// The container path.
pub const PATH_ENV: &str = "WHEFS_MP_PATH";
/// Worker slot (writer id).
pub const SLOT_ENV: &str = "WHEFS_MP_SLOT";
/// Seed of the worker's random choices.
pub const SEED_ENV: &str = "WHEFS_MP_SEED";
/// Fault switches: a comma list of `skip_pin`, `skip_reservation_check`,
/// `verify_without_pin`.
pub const FAULTS_ENV: &str = "WHEFS_MP_FAULTS";
/// Durability of the worker's open: `full`, `normal`, `off`.
pub const DURABILITY_ENV: &str = "WHEFS_MP_DURABILITY";
/// Role-specific arguments.
pub const ARGS_ENV: &str = "WHEFS_MP_ARGS";
/// Stop (and print `@done ...`) when stdin closes.
pub const STOP_ON_EOF_ENV: &str = "WHEFS_MP_STOP_ON_EOF";
/// Longer variants of every multi-process test.
pub const LONG_ENV: &str = "WHEFS_LONG_MP";

/// A worker gives up by itself after this long, in case its test died
/// without killing it.
const WORKER_LIFETIME: Duration = Duration::from_secs(300);

/// Whether the long variants were asked for.
pub fn long_mode() -> bool {
    std::env::var(LONG_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

// ---- Randomness, hashing, self-checking content -----------------------------

/// splitmix64: small, seedable, good enough to pick operations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_F42D_4C95_7F2D)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `0..n` (0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo))
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed from `WHEFS_MP_SEED` or the clock; printed by the tests so a run
/// can be repeated (the interleaving of processes cannot).
pub fn seed() -> u64 {
    std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            mix(t ^ u64::from(std::process::id()))
        })
}

/// A 64-bit checksum (word-wise multiply-xorshift; not cryptographic, but
/// any torn or shifted content changes it).
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("chunks of 8"));
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01B3);
        h ^= h >> 29;
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(h)
}

/// Deterministic bytes: byte `i` of the stream `seed` sits at offset `i`,
/// so any window can be produced and checked on its own.
pub fn pattern(seed: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut at = offset;
    let end = offset + len as u64;
    while at < end {
        let word = mix(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (at / 8)).to_le_bytes();
        let within = (at % 8) as usize;
        let n = (8 - within).min((end - at) as usize);
        out.extend_from_slice(&word[within..within + n]);
        at += n as u64;
    }
    out
}

/// Magic of self-checking content.
pub const MAGIC: &[u8; 8] = b"WHMPv1\0\0";
/// Header size: magic, writer u32, file u32, seq u64, len u64, body hash u64, header hash u64.
pub const HEADER: usize = 48;

/// What a self-checking content says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub writer: u32,
    pub file: u32,
    pub seq: u64,
    pub len: u64,
}

/// The id a file's content carries: a hash of its path.
pub fn file_id(path: &str) -> u32 {
    hash(path.trim_start_matches('/').as_bytes()) as u32
}

/// Self-checking content of `len` bytes (at least the header).
pub fn stamp(writer: u32, file: u32, seq: u64, len: usize, salt: u64) -> Vec<u8> {
    let len = len.max(HEADER);
    let mut v = vec![0u8; HEADER];
    v.extend(pattern(
        salt ^ (seq << 24) ^ u64::from(writer),
        HEADER as u64,
        len - HEADER,
    ));
    seal(&mut v, writer, file, seq);
    v
}

/// Rewrites the header of `data` for its current body and length.
pub fn seal(data: &mut [u8], writer: u32, file: u32, seq: u64) {
    assert!(data.len() >= HEADER, "content shorter than its header");
    let body = hash(&data[HEADER..]);
    data[..8].copy_from_slice(MAGIC);
    data[8..12].copy_from_slice(&writer.to_le_bytes());
    data[12..16].copy_from_slice(&file.to_le_bytes());
    data[16..24].copy_from_slice(&seq.to_le_bytes());
    let len = data.len() as u64;
    data[24..32].copy_from_slice(&len.to_le_bytes());
    data[32..40].copy_from_slice(&body.to_le_bytes());
    let head = hash(&data[..40]);
    data[40..48].copy_from_slice(&head.to_le_bytes());
}

/// Checks that `data` is one whole self-checking content.
pub fn verify(data: &[u8]) -> Result<Stamp, String> {
    if data.len() < HEADER {
        return Err(format!("{} bytes: shorter than a header", data.len()));
    }
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().expect("8 bytes"));
    if &data[..8] != MAGIC {
        return Err(format!("bad magic {:02x?}", &data[..8]));
    }
    if u64_at(40) != hash(&data[..40]) {
        return Err("header checksum mismatch (torn header)".into());
    }
    let st = Stamp {
        writer: u32_at(8),
        file: u32_at(12),
        seq: u64_at(16),
        len: u64_at(24),
    };
    if st.len != data.len() as u64 {
        return Err(format!(
            "length {} but the header says {} ({st:?})",
            data.len(),
            st.len
        ));
    }
    if u64_at(32) != hash(&data[HEADER..]) {
        return Err(format!(
            "body checksum mismatch: torn or mixed content ({st:?})"
        ));
    }
    Ok(st)
}

/// Verifies `data` as the content of `path`.
pub fn verify_at(path: &str, data: &[u8]) -> Result<Stamp, String> {
    let st = verify(data).map_err(|e| format!("{path}: {e}"))?;
    if st.file != file_id(path) && !path.ends_with("tmp") {
        return Err(format!(
            "{path}: holds the content of another file ({st:?})"
        ));
    }
    Ok(st)
}

/// A random content size: mostly inline-small, some pages, a few large.
pub fn content_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=39 => rng.range(HEADER as u64, 1000) as usize,
        40..=89 => rng.range(1000, 40_000) as usize,
        _ => rng.range(40_000, 300_000) as usize,
    }
}

/// Reads a whole handle through `read_at` in random-sized chunks.
pub fn read_all(f: &File, rng: &mut Rng, pause: bool) -> whefs::Result<Vec<u8>> {
    let len = f.len() as usize;
    let mut out = vec![0u8; len];
    let mut at = 0;
    while at < len {
        let want = (rng.range(1, 64 * 1024) as usize).min(len - at);
        let n = f.read_at(&mut out[at..at + want], at as u64)?;
        if n == 0 {
            return Err(Error::Internal(format!(
                "read_at returned 0 at {at} of {len}"
            )));
        }
        at += n;
        if pause && rng.chance(10) {
            std::thread::sleep(Duration::from_micros(rng.range(100, 3000)));
        }
    }
    Ok(out)
}

/// The name of an error's variant (`"Busy"`, `"Corrupt"`, ...).
pub fn kind(e: &Error) -> String {
    let d = format!("{e:?}");
    d.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("?")
        .to_string()
}

pub fn parse_durability(s: &str) -> Durability {
    match s {
        "off" => Durability::Off,
        "normal" => Durability::Normal,
        _ => Durability::Full,
    }
}

pub fn parse_faults(s: &str) -> FaultSwitches {
    let mut f = FaultSwitches::default();
    for w in s.split(',') {
        match w.trim() {
            "skip_pin" => f.skip_pin = true,
            "skip_reservation_check" => f.skip_reservation_check = true,
            "verify_without_pin" => f.verify_without_pin = true,
            "" | "-" | "none" => {}
            other => panic!("unknown fault switch {other:?}"),
        }
    }
    f
}

// ---- A storage that widens the reservation race ------------------------------

/// Offset of the `RESERVE` lock region (DESIGN §4: `2^62 + 2^59`).
pub const RESERVE_REGION: u64 = (1 << 62) + (1 << 59);

/// A real container file whose `RESERVE` try-locks are delayed: a writer
/// then reads the free list, sleeps, and only then locks pages — the
/// window in which another process may commit those very pages. The
/// reservation check (DESIGN §4 "Reservations") must close it; with
/// `skip_reservation_check` it stays open.
pub fn slow_reserve(path: &Path, write: bool, delay: Duration) -> whefs::Result<Hooked> {
    let file = FileStorage::open(path, write)?;
    Ok(Hooked::new(Arc::new(file)).before(move |call| {
        if let Call::TryLock { start, mode, .. } = call {
            if start >= RESERVE_REGION && mode == LockMode::Exclusive {
                std::thread::sleep(delay);
            }
        }
    }))
}

// ---- Spawning workers ---------------------------------------------------------

/// A command that re-executes this test binary as a worker of `role`.
pub fn worker_command(role: &str, path: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("the test binary's path"));
    c.args([
        "--exact",
        "mp_child",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env(ROLE_ENV, role)
    .env(PATH_ENV, path)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    c
}

/// Sends SIGKILL to a child and reaps it.
pub fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Kills the children it holds when dropped (a failing assertion must not
/// leave processes behind).
#[derive(Default)]
pub struct Reaper(pub Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if let Ok(None) = c.try_wait() {
                kill9(c);
            }
        }
    }
}

// ---- Remote: a whefs process driven command by command -----------------------

/// One reply of a remote process.
#[derive(Clone, Debug)]
pub struct Reply {
    /// `"ok"` or the error variant (`"Busy"`, `"Closed"`, `"Mismatch"`, ...).
    pub kind: String,
    pub text: String,
    /// How long the command took in the remote process.
    pub elapsed: Duration,
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        self.kind == "ok"
    }
}

/// A child process running whefs calls on command (role `remote`): the
/// test's barriers are its request/reply lines — no sleeps.
pub struct Remote {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
}

impl Remote {
    pub fn start(name: &str, path: &Path) -> Remote {
        let mut child = worker_command("remote", path)
            .spawn()
            .expect("spawn the test binary as a remote");
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().expect("piped stdout"));
        Remote {
            name: name.to_string(),
            child,
            stdin,
            out,
        }
    }

    /// Sends one command and waits for its reply.
    pub fn call(&mut self, cmd: &str) -> Reply {
        let stdin = self.stdin.as_mut().expect("remote stdin open");
        writeln!(stdin, "{cmd}")
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| {
                panic!(
                    "remote {}: sending {cmd:?}: {e} (status {:?})",
                    self.name,
                    self.child.try_wait()
                )
            });
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .out
                .read_line(&mut line)
                .expect("read the remote's stdout");
            assert!(
                n > 0,
                "remote {} died during {cmd:?} (status {:?})",
                self.name,
                self.child.wait()
            );
            let Some(rest) = line.trim_end().strip_prefix('@') else {
                continue;
            };
            let mut parts = rest.splitn(4, ' ');
            let status = parts.next().unwrap_or("");
            let us: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let elapsed = Duration::from_micros(us);
            match status {
                "ok" => {
                    let text = [parts.next().unwrap_or(""), parts.next().unwrap_or("")].join(" ");
                    return Reply {
                        kind: "ok".into(),
                        text: text.trim().to_string(),
                        elapsed,
                    };
                }
                "err" => {
                    let kind = parts.next().unwrap_or("?").to_string();
                    let text = parts.next().unwrap_or("").to_string();
                    return Reply {
                        kind,
                        text,
                        elapsed,
                    };
                }
                _ => continue,
            }
        }
    }

    /// A command that must succeed; returns its text.
    pub fn ok(&mut self, cmd: &str) -> String {
        let r = self.call(cmd);
        assert!(
            r.is_ok(),
            "remote {}: {cmd:?} failed: {} {}",
            self.name,
            r.kind,
            r.text
        );
        r.text
    }

    /// A command that must fail with `kind`; returns the reply.
    pub fn err(&mut self, cmd: &str, kind: &str) -> Reply {
        let r = self.call(cmd);
        assert_eq!(
            r.kind, kind,
            "remote {}: {cmd:?} should fail with {kind}, got {} {}",
            self.name, r.kind, r.text
        );
        r
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9` and reap.
    pub fn kill(mut self) {
        kill9(&mut self.child);
    }

    /// Closes stdin (the remote exits) and waits.
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("wait for the remote");
        assert!(
            status.success(),
            "remote {} exited with {status}",
            self.name
        );
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            kill9(&mut self.child);
        }
    }
}

// ---- The child side -------------------------------------------------------------

/// Runs the worker role named by `WHEFS_MP_ROLE` and exits; returns at once
/// in an ordinary test run.
pub fn child_main() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    // A worker whose test died must not live on.
    std::thread::spawn(|| {
        std::thread::sleep(WORKER_LIFETIME);
        std::process::exit(70);
    });
    let code = match role.as_str() {
        "remote" => remote_main(),
        "writer" => writer_main(),
        "reader" => reader_main(),
        "lister" => lister_main(),
        "nbreader" => nonblocking_reader_main(),
        "cgi" => cgi_main(),
        "reserver" => reserver_main(),
        "txwriter" => txwriter_main(),
        "backuper" => backuper_main(),
        other => {
            say(&format!("@fail unknown role {other:?}"));
            2
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

/// One protocol line, flushed at once.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn env_path() -> PathBuf {
    PathBuf::from(std::env::var(PATH_ENV).expect("the test sets the container path"))
}

/// Reports a failure and exits.
fn fail(msg: impl std::fmt::Display) -> ! {
    say(&format!("@fail {msg}"));
    std::process::exit(1);
}

trait OrFail<T> {
    fn or_fail(self, ctx: &str) -> T;
}

impl<T, E: std::fmt::Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, ctx: &str) -> T {
        self.unwrap_or_else(|e| fail(format!("{ctx}: {e}")))
    }
}

/// A flag set when stdin closes (only if `WHEFS_MP_STOP_ON_EOF` is set).
fn stop_on_eof() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    if !env(STOP_ON_EOF_ENV).is_empty() {
        let s = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            s.store(true, Ordering::SeqCst);
        });
    }
    stop
}

/// Opens the container as the environment says.
fn open_env(write: bool, timeout: Duration) -> Fs {
    let fs = FsOptions::new()
        .write(write)
        .busy_timeout(timeout)
        .durability(parse_durability(&env(DURABILITY_ENV)))
        .open(env_path())
        .or_fail("open the container");
    fs.set_fault_switches(parse_faults(&env(FAULTS_ENV)));
    fs
}

// ---- Role `remote` ---------------------------------------------------------------

enum CmdError {
    Whefs(Error),
    Other(&'static str, String),
}

impl From<Error> for CmdError {
    fn from(e: Error) -> Self {
        CmdError::Whefs(e)
    }
}

type CmdResult = Result<String, CmdError>;

struct RemoteState {
    path: PathBuf,
    fs: Option<Fs>,
    files: HashMap<String, File>,
    /// Snapshot views kept open.
    views: HashMap<String, Fs>,
}

fn usage(cmd: &str) -> CmdError {
    CmdError::Other("Usage", format!("bad command {cmd:?}"))
}

impl RemoteState {
    fn fs(&self) -> Result<&Fs, CmdError> {
        self.fs
            .as_ref()
            .ok_or_else(|| CmdError::Other("Usage", "no open container".into()))
    }

    /// The view `v`, or the open itself for `-`.
    fn tree_of(&self, v: &str) -> Result<&Fs, CmdError> {
        if v == "-" {
            return self.fs();
        }
        self.views
            .get(v)
            .ok_or_else(|| CmdError::Other("Usage", format!("no view {v:?}")))
    }

    fn file(&mut self, h: &str) -> Result<&mut File, CmdError> {
        self.files
            .get_mut(h)
            .ok_or_else(|| CmdError::Other("Usage", format!("no handle {h:?}")))
    }

    /// Runs one command line.
    fn exec(&mut self, line: &str) -> CmdResult {
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> Result<u64, CmdError> {
            w.get(i)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| usage(line))
        };
        let arg =
            |i: usize| -> Result<&str, CmdError> { w.get(i).copied().ok_or_else(|| usage(line)) };
        match w.first().copied().unwrap_or("") {
            // openfs rw|ro|rwlock TIMEOUT_MS DURABILITY [FAULTS] [SLOW_RESERVE_MS]
            "openfs" => {
                let mode = arg(1)?;
                let mut o = FsOptions::new();
                o.write(mode.starts_with("rw"))
                    .container_lock(mode == "rwlock")
                    .busy_timeout(Duration::from_millis(num(2)?))
                    .durability(parse_durability(arg(3)?));
                let fs = match w.get(5).and_then(|s| s.parse::<u64>().ok()) {
                    Some(ms) => o.open_storage(Arc::new(slow_reserve(
                        &self.path,
                        mode.starts_with("rw"),
                        Duration::from_millis(ms),
                    )?))?,
                    None => o.open(&self.path)?,
                };
                fs.set_fault_switches(parse_faults(w.get(4).copied().unwrap_or("-")));
                self.fs = Some(fs);
                Ok(String::new())
            }
            "closefs" => {
                self.files.clear();
                self.views.clear();
                self.fs = None;
                Ok(String::new())
            }
            "timeout" => {
                self.fs()?.set_busy_timeout(Duration::from_millis(num(1)?));
                Ok(String::new())
            }
            "durability" => {
                self.fs()?.set_durability(parse_durability(arg(1)?));
                Ok(String::new())
            }
            // open H PATH MODE
            "open" => {
                let f = self.fs()?.open_file(arg(2)?, arg(3)?)?;
                self.files.insert(arg(1)?.to_string(), f);
                Ok(String::new())
            }
            // write H OFFSET LEN SEED: pattern bytes of stream SEED
            "write" => {
                let (off, len, seed) = (num(2)?, num(3)?, num(4)?);
                let data = pattern(seed, off, len as usize);
                self.file(arg(1)?)?.write_at(&data, off)?;
                Ok(String::new())
            }
            "setlen" => {
                let len = num(2)?;
                self.file(arg(1)?)?.set_len(len)?;
                Ok(String::new())
            }
            // read H OFFSET LEN -> "N HASH"
            "read" => {
                let (off, len) = (num(2)?, num(3)?);
                let mut buf = vec![0u8; len as usize];
                let n = self.file(arg(1)?)?.read_at(&mut buf, off)?;
                Ok(format!("{n} {}", hash(&buf[..n])))
            }
            // check H OFFSET LEN SEED: the bytes must be pattern SEED
            "check" => {
                let (off, len, seed) = (num(2)?, num(3)?, num(4)?);
                let mut buf = vec![0u8; len as usize];
                let f = self.file(arg(1)?)?;
                let mut at = 0;
                while at < buf.len() {
                    let n = f.read_at(&mut buf[at..], off + at as u64)?;
                    if n == 0 {
                        break;
                    }
                    at += n;
                }
                if at != buf.len() || buf != pattern(seed, off, len as usize) {
                    return Err(CmdError::Other(
                        "Mismatch",
                        format!("{at} bytes read, content differs"),
                    ));
                }
                Ok(String::new())
            }
            "commit" => {
                self.file(arg(1)?)?.commit()?;
                Ok(String::new())
            }
            "close" | "abort" | "drop" => {
                let f = self.files.remove(arg(1)?).ok_or_else(|| usage(line))?;
                match w[0] {
                    "close" => f.close()?,
                    "abort" => f.abort()?,
                    _ => drop(f),
                }
                Ok(String::new())
            }
            // put PATH LEN SEED: Fs::write of pattern SEED
            "put" => {
                let data = pattern(num(3)?, 0, num(2)? as usize);
                self.fs()?.write(arg(1)?, &data)?;
                Ok(String::new())
            }
            "rm" => {
                self.fs()?.remove_file(arg(1)?)?;
                Ok(String::new())
            }
            // compact -> "PAGES_BEFORE PAGES_AFTER"
            "compact" => {
                let r = self.fs()?.compact()?;
                Ok(format!("{} {}", r.pages_before, r.pages_after))
            }
            // get PATH -> "LEN HASH"
            "get" => {
                let data = self.fs()?.read(arg(1)?)?;
                Ok(format!("{} {}", data.len(), hash(&data)))
            }
            // getcheck PATH LEN SEED
            "getcheck" => {
                let data = self.fs()?.read(arg(1)?)?;
                if data != pattern(num(3)?, 0, num(2)? as usize) {
                    return Err(CmdError::Other(
                        "Mismatch",
                        format!("{} bytes, content differs", data.len()),
                    ));
                }
                Ok(String::new())
            }
            "stat" => {
                let m = self.fs()?.metadata(arg(1)?)?;
                Ok(format!("{} {}", m.ino, m.size))
            }
            "ls" => {
                let mut n = 0;
                for e in self.fs()?.read_dir(arg(1)?)? {
                    e?;
                    n += 1;
                }
                Ok(n.to_string())
            }
            "mkdir" => {
                self.fs()?.create_dir_all(arg(1)?)?;
                Ok(String::new())
            }
            "info" => {
                let i = self.fs()?.info()?;
                Ok(format!(
                    "{} {} {} {}",
                    i.pages_total, i.pages_free, i.pages_pending, i.generation
                ))
            }
            "report" => {
                let r = self.fs()?.lock_report()?;
                let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
                Ok(format!(
                    "writers={} pins={} reserved={} own_writers={} own_pins={}",
                    list(&r.file_writers),
                    list(&r.pinned_generations),
                    r.reserved_pages.len(),
                    list(&r.own_file_writers),
                    list(&r.own_pinned_generations)
                ))
            }
            // An unrelated open and close of the container file by the host program.
            "unrelated" => {
                let f = std::fs::File::open(&self.path)
                    .map_err(|e| CmdError::Other("Io", e.to_string()))?;
                drop(f);
                Ok(String::new())
            }
            // fork CMD... [; CMD...]: a child runs the commands and exits
            // with 0 (all ok), 100 + the first error's code, or 99 (another
            // failure); a child still running after a minute is killed
            // and the reply is `hung` (a wait on a thread the fork left
            // behind would otherwise hang the test).
            "fork" => {
                let sub = line
                    .trim_start()
                    .strip_prefix("fork")
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let _ = std::io::stdout().flush();
                // SAFETY: this process runs one whefs thread (this one); the
                // child runs one command and leaves with `_exit`.
                let pid = unsafe { libc::fork() };
                if pid < 0 {
                    return Err(CmdError::Other("Io", "fork failed".into()));
                }
                if pid == 0 {
                    let code = sub
                        .split(';')
                        .map(|cmd| match self.exec(cmd.trim()) {
                            Ok(_) => 0,
                            Err(CmdError::Whefs(e)) => 100 + e.code(),
                            Err(CmdError::Other(..)) => 99,
                        })
                        .find(|&code| code != 0)
                        .unwrap_or(0);
                    // SAFETY: leaving the forked child without running
                    // destructors or atexit handlers of the parent's state.
                    unsafe { libc::_exit(code) };
                }
                let mut status = 0;
                let deadline = Instant::now() + Duration::from_secs(60);
                // SAFETY: waiting for (and at the deadline killing) the
                // child forked above.
                while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
                    if Instant::now() > deadline {
                        unsafe {
                            libc::kill(pid, libc::SIGKILL);
                            libc::waitpid(pid, &mut status, 0);
                        }
                        return Ok("hung".into());
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                if !libc::WIFEXITED(status) {
                    return Err(CmdError::Other("Signal", format!("child status {status}")));
                }
                Ok(format!("exit={}", libc::WEXITSTATUS(status)))
            }
            // forkhold: a child that does nothing until killed; replies its
            // pid once the child runs (its fork handlers are done).
            "forkhold" => {
                let _ = std::io::stdout().flush();
                let mut fds = [0i32; 2];
                // SAFETY: a plain pipe for the barrier below.
                if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
                    return Err(CmdError::Other("Io", "pipe failed".into()));
                }
                // SAFETY: as above; the child only writes to the pipe and pauses.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    // SAFETY: async-signal-safe calls on descriptors of this process.
                    unsafe {
                        libc::write(fds[1], b"x".as_ptr().cast(), 1);
                        loop {
                            libc::pause();
                        }
                    }
                }
                let mut b = [0u8; 1];
                // SAFETY: reading one byte from the pipe made above, then closing it.
                unsafe {
                    libc::close(fds[1]);
                    libc::read(fds[0], b.as_mut_ptr().cast(), 1);
                    libc::close(fds[0]);
                }
                Ok(pid.to_string())
            }
            "pid" => Ok(std::process::id().to_string()),
            // snapcreate NAME -> its generation
            "snapcreate" => Ok(self.fs()?.create_snapshot(arg(1)?)?.generation.to_string()),
            // snapdelete NAME -> pages given back
            "snapdelete" => Ok(self.fs()?.delete_snapshot(arg(1)?)?.to_string()),
            // snapview V NAME: open a view of the snapshot and keep it as V
            "snapview" => {
                let v = self.fs()?.open_snapshot(arg(2)?)?;
                self.views.insert(arg(1)?.to_string(), v);
                Ok(String::new())
            }
            "snapclose" => {
                self.views.remove(arg(1)?).ok_or_else(|| usage(line))?;
                Ok(String::new())
            }
            // digest V -> "ENTRIES HASH" of view V's whole tree (`-`: the latest state)
            "digest" => {
                let (n, h) = tree_digest(self.tree_of(arg(1)?)?)?;
                Ok(format!("{n} {h}"))
            }
            // consistent V -> the clock of the one commit view V (`-`: the
            // latest state) shows; `Inconsistent` if it is not one commit
            "consistent" => check_one_commit(self.tree_of(arg(1)?)?, None)
                .map(|c| c.to_string())
                .map_err(|e| CmdError::Other("Inconsistent", e)),
            // writable V: a write through view V must be refused
            "writable" => match self.tree_of(arg(1)?)?.write("probe", b"x") {
                Err(Error::Access(_)) => Ok("refused".into()),
                other => Err(CmdError::Other("Accepted", format!("{other:?}"))),
            },
            _ => Err(usage(line)),
        }
    }
}

fn remote_main() -> i32 {
    let mut st = RemoteState {
        path: env_path(),
        fs: None,
        files: HashMap::new(),
        views: HashMap::new(),
    };
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "exit" {
            break;
        }
        let start = Instant::now();
        let r = st.exec(&line);
        let us = start.elapsed().as_micros();
        match r {
            Ok(text) => say(&format!("@ok {us} {text}")),
            Err(CmdError::Whefs(e)) => say(&format!(
                "@err {us} {} {}",
                kind(&e),
                e.to_string().replace('\n', " ")
            )),
            Err(CmdError::Other(k, m)) => say(&format!("@err {us} {k} {m}")),
        }
    }
    // Close handles before the Fs, as a program that exits cleanly.
    st.files.clear();
    st.views.clear();
    0
}

// ---- The torture layout and roles ---------------------------------------------

/// Writer slots of the torture test.
pub const WRITERS: u32 = 3;
/// Own files per writer.
pub const OWN_FILES: u32 = 4;
/// Files every writer rewrites (read-modify-write under the file's lock).
pub const SHARED_FILES: u32 = 4;

pub fn own_file(slot: u32, j: u32) -> String {
    format!("own/w{slot}/f{j}")
}

pub fn own_tmp(slot: u32) -> String {
    format!("own/w{slot}/tmp")
}

pub fn shared_file(k: u32) -> String {
    format!("shared/s{k}")
}

/// Every file of the torture layout (the temporary names excluded).
pub fn torture_files() -> Vec<String> {
    let mut v = Vec::new();
    for s in 0..WRITERS {
        for j in 0..OWN_FILES {
            v.push(own_file(s, j));
        }
    }
    for k in 0..SHARED_FILES {
        v.push(shared_file(k));
    }
    v
}

/// Creates the torture layout with sequence 0 everywhere.
pub fn create_torture_layout(fs: &Fs) -> whefs::Result<()> {
    for s in 0..WRITERS {
        fs.create_dir_all(&format!("own/w{s}"))?;
    }
    fs.create_dir_all("shared")?;
    let mut rng = Rng::new(7);
    for p in torture_files() {
        let len = content_len(&mut rng);
        fs.write(&p, &stamp(u32::MAX, file_id(&p), 0, len, 1))?;
    }
    Ok(())
}

// ---- Transactions with a manifest: one commit, visible in any copy --------------

/// Transaction writers (role `txwriter`, slots `0..TX_WRITERS`).
pub const TX_WRITERS: u32 = 2;
/// Data files per transaction writer.
pub const TX_FILES: u32 = 4;
/// The manifest: the clock (one more per transaction of any writer) and
/// the seq of every data file, rewritten in every transaction.
pub const TX_CLOCK: &str = "tx/clock";

pub fn tx_file(slot: u32, j: u32) -> String {
    format!("tx/w{slot}/f{j}")
}

/// Every data file of the transaction writers, in manifest order.
pub fn tx_files() -> Vec<String> {
    (0..TX_WRITERS)
        .flat_map(|s| (0..TX_FILES).map(move |j| tx_file(s, j)))
        .collect()
}

/// The manifest's content: self-checking, its body the clock then the
/// seq of each of `tx_files()`.
pub fn clock_bytes(clock: u64, seqs: &[u64]) -> Vec<u8> {
    let mut v = vec![0u8; HEADER];
    for x in std::iter::once(clock).chain(seqs.iter().copied()) {
        v.extend_from_slice(&x.to_le_bytes());
    }
    seal(&mut v, u32::MAX - 1, file_id(TX_CLOCK), clock);
    v
}

/// Reads the manifest: (clock, seq of each data file).
pub fn parse_clock(data: &[u8]) -> Result<(u64, Vec<u64>), String> {
    let st = verify_at(TX_CLOCK, data)?;
    let body = &data[HEADER..];
    let n = tx_files().len();
    if body.len() != 8 * (n + 1) {
        return Err(format!("{TX_CLOCK}: {} body bytes", body.len()));
    }
    let words: Vec<u64> = body
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if words[0] != st.seq {
        return Err(format!(
            "{TX_CLOCK}: clock {} in a header of {}",
            words[0], st.seq
        ));
    }
    Ok((words[0], words[1..].to_vec()))
}

/// Creates the transaction writers' files and the manifest, clock 0.
pub fn create_tx_layout(fs: &Fs) -> whefs::Result<()> {
    for s in 0..TX_WRITERS {
        fs.create_dir_all(&format!("tx/w{s}"))?;
    }
    let mut rng = Rng::new(11);
    fs.transaction(|t| {
        for p in tx_files() {
            let len = content_len(&mut rng);
            t.write(&p, &stamp(u32::MAX, file_id(&p), 0, len, 3))?;
        }
        t.write(TX_CLOCK, &clock_bytes(0, &vec![0; tx_files().len()]))?;
        Ok(())
    })
}

/// Whether `fs` (a container, a copy or a snapshot view) shows one
/// committed state: the manifest and every transaction file agree (each
/// file holds exactly the seq the manifest names), and every torture file
/// present is one whole version. With `acked`, every file also holds at
/// least the seq acknowledged for it (and the manifest at least the clock
/// under `TX_CLOCK`). Returns the clock.
pub fn check_one_commit(fs: &Fs, acked: Option<&HashMap<String, u64>>) -> Result<u64, String> {
    let at_least = |p: &str, seq: u64| -> Result<(), String> {
        match acked.and_then(|a| a.get(p)) {
            Some(&min) if seq < min => Err(format!(
                "{p}: seq {seq}, but seq {min} was acknowledged before the copy began"
            )),
            _ => Ok(()),
        }
    };
    let read = |p: &str| fs.read(p).map_err(|e| format!("read {p}: {e}"));
    let (clock, seqs) = parse_clock(&read(TX_CLOCK)?)?;
    at_least(TX_CLOCK, clock)?;
    for (p, want) in tx_files().iter().zip(&seqs) {
        let st = verify_at(p, &read(p)?)?;
        if st.seq != *want {
            return Err(format!(
                "{p}: seq {} but the manifest of clock {clock} says {want}: not one commit",
                st.seq
            ));
        }
        at_least(p, st.seq)?;
    }
    for p in torture_files() {
        let st = verify_at(&p, &read(&p)?)?;
        at_least(&p, st.seq)?;
    }
    for s in 0..WRITERS {
        match fs.read(&own_tmp(s)) {
            Ok(d) => {
                verify_at(&own_tmp(s), &d)?;
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(format!("read {}: {e}", own_tmp(s))),
        }
    }
    Ok(clock)
}

/// A digest of a whole tree: how many entries, and a hash of every path,
/// kind, and file content, in path order.
pub fn tree_digest(fs: &Fs) -> whefs::Result<(u64, u64)> {
    let mut entries = Vec::new();
    let mut todo = vec!["/".to_string()];
    while let Some(dir) = todo.pop() {
        for e in fs.read_dir(&dir)? {
            let e = e?;
            let p = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            let h = match e.kind {
                FileType::Dir => {
                    todo.push(p.clone());
                    0
                }
                FileType::File => hash(&fs.read(&p)?),
                FileType::Symlink => hash(fs.read_link(&p)?.as_bytes()),
            };
            entries.push((p, e.kind as u8, h));
        }
    }
    entries.sort();
    let mut all = Vec::new();
    for (p, k, h) in &entries {
        all.extend_from_slice(p.as_bytes());
        all.push(0);
        all.push(*k);
        all.extend_from_slice(&h.to_le_bytes());
    }
    Ok((entries.len() as u64, hash(&all)))
}

/// An exclusive `flock` on a file beside the container: the transaction
/// writers read and rewrite the manifest one at a time. The kernel drops
/// it when its holder is killed.
struct TxLock(std::fs::File);

impl TxLock {
    fn open(container: &Path) -> TxLock {
        let mut p = container.as_os_str().to_owned();
        p.push(".txlock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(p))
            .or_fail("open the transaction lock file");
        TxLock(f)
    }
    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this struct owns.
        if unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_EX) } != 0 {
            fail("flock the transaction lock");
        }
        let out = f();
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
        out
    }
}

/// Role `txwriter` (slot = writer id): in a loop, under the transaction
/// lock, reads the manifest, rewrites a random subset of its own data
/// files with seq = clock + 1 and the manifest naming them, all in one
/// transaction; sometimes renames a file away and back in it too. Prints
/// `@ack PATH SEQ HASH` for every file of the commit, the manifest's last.
fn txwriter_main() -> i32 {
    let slot: u32 = env(SLOT_ENV).parse().unwrap_or(0);
    let mut rng = Rng::new(seed());
    let stop = stop_on_eof();
    let fs = open_env(true, Duration::from_secs(20));
    let lock = TxLock::open(&env_path());
    let files = tx_files();
    let mut commits = 0u64;
    while !stop.load(Ordering::SeqCst) {
        lock.with(|| {
            let (clock, mut seqs) = parse_clock(&fs.read(TX_CLOCK).or_fail("read the manifest"))
                .or_fail("the manifest");
            let next = clock + 1;
            let mut writes = Vec::new();
            for j in 0..TX_FILES {
                if writes.is_empty() && j + 1 == TX_FILES || rng.chance(50) {
                    let p = tx_file(slot, j);
                    let i = files.iter().position(|f| *f == p).expect("a tx file");
                    seqs[i] = next;
                    let data = stamp(slot, file_id(&p), next, content_len(&mut rng), rng.next());
                    writes.push((p, data));
                }
            }
            let manifest = clock_bytes(next, &seqs);
            let detour = rng.chance(20);
            fs.transaction(|t| {
                for (p, data) in &writes {
                    if detour {
                        // Written elsewhere and renamed into place: one commit still.
                        let tmp = format!("tx/w{slot}/tmp");
                        t.write(&tmp, data)?;
                        t.rename(&tmp, p)?;
                    } else {
                        t.write(p, data)?;
                    }
                }
                t.write(TX_CLOCK, &manifest)?;
                Ok(())
            })
            .or_fail("commit a transaction");
            for (p, data) in &writes {
                ack(p, data);
            }
            ack(TX_CLOCK, &manifest);
        });
        commits += 1;
        breathe();
    }
    say(&format!("@done commits={commits}"));
    0
}

/// Role `backuper`: `ARGS` = a directory; copies the container there with
/// `backup_to` again and again (`copy-PID-N.whefs`), printing
/// `@backup PATH GENERATION` after each, with a pause of 20–200 ms between
/// two (a copy takes milliseconds: without it, gigabytes of them).
fn backuper_main() -> i32 {
    let dir = PathBuf::from(env(ARGS_ENV));
    let mut rng = Rng::new(seed());
    let fs = open_env(false, Duration::ZERO);
    let mut n = 0u64;
    loop {
        std::thread::sleep(Duration::from_millis(rng.range(20, 200)));
        let dest = dir.join(format!("copy-{}-{n}.whefs", std::process::id()));
        let r = fs.backup_to(&dest).or_fail("backup_to");
        say(&format!("@backup {} {}", dest.display(), r.generation));
        n += 1;
    }
}

/// A short pause between two operations of a torture worker. Without it
/// the workers saturate the cores, and a process holding a pin waits for a
/// CPU for tens of milliseconds while thousands of pages pile up behind
/// its pin: the container's peak size would measure the scheduler, not
/// page reuse.
fn breathe() {
    std::thread::sleep(Duration::from_micros(300));
}

fn ack(path: &str, data: &[u8]) {
    let st = verify(data).expect("a writer acknowledges only content it sealed");
    say(&format!("@ack {path} {} {}", st.seq, hash(data)));
}

fn read_handle(f: &File) -> whefs::Result<Vec<u8>> {
    let mut buf = vec![0u8; f.len() as usize];
    let mut at = 0;
    while at < buf.len() {
        let n = f.read_at(&mut buf[at..], at as u64)?;
        if n == 0 {
            return Err(Error::Internal(format!(
                "short read at {at} of {}",
                buf.len()
            )));
        }
        at += n;
    }
    Ok(buf)
}

/// Role `writer` (slot = writer id): rewrites its own files (whole writes,
/// streamed `"w"` handles, `"r+"` partial rewrites with several commits,
/// write-then-rename, and rewrites under an open writer that turn the old
/// inode into an orphan) and the shared files (read-modify-write under the
/// file's lock). Every commit is acknowledged with `@ack PATH SEQ HASH`.
fn writer_main() -> i32 {
    let slot: u32 = env(SLOT_ENV).parse().unwrap_or(0);
    let mut rng = Rng::new(seed());
    let stop = stop_on_eof();
    let fs = open_env(true, Duration::from_secs(20));
    let tmp = own_tmp(slot);
    match fs.remove_file(&tmp) {
        Ok(()) | Err(Error::NotFound(_)) => {}
        Err(e) => fail(format!("remove {tmp}: {e}")),
    }
    let own: Vec<String> = (0..OWN_FILES).map(|j| own_file(slot, j)).collect();
    let mut seqs: Vec<u64> = own
        .iter()
        .map(|p| {
            verify_at(p, &fs.read(p).or_fail(p))
                .or_fail("own file at start")
                .seq
        })
        .collect();
    let shared: Vec<String> = (0..SHARED_FILES).map(shared_file).collect();
    let mut shared_seen = vec![0u64; shared.len()];
    let (mut commits, mut reads) = (0u64, 0u64);
    while !stop.load(Ordering::SeqCst) {
        let j = rng.below(own.len() as u64) as usize;
        let p = own[j].as_str();
        let id = file_id(p);
        let op = rng.below(100);
        match op {
            // One-commit whole write.
            0..=29 => {
                let data = stamp(slot, id, seqs[j] + 1, content_len(&mut rng), rng.next());
                fs.write(p, &data).or_fail(&format!("write {p}"));
                seqs[j] += 1;
                ack(p, &data);
            }
            // A streamed "w" handle: truncate, write in pieces, close.
            30..=42 => {
                let data = stamp(slot, id, seqs[j] + 1, content_len(&mut rng), rng.next());
                let mut f = fs.open_file(p, "w").or_fail(&format!("open {p} w"));
                let mut at = 0;
                while at < data.len() {
                    let n = (rng.range(1, 100_000) as usize).min(data.len() - at);
                    f.write_all(&data[at..at + n]).or_fail("stream write");
                    at += n;
                }
                f.close().or_fail(&format!("close {p}"));
                seqs[j] += 1;
                ack(p, &data);
            }
            // "r+": partial rewrites (and growing, shrinking), one commit each.
            43..=62 => {
                let mut f = fs.open_file(p, "r+").or_fail(&format!("open {p} r+"));
                let mut data = read_handle(&f).or_fail("read under the writer lock");
                reads += 1;
                let st = verify_at(p, &data).or_fail("own file under the writer lock");
                if st.seq != seqs[j] {
                    fail(format!(
                        "{p}: holds seq {} but this writer committed {}",
                        st.seq, seqs[j]
                    ));
                }
                for _ in 0..rng.range(1, 4) {
                    match rng.below(10) {
                        0 => {
                            let len = rng.range(HEADER as u64, data.len() as u64 + 1) as usize;
                            data.truncate(len);
                            f.set_len(len as u64).or_fail("set_len");
                        }
                        1 => {
                            let add = rng.range(1, 20_000) as usize;
                            let at = data.len();
                            data.extend(pattern(rng.next(), at as u64, add));
                            f.write_at(&data[at..], at as u64).or_fail("append");
                        }
                        _ if data.len() > HEADER => {
                            let a = rng.range(HEADER as u64, data.len() as u64) as usize;
                            let b = (a + rng.range(1, 9000) as usize).min(data.len());
                            let fresh = pattern(rng.next(), a as u64, b - a);
                            data[a..b].copy_from_slice(&fresh);
                            f.write_at(&data[a..b], a as u64).or_fail("patch");
                        }
                        _ => {}
                    }
                    seal(&mut data, slot, id, seqs[j] + 1);
                    f.write_at(&data[..HEADER], 0).or_fail("header");
                    f.commit().or_fail(&format!("commit {p}"));
                    seqs[j] += 1;
                    ack(p, &data);
                }
                f.close().or_fail("close r+");
            }
            // Read-modify-write of a shared file under its writer lock.
            63..=84 => {
                let k = rng.below(shared.len() as u64) as usize;
                let sp = shared[k].as_str();
                let mut f = fs.open_file(sp, "r+").or_fail(&format!("open {sp} r+"));
                let old = read_handle(&f).or_fail("read shared under the writer lock");
                reads += 1;
                let st = verify_at(sp, &old).or_fail("shared file under the writer lock");
                if st.seq < shared_seen[k] {
                    fail(format!(
                        "{sp}: seq went back from {} to {}",
                        shared_seen[k], st.seq
                    ));
                }
                let data = stamp(
                    slot,
                    file_id(sp),
                    st.seq + 1,
                    content_len(&mut rng),
                    rng.next(),
                );
                f.write_at(&data, 0).or_fail("write shared");
                f.set_len(data.len() as u64).or_fail("set_len shared");
                f.close().or_fail(&format!("close {sp}"));
                shared_seen[k] = st.seq + 1;
                ack(sp, &data);
            }
            // Write a temporary name, rename it over the file.
            85..=92 => {
                let data = stamp(slot, id, seqs[j] + 1, content_len(&mut rng), rng.next());
                fs.write(&tmp, &data).or_fail("write tmp");
                fs.rename(&tmp, p).or_fail("rename tmp over the file");
                seqs[j] += 1;
                ack(p, &data);
            }
            // Replace the file while this process holds it open for writing:
            // the old inode becomes an orphan; the handle's commit goes there.
            _ => {
                let mut h = fs.open_file(p, "r+").or_fail("open r+ for the orphan");
                let data = stamp(slot, id, seqs[j] + 1, content_len(&mut rng), rng.next());
                fs.write(p, &data).or_fail("replace an open file");
                seqs[j] += 1;
                ack(p, &data);
                h.write_at(&pattern(rng.next(), 0, 5000), 0)
                    .or_fail("write the orphan");
                h.commit().or_fail("commit to the orphan");
                h.close().or_fail("close the orphan");
                let back = fs.read(p).or_fail("read after the orphan closed");
                if back != data {
                    fail(format!(
                        "{p}: a commit to its unlinked inode showed through"
                    ));
                }
            }
        }
        commits += 1;
        breathe();
        if commits % 16 == 0 {
            say(&format!("@reads {reads}"));
        }
    }
    say(&format!("@done commits={commits}"));
    0
}

/// Role `reader`: reads random files (handles read in random chunks with
/// pauses, whole-file reads), checks each is one whole committed version,
/// that fresh reads of one file never go back in sequence, and that
/// handles held across many commits still read what they read first.
fn reader_main() -> i32 {
    let mut rng = Rng::new(seed());
    let fs = open_env(false, Duration::ZERO);
    let mut paths = torture_files();
    paths.extend((0..WRITERS).map(own_tmp));
    let mut last: HashMap<String, u64> = HashMap::new();
    // Handles held across commits, re-read (and dropped) at random, or once
    // the container moved `HOLD` generations past them (or after `HOLD_MAX`):
    // they span many commits, yet the pages they pin stay bounded whatever
    // the commit rate (the size check compares two rounds).
    const HOLD: u64 = 24;
    const HOLD_MAX: Duration = Duration::from_millis(100);
    let mut held: Vec<(String, File, Vec<u8>, u64, Instant)> = Vec::new();
    let mut reads = 0u64;
    for round in 1u64.. {
        if !held.is_empty() {
            let now_gen = fs.info().or_fail("info").generation;
            if let Some(i) = held
                .iter()
                .position(|h| now_gen >= h.3 + HOLD || h.4.elapsed() > HOLD_MAX)
            {
                let (hp, f, first, _, _) = held.swap_remove(i);
                let again = read_all(&f, &mut rng, false).or_fail(&format!("re-read {hp}"));
                if again != first {
                    fail(format!(
                        "{hp}: a held handle's snapshot changed ({} then {} bytes)",
                        first.len(),
                        again.len()
                    ));
                }
                reads += 1;
            }
        }
        let p = rng.pick(&paths).clone();
        let is_tmp = p.ends_with("tmp");
        let fresh = match rng.below(100) {
            0..=44 => match fs.open_file(&p, "r") {
                Ok(f) => {
                    let data = read_all(&f, &mut rng, true).or_fail(&format!("read {p}"));
                    if held.len() < 3 && rng.chance(30) {
                        let g = fs.info().or_fail("info").generation;
                        held.push((p.clone(), f, data.clone(), g, Instant::now()));
                    }
                    Some(data)
                }
                Err(Error::NotFound(_)) if is_tmp => None,
                Err(e) => fail(format!("open {p} r: {e}")),
            },
            45..=74 => match fs.read(&p) {
                Ok(d) => Some(d),
                Err(Error::NotFound(_)) if is_tmp => None,
                Err(e) => fail(format!("read {p}: {e}")),
            },
            75..=89 if !held.is_empty() => {
                let (hp, f, first, _, _) = held.swap_remove(rng.below(held.len() as u64) as usize);
                let again = read_all(&f, &mut rng, false).or_fail(&format!("re-read {hp}"));
                if again != first {
                    fail(format!(
                        "{hp}: a held handle's snapshot changed ({} then {} bytes)",
                        first.len(),
                        again.len()
                    ));
                }
                reads += 1;
                None
            }
            _ => {
                match fs.metadata(&p) {
                    Ok(m) if m.kind == FileType::File => {}
                    Err(Error::NotFound(_)) if is_tmp => {}
                    other => fail(format!("stat {p}: {other:?}")),
                }
                None
            }
        };
        if let Some(data) = fresh {
            let st = verify_at(&p, &data).or_fail("reader");
            if !is_tmp {
                let prev = last.insert(p.clone(), st.seq).unwrap_or(0);
                if st.seq < prev {
                    fail(format!(
                        "{p}: seq went back from {prev} to {} between two reads",
                        st.seq
                    ));
                }
            }
            reads += 1;
        }
        breathe();
        if round % 10 == 0 {
            say(&format!("@reads {reads}"));
        }
    }
    0
}

/// Role `lister`: `ls`/`stat` loops over the whole layout.
fn lister_main() -> i32 {
    let fs = open_env(false, Duration::ZERO);
    let mut n = 0u64;
    let mut dirs = vec!["".to_string(), "own".into(), "shared".into()];
    dirs.extend((0..WRITERS).map(|s| format!("own/w{s}")));
    loop {
        for d in &dirs {
            let mut names = Vec::new();
            for e in fs.read_dir(d).or_fail(&format!("ls {d:?}")) {
                let e = e.or_fail("listing entry");
                let p = if d.is_empty() {
                    e.name.clone()
                } else {
                    format!("{d}/{}", e.name)
                };
                match fs.metadata(&p) {
                    Ok(m) if m.kind == e.kind => {}
                    Err(Error::NotFound(_)) if p.ends_with("tmp") => {}
                    other => fail(format!(
                        "stat {p} after ls: {other:?} (listed as {:?})",
                        e.kind
                    )),
                }
                names.push(e.name);
                n += 1;
            }
            let want: Vec<String> = match d.as_str() {
                "shared" => (0..SHARED_FILES).map(|k| format!("s{k}")).collect(),
                x if x.starts_with("own/") => (0..OWN_FILES).map(|j| format!("f{j}")).collect(),
                _ => Vec::new(),
            };
            for w in want {
                if !names.contains(&w) {
                    fail(format!("ls {d}: {w} is missing ({names:?})"));
                }
            }
        }
        let i = fs.info().or_fail("info");
        if i.pages_used > i.pages_total {
            fail(format!("info: {i:?}"));
        }
        say(&format!("@ls {n}"));
        breathe();
    }
}

/// Role `nbreader` (readers never block): for `ARGS` seconds, with a busy
/// timeout of zero, opens the container, opens and reads files, lists and
/// stats; counts operations, `Busy` answers and other errors, and the
/// latency of each operation; prints `@done ...`.
fn nonblocking_reader_main() -> i32 {
    let secs: f64 = env(ARGS_ENV).parse().unwrap_or(2.0);
    let mut rng = Rng::new(seed());
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let open = || {
        FsOptions::new()
            .busy_timeout(Duration::ZERO)
            .open(env_path())
    };
    let mut fs = open().or_fail("open read-only with a zero timeout");
    let mut paths = torture_files();
    paths.push("held".into());
    let (mut ops, mut busy, mut errors) = (0u64, 0u64, 0u64);
    let mut lat: Vec<u64> = Vec::new();
    let mut first_error = String::new();
    while Instant::now() < deadline {
        let p = rng.pick(&paths).clone();
        let t = Instant::now();
        let r: whefs::Result<()> = (|| {
            match rng.below(5) {
                0 => fs = open()?,
                1 => {
                    let f = fs.open_file(&p, "r")?;
                    let data = read_all(&f, &mut rng, false)?;
                    verify_at(&p, &data).map_err(Error::Internal)?;
                }
                2 => {
                    verify_at(&p, &fs.read(&p)?).map_err(Error::Internal)?;
                }
                3 => {
                    for d in ["", "own/w0", "shared"] {
                        for e in fs.read_dir(d)? {
                            e?;
                        }
                    }
                }
                _ => {
                    fs.metadata(&p)?;
                }
            }
            Ok(())
        })();
        lat.push(t.elapsed().as_micros() as u64);
        ops += 1;
        match r {
            Ok(()) => {}
            Err(Error::Busy(m)) => {
                busy += 1;
                if first_error.is_empty() {
                    first_error = format!("Busy: {m}");
                }
            }
            Err(e) => {
                errors += 1;
                if first_error.is_empty() {
                    first_error = format!("{e}");
                }
            }
        }
    }
    lat.sort_unstable();
    let q = |f: f64| {
        lat.get(((lat.len() as f64 - 1.0) * f) as usize)
            .copied()
            .unwrap_or(0)
    };
    say(&format!(
        "@done ops={ops} busy={busy} errors={errors} p50_us={} p99_us={} max_us={} first_error={}",
        q(0.5),
        q(0.99),
        lat.last().copied().unwrap_or(0),
        first_error.replace(' ', "_")
    ));
    0
}

/// Role `cgi`: one short request. `ARGS` = `read PATH MIN_SEQ` or
/// `write PATH`. A read checks the content and that its seq is at least
/// the last one acknowledged before this process started; a write is a
/// read-modify-write under the file's lock. Prints `@stage` markers (so the
/// test knows where a killed request was) and `@read`/`@ack`.
fn cgi_main() -> i32 {
    let args = env(ARGS_ENV);
    let w: Vec<&str> = args.split_whitespace().collect();
    let slot: u32 = env(SLOT_ENV).parse().unwrap_or(0);
    let mut rng = Rng::new(seed());
    say("@stage started");
    match w.as_slice() {
        ["read", p, min] => {
            let min: u64 = min.parse().unwrap_or(0);
            let fs = open_env(false, Duration::from_secs(20));
            say("@stage opened");
            let data = if rng.chance(50) {
                fs.read(p).or_fail(&format!("read {p}"))
            } else {
                let f = fs.open_file(p, "r").or_fail(&format!("open {p}"));
                read_all(&f, &mut rng, false).or_fail(&format!("read {p}"))
            };
            let st = verify_at(p, &data).or_fail("cgi read");
            if st.seq < min {
                fail(format!(
                    "{p}: read seq {} but {min} was acknowledged before this request",
                    st.seq
                ));
            }
            say(&format!("@read {p} {}", st.seq));
        }
        ["write", p] => {
            let fs = open_env(true, Duration::from_secs(20));
            say("@stage opened");
            let mut f = fs.open_file(p, "r+").or_fail(&format!("open {p} r+"));
            say("@stage locked");
            let old = read_handle(&f).or_fail("read under the lock");
            let st = verify_at(p, &old).or_fail("cgi write");
            let data = stamp(
                slot,
                file_id(p),
                st.seq + 1,
                content_len(&mut rng) / 4 + HEADER,
                rng.next(),
            );
            f.write_at(&data, 0).or_fail("write");
            f.set_len(data.len() as u64).or_fail("set_len");
            say("@stage written");
            f.close().or_fail(&format!("commit {p}"));
            ack(p, &data);
        }
        _ => fail(format!("bad cgi args {args:?}")),
    }
    0
}

/// Role `reserver` (reservation race): `ARGS` = `ITERATIONS SLOW_MS`.
/// Writes its own file of 4..40 pages again and again through a storage
/// whose `RESERVE` try-locks are slow, reading it back each time; prints
/// `@detect ...` for every wrong result and `@done writes=N detected=M`.
fn reserver_main() -> i32 {
    let args = env(ARGS_ENV);
    let mut w = args.split_whitespace();
    let iterations: u64 = w.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let slow_ms: u64 = w.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let slot: u32 = env(SLOT_ENV).parse().unwrap_or(0);
    let mut rng = Rng::new(seed());
    let path = env_path();
    let mut o = FsOptions::new();
    o.write(true)
        .busy_timeout(Duration::from_secs(20))
        .durability(Durability::Off);
    let fs = if slow_ms > 0 {
        o.open_storage(Arc::new(
            slow_reserve(&path, true, Duration::from_millis(slow_ms)).or_fail("open"),
        ))
    } else {
        o.open(&path)
    }
    .or_fail("open the container");
    fs.set_fault_switches(parse_faults(&env(FAULTS_ENV)));
    let me = format!("r/w{slot}");
    let (mut writes, mut detected) = (0u64, 0u64);
    let mut last: Option<Vec<u8>> = None;
    for seq in 1..=iterations {
        let len = rng.range(4, 40) as usize * 4096 - rng.below(100) as usize;
        let data = stamp(slot, file_id(&me), seq, len, rng.next());
        match fs.write(&me, &data) {
            Ok(()) => {
                writes += 1;
                last = Some(data);
            }
            Err(e) => {
                detected += 1;
                say(&format!("@detect write {me}: {e}"));
            }
        }
        if let Some(want) = &last {
            match fs.read(&me) {
                Ok(d) if &d == want => {}
                Ok(d) => {
                    detected += 1;
                    say(&format!(
                        "@detect {me} reads back other content: {:?}",
                        verify(&d)
                    ));
                }
                Err(e) => {
                    detected += 1;
                    say(&format!("@detect read {me}: {e}"));
                }
            }
        }
    }
    say(&format!("@done writes={writes} detected={detected}"));
    0
}
