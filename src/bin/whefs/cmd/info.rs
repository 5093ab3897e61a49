//! `whefs info`: container-wide figures, as text or one JSON object.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use whefs::Fs;

use crate::container::{open, Access};
use crate::failure::Failure;
use crate::printer::{stdout_failure, Printer};
use crate::text;
use crate::Global;

/// Show container-wide figures: page size, generation, pages, files.
///
/// With --json: one object with container, label, file_size, page_size,
/// generation, pages_total, pages_used, pages_free, pages_pending, files
/// and dirs.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JsonInfo<'a> {
    container: String,
    label: &'a str,
    file_size: Option<u64>,
    page_size: u32,
    generation: u64,
    pages_total: u64,
    pages_used: u64,
    pages_free: u64,
    pages_pending: u64,
    files: u64,
    dirs: u64,
}

/// Shows the figures.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let mut printer = Printer::new(global, args.json);
    if printer.json() {
        let info = fs
            .info()
            .map_err(|e| Failure::fs(format!("info {}", args.container.display()), e))?;
        printer.document(&JsonInfo {
            container: args.container.display().to_string(),
            label: &info.label,
            file_size: std::fs::metadata(&args.container).ok().map(|m| m.len()),
            page_size: info.page_size,
            generation: info.generation,
            pages_total: info.pages_total,
            pages_used: info.pages_used,
            pages_free: info.pages_free,
            pages_pending: info.pages_pending,
            files: info.files,
            dirs: info.dirs,
        })?;
    } else {
        print_text(&fs, &args.container, printer.out())?;
    }
    printer.finish()
}

/// The text form (shared with the demo).
pub fn print_text(fs: &Fs, container: &Path, out: &mut dyn Write) -> Result<(), Failure> {
    let info = fs
        .info()
        .map_err(|e| Failure::fs(format!("info {}", container.display()), e))?;
    let file_size = match std::fs::metadata(container) {
        Ok(meta) => format!("{} ({})", meta.len(), text::human(meta.len())),
        Err(_) => "-".to_string(),
    };
    let page = u64::from(info.page_size);
    let pages = |n: u64| format!("{n} ({})", text::human(n.saturating_mul(page)));
    writeln!(
        out,
        "container:     {}\nlabel:         {}\nfile size:     {file_size}\npage size:     {}\ngeneration:    {}\n\
         pages total:   {}\npages used:    {}\npages free:    {}\npages pending: {}\nfiles:         {}\ndirs:          {}",
        container.display(),
        info.label,
        info.page_size,
        info.generation,
        pages(info.pages_total),
        pages(info.pages_used),
        pages(info.pages_free),
        pages(info.pages_pending),
        info.files,
        info.dirs,
    )
    .map_err(stdout_failure)
}
