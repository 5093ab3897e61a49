//! Named snapshots (issue 13): isolation, page accounting, deletion,
//! views that outlive their snapshot, restore and diff.

use std::collections::BTreeMap;

use whefs::{ChangeKind, Error, FileType, Fs, FsOptions};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Everything under `/`: path → (kind, content or link target).
fn dump(fs: &Fs) -> BTreeMap<String, (FileType, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec!["/".to_string()];
    while let Some(dir) = stack.pop() {
        for e in fs.read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = if dir == "/" {
                format!("/{}", e.name)
            } else {
                format!("{dir}/{}", e.name)
            };
            let m = fs.symlink_metadata(&p).unwrap();
            let body = match m.kind {
                FileType::File => fs.read(&p).unwrap(),
                FileType::Symlink => fs.read_link(&p).unwrap().into_bytes(),
                FileType::Dir => {
                    stack.push(p.clone());
                    Vec::new()
                }
            };
            out.insert(p, (m.kind, body));
        }
    }
    out
}

fn populate(fs: &Fs) {
    fs.create_dir_all("/docs/deep").unwrap();
    fs.write("/docs/small", b"inline content").unwrap();
    fs.write("/docs/deep/large", &pattern(300_000, 1)).unwrap();
    fs.write("/top", &pattern(9_000, 2)).unwrap();
    fs.symlink("docs/small", "/link").unwrap();
    fs.hard_link("/top", "/docs/top-again").unwrap();
}

fn churn(fs: &Fs) {
    fs.write("/docs/deep/large", &pattern(310_000, 3)).unwrap();
    fs.remove_file("/top").unwrap();
    fs.rename("/docs/small", "/moved").unwrap();
    fs.write("/new", &pattern(50_000, 4)).unwrap();
    fs.remove_dir_all("/docs/deep").unwrap();
    for i in 0..40 {
        fs.write(&format!("/bulk{i}"), &pattern(5_000 + i, 5))
            .unwrap();
    }
}

#[test]
fn a_snapshot_keeps_its_content_through_rewrites_deletes_renames_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    let fs = Fs::create(&path).unwrap();
    populate(&fs);
    let before = dump(&fs);
    let info = fs.create_snapshot("before").unwrap();
    assert_eq!(info.files, 4);
    churn(&fs);
    fs.check().unwrap();
    let view = fs.open_snapshot("before").unwrap();
    assert_eq!(dump(&view), before);
    assert_eq!(view.snapshot_name(), Some("before"));
    view.check().unwrap();
    drop(view);
    drop(fs);

    // Reopened, and through the open option.
    let fs = Fs::open(&path).unwrap();
    fs.check().unwrap();
    let view = FsOptions::new().snapshot("before").open(&path).unwrap();
    assert_eq!(dump(&view), before);
    assert!(matches!(
        FsOptions::new().write(true).snapshot("before").open(&path),
        Err(Error::Access(_))
    ));
    // Writes through a view are refused; the latest state is untouched.
    assert!(matches!(view.write("/x", b"x"), Err(Error::Access(_))));
    assert!(matches!(
        view.create_snapshot("again"),
        Err(Error::Access(_))
    ));
    assert!(!fs.exists("/x").unwrap());
}

#[test]
fn snapshot_names_are_checked_and_unique() {
    let fs = Fs::memory().unwrap();
    fs.create_snapshot("one").unwrap();
    assert!(matches!(fs.create_snapshot("one"), Err(Error::Exists(_))));
    for bad in ["", ".", "..", "a/b", "nul\0"] {
        assert!(fs.create_snapshot(bad).is_err(), "{bad:?} accepted");
    }
    assert!(matches!(fs.delete_snapshot("two"), Err(Error::NotFound(_))));
    assert!(matches!(fs.open_snapshot("two"), Err(Error::NotFound(_))));
    fs.create_snapshot("two").unwrap();
    let names: Vec<_> = fs
        .snapshots()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["one", "two"]);
}

#[test]
fn pages_a_snapshot_holds_are_not_reused_and_come_back_when_it_is_deleted() {
    let fs = Fs::memory().unwrap();
    for i in 0..20 {
        fs.write(&format!("/f{i}"), &pattern(40_000, i as u8))
            .unwrap();
    }
    fs.create_snapshot("s").unwrap();
    for i in 0..20 {
        fs.remove_file(&format!("/f{i}")).unwrap();
    }
    let info = fs.info().unwrap();
    // 20 files of 10 pages each stay held.
    assert!(info.pages_snapshot >= 200, "{info:?}");
    let listed = fs.snapshots().unwrap();
    assert!(listed[0].exclusive_pages >= 200, "{listed:?}");
    assert_eq!(fs.check().unwrap().held_pages, info.pages_snapshot);
    // New data must not overwrite the snapshot's pages.
    for i in 0..20 {
        fs.write(&format!("/g{i}"), &pattern(40_000, 100 + i as u8))
            .unwrap();
    }
    let view = fs.open_snapshot("s").unwrap();
    for i in 0..20 {
        assert_eq!(
            view.read(&format!("/f{i}")).unwrap(),
            pattern(40_000, i as u8)
        );
    }
    drop(view);
    let size_before = fs.info().unwrap().pages_total;
    let released = fs.delete_snapshot("s").unwrap();
    assert_eq!(released, info.pages_snapshot);
    assert_eq!(fs.info().unwrap().pages_snapshot, 0);
    fs.check().unwrap();
    // Once reclaimed, the pages are reused: more writes do not grow it.
    for round in 0..3 {
        for i in 0..20 {
            fs.write(&format!("/h{i}"), &pattern(40_000, round + i as u8))
                .unwrap();
        }
    }
    fs.check().unwrap();
    assert!(
        fs.info().unwrap().pages_total <= size_before + 64,
        "the container grew from {size_before} to {} pages after the snapshot was deleted",
        fs.info().unwrap().pages_total
    );
}

#[test]
fn pages_written_after_a_snapshot_are_reused_while_it_exists() {
    let fs = Fs::memory().unwrap();
    fs.write("/keep", &pattern(100_000, 1)).unwrap();
    fs.create_snapshot("s").unwrap();
    for round in 0..30 {
        fs.write("/churn", &pattern(100_000, round)).unwrap();
    }
    let first = fs.info().unwrap().pages_total;
    for round in 0..30 {
        fs.write("/churn", &pattern(100_000, 50 + round)).unwrap();
    }
    fs.check().unwrap();
    let info = fs.info().unwrap();
    assert!(
        info.pages_total <= first + 40,
        "churn after a snapshot grew the container from {first} to {} pages",
        info.pages_total
    );
    // Only what the snapshot needs is held: a few tree pages, no churn.
    assert!(info.pages_snapshot < 20, "{info:?}");
}

#[test]
fn a_view_keeps_reading_after_its_snapshot_is_deleted() {
    let fs = Fs::memory().unwrap();
    fs.write("/a", &pattern(200_000, 7)).unwrap();
    fs.create_snapshot("s").unwrap();
    let view = fs.open_snapshot("s").unwrap();
    fs.remove_file("/a").unwrap();
    fs.delete_snapshot("s").unwrap();
    for i in 0..30 {
        fs.write(&format!("/b{i}"), &pattern(200_000, i)).unwrap();
    }
    assert_eq!(view.read("/a").unwrap(), pattern(200_000, 7));
    drop(view);
    fs.check().unwrap();
}

#[test]
fn several_snapshots_share_pages_and_deleting_one_keeps_the_others() {
    let fs = Fs::memory().unwrap();
    fs.write("/a", &pattern(60_000, 1)).unwrap();
    fs.create_snapshot("s1").unwrap();
    fs.write("/b", &pattern(60_000, 2)).unwrap();
    fs.create_snapshot("s2").unwrap();
    fs.remove_file("/a").unwrap();
    fs.remove_file("/b").unwrap();
    fs.create_snapshot("s3").unwrap();
    fs.check().unwrap();
    fs.delete_snapshot("s2").unwrap();
    fs.check().unwrap();
    let s1 = fs.open_snapshot("s1").unwrap();
    assert_eq!(s1.read("/a").unwrap(), pattern(60_000, 1));
    assert!(!s1.exists("/b").unwrap());
    drop(s1);
    fs.delete_snapshot("s1").unwrap();
    fs.check().unwrap();
    let s3 = fs.open_snapshot("s3").unwrap();
    assert!(dump(&s3).is_empty());
    drop(s3);
    assert_eq!(
        fs.info().unwrap().pages_snapshot,
        fs.snapshots().unwrap()[0].exclusive_pages
    );
}

#[test]
fn restore_brings_back_exactly_the_snapshot_content() {
    let fs = Fs::memory().unwrap();
    populate(&fs);
    fs.set_permissions("/docs/small", 0o600).unwrap();
    let before = dump(&fs);
    let meta_before = fs.metadata("/docs/small").unwrap();
    fs.create_snapshot("s").unwrap();
    churn(&fs);
    fs.restore("s", "/").unwrap();
    assert_eq!(dump(&fs), before);
    let m = fs.metadata("/docs/small").unwrap();
    assert_eq!(
        (m.mode, m.mtime_ns),
        (meta_before.mode, meta_before.mtime_ns)
    );
    // The hard link is one inode again.
    assert_eq!(fs.metadata("/top").unwrap().nlink, 2);
    assert_eq!(
        fs.metadata("/top").unwrap().ino,
        fs.metadata("/docs/top-again").unwrap().ino
    );
    fs.check().unwrap();
    assert!(fs.open_snapshot("s").unwrap().diff(&fs).unwrap().is_empty());
}

#[test]
fn restore_of_one_subtree_leaves_the_rest_alone() {
    let fs = Fs::memory().unwrap();
    populate(&fs);
    fs.create_snapshot("s").unwrap();
    fs.write("/docs/deep/large", b"changed").unwrap();
    fs.write("/docs/extra", b"added").unwrap();
    fs.write("/top", b"outside the subtree").unwrap();
    fs.restore("s", "/docs").unwrap();
    assert_eq!(fs.read("/docs/deep/large").unwrap(), pattern(300_000, 1));
    assert!(!fs.exists("/docs/extra").unwrap());
    assert_eq!(fs.read("/top").unwrap(), b"outside the subtree");
    // A path the snapshot lacks is removed; one it has comes back.
    fs.write("/later", b"x").unwrap();
    fs.restore("s", "/later").unwrap();
    assert!(!fs.exists("/later").unwrap());
    fs.remove_file("/link").unwrap();
    fs.restore("s", "/link").unwrap();
    assert_eq!(fs.read_link("/link").unwrap(), "docs/small");
    fs.check().unwrap();
}

#[test]
fn diff_lists_added_removed_and_changed_paths() {
    let fs = Fs::memory().unwrap();
    populate(&fs);
    fs.create_snapshot("s").unwrap();
    fs.write("/docs/small", b"other content!").unwrap();
    fs.remove_dir_all("/docs/deep").unwrap();
    fs.write("/fresh", b"new").unwrap();
    let old = fs.open_snapshot("s").unwrap();
    let got: Vec<(ChangeKind, String)> = old
        .diff(&fs)
        .unwrap()
        .into_iter()
        .map(|c| (c.kind, c.path))
        .collect();
    let want = vec![
        (ChangeKind::Changed, "/docs".to_string()),
        (ChangeKind::Removed, "/docs/deep".to_string()),
        (ChangeKind::Removed, "/docs/deep/large".to_string()),
        (ChangeKind::Changed, "/docs/small".to_string()),
        (ChangeKind::Added, "/fresh".to_string()),
    ];
    // A directory is "changed" only by its own metadata; /docs kept its mode
    // and owner, so it is not listed.
    let want: Vec<_> = want.into_iter().filter(|w| w.1 != "/docs").collect();
    assert_eq!(got, want);
}

#[test]
fn a_snapshot_survives_reopen_and_is_seen_by_another_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    let a = Fs::create(&path).unwrap();
    a.write("/f", b"one").unwrap();
    a.create_snapshot("s").unwrap();
    let b = Fs::open(&path).unwrap();
    a.write("/f", b"two").unwrap();
    assert_eq!(b.open_snapshot("s").unwrap().read("/f").unwrap(), b"one");
    assert_eq!(b.read("/f").unwrap(), b"two");
    b.delete_snapshot("s").unwrap();
    assert!(a.snapshots().unwrap().is_empty());
    a.check().unwrap();
}
