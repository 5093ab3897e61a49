//! The POSIX metadata of the Rust API: permission bits, owners and times
//! (`set_attributes` and its shorthands), symbolic links (`symlink`,
//! `read_link`, `symlink_metadata`, following on paths), hard links and
//! link counts, `truncate`, `sync`, the inode-addressed calls a mount uses,
//! and the format version that records them.

use std::io::Write;
use std::sync::Arc;

use whefs::storage::fault::{CrashMode, FaultStorage};
use whefs::storage::MemoryStorage;
use whefs::{Durability, Error, FileType, Fs, FsOptions, OpenOptions, SetAttributes};

fn reopen(fs: Fs, storage: &Arc<MemoryStorage>) -> Fs {
    drop(fs);
    FsOptions::new()
        .write(true)
        .open_storage(Arc::new(MemoryStorage::from_vec(storage.snapshot())))
        .unwrap()
}

fn memory() -> (Fs, Arc<MemoryStorage>) {
    let storage = Arc::new(MemoryStorage::new());
    let fs = FsOptions::new()
        .create(true)
        .open_storage(storage.clone())
        .unwrap();
    (fs, storage)
}

#[test]
fn chmod_chown_and_utimens_persist_with_nanoseconds() {
    let (fs, storage) = memory();
    fs.write("a.txt", b"hello").unwrap();
    let before = fs.metadata("a.txt").unwrap();
    assert_eq!((before.mode, before.nlink), (0o644, 1));
    fs.set_permissions("a.txt", 0o104_751).unwrap(); // file-type bits are dropped
    fs.set_owner("a.txt", Some(1234), None).unwrap();
    fs.set_owner("a.txt", None, Some(99)).unwrap();
    fs.set_times(
        "a.txt",
        Some(-1_000_000_001),
        Some(1_700_000_000_123_456_789),
    )
    .unwrap();
    fs.set_times("a.txt", None, None).unwrap();
    let fs = reopen(fs, &storage);
    let m = fs.metadata("a.txt").unwrap();
    assert_eq!(m.mode, 0o4751);
    assert_eq!((m.uid, m.gid), (1234, 99));
    assert_eq!(m.atime_ns, -1_000_000_001);
    assert_eq!(m.mtime_ns, 1_700_000_000_123_456_789);
    assert!(m.ctime_ns >= before.ctime_ns, "a status change moves ctime");
    assert_eq!(fs.read("a.txt").unwrap(), b"hello", "content untouched");
    fs.check().unwrap();
}

#[test]
fn set_attributes_returns_the_new_metadata_and_refuses_missing_paths() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("d").unwrap();
    let m = fs
        .set_attributes(
            "d",
            &SetAttributes::new().mode(0o700).owner(Some(5), Some(6)),
        )
        .unwrap();
    assert_eq!((m.mode, m.uid, m.gid, m.kind), (0o700, 5, 6, FileType::Dir));
    assert!(matches!(
        fs.set_permissions("nope", 0o600),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn a_writer_commit_keeps_a_chmod_made_while_it_was_open() {
    let fs = Fs::memory().unwrap();
    fs.write("f", b"one").unwrap();
    let mut w = fs.open_file("f", "r+").unwrap();
    w.write_all(b"two").unwrap();
    fs.set_permissions("f", 0o600).unwrap();
    w.close().unwrap();
    let m = fs.metadata("f").unwrap();
    assert_eq!(
        m.mode, 0o600,
        "the writer rewrote only size, data and times"
    );
    assert_eq!(fs.read("f").unwrap(), b"two");
}

#[test]
fn symlinks_resolve_relative_and_absolute_targets_and_lstat_sees_them() {
    let fs = Fs::memory().unwrap();
    fs.create_dir_all("a/b").unwrap();
    fs.write("a/b/file", b"target data").unwrap();
    fs.symlink("b/file", "a/rel").unwrap();
    fs.symlink("/a/b", "abs").unwrap();
    fs.symlink("../b/file", "a/b/up").unwrap();
    assert_eq!(fs.read("a/rel").unwrap(), b"target data");
    assert_eq!(
        fs.read("abs/file").unwrap(),
        b"target data",
        "a link in the middle"
    );
    assert_eq!(
        fs.read("a/b/up").unwrap(),
        b"target data",
        "`..` in a target"
    );
    assert_eq!(fs.read_link("a/rel").unwrap(), "b/file");
    let l = fs.symlink_metadata("a/rel").unwrap();
    assert!(l.is_symlink());
    assert_eq!((l.size, l.mode, l.nlink), (6, 0o777, 1));
    let t = fs.metadata("a/rel").unwrap();
    assert!(t.is_file());
    assert_eq!(t.ino, fs.metadata("a/b/file").unwrap().ino);
    assert!(fs.metadata("abs").unwrap().is_dir());
    let kinds: Vec<_> = fs
        .read_dir("a")
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.name, e.kind, e.size)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("b".to_string(), FileType::Dir, 0),
            ("rel".to_string(), FileType::Symlink, 6)
        ]
    );
    assert!(matches!(fs.read_link("a/b/file"), Err(Error::Arg(_))));
    fs.check().unwrap();
}

#[test]
fn dangling_and_looping_links_and_links_that_are_too_long() {
    let fs = Fs::memory().unwrap();
    fs.symlink("nowhere", "dangling").unwrap();
    assert!(matches!(fs.metadata("dangling"), Err(Error::NotFound(_))));
    assert!(fs.symlink_metadata("dangling").unwrap().is_symlink());
    fs.symlink("loop2", "loop1").unwrap();
    fs.symlink("loop1", "loop2").unwrap();
    assert!(matches!(fs.read("loop1"), Err(Error::Arg(m)) if m.contains("symbolic links")));
    assert!(matches!(
        fs.symlink(&"x".repeat(961), "long"),
        Err(Error::NameTooLong(_))
    ));
    fs.symlink(&"x".repeat(960), "long").unwrap();
    assert!(matches!(fs.symlink("", "empty"), Err(Error::Arg(_))));
    assert!(matches!(fs.symlink("x", "dangling"), Err(Error::Exists(_))));
    fs.check().unwrap();
}

#[test]
fn writing_through_a_link_writes_its_target_and_unlink_removes_only_the_link() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("d").unwrap();
    fs.symlink("d/new.txt", "via").unwrap();
    // open(O_CREAT) through a dangling link creates the target ...
    let mut f = fs.open_file("via", "w").unwrap();
    f.write_all(b"through").unwrap();
    f.close().unwrap();
    assert_eq!(fs.read("d/new.txt").unwrap(), b"through");
    // ... a one-shot write replaces the target, not the link ...
    fs.write("via", b"again").unwrap();
    assert_eq!(fs.read("d/new.txt").unwrap(), b"again");
    assert!(fs.symlink_metadata("via").unwrap().is_symlink());
    // ... O_EXCL refuses any link, and unlink takes the link alone.
    assert!(matches!(fs.open_file("via", "x"), Err(Error::Exists(_))));
    fs.remove_file("via").unwrap();
    assert_eq!(fs.read("d/new.txt").unwrap(), b"again");
    assert!(!fs.exists("via").unwrap());
    fs.check().unwrap();
}

#[test]
fn hard_links_share_one_inode_and_count_their_names() {
    let (fs, storage) = memory();
    fs.create_dir("d").unwrap();
    fs.write("a", b"shared").unwrap();
    fs.hard_link("a", "d/b").unwrap();
    let (a, b) = (fs.metadata("a").unwrap(), fs.metadata("d/b").unwrap());
    assert_eq!((a.ino, a.nlink, b.nlink), (b.ino, 2, 2));
    // A write through one name is the content of both.
    let mut f = fs.open_file("d/b", "a").unwrap();
    f.write_all(b" and more").unwrap();
    f.close().unwrap();
    assert_eq!(fs.read("a").unwrap(), b"shared and more");
    let fs = reopen(fs, &storage);
    fs.check().unwrap();
    // Unlinking one name keeps the inode for the other.
    fs.remove_file("a").unwrap();
    let m = fs.metadata("d/b").unwrap();
    assert_eq!((m.ino, m.nlink), (a.ino, 1));
    assert_eq!(fs.read("d/b").unwrap(), b"shared and more");
    fs.check().unwrap();
    fs.remove_file("d/b").unwrap();
    assert_eq!(fs.info().unwrap().files, 0, "the last name took the inode");
    fs.check().unwrap();
}

#[test]
fn hard_links_refuse_directories_and_taken_names_and_rename_between_links_is_a_no_op() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("d").unwrap();
    fs.write("f", b"x").unwrap();
    fs.write("g", b"y").unwrap();
    assert!(matches!(fs.hard_link("d", "d2"), Err(Error::IsDir(_))));
    assert!(matches!(fs.hard_link("f", "g"), Err(Error::Exists(_))));
    assert!(matches!(fs.hard_link("nope", "h"), Err(Error::NotFound(_))));
    fs.hard_link("f", "f2").unwrap();
    fs.rename("f", "f2").unwrap(); // POSIX: both name one inode, nothing happens
    assert_eq!(fs.metadata("f").unwrap().nlink, 2);
    fs.rename("g", "f2").unwrap(); // replacing one name drops one link
    assert_eq!(fs.metadata("f").unwrap().nlink, 1);
    assert_eq!(fs.read("f2").unwrap(), b"y");
    // A link to a symbolic link links the link itself.
    fs.symlink("f", "s").unwrap();
    fs.hard_link("s", "s2").unwrap();
    assert_eq!(fs.symlink_metadata("s2").unwrap().nlink, 2);
    assert_eq!(fs.read("s2").unwrap(), b"x");
    fs.check().unwrap();
}

#[test]
fn remove_dir_all_keeps_files_that_have_names_outside_the_tree() {
    let fs = Fs::memory().unwrap();
    fs.create_dir_all("t/u").unwrap();
    fs.write("t/u/f", b"keep me").unwrap();
    fs.hard_link("t/u/f", "outside").unwrap();
    fs.hard_link("t/u/f", "t/again").unwrap();
    fs.remove_dir_all("t").unwrap();
    let m = fs.metadata("outside").unwrap();
    assert_eq!(
        (m.nlink, fs.read("outside").unwrap()),
        (1, b"keep me".to_vec())
    );
    assert_eq!(fs.metadata("/").unwrap().nlink, 2);
    fs.check().unwrap();
}

#[test]
fn directory_link_counts_follow_mkdir_rmdir_and_rename() {
    let fs = Fs::memory().unwrap();
    let n = |p: &str| fs.metadata(p).unwrap().nlink;
    assert_eq!(n("/"), 2);
    fs.create_dir_all("a/x").unwrap();
    fs.create_dir("b").unwrap();
    fs.write("a/file", b"").unwrap();
    assert_eq!((n("/"), n("a"), n("a/x")), (4, 3, 2));
    fs.rename("a/x", "b/x").unwrap();
    assert_eq!((n("a"), n("b")), (2, 3));
    assert_eq!(
        fs.metadata("b/x").unwrap().parent,
        fs.metadata("b").unwrap().ino
    );
    fs.create_dir("a/y").unwrap();
    fs.rename("a/y", "b/x").unwrap(); // replaces the empty b/x
    assert_eq!((n("a"), n("b")), (2, 3));
    fs.remove_dir("b/x").unwrap();
    assert_eq!(n("b"), 2);
    assert!(matches!(fs.rename("b", "b/inside"), Err(Error::Arg(_))));
    fs.check().unwrap();
}

#[test]
fn an_orphan_with_hard_links_is_freed_when_its_last_writer_closes() {
    let fs = Fs::memory().unwrap();
    fs.write("a", b"data").unwrap();
    fs.hard_link("a", "b").unwrap();
    let mut w = fs.open_file("a", "r+").unwrap();
    fs.remove_file("a").unwrap();
    fs.remove_file("b").unwrap();
    assert_eq!(fs.info().unwrap().files, 1, "the writer keeps an orphan");
    fs.check().unwrap();
    w.write_all(b"more").unwrap();
    w.commit().unwrap();
    fs.check().unwrap();
    w.close().unwrap();
    assert_eq!(fs.info().unwrap().files, 0);
    fs.check().unwrap();
}

#[test]
fn truncate_by_path_and_set_len_on_an_open_file() {
    let fs = Fs::memory().unwrap();
    fs.write("f", &[7u8; 10_000]).unwrap();
    fs.truncate("f", 3).unwrap();
    assert_eq!(fs.read("f").unwrap(), [7u8; 3]);
    fs.truncate("f", 5000).unwrap();
    let data = fs.read("f").unwrap();
    assert_eq!(
        (data.len(), &data[..3], data[3..].iter().all(|&b| b == 0)),
        (5000, &[7u8; 3][..], true)
    );
    // ftruncate: visible to the handle at once, to others at its commit.
    let mut f = fs.open_file("f", "r+").unwrap();
    f.set_len(1).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(fs.metadata("f").unwrap().size, 5000);
    f.commit().unwrap();
    assert_eq!(fs.metadata("f").unwrap().size, 1);
    f.close().unwrap();
    assert!(matches!(fs.truncate("/", 0), Err(Error::IsDir(_))));
    fs.check().unwrap();
}

#[test]
fn open_flags_append_exclusive_and_truncate_behave_as_posix() {
    let fs = Fs::memory().unwrap();
    fs.write("f", b"0123456789").unwrap();
    // O_APPEND: every write goes to the end, whatever the offset.
    let mut a = OpenOptions::new().append(true).open(&fs, "f").unwrap();
    a.write_at(b"A", 0).unwrap();
    a.write_all(b"B").unwrap();
    a.close().unwrap();
    assert_eq!(fs.read("f").unwrap(), b"0123456789AB");
    // O_EXCL: an existing file is refused, a new one made.
    assert!(matches!(
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&fs, "f"),
        Err(Error::Exists(_))
    ));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&fs, "g")
        .unwrap()
        .close()
        .unwrap();
    assert!(fs.exists("g").unwrap());
    // O_TRUNC: the handle sees an empty file at once; the truncation
    // commits with its first commit (readers keep the old content until then).
    let mut t = OpenOptions::new()
        .read(true)
        .write(true)
        .truncate(true)
        .open(&fs, "f")
        .unwrap();
    assert_eq!(t.len(), 0);
    assert_eq!(fs.read("f").unwrap().len(), 12);
    t.write_all(b"new").unwrap();
    t.close().unwrap();
    assert_eq!(fs.read("f").unwrap(), b"new");
}

#[test]
fn sync_makes_earlier_commits_at_lower_durability_durable() {
    let storage = Arc::new(FaultStorage::new());
    let fs = FsOptions::new()
        .create(true)
        .durability(Durability::Normal)
        .open_storage(storage.clone())
        .unwrap();
    fs.write("first", b"1").unwrap();
    let lost = Fs::open_image(Box::leak(
        storage
            .crash_image(CrashMode::DropAll, 0)
            .into_boxed_slice(),
    ))
    .unwrap();
    assert!(!lost.exists("first").unwrap(), "normal skips the last sync");
    fs.sync().unwrap();
    fs.write("second", b"2").unwrap();
    let mut f = fs.open_file("second", "r+").unwrap();
    f.sync_all().unwrap(); // nothing to commit: still an fsync
    let kept = Fs::open_image(Box::leak(
        storage
            .crash_image(CrashMode::DropAll, 0)
            .into_boxed_slice(),
    ))
    .unwrap();
    assert!(kept.exists("first").unwrap() && kept.exists("second").unwrap());
    kept.check().unwrap();
}

#[test]
fn the_inode_addressed_calls_name_entries_by_directory_inode() {
    let fs = Fs::memory().unwrap();
    let root = fs.metadata("/").unwrap().ino;
    let attrs = SetAttributes::new().mode(0o711).owner(Some(7), Some(8));
    let d = fs.create_dir_at(root, "d", &attrs).unwrap();
    assert_eq!(
        (d.mode, d.uid, d.gid, d.nlink, d.parent),
        (0o711, 7, 8, 2, root)
    );
    let f = fs
        .create_file_at(d.ino, "f", &SetAttributes::new().mode(0o600))
        .unwrap();
    assert!(matches!(
        fs.create_file_at(d.ino, "f", &attrs),
        Err(Error::Exists(_))
    ));
    let mut w = fs
        .open_inode(f.ino, OpenOptions::new().read(true).write(true))
        .unwrap();
    w.write_all(b"by inode").unwrap();
    w.close().unwrap();
    assert_eq!(fs.read("d/f").unwrap(), b"by inode");
    assert_eq!(fs.lookup_at(d.ino, "f").unwrap().ino, f.ino);
    assert_eq!(fs.inode_metadata(f.ino).unwrap().size, 8);
    let l = fs
        .symlink_at(d.ino, "l", "f", &SetAttributes::default())
        .unwrap();
    assert_eq!(fs.inode_read_link(l.ino).unwrap(), "f");
    assert!(
        fs.lookup_at(d.ino, "l").unwrap().is_symlink(),
        "lookup does not follow"
    );
    let h = fs.hard_link_at(f.ino, root, "h").unwrap();
    assert_eq!(h.nlink, 2);
    let names: Vec<_> = fs
        .inode_read_dir(d.ino)
        .unwrap()
        .map(|e| e.unwrap().name)
        .collect();
    assert_eq!(names, ["f", "l"]);
    assert!(matches!(
        fs.rename_at(d.ino, "l", root, "h", false),
        Err(Error::Exists(_))
    ));
    fs.rename_at(d.ino, "l", root, "h", true).unwrap();
    assert_eq!(fs.inode_metadata(f.ino).unwrap().nlink, 1);
    assert!(matches!(
        fs.rename_at(root, "d", d.ino, "x", true),
        Err(Error::Arg(_))
    ));
    let m = fs
        .set_inode_attributes(l.ino, &SetAttributes::new().mtime_ns(42))
        .unwrap();
    assert_eq!((m.mtime_ns, m.kind), (42, FileType::Symlink));
    fs.remove_file_at(d.ino, "f").unwrap();
    assert!(matches!(fs.inode_metadata(f.ino), Err(Error::NotFound(_))));
    assert!(matches!(
        fs.open_inode(f.ino, OpenOptions::new().read(true)),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        fs.remove_dir_at(d.ino, "f"),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(fs.lookup_at(f.ino, "x"), Err(Error::NotFound(_))));
    assert!(matches!(fs.lookup_at(root, "a/b"), Err(Error::Arg(_))));
    fs.remove_dir_at(root, "d").unwrap();
    assert_eq!(fs.metadata("/").unwrap().nlink, 2);
    fs.check().unwrap();
}

#[test]
fn a_container_of_format_version_1_is_refused_not_misread() {
    let storage = Arc::new(MemoryStorage::new());
    let fs = FsOptions::new()
        .create(true)
        .open_storage(storage.clone())
        .unwrap();
    fs.write("f", b"x").unwrap(); // both slots hold a superblock now
    drop(fs);
    let mut image = storage.snapshot();
    // Make both say version 1, with checksums right for those bytes.
    for at in [0, 512] {
        let slot = &mut image[at..at + 512];
        slot[8..12].copy_from_slice(&1u32.to_le_bytes());
        let sum = xxhash_rust::xxh3::xxh3_64(&slot[..504]);
        slot[504..].copy_from_slice(&sum.to_le_bytes());
    }
    let err = FsOptions::new()
        .open_storage(Arc::new(MemoryStorage::from_vec(image)))
        .unwrap_err();
    assert!(
        matches!(&err, Error::BadMagic(m) if m.contains("unsupported format version 1")),
        "{err:?}"
    );
}
