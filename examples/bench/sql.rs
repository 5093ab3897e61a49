//! SQLite as a new user would set it up to hold files: the bundled library
//! (rusqlite, cargo feature `bench-sqlite`), one table
//! `files(path TEXT PRIMARY KEY, data BLOB)`, WAL mode, `synchronous`
//! FULL or OFF, prepared statements, blobs copied into the caller's buffer.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode};

/// Opens (creating if needed) a WAL database at `synchronous` = `sync`
/// ("FULL" or "OFF").
pub fn open(path: &Path, sync: &str) -> Connection {
    let db = Connection::open(path).expect("open the SQLite database");
    db.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    let mode: String = db
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .expect("journal_mode=WAL");
    assert_eq!(mode.to_lowercase(), "wal", "SQLite refused WAL mode");
    db.pragma_update(None, "synchronous", sync)
        .expect("synchronous");
    db.execute_batch("CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, data BLOB NOT NULL)")
        .expect("schema");
    db
}

/// SELECT data by key, copied into `buf`; returns its length.
pub fn read(st: &mut rusqlite::Statement<'_>, key: &str, buf: &mut [u8]) -> usize {
    st.query_row([key], |r| {
        let b = r.get_ref(0)?.as_blob().expect("a blob");
        buf[..b.len()].copy_from_slice(b);
        Ok(b.len())
    })
    .expect("SELECT data")
}

pub const SELECT_DATA: &str = "SELECT data FROM files WHERE path = ?1";
pub const SELECT_LEN: &str = "SELECT length(data) FROM files WHERE path = ?1";
pub const INSERT: &str = "INSERT OR REPLACE INTO files(path, data) VALUES (?1, ?2)";
pub const UPDATE: &str = "UPDATE files SET data = ?2 WHERE path = ?1";
/// The entries of a "directory" `dir/`: keys from `dir/` up to `dir0`
/// ('0' follows '/'), with their sizes.
pub const LIST: &str = "SELECT path, length(data) FROM files WHERE path >= ?1 AND path < ?2";

pub fn stat_size(st: &mut rusqlite::Statement<'_>, key: &str) -> u64 {
    st.query_row([key], |r| r.get::<_, i64>(0))
        .expect("SELECT length") as u64
}

/// Lists the keys under `dir/` with their sizes: (entries, sum of sizes).
pub fn list(st: &mut rusqlite::Statement<'_>, dir: &str) -> (usize, u64) {
    let (lo, hi) = (format!("{dir}/"), format!("{dir}0"));
    let mut rows = st.query(params![lo, hi]).expect("SELECT list");
    let (mut n, mut bytes) = (0, 0);
    while let Some(r) = rows.next().expect("row") {
        let name = r.get_ref(0).expect("path").as_str().expect("text");
        debug_assert!(!name.is_empty());
        bytes += r.get::<_, i64>(1).expect("length") as u64;
        n += 1;
    }
    (n, bytes)
}

/// Runs `f` until it does not fail with SQLITE_BUSY (two writer processes
/// can meet one: WAL allows one writer at a time).
pub fn retry_busy(mut f: impl FnMut() -> rusqlite::Result<usize>) -> usize {
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DatabaseBusy => {
                continue
            }
            other => return other.expect("SQLite statement"),
        }
    }
}

/// The database's bytes on disk: the file plus its WAL, if any.
pub fn disk_bytes(path: &Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(path).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
}
