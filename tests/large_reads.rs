//! Large reads (runs of whole extents through one vectored read, with a
//! partial first or last page through scratch room) verify every page: a
//! flipped byte anywhere in a multi-extent read — in the middle, in the
//! last page, in a partial last page — is `Corrupt` naming the damaged
//! page (the lowest one if several are), on every read of it and from
//! several threads at once; undamaged runs read back intact however they
//! are cut. A read of 256 KiB or more of one extent is split in two halves
//! read at once, the second by the open's helper thread (from the open's
//! second such read on; `engine/assist.rs`): the damage may be in either
//! half, or in both.

mod hooked;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use whefs::{Error, Fs};

const PAGE: usize = 4096;
/// 2 MiB: several extents, each a run read in several chunks.
const PAGES: usize = 512;

/// Page `i` of the file: a tag the test can find in the container file,
/// then bytes that differ from page to page.
fn file_page(i: usize) -> Vec<u8> {
    let mut page = format!("<<large-read page {i:06}>>").into_bytes();
    page.resize(PAGE, 0);
    for (j, b) in page.iter_mut().enumerate().skip(32) {
        *b = (i * 131 + j * 7) as u8;
    }
    page
}

fn content() -> Vec<u8> {
    (0..PAGES).flat_map(file_page).collect()
}

/// A container holding `big` (written in one go, so in long runs), and one
/// more commit after it: damage to a page of the latest commit is a torn
/// commit, which open passes over (docs/format.md §7).
fn container() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.whefs");
    let fs = Fs::create(&path).unwrap();
    fs.write("big", &content()).unwrap();
    fs.create_dir("later").unwrap();
    drop(fs);
    (dir, path)
}

/// Flips a byte in the middle of file page `i`; returns its container page.
fn damage(path: &Path, i: usize) -> u64 {
    let mut image = std::fs::read(path).unwrap();
    let tag = &file_page(i)[..32];
    let at = image
        .windows(tag.len())
        .position(|w| w == tag)
        .expect("the page's tag is in the container file");
    assert_eq!(at % PAGE, 0, "file page {i} starts a container page");
    image[at + PAGE / 2] ^= 0x20;
    std::fs::write(path, &image).unwrap();
    (at / PAGE) as u64
}

/// Reads of `len` bytes at `offset`, each in one call, on one open (the
/// first one fills the open's caches, the later ones use them): every
/// read must say the same.
const READS: usize = 10;

fn read_once(path: &Path, offset: u64, len: usize) -> whefs::Result<Vec<u8>> {
    let fs = Fs::open_read_only(path).unwrap();
    let f = fs.open_file("big", "r").unwrap();
    let mut first = None;
    for _ in 0..READS {
        let mut buf = vec![0u8; len];
        let r = f.read_at(&mut buf, offset).map(|n| {
            buf.truncate(n);
            buf
        });
        match (&first, r) {
            (None, r) => first = Some(r),
            (Some(Ok(a)), Ok(b)) => assert!(*a == b, "two reads of {len} at {offset} differ"),
            (Some(Err(a)), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (Some(a), b) => panic!(
                "one read of {len} at {offset}: {a:?}, another: {b:?}",
                a = a.as_ref().map(|_| ()),
                b = b.map(|_| ())
            ),
        }
    }
    first.unwrap()
}

fn expect_corrupt(r: whefs::Result<Vec<u8>>, page: u64) {
    match r {
        Err(Error::Corrupt(msg)) => assert!(
            msg.contains(&format!("data page {page}")),
            "the error names another page than {page}: {msg}"
        ),
        Err(e) => panic!("want Corrupt naming page {page}, got {e:?}"),
        Ok(data) => panic!(
            "a read of a damaged page {page} returned {} bytes",
            data.len()
        ),
    }
}

#[test]
fn large_reads_return_the_file_intact_however_they_are_cut() {
    let (_dir, path) = container();
    let want = content();
    for (offset, len) in [
        (0, want.len()),
        (0, 1 << 20),
        (100, want.len()),
        (PAGE as u64 * 3, 300 * PAGE + 17),
        (PAGE as u64 * 123, 130 * PAGE),
    ] {
        let got = read_once(&path, offset, len).unwrap();
        let end = (offset as usize + len).min(want.len());
        assert!(
            got == want[offset as usize..end],
            "read of {len} at {offset} differs"
        );
    }
}

#[test]
fn a_flipped_byte_in_the_middle_of_a_large_read_is_corrupt() {
    let (_dir, path) = container();
    // Page 200: inside a run of ~124 pages, past its first chunks.
    let page = damage(&path, 200);
    expect_corrupt(read_once(&path, 0, PAGES * PAGE), page);
    expect_corrupt(read_once(&path, 100, PAGES * PAGE), page);
    // Pages away from the damage still read.
    let got = read_once(&path, 0, 100 * PAGE).unwrap();
    assert!(got == content()[..100 * PAGE]);
}

#[test]
fn a_flipped_byte_in_the_last_page_of_a_large_read_is_corrupt() {
    let (_dir, path) = container();
    let last = damage(&path, PAGES - 1);
    // Whole pages, and a read whose last page is partial (read through
    // scratch room): both end in the damaged page.
    expect_corrupt(read_once(&path, 0, PAGES * PAGE), last);
    expect_corrupt(read_once(&path, 0, PAGES * PAGE - 100), last);
    expect_corrupt(
        read_once(&path, 64 * PAGE as u64, (PAGES - 64) * PAGE),
        last,
    );
}

#[test]
fn of_two_flipped_pages_in_one_large_read_the_lower_is_named() {
    let (_dir, path) = container();
    // The error is the lowest damaged page, whatever else the read holds.
    let low = damage(&path, 260);
    let high = damage(&path, 300);
    assert!(low < high, "the file was written in one run");
    expect_corrupt(read_once(&path, 0, PAGES * PAGE), low);
    expect_corrupt(read_once(&path, 270 * PAGE as u64, 100 * PAGE), high);
}

#[test]
fn of_flipped_pages_in_both_halves_of_a_read_the_lower_is_named() {
    let (_dir, path) = container();
    // File pages 124..248 are one extent (124 pages of 4 KiB at most): a
    // read of 128..232 is one run, split at 180, between pages 130 and 230.
    let low = damage(&path, 130);
    let high = damage(&path, 230);
    expect_corrupt(read_once(&path, 128 * PAGE as u64, 104 * PAGE), low);
    expect_corrupt(read_once(&path, 0, PAGES * PAGE), low);
    // Only the higher half damaged: the helper's half reports it.
    expect_corrupt(read_once(&path, 140 * PAGE as u64, 100 * PAGE), high);
}

#[test]
fn concurrent_large_reads_on_one_open_all_verify() {
    // Threads sharing one open (its caches and scratch) all see the damage.
    let (_dir, path) = container();
    let page = damage(&path, 400);
    let fs = Fs::open_read_only(&path).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    let f = fs.open_file("big", "r").unwrap();
                    let mut buf = vec![0u8; PAGES * PAGE];
                    match f.read_at(&mut buf, 0) {
                        Err(Error::Corrupt(msg)) => {
                            assert!(msg.contains(&format!("data page {page}")), "{msg}")
                        }
                        other => panic!("want Corrupt, got {:?}", other.map(|_| ())),
                    }
                    let n = f.read_at(&mut buf[..300 * PAGE], 0).unwrap();
                    assert!(buf[..n] == content()[..300 * PAGE]);
                }
            });
        }
    });
}

#[test]
fn large_reads_are_shared_with_the_helper_thread_on_two_cores() {
    // A storage that notes which threads read data pages.
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let seen = Arc::clone(&threads);
    let storage = hooked::Hooked::new(Arc::new(whefs::storage::MemoryStorage::new()))
        .after_read(move |offset, _| {
            if offset >= PAGE as u64 {
                seen.lock().unwrap().insert(std::thread::current().id());
            }
        })
        .parallel_reads(true);
    let fs = Fs::options()
        .create(true)
        .open_storage(Arc::new(storage))
        .unwrap();
    fs.write("big", &content()).unwrap();
    let f = fs.open_file("big", "r").unwrap();
    let mut buf = vec![0u8; PAGES * PAGE];
    for _ in 0..3 {
        threads.lock().unwrap().clear();
        assert_eq!(f.read_at(&mut buf, 0).unwrap(), PAGES * PAGE);
        assert!(buf == content());
    }
    // The last read came after the helper started (the open's second).
    let readers = threads.lock().unwrap().len();
    let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    assert_eq!(readers, if two_cores { 2 } else { 1 }, "threads that read");
}
