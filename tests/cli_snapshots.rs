//! Tests of the tool's side of issue 13, running the built `whefs`:
//! `snapshot create|list|delete`, `--snapshot NAME` on the reading commands
//! (and its refusal by the writing ones), `diff`, `restore`, `backup`
//! (`--verify`, the copy's content), `compact` (shrinking, and busy) and
//! what `info` says about snapshots and reclaimable space.

mod cli_common;
mod mount_support;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_common::*;
use serde_json::Value;

/// Host files `n` of `size..size + 4000` bytes in `dir` of the sandbox,
/// named `f0000`, `f0001`, ...
fn host_files(s: &Sandbox, dir: &str, n: usize, size: usize) {
    std::fs::create_dir_all(s.path(dir)).unwrap();
    for i in 0..n {
        let data = pattern(size + (i * 397) % 4000, i as u64 + 100);
        std::fs::write(s.path(&format!("{dir}/f{i:04}")), data).unwrap();
    }
}

/// A small tree in [`C`]: `/docs/a.txt`, `/docs/big.bin` (several pages),
/// `/docs/sub/c.txt`, `/keep`.
fn small_tree(s: &Sandbox) {
    s.put("/docs/a.txt", b"alpha\n");
    s.put("/docs/big.bin", &pattern(300_000, 1));
    s.put("/docs/sub/c.txt", b"gamma\n");
    s.put("/keep", b"kept\n");
}

/// Changes every kind of thing in [`small_tree`]: a rewrite, a removal, a
/// rename and a new file.
fn change_small_tree(s: &Sandbox) {
    s.put("/docs/big.bin", &pattern(200_000, 2));
    s.ok(&["rm", C, "/docs/a.txt"]);
    s.ok(&["mv", C, "/keep", "/moved"]);
    s.put("/new", b"new\n");
}

/// The paths of `diff` text output, as `(letter, path)`.
fn diff_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| {
            let (letter, path) = line.split_once('\t').expect("LETTER<tab>PATH");
            (letter.to_string(), path.to_string())
        })
        .collect()
}

/// How the tool prints a number of 4 KiB pages (below 256 of them).
fn shown_pages(pages: u64) -> String {
    match pages {
        0 => "0 pages (0 B)".to_string(),
        1 => "1 page (4.0 KiB)".to_string(),
        n => format!("{n} pages ({:.1} KiB)", n as f64 * 4.0),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn snapshot_create_list_and_delete_name_the_states_they_keep() {
    let s = Sandbox::with_container();
    s.put("/a", &pattern(50_000, 7));
    s.put("/d/b", b"b");
    let generation = s.generation();
    let made = s.json(&["snapshot", "create", "--json", C, "one"]);
    assert_eq!(made["name"], "one");
    assert_eq!(made["generation"], generation);
    assert_eq!(made["files"], 2);
    assert_eq!(made["dirs"], 2, "the root and /d");
    s.fails(&["snapshot", "create", C, "one"], EXISTS);
    s.ok(&["snapshot", "create", C, "two"]);

    // Rewriting /a leaves its old pages to the snapshots: shared by both,
    // so neither holds them alone until the other goes.
    s.put("/a", &pattern(50_000, 8));
    let list = s.json(&["snapshot", "list", "--json", C]);
    let names: Vec<&str> = list
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one", "two"]);
    assert_eq!(list[0]["generation"], generation);
    assert!(list[1]["generation"].as_u64().unwrap() > generation);
    assert!(list[0]["created"].as_str().unwrap().ends_with('Z'));
    let alone = |list: &Value, i: usize| list[i]["exclusive_pages"].as_u64().unwrap();
    let (one_alone, two_alone) = (alone(&list, 0), alone(&list, 1));
    assert!(one_alone < 13 && two_alone < 13, "/a is shared: {list}");
    let text = s.ok_text(&["snapshot", "list", C]);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows[0].starts_with("NAME") && rows[0].contains("HELD ALONE"));
    assert!(rows[1].starts_with("one ") && rows[2].starts_with("two "));
    assert!(
        rows[1].ends_with(&format!("  {}", shown_pages(one_alone))),
        "{text}"
    );

    let out = s.ok_text(&["snapshot", "delete", C, "two"]);
    assert_eq!(
        out,
        format!(
            "deleted snapshot two: {} given back\n",
            shown_pages(two_alone)
        )
    );
    // Now `one` alone holds the old /a: 50,000 bytes are 13 pages.
    let list = s.json(&["snapshot", "list", "--json", C]);
    let held = alone(&list, 0);
    assert!(held >= one_alone + 13, "{list}");
    assert_eq!(list[0]["exclusive_bytes"], held * 4096);
    let gone = s.json(&["snapshot", "delete", "--json", C, "one"]);
    assert_eq!(gone["name"], "one");
    assert_eq!(gone["pages_released"], held);
    assert_eq!(
        s.json(&["snapshot", "list", "--json", C]),
        Value::Array(vec![])
    );
    assert_eq!(
        s.ok_text(&["snapshot", "list", C]),
        "",
        "no rows, no header"
    );
    let err = s.fails(&["snapshot", "delete", C, "one"], NOT_FOUND);
    assert!(err.contains("one"), "{err}");
    s.fails(&["snapshot", "create", C, "a/b"], USAGE);
}

#[test]
fn reading_commands_with_snapshot_read_the_snapshot_after_the_live_state_changed() {
    let s = Sandbox::with_container();
    small_tree(&s);
    let listing = s.ok_text(&["ls", "-lR", C]);
    let archive = s.ok(&["export", "--tar", C]);
    let stat = s.json(&["stat", "--json", C, "/docs/big.bin"]);
    let files = s.json(&["info", "--json", C])["files"].clone();
    s.ok(&["get", "-r", C, "/docs", "docs-then"]);
    s.ok(&["snapshot", "create", C, "then"]);
    change_small_tree(&s);
    assert_ne!(
        s.ok_text(&["ls", "-lR", C]),
        listing,
        "the live state changed"
    );

    assert_eq!(s.ok_text(&["ls", "-lR", "--snapshot", "then", C]), listing);
    assert_eq!(
        s.ok(&["cat", "--snapshot", "then", C, "/docs/big.bin"]),
        pattern(300_000, 1)
    );
    assert_eq!(s.ok(&["cat", C, "/docs/big.bin"]), pattern(200_000, 2));
    assert_eq!(s.ok(&["cat", "--snapshot", "then", C, "/keep"]), b"kept\n");
    // Globs expand in the snapshot, too.
    assert_eq!(
        s.ok(&["cat", "--snapshot", "then", C, "/docs/*.txt"]),
        b"alpha\n"
    );
    s.ok(&["get", "--snapshot", "then", "-r", C, "/docs", "docs-now"]);
    assert_eq!(
        read_tree(&s.path("docs-now")),
        read_tree(&s.path("docs-then"))
    );
    assert_eq!(
        s.ok(&["get", "--snapshot", "then", C, "/docs/a.txt"]),
        b"alpha\n"
    );
    assert_eq!(s.ok(&["export", "--tar", "--snapshot", "then", C]), archive);
    assert_eq!(
        s.json(&["stat", "--json", "--snapshot", "then", C, "/docs/big.bin"]),
        stat
    );
    let info = s.json(&["info", "--json", "--snapshot", "then", C]);
    assert_eq!(info["snapshot"], "then");
    assert_eq!(info["files"], files);
    assert_eq!(s.json(&["info", "--json", C])["snapshot"], Value::Null);
    let check = s.ok_text(&["check", "--snapshot", "then", C]);
    assert!(
        check.starts_with("clean: snapshot then, generation "),
        "{check}"
    );
    // The option may come anywhere, as every global option.
    assert_eq!(s.ok(&["--snapshot", "then", "cat", C, "/keep"]), b"kept\n");

    let err = s.fails(&["ls", "--snapshot", "nope", C], NOT_FOUND);
    assert!(err.contains("nope"), "{err}");
    s.fails(&["cat", "--snapshot", "then", C, "/new"], NOT_FOUND);
}

#[test]
fn writing_commands_refuse_snapshot_with_a_usage_error_and_change_nothing() {
    let s = Sandbox::with_container();
    small_tree(&s);
    s.ok(&["snapshot", "create", C, "s"]);
    std::fs::write(s.path("in.txt"), b"x").unwrap();
    std::fs::write(s.path("in.tar"), b"").unwrap();
    let before = s.generation();
    let refused: &[&[&str]] = &[
        &["put", C, "in.txt", "/x"],
        &["put", "-r", C, "in.txt", "/x"],
        &["rm", C, "/keep"],
        &["rm", "-r", C, "/docs"],
        &["mkdir", C, "/m"],
        &["cp", C, "/keep", "/k2"],
        &["mv", C, "/keep", "/k2"],
        &["rmdir", C, "/docs/sub"],
        &["import", "--tar", C, "/i", "-f", "in.tar"],
        &["restore", C, "s"],
        &["compact", C],
        &["snapshot", "create", C, "t"],
        &["snapshot", "delete", C, "s"],
        &["diff", C, "s"],
        &["create", "other.whefs"],
    ];
    for args in refused {
        let mut with = vec!["--snapshot", "s"];
        with.extend_from_slice(args);
        let err = s.fails(&with, USAGE);
        assert!(err.contains("--snapshot"), "{with:?}: {err}");
        assert!(err.contains(args[0]), "{with:?} names the command: {err}");
    }
    let err = s.fails(&["put", "--snapshot", "s", C, "-", "/y"], USAGE);
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(s.generation(), before, "no refused command committed");
    assert!(!exists(&s.path("other.whefs")));
    assert_eq!(s.json(&["snapshot", "list", "--json", C])[0]["name"], "s");
}

#[test]
fn diff_lists_added_removed_and_changed_paths() {
    let s = Sandbox::with_container();
    let err = s.fails(&["diff", C], NOT_FOUND);
    assert!(err.contains("no snapshot"), "{err}");
    s.put("/same", b"same");
    s.put("/chg", b"before");
    s.put("/gone", b"gone");
    s.put("/dir/x", b"x");
    s.ok(&["snapshot", "create", C, "one"]);
    s.put("/chg", b"after!");
    s.ok(&["rm", "-r", C, "/gone", "/dir"]);
    s.put("/newdir/y", b"y");
    s.ok(&["snapshot", "create", C, "two"]);
    s.ok(&["rm", C, "/same"]);

    let one_two = diff_lines(&s.ok_text(&["diff", C, "one", "two"]));
    assert_eq!(
        one_two,
        pairs(&[
            ("M", "/chg"),
            ("D", "/dir"),
            ("D", "/dir/x"),
            ("D", "/gone"),
            ("A", "/newdir"),
            ("A", "/newdir/y"),
        ])
    );
    let one_now = diff_lines(&s.ok_text(&["diff", C, "one"]));
    let mut want = one_two.clone();
    want.push(("D".into(), "/same".into()));
    want.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(one_now, want);
    // No operand: the newest snapshot (two) against now.
    assert_eq!(
        diff_lines(&s.ok_text(&["diff", C])),
        pairs(&[("D", "/same")])
    );
    // Back the other way: the newer state as the older side.
    let two_one = diff_lines(&s.ok_text(&["diff", C, "two", "one"]));
    assert!(
        two_one.contains(&("A".into(), "/gone".into())),
        "{two_one:?}"
    );
    assert!(two_one.contains(&("D".into(), "/newdir/y".into())));

    let json = s.json(&["diff", "--json", C, "one", "two"]);
    assert_eq!(json["old"], "one");
    assert_eq!(json["new"], "two");
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), one_two.len());
    assert_eq!(changes[0]["change"], "changed");
    assert_eq!(changes[0]["path"], "/chg");
    assert_eq!(changes[1]["change"], "removed");
    assert_eq!(changes[4]["change"], "added");
    let json = s.json(&["diff", "--json", C]);
    assert_eq!((&json["old"], &json["new"]), (&"two".into(), &Value::Null));
    assert_eq!(s.ok_text(&["diff", C, "two", "two"]), "");
    let err = s.fails(&["diff", C, "nope"], NOT_FOUND);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn restore_brings_back_one_subtree_or_everything_in_one_commit() {
    let s = Sandbox::with_container();
    small_tree(&s);
    s.put("/other/o.txt", b"other\n");
    s.ok(&["snapshot", "create", C, "s"]);
    s.ok(&["get", "-r", C, "/", "then"]);
    change_small_tree(&s);
    s.put("/other/o.txt", b"other, changed\n");
    s.put("/docs/sub/extra", b"extra");

    let before = s.generation();
    s.ok(&["restore", C, "s", "/docs"]);
    assert_eq!(s.generation(), before + 1, "one commit");
    let left = diff_lines(&s.ok_text(&["diff", C, "s"]));
    assert!(!left.is_empty());
    assert!(
        left.iter().all(|(_, p)| !p.starts_with("/docs")),
        "/docs is the snapshot's again: {left:?}"
    );
    assert_eq!(s.ok(&["cat", C, "/docs/big.bin"]), pattern(300_000, 1));
    s.fails(&["cat", C, "/docs/sub/extra"], NOT_FOUND);
    assert_eq!(s.ok(&["cat", C, "/other/o.txt"]), b"other, changed\n");

    // A path the snapshot does not have is removed.
    s.ok(&["restore", C, "s", "/new"]);
    s.fails(&["stat", C, "/new"], NOT_FOUND);

    s.ok(&["restore", C, "s"]);
    assert_eq!(s.ok_text(&["diff", C, "s"]), "", "everything is back");
    s.ok(&["get", "-r", C, "/", "now"]);
    assert_eq!(read_tree(&s.path("now")), read_tree(&s.path("then")));
    s.ok(&["check", C]);
    // The snapshot is still there, unchanged.
    assert_eq!(s.json(&["snapshot", "list", "--json", C])[0]["name"], "s");
    s.fails(&["restore", C, "nope"], NOT_FOUND);
}

#[test]
fn backup_copies_the_latest_state_or_a_snapshot_and_verify_checks_the_copy() {
    let s = Sandbox::with_container();
    host_files(&s, "src", 60, 9_000);
    s.ok(&["put", "-r", C, "src", "/data"]);
    s.ok(&["snapshot", "create", C, "s"]);
    s.ok(&["get", "-r", C, "/data", "data-then"]);
    s.ok(&["rm", C, "/data/f00[0-3]*"]);
    s.put("/data/late", b"late");

    let out = s.ok_text(&["backup", "--verify", C, "copy.whefs"]);
    assert!(out.contains("copy.whefs: generation "), "{out}");
    assert!(out.contains("verified, clean"), "{out}");
    s.ok(&["check", "copy.whefs"]);
    s.ok(&["get", "-r", C, "/data", "data-now"]);
    s.ok(&["get", "-r", "copy.whefs", "/data", "data-copy"]);
    assert_eq!(
        read_tree(&s.path("data-copy")),
        read_tree(&s.path("data-now"))
    );
    // Compact: no snapshot and no free space in the copy.
    assert_eq!(s.ok_text(&["snapshot", "list", "copy.whefs"]), "");
    let copy_size = std::fs::metadata(s.path("copy.whefs")).unwrap().len();
    assert!(copy_size < std::fs::metadata(s.path(C)).unwrap().len());

    let json = s.json(&[
        "backup",
        "--json",
        "--verify",
        "--snapshot",
        "s",
        C,
        "then.whefs",
    ]);
    assert_eq!(json["snapshot"], "s");
    assert_eq!(json["verified"], true);
    assert_eq!(json["files"], 60);
    assert_eq!(json["bytes"], json["pages"].as_u64().unwrap() * 4096);
    assert_eq!(
        json["bytes"],
        std::fs::metadata(s.path("then.whefs")).unwrap().len()
    );
    s.ok(&["get", "-r", "then.whefs", "/data", "data-then-copy"]);
    assert_eq!(
        read_tree(&s.path("data-then-copy")),
        read_tree(&s.path("data-then"))
    );

    // Never over an existing file.
    let old = std::fs::read(s.path("copy.whefs")).unwrap();
    let err = s.fails(&["backup", C, "copy.whefs"], EXISTS);
    assert!(err.contains("copy.whefs"), "{err}");
    assert_eq!(std::fs::read(s.path("copy.whefs")).unwrap(), old);
    s.fails(&["backup", "--snapshot", "nope", C, "x.whefs"], NOT_FOUND);
    assert!(!exists(&s.path("x.whefs")));
}

#[test]
fn backup_draws_a_bar_on_a_terminal_and_nothing_elsewhere() {
    let s = Sandbox::with_container();
    s.put("/big", &pattern(3 << 20, 5));
    let shown = under_terminal(&s, "backup c.whefs bar.whefs");
    assert!(shown.contains("backup ["), "no bar: {shown:?}");
    let out = s.run(&["backup", C, "plain.whefs"]);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        stderr(&out)
    );
}

#[test]
fn embed_with_snapshot_embeds_the_snapshots_compact_copy() {
    let s = Sandbox::with_container();
    s.put("/f", &pattern(40_000, 3));
    s.ok(&["snapshot", "create", C, "s"]);
    s.put("/g", &pattern(90_000, 4));
    s.ok(&["backup", "--snapshot", "s", C, "s.whefs"]);
    let size = std::fs::metadata(s.path("s.whefs")).unwrap().len();
    let source = s.ok_text(&["embed", "--snapshot", "s", "--name", "box", C]);
    assert!(
        source.contains(&format!("const size_t box_size = {size}")),
        "the image is the snapshot's compact copy of {size} bytes"
    );
    let live = s.ok_text(&["embed", "--name", "box", C]);
    assert!(!live.contains(&format!("box_size = {size};")));
}

#[test]
fn compact_shrinks_a_container_after_half_of_its_files_are_deleted() {
    let s = Sandbox::with_container();
    host_files(&s, "src", 400, 8_000);
    s.ok(&["put", "-r", C, "src", "/d"]);
    s.ok(&["rm", C, "/d/f*[13579]"]);
    s.ok(&["get", "-r", C, "/d", "kept"]);
    assert_eq!(read_tree(&s.path("kept")).len(), 200);
    let before = std::fs::metadata(s.path(C)).unwrap().len();

    let report = s.json(&["compact", "--json", C]);
    let after = std::fs::metadata(s.path(C)).unwrap().len();
    assert_eq!(report["file_size_before"], before);
    assert_eq!(report["file_size_after"], after);
    assert_eq!(after, report["pages_after"].as_u64().unwrap() * 4096);
    assert!(
        (after as f64) < before as f64 * 0.6,
        "half the files gone: {before} -> {after} bytes ({report})"
    );
    let info = s.json(&["info", "--json", C]);
    let (total, used) = (
        info["pages_total"].as_u64().unwrap(),
        info["pages_used"].as_u64().unwrap(),
    );
    assert!(
        total as f64 <= used as f64 * 1.1,
        "{total} pages for {used} live ({report})"
    );
    s.ok(&["check", C]);
    s.ok(&["get", "-r", C, "/d", "after"]);
    assert_eq!(read_tree(&s.path("after")), read_tree(&s.path("kept")));

    // The text form says before and after.
    let text = s.ok_text(&["compact", C]);
    assert!(
        text.starts_with("c.whefs: ") && text.contains(" -> "),
        "{text}"
    );
}

#[test]
fn compact_waits_for_another_process_then_fails_busy_and_says_why() {
    let s = Sandbox::with_container();
    s.put("/f", &pattern(100_000, 1));
    s.ok(&["rm", C, "/f"]);
    // A put from stdin keeps the container open until its input ends.
    let mut writer = Command::new(whefs_bin())
        .current_dir(s.path("."))
        .args(["put", C, "-", "/slow"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = writer.stdin.take().unwrap();
    stdin.write_all(&[7u8; 10_000]).unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.json(&["locks", "--json", C])["file_writers"] == serde_json::json!([]) {
        assert!(Instant::now() < deadline, "the writer never opened /slow");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let err = s.fails(&["compact", "--timeout", "300", C], 6);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(err.contains("busy") && err.contains("to itself"), "{err}");
    assert!(err.contains("--timeout"), "says what to do: {err}");
    drop(stdin);
    assert!(writer.wait().unwrap().success());
    s.ok(&["compact", C]);
    assert_eq!(s.ok(&["cat", C, "/slow"]), vec![7u8; 10_000]);
}

#[test]
fn info_shows_snapshots_their_pages_and_what_compact_can_reclaim() {
    let s = Sandbox::with_container();
    s.put("/big", &pattern(400_000, 1));
    s.ok(&["snapshot", "create", C, "s"]);
    s.put("/big", &pattern(400_000, 2));
    let info = s.json(&["info", "--json", C]);
    let listed = &info["snapshots"];
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "s");
    let held = info["pages_snapshot"].as_u64().unwrap();
    assert!(held >= 98, "400,000 bytes are 98 pages: {info}");
    assert_eq!(listed[0]["exclusive_pages"], held);
    let page = |key: &str| info[key].as_u64().unwrap();
    assert_eq!(
        page("pages_reclaimable"),
        page("pages_free") + page("pages_pending")
    );
    assert_eq!(
        page("pages_total"),
        page("pages_used") + page("pages_free") + page("pages_pending") + held
    );
    let text = s.ok_text(&["info", C]);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} line: {text}"))
            .to_string()
    };
    assert!(line("snapshots:").ends_with(" 1"), "{text}");
    assert!(
        line("snapshot pages:").contains(&format!(" {held} (")),
        "{text}"
    );
    assert!(line("reclaimable:").contains("by compact"), "{text}");
    assert!(
        line("  s: generation ").contains(&format!("holds {held} pages (")),
        "{text}"
    );

    // Deleting the snapshot gives its pages to the reclaimable ones.
    s.ok(&["snapshot", "delete", C, "s"]);
    let info = s.json(&["info", "--json", C]);
    assert_eq!(info["pages_snapshot"], 0);
    assert_eq!(info["snapshots"], Value::Array(vec![]));
    assert!(info["pages_reclaimable"].as_u64().unwrap() >= held);
    s.ok(&["compact", C]);
    let info = s.json(&["info", "--json", C]);
    assert!(
        info["pages_reclaimable"].as_u64().unwrap() < held / 4,
        "compact gave them back: {info}"
    );
}

#[test]
fn mount_with_snapshot_serves_the_snapshot_read_only() {
    if !mount_support::fuse_available("mount --snapshot") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let container = dir.path().join("c.whefs");
    let c = container.to_str().unwrap();
    mount_support::whefs(&["create", c]);
    let fs = whefs::Fs::open(&container).unwrap();
    fs.create_dir("/d").unwrap();
    fs.write("/d/f", b"then").unwrap();
    fs.create_snapshot("s").unwrap();
    fs.write("/d/f", b"now, longer").unwrap();
    fs.write("/d/g", b"new").unwrap();
    drop(fs);
    let mut m = mount_support::Mounted::at(dir, container.clone(), &["--snapshot", "s"]);
    assert_eq!(std::fs::read(m.path("d/f")).unwrap(), b"then");
    let names: BTreeSet<String> = std::fs::read_dir(m.path("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, BTreeSet::from(["f".to_string()]));
    let err = std::fs::write(m.path("d/h"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    m.unmount();
    let fs = whefs::Fs::open(&container).unwrap();
    assert_eq!(fs.read("/d/f").unwrap(), b"now, longer");
}
