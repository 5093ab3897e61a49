//! Everything `whefs` says, in one place: the [`Printer`] writes results to
//! stdout as text or, with `--json`, as JSON (one document per command, or
//! JSON Lines for streams), warnings to stderr, and progress bars to stderr.
//!
//! Invariants: results go to stdout and nothing else does, so a script can
//! pipe them; a bar is drawn only when stderr is a terminal and `--quiet`
//! is off, so logs and pipes never see one; `--quiet` silences bars and
//! warnings, never errors.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::failure::Failure;
use crate::text::human;
use crate::Global;

/// Where a command's output goes, and in which form.
pub struct Printer {
    json: bool,
    quiet: bool,
    bars: bool,
    out: BufWriter<io::Stdout>,
}

impl Printer {
    /// A printer for a command run with `global`; `json` is the command's
    /// own `--json` (false for commands without one).
    pub fn new(global: &Global, json: bool) -> Printer {
        Printer {
            json,
            quiet: global.quiet,
            bars: !global.quiet && io::stderr().is_terminal(),
            out: BufWriter::new(io::stdout()),
        }
    }

    /// Whether results are wanted as JSON.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Writes one line of text to stdout.
    pub fn line(&mut self, args: fmt::Arguments) -> Result<(), Failure> {
        writeln!(self.out, "{args}").map_err(stdout_failure)
    }

    /// Stdout, for text that is not line by line (file contents, listings).
    pub fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    /// Writes `value` as one JSON document (indented, for people too).
    pub fn document(&mut self, value: &impl Serialize) -> Result<(), Failure> {
        serde_json::to_writer_pretty(&mut self.out, value).map_err(|e| stdout_failure(e.into()))?;
        writeln!(self.out).map_err(stdout_failure)
    }

    /// Writes `value` as one line of JSON Lines.
    pub fn json_line(&mut self, value: &impl Serialize) -> Result<(), Failure> {
        serde_json::to_writer(&mut self.out, value).map_err(|e| stdout_failure(e.into()))?;
        writeln!(self.out).map_err(stdout_failure)
    }

    /// Starts a progress display for `what` (e.g. `"put"`): a bar when
    /// the totals are known, a spinner otherwise; nothing at all unless
    /// stderr is a terminal and `--quiet` is off.
    pub fn progress(&self, what: &str, totals: Option<Totals>) -> Progress {
        if !self.bars {
            return Progress {
                bar: None,
                quiet: self.quiet,
                files: Cell::new(0),
                total_files: None,
            };
        }
        let bar = match totals {
            Some(t) => ProgressBar::with_draw_target(Some(t.bytes), ProgressDrawTarget::stderr())
                .with_style(style(
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ({elapsed})",
                )),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                style("{prefix} {spinner} {bytes} {binary_bytes_per_sec} {msg} ({elapsed})"),
            ),
        };
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        let progress = Progress {
            bar: Some(bar),
            quiet: self.quiet,
            files: Cell::new(0),
            total_files: totals.map(|t| t.files),
        };
        progress.show_files();
        progress
    }

    /// Starts a bar for a copy whose total is learned as it goes (a
    /// backup's pages): bytes against a total set by [`Progress::set_bytes`],
    /// under the same conditions as [`Printer::progress`].
    pub fn copy_bar(&self, what: &str) -> Progress {
        let progress = self.progress(what, Some(Totals::default()));
        if let Some(bar) = &progress.bar {
            bar.set_style(style(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ({elapsed})",
            ));
            bar.set_message("");
        }
        progress
    }

    /// Starts a spinner for work that is not bytes (a scan, a check),
    /// under the same conditions as [`Printer::progress`].
    pub fn spinner(&self, what: &str, message: String) -> Progress {
        let progress = self.progress(what, None);
        if let Some(bar) = &progress.bar {
            bar.set_style(style("{prefix} {spinner} {msg} ({elapsed})"));
            bar.set_message(message);
        }
        progress
    }

    /// Flushes stdout; call at the end of a command.
    pub fn finish(mut self) -> Result<(), Failure> {
        self.out.flush().map_err(stdout_failure)
    }
}

/// A progress style from a template that is part of this program.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the progress templates are valid")
        .progress_chars("=> ")
}

/// What a command is about to move, for a bar with totals.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    /// Bytes of file content.
    pub bytes: u64,
    /// Files (directories are not counted).
    pub files: u64,
}

/// A running progress display (or none): bytes, files and throughput.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    files: Cell<u64>,
    total_files: Option<u64>,
}

impl Progress {
    /// Counts `n` bytes moved.
    pub fn add_bytes(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Sets the bytes done and the total (for a [`Printer::copy_bar`]).
    pub fn set_bytes(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    }

    /// Counts one file done.
    pub fn add_file(&self) {
        self.files.set(self.files.get() + 1);
        self.show_files();
    }

    fn show_files(&self) {
        if let Some(bar) = &self.bar {
            let msg: Cow<'static, str> = match self.total_files {
                Some(total) => format!("{}/{total} files", self.files.get()).into(),
                None => format!("{} files", self.files.get()).into(),
            };
            bar.set_message(msg);
        }
    }

    /// Sets the text after the counters (for displays of work that is not
    /// files, such as `check`).
    pub fn set_message(&self, msg: impl Into<Cow<'static, str>>) {
        if let Some(bar) = &self.bar {
            bar.set_message(msg);
        }
    }

    /// Prints `whefs: warning: <message>` on stderr unless `--quiet`,
    /// without tearing the bar.
    pub fn warn(&self, message: impl fmt::Display) {
        if self.quiet {
            return;
        }
        let print = || {
            let _ = writeln!(io::stderr(), "whefs: warning: {message}");
        };
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Leaves the bar on screen at its final state with a summary.
    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            let summary = format!("{} files, {}", self.files.get(), human(bar.position()));
            bar.finish_with_message(summary);
        }
    }

    /// Leaves the bar on screen at its final state with `summary`.
    pub fn finish_with(self, summary: impl Into<Cow<'static, str>>) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(summary);
        }
    }

    /// Wraps `inner` so that every byte read through it is counted.
    pub fn meter<R: Read>(&self, inner: R) -> Metered<'_, R> {
        Metered {
            inner,
            progress: self,
        }
    }
}

impl Drop for Progress {
    /// A display dropped unfinished (the command failed) is cleared, so
    /// the error message stands alone.
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
    }
}

/// A reader that counts what passes through it on a [`Progress`].
pub struct Metered<'a, R> {
    inner: R,
    progress: &'a Progress,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add_bytes(n as u64);
        Ok(n)
    }
}

/// A failed write to stdout.
pub fn stdout_failure(err: io::Error) -> Failure {
    Failure::host("stdout", err)
}

/// Prints a failure now, for commands that go on after one (`cat`, `stat`).
pub fn report(failure: &Failure) {
    if let Some(message) = &failure.message {
        let _ = writeln!(io::stderr(), "whefs: {message}");
    }
}
