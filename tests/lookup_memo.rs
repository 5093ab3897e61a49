//! The lookup memo (src/fs/memo.rs) remembers what paths resolved to in one
//! committed tree. These tests change the tree under a path another open
//! has already read, in every way a path can change, and check that the
//! reader sees each change at once: a memo entry must never outlive its tree.

use whefs::{Error, Fs};

fn two_opens() -> (tempfile::TempDir, Fs, Fs) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("memo.whefs");
    let writer = Fs::create(&path).expect("create");
    let reader = Fs::open(&path).expect("second open");
    (dir, writer, reader)
}

#[test]
fn a_reader_sees_every_change_to_a_path_it_has_read() {
    let (_dir, w, r) = two_opens();
    w.create_dir_all("d").expect("mkdir");
    w.write("d/f", b"one").expect("write");
    w.write("d/g", &vec![7u8; 20_000]).expect("write");
    assert_eq!(r.read("d/f").expect("read"), b"one");
    assert_eq!(r.read("d/f").expect("read again"), b"one");
    assert_eq!(r.metadata("d/f").expect("stat").size, 3);

    // Rewritten in place, longer (now in extents, not inline).
    let long = vec![9u8; 50_000];
    w.write("d/f", &long).expect("rewrite");
    assert_eq!(r.metadata("d/f").expect("stat").size, 50_000);
    assert_eq!(r.read("d/f").expect("read"), long);

    // Renamed over: the name now means another inode.
    w.rename("d/g", "d/f").expect("rename");
    assert_eq!(r.read("d/f").expect("read"), vec![7u8; 20_000]);
    assert!(matches!(r.read("d/g"), Err(Error::NotFound(_))));

    // Removed.
    w.remove_file("d/f").expect("remove");
    assert!(matches!(r.read("d/f"), Err(Error::NotFound(_))));
    assert!(matches!(r.metadata("d/f"), Err(Error::NotFound(_))));

    // A directory renamed away and another put in its place.
    w.write("d/h", b"in d").expect("write");
    assert_eq!(r.read("d/h").expect("read"), b"in d");
    w.rename("d", "old").expect("rename dir");
    w.create_dir_all("d").expect("mkdir");
    w.write("d/h", b"in the new d").expect("write");
    assert_eq!(r.read("d/h").expect("read"), b"in the new d");
    assert_eq!(r.read("old/h").expect("read"), b"in d");
}

#[test]
fn a_path_through_a_symbolic_link_follows_the_link_as_it_is_now() {
    let (_dir, w, r) = two_opens();
    w.write("a", b"target a").expect("write");
    w.write("b", b"target b").expect("write");
    w.symlink("a", "link").expect("symlink");
    assert_eq!(r.read("link").expect("read"), b"target a");
    w.remove_file("link").expect("remove link");
    w.symlink("b", "link").expect("symlink again");
    assert_eq!(r.read("link").expect("read"), b"target b");
    // The target changes; the link does not.
    w.write("b", b"b, rewritten").expect("rewrite");
    assert_eq!(r.read("link").expect("read"), b"b, rewritten");
}

#[test]
fn the_open_that_commits_sees_its_own_change_at_once() {
    let (_dir, w, _r) = two_opens();
    for i in 0..50u32 {
        let body = i.to_le_bytes().repeat(1 + i as usize * 100);
        w.write("f", &body).expect("write");
        assert_eq!(w.read("f").expect("read"), body, "after write {i}");
        assert_eq!(w.metadata("f").expect("stat").size, body.len() as u64);
    }
}
