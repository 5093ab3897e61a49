//! The rest of the Rust API over the filesystem layer: file open options,
//! whole-tree operations (`remove_dir_all`, `copy`, the label), glob
//! listing and multi-operation transactions. Each operation here is one
//! atomic commit, or reads one committed state.
//!
//! Everything is built from the `Tx` namespace changes of `fs.rs` and the
//! staged writers of `file.rs`; nothing here touches pages or locks itself.

pub(crate) mod glob;
mod namespace;
mod options;
mod txn;

pub use options::OpenOptions;
pub use txn::Transaction;
