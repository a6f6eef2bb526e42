//! DNS wire format (RFC 1035): header, compressed names, questions and resource records.
//! Everything is bounds-checked; counts and lengths from the wire only bound loops over
//! bytes that are actually present.

/// Fixed header size.
pub const HEADER_LEN: usize = 12;
/// RFC 1035 §2.3.4 limit on a name's wire length; longer decompressed names are cut and flagged.
const MAX_NAME_WIRE: usize = 255;
/// Compression pointers followed per name. Each must point before the previous segment, which
/// already rules out loops; this only bounds the work on hostile messages.
const MAX_HOPS: usize = 64;
/// Records per section, and strings per TXT record, that are kept: a 64 KiB message can hold
/// ~6000 tiny records or 65000 empty strings, which would make a multi-megabyte event. Extra
/// records are skipped and the message flagged `rr_capped`; extra strings are skipped.
pub const MAX_RRS: usize = 256;

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_NULL: u16 = 10;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_MX: u16 = 15;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_OPT: u16 = 41;
pub const TYPE_SSHFP: u16 = 44;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    pub fn parse(b: &[u8]) -> Option<Header> {
        let h = b.get(..HEADER_LEN)?;
        let w = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Some(Header {
            id: w(0),
            flags: w(2),
            qdcount: w(4),
            ancount: w(6),
            nscount: w(8),
            arcount: w(10),
        })
    }

    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }

    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

/// Why a name could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// The bytes ended inside the name (the probe may ask for more).
    Short,
    /// Reserved label type, pointer into the header or forward, too many hops.
    Invalid,
}

/// Where a name ended and how big it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameEnd {
    /// Offset just past the name at its original position (after the first pointer, if any).
    pub next: usize,
    /// Wire length of the decompressed name, counted up to where walking stopped.
    pub wire_len: usize,
}

impl NameEnd {
    pub fn too_long(&self) -> bool {
        self.wire_len > MAX_NAME_WIRE
    }
}

/// Walks the name at `pos`, calling `label` for each label while the name is within 255 wire
/// bytes. Pointers must go strictly backwards (before the segment being read) and not into the
/// header, so walking terminates; allocation-free so the probe can use it.
pub fn walk_name(
    msg: &[u8],
    pos: usize,
    mut label: impl FnMut(&[u8]),
) -> Result<NameEnd, NameError> {
    let mut pos = pos;
    let mut seg_start = pos;
    let mut next = None;
    let mut wire_len = 1; // the root label
    let mut hops = 0;
    loop {
        let len = *msg.get(pos).ok_or(NameError::Short)? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Ok(NameEnd {
                    next: next.unwrap_or(pos + 1),
                    wire_len,
                });
            }
            0x00 => {
                let bytes = msg.get(pos + 1..pos + 1 + len).ok_or(NameError::Short)?;
                wire_len += len + 1;
                if wire_len <= MAX_NAME_WIRE {
                    label(bytes);
                } else if let Some(next) = next {
                    // Over the limit and the end is known: stop rather than chase pointers.
                    return Ok(NameEnd { next, wire_len });
                }
                pos += 1 + len;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(NameError::Short)? as usize;
                let target = ((len & 0x3f) << 8) | lo;
                hops += 1;
                if target < HEADER_LEN || target >= seg_start || hops > MAX_HOPS {
                    return Err(NameError::Invalid);
                }
                next.get_or_insert(pos + 2);
                if wire_len > MAX_NAME_WIRE {
                    return Ok(NameEnd {
                        next: pos + 2,
                        wire_len,
                    });
                }
                pos = target;
                seg_start = target;
            }
            _ => return Err(NameError::Invalid),
        }
    }
}

/// Bytes kept in a message's [`Message::bytes`] buffer: start and end offsets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// A decompressed name as Suricata prints it: labels joined by '.', bytes kept raw (in
/// the message's buffer; [`Message::text`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Name {
    text: Span,
    /// Longer than 255 wire bytes; the text holds the first labels only.
    pub truncated: bool,
}

impl Message {
    /// Appends `b` to the message's buffer.
    fn keep(&mut self, b: &[u8]) -> Span {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(b);
        Span {
            start,
            end: self.bytes.len() as u32,
        }
    }

    /// Bytes kept by [`Message::keep`] or [`Message::read_name`].
    pub fn bytes(&self, s: Span) -> &[u8] {
        &self.bytes[s.start as usize..s.end as usize]
    }

    /// A name's text.
    pub fn text(&self, n: &Name) -> &[u8] {
        self.bytes(n.text)
    }

    /// The character-strings of TXT rdata (checked when the record was read).
    pub fn txt_strings(&self, t: &Txt) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.bytes(t.data);
        std::iter::from_fn(move || {
            let (&n, tail) = rest.split_first()?;
            let (s, more) = tail.split_at_checked(usize::from(n))?;
            rest = more;
            Some(s)
        })
        .take(t.strings)
    }

    /// The (code, data) options of OPT rdata (checked when the record was read).
    pub fn options(&self, opts: Span) -> impl Iterator<Item = (u16, &[u8])> {
        let mut rest = self.bytes(opts);
        std::iter::from_fn(move || {
            let code = be16(rest, 0)?;
            let len = usize::from(be16(rest, 2)?);
            let data = rest.get(4..4 + len)?;
            rest = &rest[4 + len..];
            Some((code, data))
        })
    }

    /// Reads the name at `pos` into the buffer; None if it does not parse (the buffer is
    /// then left as it was).
    fn read_name(&mut self, msg: &[u8], pos: usize) -> Option<(Name, usize)> {
        let start = self.bytes.len();
        let bytes = &mut self.bytes;
        let end = walk_name(msg, pos, |l| {
            if bytes.len() > start {
                bytes.push(b'.');
            }
            bytes.extend_from_slice(l);
        });
        let Ok(end) = end else {
            self.bytes.truncate(start);
            return None;
        };
        Some((
            Name {
                text: Span {
                    start: start as u32,
                    end: self.bytes.len() as u32,
                },
                truncated: end.too_long(),
            },
            end.next,
        ))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: Name,
    pub qtype: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Soa {
    pub mname: Name,
    pub rname: Name,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: Name,
}

/// A rendered address, kept inline: responses carry many, and a heap string each was a
/// visible share of parsing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrText {
    text: [u8; 39],
    len: u8,
}

impl AddrText {
    /// ASCII digits, dots and colons.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text[..usize::from(self.len)]
    }

    fn push(&mut self, c: u8) {
        self.text[usize::from(self.len)] = c;
        self.len += 1;
    }
}

/// TXT rdata: the character-strings, of which the first `strings` are logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Txt {
    data: Span,
    pub strings: usize,
}

/// Record data in the forms the log needs. Byte strings live in the message's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RData {
    /// A/AAAA rendered; "" for a wrong length, as Suricata does.
    Addr(AddrText),
    /// CNAME, NS, PTR, MX (exchange only).
    Name(Name),
    /// One entry per character-string.
    Txt(Txt),
    Null(Span),
    Soa(Soa),
    Srv(Srv),
    Sshfp {
        algo: u8,
        fp_type: u8,
        fp: Span,
    },
    /// EDNS options, as on the wire ([`Message::options`]).
    Opt(Span),
    /// Types we do not decode, or rdata that did not parse.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rr {
    pub name: Name,
    pub rtype: u16,
    pub ttl: u32,
    /// rdata length on the wire (volume of data carried).
    pub rdlen: u16,
    pub data: RData,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub questions: Vec<Question>,
    pub answers: Vec<Rr>,
    pub authorities: Vec<Rr>,
    pub additionals: Vec<Rr>,
    /// Something did not parse; the sections hold what came before it.
    pub malformed: bool,
    /// A section had more than `MAX_RRS` records.
    pub rr_capped: bool,
    /// Names and byte strings of the records, one after another ([`Span`]s point here).
    bytes: Vec<u8>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Message {
    /// Parses one whole message into `self`, reusing its buffers (a parser keeps one
    /// message for its flow: no allocation per message once they have grown). Returns
    /// false without a header; otherwise `self` holds whatever parsed, with `malformed`
    /// set if the message stopped making sense part-way.
    pub fn parse(&mut self, msg: &[u8]) -> bool {
        self.questions.clear();
        self.answers.clear();
        self.authorities.clear();
        self.additionals.clear();
        self.bytes.clear();
        self.malformed = false;
        self.rr_capped = false;
        let Some(header) = Header::parse(msg) else {
            self.header = Header::default();
            return false;
        };
        self.header = header;
        // Names usually take no more room than the message.
        self.bytes.reserve(msg.len());
        let mut pos = HEADER_LEN;
        for _ in 0..header.qdcount {
            let Some((q, next)) = self.read_question(msg, pos) else {
                self.malformed = true;
                return true;
            };
            if self.questions.len() < MAX_RRS {
                self.questions.push(q);
            } else {
                self.rr_capped = true;
            }
            pos = next;
        }
        let sections = [header.ancount, header.nscount, header.arcount];
        for (i, count) in sections.into_iter().enumerate() {
            for _ in 0..count {
                let Some((rr, next)) = self.read_rr(msg, pos) else {
                    self.malformed = true;
                    return true;
                };
                pos = next;
                let section = match i {
                    0 => &mut self.answers,
                    1 => &mut self.authorities,
                    _ => &mut self.additionals,
                };
                if section.len() < MAX_RRS {
                    section.push(rr);
                } else {
                    self.rr_capped = true;
                }
            }
        }
        true
    }

    fn read_question(&mut self, msg: &[u8], pos: usize) -> Option<(Question, usize)> {
        let (name, pos) = self.read_name(msg, pos)?;
        let qtype = be16(msg, pos)?;
        be16(msg, pos + 2)?; // qclass: present, not logged
        Some((Question { name, qtype }, pos + 4))
    }

    fn read_rr(&mut self, msg: &[u8], pos: usize) -> Option<(Rr, usize)> {
        let (name, pos) = self.read_name(msg, pos)?;
        let rtype = be16(msg, pos)?;
        let ttl = be32(msg, pos + 4)?;
        let rdlen = be16(msg, pos + 8)?;
        let start = pos + 10;
        let end = start + rdlen as usize;
        let rdata = msg.get(start..end)?;
        let data = self
            .read_rdata(msg, start, rdata, rtype)
            .unwrap_or(RData::Other);
        Some((
            Rr {
                name,
                rtype,
                ttl,
                rdlen,
                data,
            },
            end,
        ))
    }

    /// Decodes rdata at `start` (names may point back into `msg`). None: it does not parse
    /// (what it kept in the buffer stays there, unreferenced, until the next message).
    fn read_rdata(&mut self, msg: &[u8], start: usize, rdata: &[u8], rtype: u16) -> Option<RData> {
        Some(match rtype {
            TYPE_A | TYPE_AAAA => RData::Addr(print_addr(rdata)),
            TYPE_CNAME | TYPE_NS | TYPE_PTR => RData::Name(self.read_name(msg, start)?.0),
            TYPE_MX if rdata.len() > 2 => RData::Name(self.read_name(msg, start + 2)?.0),
            TYPE_MX => return None,
            TYPE_TXT => {
                let mut strings = 0;
                let mut rest = rdata;
                while let Some((&n, tail)) = rest.split_first() {
                    tail.get(..n as usize)?;
                    strings += 1;
                    rest = &tail[n as usize..];
                }
                RData::Txt(Txt {
                    data: self.keep(rdata),
                    strings: strings.min(MAX_RRS),
                })
            }
            TYPE_NULL => RData::Null(self.keep(rdata)),
            TYPE_SOA => {
                let (mname, p) = self.read_name(msg, start)?;
                let (rname, p) = self.read_name(msg, p)?;
                RData::Soa(Soa {
                    mname,
                    rname,
                    serial: be32(msg, p)?,
                    refresh: be32(msg, p + 4)?,
                    retry: be32(msg, p + 8)?,
                    expire: be32(msg, p + 12)?,
                    minimum: be32(msg, p + 16)?,
                })
            }
            TYPE_SRV => {
                let (priority, weight, port) = (be16(rdata, 0)?, be16(rdata, 2)?, be16(rdata, 4)?);
                if rdata.len() <= 6 {
                    return None;
                }
                RData::Srv(Srv {
                    priority,
                    weight,
                    port,
                    target: self.read_name(msg, start + 6)?.0,
                })
            }
            TYPE_SSHFP => RData::Sshfp {
                algo: *rdata.first()?,
                fp_type: *rdata.get(1)?,
                fp: self.keep(&rdata[2..]),
            },
            TYPE_OPT => {
                let mut p = 0;
                while p < rdata.len() {
                    be16(rdata, p)?;
                    let len = be16(rdata, p + 2)? as usize;
                    rdata.get(p + 4..p + 4 + len)?;
                    p += 4 + len;
                }
                RData::Opt(self.keep(rdata))
            }
            _ => RData::Other,
        })
    }
}

/// Suricata's address rendering: dotted quad, or eight groups of four hex digits (39
/// characters at most), written digit by digit.
fn print_addr(b: &[u8]) -> AddrText {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = AddrText {
        text: [0; 39],
        len: 0,
    };
    match b.len() {
        4 => {
            for (i, &o) in b.iter().enumerate() {
                if i > 0 {
                    s.push(b'.');
                }
                if o >= 100 {
                    s.push(b'0' + o / 100);
                }
                if o >= 10 {
                    s.push(b'0' + o / 10 % 10);
                }
                s.push(b'0' + o % 10);
            }
        }
        16 => {
            for (i, &o) in b.iter().enumerate() {
                if i > 0 && i % 2 == 0 {
                    s.push(b':');
                }
                s.push(HEX[usize::from(o >> 4)]);
                s.push(HEX[usize::from(o & 0xf)]);
            }
        }
        _ => {}
    }
    s
}

#[cfg(test)]
mod tests {
    use super::print_addr;

    #[test]
    fn addresses_print_like_suricata() {
        assert_eq!(print_addr(&[0, 9, 10, 255]).as_bytes(), b"0.9.10.255");
        assert_eq!(
            print_addr(&[99, 100, 199, 200]).as_bytes(),
            b"99.100.199.200"
        );
        let v6 = [
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0x01,
        ];
        assert_eq!(
            print_addr(&v6).as_bytes(),
            b"2001:0db8:0000:0000:0000:0000:0000:ab01"
        );
        assert_eq!(print_addr(&[1, 2, 3]).as_bytes(), b"");
    }
}
