//! The one path normalizer: `/`-separated UTF-8, relative to the container
//! root, a leading `/` allowed; no empty, `.` or `..` components; each
//! component at most 255 bytes.

use crate::error::{Error, Result};
use crate::format::records::check_name;

/// Splits a path into its components. The root is the empty list.
pub fn components(path: &str) -> Result<Vec<&str>> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = trimmed.split('/').collect();
    for p in &parts {
        check_name(p.as_bytes()).map_err(|e| match e {
            Error::NameTooLong(m) => Error::NameTooLong(format!("{path:?}: {m}")),
            _ => Error::Arg(format!(
                "invalid path {path:?}: components must not be empty, \".\" or \"..\""
            )),
        })?;
    }
    Ok(parts)
}

/// Splits a path into its parent's components and its last name; the root
/// has no last name and is an argument error here.
pub fn parent_and_name(path: &str) -> Result<(Vec<&str>, &str)> {
    let mut parts = components(path)?;
    let name = parts
        .pop()
        .ok_or_else(|| Error::Arg(format!("{path:?} names the root directory")))?;
    Ok((parts, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_and_reject_bad_components() {
        assert_eq!(components("/a/b/").unwrap(), vec!["a", "b"]);
        assert_eq!(components("a").unwrap(), vec!["a"]);
        assert!(components("/").unwrap().is_empty());
        assert!(matches!(components("a//b"), Err(Error::Arg(_))));
        assert!(matches!(components("a/../b"), Err(Error::Arg(_))));
        assert!(matches!(
            components(&"x".repeat(256)),
            Err(Error::NameTooLong(_))
        ));
        assert!(parent_and_name("/").is_err());
    }
}
