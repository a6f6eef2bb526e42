//! Events parsers produce; the output thread adds timestamp, flow identity and tuple.

use serde_json::{Map, Value};

/// One application-layer EVE record.
#[derive(Clone, Debug, PartialEq)]
pub struct AppEvent {
    /// Packet time the event refers to, µs since the epoch.
    pub ts_us: u64,
    /// EVE `event_type`: "dns", "ftp", "ftp_data", "tftp", "smb", "smtp", "http", "tls",
    /// "ssh", "fileinfo".
    pub event_type: &'static str,
    /// Top-level fields in Suricata's shape, e.g. `{"dns": {...}}`, or for fileinfo
    /// `{"app_proto": "ftp-data", "fileinfo": {...}}`. Only fields Suricata's schema defines.
    pub fields: Map<String, Value>,
    /// Our additions (placed under the top-level `exfil` object), if any.
    pub exfil: Option<Value>,
    /// When true the event is logged with src = server, dest = client (e.g. a DNS
    /// response logged in the direction it travelled); false: src = client.
    pub reversed: bool,
}

impl AppEvent {
    /// An event whose only field is the protocol object named like the event type.
    pub fn new(ts_us: u64, event_type: &'static str, body: Value) -> AppEvent {
        let mut fields = Map::new();
        fields.insert(event_type.to_string(), body);
        AppEvent {
            ts_us,
            event_type,
            fields,
            exfil: None,
            reversed: false,
        }
    }

    pub fn with_exfil(mut self, exfil: Value) -> AppEvent {
        self.exfil = Some(exfil);
        self
    }
}
