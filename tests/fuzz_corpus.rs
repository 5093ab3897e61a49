//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! same harnesses the cargo-fuzz targets run (`fuzz/src/lib.rs`), so every
//! input that once found a bug, and every seed, is checked by `cargo test`.
//!
//! `WHEFS_WRITE_SEEDS=1 cargo test --test fuzz_corpus write_seed_corpus`
//! regenerates the seed files (`seed-*`: small valid containers of the
//! current format and damaged copies of one, and API sequences) and
//! removes seeds it no longer makes; files the fuzzers found are kept.
//! Without the variable it checks that every seed it would write is
//! committed (the API sequences byte for byte) and
//! `open_check_seed_containers_are_current_and_clean` that the committed
//! seed containers open and check clean, so a format change that leaves
//! them stale (only testing the refusal of an old version) fails here.
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

/// The committed seed containers that are not damaged on purpose must
/// open and check clean: a seed the library no longer reads (an older
/// format) only tests the refusal.
#[test]
fn open_check_seed_containers_are_current_and_clean() {
    let mut clean = 0;
    for path in corpus("open_check") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(name) = name.strip_prefix("seed-") else {
            continue;
        };
        let damaged = ["truncated-", "flipped-", "random"]
            .iter()
            .any(|d| name.starts_with(d));
        if damaged {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let fs = FsOptions::new()
            .open_storage(Arc::new(MemoryStorage::from_vec(data)))
            .unwrap_or_else(|e| panic!("seed {name} does not open: {e}"));
        fs.check()
            .unwrap_or_else(|e| panic!("seed {name} does not check clean: {e}"));
        clean += 1;
    }
    assert!(clean >= 10, "only {clean} clean seed containers");
}

/// Random inputs through the `api_ops` harness (a small, deterministic
/// fuzzing run inside `cargo test`); `WHEFS_LONG=1` runs ten times as many.
#[test]
fn api_ops_random_inputs_match_the_model() {
    let long = std::env::var_os("WHEFS_LONG").is_some_and(|v| v != "0");
    let runs = if long { 5000 } else { 500 };
    let mut state = 0x243F_6A88_85A3_08D3u64;
    for i in 0..runs {
        let len = 8 + (i * 37) % 300;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if std::panic::catch_unwind(|| harness::api_ops(&data)).is_err() {
            panic!("random input {i} fails (bytes {data:?})");
        }
    }
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
    // Snapshots (format 3): held pages, a deleted snapshot's pending ones,
    // and a compacted container that keeps one.
    seeds.push((
        "snapshots-held".to_string(),
        container(4096, |fs| {
            fs.create_dir("d").unwrap();
            fs.write("d/f", &bytes(12_000, 6)).unwrap();
            fs.write("g", &bytes(300, 7)).unwrap();
            fs.create_snapshot("one").unwrap();
            fs.write("d/f", &bytes(9_000, 8)).unwrap();
            fs.remove_file("g").unwrap();
            fs.create_snapshot("two").unwrap();
            fs.rename("d", "e").unwrap();
        }),
    ));
    seeds.push((
        "snapshot-deleted".to_string(),
        container(4096, |fs| {
            fs.write("f", &bytes(20_000, 9)).unwrap();
            fs.create_snapshot("gone").unwrap();
            fs.write("f", &bytes(5_000, 10)).unwrap();
            fs.delete_snapshot("gone").unwrap();
        }),
    ));
    seeds.push((
        "compacted-with-snapshot".to_string(),
        container(4096, |fs| {
            for i in 0..8 {
                fs.write(&format!("f{i}"), &bytes(6_000, i)).unwrap();
            }
            fs.create_snapshot("kept").unwrap();
            for i in 0..8 {
                fs.remove_file(&format!("f{i}")).unwrap();
            }
            fs.write("new", &bytes(100, 11)).unwrap();
            fs.compact().unwrap();
        }),
    ));
    seeds.push((
        "restored".to_string(),
        container(4096, |fs| {
            fs.create_dir_all("a/b").unwrap();
            fs.write("a/b/c", &bytes(7_000, 12)).unwrap();
            fs.create_snapshot("s").unwrap();
            fs.remove_dir_all("a").unwrap();
            fs.restore("s", "/").unwrap();
        }),
    ));
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
    // harness, modulo 24): 0..=8 one operation, 9-10 a transaction, 11
    // read, 12 a handle, 13 keep a reader, 14 glob, 15 reopen; snapshots
    // (the next byte names one: 0-2 `s0`..`s2`, 3 an invalid name) 16
    // create, 17 delete, 18 check a view, 19 keep a view, 20-21 restore
    // (then a path byte: 0..=9 `PATHS`, 10 the root), 22 compact, 23 diff.
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
        (
            "snapshot-restore-all".into(),
            vec![
                0, 0, 0, 5, 0, 1, 2, 0, 0, 3, 7, 16, 0, 0, 0, 0, 8, 0, 3, 3, 0, 0, 1, 4, 23, 0, 20,
                0, 10, 11, 0, 11, 1, 18, 0,
            ],
        ),
        (
            "snapshot-restore-subtree".into(),
            vec![
                0, 2, 5, 0, 0, 6, 8, 0, 1, 7, 0, 0, 8, 3, 16, 1, 0, 5, 2, 0, 0, 8, 9, 20, 1, 6, 21,
                1, 2, 20, 1, 8, 14, 1, 22,
            ],
        ),
        (
            "snapshot-view-outlives-delete".into(),
            vec![
                0, 0, 0, 8, 16, 0, 19, 0, 22, 0, 0, 0, 9, 17, 0, 16, 0, 22, 15, 22, 18, 0,
            ],
        ),
        (
            "snapshot-names".into(),
            vec![16, 3, 16, 2, 16, 2, 17, 1, 23, 1, 20, 1, 10, 17, 2, 18, 2],
        ),
        (
            "snapshot-compact-reopen".into(),
            vec![
                0, 0, 0, 8, 0, 0, 1, 9, 0, 2, 8, 0, 0, 8, 7, 16, 2, 0, 3, 0, 0, 5, 7, 22, 15, 18,
                2, 20, 2, 10, 22, 13, 1, 22, 23, 2,
            ],
        ),
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
        // The seeds must at least run cleanly through the harnesses, and
        // be committed (containers carry times: not byte for byte).
        let committed = |target: &str, name: &str| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/corpus")
                .join(target)
                .join(format!("seed-{name}"));
            std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; regenerate with WHEFS_WRITE_SEEDS=1",
                    path.display()
                )
            })
        };
        for (name, data) in open_check_seeds() {
            committed("open_check", &name);
            harness::open_check(&data);
        }
        for (name, data) in api_ops_seeds() {
            assert!(
                committed("api_ops", &name) == data,
                "api_ops seed-{name} differs from its generator; regenerate with WHEFS_WRITE_SEEDS=1"
            );
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
        for old in corpus(target) {
            if old
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
            {
                std::fs::remove_file(old).unwrap();
            }
        }
        for (name, data) in seeds {
            std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
        }
    }
}
