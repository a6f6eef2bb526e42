//! The analytics engine: judges each flow record (interim or final) with the five
//! analytics, applies the allowlist, folds repeats, then learns from final records.
//! Each analytic lives in its own module as an `impl Engine` block.

use super::aggregate::Aggregator;
use super::alert::Alert;
use super::baseline::{Baseline, DestKey};
use super::config::DetectConfig;
use super::policy::{Policy, Verdict};
use super::record::FlowRecord;
use super::view::{family, View};
use super::window::{Entry, Window};
use crate::app::ports::PortRegistry;
use crate::app::AppProto;
use hashbrown::HashMap;
use serde_json::json;
use std::hash::Hash;
use std::net::IpAddr;
use std::path::PathBuf;

/// Keys remembered per window (hosts, host × domain pairs).
const MAX_WINDOW_KEYS: usize = 100_000;
/// Linked sessions (control flow plus data channels) remembered this long after their last flow.
const SESSION_TTL_US: u64 = 2 * 3_600_000_000;

/// Counters of the detection stage, for `stats`.
#[derive(Clone, Debug, Default)]
pub struct DetectCounters {
    pub records: u64,
    pub interim_records: u64,
    /// Alerts emitted per analytic, in [`ANALYTICS`] order.
    pub alerts: [u64; 5],
    pub folded: u64,
    pub allowlisted: u64,
    pub expired_allowlist_hits: u64,
    pub baseline_cells: u64,
    pub baseline_destinations: u64,
    pub baseline_evicted: u64,
    pub baseline_saves: u64,
    pub baseline_save_errors: u64,
    /// The state file could not be used at start and was rebuilt.
    pub baseline_rebuilt: u64,
    pub window_evicted: u64,
}

pub const ANALYTICS: [&str; 5] = ["AN1173", "AN0367", "AN1169", "AN0423", "AN0030"];

/// Bytes and flows of a linked session (FTP control + data channels, TFTP request + transfer).
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The control flow's id (or the flow's own).
    pub id: u64,
    pub sent: u64,
    pub received: u64,
    pub flows: Vec<u64>,
}

impl Session {
    pub fn ratio(&self) -> f64 {
        self.sent as f64 / self.received.max(1) as f64
    }
}

#[derive(Default)]
struct SessionAcc {
    sent: u64,
    received: u64,
    flows: Vec<u64>,
    last_us: u64,
}

/// An alert-to-be and what makes it a repeat of an earlier one.
pub struct Candidate {
    pub alert: Alert,
    /// Same key and rule: the same finding (one session, one host × domain window...).
    pub key: u64,
}

pub struct Engine {
    pub(super) cfg: DetectConfig,
    pub(super) policy: Policy,
    pub(super) ports: PortRegistry,
    pub(super) baseline: Baseline,
    pub(super) staged: Window<IpAddr>,
    pub(super) dns: Window<(IpAddr, String)>,
    pub(super) dense: Window<(IpAddr, String)>,
    sessions: HashMap<u64, SessionAcc>,
    /// Recent cleartext uploads per host, for staging reads that arrive after them.
    pub(super) uploads: HashMap<IpAddr, Vec<(FlowRecord, Session)>>,
    /// (finding key, sid) → packet time it fired: a finding alerts once, not per record.
    fired: HashMap<(u64, u32), u64>,
    agg: Aggregator,
    state_file: Option<PathBuf>,
    /// `baseline` mode: learn only, no alerts.
    learn_only: bool,
    /// Endpoint telemetry is configured: a flow without a process had no matching record.
    endpoint_feed: bool,
    now_us: u64,
    next_gc_us: u64,
    pub counters: DetectCounters,
}

impl Engine {
    pub fn new(
        cfg: DetectConfig,
        policy: Policy,
        ports: PortRegistry,
        learn_only: bool,
        endpoint_feed: bool,
    ) -> Engine {
        let b = &cfg.baseline;
        let mut counters = DetectCounters::default();
        let state_file = b.state_file.clone().filter(|p| !p.as_os_str().is_empty());
        let baseline = match state_file
            .as_deref()
            .map(|p| Baseline::load(p, b.max_cells, b.max_destinations))
        {
            Some(Ok(Some(loaded))) => {
                eprintln!(
                    "exfil-sensor: baseline loaded: {:.1} days learnt, {} cells, {} destinations",
                    loaded.days_learnt(),
                    loaded.sizes().0,
                    loaded.sizes().1
                );
                loaded
            }
            Some(Err(e)) => {
                eprintln!(
                    "exfil-sensor: {e}; starting a new baseline (learning period applies again)"
                );
                counters.baseline_rebuilt += 1;
                Baseline::new(b.max_cells, b.max_destinations)
            }
            _ => Baseline::new(b.max_cells, b.max_destinations),
        };
        Engine {
            staged: Window::new(cfg.an0423.window_secs, MAX_WINDOW_KEYS),
            dns: Window::new(cfg.an0367.dns_window_secs, MAX_WINDOW_KEYS),
            dense: Window::new(cfg.an0367.dns_window_secs, MAX_WINDOW_KEYS),
            agg: Aggregator::new(cfg.aggregate_secs),
            cfg,
            policy,
            ports,
            baseline,
            sessions: HashMap::new(),
            uploads: HashMap::new(),
            fired: HashMap::new(),
            state_file,
            learn_only,
            endpoint_feed,
            now_us: 0,
            next_gc_us: 0,
            counters,
        }
    }

    /// Judge one record; alerts to emit go to `out`.
    pub fn judge(&mut self, rec: &FlowRecord, out: &mut Vec<Alert>) {
        self.counters.records += 1;
        if !rec.ended {
            self.counters.interim_records += 1;
        }
        self.now_us = self.now_us.max(rec.last_us);
        out.extend(self.agg.due(Some(self.now_us)));
        let Some(v) = View::of(rec, &self.policy) else {
            return;
        };
        let session = self.session(&v);
        let mut cands = Vec::new();
        if !self.learn_only {
            self.an1173(&v, &session, &mut cands);
            self.an0367(&v, &session, &mut cands);
            self.an1169(&v, &session, &mut cands);
            self.an0423(&v, &session, &mut cands);
            self.an0030(&v, &mut cands);
        }
        if rec.ended {
            self.learn(&v, &session, &mut cands);
        }
        for c in cands {
            if let Some((a, host, peer)) = self.admit(c) {
                out.extend(self.agg.offer(a, host, peer));
            }
        }
        self.gc();
    }

    /// End of input: summaries of every open aggregation window.
    pub fn flush(&mut self, out: &mut Vec<Alert>) {
        out.extend(self.agg.due(None));
    }

    /// Repeats, allowlist and the process attribution note; the alert is then counted.
    fn admit(&mut self, c: Candidate) -> Option<(Alert, IpAddr, IpAddr)> {
        let mut a = c.alert;
        let v = View::of(&a.flow, &self.policy)?;
        let (host, peer) = (v.host, v.peer);
        let sid = a.rule.sid;
        if self.fired.insert((c.key, sid), a.ts_us).is_some() {
            return None;
        }
        match self
            .policy
            .allowed(a.rule.analytic, v.rec, &v.host_addr, &v.peer_addr, a.ts_us)
        {
            Verdict::Suppressed(_) => {
                self.counters.allowlisted += 1;
                return None;
            }
            Verdict::Expired(entry) => {
                self.counters.expired_allowlist_hits += 1;
                a.measured
                    .insert("allowlist_expired".into(), entry.describe());
                a.reason.push_str(&format!(
                    " An allowlist entry of {} covered this but expired on {}; review it.",
                    entry.owner, entry.expires
                ));
            }
            Verdict::NotListed => {}
        }
        let local = format!("{} {}", v.local.describe(), self.cfg.timezone);
        let no_process = v.rec.process.is_none();
        a.measured.insert("local_time".into(), local.into());
        if no_process {
            let why = if self.endpoint_feed {
                "unknown: no endpoint record matched this flow"
            } else {
                "unknown: no endpoint telemetry is fed to the sensor"
            };
            a.measured.insert("process".into(), why.into());
        }
        if let Some(i) = ANALYTICS.iter().position(|x| *x == a.rule.analytic) {
            self.counters.alerts[i] += 1;
        }
        Some((a, host, peer))
    }

    /// Totals of the session this flow belongs to, this flow included.
    fn session(&self, v: &View) -> Session {
        let id = v.rec.app.parent_flow_id.unwrap_or(v.rec.flow_id);
        let mut s = Session {
            id,
            sent: v.sent,
            received: v.received,
            flows: vec![v.rec.flow_id],
        };
        if let Some(acc) = self.sessions.get(&id) {
            s.sent += acc.sent;
            s.received += acc.received;
            s.flows
                .extend(acc.flows.iter().filter(|f| **f != v.rec.flow_id));
        }
        s
    }

    /// Learn from a final record: sessions, windows, baselines.
    fn learn(&mut self, v: &View, s: &Session, cands: &mut Vec<Candidate>) {
        let rec = v.rec;
        // Only sessions that can have more members are remembered: one entry per flow
        // would cost about 120 bytes for every flow of the TTL's two hours.
        if rec.app.parent_flow_id.is_some() || matches!(v.proto, AppProto::Ftp | AppProto::Tftp) {
            let acc = self.sessions.entry(s.id).or_default();
            acc.sent += v.sent;
            acc.received += v.received;
            acc.last_us = rec.last_us;
            if acc.flows.len() < 32 {
                acc.flows.push(rec.flow_id);
            }
        }
        self.learn_windows(v, cands);
        let fam = family(v.proto);
        let ts = rec.first_us;
        if v.outbound() && baselined(fam) {
            self.baseline
                .learn_volume(v.host, fam, v.local.hour_of_week(), ts, v.sent);
        }
        if v.host_is_client && !v.peer_internal {
            self.baseline
                .learn_destination(DestKey::Ip(v.peer), v.host, v.peer_port, ts);
            if let Some(name) = &rec.app.features.server_name {
                self.baseline.learn_destination(
                    DestKey::Name(name.clone()),
                    v.host,
                    v.peer_port,
                    ts,
                );
            }
        }
        if let (Some(p), true) = (&rec.process, fam.is_named()) {
            self.baseline.learn_process(v.host, fam, &p.name);
        }
    }

    /// Window sums that alert when they cross a line (DNS volume, dense fields), and the
    /// staging reads AN0423 looks back on.
    fn learn_windows(&mut self, v: &View, cands: &mut Vec<Candidate>) {
        let rec = v.rec;
        let f = &rec.app.features;
        let at = |amount, tag| Entry {
            ts_us: rec.last_us,
            amount,
            flow_id: rec.flow_id,
            tag,
        };
        if v.proto == AppProto::Dns && v.host_is_client {
            for d in &f.dns {
                let key = (v.host, d.domain.clone());
                self.dns
                    .add(key.clone(), at(d.qname_bytes + d.rdata_bytes, 0));
                self.add_dense(&key, d.dense_names, &d.dense_values, &at);
                if !self.learn_only {
                    self.dns_volume(v, d, cands);
                    self.stuffed(v, &d.domain, "dns.rrname", cands);
                }
            }
        }
        if f.dense_fields > 0 && v.host_is_client && !v.peer_internal {
            let dest = f.server_name.clone().unwrap_or_else(|| v.peer.to_string());
            self.add_dense(
                &(v.host, dest.clone()),
                f.dense_fields,
                &f.dense_values,
                &at,
            );
            if !self.learn_only {
                let field = f.densest.as_ref().map_or("http", |d| d.field.as_str());
                self.stuffed(v, &dest, field, cands);
            }
        }
        self.learn_staging(v, cands);
    }

    /// Dense values of a flow: each remembered hash counts once per key and window; values
    /// past the per-flow hash cap count as new.
    fn add_dense(
        &mut self,
        key: &(IpAddr, String),
        count: u64,
        hashes: &[u64],
        at: &dyn Fn(u64, u64) -> Entry,
    ) {
        for h in hashes {
            // Tag 0 means "untagged": keep every hash non-zero.
            self.dense.add(key.clone(), at(1, h | 1));
        }
        let rest = count.saturating_sub(hashes.len() as u64);
        if rest > 0 {
            self.dense.add(key.clone(), at(rest, 0));
        }
    }

    fn gc(&mut self) {
        if self.now_us < self.next_gc_us {
            return;
        }
        self.next_gc_us = self.now_us + 60_000_000;
        let now = self.now_us;
        self.sessions
            .retain(|_, s| s.last_us + SESSION_TTL_US >= now);
        let keep = (self
            .cfg
            .aggregate_secs
            .max(self.cfg.an0367.dns_window_secs)
            .max(self.cfg.an0423.window_secs)
            * 1_000_000)
            .max(SESSION_TTL_US);
        self.fired.retain(|_, t| *t + keep >= now);
        self.staged.expire(now);
        self.expire_uploads(now);
        self.dns.expire(now);
        self.dense.expire(now);
        self.counters.window_evicted = self.staged.evicted + self.dns.evicted + self.dense.evicted;
        self.counters.folded = self.agg.folded;
        let (cells, dests) = self.baseline.sizes();
        self.counters.baseline_cells = cells as u64;
        self.counters.baseline_destinations = dests as u64;
        self.counters.baseline_evicted = self.baseline.evicted;
    }

    /// Save the baseline (periodically and at exit). Failures are counted and logged.
    pub fn save(&mut self) {
        let Some(path) = &self.state_file else {
            return;
        };
        match self.baseline.save(path) {
            Ok(()) => self.counters.baseline_saves += 1,
            Err(e) => {
                if self.counters.baseline_save_errors == 0 {
                    eprintln!("exfil-sensor: {e} (further failures are counted in stats)");
                }
                self.counters.baseline_save_errors += 1;
            }
        }
        self.counters.folded = self.agg.folded;
        let (cells, dests) = self.baseline.sizes();
        self.counters.baseline_cells = cells as u64;
        self.counters.baseline_destinations = dests as u64;
    }

    pub fn has_state_file(&self) -> bool {
        self.state_file.is_some()
    }

    /// Baselines and rarity may fire: the learning period is over.
    pub(super) fn mature(&self) -> bool {
        self.baseline.mature(self.cfg.baseline.learning_days)
    }
}

/// Protocols with an hour-of-week volume baseline (AN0367).
pub fn baselined(p: AppProto) -> bool {
    matches!(
        p,
        AppProto::Ftp | AppProto::Smb | AppProto::Smtp | AppProto::Tftp | AppProto::Dns
    )
}

/// A stable key for a finding.
pub fn key(x: impl Hash) -> u64 {
    ahash::RandomState::with_seeds(7, 11, 13, 17).hash_one(x)
}

/// The common measured values of a flow-based alert.
pub fn measured_flow(a: Alert, v: &View, s: &Session) -> Alert {
    a.measured("app_proto", v.proto.name())
        .measured("host", v.host.to_string())
        .measured("peer", v.peer.to_string())
        .measured("peer_port", v.peer_port)
        .measured("bytes_out", s.sent)
        .measured("bytes_in", s.received)
        .measured("flows", s.flows.len())
        .measured("duration_s", v.rec.duration_us() / 1_000_000)
        .measured("flow_ended", v.rec.ended)
        .measured(
            "send_receive_ratio",
            json!((s.ratio() * 10.0).round() / 10.0),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::session::AppSummary;
    use crate::decode::addr_from_v4;
    use crate::netaddr::CidrSet;

    fn engine() -> Engine {
        let cfg = DetectConfig::default();
        let policy = Policy::new(
            &cfg,
            CidrSet::parse_list("10.0.0.0/8").unwrap(),
            &[],
            &std::collections::HashMap::new(),
        )
        .unwrap();
        Engine::new(cfg, policy, PortRegistry::default(), false, false)
    }

    /// A raw upload to port 4444 that has sent 40 MiB after 5 minutes and is still going.
    fn upload(sent: u64, ended: bool) -> FlowRecord {
        FlowRecord {
            flow_id: 77,
            proto: 6,
            client: (addr_from_v4([10, 0, 0, 5]), 50000),
            server: (addr_from_v4([203, 0, 113, 9]), 4444),
            first_us: 1_770_714_000_000_000,
            last_us: 1_770_714_300_000_000,
            pkts: [1000, 500],
            bytes: [sent, 60_000],
            payload: [sent - 50_000, 0],
            app: AppSummary {
                app: AppProto::Failed,
                ..AppSummary::default()
            },
            ended,
            taken_at_us: 0,
            process: None,
        }
    }

    #[test]
    fn running_flows_alert_once_while_they_run() {
        let mut e = engine();
        let mut out = Vec::new();
        e.judge(&upload(5 << 20, false), &mut out);
        assert!(out.is_empty(), "below the volume floor so far");
        e.judge(&upload(40 << 20, false), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rule.sid, 9_003_001);
        assert_eq!(out[0].measured["flow_ended"], false);
        assert!(out[0].measured["process"]
            .as_str()
            .unwrap()
            .contains("no endpoint telemetry"));
        // The same finding at the flow's end is not alerted again.
        e.judge(&upload(80 << 20, true), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(e.counters.interim_records, 2);
        assert_eq!(e.counters.alerts, [0, 0, 0, 0, 1]);
    }

    #[test]
    fn learning_only_never_alerts() {
        let mut e = engine();
        e.learn_only = true;
        let mut out = Vec::new();
        e.judge(&upload(80 << 20, true), &mut out);
        assert!(out.is_empty());
        assert_eq!(e.baseline.sizes().1, 1, "the destination is learnt");
    }

    /// An HTTP upload of `sent` bytes by `image` from 10.0.0.5, `day` days after the first.
    fn http_upload(day: u64, image: &str, sent: u64) -> FlowRecord {
        let mut r = upload(sent, true);
        r.flow_id = 100 + day;
        r.server.1 = 80;
        r.first_us += day * 86_400_000_000;
        r.last_us += day * 86_400_000_000;
        r.app.app = AppProto::Http;
        r.process = Some(std::sync::Arc::new(crate::endpoint::Process {
            name: image.into(),
            ..Default::default()
        }));
        r
    }

    #[test]
    fn a_process_new_for_the_host_and_protocol_is_flagged_after_learning() {
        let mut e = engine();
        let mut out = Vec::new();
        for day in 0..8 {
            e.judge(&http_upload(day, "chrome.exe", 2 << 20), &mut out);
        }
        assert!(out.is_empty(), "{out:?}");
        e.judge(&http_upload(9, "chrome.exe", 2 << 20), &mut out);
        assert!(out.is_empty(), "the usual process: {out:?}");
        e.judge(&http_upload(10, "rclone.exe", 2 << 20), &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].rule.sid, 9_042_303);
        assert_eq!(
            out[0].measured["usual_processes"],
            serde_json::json!(["chrome.exe"])
        );
    }
}
