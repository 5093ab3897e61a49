//! Fault-injecting storage for tests. (Being written.)
