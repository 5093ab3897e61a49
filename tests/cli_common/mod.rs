//! What the `whefs` tool's tests share: a [`Sandbox`] (a temporary
//! directory to run the built binary in, with assertions on its exit
//! status and stderr), exit-status constants, and test data.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// The container every test uses, relative to its sandbox.
pub const C: &str = "c.whefs";

/// Exit statuses (`whefs --help` documents them).
pub const GENERIC: i32 = 1;
pub const USAGE: i32 = 2;
pub const NOT_FOUND: i32 = 3;
pub const EXISTS: i32 = 4;
pub const KIND: i32 = 5;
pub const CORRUPT: i32 = 7;
pub const ACCESS: i32 = 8;

/// A temporary directory to run `whefs` in.
pub struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    /// A new sandbox holding an empty container [`C`].
    pub fn with_container() -> Sandbox {
        let sandbox = Sandbox::empty();
        sandbox.ok(&["create", C]);
        sandbox
    }

    /// A new, empty sandbox.
    pub fn empty() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    /// A path inside the sandbox.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `whefs args...` with `stdin` as its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_whefs"))
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start whefs");
        let mut input = child.stdin.take().expect("stdin is piped");
        // A command that fails before reading its input closes the pipe early.
        if let Err(e) = input.write_all(stdin) {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe,
                "write whefs's stdin: {e}"
            );
        }
        drop(input);
        child.wait_with_output().expect("wait for whefs")
    }

    /// Runs `whefs args...` with an empty standard input.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, b"")
    }

    /// Runs `whefs args...`, asserts that it succeeded, returns its stdout.
    pub fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "whefs {args:?} failed with {}: {}",
            out.status,
            stderr(&out)
        );
        out.stdout
    }

    /// Runs `whefs args...` and returns its stdout as text, asserting success.
    pub fn ok_text(&self, args: &[&str]) -> String {
        String::from_utf8(self.ok(args)).expect("whefs prints UTF-8")
    }

    /// Runs `whefs args...`, asserts that it exited with `code` and printed
    /// a `whefs: ` message; returns that stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "whefs {args:?}: stderr: {err}"
        );
        assert!(
            err.starts_with("whefs: "),
            "whefs {args:?}: stderr: {err:?}"
        );
        err
    }
}

/// The stderr of a run, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `len` bytes of a pseudo-random pattern, with plenty of NUL bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 7 == 0 {
                0
            } else {
                x as u8
            }
        })
        .collect()
}

/// Every offset at which `needle` occurs in `haystack`.
pub fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Whether a host file exists.
pub fn exists(path: &Path) -> bool {
    path.try_exists().expect("stat a host file")
}

/// The built `whefs` binary.
pub fn whefs_bin() -> &'static str {
    env!("CARGO_BIN_EXE_whefs")
}

/// Runs `whefs args` in the sandbox under a pseudo-terminal (`script` from
/// util-linux), asserting success, and returns everything the terminal got.
pub fn under_terminal(s: &Sandbox, args: &str) -> String {
    let out = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!("\"$WHEFS\" {args}"))
        .arg("/dev/null")
        .env("WHEFS", whefs_bin())
        .current_dir(s.path("."))
        .stdin(Stdio::null())
        .output()
        .expect("run script(1)");
    assert!(out.status.success(), "{args}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Sandbox {
    /// Runs `whefs args...` and parses its stdout as one JSON document.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!(
                "whefs {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out)
            )
        })
    }

    /// Puts `data` at `path` in [`C`] through stdin (`put -p`), asserting success.
    pub fn put(&self, path: &str, data: &[u8]) {
        let out = self.run_with_stdin(&["put", "-p", C, "-", path], data);
        assert!(out.status.success(), "put {path}: {}", stderr(&out));
    }

    /// The container's generation (one more per commit).
    pub fn generation(&self) -> u64 {
        self.json(&["info", "--json", C])["generation"]
            .as_u64()
            .expect("info --json has a generation")
    }
}

/// What a tree holds at one relative path, as compared by the round trips.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A directory with its permission bits and mtime (ns).
    Dir { mode: u32, mtime_ns: i64 },
    /// A file: its bytes, permission bits and mtime (ns).
    File {
        data: Vec<u8>,
        mode: u32,
        mtime_ns: i64,
    },
}

/// Everything below `root` (not `root` itself), by relative path; symlinks
/// are not followed (and fail the test: the trees compared hold none).
pub fn read_tree(root: &Path) -> std::collections::BTreeMap<PathBuf, Node> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for item in std::fs::read_dir(&dir).expect("read a host directory") {
            let path = item.expect("a directory entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("stat a host file");
            let rel = path.strip_prefix(root).expect("below root").to_path_buf();
            let (mode, mtime_ns) = (
                meta.mode() & 0o7777,
                meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            );
            if meta.is_dir() {
                out.insert(rel, Node::Dir { mode, mtime_ns });
                stack.push(path);
            } else {
                assert!(
                    meta.is_file(),
                    "{}: not a file or directory",
                    path.display()
                );
                let data = std::fs::read(&path).expect("read a host file");
                out.insert(
                    rel,
                    Node::File {
                        data,
                        mode,
                        mtime_ns,
                    },
                );
            }
        }
    }
    out
}

/// Sets a host path's mtime (ns since the epoch) and permission bits.
pub fn set_attrs(path: &Path, mode: u32, mtime_ns: i64) {
    use std::os::unix::fs::PermissionsExt;
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(mtime_ns as u64);
    let file = std::fs::File::open(path).expect("open to set times");
    file.set_modified(time).expect("set mtime");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A tree with what round trips get wrong: binary data with NUL bytes and
/// a multi-page file, empty files, names with spaces and UTF-8, a deep
/// path, a path of more than 100 bytes (too long for plain ustar), empty
/// directories, odd modes and sub-second mtimes.
pub fn make_odd_tree(root: &Path) {
    let dirs = [
        "",
        "empty dir",
        "docs",
        "docs/ünïcødé ✓",
        "a/b/c/d/e/f/g/h/i/j/k/l",
        "long-names",
        "nested/empty/inside",
    ];
    for dir in dirs {
        std::fs::create_dir_all(root.join(dir)).expect("make a host directory");
    }
    let long = format!("long-names/{}.txt", "n".repeat(120));
    let files: Vec<(String, Vec<u8>, u32)> = vec![
        ("zero bytes".into(), Vec::new(), 0o644),
        ("docs/readme.txt".into(), b"read me\n".to_vec(), 0o644),
        (
            "docs/ünïcødé ✓/naïve café.txt".into(),
            "déjà vu\n".as_bytes().to_vec(),
            0o600,
        ),
        ("docs/binary.bin".into(), pattern(300 * 1024 + 3, 11), 0o755),
        ("docs/nul.bin".into(), vec![0u8; 9000], 0o640),
        (
            "a/b/c/d/e/f/g/h/i/j/k/l/deep.txt".into(),
            b"deep".to_vec(),
            0o644,
        ),
        ("a/b/c/d/e/f/g/h/i/j/k/l/empty".into(), Vec::new(), 0o644),
        (long, pattern(5000, 12), 0o644),
    ];
    for (i, (name, data, mode)) in files.iter().enumerate() {
        let path = root.join(name);
        std::fs::write(&path, data).expect("write a host file");
        set_attrs(
            &path,
            *mode,
            1_600_000_000_000_000_000 + i as i64 * 1_000_000_123,
        );
    }
    // Directories last (writing their entries changed their mtimes), deepest first.
    for (i, dir) in dirs.iter().enumerate().rev() {
        set_attrs(
            &root.join(dir),
            0o750,
            1_500_000_000_000_000_000 + i as i64 * 7_000_000_001,
        );
    }
}
