//! The subcommands of `whefs`, one module each: its clap arguments (whose
//! doc comments are its `--help`) and the `run` that carries it out.
//! Every command takes the container first: `whefs COMMAND CONTAINER ...`.
//!
//! Invariants: each command that changes a container makes one commit (a
//! [`whefs::Transaction`] when it changes several things), so another
//! process sees all of a command's work or none of it; `--snapshot` reaches
//! only the commands that read ([`Command::access`]), so no command ever
//! aims a change at a snapshot.

pub mod backup;
pub mod cat;
pub mod check;
pub mod compact;
pub mod cp;
pub mod create;
pub mod demo;
pub mod diff;
pub mod embed;
pub mod export;
pub mod get;
pub mod import;
pub mod info;
pub mod locks;
pub mod ls;
pub mod mkdir;
pub mod mv;
pub mod put;
pub mod restore;
pub mod rm;
pub mod rmdir;
pub mod snapshot;
pub mod stat;

use clap::Subcommand;

use crate::container::Access;
use crate::failure::Failure;
use crate::Global;

/// The subcommands, in the order `whefs --help` lists them.
#[derive(Subcommand, Debug)]
pub enum Command {
    Create(create::Args),
    Put(put::Args),
    Get(get::Args),
    Cat(cat::Args),
    Ls(ls::Args),
    Stat(stat::Args),
    Mkdir(mkdir::Args),
    Cp(cp::Args),
    Mv(mv::Args),
    Rm(rm::Args),
    Rmdir(rmdir::Args),
    Export(export::Args),
    Import(import::Args),
    Embed(embed::Args),
    Snapshot(snapshot::Args),
    Diff(diff::Args),
    Restore(restore::Args),
    Backup(backup::Args),
    Compact(compact::Args),
    Info(info::Args),
    Locks(locks::Args),
    Check(check::Args),
    /// Mount a container as a filesystem (FUSE), so every program can use it.
    ///
    /// Returns once the mount is ready; a background process serves it
    /// until `whefs umount` (or `fusermount3 -u`) or SIGTERM. With the
    /// global --read-only every change fails with EROFS; with --snapshot NAME
    /// it serves that snapshot, read-only. See docs/mount.md.
    Mount(crate::mount::MountArgs),
    /// Unmount a `whefs mount`.
    Umount(crate::mount::UmountArgs),
    Demo(demo::Args),
}

impl Command {
    /// Runs the command (`name` is how the command line spelled it, for
    /// messages).
    pub fn run(&self, name: &str, global: &Global) -> Result<(), Failure> {
        if global.snapshot.is_some() && self.access() == Access::Write {
            return Err(snapshot_refused(name, self));
        }
        match self {
            Command::Create(args) => create::run(args, global),
            Command::Put(args) => put::run(args, global),
            Command::Get(args) => get::run(args, global),
            Command::Cat(args) => cat::run(args, global),
            Command::Ls(args) => ls::run(args, global),
            Command::Stat(args) => stat::run(args, global),
            Command::Mkdir(args) => mkdir::run(args, global),
            Command::Cp(args) => cp::run(args, global),
            Command::Mv(args) => mv::run(args, global),
            Command::Rm(args) => rm::run(args, global),
            Command::Rmdir(args) => rmdir::run(args, global),
            Command::Export(args) => export::run(args, global),
            Command::Import(args) => import::run(args, global),
            Command::Embed(args) => embed::run(args, global),
            Command::Snapshot(args) => snapshot::run(args, global),
            Command::Diff(args) => diff::run(args, global),
            Command::Restore(args) => restore::run(args, global),
            Command::Backup(args) => backup::run(args, global),
            Command::Compact(args) => compact::run(args, global),
            Command::Info(args) => info::run(args, global),
            Command::Locks(args) => locks::run(args, global),
            Command::Check(args) => check::run(args, global),
            Command::Mount(args) => crate::mount::mount(global, args),
            Command::Umount(args) => crate::mount::umount(args),
            Command::Demo(args) => demo::run(args, global),
        }
    }
}

impl Command {
    /// What the command does to its container, which decides whether it
    /// takes `--snapshot`: the reading commands read the snapshot's state
    /// instead of the latest (`mount` then serves it read-only); every
    /// other command refuses it.
    pub fn access(&self) -> Access {
        match self {
            Command::Get(_)
            | Command::Cat(_)
            | Command::Ls(_)
            | Command::Stat(_)
            | Command::Export(_)
            | Command::Embed(_)
            | Command::Backup(_)
            | Command::Info(_)
            | Command::Locks(_)
            | Command::Check(_)
            | Command::Mount(_) => Access::Read,
            Command::Snapshot(args) => args.access(),
            _ => Access::Write,
        }
    }
}

/// The refusal of `--snapshot` by a command that is not a reading one.
fn snapshot_refused(name: &str, command: &Command) -> Failure {
    let why = match command {
        Command::Diff(_) => {
            "diff names the states it compares as operands: whefs diff CONTAINER [SNAP] [SNAP]"
        }
        Command::Restore(_) => {
            "restore names its snapshot as an operand: whefs restore CONTAINER SNAP [PATH]"
        }
        Command::Snapshot(_) => {
            "name the snapshot as an operand: whefs snapshot ACTION CONTAINER NAME"
        }
        _ => "a snapshot is read-only, and this command changes the container",
    };
    Failure::usage(format!("{name}: --snapshot: {why}"))
}
