//! Link layers: everything in front of the first IP header (Ethernet with VLAN
//! tags, Linux cooked capture v1/v2, BSD loopback, raw IP, NFLOG).

use super::wire::arr;
use super::{layer, DecodeError, Decoded, Next};

/// Link-layer types we accept (pcap LINKTYPE_* / DLT_* values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    Ethernet,
    Null,
    Loop,
    Raw,
    Ipv4,
    Ipv6,
    LinuxSll,
    LinuxSll2,
    Nflog,
}

impl LinkType {
    /// DLT/LINKTYPE number → LinkType: 1 Ethernet, 0 Null (BSD loopback, host byte order AF value),
    /// 108 Loop (network byte order AF), 101 and 12 and 14 Raw (version from first nibble), 228 Ipv4, 229 Ipv6,
    /// 113 LinuxSll, 276 LinuxSll2, 239 Nflog.
    pub fn from_dlt(dlt: i32) -> Option<LinkType> {
        Some(match dlt {
            1 => LinkType::Ethernet,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            // 12 and 14 are DLT_RAW on some BSDs/OpenBSD; 101 is LINKTYPE_RAW.
            101 | 12 | 14 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            239 => LinkType::Nflog,
            _ => return None,
        })
    }
}

/// VLAN tags accepted in one Ethernet header; real QinQ uses two or three, more is garbage.
pub const MAX_VLAN_TAGS: usize = 8;

const ET_IPV4: u16 = 0x0800;
const ET_IPV6: u16 = 0x86DD;
const ET_ARP: u16 = 0x0806;
/// Values below this are 802.3 length fields (LLC frames), not ethertypes.
const ET_MIN: u16 = 0x0600;

/// Non-IP ethertypes that are normal on a LAN, so they are counted as OTHER_L3
/// instead of polluting `ethernet.unknown_ethertype`: RARP, IPX, slow protocols
/// (LACP), EAPOL, LLDP, MACsec, PPPoE discovery.
const KNOWN_NON_IP: [u16; 7] = [0x8035, 0x8137, 0x8809, 0x888E, 0x88CC, 0x88E5, 0x8863];

const ET_PPPOE_SESSION: u16 = 0x8864;
const ET_MPLS_UC: u16 = 0x8847;
const ET_MPLS_MC: u16 = 0x8848;
/// MPLS labels accepted before the payload; real stacks are a handful deep.
pub const MAX_MPLS_LABELS: usize = 8;

/// NFLOG attribute carrying the packet.
const NFULA_PAYLOAD: u16 = 9;

/// Strip the capture's link header and say where the network layer starts.
pub(super) fn link(link: LinkType, f: &[u8], d: &mut Decoded) -> Result<Next, DecodeError> {
    let end = f.len();
    match link {
        LinkType::Ethernet => Ok(Next::Ethernet { at: 0, end }),
        LinkType::Null => null(f, d, true),
        LinkType::Loop => null(f, d, false),
        LinkType::Raw => {
            d.layers |= layer::RAW;
            match f.first().map(|b| b >> 4) {
                Some(4) => Ok(Next::Ipv4 { at: 0, end }),
                Some(6) => Ok(Next::Ipv6 { at: 0, end }),
                _ => Err(DecodeError::IpRawInvalidIpVersion),
            }
        }
        LinkType::Ipv4 => {
            d.layers |= layer::RAW;
            Ok(Next::Ipv4 { at: 0, end })
        }
        LinkType::Ipv6 => {
            d.layers |= layer::RAW;
            Ok(Next::Ipv6 { at: 0, end })
        }
        LinkType::LinuxSll => {
            d.layers |= layer::SLL;
            let h = arr::<16>(f, 0).ok_or(DecodeError::SllPktTooSmall)?;
            ethertype(u16::from_be_bytes([h[14], h[15]]), f, 16, d, false)
        }
        LinkType::LinuxSll2 => {
            d.layers |= layer::SLL2;
            let h = arr::<20>(f, 0).ok_or(DecodeError::Sll2PktTooSmall)?;
            ethertype(u16::from_be_bytes([h[0], h[1]]), f, 20, d, false)
        }
        LinkType::Nflog => nflog(f, d),
    }
}

/// Ethernet II or 802.3 header at `at` (outer frame or tunnelled).
pub(super) fn ethernet(b: &[u8], at: usize, d: &mut Decoded) -> Result<Next, DecodeError> {
    d.layers |= layer::ETHERNET;
    let h = arr::<14>(b, at).ok_or(DecodeError::EthernetPktTooSmall)?;
    ethertype(u16::from_be_bytes([h[12], h[13]]), b, at + 14, d, true)
}

/// BSD loopback: a 4-byte address family. DLT_NULL stores it in the capturing
/// host's byte order, which the file does not tell us; no accepted value is also
/// accepted byte-swapped, so trying both is unambiguous.
fn null(f: &[u8], d: &mut Decoded, host_order: bool) -> Result<Next, DecodeError> {
    d.layers |= layer::NULL;
    let h = arr::<4>(f, 0).ok_or(DecodeError::NullPktTooSmall)?;
    let end = f.len();
    let family = |af: u32| match af {
        2 => Some(Next::Ipv4 { at: 4, end }),
        // AF_INET6 differs between BSDs: NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
        24 | 28 | 30 => Some(Next::Ipv6 { at: 4, end }),
        _ => None,
    };
    family(u32::from_be_bytes(h))
        .or_else(|| family(u32::from_le_bytes(h)).filter(|_| host_order))
        .ok_or(DecodeError::NullUnsupportedType)
}

/// Skip VLAN tags, then dispatch on the ethertype. `strict` makes an unknown
/// ethertype an error (Ethernet); Linux cooked captures are lenient because
/// their protocol field also carries non-ethertype values (e.g. 0x0004 LLC).
fn ethertype(
    mut et: u16,
    b: &[u8],
    mut at: usize,
    d: &mut Decoded,
    strict: bool,
) -> Result<Next, DecodeError> {
    let mut tags = 0;
    while matches!(et, 0x8100 | 0x88A8 | 0x9100) {
        if tags == MAX_VLAN_TAGS {
            return Err(DecodeError::VlanTooManyLayers);
        }
        let t = arr::<4>(b, at).ok_or(DecodeError::VlanHeaderTooSmall)?;
        tags += 1;
        d.layers |= if tags > 1 {
            layer::VLAN | layer::QINQ
        } else {
            layer::VLAN
        };
        // Only the outer frame's tags: that is what the SPAN port sees and Suricata logs.
        if d.tunnel.is_none() {
            if let Some(slot) = d.vlan.get_mut(usize::from(d.vlan_count)) {
                *slot = u16::from_be_bytes([t[0], t[1]]) & 0x0fff;
                d.vlan_count += 1;
            }
        }
        et = u16::from_be_bytes([t[2], t[3]]);
        at += 4;
    }
    let end = b.len();
    match et {
        ET_PPPOE_SESSION => pppoe(b, at, d),
        ET_MPLS_UC | ET_MPLS_MC => mpls(b, at, d),
        ET_IPV4 => Ok(Next::Ipv4 { at, end }),
        ET_IPV6 => Ok(Next::Ipv6 { at, end }),
        ET_ARP => {
            d.set_non_ip(layer::ARP);
            Ok(Next::Done)
        }
        _ if !strict || et < ET_MIN || KNOWN_NON_IP.contains(&et) => {
            d.set_non_ip(layer::OTHER_L3);
            Ok(Next::Done)
        }
        _ => Err(DecodeError::EthernetUnknownEthertype),
    }
}

/// PPPoE session stage (RFC 2516): a 6-byte header, then the PPP protocol field.
/// Broadband access links mirrored to a sensor carry all subscriber IP this way.
fn pppoe(b: &[u8], at: usize, d: &mut Decoded) -> Result<Next, DecodeError> {
    d.layers |= layer::PPPOE;
    let h = arr::<8>(b, at).ok_or(DecodeError::PppoePktTooSmall)?;
    let (at, end) = (at + 8, b.len());
    match u16::from_be_bytes([h[6], h[7]]) {
        0x0021 => Ok(Next::Ipv4 { at, end }),
        0x0057 => Ok(Next::Ipv6 { at, end }),
        // LCP, IPCP, authentication: link control, not traffic.
        _ => {
            d.set_non_ip(layer::OTHER_L3);
            Ok(Next::Done)
        }
    }
}

/// MPLS label stack; the payload after the bottom-of-stack label is IP, told apart by
/// its version nibble (anything else, e.g. a pseudowire, is skipped as non-IP).
fn mpls(b: &[u8], mut at: usize, d: &mut Decoded) -> Result<Next, DecodeError> {
    d.layers |= layer::MPLS;
    for _ in 0..MAX_MPLS_LABELS {
        let l = arr::<4>(b, at).ok_or(DecodeError::MplsHeaderTooSmall)?;
        at += 4;
        if l[2] & 1 != 0 {
            let end = b.len();
            return match b.get(at).map(|v| v >> 4) {
                Some(4) => Ok(Next::Ipv4 { at, end }),
                Some(6) => Ok(Next::Ipv6 { at, end }),
                _ => {
                    d.set_non_ip(layer::OTHER_L3);
                    Ok(Next::Done)
                }
            };
        }
    }
    Err(DecodeError::MplsHeaderTooSmall)
}

/// NFLOG: 4-byte header (family, version, resource id), then netlink-style TLVs
/// with little-endian length/type, each padded to 4 bytes; the packet is in
/// NFULA_PAYLOAD. A record without payload is a log entry, not an error.
fn nflog(f: &[u8], d: &mut Decoded) -> Result<Next, DecodeError> {
    d.layers |= layer::NFLOG;
    let [family, ..] = arr::<4>(f, 0).ok_or(DecodeError::NflogMalformed)?;
    let mut at = 4usize;
    while let Some(t) = arr::<4>(f, at) {
        let len = usize::from(u16::from_le_bytes([t[0], t[1]]));
        if len < 4 {
            return Err(DecodeError::NflogMalformed);
        }
        let tlv_end = at + len;
        // The top two type bits are netlink flags (nested, network byte order).
        if u16::from_le_bytes([t[2], t[3]]) & 0x3fff == NFULA_PAYLOAD {
            // A payload cut by the snap length is clamped, not malformed.
            let end = tlv_end.min(f.len());
            return match family {
                2 => Ok(Next::Ipv4 { at: at + 4, end }),
                10 => Ok(Next::Ipv6 { at: at + 4, end }),
                _ => {
                    d.set_non_ip(layer::OTHER_L3);
                    Ok(Next::Done)
                }
            };
        }
        if tlv_end > f.len() {
            return Err(DecodeError::NflogMalformed);
        }
        at = tlv_end.next_multiple_of(4);
    }
    d.set_non_ip(layer::OTHER_L3);
    Ok(Next::Done)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{addr_from_v4, decode, Decoded};
    use super::*;

    fn dec(link: LinkType, f: &[u8]) -> Result<Decoded, DecodeError> {
        let mut d = Decoded::default();
        decode(link, f, &mut d).map(|()| d)
    }

    fn v4_tcp() -> Vec<u8> {
        ipv4(6, &tcp(40000, 21, b"USER a\r\n"))
    }

    fn assert_v4_tcp(d: &Decoded, ip_at: u32) {
        assert_eq!(d.ip_version, 4);
        assert_eq!(d.src, addr_from_v4(SRC4));
        assert_eq!(d.dst, addr_from_v4(DST4));
        assert_eq!((d.proto, d.sport, d.dport), (6, 40000, 21));
        assert_eq!(d.ip_offset, ip_at);
        assert_eq!(d.l4_offset, ip_at + 20);
        assert_eq!((d.payload_offset, d.payload_len), (ip_at + 40, 8));
    }

    #[test]
    fn from_dlt() {
        use LinkType::*;
        for (n, l) in [
            (1, Ethernet),
            (0, Null),
            (108, Loop),
            (101, Raw),
            (12, Raw),
            (14, Raw),
            (228, Ipv4),
            (229, Ipv6),
            (113, LinuxSll),
            (276, LinuxSll2),
            (239, Nflog),
        ] {
            assert_eq!(LinkType::from_dlt(n), Some(l));
        }
        for n in [-1, 2, 105, 127, 147, 1000] {
            assert_eq!(LinkType::from_dlt(n), None);
        }
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let d = dec(LinkType::Ethernet, &eth(0x0800, &v4_tcp())).unwrap();
        assert_v4_tcp(&d, 14);
        assert_eq!(d.layers, layer::ETHERNET | layer::IPV4 | layer::TCP);
        assert_eq!((d.tcp_flags, d.tcp_seq, d.tcp_ack), (0x18, 1000, 2000));
        assert_eq!(d.vlan_count, 0);
        assert!(d.tunnel.is_none() && d.fragment.is_none());
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut f = eth(0x0800, &ipv4(17, &udp(1, 2, b"hi")));
        f.resize(60, 0);
        let d = dec(LinkType::Ethernet, &f).unwrap();
        assert_eq!((d.payload_offset, d.payload_len), (14 + 28, 2));
        let mut f = eth(0x86DD, &ipv6(6, &tcp(1, 2, b"")));
        f.resize(f.len() + 6, 0xee);
        assert_eq!(dec(LinkType::Ethernet, &f).unwrap().payload_len, 0);
    }

    #[test]
    fn vlan_single_and_qinq() {
        let d = dec(LinkType::Ethernet, &eth_vlan(&[0x8100], 0x0800, &v4_tcp())).unwrap();
        assert_v4_tcp(&d, 18);
        assert_eq!((d.vlan, d.vlan_count), ([100, 0, 0], 1));
        assert_eq!(d.layers & (layer::VLAN | layer::QINQ), layer::VLAN);

        let d = dec(
            LinkType::Ethernet,
            &eth_vlan(&[0x88A8, 0x8100], 0x0800, &v4_tcp()),
        )
        .unwrap();
        assert_v4_tcp(&d, 22);
        assert_eq!((d.vlan, d.vlan_count), ([100, 101, 0], 2));
        assert_ne!(d.layers & layer::QINQ, 0);
    }

    #[test]
    fn vlan_more_than_three_tags_and_limit() {
        let f = eth_vlan(&[0x9100, 0x88A8, 0x8100, 0x8100, 0x8100], 0x0800, &v4_tcp());
        let d = dec(LinkType::Ethernet, &f).unwrap();
        assert_v4_tcp(&d, 14 + 20);
        assert_eq!((d.vlan, d.vlan_count), ([100, 101, 102], 3));
        let ok = eth_vlan(&[0x8100; MAX_VLAN_TAGS], 0x0800, &v4_tcp());
        assert!(dec(LinkType::Ethernet, &ok).is_ok());
        let bad = eth_vlan(&[0x8100; MAX_VLAN_TAGS + 1], 0x0800, &v4_tcp());
        assert_eq!(
            dec(LinkType::Ethernet, &bad),
            Err(DecodeError::VlanTooManyLayers)
        );
        let cut = &eth_vlan(&[0x8100], 0x0800, &[])[..16];
        assert_eq!(
            dec(LinkType::Ethernet, cut),
            Err(DecodeError::VlanHeaderTooSmall)
        );
    }

    #[test]
    fn non_ip_ethertypes() {
        let d = dec(LinkType::Ethernet, &eth(0x0806, &[0; 28])).unwrap();
        assert_eq!((d.layers, d.ip_version), (layer::ETHERNET | layer::ARP, 0));
        for et in [0x88CC, 0x8137, 0x0026, 0x05DC] {
            let d = dec(LinkType::Ethernet, &eth(et, &[0; 46])).unwrap();
            assert_eq!(d.layers, layer::ETHERNET | layer::OTHER_L3, "{et:#x}");
        }
        let d = dec(LinkType::Ethernet, &eth_vlan(&[0x8100], 0x88CC, &[0; 46])).unwrap();
        assert_eq!(
            (d.vlan_count, d.layers & layer::OTHER_L3),
            (1, layer::OTHER_L3)
        );
        assert_eq!(
            dec(LinkType::Ethernet, &eth(0x1234, &[0; 46])),
            Err(DecodeError::EthernetUnknownEthertype)
        );
        assert_eq!(
            dec(LinkType::Ethernet, &[0; 13]),
            Err(DecodeError::EthernetPktTooSmall)
        );
    }

    #[test]
    fn pppoe_and_mpls() {
        let mut pppoe = vec![0x11, 0x00, 0x55, 0x6a, 0x00, 0x3f, 0x00, 0x21];
        pppoe.extend(v4_tcp());
        let d = dec(LinkType::Ethernet, &eth_vlan(&[0x8100], 0x8864, &pppoe)).unwrap();
        assert_v4_tcp(&d, 14 + 4 + 8);
        assert_ne!(d.layers & layer::PPPOE, 0);
        let lcp = [0x11, 0x00, 0x55, 0x6a, 0x00, 0x04, 0xc0, 0x21, 1, 2];
        let d = dec(LinkType::Ethernet, &eth(0x8864, &lcp)).unwrap();
        assert_eq!(d.ip_version, 0);
        assert_eq!(
            dec(LinkType::Ethernet, &eth(0x8864, &pppoe[..5])),
            Err(DecodeError::PppoePktTooSmall)
        );
        // Two labels, the second bottom-of-stack.
        let mut mpls = vec![0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
        mpls.extend(v4_tcp());
        let d = dec(LinkType::Ethernet, &eth(0x8847, &mpls)).unwrap();
        assert_v4_tcp(&d, 14 + 8);
        assert_eq!(
            dec(
                LinkType::Ethernet,
                &eth(0x8847, &[0; 4 * (MAX_MPLS_LABELS + 1)])
            ),
            Err(DecodeError::MplsHeaderTooSmall)
        );
    }

    #[test]
    fn linux_sll_and_sll2() {
        let d = dec(LinkType::LinuxSll, &sll(0x0800, &v4_tcp())).unwrap();
        assert_v4_tcp(&d, 16);
        assert_eq!(d.layers, layer::SLL | layer::IPV4 | layer::TCP);
        let d = dec(
            LinkType::LinuxSll,
            &sll(0x8100, &[&[0, 7, 0x08, 0][..], &v4_tcp()].concat()),
        )
        .unwrap();
        assert_v4_tcp(&d, 20);
        assert_eq!((d.vlan[0], d.vlan_count), (7, 1));
        let d = dec(LinkType::LinuxSll, &sll(0x0004, &[0; 10])).unwrap();
        assert_eq!(d.layers, layer::SLL | layer::OTHER_L3);
        let d = dec(LinkType::LinuxSll, &sll(0x1234, &[0; 10])).unwrap();
        assert_eq!(d.layers, layer::SLL | layer::OTHER_L3);
        assert_eq!(
            dec(LinkType::LinuxSll, &[0; 15]),
            Err(DecodeError::SllPktTooSmall)
        );

        let d = dec(LinkType::LinuxSll2, &sll2(0x0800, &v4_tcp())).unwrap();
        assert_v4_tcp(&d, 20);
        assert_eq!(d.layers, layer::SLL2 | layer::IPV4 | layer::TCP);
        let d = dec(
            LinkType::LinuxSll2,
            &sll2(0x86DD, &ipv6(17, &udp(5, 6, b"abc"))),
        )
        .unwrap();
        assert_eq!(
            (d.ip_version, d.sport, d.dport, d.payload_len),
            (6, 5, 6, 3)
        );
        assert_eq!(
            dec(LinkType::LinuxSll2, &[0; 19]),
            Err(DecodeError::Sll2PktTooSmall)
        );
    }

    #[test]
    fn null_and_loop() {
        let v6 = ipv6(17, &udp(1, 2, b"x"));
        let d = dec(
            LinkType::Null,
            &[&2u32.to_le_bytes()[..], &v4_tcp()].concat(),
        )
        .unwrap();
        assert_v4_tcp(&d, 4);
        assert_eq!(d.layers, layer::NULL | layer::IPV4 | layer::TCP);
        let d = dec(
            LinkType::Null,
            &[&2u32.to_be_bytes()[..], &v4_tcp()].concat(),
        )
        .unwrap();
        assert_v4_tcp(&d, 4);
        for af in [24u32, 28, 30] {
            for bytes in [af.to_le_bytes(), af.to_be_bytes()] {
                let d = dec(LinkType::Null, &[&bytes[..], &v6].concat()).unwrap();
                assert_eq!((d.ip_version, d.ip_offset), (6, 4));
            }
            let d = dec(LinkType::Loop, &[&af.to_be_bytes()[..], &v6].concat()).unwrap();
            assert_eq!(d.ip_version, 6);
            assert_eq!(
                dec(LinkType::Loop, &[&af.to_le_bytes()[..], &v6].concat()),
                Err(DecodeError::NullUnsupportedType)
            );
        }
        assert_eq!(
            dec(LinkType::Null, &[&7u32.to_le_bytes()[..], &v6].concat()),
            Err(DecodeError::NullUnsupportedType)
        );
        assert_eq!(
            dec(LinkType::Loop, &[0, 0, 0]),
            Err(DecodeError::NullPktTooSmall)
        );
    }

    #[test]
    fn raw_ip_link_types() {
        let d = dec(LinkType::Raw, &v4_tcp()).unwrap();
        assert_v4_tcp(&d, 0);
        assert_eq!(d.layers, layer::RAW | layer::IPV4 | layer::TCP);
        assert_eq!(dec(LinkType::Raw, &ipv6(59, &[])).unwrap().ip_version, 6);
        assert_eq!(
            dec(LinkType::Raw, &[0x50; 40]),
            Err(DecodeError::IpRawInvalidIpVersion)
        );
        assert_eq!(
            dec(LinkType::Raw, &[]),
            Err(DecodeError::IpRawInvalidIpVersion)
        );
        assert_v4_tcp(&dec(LinkType::Ipv4, &v4_tcp()).unwrap(), 0);
        assert_eq!(
            dec(LinkType::Ipv4, &ipv6(59, &[])),
            Err(DecodeError::Ipv4WrongIpVersion)
        );
        assert_eq!(dec(LinkType::Ipv6, &ipv6(59, &[])).unwrap().proto, 59);
        assert_eq!(
            dec(LinkType::Ipv6, &v4_tcp()),
            Err(DecodeError::Ipv6WrongIpVersion)
        );
        assert_eq!(
            dec(LinkType::Ipv6, &[0x60; 39]),
            Err(DecodeError::Ipv6PktTooSmall)
        );
    }

    #[test]
    fn nflog() {
        let mut f = vec![2, 0, 0, 5];
        f.extend(tlv(1, &[0, 0x08, 3, 0])); // packet header
        f.extend(tlv(10, b"prefix\0")); // prefix, padded
        let ip_at = f.len() as u32 + 4;
        f.extend(tlv(9, &v4_tcp()));
        f.extend(tlv(11, &[0; 4])); // uid after the payload
        let d = dec(LinkType::Nflog, &f).unwrap();
        assert_v4_tcp(&d, ip_at);
        assert_eq!(d.layers, layer::NFLOG | layer::IPV4 | layer::TCP);

        // Nested/byte-order flag bits on the type are ignored.
        let f = [
            &[10u8, 0, 0, 0][..],
            &tlv(9 | 0x4000, &ipv6(17, &udp(1, 2, b"z"))),
        ]
        .concat();
        assert_eq!(dec(LinkType::Nflog, &f).unwrap().payload_len, 1);

        // Snap length cut inside the payload TLV: clamped.
        let f = [&[2u8, 0, 0, 0][..], &tlv(9, &v4_tcp())].concat();
        let d = dec(LinkType::Nflog, &f[..f.len() - 3]).unwrap();
        assert_eq!(d.payload_len, 5);

        // No payload TLV: a log record, not an error.
        let f = [&[2u8, 0, 0, 0][..], &tlv(10, b"x")].concat();
        assert_eq!(
            dec(LinkType::Nflog, &f).unwrap().layers,
            layer::NFLOG | layer::OTHER_L3
        );
        let f = [&[7u8, 0, 0, 0][..], &tlv(9, &v4_tcp())].concat();
        assert_eq!(dec(LinkType::Nflog, &f).unwrap().ip_version, 0);

        assert_eq!(
            dec(LinkType::Nflog, &[2, 0, 0]),
            Err(DecodeError::NflogMalformed)
        );
        let zero_len = [2u8, 0, 0, 0, 0, 0, 9, 0];
        assert_eq!(
            dec(LinkType::Nflog, &zero_len),
            Err(DecodeError::NflogMalformed)
        );
        let overlong = [&[2u8, 0, 0, 0][..], &[200, 0, 10, 0, 1, 2, 3, 4]].concat();
        assert_eq!(
            dec(LinkType::Nflog, &overlong),
            Err(DecodeError::NflogMalformed)
        );
    }
}
