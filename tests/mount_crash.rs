//! The mount under failure and refusal: `kill -9` of the mount process
//! while programs write through it leaves a container that `whefs check`
//! finds clean, holding only whole commits, and the mount point cleaned up
//! (by fusermount3's auto-unmount); `--read-only` refuses every change with
//! EROFS and still serves reads.

mod mount_support;

use std::ffi::CString;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mount_support::*;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The content of the `i`-th file the writer makes.
fn content(i: u64) -> Vec<u8> {
    pattern(500 + (i % 9) as usize * 7000, i)
}

#[test]
fn kill_9_of_the_mount_leaves_whole_commits_and_the_mount_point_is_cleaned_up() {
    if !fuse_available("kill -9") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let container = dir.path().join("c.whefs");
    whefs(&["create", s(&container)]);
    let point = dir.path().join("m");
    std::fs::create_dir(&point).unwrap();
    let mut daemon = Command::new(WHEFS)
        .args(["mount", "--foreground", s(&container), s(&point)])
        .spawn()
        .unwrap();
    assert!(
        wait_mounted(&point, true, Duration::from_secs(10)),
        "mounted"
    );
    std::fs::create_dir(point.join("w")).unwrap();
    // Writers: new files, and atomic replacement through a rename.
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|t| {
            let (point, stop) = (point.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in (t..).step_by(2) {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let name = point.join(format!("w/f{i}"));
                    if std::fs::write(&name, content(i)).is_err() {
                        break;
                    }
                    let tmp = point.join(format!("w/.r{t}.tmp"));
                    let replaced = std::fs::write(&tmp, content(i))
                        .and_then(|()| std::fs::rename(&tmp, point.join(format!("w/r{t}"))));
                    if replaced.is_err() {
                        break;
                    }
                    acked.push(i);
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: signals the mount process this test started.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGKILL) };
    let _ = daemon.wait();
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<u64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(
        acked.len() > 10,
        "the writers got going ({} files)",
        acked.len()
    );
    // The dead mount point: fusermount3 (auto_unmount) unmounts it once
    // the mount process is gone; without it, `fusermount3 -u` would.
    let auto = Path::new("/usr/bin/fusermount3").exists() || which("fusermount3");
    // Given time: on a loaded 2-core machine the watcher once took over
    // 10 s (CI, session 5).
    let cleaned = wait_mounted(&point, false, Duration::from_secs(30));
    let watchers = if cleaned {
        String::new()
    } else {
        let ps = Command::new("pgrep").args(["-a", "fusermount"]).output();
        let _ = Command::new("umount").arg("-l").arg(&point).output();
        ps.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    assert!(
        cleaned || !auto,
        "auto-unmount did not clean the mount point up in 30 s; fusermount processes: {watchers:?}"
    );
    whefs(&["check", s(&container)]);
    let fs = whefs::Fs::open_read_only(&container).unwrap();
    let mut whole = 0;
    for e in fs.read_dir("w").unwrap() {
        let e = e.unwrap();
        let data = fs.read(&format!("w/{}", e.name)).unwrap();
        if let Some(i) = e.name.strip_prefix('f') {
            let i: u64 = i.parse().unwrap();
            // Created (its own commit, empty) or written: nothing between.
            assert!(
                data.is_empty() || data == content(i),
                "{}: a torn file",
                e.name
            );
            whole += usize::from(!data.is_empty());
        } else if e.name.starts_with('r') {
            // Replaced by renames only: always one whole version.
            let last = acked.iter().max().copied().unwrap_or(0) + 4;
            assert!(
                (0..last).any(|i| data == content(i)),
                "{}: not one whole version",
                e.name
            );
        }
    }
    for &i in &acked {
        assert_eq!(
            fs.read(&format!("w/f{i}")).unwrap(),
            content(i),
            "acknowledged f{i}"
        );
    }
    assert!(whole >= acked.len());
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

fn erofs<T: std::fmt::Debug>(what: &str, r: std::io::Result<T>) {
    match r {
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => {}
        other => panic!("{what}: want EROFS, got {other:?}"),
    }
}

fn errno_of(rc: i32) -> std::io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn a_read_only_mount_refuses_every_change_with_erofs() {
    if !fuse_available("read-only") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let container = dir.path().join("c.whefs");
    {
        let fs = whefs::Fs::create(&container).unwrap();
        fs.write("f", b"kept").unwrap();
        fs.create_dir("d").unwrap();
        fs.symlink("f", "l").unwrap();
    }
    let mut m = Mounted::at(dir, container.clone(), &["--read-only"]);
    let (f, d) = (m.path("f"), m.path("d"));
    erofs("create", std::fs::File::create(m.path("new")));
    erofs(
        "open for writing",
        std::fs::OpenOptions::new().write(true).open(&f),
    );
    erofs(
        "open for appending",
        std::fs::OpenOptions::new().append(true).open(&f),
    );
    erofs("mkdir", std::fs::create_dir(m.path("d2")));
    erofs("rmdir", std::fs::remove_dir(&d));
    erofs("unlink", std::fs::remove_file(&f));
    erofs("rename", std::fs::rename(&f, m.path("g")));
    erofs("symlink", std::os::unix::fs::symlink("f", m.path("l2")));
    erofs("link", std::fs::hard_link(&f, m.path("h")));
    erofs(
        "chmod",
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o600)),
    );
    erofs("chown", std::os::unix::fs::chown(&f, Some(1), Some(1)));
    let c = CString::new(s(&f)).unwrap();
    // SAFETY: valid C strings; NULL times mean now.
    erofs(
        "utimensat",
        errno_of(unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), std::ptr::null(), 0) }),
    );
    // SAFETY: a valid C string.
    erofs(
        "truncate",
        errno_of(unsafe { libc::truncate(c.as_ptr(), 0) }),
    );
    let fifo = CString::new(s(&m.path("fifo"))).unwrap();
    // SAFETY: a valid C string.
    erofs(
        "mkfifo",
        errno_of(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }),
    );
    // Reads work.
    assert_eq!(std::fs::read(&f).unwrap(), b"kept");
    assert_eq!(std::fs::read(m.path("l")).unwrap(), b"kept");
    assert_eq!(std::fs::read_link(m.path("l")).unwrap(), Path::new("f"));
    let names: Vec<_> = std::fs::read_dir(&m.point)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    m.unmount();
    let fs = whefs::Fs::open_read_only(&container).unwrap();
    assert_eq!(fs.read("f").unwrap(), b"kept");
    assert_eq!(fs.info().unwrap().files, 2);
}
