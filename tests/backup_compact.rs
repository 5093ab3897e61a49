//! Online backup and compaction (issue 13): a backup is one committed
//! state, compact and clean; compaction shrinks a container to its live
//! pages and keeps every file and snapshot intact.

use std::collections::BTreeMap;

use whefs::{Error, Fs, FsOptions};

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(2654435761).wrapping_add(seed) as u8)
        .collect()
}

fn files(fs: &Fs) -> BTreeMap<String, Vec<u8>> {
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
            if e.kind == whefs::FileType::Dir {
                stack.push(p.clone());
                out.insert(p, Vec::new());
            } else {
                out.insert(p.clone(), fs.read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_backup_equals_the_source_is_compact_and_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Fs::create(dir.path().join("src.whefs")).unwrap();
    fs.create_dir_all("/a/b").unwrap();
    for i in 0..300u64 {
        fs.write(
            &format!("/a/b/f{i}"),
            &pattern((i as usize * 977) % 40_000, i),
        )
        .unwrap();
    }
    for i in 0..150u64 {
        fs.remove_file(&format!("/a/b/f{}", i * 2)).unwrap();
    }
    fs.symlink("a/b/f1", "/link").unwrap();
    fs.create_snapshot("s").unwrap();
    let dest = dir.path().join("copy.whefs");
    let mut calls = 0;
    let report = fs
        .backup_to_with(&dest, &mut |done, total| {
            assert!(done <= total);
            calls += 1;
        })
        .unwrap();
    assert!(calls > 0);
    let copy = Fs::open_read_only(&dest).unwrap();
    let check = copy.check().unwrap();
    assert_eq!(files(&copy), files(&fs));
    assert_eq!(copy.read_link("/link").unwrap(), "a/b/f1");
    assert!(copy.snapshots().unwrap().is_empty());
    let info = copy.info().unwrap();
    assert_eq!(info.pages_free + info.pages_pending, 0);
    assert_eq!(report.pages, info.pages_total);
    assert_eq!(check.files, report.files);
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), report.bytes);
    let source_size = std::fs::metadata(dir.path().join("src.whefs"))
        .unwrap()
        .len();
    assert!(
        report.bytes < source_size,
        "{} vs {source_size}",
        report.bytes
    );
    // The copy is a working container.
    drop(copy);
    let copy = Fs::open(&dest).unwrap();
    copy.write("/after", b"x").unwrap();
    copy.check().unwrap();
    // Never over an existing file.
    assert!(matches!(fs.backup_to(&dest), Err(Error::Exists(_))));
}

#[test]
fn a_backup_of_a_snapshot_view_copies_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Fs::create(dir.path().join("src.whefs")).unwrap();
    fs.write("/f", &pattern(50_000, 1)).unwrap();
    fs.create_snapshot("old").unwrap();
    fs.write("/f", &pattern(60_000, 2)).unwrap();
    let dest = dir.path().join("old.whefs");
    fs.open_snapshot("old").unwrap().backup_to(&dest).unwrap();
    let copy = Fs::open_read_only(&dest).unwrap();
    copy.check().unwrap();
    assert_eq!(copy.read("/f").unwrap(), pattern(50_000, 1));
}

#[test]
fn compaction_after_deleting_half_of_ten_thousand_files_leaves_at_most_a_tenth_more_than_live() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    let fs = FsOptions::new()
        .create(true)
        .durability(whefs::Durability::Off)
        .open(&path)
        .unwrap();
    let n = 10_000u64;
    fs.transaction(|t| {
        t.create_dir("/d")?;
        for i in 0..n {
            t.write(
                &format!("/d/f{i}"),
                &pattern(6_000 + (i as usize % 7) * 1_000, i),
            )?;
        }
        Ok(())
    })
    .unwrap();
    fs.transaction(|t| {
        for i in (0..n).filter(|i| i % 2 == 1) {
            t.remove_file(&format!("/d/f{i}"))?;
        }
        Ok(())
    })
    .unwrap();
    let before_bytes = std::fs::metadata(&path).unwrap().len();
    let want = files(&fs);
    let report = fs.compact().unwrap();
    fs.check().unwrap();
    assert_eq!(files(&fs), want);
    let info = fs.info().unwrap();
    let live = info.pages_used;
    let after_bytes = std::fs::metadata(&path).unwrap().len();
    assert_eq!(after_bytes, info.pages_total * info.page_size as u64);
    assert!(after_bytes < before_bytes);
    assert!(
        info.pages_total as f64 <= live as f64 * 1.1,
        "{} pages after compaction for {live} live ({report:?})",
        info.pages_total
    );
    drop(fs);
    let fs = Fs::open(&path).unwrap();
    fs.check().unwrap();
    assert_eq!(files(&fs).len(), want.len());
}

#[test]
fn compaction_keeps_snapshots_whole() {
    let fs = Fs::memory().unwrap();
    for i in 0..200u64 {
        fs.write(&format!("/f{i}"), &pattern(20_000, i)).unwrap();
    }
    fs.create_snapshot("s").unwrap();
    let snapped = files(&fs);
    for i in 0..200u64 {
        if i % 3 != 0 {
            fs.remove_file(&format!("/f{i}")).unwrap();
        }
    }
    for i in 0..50u64 {
        fs.write(&format!("/g{i}"), &pattern(20_000, 1000 + i))
            .unwrap();
    }
    fs.remove_file("/g3").unwrap();
    let now = files(&fs);
    fs.compact().unwrap();
    fs.check().unwrap();
    assert_eq!(files(&fs), now);
    assert_eq!(files(&fs.open_snapshot("s").unwrap()), snapped);
    fs.delete_snapshot("s").unwrap();
    fs.compact().unwrap();
    fs.check().unwrap();
    assert_eq!(files(&fs), now);
}

#[test]
fn compaction_waits_for_other_opens_and_then_says_why_it_failed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    let fs = Fs::create(&path).unwrap();
    fs.write("/f", &pattern(100_000, 1)).unwrap();
    let other = Fs::open_read_only(&path).unwrap();
    fs.set_busy_timeout(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    match fs.compact() {
        Err(Error::Busy(m)) => assert!(m.contains("to itself"), "{m}"),
        other => panic!("compaction with another open: {other:?}"),
    }
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    drop(other);
    let f = fs.open_file("/f", "r").unwrap();
    assert!(matches!(fs.compact(), Err(Error::Busy(_))));
    drop(f);
    fs.compact().unwrap();
    // Sharing again afterwards.
    let other = Fs::open_read_only(&path).unwrap();
    assert_eq!(other.read("/f").unwrap(), pattern(100_000, 1));
}

#[test]
fn compaction_never_grows_a_container_even_on_a_fresh_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    {
        let fs = Fs::create(&path).unwrap();
        fs.write("/a", b"hi").unwrap();
        for i in 0..50u64 {
            fs.write(&format!("/f{i}"), &pattern(20_000, i)).unwrap();
        }
        for i in 0..40u64 {
            fs.remove_file(&format!("/f{i}")).unwrap();
        }
    }
    for round in 0..3 {
        let fs = Fs::open(&path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let report = fs.compact().unwrap();
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(
            after <= before,
            "round {round}: {before} -> {after} bytes ({report:?})"
        );
        fs.check().unwrap();
        let info = fs.info().unwrap();
        assert!(
            info.pages_total as f64 <= info.pages_used as f64 * 1.1 + 4.0,
            "round {round}: {} pages for {} live ({report:?})",
            info.pages_total,
            info.pages_used
        );
    }
    let fs = Fs::open(&path).unwrap();
    assert_eq!(fs.read("/a").unwrap(), b"hi");
    for i in 40..50u64 {
        assert_eq!(fs.read(&format!("/f{i}")).unwrap(), pattern(20_000, i));
    }
}
