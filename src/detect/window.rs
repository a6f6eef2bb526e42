//! Amounts per key over a sliding window of packet time, with the flows that made them:
//! staged bytes per host (AN0423), DNS-carried bytes per host and domain (AN0367),
//! dense fields per host and destination (AN0030). Bounded per key and in keys.

use hashbrown::HashMap;
use std::collections::VecDeque;
use std::hash::Hash;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub ts_us: u64,
    pub amount: u64,
    pub flow_id: u64,
    /// Non-zero: a value counted once per key within the window (a repeat is dropped).
    pub tag: u64,
}

#[derive(Debug)]
pub struct Window<K> {
    span_us: u64,
    map: HashMap<K, VecDeque<Entry>>,
    max_keys: usize,
    pub evicted: u64,
}

/// Entries kept per key; older ones are merged into the oldest kept (amounts stay exact,
/// only their flow ids and tags are forgotten).
const MAX_ENTRIES: usize = 256;

impl<K: Hash + Eq + Clone> Window<K> {
    pub fn new(span_secs: u64, max_keys: usize) -> Window<K> {
        Window {
            span_us: span_secs.saturating_mul(1_000_000),
            map: HashMap::new(),
            max_keys,
            evicted: 0,
        }
    }

    pub fn add(&mut self, key: K, e: Entry) {
        if !self.map.contains_key(&key) && self.map.len() >= self.max_keys {
            self.expire(e.ts_us);
            if self.map.len() >= self.max_keys {
                // Still full of live keys: forget the one idle longest.
                let idle = self
                    .map
                    .iter()
                    .min_by_key(|(_, q)| q.back().map_or(0, |x| x.ts_us))
                    .map(|(k, _)| k.clone());
                if let Some(k) = idle {
                    self.map.remove(&k);
                    self.evicted += 1;
                }
            }
        }
        let q = self.map.entry(key).or_default();
        if e.tag != 0 && q.iter().any(|x| x.tag == e.tag) {
            return;
        }
        q.push_back(e);
        if q.len() > MAX_ENTRIES {
            if let Some(old) = q.pop_front() {
                if let Some(next) = q.front_mut() {
                    next.amount += old.amount;
                }
            }
        }
    }

    /// Total within the window ending at `now_us`, and the flows it came from.
    pub fn sum(&self, key: &K, now_us: u64) -> (u64, Vec<u64>) {
        let Some(q) = self.map.get(key) else {
            return (0, Vec::new());
        };
        let from = now_us.saturating_sub(self.span_us);
        let live = q.iter().filter(|e| e.ts_us >= from);
        let total = live.clone().map(|e| e.amount).sum();
        let mut flows: Vec<u64> = live.map(|e| e.flow_id).collect();
        flows.dedup();
        (total, flows)
    }

    /// Drop keys with nothing left in the window.
    pub fn expire(&mut self, now_us: u64) {
        let from = now_us.saturating_sub(self.span_us);
        self.map
            .retain(|_, q| q.back().is_some_and(|e| e.ts_us >= from));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(ts_s: u64, amount: u64, flow_id: u64) -> Entry {
        Entry {
            ts_us: ts_s * 1_000_000,
            amount,
            flow_id,
            tag: 0,
        }
    }

    #[test]
    fn tagged_values_count_once() {
        let mut w = Window::new(60, 10);
        for flow in 0..5 {
            w.add(
                "h",
                Entry {
                    tag: 42,
                    ..e(flow, 1, flow)
                },
            );
        }
        w.add(
            "h",
            Entry {
                tag: 43,
                ..e(6, 1, 6)
            },
        );
        assert_eq!(w.sum(&"h", 7_000_000), (2, vec![0, 6]));
    }

    #[test]
    fn sums_slide_and_keep_their_flows() {
        let mut w = Window::new(60, 10);
        w.add("h", e(0, 10, 1));
        w.add("h", e(30, 20, 2));
        assert_eq!(w.sum(&"h", 59_000_000), (30, vec![1, 2]));
        assert_eq!(w.sum(&"h", 61_000_000), (20, vec![2]));
        w.expire(200_000_000);
        assert_eq!(w.sum(&"h", 200_000_000), (0, vec![]));
    }

    #[test]
    fn bounded_in_entries_and_keys() {
        let mut w = Window::new(3600, 2);
        for i in 0..100 {
            w.add(1, e(i, 1, i));
        }
        let (total, flows) = w.sum(&1, 100_000_000);
        assert_eq!(total, 100);
        assert_eq!(flows.len(), MAX_ENTRIES.min(100));
        w.add(2, e(100, 1, 0));
        w.add(3, e(101, 1, 0));
        assert_eq!(w.evicted, 1);
        assert_eq!(w.sum(&3, 101_000_000).0, 1);
    }
}
