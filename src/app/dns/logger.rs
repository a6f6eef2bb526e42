//! The `dns` object in Suricata's EVE v3 shape (one per message). Each section carries only
//! the fields Suricata's schema allows there (e.g. `srv` only in answers, `opt` only in
//! additionals), so events validate with `additionalProperties: false`.

use super::wire::*;
use serde_json::{json, Map, Value};

/// Suricata's byte-string rendering: ASCII kept (JSON escapes controls), other bytes as `\xNN`.
pub fn string_from_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if c < 0x80 {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

pub fn rrtype_name(t: u16) -> String {
    let name = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        24 => "SIG",
        25 => "KEY",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => return t.to_string(),
    };
    name.to_string()
}

pub fn rcode_name(rcode: u8) -> String {
    let name = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return rcode.to_string(),
    };
    name.to_string()
}

/// The three record sections differ in which fields the schema allows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Answer,
    Authority,
    Additional,
}

fn name_str(n: &Name) -> Value {
    Value::String(string_from_bytes(&n.text))
}

fn soa_obj(s: &Soa) -> Value {
    let mut o = Map::new();
    o.insert("mname".into(), name_str(&s.mname));
    if s.mname.truncated {
        o.insert("mname_truncated".into(), true.into());
    }
    o.insert("rname".into(), name_str(&s.rname));
    o.insert("serial".into(), s.serial.into());
    o.insert("refresh".into(), s.refresh.into());
    o.insert("retry".into(), s.retry.into());
    o.insert("expire".into(), s.expire.into());
    o.insert("minimum".into(), s.minimum.into());
    Value::Object(o)
}

fn srv_obj(s: &Srv) -> Value {
    json!({"priority": s.priority, "weight": s.weight, "port": s.port, "name": name_str(&s.target)})
}

fn sshfp_obj(algo: u8, fp_type: u8, fp: &[u8]) -> Value {
    let hex: Vec<String> = fp.iter().map(|b| format!("{b:02x}")).collect();
    json!({"fingerprint": hex.join(":"), "algo": algo, "type": fp_type})
}

/// Log entries for one record (TXT: one per string, like Suricata). An OPT without options
/// logs nothing. A section stops at `MAX_RRS` entries.
fn rr_entries(rr: &Rr, section: Section, out: &mut Vec<Value>) {
    let mut base = Map::new();
    base.insert("rrname".into(), name_str(&rr.name));
    if rr.name.truncated && section == Section::Authority {
        base.insert("rrname_truncated".into(), true.into());
    }
    base.insert("rrtype".into(), rrtype_name(rr.rtype).into());
    base.insert("ttl".into(), rr.ttl.into());
    let with = |k: &str, v: Value| {
        let mut o = base.clone();
        o.insert(k.into(), v);
        Value::Object(o)
    };
    match (&rr.data, section) {
        (RData::Txt(strings), _) => {
            for s in strings.iter().take(MAX_RRS.saturating_sub(out.len())) {
                out.push(with("rdata", string_from_bytes(s).into()));
            }
        }
        (RData::Opt(opts), Section::Additional) if !opts.is_empty() => {
            let list: Vec<Value> = opts
                .iter()
                .map(|(code, data)| json!({"code": code, "data": hex(data)}))
                .collect();
            out.push(with("opt", list.into()));
        }
        (RData::Opt(_), _) => {}
        (RData::Addr(a), _) => out.push(with("rdata", a.clone().into())),
        (RData::Name(n), _) => {
            let mut v = with("rdata", name_str(n));
            if n.truncated && section == Section::Authority {
                v["rdata_truncated"] = true.into();
            }
            out.push(v);
        }
        (RData::Null(b), _) => out.push(with("rdata", string_from_bytes(b).into())),
        (RData::Soa(s), Section::Answer | Section::Authority) => out.push(with("soa", soa_obj(s))),
        (RData::Srv(s), Section::Answer) => out.push(with("srv", srv_obj(s))),
        (
            RData::Sshfp {
                algo,
                fp_type,
                fp: f,
            },
            Section::Answer,
        ) => out.push(with("sshfp", sshfp_obj(*algo, *fp_type, f))),
        _ => out.push(Value::Object(base)),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Suricata's "grouped" answer format: rdata by record type, `MAX_RRS` values in all.
fn grouped(answers: &[Rr]) -> Map<String, Value> {
    let mut g = Map::new();
    let mut n = 0;
    for rr in answers {
        let vals: Vec<Value> = match &rr.data {
            RData::Addr(a) => vec![a.clone().into()],
            RData::Name(n) => vec![name_str(n)],
            RData::Txt(s) => s.iter().map(|s| string_from_bytes(s).into()).collect(),
            RData::Null(b) => vec![string_from_bytes(b).into()],
            RData::Soa(s) => vec![soa_obj(s)],
            RData::Srv(s) => vec![srv_obj(s)],
            RData::Sshfp { algo, fp_type, fp } => vec![sshfp_obj(*algo, *fp_type, fp)],
            RData::Opt(_) | RData::Other => continue,
        };
        let vals: Vec<Value> = vals.into_iter().take(MAX_RRS - n).collect();
        if vals.is_empty() {
            continue;
        }
        n += vals.len();
        if let Value::Array(a) = g
            .entry(rrtype_name(rr.rtype))
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            a.extend(vals);
        }
    }
    g
}

/// The `dns` object for a parsed message.
pub fn message_body(m: &Message, tx_id: u64) -> Value {
    let h = &m.header;
    let mut o = Map::new();
    o.insert("version".into(), 3.into());
    let kind = if h.qr() { "response" } else { "request" };
    o.insert("type".into(), kind.into());
    o.insert("tx_id".into(), tx_id.into());
    o.insert("id".into(), h.id.into());
    o.insert("flags".into(), format!("{:x}", h.flags).into());
    for (bit, key) in [
        (0x8000, "qr"),
        (0x0400, "aa"),
        (0x0200, "tc"),
        (0x0100, "rd"),
        (0x0080, "ra"),
        (0x0040, "z"),
    ] {
        if h.flags & bit != 0 {
            o.insert(key.into(), true.into());
        }
    }
    o.insert("opcode".into(), h.opcode().into());
    o.insert("rcode".into(), rcode_name(h.rcode()).into());
    if !m.questions.is_empty() {
        let qs: Vec<Value> = m
            .questions
            .iter()
            .map(|q| {
                let mut e = Map::new();
                e.insert("rrname".into(), name_str(&q.name));
                e.insert("rrtype".into(), rrtype_name(q.qtype).into());
                if q.name.truncated {
                    e.insert("rrname_truncated".into(), true.into());
                }
                Value::Object(e)
            })
            .collect();
        o.insert("queries".into(), qs.into());
    }
    let sections = [
        ("answers", &m.answers, Section::Answer),
        ("authorities", &m.authorities, Section::Authority),
        ("additionals", &m.additionals, Section::Additional),
    ];
    for (key, rrs, section) in sections {
        let mut entries = Vec::new();
        for rr in rrs {
            if entries.len() >= MAX_RRS {
                break;
            }
            rr_entries(rr, section, &mut entries);
        }
        if !entries.is_empty() {
            o.insert(key.into(), entries.into());
        }
    }
    let g = grouped(&m.answers);
    if !g.is_empty() {
        o.insert("grouped".into(), Value::Object(g));
    }
    Value::Object(o)
}
