//! Glob listing, the 2009 library's `whefs_ls(pattern)`: [`Fs::glob`] and
//! [`Fs::glob_each`] (which the C `whefs_ls` calls). The pattern language
//! is documented on [`Fs::glob`].
//!
//! Invariants: the whole walk reads one pinned snapshot, so a listing is
//! one committed state even while others rename; only directories the
//! pattern can still match are read; each matching path is reported once,
//! in name order, depth first; each directory is walked at most once per
//! position in the pattern, so a damaged namespace with cycles cannot make
//! the walk endless.

use std::collections::HashSet;
use std::ops::ControlFlow;

use crate::engine::Snapshot;
use crate::error::{Error, Result};
use crate::format::records::{self, DirentRecord, Kind, ROOT_INO};
use crate::fs::dir::{self, DirEntry};
use crate::fs::{self, FileType, Fs, SnapView};

impl Fs {
    /// The paths matching the glob `pattern`, sorted (bytewise):
    /// `"*.txt"`, `"logs/2024-0?/*.log"`, `"src/**/*.c"`, `"**"` (everything).
    ///
    /// Per `/`-separated component: `*` matches any run of characters, `?`
    /// one character, `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]` one character
    /// of (or not of) a set, `\x` a literal `x`; a component that is exactly
    /// `**` matches zero or more directories. Wildcards never match `/`;
    /// names starting with `.` are not special. Directories the pattern
    /// names but that do not exist simply match nothing. Paths come back
    /// without a leading `/`. An empty pattern is [`Error::Arg`].
    ///
    /// The walk sees one committed state (DESIGN G1), whatever commits
    /// happen meanwhile.
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.glob_each(pattern, |path, _| {
            out.push(path.to_string());
            Ok(ControlFlow::Continue(()))
        })?;
        out.sort_unstable();
        Ok(out)
    }

    /// Calls `f` with the path and entry of each match of `pattern` (see
    /// [`Fs::glob`]) as the walk finds them — name order within a
    /// directory, a directory's own matches before those deeper down —
    /// until it returns `Break` or an error (which ends the walk and is
    /// returned).
    pub fn glob_each(
        &self,
        pattern: &str,
        mut f: impl FnMut(&str, &DirEntry) -> Result<ControlFlow<()>>,
    ) -> Result<()> {
        let segments = parse_pattern(pattern)?;
        let snap = self.engine().snapshot()?;
        let mut walker = Walker {
            fs: self,
            snap: &snap,
            emit: &mut f,
            walked: HashSet::new(),
        };
        walker.walk(ROOT_INO, "", &segments).map(drop)
    }
}

/// One `/`-separated component of a pattern.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    /// No wildcard: looked up, not listed.
    Literal(String),
    /// Matched against each name of a listing.
    Glob(Vec<Token>),
    /// `**`: zero or more directories.
    AnyDepth,
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    AnyChar,
    AnyRun,
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

fn parse_pattern(pattern: &str) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        if component == "**" {
            if segments.last() != Some(&Segment::AnyDepth) {
                segments.push(Segment::AnyDepth);
            }
            continue;
        }
        let tokens = parse_component(component);
        let literal: Option<String> = tokens
            .iter()
            .map(|t| {
                if let Token::Char(c) = t {
                    Some(*c)
                } else {
                    None
                }
            })
            .collect();
        segments.push(match literal {
            Some(name) => {
                // A literal is a name: ".", ".." or 256 bytes are path errors.
                crate::fs::path::components(&name)?;
                Segment::Literal(name)
            }
            None => Segment::Glob(tokens),
        });
    }
    if segments.is_empty() {
        return Err(Error::Arg(format!("empty glob pattern {pattern:?}")));
    }
    Ok(segments)
}

fn parse_component(component: &str) -> Vec<Token> {
    let chars: Vec<char> = component.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => tokens.push(Token::AnyRun),
            '?' => tokens.push(Token::AnyChar),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                tokens.push(Token::Char(chars[i]));
            }
            '[' => match parse_set(&chars[i + 1..]) {
                Some((token, used)) => {
                    tokens.push(token);
                    i += used;
                }
                None => tokens.push(Token::Char('[')), // unclosed: a literal `[`
            },
            c => tokens.push(Token::Char(c)),
        }
        i += 1;
    }
    tokens
}

/// Parses a set after its `[`; returns it and the characters used,
/// the closing `]` included.
fn parse_set(chars: &[char]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = matches!(chars.first(), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && !first {
            return Some((Token::Set { negated, ranges }, i + 1));
        }
        first = false;
        let (lo, mut next) = if c == '\\' && i + 1 < chars.len() {
            (chars[i + 1], i + 2)
        } else {
            (c, i + 1)
        };
        let mut hi = lo;
        if next + 1 < chars.len() && chars[next] == '-' && chars[next + 1] != ']' {
            hi = chars[next + 1];
            next += 2;
        }
        ranges.push((lo, hi));
        i = next;
    }
    None
}

/// Shell matching of one name against one component's tokens (iterative,
/// backtracking only to the last `*`: linear in practice, never exponential).
fn matches(tokens: &[Token], name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let (mut t, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match tokens.get(t) {
            Some(Token::AnyRun) => {
                star = Some((t, n));
                t += 1;
                continue;
            }
            Some(Token::AnyChar) => true,
            Some(Token::Char(c)) => *c == name[n],
            Some(Token::Set { negated, ranges }) => {
                ranges
                    .iter()
                    .any(|&(lo, hi)| lo <= name[n] && name[n] <= hi)
                    != *negated
            }
            None => false,
        };
        if step {
            t += 1;
            n += 1;
        } else if let Some((star_t, star_n)) = star {
            t = star_t + 1;
            n = star_n + 1;
            star = Some((star_t, star_n + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|token| *token == Token::AnyRun)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

type Emit<'a> = dyn FnMut(&str, &DirEntry) -> Result<ControlFlow<()>> + 'a;

/// A walk over one snapshot.
struct Walker<'a> {
    fs: &'a Fs,
    snap: &'a Snapshot,
    emit: &'a mut Emit<'a>,
    /// (directory, segments left) already walked. In a sound tree walking
    /// one twice would only repeat its matches (`**/x/**` reaches `x/x`
    /// twice); in a damaged one with cycles it would never end.
    walked: HashSet<(u64, usize)>,
}

impl Walker<'_> {
    fn view(&self) -> SnapView<'_> {
        SnapView {
            engine: self.fs.engine(),
            snap: self.snap,
        }
    }

    /// The entries of directory `dir`, in name order.
    fn list(&self, dir: u64) -> Result<Vec<DirEntry>> {
        let view = self.view();
        let mut raw = Vec::new();
        crate::engine::tree::visit(
            self.fs.engine(),
            &self.snap.root(),
            &records::kind_start(dir, Kind::Dirent),
            Some(&records::kind_end(dir, Kind::Dirent)),
            false,
            &mut |k, v| {
                raw.push((k.to_vec(), DirentRecord::decode(v)?));
                Ok(true)
            },
        )?;
        raw.into_iter()
            .map(|(k, d)| dir::entry_of(&view, &k, d))
            .collect()
    }

    /// `entry` at `path` matched a segment: report it if that was the last
    /// one, else go on inside it if it is a directory.
    fn step(&mut self, path: &str, entry: &DirEntry, rest: &[Segment]) -> Result<ControlFlow<()>> {
        if rest.is_empty() {
            (self.emit)(path, entry)
        } else if entry.kind == FileType::Dir {
            self.walk(entry.ino, path, rest)
        } else {
            Ok(ControlFlow::Continue(()))
        }
    }

    /// Reports every path under directory `dir` (at `path`) that matches `segments`.
    fn walk(&mut self, dir: u64, path: &str, segments: &[Segment]) -> Result<ControlFlow<()>> {
        let Some((segment, rest)) = segments.split_first() else {
            return Ok(ControlFlow::Continue(()));
        };
        if !self.walked.insert((dir, segments.len())) {
            return Ok(ControlFlow::Continue(()));
        }
        match segment {
            Segment::Literal(name) => {
                let view = self.view();
                let Some(d) = fs::lookup(&view, dir, name)? else {
                    return Ok(ControlFlow::Continue(()));
                };
                let key = records::dirent_key(dir, name.as_bytes());
                let entry = dir::entry_of(&view, &key, d)?;
                self.step(&join(path, name), &entry, rest)
            }
            Segment::Glob(tokens) => {
                for entry in self.list(dir)? {
                    if matches(tokens, &entry.name)
                        && self
                            .step(&join(path, &entry.name), &entry, rest)?
                            .is_break()
                    {
                        return Ok(ControlFlow::Break(()));
                    }
                }
                Ok(ControlFlow::Continue(()))
            }
            Segment::AnyDepth => {
                // `**` at the end matches everything below; elsewhere, first
                // zero directories, then one more level at a time.
                let entries = self.list(dir)?;
                if !rest.is_empty() && self.walk(dir, path, rest)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
                for entry in entries {
                    let child = join(path, &entry.name);
                    if rest.is_empty() && (self.emit)(&child, &entry)?.is_break() {
                        return Ok(ControlFlow::Break(()));
                    }
                    if entry.kind == FileType::Dir
                        && self.walk(entry.ino, &child, segments)?.is_break()
                    {
                        return Ok(ControlFlow::Break(()));
                    }
                }
                Ok(ControlFlow::Continue(()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str, name: &str) -> bool {
        matches(&parse_component(pattern), name)
    }

    #[test]
    fn components_match_with_shell_rules() {
        assert!(glob("*.txt", "a.txt"));
        assert!(glob("*.txt", ".txt"));
        assert!(!glob("*.txt", "a.txt.bak"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("[ab]*", "beta"));
        assert!(!glob("[!ab]*", "beta"));
        assert!(glob("[^ab]*", "gamma"));
        assert!(glob("file[0-9][0-9]", "file42"));
        assert!(!glob("file[0-9]", "filex"));
        assert!(glob("[]x]", "]"));
        assert!(glob("\\*", "*"));
        assert!(!glob("\\*", "a"));
        assert!(glob("[unclosed", "[unclosed"));
        assert!(glob("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!glob("*a*b*c*", "xxaxxcxxbxx"));
        assert!(glob("é*", "élan"));
        assert!(glob("*", ""));
    }

    #[test]
    fn patterns_split_into_literal_and_wildcard_segments() {
        let segments = parse_pattern("/docs//**/**/*.md").unwrap();
        assert_eq!(segments.len(), 3);
        assert_eq!(segments[0], Segment::Literal("docs".into()));
        assert_eq!(segments[1], Segment::AnyDepth);
        assert!(matches!(segments[2], Segment::Glob(_)));
        assert_eq!(
            parse_pattern("a\\*b").unwrap(),
            vec![Segment::Literal("a*b".into())]
        );
        assert!(matches!(parse_pattern("/"), Err(Error::Arg(_))));
        assert!(matches!(parse_pattern(""), Err(Error::Arg(_))));
    }
}
