//! `whefs check`: verifies every checksum and the allocator's accounting
//! (fsck). A corrupt container fails with status 1, as the help promises;
//! other failures keep their usual status.

use std::path::PathBuf;

use serde::Serialize;
use whefs::Error;

use crate::container::{access_options, Access};
use crate::failure::{Exit, Failure};
use crate::printer::Printer;
use crate::Global;

/// Verify every checksum and the page accounting (fsck).
///
/// With --snapshot NAME it verifies that snapshot's tree (every page it
/// reads); the page accounting belongs to the latest state, and a check
/// without --snapshot verifies it (and that no snapshot page is free).
/// Exit status 0: clean; 1: corrupt (the problem goes to stderr); other
/// statuses as for any command (e.g. 3: no such container, 7: not a
/// whefs container). With --json: one object with clean (true or false),
/// and generation, tree_pages, data_pages, files, dirs, free_pages and
/// pending_pages when clean, or problem when not.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonReport {
    clean: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    figures: Option<Figures>,
}

#[derive(Serialize)]
struct Figures {
    generation: u64,
    tree_pages: u64,
    data_pages: u64,
    files: u64,
    dirs: u64,
    free_pages: u64,
    pending_pages: u64,
}

/// Checks the container.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let container = &args.container;
    let mut printer = Printer::new(global, args.json);
    let what = format!("check {}", container.display());
    let progress = printer.spinner("check", format!("verifying {}", container.display()));
    let fs = access_options(global, Access::Read)?.open(container);
    let report = fs.and_then(|fs| fs.check());
    drop(progress);
    let report = match report {
        Ok(report) => report,
        Err(e @ Error::Corrupt(_)) => {
            if printer.json() {
                printer.document(&JsonReport {
                    clean: false,
                    problem: Some(e.to_string()),
                    figures: None,
                })?;
                printer.finish()?;
            }
            return Err(Failure::new(Exit::Generic, format!("{what}: {e}")));
        }
        Err(e) => return Err(Failure::fs(&what, e)),
    };
    if printer.json() {
        printer.document(&JsonReport {
            clean: true,
            problem: None,
            figures: Some(Figures {
                generation: report.generation,
                tree_pages: report.tree_pages,
                data_pages: report.data_pages,
                files: report.files,
                dirs: report.dirs,
                free_pages: report.free_pages,
                pending_pages: report.pending_pages,
            }),
        })?;
    } else {
        printer.line(format_args!(
            "clean: {}generation {}\n  tree pages:    {}\n  data pages:    {}\n  files:         {}\n  dirs:          {}\n\
             \x20 free pages:    {}\n  pending pages: {}",
            match &global.snapshot {
                Some(name) => format!("snapshot {name}, "),
                None => String::new(),
            },
            report.generation,
            report.tree_pages,
            report.data_pages,
            report.files,
            report.dirs,
            report.free_pages,
            report.pending_pages,
        ))?;
    }
    printer.finish()
}
