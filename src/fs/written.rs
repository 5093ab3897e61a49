//! The file pages a writer has written to reserved container pages and not
//! committed yet: file page index → (container page, checksum).
//!
//! Kept as runs, because a writer's pages are mostly consecutive on both
//! sides (a stream's pages come from one reservation): a 512 MiB file
//! written in order is one run, one map entry and a vector of checksums,
//! instead of 131,072 map nodes looked up and inserted one by one.
//!
//! Invariant: runs do not overlap, and in a run starting at file page `f`
//! with container page `p`, file page `f + k` is container page `p + k`.

use std::collections::BTreeMap;

/// Consecutive file pages on consecutive container pages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    /// The container page of the run's first file page.
    page: u64,
    /// One checksum per file page.
    sums: Vec<u64>,
}

impl Run {
    fn end(&self, first: u64) -> u64 {
        first + self.sums.len() as u64
    }
}

/// A writer's written, uncommitted pages, by file page index.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct WrittenPages {
    /// First file page → run.
    runs: BTreeMap<u64, Run>,
}

impl WrittenPages {
    pub(crate) fn new() -> WrittenPages {
        WrittenPages::default()
    }

    /// The run holding file page `index`, as (its first file page, run).
    fn holding(&self, index: u64) -> Option<(u64, &Run)> {
        let (&first, run) = self.runs.range(..=index).next_back()?;
        (index < run.end(first)).then_some((first, run))
    }

    /// The container page and checksum of file page `index`.
    pub(crate) fn get(&self, index: u64) -> Option<(u64, u64)> {
        let (first, run) = self.holding(index)?;
        let k = index - first;
        Some((run.page + k, run.sums[k as usize]))
    }

    pub(crate) fn contains(&self, index: u64) -> bool {
        self.holding(index).is_some()
    }

    /// The lowest written file page in `lo..hi`.
    pub(crate) fn first_in(&self, lo: u64, hi: u64) -> Option<u64> {
        if lo >= hi {
            return None;
        }
        if self.contains(lo) {
            return Some(lo);
        }
        self.runs.range(lo..hi).next().map(|(&first, _)| first)
    }

    /// Records file page `index` as written to container `page`.
    pub(crate) fn insert(&mut self, index: u64, page: u64, sum: u64) {
        if let Some((first, run)) = self.holding(index) {
            let k = index - first;
            if run.page + k == page {
                let run = self.runs.get_mut(&first).expect("held above");
                run.sums[k as usize] = sum;
                return;
            }
            self.remove(index);
        }
        if let Some((&first, run)) = self.runs.range_mut(..index).next_back() {
            let len = run.sums.len() as u64;
            if first + len == index && run.page + len == page {
                run.sums.push(sum);
                return;
            }
        }
        self.runs.insert(
            index,
            Run {
                page,
                sums: vec![sum],
            },
        );
    }

    /// Forgets file page `index`; returns its container page and checksum.
    pub(crate) fn remove(&mut self, index: u64) -> Option<(u64, u64)> {
        let (first, _) = self.holding(index)?;
        let mut run = self.runs.remove(&first).expect("held above");
        let k = (index - first) as usize;
        let right = run.sums.split_off(k + 1);
        let sum = run.sums.pop().expect("the page itself");
        let page = run.page + k as u64;
        if !right.is_empty() {
            self.runs.insert(
                index + 1,
                Run {
                    page: page + 1,
                    sums: right,
                },
            );
        }
        if !run.sums.is_empty() {
            self.runs.insert(first, run);
        }
        Some((page, sum))
    }

    /// Forgets every file page from `keep` on.
    pub(crate) fn truncate(&mut self, keep: u64) {
        self.runs.split_off(&keep);
        if let Some((&first, run)) = self.runs.iter_mut().next_back() {
            if run.end(first) > keep {
                run.sums.truncate((keep - first) as usize);
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.runs.clear();
    }

    /// Every written page as (file page, container page, checksum), in file
    /// page order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.runs.iter().flat_map(|(&first, run)| {
            (first..)
                .zip(run.page..)
                .zip(&run.sums)
                .map(|((index, page), &sum)| (index, page, sum))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same operations on the runs and on a plain map must agree.
    #[test]
    fn runs_agree_with_a_map_of_pages() {
        let mut w = WrittenPages::new();
        let mut m: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        for step in 0..20_000u64 {
            let index = next(64);
            match next(10) {
                0..=5 => {
                    // Mostly the page after the index's neighbour, so runs grow.
                    let page = if next(2) == 0 {
                        1000 + index
                    } else {
                        next(4096)
                    };
                    w.insert(index, page, step);
                    m.insert(index, (page, step));
                }
                6 | 7 => assert_eq!(w.remove(index), m.remove(&index)),
                8 => {
                    let keep = next(70);
                    w.truncate(keep);
                    m.retain(|&i, _| i < keep);
                }
                _ => {
                    let hi = index + next(8);
                    assert_eq!(
                        w.first_in(index, hi),
                        m.range(index..hi).next().map(|(&i, _)| i)
                    );
                }
            }
            assert_eq!(w.get(index), m.get(&index).copied());
            assert_eq!(w.contains(index), m.contains_key(&index));
            if step % 97 == 0 {
                let all: Vec<_> = m.iter().map(|(&i, &(p, s))| (i, p, s)).collect();
                assert_eq!(w.iter().collect::<Vec<_>>(), all);
            }
        }
    }

    #[test]
    fn pages_written_in_order_are_one_run() {
        let mut w = WrittenPages::new();
        for i in 0..1000 {
            w.insert(i, 50 + i, i * 3);
        }
        assert_eq!(w.runs.len(), 1);
        assert_eq!(w.get(999), Some((1049, 2997)));
        // Rewriting a page in place keeps the run; elsewhere splits it.
        w.insert(500, 550, 7);
        assert_eq!(w.runs.len(), 1);
        w.insert(500, 9, 8);
        assert_eq!(w.runs.len(), 3);
        assert_eq!(w.get(499), Some((549, 1497)));
        assert_eq!(w.get(500), Some((9, 8)));
        assert_eq!(w.get(501), Some((551, 1503)));
    }
}
