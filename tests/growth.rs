//! The container file grows ahead of small durable commits: the pages a
//! commit reserves past the file's end are written as zeros in one go, so
//! the commits after it overwrite blocks the file already has (their
//! `fdatasync` then syncs data, not the file system's journal). Without
//! syncs (`Durability::Off`) nothing is written ahead. Either way every
//! file reads back after a reopen and the container checks clean.

use std::path::Path;

use whefs::{Durability, Fs};

const COMMITS: usize = 48;

/// The container file's length after each of `COMMITS` small commits.
fn lengths_after_commits(path: &Path, durability: Durability) -> Vec<u64> {
    let fs = Fs::create(path).unwrap();
    fs.set_durability(durability);
    (0..COMMITS)
        .map(|i| {
            fs.write(&format!("f{i}"), &vec![i as u8; 4096]).unwrap();
            std::fs::metadata(path).unwrap().len()
        })
        .collect()
}

fn distinct(lengths: &[u64]) -> usize {
    let mut v = lengths.to_vec();
    v.dedup();
    v.len()
}

fn reads_back(path: &Path) {
    let fs = Fs::open(path).unwrap();
    for i in 0..COMMITS {
        assert_eq!(fs.read(&format!("f{i}")).unwrap(), vec![i as u8; 4096]);
    }
    let report = fs.check().unwrap(); // a problem is an error
    assert_eq!(report.files, COMMITS as u64);
}

#[test]
fn small_durable_commits_find_the_file_grown_ahead_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ahead.whefs");
    let ahead = lengths_after_commits(&path, Durability::Full);
    reads_back(&path);
    let plain = dir.path().join("off.whefs");
    let step = lengths_after_commits(&plain, Durability::Off);
    reads_back(&plain);
    // Off: the file grows with nearly every commit's new data page.
    assert!(
        distinct(&step) > COMMITS / 2,
        "off: {} lengths in {COMMITS} commits",
        distinct(&step)
    );
    // Full: by a reservation's worth of pages at a time.
    assert!(
        distinct(&ahead) * 4 <= COMMITS,
        "full: {} lengths in {COMMITS} commits: {ahead:?}",
        distinct(&ahead)
    );
    // Not by much more than that: at most a reservation past the pages in use.
    assert!(
        ahead[COMMITS - 1] <= step[COMMITS - 1] + 32 * 4096,
        "full: {} bytes, off: {}",
        ahead[COMMITS - 1],
        step[COMMITS - 1]
    );
}
