//! The subcommands of `whefs`, one module each: its clap arguments (whose
//! doc comments are its `--help`) and the `run` that carries it out.
//! Every command takes the container first: `whefs COMMAND CONTAINER ...`.
//!
//! Invariant: each command that changes a container makes one commit (a
//! [`whefs::Transaction`] when it changes several things), so another
//! process sees all of a command's work or none of it.

pub mod cat;
pub mod check;
pub mod cp;
pub mod create;
pub mod demo;
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
pub mod rm;
pub mod rmdir;
pub mod stat;

use clap::Subcommand;

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
    Info(info::Args),
    Locks(locks::Args),
    Check(check::Args),
    /// Mount a container as a filesystem (FUSE), so every program can use it.
    ///
    /// Returns once the mount is ready; a background process serves it
    /// until `whefs umount` (or `fusermount3 -u`) or SIGTERM. With the
    /// global --read-only every change fails with EROFS. See docs/mount.md.
    Mount(crate::mount::MountArgs),
    /// Unmount a `whefs mount`.
    Umount(crate::mount::UmountArgs),
    Demo(demo::Args),
}

impl Command {
    /// Runs the command.
    pub fn run(&self, global: &Global) -> Result<(), Failure> {
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
            Command::Info(args) => info::run(args, global),
            Command::Locks(args) => locks::run(args, global),
            Command::Check(args) => check::run(args, global),
            Command::Mount(args) => crate::mount::mount(global, args),
            Command::Umount(args) => crate::mount::umount(args),
            Command::Demo(args) => demo::run(args, global),
        }
    }
}
