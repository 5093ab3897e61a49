//! The C ABI: `extern "C"` functions over opaque handles, described for C
//! programs by `include/whefs.h` (generated from these files by cbindgen in
//! `build.rs`) and by `../shared/C-API.md`.
//!
//! One module per C "class" — [`fs`] (`whefs_fs` and the namespace calls),
//! [`file`] (`whefs_file`), [`dir`] (`whefs_dir`), [`glob`] (`whefs_ls`),
//! [`txn`] (`whefs_txn`), [`posix`] (modes, owners, times, links),
//! [`snapshot`] (named snapshots, `whefs_snapshot_list`, views, restore),
//! [`maintenance`] (backup, compaction) —
//! plus [`error`] (codes, `whefs_errmsg`), [`library`] (version) and
//! `boundary`, which every entry point goes through. `test_hooks` (cargo
//! feature `test-hooks`, not in the header) lets tests provoke a panic.
//!
//! Invariant: nothing but a status code crosses the boundary. Every entry
//! point catches panics (`WHEFS_ERR_INTERNAL`), checks every pointer
//! (`WHEFS_ERR_ARG`) and writes its out-parameters only on success. Handles
//! are `Box`es the library allocates and frees; the caller only passes them
//! back.

#![allow(non_camel_case_types)]

mod boundary;
pub mod dir;
pub mod error;
pub mod file;
pub mod fs;
pub mod glob;
pub mod library;
pub mod maintenance;
pub mod posix;
pub mod snapshot;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod txn;

// Any thread may call any function on any handle (C-API.md): the handles
// must be `Send + Sync`. This fails to compile if the Rust API stops being so.
const _: () = {
    const fn thread_safe<T: Send + Sync>() {}
    thread_safe::<fs::whefs_fs>();
    thread_safe::<file::whefs_file>();
    thread_safe::<dir::whefs_dir>();
    thread_safe::<txn::whefs_txn>();
    thread_safe::<snapshot::whefs_snapshot_list>();
};
