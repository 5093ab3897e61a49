//! `whefs embed`: the successor of the 2009 `whefs2c`. Writes a C source
//! file holding a container as a byte array, plus a function that opens
//! it read-only with `whefs_fs_open_image`, so a program carries its
//! files inside itself; `--header` also writes the matching `.h`.
//!
//! Invariant: the bytes written are a verified, consistent image. The
//! container is read while others may commit, so the copy is opened and
//! fully checked (every checksum) in memory first, and read again if it
//! does not verify.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use whefs::storage::MemoryStorage;
use whefs::Fs;

use crate::container::{open, Access};
use crate::failure::{Exit, Failure};
use crate::Global;

/// How many times a copy that does not verify is taken again.
const ATTEMPTS: usize = 5;

/// Write a C source file that holds the container (successor of whefs2c).
///
/// The file defines `const unsigned char NAME_data[]`, `const size_t
/// NAME_size` and `int NAME_open(whefs_fs **out)`, which opens the
/// embedded container read-only through whefs_fs_open_image(): a program
/// linked with it and libwhefs reads the files with no container on disk.
/// NAME defaults to the container's file name without its extension.
/// The image is verified before it is written. With --snapshot NAME the
/// image is that snapshot, as the compact copy `backup` makes.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The container file.
    container: PathBuf,
    /// The C file to write; `-` (the default) is stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    output: PathBuf,
    /// The C name the symbols start with (letters, digits, `_`).
    #[arg(long, value_name = "SYMBOL")]
    name: Option<String>,
    /// Also write the header declaring them: FILE with `.h` for `.c`.
    #[arg(long)]
    header: bool,
}

/// Writes the C file (and header).
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let to_stdout = args.output == Path::new("-");
    if args.header && to_stdout {
        return Err(Failure::usage(
            "embed: --header needs -o FILE (the header goes beside it)",
        ));
    }
    let name = match &args.name {
        Some(name) => name.clone(),
        None => default_name(&args.container),
    };
    if !is_c_identifier(&name) {
        return Err(Failure::usage(format!(
            "embed: {name:?} is not a C identifier (use --name SYMBOL)"
        )));
    }
    let image = match &global.snapshot {
        Some(_) => snapshot_image(global, &args.container)?,
        None => verified_image(&args.container)?,
    };
    let header_path = args.output.with_extension("h");
    let header_file = header_path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string);
    let source = Source {
        name: &name,
        container: &args.container,
        header: if args.header {
            header_file.as_deref()
        } else {
            None
        },
        image: &image,
    };
    if to_stdout {
        let mut out = BufWriter::new(io::stdout().lock());
        return source
            .write_c(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| Failure::host("stdout", e));
    }
    write_file(&args.output, |out| source.write_c(out))?;
    if args.header {
        write_file(&header_path, |out| source.write_h(out))?;
    }
    Ok(())
}

/// Reads the container and checks the copy in memory; a copy torn by a
/// concurrent commit does not verify and is taken again.
fn verified_image(container: &Path) -> Result<Vec<u8>, Failure> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let bytes = std::fs::read(container).map_err(|e| Failure::host(container.display(), e))?;
        let storage = Arc::new(MemoryStorage::from_vec(bytes));
        let checked = Fs::options()
            .open_storage(storage.clone())
            .and_then(|fs| fs.check());
        match checked {
            Ok(_) => return Ok(storage.snapshot()),
            Err(e @ whefs::Error::BadMagic(_)) => {
                return Err(Failure::fs(format!("embed {}", container.display()), e))
            }
            Err(e) => last = Some(e),
        }
    }
    let e = last.expect("at least one attempt failed");
    Err(Failure::new(
        Exit::Corrupt,
        format!(
            "embed {}: no copy verified in {ATTEMPTS} tries: {e}",
            container.display()
        ),
    ))
}

/// The snapshot `--snapshot` names, as an image: a backup of its view into
/// a temporary file, read back and verified like a container.
fn snapshot_image(global: &Global, container: &Path) -> Result<Vec<u8>, Failure> {
    let fs = open(global, container, Access::Read)?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let copy =
        std::env::temp_dir().join(format!(".whefs-embed-{}-{nanos}.whefs", std::process::id()));
    fs.backup_to(&copy)
        .map_err(|e| Failure::fs(format!("embed {}", container.display()), e))?;
    let image = verified_image(&copy);
    let _ = std::fs::remove_file(&copy);
    image
}

/// Writes a file through `write`, removing it again if that fails.
fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    let file = File::create(path).map_err(|e| Failure::host(path.display(), e))?;
    let mut out = BufWriter::new(file);
    let written = write(&mut out).and_then(|()| out.flush());
    written.map_err(|e| {
        let _ = std::fs::remove_file(path);
        Failure::host(path.display(), e)
    })
}

/// The container's file name without extension, made a C identifier.
fn default_name(container: &Path) -> String {
    let stem = container
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "whefs_");
    }
    name
}

fn is_c_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What goes into the generated files.
struct Source<'a> {
    name: &'a str,
    container: &'a Path,
    /// The header's file name, to include, when one is written.
    header: Option<&'a str>,
    image: &'a [u8],
}

impl Source<'_> {
    fn comment(&self, out: &mut dyn Write) -> io::Result<()> {
        let shown = self
            .container
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .replace("*/", "*_/");
        writeln!(
            out,
            "/* The whefs container {shown} ({} bytes) as a byte array.\n \
             * Generated by `whefs embed`; do not edit. Link with libwhefs.\n \
             *\n \
             *     whefs_fs *fs;\n \
             *     if ({name}_open(&fs) == WHEFS_OK) {{ ... whefs_fs_close(fs); }}\n \
             */",
            self.image.len(),
            name = self.name
        )
    }

    fn write_c(&self, out: &mut dyn Write) -> io::Result<()> {
        let name = self.name;
        self.comment(out)?;
        writeln!(out, "#include <stddef.h>\n#include <whefs.h>")?;
        match self.header {
            Some(header) => writeln!(out, "#include \"{header}\"")?,
            None => self.declarations(out)?,
        }
        writeln!(
            out,
            "\nconst unsigned char {name}_data[{}] = {{",
            self.image.len()
        )?;
        for line in self.image.chunks(16) {
            out.write_all(b"   ")?;
            for byte in line {
                write!(out, " 0x{byte:02x},")?;
            }
            out.write_all(b"\n")?;
        }
        writeln!(
            out,
            "}};\nconst size_t {name}_size = {};\n\n\
             int {name}_open(whefs_fs **out)\n{{\n    \
             return whefs_fs_open_image({name}_data, {name}_size, out);\n}}",
            self.image.len()
        )
    }

    fn declarations(&self, out: &mut dyn Write) -> io::Result<()> {
        let name = self.name;
        writeln!(
            out,
            "\n/* The container image and its size in bytes. */\n\
             extern const unsigned char {name}_data[];\n\
             extern const size_t {name}_size;\n\
             /* Opens the embedded container read-only (whefs_fs_open_image): a\n \
             * WHEFS_* status; on success *out is a handle for whefs_fs_close(). */\n\
             int {name}_open(whefs_fs **out);"
        )
    }

    fn write_h(&self, out: &mut dyn Write) -> io::Result<()> {
        let guard = format!("{}_WHEFS_EMBED_H", self.name.to_ascii_uppercase());
        self.comment(out)?;
        writeln!(
            out,
            "#ifndef {guard}\n#define {guard}\n\n#include <stddef.h>\n#include <whefs.h>\n\n\
             #ifdef __cplusplus\nextern \"C\" {{\n#endif"
        )?;
        self.declarations(out)?;
        writeln!(out, "\n#ifdef __cplusplus\n}}\n#endif\n\n#endif")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_c_identifiers() {
        assert_eq!(default_name(Path::new("dir/box.whefs")), "box");
        assert_eq!(default_name(Path::new("my-app.v2.whefs")), "my_app_v2");
        assert_eq!(default_name(Path::new("2024.whefs")), "whefs_2024");
        for name in ["box", "my_app_v2", "whefs_2024", "_x"] {
            assert!(is_c_identifier(name), "{name}");
        }
        for name in ["", "1a", "a-b", "ü"] {
            assert!(!is_c_identifier(name), "{name}");
        }
    }
}
