//! A hash map that remembers insertion order, so the bounded tables can evict their oldest
//! entry in amortised O(1) (not a scan per insert under a flood) and drain in arrival order
//! (deterministic output, whatever the hasher).

use hashbrown::HashMap;
use std::collections::VecDeque;
use std::hash::Hash;

#[derive(Debug)]
pub(super) struct Aged<K, V> {
    map: HashMap<K, (u64, V)>,
    /// (sequence, key) per insert; entries whose key was removed or re-inserted are stale
    /// and skipped, and compacted away once they outnumber the live ones.
    order: VecDeque<(u64, K)>,
    next: u64,
}

impl<K, V> Default for Aged<K, V> {
    fn default() -> Self {
        Aged {
            map: HashMap::new(),
            order: VecDeque::new(),
            next: 0,
        }
    }
}

impl<K: Copy + Eq + Hash, V> Aged<K, V> {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|(_, v)| v)
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut().map(|(_, v)| v)
    }

    /// Inserts as the newest entry; returns the value it replaced.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.next += 1;
        self.order.push_back((self.next, k));
        let old = self.map.insert(k, (self.next, v)).map(|(_, v)| v);
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(seq, k)| map.get(k).is_some_and(|(s, _)| s == seq));
        }
        old
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k).map(|(_, v)| v)
    }

    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        while let Some((seq, k)) = self.order.pop_front() {
            if self.map.get(&k).is_some_and(|(s, _)| *s == seq) {
                return self.map.remove(&k).map(|(_, v)| (k, v));
            }
        }
        None
    }

    /// Removes everything, oldest first.
    pub fn drain_in_order(&mut self) -> Vec<(K, V)> {
        let mut out = Vec::with_capacity(self.map.len());
        while let Some(e) = self.pop_oldest() {
            out.push(e);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_live_entry_and_stays_compact() {
        let mut a: Aged<u32, u32> = Aged::default();
        for i in 0..10 {
            a.insert(i, i);
        }
        a.remove(&0);
        a.insert(1, 100); // re-inserted: now newest
        assert_eq!(a.pop_oldest(), Some((2, 2)));
        for i in 0..10_000 {
            a.insert(1000 + i, i);
            a.remove(&(1000 + i));
        }
        assert!(a.order.len() <= 2 * a.len() + 65);
        let rest: Vec<u32> = a.drain_in_order().into_iter().map(|(k, _)| k).collect();
        assert_eq!(rest, vec![3, 4, 5, 6, 7, 8, 9, 1]);
        assert_eq!(a.len(), 0);
        assert!(a.get(&1).is_none() && a.get_mut(&1).is_none() && !a.contains(&1));
    }
}
