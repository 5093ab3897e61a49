//! `whefs mount` with real programs that know nothing of whefs: tar, cp -a,
//! rsync -a, find, du, git, the sqlite3 shell and Python's shutil/os.walk
//! run inside a mounted container and, with the same commands, in a plain
//! directory; the results must be the same (contents, kinds, modes,
//! owners, nanosecond mtimes, link targets, hard links, link counts).
//! Then the mount's own semantics: commits seen both ways between the
//! mount and the library, fsync, statfs, SIGTERM, errors at mount time.
//!
//! Each test mounts its own container; they skip (with a message) only
//! where /dev/fuse is absent. After every test the container is unmounted
//! and `whefs check` must find it clean.

mod mount_support;

use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mount_support::*;

/// Files in the generated source trees.
const TREE_FILES: usize = 300;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn tar_extract_and_create_find_and_du_match_a_plain_directory() {
    if !fuse_available("tar") {
        return;
    }
    let mut m = Mounted::new(&[]);
    make_tree(&m.host("src"), TREE_FILES);
    let plain = m.host("plain");
    std::fs::create_dir(&plain).unwrap();
    let archive = m.host("tree.tar");
    run(&m.host(""), "tar", &["-cf", s(&archive), "src"]);
    for dir in [&m.point, &plain] {
        run(dir, "tar", &["-xpf", s(&archive)]);
    }
    assert_same_tree(&m.path("src"), &plain.join("src"), true, "tar -x");
    // tar -c of both, in name order: the archives are the same bytes.
    let (from_mount, from_plain) = (m.host("m.tar"), m.host("p.tar"));
    run(
        &m.point,
        "tar",
        &["--sort=name", "-cf", s(&from_mount), "src"],
    );
    run(
        &plain,
        "tar",
        &["--sort=name", "-cf", s(&from_plain), "src"],
    );
    assert!(
        std::fs::read(&from_mount).unwrap() == std::fs::read(&from_plain).unwrap(),
        "tar -c differs:\n{}\nvs\n{}",
        run(&m.host(""), "tar", &["-tvf", s(&from_mount)]),
        run(&m.host(""), "tar", &["-tvf", s(&from_plain)])
    );
    // find: kinds, modes, sizes, link counts, mtimes, link targets.
    let find = |dir: &Path| {
        let out = run(
            dir,
            "find",
            &[
                "src",
                "(",
                "-type",
                "d",
                "-printf",
                "%y %m %n %U:%G %P\\n",
                ")",
                "-o",
                "-printf",
                "%y %m %s %n %U:%G %T@ %P %l\\n",
            ],
        );
        let mut lines: Vec<_> = out.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    assert_eq!(find(&m.point), find(&plain), "find");
    // du: apparent sizes of everything but directories (whefs directories
    // have size 0, ext4's 4096), every name of a hard link counted (-l:
    // which name du meets first depends on the listing order); and the
    // total runs.
    let du = |dir: &Path| {
        let out = run(dir, "du", &["-abl", "src"]);
        let mut lines: Vec<_> = out
            .lines()
            .filter(|l| !plain.join(l.split('\t').nth(1).unwrap_or("")).is_dir())
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(du(&m.point), du(&plain), "du -ab");
    assert!(run(&m.point, "du", &["-s", "src"]).starts_with(char::is_numeric));
    m.unmount();
}

#[test]
fn cp_a_and_rsync_a_match_a_plain_directory() {
    if !fuse_available("cp/rsync") {
        return;
    }
    let mut m = Mounted::new(&[]);
    let src = m.host("src");
    make_tree(&src, TREE_FILES);
    let plain = m.host("plain");
    std::fs::create_dir(&plain).unwrap();
    for dir in [&m.point, &plain] {
        run(dir, "cp", &["-a", s(&src), "cp"]);
        run(dir, "rsync", &["-a", &format!("{}/", s(&src)), "rs/"]);
    }
    assert_same_tree(&m.path("cp"), &plain.join("cp"), true, "cp -a");
    assert_same_tree_but_dir_times(&m.path("rs"), &plain.join("rs"), "rsync -a");
    // A second rsync finds nothing to do: sizes, times and modes stuck.
    let again = run(&m.point, "rsync", &["-ai", &format!("{}/", s(&src)), "rs/"]);
    // Only a directory's time may need setting again (see above).
    let changed: Vec<&str> = again
        .lines()
        .filter(|l| !l.starts_with(".d..t......"))
        .collect();
    assert!(changed.is_empty(), "rsync -ai after rsync -a: {again}");
    // An update and a deletion travel too.
    std::fs::write(src.join("d0/s0/f0.c"), b"changed").unwrap();
    std::fs::remove_file(src.join("d1/s1/f1.h")).unwrap();
    for dir in [&m.point, &plain] {
        run(
            dir,
            "rsync",
            &["-a", "--delete", &format!("{}/", s(&src)), "rs/"],
        );
    }
    // Without times: the deletion stamps the directory after rsync set its
    // time, in a plain directory too, and rsync leaves it within the second.
    assert_same_tree(&m.path("rs"), &plain.join("rs"), false, "rsync -a --delete");
    // Copies out of the mount are faithful as well.
    run(&m.host(""), "cp", &["-a", s(&m.path("cp")), "back"]);
    assert_same_tree(
        &m.host("back"),
        &plain.join("cp"),
        true,
        "cp -a out of the mount",
    );
    m.unmount();
}

/// git with fixed identities and dates, so that commit ids depend only on
/// the content and modes of the tree.
fn git(dir: &Path, args: &[&str]) -> String {
    let mut all = vec![
        "-c",
        "user.name=whefs",
        "-c",
        "user.email=whefs@example.invalid",
        "-c",
        "init.defaultBranch=main",
    ];
    all.extend_from_slice(args);
    let date = "2024-01-02T03:04:05Z";
    run_env(
        dir,
        "git",
        &all,
        &[("GIT_AUTHOR_DATE", date), ("GIT_COMMITTER_DATE", date)],
    )
}

#[test]
fn git_init_add_commit_log_status_match_a_plain_directory() {
    if !fuse_available("git") {
        return;
    }
    let mut m = Mounted::new(&["--durability", "normal"]);
    let src = m.host("src");
    make_tree(&src, TREE_FILES);
    let plain = m.host("plain");
    let mut heads = Vec::new();
    for repo in [m.path("repo"), plain.join("repo")] {
        std::fs::create_dir_all(repo.parent().unwrap()).unwrap();
        run(repo.parent().unwrap(), "cp", &["-a", s(&src), s(&repo)]);
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "import"]);
        assert_eq!(
            git(&repo, &["status", "--porcelain"]),
            "",
            "clean after commit"
        );
        std::fs::write(repo.join("d2/s2/f2.txt"), b"edited\n").unwrap();
        std::fs::remove_file(repo.join("d3/s0/f3.bin")).unwrap();
        let status = git(&repo, &["status", "--porcelain"]);
        assert_eq!(
            status, " M d2/s2/f2.txt\n D d3/s0/f3.bin\n",
            "status after edits"
        );
        git(&repo, &["commit", "-q", "-am", "edit"]);
        git(&repo, &["fsck", "--full", "--no-progress"]);
        heads.push((
            git(&repo, &["log", "--format=%H %T %s"]),
            git(&repo, &["status", "--porcelain"]),
        ));
    }
    assert_eq!(heads[0], heads[1], "git log and status, mount vs plain");
    m.unmount();
}

#[test]
fn sqlite3_builds_a_database_that_passes_integrity_check() {
    if !fuse_available("sqlite3") {
        return;
    }
    let mut m = Mounted::new(&[]);
    let plain = m.host("plain");
    std::fs::create_dir(&plain).unwrap();
    let build = "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, value REAL, pad BLOB);
        CREATE INDEX t_name ON t(name);
        BEGIN;
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000)
        INSERT INTO t(name, value, pad) SELECT 'row ' || x, x * 1.5, zeroblob(x % 700) FROM c;
        COMMIT;";
    let churn: String = (0..25)
        .map(|i| {
            format!(
                "BEGIN; UPDATE t SET value = value + {i} WHERE id % 25 = {i};
                 DELETE FROM t WHERE id % 97 = {i}; INSERT INTO t(name) VALUES ('tx {i}'); COMMIT;"
            )
        })
        .collect();
    for dir in [&m.point, &plain] {
        run(dir, "sqlite3", &["db.sqlite", build]);
        run(dir, "sqlite3", &["db.sqlite", &churn]);
        let check = run(dir, "sqlite3", &["db.sqlite", "PRAGMA integrity_check;"]);
        assert_eq!(check.trim(), "ok", "integrity_check in {}", dir.display());
        // Write-ahead logging: shared memory (mmap of -shm) through FUSE.
        let wal = "PRAGMA journal_mode=WAL;
            CREATE TABLE w(x);
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000)
            INSERT INTO w SELECT x * 3 FROM c;
            PRAGMA wal_checkpoint(TRUNCATE); PRAGMA integrity_check;";
        let out = run(dir, "sqlite3", &["wal.sqlite", wal]);
        assert!(out.trim_end().ends_with("ok"), "WAL database: {out}");
    }
    let dump = |dir: &Path| run(dir, "sqlite3", &["db.sqlite", ".dump"]);
    let (a, b) = (dump(&m.point), dump(&plain));
    assert!(
        a == b,
        "sqlite3 .dump differs between the mount and a plain directory"
    );
    let count = |dir: &Path| run(dir, "sqlite3", &["db.sqlite", "SELECT count(*) FROM t;"]);
    assert_eq!(count(&m.point), count(&plain));
    assert_eq!(count(&m.point).trim(), "2976");
    m.unmount();
}

#[test]
fn python_copytree_walk_and_rmtree_match_a_plain_directory() {
    if !fuse_available("python") {
        return;
    }
    let mut m = Mounted::new(&[]);
    let src = m.host("src");
    make_tree(&src, TREE_FILES);
    let plain = m.host("plain");
    std::fs::create_dir(&plain).unwrap();
    let script = "
import os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst, symlinks=True)
walk = []
for root, dirs, files in os.walk(dst):
    dirs.sort()
    walk.append((os.path.relpath(root, dst), sorted(dirs), sorted(files)))
print(repr(walk))
shutil.copytree(dst, dst + '.again', symlinks=True)
shutil.rmtree(dst + '.again')
assert not os.path.exists(dst + '.again')
";
    let walks: Vec<String> = [&m.point, &plain]
        .iter()
        .map(|dir| run(dir, "python3", &["-c", script, s(&src), "py"]))
        .collect();
    assert_eq!(walks[0], walks[1], "os.walk after shutil.copytree");
    assert_same_tree(&m.path("py"), &plain.join("py"), true, "shutil.copytree");
    m.unmount();
}

#[test]
fn the_mount_and_the_library_see_each_others_commits() {
    if !fuse_available("visibility") {
        return;
    }
    let mut m = Mounted::new(&["--cache-ms", "0"]);
    let fs = whefs::Fs::open(&m.container).unwrap();
    // Library → mount.
    fs.create_dir("lib").unwrap();
    fs.write("lib/a.txt", b"from the library").unwrap();
    assert_eq!(
        std::fs::read(m.path("lib/a.txt")).unwrap(),
        b"from the library"
    );
    fs.write("lib/a.txt", b"replaced").unwrap();
    assert_eq!(std::fs::read(m.path("lib/a.txt")).unwrap(), b"replaced");
    fs.symlink("a.txt", "lib/l").unwrap();
    assert_eq!(
        std::fs::read_link(m.path("lib/l")).unwrap(),
        Path::new("a.txt")
    );
    // Mount → library: a write commits at close, fsync, or flush.
    let mut f = std::fs::File::create(m.path("lib/b.txt")).unwrap();
    f.write_all(b"pending").unwrap();
    assert_eq!(
        fs.read("lib/b.txt").unwrap(),
        b"",
        "not committed before fsync"
    );
    f.sync_all().unwrap();
    assert_eq!(fs.read("lib/b.txt").unwrap(), b"pending", "fsync commits");
    f.write_all(b" and closed").unwrap();
    // Another open in the mount sees the uncommitted write (POSIX).
    assert_eq!(
        std::fs::read(m.path("lib/b.txt")).unwrap(),
        b"pending and closed"
    );
    drop(f);
    assert_eq!(fs.read("lib/b.txt").unwrap(), b"pending and closed");
    // Rename is atomic; a hard link made in the mount counts in the library.
    std::fs::write(m.path("new"), b"new content").unwrap();
    std::fs::rename(m.path("new"), m.path("lib/a.txt")).unwrap();
    assert_eq!(fs.read("lib/a.txt").unwrap(), b"new content");
    std::fs::hard_link(m.path("lib/a.txt"), m.path("hard")).unwrap();
    assert_eq!(fs.metadata("hard").unwrap().nlink, 2);
    std::fs::set_permissions(
        m.path("hard"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert_eq!(fs.metadata("lib/a.txt").unwrap().mode, 0o600);
    // A file unlinked while open stays readable and writable through it.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(m.path("tmp"))
        .unwrap();
    std::fs::remove_file(m.path("tmp")).unwrap();
    f.write_all_at(b"still here", 0).unwrap();
    let mut back = [0u8; 10];
    f.read_exact_at(&mut back, 0).unwrap();
    assert_eq!(&back, b"still here");
    assert_eq!(f.metadata().unwrap().nlink(), 0);
    drop(f);
    drop(fs);
    m.unmount();
}

#[test]
fn big_files_stream_through_and_statfs_reports_the_containers_pages() {
    if !fuse_available("statfs") {
        return;
    }
    let mut m = Mounted::new(&[]);
    let data = pattern(24 << 20, 7);
    std::fs::write(m.path("big"), &data).unwrap();
    assert!(
        std::fs::read(m.path("big")).unwrap() == data,
        "24 MiB round trip"
    );
    let info = whefs::Fs::open_read_only(&m.container)
        .unwrap()
        .info()
        .unwrap();
    let c = std::ffi::CString::new(s(&m.point)).unwrap();
    // SAFETY: statvfs is plain data; the call writes only `st`.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path, `st` writable.
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    assert_eq!(st.f_bsize, info.page_size as u64);
    assert_eq!(
        st.f_blocks - st.f_bfree,
        info.pages_used,
        "used blocks are the container's used pages"
    );
    assert_eq!(st.f_namemax, 255);
    m.unmount();
}

#[test]
fn sigterm_unmounts_and_the_foreground_mount_exits_cleanly() {
    if !fuse_available("sigterm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let container = dir.path().join("c.whefs");
    whefs(&["create", s(&container)]);
    let point = dir.path().join("m");
    std::fs::create_dir(&point).unwrap();
    let mut child = Command::new(WHEFS)
        .args(["mount", "--foreground", s(&container), s(&point)])
        .spawn()
        .unwrap();
    assert!(
        wait_mounted(&point, true, Duration::from_secs(10)),
        "mounted"
    );
    std::fs::write(point.join("f"), b"before SIGTERM").unwrap();
    // SAFETY: signals a child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(mounted_type(&point).is_none(), "unmounted");
    let fs = whefs::Fs::open_read_only(&container).unwrap();
    assert_eq!(fs.read("f").unwrap(), b"before SIGTERM");
    fs.check().unwrap();
}

#[test]
fn mount_errors_are_reported_and_leave_nothing_mounted() {
    if !fuse_available("errors") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let point = dir.path().join("m");
    std::fs::create_dir(&point).unwrap();
    let missing = dir.path().join("missing.whefs");
    std::fs::write(&missing, b"").unwrap();
    std::fs::remove_file(&missing).unwrap();
    let out = Command::new(WHEFS)
        .args(["mount", s(&missing), s(&point)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "no such container");
    let junk = dir.path().join("junk");
    std::fs::write(&junk, vec![0u8; 8192]).unwrap();
    let out = Command::new(WHEFS)
        .args(["mount", s(&junk), s(&point)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "not a container");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a whefs container"));
    assert!(mounted_type(&point).is_none());
    let out = Command::new(WHEFS)
        .args(["umount", s(&point)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "umount of what is not mounted");
}
