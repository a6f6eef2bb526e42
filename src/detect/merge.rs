//! Puts the workers' flow records into one order that does not depend on thread timing.
//!
//! Flows end on several workers at once, and which worker's records reach the detectors
//! first is a matter of scheduling; yet what the analytics conclude (baselines, rarity,
//! staged uploads, which alert of a series comes first) depends on the order they see
//! records in. Each record carries an [`order_key`] (packet time when it ended, then flow
//! id), each worker's message ends with a [`Mark`] promising that its later records come
//! no earlier, and a record is released once every worker's mark has passed it. Workers
//! run through the same packet time in step (ticks reach all of them), so only their
//! skew is held here. App-event lines and alerts pass at once (nothing judges them), and
//! so do records whose message carries no mark (flows the endpoint stage held back in
//! live capture for late process records).

use crate::output::{order_key, OutEvent};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records the merge may hold before a worker that is ahead pauses its end-of-input flush.
const MAX_HELD: usize = 4096;

/// Shared with the workers: at the end of input nothing upstream paces them, and a
/// worker flushing faster than another would pile its flows up in the merge (all of
/// them, for a table of a million flows). The one the merge waits for never pauses.
#[derive(Debug, Default)]
pub struct FlushGate {
    held: AtomicUsize,
    lagging: AtomicUsize,
}

impl FlushGate {
    fn update(&self, held: usize, lagging: usize) {
        self.held.store(held, Ordering::Relaxed);
        self.lagging.store(lagging, Ordering::Relaxed);
    }

    /// Wait while the merge holds many records and waits for another worker; at most a
    /// second, so a detection stage that stopped cannot hold the shutdown up.
    pub fn wait_turn(&self, worker: usize) {
        let give_up = Instant::now() + Duration::from_secs(1);
        while self.held.load(Ordering::Relaxed) > MAX_HELD
            && self.lagging.load(Ordering::Relaxed) != worker
            && Instant::now() < give_up
        {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

pub struct Merge {
    /// Per worker: the mark it last sent.
    marks: Vec<(u64, u64)>,
    /// Records waiting, by order key (and arrival, for equal keys).
    held: BTreeMap<((u64, u64), u64), OutEvent>,
    arrivals: u64,
    gate: Arc<FlushGate>,
}

impl Merge {
    pub fn new(workers: usize, gate: Arc<FlushGate>) -> Merge {
        Merge {
            marks: vec![(0, 0); workers.max(1)],
            held: BTreeMap::new(),
            arrivals: 0,
            gate,
        }
    }

    /// Take one message: returns what can go on now, in order.
    pub fn add(&mut self, mut events: Vec<OutEvent>) -> Vec<OutEvent> {
        let Some(&OutEvent::Mark(mark)) = events.last() else {
            return events;
        };
        events.pop();
        let mut out = Vec::new();
        for e in events {
            match order_key(&e) {
                Some(k) => {
                    self.held.insert((k, self.arrivals), e);
                    self.arrivals += 1;
                }
                None => out.push(e),
            }
        }
        if let Some(m) = self.marks.get_mut(mark.worker) {
            *m = (*m).max(mark.until);
        }
        let passed = self.marks.iter().copied().min().unwrap_or_default();
        while let Some(entry) = self.held.first_entry().filter(|e| e.key().0 < passed) {
            out.push(entry.remove());
        }
        let lagging = (0..self.marks.len()).min_by_key(|&w| self.marks[w]);
        self.gate.update(self.held.len(), lagging.unwrap_or(0));
        out
    }

    /// Everything still held, in order (the workers are gone).
    pub fn drain(&mut self) -> Vec<OutEvent> {
        std::mem::take(&mut self.held).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::FlowRecord;
    use crate::output::Mark;

    fn interim(at: u64, id: u64) -> OutEvent {
        let mut r = FlowRecord::bare(id, at);
        r.ended = false;
        r.taken_at_us = at;
        OutEvent::Interim(Box::new(r))
    }

    fn mark(worker: usize, until: (u64, u64)) -> OutEvent {
        OutEvent::Mark(Mark { worker, until })
    }

    fn keys(v: &[OutEvent]) -> Vec<(u64, u64)> {
        v.iter().filter_map(order_key).collect()
    }

    #[test]
    fn records_wait_for_every_worker_then_come_in_key_order() {
        let gate = Arc::new(FlushGate::default());
        let mut m = Merge::new(2, gate.clone());
        // Worker 1 is ahead: nothing passes until worker 0 has got as far.
        let out = m.add(vec![interim(20, 5), interim(10, 9), mark(1, (30, 0))]);
        assert!(keys(&out).is_empty());
        assert_eq!(gate.lagging.load(Ordering::Relaxed), 0);
        let out = m.add(vec![interim(10, 2), interim(25, 1), mark(0, (21, 0))]);
        assert_eq!(keys(&out), [(10, 2), (10, 9), (20, 5)]);
        // Records of a message without a mark go on at once.
        let out = m.add(vec![interim(1, 1)]);
        assert_eq!(keys(&out), [(1, 1)]);
        assert_eq!(keys(&m.drain()), [(25, 1)]);
    }

    #[test]
    fn the_same_records_in_any_arrival_order_come_out_the_same() {
        let msgs = |first: usize| {
            let a = vec![interim(5, 3), interim(7, 1), mark(0, (8, 0))];
            let b = vec![interim(5, 2), interim(6, 4), mark(1, (9, 0))];
            if first == 0 {
                [a, b]
            } else {
                [b, a]
            }
        };
        let run = |first| {
            let mut m = Merge::new(2, Arc::default());
            let mut out = Vec::new();
            for msg in msgs(first) {
                out.extend(keys(&m.add(msg)));
            }
            out.extend(keys(&m.drain()));
            out
        };
        assert_eq!(run(0), run(1));
        assert_eq!(run(0), [(5, 2), (5, 3), (6, 4), (7, 1)]);
    }
}
