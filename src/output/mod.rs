//! The output thread: turns ended flows and counters into EVE lines.

pub mod eve;
pub mod json;
pub mod stats_event;
pub mod timefmt;
pub mod writer;

use crate::app::session::AppSummary;
use crate::detect::{Alert, FlowRecord};
use crate::endpoint::Process;
use crate::flow::{EndReason, Flow};
use crate::netaddr::CidrSet;
use crate::stats::{lock, StatsHub};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use writer::EveWriter;

/// Something to log. Ended flows are most of the traffic and travel inline (a box each
/// would be an allocation per flow); the other variants are a few per batch.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum OutEvent {
    FlowEnd(EndedFlow),
    /// A running flow's counters so far, for the detectors only (not logged).
    Interim(Box<FlowRecord>),
    /// Application-layer events, already EVE lines (made on the worker).
    Lines(Lines),
    Alert(Box<Alert>),
    /// Ends a worker's message: how far its records have got (see [`Mark`]).
    Mark(Mark),
}

/// A worker's promise that every record it sends later has an [`order_key`] at least
/// `until`: the detection stage judges records once every worker has passed them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub worker: usize,
    pub until: (u64, u64),
}

/// Where a flow record stands in the one order the detectors judge in: the worker clock
/// when the flow ended (or, for a running flow's interim record, the tick it was taken
/// at; for flows flushed at the end of input, after everything else), then the flow id.
pub fn order_key(e: &OutEvent) -> Option<(u64, u64)> {
    match e {
        OutEvent::FlowEnd(f) => Some((f.ended_at_us, f.flow.flow_id)),
        OutEvent::Interim(r) => Some((r.taken_at_us, r.flow_id)),
        _ => None,
    }
}

/// EVE lines, each ending in a newline, and how many there are.
#[derive(Debug, Default)]
pub struct Lines {
    pub text: Vec<u8>,
    pub events: u64,
}

/// Room a batch's lines start with: a batch's events mostly fit, so the buffer is not
/// regrown (and copied) record by record.
const LINES_START: usize = 32 * 1024;

impl Lines {
    /// Empty, keeping the buffer.
    pub fn clear(&mut self) {
        self.text.clear();
        self.events = 0;
    }

    /// Append one record written by `write` (which must not add the newline).
    pub fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        if self.text.capacity() == 0 {
            self.text.reserve(LINES_START);
        }
        write(&mut self.text);
        self.text.push(b'\n');
        self.events += 1;
    }
}

/// A flow that ended, with what the later stages learnt about it.
#[derive(Debug)]
pub struct EndedFlow {
    pub flow: Flow,
    pub reason: EndReason,
    pub app: Option<AppSummary>,
    /// The process that opened it, when endpoint telemetry names one.
    pub process: Option<Arc<Process>>,
    /// An alert was raised on this flow.
    pub alerted: bool,
    /// The worker's clock when the flow ended (`u64::MAX`: flushed at the end).
    pub ended_at_us: u64,
}

/// What a worker sends the output thread: the events of one batch, in order.
#[derive(Debug)]
pub struct OutMsg(pub Vec<OutEvent>);

pub struct OutputThread {
    pub writer: EveWriter,
    pub stats: Arc<StatsHub>,
    pub stats_interval: Option<Duration>,
    pub community_id_seed: u16,
    pub home_net: CidrSet,
    pub reopen: Arc<AtomicBool>,
}

fn wall_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl OutputThread {
    pub fn run(mut self, rx: Receiver<OutMsg>) {
        let ctx_seed = self.community_id_seed;
        let home = std::mem::take(&mut self.home_net);
        let ctx = eve::FlowContext::new(ctx_seed, &home);
        let mut buf = Vec::with_capacity(1024);
        let mut run = Lines::default();
        let tick = self.stats_interval.unwrap_or(Duration::from_millis(500));
        let mut next_stats = Instant::now() + tick;
        let mut first_error = true;
        loop {
            let msg = rx.recv_timeout(next_stats.saturating_duration_since(Instant::now()));
            if self.reopen.swap(false, Ordering::Relaxed) {
                match self.writer.reopen() {
                    Ok(()) => lock(&self.stats.output).reopens += 1,
                    Err(e) => eprintln!("exfil-sensor: {e}"),
                }
            }
            match msg {
                Ok(OutMsg(events)) => {
                    // A batch's records are written into one buffer and handed to the
                    // writer together (by reference: moving each large event out of the
                    // batch was a copy); runs of app-event lines go as they are.
                    run.clear();
                    for e in &events {
                        match e {
                            OutEvent::FlowEnd(e) => {
                                run.push(|b| eve::flow_event(b, e, &ctx));
                            }
                            OutEvent::Alert(a) => run.push(|b| eve::alert_event(b, a, &ctx)),
                            OutEvent::Lines(l) => {
                                self.write_lines(&run, &mut first_error);
                                run.clear();
                                self.write_lines(l, &mut first_error);
                            }
                            // The detection stage consumes these.
                            OutEvent::Interim(_) | OutEvent::Mark(_) => {}
                        }
                    }
                    self.write_lines(&run, &mut first_error);
                }
                // All workers have finished: write the final stats and stop.
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    next_stats = Instant::now() + tick;
                    if self.stats_interval.is_some() {
                        self.write_stats(&mut buf, &mut first_error);
                    }
                    let _ = self.writer.flush();
                }
            }
        }
        self.write_stats(&mut buf, &mut first_error);
        if let Err(e) = self.writer.flush() {
            eprintln!("exfil-sensor: EVE output: {e}");
        }
    }

    fn write_stats(&mut self, buf: &mut Vec<u8>, first_error: &mut bool) {
        let snap = self.stats.snapshot();
        buf.clear();
        let _ = serde_json::to_writer(&mut *buf, &stats_event::stats_event(&snap, wall_us()));
        self.write(buf, first_error);
    }

    /// Write one line; failures are counted and the first one is logged (a full disk
    /// must not take the sensor down, nor lose events silently).
    fn write(&mut self, line: &[u8], first_error: &mut bool) {
        let ok = self.writer.line(line);
        self.count(ok, 1, first_error);
    }

    fn write_lines(&mut self, l: &Lines, first_error: &mut bool) {
        if l.events == 0 {
            return;
        }
        let ok = self.writer.raw(&l.text);
        self.count(ok, l.events, first_error);
    }

    fn count(&mut self, ok: std::io::Result<()>, events: u64, first_error: &mut bool) {
        let mut c = lock(&self.stats.output);
        match ok {
            Ok(()) => c.events += events,
            Err(e) => {
                c.write_errors += events;
                if *first_error {
                    eprintln!("exfil-sensor: EVE output write failed: {e} (further failures are counted in stats)");
                    *first_error = false;
                }
            }
        }
    }
}
