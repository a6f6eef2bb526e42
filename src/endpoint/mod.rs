//! Endpoint telemetry: which process opened a connection, from the endpoints' own logs
//! (Sysmon Event ID 3 and the like). A sensor on a TAP cannot see processes; the hosts
//! already log them, so flows are joined to those records by transport, four-tuple and time.
//!
//! The pieces, in the order a record travels:
//! - [`feed`]: where lines come from — a file read whole before replay judges any flow,
//!   the same file followed like `tail -F` in live mode, a unix socket for shippers;
//! - [`parse`]: one JSON object per line, Winlogbeat/ECS or flat Sysmon, told apart per record;
//! - [`index`]: the bounded, time-expiring index the join looks flows up in;
//! - [`stage`]: the thread between the workers and the detection stage that owns the index,
//!   holds ended flows briefly in live mode (a record may arrive after its flow ended) and
//!   sets `process` on every flow it can join.

pub mod feed;
pub mod index;
pub mod parse;
pub mod stage;

use crate::output::timefmt::ts;
use serde::{Serialize, Serializer};

pub use stage::EndpointStage;

/// The process an endpoint record names for a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Full image path, e.g. `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`.
    pub image: String,
    /// File name of the image, lower-cased: what allowlists and suspicious-image lists match.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
    /// The process that started it, where the shipper adds it (Sysmon Event ID 3 itself
    /// does not carry it; ECS enrichment often does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Parent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// When the endpoint says the connection happened (its clock, µs since the epoch);
    /// written in EVE's timestamp format.
    #[serde(serialize_with = "ser_ts")]
    pub record_time: u64,
    /// The shape the record came in: `ecs` (Winlogbeat) or `sysmon` (flat, e.g. NXLog).
    pub format: &'static str,
    /// Community ID of the record's own tuple: the key users already pivot on between the
    /// endpoint and network logs (equal to the flow's when the tuples agree).
    pub community_id: String,
    /// How the record matched the flow.
    pub join: JoinQuality,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Parent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Lower-cased file name, like [`Process::name`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
}

/// Which side of the flow the record's process was on, and how far the endpoint's clock
/// was from the flow's first packet: what an analyst needs to judge a join.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JoinQuality {
    /// `initiated`: the process opened the connection (the flow's client side);
    /// `inbound`: it accepted it (Sysmon `Initiated: false`).
    pub orientation: &'static str,
    /// Record time minus flow start, milliseconds (negative: the record is earlier).
    pub skew_ms: i64,
}

fn ser_ts<S: Serializer>(us: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts(*us))
}

/// The two record shapes we accept, as counted in `stats.endpoint.by_format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Winlogbeat / Elastic Common Schema.
    Ecs,
    /// Flat Sysmon EventData field names (NXLog `to_json()`, and most other shippers).
    Sysmon,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Ecs => "ecs",
            Format::Sysmon => "sysmon",
        }
    }
}

/// The lower-cased file name of a Windows or POSIX path.
pub fn image_name(image: &str) -> String {
    image
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(image)
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_file_names() {
        assert_eq!(
            image_name(r"C:\Windows\System32\WindowsPowerShell\v1.0\PowerShell.EXE"),
            "powershell.exe"
        );
        assert_eq!(image_name("/usr/bin/curl"), "curl");
        assert_eq!(image_name("ftp.exe"), "ftp.exe");
    }

    #[test]
    fn process_serialises_for_eve() {
        let p = Process {
            image: r"C:\Windows\System32\ftp.exe".into(),
            name: "ftp.exe".into(),
            pid: Some(4242),
            parent: Some(Parent {
                image: Some(r"C:\Windows\System32\cmd.exe".into()),
                name: Some("cmd.exe".into()),
                pid: Some(4000),
            }),
            user: Some(r"CORP\alice".into()),
            host: Some("WS-042".into()),
            record_time: 1_741_788_001_421_000,
            format: "sysmon",
            community_id: "1:abc=".into(),
            join: JoinQuality {
                orientation: "initiated",
                skew_ms: -800,
            },
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["record_time"], "2025-03-12T14:00:01.421000+0000");
        assert_eq!(v["join"]["orientation"], "initiated");
        assert_eq!(v["join"]["skew_ms"], -800);
        assert_eq!(v["parent"]["name"], "cmd.exe");
        assert_eq!(v["image"], r"C:\Windows\System32\ftp.exe");
    }
}
