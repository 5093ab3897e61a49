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

/// Pages another open's writer held, and has since let go, are used again
/// once they are free: a claim passes over reservations it saw another
/// open holding (a hint that saves a try-lock and a probe each), but one
/// that comes up short after passing over any asks again before it grows
/// the container.
#[test]
fn pages_another_open_held_are_reused_once_it_lets_go() {
    const FREED: usize = 192;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hints.whefs");
    let a = Fs::create(&path).unwrap();
    for i in 0..FREED {
        a.write(&format!("old{i}"), &[1u8; 4096]).unwrap();
    }
    for i in 0..FREED {
        a.remove_file(&format!("old{i}")).unwrap();
    }
    // Commits until the freed pages are free (not pending) again.
    for i in 0..64 {
        if a.info().unwrap().pages_free >= FREED as u64 {
            break;
        }
        a.write("tick", &[i as u8; 16]).unwrap();
    }
    let free = a.info().unwrap().pages_free;
    assert!(free >= FREED as u64, "only {free} pages came free");

    // A writer of this open reserves (nearly) every free page, uncommitted.
    let mut big = a.open_file("big", "w").unwrap();
    big.write_at(&vec![2u8; (free as usize - 8) * 4096], 0)
        .unwrap();
    // Another open commits meanwhile: its claims meet those reservations.
    let b = Fs::open(&path).unwrap();
    for i in 0..8 {
        b.write(&format!("b{i}"), &[3u8; 4096]).unwrap();
    }
    big.abort().unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    drop(a); // and its pool's pages with it

    // The pages are free and held by nobody now: b's commits use them,
    // after the pages past the end its pool reserved meanwhile.
    let report = b.lock_report().unwrap();
    assert!(report.reserved_pages.is_empty(), "{report:?}");
    let reserved_end = report
        .own_reserved_pages
        .iter()
        .map(|&(s, l)| (s + l) * 4096)
        .max()
        .unwrap_or(0);
    let before = before.max(reserved_end);
    for i in 0..(FREED / 2) {
        b.write(&format!("c{i}"), &[4u8; 4096]).unwrap();
    }
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(
        after <= before + 16 * 4096,
        "the container grew from {before} to {after} bytes while {free} pages were free"
    );
    for i in 0..(FREED / 2) {
        assert_eq!(b.read(&format!("c{i}")).unwrap(), vec![4u8; 4096]);
    }
    b.check().unwrap();
}

/// At `off` the sync that lets freed pages be reused runs on the open's
/// helper thread while the commits go on; the pages are reused all the
/// same, so rewriting one file keeps the container near the file's size
/// (without reuse, 1,500 rewrites of 16 pages would take 24,000 pages).
#[test]
fn unsynced_rewrites_reuse_pages_while_their_sync_runs_in_the_background() {
    const ROUNDS: usize = 1500;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("off.whefs");
    let fs = Fs::create(&path).unwrap();
    fs.set_durability(Durability::Off);
    for i in 0..ROUNDS {
        fs.write("f", &vec![i as u8; 16 * 4096]).unwrap();
    }
    let total = fs.info().unwrap().pages_total;
    // A commit waits for the sync once four times its threshold (256
    // pages at this size) is pending: the container stays within a few
    // thousand pages, whenever the helper's syncs return.
    assert!(
        total < 3000,
        "{ROUNDS} rewrites grew the container to {total} pages"
    );
    fs.check().unwrap();
    drop(fs);
    let fs = Fs::open(&path).unwrap();
    assert_eq!(fs.read("f").unwrap(), vec![(ROUNDS - 1) as u8; 16 * 4096]);
}
