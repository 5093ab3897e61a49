//! The other processes of the process workloads: this same program
//! re-executed as `bench --child <role> ...`, so every system pays the same
//! process start. Roles:
//!
//! - `null`: exits at once (the floor of a new process);
//! - `cgi SYS STORE NAME`: opens the store, reads one file, exits;
//! - `writer SYS off|full STORE KEY`: prints `ready`, waits for a line on
//!   stdin, rewrites 4 KiB of its own file and commits until stdin closes,
//!   then prints `COMMITS SECONDS`;
//! - `commits SYS off|full STORE N new|rewrite`: N small commits, each a
//!   new 4 KiB file or a rewrite of one, for `strace -c` to count.
//!
//! The parent side (spawning, timing, `strace`) is here too.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rusqlite::params;

use crate::capi::{
    cpath, cstr, Container, WHEFS_DURABLE_FULL, WHEFS_DURABLE_OFF, WHEFS_OPEN_READWRITE,
};
use crate::harness::Sys;
use crate::plain::{self, Fd};
use crate::sql;

pub const FLAG: &str = "--child";
const PAGE: usize = 4096;

fn sys_arg(s: &str) -> Sys {
    match s {
        "plain" => Sys::Plain,
        "sqlite" => Sys::Sqlite,
        "whefs" => Sys::Whefs,
        _ => panic!("unknown system {s}"),
    }
}

fn durable_arg(s: &str) -> bool {
    match s {
        "full" => true,
        "off" => false,
        _ => panic!("durability is off or full, not {s}"),
    }
}

/// Runs a child role if this process is one (`argv[1] == --child`).
pub fn run_if_child() -> bool {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some(FLAG) {
        return false;
    }
    let a = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("child argument {i} missing: {args:?}"))
    };
    match a(2) {
        "null" => {}
        "cgi" => cgi(sys_arg(a(3)), Path::new(a(4)), a(5)),
        "writer" => writer(sys_arg(a(3)), durable_arg(a(4)), Path::new(a(5)), a(6)),
        "commits" => commits(
            sys_arg(a(3)),
            durable_arg(a(4)),
            Path::new(a(5)),
            a(6).parse().expect("a count"),
            a(7) == "new",
        ),
        other => panic!("unknown child role {other}"),
    }
    true
}

/// Open the store, read `name` whole, close: what one CGI request does.
fn cgi(sys: Sys, store: &Path, name: &str) {
    let mut buf = vec![0u8; 1 << 16];
    let n = match sys {
        Sys::Whefs => {
            let fs = Container::read_only(store);
            fs.read_file(&cstr(name), &mut buf)
        }
        Sys::Plain => plain::read_whole(&cpath(&store.join(name)), &mut buf),
        Sys::Sqlite => {
            let db = rusqlite::Connection::open(store).expect("open the database");
            let mut st = db.prepare(sql::SELECT_DATA).expect("prepare");
            sql::read(&mut st, name, &mut buf)
        }
        Sys::Host => unreachable!(),
    };
    assert!(n > 0, "read nothing");
}

/// One small commit at a time, as fast as it goes, until stdin closes.
fn writer(sys: Sys, durable: bool, store: &Path, key: &str) {
    match sys {
        Sys::Whefs => {
            let fs = Container::open(store, WHEFS_OPEN_READWRITE);
            fs.durability(if durable {
                WHEFS_DURABLE_FULL
            } else {
                WHEFS_DURABLE_OFF
            });
            let mut f = fs.file(key, "c+");
            commit_until_stopped(|p| {
                f.pwrite(p, 0);
                f.flush();
            });
            f.close();
        }
        Sys::Plain => {
            let fd = Fd::open(&store.join(key), libc::O_WRONLY | libc::O_CREAT);
            commit_until_stopped(|p| {
                plain::write_all_at(fd.0, p, 0);
                if durable {
                    plain::datasync(fd.0);
                }
            });
        }
        Sys::Sqlite => {
            let db = sql::open(store, if durable { "FULL" } else { "OFF" });
            sql::retry_busy(|| db.execute(sql::INSERT, params![key, vec![0u8; PAGE]]));
            let mut st = db.prepare(sql::UPDATE).expect("prepare");
            commit_until_stopped(|p| {
                sql::retry_busy(|| st.execute(params![key, p]));
            });
        }
        Sys::Host => unreachable!(),
    }
}

/// The writer protocol: `ready`, wait for a line, `commit` until stdin
/// closes, print `COMMITS SECONDS`.
fn commit_until_stopped(mut commit: impl FnMut(&[u8])) {
    let mut page = vec![0x5Au8; PAGE];
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("wait for go");
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        s.store(true, Ordering::SeqCst);
    });
    let start = Instant::now();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        page[..8].copy_from_slice(&n.to_le_bytes());
        commit(&page);
        n += 1;
    }
    println!("{n} {}", start.elapsed().as_secs_f64());
    std::io::stdout().flush().expect("flush");
}

/// `n` small commits (for strace): new 4 KiB files, or rewrites of one.
/// Every commit's bytes differ (SQLite skips writing an unchanged cell).
fn commits(sys: Sys, durable: bool, store: &Path, n: usize, new: bool) {
    let mut page = vec![0xA5u8; PAGE];
    let mut stamp = |i: usize| {
        page[..8].copy_from_slice(&(i as u64).to_le_bytes());
        page.clone()
    };
    match sys {
        Sys::Whefs => {
            let fs = Container::writable(
                store,
                if durable {
                    WHEFS_DURABLE_FULL
                } else {
                    WHEFS_DURABLE_OFF
                },
            );
            fs.mkdir_all("c");
            if new {
                for i in 0..n {
                    fs.write_file(&cstr(&format!("c/f{i:06}")), &stamp(i));
                }
            } else {
                let mut f = fs.file("c/x", "c+");
                for i in 0..n {
                    f.pwrite(&stamp(i), 0);
                    f.flush();
                }
                f.close();
            }
        }
        Sys::Plain => {
            let dir = store.join("c");
            std::fs::create_dir_all(&dir).expect("mkdir");
            let sync = if durable {
                plain::Sync::Data
            } else {
                plain::Sync::None
            };
            if new {
                for i in 0..n {
                    plain::write_file(&cpath(&dir.join(format!("f{i:06}"))), &stamp(i), sync);
                }
            } else {
                let fd = Fd::open(&dir.join("x"), libc::O_WRONLY | libc::O_CREAT);
                for i in 0..n {
                    plain::write_all_at(fd.0, &stamp(i), 0);
                    if durable {
                        plain::datasync(fd.0);
                    }
                }
            }
        }
        Sys::Sqlite => {
            let db = sql::open(store, if durable { "FULL" } else { "OFF" });
            let mut ins = db.prepare(sql::INSERT).expect("prepare");
            if new {
                for i in 0..n {
                    ins.execute(params![format!("c/f{i:06}"), stamp(i)])
                        .expect("INSERT");
                }
            } else {
                ins.execute(params!["c/x", stamp(0)]).expect("INSERT");
                let mut up = db.prepare(sql::UPDATE).expect("prepare");
                for i in 1..n {
                    up.execute(params!["c/x", stamp(i)]).expect("UPDATE");
                }
            }
        }
        Sys::Host => unreachable!(),
    }
}

// ---- the parent's side ------------------------------------------------------

fn exe() -> PathBuf {
    std::env::current_exe().expect("this program's path")
}

fn child_command(args: &[&str]) -> Command {
    let mut c = Command::new(exe());
    c.arg(FLAG).args(args);
    c
}

/// Runs one child to completion, quietly; panics if it fails.
pub fn run(args: &[&str]) {
    let st = child_command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("spawn a child process");
    assert!(st.success(), "child {args:?} failed: {st}");
}

/// A writer process (role `writer`), started and waiting for `go`.
pub struct Writer {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Writer {
    pub fn start(sys: Sys, durable: bool, store: &Path, key: &str) -> Writer {
        let store = store.to_str().expect("a UTF-8 path");
        let dur = if durable { "full" } else { "off" };
        let mut child = child_command(&["writer", sys.key(), dur, store, key])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn a writer process");
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line).expect("the ready line");
        assert_eq!(line.trim(), "ready", "the writer process did not start");
        Writer { child, out }
    }

    pub fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "go")
            .and_then(|_| stdin.flush())
            .expect("send go");
    }

    /// Stops the writer; returns its commits per second.
    pub fn stop(mut self) -> f64 {
        drop(self.child.stdin.take());
        let mut line = String::new();
        self.out.read_line(&mut line).expect("the count line");
        let st = self.child.wait().expect("wait for the writer");
        assert!(st.success(), "writer process failed: {st}");
        let mut w = line.split_whitespace();
        let n: f64 = w.next().and_then(|s| s.parse().ok()).expect("a count");
        let secs: f64 = w.next().and_then(|s| s.parse().ok()).expect("seconds");
        n / secs
    }
}

/// Finds a working `strace`, or says why there is none.
pub fn find_strace() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join("strace"))
        .find(|p| p.is_file())
        .ok_or("strace is not installed")?;
    let out = Command::new(&found)
        .args(["-f", "-c", "-o", "/dev/null", "true"])
        .output()
        .map_err(|e| format!("strace does not run: {e}"))?;
    if out.status.success() {
        Ok(found)
    } else {
        Err(format!(
            "strace cannot trace here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs a child under `strace -f -c`; returns calls by syscall name.
pub fn strace_counts(strace: &Path, scratch: &Path, args: &[&str]) -> BTreeMap<String, f64> {
    let out = scratch.join("strace.txt");
    let st = Command::new(strace)
        .args(["-f", "-c", "-o"])
        .arg(&out)
        .arg("--")
        .arg(exe())
        .arg(FLAG)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("run strace");
    assert!(st.success(), "strace of {args:?} failed: {st}");
    let text = std::fs::read_to_string(&out).expect("read strace's summary");
    let _ = std::fs::remove_file(&out);
    parse_strace_summary(&text)
}

/// The `calls` column of `strace -c` by syscall name (the `total` line and
/// the rules left out).
fn parse_strace_summary(text: &str) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 5 || w[0].starts_with('%') || w[0].starts_with('-') {
            continue;
        }
        let name = w[w.len() - 1];
        if name == "total" {
            continue;
        }
        if let Ok(calls) = w[3].parse::<f64>() {
            *m.entry(name.to_string()).or_insert(0.0) += calls;
        }
    }
    m
}

/// Per-operation counts from two runs of `n1` and `n2` operations: their
/// difference divided by `n2 - n1` (what the process does once cancels).
pub fn per_op(
    a: &BTreeMap<String, f64>,
    b: &BTreeMap<String, f64>,
    n1: usize,
    n2: usize,
) -> Vec<(String, f64)> {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    let mut v: Vec<(String, f64)> = names
        .into_iter()
        .map(|k| {
            let d = b.get(k).copied().unwrap_or(0.0) - a.get(k).copied().unwrap_or(0.0);
            (k.clone(), d / (n2 - n1) as f64)
        })
        .filter(|(_, c)| c.abs() >= 0.05)
        .collect();
    v.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn strace_summary_lines_parse() {
        let text = "% time     seconds  usecs/call     calls    errors syscall\n\
------ ----------- ----------- --------- --------- ----------------\n\
 45.00    0.000450           4       100           pwrite64\n\
 10.00    0.000100           1        29         3 fcntl\n\
------ ----------- ----------- --------- --------- ----------------\n\
100.00    0.001000                   129         3 total\n";
        let m = super::parse_strace_summary(text);
        assert_eq!(m.get("pwrite64"), Some(&100.0));
        assert_eq!(m.get("fcntl"), Some(&29.0));
        assert_eq!(m.len(), 2);
    }
}
