//! Directory listings report each entry's size from the same state as the
//! names. A listing reads the sizes of neighbouring inodes with one range
//! scan (src/fs/dir.rs); these tests build directories where that scan
//! meets every case: consecutive inodes, scattered ones, a large
//! subdirectory inside the scanned range, inline and extent files, and
//! sizes changed after creation.

use std::collections::BTreeMap;

use whefs::{FileType, Fs};

fn listing(fs: &Fs, dir: &str) -> BTreeMap<String, (FileType, u64)> {
    fs.read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("entry");
            (e.name, (e.kind, e.size))
        })
        .collect()
}

#[test]
fn every_entry_has_its_own_size_whatever_the_inode_layout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fs = Fs::create(dir.path().join("l.whefs")).expect("create");
    let mut want = BTreeMap::new();
    fs.create_dir_all("d").expect("mkdir");
    // Consecutive inodes, inline and in extents.
    for i in 0..150u64 {
        let size = (i * 97) % 9000;
        fs.write(&format!("d/a{i:03}"), &vec![1u8; size as usize])
            .expect("write");
        want.insert(format!("a{i:03}"), (FileType::File, size));
    }
    // A subdirectory whose inode falls inside that range and whose many
    // entries the scan must not mistake for sizes (nor walk for ever).
    fs.create_dir_all("d/big").expect("mkdir");
    want.insert("big".to_string(), (FileType::Dir, 0));
    for i in 0..3000u64 {
        fs.write(&format!("d/big/x{i}"), b"x").expect("write");
    }
    for i in 150..200u64 {
        let size = i + 1;
        fs.write(&format!("d/a{i:03}"), &vec![2u8; size as usize])
            .expect("write");
        want.insert(format!("a{i:03}"), (FileType::File, size));
    }
    // Scattered inodes: files made elsewhere, renamed in.
    for i in 0..40u64 {
        fs.write(&format!("elsewhere{i}"), &vec![3u8; i as usize * 300])
            .expect("write");
        fs.write(&format!("filler{i}"), b"f").expect("write");
    }
    for i in 0..40u64 {
        fs.rename(&format!("elsewhere{i}"), &format!("d/m{i:02}"))
            .expect("rename");
        want.insert(format!("m{i:02}"), (FileType::File, i * 300));
    }
    // Sizes changed after creation, and a symbolic link.
    for i in (0..150u64).step_by(7) {
        fs.write(&format!("d/a{i:03}"), &vec![4u8; 5000 + i as usize])
            .expect("rewrite");
        want.insert(format!("a{i:03}"), (FileType::File, 5000 + i));
    }
    fs.symlink("a001", "d/link").expect("symlink");
    want.insert("link".to_string(), (FileType::Symlink, 4));
    assert_eq!(listing(&fs, "d"), want);
    assert_eq!(listing(&fs, "d/big").len(), 3000);
    // What every entry's own stat says, too.
    for (name, (_, size)) in &want {
        let m = fs.symlink_metadata(&format!("d/{name}")).expect("lstat");
        assert_eq!(m.size, *size, "{name}");
    }
}
