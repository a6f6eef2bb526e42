//! Detection stage: one thread between the workers and the output. It sees every flow
//! record (ended flows, and interim records of long transfers), with the process the
//! endpoint stage joined to it, runs the host-level analytics, and adds alerts to the
//! event stream.
//!
//! Host-level state (baselines, staging windows, rarity) lives here only, so workers never
//! share mutable state and the analytics see the whole network, not one shard of it.

pub mod aggregate;
pub mod alert;
mod an0030;
mod an0367;
mod an0423;
mod an1169;
mod an1173;
pub mod baseline;
pub mod config;
pub mod engine;
pub mod merge;
pub mod policy;
pub mod record;
pub mod view;
pub mod window;

use crate::output::{OutEvent, OutMsg};
use crate::stats::{lock, StatsHub};
pub use alert::Alert;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use engine::Engine;
pub use record::FlowRecord;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct DetectStage {
    /// None when detection is switched off: records pass through unjudged.
    engine: Option<Engine>,
    stats: Arc<StatsHub>,
    save_every: Duration,
    merge: merge::Merge,
}

impl DetectStage {
    /// `workers`: how many workers feed it (their streams are merged, see [`merge`]),
    /// pacing their end-of-input flush through `gate`.
    pub fn new(
        engine: Option<Engine>,
        stats: Arc<StatsHub>,
        save_every: Duration,
        workers: usize,
        gate: Arc<merge::FlushGate>,
    ) -> DetectStage {
        DetectStage {
            engine,
            stats,
            save_every,
            merge: merge::Merge::new(workers, gate),
        }
    }

    /// Judge every batch and pass it on; the output thread outlives this one. The
    /// baseline is saved every `save_every` (wall time) and when input ends.
    pub fn run(mut self, rx: Receiver<OutMsg>, tx: Sender<OutMsg>) {
        let mut next_save = Instant::now() + self.save_every;
        loop {
            match rx.recv_timeout(next_save.saturating_duration_since(Instant::now())) {
                Ok(OutMsg(events)) => {
                    let events = self.merge.add(events);
                    self.pass(events, &tx);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let events = self.merge.drain();
                    self.pass(events, &tx);
                    break;
                }
            }
            if Instant::now() >= next_save {
                next_save = Instant::now() + self.save_every;
                if let Some(e) = self.engine.as_mut() {
                    e.save();
                }
            }
            self.publish();
        }
        if let Some(e) = self.engine.as_mut() {
            let mut alerts = Vec::new();
            e.flush(&mut alerts);
            e.save();
            if !alerts.is_empty() {
                let _ = tx.send(OutMsg(
                    alerts
                        .into_iter()
                        .map(|a| OutEvent::Alert(Box::new(a)))
                        .collect(),
                ));
            }
        }
        self.publish();
    }

    /// Judge events in the order given and send them on with their alerts.
    fn pass(&mut self, mut events: Vec<OutEvent>, tx: &Sender<OutMsg>) {
        self.handle(&mut events);
        if !events.is_empty() {
            let _ = tx.send(OutMsg(events));
        }
    }

    fn handle(&mut self, events: &mut Vec<OutEvent>) {
        let Some(engine) = self.engine.as_mut() else {
            events.retain(|e| !matches!(e, OutEvent::Interim(_)));
            return;
        };
        let mut alerts = Vec::new();
        for ev in events.iter_mut() {
            match ev {
                OutEvent::FlowEnd(e) => {
                    // The record borrows the summary for judging and hands it back.
                    let had_app = e.app.is_some();
                    let app = e.app.take().unwrap_or_default();
                    let mut rec = FlowRecord::new(&e.flow, app, true);
                    // Joined by the endpoint stage, when endpoint telemetry is fed in.
                    rec.process = e.process.clone();
                    let before = alerts.len();
                    engine.judge(&rec, &mut alerts);
                    e.alerted = alerts[before..]
                        .iter()
                        .any(|a| a.flow.flow_id == rec.flow_id);
                    e.app = had_app.then_some(rec.app);
                }
                OutEvent::Interim(rec) => engine.judge(rec, &mut alerts),
                OutEvent::Lines(_) | OutEvent::Alert(_) | OutEvent::Mark(_) => {}
            }
        }
        events.retain(|e| !matches!(e, OutEvent::Interim(_)));
        events.extend(alerts.into_iter().map(|a| OutEvent::Alert(Box::new(a))));
    }

    fn publish(&self) {
        if let Some(e) = &self.engine {
            *lock(&self.stats.detect) = e.counters.clone();
        }
    }
}
