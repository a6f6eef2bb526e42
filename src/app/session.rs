//! The application layer of one worker: per-flow TCP reassembly, detection and parsing,
//! and the worker-wide tables flows share (announced data channels, transfer commands).
//!
//! Flows carry their state as `Option<Box<AppState>>`, allocated at the first payload
//! byte, so flows that never carry data (scans, SYN floods) cost nothing here.

use super::detect::{self, Detection};
use super::features::FlowFeatures;
use super::ports::{Mismatch, PortRegistry};
use super::{AppEvent, AppProto, Cx, Direction, Expectation, Parser, TransferLog, Transport};
use crate::decode::{Addr, Decoded};
use crate::flow::record::{TCP_ACK, TCP_SYN};
use crate::flow::Flow;
use crate::ident::community_id::{community_id, CommunityId};
use crate::output::{eve, Lines};
use crate::stream::{Chunk, HalfStream, StreamConfig, StreamMemcap, StreamStats};

/// Announced data channels are forgotten after this long (packet time).
const EXPECTATION_TTL_US: u64 = 120_000_000;
/// Most announced data channels a worker remembers; the oldest go first.
const MAX_EXPECTATIONS: usize = 4096;

/// App-layer state of one flow.
pub struct AppState {
    streams: [HalfStream; 2],
    proto: ProtoState,
    /// Set once the flow's app layer is concluded; later packets are only counted.
    /// Boxed, like the detection and expectation below: a live flow does not carry room
    /// for what it has only briefly or rarely (tens of thousands of UDP flows stay live
    /// until their timeout, so each byte here counts).
    done: Option<Box<AppSummary>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppState({})", self.proto.app.name())
    }
}

/// Everything but the reassemblers, so both can be borrowed at once.
struct ProtoState {
    transport: Transport,
    detection: Option<Box<Detection>>,
    /// Final per-direction verdicts once detection is over.
    verdict: [AppProto; 2],
    /// Protocol being parsed.
    app: AppProto,
    /// Protocol before a STARTTLS/CONNECT upgrade.
    orig: Option<AppProto>,
    parser: Option<Box<dyn Parser>>,
    expected: Option<Box<Expectation>>,
    features: FlowFeatures,
    /// Computed at the flow's first event; its later events and its flow event reuse it.
    community_id: Option<CommunityId>,
}

/// What the flow event reports about the application layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppSummary {
    pub app: AppProto,
    pub ts: AppProto,
    pub tc: AppProto,
    pub orig: Option<AppProto>,
    pub mismatch: Option<Mismatch>,
    /// Protocol the server port is registered for, when it disagrees.
    pub expected: Option<AppProto>,
    /// For data channels: the control flow that announced them.
    pub parent_flow_id: Option<u64>,
    pub features: FlowFeatures,
    /// The flow's Community ID when its app events already needed it.
    pub community_id: Option<CommunityId>,
}

/// Flow identity stamped on app-layer events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowMeta {
    pub flow_id: u64,
    pub proto: u8,
    pub client: (Addr, u16),
    pub server: (Addr, u16),
}

impl FlowMeta {
    fn of(f: &Flow) -> FlowMeta {
        let (ca, cp) = f.client();
        let (sa, sp) = f.server();
        FlowMeta {
            flow_id: f.flow_id,
            proto: f.key.proto,
            client: (*ca, cp),
            server: (*sa, sp),
        }
    }
}

/// App-layer counters of one worker.
#[derive(Clone, Debug, Default)]
pub struct AppCounters {
    /// Flows identified, per protocol ([`AppProto::ALL`] index) and transport (0 TCP, 1 UDP).
    pub flows: [[u64; 11]; 2],
    pub expectations_added: u64,
    pub expectations_matched: u64,
    pub expectations_evicted: u64,
    pub expectations_expired: u64,
    pub events: u64,
    pub upgrades: u64,
    pub stream: StreamStats,
    pub stream_memuse: u64,
}

impl AppCounters {
    /// Sum another worker's counters into these.
    pub fn add(&mut self, o: &AppCounters) {
        for (a, b) in self
            .flows
            .iter_mut()
            .flatten()
            .zip(o.flows.iter().flatten())
        {
            *a += b;
        }
        self.expectations_added += o.expectations_added;
        self.expectations_matched += o.expectations_matched;
        self.expectations_evicted += o.expectations_evicted;
        self.expectations_expired += o.expectations_expired;
        self.events += o.events;
        self.upgrades += o.upgrades;
        self.stream_memuse += o.stream_memuse;
        let (a, b) = (&mut self.stream, &o.stream);
        a.segments += b.segments;
        a.in_order += b.in_order;
        a.out_of_order += b.out_of_order;
        a.retransmissions += b.retransmissions;
        a.overlaps += b.overlaps;
        a.overlap_diff_data += b.overlap_diff_data;
        a.gaps += b.gaps;
        a.gap_bytes += b.gap_bytes;
        a.depth_reached += b.depth_reached;
        a.memcap_drops += b.memcap_drops;
        a.midstream += b.midstream;
    }
}

/// Worker-wide tables and scratch buffers the parsers write into.
struct Shared {
    ports: PortRegistry,
    community_id_seed: u16,
    /// Announced data channels by (transport, destination address, destination port).
    expectations: hashbrown::HashMap<(u8, Addr, u16), Expectation>,
    transfers: TransferLog,
    scratch: Vec<AppEvent>,
    new_expect: Vec<Expectation>,
    /// Events as EVE lines, written when the parser makes them (while its bytes are
    /// still in cache, and without handing records across threads).
    out: Lines,
    counters: AppCounters,
}

pub struct AppLayer {
    cfg: StreamConfig,
    mem: StreamMemcap,
    stats: StreamStats,
    shared: Shared,
}

impl AppLayer {
    pub fn new(
        cfg: StreamConfig,
        memcap: usize,
        ports: PortRegistry,
        community_id_seed: u16,
    ) -> AppLayer {
        AppLayer {
            cfg,
            mem: StreamMemcap {
                limit: memcap,
                used: 0,
            },
            stats: StreamStats::default(),
            shared: Shared {
                ports,
                community_id_seed,
                expectations: hashbrown::HashMap::new(),
                transfers: TransferLog::default(),
                scratch: Vec::new(),
                new_expect: Vec::new(),
                out: Lines::default(),
                counters: AppCounters::default(),
            },
        }
    }

    /// The EVE lines of the events produced since the last call, if any.
    pub fn take_lines(&mut self) -> Option<Lines> {
        (self.shared.out.events > 0).then(|| std::mem::take(&mut self.shared.out))
    }

    pub fn counters(&self) -> AppCounters {
        let mut c = self.shared.counters.clone();
        c.stream = self.stats;
        c.stream_memuse = self.mem.used as u64;
        c
    }

    /// A flow's first packet: is it a data channel some control flow announced? Either
    /// endpoint may be the announced destination (the first packet may come from it).
    pub fn new_flow(&mut self, flow: &mut Flow, ts_us: u64) {
        let s = &mut self.shared;
        if s.expectations.is_empty() {
            return;
        }
        let proto = flow.key.proto;
        let (c, sv) = (flow.client(), flow.server());
        let (client, server) = ((*c.0, c.1), (*sv.0, sv.1));
        let hit = [(server, client.0), (client, server.0)]
            .into_iter()
            .find_map(|(dst, src)| {
                let key = (proto, dst.0, dst.1);
                let e = s.expectations.get(&key)?;
                let live = ts_us.saturating_sub(e.ts_us) <= EXPECTATION_TTL_US;
                (live && e.src.is_none_or(|a| a == src)).then_some(key)
            })
            .and_then(|key| s.expectations.remove(&key));
        if let Some(e) = hit {
            s.counters.expectations_matched += 1;
            let mut st = Box::new(AppState::expected(e));
            st.prime(flow, &self.cfg, &mut self.mem, &mut self.stats);
            flow.app = Some(st);
        }
    }

    /// Forget announcements nobody used (called once per second of packet time).
    pub fn expire(&mut self, now_us: u64) {
        let s = &mut self.shared;
        let before = s.expectations.len();
        s.expectations
            .retain(|_, e| now_us.saturating_sub(e.ts_us) <= EXPECTATION_TTL_US);
        s.counters.expectations_expired += (before - s.expectations.len()) as u64;
    }

    /// A packet of `flow` travelling in `dir`, after flow accounting.
    pub fn packet(
        &mut self,
        flow: &mut Flow,
        dir: Direction,
        d: &Decoded,
        payload: &[u8],
        ts_us: u64,
    ) {
        let tcp = flow.key.proto == 6;
        let (cfg, mem, stats, shared) =
            (&self.cfg, &mut self.mem, &mut self.stats, &mut self.shared);
        let mut st = match flow.app.take() {
            Some(st) if st.done.is_some() => {
                flow.app = Some(st);
                return;
            }
            Some(st) => st,
            None if payload.is_empty() || !(tcp || flow.key.proto == 17) => return,
            None => {
                let mut st = Box::new(AppState::new(tcp));
                st.prime(flow, cfg, mem, stats);
                st
            }
        };
        let meta = FlowMeta::of(flow);
        // Data channels are counted in full: their volume is the point.
        let data_cfg;
        let cfg = if st.proto.expected.is_some() {
            data_cfg = StreamConfig { depth: 0, ..*cfg };
            &data_cfg
        } else {
            cfg
        };
        if tcp {
            let AppState { streams, proto, .. } = &mut *st;
            let mut on_chunk = |dir, c: Chunk<'_>| proto.chunk(shared, &meta, dir, c, ts_us);
            streams[dir as usize].segment(
                d.tcp_seq,
                d.tcp_flags,
                payload,
                cfg,
                mem,
                stats,
                &mut |c| on_chunk(dir, c),
            );
            if d.tcp_flags & TCP_ACK != 0 {
                let other = other(dir);
                streams[other as usize]
                    .acked(d.tcp_ack, cfg, mem, stats, &mut |c| on_chunk(other, c));
            }
        } else {
            st.proto
                .chunk(shared, &meta, dir, Chunk::Data(payload), ts_us);
        }
        flow.app = Some(st);
    }

    /// The flow ended: flush its streams and parser, and judge its protocol.
    pub fn finish(&mut self, flow: &mut Flow) -> Option<AppSummary> {
        self.conclude(flow);
        flow.app.take().and_then(|st| st.done).map(|s| *s)
    }

    /// Finish the app layer of a flow that is over (TCP closed) but stays in the table for
    /// its last ACKs: events go out now, and buffers and parser state are freed now.
    pub fn conclude(&mut self, flow: &mut Flow) {
        let Some(mut st) = flow.app.take() else {
            return;
        };
        if st.done.is_none() {
            st.done = Some(Box::new(self.summarise(flow, &mut st)));
            st.streams = Default::default();
            st.proto.detection = None;
        }
        flow.app = Some(st);
    }

    fn summarise(&mut self, flow: &Flow, st: &mut AppState) -> AppSummary {
        let ts_us = flow.last_us;
        let meta = FlowMeta::of(flow);
        let (mem, stats, shared) = (&mut self.mem, &mut self.stats, &mut self.shared);
        {
            let AppState { streams, proto, .. } = st;
            for dir in [Direction::ToServer, Direction::ToClient] {
                streams[dir as usize].finish(mem, stats, &mut |c| {
                    proto.chunk(shared, &meta, dir, c, ts_us)
                });
            }
        }
        let p = &mut st.proto;
        if let Some(mut parser) = p.parser.take() {
            p.run(
                shared,
                &meta,
                ts_us,
                |parser, cx| parser.finish(cx),
                &mut parser,
            );
        }
        let carried = [flow.counters[0].payload > 0, flow.counters[1].payload > 0];
        if let Some(det) = p.detection.as_mut() {
            det.close(carried);
            p.verdict = det.verdict;
        }
        let features = std::mem::take(&mut p.features);
        let summary = p.summary(&shared.ports, flow, features);
        let t = u8::from(p.transport == Transport::Udp);
        shared.counters.flows[usize::from(t)][proto_index(summary.app)] += 1;
        summary
    }

    /// The verdict so far of a running flow, for interim checks (nothing is flushed).
    pub fn peek(&self, flow: &Flow) -> Option<AppSummary> {
        let st = flow.app.as_deref()?;
        if let Some(done) = &st.done {
            return Some(AppSummary::clone(done));
        }
        Some(
            st.proto
                .summary(&self.shared.ports, flow, st.proto.features.clone()),
        )
    }
}

impl ProtoState {
    /// What the flow event says about the app layer, from the verdicts so far.
    fn summary(&self, ports: &PortRegistry, flow: &Flow, features: FlowFeatures) -> AppSummary {
        let [ts, tc] = self.detection.as_ref().map_or(self.verdict, |d| d.verdict);
        let app = if self.expected.is_some() || self.orig.is_some() {
            self.app
        } else {
            detect::combine(ts, tc)
        };
        let judged = self.orig.unwrap_or(app);
        let mismatch = ports.judge(
            flow.key.proto,
            flow.server().1,
            judged,
            ts,
            tc,
            self.expected.is_some(),
        );
        AppSummary {
            app,
            ts,
            tc,
            orig: self.orig,
            mismatch: mismatch.map(|m| m.0),
            expected: mismatch.and_then(|m| m.1),
            parent_flow_id: self.expected.as_ref().map(|e| e.parent_flow_id),
            features,
            community_id: self.community_id,
        }
    }
}

fn other(dir: Direction) -> Direction {
    match dir {
        Direction::ToServer => Direction::ToClient,
        Direction::ToClient => Direction::ToServer,
    }
}

fn proto_index(p: AppProto) -> usize {
    AppProto::ALL.iter().position(|x| *x == p).unwrap_or(0)
}

impl AppState {
    fn new(tcp: bool) -> AppState {
        AppState {
            streams: Default::default(),
            proto: ProtoState {
                transport: if tcp { Transport::Tcp } else { Transport::Udp },
                detection: Some(Box::default()),
                verdict: [AppProto::Unknown; 2],
                app: AppProto::Unknown,
                orig: None,
                parser: None,
                expected: None,
                features: FlowFeatures::default(),
                community_id: None,
            },
            done: None,
        }
    }

    /// A data channel announced by a control flow: its protocol is known up front.
    fn expected(e: Expectation) -> AppState {
        let tcp = e.proto == 6;
        let parser = detect::entry(e.app).map(|en| (en.new_parser)());
        AppState {
            streams: Default::default(),
            proto: ProtoState {
                transport: if tcp { Transport::Tcp } else { Transport::Udp },
                detection: None,
                verdict: [e.app; 2],
                app: e.app,
                orig: None,
                parser,
                expected: Some(Box::new(e)),
                features: FlowFeatures::default(),
                community_id: None,
            },
            done: None,
        }
    }

    /// Start each direction's reassembly at the handshake's sequence numbers when the
    /// SYNs were seen before the first payload byte.
    fn prime(
        &mut self,
        flow: &Flow,
        cfg: &StreamConfig,
        mem: &mut StreamMemcap,
        stats: &mut StreamStats,
    ) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            if let Some(seq) = flow.isn(dir) {
                self.streams[dir as usize].segment(seq, TCP_SYN, &[], cfg, mem, stats, &mut |_| {});
            }
        }
    }
}

impl ProtoState {
    /// In-order bytes (or a gap) of one direction.
    fn chunk(&mut self, sh: &mut Shared, meta: &FlowMeta, dir: Direction, c: Chunk<'_>, ts: u64) {
        let data = match c {
            Chunk::Gap(n) => {
                if let Some(mut parser) = self.parser.take() {
                    self.run(sh, meta, ts, |p, cx| p.gap(dir, n, cx), &mut parser);
                    self.restore(parser);
                }
                return;
            }
            Chunk::Data(d) => d,
        };
        if let Some(det) = self.detection.as_mut() {
            det.add(dir, data, self.transport, self.parser.is_none());
            if self.parser.is_none() {
                if let Some(app) = det.chosen() {
                    // Earlier chunks are replayed; this one goes to the parser below.
                    self.start(app, sh, meta, ts);
                } else if det.verdict.iter().all(|v| *v == AppProto::Failed) {
                    // Both sides spoke and nothing matched: stop looking.
                    self.verdict = det.verdict;
                    self.detection = None;
                    self.app = AppProto::Failed;
                    return;
                } else {
                    return;
                }
            }
            let det = self.detection.as_ref().expect("detection");
            if det.verdict.iter().all(|v| *v != AppProto::Unknown) {
                self.verdict = det.verdict;
                self.detection = None;
            }
        }
        if data.is_empty() {
            return;
        }
        if let Some(mut parser) = self.parser.take() {
            self.run(sh, meta, ts, |p, cx| p.parse(dir, data, cx), &mut parser);
            self.restore(parser);
        }
    }

    /// A direction named `app`: create its parser and replay what detection buffered.
    fn start(&mut self, app: AppProto, sh: &mut Shared, meta: &FlowMeta, ts: u64) {
        let Some(entry) = detect::entry(app) else {
            return;
        };
        self.app = app;
        let mut parser = (entry.new_parser)();
        if let Some(mut det) = self.detection.take() {
            det.replay(|d, b| self.run(sh, meta, ts, |p, cx| p.parse(d, b, cx), &mut parser));
            // Keep probing the other direction, unless a CONNECT in the replayed bytes
            // restarted detection for the tunnel.
            if self.detection.is_none() {
                det.release();
                self.detection = Some(det);
            }
        }
        self.restore(parser);
    }

    /// Put the parser back, unless an upgrade to tunnelled bytes restarted detection.
    fn restore(&mut self, parser: Box<dyn Parser>) {
        if self.app != AppProto::Unknown {
            self.parser = Some(parser);
        }
    }

    /// Call the parser with a context; collect its events, announcements and upgrade.
    fn run<F>(
        &mut self,
        sh: &mut Shared,
        meta: &FlowMeta,
        ts: u64,
        f: F,
        parser: &mut Box<dyn Parser>,
    ) where
        F: FnOnce(&mut dyn Parser, &mut Cx<'_>),
    {
        let mut upgrade = None;
        {
            let mut cx = Cx {
                ts_us: ts,
                flow_id: meta.flow_id,
                transport: self.transport,
                client: meta.client,
                server: meta.server,
                events: &mut sh.scratch,
                expect: &mut sh.new_expect,
                upgrade: &mut upgrade,
                transfers: &mut sh.transfers,
                expected: self.expected.as_deref(),
                features: &mut self.features,
            };
            f(parser.as_mut(), &mut cx);
        }
        if !sh.scratch.is_empty() {
            let cid = *self.community_id.get_or_insert_with(|| {
                community_id(
                    sh.community_id_seed,
                    meta.proto,
                    &meta.client.0,
                    &meta.server.0,
                    meta.client.1,
                    meta.server.1,
                )
            });
            sh.counters.events += sh.scratch.len() as u64;
            for e in sh.scratch.drain(..) {
                sh.out.push(|buf| eve::app_event(buf, meta, &e, &cid));
                e.recycle();
            }
        }
        for e in sh.new_expect.drain(..) {
            if sh.expectations.len() >= MAX_EXPECTATIONS {
                // Full: drop the oldest announcement (rare; a scan is fine here).
                let oldest = sh
                    .expectations
                    .iter()
                    .min_by_key(|(_, e)| e.ts_us)
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    sh.expectations.remove(&k);
                    sh.counters.expectations_evicted += 1;
                }
            }
            sh.counters.expectations_added += 1;
            sh.expectations.insert((e.proto, e.dst, e.dport), e);
        }
        if let Some(next) = upgrade {
            sh.counters.upgrades += 1;
            self.orig.get_or_insert(self.app);
            self.app = next;
            match detect::entry(next) {
                Some(en) => *parser = (en.new_parser)(),
                None => {
                    // Tunnelled bytes (HTTP CONNECT): detect afresh.
                    self.detection = Some(Box::default());
                    self.app = AppProto::Unknown;
                }
            }
        }
    }
}
