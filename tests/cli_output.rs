//! Tests of what `whefs` prints: `--json` documents (and JSON Lines for
//! `ls -R`) that parse and say what the container holds, progress bars
//! that appear under a pseudo-terminal and nowhere else, help for every
//! subcommand, and the exit status of every subcommand on a missing or a
//! garbage container.

mod cli_common;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_common::*;
use serde_json::Value;

#[test]
fn json_of_ls_stat_info_and_check_parses_and_tells_what_is_there() {
    let s = Sandbox::with_container();
    s.put("/docs/a.txt", b"hello");
    s.put("/docs/sub/b.bin", &pattern(20_000, 2));
    let ls = s.json(&["ls", "--json", C, "/docs"]);
    let entries = ls.as_array().expect("ls --json is an array");
    let row = |path: &str| {
        entries
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {ls}"))
    };
    assert_eq!(entries.len(), 2);
    assert_eq!(row("/docs/a.txt")["kind"], "file");
    assert_eq!(row("/docs/a.txt")["size"], 5);
    assert_eq!(row("/docs/sub")["kind"], "dir");
    let stat = s.json(&["stat", "--json", C, "/docs/sub/b.bin"]);
    assert_eq!(stat[0]["size"], 20_000);
    assert_eq!(stat[0]["mode"], 0o644);
    assert!(stat[0]["mtime"].as_str().unwrap().ends_with('Z'));
    let info = s.json(&["info", "--json", C]);
    assert_eq!(info["files"], 2);
    assert_eq!(info["dirs"], 3, "root, docs, sub");
    assert_eq!(info["page_size"], 4096);
    assert_eq!(
        info["file_size"],
        std::fs::metadata(s.path(C)).unwrap().len()
    );
    let check = s.json(&["check", "--json", C]);
    assert_eq!(check["clean"], true);
    assert_eq!(check["files"], 2);
    assert_eq!(check["generation"], info["generation"]);
}

#[test]
fn ls_r_json_is_one_object_per_line() {
    let s = Sandbox::with_container();
    for path in ["/a/1", "/a/2", "/a/b/3", "/c"] {
        s.put(path, path.as_bytes());
    }
    let out = s.ok_text(&["ls", "-R", "--json", C]);
    let paths: Vec<String> = out
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("each line is JSON");
            v["path"].as_str().expect("a path").to_string()
        })
        .collect();
    assert_eq!(paths, ["/a", "/a/1", "/a/2", "/a/b", "/a/b/3", "/c"]);
}

#[test]
fn check_json_of_a_corrupt_container_says_so_with_status_1() {
    let s = Sandbox::with_container();
    let marker = b"<<whefs json test marker 0d2b>>";
    let mut data = pattern(64 * 1024, 4);
    data[..marker.len()].copy_from_slice(marker);
    s.put("/data", &data);
    // One more commit: damage to a page of the latest commit is a torn
    // commit, which open passes over for the one before (docs/format.md §7).
    s.ok(&["mkdir", C, "/later"]);
    let mut bytes = std::fs::read(s.path(C)).unwrap();
    let hits = find_all(&bytes, marker);
    assert!(!hits.is_empty(), "the marker is not in the container file");
    for at in hits {
        bytes[at + 3] ^= 0x40;
    }
    std::fs::write(s.path(C), &bytes).unwrap();
    let out = s.run(&["check", "--json", C]);
    assert_eq!(out.status.code(), Some(GENERIC), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON even when corrupt");
    assert_eq!(report["clean"], false);
    assert!(report["problem"].as_str().unwrap().contains("corrupt"));
    assert!(
        stderr(&out).starts_with("whefs: "),
        "the error is on stderr too"
    );
}

#[test]
fn locks_json_lists_the_inode_another_process_writes() {
    let s = Sandbox::with_container();
    let idle = s.json(&["locks", "--json", C]);
    assert_eq!(idle["file_writers"], serde_json::json!([]));
    assert_eq!(idle["commit_held"], false);
    let mut writer = Command::new(whefs_bin())
        .current_dir(s.path("."))
        .args(["put", C, "-", "/slow"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = writer.stdin.take().unwrap();
    stdin.write_all(&[7u8; 50_000]).unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = idle;
    while seen["file_writers"] == serde_json::json!([]) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        seen = s.json(&["locks", "--json", C]);
    }
    let ino = s.json(&["stat", "--json", C, "/slow"])[0]["ino"].clone();
    assert_eq!(seen["file_writers"], serde_json::json!([ino]));
    drop(stdin);
    assert!(writer.wait().unwrap().success());
}

#[test]
fn progress_bars_are_drawn_only_on_a_terminal_and_not_with_quiet() {
    let s = Sandbox::with_container();
    std::fs::create_dir(s.path("big")).unwrap();
    for i in 0..8 {
        std::fs::write(s.path(&format!("big/f{i}")), pattern(512 * 1024, i)).unwrap();
    }
    let shown = under_terminal(&s, "put -r c.whefs big /one");
    assert!(shown.contains("put ["), "no bar: {shown:?}");
    assert!(shown.contains("8 files, 4.0 MiB"), "no summary: {shown:?}");
    let shown = under_terminal(&s, "get -r c.whefs /one out1");
    assert!(shown.contains("get ["), "no bar: {shown:?}");
    let shown = under_terminal(&s, "export --tar c.whefs /one -f one.tar");
    assert!(shown.contains("export ["), "no bar: {shown:?}");
    let shown = under_terminal(&s, "import --tar c.whefs /two -f one.tar");
    assert!(shown.contains("import ["), "no bar: {shown:?}");
    // An archive is never written to a terminal.
    let out = Command::new("script")
        .args([
            "-q",
            "-e",
            "-c",
            "\"$WHEFS\" export --tar c.whefs",
            "/dev/null",
        ])
        .env("WHEFS", whefs_bin())
        .current_dir(s.path("."))
        .stdin(Stdio::null())
        .output()
        .expect("run script(1)");
    assert_eq!(out.status.code(), Some(USAGE));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("refusing to write an archive to a terminal")
    );
    // --quiet: nothing at all, even on a terminal.
    let quiet = under_terminal(&s, "put -q -r c.whefs big /three");
    assert_eq!(quiet, "", "--quiet drew something");
    // Not a terminal: stderr stays empty.
    let out = s.run(&["put", "-r", C, "big", "/four"]);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        stderr(&out)
    );
    let out = s.run(&["get", "-r", C, "/four", "out2"]);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        stderr(&out)
    );
}

/// Every subcommand, with the arguments it needs after CONTAINER.
const SUBCOMMANDS: &[(&str, &[&str])] = &[
    ("put", &["-", "/x"]),
    ("get", &["/x"]),
    ("cat", &["/x"]),
    ("ls", &[]),
    ("stat", &["/x"]),
    ("mkdir", &["/x"]),
    ("cp", &["/x", "/y"]),
    ("mv", &["/x", "/y"]),
    ("rm", &["/x"]),
    ("rmdir", &["/x"]),
    ("export", &["--tar", "-f", "out.tar"]),
    ("import", &["--tar", "-f", "in.tar"]),
    ("embed", &["-o", "out.c"]),
    ("info", &[]),
    ("locks", &[]),
    ("check", &[]),
    ("diff", &["s"]),
    ("restore", &["s"]),
    ("backup", &["copy.whefs"]),
    ("compact", &[]),
];

/// The actions of `whefs snapshot`, with the arguments after CONTAINER.
const SNAPSHOT_ACTIONS: &[(&str, &[&str])] =
    &[("create", &["s"]), ("list", &[]), ("delete", &["s"])];

#[test]
fn every_subcommand_fails_on_a_missing_or_garbage_container() {
    let s = Sandbox::empty();
    std::fs::write(s.path("garbage"), pattern(16 * 1024, 8)).unwrap();
    std::fs::write(s.path("in.tar"), b"").unwrap();
    for (command, rest) in SUBCOMMANDS {
        for (container, code) in [("missing.whefs", NOT_FOUND), ("garbage", CORRUPT)] {
            let mut args = vec![*command, container];
            args.extend_from_slice(rest);
            let err = s.fails(&args, code);
            assert!(err.contains(container), "{args:?}: {err}");
        }
    }
    for (action, rest) in SNAPSHOT_ACTIONS {
        for (container, code) in [("missing.whefs", NOT_FOUND), ("garbage", CORRUPT)] {
            let mut args = vec!["snapshot", *action, container];
            args.extend_from_slice(rest);
            let err = s.fails(&args, code);
            assert!(err.contains(container), "{args:?}: {err}");
        }
    }
    assert!(
        !exists(&s.path("missing.whefs")),
        "nothing created a container"
    );
    assert!(!exists(&s.path("out.tar")) && !exists(&s.path("out.c")));
    assert!(!exists(&s.path("copy.whefs")), "no backup of nothing");
    // create and demo refuse an existing file instead.
    s.fails(&["create", "garbage"], EXISTS);
    s.fails(&["demo", "garbage"], EXISTS);
}

#[test]
fn every_subcommand_has_help_that_names_its_usage() {
    let s = Sandbox::empty();
    let top = s.ok_text(&["--help"]);
    assert!(
        top.contains("Exit status:") && top.contains("Examples:"),
        "{top}"
    );
    let names = SUBCOMMANDS
        .iter()
        .map(|(name, _)| *name)
        .chain(["create", "demo", "snapshot"]);
    for name in names {
        assert!(
            top.contains(&format!("\n  {name} ")),
            "{name} is not listed"
        );
        let help = s.ok_text(&[name, "--help"]);
        assert!(
            help.contains(&format!("Usage: whefs {name} ")),
            "{name}: {help}"
        );
        let about = help.lines().next().unwrap_or("");
        assert!(about.split(' ').count() > 3, "{name}: {about:?}");
        if name != "create" && name != "demo" && name != "snapshot" {
            assert!(help.contains("<CONTAINER>"), "{name}: {help}");
        }
    }
    for (action, _) in SNAPSHOT_ACTIONS {
        let help = s.ok_text(&["snapshot", action, "--help"]);
        assert!(
            help.contains(&format!("Usage: whefs snapshot {action} "))
                && help.contains("<CONTAINER>"),
            "snapshot {action}: {help}"
        );
    }
}
