//! DNS over UDP and TCP: Suricata v3 `dns` events per message plus tunnelling features
//! (query-name shape and entropy per event, distinct subdomains and carried bytes per flow).
//!
//! The probe runs on every UDP flow whatever the port, so it demands a coherent header, a
//! well-formed first question and record counts that fit the message.

mod logger;
mod parser;
mod tunnel;
mod wire;

#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

pub use parser::DnsParser;

use crate::app::{Direction, Probe, Transport};
use wire::{walk_name, Header, NameError, HEADER_LEN};

/// Header, a one-byte root name, qtype and qclass.
const MIN_MSG: usize = HEADER_LEN + 5;
/// Smallest resource record: root name, type, class, ttl, rdlength.
const MIN_RR: usize = 11;

/// Cheap check of the first datagram (UDP) or the first bytes of the stream (TCP, 2-byte
/// length prefix). The direction is not tied to QR: a capture may start with a response in
/// the opener's direction (mDNS announcements, half-seen flows).
pub fn probe(_dir: Direction, data: &[u8], transport: Transport) -> Probe {
    match transport {
        Transport::Udp => probe_message(data, data.len()),
        Transport::Tcp => {
            let [a, b, rest @ ..] = data else {
                return Probe::NeedMore;
            };
            let len = usize::from(u16::from_be_bytes([*a, *b]));
            probe_message(&rest[..rest.len().min(len)], len)
        }
    }
}

/// `msg` is the start of a message whose full length is `len` (`msg.len() == len`: complete).
fn probe_message(msg: &[u8], len: usize) -> Probe {
    let complete = msg.len() >= len;
    let more = if complete {
        Probe::NoMatch
    } else {
        Probe::NeedMore
    };
    if len < MIN_MSG {
        return Probe::NoMatch;
    }
    let Some(h) = Header::parse(msg) else {
        return more;
    };
    let rrs = usize::from(h.ancount) + usize::from(h.nscount) + usize::from(h.arcount);
    let header_ok = (1..=4).contains(&h.qdcount)
        && matches!(h.opcode(), 0 | 2 | 4 | 5)
        && h.flags & 0x0040 == 0 // Z
        && (h.qr() || (h.rcode() == 0 && h.ancount <= 64))
        && MIN_MSG + rrs * MIN_RR <= len;
    if !header_ok {
        return Probe::NoMatch;
    }
    let mut labels = 0usize;
    let mut bad = false;
    let mut netbios = false;
    let end = walk_name(msg, HEADER_LEN, |l| {
        labels += 1;
        bad |= l.iter().any(|&c| c < 0x20 || c == 0x7f);
        // NetBIOS name service: one 32-byte label of 'A'..='P' (first-level encoding).
        netbios |= labels == 1 && l.len() == 32 && l.iter().all(|c| (b'A'..=b'P').contains(c));
    });
    let end = match end {
        Ok(e) if !e.too_long() && !bad && !netbios => e,
        Err(NameError::Short) => return more,
        _ => return Probe::NoMatch,
    };
    let Some(tail) = msg.get(end.next..end.next + 4) else {
        return more;
    };
    let qtype = u16::from_be_bytes([tail[0], tail[1]]);
    let qclass = u16::from_be_bytes([tail[2], tail[3]]) & 0x7fff; // mDNS unicast-response bit
    if !known_qtype(qtype) || !matches!(qclass, 1 | 3 | 4 | 254 | 255) {
        return Probe::NoMatch;
    }
    if complete && end.next + 4 + rrs * MIN_RR > msg.len() {
        return Probe::NoMatch;
    }
    Probe::Match
}

/// Query types seen in real traffic (IANA registry, minus obsolete and experimental ones).
fn known_qtype(t: u16) -> bool {
    matches!(t,
        1..=18 | 24 | 25 | 28 | 29 | 33 | 35..=37 | 39 | 43..=53 | 55 | 59..=65 | 99
        | 249..=257 | 32769)
}
