//! Command line. Every option is a shorthand for a config key, applied on top of the
//! config file through the same path as `--set KEY=VALUE`, so validation and error
//! messages are the same wherever a setting comes from.

use crate::config::Config;
use clap::Parser;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  exfil-sensor -r pcaps/http-get.pcap                 replay one file, EVE to stdout
  exfil-sensor -r day1.pcap -r day2/ -o eve.json       several inputs, EVE to a file
  exfil-sensor -i eth1 --bpf 'not port 22' -o /var/log/exfil/eve.json
  exfil-sensor -c sensor.toml --check-config          validate a config and exit
  exfil-sensor -r big.pcap --set flow.timeouts.tcp.established=3600
  exfil-sensor -r day1.pcap --endpoint-events sysmon-day1.json   name each flow's process

Signals: SIGINT/SIGTERM flush every live flow (reason `shutdown`) and a final stats
event, then exit 0. SIGHUP reopens the output file (log rotation).";

#[derive(Debug, Parser)]
#[command(
    name = "exfil-sensor",
    version,
    about = "Detects data leaving the network over file-transfer protocols; writes Suricata-style EVE JSON.",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Replay a pcap/pcapng file, or every file of a directory (sorted by name). Repeatable.
    #[arg(short = 'r', long = "read", global = true, value_name = "PATH")]
    pub read: Vec<PathBuf>,

    /// Capture live from this interface (libpcap), e.g. `-i eth1`.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        conflicts_with = "read"
    )]
    pub interface: Option<String>,

    /// Write EVE JSON lines to this file instead of stdout (`-` = stdout), e.g. `-o eve.json`.
    #[arg(short = 'o', long = "output", global = true, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// TOML configuration file; see README "Configuration", e.g. `-c sensor.toml`.
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Worker threads (default: one per CPU), e.g. `--workers 4`.
    #[arg(short = 'w', long = "workers", global = true, value_name = "N")]
    pub workers: Option<usize>,

    /// Internal networks, comma-separated (default RFC 1918 + fc00::/7), e.g. `--home-net 10.0.0.0/8,2001:db8::/32`.
    #[arg(long = "home-net", global = true, value_name = "CIDR,...")]
    pub home_net: Option<String>,

    /// BPF filter for live capture and replay, e.g. `--bpf 'tcp or udp'`.
    #[arg(long = "bpf", value_name = "FILTER")]
    pub bpf: Option<String>,

    /// Live capture: bytes kept per packet (default 65535), e.g. `--snaplen 1518`.
    #[arg(long = "snaplen", value_name = "BYTES")]
    pub snaplen: Option<u32>,

    /// Live capture: do not put the interface in promiscuous mode.
    #[arg(long = "no-promisc")]
    pub no_promisc: bool,

    /// Live capture: kernel buffer in MiB (default 64), e.g. `--buffer-mb 256`.
    #[arg(long = "buffer-mb", value_name = "MIB")]
    pub buffer_mb: Option<u32>,

    /// Seconds between stats events, 0 = only the final one (default 30), e.g. `--stats-interval 10`.
    #[arg(long = "stats-interval", value_name = "SECS")]
    pub stats_interval: Option<u64>,

    /// Endpoint records (Sysmon Event ID 3 as Winlogbeat/ECS or flat JSON lines) naming the
    /// process of each flow; read whole in replay, followed like `tail -F` live, e.g.
    /// `--endpoint-events sysmon.json`.
    #[arg(long = "endpoint-events", value_name = "PATH")]
    pub endpoint_events: Option<PathBuf>,

    /// Unix socket for shippers streaming endpoint records (newline-delimited JSON), e.g.
    /// `--endpoint-socket /run/exfil/endpoint.sock`.
    #[arg(long = "endpoint-socket", value_name = "PATH")]
    pub endpoint_socket: Option<PathBuf>,

    /// Set any config key, e.g. `--set flow.max_flows=200000` or `--set output.community_id_seed=1`. Repeatable.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Validate the configuration (file and options) and exit: 0 if valid, 1 with the reason if not.
    #[arg(long = "check-config")]
    pub check_config: bool,

    /// Baseline state file (detect.baseline.state_file): loaded at start, saved periodically and at exit.
    #[arg(long = "baseline-state", value_name = "FILE", global = true)]
    pub baseline_state: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Learn baselines from traffic (e.g. a week of pcaps) without alerting, and write the
    /// state file given by --baseline-state. EVE output is only written with -o.
    Baseline,
}

/// Parse `VALUE` as a TOML value, falling back to a plain string (so `--set x=eth0` works).
fn toml_value(v: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {v}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(v.to_string()))
}

fn set_key(root: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts
        .pop()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("--set {key}: empty key"))?;
    let mut t = root;
    for p in parts {
        t = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("--set {key}: `{p}` is not a section"))?;
    }
    t.insert(last.to_string(), value);
    Ok(())
}

impl Args {
    /// Config file (if any) with the options applied on top, validated.
    pub fn config(&self) -> Result<Config, String> {
        let mut table: toml::Table = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read config {}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| format!("config {}: {e}", p.display()))?
            }
            None => toml::Table::new(),
        };
        let mut sets: Vec<(String, toml::Value)> = Vec::new();
        if !self.read.is_empty() {
            let files = self
                .read
                .iter()
                .map(|p| toml::Value::String(p.to_string_lossy().into_owned()))
                .collect();
            sets.push(("capture.files".into(), toml::Value::Array(files)));
        }
        let mut s = |k: &str, v: toml::Value| sets.push((k.to_string(), v));
        if let Some(i) = &self.interface {
            s("capture.interface", toml::Value::String(i.clone()));
        }
        if let Some(o) = &self.output {
            s(
                "output.eve_path",
                toml::Value::String(o.to_string_lossy().into_owned()),
            );
        }
        if let Some(n) = self.workers {
            s("runtime.workers", toml::Value::Integer(n as i64));
        }
        if let Some(h) = &self.home_net {
            let list = h
                .split(',')
                .map(|c| toml::Value::String(c.trim().into()))
                .collect();
            s("network.home_net", toml::Value::Array(list));
        }
        if let Some(b) = &self.bpf {
            s("capture.bpf", toml::Value::String(b.clone()));
        }
        if let Some(n) = self.snaplen {
            s("capture.snaplen", toml::Value::Integer(i64::from(n)));
        }
        if self.no_promisc {
            s("capture.promiscuous", toml::Value::Boolean(false));
        }
        if let Some(n) = self.buffer_mb {
            s("capture.buffer_mb", toml::Value::Integer(i64::from(n)));
        }
        if let Some(n) = self.stats_interval {
            s("output.stats_interval_secs", toml::Value::Integer(n as i64));
        }
        if let Some(p) = &self.baseline_state {
            s(
                "detect.baseline.state_file",
                toml::Value::String(p.to_string_lossy().into_owned()),
            );
        }
        if matches!(self.command, Some(Command::Baseline)) {
            s("detect.learn_only", toml::Value::Boolean(true));
            s("detect.enabled", toml::Value::Boolean(true));
            if self.output.is_none() {
                s("output.eve_path", toml::Value::String("/dev/null".into()));
            }
        }
        if let Some(p) = &self.endpoint_events {
            s(
                "endpoint.events_file",
                toml::Value::String(p.to_string_lossy().into_owned()),
            );
        }
        if let Some(p) = &self.endpoint_socket {
            s(
                "endpoint.socket",
                toml::Value::String(p.to_string_lossy().into_owned()),
            );
        }
        for kv in &self.set {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("--set {kv}: expected KEY=VALUE"))?;
            s(k.trim(), toml_value(v.trim()));
        }
        for (k, v) in sets {
            set_key(&mut table, &k, v)?;
        }
        let cfg: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        cfg.validate()?;
        if cfg.detect.learn_only && cfg.detect.baseline.state_file.is_none() {
            return Err("baseline: give the state file to write with --baseline-state FILE".into());
        }
        // A file list from the config file alone is fine; with neither source there is nothing to do.
        if cfg.capture.interface.is_none() && cfg.capture.files.is_empty() && !self.check_config {
            return Err("nothing to read: give -r FILE|DIR or -i IFACE (see --help)".into());
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("exfil-sensor").chain(v.iter().copied())).unwrap()
    }

    #[test]
    fn options_override_and_set_works() {
        let c = args(&[
            "-r",
            "x.pcap",
            "-w",
            "3",
            "--set",
            "flow.timeouts.tcp.new=99",
        ])
        .config()
        .unwrap();
        assert_eq!(c.runtime.workers, 3);
        assert_eq!(c.flow.timeouts.tcp.new, 99);
        assert_eq!(c.capture.files, vec![PathBuf::from("x.pcap")]);
    }

    #[test]
    fn bad_set_key_is_named() {
        let e = args(&["-r", "x", "--set", "flow.bogus=1"])
            .config()
            .unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = args(&["-r", "x", "--home-net", "10.0.0.0/40"])
            .config()
            .unwrap_err();
        assert!(e.contains("home_net"), "{e}");
    }

    #[test]
    fn endpoint_options_map_to_their_keys() {
        let c = args(&[
            "-r",
            "x.pcap",
            "--endpoint-events",
            "sysmon.json",
            "--endpoint-socket",
            "/run/exfil/endpoint.sock",
            "--set",
            "endpoint.tolerance_ms=1500",
        ])
        .config()
        .unwrap();
        assert_eq!(c.endpoint.events_file, Some(PathBuf::from("sysmon.json")));
        assert_eq!(
            c.endpoint.socket,
            Some(PathBuf::from("/run/exfil/endpoint.sock"))
        );
        assert_eq!(c.endpoint.tolerance_ms, 1500);
    }

    #[test]
    fn needs_an_input() {
        assert!(args(&[]).config().is_err());
    }
}
