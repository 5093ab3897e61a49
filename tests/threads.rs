//! Many threads on one `Fs`: every writer stamps its content with its id and
//! a sequence number; at the end each file must hold the writer's last
//! acknowledged sequence, and every read along the way must be one whole
//! committed version.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use whefs::{Durability, Error, Fs};

/// Content of `writer`'s file at `seq`: a header and a body derived from both.
fn stamp(writer: u32, seq: u32) -> Vec<u8> {
    let len = 100 + ((writer * 7919 + seq * 104_729) % 20_000) as usize;
    let mut v = format!("{writer}:{seq}:{len}:").into_bytes();
    v.extend((0..len).map(|i| (i as u32 ^ writer ^ seq) as u8));
    v
}

/// Parses and verifies a stamped content; returns `(writer, seq)`.
fn verify(data: &[u8]) -> (u32, u32) {
    let text = String::from_utf8_lossy(&data[..data.len().min(40)]).into_owned();
    let mut parts = text.splitn(4, ':');
    let w: u32 = parts.next().unwrap().parse().expect("writer id");
    let s: u32 = parts.next().unwrap().parse().expect("sequence");
    assert_eq!(
        data,
        stamp(w, s),
        "torn or mixed content for writer {w} seq {s}"
    );
    (w, s)
}

#[test]
fn eight_threads_mixed_operations_lose_no_acknowledged_update() {
    let fs = Fs::memory().unwrap();
    fs.set_durability(Durability::Off);
    fs.create_dir("w").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut handles = Vec::new();
    for id in 0..8u32 {
        let fs = fs.clone();
        let stop = Arc::clone(&stop);
        handles.push(std::thread::spawn(move || {
            let mut last = None;
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                seq += 1;
                match id % 4 {
                    // Whole-file writers, through a temporary name and a rename.
                    0 | 1 => {
                        let tmp = format!("w/{id}.tmp");
                        fs.write(&tmp, &stamp(id, seq)).unwrap();
                        fs.rename(&tmp, &format!("w/{id}")).unwrap();
                        last = Some(seq);
                    }
                    // Handle writers: rewrite through a file handle.
                    2 => {
                        let mut f = fs.open_file(&format!("w/{id}"), "w").unwrap();
                        f.write_at(&stamp(id, seq), 0).unwrap();
                        f.close().unwrap();
                        last = Some(seq);
                    }
                    // Readers and unlinkers of others' scratch files.
                    _ => {
                        for e in fs.read_dir("w").unwrap() {
                            let e = e.unwrap();
                            if e.name.ends_with(".tmp") || e.name.starts_with("scratch") {
                                continue;
                            }
                            match fs.read(&format!("w/{}", e.name)) {
                                Ok(data) if !data.is_empty() => {
                                    verify(&data);
                                }
                                Ok(_) | Err(Error::NotFound(_)) => {}
                                Err(e) => panic!("read failed: {e}"),
                            }
                        }
                        let scratch = format!("w/scratch{id}");
                        fs.write(&scratch, b"x").unwrap();
                        fs.remove_file(&scratch).unwrap();
                    }
                }
            }
            (id, last)
        }));
    }
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    for (id, last) in results {
        if let Some(seq) = last {
            let data = fs.read(&format!("w/{id}")).unwrap();
            assert_eq!(
                verify(&data),
                (id, seq),
                "writer {id} lost its last acknowledged update"
            );
        }
    }
    let report = fs.check().unwrap();
    assert_eq!(report.files, 6);
}

#[test]
fn second_writer_of_one_file_waits_then_gets_busy() {
    let fs = Fs::memory().unwrap();
    fs.set_busy_timeout(Duration::from_millis(50));
    let first = fs.open_file("f", "w").unwrap();
    let t = {
        let fs = fs.clone();
        std::thread::spawn(move || fs.open_file("f", "r+").map(|_| ()))
    };
    assert!(matches!(t.join().unwrap(), Err(Error::Busy(_))));
    // Readers are not blocked by the writer.
    fs.open_file("f", "r").unwrap();
    first.close().unwrap();
    fs.set_busy_timeout(Duration::ZERO);
    fs.open_file("f", "r+").unwrap().close().unwrap();
}

#[test]
fn writer_of_an_unlinked_file_writes_to_an_orphan_freed_at_close() {
    let fs = Fs::memory().unwrap();
    let mut f = fs.open_file("doomed", "w").unwrap();
    f.write_at(&vec![7u8; 100_000], 0).unwrap();
    f.commit().unwrap();
    fs.remove_file("doomed").unwrap();
    assert!(!fs.exists("doomed").unwrap());
    f.write_at(b"still writing", 0).unwrap();
    f.commit().unwrap();
    fs.check().unwrap();
    assert_eq!(
        fs.info().unwrap().files,
        1,
        "the orphan still counts while open"
    );
    f.close().unwrap();
    let info = fs.info().unwrap();
    assert_eq!(info.files, 0);
    fs.check().unwrap();
}
