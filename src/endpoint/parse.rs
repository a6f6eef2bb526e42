//! One endpoint record per line, in whichever of the two shapes the shipper writes; the
//! shape is decided per record, so one file or socket may mix them:
//!
//! - **Winlogbeat / ECS**: `winlog.event_id` (or `event.code`), `process.executable`/`.name`/
//!   `.pid`, `process.parent.*`, `user.name` (+ `user.domain`), `host.name`, `source.ip`/
//!   `.port`, `destination.ip`/`.port`, `network.transport`, `network.direction`,
//!   `@timestamp`. Fields the Sysmon module did not map are read from `winlog.event_data`
//!   (Winlogbeat without the module ships only those).
//! - **Flat Sysmon** (NXLog `to_json()` and most others): `EventID`, `Image`, `ProcessId`,
//!   `User`, `Computer`/`Hostname`, `SourceIp`, `SourcePort`, `DestinationIp`,
//!   `DestinationPort`, `Protocol`, `UtcTime`, `Initiated`.
//!
//! Numbers arrive as JSON numbers or strings depending on the shipper (Windows event data
//! is text; Winlogbeat 8 writes `event_id` as a string), so both are accepted. The line is
//! deserialised once into typed, borrowing structs: no `Value` tree, and strings without
//! escapes are not copied.

use super::Format;
use crate::decode::{addr_from_v4, Addr};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

/// A Sysmon Event ID 3 record, borrowing from its line.
#[derive(Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub format: Format,
    /// IP protocol number (6 or 17).
    pub proto: u8,
    /// As the record orients the connection: source → destination.
    pub src: (Addr, u16),
    pub dst: (Addr, u16),
    /// When the connection happened by the endpoint's clock, µs since the epoch (UTC).
    pub time_us: u64,
    /// Sysmon `Initiated` / ECS `network.direction`; None when the record does not say.
    pub initiated: Option<bool>,
    pub image: Cow<'a, str>,
    pub pid: Option<u64>,
    /// ECS splits `DOMAIN\user`; flat records keep it whole in `user`.
    pub user_domain: Option<Cow<'a, str>>,
    pub user: Option<Cow<'a, str>>,
    pub host: Option<Cow<'a, str>>,
    pub parent_image: Option<Cow<'a, str>>,
    pub parent_pid: Option<u64>,
}

/// What a well-formed line turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    Record(RecordRef<'a>),
    /// Another event ID or another provider's event: counted, not indexed.
    Ignored,
}

/// Why a line could not be used; reported (rate-limited) and counted as malformed.
pub type Malformed = String;

pub fn parse_line(line: &str) -> Result<Parsed<'_>, Malformed> {
    let l: Line<'_> = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
    if l.event_id.is_some() {
        flat(l)
    } else if l.winlog.is_some() || l.event.is_some() || l.timestamp.is_some() {
        ecs(l)
    } else {
        Err("neither Winlogbeat/ECS (winlog.event_id) nor flat Sysmon (EventID)".into())
    }
}

/// Providers other than Sysmon also number their events; an event ID 3 from them is not a
/// network connection. Absent provider fields are taken on trust.
fn is_sysmon(provider: Option<&Text<'_>>) -> bool {
    provider.is_none_or(|p| p.0.contains("Sysmon"))
}

fn flat(mut l: Line<'_>) -> Result<Parsed<'_>, Malformed> {
    if l.event_id.map(|n| n.0) != Some(3)
        || !is_sysmon(l.source_name.as_ref().or(l.channel.as_ref()))
    {
        return Ok(Parsed::Ignored);
    }
    let host = l.computer.take().or(l.hostname.take()).map(Text::cow);
    fields(&mut l, Format::Sysmon, host).map(Parsed::Record)
}

/// Sysmon's own fields, wherever they sit (top level, or `winlog.event_data`).
fn fields<'a>(
    l: &mut Line<'a>,
    format: Format,
    host: Option<Cow<'a, str>>,
) -> Result<RecordRef<'a>, Malformed> {
    let time = l.utc_time.as_ref().ok_or("missing UtcTime")?;
    Ok(RecordRef {
        format,
        proto: proto(l.protocol.as_ref().ok_or("missing Protocol")?)?,
        src: (
            ip(l.source_ip.as_ref().ok_or("missing SourceIp")?)?,
            port(l.source_port, "SourcePort")?,
        ),
        dst: (
            ip(l.destination_ip.as_ref().ok_or("missing DestinationIp")?)?,
            port(l.destination_port, "DestinationPort")?,
        ),
        time_us: parse_time(&time.0).ok_or_else(|| format!("bad UtcTime {:?}", time.0))?,
        initiated: l.initiated.map(|f| f.0),
        image: l.image.take().ok_or("missing Image")?.cow(),
        pid: l.process_id.map(|n| n.0),
        user_domain: None,
        user: l.user_flat.take().map(Text::cow),
        host,
        parent_image: l.parent_image.take().map(Text::cow),
        parent_pid: l.parent_process_id.map(|n| n.0),
    })
}

fn ecs(mut l: Line<'_>) -> Result<Parsed<'_>, Malformed> {
    let mut w = l.winlog.take().unwrap_or_default();
    let id = w.event_id.or(l.event.as_ref().and_then(|e| e.code));
    let Some(id) = id else {
        return Err("no event id (winlog.event_id or event.code)".into());
    };
    if id.0 != 3 || !is_sysmon(w.provider_name.as_ref().or(w.channel.as_ref())) {
        return Ok(Parsed::Ignored);
    }
    // What the Sysmon module mapped to ECS wins; event_data fills the gaps.
    let mut ed = w.event_data.take().map(|b| *b).unwrap_or_default();
    let mut p = l.process.take().unwrap_or_default();
    let src = l.source.take().unwrap_or_default();
    let dst = l.destination.take().unwrap_or_default();
    let net = l.network.take().unwrap_or_default();
    ed.utc_time = l.timestamp.take().or(ed.utc_time);
    ed.protocol = net.transport.or(ed.protocol);
    ed.source_ip = src.ip.or(ed.source_ip);
    ed.source_port = src.port.or(ed.source_port);
    ed.destination_ip = dst.ip.or(ed.destination_ip);
    ed.destination_port = dst.port.or(ed.destination_port);
    ed.image = p.executable.take().or(ed.image).or(p.name.take());
    ed.process_id = p.pid.or(ed.process_id);
    if let Some(d) = net.direction {
        match &*d.0 {
            "egress" | "outbound" => ed.initiated = Some(Flag(true)),
            "ingress" | "inbound" => ed.initiated = Some(Flag(false)),
            _ => {}
        }
    }
    let parent = p.parent.take().unwrap_or_default();
    ed.parent_image = parent.executable.or(parent.name).or(ed.parent_image);
    ed.parent_process_id = parent.pid.or(ed.parent_process_id);
    let (domain, user) = match l.user.take() {
        Some(u) if u.name.is_some() => (u.domain.map(Text::cow), u.name.map(Text::cow)),
        _ => (None, ed.user_flat.take().map(Text::cow)),
    };
    let host = l
        .host
        .take()
        .and_then(|h| h.name.or(h.hostname))
        .or(w.computer_name.take())
        .map(Text::cow);
    let mut r = fields(&mut ed, Format::Ecs, host)?;
    r.user_domain = domain;
    r.user = user;
    Ok(Parsed::Record(r))
}

fn proto(t: &Text<'_>) -> Result<u8, Malformed> {
    match t.0.to_ascii_lowercase().as_str() {
        "tcp" | "6" => Ok(6),
        "udp" | "17" => Ok(17),
        other => Err(format!("unsupported protocol {other:?}")),
    }
}

fn port(n: Option<Num>, name: &str) -> Result<u16, Malformed> {
    let n = n.ok_or_else(|| format!("missing {name}"))?;
    u16::try_from(n.0).map_err(|_| format!("{name} {} out of range", n.0))
}

/// An IPv4 or IPv6 address as endpoints print it; an IPv6 zone (`fe80::1%12`) is dropped,
/// since packets do not carry it.
pub fn ip(t: &Text<'_>) -> Result<Addr, Malformed> {
    let s = t.0.split('%').next().unwrap_or_default();
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok(addr_from_v4(a.octets())),
        Ok(IpAddr::V6(a)) => Ok(a.octets()),
        Err(_) => Err(format!("bad IP address {:?}", t.0)),
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-03-10T09:00:01.123Z`, `2026-03-10T10:00:01.123456+01:00` (RFC 3339, as
/// `@timestamp`) and `2026-03-10 09:00:01.123` (Sysmon's `UtcTime`, UTC without a zone)
/// → µs since the epoch. None for anything else, or a time before 1970.
pub fn parse_time(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        d.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac_us: u64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                frac_us = frac_us * 10 + u64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..6 {
            frac_us *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &s[i + 1..];
            let (oh, om) = match rest.len() {
                5 if rest.as_bytes()[2] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                4 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                2 => (num(i + 1..i + 3)?, 0),
                _ => return None,
            };
            let o = i64::from(oh * 3600 + om * 60);
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset_secs;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(frac_us)
}

// ------------------------------------------------------------------ wire structs

/// A string that borrows from the line when it has no escapes (serde's own `Cow` field
/// support does not reach through `Option`).
#[derive(Debug, Default)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> Text<'a> {
    fn cow(self) -> Cow<'a, str> {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A non-negative integer given as a JSON number or a decimal string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Num(pub u64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative integer or a decimal string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                u64::try_from(v)
                    .map(Num)
                    .map_err(|_| E::custom(format!("negative number {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                v.trim()
                    .parse()
                    .map(Num)
                    .map_err(|_| E::custom(format!("not a number: {v:?}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean given as JSON `true`/`false` or as the text Windows event data uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                match v.trim() {
                    t if t.eq_ignore_ascii_case("true") => Ok(Flag(true)),
                    t if t.eq_ignore_ascii_case("false") => Ok(Flag(false)),
                    _ => Err(E::custom(format!("not a boolean: {v:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Every field of both shapes we read; the rest of the line is skipped unparsed. Also
/// the type of `winlog.event_data`, whose fields are Sysmon's flat ones.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Line<'a> {
    // Flat Sysmon.
    #[serde(rename = "EventID")]
    event_id: Option<Num>,
    #[serde(rename = "SourceName", borrow)]
    source_name: Option<Text<'a>>,
    #[serde(rename = "Channel", borrow)]
    channel: Option<Text<'a>>,
    #[serde(rename = "UtcTime", borrow)]
    utc_time: Option<Text<'a>>,
    #[serde(rename = "Image", borrow)]
    image: Option<Text<'a>>,
    #[serde(rename = "ProcessId")]
    process_id: Option<Num>,
    #[serde(rename = "ParentImage", borrow)]
    parent_image: Option<Text<'a>>,
    #[serde(rename = "ParentProcessId")]
    parent_process_id: Option<Num>,
    #[serde(rename = "User", borrow)]
    user_flat: Option<Text<'a>>,
    #[serde(rename = "Computer", borrow)]
    computer: Option<Text<'a>>,
    #[serde(rename = "Hostname", borrow)]
    hostname: Option<Text<'a>>,
    #[serde(rename = "Protocol", borrow)]
    protocol: Option<Text<'a>>,
    #[serde(rename = "Initiated")]
    initiated: Option<Flag>,
    #[serde(rename = "SourceIp", borrow)]
    source_ip: Option<Text<'a>>,
    #[serde(rename = "SourcePort")]
    source_port: Option<Num>,
    #[serde(rename = "DestinationIp", borrow)]
    destination_ip: Option<Text<'a>>,
    #[serde(rename = "DestinationPort")]
    destination_port: Option<Num>,
    // ECS.
    #[serde(rename = "@timestamp", borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    winlog: Option<Winlog<'a>>,
    event: Option<EcsEvent>,
    #[serde(borrow)]
    process: Option<EcsProcess<'a>>,
    #[serde(borrow)]
    user: Option<EcsUser<'a>>,
    #[serde(borrow)]
    host: Option<EcsHost<'a>>,
    #[serde(borrow)]
    source: Option<EcsEndpoint<'a>>,
    #[serde(borrow)]
    destination: Option<EcsEndpoint<'a>>,
    #[serde(borrow)]
    network: Option<EcsNetwork<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Winlog<'a> {
    event_id: Option<Num>,
    #[serde(borrow)]
    provider_name: Option<Text<'a>>,
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    computer_name: Option<Text<'a>>,
    #[serde(borrow)]
    event_data: Option<Box<Line<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EcsEvent {
    code: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EcsProcess<'a> {
    #[serde(borrow)]
    executable: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    pid: Option<Num>,
    #[serde(borrow)]
    parent: Option<EcsParent<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EcsParent<'a> {
    #[serde(borrow)]
    executable: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    pid: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EcsUser<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    domain: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EcsHost<'a> {
    #[serde(borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    hostname: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EcsEndpoint<'a> {
    #[serde(borrow)]
    ip: Option<Text<'a>>,
    port: Option<Num>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EcsNetwork<'a> {
    #[serde(borrow)]
    transport: Option<Text<'a>>,
    #[serde(borrow)]
    direction: Option<Text<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> Addr {
        addr_from_v4(a)
    }

    fn record(line: &str) -> RecordRef<'_> {
        match parse_line(line) {
            Ok(Parsed::Record(r)) => r,
            other => panic!("{line}: {other:?}"),
        }
    }

    /// Winlogbeat 8 with the Sysmon module: ECS fields, `event_id` as a string.
    const WINLOGBEAT: &str = r#"{"@timestamp":"2026-03-10T09:00:01.123Z","event":{"code":"3","kind":"event"},
        "winlog":{"event_id":"3","provider_name":"Microsoft-Windows-Sysmon","computer_name":"WS-042.corp.example",
          "event_data":{"Initiated":"true","SourceIsIpv6":"false","RuleName":"-"}},
        "process":{"executable":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","name":"powershell.exe","pid":4242,
          "parent":{"executable":"C:\\Windows\\explorer.exe","pid":1000}},
        "user":{"name":"alice","domain":"CORP"},"host":{"name":"ws-042"},
        "source":{"ip":"10.1.2.3","port":50123,"domain":"ws-042"},"destination":{"ip":"203.0.113.9","port":21},
        "network":{"transport":"tcp","direction":"egress","type":"ipv4"}}"#;

    #[test]
    fn winlogbeat_ecs_record() {
        let r = record(WINLOGBEAT);
        assert_eq!(r.format, Format::Ecs);
        assert_eq!(r.proto, 6);
        assert_eq!(r.src, (v4([10, 1, 2, 3]), 50123));
        assert_eq!(r.dst, (v4([203, 0, 113, 9]), 21));
        assert_eq!(r.time_us, parse_time("2026-03-10 09:00:01.123").unwrap());
        assert_eq!(r.initiated, Some(true));
        assert_eq!(
            r.image,
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
        );
        assert_eq!(r.pid, Some(4242));
        assert_eq!(r.user_domain.as_deref(), Some("CORP"));
        assert_eq!(r.user.as_deref(), Some("alice"));
        assert_eq!(r.host.as_deref(), Some("ws-042"));
        assert_eq!(r.parent_image.as_deref(), Some(r"C:\Windows\explorer.exe"));
        assert_eq!(r.parent_pid, Some(1000));
    }

    #[test]
    fn winlogbeat_without_the_module_reads_event_data() {
        let line = r#"{"@timestamp":"2026-03-10T09:00:05.000Z","winlog":{"event_id":3,"computer_name":"WS-7",
          "provider_name":"Microsoft-Windows-Sysmon","event_data":{"UtcTime":"2026-03-10 09:00:01.500",
          "ProcessId":"512","Image":"C:\\Tools\\rclone.exe","User":"CORP\\bob","Protocol":"udp","Initiated":"false",
          "SourceIp":"fe80::1%12","SourcePort":"5353","DestinationIp":"::ffff:10.0.0.7","DestinationPort":"69"}}}"#;
        let r = record(line);
        assert_eq!(r.format, Format::Ecs);
        assert_eq!(r.proto, 17);
        // @timestamp is what the Sysmon module sets from UtcTime; it wins when present.
        assert_eq!(
            r.time_us,
            parse_time("2026-03-10T09:00:05Z").unwrap(),
            "{r:?}"
        );
        assert_eq!(r.initiated, Some(false));
        assert_eq!(r.image, r"C:\Tools\rclone.exe");
        assert_eq!(r.pid, Some(512));
        assert_eq!(r.user.as_deref(), Some(r"CORP\bob"));
        assert_eq!(r.user_domain, None);
        assert_eq!(r.host.as_deref(), Some("WS-7"));
        let mut fe80 = [0u8; 16];
        fe80[0] = 0xfe;
        fe80[1] = 0x80;
        fe80[15] = 1;
        assert_eq!(r.src, (fe80, 5353));
        assert_eq!(r.dst, (v4([10, 0, 0, 7]), 69), "IPv4-mapped is IPv4");
    }

    /// NXLog im_msvistalog + to_json(): flat names, ProcessID is NXLog's (the Sysmon
    /// service), ProcessId the connecting process; EventData values are strings.
    const NXLOG: &str = r#"{"EventTime":"2026-03-10 10:00:02","Hostname":"WS-042.corp.example","EventID":3,
        "SourceName":"Microsoft-Windows-Sysmon","ProcessID":2012,"Channel":"Microsoft-Windows-Sysmon/Operational",
        "UtcTime":"2026-03-10 09:00:01.123","ProcessGuid":"{4ab2c9a1-0000-0000-0000-000000000000}","ProcessId":"4242",
        "Image":"C:\\Windows\\System32\\ftp.exe","User":"CORP\\alice","Protocol":"tcp","Initiated":"true",
        "SourceIsIpv6":"false","SourceIp":"10.1.2.3","SourcePort":"50123","DestinationIp":"203.0.113.9",
        "DestinationPort":"21","DestinationPortName":"ftp"}"#;

    #[test]
    fn nxlog_flat_record() {
        let r = record(NXLOG);
        assert_eq!(r.format, Format::Sysmon);
        assert_eq!(r.proto, 6);
        assert_eq!(
            r.pid,
            Some(4242),
            "EventData ProcessId, not NXLog's ProcessID"
        );
        assert_eq!(r.image, r"C:\Windows\System32\ftp.exe");
        assert_eq!(r.user.as_deref(), Some(r"CORP\alice"));
        assert_eq!(r.host.as_deref(), Some("WS-042.corp.example"));
        assert_eq!(r.src, (v4([10, 1, 2, 3]), 50123));
        assert_eq!(r.dst, (v4([203, 0, 113, 9]), 21));
        assert_eq!(r.initiated, Some(true));
        assert_eq!(r.time_us, 1_773_133_201_123_000);
    }

    #[test]
    fn flat_record_with_numbers_and_computer() {
        let r = record(
            r#"{"EventID":"3","Computer":"SRV1","UtcTime":"2026-03-10 09:00:01.1","Image":"/usr/bin/curl",
               "ProcessId":77,"Protocol":"TCP","SourceIp":"10.0.0.1","SourcePort":1,"DestinationIp":"10.0.0.2",
               "DestinationPort":80,"Initiated":true}"#,
        );
        assert_eq!(r.host.as_deref(), Some("SRV1"));
        assert_eq!(r.pid, Some(77));
        assert_eq!(r.time_us % 1_000_000, 100_000);
        assert!(
            matches!(r.image, Cow::Borrowed(_)),
            "unescaped strings are not copied"
        );
    }

    #[test]
    fn other_events_are_ignored() {
        for line in [
            r#"{"EventID":1,"Image":"C:\\x.exe","UtcTime":"2026-03-10 09:00:01.123"}"#,
            r#"{"EventID":3,"SourceName":"Some-Other-Provider"}"#,
            r#"{"@timestamp":"2026-03-10T09:00:01Z","winlog":{"event_id":"22"}}"#,
            r#"{"@timestamp":"2026-03-10T09:00:01Z","event":{"code":1}}"#,
            r#"{"@timestamp":"2026-03-10T09:00:01Z","winlog":{"event_id":3,"provider_name":"Microsoft-Windows-Security-Auditing"}}"#,
        ] {
            assert_eq!(parse_line(line), Ok(Parsed::Ignored), "{line}");
        }
    }

    #[test]
    fn malformed_lines_say_why() {
        let cases = [
            ("{\"EventID\":3,", "bad JSON"),
            ("\u{1}\u{2}garbage", "bad JSON"),
            ("[1,2,3]", "bad JSON"),
            ("{}", "neither"),
            (r#"{"@timestamp":"2026-03-10T09:00:01Z"}"#, "no event id"),
            (r#"{"EventID":"three"}"#, "not a number"),
            (
                r#"{"EventID":3,"UtcTime":"2026-03-10 09:00:01.123"}"#,
                "missing Protocol",
            ),
            (
                r#"{"EventID":3,"UtcTime":"yesterday","Protocol":"tcp","SourceIp":"10.0.0.1","SourcePort":1,"DestinationIp":"10.0.0.2","DestinationPort":2,"Image":"x"}"#,
                "bad UtcTime",
            ),
            (
                r#"{"EventID":3,"UtcTime":"2026-03-10 09:00:01.123","Protocol":"icmp"}"#,
                "unsupported protocol",
            ),
            (
                r#"{"EventID":3,"UtcTime":"2026-03-10 09:00:01.123","Protocol":"tcp","SourceIp":"10.0.0.300"}"#,
                "bad IP address",
            ),
            (
                r#"{"EventID":3,"UtcTime":"2026-03-10 09:00:01.123","Protocol":"tcp","SourceIp":"10.0.0.1","SourcePort":70000}"#,
                "out of range",
            ),
            (
                r#"{"EventID":3,"UtcTime":"2026-03-10 09:00:01.123","Protocol":"tcp","SourceIp":"10.0.0.1","SourcePort":1,"DestinationIp":"10.0.0.2","DestinationPort":2}"#,
                "missing Image",
            ),
            (r#"{"EventID":3,"Initiated":"maybe"}"#, "not a boolean"),
            (r#"{"EventID":-3}"#, "negative"),
        ];
        for (line, why) in cases {
            match parse_line(line) {
                Err(e) => assert!(e.contains(why), "{line}: {e}"),
                Ok(p) => panic!("{line}: accepted as {p:?}"),
            }
        }
    }

    #[test]
    fn times_in_every_accepted_shape() {
        let base = parse_time("2026-03-10T09:00:01Z").unwrap();
        assert_eq!(base, 1_773_133_201_000_000);
        assert_eq!(parse_time("2026-03-10 09:00:01"), Some(base));
        assert_eq!(parse_time("2026-03-10T09:00:01.5Z"), Some(base + 500_000));
        assert_eq!(
            parse_time("2026-03-10T09:00:01.123456789Z"),
            Some(base + 123_456)
        );
        assert_eq!(parse_time("2026-03-10T10:00:01.000+01:00"), Some(base));
        assert_eq!(parse_time("2026-03-10T08:30:01-0030"), Some(base));
        assert_eq!(parse_time("2026-03-10T10:00:01+01"), Some(base));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_time("2000-02-29 00:00:00.000001"),
            Some(951_782_400_000_001)
        );
        for bad in [
            "",
            "2026-03-10",
            "2026-13-10T09:00:01Z",
            "2026-03-10T09:00:01.Z",
            "2026-03-10T09:00:01Zjunk",
            "2026-03-10X09:00:01",
            "1969-12-31T23:59:59Z",
            "2026-03-10T09:00:01+1",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        /// Garbage and mutated records give a reason, never a panic.
        #[test]
        fn arbitrary_lines_never_panic(line in "\\PC{0,300}") {
            let _ = parse_line(&line);
        }

        #[test]
        fn mutated_records_never_panic(cut in 0usize..400, junk in "[\\[\\]{}\":,0-9a-zA-Z.-]{0,12}") {
            let good = r#"{"EventID":3,"Image":"C:\\x.exe","ProcessId":"7","SourceIp":"10.0.0.1","SourcePort":5,"DestinationIp":"1.2.3.4","DestinationPort":80,"Protocol":"tcp","UtcTime":"2026-03-10 09:00:01.123","Initiated":"true"}"#;
            let at = cut.min(good.len());
            let line = format!("{}{junk}{}", &good[..at], &good[at..]);
            let _ = parse_line(&line);
        }
    }
}
