//! A compact ordered index from keys to record handles.
//!
//! Built once per list from a sorted vector (16 bytes an entry for 8-byte keys, no per-entry
//! allocation, built by one sort), with later additions in a small ordered set beside it. An
//! entry is never updated in place: when a record's key changes, the new entry is added and
//! the old one may stay behind, so every reader checks candidates against the record itself.
//! That trade keeps a million-record index at a fraction of a hash map's memory and build
//! time.

use std::collections::BTreeSet;

use super::RecordHandle;

#[derive(Clone, Debug, Default)]
pub(crate) struct SortedIndex<K> {
    main: Vec<(K, RecordHandle)>,
    added: BTreeSet<(K, RecordHandle)>,
}

impl<K: Ord + Copy> SortedIndex<K> {
    /// Adds many entries at once (a whole list).
    pub(crate) fn extend_bulk(&mut self, mut entries: Vec<(K, RecordHandle)>) {
        if self.main.is_empty() {
            entries.sort_unstable();
            self.main = entries;
        } else {
            self.main.append(&mut entries);
            self.main.sort_unstable();
        }
    }

    /// Adds one entry.
    pub(crate) fn insert(&mut self, key: K, h: RecordHandle) {
        self.added.insert((key, h));
    }

    /// Forgets an entry if it was added one at a time; bulk entries stay (and are filtered
    /// out by readers, who check the record).
    pub(crate) fn remove(&mut self, key: K, h: RecordHandle) {
        self.added.remove(&(key, h));
    }

    /// Entries with `lo <= key <= hi`, possibly stale or repeated, in no particular order.
    pub(crate) fn candidates(&self, lo: K, hi: K) -> impl Iterator<Item = (K, RecordHandle)> + '_ {
        let start = self.main.partition_point(|e| e.0 < lo);
        let end = self.main.partition_point(|e| e.0 <= hi).max(start);
        let added = self.added.range((lo, RecordHandle(i64::MIN))..=(hi, RecordHandle(i64::MAX)));
        self.main[start..end].iter().copied().chain(added.copied())
    }

    /// The largest key, possibly stale.
    pub(crate) fn max_key(&self) -> Option<K> {
        let a = self.main.last().map(|e| e.0);
        let b = self.added.last().map(|e| e.0);
        a.max(b)
    }
}

/// FNV-1a, 64-bit (Fowler, Noll, Vo; the parameters of the IETF draft
/// draft-eastlake-fnv): a fixed, seedless hash, so indexes are the same on every run. A
/// collision only costs an extra comparison, since readers check the record.
pub(crate) fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_come_from_both_parts_and_ranges_are_inclusive() {
        let h = RecordHandle;
        let mut index = SortedIndex::default();
        index.extend_bulk(vec![(5, h(1)), (3, h(2)), (5, h(3)), (9, h(4))]);
        index.insert(5, h(7));
        index.insert(4, h(8));
        let mut got: Vec<_> = index.candidates(4, 5).collect();
        got.sort();
        assert_eq!(got, vec![(4, h(8)), (5, h(1)), (5, h(3)), (5, h(7))]);
        assert_eq!(index.candidates(6, 8).count(), 0);
        assert_eq!(index.candidates(10, 10).count(), 0);
        assert_eq!(index.max_key(), Some(9));
        index.remove(4, h(8));
        index.remove(3, h(2)); // a bulk entry stays
        assert_eq!(index.candidates(3, 4).collect::<Vec<_>>(), vec![(3, h(2))]);
        index.extend_bulk(vec![(1, h(9))]);
        assert_eq!(index.candidates(0, 3).collect::<Vec<_>>(), vec![(1, h(9)), (3, h(2))]);
        index.insert(12, h(10));
        assert_eq!(index.max_key(), Some(12));
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // Test vectors from the FNV reference code (fnv-5.0.3 test_fnv.c).
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a("foobar"), 0x8594_4171_f739_67e8);
    }
}
