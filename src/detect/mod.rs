//! Detection stage: one thread between the workers and the output. It sees every flow
//! record (ended flows, and interim records of long transfers), joins endpoint telemetry
//! to them, runs the host-level analytics, and adds alerts to the event stream.
//!
//! Host-level state (baselines, staging windows, rarity) lives here only, so workers never
//! share mutable state and the analytics see the whole network, not one shard of it.

pub mod alert;
pub mod record;

use crate::output::{OutEvent, OutMsg};
pub use alert::Alert;
use crossbeam_channel::{Receiver, Sender};
pub use record::FlowRecord;

#[derive(Default)]
pub struct DetectStage {}

impl DetectStage {
    /// Judge every batch and pass it on; the output thread outlives this one.
    pub fn run(mut self, rx: Receiver<OutMsg>, tx: Sender<OutMsg>) {
        for OutMsg(mut events) in rx.iter() {
            self.handle(&mut events);
            if !events.is_empty() {
                let _ = tx.send(OutMsg(events));
            }
        }
    }

    fn handle(&mut self, events: &mut Vec<OutEvent>) {
        for ev in events.iter_mut() {
            match ev {
                OutEvent::FlowEnd(e) => {
                    let mut rec = FlowRecord::new(&e.flow, e.app.as_ref(), true);
                    // Joined upstream by the endpoint stage (crate::endpoint) when a feed
                    // is configured; interim records arrive with theirs already set.
                    rec.process = e.process.clone();
                }
                OutEvent::Interim(_) => {}
                OutEvent::App(..) | OutEvent::Alert(_) => {}
            }
        }
        events.retain(|e| !matches!(e, OutEvent::Interim(_)));
    }
}
