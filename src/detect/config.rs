//! The `[detect]` configuration: business hours, thresholds per analytic, baseline
//! settings and allowlists. Defaults are documented in README "Detections"; every value
//! is validated at start and a bad one is reported by its key.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Run the analytics (off: flows and app events only).
    pub enabled: bool,
    /// IANA time zone of the business hours, e.g. "Europe/Berlin".
    pub timezone: String,
    /// Running flows are judged every this many seconds of packet time (interim checks).
    pub interim_secs: u64,
    /// Repeats of one (analytic, host, destination) within this window fold into one alert.
    pub aggregate_secs: u64,
    /// Process images (file names, case-insensitive) that raise AN1169's severity.
    pub suspicious_processes: Vec<String>,
    pub business_hours: BusinessHours,
    pub baseline: BaselineConfig,
    pub an1173: An1173,
    pub an0367: An0367,
    pub an1169: An1169,
    pub an0423: An0423,
    pub an0030: An0030,
    /// Approved transfer paths.
    pub allow: Vec<AllowEntry>,
    /// Learn baselines without alerting (what the `baseline` subcommand sets).
    pub learn_only: bool,
}

const MIB: u64 = 1024 * 1024;

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            enabled: true,
            timezone: "UTC".into(),
            interim_secs: 60,
            aggregate_secs: 3600,
            suspicious_processes: [
                "powershell.exe",
                "pwsh.exe",
                "cmd.exe",
                "rundll32.exe",
                "regsvr32.exe",
                "mshta.exe",
                "wscript.exe",
                "cscript.exe",
                "certutil.exe",
                "bitsadmin.exe",
            ]
            .map(String::from)
            .to_vec(),
            business_hours: BusinessHours::default(),
            baseline: BaselineConfig::default(),
            an1173: An1173::default(),
            an0367: An0367::default(),
            an1169: An1169::default(),
            an0423: An0423::default(),
            an0030: An0030::default(),
            allow: Vec::new(),
            learn_only: false,
        }
    }
}

impl DetectConfig {
    /// Running flows smaller than every volume threshold cannot alert yet: no interim
    /// record for them.
    pub fn interim_min_bytes(&self) -> u64 {
        [
            self.an1173.min_bytes_out,
            self.an0367.off_hours_min_bytes,
            self.an0367.unusual_process_min_bytes,
            self.an1169.min_bytes_out,
            self.an1169.suspicious_min_bytes,
            self.an0423.rare_min_bytes,
            self.an0030.min_bytes_out,
            self.an0030.nonconforming_min_bytes,
            self.baseline.min_bytes,
        ]
        .into_iter()
        .min()
        .unwrap_or(0)
        .max(1)
    }
}

/// Opening hours per weekday as "HH:MM-HH:MM" ("" = closed), plus holidays (closed).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessHours {
    pub mon: String,
    pub tue: String,
    pub wed: String,
    pub thu: String,
    pub fri: String,
    pub sat: String,
    pub sun: String,
    /// "YYYY-MM-DD" dates in the configured time zone.
    pub holidays: Vec<String>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        let day = || "08:00-18:00".to_string();
        BusinessHours {
            mon: day(),
            tue: day(),
            wed: day(),
            thu: day(),
            fri: day(),
            sat: String::new(),
            sun: String::new(),
            holidays: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    /// State file (JSON), loaded at start and saved periodically and at exit; "" = memory only.
    pub state_file: Option<PathBuf>,
    /// Seconds of wall time between saves.
    pub save_interval_secs: u64,
    /// Days of traffic (packet time) before baselines and rarity may fire alerts.
    pub learning_days: u64,
    /// Observations an hour-of-week cell needs before it is trusted.
    pub min_samples: u64,
    /// An hour is anomalous above mean + deviation × (mean absolute deviation, at least 10% of the mean).
    pub deviation: f64,
    /// ... and only when it also moved at least this many bytes out.
    pub min_bytes: u64,
    /// A destination is rare when it is new for the host and at most this many internal
    /// hosts (the host included) went there during the baseline.
    pub rare_max_hosts: u64,
    /// Caps on what the baseline remembers (least recently seen forgotten first, counted).
    pub max_cells: usize,
    pub max_destinations: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            state_file: None,
            save_interval_secs: 300,
            learning_days: 7,
            min_samples: 3,
            deviation: 4.0,
            min_bytes: 10 * MIB,
            rare_max_hosts: 1,
            max_cells: 200_000,
            max_destinations: 200_000,
        }
    }
}

/// AN1173: large outbound FTP/TFTP/SMB sessions; file transfers on non-standard ports.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct An1173 {
    /// Outbound bytes of one session (control flow plus its data channels).
    pub min_bytes_out: u64,
    /// Judge internal→internal flows for port mismatches too (default: outbound only).
    pub mismatch_internal: bool,
}

impl Default for An1173 {
    fn default() -> Self {
        An1173 {
            min_bytes_out: 50 * MIB,
            mismatch_internal: false,
        }
    }
}

/// AN0367: off-hours, above-baseline, DNS-carried and unusual-process transfers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct An0367 {
    /// Outbound bytes of an FTP/SMB/SMTP/TFTP session outside business hours.
    pub off_hours_min_bytes: u64,
    /// Bytes carried in query names plus TXT/NULL/CNAME/MX answers, per host and
    /// registered domain within `dns_window_secs`.
    pub dns_min_bytes: u64,
    pub dns_window_secs: u64,
    /// Outbound bytes by a process the host has not used for that protocol before.
    pub unusual_process_min_bytes: u64,
}

impl Default for An0367 {
    fn default() -> Self {
        An0367 {
            off_hours_min_bytes: 5 * MIB,
            dns_min_bytes: 256 * 1024,
            dns_window_secs: 3600,
            unusual_process_min_bytes: MIB,
        }
    }
}

/// AN1169: large or unbalanced outbound FTP/SMB/TFTP, suspicious processes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct An1169 {
    pub min_bytes_out: u64,
    /// Bytes out per byte in (wire bytes).
    pub min_ratio: f64,
    /// Outbound bytes that suffice when endpoint data names a suspicious process.
    pub suspicious_min_bytes: u64,
}

impl Default for An1169 {
    fn default() -> Self {
        An1169 {
            min_bytes_out: 20 * MIB,
            min_ratio: 10.0,
            suspicious_min_bytes: 64 * 1024,
        }
    }
}

/// AN0423: staging from internal servers, then unencrypted upload; rare destinations.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct An0423 {
    /// Bytes a host must have read from internal servers to count as staging.
    pub staging_min_bytes: u64,
    /// How long staged data is remembered.
    pub window_secs: u64,
    /// Upload volume relative to the staged volume that counts as "comparable".
    pub comparable_fraction: f64,
    /// Unencrypted upload volume to a rare destination.
    pub rare_min_bytes: u64,
    /// HTTP upload volume by a process the host has not used for HTTP before.
    pub unusual_process_min_bytes: u64,
}

impl Default for An0423 {
    fn default() -> Self {
        An0423 {
            staging_min_bytes: 10 * MIB,
            window_secs: 3600,
            comparable_fraction: 0.5,
            rare_min_bytes: 5 * MIB,
            unusual_process_min_bytes: MIB,
        }
    }
}

/// AN0030: disproportionate ratios to uncommon ports/hosts; meaningless payload.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct An0030 {
    pub min_bytes_out: u64,
    pub min_ratio: f64,
    /// Outbound payload bytes that do not fit the port's protocol.
    pub nonconforming_min_bytes: u64,
    /// A protocol field counts as stuffed from this length and entropy (bits per byte)...
    pub field_min_len: u64,
    pub field_min_entropy: f64,
    /// ... and a flow alerts from this many stuffed fields.
    pub stuffed_min_count: u64,
}

impl Default for An0030 {
    fn default() -> Self {
        An0030 {
            min_bytes_out: 10 * MIB,
            min_ratio: 20.0,
            nonconforming_min_bytes: 64 * 1024,
            field_min_len: 40,
            field_min_entropy: 4.0,
            stuffed_min_count: 10,
        }
    }
}

/// An approved transfer path. Every criterion given must match; omitted ones match all.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// Who approved it and answers for it.
    pub owner: String,
    /// "YYYY-MM-DD": from this day on the entry stops suppressing and is reported.
    pub expires: String,
    #[serde(default)]
    pub comment: String,
    /// CIDRs or `@group` names (from `[network.groups]`) of the internal side.
    #[serde(default)]
    pub src: Vec<String>,
    /// CIDRs or `@group` names of the other side.
    #[serde(default)]
    pub dst: Vec<String>,
    /// Server names (HTTP Host, TLS SNI) or registered domains (DNS); subdomains match.
    #[serde(default)]
    pub domain: Vec<String>,
    /// Server ports.
    #[serde(default)]
    pub port: Vec<u16>,
    /// app_proto names, e.g. "ftp", "smb".
    #[serde(default)]
    pub proto: Vec<String>,
    /// Process image names from endpoint data, case-insensitive.
    #[serde(default)]
    pub process: Vec<String>,
    /// Analytics suppressed, e.g. ["AN1173"]; empty = all.
    #[serde(default)]
    pub analytics: Vec<String>,
}
