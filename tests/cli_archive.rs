//! Tests of `whefs export --tar`, `import --tar` and `embed`: archives
//! checked against the system's GNU tar in both directions (long names,
//! empty directories, binary and empty files, mtimes to the nanosecond),
//! and an embedded image compiled with `cc` against the built library and
//! run with no container on disk.

mod cli_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cli_common::*;

/// Runs a host command in the sandbox, asserting success.
fn sh(s: &Sandbox, script: &str) -> Output {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(s.path("."))
        .env("WHEFS", whefs_bin())
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{script}: {}\n{}",
        out.status,
        stderr(&out)
    );
    out
}

/// Asserts two host trees hold the same paths, bytes, modes and mtimes.
fn assert_same_tree(a: &Path, b: &Path) {
    let (a, b) = (read_tree(a), read_tree(b));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same paths"
    );
    for (path, node) in &a {
        assert_eq!(&b[path], node, "{}", path.display());
    }
}

#[test]
fn export_tar_is_read_by_system_tar_byte_for_byte() {
    let s = Sandbox::with_container();
    make_odd_tree(&s.path("tree"));
    s.ok(&["put", "-r", C, "tree"]);
    // To a file, and to stdout through a pipe.
    s.ok(&["export", "--tar", C, "/tree", "-f", "out.tar"]);
    std::fs::create_dir(s.path("x")).unwrap();
    sh(&s, "tar -xf out.tar -C x");
    assert_same_tree(&s.path("tree"), &s.path("x/tree"));
    std::fs::create_dir(s.path("piped")).unwrap();
    sh(&s, "\"$WHEFS\" export --tar c.whefs / | tar -x -C piped");
    assert_same_tree(&s.path("tree"), &s.path("piped/tree"));
    let listing = String::from_utf8(sh(&s, "tar -tf out.tar").stdout).unwrap();
    assert!(listing.contains("tree/empty dir/\n"), "{listing}");
    assert!(
        listing.contains(&format!("{}.txt\n", "n".repeat(120))),
        "{listing}"
    );
}

#[test]
fn import_tar_reads_what_system_tar_writes() {
    for format in ["pax", "gnu", "ustar"] {
        let s = Sandbox::with_container();
        make_odd_tree(&s.path("tree"));
        let before = s.generation();
        if format == "ustar" {
            // ustar holds neither the 120-byte name nor nanoseconds.
            std::fs::remove_dir_all(s.path("tree/long-names")).unwrap();
            sh(&s, "tar --format=ustar -cf in.tar tree");
        } else {
            sh(&s, &format!("tar --format={format} -cf in.tar tree"));
        }
        s.ok(&["import", "--tar", C, "/imported", "-f", "in.tar"]);
        assert_eq!(s.generation(), before + 1, "{format}: one commit");
        s.ok(&["get", "-r", C, "/imported/tree", "back"]);
        if format == "pax" {
            assert_same_tree(&s.path("tree"), &s.path("back"));
        } else {
            // Whole seconds only: compare with the times cut to seconds.
            let (a, b) = (read_tree(&s.path("tree")), read_tree(&s.path("back")));
            assert_eq!(a.len(), b.len(), "{format}");
            for (path, node) in &a {
                let cut = |n: &Node| match n.clone() {
                    Node::Dir { mode, mtime_ns } => Node::Dir {
                        mode,
                        mtime_ns: mtime_ns - mtime_ns % 1_000_000_000,
                    },
                    Node::File {
                        data,
                        mode,
                        mtime_ns,
                    } => Node::File {
                        data,
                        mode,
                        mtime_ns: mtime_ns - mtime_ns % 1_000_000_000,
                    },
                };
                assert_eq!(cut(&b[path]), cut(node), "{format}: {}", path.display());
            }
        }
        s.ok(&["check", C]);
    }
}

#[test]
fn import_tar_from_stdin_skips_links_with_a_warning() {
    let s = Sandbox::with_container();
    std::fs::create_dir(s.path("t")).unwrap();
    std::fs::write(s.path("t/f"), b"file").unwrap();
    std::os::unix::fs::symlink("f", s.path("t/link")).unwrap();
    let out = sh(&s, "tar -cf - t | \"$WHEFS\" import --tar c.whefs");
    assert!(stderr(&out).contains("t/link: skipped, a symbolic link"));
    assert_eq!(s.ok_text(&["ls", C, "/t"]), "f\n");
    assert_eq!(s.ok(&["cat", C, "/t/f"]), b"file");
}

#[test]
fn import_tar_refuses_dot_dot_members_and_bad_archives_and_commits_nothing() {
    let s = Sandbox::with_container();
    std::fs::create_dir_all(s.path("a/b")).unwrap();
    std::fs::write(s.path("a/ok"), b"ok").unwrap();
    std::fs::write(s.path("a/escape"), b"x").unwrap();
    // -P keeps `../` in the member name.
    sh(&s, "cd a/b && tar -P -cf ../../evil.tar ../ok ../escape");
    let before = s.generation();
    let err = s.fails(&["import", "--tar", C, "-f", "evil.tar"], USAGE);
    assert!(err.contains(".."), "{err}");
    std::fs::write(s.path("garbage.tar"), pattern(4096, 3)).unwrap();
    let err = s.fails(&["import", "--tar", C, "-f", "garbage.tar"], GENERIC);
    assert!(err.contains("not a tar archive"), "{err}");
    // A truncated archive: the first file was read, but nothing lands.
    sh(&s, "tar -cf good.tar a && head -c 1500 good.tar > cut.tar");
    let err = s.fails(&["import", "--tar", C, "-f", "cut.tar"], GENERIC);
    assert!(err.contains("damaged"), "{err}");
    s.fails(&["import", "--tar", C, "-f", "missing.tar"], NOT_FOUND);
    let out = s.run(&["import", C, "-f", "good.tar"]); // --tar is required
    assert_eq!(out.status.code(), Some(USAGE), "{}", stderr(&out));
    assert_eq!(s.generation(), before);
    assert_eq!(s.ok_text(&["ls", C]), "");
    s.fails(
        &["export", "--tar", C, "/missing", "-f", "x.tar"],
        NOT_FOUND,
    );
    assert!(!exists(&s.path("x.tar")));
}

/// The directory holding the `libwhefs.a` cargo built for this test run:
/// `deps/` beside this test binary, or its parent.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let deps = exe.parent().expect("the test binary is in a directory");
    let found = [deps, deps.parent().unwrap_or(deps)]
        .into_iter()
        .find(|dir| dir.join("libwhefs.a").is_file());
    found
        .unwrap_or_else(|| panic!("libwhefs.a not found beside {}", exe.display()))
        .to_path_buf()
}

/// A C program that prints the files named on its command line from the
/// embedded container, then shows that the image is read-only.
const EMBED_MAIN: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include "box_image.h"

int main(int argc, char **argv)
{
    whefs_fs *fs = NULL;
    if (box_open(&fs) != WHEFS_OK) {
        fprintf(stderr, "open: %s\n", whefs_errmsg());
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        size_t len = 0;
        if (whefs_read_file(fs, argv[i], NULL, 0, &len) != WHEFS_ERR_RANGE && len != 0) {
            fprintf(stderr, "size of %s: %s\n", argv[i], whefs_errmsg());
            return 1;
        }
        char *buf = malloc(len + 1);
        if (!buf || whefs_read_file(fs, argv[i], buf, len + 1, &len) != WHEFS_OK) {
            fprintf(stderr, "read %s: %s\n", argv[i], whefs_errmsg());
            return 1;
        }
        fwrite(buf, 1, len, stdout);
        free(buf);
    }
    if (whefs_write_file(fs, "new", "x", 1) == WHEFS_OK) {
        fprintf(stderr, "the image took a write\n");
        return 1;
    }
    fprintf(stderr, "%zu bytes embedded\n", (size_t)box_size);
    return whefs_fs_close(fs) == WHEFS_OK ? 0 : 1;
}
"#;

#[test]
fn embed_output_compiles_and_reads_files_with_no_container_on_disk() {
    let s = Sandbox::with_container();
    let binary = pattern(70_000, 9);
    s.put("/docs/hello.txt", b"hello, embedded whefs\n");
    s.put("/data/blob.bin", &binary);
    s.ok(&["embed", C, "-o", "box_image.c", "--header", "--name", "box"]);
    assert!(exists(&s.path("box_image.h")));
    std::fs::write(s.path("main.c"), EMBED_MAIN).unwrap();
    let container_size = std::fs::metadata(s.path(C)).unwrap().len();
    std::fs::remove_file(s.path(C)).unwrap(); // nothing on disk to read
    let lib = lib_dir().join("libwhefs.a");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let out = Command::new("cc")
        .current_dir(s.path("."))
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-o", "reader"])
        .arg("-I")
        .arg(&include)
        .args(["main.c", "box_image.c"])
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-lrt", "-lutil", "-lgcc_s"])
        .output()
        .expect("run cc");
    assert!(out.status.success(), "cc: {}", stderr(&out));
    let run = Command::new(s.path("reader"))
        .args(["/docs/hello.txt", "/data/blob.bin"])
        .output()
        .expect("run the embedding program");
    assert!(run.status.success(), "{}", stderr(&run));
    let mut expected = b"hello, embedded whefs\n".to_vec();
    expected.extend_from_slice(&binary);
    assert_eq!(run.stdout, expected);
    assert_eq!(stderr(&run), format!("{container_size} bytes embedded\n"));
}

#[test]
fn embed_without_header_declares_its_symbols_and_refuses_bad_input() {
    let s = Sandbox::with_container();
    let source = s.ok_text(&["embed", C]);
    assert!(source.contains("int c_open(whefs_fs **out);"), "{source}");
    assert!(source.contains("const unsigned char c_data["), "{source}");
    s.fails(&["embed", C, "--name", "not-an-identifier"], USAGE);
    s.fails(&["embed", C, "--header"], USAGE);
    s.fails(&["embed", "missing.whefs", "-o", "m.c"], NOT_FOUND);
    std::fs::write(s.path("garbage"), pattern(8192, 1)).unwrap();
    s.fails(&["embed", "garbage", "-o", "g.c"], CORRUPT);
    assert!(!exists(&s.path("m.c")) && !exists(&s.path("g.c")));
}
