//! Paths. (Being written.)
