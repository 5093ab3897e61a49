//! `whefs_ls`: glob listing. The Rust API lists one directory at a time;
//! this walks the directories a pattern names and matches each component
//! with shell rules (the pattern language is documented on [`whefs_ls`]).
//!
//! Invariant: only directories the pattern can still match are read, each
//! as one snapshot (its listing is collected before descending); each
//! matching path is reported once, in name order, depth first.

use std::ffi::{c_char, c_int, c_void};

use super::boundary::{self, handle, str_arg};
use super::dir::{c_name, whefs_dirent};
use super::fs::{kind_code, whefs_fs};
use crate::dir::DirEntry;
use crate::error::{Error, Result};
use crate::fs::{FileType, Fs};

/// Called by `whefs_ls()` once per match with its path from the root
/// (no leading `/`), its entry (`entry->name` is the path's last
/// component) and the caller's `userdata`. Both pointers are valid only
/// during the call. Return 0 to go on, anything else to stop the listing.
/// The callback may call whefs functions (but must not close the
/// `whefs_fs` being listed) and must not `longjmp` out.
pub type whefs_ls_callback = Option<
    unsafe extern "C" fn(
        path: *const c_char,
        entry: *const whefs_dirent,
        userdata: *mut c_void,
    ) -> c_int,
>;

/// Calls `callback` for every file and directory matching the glob
/// `pattern`, in name order, depth first: "*.txt", "logs/2024-0?/*.log",
/// "src/**/*.c".
///
/// Per `/`-separated component: `*` matches any run of characters, `?` one
/// character, `[abc]`, `[a-z]`, `[!a-z]` or `[^a-z]` one character of (or
/// not of) a set, `\x` a literal `x`; a component that is exactly `**`
/// matches zero or more directories. Wildcards never match `/`; names
/// starting with `.` are not special. Directories that the pattern names
/// but that do not exist simply match nothing.
///
/// Stopping early (a nonzero callback result) still returns `WHEFS_OK`.
/// An empty pattern is `WHEFS_ERR_ARG`. Errors met while walking (such as
/// `WHEFS_ERR_CORRUPT`) end the walk and are returned.
///
/// # Safety
/// `fs` is NULL or a live handle; `pattern` a NUL-terminated string;
/// `callback` a valid function, given `userdata` as is.
#[no_mangle]
pub unsafe extern "C" fn whefs_ls(
    fs: *mut whefs_fs,
    pattern: *const c_char,
    callback: whefs_ls_callback,
    userdata: *mut c_void,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let pattern = unsafe { str_arg(pattern, "pattern") }?;
        let callback = callback.ok_or_else(|| Error::Arg("callback is NULL".into()))?;
        let segments = parse_pattern(pattern)?;
        let mut emit = |path: &str, entry: &DirEntry| -> Result<Walk> {
            let c_path = c_name(path)?;
            let name_at = path.len() - entry.name.len();
            let value = whefs_dirent {
                // SAFETY: `name_at` is within `c_path`, whose last component is the name.
                name: unsafe { c_path.as_ptr().add(name_at) },
                kind: kind_code(entry.kind),
                ino: entry.ino,
                size: entry.size,
            };
            // SAFETY: a C function pointer given by the caller, called with
            // pointers valid for the call.
            let rc = unsafe { callback(c_path.as_ptr(), &value, userdata) };
            Ok(if rc == 0 { Walk::Continue } else { Walk::Stop })
        };
        walk(&fs.fs, "", &segments, &mut emit).map(drop)
    })
}

/// Whether the walk goes on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Walk {
    Continue,
    Stop,
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
            Some(name) => Segment::Literal(name),
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

/// A missing or non-directory path matches nothing; other errors count.
fn absent(err: &Error) -> bool {
    matches!(err, Error::NotFound(_) | Error::NotDir(_))
}

/// The listing of `dir`, or none if it is not a directory.
fn list(fs: &Fs, dir: &str) -> Result<Vec<DirEntry>> {
    let dir = if dir.is_empty() { "/" } else { dir };
    match fs.read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e) if absent(&e) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

type Emit<'a> = dyn FnMut(&str, &DirEntry) -> Result<Walk> + 'a;

/// Reports every path under `dir` that matches `segments`.
fn walk(fs: &Fs, dir: &str, segments: &[Segment], emit: &mut Emit<'_>) -> Result<Walk> {
    let Some((segment, rest)) = segments.split_first() else {
        return Ok(Walk::Continue);
    };
    match segment {
        Segment::Literal(name) => {
            let path = join(dir, name);
            let meta = match fs.metadata(&path) {
                Ok(meta) => meta,
                Err(e) if absent(&e) => return Ok(Walk::Continue),
                Err(e) => return Err(e),
            };
            if rest.is_empty() {
                let entry = DirEntry {
                    name: name.clone(),
                    kind: meta.kind,
                    ino: meta.ino,
                    size: meta.size,
                };
                emit(&path, &entry)
            } else if meta.kind == FileType::Dir {
                walk(fs, &path, rest, emit)
            } else {
                Ok(Walk::Continue)
            }
        }
        Segment::Glob(tokens) => {
            for entry in list(fs, dir)? {
                if !matches(tokens, &entry.name) {
                    continue;
                }
                let path = join(dir, &entry.name);
                let step = if rest.is_empty() {
                    emit(&path, &entry)?
                } else if entry.kind == FileType::Dir {
                    walk(fs, &path, rest, emit)?
                } else {
                    Walk::Continue
                };
                if step == Walk::Stop {
                    return Ok(Walk::Stop);
                }
            }
            Ok(Walk::Continue)
        }
        Segment::AnyDepth => {
            // `**` at the end matches everything below; elsewhere, first
            // zero directories, then one more level at a time.
            let entries = list(fs, dir)?;
            if !rest.is_empty() && walk(fs, dir, rest, emit)? == Walk::Stop {
                return Ok(Walk::Stop);
            }
            for entry in entries {
                let path = join(dir, &entry.name);
                if rest.is_empty() && emit(&path, &entry)? == Walk::Stop {
                    return Ok(Walk::Stop);
                }
                if entry.kind == FileType::Dir && walk(fs, &path, segments, emit)? == Walk::Stop {
                    return Ok(Walk::Stop);
                }
            }
            Ok(Walk::Continue)
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
