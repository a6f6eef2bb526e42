//! Alerts and the signature table. Every alert names its analytic, the thresholds it
//! crossed and the values measured, so an analyst can act on it without the pcap.

use super::record::FlowRecord;
use serde_json::{Map, Value};

/// One row of the signature table (README "Detections" lists the same).
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub sid: u32,
    pub rev: u32,
    /// MITRE ATT&CK analytic id, e.g. "AN1173".
    pub analytic: &'static str,
    pub signature: &'static str,
    pub category: &'static str,
    /// Suricata severity: 1 high, 2 medium, 3 low.
    pub severity: u8,
}

/// Suricata classification names (classification.config).
const EXFIL: &str = "Potential Corporate Privacy Violation";
const POLICY: &str = "Potential Corporate Privacy Violation";
const ANOMALY: &str = "Misc activity";

macro_rules! rule {
    ($name:ident, $sid:expr, $an:expr, $sev:expr, $cat:expr, $sig:expr) => {
        pub const $name: Rule = Rule {
            sid: $sid,
            rev: 1,
            analytic: $an,
            signature: $sig,
            category: $cat,
            severity: $sev,
        };
    };
}

rule!(
    AN1173_VOLUME,
    9_117_301,
    "AN1173",
    2,
    EXFIL,
    "EXFIL AN1173 large outbound file transfer (FTP/TFTP/SMB) to an external host"
);
rule!(
    AN1173_NONSTANDARD_PORT,
    9_117_302,
    "AN1173",
    2,
    POLICY,
    "EXFIL AN1173 file-transfer protocol on a non-standard port"
);
rule!(
    AN1173_PORT_MISMATCH,
    9_117_303,
    "AN1173",
    1,
    POLICY,
    "EXFIL AN1173 application/port mismatch (protocol on a port registered for another)"
);
rule!(
    AN0367_OFF_HOURS,
    9_036_701,
    "AN0367",
    2,
    EXFIL,
    "EXFIL AN0367 outbound transfer outside business hours"
);
rule!(
    AN0367_ABOVE_BASELINE,
    9_036_702,
    "AN0367",
    2,
    EXFIL,
    "EXFIL AN0367 outbound volume far above the host's baseline"
);
rule!(
    AN0367_DNS_VOLUME,
    9_036_703,
    "AN0367",
    1,
    EXFIL,
    "EXFIL AN0367 data volume carried in DNS names/answers to one domain"
);
rule!(
    AN0367_UNUSUAL_PROCESS,
    9_036_704,
    "AN0367",
    2,
    EXFIL,
    "EXFIL AN0367 outbound transfer by a process unusual for this host and protocol"
);
rule!(
    AN1169_LARGE_UNBALANCED,
    9_116_901,
    "AN1169",
    2,
    EXFIL,
    "EXFIL AN1169 large, unbalanced outbound file transfer (FTP/SMB/TFTP)"
);
rule!(
    AN1169_SUSPICIOUS_PROCESS,
    9_116_902,
    "AN1169",
    1,
    EXFIL,
    "EXFIL AN1169 file transfer (FTP/SMB/TFTP) started by a suspicious process"
);
rule!(
    AN0423_STAGED_UPLOAD,
    9_042_301,
    "AN0423",
    1,
    EXFIL,
    "EXFIL AN0423 data staged from internal servers then sent out unencrypted"
);
rule!(
    AN0423_RARE_DESTINATION,
    9_042_302,
    "AN0423",
    2,
    EXFIL,
    "EXFIL AN0423 sizeable unencrypted upload to a destination rare for this network"
);
rule!(
    AN0423_UNUSUAL_PROCESS,
    9_042_303,
    "AN0423",
    2,
    EXFIL,
    "EXFIL AN0423 unencrypted HTTP upload by a process unusual for this host"
);
rule!(
    AN0030_RATIO,
    9_003_001,
    "AN0030",
    2,
    EXFIL,
    "EXFIL AN0030 disproportionate outbound send:receive ratio to an uncommon port or host"
);
rule!(
    AN0030_NONCONFORMING,
    9_003_002,
    "AN0030",
    2,
    ANOMALY,
    "EXFIL AN0030 payload does not conform to the protocol of its port"
);
rule!(
    AN0030_STUFFED_FIELD,
    9_003_003,
    "AN0030",
    2,
    ANOMALY,
    "EXFIL AN0030 high-entropy data stuffed into protocol fields (DNS names, HTTP headers)"
);

/// Every rule, for the README table and the tests that check it.
pub const RULES: &[&Rule] = &[
    &AN1173_VOLUME,
    &AN1173_NONSTANDARD_PORT,
    &AN1173_PORT_MISMATCH,
    &AN0367_OFF_HOURS,
    &AN0367_ABOVE_BASELINE,
    &AN0367_DNS_VOLUME,
    &AN0367_UNUSUAL_PROCESS,
    &AN1169_LARGE_UNBALANCED,
    &AN1169_SUSPICIOUS_PROCESS,
    &AN0423_STAGED_UPLOAD,
    &AN0423_RARE_DESTINATION,
    &AN0423_UNUSUAL_PROCESS,
    &AN0030_RATIO,
    &AN0030_NONCONFORMING,
    &AN0030_STUFFED_FIELD,
];

/// Repeats of one (analytic, host, destination) folded into this alert.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aggregation {
    /// Alerts this one stands for, itself included.
    pub count: u64,
    pub first_us: u64,
    pub last_us: u64,
    /// flow_ids of the folded alerts (bounded).
    pub flow_ids: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct Alert {
    /// Packet time the alert refers to, µs.
    pub ts_us: u64,
    pub rule: &'static Rule,
    /// The rule's severity, or higher (e.g. a suspicious process named by endpoint data).
    pub severity: u8,
    /// The flow the alert is about.
    pub flow: FlowRecord,
    /// One sentence in plain words: what was seen and why it crossed the line.
    pub reason: String,
    /// Values measured on the wire (and from baselines/endpoint data).
    pub measured: Map<String, Value>,
    /// The thresholds crossed, by the configuration key that sets them.
    pub thresholds: Map<String, Value>,
    /// Other flows the alert rests on (staging reads, linked data channels).
    pub related_flows: Vec<u64>,
    pub aggregation: Option<Aggregation>,
}

impl Alert {
    pub fn new(rule: &'static Rule, flow: &FlowRecord, reason: String) -> Alert {
        Alert {
            ts_us: flow.last_us,
            rule,
            severity: rule.severity,
            flow: flow.clone(),
            reason,
            measured: Map::new(),
            thresholds: Map::new(),
            related_flows: Vec::new(),
            aggregation: None,
        }
    }

    pub fn measured(mut self, k: &str, v: impl Into<Value>) -> Alert {
        self.measured.insert(k.to_string(), v.into());
        self
    }

    pub fn threshold(mut self, k: &str, v: impl Into<Value>) -> Alert {
        self.thresholds.insert(k.to_string(), v.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_ids_are_unique_and_name_their_analytic() {
        let mut sids: Vec<u32> = RULES.iter().map(|r| r.sid).collect();
        sids.sort_unstable();
        sids.dedup();
        assert_eq!(sids.len(), RULES.len());
        for r in RULES {
            assert!(r.signature.contains(r.analytic), "{}", r.signature);
            let n: u32 = r.analytic[2..].parse().unwrap();
            assert_eq!(
                r.sid / 100 % 10_000,
                n,
                "sid {} encodes its analytic",
                r.sid
            );
        }
    }
}
