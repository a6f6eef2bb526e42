//! Alert folding: the first alert of an (analytic rule, host, peer) goes out at once;
//! repeats within the window are counted, and when the window closes one more alert
//! carries the count, the time span and the flows. A SOC sees two events, not two hundred.

use super::alert::{Aggregation, Alert};
use std::collections::HashMap;
use std::net::IpAddr;

/// Folded flow ids listed per aggregated alert.
const MAX_FLOW_IDS: usize = 32;

type Key = (u32, IpAddr, IpAddr);

struct Slot {
    until_us: u64,
    repeats: u64,
    first_us: u64,
    latest: Option<Alert>,
    flow_ids: Vec<u64>,
}

pub struct Aggregator {
    window_us: u64,
    slots: HashMap<Key, Slot>,
    pending: Vec<Alert>,
    pub folded: u64,
}

impl Aggregator {
    pub fn new(window_secs: u64) -> Aggregator {
        Aggregator {
            window_us: window_secs.saturating_mul(1_000_000),
            slots: HashMap::new(),
            pending: Vec::new(),
            folded: 0,
        }
    }

    /// The alert to emit now, if any.
    pub fn offer(&mut self, a: Alert, host: IpAddr, peer: IpAddr) -> Option<Alert> {
        let key = (a.rule.sid, host, peer);
        match self.slots.get_mut(&key) {
            Some(s) if a.ts_us < s.until_us => {
                self.folded += 1;
                s.repeats += 1;
                if s.flow_ids.len() < MAX_FLOW_IDS && !s.flow_ids.contains(&a.flow.flow_id) {
                    s.flow_ids.push(a.flow.flow_id);
                }
                if s.repeats == 1 {
                    s.first_us = a.ts_us;
                }
                s.latest = Some(a);
                None
            }
            _ => {
                let fresh = Slot {
                    until_us: a.ts_us.saturating_add(self.window_us),
                    repeats: 0,
                    first_us: a.ts_us,
                    latest: None,
                    flow_ids: Vec::new(),
                };
                // A closed window still owes its summary: keep it for `due`.
                if let Some(closed) = self.slots.insert(key, fresh) {
                    self.pending.extend(summary(closed));
                }
                Some(a)
            }
        }
    }

    /// Summaries of windows closed by `now_us` (all of them when `now_us` is None).
    pub fn due(&mut self, now_us: Option<u64>) -> Vec<Alert> {
        let mut out = std::mem::take(&mut self.pending);
        let closed: Vec<Key> = self
            .slots
            .iter()
            .filter(|(_, s)| now_us.is_none_or(|now| now >= s.until_us))
            .map(|(k, _)| *k)
            .collect();
        for k in closed {
            out.extend(self.slots.remove(&k).and_then(summary));
        }
        out.sort_by_key(|a| a.ts_us);
        out
    }
}

/// The alert standing for a closed window's repeats, if it had any.
fn summary(s: Slot) -> Option<Alert> {
    let mut a = s.latest?;
    a.aggregation = Some(Aggregation {
        count: s.repeats,
        first_us: s.first_us,
        last_us: a.ts_us,
        flow_ids: s.flow_ids,
    });
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::super::alert::AN0030_RATIO;
    use super::super::record::FlowRecord;
    use super::*;

    fn alert(ts_s: u64, flow_id: u64) -> Alert {
        let rec = FlowRecord::bare(flow_id, ts_s * 1_000_000);
        Alert::new(&AN0030_RATIO, &rec, String::new())
    }

    #[test]
    fn repeats_fold_into_one_summary_per_window() {
        let (h, p) = ("10.0.0.1".parse().unwrap(), "8.8.8.8".parse().unwrap());
        let mut g = Aggregator::new(60);
        assert!(g.offer(alert(0, 1), h, p).is_some());
        for i in 1..=5 {
            assert!(g.offer(alert(i, 1 + i), h, p).is_none());
        }
        assert!(g.due(Some(59_000_000)).is_empty());
        let sum = g.due(Some(60_000_000));
        assert_eq!(sum.len(), 1);
        let agg = sum[0].aggregation.as_ref().unwrap();
        assert_eq!((agg.count, agg.flow_ids.len()), (5, 5));
        assert_eq!((agg.first_us, agg.last_us), (1_000_000, 5_000_000));
        // The next window starts afresh with an immediate alert.
        assert!(g.offer(alert(61, 9), h, p).is_some());
        assert!(g.due(None).is_empty());
        assert_eq!(g.folded, 5);
    }
}
