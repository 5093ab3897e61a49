//! `whefs create`: a new, empty container. An existing file is never
//! touched: the library would open it instead, so it is refused first.

use std::path::PathBuf;

use crate::container::{options, refuse_existing};
use crate::failure::Failure;
use crate::Global;

/// Create a new, empty container (fails if the file exists).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file to create.
    container: PathBuf,
    /// Page size in bytes: a power of two from 4096 to 65536 (`8k` and
    /// `8KiB` work too) [default: 4096].
    #[arg(long, value_name = "BYTES", value_parser = parse_page_size)]
    page_size: Option<u32>,
    /// A label stored in the container (at most 64 bytes).
    #[arg(long, value_name = "TEXT")]
    label: Option<String>,
}

/// Creates the container.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    if global.read_only {
        return Err(Failure::usage(
            "create: --read-only cannot create a container",
        ));
    }
    // The library's create opens an existing container instead (creation
    // races are resolved by link(), DESIGN §5), so refuse one up front.
    refuse_existing(&args.container)?;
    let mut options = options(global);
    options.create(true);
    if let Some(size) = args.page_size {
        options.page_size(size);
    }
    if let Some(label) = &args.label {
        options.label(label);
    }
    options
        .open(&args.container)
        .map_err(|e| Failure::fs(args.container.display(), e))?;
    Ok(())
}

/// Parses a page size: digits, optionally followed by `k`, `K` or `KiB`.
fn parse_page_size(arg: &str) -> Result<u32, String> {
    let lower = arg.to_ascii_lowercase();
    let (digits, scale) = match lower
        .strip_suffix("kib")
        .or_else(|| lower.strip_suffix('k'))
    {
        Some(digits) => (digits, 1024),
        None => (lower.as_str(), 1),
    };
    digits
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("not a size in bytes: {arg:?}"))
}
