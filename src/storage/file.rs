//! File storage: a real container file. (Being written.)
