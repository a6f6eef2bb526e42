//! Configuration: one TOML file, every section optional, unknown keys rejected by name.
//! Command-line options override the file (see `cli`).

use crate::decode::DefragConfig;
use crate::detect::config::DetectConfig;
use crate::flow::Timeouts;
use crate::netaddr::CidrSet;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub capture: CaptureConfig,
    pub runtime: RuntimeConfig,
    pub network: NetworkConfig,
    pub flow: FlowConfig,
    pub defrag: DefragSection,
    pub app: AppConfig,
    pub detect: DetectConfig,
    pub output: OutputConfig,
    pub endpoint: EndpointConfig,
}

/// Endpoint telemetry (Sysmon Event ID 3 records) joined to flows to name their process.
/// Nothing is joined, and no thread runs, unless a file or a socket is given.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointConfig {
    /// JSON lines of endpoint records (`--endpoint-events`): read whole before any flow is
    /// judged in replay; followed like `tail -F` (from its end) in live capture.
    pub events_file: Option<PathBuf>,
    /// Unix socket that shippers send newline-delimited JSON records to.
    pub socket: Option<PathBuf>,
    /// `stream` (connections, e.g. socat, Logstash via socat, NXLog `UDSType stream`) or
    /// `dgram` (NXLog `om_uds` and rsyslog `omuxsock` by default).
    pub socket_type: SocketType,
    /// Most shippers connected to the socket at once.
    pub max_clients: usize,
    /// Largest difference between a record's time and its flow's first packet (ms):
    /// endpoint clocks drift, and Sysmon logs a connection when it sees it.
    pub tolerance_ms: u64,
    /// How long a record waits for its flow, past its own time (s). A flow is judged when
    /// it ends, so this bounds the length of flows that still find their record.
    pub retention_secs: u64,
    /// Most records held; past it the one due to expire first is evicted (counted).
    pub max_records: usize,
    /// Live capture: how long an ended flow waits for a late record before it is judged
    /// and logged (ms); 0 = not at all.
    pub hold_ms: u64,
    /// Live capture: most ended flows waiting at once; past it the oldest goes on early.
    pub hold_max_flows: usize,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketType {
    #[default]
    Stream,
    Dgram,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            events_file: None,
            socket: None,
            socket_type: SocketType::Stream,
            max_clients: 64,
            tolerance_ms: 5000,
            retention_secs: 900,
            max_records: 500_000,
            hold_ms: 2000,
            hold_max_flows: 100_000,
        }
    }
}

/// Stream reassembly and protocol detection.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppConfig {
    /// Run reassembly, protocol detection and parsers. Off: flow accounting only (the
    /// cheapest mode, e.g. for a pure NetFlow-style deployment).
    pub enabled: bool,
    /// Bytes per direction handed to the parsers (KiB); past it flows are only counted.
    /// Data channels (ftp-data, TFTP transfers) are always counted in full.
    pub stream_depth_kb: u64,
    /// Out-of-order bytes buffered per direction (KiB) before a hole is declared a gap.
    pub stream_max_buffered_kb: usize,
    /// Out-of-order bytes buffered per worker (MiB).
    pub stream_memcap_mb: usize,
    /// Port registry overrides: `"tcp/2121" = ["ftp"]` adds, `"tcp/8080" = []` removes.
    pub ports: std::collections::HashMap<String, Vec<String>>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            enabled: true,
            stream_depth_kb: 1024,
            stream_max_buffered_kb: 256,
            stream_memcap_mb: 64,
            ports: Default::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// Live interface (`-i`).
    pub interface: Option<String>,
    /// Pcap/pcapng files or directories to replay (`-r`).
    pub files: Vec<PathBuf>,
    pub snaplen: u32,
    pub promiscuous: bool,
    /// Kernel capture buffer, MiB.
    pub buffer_mb: u32,
    /// BPF filter applied to live capture and replay alike.
    pub bpf: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Worker threads (0 = number of CPUs, at least 1).
    pub workers: usize,
    /// Packets per batch handed to a worker.
    pub batch_packets: usize,
    /// Batches queued per worker before back-pressure (replay) or drops (live).
    pub queue_batches: usize,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// Internal networks; default RFC 1918 + IPv6 ULA.
    pub home_net: Vec<String>,
    /// Networks that count as external; default: everything outside home_net.
    pub external_net: Vec<String>,
    /// Named server groups (CIDR lists), e.g. `mail_relays`, `file_servers`,
    /// `backup_targets`; allowlists refer to them as `@name`.
    pub groups: std::collections::HashMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Most concurrent flows across all workers (each worker gets an equal share).
    pub max_flows: usize,
    /// Flow memory cap in MiB; together with the flow footprint it also caps flow count.
    pub memcap_mb: usize,
    /// Whether the innermost VLAN id separates otherwise identical flows.
    pub vlan_in_key: bool,
    pub timeouts: Timeouts,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefragSection {
    pub timeout_secs: u64,
    pub max_trackers: usize,
    pub memcap_mb: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// EVE output file; absent or "-" = stdout.
    pub eve_path: Option<PathBuf>,
    /// Seconds between stats events (wall clock); 0 = only the final one.
    pub stats_interval_secs: u64,
    pub community_id_seed: u16,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            interface: None,
            files: Vec::new(),
            snaplen: 65535,
            promiscuous: true,
            buffer_mb: 64,
            bpf: None,
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            workers: 0,
            batch_packets: 128,
            queue_batches: 64,
        }
    }
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 1_000_000,
            memcap_mb: 512,
            vlan_in_key: true,
            timeouts: Timeouts::default(),
        }
    }
}

impl Default for DefragSection {
    fn default() -> Self {
        let d = DefragConfig::default();
        DefragSection {
            timeout_secs: d.timeout_secs,
            max_trackers: d.max_trackers,
            memcap_mb: d.max_bytes / (1024 * 1024),
        }
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            eve_path: None,
            stats_interval_secs: 30,
            community_id_seed: 0,
        }
    }
}

impl Config {
    /// Load and validate a config file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("config {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks that span fields, naming the offending key.
    pub fn validate(&self) -> Result<(), String> {
        self.home_net()?;
        self.ports()?;
        self.policy()?;
        if self.runtime.batch_packets == 0 {
            return Err("runtime.batch_packets must be at least 1".into());
        }
        if self.runtime.queue_batches == 0 {
            return Err("runtime.queue_batches must be at least 1".into());
        }
        if self.capture.snaplen < 64 {
            return Err("capture.snaplen must be at least 64".into());
        }
        if self.flow.max_flows == 0 && self.flow.memcap_mb == 0 {
            return Err("flow.max_flows and flow.memcap_mb cannot both be 0 (unbounded)".into());
        }
        let e = &self.endpoint;
        if e.max_records == 0 || e.max_records > u32::MAX as usize {
            return Err("endpoint.max_records must be between 1 and 4294967295".into());
        }
        if e.max_clients == 0 {
            return Err("endpoint.max_clients must be at least 1".into());
        }
        if e.hold_ms > 0 && e.hold_max_flows == 0 {
            return Err(
                "endpoint.hold_max_flows must be at least 1 (or endpoint.hold_ms = 0)".into(),
            );
        }
        if self.capture.interface.is_some() && !self.capture.files.is_empty() {
            return Err(
                "capture.interface and capture.files are exclusive: choose live capture or replay"
                    .into(),
            );
        }
        Ok(())
    }

    /// The detection policy: networks, groups, business hours, allowlists.
    pub fn policy(&self) -> Result<crate::detect::policy::Policy, String> {
        crate::detect::policy::Policy::new(
            &self.detect,
            self.home_net()?,
            &self.network.external_net,
            &self.network.groups,
        )
    }

    pub fn ports(&self) -> Result<crate::app::ports::PortRegistry, String> {
        crate::app::ports::PortRegistry::with_overrides(&self.app.ports)
    }

    pub fn home_net(&self) -> Result<CidrSet, String> {
        if self.network.home_net.is_empty() {
            return Ok(CidrSet::rfc1918_ula());
        }
        CidrSet::parse_list(&self.network.home_net.join(","))
            .map_err(|e| format!("network.home_net: {e}"))
    }

    pub fn workers(&self) -> usize {
        match self.runtime.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// Per-worker flow cap from `max_flows` and `memcap_mb`, whichever is tighter.
    pub fn flows_per_worker(&self, per_flow_bytes: usize) -> usize {
        let by_mem = (self.flow.memcap_mb * 1024 * 1024) / per_flow_bytes.max(1);
        let cap = match (self.flow.max_flows, self.flow.memcap_mb) {
            (0, _) => by_mem,
            (n, 0) => n,
            (n, _) => n.min(by_mem),
        };
        (cap / self.workers()).max(1)
    }

    pub fn defrag(&self) -> DefragConfig {
        DefragConfig {
            timeout_secs: self.defrag.timeout_secs,
            max_trackers: self.defrag.max_trackers,
            max_bytes: self.defrag.memcap_mb * 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.flow.timeouts.tcp.established, 600);
        assert_eq!(c.capture.snaplen, 65535);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse("[flow]\nmax_flowz = 3\n").unwrap_err();
        assert!(e.contains("max_flowz"), "{e}");
        let e = Config::parse("[flow.timeouts.tcp]\nestablised = 3\n").unwrap_err();
        assert!(e.contains("establised"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = Config::parse("[network]\nhome_net = [\"10.0.0.0/99\"]\n").unwrap_err();
        assert!(e.contains("network.home_net"), "{e}");
        let e = Config::parse("[capture]\nsnaplen = \"big\"\n").unwrap_err();
        assert!(e.contains("snaplen"), "{e}");
        let e = Config::parse("[runtime]\nbatch_packets = 0\n").unwrap_err();
        assert!(e.contains("runtime.batch_packets"), "{e}");
        let e = Config::parse("[endpoint]\nmax_records = 0\n").unwrap_err();
        assert!(e.contains("endpoint.max_records"), "{e}");
        let e = Config::parse("[endpoint]\ntolerance = 5\n").unwrap_err();
        assert!(e.contains("tolerance"), "{e}");
        let e = Config::parse("[endpoint]\nsocket_type = \"seqpacket\"\n").unwrap_err();
        assert!(e.contains("socket_type") && e.contains("dgram"), "{e}");
    }

    #[test]
    fn endpoint_section() {
        let c = Config::parse(
            "[endpoint]\nevents_file = \"/var/log/sysmon.json\"\nsocket = \"/run/exfil/endpoint.sock\"\ntolerance_ms = 2000\n",
        )
        .unwrap();
        assert_eq!(c.endpoint.tolerance_ms, 2000);
        assert_eq!(
            c.endpoint.socket.as_deref(),
            Some(Path::new("/run/exfil/endpoint.sock"))
        );
        assert_eq!(c.endpoint.hold_ms, 2000);
        assert_eq!(Config::parse("").unwrap().endpoint.events_file, None);
    }
}
