//! Large writes go from the caller's buffer straight to reserved pages,
//! one vectored write per run of consecutive pages, while small and
//! unaligned ones are buffered (docs/format.md §7). A handle mixing both —
//! a large write, small ones into the pages it wrote, a large one across
//! pages it wrote and pages it buffered, unaligned ends — reads back what
//! a plain byte vector says, before and after its commit and after a
//! reopen, and the container checks clean.

use whefs::Fs;

const PAGE: usize = 4096;

/// Bytes that differ from offset to offset and from `seed` to `seed`.
fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Writes `data` at `offset` to the handle and to the model.
fn write(f: &mut whefs::File, model: &mut Vec<u8>, offset: usize, data: &[u8]) {
    assert_eq!(f.write_at(data, offset as u64).unwrap(), data.len());
    if model.len() < offset + data.len() {
        model.resize(offset + data.len(), 0);
    }
    model[offset..offset + data.len()].copy_from_slice(data);
}

fn read_all(f: &whefs::File, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len + PAGE];
    let mut done = 0;
    loop {
        let n = f.read_at(&mut out[done..], done as u64).unwrap();
        if n == 0 {
            break;
        }
        done += n;
    }
    out.truncate(done);
    out
}

#[test]
fn large_and_small_writes_on_one_handle_read_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.whefs");
    let fs = Fs::create(&path).unwrap();
    let mut model = Vec::new();
    {
        let mut f = fs.open_file("big", "w+").unwrap();
        // 300 pages from offset 0: the direct path.
        write(&mut f, &mut model, 0, &bytes(1, 300 * PAGE));
        // Small writes into pages it already wrote (buffered over them).
        write(&mut f, &mut model, 5000, &bytes(2, 1000));
        write(&mut f, &mut model, 77 * PAGE + 10, &bytes(3, 3 * PAGE));
        // A large aligned write across written pages, one of them buffered
        // now (page 1): the buffered page is taken one page at a time, the
        // rest of the range directly.
        write(&mut f, &mut model, PAGE, &bytes(4, 100 * PAGE));
        // A large unaligned write past the end: a partial first page, then
        // whole pages, then a partial last page.
        write(
            &mut f,
            &mut model,
            350 * PAGE + 123,
            &bytes(5, 90 * PAGE + 77),
        );
        assert_eq!(read_all(&f, model.len()), model, "before the commit");
        f.commit().unwrap();
        assert_eq!(read_all(&f, model.len()), model, "after the commit");
        // Rewrites of committed pages after a commit, large and small.
        write(&mut f, &mut model, 200 * PAGE, &bytes(6, 70 * PAGE));
        write(&mut f, &mut model, 210 * PAGE + 1, &bytes(7, 10));
        f.close().unwrap();
    }
    assert_eq!(fs.read("big").unwrap(), model, "after close");
    fs.check().unwrap();
    drop(fs);
    let fs = Fs::open(&path).unwrap();
    assert_eq!(fs.read("big").unwrap(), model, "after a reopen");
    let report = fs.check().unwrap();
    assert_eq!(report.files, 1);
}

/// A stream of more than the write-back step (8 MiB) starts the disk on
/// its pages as it goes (`sync_file_range`). That is only a hint: what
/// must hold is that a stream across several steps, in unaligned pieces
/// (buffered and direct), committed at each durability, reads back whole
/// after a reopen, and the container checks clean.
#[test]
fn a_stream_across_several_write_back_steps_reads_back_after_a_reopen() {
    use whefs::Durability;
    for d in [Durability::Full, Durability::Normal, Durability::Off] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.whefs");
        let fs = Fs::create(&path).unwrap();
        fs.set_durability(d);
        let mut model = Vec::new();
        {
            let mut f = fs.open_file("stream", "w").unwrap();
            let mut at = 0;
            for i in 0..28u8 {
                let piece = bytes(i, 999_999 + usize::from(i) * 4099);
                write(&mut f, &mut model, at, &piece);
                at += piece.len();
            }
            f.close().unwrap();
        }
        assert!(model.len() > 3 * (8 << 20), "three steps at least");
        drop(fs);
        let fs = Fs::open(&path).unwrap();
        assert!(fs.read("stream").unwrap() == model, "{d:?}: after a reopen");
        assert_eq!(fs.check().unwrap().files, 1);
    }
}
