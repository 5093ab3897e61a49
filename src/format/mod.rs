//! On-disk format, version 1. (Being written.)
pub const DEFAULT_PAGE_SIZE: u32 = 4096;
