//! The endpoint stage: one thread between the workers and the detection stage, present
//! only when an endpoint feed is configured. It owns the record index (no locks: feeds
//! send it lines), sets `process` on every ended flow and interim record it can join,
//! and in live capture holds ended flows for `endpoint.hold_ms` first, since a shipper
//! may deliver a connection's record after the connection has ended.
//!
//! Clock: packet time in replay (the latest flow end seen), so results do not depend on
//! replay speed; wall time live.

use super::feed::{self, FeedCounters, FileLines, LineBatch};
use super::index::{Index, IndexConfig, Interner, Lookup, Prepared};
use super::parse::{parse_line, Parsed};
use super::{Format, Process};
use crate::config::{EndpointConfig, SocketType};
use crate::detect::FlowRecord;
use crate::output::{EndedFlow, OutEvent, OutMsg};
use crate::stats::{lock, EndpointCounters, StatsHub};
use crossbeam_channel::{never, select, Receiver, Sender};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest sleep without a message: bounds how stale published counters get.
const TICK: Duration = Duration::from_millis(250);
/// Malformed lines are reported at most this often (one line, with a count).
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// Processes remembered from interim joins for the flow's end (see [`InterimJoins`]).
const MAX_INTERIM_JOINS: usize = 65_536;
/// Lines per batch when a file is loaded: a few MB of JSON per parsing thread and turn.
const LOAD_BATCH_LINES: usize = 1024;
/// Most threads parsing a file at load.
const MAX_LOAD_THREADS: usize = 8;

pub struct EndpointStage {
    index: Index,
    c: EndpointCounters,
    stats: Arc<StatsHub>,
    live: bool,
    /// Replay: the latest flow end seen, µs.
    packet_now_us: u64,
    hold: Option<Hold>,
    interim: InterimJoins,
    /// Parses streamed lines (a file load uses several, one per thread).
    parser: Parser,
    replay_file: Option<(PathBuf, File)>,
    lines: Option<Receiver<LineBatch>>,
    feeds: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    feed_counters: Arc<FeedCounters>,
    log: MalformedLog,
}

/// Ended flows waiting for late records (live only). One delay for all, so FIFO.
struct Hold {
    delay: Duration,
    max: usize,
    q: VecDeque<(Instant, EndedFlow)>,
}

/// Processes joined on an interim record, by flow id, so the flow's end keeps its process
/// even after the record has expired from the index (long transfers).
#[derive(Default)]
struct InterimJoins {
    by_flow: HashMap<u64, Arc<Process>>,
    order: VecDeque<u64>,
}

impl InterimJoins {
    fn insert(&mut self, flow_id: u64, p: Arc<Process>) {
        if self.by_flow.insert(flow_id, p).is_none() {
            self.order.push_back(flow_id);
        }
        while self.order.len() > MAX_INTERIM_JOINS {
            if let Some(old) = self.order.pop_front() {
                self.by_flow.remove(&old);
            }
        }
    }
}

/// Lines parsed into records ready for the index, with what was counted on the way.
/// Runs on any thread: it owns its interner, and malformed lines leave only a count and
/// the first example for the (rate-limited) report.
#[derive(Default)]
struct Parser {
    names: Interner,
    out: Vec<Prepared>,
    read: u64,
    ecs: u64,
    sysmon: u64,
    ignored: u64,
    malformed: u64,
    first_bad: Option<String>,
}

impl Parser {
    fn parse(&mut self, b: &LineBatch) {
        for (n, line) in b.lines().enumerate() {
            let bad = match line {
                None => Err(format!("longer than {} bytes", feed::MAX_LINE)),
                Some(l) if l.trim_ascii().is_empty() => continue,
                Some(l) => std::str::from_utf8(l)
                    .map_err(|_| "not UTF-8".to_string())
                    .and_then(|t| match parse_line(t)? {
                        Parsed::Record(r) => {
                            match r.format {
                                Format::Ecs => self.ecs += 1,
                                Format::Sysmon => self.sysmon += 1,
                            }
                            self.out.push(Prepared::new(&mut self.names, &r));
                            Ok(())
                        }
                        Parsed::Ignored => {
                            self.ignored += 1;
                            Ok(())
                        }
                    }),
            };
            self.read += 1;
            if let Err(why) = bad {
                self.malformed += 1;
                if self.first_bad.is_none() {
                    self.first_bad = Some(format!(
                        "{} line {}: {why}",
                        b.source,
                        b.first_line + n as u64
                    ));
                }
            }
        }
    }
}

/// Rate-limited report of malformed lines: the first at once, then one summary line per
/// [`REPORT_EVERY`] naming an example, so a broken shipper cannot flood stderr.
#[derive(Default)]
struct MalformedLog {
    last: Option<Instant>,
    suppressed: u64,
    latest: String,
}

impl MalformedLog {
    /// `n` more malformed lines, `example` describing one of them.
    fn note(&mut self, n: u64, example: String) {
        if n == 0 {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < REPORT_EVERY)
        {
            self.suppressed += n;
            self.latest = example;
            return;
        }
        self.flush();
        eprintln!(
            "exfil-sensor: endpoint record skipped: {example} (further ones are summarised every {} s; counted in stats.endpoint.malformed)",
            REPORT_EVERY.as_secs()
        );
        self.suppressed = n - 1;
        self.last = Some(now);
    }

    fn flush(&mut self) {
        if self.suppressed > 0 {
            eprintln!(
                "exfil-sensor: {} more endpoint record(s) skipped, e.g. {}",
                self.suppressed, self.latest
            );
            self.suppressed = 0;
        }
    }
}

fn wall_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl EndpointStage {
    /// The stage without feeds: records come from [`EndpointStage::ingest`].
    pub fn new(
        cfg: &EndpointConfig,
        community_id_seed: u16,
        live: bool,
        stats: Arc<StatsHub>,
    ) -> EndpointStage {
        let ms = |v: u64| v.saturating_mul(1000);
        EndpointStage {
            index: Index::new(IndexConfig {
                tolerance_us: ms(cfg.tolerance_ms),
                retention_us: ms(ms(cfg.retention_secs)),
                max_records: cfg.max_records,
                community_id_seed,
            }),
            c: EndpointCounters::default(),
            stats,
            live,
            packet_now_us: 0,
            hold: (live && cfg.hold_ms > 0).then(|| Hold {
                delay: Duration::from_millis(cfg.hold_ms),
                max: cfg.hold_max_flows.max(1),
                q: VecDeque::new(),
            }),
            interim: InterimJoins::default(),
            parser: Parser::default(),
            replay_file: None,
            lines: None,
            feeds: Vec::new(),
            stop: Arc::default(),
            feed_counters: Arc::default(),
            log: MalformedLog::default(),
        }
    }

    /// The stage with its feeds open, or None when no feed is configured. Files and the
    /// socket are opened here, before any thread starts, so a bad path fails the run at once.
    pub fn open(
        cfg: &EndpointConfig,
        community_id_seed: u16,
        live: bool,
        stats: Arc<StatsHub>,
    ) -> Result<Option<EndpointStage>, String> {
        if cfg.events_file.is_none() && cfg.socket.is_none() {
            return Ok(None);
        }
        let mut st = EndpointStage::new(cfg, community_id_seed, live, stats);
        // A few batches in flight: a slow stage pushes back on the feeds (and through the
        // socket, on the shippers) instead of buffering without bound.
        let (tx, rx) = crossbeam_channel::bounded::<LineBatch>(16);
        if let Some(p) = &cfg.events_file {
            if live {
                let h = feed::follow(
                    p.clone(),
                    tx.clone(),
                    st.stop.clone(),
                    st.feed_counters.clone(),
                )?;
                st.feeds.push(h);
            } else {
                let f = File::open(p)
                    .map_err(|e| format!("endpoint.events_file {}: {e}", p.display()))?;
                st.replay_file = Some((p.clone(), f));
            }
        }
        if let Some(p) = &cfg.socket {
            let h = match cfg.socket_type {
                SocketType::Stream => feed::listen(
                    p.clone(),
                    tx,
                    st.stop.clone(),
                    st.feed_counters.clone(),
                    cfg.max_clients,
                )?,
                SocketType::Dgram => feed::listen_dgram(p.clone(), tx, st.stop.clone())?,
            };
            st.feeds.push(h);
        }
        if !st.feeds.is_empty() {
            st.lines = Some(rx);
        }
        Ok(Some(st))
    }

    /// Join flows until the workers are done (and, live, the held flows have waited out
    /// their delay), passing every event on to `tx`.
    pub fn run(mut self, rx: Receiver<OutMsg>, tx: Sender<OutMsg>) {
        if let Some((path, file)) = self.replay_file.take() {
            if let Err(e) = self.load(&path, file) {
                eprintln!(
                    "exfil-sensor: endpoint.events_file {}: read error: {e} (records before it are used)",
                    path.display()
                );
            }
            self.publish();
        }
        let mut flows = rx;
        let mut flows_open = true;
        let mut lines = self.lines.take().unwrap_or_else(never);
        let mut last_publish = Instant::now();
        loop {
            let wait = self
                .hold
                .as_ref()
                .and_then(|h| h.q.front())
                .map_or(TICK, |(t, _)| t.saturating_duration_since(Instant::now()))
                .min(TICK);
            select! {
                recv(flows) -> m => match m {
                    Ok(OutMsg(ev)) => self.events(ev, &tx),
                    Err(_) => {
                        flows = never();
                        flows_open = false;
                    }
                },
                recv(lines) -> b => match b {
                    Ok(b) => self.ingest(&b),
                    Err(_) => lines = never(),
                },
                default(wait) => {}
            }
            self.release(&tx);
            self.expire();
            if last_publish.elapsed() >= TICK {
                self.publish();
                last_publish = Instant::now();
            }
            if !flows_open && self.hold.as_ref().is_none_or(|h| h.q.is_empty()) {
                break;
            }
        }
        self.stop.store(true, Ordering::Relaxed);
        drop(lines);
        for h in std::mem::take(&mut self.feeds) {
            let _ = h.join();
        }
        self.index.finish();
        self.log.flush();
        self.publish();
    }

    /// Parse and index a batch of streamed lines.
    pub fn ingest(&mut self, b: &LineBatch) {
        let mut p = std::mem::take(&mut self.parser);
        p.parse(b);
        self.absorb(&mut p);
        self.parser = p;
    }

    /// Read a whole file into the index before any flow is judged. Parsing is most of
    /// the cost (a million records are a GB of JSON), so this thread only reads lines and
    /// indexes, while one parser thread per core turns batches of lines into records;
    /// batches are indexed in file order, so the result is the same as one thread's.
    fn load(&mut self, path: &Path, file: File) -> std::io::Result<()> {
        let k = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_LOAD_THREADS);
        let mut lines = FileLines::new(path, file);
        if k == 1 {
            let mut b = LineBatch::new(Arc::from(""), 0);
            while lines.next(&mut b, LOAD_BATCH_LINES)? {
                self.ingest(&b);
            }
            return Ok(());
        }
        type Work = (u64, LineBatch, Parser);
        let (work_tx, work_rx) = crossbeam_channel::bounded::<Work>(k);
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<Work>();
        std::thread::scope(move |s| {
            for i in 0..k {
                let (rx, tx) = (work_rx.clone(), done_tx.clone());
                let spawned = std::thread::Builder::new()
                    .name(format!("endpoint-load-{i}"))
                    .spawn_scoped(s, move || {
                        for (seq, b, mut p) in rx {
                            p.parse(&b);
                            if tx.send((seq, b, p)).is_err() {
                                break;
                            }
                        }
                    });
                spawned?;
            }
            drop(done_tx);
            // Two batches per thread in flight: one being parsed, one waiting.
            let mut free: Vec<(LineBatch, Parser)> = (0..2 * k)
                .map(|_| (LineBatch::new(Arc::from(""), 0), Parser::default()))
                .collect();
            let mut parsed = std::collections::BTreeMap::new();
            let (mut sent, mut indexed, mut eof) = (0u64, 0u64, false);
            loop {
                while !eof {
                    let Some((mut b, p)) = free.pop() else { break };
                    if lines.next(&mut b, LOAD_BATCH_LINES)? {
                        // The parsers outlive this loop: they stop when `work_tx` drops.
                        let _ = work_tx.send((sent, b, p));
                        sent += 1;
                    } else {
                        eof = true;
                        free.push((b, p));
                    }
                }
                if indexed == sent {
                    return Ok(());
                }
                let Ok((seq, b, p)) = done_rx.recv() else {
                    return Err(std::io::Error::other("a parser thread failed"));
                };
                parsed.insert(seq, (b, p));
                while let Some((b, mut p)) = parsed.remove(&indexed) {
                    self.absorb(&mut p);
                    free.push((b, p));
                    indexed += 1;
                }
            }
        })
    }

    /// Index what a parser made and add up its counts.
    fn absorb(&mut self, p: &mut Parser) {
        for r in p.out.drain(..) {
            self.index.insert(r);
        }
        let c = &mut self.c;
        c.records_read += std::mem::take(&mut p.read);
        c.ecs += std::mem::take(&mut p.ecs);
        c.sysmon += std::mem::take(&mut p.sysmon);
        c.ignored_event_ids += std::mem::take(&mut p.ignored);
        let bad = std::mem::take(&mut p.malformed);
        c.malformed += bad;
        if let Some(example) = p.first_bad.take() {
            self.log.note(bad, example);
        }
    }

    fn events(&mut self, ev: Vec<OutEvent>, tx: &Sender<OutMsg>) {
        let mut pass = Vec::with_capacity(ev.len());
        for e in ev {
            match e {
                OutEvent::FlowEnd(f) => {
                    self.packet_now_us = self.packet_now_us.max(f.flow.last_us);
                    // The flow to judge now: this one when not holding, else the oldest
                    // held one if the hold is over its cap.
                    let now = match self.hold.as_mut() {
                        None => Some(f),
                        Some(h) => {
                            self.c.flows_held += 1;
                            h.q.push_back((Instant::now() + h.delay, f));
                            if h.q.len() > h.max {
                                self.c.hold_overflow += 1;
                                h.q.pop_front().map(|(_, f)| f)
                            } else {
                                None
                            }
                        }
                    };
                    if let Some(mut f) = now {
                        self.attribute(&mut f);
                        pass.push(OutEvent::FlowEnd(f));
                    }
                }
                OutEvent::Interim(mut r) => {
                    self.attribute_interim(&mut r);
                    pass.push(OutEvent::Interim(r));
                }
                other => pass.push(other),
            }
        }
        if !pass.is_empty() {
            // The detection stage outlives this one; a send error means it failed.
            let _ = tx.send(OutMsg(pass));
        }
    }

    /// Pass on held flows whose delay is over.
    fn release(&mut self, tx: &Sender<OutMsg>) {
        let Some(h) = self.hold.as_mut() else {
            return;
        };
        let now = Instant::now();
        let mut out = Vec::new();
        while h.q.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, f)) = h.q.pop_front() {
                out.push(f);
            }
        }
        if out.is_empty() {
            return;
        }
        let out: Vec<OutEvent> = out
            .into_iter()
            .map(|mut f| {
                self.attribute(&mut f);
                OutEvent::FlowEnd(f)
            })
            .collect();
        let _ = tx.send(OutMsg(out));
    }

    fn expire(&mut self) {
        let now = if self.live {
            wall_us()
        } else {
            self.packet_now_us
        };
        self.index.expire(now);
    }

    /// Set the ended flow's process, counting joined and unjoined TCP/UDP flows (other
    /// protocols have no endpoint record to look for).
    fn attribute(&mut self, f: &mut EndedFlow) {
        let fl = &f.flow;
        if !matches!(fl.key.proto, 6 | 17) {
            return;
        }
        let (c, cp) = fl.client();
        let (s, sp) = fl.server();
        let lookup = self
            .index
            .join(fl.key.proto, (*c, cp), (*s, sp), fl.first_us);
        let earlier = self.interim.by_flow.remove(&fl.flow_id);
        match (lookup, earlier) {
            (Lookup::Joined(p), _) => f.process = Some(p),
            (_, Some(p)) => f.process = Some(p),
            (l, None) => {
                self.c.flows_unjoined += 1;
                if l == Lookup::OutsideTolerance {
                    self.c.flows_outside_tolerance += 1;
                }
                return;
            }
        }
        self.c.flows_joined += 1;
    }

    /// Interim records of running flows: joined like ended ones (counted at the end).
    fn attribute_interim(&mut self, r: &mut FlowRecord) {
        if !matches!(r.proto, 6 | 17) {
            return;
        }
        if let Some(p) = self.interim.by_flow.get(&r.flow_id) {
            r.process = Some(p.clone());
            return;
        }
        if let Lookup::Joined(p) = self.index.join(r.proto, r.client, r.server, r.first_us) {
            self.interim.insert(r.flow_id, p.clone());
            r.process = Some(p);
        }
    }

    fn publish(&mut self) {
        let ix = self.index.counts;
        let fc = &self.feed_counters;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let c = &mut self.c;
        c.indexed = ix.indexed;
        c.evicted = ix.evicted;
        c.expired = ix.expired;
        c.records_never_joined = ix.never_joined;
        c.index_records = self.index.len() as u64;
        c.held_now = self.hold.as_ref().map_or(0, |h| h.q.len() as u64);
        c.file_rotations = get(&fc.rotations);
        c.file_truncations = get(&fc.truncations);
        c.socket_clients = get(&fc.clients);
        c.socket_clients_rejected = get(&fc.clients_rejected);
        *lock(&self.stats.endpoint) = c.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{addr_from_v4, Decoded};
    use crate::flow::table::{FlowTable, TableConfig};
    use crate::flow::{EndReason, Flow, Timeouts};

    const T0: u64 = 1_773_133_201_000_000;

    /// A TCP flow 10.0.0.1:port → 10.0.0.2:21 whose first packet is at `start_us`.
    fn flow(port: u16, start_us: u64) -> Flow {
        let mut t = FlowTable::new(TableConfig {
            timeouts: Timeouts::default(),
            max_flows: 10,
            vlan_in_key: true,
        });
        let d = Decoded {
            ip_version: 4,
            src: addr_from_v4([10, 0, 0, 1]),
            dst: addr_from_v4([10, 0, 0, 2]),
            proto: 6,
            sport: port,
            dport: 21,
            tcp_flags: 0x02,
            ..Decoded::default()
        };
        t.packet(&d, 1, 60, start_us);
        t.flush(EndReason::EndOfInput, 10);
        let f = t.drain_ended().next().unwrap().0;
        f
    }

    fn ended(port: u16, start_us: u64) -> OutEvent {
        OutEvent::FlowEnd(EndedFlow {
            flow: flow(port, start_us),
            reason: EndReason::EndOfInput,
            app: None,
            process: None,
            alerted: false,
            ended_at_us: 0,
        })
    }

    fn record(port: u16, time: &str, image: &str) -> String {
        format!(
            r#"{{"EventID":3,"UtcTime":"{time}","Image":{},"ProcessId":7,"Protocol":"tcp","Initiated":"true","SourceIp":"10.0.0.1","SourcePort":{port},"DestinationIp":"10.0.0.2","DestinationPort":21}}"#,
            serde_json::to_string(image).unwrap()
        )
    }

    fn batch(lines: &[String]) -> LineBatch {
        let mut b = LineBatch::new(Arc::from("test"), 1);
        b.data = lines.join("\n").into_bytes();
        let mut at = 0u32;
        for l in lines {
            b.spans.push(Some((at, at + l.len() as u32)));
            at += l.len() as u32 + 1;
        }
        b
    }

    fn processes(rx: &Receiver<OutMsg>) -> Vec<(u16, Option<String>)> {
        let mut v = Vec::new();
        while let Ok(OutMsg(ev)) = rx.recv_timeout(Duration::from_secs(5)) {
            for e in ev {
                if let OutEvent::FlowEnd(f) = e {
                    v.push((f.flow.client().1, f.process.map(|p| p.name.clone())));
                }
            }
        }
        v
    }

    fn stage(live: bool, hold_ms: u64, hold_max_flows: usize) -> (EndpointStage, Arc<StatsHub>) {
        let stats = Arc::new(StatsHub::new(1));
        let cfg = EndpointConfig {
            hold_ms,
            hold_max_flows,
            ..EndpointConfig::default()
        };
        (EndpointStage::new(&cfg, 0, live, stats.clone()), stats)
    }

    #[test]
    fn replay_joins_and_counts() {
        let (mut st, stats) = stage(false, 2000, 10);
        st.ingest(&batch(&[
            record(
                50000,
                "2026-03-10 09:00:01.500",
                r"C:\Windows\System32\ftp.exe",
            ),
            record(50001, "2026-03-10 09:00:09.000", "late.exe"),
            r#"{"EventID":1}"#.to_string(),
            "not json".to_string(),
            "   ".to_string(),
        ]));
        let (in_tx, in_rx) = crossbeam_channel::unbounded();
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        in_tx
            .send(OutMsg(vec![
                ended(50000, T0),
                ended(50001, T0),
                ended(50002, T0),
            ]))
            .unwrap();
        drop(in_tx);
        st.run(in_rx, out_tx);
        let got = processes(&out_rx);
        assert_eq!(
            got,
            [
                (50000, Some("ftp.exe".into())),
                (50001, None),
                (50002, None)
            ]
        );
        let c = lock(&stats.endpoint).clone();
        assert_eq!(c.records_read, 4, "blank lines are not records");
        assert_eq!(
            (c.sysmon, c.ecs, c.ignored_event_ids, c.malformed),
            (2, 0, 1, 1)
        );
        assert_eq!((c.flows_joined, c.flows_unjoined), (1, 2));
        assert_eq!(c.flows_outside_tolerance, 1);
        assert_eq!(c.records_never_joined, 1);
        assert_eq!(c.flows_held, 0, "replay holds nothing");
    }

    #[test]
    fn live_holds_ended_flows_for_late_records() {
        let (mut st, stats) = stage(true, 300, 10);
        let (ltx, lrx) = crossbeam_channel::unbounded();
        st.lines = Some(lrx);
        let (in_tx, in_rx) = crossbeam_channel::unbounded();
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let h = std::thread::spawn(move || st.run(in_rx, out_tx));
        // Live: wall time is the clock, so the flow and its record are "now".
        let start = wall_us();
        in_tx.send(OutMsg(vec![ended(50000, start)])).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(out_rx.try_recv().is_err(), "held, not passed on yet");
        // The record arrives after the flow ended, within the hold.
        let t = crate::output::timefmt::ts(start + 200_000);
        ltx.send(batch(&[record(50000, &t, "late.exe")])).unwrap();
        drop(in_tx);
        let got = processes(&out_rx);
        h.join().unwrap();
        assert_eq!(got, [(50000, Some("late.exe".into()))]);
        let c = lock(&stats.endpoint).clone();
        assert_eq!((c.flows_held, c.held_now, c.flows_joined), (1, 0, 1));
    }

    #[test]
    fn hold_is_bounded() {
        let (mut st, stats) = stage(true, 200, 2);
        let (in_tx, in_rx) = crossbeam_channel::unbounded();
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let start = wall_us();
        st.events(
            vec![ended(1, start), ended(2, start), ended(3, start)],
            &out_tx,
        );
        // The oldest went on at once; two wait for their delay.
        let OutMsg(first) = out_rx.try_recv().unwrap();
        assert!(matches!(&first[..], [OutEvent::FlowEnd(f)] if f.flow.client().1 == 1));
        assert!(out_rx.try_recv().is_err());
        drop(in_tx);
        st.run(in_rx, out_tx);
        let rest = processes(&out_rx);
        assert_eq!(rest, [(2, None), (3, None)]);
        let c = lock(&stats.endpoint).clone();
        assert_eq!((c.hold_overflow, c.flows_held, c.flows_unjoined), (1, 3, 3));
    }

    #[test]
    fn interim_join_carries_to_the_flow_end() {
        let (mut st, _) = stage(false, 0, 1);
        st.ingest(&batch(&[record(
            50000,
            "2026-03-10 09:00:01.000",
            "upload.exe",
        )]));
        let f = flow(50000, T0);
        let rec = Box::new(FlowRecord::new(&f, Default::default(), false));
        let (tx, rx) = crossbeam_channel::unbounded();
        st.events(vec![OutEvent::Interim(rec)], &tx);
        let OutMsg(ev) = rx.try_recv().unwrap();
        let OutEvent::Interim(r) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(r.process.as_ref().unwrap().name, "upload.exe");
        // Hours later the record has expired; the flow's end still names the process.
        st.packet_now_us = T0 + 10 * 3600 * 1_000_000;
        st.expire();
        assert!(st.index.is_empty());
        st.events(vec![ended(50000, T0)], &tx);
        let OutMsg(ev) = rx.try_recv().unwrap();
        let OutEvent::FlowEnd(e) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(e.process.as_ref().unwrap().name, "upload.exe");
        assert_eq!(st.c.flows_joined, 1);
        assert!(st.interim.by_flow.is_empty());
    }

    #[test]
    fn malformed_reports_are_rate_limited() {
        let mut log = MalformedLog::default();
        log.note(3, "first".into());
        assert_eq!(log.suppressed, 2, "one line printed for the batch");
        for i in 0..5000 {
            log.note(1, format!("x{i}"));
        }
        assert_eq!(log.suppressed, 5002);
        assert_eq!(log.latest, "x4999");
        log.flush();
        assert_eq!(log.suppressed, 0);
    }

    #[test]
    fn parallel_load_equals_streamed_ingest() {
        let dir = std::env::temp_dir().join(format!("exfil-endpoint-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("records.json");
        // Enough batches to cycle every buffer of the pipeline, with garbage among them.
        let n = 9 * LOAD_BATCH_LINES as u16;
        let mut lines = Vec::new();
        for i in 0..n {
            lines.push(record(10_000 + i, "2026-03-10 09:00:01.000", "a.exe"));
            if i % 1000 == 7 {
                lines.push("garbage".into());
            }
        }
        std::fs::write(&path, lines.join("\n")).unwrap();
        let (mut loaded, _) = stage(false, 0, 1);
        loaded.load(&path, File::open(&path).unwrap()).unwrap();
        let (mut streamed, _) = stage(false, 0, 1);
        streamed.ingest(&batch(&lines));
        assert_eq!(loaded.c, streamed.c);
        assert_eq!(loaded.c.malformed, u64::from(n).div_ceil(1000));
        assert_eq!(loaded.index.counts, streamed.index.counts);
        assert_eq!(loaded.index.len(), usize::from(n));
        for port in [10_000, 10_000 + n - 1] {
            let c = (crate::decode::addr_from_v4([10, 0, 0, 1]), port);
            let s = (crate::decode::addr_from_v4([10, 0, 0, 2]), 21);
            let (a, b) = (
                loaded.index.join(6, c, s, T0),
                streamed.index.join(6, c, s, T0),
            );
            assert_eq!(a, b);
            assert!(matches!(a, Lookup::Joined(_)));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
