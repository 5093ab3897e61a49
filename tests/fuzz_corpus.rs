//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! same harnesses the cargo-fuzz targets run (`fuzz/src/lib.rs`), so every
//! input that once found a bug, and every seed, is checked by `cargo test`.
//!
//! `WHEFS_WRITE_SEEDS=1 cargo test --test fuzz_corpus write_seed_corpus`
//! regenerates the seed files (small valid containers and API sequences);
//! `make fuzz` runs the fuzzers themselves.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use whefs::storage::MemoryStorage;
use whefs::{Durability, Fs, FsOptions};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Corpus files that still fail, with the reason (each one reported).
const KNOWN_FAILURES: &[(&str, &str)] = &[];

fn replay(target: &str, run: fn(&[u8]), known: bool) -> usize {
    let mut count = 0;
    for path in corpus(target) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if KNOWN_FAILURES.iter().any(|(n, _)| *n == name) != known {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        if let Err(p) = outcome {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target} corpus file {name} fails: {msg}");
        }
        count += 1;
    }
    count
}

#[test]
fn open_check_corpus_replays_without_failures() {
    let n = replay("open_check", harness::open_check, false);
    assert!(n >= 20, "only {n} open_check corpus files");
}

#[test]
fn api_ops_corpus_replays_without_failures() {
    let n = replay("api_ops", harness::api_ops, false);
    assert!(n >= 20, "only {n} api_ops corpus files");
}

#[test]
#[ignore = "corpus files of bugs not fixed yet: see KNOWN_FAILURES"]
fn known_failures_replay() {
    replay("open_check", harness::open_check, true);
    replay("api_ops", harness::api_ops, true);
}

// ---------------------------------------------------------------------------
// Seeds

/// Builds a container in memory with `build` and returns its bytes.
fn container(page_size: u32, build: impl FnOnce(&Fs)) -> Vec<u8> {
    let storage = Arc::new(MemoryStorage::new());
    let fs = FsOptions::new()
        .create(true)
        .page_size(page_size)
        .label("seed")
        .durability(Durability::Off)
        .open_storage(storage.clone())
        .unwrap();
    build(&fs);
    fs.check().unwrap();
    drop(fs);
    storage.snapshot()
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
}

fn open_check_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = vec![
        ("empty".to_string(), container(4096, |_| {})),
        ("empty-8k".to_string(), container(8192, |_| {})),
        (
            "inline-file".to_string(),
            container(4096, |fs| fs.write("f", b"hello").unwrap()),
        ),
        (
            "dir-and-files".to_string(),
            container(4096, |fs| {
                fs.create_dir_all("a/b").unwrap();
                fs.write("a/b/c", &bytes(900, 1)).unwrap();
                fs.write("a/x", &bytes(5000, 2)).unwrap();
            }),
        ),
        (
            "paged-file".to_string(),
            container(4096, |fs| fs.write("big", &bytes(20_000, 3)).unwrap()),
        ),
        (
            "sparse-file".to_string(),
            container(4096, |fs| {
                let mut f = fs.open_file("sparse", "w").unwrap();
                f.write_at(b"end", 1 << 20).unwrap();
                f.close().unwrap();
            }),
        ),
        (
            "churn-pending-free".to_string(),
            container(4096, |fs| {
                for i in 0..6 {
                    fs.write("churn", &bytes(9000, i)).unwrap();
                }
                fs.write("other", b"o").unwrap();
                fs.remove_file("churn").unwrap();
            }),
        ),
        (
            "many-names".to_string(),
            container(4096, |fs| {
                fs.create_dir("d").unwrap();
                for i in 0..60 {
                    fs.write(&format!("d/name-{i:02}"), &[i as u8]).unwrap();
                }
            }),
        ),
        (
            "renamed-tree".to_string(),
            container(4096, |fs| {
                fs.create_dir_all("x/y/z").unwrap();
                fs.write("x/y/z/f", &bytes(1200, 4)).unwrap();
                fs.rename("x/y", "moved").unwrap();
                fs.set_label("relabelled").unwrap();
            }),
        ),
    ];
    // A container with an orphan: a writer still has a removed file open.
    let storage = Arc::new(MemoryStorage::new());
    let fs = FsOptions::new()
        .create(true)
        .open_storage(storage.clone())
        .unwrap();
    let mut w = fs.open_file("orphan", "w").unwrap();
    w.write_at(&bytes(10_000, 5), 0).unwrap();
    w.commit().unwrap();
    fs.remove_file("orphan").unwrap();
    seeds.push(("orphan".to_string(), storage.snapshot()));
    drop(w);
    // Damaged variants: truncated, a flipped byte in each page, random.
    let base = seeds[3].1.clone();
    for cut in [0, 100, 1000, 4096, 5000, base.len() - 1] {
        seeds.push((format!("truncated-{cut}"), base[..cut].to_vec()));
    }
    for page in 0..base.len() / 4096 {
        let mut img = base.clone();
        img[page * 4096 + 77] ^= 0x10;
        seeds.push((format!("flipped-page-{page}"), img));
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let random: Vec<u8> = (0..9000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    seeds.push(("random".to_string(), random));
    seeds
}

fn api_ops_seeds() -> Vec<(String, Vec<u8>)> {
    // Each step's first byte picks the step (see `Input::step` in the
    // harness): 0..=8 one operation, 9-10 a transaction, 11 read, 12 a
    // handle, 13 keep a reader, 14 glob, 15 reopen.
    let mut seeds: Vec<(String, Vec<u8>)> = vec![
        ("write-read".into(), vec![0, 0, 0, 5, 11, 0]),
        (
            "mkdir-write-glob".into(),
            vec![0, 1, 2, 0, 0, 3, 8, 14, 1, 14, 4],
        ),
        (
            "mkdir-all-rename".into(),
            vec![0, 2, 6, 0, 0, 5, 9, 0, 6, 2, 7, 14, 1],
        ),
        (
            "remove-dir-all".into(),
            vec![0, 2, 6, 0, 0, 6, 7, 0, 5, 2, 14, 1],
        ),
        (
            "copy".into(),
            vec![0, 0, 0, 9, 0, 7, 0, 1, 11, 1, 0, 7, 0, 0],
        ),
        (
            "transaction".into(),
            vec![9, 3, 2, 6, 0, 0, 6, 8, 6, 0, 1, 14, 1],
        ),
        (
            "failing-transaction".into(),
            vec![9, 2, 0, 0, 8, 3, 5, 11, 0],
        ),
        (
            "handle-append".into(),
            vec![12, 0, 0b010110, 1, 2, 12, 0, 0b000110, 0, 3, 11, 0],
        ),
        (
            "handle-create-new".into(),
            vec![12, 1, 0b100010, 0, 4, 12, 1, 0b100010, 0, 4],
        ),
        (
            "kept-reader".into(),
            vec![0, 0, 0, 8, 13, 0, 0, 0, 0, 9, 3, 0, 11, 0],
        ),
        (
            "reopen".into(),
            vec![0, 0, 0, 8, 15, 11, 0, 0, 1, 2, 15, 14, 1],
        ),
        ("label".into(), vec![0, 8, 10, 0, 8, 80, 15]),
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for i in 0..20 {
        let len = 16 + (i * 13) % 150;
        let data = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        seeds.push((format!("random-{i:02}"), data));
    }
    seeds
}

#[test]
fn write_seed_corpus() {
    if std::env::var_os("WHEFS_WRITE_SEEDS").is_none() {
        // The seeds must at least run cleanly through the harnesses.
        for (_, data) in open_check_seeds() {
            harness::open_check(&data);
        }
        for (_, data) in api_ops_seeds() {
            harness::api_ops(&data);
        }
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, seeds) in [
        ("open_check", open_check_seeds()),
        ("api_ops", api_ops_seeds()),
    ] {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in seeds {
            std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
        }
    }
}
