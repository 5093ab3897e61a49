//! `whefs cat`: prints files to stdout, streaming. Like `cat(1)` it goes on
//! after a failure and exits with the status of the last one.

use std::io::{self, BufReader};
use std::path::PathBuf;

use whefs::Fs;

use crate::container::{expand, open, Access};
use crate::failure::Failure;
use crate::printer::{report, stdout_failure, Printer};
use crate::Global;

/// Size of the buffer that file contents stream through.
pub const COPY_BUFFER: usize = 256 * 1024;

/// Print files to stdout, one after the other.
///
/// PATHS may be glob patterns ('notes/*.txt'): their matches print in
/// name order.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The files (or glob patterns) to print.
    #[arg(required = true)]
    paths: Vec<String>,
}

/// Prints the files.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let mut printer = Printer::new(global, false);
    let mut last = None;
    for operand in &args.paths {
        let paths = match expand(&fs, operand, "cat") {
            Ok(paths) => paths,
            Err(failure) => {
                report(&failure);
                last = Some(failure.exit);
                continue;
            }
        };
        for path in paths {
            if let Err(failure) = print_file(&fs, &path, &mut printer) {
                report(&failure);
                last = Some(failure.exit);
            }
        }
    }
    printer.finish()?;
    last.map_or(Ok(()), |exit| Err(Failure::reported(exit)))
}

/// Streams one file to stdout (also `get` to `-`).
pub fn print_file(fs: &Fs, path: &str, printer: &mut Printer) -> Result<(), Failure> {
    let what = format!("cat {path}");
    let file = fs.open_file(path, "r").map_err(|e| Failure::fs(&what, e))?;
    let mut input = BufReader::with_capacity(COPY_BUFFER, file);
    io::copy(&mut input, printer.out()).map_err(|e| {
        // A whefs error is the container's; any other, stdout's.
        if e.get_ref().is_some_and(|i| i.is::<whefs::Error>()) {
            Failure::host(&what, e)
        } else {
            stdout_failure(e)
        }
    })?;
    input
        .into_inner()
        .close()
        .map_err(|e| Failure::fs(&what, e))
}
