//! A worker: owns one shard of the flow table and its defragmenter. Workers share no
//! mutable state; ended flows go to the output thread, counters to the stats hub.

use super::batch::{Batch, PacketDesc, ToWorker};
use crate::app::session::AppLayer;
use crate::decode::{decode_transport, Decoded, Defragmenter};
use crate::detect::merge::FlushGate;
use crate::detect::FlowRecord;
use crate::flow::table::FlowTable;
use crate::flow::FlowState;
use crate::output::{EndedFlow, Mark, OutEvent, OutMsg};
use crate::stats::{lock, StatsHub, WorkerCounters};
use crossbeam_channel::{Receiver, Sender};
use std::sync::Arc;

pub struct Worker {
    pub id: usize,
    pub table: FlowTable,
    pub defrag: Defragmenter,
    /// None when the application layer is switched off.
    pub app: Option<AppLayer>,
    pub stats: Arc<StatsHub>,
    pub out: Sender<OutMsg>,
    pub recycle: Sender<Batch>,
    counters: WorkerCounters,
    interim: Option<Interim>,
    /// Ended flows and app events not sent yet, and the bytes of their lines.
    pending: Vec<OutEvent>,
    pending_bytes: usize,
    flush_gate: Option<Arc<FlushGate>>,
}

/// Events gathered before a message goes to the output (also sent at every tick).
const SEND_EVENTS: usize = 256;
/// Bytes of app-event lines gathered before a message goes to the output.
const SEND_BYTES: usize = 128 * 1024;

/// Interim reports: running flows that moved at least `min_bytes` are handed to the
/// detectors every `every_us` of packet time, so a long transfer is judged while it runs.
#[derive(Clone, Copy, Debug)]
pub struct Interim {
    pub every_us: u64,
    pub min_bytes: u64,
    /// Flows active since this time are reported at the next report time.
    since_us: u64,
    next_us: u64,
}

impl Interim {
    pub fn new(every_us: u64, min_bytes: u64) -> Interim {
        Interim {
            every_us,
            min_bytes,
            since_us: 0,
            next_us: 0,
        }
    }
}

impl Worker {
    pub fn new(
        id: usize,
        table: FlowTable,
        defrag: Defragmenter,
        app: Option<AppLayer>,
        stats: Arc<StatsHub>,
        out: Sender<OutMsg>,
        recycle: Sender<Batch>,
    ) -> Worker {
        Worker {
            id,
            table,
            defrag,
            app,
            stats,
            out,
            recycle,
            counters: WorkerCounters::default(),
            interim: None,
            pending: Vec::new(),
            pending_bytes: 0,
            flush_gate: None,
        }
    }

    /// Pace the end-of-input flush to the detection stage's merge (see [`FlushGate`]).
    pub fn with_flush_gate(mut self, gate: Arc<FlushGate>) -> Worker {
        self.flush_gate = Some(gate);
        self
    }

    /// Report running flows to the detectors (see [`Interim`]).
    pub fn with_interim(mut self, interim: Option<Interim>) -> Worker {
        self.interim = interim;
        self
    }

    pub fn run(mut self, rx: Receiver<ToWorker>) {
        for msg in rx.iter() {
            match msg {
                ToWorker::Batch(b) => {
                    for p in &b.pkts {
                        self.packet(b.frame(p), p);
                    }
                    self.emit_ended();
                    // The capture thread may already be gone at shutdown; the batch is then just freed.
                    let _ = self.recycle.send(b);
                }
                ToWorker::Tick(now) => {
                    self.table.expire(now);
                    self.defrag.expire(now);
                    if let Some(app) = self.app.as_mut() {
                        app.expire(now);
                    }
                    self.emit_ended();
                    self.emit_interim(now);
                    self.send(true);
                }
                ToWorker::Finish(reason) => {
                    self.emit_ended();
                    self.send(true);
                    while self.table.flush(reason, 64) {
                        self.emit_ended();
                        if let Some(g) = &self.flush_gate {
                            g.wait_turn(self.id);
                        }
                    }
                    self.emit_ended();
                    self.send(true);
                    break;
                }
            }
            self.publish();
        }
        self.publish();
    }

    #[inline]
    fn packet(&mut self, frame: &[u8], p: &PacketDesc) {
        let c = &mut self.counters;
        c.packets += 1;
        c.bytes += u64::from(p.wire_len);
        c.count_layers(p.decoded.layers);
        if p.decoded.fragment.is_none() {
            self.track(&p.decoded, frame, 1, u64::from(p.wire_len), p.ts_us);
            return;
        }
        let Some(done) = self.defrag.insert(frame, &p.decoded, p.wire_len, p.ts_us) else {
            return;
        };
        let mut d = p.decoded;
        d.fragment = None;
        if decode_transport(d.proto, &done.payload, &mut d).is_ok() {
            self.track(&d, &done.payload, done.frames, done.wire_bytes, p.ts_us);
        } else {
            self.counters.reassembled_invalid += 1;
        }
    }

    /// Flow accounting, then the application layer. `buf` is what `d`'s offsets index.
    #[inline]
    fn track(&mut self, d: &Decoded, buf: &[u8], pkts: u64, wire_bytes: u64, ts_us: u64) {
        let (slot, dir, created) = self.table.packet(d, pkts, wire_bytes, ts_us);
        let Some(app) = self.app.as_mut() else {
            return;
        };
        let flow = self.table.get_mut(slot);
        if created {
            app.new_flow(flow, ts_us);
        }
        let start = d.payload_offset as usize;
        let payload = buf
            .get(start..start.saturating_add(d.payload_len as usize))
            .unwrap_or_default();
        app.packet(flow, dir, d, payload, ts_us);
        if flow.state == FlowState::Closed && flow.app.is_some() {
            app.conclude(flow);
        }
    }

    /// Gather ended flows (after their app layer finished) and app events for the output:
    /// a batch's app events go first, as one run of lines, so each flow's events still
    /// precede its flow record. They are sent once enough have gathered (or at a tick or
    /// the end, see [`Worker::send`]): one channel operation and wake-up downstream per
    /// message instead of per batch.
    fn emit_ended(&mut self) {
        let ended = self.table.drain_ended();
        let at = self.pending.len();
        for (mut flow, reason, ended_at_us) in ended {
            let summary = self.app.as_mut().and_then(|app| app.finish(&mut flow));
            self.pending.push(OutEvent::FlowEnd(EndedFlow {
                flow,
                reason,
                app: summary,
                process: None,
                alerted: false,
                ended_at_us,
            }));
        }
        if let Some(lines) = self.app.as_mut().and_then(AppLayer::take_lines) {
            self.pending_bytes += lines.text.len();
            self.pending.insert(at, OutEvent::Lines(lines));
        }
        if self.pending.len() >= SEND_EVENTS || self.pending_bytes >= SEND_BYTES {
            self.send(false);
        }
    }

    /// Send what [`Worker::emit_ended`] gathered, with a [`Mark`] of how far this worker
    /// has got; `always` at ticks and the end, so that the mark moves on even when nothing
    /// ended. The output thread outlives the workers; a send error means it failed, and the
    /// final stats report the events it wrote.
    fn send(&mut self, always: bool) {
        if self.pending.is_empty() && !always {
            return;
        }
        self.pending.push(OutEvent::Mark(Mark {
            worker: self.id,
            until: self.table.watermark(),
        }));
        let _ = self.out.send(OutMsg(std::mem::take(&mut self.pending)));
        self.pending_bytes = 0;
    }

    fn emit_interim(&mut self, now: u64) {
        let Some(it) = self.interim.as_mut() else {
            return;
        };
        if it.next_us == 0 {
            (it.since_us, it.next_us) = (now, now + it.every_us);
        }
        if now < it.next_us {
            return;
        }
        let (since, min) = (it.since_us, it.min_bytes);
        (it.since_us, it.next_us) = (now, now + it.every_us);
        let app = self.app.as_ref();
        let running = self
            .table
            .live()
            .filter(|f| f.last_us >= since && f.counters[0].bytes + f.counters[1].bytes >= min)
            .map(|f| {
                let summary = app.and_then(|a| a.peek(f));
                let mut r = FlowRecord::new(f, summary.unwrap_or_default(), false);
                r.taken_at_us = now;
                OutEvent::Interim(Box::new(r))
            });
        self.pending.extend(running);
    }

    fn publish(&mut self) {
        self.counters.flow = self.table.stats();
        self.counters.defrag = self.defrag.stats();
        self.counters.defrag_memuse = self.defrag.memuse() as u64;
        if let Some(app) = &self.app {
            self.counters.app = app.counters();
        }
        *lock(&self.stats.workers[self.id]) = self.counters.clone();
    }
}
