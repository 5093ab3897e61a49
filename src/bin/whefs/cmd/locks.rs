//! `whefs locks`: what other opens of the container hold, for debugging a
//! stuck deployment; as text or one JSON object.

use std::path::PathBuf;

use serde::Serialize;

use crate::container::{open, Access};
use crate::failure::Failure;
use crate::printer::Printer;
use crate::Global;

/// Show the locks other processes hold on the container.
///
/// File writers, pinned generations, reserved pages, a commit in progress
/// (regions as the kernel reports them; it does not say which process
/// holds them). With --json: one object with container_exclusive,
/// commit_held, file_writers, pinned_generations and reserved_pages (a
/// list of [first, count]).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonLocks<'a> {
    container_exclusive: bool,
    commit_held: bool,
    file_writers: &'a [u64],
    pinned_generations: &'a [u64],
    reserved_pages: &'a [(u64, u64)],
}

/// Shows the locks.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let mut printer = Printer::new(global, args.json);
    let r = fs
        .lock_report()
        .map_err(|e| Failure::fs(format!("locks {}", args.container.display()), e))?;
    if printer.json() {
        printer.document(&JsonLocks {
            container_exclusive: r.container_exclusive,
            commit_held: r.commit_held,
            file_writers: &r.file_writers,
            pinned_generations: &r.pinned_generations,
            reserved_pages: &r.reserved_pages,
        })?;
        return printer.finish();
    }
    let list = |v: &[u64]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
        }
    };
    let ranges = r
        .reserved_pages
        .iter()
        .map(|(s, l)| format!("{s}+{l}"))
        .collect::<Vec<_>>();
    printer.line(format_args!(
        "container lock:      {}
commit in progress:  {}
file writers (ino):  {}
pinned generations:  {}
reserved pages:      {}",
        if r.container_exclusive {
            "held exclusively"
        } else {
            "-"
        },
        if r.commit_held { "yes" } else { "no" },
        list(&r.file_writers),
        list(&r.pinned_generations),
        if ranges.is_empty() {
            "-".to_string()
        } else {
            ranges.join(" ")
        },
    ))?;
    printer.finish()
}
