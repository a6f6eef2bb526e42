//! EVE records. Field names and shapes follow Suricata's schema; everything Suricata does
//! not define lives under the top-level `exfil` object, so dropping `exfil` leaves a record
//! that validates against Suricata's schema unchanged.

use super::json::push_u64;
use super::timefmt::{ts_bytes, Ts};
use super::EndedFlow;
use crate::app::session::FlowMeta;
use crate::app::{AppEvent, AppProto};
use crate::decode::{addr_to_ip, Addr};
use crate::detect::Alert;
use crate::endpoint::Process;
use crate::ident::community_id::{self, CommunityId};
use crate::netaddr::CidrSet;
use serde::Serialize;
use std::borrow::Cow;
use std::net::IpAddr;

/// What the flow logger needs besides the flow.
pub struct FlowContext<'a> {
    pub community_id_seed: u16,
    pub home_net: &'a CidrSet,
}

impl<'a> FlowContext<'a> {
    pub fn new(community_id_seed: u16, home_net: &'a CidrSet) -> FlowContext<'a> {
        FlowContext {
            community_id_seed,
            home_net,
        }
    }
}

/// IANA protocol names as Suricata prints them in `proto`.
pub fn proto_name(p: u8) -> Cow<'static, str> {
    Cow::Borrowed(match p {
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "IPv6-ICMP",
        89 => "OSPF",
        103 => "PIM",
        132 => "SCTP",
        n => return Cow::Owned(n.to_string()),
    })
}

fn has_ports(p: u8) -> bool {
    matches!(p, 6 | 17 | 132)
}

/// An ICMP type and code.
type TypeCode = (u8, u8);

/// The fields every flow-scoped record starts with, in Suricata's order. Written by hand
/// (no serializer, no format machinery): for app events it was most of the cost of
/// writing them, and flow, app and alert records share it.
pub struct Header<'a> {
    pub ts_us: u64,
    pub flow_id: u64,
    pub event_type: &'static str,
    pub vlan: &'a [u16],
    pub src: (&'a Addr, u16),
    pub dest: (&'a Addr, u16),
    pub proto: u8,
    /// ICMP flows: the client's type and code, and the server's once it answered.
    pub icmp: Option<(TypeCode, Option<TypeCode>)>,
    pub community_id: &'a CommunityId,
}

impl Header<'_> {
    /// `{"timestamp":…,"community_id":"…"`, the object left open for the record's fields.
    fn write(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"{\"timestamp\":\"");
        push_ts(buf, self.ts_us);
        buf.extend_from_slice(b"\",\"flow_id\":");
        push_u64(buf, self.flow_id);
        str_field(buf, "event_type", self.event_type);
        if !self.vlan.is_empty() {
            buf.extend_from_slice(b",\"vlan\":[");
            for (i, v) in self.vlan.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                push_u64(buf, u64::from(*v));
            }
            buf.push(b']');
        }
        let ports = has_ports(self.proto);
        buf.extend_from_slice(b",\"src_ip\":\"");
        push_ip(buf, self.src.0);
        buf.push(b'"');
        if ports {
            u64_field(buf, "src_port", u64::from(self.src.1));
        }
        buf.extend_from_slice(b",\"dest_ip\":\"");
        push_ip(buf, self.dest.0);
        buf.push(b'"');
        if ports {
            u64_field(buf, "dest_port", u64::from(self.dest.1));
        }
        str_field(buf, "proto", &proto_name(self.proto));
        if let Some(((t, c), response)) = self.icmp {
            u64_field(buf, "icmp_type", u64::from(t));
            u64_field(buf, "icmp_code", u64::from(c));
            if let Some((t, c)) = response {
                u64_field(buf, "response_icmp_type", u64::from(t));
                u64_field(buf, "response_icmp_code", u64::from(c));
            }
        }
        str_field(buf, "community_id", self.community_id.as_str());
    }
}

/// `,"key":"value"` for keys and values of our own that need no escaping (names, states).
fn str_field(buf: &mut Vec<u8>, key: &str, value: &str) {
    debug_assert!(!value.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'));
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(b"\":\"");
    buf.extend_from_slice(value.as_bytes());
    buf.push(b'"');
}

/// `,"key":n`.
fn u64_field(buf: &mut Vec<u8>, key: &str, n: u64) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(b"\":");
    push_u64(buf, n);
}

/// `,"key":true` / `false`.
fn bool_field(buf: &mut Vec<u8>, key: &str, v: bool) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(if v { b"\":true" } else { b"\":false" });
}

/// `,"key":` and `v` serialised.
fn value_field(buf: &mut Vec<u8>, key: &str, v: &impl Serialize) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(b"\":");
    super::json::to_vec(buf, v);
}

/// The members of a JSON object's text, spliced into the object being written.
fn push_members(buf: &mut Vec<u8>, object: &[u8]) {
    if let Some(inner) = object
        .get(1..object.len().saturating_sub(1))
        .filter(|m| !m.is_empty())
    {
        buf.push(b',');
        buf.extend_from_slice(inner);
    }
}

fn push_ts(buf: &mut Vec<u8>, us: u64) {
    match ts_bytes(us) {
        Some(t) => buf.extend_from_slice(&t),
        None => buf.extend_from_slice(super::timefmt::ts(us).as_bytes()),
    }
}

/// A byte as two lower-case hex digits (TCP flags).
fn hex2(b: u8) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]
}

/// `,"key":"hh"`.
fn hex2_field(buf: &mut Vec<u8>, key: &str, b: u8) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(b"\":\"");
    buf.extend_from_slice(&hex2(b));
    buf.push(b'"');
}

#[derive(Serialize)]
struct TunnelSection {
    src_ip: Ip,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_port: Option<u16>,
    dest_ip: Ip,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_port: Option<u16>,
    proto: Cow<'static, str>,
    depth: u8,
}

/// Our additions to the flow record.
#[derive(Serialize)]
struct ExfilFlow<'a> {
    flow: ExfilFlowDetail,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<ExfilApp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<&'a Process>,
}

#[derive(Serialize)]
struct ExfilApp {
    /// How the protocol disagrees with the port or between directions.
    #[serde(skip_serializing_if = "Option::is_none")]
    mismatch: Option<&'static str>,
    /// Data channels: the control flow that announced them.
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_flow_id: Option<u64>,
}

#[derive(Serialize)]
struct ExfilFlowDetail {
    /// Precise end reason (Suricata's `flow.reason` is coarser).
    end_reason: &'static str,
    payload_bytes_toserver: u64,
    payload_bytes_toclient: u64,
    /// `outbound` (home_net client → external server), `inbound`, `internal` or `external`.
    direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel_type: Option<&'static str>,
}

/// Where a flow crosses the home-net boundary, seen from its client.
pub fn direction(home: &CidrSet, client: &Addr, server: &Addr) -> &'static str {
    match (home.contains(client), home.contains(server)) {
        (true, false) => "outbound",
        (false, true) => "inbound",
        (true, true) => "internal",
        (false, false) => "external",
    }
}

/// Append the flow event of an ended flow to `buf`.
pub fn flow_event(buf: &mut Vec<u8>, e: &EndedFlow, ctx: &FlowContext<'_>) {
    let (f, reason, app) = (&e.flow, e.reason, e.app.as_ref());
    let (caddr, cport) = f.client();
    let (saddr, sport) = f.server();
    let proto = f.key.proto;
    let icmp = matches!(proto, 1 | 58);
    let [ts_c, tc_c] = f.counters;
    // Community ID from the client's side: for ICMP the client's first type/code.
    let (cid_sp, cid_dp) = if icmp {
        let (t, c) = f.icmp[0];
        (u16::from(t), u16::from(c))
    } else {
        (cport, sport)
    };
    // Computed on the worker when the flow's app events needed it.
    let cid = app.and_then(|a| a.community_id).unwrap_or_else(|| {
        community_id::community_id(ctx.community_id_seed, proto, caddr, saddr, cid_sp, cid_dp)
    });
    Header {
        ts_us: f.last_us,
        flow_id: f.flow_id,
        event_type: "flow",
        vlan: &f.vlan[..usize::from(f.vlan_count.min(3))],
        src: (caddr, cport),
        dest: (saddr, sport),
        proto,
        icmp: icmp.then(|| (f.icmp[0], (tc_c.pkts > 0).then_some(f.icmp[1]))),
        community_id: &cid,
    }
    .write(buf);
    if let Some(a) = app {
        if a.app != AppProto::Unknown {
            str_field(buf, "app_proto", a.app.name());
        }
        // Per direction only where a direction disagrees with the flow's verdict.
        if a.ts != a.app && a.ts.is_named() {
            str_field(buf, "app_proto_ts", a.ts.name());
        }
        if a.tc != a.app && a.tc.is_named() {
            str_field(buf, "app_proto_tc", a.tc.name());
        }
        if let Some(o) = a.orig {
            str_field(buf, "app_proto_orig", o.name());
        }
        if let Some(x) = a.expected {
            str_field(buf, "app_proto_expected", x.name());
        }
    }
    buf.extend_from_slice(b",\"flow\":{\"pkts_toserver\":");
    push_u64(buf, ts_c.pkts);
    u64_field(buf, "pkts_toclient", tc_c.pkts);
    u64_field(buf, "bytes_toserver", ts_c.bytes);
    u64_field(buf, "bytes_toclient", tc_c.bytes);
    buf.extend_from_slice(b",\"start\":\"");
    push_ts(buf, f.first_us);
    buf.extend_from_slice(b"\",\"end\":\"");
    push_ts(buf, f.last_us);
    buf.push(b'"');
    u64_field(buf, "age", f.age_secs());
    str_field(buf, "state", f.state.name());
    str_field(buf, "reason", reason.suricata());
    bool_field(buf, "alerted", e.alerted);
    buf.push(b'}');
    if proto == 6 {
        let all = f.tcp_flags[0] | f.tcp_flags[1];
        buf.extend_from_slice(b",\"tcp\":{\"tcp_flags\":\"");
        buf.extend_from_slice(&hex2(all));
        buf.push(b'"');
        hex2_field(buf, "tcp_flags_ts", f.tcp_flags[0]);
        hex2_field(buf, "tcp_flags_tc", f.tcp_flags[1]);
        for (bit, name) in TCP_FLAG_NAMES {
            if all & bit != 0 {
                bool_field(buf, name, true);
            }
        }
        str_field(buf, "state", f.tcp_state_name());
        buf.push(b'}');
    }
    if let Some(t) = f.tunnel.as_deref() {
        let ports = t.outer_proto == 17;
        let tunnel = TunnelSection {
            src_ip: Ip::of(&t.src),
            src_port: ports.then_some(t.sport),
            dest_ip: Ip::of(&t.dst),
            dest_port: ports.then_some(t.dport),
            proto: proto_name(t.outer_proto),
            depth: t.depth,
        };
        value_field(buf, "tunnel", &tunnel);
    }
    let exfil = ExfilFlow {
        flow: ExfilFlowDetail {
            end_reason: reason.name(),
            payload_bytes_toserver: ts_c.payload,
            payload_bytes_toclient: tc_c.payload,
            direction: direction(ctx.home_net, caddr, saddr),
            tunnel_type: f.tunnel.as_deref().map(|t| t.kind.name()),
        },
        app: app
            .filter(|a| a.mismatch.is_some() || a.parent_flow_id.is_some())
            .map(|a| ExfilApp {
                mismatch: a.mismatch.map(|m| m.name()),
                parent_flow_id: a.parent_flow_id,
            }),
        process: e.process.as_deref(),
    };
    value_field(buf, "exfil", &exfil);
    buf.push(b'}');
}

/// TCP flag bits and their names in the `tcp` object, in Suricata's order.
const TCP_FLAG_NAMES: [(u8, &str); 8] = [
    (0x02, "syn"),
    (0x01, "fin"),
    (0x04, "rst"),
    (0x08, "psh"),
    (0x10, "ack"),
    (0x20, "urg"),
    (0x40, "ecn"),
    (0x80, "cwr"),
];

/// Append an application-layer event to `buf`: flow identity and tuple first, then the
/// parser's fields, then its `exfil` additions, both already JSON text.
pub fn app_event(buf: &mut Vec<u8>, m: &FlowMeta, ev: &AppEvent, cid: &CommunityId) {
    let (src, dest) = if ev.reversed {
        (m.server, m.client)
    } else {
        (m.client, m.server)
    };
    Header {
        ts_us: ev.ts_us,
        flow_id: m.flow_id,
        event_type: ev.event_type,
        vlan: &[],
        src: (&src.0, src.1),
        dest: (&dest.0, dest.1),
        proto: m.proto,
        icmp: None,
        community_id: cid,
    }
    .write(buf);
    // The parser's object, serialised on the worker: its members go in as they are.
    push_members(buf, ev.fields.as_bytes());
    if let Some(x) = &ev.exfil {
        buf.extend_from_slice(b",\"exfil\":{\"");
        buf.extend_from_slice(ev.event_type.as_bytes());
        buf.extend_from_slice(b"\":");
        buf.extend_from_slice(x.as_bytes());
        buf.push(b'}');
    }
    buf.push(b'}');
}

/// An address as `IpAddr` prints it; IPv4 (the common case) without the format machinery.
fn push_ip(buf: &mut Vec<u8>, a: &Addr) {
    use std::io::Write;
    match addr_to_ip(a) {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 15];
            let n = v4_text(v4, &mut b);
            buf.extend_from_slice(&b[..n]);
        }
        // Writing into a Vec cannot fail.
        v6 => {
            let _ = write!(buf, "{v6}");
        }
    }
}

/// Dotted decimal into `b`; returns its length.
fn v4_text(v4: std::net::Ipv4Addr, b: &mut [u8; 15]) -> usize {
    let mut n = 0;
    for (i, o) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            b[n] = b'.';
            n += 1;
        }
        if o >= 100 {
            b[n] = b'0' + o / 100;
            n += 1;
        }
        if o >= 10 {
            b[n] = b'0' + o / 10 % 10;
            n += 1;
        }
        b[n] = b'0' + o % 10;
        n += 1;
    }
    n
}

/// An address field of a serialised record, printed as [`push_ip`] does.
struct Ip(IpAddr);

impl Ip {
    fn of(a: &Addr) -> Ip {
        Ip(addr_to_ip(a))
    }
}

impl Serialize for Ip {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            IpAddr::V4(v4) => {
                let mut b = [0u8; 15];
                let n = v4_text(v4, &mut b);
                s.serialize_str(std::str::from_utf8(&b[..n]).unwrap_or_default())
            }
            v6 => v6.serialize(s),
        }
    }
}

/// An alert's fields after the shared [`Header`].
#[derive(Serialize)]
struct AlertBody<'a> {
    direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto: Option<&'static str>,
    alert: AlertSection,
    flow: AlertFlow,
    exfil: ExfilAlert<'a>,
}

#[derive(Serialize)]
struct AlertSection {
    action: &'static str,
    gid: u32,
    signature_id: u32,
    rev: u32,
    signature: &'static str,
    category: &'static str,
    severity: u8,
    metadata: AlertMetadata,
}

#[derive(Serialize)]
struct AlertMetadata {
    mitre_analytic: [&'static str; 1],
}

#[derive(Serialize)]
struct AlertFlow {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: Ts,
}

#[derive(Serialize)]
struct ExfilAlert<'a> {
    alert: &'a AlertExplanation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<&'a Process>,
}

/// The explanation: analytic, plain-words reason, measured values, thresholds crossed.
#[derive(Serialize)]
struct AlertExplanation<'a> {
    analytic: &'static str,
    reason: &'a str,
    measured: &'a serde_json::Map<String, serde_json::Value>,
    thresholds: &'a serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    related_flows: &'a [u64],
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregation: Option<AggregationSection<'a>>,
}

#[derive(Serialize)]
struct AggregationSection<'a> {
    count: u64,
    first: Ts,
    last: Ts,
    flow_ids: &'a [u64],
}

/// Append an alert to `buf`, in Suricata's `alert` shape.
pub fn alert_event(buf: &mut Vec<u8>, a: &Alert, ctx: &FlowContext<'_>) {
    let f = &a.flow;
    let proto = f.proto;
    let explanation = AlertExplanation {
        analytic: a.rule.analytic,
        reason: &a.reason,
        measured: &a.measured,
        thresholds: &a.thresholds,
        related_flows: &a.related_flows,
        aggregation: a.aggregation.as_ref().map(|g| AggregationSection {
            count: g.count,
            first: Ts(g.first_us),
            last: Ts(g.last_us),
            flow_ids: &g.flow_ids,
        }),
    };
    let cid = community_id::community_id(
        ctx.community_id_seed,
        proto,
        &f.client.0,
        &f.server.0,
        f.client.1,
        f.server.1,
    );
    let body = AlertBody {
        direction: "to_server",
        app_proto: f.app.app.is_named().then(|| f.app.app.name()),
        alert: AlertSection {
            action: "allowed",
            gid: 1,
            signature_id: a.rule.sid,
            rev: a.rule.rev,
            signature: a.rule.signature,
            category: a.rule.category,
            severity: a.severity,
            metadata: AlertMetadata {
                mitre_analytic: [a.rule.analytic],
            },
        },
        flow: AlertFlow {
            pkts_toserver: f.pkts[0],
            pkts_toclient: f.pkts[1],
            bytes_toserver: f.bytes[0],
            bytes_toclient: f.bytes[1],
            start: Ts(f.first_us),
        },
        exfil: ExfilAlert {
            alert: &explanation,
            process: f.process.as_deref(),
        },
    };
    Header {
        ts_us: a.ts_us,
        flow_id: f.flow_id,
        event_type: "alert",
        vlan: &[],
        src: (&f.client.0, f.client.1),
        dest: (&f.server.0, f.server.1),
        proto,
        icmp: None,
        community_id: &cid,
    }
    .write(buf);
    let mut rest = Vec::new();
    super::json::to_vec(&mut rest, &body);
    push_members(buf, &rest);
    buf.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_ipaddr_does() {
        for a in [
            "0.0.0.0",
            "9.10.99.100",
            "255.255.255.255",
            "192.168.1.1",
            "::1",
            "fe80::1:2",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            let mut buf = Vec::new();
            let addr = match ip {
                IpAddr::V4(v4) => crate::decode::addr_from_v4(v4.octets()),
                IpAddr::V6(v6) => v6.octets(),
            };
            push_ip(&mut buf, &addr);
            assert_eq!(buf, a.as_bytes());
            assert_eq!(
                serde_json::to_string(&Ip::of(&addr)).unwrap(),
                format!("\"{a}\"")
            );
        }
    }
}
