//! What the mount tests share: a container mounted with the real `whefs
//! mount` in a scratch directory (skipped, with a message, only where
//! /dev/fuse is absent), running host programs, and comparing two trees of
//! the host filesystem as `stat` and `readlink` see them.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const WHEFS: &str = env!("CARGO_BIN_EXE_whefs");

/// Whether FUSE can work here; if not, says why on stderr (the test then
/// returns early: a skip).
pub fn fuse_available(test: &str) -> bool {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("{test}: skipped: /dev/fuse is absent (no FUSE on this machine)");
        return false;
    }
    true
}

/// Runs `whefs` with `args`; panics with its output if it fails.
pub fn whefs(args: &[&str]) -> Output {
    let out = Command::new(WHEFS).args(args).output().expect("run whefs");
    assert!(
        out.status.success(),
        "whefs {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a host program in `dir`; panics with its output if it fails.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    run_env(dir, program, args, &[])
}

/// [`run`] with extra environment variables.
pub fn run_env(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (make test installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} in {} failed ({}):\n{}{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The mount entry for `point` in /proc/self/mountinfo, if mounted.
pub fn mounted_type(point: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let want = point.to_str()?;
    info.lines().rev().find_map(|line| {
        let point_field = line.split(' ').nth(4)?;
        let fstype = line.split(" - ").nth(1)?.split(' ').next()?;
        (point_field == want).then(|| fstype.to_string())
    })
}

/// Waits until `point` is (or is no longer) mounted; false on time-out.
pub fn wait_mounted(point: &Path, want: bool, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if mounted_type(point).is_some() == want {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A container mounted at a scratch directory with `whefs mount`.
pub struct Mounted {
    pub dir: tempfile::TempDir,
    pub container: PathBuf,
    pub point: PathBuf,
    unmounted: bool,
}

impl Mounted {
    /// A new container, mounted with `extra` options (e.g. `--cache-ms 0`).
    pub fn new(extra: &[&str]) -> Mounted {
        let dir = tempfile::tempdir().expect("scratch directory");
        let container = dir.path().join("c.whefs");
        whefs(&["create", container.to_str().expect("utf-8 path")]);
        Mounted::at(dir, container, extra)
    }

    /// Mounts an existing `container` living in `dir`.
    pub fn at(dir: tempfile::TempDir, container: PathBuf, extra: &[&str]) -> Mounted {
        let point = dir.path().join("m");
        std::fs::create_dir_all(&point).expect("mount point");
        let point = point.canonicalize().expect("canonical mount point");
        let mut args = vec![
            "mount",
            container.to_str().expect("utf-8"),
            point.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        // The command returns once the mount answers: no waiting here.
        whefs(&args);
        assert_eq!(mounted_type(&point).as_deref(), Some("fuse.whefs"));
        Mounted {
            dir,
            container,
            point,
            unmounted: false,
        }
    }

    /// A path inside the mount.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.point.join(rel)
    }

    /// A path in the scratch directory, outside the mount.
    pub fn host(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `whefs umount`, then `whefs check` of the container.
    pub fn unmount(&mut self) {
        whefs(&["umount", self.point.to_str().expect("utf-8")]);
        self.unmounted = true;
        assert!(
            mounted_type(&self.point).is_none(),
            "still mounted after umount"
        );
        // The daemon commits what it still holds as the session ends.
        let start = Instant::now();
        loop {
            let out = Command::new(WHEFS)
                .args(["check", self.container.to_str().expect("utf-8")])
                .output()
                .expect("run whefs check");
            if out.status.success() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "whefs check after unmount: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if !self.unmounted && mounted_type(&self.point).is_some() {
            let _ = Command::new("fusermount3")
                .args(["-u", "-z"])
                .arg(&self.point)
                .output();
            let _ = Command::new("umount").arg("-l").arg(&self.point).output();
        }
    }
}

/// Deterministic bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A source tree of about `files` files under `root`: nested directories,
/// text and binary files of many sizes (empty, inline, a few pages, a
/// megabyte), modes, nanosecond mtimes, symbolic links and hard links.
pub fn make_tree(root: &Path, files: usize) {
    std::fs::create_dir_all(root).expect("tree root");
    for i in 0..files {
        let dir = root.join(format!("d{}/s{}", i % 7, i % 3));
        std::fs::create_dir_all(&dir).expect("tree dir");
        let len = match i % 11 {
            0 => 0,
            1..=5 => 40 + i * 13 % 900,
            6..=8 => 3000 + i * 101 % 20_000,
            9 => 70_000,
            _ => 1000,
        };
        let len = if i == 17 { 1 << 20 } else { len };
        let path = dir.join(format!("f{i}.{}", ["c", "h", "txt", "bin"][i % 4]));
        std::fs::write(&path, pattern(len, i as u64)).expect("tree file");
        let mode = [0o644, 0o755, 0o600, 0o640][i % 4];
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let mtime = 1_600_000_000 + i as i64 * 977;
        set_mtime(&path, mtime, (i as i64 * 7_919_011) % 1_000_000_000);
    }
    std::os::unix::fs::symlink("d0/s0/f0.c", root.join("link-to-file")).expect("symlink");
    std::os::unix::fs::symlink("d1", root.join("link-to-dir")).expect("symlink");
    std::os::unix::fs::symlink("nowhere", root.join("d2/dangling")).expect("symlink");
    std::fs::hard_link(root.join("d0/s0/f0.c"), root.join("d3/hard-f0")).expect("hard link");
    std::fs::hard_link(root.join("d0/s0/f0.c"), root.join("hard-f0-again")).expect("hard link");
    std::fs::create_dir_all(root.join("empty/dir")).expect("empty dirs");
    std::fs::set_permissions(root.join("d4"), std::fs::Permissions::from_mode(0o750))
        .expect("chmod");
}

/// Sets a path's mtime (and atime) without following a final link.
pub fn set_mtime(path: &Path, secs: i64, nanos: i64) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    let t = libc::timespec {
        tv_sec: secs,
        tv_nsec: nanos,
    };
    let times = [t, t];
    // SAFETY: valid C string and two timespecs, as utimensat wants.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(rc, 0, "utimensat {}", path.display());
}

/// What a tree shows: per relative path, its kind, mode, size, content (a
/// checksum) or link target, owner, link count and (if `times`) mtime in
/// ns; and the groups of paths that are hard links of one another.
#[derive(Debug, PartialEq, Eq)]
pub struct TreeView {
    pub entries: BTreeMap<String, String>,
    pub links: BTreeSet<Vec<String>>,
}

/// Looks at every path under `root` (not following links).
pub fn view(root: &Path, times: bool) -> TreeView {
    let mut entries = BTreeMap::new();
    let mut inodes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        let full = root.join(&rel);
        let mut names: Vec<_> = std::fs::read_dir(&full)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", full.display()))
            .map(|e| e.expect("dir entry").file_name())
            .collect();
        names.sort();
        for name in names {
            let rel = rel.join(&name);
            let path = root.join(&rel);
            let m = std::fs::symlink_metadata(&path).expect("lstat");
            let key = rel.to_string_lossy().into_owned();
            let kind = m.file_type();
            let what = if kind.is_symlink() {
                format!(
                    "link -> {}",
                    std::fs::read_link(&path).expect("readlink").display()
                )
            } else if kind.is_dir() {
                todo.push(rel.clone());
                format!("dir nlink {}", m.nlink())
            } else {
                let data = std::fs::read(&path).expect("read");
                inodes.entry(m.ino()).or_default().push(key.clone());
                format!(
                    "file {} bytes sum {:016x} nlink {}",
                    data.len(),
                    checksum(&data),
                    m.nlink()
                )
            };
            let mut line = format!(
                "{what} mode {:o} owner {}:{}",
                m.mode() & 0o7777,
                m.uid(),
                m.gid()
            );
            if times && !kind.is_symlink() {
                line.push_str(&format!(" mtime {}.{:09}", m.mtime(), m.mtime_nsec()));
            }
            entries.insert(key, line);
        }
    }
    let links = inodes
        .into_values()
        .filter(|v| v.len() > 1)
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    TreeView { entries, links }
}

fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Asserts two trees show the same, naming the first difference.
pub fn assert_same_tree(got: &Path, want: &Path, times: bool, what: &str) {
    let (g, w) = (view(got, times), view(want, times));
    compare_views(g, w, got, what);
}

/// [`assert_same_tree`] with file times but not directory times: a
/// directory's time set by a tool (rsync sets it last) can be moved again
/// by a commit of the mount that the kernel sent after the tool's close
/// returned (FUSE releases are asynchronous) — docs/mount.md.
pub fn assert_same_tree_but_dir_times(got: &Path, want: &Path, what: &str) {
    let strip = |mut v: TreeView| {
        for line in v.entries.values_mut() {
            if line.starts_with("dir ") {
                if let Some(at) = line.find(" mtime ") {
                    line.truncate(at);
                }
            }
        }
        v
    };
    compare_views(strip(view(got, true)), strip(view(want, true)), got, what);
}

fn compare_views(g: TreeView, w: TreeView, got: &Path, what: &str) {
    for (path, line) in &w.entries {
        assert_eq!(g.entries.get(path), Some(line), "{what}: {path} differs");
    }
    assert_eq!(
        g.entries.len(),
        w.entries.len(),
        "{what}: extra entries in {}",
        got.display()
    );
    assert_eq!(g.links, w.links, "{what}: hard links differ");
}
