//! The C side of whefs, driven from `cargo test`: the committed header is
//! the generated one, it compiles as C99 and C++ with every warning an
//! error, and the C programs of `tests/c/`, `examples/c/` and the C
//! quick-start pass against the library cargo just built — under
//! AddressSanitizer (leaks included) unless `WHEFS_C_SANITIZE=none`.
//!
//! `WHEFS_UPDATE_HEADER=1 cargo test --test ffi committed_header` (or
//! `make header`) rewrites `include/whefs.h` from the generated copy.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The header build.rs generated into OUT_DIR for this build.
const GENERATED_HEADER: &str = env!("WHEFS_GENERATED_HEADER");
/// The target triple, for the `cc` crate.
const TARGET: &str = env!("WHEFS_TARGET");
/// What the Rust static library needs from the system (`--print native-static-libs`).
const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the `libwhefs.a` and `libwhefs.so` that cargo
/// built for this test run: `deps/` beside this test binary (after only
/// `cargo test`, nothing is copied up to `target/<profile>/`).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let deps = exe.parent().expect("the test binary is in a directory");
    let found = [deps, deps.parent().unwrap_or(deps)]
        .into_iter()
        .find(|dir| dir.join("libwhefs.a").is_file());
    found
        .unwrap_or_else(|| panic!("libwhefs.a not found beside {}", exe.display()))
        .to_path_buf()
}

fn sanitize() -> bool {
    std::env::var("WHEFS_C_SANITIZE").map_or(true, |v| v != "none")
}

/// How to compile one C or C++ program.
struct CProgram<'a> {
    sources: &'a [&'a str],
    cpp: bool,
    /// Language standard and strictness flags.
    std_flags: &'a [&'a str],
    /// Link with AddressSanitizer.
    asan: bool,
}

impl CProgram<'_> {
    fn c99<'a>(sources: &'a [&'a str]) -> CProgram<'a> {
        CProgram {
            sources,
            cpp: false,
            std_flags: &["-std=c99", "-pedantic"],
            asan: sanitize(),
        }
    }

    /// Compiles and links against the static library; returns the binary.
    fn build(&self, out: &Path) -> PathBuf {
        let compiler = cc::Build::new()
            .cargo_metadata(false)
            .cpp(self.cpp)
            .opt_level(0)
            .debug(true)
            .target(TARGET)
            .host(TARGET)
            .get_compiler();
        let mut cmd = compiler.to_command();
        cmd.args(self.std_flags)
            .args(["-Wall", "-Wextra", "-Werror", "-D_FILE_OFFSET_BITS=64"])
            .arg("-I")
            .arg(root().join("include"))
            .arg("-I")
            .arg(root().join("tests/c"));
        if self.asan {
            cmd.args(["-fsanitize=address", "-fno-omit-frame-pointer"]);
        }
        cmd.arg("-o").arg(out);
        for source in self.sources {
            cmd.arg(root().join(source));
        }
        cmd.arg(lib_dir().join("libwhefs.a")).args(NATIVE_LIBS);
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
        assert_success(&format!("compiling {:?}", self.sources), &output);
        out.to_path_buf()
    }
}

fn assert_success(what: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}

/// Runs a test binary with the sanitizer's leak checker on.
fn run(binary: &Path, args: &[&Path], cwd: &Path) -> Output {
    Command::new(binary)
        .args(args)
        .current_dir(cwd)
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=86",
        )
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()))
}

fn run_ok(binary: &Path, args: &[&Path], cwd: &Path) -> Output {
    let output = run(binary, args, cwd);
    assert_success(&binary.display().to_string(), &output);
    output
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("whefs-ffi-")
        .tempdir()
        .expect("a temporary directory")
}

#[test]
fn committed_header_is_the_generated_one() {
    let generated = fs::read_to_string(GENERATED_HEADER).expect("build.rs wrote the header");
    let committed_path = root().join("include/whefs.h");
    if std::env::var_os("WHEFS_UPDATE_HEADER").is_some() {
        fs::write(&committed_path, &generated).expect("writing include/whefs.h");
        return;
    }
    let committed = fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/whefs.h differs from the header generated from src/ffi/ ({GENERATED_HEADER}); \
         run `make header` and commit the result"
    );
}

#[test]
fn header_compiles_as_strict_c99_and_cpp() {
    let dir = scratch();
    let c = CProgram::c99(&["tests/c/header_c99.c"]).build(&dir.path().join("header_c99"));
    run_ok(&c, &[], dir.path());
    let cpp = CProgram {
        sources: &["tests/c/header_cpp.cpp"],
        cpp: true,
        std_flags: &["-std=c++11", "-pedantic"],
        asan: sanitize(),
    }
    .build(&dir.path().join("header_cpp"));
    run_ok(&cpp, &[], dir.path());
}

#[test]
fn c_api_test_passes() {
    let dir = scratch();
    let binary = CProgram::c99(&["tests/c/test_api.c"]).build(&dir.path().join("test_api"));
    let output = run_ok(&binary, &[dir.path()], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).contains("all C API tests passed"));
}

#[test]
fn c_transaction_test_passes() {
    let dir = scratch();
    let binary = CProgram::c99(&["tests/c/test_txn.c"]).build(&dir.path().join("test_txn"));
    let output = run_ok(&binary, &[dir.path()], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).contains("all C transaction tests passed"));
}

#[test]
fn c_snapshot_test_passes() {
    let dir = scratch();
    let binary =
        CProgram::c99(&["tests/c/test_snapshots.c"]).build(&dir.path().join("test_snapshots"));
    let output = run_ok(&binary, &[dir.path()], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).contains("all C snapshot tests passed"));
}

#[test]
fn c_backup_test_passes() {
    let dir = scratch();
    let binary = CProgram::c99(&["tests/c/test_backup.c"]).build(&dir.path().join("test_backup"));
    let output = run_ok(&binary, &[dir.path()], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).contains("all C backup tests passed"));
}

#[test]
fn c_posix_test_passes() {
    let dir = scratch();
    let binary = CProgram::c99(&["tests/c/test_posix.c"]).build(&dir.path().join("test_posix"));
    let output = run_ok(&binary, &[dir.path()], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).contains("all C POSIX tests passed"));
}

#[test]
fn c_threads_test_passes() {
    let dir = scratch();
    let binary = CProgram::c99(&["tests/c/test_threads.c"]).build(&dir.path().join("test_threads"));
    let output = run_ok(&binary, &[dir.path()], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).contains("all C thread tests passed"));
}

#[test]
fn c_multiprocess_test_passes() {
    let dir = scratch();
    let worker = CProgram::c99(&["tests/c/test_worker.c"]).build(&dir.path().join("test_worker"));
    let driver = CProgram::c99(&["tests/c/test_procs.c"]).build(&dir.path().join("test_procs"));
    let output = run_ok(&driver, &[dir.path(), &worker], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).contains("all C multi-process tests passed"));
}

#[test]
fn panic_in_the_library_is_an_error_code_not_an_abort() {
    // test_api checks the code and message; this checks the process as a
    // whole: no SIGABRT, and the panic was reported on stderr by the hook.
    let dir = scratch();
    let source = dir.path().join("panic.c");
    fs::write(
        &source,
        "#include <string.h>\n#include \"whefs.h\"\n\
         int whefs_test_panic(void); /* test-hooks feature, not in the header */\n\
         int main(void) { int rc = whefs_test_panic();\n\
         return rc == WHEFS_ERR_INTERNAL && strstr(whefs_errmsg(), \"panic\") ? 0 : 1; }\n",
    )
    .expect("writing panic.c");
    let source = source.to_str().expect("temporary paths are UTF-8");
    let binary = CProgram::c99(&[source]).build(&dir.path().join("panic"));
    let output = run_ok(&binary, &[], dir.path());
    assert!(String::from_utf8_lossy(&output.stderr).contains("whefs_test_panic"));
}

#[test]
fn c_examples_build_and_work() {
    let dir = scratch();
    let d = dir.path();
    let example = |source: &'static str, name: &str| {
        let sources = [source];
        CProgram {
            sources: &sources,
            cpp: false,
            std_flags: &["-std=gnu99"],
            asan: sanitize(),
        }
        .build(&d.join(name))
    };
    let putget = example("examples/c/whefs-putget.c", "whefs-putget");
    let threads = example("examples/c/threads.c", "threads");

    let container = d.join("box.whefs");
    let local = d.join("local.bin");
    let back = d.join("back.bin");
    let data: Vec<u8> = (0..200_000u32)
        .map(|i| (i % 251) as u8)
        .chain([0, 0, 1])
        .collect();
    fs::write(&local, &data).expect("writing local.bin");
    let run_putget = |args: &[&str]| {
        let args: Vec<&Path> = std::iter::once(container.as_path())
            .chain(args.iter().map(Path::new))
            .collect();
        run(&putget, &args, d)
    };
    assert_success(
        "put",
        &run_putget(&["put", "docs/deep/data.bin", local.to_str().unwrap()]),
    );
    assert_success(
        "get",
        &run_putget(&["get", "docs/deep/data.bin", back.to_str().unwrap()]),
    );
    assert_eq!(fs::read(&back).expect("reading back.bin"), data);
    let listing = run_putget(&["ls", "docs/**"]);
    assert_success("ls", &listing);
    assert!(String::from_utf8_lossy(&listing.stdout).contains("docs/deep/data.bin"));
    assert_success("rm", &run_putget(&["rm", "docs/deep/data.bin"]));
    let missing = run_putget(&["get", "docs/deep/data.bin"]);
    assert_eq!(
        missing.status.code(),
        Some(1),
        "get of a removed file fails"
    );
    assert!(String::from_utf8_lossy(&missing.stderr).contains("WHEFS_ERR_NOT_FOUND"));

    run_ok(&threads, &[&d.join("threads.whefs")], d);
    run_ok(&threads, &[], d);
}

/// The first C code block of the document.
fn first_c_block(markdown: &str) -> String {
    let start = markdown
        .find("```c\n")
        .expect("the document has a ```c block")
        + 5;
    let len = markdown[start..]
        .find("```")
        .expect("the ```c block is closed");
    markdown[start..start + len].to_string()
}

#[test]
fn readme_c_quick_start_compiles_and_runs() {
    let dir = scratch();
    let markdown = fs::read_to_string(root().join("README.md")).expect("README.md");
    let source = dir.path().join("hello.c");
    fs::write(&source, first_c_block(&markdown)).expect("writing hello.c");
    let source = source.to_str().expect("temporary paths are UTF-8");
    let binary = CProgram {
        sources: &[source],
        cpp: false,
        std_flags: &[],
        asan: sanitize(),
    }
    .build(&dir.path().join("hello"));
    let output = run_ok(&binary, &[], dir.path());
    assert!(String::from_utf8_lossy(&output.stdout).contains("hello, whefs"));
    assert!(dir.path().join("hello.whefs").is_file());
}

#[test]
fn shared_library_has_its_soname() {
    let so = lib_dir().join("libwhefs.so");
    let Ok(output) = Command::new("readelf").arg("-d").arg(&so).output() else {
        eprintln!("readelf is not installed; soname not checked");
        return;
    };
    assert_success("readelf", &output);
    let dynamic = String::from_utf8_lossy(&output.stdout);
    assert!(
        dynamic.contains("Library soname: [libwhefs.so.0]"),
        "{dynamic}"
    );
}

/// Builds `source` without AddressSanitizer and runs it under valgrind
/// (ASan misses reads of uninitialized memory; valgrind sees them): no
/// error and no leak.
fn clean_under_valgrind(source: &str, name: &str) {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind is not installed; skipped");
        return;
    }
    let dir = scratch();
    let sources = [source];
    let program = CProgram {
        asan: false,
        ..CProgram::c99(&sources)
    };
    let binary = program.build(&dir.path().join(name));
    let output = Command::new("valgrind")
        .args([
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
        ])
        .arg(&binary)
        .arg(dir.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("running valgrind");
    assert_success(&format!("{source} under valgrind"), &output);
}

#[test]
fn c_api_test_is_clean_under_valgrind() {
    clean_under_valgrind("tests/c/test_api.c", "test_api_plain");
}

#[test]
fn c_transaction_test_is_clean_under_valgrind() {
    clean_under_valgrind("tests/c/test_txn.c", "test_txn_plain");
}

#[test]
fn c_snapshot_test_is_clean_under_valgrind() {
    clean_under_valgrind("tests/c/test_snapshots.c", "test_snapshots_plain");
}

#[test]
fn c_backup_test_is_clean_under_valgrind() {
    clean_under_valgrind("tests/c/test_backup.c", "test_backup_plain");
}

#[test]
fn c_posix_test_is_clean_under_valgrind() {
    clean_under_valgrind("tests/c/test_posix.c", "test_posix_plain");
}
