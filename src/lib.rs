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
//! The layers, each calling only those above it: [`error`], `format`,
//! [`storage`], `lock`, `engine`, then the filesystem API ([`Fs`], [`File`],
//! [`ReadDir`], [`OpenOptions`], [`Transaction`]) and the C ABI (`ffi`).

mod api;
mod dir;
mod engine;
pub mod error;
pub mod ffi;
mod file;
mod format;
mod fs;
mod lock;
mod path;
pub mod storage;

pub use api::{OpenOptions, Transaction};
pub use dir::{DirEntry, ReadDir};
#[cfg(feature = "fault-switches")]
pub use engine::FaultSwitches;
pub use error::{Error, Result};
pub use file::{File, Mode};
pub use fs::{CheckReport, Durability, FileType, Fs, FsOptions, Info, Metadata};
pub use lock::LockReport;

/// The library's version, from `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The README's Rust example compiles and runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
