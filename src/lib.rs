//! whefs: a whole filesystem — directories and pseudofiles — inside one
//! container file, safe for many threads and processes at once.
//!
//! ```
//! let fs = whefs::Fs::memory().unwrap();
//! fs.create_dir("notes").unwrap();
//! fs.write("notes/hello.txt", b"hello, world").unwrap();
//! assert_eq!(fs.read("notes/hello.txt").unwrap(), b"hello, world");
//! fs.check().unwrap();
//! ```
//!
//! The layers, each a folder and each calling only those above it:
//! [`error`], `format/`, [`storage`]`/`, `lock/`, `engine/`, then the
//! filesystem API in `fs/` ([`Fs`], [`File`], [`ReadDir`], [`OpenOptions`],
//! [`Transaction`]) and the C ABI in `ffi/`. The `whefs` tool is a binary of
//! its own (`src/bin/whefs/`, cargo feature `cli`). `docs/architecture.md`
//! follows a read and a commit through them. `lazy` (a value made on its
//! second use) serves every layer.

mod engine;
pub mod error;
pub mod ffi;
mod format;
mod fs;
mod lazy;
mod lock;
mod mixhash;
pub mod storage;

#[cfg(feature = "fault-switches")]
pub use engine::FaultSwitches;
pub use engine::{CheckReport, Durability, IDLE_PIN_RELEASE};
pub use error::{Error, Result};
pub use fs::{
    BackupReport, Change, ChangeKind, CompactReport, DirEntry, File, FileType, Fs, FsOptions, Info,
    Metadata, Mode, OpenOptions, ReadDir, SetAttributes, SnapshotInfo, Transaction, MODE_BITS,
};
pub use lock::LockReport;

/// The library's version, from `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The README's Rust example compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
