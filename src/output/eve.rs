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

#[derive(Serialize)]
struct FlowEvent<'a> {
    timestamp: Ts,
    flow_id: u64,
    event_type: &'static str,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    vlan: &'a [u16],
    src_ip: Ip,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_port: Option<u16>,
    dest_ip: Ip,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_port: Option<u16>,
    proto: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_icmp_code: Option<u8>,
    community_id: CommunityId,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto_ts: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto_tc: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto_orig: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto_expected: Option<&'static str>,
    flow: FlowSection,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<TcpSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tunnel: Option<TunnelSection>,
    exfil: ExfilFlow<'a>,
}

#[derive(Serialize)]
struct FlowSection {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: Ts,
    end: Ts,
    age: u64,
    state: &'static str,
    reason: &'static str,
    alerted: bool,
}

#[derive(Serialize)]
struct TcpSection {
    tcp_flags: Hex2,
    tcp_flags_ts: Hex2,
    tcp_flags_tc: Hex2,
    #[serde(skip_serializing_if = "is_false")]
    syn: bool,
    #[serde(skip_serializing_if = "is_false")]
    fin: bool,
    #[serde(skip_serializing_if = "is_false")]
    rst: bool,
    #[serde(skip_serializing_if = "is_false")]
    psh: bool,
    #[serde(skip_serializing_if = "is_false")]
    ack: bool,
    #[serde(skip_serializing_if = "is_false")]
    urg: bool,
    #[serde(skip_serializing_if = "is_false")]
    ecn: bool,
    #[serde(skip_serializing_if = "is_false")]
    cwr: bool,
    state: &'static str,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A byte as two lower-case hex digits (TCP flags), without a String.
struct Hex2(u8);

impl Serialize for Hex2 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let b = [
            HEX[usize::from(self.0 >> 4)],
            HEX[usize::from(self.0 & 0xf)],
        ];
        s.serialize_str(std::str::from_utf8(&b).unwrap_or_default())
    }
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

/// Serialise the flow event for an ended flow into `buf` (cleared first).
pub fn flow_event(buf: &mut Vec<u8>, e: &EndedFlow, ctx: &FlowContext<'_>) {
    let (f, reason, app) = (&e.flow, e.reason, e.app.as_ref());
    let (caddr, cport) = f.client();
    let (saddr, sport) = f.server();
    let proto = f.key.proto;
    let icmp = matches!(proto, 1 | 58);
    // Community ID from the client's side: for ICMP the client's first type/code.
    let (cid_sp, cid_dp) = if icmp {
        let (t, c) = f.icmp[0];
        (u16::from(t), u16::from(c))
    } else {
        (cport, sport)
    };
    let [ts_c, tc_c] = f.counters;
    let seen_tc = tc_c.pkts > 0;
    let tcp = (proto == 6).then(|| {
        let all = f.tcp_flags[0] | f.tcp_flags[1];
        TcpSection {
            tcp_flags: Hex2(all),
            tcp_flags_ts: Hex2(f.tcp_flags[0]),
            tcp_flags_tc: Hex2(f.tcp_flags[1]),
            syn: all & 0x02 != 0,
            fin: all & 0x01 != 0,
            rst: all & 0x04 != 0,
            psh: all & 0x08 != 0,
            ack: all & 0x10 != 0,
            urg: all & 0x20 != 0,
            ecn: all & 0x40 != 0,
            cwr: all & 0x80 != 0,
            state: f.tcp_state_name(),
        }
    });
    let ev = FlowEvent {
        timestamp: Ts(f.last_us),
        flow_id: f.flow_id,
        event_type: "flow",
        vlan: &f.vlan[..usize::from(f.vlan_count.min(3))],
        src_ip: Ip::of(caddr),
        src_port: has_ports(proto).then_some(cport),
        dest_ip: Ip::of(saddr),
        dest_port: has_ports(proto).then_some(sport),
        proto: proto_name(proto),
        icmp_type: icmp.then_some(f.icmp[0].0),
        icmp_code: icmp.then_some(f.icmp[0].1),
        response_icmp_type: (icmp && seen_tc).then_some(f.icmp[1].0),
        response_icmp_code: (icmp && seen_tc).then_some(f.icmp[1].1),
        // Computed on the worker when the flow's app events needed it.
        community_id: app.and_then(|a| a.community_id).unwrap_or_else(|| {
            community_id::community_id(ctx.community_id_seed, proto, caddr, saddr, cid_sp, cid_dp)
        }),
        app_proto: app
            .filter(|a| a.app != AppProto::Unknown)
            .map(|a| a.app.name()),
        // Per direction only where a direction disagrees with the flow's verdict.
        app_proto_ts: app
            .filter(|a| a.ts != a.app && a.ts.is_named())
            .map(|a| a.ts.name()),
        app_proto_tc: app
            .filter(|a| a.tc != a.app && a.tc.is_named())
            .map(|a| a.tc.name()),
        app_proto_orig: app.and_then(|a| a.orig).map(AppProto::name),
        app_proto_expected: app.and_then(|a| a.expected).map(AppProto::name),
        flow: FlowSection {
            pkts_toserver: ts_c.pkts,
            pkts_toclient: tc_c.pkts,
            bytes_toserver: ts_c.bytes,
            bytes_toclient: tc_c.bytes,
            start: Ts(f.first_us),
            end: Ts(f.last_us),
            age: f.age_secs(),
            state: f.state.name(),
            reason: reason.suricata(),
            alerted: e.alerted,
        },
        tcp,
        tunnel: f.tunnel.as_deref().map(|t| {
            let ports = t.outer_proto == 17;
            TunnelSection {
                src_ip: Ip::of(&t.src),
                src_port: ports.then_some(t.sport),
                dest_ip: Ip::of(&t.dst),
                dest_port: ports.then_some(t.dport),
                proto: proto_name(t.outer_proto),
                depth: t.depth,
            }
        }),
        exfil: ExfilFlow {
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
        },
    };
    buf.clear();
    super::json::to_vec(buf, &ev);
}

/// Append an application-layer event to `buf`: flow identity and tuple first, then the
/// parser's fields, then its `exfil` additions, both already JSON text.
pub fn app_event(buf: &mut Vec<u8>, m: &FlowMeta, ev: &AppEvent, cid: &CommunityId) {
    let (src, dst) = if ev.reversed {
        (m.server, m.client)
    } else {
        (m.client, m.server)
    };
    // The header is put together by hand (no format machinery): it is most of the work
    // the output thread does for an event.
    buf.extend_from_slice(b"{\"timestamp\":\"");
    match ts_bytes(ev.ts_us) {
        Some(t) => buf.extend_from_slice(&t),
        None => buf.extend_from_slice(super::timefmt::ts(ev.ts_us).as_bytes()),
    }
    buf.extend_from_slice(b"\",\"flow_id\":");
    push_u64(buf, m.flow_id);
    buf.extend_from_slice(b",\"event_type\":\"");
    buf.extend_from_slice(ev.event_type.as_bytes());
    buf.extend_from_slice(b"\",\"src_ip\":\"");
    push_ip(buf, &src.0);
    buf.extend_from_slice(b"\",");
    if has_ports(m.proto) {
        buf.extend_from_slice(b"\"src_port\":");
        push_u64(buf, u64::from(src.1));
        buf.push(b',');
    }
    buf.extend_from_slice(b"\"dest_ip\":\"");
    push_ip(buf, &dst.0);
    buf.extend_from_slice(b"\",");
    if has_ports(m.proto) {
        buf.extend_from_slice(b"\"dest_port\":");
        push_u64(buf, u64::from(dst.1));
        buf.push(b',');
    }
    buf.extend_from_slice(b"\"proto\":\"");
    buf.extend_from_slice(proto_name(m.proto).as_bytes());
    buf.extend_from_slice(b"\",\"community_id\":\"");
    buf.extend_from_slice(cid.as_str().as_bytes());
    buf.push(b'"');
    // The parser's object, serialised on the worker: its members go in as they are.
    let members = ev.fields.as_bytes();
    if let Some(inner) = members.get(1..members.len() - 1).filter(|m| !m.is_empty()) {
        buf.push(b',');
        buf.extend_from_slice(inner);
    }
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

#[derive(Serialize)]
struct AlertEvent<'a> {
    timestamp: Ts,
    flow_id: u64,
    event_type: &'static str,
    src_ip: Ip,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_port: Option<u16>,
    dest_ip: Ip,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_port: Option<u16>,
    proto: Cow<'static, str>,
    community_id: CommunityId,
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

/// Serialise an alert into `buf` (cleared first), in Suricata's `alert` shape.
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
    let ev = AlertEvent {
        timestamp: Ts(a.ts_us),
        flow_id: f.flow_id,
        event_type: "alert",
        src_ip: Ip::of(&f.client.0),
        src_port: has_ports(proto).then_some(f.client.1),
        dest_ip: Ip::of(&f.server.0),
        dest_port: has_ports(proto).then_some(f.server.1),
        proto: proto_name(proto),
        community_id: community_id::community_id(
            ctx.community_id_seed,
            proto,
            &f.client.0,
            &f.server.0,
            f.client.1,
            f.server.1,
        ),
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
    buf.clear();
    let _ = serde_json::to_writer(&mut *buf, &ev);
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
