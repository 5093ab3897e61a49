//! `whefs import --tar`: reads a tar archive (ustar, pax or GNU, as GNU tar
//! and bsdtar write them; parsed by the `tar` crate) into the container.
//!
//! Invariants: the import is one commit — each file streams from the
//! archive into the transaction, and nothing is visible until the archive
//! has been read to its end without error; a member name with `..`, or
//! one that is not UTF-8, fails the whole import, so an archive can never
//! place anything outside DEST.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use tar::{Archive, EntryType};

use crate::cmd::cat::COPY_BUFFER;
use crate::container::{open, Access};
use crate::failure::{Exit, Failure};
use crate::printer::{Printer, Totals};
use crate::text::{is_root, join, normalize, parent};
use crate::Global;

/// Read an archive (tar: ustar, pax or GNU) into the container.
///
/// Members go below DEST (the root by default; created if missing), with
/// their modes and mtimes; a leading `/` is dropped. Files replace
/// existing files; directories merge. Symbolic and hard links, devices
/// and FIFOs are skipped with a warning. The whole archive appears in one
/// commit, or (on any error) nothing does.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The directory to import into.
    #[arg(default_value = "/")]
    dest: String,
    /// Read a tar archive (the one format so far).
    #[arg(long, required = true)]
    tar: bool,
    /// The archive to read; `-` (the default) is stdin.
    #[arg(short = 'f', long, value_name = "FILE", default_value = "-")]
    file: PathBuf,
}

/// Imports.
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let fs = open(global, &args.container, Access::Write)?;
    let printer = Printer::new(global, false);
    let (input, size): (Box<dyn Read>, Option<u64>) = if args.file == Path::new("-") {
        (Box::new(io::stdin().lock()), None)
    } else {
        let path = &args.file;
        let file = File::open(path).map_err(|e| Failure::host(path.display(), e))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    let what = if args.file == Path::new("-") {
        "stdin".to_string()
    } else {
        args.file.display().to_string()
    };
    let host = |e: io::Error| archive_failure(&what, e);
    // The bar counts archive bytes read (its size is known for a FILE).
    let progress = printer.progress("import", size.map(|bytes| Totals { bytes, files: 0 }));
    let mut archive = Archive::new(progress.meter(BufReader::with_capacity(COPY_BUFFER, input)));
    let dest = normalize(&args.dest);
    let mut t = fs.begin().map_err(|e| Failure::fs("import", e))?;
    let mut made: HashSet<String> = HashSet::new();
    let mut dirs: Vec<(String, u32, i64)> = Vec::new();
    let mut warned_absolute = false;
    let mut files = 0u64;
    let mut ensure_dir = |t: &mut whefs::Transaction, dir: &str| -> Result<(), Failure> {
        if !is_root(dir) && made.insert(dir.to_string()) {
            t.create_dir_all(dir)
                .map_err(|e| Failure::fs(format!("import {dir}"), e))?;
        }
        Ok(())
    };
    ensure_dir(&mut t, &dest)?;
    for entry in archive.entries().map_err(host)? {
        let mut entry = entry.map_err(host)?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8(raw).map_err(|e| {
            Failure::usage(format!(
                "import: member {:?} is not UTF-8, which container names must be",
                String::from_utf8_lossy(e.as_bytes())
            ))
        })?;
        if name.starts_with('/') && !warned_absolute {
            progress.warn("removing leading `/` from member names");
            warned_absolute = true;
        }
        let parts: Vec<&str> = name
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        if parts.contains(&"..") {
            return Err(Failure::usage(format!(
                "import: member {name:?} has a `..` component; nothing was imported"
            )));
        }
        let path = if parts.is_empty() {
            dest.clone()
        } else {
            normalize(&join(&dest, &parts.join("/")))
        };
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().map_err(host)? & 0o7777;
        let mtime_ns = mtime_ns(&mut entry).map_err(host)?;
        match kind {
            EntryType::Directory => {
                ensure_dir(&mut t, &path)?;
                dirs.push((path, mode, mtime_ns));
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                if parts.is_empty() {
                    return Err(Failure::usage(format!(
                        "import: file member {name:?} has no name"
                    )));
                }
                ensure_dir(&mut t, parent(&path))?;
                let what = format!("import {name} to {path}");
                t.write_from(&path, &mut entry)
                    .map_err(|e| Failure::fs(&what, e))?;
                t.set_mode(&path, mode)
                    .and_then(|t| t.set_mtime(&path, mtime_ns))
                    .map_err(|e| Failure::fs(&what, e))?;
                files += 1;
                progress.add_file();
            }
            EntryType::XGlobalHeader | EntryType::XHeader => {}
            other => progress.warn(format_args!(
                "{name}: skipped, a {} (only files and directories are imported)",
                kind_name(other)
            )),
        }
    }
    // Directory times last: every entry made in a directory changes its mtime.
    for (path, mode, mtime) in &dirs {
        if !is_root(path) {
            t.set_mode(path, *mode)
                .and_then(|t| t.set_mtime(path, *mtime))
                .map_err(|e| Failure::fs(format!("import {path}"), e))?;
        }
    }
    progress.set_message(format!("{files} files; committing"));
    t.commit()
        .map_err(|e| Failure::fs(format!("import {what} to {dest}"), e))?;
    drop(archive);
    progress.finish();
    Ok(())
}

/// An error while reading the archive: the operating system's (reading
/// the file or stdin), the container's, or the archive's own format.
fn archive_failure(what: &str, e: io::Error) -> Failure {
    if e.raw_os_error().is_some() || e.get_ref().is_some_and(|i| i.is::<whefs::Error>()) {
        return Failure::host(format!("import {what}"), e);
    }
    // The tar crate's messages may quote the bad bytes: keep them printable.
    let message: String = e.to_string().escape_debug().take(200).collect();
    Failure::new(
        Exit::Generic,
        format!("import {what}: not a tar archive, or a damaged one: {message}"),
    )
}

/// A member's mtime in ns: the pax `mtime` record (with its fraction) if
/// there is one, else the header's seconds.
fn mtime_ns<R: Read>(entry: &mut tar::Entry<R>) -> io::Result<i64> {
    if let Some(records) = entry.pax_extensions()? {
        for record in records {
            let record = record?;
            if record.key() == Ok("mtime") {
                if let Some(ns) = record.value().ok().and_then(parse_pax_time) {
                    return Ok(ns);
                }
            }
        }
    }
    let secs = entry.header().mtime()?;
    Ok(i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000))
}

/// Parses a pax time, `1700000000.123456789` or `-0.5`, into ns.
pub fn parse_pax_time(text: &str) -> Option<i64> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ns: i64 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        ns += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    let total = secs
        .parse::<i64>()
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(ns)?;
    Some(if negative { -total } else { total })
}

fn kind_name(kind: EntryType) -> &'static str {
    match kind {
        EntryType::Symlink => "symbolic link",
        EntryType::Link => "hard link",
        EntryType::Char => "character device",
        EntryType::Block => "block device",
        EntryType::Fifo => "FIFO",
        _ => "member of another kind",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::export::pax_time;

    #[test]
    fn pax_times_parse_back() {
        for ns in [
            0,
            1,
            1_700_000_000_123_456_789,
            -500_000_000,
            -1_000_000_001,
        ] {
            assert_eq!(parse_pax_time(&pax_time(ns)), Some(ns), "{ns}");
        }
        assert_eq!(parse_pax_time("12"), Some(12_000_000_000));
        assert_eq!(parse_pax_time("1.5"), Some(1_500_000_000));
        assert_eq!(parse_pax_time("1.1234567891"), Some(1_123_456_789));
        assert_eq!(parse_pax_time("x"), None);
        assert_eq!(parse_pax_time(""), None);
        assert_eq!(parse_pax_time("1.2e3"), None);
    }
}
