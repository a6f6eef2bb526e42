//! TLS: ClientHello (SNI, ALPN, offered versions, ciphers) and ServerHello (negotiated
//! version, cipher), with their JA3/JA3S/JA4 fingerprints, in one `tls` event per flow, with
//! application-data bytes per direction. Certificates are not parsed: after the hellos only
//! record headers are read.

mod fingerprint;
mod hello;
mod parser;

#[cfg(test)]
mod tests;

pub use parser::TlsParser;

use crate::app::{Direction, Probe, Transport};

/// Largest legal record body (2^14 + 2048).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// A handshake record starting with the hello this direction sends (ClientHello to the
/// server, ServerHello to the client); an SSLv2-compatible CLIENT-HELLO; or an
/// application-data record (a flow picked up mid-session).
pub fn probe(dir: Direction, data: &[u8], _transport: Transport) -> Probe {
    let Some(&first) = data.first() else {
        return Probe::NeedMore;
    };
    match first {
        0x16 => {
            let hello = if dir == Direction::ToServer { 1 } else { 2 };
            // version major/minor, length, hello type, hello length (≥ 38), hello version major
            check(data, |i, b| match i {
                1 => b == 3,
                2 => b <= 4,
                3 => usize::from(b) << 8 <= MAX_RECORD,
                4 => (4..=MAX_RECORD).contains(&be16(data, 3)),
                5 => b == hello,
                6 => b == 0,
                8 => be16(data, 7) >= 38,
                9 => b == 3,
                _ => true,
            })
        }
        0x17 => check(data, |i, b| match i {
            1 => b == 3,
            2 => (1..=3).contains(&b),
            3 => usize::from(b) << 8 <= MAX_RECORD,
            4 => (1..=MAX_RECORD).contains(&be16(data, 3)),
            _ => true,
        }),
        _ if first & 0x80 != 0 && dir == Direction::ToServer => probe_sslv2(data),
        _ => Probe::NoMatch,
    }
}

/// Applies `ok(index, byte)` to bytes 1..10; NeedMore when the data ends before byte 9.
fn check(data: &[u8], ok: impl Fn(usize, u8) -> bool) -> Probe {
    for i in 1..10 {
        let Some(&b) = data.get(i) else {
            return Probe::NeedMore;
        };
        if !ok(i, b) {
            return Probe::NoMatch;
        }
    }
    Probe::Match
}

fn be16(data: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([data[at], data[at + 1]]))
}

/// SSLv2 CLIENT-HELLO: 2-byte header, type 1, version, three lengths that add up.
fn probe_sslv2(data: &[u8]) -> Probe {
    let Some(h) = data.get(..11) else {
        let ok = data.get(2).is_none_or(|&t| t == 1);
        return if ok { Probe::NeedMore } else { Probe::NoMatch };
    };
    let len = usize::from(u16::from_be_bytes([h[0] & 0x7f, h[1]]));
    let version = be16(h, 3);
    let (cs, sid, ch) = (be16(h, 5), be16(h, 7), be16(h, 9));
    let ok = h[2] == 1
        && (version == 0x0002 || (0x0300..=0x0303).contains(&version))
        && cs > 0
        && cs % 3 == 0
        && (sid == 0 || sid == 16)
        && (16..=32).contains(&ch)
        && 9 + cs + sid + ch == len;
    if ok {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}
