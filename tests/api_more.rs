//! The rest of the Rust API: `OpenOptions`, `remove_dir_all`, `copy`,
//! glob listing, the label, multi-operation transactions, and `std::io`
//! errors that wrap whefs errors.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use whefs::{Error, FileType, Fs, FsOptions, Mode, OpenOptions};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

fn kind(e: &Error) -> &'static str {
    Error::code_name(e.code()).unwrap_or("?")
}

// ---------------------------------------------------------------------------
// OpenOptions

fn opts(
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    new: bool,
) -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(read)
        .write(write)
        .append(append)
        .truncate(truncate)
        .create(create)
        .create_new(new);
    o
}

#[test]
fn open_options_mean_the_same_as_their_fopen_modes() {
    // (options, the mode string they spell)
    let table = [
        (opts(true, false, false, false, false, false), "r"),
        (opts(true, true, false, false, false, false), "r+"),
        (opts(false, true, false, true, true, false), "w"),
        (opts(true, true, false, true, true, false), "w+"),
        (opts(false, false, true, false, true, false), "a"),
        (opts(false, true, true, false, true, false), "a"),
        (opts(true, false, true, false, true, false), "a+"),
        (opts(false, true, false, false, true, false), "c"),
        (opts(true, true, false, false, true, false), "c+"),
        (opts(false, true, false, false, false, true), "x"),
        (opts(false, true, false, true, true, true), "x"),
        (opts(true, true, false, false, false, true), "x+"),
    ];
    for (o, mode) in table {
        let want = Mode::parse(mode).unwrap();
        let mut got = o.mode().unwrap_or_else(|e| panic!("{o:?}: {e}"));
        if mode == "a" && !got.create {
            got.create = true;
        }
        assert_eq!(got, want, "{o:?} should open like {mode:?}");
        // And back: the options of a mode open like it.
        assert_eq!(OpenOptions::from(want).mode().unwrap(), want, "{mode}");
    }
    // Without `create`, writing modes do not create.
    let plain_write = opts(false, true, false, false, false, false)
        .mode()
        .unwrap();
    assert!(plain_write.write && !plain_write.create && !plain_write.truncate);
}

#[test]
fn open_options_refuse_what_std_refuses() {
    let bad = [
        opts(false, false, false, false, false, false),
        opts(true, false, false, true, false, false),
        opts(false, true, true, true, false, false),
        opts(true, false, false, false, true, false),
        opts(true, false, false, false, false, true),
        opts(false, false, false, false, true, false),
    ];
    let fs = Fs::memory().unwrap();
    for o in bad {
        assert!(matches!(o.mode(), Err(Error::Arg(_))), "{o:?}");
        assert!(matches!(fs.open_with("f", &o), Err(Error::Arg(_))), "{o:?}");
    }
    assert!(!fs.exists("f").unwrap(), "a refused open creates nothing");
}

#[test]
fn open_with_creates_truncates_appends_and_refuses_as_asked() {
    let fs = Fs::memory().unwrap();
    let missing = fs.open_with("f", OpenOptions::new().write(true));
    assert!(matches!(missing, Err(Error::NotFound(_))));

    let mut f = fs
        .open_with("f", OpenOptions::new().write(true).create_new(true))
        .unwrap();
    f.write_all(b"hello world").unwrap();
    f.close().unwrap();
    let again = fs.open_with("f", OpenOptions::new().write(true).create_new(true));
    assert!(matches!(again, Err(Error::Exists(_))));

    // write without truncate overwrites in place.
    let mut f = fs.open_with("f", OpenOptions::new().write(true)).unwrap();
    f.write_all(b"HELLO").unwrap();
    f.close().unwrap();
    assert_eq!(fs.read("f").unwrap(), b"HELLO world");

    // append writes at the end whatever the position.
    let mut f = File_options_append(&fs);
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"!").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut all = String::new();
    f.read_to_string(&mut all).unwrap();
    assert_eq!(all, "HELLO world!");
    f.close().unwrap();

    // truncate empties at open.
    let f = fs
        .open_with("f", OpenOptions::new().write(true).truncate(true))
        .unwrap();
    assert_eq!(f.len(), 0);
    f.close().unwrap();
    assert_eq!(fs.read("f").unwrap(), b"");

    // Read-only handles refuse writes, write-only handles refuse reads.
    let mut r = fs.open_with("f", OpenOptions::new().read(true)).unwrap();
    assert!(matches!(r.write_at(b"x", 0), Err(Error::Access(_))));
    let e = r.write(b"x").unwrap_err();
    assert!(matches!(Error::from_io(e), Error::Access(_)));
    let w = fs.open_with("f", OpenOptions::new().write(true)).unwrap();
    assert!(matches!(w.read_at(&mut [0; 4], 0), Err(Error::Access(_))));
    w.close().unwrap();

    // A read-only container refuses every writing combination.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    Fs::create(&path).unwrap().write("f", b"x").unwrap();
    let ro = Fs::open_read_only(&path).unwrap();
    for o in [
        opts(false, true, false, false, false, false),
        opts(false, false, true, false, true, false),
        opts(true, true, false, true, true, false),
    ] {
        assert!(
            matches!(ro.open_with("f", &o), Err(Error::Access(_))),
            "{o:?}"
        );
    }
    assert_eq!(
        ro.open_with("f", &opts(true, false, false, false, false, false))
            .unwrap()
            .len(),
        1
    );
}

#[allow(non_snake_case)]
fn File_options_append(fs: &Fs) -> whefs::File {
    whefs::File::options()
        .read(true)
        .append(true)
        .open(fs, "f")
        .unwrap()
}

// ---------------------------------------------------------------------------
// std::io errors

#[test]
fn io_trait_errors_wrap_the_whefs_error() {
    let fs = Fs::memory().unwrap();
    fs.write("f", b"abc").unwrap();
    let mut r = fs.open_file("f", "r").unwrap();
    let e = r.write_all(b"no").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(e.get_ref().is_some_and(|inner| inner.is::<Error>()));
    assert!(matches!(Error::from_io(e), Error::Access(_)));

    let e = r.seek(SeekFrom::Current(-10)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(matches!(Error::from_io(e), Error::Range(_)));

    let mut w = fs.open_file("f", "a").unwrap();
    let e = w.read(&mut [0; 4]).unwrap_err();
    assert!(matches!(Error::from_io(e), Error::Access(_)));
    w.close().unwrap();

    // An io::Error that whefs did not make becomes Error::Io.
    let foreign = std::io::Error::other("elsewhere");
    assert!(matches!(Error::from_io(foreign), Error::Io { .. }));
}

// ---------------------------------------------------------------------------
// remove_dir_all

fn build_tree(fs: &Fs) {
    fs.create_dir_all("t/a/b/c").unwrap();
    fs.create_dir_all("t/empty").unwrap();
    fs.write("t/top.txt", b"top").unwrap();
    fs.write("t/a/big", &pattern(300_000, 1)).unwrap();
    fs.write("t/a/b/small", b"small").unwrap();
    for i in 0..100 {
        fs.write(&format!("t/a/b/c/f{i:03}"), &pattern(i * 100, i as u8))
            .unwrap();
    }
    fs.write("keep", b"outside").unwrap();
}

#[test]
fn remove_dir_all_removes_a_whole_tree_in_one_commit() {
    let fs = Fs::memory().unwrap();
    build_tree(&fs);
    let before = fs.info().unwrap();
    assert_eq!(before.files, 104);
    fs.remove_dir_all("t").unwrap();
    let after = fs.info().unwrap();
    assert_eq!(after.generation, before.generation + 1, "one commit");
    assert_eq!((after.files, after.dirs), (1, 1));
    assert!(!fs.exists("t").unwrap());
    assert_eq!(fs.read("keep").unwrap(), b"outside");
    assert!(
        after.pages_used + 70 < before.pages_used,
        "the big file's pages are freed: {} -> {}",
        before.pages_used,
        after.pages_used
    );
    fs.check().unwrap();
    // The space is reused.
    build_tree(&fs);
    fs.remove_dir_all("t").unwrap();
    build_tree(&fs);
    assert!(fs.info().unwrap().pages_total <= before.pages_total + 40);
    fs.check().unwrap();
}

#[test]
fn remove_dir_all_refuses_files_the_root_and_missing_paths() {
    let fs = Fs::memory().unwrap();
    build_tree(&fs);
    let g = fs.info().unwrap().generation;
    assert!(matches!(
        fs.remove_dir_all("t/top.txt"),
        Err(Error::NotDir(_))
    ));
    assert!(matches!(fs.remove_dir_all("nope"), Err(Error::NotFound(_))));
    assert!(matches!(
        fs.remove_dir_all("t/top.txt/x"),
        Err(Error::NotDir(_))
    ));
    assert!(matches!(fs.remove_dir_all("/"), Err(Error::Arg(_))));
    assert!(matches!(fs.remove_dir_all("t/../t"), Err(Error::Arg(_))));
    assert_eq!(
        fs.info().unwrap().generation,
        g,
        "failed calls commit nothing"
    );
    fs.remove_dir_all("t/empty").unwrap();
    fs.remove_dir_all("t/a/b").unwrap();
    assert_eq!(fs.glob("t/**").unwrap(), ["t/a", "t/a/big", "t/top.txt"]);
    fs.check().unwrap();
}

#[test]
fn remove_dir_all_keeps_readers_snapshots_and_orphans_open_writers() {
    let fs = Fs::memory().unwrap();
    build_tree(&fs);
    let mut reader = fs.open_file("t/a/big", "r").unwrap();
    let mut writer = fs.open_file("t/a/b/small", "r+").unwrap();
    writer.write_at(b"still here", 0).unwrap();
    fs.remove_dir_all("t").unwrap();
    assert_eq!(
        fs.info().unwrap().files,
        2,
        "keep + the orphan being written"
    );
    fs.check().unwrap();
    let mut seen = Vec::new();
    reader.read_to_end(&mut seen).unwrap();
    assert_eq!(seen, pattern(300_000, 1));
    writer.commit().unwrap();
    let mut back = [0u8; 10];
    writer.read_at(&mut back, 0).unwrap();
    assert_eq!(&back, b"still here");
    writer.close().unwrap();
    drop(reader);
    assert_eq!(fs.info().unwrap().files, 1);
    assert!(!fs.exists("t").unwrap());
    fs.check().unwrap();
}

// ---------------------------------------------------------------------------
// copy

#[test]
fn copy_streams_small_and_large_files_and_replaces_the_target() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("d").unwrap();
    for (i, len) in [0usize, 5, 900, 4096, 4097, 1_000_000]
        .into_iter()
        .enumerate()
    {
        let from = format!("src{i}");
        let data = pattern(len, i as u8);
        fs.write(&from, &data).unwrap();
        fs.write(&format!("d/dst{i}"), b"old content").unwrap();
        assert_eq!(fs.copy(&from, &format!("d/dst{i}")).unwrap(), len as u64);
        assert_eq!(fs.read(&format!("d/dst{i}")).unwrap(), data, "len {len}");
        assert_eq!(fs.read(&from).unwrap(), data, "the source is untouched");
        fs.copy(&from, &format!("d/new{i}")).unwrap();
        assert_eq!(fs.read(&format!("d/new{i}")).unwrap(), data);
    }
    // Onto itself: unchanged.
    fs.copy("src5", "src5").unwrap();
    assert_eq!(fs.read("src5").unwrap(), pattern(1_000_000, 5));
    fs.check().unwrap();
}

#[test]
fn copy_is_one_commit_readers_of_the_target_keep_the_old_file() {
    let fs = Fs::memory().unwrap();
    fs.write("a", &pattern(500_000, 1)).unwrap();
    fs.write("b", &pattern(200_000, 2)).unwrap();
    let mut reader = fs.open_file("b", "r").unwrap();
    let g = fs.info().unwrap().generation;
    fs.copy("a", "b").unwrap();
    assert_eq!(fs.info().unwrap().generation, g + 1);
    let mut seen = Vec::new();
    reader.read_to_end(&mut seen).unwrap();
    assert_eq!(seen, pattern(200_000, 2));
    assert_eq!(fs.read("b").unwrap(), pattern(500_000, 1));
    fs.check().unwrap();
}

#[test]
fn copy_keeps_holes_as_holes() {
    let fs = Fs::memory().unwrap();
    let mut f = fs.open_file("sparse", "w").unwrap();
    f.write_at(b"start", 0).unwrap();
    f.write_at(b"end", 1 << 30).unwrap();
    f.close().unwrap();
    let before = fs.info().unwrap().pages_used;
    assert_eq!(fs.copy("sparse", "copy").unwrap(), (1 << 30) + 3);
    assert!(fs.info().unwrap().pages_used < before + 10);
    let c = fs.open_file("copy", "r").unwrap();
    let mut buf = [9u8; 5];
    c.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"start");
    c.read_at(&mut buf, 1 << 29).unwrap();
    assert_eq!(buf, [0; 5]);
    c.read_at(&mut buf[..3], 1 << 30).unwrap();
    assert_eq!(&buf[..3], b"end");
    fs.check().unwrap();
}

#[test]
fn copy_refuses_directories_and_missing_paths_without_committing() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("d").unwrap();
    fs.write("f", &pattern(50_000, 3)).unwrap();
    let g = fs.info().unwrap().generation;
    let cases = [
        ("d", "x", "WHEFS_ERR_IS_DIR"),
        ("missing", "x", "WHEFS_ERR_NOT_FOUND"),
        ("f", "d", "WHEFS_ERR_IS_DIR"),
        ("f", "nope/x", "WHEFS_ERR_NOT_FOUND"),
        ("f", "f/x", "WHEFS_ERR_NOT_DIR"),
        ("f", "/", "WHEFS_ERR_ARG"),
    ];
    for (from, to, want) in cases {
        let e = fs.copy(from, to).unwrap_err();
        assert_eq!(kind(&e), want, "copy {from} {to}: {e}");
    }
    assert_eq!(fs.info().unwrap().generation, g);
    fs.check().unwrap();
}

// ---------------------------------------------------------------------------
// glob

fn glob_tree() -> Fs {
    let fs = Fs::memory().unwrap();
    for d in ["docs/old", "src/a/b", "src/x", "x/x/x"] {
        fs.create_dir_all(d).unwrap();
    }
    for f in [
        "a.txt",
        "b.txt",
        "c.md",
        "docs/readme.md",
        "docs/old/notes.md",
        "src/main.c",
        "src/a/util.c",
        "src/a/b/deep.c",
        "src/a/b/deep.h",
        "src/x/x",
        "x/x/x/f",
        "[lit]",
        "file1",
        "file22",
    ] {
        fs.write(f, f.as_bytes()).unwrap();
    }
    fs
}

#[test]
fn glob_matches_components_with_shell_rules() {
    let fs = glob_tree();
    let cases: &[(&str, &[&str])] = &[
        ("*.txt", &["a.txt", "b.txt"]),
        ("/*.txt", &["a.txt", "b.txt"]),
        ("?.*", &["a.txt", "b.txt", "c.md"]),
        ("[ab].txt", &["a.txt", "b.txt"]),
        ("[!ab].*", &["c.md"]),
        ("file?", &["file1"]),
        ("file[0-9]*", &["file1", "file22"]),
        ("\\[lit]", &["[lit]"]),
        ("docs/*", &["docs/old", "docs/readme.md"]),
        ("docs/*/*.md", &["docs/old/notes.md"]),
        ("*/*.c", &["src/main.c"]),
        ("src", &["src"]),
        ("src/a/b/deep.c", &["src/a/b/deep.c"]),
        ("missing/*", &[]),
        ("a.txt/*", &[]),
        ("nothing*", &[]),
    ];
    for (pattern, want) in cases {
        assert_eq!(fs.glob(pattern).unwrap(), *want, "pattern {pattern:?}");
    }
}

#[test]
fn double_star_matches_any_depth_once_each() {
    let fs = glob_tree();
    assert_eq!(
        fs.glob("**/*.c").unwrap(),
        ["src/a/b/deep.c", "src/a/util.c", "src/main.c"]
    );
    assert_eq!(
        fs.glob("src/**/deep.*").unwrap(),
        ["src/a/b/deep.c", "src/a/b/deep.h"]
    );
    assert_eq!(
        fs.glob("docs/**").unwrap(),
        ["docs/old", "docs/old/notes.md", "docs/readme.md"]
    );
    let all = fs.glob("**").unwrap();
    assert_eq!(all.len(), 14 + 9, "every file and directory: {all:?}");
    // `x` at several depths: every path once.
    assert_eq!(
        fs.glob("**/x/**").unwrap(),
        ["src/x/x", "x/x", "x/x/x", "x/x/x/f"]
    );
    assert_eq!(
        fs.glob("**/x").unwrap(),
        ["src/x", "src/x/x", "x", "x/x", "x/x/x"]
    );
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "no path twice");
}

#[test]
fn glob_refuses_empty_and_bad_patterns_and_stops_when_asked() {
    let fs = glob_tree();
    for bad in ["", "/", "//"] {
        assert!(matches!(fs.glob(bad), Err(Error::Arg(_))), "{bad:?}");
    }
    assert!(matches!(fs.glob("src/../x"), Err(Error::Arg(_))));
    assert!(matches!(
        fs.glob(&"n".repeat(256)),
        Err(Error::NameTooLong(_))
    ));
    let mut seen = Vec::new();
    fs.glob_each("**", |path, entry| {
        assert_eq!(path.rsplit('/').next().unwrap(), entry.name);
        seen.push((path.to_string(), entry.kind));
        Ok(if seen.len() == 3 {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        })
    })
    .unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0], ("[lit]".to_string(), FileType::File));
    let e = fs
        .glob_each("*", |_, _| Err(Error::Busy("stop".into())))
        .unwrap_err();
    assert!(matches!(e, Error::Busy(_)));
}

// ---------------------------------------------------------------------------
// label

#[test]
fn label_is_set_in_one_commit_and_kept_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    let fs = FsOptions::new()
        .create(true)
        .label("first")
        .open(&path)
        .unwrap();
    assert_eq!(fs.label().unwrap(), "first");
    fs.write("f", b"x").unwrap();
    let g = fs.info().unwrap().generation;
    fs.set_label("second label").unwrap();
    assert_eq!(fs.info().unwrap().generation, g + 1);
    assert_eq!(fs.info().unwrap().label, "second label");
    assert!(matches!(fs.set_label(&"x".repeat(65)), Err(Error::Arg(_))));
    fs.set_label(&"é".repeat(32)).unwrap();
    fs.check().unwrap();
    drop(fs);
    let ro = Fs::open_read_only(&path).unwrap();
    assert_eq!(ro.label().unwrap(), "é".repeat(32));
    assert_eq!(ro.read("f").unwrap(), b"x");
    assert!(matches!(ro.set_label("no"), Err(Error::Access(_))));
    ro.check().unwrap();
}

// ---------------------------------------------------------------------------
// transactions

#[test]
fn transaction_commits_every_operation_at_once() {
    let fs = Fs::memory().unwrap();
    fs.write("x", b"doomed").unwrap();
    fs.write("old", &pattern(10_000, 4)).unwrap();
    fs.create_dir_all("tree/sub").unwrap();
    fs.write("tree/sub/f", b"f").unwrap();
    let g = fs.info().unwrap().generation;
    let n = fs
        .transaction(|t| {
            t.write("a", b"small")?;
            t.rename("a", "b")?;
            t.create_dir("d")?;
            t.write("d/big", &pattern(700_000, 5))?;
            t.remove_file("x")?;
            t.create_dir_all("p/q/r")?;
            t.rename("old", "p/q/r/moved")?;
            t.remove_dir_all("tree")?;
            t.set_label("after")?;
            t.write("b", b"small, again")?; // replaces the renamed file
            Ok(t.len())
        })
        .unwrap();
    assert_eq!(n, 10);
    let info = fs.info().unwrap();
    assert_eq!(info.generation, g + 1, "one commit");
    assert_eq!(info.label, "after");
    assert_eq!(fs.read("b").unwrap(), b"small, again");
    assert_eq!(fs.read("d/big").unwrap(), pattern(700_000, 5));
    assert_eq!(fs.read("p/q/r/moved").unwrap(), pattern(10_000, 4));
    for gone in ["a", "x", "old", "tree"] {
        assert!(!fs.exists(gone).unwrap(), "{gone}");
    }
    assert_eq!(info.files, 3);
    fs.check().unwrap();
}

type TxBody = dyn Fn(&mut whefs::Transaction) -> whefs::Result<()>;

#[test]
fn a_failing_operation_commits_nothing_and_leaks_no_pages() {
    let fs = Fs::memory().unwrap();
    fs.write("keep", b"keep").unwrap();
    fs.create_dir("full").unwrap();
    fs.write("full/f", b"f").unwrap();
    let before = fs.info().unwrap();
    let failing: Vec<(&str, Box<TxBody>)> = vec![
        (
            "remove a missing file",
            Box::new(|t| {
                t.write("new", &pattern(300_000, 1))?;
                t.remove_file("keep")?;
                t.remove_file("missing")?;
                Ok(())
            }),
        ),
        (
            "rmdir a full directory",
            Box::new(|t| {
                t.write("small", b"s")?;
                t.remove_dir("full")?;
                Ok(())
            }),
        ),
        (
            "create an existing directory",
            Box::new(|t| {
                t.create_dir("new_dir")?;
                t.create_dir("new_dir")?;
                Ok(())
            }),
        ),
        (
            "write under a file",
            Box::new(|t| {
                t.write("big", &pattern(100_000, 2))?;
                t.write("keep/x", b"x")?;
                Ok(())
            }),
        ),
        (
            "rename into itself",
            Box::new(|t| {
                t.create_dir("a")?;
                t.rename("a", "a/b")?;
                Ok(())
            }),
        ),
        (
            "the closure's own error",
            Box::new(|t| {
                t.write("big", &pattern(100_000, 2))?;
                Err(Error::Busy("changed my mind".into()))
            }),
        ),
    ];
    for (what, f) in failing {
        assert!(fs.transaction(|t| f(t)).is_err(), "{what}");
        let after = fs.info().unwrap();
        assert_eq!(
            after.generation, before.generation,
            "{what}: nothing committed"
        );
        assert_eq!(after, before, "{what}");
        assert_eq!(fs.glob("**").unwrap(), ["full", "full/f", "keep"], "{what}");
        fs.check().unwrap();
    }
    // Bad arguments fail at once.
    let r = fs.transaction(|t| {
        t.create_dir("ok")?;
        t.rename("a/../b", "c")?;
        Ok(())
    });
    assert!(matches!(r, Err(Error::Arg(_))));
    // The pages reserved by failed transactions are free again: a new big
    // write does not grow the container past them.
    fs.write("big", &pattern(300_000, 3)).unwrap();
    let grown = fs.info().unwrap().pages_total - before.pages_total;
    assert!(grown < 100, "grew {grown} pages");
    fs.check().unwrap();
}

#[test]
fn transactions_on_a_read_only_open_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    Fs::create(&path).unwrap();
    let ro = Fs::open_read_only(&path).unwrap();
    let r = ro.transaction(|t| {
        t.create_dir("d")?;
        Ok(())
    });
    assert!(matches!(r, Err(Error::Access(_))));
    // An empty transaction commits nothing.
    let fs = Fs::memory().unwrap();
    let g = fs.info().unwrap().generation;
    fs.transaction(|_| Ok(())).unwrap();
    assert_eq!(fs.info().unwrap().generation, g);
}

#[test]
fn begun_transaction_is_invisible_until_commit_and_dropping_discards_it() {
    let fs = Fs::memory().unwrap();
    fs.write("keep", b"keep").unwrap();
    let before = fs.info().unwrap();

    // Dropped: nothing happens, the pages of its big write are free again.
    let mut t = fs.begin().unwrap();
    t.write("big", &pattern(300_000, 7)).unwrap();
    t.remove_file("keep").unwrap();
    assert_eq!(t.len(), 2);
    drop(t);
    assert_eq!(fs.info().unwrap(), before);
    assert_eq!(fs.glob("**").unwrap(), ["keep"]);

    // Committed: nothing visible before, everything after, in one commit.
    let mut t = fs.begin().unwrap();
    t.create_dir("d").unwrap();
    t.write("d/big", &pattern(300_000, 8)).unwrap();
    t.rename("keep", "d/kept").unwrap();
    assert!(matches!(t.rename("a/../b", "c"), Err(Error::Arg(_))));
    assert_eq!(t.len(), 3, "a refused call records nothing");
    assert!(!fs.exists("d").unwrap());
    assert_eq!(fs.info().unwrap().generation, before.generation);
    t.commit().unwrap();
    assert_eq!(fs.info().unwrap().generation, before.generation + 1);
    assert_eq!(fs.glob("**").unwrap(), ["d", "d/big", "d/kept"]);
    assert_eq!(fs.read("d/big").unwrap(), pattern(300_000, 8));

    // A failing operation: the commit returns its error, nothing changes.
    let g = fs.info().unwrap().generation;
    let mut t = fs.begin().unwrap();
    t.write("new", b"new").unwrap();
    t.rename("missing", "x").unwrap();
    assert!(matches!(t.commit(), Err(Error::NotFound(_))));
    assert_eq!(fs.info().unwrap().generation, g);
    assert!(!fs.exists("new").unwrap());
    fs.check().unwrap();

    // Read-only: refused at begin.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    Fs::create(&path).unwrap();
    let ro = Fs::open_read_only(&path).unwrap();
    assert!(matches!(ro.begin(), Err(Error::Access(_))));
}

/// Content of round `i` of the reader test: same length in both files.
fn round(i: u32) -> Vec<u8> {
    let mut v = format!("round {i}:").into_bytes();
    v.resize(100 + (i as usize * 977) % 30_000, i as u8);
    v
}

#[test]
fn readers_see_a_transaction_all_or_nothing() {
    let fs = Fs::memory().unwrap();
    fs.set_durability(whefs::Durability::Off);
    fs.transaction(|t| {
        t.write("x", &round(0))?;
        t.write("y", &round(0))?;
        t.create_dir("gen0")?;
        Ok(())
    })
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (fs, stop) = (fs.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 400 {
                i += 1;
                fs.transaction(|t| {
                    t.write("x", &round(i))?;
                    t.write("tmp", &round(i))?;
                    t.rename("tmp", "y")?;
                    t.rename(&format!("gen{}", i - 1), &format!("gen{i}"))?;
                    Ok(())
                })
                .unwrap();
            }
            i
        })
    };
    let mut checks = 0;
    while !writer.is_finished() {
        // One listing is one snapshot: both sizes and the generation
        // directory must come from the same transaction.
        let entries: Vec<_> = fs.read_dir("/").unwrap().map(|e| e.unwrap()).collect();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let gen: u32 = names[0].strip_prefix("gen").unwrap().parse().unwrap();
        assert_eq!(&names[1..], ["x", "y"]);
        let want = round(gen).len() as u64;
        assert_eq!(
            (entries[1].size, entries[2].size),
            (want, want),
            "round {gen}"
        );
        // A glob walk is one snapshot too.
        let paths = fs.glob("*").unwrap();
        assert_eq!(paths.len(), 3, "{paths:?}");
        checks += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = writer.join().unwrap();
    assert_eq!(fs.read("x").unwrap(), round(rounds));
    assert_eq!(fs.read("y").unwrap(), round(rounds));
    assert!(checks > 0);
    fs.check().unwrap();
}

#[test]
fn a_transaction_may_replace_and_remove_its_own_large_writes() {
    let fs = Fs::memory().unwrap();
    fs.write("keep", b"keep").unwrap();
    let before = fs.info().unwrap();
    fs.transaction(|t| {
        t.write("f", &pattern(200_000, 1))?;
        t.write("f", &pattern(150_000, 2))?;
        t.create_dir("d")?;
        t.write("d/g", &pattern(300_000, 3))?;
        t.write("d/h", &pattern(100_000, 4))?;
        t.rename("d/h", "h")?;
        t.remove_dir_all("d")?;
        Ok(())
    })
    .unwrap();
    assert_eq!(fs.read("f").unwrap(), pattern(150_000, 2));
    assert_eq!(fs.read("h").unwrap(), pattern(100_000, 4));
    assert_eq!(fs.glob("**").unwrap(), ["f", "h", "keep"]);
    let after = fs.info().unwrap();
    assert_eq!(after.files, 3);
    // The pages of the replaced and removed writes are pending, not used.
    let data_pages = (150_000 + 100_000) / 4096 + 2;
    assert!(
        after.pages_used < before.pages_used + data_pages + 20,
        "{} pages used before, {} after",
        before.pages_used,
        after.pages_used
    );
    fs.check().unwrap();
    // And reusable.
    fs.write("tick", b"t").unwrap();
    fs.write("again", &pattern(500_000, 5)).unwrap();
    assert!(fs.info().unwrap().pages_total < after.pages_total + 40);
    fs.check().unwrap();
}
