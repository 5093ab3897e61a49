//! Behaviour of the Rust API on one process: namespace operations, file
//! handles, snapshots, inline and extent files, holes, accounting.

use std::io::{Read, Seek, SeekFrom, Write};

use whefs::{Error, FileType, Fs, FsOptions};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn whole_file_write_read_round_trips_small_and_large() {
    let fs = Fs::memory().unwrap();
    for (i, len) in [0usize, 1, 900, 1000, 4096, 4097, 300_000]
        .into_iter()
        .enumerate()
    {
        let name = format!("f{i}");
        let data = pattern(len, i as u8);
        fs.write(&name, &data).unwrap();
        assert_eq!(fs.read(&name).unwrap(), data, "length {len}");
        assert_eq!(fs.metadata(&name).unwrap().size, len as u64);
    }
    fs.check().unwrap();
}

#[test]
fn directories_nest_list_in_order_and_refuse_bad_operations() {
    let fs = Fs::memory().unwrap();
    fs.create_dir("a").unwrap();
    fs.create_dir_all("a/b/c").unwrap();
    fs.write("a/z.txt", b"z").unwrap();
    fs.write("a/m.txt", b"mm").unwrap();
    let names: Vec<_> = fs.read_dir("a").unwrap().map(|e| e.unwrap().name).collect();
    assert_eq!(names, ["b", "m.txt", "z.txt"]);
    assert!(matches!(fs.create_dir("a"), Err(Error::Exists(_))));
    assert!(matches!(fs.create_dir("nope/x"), Err(Error::NotFound(_))));
    assert!(matches!(fs.remove_dir("a"), Err(Error::NotEmpty(_))));
    assert!(matches!(fs.remove_file("a"), Err(Error::IsDir(_))));
    assert!(matches!(fs.read_dir("a/z.txt"), Err(Error::NotDir(_))));
    assert!(matches!(fs.write("a/z.txt/q", b""), Err(Error::NotDir(_))));
    assert!(matches!(fs.rename("a", "a/b/c/d"), Err(Error::Arg(_))));
    fs.remove_dir("a/b/c").unwrap();
    assert_eq!(fs.metadata("a/b").unwrap().kind, FileType::Dir);
    fs.check().unwrap();
}

#[test]
fn rename_replaces_a_file_atomically_and_unlink_frees_space() {
    let fs = Fs::memory().unwrap();
    fs.write("old", &pattern(50_000, 1)).unwrap();
    fs.write("new", &pattern(70_000, 2)).unwrap();
    fs.rename("new", "old").unwrap();
    assert_eq!(fs.read("old").unwrap(), pattern(70_000, 2));
    assert!(!fs.exists("new").unwrap());
    fs.remove_file("old").unwrap();
    let info = fs.info().unwrap();
    assert_eq!(info.files, 0);
    fs.check().unwrap();
}

#[test]
fn file_handle_reads_writes_seeks_and_commits_at_close() {
    let fs = Fs::memory().unwrap();
    let mut f = fs.open_file("log", "w+").unwrap();
    for i in 0..1000 {
        writeln!(f, "line {i}").unwrap();
    }
    // Not committed yet: others see the empty file created at open.
    assert_eq!(fs.metadata("log").unwrap().size, 0);
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut first = [0u8; 7];
    f.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"line 0\n");
    f.close().unwrap();
    let text = String::from_utf8(fs.read("log").unwrap()).unwrap();
    assert_eq!(text.lines().count(), 1000);
    assert!(text.ends_with("line 999\n"));
    fs.check().unwrap();
}

#[test]
fn overwrite_in_place_keeps_the_rest_and_truncate_zeroes_the_tail() {
    let fs = Fs::memory().unwrap();
    let mut data = pattern(100_000, 3);
    fs.write("big", &data).unwrap();
    let mut f = fs.open_file("big", "r+").unwrap();
    f.write_at(b"HELLO", 40_000).unwrap();
    f.set_len(50_001).unwrap();
    f.set_len(60_000).unwrap();
    f.close().unwrap();
    data[40_000..40_005].copy_from_slice(b"HELLO");
    data.truncate(50_001);
    data.resize(60_000, 0);
    assert_eq!(fs.read("big").unwrap(), data);
    fs.check().unwrap();
}

#[test]
fn sparse_files_read_zeros_in_holes_and_use_no_pages() {
    let fs = Fs::memory().unwrap();
    let before = fs.info().unwrap().pages_total;
    let mut f = fs.open_file("sparse", "w").unwrap();
    f.write_at(b"end", 5 << 30).unwrap();
    f.close().unwrap();
    assert_eq!(fs.metadata("sparse").unwrap().size, (5 << 30) + 3);
    let f = fs.open_file("sparse", "r").unwrap();
    let mut buf = [1u8; 8];
    f.read_at(&mut buf, 1 << 30).unwrap();
    assert_eq!(buf, [0; 8]);
    let mut end = [0u8; 3];
    f.read_at(&mut end, 5 << 30).unwrap();
    assert_eq!(&end, b"end");
    assert!(fs.info().unwrap().pages_total < before + 10);
    fs.check().unwrap();
}

#[test]
fn reader_keeps_snapshot_while_writer_commits() {
    let fs = Fs::memory().unwrap();
    fs.write("doc", &pattern(20_000, 1)).unwrap();
    let mut reader = fs.open_file("doc", "r").unwrap();
    for round in 2..6 {
        fs.write("doc", &pattern(30_000, round)).unwrap();
    }
    fs.remove_file("doc").unwrap();
    let mut seen = Vec::new();
    reader.read_to_end(&mut seen).unwrap();
    assert_eq!(seen, pattern(20_000, 1));
    drop(reader);
    fs.write("other", b"x").unwrap();
    fs.check().unwrap();
}

#[test]
fn space_is_reused_after_readers_go() {
    let fs = Fs::memory().unwrap();
    for round in 0..30u8 {
        fs.write("churn", &pattern(200_000, round)).unwrap();
    }
    let total = fs.info().unwrap().pages_total;
    // 200 KB is ~50 pages; without reuse 30 rounds would need 1500.
    assert!(total < 400, "container grew to {total} pages");
    fs.check().unwrap();
}

#[test]
fn modes_follow_fopen() {
    let fs = Fs::memory().unwrap();
    assert!(matches!(
        fs.open_file("missing", "r"),
        Err(Error::NotFound(_))
    ));
    fs.open_file("x", "x").unwrap().close().unwrap();
    assert!(matches!(fs.open_file("x", "x"), Err(Error::Exists(_))));
    let mut a = fs.open_file("x", "a").unwrap();
    a.write_all(b"one").unwrap();
    a.seek(SeekFrom::Start(0)).unwrap();
    a.write_all(b"two").unwrap();
    a.close().unwrap();
    assert_eq!(fs.read("x").unwrap(), b"onetwo");
    let mut r = fs.open_file("x", "r").unwrap();
    assert!(r.write(b"no").is_err());
    assert!(matches!(fs.open_file("x", "q"), Err(Error::Arg(_))));
}

#[test]
fn container_file_reopens_with_everything_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.whefs");
    {
        let fs = Fs::create(&path).unwrap();
        fs.create_dir("d").unwrap();
        fs.write("d/f", &pattern(123_456, 9)).unwrap();
    }
    let fs = Fs::open_read_only(&path).unwrap();
    assert_eq!(fs.read("d/f").unwrap(), pattern(123_456, 9));
    assert!(matches!(fs.write("d/g", b"x"), Err(Error::Access(_))));
    fs.check().unwrap();
    drop(fs);
    assert!(matches!(
        FsOptions::new()
            .page_size(1000)
            .create(true)
            .open(dir.path().join("bad")),
        Err(Error::Arg(_))
    ));
}
