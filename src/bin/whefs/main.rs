//! `whefs`: the command-line tool for whefs containers, as `sqlite3` is for
//! SQLite databases — for people inspecting containers and for scripts.
//! Each invocation opens the container, does one thing and exits; every
//! change it makes is an atomic commit of the library, so `whefs` can run
//! beside any other process using the same container.
//!
//! The commands live beside this file in `src/bin/whefs/`: [`commands`] (one function per
//! subcommand), [`demo`], [`failure`] (messages and exit statuses) and
//! [`text`] (paths, times, sizes).

mod commands;
mod demo;
mod failure;
mod mount;
mod text;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use commands::Access;
use failure::Failure;

/// Inspect and script whefs containers: a whole filesystem in one file.
#[derive(Parser, Debug)]
#[command(name = "whefs", version, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// The options every command takes: how to open the container.
#[derive(Args, Clone, Debug)]
pub struct Global {
    /// Open the container read-only: commands that would change it fail
    /// (status 8). Reading commands always open read-only.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Wait up to MS milliseconds for a lock held by another process or
    /// thread before failing with status 6 [default: 5000].
    #[arg(long, value_name = "MS", global = true)]
    pub timeout: Option<u64>,
    /// How hard each commit works to survive power loss.
    #[arg(long, value_enum, value_name = "LEVEL", global = true, default_value_t = DurabilityArg::Full)]
    pub durability: DurabilityArg,
}

/// `--durability`: the library's [`whefs::Durability`] on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurabilityArg {
    /// Sync around every commit: acknowledged commits survive power loss.
    Full,
    /// Skip the last sync: a crash may lose the latest commits, never corrupts.
    Normal,
    /// No syncs: safe against process crashes, not against power loss.
    Off,
}

impl From<DurabilityArg> for whefs::Durability {
    fn from(arg: DurabilityArg) -> Self {
        match arg {
            DurabilityArg::Full => whefs::Durability::Full,
            DurabilityArg::Normal => whefs::Durability::Normal,
            DurabilityArg::Off => whefs::Durability::Off,
        }
    }
}

/// The subcommands. Paths inside a container are `/`-separated; a leading
/// `/` is allowed.
#[derive(Subcommand, Debug)]
enum Command {
    /// Create a new, empty container (fails if the file exists).
    Create {
        /// The container file to create.
        container: PathBuf,
        /// Page size in bytes: a power of two from 4096 to 65536 (`8k` and
        /// `8KiB` work too) [default: 4096].
        #[arg(long, value_name = "BYTES", value_parser = parse_page_size)]
        page_size: Option<u32>,
        /// A label stored in the container (at most 64 bytes).
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
    },
    /// Copy a host file (or `-` for stdin) into the container, streaming.
    ///
    /// DEST defaults to the source's name in the root directory; when DEST
    /// is a directory or ends with `/`, the file goes inside it. An existing
    /// file is replaced atomically when the copy commits.
    Put {
        /// The container file.
        container: PathBuf,
        /// The host file to copy, or `-` for stdin.
        src: PathBuf,
        /// Where to put it in the container.
        dest: Option<String>,
        /// Create missing parent directories of DEST.
        #[arg(short, long)]
        parents: bool,
    },
    /// Copy a file out of the container to a host file, or to stdout.
    Get {
        /// The container file.
        container: PathBuf,
        /// The file in the container.
        path: String,
        /// The host file to write (a directory: the file goes inside it);
        /// stdout when omitted or `-`.
        dest: Option<PathBuf>,
    },
    /// Print files to stdout, one after the other.
    Cat {
        /// The container file.
        container: PathBuf,
        /// The files to print.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// List a directory (the root by default).
    Ls {
        /// The container file.
        container: PathBuf,
        /// The directory (or file) to list.
        #[arg(default_value = "/")]
        path: String,
        /// Long format: kind, size, mtime (UTC), inode, name.
        #[arg(short = 'l')]
        long: bool,
        /// List everything below, as full paths, depth first.
        #[arg(short = 'R', long)]
        recursive: bool,
    },
    /// Create directories.
    Mkdir {
        /// The container file.
        container: PathBuf,
        /// Create missing parents too; an existing directory is fine.
        #[arg(short, long)]
        parents: bool,
        /// The directories to create.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Remove files (with -r, directories and everything in them).
    Rm {
        /// The container file.
        container: PathBuf,
        /// Remove directories and their contents.
        #[arg(short, long)]
        recursive: bool,
        /// Ignore paths that do not exist.
        #[arg(short, long)]
        force: bool,
        /// The paths to remove.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Remove empty directories.
    Rmdir {
        /// The container file.
        container: PathBuf,
        /// The directories to remove.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Rename or move a file or directory, atomically.
    ///
    /// When TO is a directory, FROM moves into it; an existing file at TO
    /// is replaced.
    Mv {
        /// The container file.
        container: PathBuf,
        /// The path to move.
        from: String,
        /// The new path, or a directory to move into.
        to: String,
    },
    /// Show kind, size, inode, mode and times of paths.
    Stat {
        /// The container file.
        container: PathBuf,
        /// The paths to describe.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Show container-wide figures: page size, generation, pages, files.
    Info {
        /// The container file.
        container: PathBuf,
    },
    /// Show the locks other processes hold on the container: file writers,
    /// pinned generations, reserved pages, a commit in progress (regions as
    /// the kernel reports them; it does not say which process holds them).
    Locks {
        /// The container file.
        container: PathBuf,
    },
    /// Verify every checksum and the page accounting (fsck).
    ///
    /// Exit status 0: clean; 1: corrupt (the problem goes to stderr); other
    /// statuses as for any command (e.g. 3: no such container, 7: not a
    /// whefs container).
    Check {
        /// The container file.
        container: PathBuf,
    },
    /// Mount a container as a filesystem (FUSE), so every program can use it.
    ///
    /// Returns once the mount is ready; a background process serves it
    /// until `whefs umount` (or `fusermount3 -u`) or SIGTERM. With the
    /// global --read-only every change fails with EROFS. See docs/mount.md.
    Mount(mount::MountArgs),
    /// Unmount a `whefs mount`.
    Umount(mount::UmountArgs),
    /// Show the filesystem working, step by step, verifying as it goes.
    ///
    /// Without CONTAINER it uses ./demo.whefs, removing an old one first; a
    /// CONTAINER given must not exist yet (`:memory:` runs in RAM). Exits
    /// non-zero if any verification fails.
    Demo {
        /// Where to build the demo container.
        container: Option<PathBuf>,
    },
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

/// The long help text: what the tool is, and the exit statuses.
fn long_about() -> String {
    format!(
        "Inspect and script whefs containers: a whole filesystem in one file.\n\n\
         Each command opens the container, does one thing and exits; every change is an atomic \
         commit, safe beside other processes using the same container. Paths inside a container \
         are `/`-separated (a leading `/` is allowed). Errors go to stderr as `whefs: <message>`.\n\n\
         {}\n\
         Examples:\n\
         \x20 whefs create notes.whefs\n\
         \x20 whefs put -p notes.whefs report.pdf /docs/2024/\n\
         \x20 tar c src | whefs put notes.whefs - /backup/src.tar\n\
         \x20 whefs ls -l -R notes.whefs\n\
         \x20 whefs get notes.whefs /docs/2024/report.pdf copy.pdf\n\
         \x20 whefs check notes.whefs && echo clean",
        failure::exit_code_help()
    )
}

/// Runs one parsed command line.
fn run(cli: Cli) -> Result<(), Failure> {
    let global = &cli.global;
    let open = |container: &PathBuf, access| commands::open(global, container, access);
    match &cli.command {
        Command::Create {
            container,
            page_size,
            label,
        } => commands::create(global, container, *page_size, label.as_deref()),
        Command::Put {
            container,
            src,
            dest,
            parents,
        } => commands::put(
            &open(container, Access::Write)?,
            src,
            dest.as_deref(),
            *parents,
        ),
        Command::Get {
            container,
            path,
            dest,
        } => commands::get(&open(container, Access::Read)?, path, dest.as_deref()),
        Command::Cat { container, paths } => commands::cat(&open(container, Access::Read)?, paths),
        Command::Ls {
            container,
            path,
            long,
            recursive,
        } => commands::ls(&open(container, Access::Read)?, path, *long, *recursive),
        Command::Mkdir {
            container,
            parents,
            paths,
        } => commands::mkdir(&open(container, Access::Write)?, paths, *parents),
        Command::Rm {
            container,
            recursive,
            force,
            paths,
        } => commands::rm(&open(container, Access::Write)?, paths, *recursive, *force),
        Command::Rmdir { container, paths } => {
            commands::rmdir(&open(container, Access::Write)?, paths)
        }
        Command::Mv {
            container,
            from,
            to,
        } => commands::mv(&open(container, Access::Write)?, from, to),
        Command::Stat { container, paths } => {
            commands::stat(&open(container, Access::Read)?, paths)
        }
        Command::Info { container } => commands::info(
            &open(container, Access::Read)?,
            container,
            &mut io::stdout().lock(),
        ),
        Command::Locks { container } => commands::locks(
            &open(container, Access::Read)?,
            container,
            &mut io::stdout().lock(),
        ),
        Command::Check { container } => {
            commands::check(global, container, &mut io::stdout().lock())
        }
        Command::Demo { container } => demo::run(global, container.as_deref()),
        Command::Mount(args) => mount::mount(global, args),
        Command::Umount(args) => mount::umount(args),
    }
}

/// Lets a closed stdout end the process quietly, as SIGPIPE ends every Unix
/// filter (`whefs cat c.whefs big | head`); Rust ignores SIGPIPE by default.
/// Dying mid-command is safe: an uncommitted change is simply not there.
fn default_sigpipe() {
    // SAFETY: runs first thing in main, before any other thread exists;
    // restoring a signal's default disposition touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Parses the command line, runs it, and turns a failure into
/// `whefs: <message>` on stderr and its exit status.
fn main() -> ExitCode {
    default_sigpipe();
    let matches = Cli::command().long_about(long_about()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(message) = &failure.message {
                let _ = writeln!(io::stderr(), "whefs: {message}");
            }
            ExitCode::from(failure.exit as u8)
        }
    }
}
