//! The `dns` object in Suricata's EVE v3 shape (one per message). Each section carries only
//! the fields Suricata's schema allows there (e.g. `srv` only in answers, `opt` only in
//! additionals), so events validate with `additionalProperties: false`.

use super::wire::*;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

/// Suricata's byte-string rendering: ASCII kept (JSON escapes controls), other bytes as `\xNN`.
pub fn string_from_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if c < 0x80 {
            s.push(c as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            s.push_str("\\x");
            s.push(char::from(HEX[usize::from(c >> 4)]));
            s.push(char::from(HEX[usize::from(c & 0xf)]));
        }
    }
    s
}

/// A record type's name as logged (the mnemonic, else the decimal number), zero-padded
/// so that comparing two of them orders the names as strings (no name holds a NUL).
fn type_name(t: u16) -> [u8; 10] {
    let mut out = [0u8; 10];
    match rrtype_str(t) {
        Some(name) => out[..name.len()].copy_from_slice(name.as_bytes()),
        None => {
            let digits = t.to_string();
            out[..digits.len()].copy_from_slice(digits.as_bytes());
        }
    }
    out
}

/// The mnemonic of a record type, if it has one.
fn rrtype_str(t: u16) -> Option<&'static str> {
    Some(match t {
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
        _ => return None,
    })
}

pub fn rcode_name(rcode: u8) -> String {
    rcode_str(rcode).map_or_else(|| rcode.to_string(), str::to_string)
}

/// The mnemonic of a response code, if it has one.
fn rcode_str(rcode: u8) -> Option<&'static str> {
    Some(match rcode {
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
        _ => return None,
    })
}

/// The three record sections differ in which fields the schema allows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Answer,
    Authority,
    Additional,
}

// Typed records, serialised straight into the event's text without building a value
// tree. Keys are declared in alphabetical order, the order the `serde_json::Map` these
// replace wrote them in.

/// Bytes in [`string_from_bytes`]'s rendering, borrowed as they are when all ASCII.
#[derive(Clone, Copy)]
pub struct ByteStr<'a>(pub &'a [u8]);

impl Serialize for ByteStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_ascii() {
            // SAFETY: ASCII is valid UTF-8 (checked in one pass instead of two).
            s.serialize_str(unsafe { std::str::from_utf8_unchecked(self.0) })
        } else {
            s.serialize_str(&string_from_bytes(self.0))
        }
    }
}

/// A record type by name ([`rrtype_name`]).
#[derive(Clone, Copy)]
struct RrType(u16);

impl Serialize for RrType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match rrtype_str(self.0) {
            Some(name) => s.serialize_str(name),
            None => s.collect_str(&self.0),
        }
    }
}

/// A response code by name ([`rcode_name`]).
struct Rcode(u8);

impl Serialize for Rcode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match rcode_str(self.0) {
            Some(name) => s.serialize_str(name),
            None => s.collect_str(&self.0),
        }
    }
}

/// Bytes as lower-case hex, optionally `:`-separated.
struct Hex<'a>(&'a [u8], &'static str);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize)]
struct SoaObj<'a> {
    expire: u32,
    minimum: u32,
    mname: ByteStr<'a>,
    #[serde(skip_serializing_if = "is_false")]
    mname_truncated: bool,
    refresh: u32,
    retry: u32,
    rname: ByteStr<'a>,
    serial: u32,
}

impl<'a> SoaObj<'a> {
    fn of(m: &'a Message, s: &Soa) -> SoaObj<'a> {
        SoaObj {
            expire: s.expire,
            minimum: s.minimum,
            mname: ByteStr(m.text(&s.mname)),
            mname_truncated: s.mname.truncated,
            refresh: s.refresh,
            retry: s.retry,
            rname: ByteStr(m.text(&s.rname)),
            serial: s.serial,
        }
    }
}

#[derive(Serialize)]
struct SrvObj<'a> {
    name: ByteStr<'a>,
    port: u16,
    priority: u16,
    weight: u16,
}

impl<'a> SrvObj<'a> {
    fn of(m: &'a Message, s: &Srv) -> SrvObj<'a> {
        SrvObj {
            name: ByteStr(m.text(&s.target)),
            port: s.port,
            priority: s.priority,
            weight: s.weight,
        }
    }
}

#[derive(Serialize)]
struct SshfpObj<'a> {
    algo: u8,
    fingerprint: Hex<'a>,
    #[serde(rename = "type")]
    fp_type: u8,
}

#[derive(Serialize)]
struct OptEntry<'a> {
    code: u16,
    data: Hex<'a>,
}

/// EDNS options of an OPT record.
struct OptList<'a>(&'a Message, Span);

impl Serialize for OptList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.options(self.1).map(|(code, data)| OptEntry {
            code,
            data: Hex(data, ""),
        }))
    }
}

/// One entry of a record section.
#[derive(Serialize)]
struct RrEntry<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    opt: Option<OptList<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rdata: Option<ByteStr<'a>>,
    #[serde(skip_serializing_if = "is_false")]
    rdata_truncated: bool,
    rrname: ByteStr<'a>,
    #[serde(skip_serializing_if = "is_false")]
    rrname_truncated: bool,
    rrtype: RrType,
    #[serde(skip_serializing_if = "Option::is_none")]
    soa: Option<SoaObj<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    srv: Option<SrvObj<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sshfp: Option<SshfpObj<'a>>,
    ttl: u32,
}

/// Log entries for one record (TXT: one per string, like Suricata; at most `room`). An
/// OPT without options logs nothing.
fn rr_entries<'a>(
    m: &'a Message,
    rr: &'a Rr,
    section: Section,
    room: usize,
    mut emit: impl FnMut(RrEntry<'a>) -> bool,
) -> Result<usize, ()> {
    let base = || RrEntry {
        opt: None,
        rdata: None,
        rdata_truncated: false,
        rrname: ByteStr(m.text(&rr.name)),
        rrname_truncated: rr.name.truncated && section == Section::Authority,
        rrtype: RrType(rr.rtype),
        soa: None,
        srv: None,
        sshfp: None,
        ttl: rr.ttl,
    };
    let mut one = |e: RrEntry<'a>| if emit(e) { Ok(1) } else { Err(()) };
    match (&rr.data, section) {
        (RData::Txt(txt), _) => {
            let mut n = 0;
            for t in m.txt_strings(txt).take(room) {
                one(RrEntry {
                    rdata: Some(ByteStr(t)),
                    ..base()
                })?;
                n += 1;
            }
            Ok(n)
        }
        (RData::Opt(opts), Section::Additional) if !opts.is_empty() => one(RrEntry {
            opt: Some(OptList(m, *opts)),
            ..base()
        }),
        (RData::Opt(_), _) => Ok(0),
        (RData::Addr(a), _) => one(RrEntry {
            rdata: Some(ByteStr(a.as_bytes())),
            ..base()
        }),
        (RData::Name(n), _) => one(RrEntry {
            rdata: Some(ByteStr(m.text(n))),
            rdata_truncated: n.truncated && section == Section::Authority,
            ..base()
        }),
        (RData::Null(b), _) => one(RrEntry {
            rdata: Some(ByteStr(m.bytes(*b))),
            ..base()
        }),
        (RData::Soa(s), Section::Answer | Section::Authority) => one(RrEntry {
            soa: Some(SoaObj::of(m, s)),
            ..base()
        }),
        (RData::Srv(s), Section::Answer) => one(RrEntry {
            srv: Some(SrvObj::of(m, s)),
            ..base()
        }),
        (RData::Sshfp { algo, fp_type, fp }, Section::Answer) => one(RrEntry {
            sshfp: Some(SshfpObj {
                algo: *algo,
                fingerprint: Hex(m.bytes(*fp), ":"),
                fp_type: *fp_type,
            }),
            ..base()
        }),
        _ => one(base()),
    }
}

/// A record section's entries, `MAX_RRS` at most, written as they are produced.
struct SectionEntries<'a> {
    m: &'a Message,
    rrs: &'a [Rr],
    section: Section,
}

impl SectionEntries<'_> {
    /// Whether the section logs no entry (only option-less OPT records, or none).
    fn is_empty(&self) -> bool {
        self.rrs
            .iter()
            .all(|rr| rr_entries(self.m, rr, self.section, MAX_RRS, |_| false) == Ok(0))
    }
}

impl Serialize for SectionEntries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        let mut n = 0;
        let mut err = None;
        for rr in self.rrs {
            if n >= MAX_RRS {
                break;
            }
            let r = rr_entries(self.m, rr, self.section, MAX_RRS - n, |e| {
                match seq.serialize_element(&e) {
                    Ok(()) => true,
                    Err(e) => {
                        err = Some(e);
                        false
                    }
                }
            });
            match r {
                Ok(k) => n += k,
                Err(()) => break,
            }
        }
        match err {
            Some(e) => Err(e),
            None => seq.end(),
        }
    }
}

/// Suricata's "grouped" answer format: rdata by record type (types in name order),
/// `MAX_RRS` values in all, taken in answer order. Written straight from the answers
/// rather than collected into per-type lists first.
struct Grouped<'a> {
    m: &'a Message,
    answers: &'a [Rr],
    /// Where the `MAX_RRS` values run out: answers before `cut.0` give all their values,
    /// answer `cut.0` its first `cut.1`, later ones none.
    cut: (usize, usize),
}

/// How many grouped values a record gives (TXT: one per string).
fn value_count(rr: &Rr) -> usize {
    match &rr.data {
        RData::Txt(t) => t.strings,
        RData::Opt(_) | RData::Other => 0,
        _ => 1,
    }
}

impl<'a> Grouped<'a> {
    fn of(m: &'a Message) -> Grouped<'a> {
        let answers = &m.answers[..];
        let mut n = 0;
        for (i, rr) in answers.iter().enumerate() {
            let k = value_count(rr);
            if n + k >= MAX_RRS {
                return Grouped {
                    m,
                    answers,
                    cut: (i, MAX_RRS - n),
                };
            }
            n += k;
        }
        Grouped {
            m,
            answers,
            cut: (answers.len(), 0),
        }
    }

    /// The answers that give values, with how many each gives.
    fn values(&self) -> impl Iterator<Item = (&'a Rr, usize)> + '_ {
        let (cut, last) = self.cut;
        self.answers
            .iter()
            .take(cut.saturating_add(1))
            .enumerate()
            .map(move |(i, rr)| {
                let k = value_count(rr);
                (rr, if i < cut { k } else { k.min(last) })
            })
            .filter(|&(_, k)| k > 0)
    }

    fn is_empty(&self) -> bool {
        self.values().next().is_none()
    }
}

impl Serialize for Grouped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        // Types in name order without collecting them: each round takes the smallest
        // name after the previous one (answers rarely hold more than one or two types).
        let mut prev = None;
        while let Some((name, rtype)) = self
            .values()
            .map(|(rr, _)| (type_name(rr.rtype), rr.rtype))
            .filter(|(name, _)| prev.is_none_or(|p| *name > p))
            .min()
        {
            map.serialize_entry(
                &RrType(rtype),
                &GroupValues {
                    grouped: self,
                    rtype,
                },
            )?;
            prev = Some(name);
        }
        map.end()
    }
}

/// The grouped values of one record type, in answer order.
struct GroupValues<'g, 'a> {
    grouped: &'g Grouped<'a>,
    rtype: u16,
}

impl Serialize for GroupValues<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.grouped.m;
        let mut seq = s.serialize_seq(None)?;
        for (rr, k) in self
            .grouped
            .values()
            .filter(|(rr, _)| rr.rtype == self.rtype)
        {
            match &rr.data {
                RData::Addr(a) => seq.serialize_element(&ByteStr(a.as_bytes()))?,
                RData::Name(n) => seq.serialize_element(&ByteStr(m.text(n)))?,
                RData::Txt(txt) => {
                    for t in m.txt_strings(txt).take(k) {
                        seq.serialize_element(&ByteStr(t))?;
                    }
                }
                RData::Null(b) => seq.serialize_element(&ByteStr(m.bytes(*b)))?,
                RData::Soa(soa) => seq.serialize_element(&SoaObj::of(m, soa))?,
                RData::Srv(srv) => seq.serialize_element(&SrvObj::of(m, srv))?,
                RData::Sshfp { algo, fp_type, fp } => seq.serialize_element(&SshfpObj {
                    algo: *algo,
                    fingerprint: Hex(m.bytes(*fp), ":"),
                    fp_type: *fp_type,
                })?,
                RData::Opt(_) | RData::Other => {}
            }
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct Query<'a> {
    rrname: ByteStr<'a>,
    #[serde(skip_serializing_if = "is_false")]
    rrname_truncated: bool,
    rrtype: RrType,
}

/// The `queries` list, written from the questions as they are.
struct Queries<'a>(&'a Message);

impl Queries<'_> {
    fn is_empty(&self) -> bool {
        self.0.questions.is_empty()
    }
}

impl Serialize for Queries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.questions.iter().map(|q| Query {
            rrname: ByteStr(self.0.text(&q.name)),
            rrname_truncated: q.name.truncated,
            rrtype: RrType(q.qtype),
        }))
    }
}

/// The `dns` object of one message, in Suricata's EVE v3 shape.
#[derive(Serialize)]
pub struct MessageBody<'a> {
    #[serde(skip_serializing_if = "is_false")]
    aa: bool,
    #[serde(skip_serializing_if = "SectionEntries::is_empty")]
    additionals: SectionEntries<'a>,
    #[serde(skip_serializing_if = "SectionEntries::is_empty")]
    answers: SectionEntries<'a>,
    #[serde(skip_serializing_if = "SectionEntries::is_empty")]
    authorities: SectionEntries<'a>,
    flags: FlagsHex,
    #[serde(skip_serializing_if = "Grouped::is_empty")]
    grouped: Grouped<'a>,
    id: u16,
    opcode: u8,
    #[serde(skip_serializing_if = "is_false")]
    qr: bool,
    #[serde(skip_serializing_if = "Queries::is_empty")]
    queries: Queries<'a>,
    #[serde(skip_serializing_if = "is_false")]
    ra: bool,
    rcode: Rcode,
    #[serde(skip_serializing_if = "is_false")]
    rd: bool,
    #[serde(skip_serializing_if = "is_false")]
    tc: bool,
    tx_id: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    version: u8,
    #[serde(skip_serializing_if = "is_false")]
    z: bool,
}

/// The header flags word in hex, as Suricata prints it (`{:x}`: lower case, no leading
/// zeros), written digit by digit rather than through the formatting machinery.
struct FlagsHex(u16);

impl Serialize for FlagsHex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; 4];
        let mut at = digits.len();
        let mut v = self.0;
        loop {
            at -= 1;
            digits[at] = HEX[usize::from(v & 0xf)];
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        s.serialize_str(std::str::from_utf8(&digits[at..]).unwrap_or_default())
    }
}

/// The `dns` object for a parsed message.
pub fn message_body(m: &Message, tx_id: u64) -> MessageBody<'_> {
    let h = &m.header;
    let bit = |b: u16| h.flags & b != 0;
    let section = |rrs, section| SectionEntries { m, rrs, section };
    MessageBody {
        aa: bit(0x0400),
        additionals: section(&m.additionals, Section::Additional),
        answers: section(&m.answers, Section::Answer),
        authorities: section(&m.authorities, Section::Authority),
        flags: FlagsHex(h.flags),
        grouped: Grouped::of(m),
        id: h.id,
        opcode: h.opcode(),
        qr: bit(0x8000),
        queries: Queries(m),
        ra: bit(0x0080),
        rcode: Rcode(h.rcode()),
        rd: bit(0x0100),
        tc: bit(0x0200),
        tx_id,
        kind: if h.qr() { "response" } else { "request" },
        version: 3,
        z: bit(0x0040),
    }
}
