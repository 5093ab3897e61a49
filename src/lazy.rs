//! A value made on its second use. Several parts of an open (the lookup
//! memo's tables, the mapping of the superblock slots, the read helper
//! thread) pay off only when used again: a process that opens, reads once
//! and exits (a CGI program) would only pay for them. This is used by every
//! layer, so it belongs to none.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// `T`, made by the second [`SecondUse::get_or_make`]; the first gets `None`.
#[derive(Debug)]
pub(crate) struct SecondUse<T> {
    value: OnceLock<T>,
    asked: AtomicBool,
}

impl<T> SecondUse<T> {
    pub const fn new() -> SecondUse<T> {
        SecondUse {
            value: OnceLock::new(),
            asked: AtomicBool::new(false),
        }
    }

    /// The value if it has been made.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Takes the value out, if it was made.
    pub fn take(&mut self) -> Option<T> {
        self.value.take()
    }

    /// The value, made now if this is the second ask; `None` at the first.
    pub fn get_or_make(&self, make: impl FnOnce() -> T) -> Option<&T> {
        if let Some(v) = self.value.get() {
            return Some(v);
        }
        if !self.asked.swap(true, Ordering::Relaxed) {
            return None;
        }
        Some(self.value.get_or_init(make))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_at_the_second_ask_and_kept() {
        let made = std::cell::Cell::new(0);
        let v = SecondUse::new();
        let make = || {
            made.set(made.get() + 1);
            7
        };
        assert_eq!(v.get_or_make(make), None);
        assert_eq!(v.get(), None);
        assert_eq!(v.get_or_make(make), Some(&7));
        assert_eq!(v.get_or_make(make), Some(&7));
        assert_eq!(v.get(), Some(&7));
        assert_eq!(made.get(), 1);
    }
}
