//! Data sets the read workloads share: the same files, with the same
//! names and bytes, in a whefs container, a plain directory tree and a
//! SQLite table, all under the bench directory (one filesystem). Building
//! is not timed; it ends with `syncfs`, so no write-back runs during a
//! measurement, and leaves everything in the page cache (warm).

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rusqlite::params;

use crate::capi::{cpath, cstr, Container, WHEFS_DURABLE_OFF};
use crate::plain::{self, Fd};
use crate::sql;

/// Bytes that file `i` of a set starts at in the shared random pool.
pub fn content(i: usize, len: usize) -> &'static [u8] {
    static POOL: OnceLock<Vec<u8>> = OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..8 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    });
    assert!(
        len <= pool.len() / 2,
        "content of {len} bytes is larger than the pool allows"
    );
    let at = (i.wrapping_mul(7919 * 64)) % (pool.len() - len);
    &pool[at..at + len]
}

/// `n` files of `size` bytes, `per_dir` to a directory `<prefix>DDD/`.
pub struct FileSet {
    pub size: usize,
    pub whefs: PathBuf,
    pub sqlite: PathBuf,
    /// Relative names: the whefs path and the SQLite key.
    pub names: Vec<String>,
    pub wnames: Vec<CString>,
    /// Absolute paths of the plain files.
    pub pnames: Vec<CString>,
    /// The directories, relative.
    pub dirs: Vec<String>,
    pub plain_root: PathBuf,
}

impl FileSet {
    pub fn build(dir: &Path, n: usize, size: usize, prefix: &str, per_dir: usize) -> FileSet {
        let base = dir.join(format!("{prefix}-{n}x{size}"));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).expect("create the set's directory");
        let plain_root = base.join("plain");
        let names: Vec<String> = (0..n)
            .map(|i| format!("{prefix}{:03}/f{i:06}", i / per_dir))
            .collect();
        let dirs: Vec<String> = (0..n.div_ceil(per_dir))
            .map(|d| format!("{prefix}{d:03}"))
            .collect();
        let set = FileSet {
            size,
            whefs: base.join("set.whefs"),
            sqlite: base.join("set.sqlite"),
            wnames: names.iter().map(|s| cstr(s)).collect(),
            pnames: names.iter().map(|s| cpath(&plain_root.join(s))).collect(),
            names,
            dirs,
            plain_root,
        };
        // whefs is the slowest to build today: it goes on a second thread.
        std::thread::scope(|s| {
            s.spawn(|| set.build_whefs());
            set.build_plain();
            set.build_sqlite();
        });
        let root = Fd::open(&base, libc::O_RDONLY | libc::O_DIRECTORY);
        // SAFETY: our descriptor; flushes this filesystem's dirty pages.
        unsafe { libc::syncfs(root.0) };
        set
    }

    fn build_whefs(&self) {
        let fs = Container::writable(&self.whefs, WHEFS_DURABLE_OFF);
        for d in &self.dirs {
            fs.mkdir_all(d);
        }
        for (i, name) in self.wnames.iter().enumerate() {
            fs.write_file(name, content(i, self.size));
        }
    }

    fn build_plain(&self) {
        for d in &self.dirs {
            std::fs::create_dir_all(self.plain_root.join(d)).expect("mkdir");
        }
        for (i, p) in self.pnames.iter().enumerate() {
            plain::write_file(p, content(i, self.size), plain::Sync::None);
        }
    }

    fn build_sqlite(&self) {
        let mut db = sql::open(&self.sqlite, "OFF");
        let tx = db.transaction().expect("BEGIN");
        {
            let mut st = tx.prepare(sql::INSERT).expect("prepare");
            for (i, name) in self.names.iter().enumerate() {
                st.execute(params![name, content(i, self.size)])
                    .expect("INSERT");
            }
        }
        tx.commit().expect("COMMIT");
        db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
    }
}
