//! The floors: what the machine itself charges for the operations the
//! engine is built from, measured in the same run so that every ratio can
//! be read against them (issue 9: "a read costs little more than its
//! `pread`"; issue 10: "the floor measured (an `fdatasync`, a `pwrite` of
//! 4 KiB)"). The process-start floor is measured with the CGI workload.

use std::hint::black_box;

use crate::harness::{timed, Ctx, Section, Sys, Unit};
use crate::plain::{self, Fd};

/// Random 4 KiB-aligned offsets below `span`.
fn offsets(n: usize, span: u64, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % (span / 4096)) * 4096
        })
        .collect()
}

pub fn run(ctx: &mut Ctx) {
    let s = ctx.sizes();
    let (reads, writes, syncs) = (s.floor_reads, s.floor_writes, s.floor_syncs);
    let span: u64 = if ctx.cfg.quick { 1 << 20 } else { 64 << 20 };
    let dir = ctx.cfg.dir.join("floors");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // One file per trial: the pwrite trial's dirty pages must not be
    // written back by the fdatasync trial's first sync.
    let file = |name: &str| {
        let fd = Fd::open(
            &dir.join(name),
            libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC,
        );
        let chunk = crate::fixture::content(0, 1 << 20);
        for at in (0..span).step_by(1 << 20) {
            plain::write_all_at(fd.0, chunk, at);
        }
        plain::datasync(fd.0);
        fd
    };
    let (fd, wfd, sfd) = (file("read.bin"), file("write.bin"), file("sync.bin"));

    let read_at = offsets(reads, span - 16384, 1);
    let write_at = offsets(writes, span, 2);
    let mut buf = vec![0u8; 10 * 1024];
    let page = vec![0x33u8; 4096];
    let big = vec![0x77u8; 1 << 20];
    let mut dst = vec![0u8; 1 << 20];
    let hash_rounds = if ctx.cfg.quick { 16 } else { 1024 };

    let mut pread = || {
        let t = timed(|| {
            for &at in &read_at {
                black_box(plain::pread(fd.0, &mut buf, at));
            }
        });
        t / reads as f64 * 1e6
    };
    let mut pwrite = || {
        let t = timed(|| {
            for &at in &write_at {
                plain::write_all_at(wfd.0, &page, at);
            }
        });
        plain::datasync(wfd.0); // not timed: leave no write-back behind
        t / writes as f64 * 1e6
    };
    let mut fdatasync = || {
        let t = timed(|| {
            for &at in write_at.iter().take(syncs) {
                plain::write_all_at(sfd.0, &page, at);
                plain::datasync(sfd.0);
            }
        });
        t / syncs as f64 * 1e6
    };
    let mut xxh3 = || {
        let t = timed(|| {
            for _ in 0..hash_rounds {
                black_box(xxh3::hash64_with_seed(black_box(&big), 0));
            }
        });
        (hash_rounds << 20) as f64 / t / 1e9
    };
    let mut memcpy = || {
        let t = timed(|| {
            for _ in 0..hash_rounds {
                dst.copy_from_slice(black_box(&big));
                black_box(&mut dst);
            }
        });
        (hash_rounds << 20) as f64 / t / 1e9
    };
    let reps = ctx.cfg.reps;
    let out = ctx.alternate(
        reps,
        true,
        &mut [
            (Sys::Host, &mut pread),
            (Sys::Host, &mut pwrite),
            (Sys::Host, &mut fdatasync),
            (Sys::Host, &mut xxh3),
            (Sys::Host, &mut memcpy),
        ],
    );
    let rows: [(&str, &str, Unit); 5] = [
        (
            "floor-pread",
            "one 10 KiB `pread` (warm page cache)",
            Unit::Micros,
        ),
        (
            "floor-pwrite",
            "one 4 KiB `pwrite` (into the page cache)",
            Unit::Micros,
        ),
        (
            "floor-fdatasync",
            "one `fdatasync` after a 4 KiB `pwrite`",
            Unit::Micros,
        ),
        (
            "floor-xxh3",
            "xxh3-64 checksum (whefs's page checksum), 1 MiB buffers",
            Unit::GBps,
        ),
        ("floor-memcpy", "memcpy, 1 MiB buffers", Unit::GBps),
    ];
    for ((id, label, unit), (sys, samples)) in rows.into_iter().zip(out) {
        ctx.row(
            Section::Floors,
            id,
            label,
            unit,
            1,
            vec![(sys, samples)],
            false,
        );
    }
    drop((fd, wfd, sfd));
    let _ = std::fs::remove_dir_all(&dir);
}
