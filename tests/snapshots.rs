//! Snapshot semantics (DESIGN G2, §5): a handle opened for reading keeps
//! the content committed when it was opened, whatever is committed after;
//! a directory listing keeps the generation it was opened at; `stat` and
//! `ls` see the latest commit; an orphaned writer's pages are freed when
//! it closes.

use std::io::{Read, Write};

use whefs::{Error, Fs};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed))
        .collect()
}

fn read_all(f: &mut whefs::File) -> Vec<u8> {
    let mut out = Vec::new();
    f.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn reader_opened_before_a_commit_keeps_the_old_content() {
    let fs = Fs::memory().unwrap();
    for (name, len) in [("inline", 300), ("paged", 200_000)] {
        fs.write(name, &pattern(len, 1)).unwrap();
        let mut before_write = fs.open_file(name, "r").unwrap();
        fs.write(name, &pattern(len + 7, 2)).unwrap();
        let mut before_patch = fs.open_file(name, "r").unwrap();
        let mut w = fs.open_file(name, "r+").unwrap();
        w.write_at(b"PATCHED", 10).unwrap();
        w.set_len(len as u64 / 2).unwrap();
        w.close().unwrap();
        let mut before_txn = fs.open_file(name, "r").unwrap();
        fs.transaction(|t| {
            t.write(name, b"replaced in a transaction")?;
            Ok(())
        })
        .unwrap();
        let mut before_remove = fs.open_file(name, "r").unwrap();
        fs.remove_file(name).unwrap();

        assert_eq!(read_all(&mut before_write), pattern(len, 1), "{name}");
        assert_eq!(read_all(&mut before_patch), pattern(len + 7, 2), "{name}");
        let mut patched = pattern(len + 7, 2);
        patched[10..17].copy_from_slice(b"PATCHED");
        patched.truncate(len / 2);
        assert_eq!(read_all(&mut before_txn), patched, "{name}");
        assert_eq!(read_all(&mut before_remove), b"replaced in a transaction");
        // The handle's metadata is its snapshot's; `stat` is the latest.
        assert_eq!(before_write.metadata().unwrap().size, len as u64);
        assert!(matches!(fs.metadata(name), Err(Error::NotFound(_))));
    }
    fs.check().unwrap();
}

#[test]
fn reader_keeps_its_snapshot_across_rename_over_and_remove_dir_all() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("d").unwrap();
    fs.write("d/f", &pattern(100_000, 3)).unwrap();
    fs.write("g", &pattern(50_000, 4)).unwrap();
    let mut r1 = fs.open_file("d/f", "r").unwrap();
    fs.rename("g", "d/f").unwrap();
    let mut r2 = fs.open_file("d/f", "r").unwrap();
    fs.remove_dir_all("d").unwrap();
    // Commits that reuse freed space must not touch pinned pages.
    for i in 0..20 {
        fs.write(&format!("churn{i}"), &pattern(60_000, i)).unwrap();
    }
    assert_eq!(read_all(&mut r1), pattern(100_000, 3));
    assert_eq!(read_all(&mut r2), pattern(50_000, 4));
    fs.check().unwrap();
}

#[test]
fn listing_opened_before_a_rename_keeps_the_old_names() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("d").unwrap();
    // More entries than one fetch of a listing (64), so that the listing
    // goes back to its snapshot after the renames.
    let names: Vec<String> = (0..150).map(|i| format!("n{i:03}")).collect();
    for n in &names {
        fs.write(&format!("d/{n}"), n.as_bytes()).unwrap();
    }
    let mut listing = fs.read_dir("d").unwrap();
    let first = listing.next().unwrap().unwrap();
    for n in &names {
        fs.rename(&format!("d/{n}"), &format!("d/renamed-{n}"))
            .unwrap();
    }
    fs.write("d/added", b"new").unwrap();
    fs.remove_file("d/renamed-n149").unwrap();
    let mut seen = vec![first.name];
    seen.extend(listing.map(|e| e.unwrap().name));
    assert_eq!(
        seen, names,
        "the listing is the generation it was opened at"
    );
    // A new listing sees the latest.
    let now: Vec<_> = fs.read_dir("d").unwrap().map(|e| e.unwrap().name).collect();
    assert_eq!(now.len(), 150);
    assert_eq!(now[0], "added");
    assert!(now.iter().skip(1).all(|n| n.starts_with("renamed-")));
    fs.check().unwrap();
}

#[test]
fn listing_opened_before_a_transaction_sees_none_of_it() {
    let fs = Fs::memory().unwrap();
    fs.write("a", b"a").unwrap();
    fs.write("b", b"bb").unwrap();
    let listing = fs.read_dir("/").unwrap();
    fs.transaction(|t| {
        t.remove_file("a")?;
        t.write("b", b"bigger now")?;
        t.create_dir("c")?;
        Ok(())
    })
    .unwrap();
    let seen: Vec<_> = listing
        .map(|e| e.unwrap())
        .map(|e| (e.name, e.size))
        .collect();
    assert_eq!(seen, [("a".to_string(), 1), ("b".to_string(), 2)]);
    let now: Vec<_> = fs.read_dir("/").unwrap().map(|e| e.unwrap().name).collect();
    assert_eq!(now, ["b", "c"]);
}

#[test]
fn stat_and_ls_see_the_latest_commit_while_a_file_is_written() {
    let fs = Fs::memory().unwrap();
    let mut w = fs.open_file("growing", "w").unwrap();
    assert_eq!(fs.metadata("growing").unwrap().size, 0, "visible at open");
    for i in 1..=5u64 {
        w.write_all(&pattern(10_000, i as u8)).unwrap();
        assert_eq!(fs.metadata("growing").unwrap().size, (i - 1) * 10_000);
        w.flush().unwrap();
        assert_eq!(fs.metadata("growing").unwrap().size, i * 10_000);
        assert_eq!(fs.glob("grow*").unwrap(), ["growing"]);
    }
    w.close().unwrap();
}

#[test]
fn orphaned_writers_pages_are_freed_at_close() {
    let fs = Fs::memory().unwrap();
    fs.write("other", b"x").unwrap();
    let baseline = fs.info().unwrap();
    let mut w = fs.open_file("doomed", "w").unwrap();
    w.write_all(&pattern(2_000_000, 5)).unwrap();
    w.commit().unwrap();
    let written = fs.info().unwrap();
    assert!(written.pages_used >= baseline.pages_used + 480);
    // Unlinked while open for writing: an orphan, still holding its pages.
    fs.remove_file("doomed").unwrap();
    w.write_at(b"more", 0).unwrap();
    w.commit().unwrap();
    let orphaned = fs.info().unwrap();
    assert_eq!(orphaned.files, 2);
    assert!(orphaned.pages_used >= baseline.pages_used + 480);
    fs.check().unwrap();
    w.close().unwrap();
    let closed = fs.info().unwrap();
    assert_eq!(closed.files, 1);
    assert!(
        closed.pages_used < baseline.pages_used + 20,
        "pages used: {} before, {} after close",
        baseline.pages_used,
        closed.pages_used
    );
    assert!(
        closed.pages_free + closed.pages_pending
            >= orphaned.pages_free + orphaned.pages_pending + 480
    );
    fs.check().unwrap();
    // And the space is reused, once a later commit has moved it from the
    // pending list to the free list.
    fs.write("tick", b"t").unwrap();
    fs.write("next", &pattern(2_000_000, 6)).unwrap();
    assert!(fs.info().unwrap().pages_total < closed.pages_total + 40);
    fs.check().unwrap();
}

#[test]
fn writer_orphaned_by_rename_over_is_freed_at_close_and_the_new_file_stays() {
    let fs = Fs::memory().unwrap();
    let mut w = fs.open_file("f", "w").unwrap();
    w.write_all(&pattern(400_000, 7)).unwrap();
    w.commit().unwrap();
    fs.write("g", b"new f").unwrap();
    fs.rename("g", "f").unwrap();
    w.write_all(b"tail").unwrap();
    w.close().unwrap();
    assert_eq!(fs.read("f").unwrap(), b"new f");
    let info = fs.info().unwrap();
    assert_eq!(info.files, 1);
    assert!(info.pages_used < 20, "{} pages used", info.pages_used);
    fs.check().unwrap();
}

/// An open's first read pins the generation the open found and reads the
/// slots once: it still sees what was committed between the open and the
/// read, and so do later reads (served by the slots' mapping once they are
/// read again), whatever the durability of the commits (an empty manifest
/// is taken at open without a pin).
#[test]
fn the_first_read_after_open_sees_commits_made_since_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    let writer = Fs::create(&path).unwrap();
    for durability in [
        whefs::Durability::Full,
        whefs::Durability::Normal,
        whefs::Durability::Off,
    ] {
        writer.set_durability(durability);
        writer.write("f", b"before the open").unwrap();
        let reader = Fs::open_read_only(&path).unwrap();
        writer.write("f", b"after the open").unwrap();
        assert_eq!(
            reader.read("f").unwrap(),
            b"after the open",
            "{durability:?}"
        );
        writer.write("f", b"later still").unwrap();
        assert_eq!(reader.read("f").unwrap(), b"later still", "{durability:?}");
        writer.create_dir_all("g/i").unwrap();
        writer.write("g/i/h", b"two directories down").unwrap();
        assert_eq!(reader.read("g/i/h").unwrap(), b"two directories down");
    }
    // `..` in a link target, from a directory the walk passed through.
    writer.symlink("../i/./h", "g/i/up").unwrap();
    let reader = Fs::open_read_only(&path).unwrap();
    assert_eq!(reader.read("g/i/up").unwrap(), b"two directories down");
    // An empty file is no container, for an open that may not create one.
    let empty = dir.path().join("empty.whefs");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        Fs::open_read_only(&empty),
        Err(Error::BadMagic(_))
    ));
}
