//! Small reads of a container file are served from a shared mapping of it
//! once an open has read 64 times (src/storage/mapped.rs). These tests
//! read far more than that, so every read after the first few goes through
//! the mapping, and check what a mapping could get wrong: bytes another
//! open appends after it was made, a file this open truncates (compaction),
//! and a container cut short, whose missing pages must read as corruption,
//! never as a fault that kills the process.

use std::path::Path;

use whefs::{Durability, Error, Fs};

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(2654435761).wrapping_add(seed) as u8)
        .collect()
}

/// Enough reads of `name` that the open's mapping is in use.
fn warm_up(fs: &Fs, name: &str) {
    for _ in 0..200 {
        fs.read(name).unwrap();
    }
}

#[test]
fn an_open_reads_what_another_open_appends_after_its_mapping_was_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grow.whefs");
    let writer = Fs::create(&path).unwrap();
    writer.set_durability(Durability::Off);
    writer.write("first", &pattern(10_240, 0)).unwrap();
    let reader = Fs::open_read_only(&path).unwrap();
    warm_up(&reader, "first");
    let before = std::fs::metadata(&path).unwrap().len();
    for i in 0..300u64 {
        writer
            .write(&format!("f{i}"), &pattern(10_240, i + 1))
            .unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() > before + (1 << 20));
    for round in 0..3 {
        for i in 0..300u64 {
            assert_eq!(
                reader.read(&format!("f{i}")).unwrap(),
                pattern(10_240, i + 1),
                "round {round}, f{i}"
            );
        }
    }
}

#[test]
fn compaction_truncates_the_file_under_an_open_that_reads_through_its_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compact.whefs");
    let fs = Fs::create(&path).unwrap();
    fs.transaction(|t| {
        for i in 0..400u64 {
            t.write(&format!("f{i}"), &pattern(10_240, i))?;
        }
        Ok(())
    })
    .unwrap();
    fs.transaction(|t| {
        for i in (0..400u64).filter(|i| i % 4 != 0) {
            t.remove_file(&format!("f{i}"))?;
        }
        Ok(())
    })
    .unwrap();
    warm_up(&fs, "f0");
    let before = std::fs::metadata(&path).unwrap().len();
    let report = fs.compact().unwrap();
    assert!(report.pages_after < report.pages_before, "{report:?}");
    assert!(std::fs::metadata(&path).unwrap().len() < before);
    for i in (0..400u64).step_by(4) {
        assert_eq!(
            fs.read(&format!("f{i}")).unwrap(),
            pattern(10_240, i),
            "f{i}"
        );
    }
    // And the file grows again past its new end.
    for i in 0..200u64 {
        fs.write(&format!("g{i}"), &pattern(10_240, 1000 + i))
            .unwrap();
    }
    for i in 0..200u64 {
        assert_eq!(
            fs.read(&format!("g{i}")).unwrap(),
            pattern(10_240, 1000 + i)
        );
    }
    fs.check().unwrap();
}

/// Opens a copy of `image` cut to `len` bytes and reads every file many
/// times: each read is right, `Corrupt`, or `NotFound` (a file newer than
/// the commit open fell back to, when the cut tore the latest ones).
fn read_cut_copy(dir: &Path, image: &[u8], len: usize, names: &[String]) -> (usize, usize) {
    let path = dir.join(format!("cut-{len}.whefs"));
    std::fs::write(&path, &image[..len]).unwrap();
    let fs = match Fs::open_read_only(&path) {
        Ok(fs) => fs,
        Err(Error::Corrupt(_) | Error::BadMagic(_)) => return (0, 0),
        Err(e) => panic!("cut to {len}: open failed with {e:?}"),
    };
    let (mut good, mut corrupt) = (0, 0);
    for _ in 0..4 {
        for (i, name) in names.iter().enumerate() {
            match fs.read(name) {
                Ok(data) => {
                    assert_eq!(data, pattern(10_240, i as u64), "cut to {len}: {name}");
                    good += 1;
                }
                Err(Error::Corrupt(_)) => corrupt += 1,
                Err(Error::NotFound(_)) => {}
                Err(e) => panic!("cut to {len}: {name}: {e:?}"),
            }
        }
    }
    (good, corrupt)
}

#[test]
fn a_container_cut_short_reads_as_corrupt_through_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("whole.whefs");
    let names: Vec<String> = (0..100).map(|i| format!("f{i:03}")).collect();
    {
        let fs = Fs::create(&path).unwrap();
        for (i, name) in names.iter().enumerate() {
            fs.write(name, &pattern(10_240, i as u64)).unwrap();
        }
    }
    let image = std::fs::read(&path).unwrap();
    let page = 4096;
    let (mut some_good, mut some_corrupt) = (false, false);
    // Cuts inside the data of the last files written, page by page, and
    // one in the middle of a page.
    for cut in [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144] {
        let len = image.len() - cut * page;
        let (good, corrupt) = read_cut_copy(dir.path(), &image, len, &names);
        eprintln!("cut {cut} pages: {good} reads right, {corrupt} corrupt");
        some_good |= good > 0;
        some_corrupt |= corrupt > 0;
    }
    let (good, _) = read_cut_copy(dir.path(), &image, image.len() - page / 2, &names);
    some_good |= good > 0;
    assert!(
        some_good && some_corrupt,
        "the cuts should leave some files whole and cut others"
    );
}
