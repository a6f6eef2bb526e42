//! Community ID v1 (corelight/community-id-spec): SHA-1 over the ordered endpoint tuple, base64.

use crate::decode::Addr;
use base64::Engine;
use sha1::{Digest, Sha1};

/// ICMPv4 types with a request/reply counterpart: (type, counterpart).
const ICMP4_PAIRS: &[(u8, u8)] = &[
    (8, 0),
    (0, 8),
    (13, 14),
    (14, 13),
    (15, 16),
    (16, 15),
    (17, 18),
    (18, 17),
    (10, 9),
    (9, 10),
];
/// ICMPv6 types with a counterpart (echo, MLD, neighbour/router discovery, node info, home agent).
const ICMP6_PAIRS: &[(u8, u8)] = &[
    (128, 129),
    (129, 128),
    (133, 134),
    (134, 133),
    (135, 136),
    (136, 135),
    (130, 131),
    (131, 130),
    (139, 140),
    (140, 139),
    (144, 145),
    (145, 144),
];

/// ICMP "ports" as the spec defines them: `(type, code_or_counterpart, one_way)`.
///
/// The flow table keys ICMP the same way, so a request and its reply share one flow.
pub fn icmp_ports(proto: u8, icmp_type: u8, code: u8) -> (u16, u16, bool) {
    let pairs = if proto == 58 {
        ICMP6_PAIRS
    } else {
        ICMP4_PAIRS
    };
    match pairs.iter().find(|(t, _)| *t == icmp_type) {
        Some(&(_, peer)) => (u16::from(icmp_type), u16::from(peer), false),
        None => (u16::from(icmp_type), u16::from(code), true),
    }
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, 1 | 6 | 17 | 58 | 132)
}

/// The address bytes as the spec hashes them: 4 for IPv4, 16 for IPv6.
fn addr_bytes(a: &Addr) -> &[u8] {
    let v4 = a[..10].iter().all(|&b| b == 0) && a[10] == 0xff && a[11] == 0xff;
    if v4 {
        &a[12..]
    } else {
        &a[..]
    }
}

/// Community ID of a tuple given as the packet's source and destination.
///
/// For ICMP, `sport`/`dport` are the raw type and code; the spec's mapping is applied here.
pub fn community_id(
    seed: u16,
    proto: u8,
    src: &Addr,
    dst: &Addr,
    sport: u16,
    dport: u16,
) -> CommunityId {
    let (mut sp, mut dp, mut one_way) = (sport, dport, false);
    if proto == 1 || proto == 58 {
        let (t, c, ow) = icmp_ports(proto, sport as u8, dport as u8);
        sp = t;
        dp = c;
        one_way = ow;
    }
    // Order endpoints so both directions hash alike; one-way ICMP keeps the address order only.
    let swap = if one_way {
        src > dst
    } else {
        (src, sp) > (dst, dp)
    };
    let (a, b, ap, bp) = if swap {
        (dst, src, dp, sp)
    } else {
        (src, dst, sp, dp)
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    // Sorting on the mapped form orders v4 the same as on 4 bytes: the common prefix is equal.
    h.update(addr_bytes(a));
    h.update(addr_bytes(b));
    h.update([proto, 0]);
    if has_ports(proto) {
        h.update(ap.to_be_bytes());
        h.update(bp.to_be_bytes());
    }
    let digest = h.finalize();
    let mut id = [0u8; ID_LEN];
    id[..2].copy_from_slice(b"1:");
    // 20 digest bytes are always 28 base64 characters: the buffer fits exactly.
    let _ = base64::engine::general_purpose::STANDARD.encode_slice(digest, &mut id[2..]);
    CommunityId(id)
}

/// Length of a v1 Community ID: "1:" and 28 base64 characters.
const ID_LEN: usize = 30;

/// A Community ID kept inline: every flow event and app event carries one, and a String
/// each was an allocation per event.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CommunityId([u8; ID_LEN]);

impl CommunityId {
    pub fn as_str(&self) -> &str {
        // "1:" and base64 are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for CommunityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for CommunityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for CommunityId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::addr_from_v4;

    #[test]
    fn spec_tcp_example() {
        // From the spec README: 128.232.110.120:34855 -> 66.35.250.204:80 TCP.
        let a = addr_from_v4([128, 232, 110, 120]);
        let b = addr_from_v4([66, 35, 250, 204]);
        let id = community_id(0, 6, &a, &b, 34855, 80);
        assert_eq!(id.as_str(), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        assert_eq!(community_id(0, 6, &b, &a, 80, 34855), id);
    }
}
