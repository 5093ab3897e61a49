//! Build script: generates the C header `whefs.h` with cbindgen into
//! `OUT_DIR` (never into the source tree; `include/whefs.h` is the
//! committed copy, which `tests/ffi.rs` compares with this one), and gives
//! the shared library its soname.

use std::env;
use std::fs;
use std::path::PathBuf;

/// The files cbindgen reads, one by one, in header order. Every `.rs` file
/// of `src/ffi/` must be here or in [`NOT_PARSED`] (checked below), so none
/// is silently left out.
const FFI_SOURCES: &[&str] = &[
    "src/ffi/error.rs",
    "src/ffi/library.rs",
    "src/ffi/fs.rs",
    "src/ffi/file.rs",
    "src/ffi/dir.rs",
    "src/ffi/glob.rs",
    "src/ffi/txn.rs",
    "src/ffi/posix.rs",
    "src/ffi/snapshot.rs",
    "src/ffi/maintenance.rs",
    "src/ffi/boundary.rs",
];

/// `mod.rs` declares the modules above: parsing it would make cbindgen
/// follow them a second time and repeat every declaration. `test_hooks.rs`
/// holds test-only entry points that the installed header must not offer.
const NOT_PARSED: &[&str] = &["src/ffi/mod.rs", "src/ffi/test_hooks.rs"];

fn main() {
    let crate_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");

    check_sources_listed(&crate_dir);

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    config.after_includes = Some(version_macros());

    let mut builder = cbindgen::Builder::new().with_config(config);
    for source in FFI_SOURCES {
        builder = builder.with_src(crate_dir.join(source));
    }
    let header = out_dir.join("whefs.h");
    let bindings = builder
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate whefs.h: {e}"));
    bindings.write_to_file(&header);
    println!(
        "cargo:rustc-env=WHEFS_GENERATED_HEADER={}",
        header.display()
    );
    // tests/ffi.rs compiles C with the `cc` crate, which wants the target.
    println!(
        "cargo:rustc-env=WHEFS_TARGET={}",
        env::var("TARGET").expect("cargo sets TARGET")
    );

    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwhefs.so.{major}");
    }
}

/// `WHEFS_VERSION_*` from `Cargo.toml`, so C code can check at compile time
/// what `whefs_version()` tells at run time.
fn version_macros() -> String {
    let part = |name: &str| env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"));
    let (major, minor, patch) = (
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    );
    format!(
        "\n/** The version of this header (Cargo.toml); `whefs_version()` tells the library's. */\n\
         #define WHEFS_VERSION_MAJOR {major}\n\
         #define WHEFS_VERSION_MINOR {minor}\n\
         #define WHEFS_VERSION_PATCH {patch}\n\
         #define WHEFS_VERSION_STRING \"{}\"\n",
        part("CARGO_PKG_VERSION")
    )
}

fn check_sources_listed(crate_dir: &std::path::Path) {
    let dir = crate_dir.join("src/ffi");
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let name = entry
            .expect("listing src/ffi")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".rs") {
            let source = format!("src/ffi/{name}");
            let known =
                FFI_SOURCES.contains(&source.as_str()) || NOT_PARSED.contains(&source.as_str());
            assert!(
                known,
                "{source} is not in FFI_SOURCES of build.rs: add it there"
            );
        }
    }
}
