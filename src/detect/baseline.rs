//! What is normal here, learnt from traffic and kept across restarts:
//! - outbound bytes per internal host × protocol × hour of the week (a robust running
//!   estimate: mean and mean absolute deviation, exponentially weighted once warmed up);
//! - destination rarity: which internal hosts contacted a destination (IP, or server
//!   name), when it was first seen, and on which ports;
//! - which processes (from endpoint telemetry) talk each protocol from each host.
//!
//! Times are packet times, so a baseline built from old pcaps means what it says.
//! The state file is JSON, written atomically (temporary file + rename).

use crate::app::ports::parse_proto;
use crate::app::AppProto;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// State file format version; another version is rebuilt, not misread.
const VERSION: u32 = 1;
const HOUR_US: u64 = 3_600_000_000;
const DAY_US: u64 = 24 * HOUR_US;
/// Hosts and ports remembered per destination: past these it is common anyway.
const MAX_HOSTS_PER_DEST: usize = 32;
const MAX_PORTS_PER_DEST: usize = 32;
const MAX_PROCESSES: usize = 16;
/// Weight of a new observation once a cell has warmed up (about the last 5 weeks count).
const ALPHA: f64 = 0.2;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Hours observed (hours in which the host sent this protocol at all).
    pub n: u64,
    pub mean: f64,
    /// Mean absolute deviation.
    pub dev: f64,
    pub last_us: u64,
}

impl Cell {
    fn observe(&mut self, x: f64, ts_us: u64) {
        self.n += 1;
        self.last_us = ts_us;
        if self.n == 1 {
            (self.mean, self.dev) = (x, 0.0);
            return;
        }
        // A plain average until 1/ALPHA samples, then exponential weighting.
        let a = (1.0 / self.n as f64).max(ALPHA);
        let d = (x - self.mean).abs();
        self.mean += a * (x - self.mean);
        self.dev += a * (d - self.dev);
    }

    /// The level above which an hour is anomalous: `k` deviations over the mean, with the
    /// deviation at least a tenth of the mean (a host that always sends exactly the same
    /// has no deviation, yet twice its usual is not an incident).
    pub fn limit(&self, k: f64) -> f64 {
        self.mean + k * self.dev.max(self.mean * 0.1)
    }
}

/// Bytes of the hour in progress for one host and protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct OpenHour {
    /// Hours since the epoch.
    hour: u64,
    /// Hour of the week (local time) the bytes count for.
    how: u16,
    bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dest {
    pub first_us: u64,
    pub last_us: u64,
    pub hosts: Vec<IpAddr>,
    pub ports: Vec<u16>,
}

/// A destination: an address, or a server name (HTTP Host, TLS SNI).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DestKey {
    Ip(IpAddr),
    Name(String),
}

type HostProto = (IpAddr, AppProto);

#[derive(Debug, Default)]
pub struct Baseline {
    /// Packet time of the first and latest observation.
    pub started_us: u64,
    pub latest_us: u64,
    cells: HashMap<(IpAddr, AppProto, u16), Cell>,
    open: HashMap<HostProto, OpenHour>,
    dests: HashMap<DestKey, Dest>,
    procs: HashMap<HostProto, Vec<String>>,
    pub max_cells: usize,
    pub max_dests: usize,
    pub evicted: u64,
}

/// Rarity of a destination, as the alerts report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rarity {
    /// Internal hosts other than the one asking that contacted it.
    pub other_hosts: u64,
    /// The asking host went there before: an established destination of its own.
    pub seen_by_host: bool,
    pub first_us: Option<u64>,
    pub port_seen: bool,
}

impl Rarity {
    /// New for the asking host, and at most `max_hosts` internal hosts (it included)
    /// went there: a partner server one host uses every week is not rare.
    pub fn rare(&self, max_hosts: u64) -> bool {
        !self.seen_by_host && self.other_hosts < max_hosts
    }
}

impl Baseline {
    pub fn new(max_cells: usize, max_dests: usize) -> Baseline {
        Baseline {
            max_cells,
            max_dests,
            ..Baseline::default()
        }
    }

    /// Enough traffic seen (packet time) for baselines and rarity to mean something.
    pub fn mature(&self, learning_days: u64) -> bool {
        self.started_us > 0
            && self.latest_us.saturating_sub(self.started_us) >= learning_days * DAY_US
    }

    pub fn days_learnt(&self) -> f64 {
        self.latest_us.saturating_sub(self.started_us) as f64 / DAY_US as f64
    }

    fn clock(&mut self, ts_us: u64) {
        if self.started_us == 0 || ts_us < self.started_us {
            self.started_us = ts_us;
        }
        self.latest_us = self.latest_us.max(ts_us);
    }

    /// Bytes `host` already sent over `proto` in the hour of `ts_us`, and the cell that
    /// hour of the week is judged against.
    pub fn hour(&self, host: IpAddr, proto: AppProto, how: u16, ts_us: u64) -> (u64, Option<Cell>) {
        let so_far = self
            .open
            .get(&(host, proto))
            .filter(|o| o.hour == ts_us / HOUR_US)
            .map_or(0, |o| o.bytes);
        (so_far, self.cells.get(&(host, proto, how)).copied())
    }

    /// Count outbound bytes of `host` over `proto` at `ts_us` (hour of week `how`). An hour
    /// is folded into its cell when the host's next bytes fall in a later hour.
    pub fn learn_volume(
        &mut self,
        host: IpAddr,
        proto: AppProto,
        how: u16,
        ts_us: u64,
        bytes: u64,
    ) {
        self.clock(ts_us);
        let hour = ts_us / HOUR_US;
        let o = self.open.entry((host, proto)).or_insert(OpenHour {
            hour,
            how,
            bytes: 0,
        });
        if o.hour != hour {
            let done = *o;
            *o = OpenHour {
                hour,
                how,
                bytes: 0,
            };
            if done.hour < hour {
                self.cells
                    .entry((host, proto, done.how))
                    .or_default()
                    .observe(done.bytes as f64, done.hour * HOUR_US);
            }
        }
        o.bytes += bytes;
        if self.cells.len() > self.max_cells {
            self.evicted += evict_oldest(&mut self.cells, self.max_cells, |c| c.last_us);
        }
    }

    /// How rare `dest` is for the network, seen from `host`.
    pub fn rarity(&self, dest: &DestKey, host: IpAddr, port: u16) -> Rarity {
        match self.dests.get(dest) {
            None => Rarity {
                other_hosts: 0,
                seen_by_host: false,
                first_us: None,
                port_seen: false,
            },
            Some(d) => Rarity {
                other_hosts: d.hosts.iter().filter(|h| **h != host).count() as u64,
                seen_by_host: d.hosts.contains(&host),
                first_us: Some(d.first_us),
                port_seen: d.ports.contains(&port),
            },
        }
    }

    pub fn learn_destination(&mut self, dest: DestKey, host: IpAddr, port: u16, ts_us: u64) {
        self.clock(ts_us);
        let d = self.dests.entry(dest).or_insert_with(|| Dest {
            first_us: ts_us,
            ..Dest::default()
        });
        d.first_us = d.first_us.min(ts_us);
        d.last_us = d.last_us.max(ts_us);
        if d.hosts.len() < MAX_HOSTS_PER_DEST && !d.hosts.contains(&host) {
            d.hosts.push(host);
        }
        if d.ports.len() < MAX_PORTS_PER_DEST && !d.ports.contains(&port) {
            d.ports.push(port);
        }
        if self.dests.len() > self.max_dests {
            self.evicted += evict_oldest(&mut self.dests, self.max_dests, |d| d.last_us);
        }
    }

    /// Processes `host` used for `proto` so far.
    pub fn processes(&self, host: IpAddr, proto: AppProto) -> &[String] {
        self.procs.get(&(host, proto)).map_or(&[], Vec::as_slice)
    }

    pub fn learn_process(&mut self, host: IpAddr, proto: AppProto, name: &str) {
        let list = self.procs.entry((host, proto)).or_default();
        if list.len() < MAX_PROCESSES && !list.iter().any(|p| p == name) {
            list.push(name.to_string());
        }
    }

    pub fn sizes(&self) -> (usize, usize) {
        (self.cells.len(), self.dests.len())
    }

    /// Write the state atomically: a crash mid-write leaves the previous file intact.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let file = StateFile::from(self);
        let tmp = tmp_path(path);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            serde_json::to_writer(std::io::BufWriter::new(&mut f), &file)?;
            f.flush()?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot save baseline to {}: {e}", path.display())
        })
    }

    /// Load a state file. `Ok(None)`: there is none yet. `Err`: it is unreadable, corrupt
    /// or of another version — the caller reports it and starts afresh.
    pub fn load(
        path: &Path,
        max_cells: usize,
        max_dests: usize,
    ) -> Result<Option<Baseline>, String> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read baseline {}: {e}", path.display())),
        };
        let file: StateFile = serde_json::from_slice(&text)
            .map_err(|e| format!("baseline {} is corrupt: {e}", path.display()))?;
        if file.version != VERSION {
            return Err(format!(
                "baseline {} has format version {} (this build reads {VERSION})",
                path.display(),
                file.version
            ));
        }
        file.into_baseline(max_cells, max_dests)
            .map(Some)
            .map_err(|e| format!("baseline {} is corrupt: {e}", path.display()))
    }

    /// Check at start that the state file can be written, so a bad path fails now and
    /// not at the first save hours later.
    pub fn check_writable(path: &Path) -> Result<(), String> {
        let tmp = tmp_path(path);
        std::fs::File::create(&tmp)
            .and_then(|_| std::fs::remove_file(&tmp))
            .map_err(|e| {
                format!(
                    "detect.baseline.state_file {}: not writable: {e}",
                    path.display()
                )
            })
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Drop the least recently seen tenth (at least the excess) of a map over its cap: one
/// scan per many inserts.
fn evict_oldest<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    cap: usize,
    last: impl Fn(&V) -> u64,
) -> u64 {
    let excess = map.len().saturating_sub(cap).max(cap / 10).min(map.len());
    let mut by_age: Vec<(u64, K)> = map.iter().map(|(k, v)| (last(v), k.clone())).collect();
    by_age.sort_unstable_by_key(|(t, _)| *t);
    for (_, k) in by_age.into_iter().take(excess) {
        map.remove(&k);
    }
    excess as u64
}

/// The on-disk form: lists of entries (JSON maps need string keys).
#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    started_us: u64,
    latest_us: u64,
    cells: Vec<CellEntry>,
    open: Vec<OpenEntry>,
    destinations: Vec<DestEntry>,
    processes: Vec<ProcEntry>,
}

#[derive(Serialize, Deserialize)]
struct CellEntry {
    host: IpAddr,
    proto: String,
    hour_of_week: u16,
    #[serde(flatten)]
    cell: Cell,
}

#[derive(Serialize, Deserialize)]
struct OpenEntry {
    host: IpAddr,
    proto: String,
    #[serde(flatten)]
    open: OpenHour,
}

#[derive(Serialize, Deserialize)]
struct DestEntry {
    dest: DestKey,
    #[serde(flatten)]
    info: Dest,
}

#[derive(Serialize, Deserialize)]
struct ProcEntry {
    host: IpAddr,
    proto: String,
    processes: Vec<String>,
}

impl From<&Baseline> for StateFile {
    fn from(b: &Baseline) -> StateFile {
        StateFile {
            version: VERSION,
            started_us: b.started_us,
            latest_us: b.latest_us,
            cells: b
                .cells
                .iter()
                .map(|(&(host, p, how), c)| CellEntry {
                    host,
                    proto: p.name().into(),
                    hour_of_week: how,
                    cell: *c,
                })
                .collect(),
            open: b
                .open
                .iter()
                .map(|(&(host, p), o)| OpenEntry {
                    host,
                    proto: p.name().into(),
                    open: *o,
                })
                .collect(),
            destinations: b
                .dests
                .iter()
                .map(|(k, d)| DestEntry {
                    dest: k.clone(),
                    info: d.clone(),
                })
                .collect(),
            processes: b
                .procs
                .iter()
                .map(|(&(host, p), l)| ProcEntry {
                    host,
                    proto: p.name().into(),
                    processes: l.clone(),
                })
                .collect(),
        }
    }
}

impl StateFile {
    fn into_baseline(self, max_cells: usize, max_dests: usize) -> Result<Baseline, String> {
        let proto = |s: &str| parse_proto(s).ok_or_else(|| format!("unknown protocol {s:?}"));
        let mut b = Baseline::new(max_cells, max_dests);
        b.started_us = self.started_us;
        b.latest_us = self.latest_us;
        for c in self.cells {
            if c.hour_of_week >= 168 || !c.cell.mean.is_finite() || !c.cell.dev.is_finite() {
                return Err(format!("bad cell for {} {}", c.host, c.proto));
            }
            b.cells
                .insert((c.host, proto(&c.proto)?, c.hour_of_week), c.cell);
        }
        for o in self.open {
            b.open.insert((o.host, proto(&o.proto)?), o.open);
        }
        for d in self.destinations {
            b.dests.insert(d.dest, d.info);
        }
        for p in self.processes {
            b.procs.insert((p.host, proto(&p.proto)?), p.processes);
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 20, 0, 16));
    const WEEK: u64 = 7 * DAY_US;
    const T0: u64 = 1_770_714_000_000_000; // 2026-02-10 09:00 UTC, a Tuesday

    fn weeks_of_mail(b: &mut Baseline, weeks: u64, bytes: u64) {
        for w in 0..weeks {
            b.learn_volume(H, AppProto::Smtp, 34, T0 + w * WEEK, bytes);
        }
    }

    #[test]
    fn hours_fold_into_their_cell_when_the_next_hour_starts() {
        let mut b = Baseline::new(100, 100);
        weeks_of_mail(&mut b, 4, 4000);
        // Three hours closed, the fourth still open.
        let (so_far, cell) = b.hour(H, AppProto::Smtp, 34, T0 + 3 * WEEK + 60_000_000);
        assert_eq!(so_far, 4000);
        let c = cell.unwrap();
        assert_eq!(c.n, 3);
        assert!((c.mean - 4000.0).abs() < 1e-6);
        assert!(c.limit(4.0) >= 4000.0 * 1.4);
        assert!(!b.mature(28));
        assert!(b.mature(21));
    }

    #[test]
    fn estimate_resists_one_outlier() {
        let mut c = Cell::default();
        for x in [100.0, 110.0, 90.0, 100.0, 105.0, 95.0, 100_000.0, 100.0] {
            c.observe(x, 0);
        }
        // One huge hour raises the mean but later ordinary hours pull it back down.
        assert!(c.mean < 25_000.0, "{c:?}");
    }

    #[test]
    fn rarity_counts_other_hosts_and_ports() {
        let mut b = Baseline::new(100, 100);
        let d = DestKey::Ip("198.51.100.80".parse().unwrap());
        assert_eq!(b.rarity(&d, H, 80).other_hosts, 0);
        for i in 11..16 {
            b.learn_destination(d.clone(), IpAddr::V4([10, 20, 0, i].into()), 80, T0);
        }
        let r = b.rarity(&d, H, 80);
        assert_eq!(
            (r.other_hosts, r.port_seen, r.first_us),
            (5, true, Some(T0))
        );
        assert!(!b.rarity(&d, H, 8080).port_seen);
    }

    #[test]
    fn caps_evict_the_least_recently_seen() {
        let mut b = Baseline::new(100, 10);
        for i in 0..50u64 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32));
            b.learn_destination(DestKey::Ip(ip), H, 80, T0 + i);
        }
        assert!(b.sizes().1 <= 11);
        assert!(b.evicted >= 39);
        // The newest survive.
        let newest = DestKey::Ip(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + 49)));
        assert!(b.rarity(&newest, H, 80).first_us.is_some());
    }

    #[test]
    fn state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baseline.json");
        let mut b = Baseline::new(100, 100);
        weeks_of_mail(&mut b, 4, 4000);
        b.learn_destination(DestKey::Name("example.com".into()), H, 443, T0);
        b.learn_process(H, AppProto::Smtp, "outlook.exe");
        Baseline::check_writable(&path).unwrap();
        b.save(&path).unwrap();
        let l = Baseline::load(&path, 100, 100).unwrap().unwrap();
        assert_eq!((l.started_us, l.latest_us), (b.started_us, b.latest_us));
        assert_eq!(
            l.hour(H, AppProto::Smtp, 34, T0 + 3 * WEEK),
            b.hour(H, AppProto::Smtp, 34, T0 + 3 * WEEK)
        );
        assert_eq!(l.processes(H, AppProto::Smtp), ["outlook.exe"]);
        assert_eq!(
            l.rarity(&DestKey::Name("example.com".into()), H, 443)
                .first_us,
            Some(T0)
        );
        assert!(!tmp_path(&path).exists());
    }

    #[test]
    fn corrupt_or_foreign_state_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baseline.json");
        assert!(Baseline::load(&path, 10, 10).unwrap().is_none());
        for bad in [
            &b"{not json"[..],
            b"",
            b"{\"version\":99,\"started_us\":0,\"latest_us\":0,\"cells\":[],\"open\":[],\"destinations\":[],\"processes\":[]}",
            b"{\"version\":1,\"started_us\":0,\"latest_us\":0,\"cells\":[{\"host\":\"10.0.0.1\",\"proto\":\"gopher\",\"hour_of_week\":1,\"n\":1,\"mean\":1.0,\"dev\":0.0,\"last_us\":0}],\"open\":[],\"destinations\":[],\"processes\":[]}",
            b"{\"version\":1,\"started_us\":0,\"latest_us\":0,\"cells\":[{\"host\":\"10.0.0.1\",\"proto\":\"smtp\",\"hour_of_week\":900,\"n\":1,\"mean\":1.0,\"dev\":0.0,\"last_us\":0}],\"open\":[],\"destinations\":[],\"processes\":[]}",
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = Baseline::load(&path, 10, 10).unwrap_err();
            assert!(e.contains("baseline"), "{e}");
        }
        let e = Baseline::check_writable(Path::new("/nonexistent-dir/b.json")).unwrap_err();
        assert!(e.contains("detect.baseline.state_file"), "{e}");
    }
}
