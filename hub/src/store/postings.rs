//! Posting lists: for each index key, the sequence numbers of the items that carry it.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

/// Bytes one posting entry costs, roughly (a `u64` in a B-tree node plus its share of the
/// node), for memory accounting.
pub(crate) const ENTRY_BYTES: usize = 24;

/// foldhash instead of SipHash: index keys are hashed on every insert and eviction, and
/// the hub's keys come from telemetry, not from an adversary choosing collisions per process
/// (the seed is still random per map).
type Map<K> = HashMap<K, BTreeSet<u64>, foldhash::fast::RandomState>;

#[derive(Debug)]
pub(crate) struct Postings<K> {
    map: Map<K>,
}

impl<K> Default for Postings<K> {
    fn default() -> Self {
        Self {
            map: Map::default(),
        }
    }
}

impl<K: Hash + Eq> Postings<K> {
    /// Adds `seq` under `key`; true when it was not there yet.
    pub(crate) fn insert(&mut self, key: K, seq: u64) -> bool {
        self.map.entry(key).or_default().insert(seq)
    }

    pub(crate) fn remove(&mut self, key: &K, seq: u64) {
        if let Some(set) = self.map.get_mut(key) {
            set.remove(&seq);
            if set.is_empty() {
                self.map.remove(key);
            }
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&BTreeSet<u64>> {
        self.map.get(key)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }
}

/// Where a query's candidates come from: the smallest matching posting list(s), or all items.
pub(crate) enum Candidates<'a> {
    /// Every item, newest first.
    All,
    /// The union of these lists (empty: nothing can match).
    Lists(Vec<&'a BTreeSet<u64>>),
    /// Exactly these sequence numbers.
    Seqs(Vec<u64>),
}

impl<'a> Candidates<'a> {
    fn len(&self) -> usize {
        match self {
            Candidates::All => usize::MAX,
            Candidates::Lists(lists) => lists.iter().map(|l| l.len()).sum(),
            Candidates::Seqs(seqs) => seqs.len(),
        }
    }

    /// The smaller of the two candidate sets.
    pub(crate) fn narrower(self, other: Candidates<'a>) -> Candidates<'a> {
        if other.len() < self.len() {
            other
        } else {
            self
        }
    }

    /// Sequence numbers newest (largest) first, or `None` for [`Candidates::All`].
    pub(crate) fn newest_first(self) -> Option<Box<dyn Iterator<Item = u64> + 'a>> {
        match self {
            Candidates::All => None,
            Candidates::Lists(lists) if lists.len() == 1 => {
                Some(Box::new(lists[0].iter().rev().copied()))
            }
            Candidates::Lists(lists) => {
                let mut all: Vec<u64> = lists.into_iter().flatten().copied().collect();
                all.sort_unstable_by(|a, b| b.cmp(a));
                all.dedup();
                Some(Box::new(all.into_iter()))
            }
            Candidates::Seqs(mut seqs) => {
                seqs.sort_unstable_by(|a, b| b.cmp(a));
                seqs.dedup();
                Some(Box::new(seqs.into_iter()))
            }
        }
    }
}
