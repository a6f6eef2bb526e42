//! Tunnel decapsulation (IP-in-IP, GRE, ERSPAN I/II/III, VXLAN) and the IP
//! payload dispatch that decides between "tunnel" and "transport".

use super::wire::arr;
use super::{layer, transport, Addr, DecodeError, Decoded, Next, MAX_TUNNELS};

/// The outermost tunnel that was removed (EVE `tunnel` object).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelKind {
    Gre,
    /// ERSPAN type II, and type I (no ERSPAN header), which EVE does not distinguish.
    Erspan2,
    Erspan3,
    Vxlan,
    IpInIp,
}

impl TunnelKind {
    /// EVE `tunnel.type` string.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Gre => "GRE",
            TunnelKind::Erspan2 | TunnelKind::Erspan3 => "ERSPAN",
            TunnelKind::Vxlan => "VXLAN",
            TunnelKind::IpInIp => "IPIP",
        }
    }
}

/// Outer endpoints of the outermost tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub src: Addr,
    pub dst: Addr,
    /// UDP ports for VXLAN, 0 otherwise.
    pub sport: u16,
    pub dport: u16,
    /// 47 GRE, 17 UDP, 4/41 ip-in-ip.
    pub outer_proto: u8,
    /// Number of tunnels removed.
    pub depth: u8,
}

const IPPROTO_IPIP: u8 = 4;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_IPV6: u8 = 41;
const IPPROTO_GRE: u8 = 47;
const VXLAN_PORT: u16 = 4789;

const GRE_CSUM: u16 = 0x8000;
const GRE_ROUTING: u16 = 0x4000;
const GRE_KEY: u16 = 0x2000;
const GRE_SEQ: u16 = 0x1000;

/// Dispatch the payload of the current IP header: tunnels are decapsulated,
/// everything else goes to the transport decoder.
pub(super) fn ip_payload(
    proto: u8,
    b: &[u8],
    at: usize,
    d: &mut Decoded,
) -> Result<Next, DecodeError> {
    let end = b.len();
    match proto {
        IPPROTO_IPIP | IPPROTO_IPV6 => {
            d.layers |= match (d.ip_version, proto) {
                (4, IPPROTO_IPIP) => layer::IPV4_IN_IPV4,
                (4, _) => layer::IPV6_IN_IPV4,
                (_, IPPROTO_IPIP) => layer::IPV4_IN_IPV6,
                _ => layer::IPV6_IN_IPV6,
            };
            enter(d, TunnelKind::IpInIp, proto, 0, 0)?;
            Ok(if proto == IPPROTO_IPIP {
                Next::Ipv4 { at, end }
            } else {
                Next::Ipv6 { at, end }
            })
        }
        IPPROTO_GRE => gre(b, at, d),
        IPPROTO_UDP => udp(b, at, d),
        _ => {
            d.layers |= transport::transport(proto, b, at, d)?;
            Ok(Next::Done)
        }
    }
}

/// Record a tunnel removal: the first one is the outermost and keeps the
/// current (outer) IP endpoints; later ones only deepen it.
fn enter(
    d: &mut Decoded,
    kind: TunnelKind,
    outer_proto: u8,
    sport: u16,
    dport: u16,
) -> Result<(), DecodeError> {
    match &mut d.tunnel {
        Some(t) if t.depth >= MAX_TUNNELS => return Err(DecodeError::TooManyLayers),
        Some(t) => t.depth += 1,
        None => {
            d.tunnel = Some(Tunnel {
                kind,
                src: d.src,
                dst: d.dst,
                sport,
                dport,
                outer_proto,
                depth: 1,
            })
        }
    }
    d.clear_l4();
    Ok(())
}

/// GRE (RFC 2784/2890). Version 1 is PPTP's enhanced GRE carrying PPP, which we
/// do not decapsulate; neither do we for inner protocols we cannot decode: both
/// stay a plain proto-47 packet.
fn gre(b: &[u8], at: usize, d: &mut Decoded) -> Result<Next, DecodeError> {
    d.layers |= layer::GRE;
    let h = arr::<4>(b, at).ok_or(DecodeError::GrePktTooSmall)?;
    let flags = u16::from_be_bytes([h[0], h[1]]);
    match flags & 7 {
        0 => {}
        1 => return plain_gre(b, at, d),
        _ => return Err(DecodeError::GreWrongVersion),
    }
    // RFC 1701 source routing: variable-length SREs, obsolete and unseen in practice.
    if flags & GRE_ROUTING != 0 {
        return Err(DecodeError::GreVersion0Routing);
    }
    let optional = [GRE_CSUM, GRE_KEY, GRE_SEQ]
        .iter()
        .filter(|&&f| flags & f != 0)
        .count()
        * 4;
    let inner = at + 4 + optional;
    if inner > b.len() {
        return Err(DecodeError::GrePktTooSmall);
    }
    let end = b.len();
    match u16::from_be_bytes([h[2], h[3]]) {
        0x0800 => {
            enter(d, TunnelKind::Gre, IPPROTO_GRE, 0, 0)?;
            Ok(Next::Ipv4 { at: inner, end })
        }
        0x86DD => {
            enter(d, TunnelKind::Gre, IPPROTO_GRE, 0, 0)?;
            Ok(Next::Ipv6 { at: inner, end })
        }
        // Transparent Ethernet bridging.
        0x6558 => {
            enter(d, TunnelKind::Gre, IPPROTO_GRE, 0, 0)?;
            Ok(Next::Ethernet { at: inner, end })
        }
        // ERSPAN type II has the GRE sequence number and an 8-byte header; type I neither.
        0x88BE if flags & GRE_SEQ != 0 => {
            let e = arr::<8>(b, inner).ok_or(DecodeError::ErspanHeaderTooSmall)?;
            if e[0] >> 4 != 1 {
                return Err(DecodeError::ErspanUnsupportedVersion);
            }
            erspan(d, TunnelKind::Erspan2, inner + 8, end)
        }
        0x88BE => erspan(d, TunnelKind::Erspan2, inner, end),
        // ERSPAN type III: 12-byte header, plus an 8-byte platform subheader if O is set.
        0x22EB => {
            let e = arr::<12>(b, inner).ok_or(DecodeError::ErspanHeaderTooSmall)?;
            if e[0] >> 4 != 2 {
                return Err(DecodeError::ErspanUnsupportedVersion);
            }
            let hlen = if e[11] & 1 != 0 { 20 } else { 12 };
            if inner + hlen > end {
                return Err(DecodeError::ErspanHeaderTooSmall);
            }
            erspan(d, TunnelKind::Erspan3, inner + hlen, end)
        }
        _ => plain_gre(b, at, d),
    }
}

fn erspan(d: &mut Decoded, kind: TunnelKind, at: usize, end: usize) -> Result<Next, DecodeError> {
    d.layers |= layer::ERSPAN;
    enter(d, kind, IPPROTO_GRE, 0, 0)?;
    Ok(Next::Ethernet { at, end })
}

/// GRE we do not look into: an opaque proto-47 payload.
fn plain_gre(b: &[u8], at: usize, d: &mut Decoded) -> Result<Next, DecodeError> {
    transport::transport(IPPROTO_GRE, b, at, d)?;
    Ok(Next::Done)
}

/// UDP, decapsulating VXLAN: destination port 4789 with the I flag. Without the
/// flag it is left as ordinary UDP to port 4789.
fn udp(b: &[u8], at: usize, d: &mut Decoded) -> Result<Next, DecodeError> {
    d.layers |= transport::transport(IPPROTO_UDP, b, at, d)?;
    if d.dport != VXLAN_PORT {
        return Ok(Next::Done);
    }
    let start = d.payload_offset as usize;
    let end = start.saturating_add(d.payload_len as usize).min(b.len());
    let udp_payload = b.get(..end).unwrap_or(b);
    let v = arr::<8>(udp_payload, start).ok_or(DecodeError::VxlanHeaderTooSmall)?;
    if v[0] & 0x08 == 0 {
        return Ok(Next::Done);
    }
    d.layers |= layer::VXLAN;
    let (sport, dport) = (d.sport, d.dport);
    enter(d, TunnelKind::Vxlan, IPPROTO_UDP, sport, dport)?;
    Ok(Next::Ethernet { at: start + 8, end })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{addr_from_v4, decode, LinkType};
    use super::{layer, DecodeError, Decoded, TunnelKind, GRE_CSUM, GRE_KEY, GRE_ROUTING, GRE_SEQ};

    fn dec(f: &[u8]) -> Result<Decoded, DecodeError> {
        let mut d = Decoded::default();
        decode(LinkType::Ethernet, f, &mut d).map(|()| d)
    }

    const OUTER_SRC: [u8; 4] = [192, 0, 2, 1];
    const OUTER_DST: [u8; 4] = [192, 0, 2, 2];

    fn outer4(proto: u8, payload: &[u8]) -> Vec<u8> {
        eth_vlan(
            &[0x8100],
            0x0800,
            &ipv4_with(proto, OUTER_SRC, OUTER_DST, 9, 0, payload),
        )
    }

    fn inner_tcp() -> Vec<u8> {
        ipv4(6, &tcp(1111, 2222, b"secret"))
    }

    /// Innermost fields of `inner_tcp` and the outer tunnel endpoints.
    fn assert_inner(d: &Decoded, kind: TunnelKind, outer_proto: u8, depth: u8) {
        assert_eq!(
            (d.ip_version, d.proto, d.sport, d.dport, d.payload_len),
            (4, 6, 1111, 2222, 6)
        );
        assert_eq!((d.src, d.dst), (addr_from_v4(SRC4), addr_from_v4(DST4)));
        let t = d.tunnel.unwrap();
        assert_eq!((t.kind, t.outer_proto, t.depth), (kind, outer_proto, depth));
        assert_eq!(
            (t.src, t.dst),
            (addr_from_v4(OUTER_SRC), addr_from_v4(OUTER_DST))
        );
        assert_eq!((d.vlan, d.vlan_count), ([100, 0, 0], 1));
    }

    #[test]
    fn names() {
        assert_eq!(TunnelKind::Gre.name(), "GRE");
        assert_eq!(TunnelKind::Erspan2.name(), "ERSPAN");
        assert_eq!(TunnelKind::Erspan3.name(), "ERSPAN");
        assert_eq!(TunnelKind::Vxlan.name(), "VXLAN");
        assert_eq!(TunnelKind::IpInIp.name(), "IPIP");
    }

    #[test]
    fn gre_v0_optional_fields() {
        for (flags, opts) in [
            (0u16, 0usize),
            (GRE_KEY, 4),
            (GRE_KEY | GRE_SEQ, 8),
            (GRE_CSUM | GRE_KEY | GRE_SEQ, 12),
        ] {
            let f = outer4(47, &gre(flags, 0x0800, &vec![0xEE; opts], &inner_tcp()));
            let d = dec(&f).unwrap();
            assert_inner(&d, TunnelKind::Gre, 47, 1);
            assert_eq!(d.ip_offset as usize, 18 + 20 + 4 + opts);
            assert_eq!(
                d.layers & (layer::GRE | layer::IPV4 | layer::TCP),
                layer::GRE | layer::IPV4 | layer::TCP
            );
        }
        let f = outer4(
            47,
            &gre(GRE_KEY, 0x86DD, &[0; 4], &ipv6(17, &udp(1, 2, b"x"))),
        );
        let d = dec(&f).unwrap();
        assert_eq!((d.ip_version, d.proto, d.payload_len), (6, 17, 1));
        let f = outer4(47, &gre(0, 0x6558, &[], &eth(0x0800, &inner_tcp())));
        assert_inner(&dec(&f).unwrap(), TunnelKind::Gre, 47, 1);
    }

    #[test]
    fn gre_errors_and_opaque_cases() {
        let f = outer4(47, &gre(GRE_ROUTING, 0x0800, &[0; 8], &inner_tcp()));
        assert_eq!(dec(&f), Err(DecodeError::GreVersion0Routing));
        let f = outer4(47, &gre(2, 0x0800, &[], &inner_tcp()));
        assert_eq!(dec(&f), Err(DecodeError::GreWrongVersion));
        let f = outer4(47, &gre(GRE_KEY | GRE_SEQ, 0x0800, &[0; 6], &[]));
        assert_eq!(dec(&f), Err(DecodeError::GrePktTooSmall));
        assert_eq!(
            dec(&outer4(47, &[0, 0, 8])),
            Err(DecodeError::GrePktTooSmall)
        );
        // PPTP enhanced GRE (version 1) and an unknown inner protocol: plain proto 47.
        for g in [
            gre(0x3001, 0x880B, &[0; 8], b"ppp"),
            gre(0, 0x8847, &[], b"mpls"),
        ] {
            let d = dec(&outer4(47, &g)).unwrap();
            assert_eq!((d.proto, d.sport, d.dport, d.tunnel), (47, 0, 0, None));
            assert_eq!((d.l4_offset, d.payload_len as usize), (18 + 20, g.len()));
            assert_eq!(d.src, addr_from_v4(OUTER_SRC));
            assert_ne!(d.layers & layer::GRE, 0);
        }
    }

    #[test]
    fn erspan_types() {
        let inner_eth = eth_vlan(&[0x8100], 0x0800, &inner_tcp());
        // Type II: GRE sequence number, 8-byte header version 1.
        let f = outer4(
            47,
            &gre(
                GRE_SEQ,
                0x88BE,
                &[0; 4],
                &[&erspan2(), &inner_eth[..]].concat(),
            ),
        );
        let d = dec(&f).unwrap();
        assert_inner(&d, TunnelKind::Erspan2, 47, 1);
        assert_ne!(d.layers & layer::ERSPAN, 0);
        // Type I: no sequence, no header.
        let f = outer4(47, &gre(0, 0x88BE, &[], &inner_eth));
        assert_inner(&dec(&f).unwrap(), TunnelKind::Erspan2, 47, 1);
        // Type III with and without the platform subheader.
        for sub in [false, true] {
            let f = outer4(
                47,
                &gre(0, 0x22EB, &[], &[&erspan3(sub), &inner_eth[..]].concat()),
            );
            assert_inner(&dec(&f).unwrap(), TunnelKind::Erspan3, 47, 1);
        }
        let mut bad = erspan2();
        bad[0] = 0x20;
        let f = outer4(
            47,
            &gre(GRE_SEQ, 0x88BE, &[0; 4], &[&bad, &inner_eth[..]].concat()),
        );
        assert_eq!(dec(&f), Err(DecodeError::ErspanUnsupportedVersion));
        let mut bad = erspan3(false);
        bad[0] = 0x10;
        let f = outer4(47, &gre(0, 0x22EB, &[], &[&bad, &inner_eth[..]].concat()));
        assert_eq!(dec(&f), Err(DecodeError::ErspanUnsupportedVersion));
        let f = outer4(47, &gre(GRE_SEQ, 0x88BE, &[0; 4], &[0x10, 0]));
        assert_eq!(dec(&f), Err(DecodeError::ErspanHeaderTooSmall));
        let f = outer4(47, &gre(0, 0x22EB, &[], &erspan3(true)[..16]));
        assert_eq!(dec(&f), Err(DecodeError::ErspanHeaderTooSmall));
    }

    #[test]
    fn vxlan() {
        let inner_eth = eth(0x0800, &inner_tcp());
        let f = outer4(
            17,
            &udp(50000, 4789, &[&vxlan_hdr(42), &inner_eth[..]].concat()),
        );
        let d = dec(&f).unwrap();
        assert_inner(&d, TunnelKind::Vxlan, 17, 1);
        let t = d.tunnel.unwrap();
        assert_eq!((t.sport, t.dport), (50000, 4789));
        assert_eq!(d.tcp_seq, 1000);
        assert_ne!(d.layers & layer::VXLAN, 0);

        // No I flag: plain UDP to 4789. Source port 4789 only: plain UDP.
        let mut h = vxlan_hdr(42);
        h[0] = 0;
        let d = dec(&outer4(
            17,
            &udp(50000, 4789, &[&h, &inner_eth[..]].concat()),
        ))
        .unwrap();
        assert_eq!((d.proto, d.dport, d.tunnel), (17, 4789, None));
        let d = dec(&outer4(
            17,
            &udp(4789, 53, &[&vxlan_hdr(1), &inner_eth[..]].concat()),
        ))
        .unwrap();
        assert_eq!((d.dport, d.tunnel), (53, None));

        assert_eq!(
            dec(&outer4(17, &udp(1, 4789, &[8, 0, 0]))),
            Err(DecodeError::VxlanHeaderTooSmall)
        );
        // Inner Ethernet frame is bounded by the UDP length, not by trailing bytes.
        let mut u = udp(1, 4789, &[&vxlan_hdr(1), &eth(0x0800, &[])[..]].concat());
        u.extend([0x45; 30]);
        assert_eq!(dec(&outer4(17, &u)), Err(DecodeError::Ipv4PktTooSmall));
        // Inner ARP: not IP, so no IP fields leak from the outer packet.
        let f = outer4(
            17,
            &udp(
                1,
                4789,
                &[&vxlan_hdr(1), &eth(0x0806, &[0; 28])[..]].concat(),
            ),
        );
        let d = dec(&f).unwrap();
        assert_eq!((d.ip_version, d.src, d.sport, d.proto), (0, [0; 16], 0, 0));
        assert_eq!(d.tunnel.unwrap().kind, TunnelKind::Vxlan);
        assert_eq!(d.vlan_count, 1);
    }

    #[test]
    fn inner_vlans_are_not_reported() {
        let inner_eth = eth_vlan(&[0x8100, 0x8100], 0x0800, &inner_tcp());
        let f = outer4(47, &gre(0, 0x6558, &[], &inner_eth));
        let d = dec(&f).unwrap();
        assert_eq!((d.vlan, d.vlan_count), ([100, 0, 0], 1));
        assert_ne!(d.layers & layer::QINQ, 0);
    }

    #[test]
    fn ip_in_ip_all_combinations() {
        let v6_inner = ipv6(17, &udp(7, 8, b"abc"));
        let cases: [(Vec<u8>, u32, u8); 4] = [
            (outer4(4, &inner_tcp()), layer::IPV4_IN_IPV4, 4),
            (outer4(41, &v6_inner), layer::IPV6_IN_IPV4, 41),
            (eth(0x86DD, &ipv6(4, &inner_tcp())), layer::IPV4_IN_IPV6, 4),
            (eth(0x86DD, &ipv6(41, &v6_inner)), layer::IPV6_IN_IPV6, 41),
        ];
        for (f, bit, outer_proto) in cases {
            let d = dec(&f).unwrap();
            assert_ne!(d.layers & bit, 0);
            let t = d.tunnel.unwrap();
            assert_eq!(
                (t.kind, t.outer_proto, t.depth, t.sport),
                (TunnelKind::IpInIp, outer_proto, 1, 0)
            );
            assert!(d.sport == 1111 || d.sport == 7);
        }
        let d = dec(&eth(0x86DD, &ipv6(4, &inner_tcp()))).unwrap();
        assert_eq!(d.tunnel.unwrap().src, SRC6);
        assert_eq!(d.src, addr_from_v4(SRC4));
    }

    #[test]
    fn nesting_limit() {
        let nest = |n: usize| {
            let mut p = inner_tcp();
            for _ in 0..n {
                p = ipv4_with(4, OUTER_SRC, OUTER_DST, 0, 0, &p);
            }
            outer4(4, &p)
        };
        let d = dec(&nest(3)).unwrap();
        assert_inner(&d, TunnelKind::IpInIp, 4, 4);
        assert_eq!(dec(&nest(4)), Err(DecodeError::TooManyLayers));
        // Mixed: VXLAN outside, GRE inside; the outermost kind is reported.
        let g = ipv4_with(
            47,
            OUTER_SRC,
            OUTER_DST,
            0,
            0,
            &gre(0, 0x0800, &[], &inner_tcp()),
        );
        let f = outer4(
            17,
            &udp(9, 4789, &[&vxlan_hdr(3), &eth(0x0800, &g)[..]].concat()),
        );
        assert_inner(&dec(&f).unwrap(), TunnelKind::Vxlan, 17, 2);
    }

    #[test]
    fn inner_fragment_inside_tunnel() {
        let frag = ipv4_frag(17, 77, 64, false, &[1; 16]);
        let d = dec(&outer4(47, &gre(0, 0x0800, &[], &frag))).unwrap();
        assert_eq!(d.fragment.unwrap().offset, 64);
        assert_eq!((d.sport, d.dport, d.payload_len), (0, 0, 16));
        assert_eq!(d.tunnel.unwrap().kind, TunnelKind::Gre);
        // An outer fragment is not decapsulated.
        let outer = eth(
            0x0800,
            &ipv4_frag(47, 5, 0, true, &gre(0, 0x0800, &[], &inner_tcp())),
        );
        let d = dec(&outer).unwrap();
        assert_eq!((d.tunnel, d.proto), (None, 47));
        assert!(d.fragment.is_some());
    }
}
