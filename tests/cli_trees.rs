//! Tests of the `whefs` tool on whole trees: `put -r`/`get -r` round trips
//! compared byte for byte (with modes and mtimes), one commit per command
//! (counted in generations, and shown by killing a put mid-way), `get`
//! never writing outside its target, `cp -r`, globs, and `rm` all or
//! nothing.

mod cli_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_common::*;

#[test]
fn put_r_and_get_r_round_trip_an_odd_tree_byte_for_byte() {
    let s = Sandbox::with_container();
    make_odd_tree(&s.path("tree"));
    let before = s.generation();
    assert!(s.ok(&["put", "-r", "-p", C, "tree", "/backup/"]).is_empty());
    assert_eq!(s.generation(), before + 1, "the whole put is one commit");
    let listed = s.ok_text(&["ls", "-R", C, "/backup"]);
    assert!(
        listed.contains("/backup/tree/docs/ünïcødé ✓/naïve café.txt\n"),
        "{listed}"
    );
    assert!(listed.contains("/backup/tree/empty dir\n"), "{listed}");
    s.ok(&["get", "-r", C, "/backup/tree", "restored"]);
    let (original, restored) = (read_tree(&s.path("tree")), read_tree(&s.path("restored")));
    assert_eq!(original.len(), restored.len());
    for (path, node) in &original {
        assert_eq!(restored.get(path), Some(node), "{}", path.display());
    }
    s.ok(&["check", C]);
}

#[test]
fn put_r_accepts_r_upper_case_merges_and_replaces() {
    let s = Sandbox::with_container();
    std::fs::create_dir_all(s.path("t/sub")).unwrap();
    std::fs::write(s.path("t/sub/f"), b"one").unwrap();
    s.ok(&["put", "-R", C, "t"]);
    std::fs::write(s.path("t/sub/f"), b"two").unwrap();
    std::fs::write(s.path("t/g"), b"new").unwrap();
    s.ok(&["put", "-r", C, "t", "/"]);
    assert_eq!(s.ok(&["cat", C, "/t/sub/f", "/t/g"]), b"twonew");
    // `put -r . DEST` copies the contents of `.`.
    std::fs::create_dir(s.path("dot")).unwrap();
    std::fs::write(s.path("dot/x"), b"x").unwrap();
    let out = Command::new(whefs_bin())
        .current_dir(s.path("dot"))
        .args(["put", "-r", "../c.whefs", ".", "/contents"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(s.ok(&["cat", C, "/contents/x"]), b"x");
}

#[test]
fn put_of_a_directory_without_r_fails_and_changes_nothing() {
    let s = Sandbox::with_container();
    std::fs::create_dir(s.path("dir")).unwrap();
    let before = s.generation();
    let err = s.fails(&["put", C, "dir"], KIND);
    assert!(err.contains("-r"), "{err}");
    s.fails(&["put", "-r", C, "missing-dir"], NOT_FOUND);
    s.fails(&["put", "-r", C, "dir", "/no/such/parent/x"], NOT_FOUND);
    assert_eq!(s.generation(), before);
    s.ok(&["put", "-r", "-p", C, "dir", "/made/parent/x"]);
    assert_eq!(s.ok_text(&["ls", C, "/made/parent"]), "x\n");
}

#[test]
fn put_keeps_a_single_files_mode_and_mtime() {
    let s = Sandbox::with_container();
    std::fs::write(s.path("f"), b"data").unwrap();
    set_attrs(&s.path("f"), 0o751, 1_234_567_890_987_654_321);
    s.ok(&["put", C, "f", "/f"]);
    let stat = s.json(&["stat", "--json", C, "/f"]);
    assert_eq!(stat[0]["mode"], 0o751);
    assert_eq!(stat[0]["mtime_ns"], 1_234_567_890_987_654_321_i64);
}

#[test]
fn put_r_skips_symlinks_with_a_warning_and_follows_them_with_l() {
    let s = Sandbox::with_container();
    std::fs::create_dir_all(s.path("t/real")).unwrap();
    std::fs::write(s.path("t/real/f"), b"target").unwrap();
    std::os::unix::fs::symlink("real/f", s.path("t/link")).unwrap();
    std::os::unix::fs::symlink("real", s.path("t/dirlink")).unwrap();
    std::os::unix::fs::symlink("..", s.path("t/real/up")).unwrap(); // a loop under -L
    let out = s.run(&["put", "-r", C, "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("t/link: skipped, a symbolic link"), "{err}");
    assert_eq!(s.ok_text(&["ls", C, "/t"]), "real\n");
    let quiet = s.run(&["put", "-q", "-r", C, "t", "/quiet"]);
    assert!(
        quiet.status.success() && quiet.stderr.is_empty(),
        "{}",
        stderr(&quiet)
    );
    let out = s.run(&["put", "-r", "-L", C, "t", "/followed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("a link back to a directory above it"));
    assert_eq!(
        s.ok(&["cat", C, "/followed/link", "/followed/dirlink/f"]),
        b"targettarget"
    );
}

#[test]
fn put_r_skips_the_container_itself() {
    let s = Sandbox::with_container();
    std::fs::write(s.path("other"), b"o").unwrap();
    let out = Command::new(whefs_bin())
        .current_dir(s.path("."))
        .args(["put", "-r", C, ".", "/all"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("the container being written"));
    assert_eq!(s.ok_text(&["ls", C, "/all"]), "other\n");
}

/// A tree `put` killed with SIGKILL while it streams leaves none of the
/// tree: the test waits until the put has read well into the tree (its
/// open files show in /proc) and the container has grown by the staged
/// data, so a put that committed file by file would be caught.
#[test]
fn put_r_killed_mid_way_leaves_none_of_the_tree() {
    let s = Sandbox::with_container();
    let files = 24;
    let tree = s.path("big");
    std::fs::create_dir(&tree).unwrap();
    let block = pattern(1 << 20, 5);
    for i in 0..files {
        let mut data = block.clone();
        data[..8].copy_from_slice(&(i as u64).to_le_bytes());
        std::fs::write(tree.join(format!("f{i:02}")), &data).unwrap();
    }
    let empty_size = std::fs::metadata(s.path(C)).unwrap().len();
    let mut child = Command::new(whefs_bin())
        .current_dir(s.path("."))
        .args(["put", "-r", C, "big", "/big"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fd_dir = format!("/proc/{}/fd", child.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reading = None;
    while reading.is_none() {
        assert!(Instant::now() < deadline, "put never got half-way");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("put finished ({status}) before it could be killed: make the tree bigger");
        }
        // The file the put has open now, if it is one of the second half.
        for fd in std::fs::read_dir(&fd_dir).into_iter().flatten().flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if target.starts_with(&tree) && name >= "f12" {
                reading = Some(name.to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let grown = std::fs::metadata(s.path(C)).unwrap().len() - empty_size;
    assert!(
        grown >= 8 << 20,
        "killed while reading {reading:?}, but only {grown} bytes were staged"
    );
    s.fails(&["stat", C, "/big"], NOT_FOUND);
    assert_eq!(s.ok_text(&["ls", C]), "");
    assert_eq!(s.json(&["info", "--json", C])["files"], 0);
    s.ok(&["check", C]);
    // The container is fine for the next put.
    s.ok(&["put", "-r", C, "big", "/big"]);
    assert_eq!(s.ok_text(&["ls", C, "/big"]).lines().count(), files);
}

#[test]
fn get_r_does_not_replace_host_files_without_force() {
    let s = Sandbox::with_container();
    s.put("/d/f", b"from the container");
    s.put("/d/g", b"g");
    std::fs::create_dir_all(s.path("out/d")).unwrap();
    std::fs::write(s.path("out/d/f"), b"precious").unwrap();
    let err = s.fails(&["get", "-r", C, "/d", "out"], EXISTS);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(s.path("out/d/f")).unwrap(), b"precious");
    assert!(!exists(&s.path("out/d/g")), "a refused get writes nothing");
    // A single file too.
    s.fails(&["get", C, "/d/f", "out/d/f"], EXISTS);
    s.ok(&["get", "-r", "--force", C, "/d", "out"]);
    assert_eq!(
        std::fs::read(s.path("out/d/f")).unwrap(),
        b"from the container"
    );
    assert_eq!(std::fs::read(s.path("out/d/g")).unwrap(), b"g");
    // Only the files: no temporary left behind.
    let mut names: Vec<_> = std::fs::read_dir(s.path("out/d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["f", "g"]);
}

#[test]
fn get_r_never_writes_through_a_symlink_in_the_target() {
    let s = Sandbox::with_container();
    s.put("/sub/evil.txt", b"escaped");
    s.put("/planted", b"escaped too");
    std::fs::create_dir_all(s.path("outside")).unwrap();
    std::fs::create_dir_all(s.path("target")).unwrap();
    // A directory component and a file that are symlinks out of the target.
    std::os::unix::fs::symlink(s.path("outside"), s.path("target/sub")).unwrap();
    std::os::unix::fs::symlink(s.path("outside/planted"), s.path("target/planted")).unwrap();
    for force in [false, true] {
        let mut args = vec!["get", "-r", C, "/sub", "target"];
        if force {
            args.insert(2, "--force");
        }
        let err = s.fails(&args, ACCESS);
        assert!(err.contains("symbolic link"), "{err}");
    }
    assert_eq!(std::fs::read_dir(s.path("outside")).unwrap().count(), 0);
    // With --force a symlinked file is replaced itself, never written through.
    s.ok(&["get", "--force", C, "/planted", "target/planted"]);
    assert!(!exists(&s.path("outside/planted")));
    assert_eq!(
        std::fs::read(s.path("target/planted")).unwrap(),
        b"escaped too"
    );
    assert!(!std::fs::symlink_metadata(s.path("target/planted"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn get_puts_absolute_container_paths_inside_the_target() {
    let s = Sandbox::with_container();
    // A container path that spells a real host path.
    let victim = s.path("victim.txt");
    std::fs::write(&victim, b"untouched").unwrap();
    let inside = victim.to_str().unwrap().to_string();
    s.put(&inside, b"from the container");
    s.ok(&["get", "-r", C, "/", "out"]);
    assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
    let landed = s.path("out").join(inside.trim_start_matches('/'));
    assert_eq!(std::fs::read(landed).unwrap(), b"from the container");
    // `..` cannot name anything in a container.
    s.fails(&["get", C, "/../victim.txt", "x"], USAGE);
    s.fails(&["get", "-r", C, "../..", "x"], USAGE);
}

#[test]
fn get_of_a_directory_needs_r_and_several_matches_need_a_directory() {
    let s = Sandbox::with_container();
    s.put("/d/a.txt", b"a");
    s.put("/d/b.txt", b"b");
    let err = s.fails(&["get", C, "/d", "x"], KIND);
    assert!(err.contains("-r"), "{err}");
    s.fails(&["get", C, "/d/*.txt", "not-a-dir"], KIND);
    s.fails(&["get", C, "/d/*.txt", "-"], USAGE);
    s.fails(&["get", C, "/d/*.zip", "."], NOT_FOUND);
    std::fs::create_dir(s.path("into")).unwrap();
    s.ok(&["get", C, "/d/*.txt", "into"]);
    assert_eq!(std::fs::read(s.path("into/a.txt")).unwrap(), b"a");
    assert_eq!(std::fs::read(s.path("into/b.txt")).unwrap(), b"b");
    s.fails(&["get", C, "/missing", "x"], NOT_FOUND);
}

#[test]
fn cp_copies_files_and_trees_in_one_commit() {
    let s = Sandbox::with_container();
    make_odd_tree(&s.path("tree"));
    s.ok(&["put", "-r", C, "tree", "/src"]);
    let before = s.generation();
    s.ok(&["cp", "-r", C, "/src", "/copy"]);
    assert_eq!(s.generation(), before + 1);
    s.ok(&["get", "-r", C, "/copy", "out"]);
    let (a, b) = (read_tree(&s.path("tree")), read_tree(&s.path("out")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, node) in &a {
        match (node, &b[path]) {
            (
                Node::File { data, mode, .. },
                Node::File {
                    data: d, mode: m, ..
                },
            ) => {
                assert_eq!((data, mode), (d, m), "{}", path.display())
            }
            (Node::Dir { .. }, Node::Dir { .. }) => {}
            _ => panic!("{}: kind differs", path.display()),
        }
    }
    s.ok(&["mkdir", C, "/into"]);
    s.ok(&["cp", C, "/src/docs/readme.txt", "/into"]);
    assert_eq!(s.ok(&["cat", C, "/into/readme.txt"]), b"read me\n");
    s.fails(&["cp", C, "/src", "/x"], KIND);
    s.fails(&["cp", "-r", C, "/src", "/src/docs/inside"], USAGE);
    s.fails(&["cp", C, "/nothing", "/x"], NOT_FOUND);
    s.fails(&["cp", "-r", C, "/src", "/no/parent"], NOT_FOUND);
    s.fails(&["cp", "--read-only", C, "/into/readme.txt", "/y"], ACCESS);
    s.ok(&["check", C]);
}

#[test]
fn globs_select_paths_for_ls_cat_get_rm_and_stat() {
    let s = Sandbox::with_container();
    for (path, data) in [
        ("/src/a.c", "A"),
        ("/src/b.h", "B"),
        ("/src/lib/c.c", "C"),
        ("/notes.txt", "N"),
    ] {
        s.put(path, data.as_bytes());
    }
    assert_eq!(
        s.ok_text(&["ls", C, "/src/**/*.c"]),
        "/src/a.c\n/src/lib/c.c\n"
    );
    assert_eq!(s.ok(&["cat", C, "src/**/*.c"]), b"AC");
    let stat = s.json(&["stat", "--json", C, "/src/*.[ch]"]);
    let paths: Vec<_> = stat
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, ["/src/a.c", "/src/b.h"]);
    std::fs::create_dir(s.path("out")).unwrap();
    s.ok(&["get", C, "/src/**/*.c", "out"]);
    assert_eq!(std::fs::read(s.path("out/c.c")).unwrap(), b"C");
    s.fails(&["cat", C, "/*.zip"], NOT_FOUND);
    s.fails(&["stat", C, "/*.zip"], NOT_FOUND);
    s.fails(&["ls", C, "/*.zip"], NOT_FOUND);
    s.fails(&["rm", C, "/*.zip"], NOT_FOUND);
    s.ok(&["rm", "-f", C, "/*.zip"]);
    s.ok(&["rm", C, "/src/**/*.c"]);
    assert_eq!(s.ok_text(&["ls", "-R", C, "/src"]), "/src/b.h\n/src/lib\n");
}

#[test]
fn rm_of_several_paths_removes_all_or_nothing() {
    let s = Sandbox::with_container();
    s.put("/d/x", b"x");
    s.put("/f", b"f");
    let before = s.generation();
    s.fails(&["rm", C, "/f", "/missing"], NOT_FOUND);
    s.fails(&["rm", C, "/f", "/d"], KIND);
    s.fails(&["rm", "-r", C, "/"], USAGE);
    assert_eq!(s.generation(), before, "a refused rm commits nothing");
    assert_eq!(s.ok(&["cat", C, "/f"]), b"f");
    // A directory and something inside it, named twice: one commit.
    s.ok(&["rm", "-r", C, "/f", "/d", "/d/x", "/f"]);
    assert_eq!(s.generation(), before + 1);
    assert_eq!(s.ok_text(&["ls", C]), "");
}

#[test]
fn put_and_get_follow_the_container_first_argument_order_with_stdin_and_stdout() {
    let s = Sandbox::with_container();
    s.put("/piped", b"through a pipe");
    assert_eq!(s.ok(&["get", C, "/piped", "-"]), b"through a pipe");
    assert_eq!(s.ok(&["get", C, "/piped"]), b"through a pipe");
    s.fails(&["put", C, "-"], USAGE); // stdin has no name to use
    let out = s.run(&["put", C, Path::new("nowhere").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(NOT_FOUND));
}
