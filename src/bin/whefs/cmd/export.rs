//! `whefs export --tar`: writes a container tree as a pax archive (ustar
//! headers, with pax records where ustar falls short: long or non-ASCII
//! names, sub-second or negative mtimes, huge sizes), which GNU tar and
//! bsdtar read. Entries and their headers come from the `tar` crate.
//!
//! Invariant: each file's header states the size of the snapshot its data
//! is read from, so the archive is well-formed even while others write.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};
use whefs::{FileType, Fs};

use crate::cmd::cat::COPY_BUFFER;
use crate::container::{open, tree, Access, TreeEntry};
use crate::failure::Failure;
use crate::printer::{Printer, Progress, Totals};
use crate::text::basename;
use crate::Global;

/// Write a tree of the container as an archive (tar, pax format).
///
/// The archive holds PATH (the whole container by default) as `tar c`
/// would: `export --tar box.whefs /docs` has entries `docs/...`; the root
/// has its top-level names. Modes and mtimes (to the nanosecond) are
/// kept; owners are 0.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The directory or file to export.
    #[arg(default_value = "/")]
    path: String,
    /// Write a tar archive (the one format so far).
    #[arg(long, required = true)]
    tar: bool,
    /// The archive to write; `-` (the default) is stdout.
    #[arg(short = 'f', long, value_name = "FILE", default_value = "-")]
    file: PathBuf,
}

/// Exports.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Read)?;
    let printer = Printer::new(global, false);
    let entries = tree(&fs, &args.path)?;
    let totals = Totals {
        bytes: entries.iter().map(|e| e.size).sum(),
        files: entries.iter().filter(|e| e.kind == FileType::File).count() as u64,
    };
    if args.file == Path::new("-") {
        if io::stdout().is_terminal() {
            return Err(Failure::usage(
                "export: refusing to write an archive to a terminal (use -f FILE or a pipe)",
            ));
        }
        let progress = printer.progress("export", Some(totals));
        let out = BufWriter::with_capacity(COPY_BUFFER, io::stdout().lock());
        write_archive(&fs, &args.path, &entries, out, &progress, "stdout")?;
        progress.finish();
        return Ok(());
    }
    let path = &args.file;
    let out = File::create(path).map_err(|e| Failure::host(path.display(), e))?;
    let progress = printer.progress("export", Some(totals));
    let what = path.display().to_string();
    let out = BufWriter::with_capacity(COPY_BUFFER, out);
    match write_archive(&fs, &args.path, &entries, out, &progress, &what) {
        Ok(()) => {
            progress.finish();
            Ok(())
        }
        Err(failure) => {
            // A partial archive is no archive.
            let _ = std::fs::remove_file(path);
            Err(failure)
        }
    }
}

/// Writes `entries` (the tree at `top`) as an archive to `out`.
fn write_archive(
    fs: &Fs,
    top: &str,
    entries: &[TreeEntry],
    out: impl Write,
    progress: &Progress,
    what: &str,
) -> Result<(), Failure> {
    let host = |e: io::Error| Failure::host(what, e);
    let mut builder = Builder::new(out);
    let top_name = basename(top);
    for entry in entries {
        // Names as `tar c` gives them: from the top's own name down.
        let names: Vec<&str> = top_name
            .into_iter()
            .chain(entry.names.iter().map(String::as_str))
            .collect();
        if names.is_empty() {
            continue; // the root itself has no entry
        }
        let name = names.join("/");
        match entry.kind {
            FileType::Symlink => skip_link(&entry.path),
            FileType::Dir => {
                let header = header(&mut builder, &format!("{name}/"), entry, 0).map_err(host)?;
                builder.append(&header, io::empty()).map_err(host)?;
            }
            FileType::File => {
                let file = fs
                    .open_file(&entry.path, "r")
                    .map_err(|e| Failure::fs(format!("export {}", entry.path), e))?;
                let size = file.len();
                let header = header(&mut builder, &name, entry, size).map_err(host)?;
                let data = progress.meter(BufReader::with_capacity(COPY_BUFFER, file));
                builder.append(&header, data).map_err(|e| {
                    if e.get_ref().is_some_and(|i| i.is::<whefs::Error>()) {
                        Failure::host(format!("export {}", entry.path), e)
                    } else {
                        host(e)
                    }
                })?;
                progress.add_file();
            }
        }
    }
    builder.finish().map_err(host)?;
    builder
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(host)
}

/// The ustar header of one entry; what ustar cannot hold (a long or
/// non-ASCII name, a sub-second or negative mtime, a size of 8 GiB or
/// more) goes into a pax extended header appended first.
fn header<W: Write>(
    builder: &mut Builder<W>,
    name: &str,
    entry: &TreeEntry,
    size: u64,
) -> io::Result<Header> {
    let mut header = Header::new_ustar();
    let mut pax: Vec<(&str, Vec<u8>)> = Vec::new();
    header.set_entry_type(match entry.kind {
        FileType::Dir => EntryType::Directory,
        FileType::File | FileType::Symlink => EntryType::Regular,
    });
    if !name.is_ascii() || header.set_path(name).is_err() {
        pax.push(("path", name.as_bytes().to_vec()));
        header.set_path(ustar_fallback(name))?;
    }
    const USTAR_MAX_SIZE: u64 = (1 << 33) - 1;
    header.set_size(size.min(USTAR_MAX_SIZE));
    if size > USTAR_MAX_SIZE {
        pax.push(("size", size.to_string().into_bytes()));
    }
    let ns = entry.mtime_ns;
    header.set_mtime(u64::try_from(ns.div_euclid(1_000_000_000)).unwrap_or(0));
    if ns % 1_000_000_000 != 0 || ns < 0 {
        pax.push(("mtime", pax_time(ns).into_bytes()));
    }
    header.set_mode(entry.mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_cksum();
    builder.append_pax_extensions(pax.iter().map(|(k, v)| (*k, v.as_slice())))?;
    Ok(header)
}

/// A short ASCII name for the ustar field of an entry whose real name is
/// in a pax record (readers that know pax never show it): the tail of
/// the name, so old readers at least see the file's own name.
fn ustar_fallback(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() && c != '\0' { c } else { '_' })
        .collect();
    let tail = &ascii[ascii.len().saturating_sub(99)..];
    let tail = tail.trim_start_matches('/');
    let parts: Vec<&str> = tail
        .split('/')
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .collect();
    if parts.is_empty() {
        "pax-named-entry".to_string()
    } else {
        parts.join("/")
    }
}

/// A time in ns as a pax decimal: `1700000000.123456789`, `-0.500000000`.
pub fn pax_time(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
}

/// Symbolic links (made through the mount or the API) are not archived yet.
fn skip_link(path: &str) {
    eprintln!("whefs: warning: {path}: a symbolic link, not exported");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_keep_nanoseconds_and_sign() {
        assert_eq!(pax_time(1_700_000_000_123_456_789), "1700000000.123456789");
        assert_eq!(pax_time(-500_000_000), "-0.500000000");
        assert_eq!(pax_time(0), "0.000000000");
    }

    #[test]
    fn ustar_fallback_is_short_ascii_and_has_no_dot_dot() {
        let long = format!("{}/ü..", "d".repeat(300));
        let short = ustar_fallback(&long);
        assert!(short.len() < 100 && short.is_ascii(), "{short}");
        assert!(!short.split('/').any(|c| c == ".."), "{short}");
        assert_eq!(ustar_fallback(".."), "pax-named-entry");
    }
}
