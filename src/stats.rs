//! Counters. Each thread owns its counters and publishes a copy into a mutex-guarded
//! slot once per batch or tick, so the hot path touches only thread-local memory and
//! the stats writer reads consistent snapshots.

use crate::app::session::AppCounters;
use crate::decode::{layer, DecodeError, DefragStats};
use crate::detect::engine::DetectCounters;
use crate::flow::FlowTableStats;
use std::sync::Mutex;
use std::time::Instant;

/// Counters of the capture thread: what was read, what could not be decoded, what was dropped.
#[derive(Clone, Debug, Default)]
pub struct CaptureCounters {
    pub packets: u64,
    pub bytes: u64,
    pub max_pkt_size: u64,
    /// Undecodable frames, indexed like [`DecodeError::ALL`].
    pub decode_errors: Vec<u64>,
    pub arp: u64,
    pub other_l3: u64,
    /// Frames of a link type we do not decode.
    pub unsupported_link: u64,
    /// Input files opened.
    pub files_read: u64,
    /// Input files that could not be opened or ended in a read error (truncated, corrupt).
    pub file_errors: u64,
    pub kernel_packets: u64,
    pub kernel_drops: u64,
    pub kernel_ifdrops: u64,
    /// Packets dropped because a worker queue was full (live capture only).
    pub queue_drops: u64,
}

impl CaptureCounters {
    pub fn count_decode_error(&mut self, e: DecodeError) {
        if self.decode_errors.len() != DecodeError::ALL.len() {
            self.decode_errors = vec![0; DecodeError::ALL.len()];
        }
        if let Some(i) = DecodeError::ALL.iter().position(|x| *x == e) {
            self.decode_errors[i] += 1;
        }
    }
}

/// Layer bits in the order of [`LAYER_NAMES`].
pub const LAYER_BITS: [u32; 26] = [
    layer::ETHERNET,
    layer::VLAN,
    layer::QINQ,
    layer::SLL,
    layer::SLL2,
    layer::NULL,
    layer::RAW,
    layer::NFLOG,
    layer::IPV4,
    layer::IPV6,
    layer::TCP,
    layer::UDP,
    layer::ICMPV4,
    layer::ICMPV6,
    layer::SCTP,
    layer::GRE,
    layer::ERSPAN,
    layer::VXLAN,
    layer::IPV4_IN_IPV4,
    layer::IPV6_IN_IPV4,
    layer::IPV4_IN_IPV6,
    layer::IPV6_IN_IPV6,
    layer::FRAGMENT,
    layer::ARP,
    layer::PPPOE,
    layer::MPLS,
];

/// Suricata `stats.decoder` names for [`LAYER_BITS`] (`nflog` and `fragment` are ours).
pub const LAYER_NAMES: [&str; 26] = [
    "ethernet",
    "vlan",
    "vlan_qinq",
    "sll",
    "sll2",
    "null",
    "raw",
    "nflog",
    "ipv4",
    "ipv6",
    "tcp",
    "udp",
    "icmpv4",
    "icmpv6",
    "sctp",
    "gre",
    "erspan",
    "vxlan",
    "ipv4_in_ipv4",
    "ipv6_in_ipv4",
    "ipv4_in_ipv6",
    "ipv6_in_ipv6",
    "fragment",
    "arp",
    "pppoe",
    "mpls",
];

/// Counters of one worker.
#[derive(Clone, Debug, Default)]
pub struct WorkerCounters {
    pub packets: u64,
    pub bytes: u64,
    pub layers: [u64; 26],
    pub flow: FlowTableStats,
    pub defrag: DefragStats,
    pub defrag_memuse: u64,
    /// Reassembled datagrams whose transport header was invalid.
    pub reassembled_invalid: u64,
    pub app: AppCounters,
}

impl WorkerCounters {
    #[inline]
    pub fn count_layers(&mut self, bits: u32) {
        // Most frames set few bits; walk only the set ones.
        let mut b = bits;
        while b != 0 {
            let bit = b & b.wrapping_neg();
            if let Some(i) = LAYER_BITS.iter().position(|&x| x == bit) {
                self.layers[i] += 1;
            }
            b &= b - 1;
        }
    }
}

/// Counters of the output thread.
#[derive(Clone, Debug, Default)]
pub struct OutputCounters {
    pub events: u64,
    pub write_errors: u64,
    pub reopens: u64,
}

/// Counters of the endpoint stage (process attribution from endpoint telemetry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointCounters {
    /// Non-empty lines read from every feed: `ecs + sysmon + ignored_event_ids + malformed`.
    pub records_read: u64,
    /// Event ID 3 records by shape.
    pub ecs: u64,
    pub sysmon: u64,
    /// Well-formed records of other event IDs or providers.
    pub ignored_event_ids: u64,
    /// Lines that are not a usable record (bad JSON, missing or bad fields, overlong).
    pub malformed: u64,
    pub indexed: u64,
    /// Records dropped at `endpoint.max_records` before their retention ended.
    pub evicted: u64,
    pub expired: u64,
    /// Records in the index now.
    pub index_records: u64,
    /// TCP/UDP flows given a process, and those left without one.
    pub flows_joined: u64,
    pub flows_unjoined: u64,
    /// Of the unjoined: a record had the flow's tuple, but its time was outside the tolerance.
    pub flows_outside_tolerance: u64,
    /// Records that never joined a flow (unmatched, NAT'd, or beyond the tolerance).
    pub records_never_joined: u64,
    /// Ended flows held back (live) for late records; those released early at the cap;
    /// those waiting now.
    pub flows_held: u64,
    pub hold_overflow: u64,
    pub held_now: u64,
    pub file_rotations: u64,
    pub file_truncations: u64,
    pub socket_clients: u64,
    pub socket_clients_rejected: u64,
}

/// Where every thread publishes its counters.
pub struct StatsHub {
    pub started: Instant,
    pub capture: Mutex<CaptureCounters>,
    pub workers: Vec<Mutex<WorkerCounters>>,
    pub detect: Mutex<DetectCounters>,
    pub output: Mutex<OutputCounters>,
    pub endpoint: Mutex<EndpointCounters>,
}

/// A consistent sum of all threads' counters.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub uptime_secs: u64,
    pub capture: CaptureCounters,
    pub worker: WorkerCounters,
    pub detect: DetectCounters,
    pub output: OutputCounters,
    pub endpoint: EndpointCounters,
}

impl StatsHub {
    pub fn new(workers: usize) -> StatsHub {
        StatsHub {
            started: Instant::now(),
            capture: Mutex::new(CaptureCounters::default()),
            workers: (0..workers)
                .map(|_| Mutex::new(WorkerCounters::default()))
                .collect(),
            detect: Mutex::new(DetectCounters::default()),
            output: Mutex::new(OutputCounters::default()),
            endpoint: Mutex::new(EndpointCounters::default()),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut w = WorkerCounters::default();
        for slot in &self.workers {
            let s = lock(slot).clone();
            w.packets += s.packets;
            w.bytes += s.bytes;
            for (a, b) in w.layers.iter_mut().zip(s.layers) {
                *a += b;
            }
            add_flow(&mut w.flow, &s.flow);
            add_defrag(&mut w.defrag, &s.defrag);
            w.defrag_memuse += s.defrag_memuse;
            w.reassembled_invalid += s.reassembled_invalid;
            w.app.add(&s.app);
        }
        Snapshot {
            uptime_secs: self.started.elapsed().as_secs(),
            capture: lock(&self.capture).clone(),
            worker: w,
            detect: lock(&self.detect).clone(),
            output: lock(&self.output).clone(),
            endpoint: lock(&self.endpoint).clone(),
        }
    }
}

/// A poisoned stats mutex only means a thread panicked mid-publish; the counters are still usable.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn add_flow(a: &mut FlowTableStats, b: &FlowTableStats) {
    a.created += b.created;
    a.created_tcp += b.created_tcp;
    a.created_udp += b.created_udp;
    a.created_icmpv4 += b.created_icmpv4;
    a.created_icmpv6 += b.created_icmpv6;
    for (x, y) in a.ended.iter_mut().zip(b.ended) {
        *x += y;
    }
    for (x, y) in a.ended_state.iter_mut().zip(b.ended_state) {
        *x += y;
    }
    a.active += b.active;
    a.memuse += b.memuse;
}

fn add_defrag(a: &mut DefragStats, b: &DefragStats) {
    a.fragments_v4 += b.fragments_v4;
    a.fragments_v6 += b.fragments_v6;
    a.reassembled_v4 += b.reassembled_v4;
    a.reassembled_v6 += b.reassembled_v6;
    a.timeouts += b.timeouts;
    a.max_trackers_reached += b.max_trackers_reached;
    a.memcap_drops += b.memcap_drops;
    a.overlaps += b.overlaps;
    a.too_large += b.too_large;
}
