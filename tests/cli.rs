//! Tests of the `whefs` command-line tool: each runs the built binary in a
//! fresh temporary directory and checks what matters to a user or a script —
//! the bytes that come back, the output, and the exit status. Trees and
//! globs are in `cli_trees.rs`, archives and embed in `cli_archive.rs`,
//! JSON, progress bars and help in `cli_output.rs`.

mod cli_common;

use cli_common::*;

#[test]
fn create_makes_a_container_and_refuses_an_existing_file() {
    let s = Sandbox::empty();
    assert!(s.ok(&["create", C]).is_empty(), "create prints nothing");
    assert!(exists(&s.path(C)));
    let err = s.fails(&["create", C], EXISTS);
    assert!(err.contains("exists"), "{err}");
    std::fs::write(s.path("plain.txt"), b"not a container").expect("write a host file");
    s.fails(&["create", "plain.txt"], EXISTS);
    assert_eq!(
        std::fs::read(s.path("plain.txt")).expect("read it back"),
        b"not a container"
    );
}

#[test]
fn put_and_get_round_trip_binary_data_with_nul_bytes() {
    let s = Sandbox::with_container();
    let small = b"a\0b\0\0c\xff\0".to_vec();
    let large = pattern(300 * 1024 + 17, 1);
    std::fs::write(s.path("small.bin"), &small).expect("write host file");
    std::fs::write(s.path("large.bin"), &large).expect("write host file");

    s.ok(&["put", C, "small.bin"]);
    s.ok(&["put", "-p", C, "large.bin", "/bin/data/"]);
    let out = s.run_with_stdin(&["put", C, "-", "/stdin.bin"], &large);
    assert!(out.status.success(), "put from stdin: {}", stderr(&out));

    assert_eq!(s.ok(&["get", C, "/small.bin"]), small, "get to stdout");
    assert_eq!(
        s.ok(&["get", C, "bin/data/large.bin", "-"]),
        large,
        "get to stdout with -"
    );
    assert_eq!(
        s.ok(&["get", C, "/stdin.bin"]),
        large,
        "a file put from stdin"
    );
    s.ok(&["get", C, "/bin/data/large.bin", "copy.bin"]);
    assert_eq!(
        std::fs::read(s.path("copy.bin")).expect("read copy"),
        large,
        "get to a host file"
    );
    std::fs::create_dir(s.path("out")).expect("make a host dir");
    s.ok(&["get", C, "/small.bin", "out"]);
    assert_eq!(
        std::fs::read(s.path("out/small.bin")).expect("read copy"),
        small,
        "get into a host dir"
    );
}

#[test]
fn put_replaces_an_existing_file() {
    let s = Sandbox::with_container();
    s.run_with_stdin(&["put", C, "-", "/f"], b"first version, rather long");
    let out = s.run_with_stdin(&["put", C, "-", "/f"], b"second");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(s.ok(&["cat", C, "/f"]), b"second");
}

#[test]
fn a_failed_put_keeps_the_old_content() {
    let s = Sandbox::with_container();
    let out = s.run_with_stdin(&["put", C, "-", "/f"], b"precious");
    assert!(out.status.success(), "{}", stderr(&out));
    // Reading address 0 of a process's memory fails with EIO: a source
    // that breaks after the destination was opened (and truncated).
    let out = s.run(&["put", C, "/proc/self/mem", "/f"]);
    assert!(
        !out.status.success(),
        "put of an unreadable source succeeded"
    );
    assert!(stderr(&out).starts_with("whefs: "), "{}", stderr(&out));
    assert_eq!(s.ok(&["cat", C, "/f"]), b"precious");
    s.ok(&["check", C]);
}

#[test]
fn put_into_a_missing_directory_needs_parents() {
    let s = Sandbox::with_container();
    std::fs::write(s.path("x.txt"), b"x").expect("write host file");
    s.fails(&["put", C, "x.txt", "/no/such/dir/x.txt"], NOT_FOUND);
    s.ok(&["put", "--parents", C, "x.txt", "/no/such/dir/x.txt"]);
    assert_eq!(s.ok(&["cat", C, "/no/such/dir/x.txt"]), b"x");
    s.fails(&["put", C, "missing-host-file", "/m"], NOT_FOUND);
    s.fails(&["put", C, "-"], USAGE);
}

#[test]
fn ls_lists_names_in_short_long_and_recursive_form() {
    let s = Sandbox::with_container();
    s.ok(&["mkdir", "-p", C, "/docs/notes"]);
    s.run_with_stdin(&["put", C, "-", "/docs/readme.txt"], b"twelve bytes");
    s.run_with_stdin(&["put", C, "-", "/docs/notes/a.txt"], b"a");

    assert_eq!(s.ok_text(&["ls", C]), "docs\n");
    assert_eq!(s.ok_text(&["ls", C, "/docs"]), "notes\nreadme.txt\n");
    let long = s.ok_text(&["ls", "-l", C, "docs"]);
    let lines: Vec<Vec<&str>> = long
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 2, "{long}");
    assert_eq!(
        (lines[0][0], *lines[0].last().expect("a name")),
        ("dir", "notes"),
        "{long}"
    );
    assert_eq!((lines[1][0], lines[1][1]), ("file", "12"), "{long}");
    assert_eq!(*lines[1].last().expect("a name"), "readme.txt", "{long}");
    assert_eq!(
        s.ok_text(&["ls", "-R", C, "/"]),
        "/docs\n/docs/notes\n/docs/notes/a.txt\n/docs/readme.txt\n"
    );
    assert_eq!(
        s.ok_text(&["ls", C, "/docs/readme.txt"]),
        "/docs/readme.txt\n",
        "ls of a file names it"
    );
    s.fails(&["ls", C, "/nothing"], NOT_FOUND);
}

#[test]
fn mkdir_p_creates_missing_parents_and_plain_mkdir_does_not() {
    let s = Sandbox::with_container();
    s.fails(&["mkdir", C, "/p/q/r"], NOT_FOUND);
    s.ok(&["mkdir", "-p", C, "/p/q/r"]);
    assert!(s
        .ok_text(&["stat", C, "/p/q/r"])
        .contains("kind:  directory"));
    s.ok(&["mkdir", "-p", C, "/p/q/r"]);
    s.fails(&["mkdir", C, "/p"], EXISTS);
    s.ok(&["mkdir", C, "/p/other", "p/third"]);
    assert_eq!(s.ok_text(&["ls", C, "p"]), "other\nq\nthird\n");
}

#[test]
fn mv_renames_files_and_moves_into_directories() {
    let s = Sandbox::with_container();
    s.run_with_stdin(&["put", C, "-", "/x"], b"moving content");
    s.ok(&["mv", C, "/x", "/y"]);
    s.fails(&["stat", C, "/x"], NOT_FOUND);
    assert_eq!(s.ok(&["cat", C, "/y"]), b"moving content");
    s.ok(&["mkdir", C, "/d"]);
    s.ok(&["mv", C, "/y", "/d"]);
    assert_eq!(s.ok(&["cat", C, "/d/y"]), b"moving content");
    s.ok(&["mv", C, "/d", "/e"]);
    assert_eq!(s.ok(&["cat", C, "/e/y"]), b"moving content");
    s.fails(&["mv", C, "/nothing", "/z"], NOT_FOUND);
}

#[test]
fn rm_and_rmdir_remove_what_they_should_and_refuse_the_rest() {
    let s = Sandbox::with_container();
    s.ok(&["mkdir", "-p", C, "/d/sub"]);
    s.run_with_stdin(&["put", C, "-", "/d/sub/f"], b"f");
    s.run_with_stdin(&["put", C, "-", "/g"], b"g");

    s.ok(&["rm", C, "/g"]);
    s.fails(&["stat", C, "/g"], NOT_FOUND);
    s.fails(&["rm", C, "/g"], NOT_FOUND);
    s.ok(&["rm", "-f", C, "/g"]);
    s.fails(&["rmdir", C, "/d/sub"], KIND);
    s.fails(&["rm", C, "/d"], KIND);
    s.ok(&["rm", "-r", C, "/d"]);
    assert_eq!(s.ok_text(&["ls", C]), "");
    s.ok(&["mkdir", C, "/empty"]);
    s.ok(&["rmdir", C, "/empty"]);
    s.fails(&["stat", C, "/empty"], NOT_FOUND);
    s.ok(&["check", C]);
}

#[test]
fn stat_of_a_missing_path_fails_with_not_found_on_stderr() {
    let s = Sandbox::with_container();
    let out = s.run(&["stat", C, "/no/such/file"]);
    assert_eq!(out.status.code(), Some(NOT_FOUND));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.starts_with("whefs: stat /no/such/file: "), "{err}");
    assert!(err.contains("not found"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn stat_shows_kind_size_and_inode() {
    let s = Sandbox::with_container();
    s.run_with_stdin(&["put", C, "-", "/f"], b"12345");
    let text = s.ok_text(&["stat", C, "/f", "/"]);
    assert!(
        text.contains("path:  /f\nkind:  file\nsize:  5\nino:   "),
        "{text}"
    );
    assert!(text.contains("path:  /\nkind:  directory"), "{text}");
}

#[test]
fn cat_prints_files_in_order_and_goes_on_after_a_missing_one() {
    let s = Sandbox::with_container();
    s.run_with_stdin(&["put", C, "-", "/a"], b"A\0");
    s.run_with_stdin(&["put", C, "-", "/b"], b"B");
    let out = s.run(&["cat", C, "/a", "/missing", "/b"]);
    assert_eq!(out.stdout, b"A\0B");
    assert_eq!(out.status.code(), Some(NOT_FOUND));
    assert!(stderr(&out).contains("/missing"), "{}", stderr(&out));
}

#[test]
fn info_shows_page_size_label_and_counts() {
    let s = Sandbox::empty();
    s.ok(&["create", "--page-size", "8k", "--label", "my box", C]);
    s.ok(&["mkdir", C, "/d"]);
    s.run_with_stdin(&["put", C, "-", "/d/f"], b"f");
    let info = s.ok_text(&["info", C]);
    let field = |name: &str| -> String {
        let line = info
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {info}"));
        line[name.len()..].trim().to_string()
    };
    assert_eq!(field("page size:"), "8192");
    assert_eq!(field("label:"), "my box");
    assert_eq!(field("files:"), "1");
    assert_eq!(field("dirs:"), "2", "the root and /d");
    let on_disk = std::fs::metadata(s.path(C)).expect("stat container").len();
    assert!(
        field("file size:").starts_with(&format!("{on_disk} ")),
        "{info}"
    );
}

#[test]
fn locks_shows_a_writer_of_another_process() {
    use std::io::Write as _;
    let s = Sandbox::empty();
    s.ok(&["create", C]);
    let idle = s.ok_text(&["locks", C]);
    assert!(idle.contains("file writers (ino):  -"), "{idle}");
    // A `put` from a pipe holds its file's writer lock until the pipe closes.
    let mut writer = std::process::Command::new(env!("CARGO_BIN_EXE_whefs"))
        .current_dir(s.path("."))
        .args(["put", C, "-", "/slow"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("start whefs put");
    let mut stdin = writer.stdin.take().expect("piped stdin");
    stdin.write_all(&[7u8; 100_000]).expect("feed put");
    stdin.flush().expect("flush");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = String::new();
    while std::time::Instant::now() < deadline {
        seen = s.ok_text(&["locks", C]);
        if !seen.contains("file writers (ino):  -") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(seen.contains("file writers (ino):  2"), "{seen}");
    drop(stdin);
    assert!(writer.wait().expect("wait for put").success());
    assert!(s.ok_text(&["locks", C]).contains("file writers (ino):  -"));
}

#[test]
fn missing_container_is_not_found_and_garbage_is_not_a_container() {
    let s = Sandbox::empty();
    s.fails(&["ls", "nothing.whefs"], NOT_FOUND);
    s.fails(&["put", "nothing.whefs", "-", "/x"], NOT_FOUND);
    assert!(
        !exists(&s.path("nothing.whefs")),
        "a failed open must not create the container"
    );
    std::fs::write(s.path("junk"), vec![0x5a; 16384]).expect("write junk");
    s.fails(&["ls", "junk"], CORRUPT);
}

#[test]
fn read_only_refuses_changes() {
    let s = Sandbox::with_container();
    s.fails(&["--read-only", "mkdir", C, "/x"], ACCESS);
    s.fails(&["mkdir", "--read-only", C, "/x"], ACCESS);
    let out = s.run_with_stdin(&["put", "--read-only", C, "-", "/y"], b"y");
    assert_eq!(out.status.code(), Some(ACCESS), "{}", stderr(&out));
    assert_eq!(s.ok_text(&["ls", "--read-only", C]), "");
    s.fails(&["--read-only", "create", "new.whefs"], USAGE);
}

#[test]
fn usage_errors_exit_2() {
    let s = Sandbox::with_container();
    assert_eq!(s.run(&[]).status.code(), Some(USAGE));
    assert_eq!(s.run(&["ls"]).status.code(), Some(USAGE));
    assert_eq!(s.run(&["frobnicate", C]).status.code(), Some(USAGE));
    assert_eq!(
        s.run(&["create", "--page-size", "lots", "x.whefs"])
            .status
            .code(),
        Some(USAGE)
    );
    assert_eq!(
        s.run(&["--durability", "sometimes", "ls", C]).status.code(),
        Some(USAGE)
    );
    let help = s.ok_text(&["--help"]);
    assert!(
        help.contains("Exit status:") && help.contains("not found"),
        "{help}"
    );
}

#[test]
fn a_bad_page_size_is_refused_without_leaving_a_container() {
    let s = Sandbox::empty();
    let out = s.run(&["create", "--page-size", "1000", C]);
    assert!(!out.status.success());
    assert!(stderr(&out).starts_with("whefs: "), "{}", stderr(&out));
    assert!(!exists(&s.path(C)));
}

#[test]
fn check_is_clean_on_a_fresh_container() {
    let s = Sandbox::with_container();
    let out = s.run(&["check", C]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("clean"));
}

#[test]
fn check_reports_a_flipped_data_byte_as_corrupt() {
    let s = Sandbox::with_container();
    // 64 KiB spans many pages, so it cannot live inline in its inode; the
    // marker lets the test find the data on disk without knowing the format.
    let marker = b"<<whefs cli test marker 5f1c0e9a>>";
    let mut data = pattern(64 * 1024, 7);
    data[..marker.len()].copy_from_slice(marker);
    std::fs::write(s.path("data.bin"), &data).expect("write host file");
    s.ok(&["put", C, "data.bin", "/data.bin"]);
    // One more commit: damage to a page of the latest commit is a torn
    // commit, which open passes over for the one before (docs/format.md §7).
    s.ok(&["mkdir", C, "/later"]);
    s.ok(&["check", C]);

    let mut bytes = std::fs::read(s.path(C)).expect("read the container");
    let hits = find_all(&bytes, marker);
    assert!(!hits.is_empty(), "the marker is not in the container file");
    for at in hits {
        bytes[at + marker.len() / 2] ^= 0x01;
    }
    std::fs::write(s.path(C), &bytes).expect("write the damaged container");

    let err = s.fails(&["check", C], GENERIC);
    assert!(err.contains("corrupt"), "{err}");
    let err = s.fails(&["get", C, "/data.bin"], CORRUPT);
    assert!(err.contains("corrupt"), "{err}");
}

#[test]
fn demo_runs_clean_in_a_temporary_directory() {
    let s = Sandbox::empty();
    let out = s.run(&["demo"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "demo failed:\n{text}\n{}",
        stderr(&out)
    );
    assert!(text.lines().any(|l| l.starts_with("ok ")), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert!(exists(&s.path("demo.whefs")));
    s.ok(&["check", "demo.whefs"]);

    let again = s.run(&["demo"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("removed the old ./demo.whefs"));
    s.fails(&["demo", "demo.whefs"], EXISTS);
}
