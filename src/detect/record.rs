//! The detectors' view of a flow: who talked to whom, how much each way, what the bytes
//! were, and (when endpoint telemetry is fed in) which process did it. Built from a flow
//! that ended or, for long transfers, from one still running (an interim record).

use crate::app::session::AppSummary;
use crate::app::AppProto;
use crate::decode::Addr;
use crate::endpoint::Process;
use crate::flow::Flow;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct FlowRecord {
    pub flow_id: u64,
    /// IP protocol number.
    pub proto: u8,
    /// Who opened the flow, and whom they talked to: (address, port).
    pub client: (Addr, u16),
    pub server: (Addr, u16),
    pub first_us: u64,
    pub last_us: u64,
    /// Index 0 to the server, 1 to the client.
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub payload: [u64; 2],
    /// Application layer verdict and features; default (unknown) when it is switched off.
    pub app: AppSummary,
    /// False for an interim record of a flow that is still running.
    pub ended: bool,
    /// The process that opened the flow, from endpoint telemetry.
    pub process: Option<Arc<Process>>,
    /// Interim records: the tick of packet time they were taken at.
    pub taken_at_us: u64,
}

impl FlowRecord {
    /// The record owns the summary: ended flows lend theirs for judging (see
    /// [`crate::detect::DetectStage`]) rather than cloning names and feature lists.
    pub fn new(f: &Flow, app: AppSummary, ended: bool) -> FlowRecord {
        let (ca, cp) = f.client();
        let (sa, sp) = f.server();
        FlowRecord {
            flow_id: f.flow_id,
            proto: f.key.proto,
            client: (*ca, cp),
            server: (*sa, sp),
            first_us: f.first_us,
            last_us: f.last_us,
            pkts: [f.counters[0].pkts, f.counters[1].pkts],
            bytes: [f.counters[0].bytes, f.counters[1].bytes],
            payload: [f.counters[0].payload, f.counters[1].payload],
            app,
            ended,
            process: None,
            taken_at_us: 0,
        }
    }

    /// The protocol the flow's bytes were identified as (before any STARTTLS upgrade).
    pub fn app_proto(&self) -> AppProto {
        self.app.orig.unwrap_or(self.app.app)
    }

    pub fn duration_us(&self) -> u64 {
        self.last_us.saturating_sub(self.first_us)
    }

    /// A bare TCP record of flow `flow_id` that started and ended at `at_us`.
    #[cfg(test)]
    pub fn bare(flow_id: u64, at_us: u64) -> FlowRecord {
        FlowRecord {
            flow_id,
            proto: 6,
            client: ([0; 16], 1),
            server: ([0; 16], 2),
            first_us: at_us,
            last_us: at_us,
            pkts: [0; 2],
            bytes: [0; 2],
            payload: [0; 2],
            app: AppSummary::default(),
            ended: true,
            process: None,
            taken_at_us: 0,
        }
    }
}
