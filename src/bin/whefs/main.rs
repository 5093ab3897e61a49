//! `whefs`: the command-line tool for whefs containers, as `sqlite3` is for
//! SQLite databases — for people inspecting containers and for scripts.
//! Each invocation opens the container, does one thing and exits; every
//! change it makes is one atomic commit of the library, so `whefs` can run
//! beside any other process using the same container.
//!
//! Beside this file in `src/bin/whefs/`: [`cmd`] (one module per
//! subcommand, its clap arguments next to the code that runs it),
//! [`container`] (opening, globs, walking a container tree), [`host`]
//! (host trees: scanning for `put -r`, writing safely for `get -r`),
//! [`printer`] (stdout, `--json`, warnings, progress bars), [`failure`]
//! (messages and exit statuses) and [`text`] (paths, times, sizes).

mod cmd;
mod container;
mod failure;
mod host;
mod mount;
mod printer;
mod text;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};

/// Inspect and script whefs containers: a whole filesystem in one file.
#[derive(Parser, Debug)]
#[command(name = "whefs", version, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: cmd::Command,
}

/// The options every command takes: how to open the container, and how
/// much to say.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Global options")]
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
    /// Read the named snapshot instead of the latest state. Only commands
    /// that read a container take it (ls, cat, get, stat, export, embed,
    /// info, check, backup, mount, ...); one that would change the container
    /// refuses it with status 2.
    #[arg(long, value_name = "NAME", global = true)]
    pub snapshot: Option<String>,
    /// No progress bars and no warnings (errors are still printed).
    /// Bars are drawn only when stderr is a terminal anyway.
    #[arg(short, long, global = true)]
    pub quiet: bool,
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

/// The long help text: what the tool is, and the exit statuses.
fn long_about() -> String {
    format!(
        "Inspect and script whefs containers: a whole filesystem in one file.\n\n\
         Every command is `whefs COMMAND CONTAINER ...`. Each opens the container, does one thing \
         and exits; every change is one atomic commit, safe beside other processes using the same \
         container. Paths inside a container are `/`-separated (a leading `/` is allowed); `ls`, \
         `cat`, `get`, `rm` and `stat` also take glob patterns ('*.txt', 'src/**/*.c'; quote them \
         from the shell). `-` means stdin or stdout. Errors go to stderr as `whefs: <message>`.\n\n\
         {}\n\
         Examples:\n\
         \x20 whefs create box.whefs\n\
         \x20 whefs put -r box.whefs ./project /backup/    # a whole tree, in one commit\n\
         \x20 whefs ls -lR box.whefs /backup\n\
         \x20 whefs get -r box.whefs /backup/project restored\n\
         \x20 whefs export --tar box.whefs /backup | tar tv\n\
         \x20 tar c docs | whefs import --tar box.whefs /imported\n\
         \x20 whefs embed box.whefs -o box.c --header --name box\n\
         \x20 whefs stat --json box.whefs '/backup/**/*.rs'\n\
         \x20 whefs snapshot create box.whefs before\n\
         \x20 whefs ls --snapshot before box.whefs /backup   # the state the snapshot keeps\n\
         \x20 whefs diff box.whefs before                    # what changed since\n\
         \x20 whefs restore box.whefs before /backup         # bring it back, one commit\n\
         \x20 whefs backup --verify box.whefs copy.whefs     # a compact copy, while others write\n\
         \x20 whefs compact box.whefs                        # give free space back to the disk\n\
         \x20 whefs check box.whefs && echo clean",
        failure::exit_code_help()
    )
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
    let name = matches.subcommand_name().unwrap_or("whefs");
    match cli.command.run(name, &cli.global) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(message) = &failure.message {
                let _ = writeln!(io::stderr(), "whefs: {message}");
            }
            ExitCode::from(failure.exit as u8)
        }
    }
}
