//! Data-connection announcements: PORT / EPRT arguments (client) and 227 / 229 replies
//! (server). All parsing is on borrowed bytes with explicit bounds: nothing is trusted.

use crate::decode::{addr_from_v4, Addr};

/// `h1,h2,h3,h4,p1,p2` at the start of `s` (RFC 959 host-port), each number 0..=255.
fn host_port_at(s: &[u8]) -> Option<(Addr, u16)> {
    let mut nums = [0u8; 6];
    let mut i = 0;
    for (k, n) in nums.iter_mut().enumerate() {
        if k > 0 {
            if s.get(i) != Some(&b',') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
            v = v * 10 + u32::from(d - b'0');
            i += 1;
            if i - start > 3 {
                return None;
            }
        }
        if i == start {
            return None;
        }
        *n = u8::try_from(v).ok()?;
    }
    if s.get(i).is_some_and(|b| b.is_ascii_digit() || *b == b',') {
        return None;
    }
    let port = u16::from_be_bytes([nums[4], nums[5]]);
    Some((addr_from_v4([nums[0], nums[1], nums[2], nums[3]]), port))
}

/// PORT's argument.
pub(super) fn parse_port(arg: &[u8]) -> Option<(Addr, u16)> {
    host_port_at(arg.trim_ascii()).filter(|(_, p)| *p != 0)
}

/// A 227 reply's text: the first host-port in it, with or without the parentheses
/// (RFC 959 does not fix the wording, only the six numbers).
pub(super) fn parse_227(text: &[u8]) -> Option<(Addr, u16)> {
    (0..text.len())
        .filter(|&i| text[i].is_ascii_digit() && (i == 0 || !text[i - 1].is_ascii_digit()))
        .find_map(|i| host_port_at(&text[i..]))
        .filter(|(_, p)| *p != 0)
}

/// A 229 reply's text: `(<d><d><d>port<d>)` (RFC 2428), any printable delimiter.
pub(super) fn parse_229(text: &[u8]) -> Option<u16> {
    let open = memchr::memchr(b'(', text)?;
    let inner = &text[open + 1..];
    let d = *inner.first()?;
    if !(33..=126).contains(&d) || d.is_ascii_digit() || inner.get(1..3)? != [d, d] {
        return None;
    }
    let digits = &inner[3..];
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits.get(len) != Some(&d) {
        return None;
    }
    parse_u16(&digits[..len])
}

/// EPRT's argument: `<d>af<d>addr<d>port<d>` (RFC 2428), af 1 = IPv4, 2 = IPv6.
pub(super) fn parse_eprt(arg: &[u8]) -> Option<(Addr, u16)> {
    let arg = arg.trim_ascii();
    let d = *arg.first()?;
    if !(33..=126).contains(&d) || d.is_ascii_alphanumeric() {
        return None;
    }
    let mut fields = arg[1..].split(|b| *b == d);
    let (af, host, port) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next() != Some(&[][..]) || fields.next().is_some() {
        return None;
    }
    let host = std::str::from_utf8(host).ok()?;
    let addr = match af {
        b"1" => addr_from_v4(host.parse::<std::net::Ipv4Addr>().ok()?.octets()),
        b"2" => host.parse::<std::net::Ipv6Addr>().ok()?.octets(),
        _ => return None,
    };
    Some((addr, parse_u16(port)?))
}

/// A non-zero decimal port, at most 5 digits.
fn parse_u16(s: &[u8]) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = s.iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
    u16::try_from(v).ok().filter(|p| *p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_and_227() {
        let a = addr_from_v4([127, 0, 0, 1]);
        assert_eq!(parse_port(b"127,0,0,1,157,187"), Some((a, 40379)));
        assert_eq!(
            parse_port(b"1,1,1,2,232,157"),
            Some((addr_from_v4([1, 1, 1, 2]), 59549))
        );
        assert_eq!(parse_port(b"1,1,1,2,256,1"), None);
        assert_eq!(parse_port(b"1,1,1,2,1"), None);
        assert_eq!(parse_port(b"1,1,1,2,1,2,3"), None);
        assert_eq!(parse_port(b"1,1,1,2,0,0"), None);
        assert_eq!(parse_port(b"0001,1,1,2,1,1"), None);
        assert_eq!(
            parse_227(b"Entering Passive Mode (90,130,70,73,100,85)."),
            Some((addr_from_v4([90, 130, 70, 73]), 25685))
        );
        assert_eq!(
            parse_227(b"Entering Passive Mode 10,220,50,76,64,155"),
            Some((addr_from_v4([10, 220, 50, 76]), 16539))
        );
        assert_eq!(parse_227(b"Entering Passive Mode (1,2,3)."), None);
        assert_eq!(parse_227(b""), None);
    }

    #[test]
    fn epsv_and_eprt() {
        assert_eq!(
            parse_229(b"Entering Extended Passive Mode (|||30072|)"),
            Some(30072)
        );
        assert_eq!(
            parse_229(b"Entering Extended Passive Mode (!!!5282!)"),
            Some(5282)
        );
        assert_eq!(
            parse_229(b"Entering Extended Passive Mode (|||99999|)"),
            None
        );
        assert_eq!(
            parse_229(b"Entering Extended Passive Mode (|||30072)"),
            None
        );
        assert_eq!(parse_229(b"(||"), None);
        assert_eq!(
            parse_eprt(b"|1|127.0.0.1|41031|"),
            Some((addr_from_v4([127, 0, 0, 1]), 41031))
        );
        let v6: std::net::Ipv6Addr = "2001:470:1f11:81f:c999:d94:aa7c:2e3e".parse().unwrap();
        assert_eq!(
            parse_eprt(b"|2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|"),
            Some((v6.octets(), 49189))
        );
        assert_eq!(parse_eprt(b"|3|1.2.3.4|5|"), None);
        assert_eq!(parse_eprt(b"|1|1.2.3.4|5"), None);
        assert_eq!(parse_eprt(b"|1|1.2.3.4|5|6|"), None);
        assert_eq!(parse_eprt(b"|1|1.2.3.4|0|"), None);
        assert_eq!(parse_eprt(b""), None);
    }
}
