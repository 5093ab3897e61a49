//! Open modes: the table of every valid `fopen`/PHP-style mode string with
//! the flags it means, the invalid ones (all `Error::Arg`), and what each
//! mode does to a file: create or not, truncate or not, append, exclusive,
//! and which of reading and writing it allows (`Error::Access` otherwise).

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use whefs::storage::MemoryStorage;
use whefs::{Error, Fs, FsOptions, Mode};

/// The flags of each base mode: (letter, plus) → read, write, append,
/// create, exclusive, truncate.
fn expected(letter: char, plus: bool) -> Mode {
    let m = |read, write, append, create, exclusive, truncate| Mode {
        read,
        write,
        append,
        create,
        exclusive,
        truncate,
    };
    match (letter, plus) {
        ('r', false) => m(true, false, false, false, false, false),
        ('r', true) => m(true, true, false, false, false, false),
        ('w', false) => m(false, true, false, true, false, true),
        ('w', true) => m(true, true, false, true, false, true),
        ('a', false) => m(false, true, true, true, false, false),
        ('a', true) => m(true, true, true, true, false, false),
        ('c', false) => m(false, true, false, true, false, false),
        ('c', true) => m(true, true, false, true, false, false),
        ('x', false) => m(false, true, false, true, true, false),
        ('x', true) => m(true, true, false, true, true, false),
        _ => unreachable!("only the ten base modes are listed"),
    }
}

/// Every valid spelling: a base letter, then `+` and one of `b`/`t`, each
/// optional, in either order.
fn valid_modes() -> Vec<(String, Mode)> {
    let mut out = Vec::new();
    for letter in ['r', 'w', 'a', 'c', 'x'] {
        for plus in [false, true] {
            for bt in [None, Some('b'), Some('t')] {
                let mut suffixes = Vec::new();
                match (plus, bt) {
                    (false, None) => suffixes.push(String::new()),
                    (true, None) => suffixes.push("+".into()),
                    (false, Some(c)) => suffixes.push(c.to_string()),
                    (true, Some(c)) => {
                        suffixes.push(format!("+{c}"));
                        suffixes.push(format!("{c}+"));
                    }
                }
                for s in suffixes {
                    out.push((format!("{letter}{s}"), expected(letter, plus)));
                }
            }
        }
    }
    out
}

#[test]
fn every_valid_mode_string_parses_to_its_flags() {
    let table = valid_modes();
    // 5 letters × (1 + 1 + 2 + 2×2) spellings.
    assert_eq!(table.len(), 40);
    for (s, want) in &table {
        let got = Mode::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"));
        assert_eq!(got, *want, "mode {s:?}");
    }
    // The spellings the C API documents as equal.
    assert_eq!(Mode::parse("rb+").unwrap(), Mode::parse("r+b").unwrap());
    assert_eq!(Mode::parse("rb+").unwrap(), Mode::parse("r+").unwrap());
    assert_eq!(Mode::parse("wb").unwrap(), Mode::parse("w").unwrap());
    assert_eq!(Mode::parse("ab+").unwrap(), Mode::parse("a+").unwrap());
}

#[test]
fn invalid_mode_strings_are_argument_errors() {
    let invalid = [
        "", " ", "z", "R", "W+", "rr", "r++", "+r", "+", "b", "t", "rw", "wr", "ra", "bb", "rbb",
        "r+b+", "rb+b", "r+bb", "rbt", "rtb", "r+bt", "r ", " r", "r\0", "r\n", "re", "rx", "w-",
        "a*", "cc", "xx+", "x++", "é", "ré", "r+é", "ｒ", "r\u{301}", "😀", "w😀", "rb+ ", "r+++",
        "rbtb",
    ];
    for s in invalid {
        match Mode::parse(s) {
            Err(Error::Arg(_)) => {}
            other => panic!("{s:?}: expected Error::Arg, got {other:?}"),
        }
    }
    // Through the API as well, before any file is touched.
    let fs = Fs::memory().unwrap();
    fs.write("f", b"data").unwrap();
    for s in invalid {
        assert!(
            matches!(fs.open_file("f", s), Err(Error::Arg(_))),
            "open_file with {s:?}"
        );
        assert!(
            matches!(fs.open_file("new", s), Err(Error::Arg(_))),
            "open_file of a new file with {s:?}"
        );
    }
    assert!(
        !fs.exists("new").unwrap(),
        "a bad mode must not create the file"
    );
    assert_eq!(
        fs.read("f").unwrap(),
        b"data",
        "a bad mode must not truncate"
    );
}

#[test]
fn modes_without_create_refuse_a_missing_file() {
    let fs = Fs::memory().unwrap();
    for (s, m) in valid_modes() {
        let r = fs.open_file("missing", &s);
        if m.create {
            r.unwrap_or_else(|e| panic!("{s:?} creates: {e}"))
                .close()
                .unwrap();
            assert_eq!(
                fs.read("missing").unwrap(),
                b"",
                "{s:?} creates an empty file at open"
            );
            fs.remove_file("missing").unwrap();
        } else {
            assert!(
                matches!(r, Err(Error::NotFound(_))),
                "{s:?} on a missing file: {:?}",
                r.err()
            );
        }
    }
    fs.check().unwrap();
}

#[test]
fn exclusive_modes_refuse_an_existing_file_and_leave_it_alone() {
    let fs = Fs::memory().unwrap();
    fs.write("f", b"keep me").unwrap();
    for s in ["x", "x+", "xb", "x+b", "xb+", "xt", "x+t"] {
        assert!(
            matches!(fs.open_file("f", s), Err(Error::Exists(_))),
            "{s:?}"
        );
    }
    assert_eq!(fs.read("f").unwrap(), b"keep me");
    fs.check().unwrap();
}

#[test]
fn every_mode_opens_a_directory_as_an_error() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("d").unwrap();
    for (s, m) in valid_modes() {
        let r = fs.open_file("d", &s);
        if m.exclusive {
            // POSIX would say EEXIST; either kind refuses.
            assert!(
                matches!(r, Err(Error::IsDir(_)) | Err(Error::Exists(_))),
                "{s:?} on a directory: {:?}",
                r.err()
            );
        } else {
            assert!(
                matches!(r, Err(Error::IsDir(_))),
                "{s:?} on a directory: {:?}",
                r.err()
            );
        }
    }
}

#[test]
fn truncating_modes_empty_the_file_and_the_others_keep_it() {
    let fs = Fs::memory().unwrap();
    let big: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    for (s, m) in valid_modes()
        .into_iter()
        .filter(|(_, m)| m.write && !m.exclusive)
    {
        for content in [&b"0123456789"[..], &big[..]] {
            fs.write("f", content).unwrap();
            let f = fs.open_file("f", &s).unwrap();
            let want_len = if m.truncate { 0 } else { content.len() as u64 };
            assert_eq!(f.len(), want_len, "{s:?}: the handle's size after open");
            f.close().unwrap();
            let after = fs.read("f").unwrap();
            if m.truncate {
                assert!(after.is_empty(), "{s:?} truncates");
            } else {
                assert_eq!(after, content, "{s:?} keeps the content");
            }
        }
    }
    fs.check().unwrap();
}

#[test]
fn write_at_the_start_overwrites_except_in_append_modes() {
    let fs = Fs::memory().unwrap();
    for (s, m) in valid_modes().into_iter().filter(|(_, m)| m.write) {
        if m.exclusive {
            let _ = fs.remove_file("f");
        } else {
            fs.write("f", b"0123456789").unwrap();
        }
        let mut f = fs.open_file("f", &s).unwrap();
        f.write_all(b"AB").unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(b"CD").unwrap();
        assert_eq!(f.write_at(b"EF", 1).unwrap(), 2);
        f.close().unwrap();
        let want: &[u8] = match (m.append, m.truncate || m.exclusive) {
            // Append writes go to the end, whatever the position or offset.
            (true, _) => b"0123456789ABCDEF",
            (false, true) => b"CEF",
            (false, false) => b"CEF3456789",
        };
        assert_eq!(fs.read("f").unwrap(), want, "{s:?}");
    }
    fs.check().unwrap();
}

#[test]
fn read_only_modes_refuse_writes_with_access() {
    let fs = Fs::memory().unwrap();
    fs.write("f", b"content").unwrap();
    for s in ["r", "rb", "rt"] {
        let mut f = fs.open_file("f", s).unwrap();
        assert!(
            matches!(f.write_at(b"x", 0), Err(Error::Access(_))),
            "{s:?}: write_at"
        );
        assert!(
            matches!(f.set_len(0), Err(Error::Access(_))),
            "{s:?}: set_len"
        );
        let e = f.write(b"x").expect_err("io::Write on a read-only handle");
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied,
            "{s:?}: io::Write error kind"
        );
        assert!(
            matches!(Error::from_io(e), Error::Access(_)),
            "{s:?}: io::Write error downcasts to Access"
        );
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        assert_eq!(text, "content");
        f.close().unwrap();
    }
    assert_eq!(fs.read("f").unwrap(), b"content");
}

#[test]
fn write_only_modes_refuse_reads_with_access() {
    let fs = Fs::memory().unwrap();
    for (s, m) in valid_modes().into_iter().filter(|(_, m)| !m.read) {
        let _ = fs.remove_file("f");
        if !m.exclusive {
            fs.write("f", b"content").unwrap();
        }
        let mut f = fs.open_file("f", &s).unwrap();
        f.write_all(b"new").unwrap();
        let mut buf = [0u8; 4];
        assert!(
            matches!(f.read_at(&mut buf, 0), Err(Error::Access(_))),
            "{s:?}: read_at"
        );
        let e = f
            .read(&mut buf)
            .expect_err("io::Read on a write-only handle");
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied,
            "{s:?}: io::Read error kind"
        );
        f.close().unwrap();
    }
}

#[test]
fn plus_modes_read_back_their_own_uncommitted_writes() {
    let fs = Fs::memory().unwrap();
    for (s, m) in valid_modes().into_iter().filter(|(_, m)| m.read && m.write) {
        let _ = fs.remove_file("f");
        if !m.exclusive {
            fs.write("f", b"0123456789").unwrap();
        }
        let mut f = fs.open_file("f", &s).unwrap();
        f.write_all(b"XY").unwrap();
        let mut seen = Vec::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut seen).unwrap();
        let want: &[u8] = match (m.append, m.truncate || m.exclusive) {
            (true, _) => b"0123456789XY",
            (false, true) => b"XY",
            (false, false) => b"XY23456789",
        };
        assert_eq!(seen, want, "{s:?}: the handle sees its own writes");
        // Others see the file as committed at open until the handle commits.
        let before = fs.read("f").unwrap();
        let committed_at_open: &[u8] = if m.exclusive { b"" } else { b"0123456789" };
        assert_eq!(
            before, committed_at_open,
            "{s:?}: uncommitted writes are private"
        );
        f.close().unwrap();
        assert_eq!(fs.read("f").unwrap(), want, "{s:?}: visible after close");
    }
    fs.check().unwrap();
}

#[test]
fn writing_modes_on_a_read_only_container_are_access_errors() {
    let storage = Arc::new(MemoryStorage::new());
    let fs = FsOptions::new()
        .create(true)
        .open_storage(storage.clone())
        .unwrap();
    fs.write("f", b"data").unwrap();
    drop(fs);
    let ro = FsOptions::new()
        .open_storage(Arc::new(MemoryStorage::from_vec(storage.snapshot())))
        .unwrap();
    for (s, m) in valid_modes() {
        let r = ro.open_file("f", &s);
        if m.write {
            assert!(
                matches!(r, Err(Error::Access(_))),
                "{s:?} on a read-only container: {:?}",
                r.err()
            );
        } else {
            assert_eq!(r.unwrap().len(), 4, "{s:?} reads a read-only container");
        }
    }
    for (s, _) in valid_modes().into_iter().filter(|(_, m)| m.create) {
        let r = ro.open_file("new", &s);
        assert!(
            matches!(r, Err(Error::Access(_))),
            "{s:?} creating in a read-only container: {:?}",
            r.err()
        );
    }
    assert_eq!(ro.read("f").unwrap(), b"data");
}
