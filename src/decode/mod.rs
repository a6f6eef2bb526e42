//! Packet decoding: link layer → (tunnels) → innermost IP → transport.
//!
//! Zero-copy: `decode` fills a fixed-size [`Decoded`] with addresses, ports and
//! byte offsets into the caller's frame, so the capture thread can shard on the
//! innermost IP pair and the worker can use the same result without decoding twice.
//!
//! Decoding is a loop over `Next` steps rather than recursion, so tunnel
//! nesting costs no stack and is bounded by [`MAX_TUNNELS`]. Every layer is
//! handed a slice that ends where its enclosing layer ends (captured bytes, IP
//! total length, UDP length, NFLOG TLV), so trailing padding never leaks into an
//! inner layer and all wire reads are bounds-checked by construction.

pub mod defrag;
pub mod ip;
pub mod link;
pub mod transport;
pub mod tunnel;
mod wire;

#[cfg(test)]
mod testutil;

pub use defrag::{DefragConfig, DefragStats, Defragmenter, Reassembled};
pub use link::LinkType;
pub use transport::decode_transport;
pub use tunnel::{Tunnel, TunnelKind};

/// An IP address stored in 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so v4 and v6 share one key type.
pub type Addr = [u8; 16];

/// IPv4 → IPv4-mapped IPv6 bytes, so flow keys need no enum.
pub fn addr_from_v4(b: [u8; 4]) -> Addr {
    let [a, b2, c, d] = b;
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b2, c, d]
}

/// Back to a std address for display; IPv4-mapped addresses become `V4`.
pub fn addr_to_ip(a: &Addr) -> std::net::IpAddr {
    let v6 = std::net::Ipv6Addr::from(*a);
    match v6.to_ipv4_mapped() {
        Some(v4) => std::net::IpAddr::V4(v4),
        None => std::net::IpAddr::V6(v6),
    }
}

/// Layer bits recorded in `Decoded::layers` for stats (one bit per layer type seen in this frame).
pub mod layer {
    pub const ETHERNET: u32 = 1;
    pub const VLAN: u32 = 2;
    /// At least two tags stacked in one Ethernet header.
    pub const QINQ: u32 = 4;
    pub const SLL: u32 = 8;
    pub const SLL2: u32 = 16;
    /// BSD loopback (DLT_NULL and DLT_LOOP).
    pub const NULL: u32 = 32;
    /// Raw IP link types (DLT_RAW and LINKTYPE_IPV4/IPV6).
    pub const RAW: u32 = 64;
    pub const NFLOG: u32 = 128;
    pub const IPV4: u32 = 256;
    pub const IPV6: u32 = 512;
    pub const TCP: u32 = 1024;
    pub const UDP: u32 = 2048;
    pub const ICMPV4: u32 = 4096;
    pub const ICMPV6: u32 = 8192;
    pub const SCTP: u32 = 16384;
    pub const GRE: u32 = 32768;
    pub const ERSPAN: u32 = 65536;
    pub const VXLAN: u32 = 131072;
    pub const IPV4_IN_IPV4: u32 = 1 << 18;
    pub const IPV6_IN_IPV4: u32 = 1 << 19;
    pub const IPV4_IN_IPV6: u32 = 1 << 20;
    pub const IPV6_IN_IPV6: u32 = 1 << 21;
    pub const FRAGMENT: u32 = 1 << 22;
    pub const ARP: u32 = 1 << 23;
    /// Non-IP ethertype we skip knowingly, e.g. LLDP, IPX.
    pub const OTHER_L3: u32 = 1 << 24;
    pub const PPPOE: u32 = 1 << 25;
    pub const MPLS: u32 = 1 << 26;
}

/// IP fragment header fields of the innermost packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// IPv4 identification (16 bits, widened) or IPv6 fragment identification.
    pub id: u32,
    /// Offset of this fragment's data in the reassembled payload, in bytes.
    pub offset: u32,
    /// More-fragments flag.
    pub more: bool,
}

/// Result of decoding one frame. Fixed size, Copy, no borrows: offsets index into the frame passed to `decode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// [`layer`] bits of every layer seen in this frame.
    pub layers: u32,
    /// 0 = not IP (ARP/other), 4 or 6 (innermost).
    pub ip_version: u8,
    /// Innermost IP source address.
    pub src: Addr,
    /// Innermost IP destination address.
    pub dst: Addr,
    /// Innermost upper-layer protocol number (after IPv6 extension headers; for an IPv6
    /// fragment, the fragment header's next header so that all fragments share one key).
    pub proto: u8,
    /// TCP/UDP/SCTP source port; ICMP/ICMPv6 type.
    pub sport: u16,
    /// TCP/UDP/SCTP destination port; ICMP/ICMPv6 code.
    pub dport: u16,
    /// Raw TCP flags byte (FIN=1,SYN=2,RST=4,PSH=8,ACK=16,URG=32,ECE=64,CWR=128).
    pub tcp_flags: u8,
    pub tcp_seq: u32,
    pub tcp_ack: u32,
    /// Offset of the innermost IP header in the frame.
    pub ip_offset: u32,
    /// Offset of the L4 header (for a fragment: of the fragment's data).
    pub l4_offset: u32,
    /// L4 payload (TCP/UDP data; ICMP body; whole IP payload for other protocols),
    /// clamped to the captured bytes and to the IP total length (Ethernet padding is NOT
    /// payload). For a fragment (any, incl. the first) this is the fragment's data:
    /// `payload_offset == l4_offset` and `payload_len` = fragment data length, which is
    /// what [`Defragmenter::insert`] consumes.
    pub payload_offset: u32,
    pub payload_len: u32,
    /// Outer-to-inner 802.1Q/802.1ad ids of the OUTER frame (what the SPAN port sees),
    /// first three; more → count stays 3 and bit QINQ.
    pub vlan: [u16; 3],
    pub vlan_count: u8,
    /// The outermost tunnel that was removed, with `depth` = number of tunnels removed.
    pub tunnel: Option<Tunnel>,
    /// Some when the innermost IP packet is a fragment (any, incl. first); then the L4 fields are
    /// only filled for offset 0 and must not be trusted: the worker reassembles first.
    pub fragment: Option<Fragment>,
}

impl Decoded {
    /// Zero the transport fields so an inner layer never inherits an outer one's ports.
    fn clear_l4(&mut self) {
        self.set_l4(0, 0, 0, 0, 0);
    }

    /// Set every transport field at once (TCP fields zeroed) so no stale value survives.
    fn set_l4(&mut self, sport: u16, dport: u16, l4: usize, payload: usize, len: usize) {
        self.sport = sport;
        self.dport = dport;
        self.tcp_flags = 0;
        self.tcp_seq = 0;
        self.tcp_ack = 0;
        self.l4_offset = off32(l4);
        self.payload_offset = off32(payload);
        self.payload_len = off32(len);
    }

    /// The innermost packet is not IP: forget any outer IP/L4 fields, keep what
    /// describes the frame as a whole (layers, outer VLANs, tunnel).
    fn set_non_ip(&mut self, bit: u32) {
        *self = Decoded {
            layers: self.layers | bit,
            vlan: self.vlan,
            vlan_count: self.vlan_count,
            tunnel: self.tunnel,
            ..Decoded::default()
        };
    }
}

/// Declares `DecodeError` with its stats names and `ALL` from one list so they cannot drift apart.
macro_rules! decode_errors {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// Why a frame could not be decoded. `name()` gives the stats key, Suricata-style where Suricata has one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum DecodeError {
            $($(#[$doc])* $variant,)*
        }

        impl DecodeError {
            /// Every variant, for pre-registering stats counters.
            pub const ALL: &'static [DecodeError] = &[$(DecodeError::$variant,)*];

            /// Stats key.
            pub fn name(self) -> &'static str {
                match self {
                    $(DecodeError::$variant => $name,)*
                }
            }
        }
    };
}

decode_errors! {
    /// Shorter than the 14-byte Ethernet header.
    EthernetPktTooSmall => "ethernet.pkt_too_small",
    /// A VLAN tag cut short.
    VlanHeaderTooSmall => "vlan.header_too_small",
    /// More than [`link::MAX_VLAN_TAGS`] tags in one Ethernet header.
    VlanTooManyLayers => "vlan.too_many_layers",
    SllPktTooSmall => "sll.pkt_too_small",
    Sll2PktTooSmall => "sll2.pkt_too_small",
    /// DLT_NULL/DLT_LOOP frame shorter than its 4-byte address family.
    NullPktTooSmall => "ltnull.pkt_too_small",
    /// DLT_NULL/DLT_LOOP address family that is neither IPv4 nor IPv6.
    NullUnsupportedType => "ltnull.unsupported_type",
    /// NFLOG header or a TLV before the payload is inconsistent.
    NflogMalformed => "nflog.malformed",
    /// Raw IP link whose first nibble is not 4 or 6 (or an empty frame).
    IpRawInvalidIpVersion => "ipraw.invalid_ip_version",
    Ipv4PktTooSmall => "ipv4.pkt_too_small",
    Ipv4HlenTooSmall => "ipv4.hlen_too_small",
    Ipv4IplenSmallerThanHlen => "ipv4.iplen_smaller_than_hlen",
    /// IPv4 options run past the captured bytes.
    Ipv4TruncPkt => "ipv4.trunc_pkt",
    Ipv4WrongIpVersion => "ipv4.wrong_ip_version",
    Ipv6PktTooSmall => "ipv6.pkt_too_small",
    /// An extension header runs past the IPv6 payload length (but not past the capture).
    Ipv6TruncPkt => "ipv6.trunc_pkt",
    /// An extension header runs past the captured bytes.
    Ipv6TruncExthdr => "ipv6.trunc_exthdr",
    Ipv6WrongIpVersion => "ipv6.wrong_ip_version",
    /// Fewer than 20 bytes, or the header with options runs past the packet.
    TcpPktTooSmall => "tcp.pkt_too_small",
    /// Data offset below 5.
    TcpHlenTooSmall => "tcp.hlen_too_small",
    UdpPktTooSmall => "udp.pkt_too_small",
    /// UDP length field below 8.
    UdpHlenInvalid => "udp.hlen_invalid",
    Icmpv4PktTooSmall => "icmpv4.pkt_too_small",
    Icmpv6PktTooSmall => "icmpv6.pkt_too_small",
    SctpPktTooSmall => "sctp.pkt_too_small",
    /// GRE base header or its optional fields cut short.
    GrePktTooSmall => "gre.pkt_too_small",
    /// GRE version other than 0 or 1.
    GreWrongVersion => "gre.wrong_version",
    /// GRE version 0 with the (deprecated RFC 1701) routing bit set.
    GreVersion0Routing => "gre.version0_routing",
    ErspanHeaderTooSmall => "erspan.header_too_small",
    /// ERSPAN header whose version field does not match its type.
    ErspanUnsupportedVersion => "erspan.unsupported_version",
    /// UDP to port 4789 with fewer than 8 payload bytes.
    VxlanHeaderTooSmall => "vxlan.header_too_small",
    /// PPPoE session header cut short.
    PppoePktTooSmall => "pppoe.pkt_too_small",
    /// MPLS label stack cut short or deeper than [`link::MAX_MPLS_LABELS`].
    MplsHeaderTooSmall => "mpls.header_too_small",
    /// Ethernet ethertype that is neither decoded nor a known non-IP protocol.
    EthernetUnknownEthertype => "ethernet.unknown_ethertype",
    /// More than [`MAX_TUNNELS`] nested tunnels.
    TooManyLayers => "too_many_layers",
    /// Never returned by `decode` (every [`LinkType`] is supported); for capture code
    /// that counts frames of a DLT that [`LinkType::from_dlt`] rejected.
    LinkUnsupported => "link.unsupported",
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for DecodeError {}

/// Tunnels removed before giving up: deeper nesting is an evasion or a loop, not traffic.
pub const MAX_TUNNELS: u8 = 4;

/// Frames are capped to this many bytes so every offset fits the `u32` fields of [`Decoded`].
const MAX_FRAME: usize = u32::MAX as usize;

/// `usize` offset → `u32` field; cannot saturate because frames are capped to [`MAX_FRAME`].
fn off32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// What to decode next. `end` bounds the layer (captured bytes ∩ enclosing length field).
#[derive(Clone, Copy, Debug)]
enum Next {
    Ethernet {
        at: usize,
        end: usize,
    },
    Ipv4 {
        at: usize,
        end: usize,
    },
    Ipv6 {
        at: usize,
        end: usize,
    },
    /// IP payload with protocol number `proto`.
    IpPayload {
        proto: u8,
        at: usize,
        end: usize,
    },
    Done,
}

/// Decode one frame. `d` is overwritten (callers reuse one). Ok(()) also for non-IP frames (ARP, LLDP...: ip_version 0,
/// layer bit ARP / OTHER_L3 set). Never panics on any input.
pub fn decode(link: LinkType, frame: &[u8], d: &mut Decoded) -> Result<(), DecodeError> {
    *d = Decoded::default();
    let frame = frame.get(..MAX_FRAME).unwrap_or(frame);
    let mut next = link::link(link, frame, d)?;
    loop {
        next = match next {
            Next::Ethernet { at, end } => link::ethernet(bounded(frame, end), at, d)?,
            Next::Ipv4 { at, end } => ip::ipv4(bounded(frame, end), at, d)?,
            Next::Ipv6 { at, end } => ip::ipv6(bounded(frame, end), at, d)?,
            Next::IpPayload { proto, at, end } => {
                tunnel::ip_payload(proto, bounded(frame, end), at, d)?
            }
            Next::Done => return Ok(()),
        };
    }
}

/// The frame cut at `end`; layers only ever shrink `end`, so this never falls back.
fn bounded(frame: &[u8], end: usize) -> &[u8] {
    frame.get(..end).unwrap_or(frame)
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    const LINKS: [LinkType; 9] = [
        LinkType::Ethernet,
        LinkType::Null,
        LinkType::Loop,
        LinkType::Raw,
        LinkType::Ipv4,
        LinkType::Ipv6,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::Nflog,
    ];

    #[test]
    fn error_names_unique_and_complete() {
        let names: HashSet<_> = DecodeError::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), DecodeError::ALL.len());
        for n in [
            "ethernet.pkt_too_small",
            "vlan.too_many_layers",
            "ipv6.trunc_exthdr",
            "gre.wrong_version",
            "too_many_layers",
            "link.unsupported",
        ] {
            assert!(names.contains(n), "{n}");
        }
        assert_eq!(
            DecodeError::TcpHlenTooSmall.to_string(),
            "tcp.hlen_too_small"
        );
    }

    #[test]
    fn addr_roundtrip() {
        let a = addr_from_v4([10, 1, 2, 3]);
        assert_eq!(
            addr_to_ip(&a),
            "10.1.2.3".parse::<std::net::IpAddr>().unwrap()
        );
        let v6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(addr_to_ip(&v6.octets()), std::net::IpAddr::V6(v6));
    }

    #[test]
    fn decoded_is_overwritten() {
        let mut d = Decoded::default();
        decode(
            LinkType::Ethernet,
            &eth(0x0800, &ipv4(6, &tcp(1, 2, b"x"))),
            &mut d,
        )
        .unwrap();
        decode(LinkType::Ethernet, &eth(0x0806, &[0; 28]), &mut d).unwrap();
        assert_eq!(
            d,
            Decoded {
                layers: layer::ETHERNET | layer::ARP,
                ..Decoded::default()
            }
        );
    }

    /// Valid frames of every kind, used for the every-prefix truncation test.
    fn sample_frames() -> Vec<(LinkType, Vec<u8>)> {
        let t = tcp(1234, 80, b"GET / HTTP/1.1\r\n");
        let v4 = ipv4(6, &t);
        let v6 = ipv6(6, &t);
        let inner_eth = eth(0x0800, &v4);
        let mut nflog = vec![2, 0, 0, 1];
        nflog.extend(tlv(1, &[0, 0x08, 0, 0]));
        nflog.extend(tlv(9, &v4));
        vec![
            (LinkType::Ethernet, eth(0x0800, &v4)),
            (LinkType::Ethernet, eth_vlan(&[0x8100, 0x8100], 0x86DD, &v6)),
            (
                LinkType::Ethernet,
                eth(0x0800, &ipv4(17, &udp(1, 53, b"q"))),
            ),
            (
                LinkType::Ethernet,
                eth(0x0800, &ipv4(1, &[8, 0, 0, 0, 1, 2])),
            ),
            (
                LinkType::Ethernet,
                eth(0x86DD, &ipv6(58, &[128, 0, 0, 0, 1, 2])),
            ),
            (LinkType::Ethernet, eth(0x86DD, &ipv6(132, &[0; 16]))),
            (
                LinkType::Ethernet,
                eth(0x86DD, &ipv6_ext(&[(0, 8), (60, 16)], 6, &t)),
            ),
            (
                LinkType::Ethernet,
                eth(0x0800, &ipv4(47, &gre(0x3000, 0x0800, &[0; 8], &v4))),
            ),
            (
                LinkType::Ethernet,
                eth(
                    0x0800,
                    &ipv4(
                        47,
                        &gre(
                            0x1000,
                            0x88BE,
                            &[0; 4],
                            &[&erspan2(), &inner_eth[..]].concat(),
                        ),
                    ),
                ),
            ),
            (
                LinkType::Ethernet,
                eth(
                    0x0800,
                    &ipv4(
                        47,
                        &gre(0, 0x22EB, &[], &[&erspan3(true), &inner_eth[..]].concat()),
                    ),
                ),
            ),
            (
                LinkType::Ethernet,
                eth(
                    0x0800,
                    &ipv4(
                        17,
                        &udp(5, 4789, &[&vxlan_hdr(42), &inner_eth[..]].concat()),
                    ),
                ),
            ),
            (LinkType::Ethernet, eth(0x0800, &ipv4(41, &v6))),
            (
                LinkType::Ethernet,
                eth(0x0800, &ipv4_frag(17, 7, 0, true, &udp(1, 2, &[0; 32]))),
            ),
            (
                LinkType::Ethernet,
                eth(0x86DD, &ipv6_frag(17, 9, 0, true, &udp(1, 2, &[0; 32]))),
            ),
            (LinkType::Null, [&2u32.to_le_bytes()[..], &v4].concat()),
            (LinkType::Loop, [&24u32.to_be_bytes()[..], &v6].concat()),
            (LinkType::Raw, v4.clone()),
            (LinkType::Ipv6, v6.clone()),
            (LinkType::LinuxSll, sll(0x0800, &v4)),
            (LinkType::LinuxSll2, sll2(0x86DD, &v6)),
            (LinkType::Nflog, nflog),
        ]
    }

    #[test]
    fn samples_decode_to_innermost_tcp_or_udp() {
        for (i, (link, f)) in sample_frames().into_iter().enumerate() {
            let mut d = Decoded::default();
            decode(link, &f, &mut d).unwrap_or_else(|e| panic!("sample {i}: {e}"));
            assert!(d.ip_version == 4 || d.ip_version == 6, "sample {i}");
            let end = d.payload_offset as usize + d.payload_len as usize;
            assert!(end <= f.len(), "sample {i}");
        }
    }

    #[test]
    fn every_prefix_of_every_sample_is_handled() {
        for (link, f) in sample_frames() {
            let mut d = Decoded::default();
            for n in 0..=f.len() {
                if decode(link, &f[..n], &mut d).is_ok() {
                    let end = d.payload_offset as usize + d.payload_len as usize;
                    assert!(end <= n);
                    assert!(d.l4_offset as usize <= n && d.ip_offset as usize <= n);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(link in 0..LINKS.len(), bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut d = Decoded::default();
            let _ = decode(LINKS[link], &bytes, &mut d);
            let _ = decode_transport(bytes.first().copied().unwrap_or(6), &bytes, &mut d);
        }

        #[test]
        fn mutated_samples_never_panic(idx in 0..21usize, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
            let samples = sample_frames();
            let (link, mut f) = samples[idx % samples.len()].clone();
            for (pos, val) in flips {
                let n = f.len();
                f[pos % n] = val;
            }
            let n = cut % (f.len() + 1);
            let mut d = Decoded::default();
            if decode(link, &f[..n], &mut d).is_ok() {
                prop_assert!(d.payload_offset as usize + d.payload_len as usize <= n);
            }
        }

        #[test]
        fn etherparse_oracle(
            v6 in any::<bool>(),
            vlans in 0..3usize,
            l4 in 0..4u8,
            src in any::<[u8; 16]>(),
            dst in any::<[u8; 16]>(),
            sport in any::<u16>(),
            dport in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            padding in 0..20usize,
        ) {
            use etherparse::PacketBuilder;
            let dport = if dport == 4789 { 4790 } else { dport };
            let eth_b = PacketBuilder::ethernet2([1; 6], [2; 6]);
            let ip_b = match (vlans, v6) {
                (0, false) => eth_b.ipv4(src[..4].try_into().unwrap(), dst[..4].try_into().unwrap(), 64),
                (0, true) => eth_b.ipv6(src, dst, 64),
                (1, false) => eth_b.single_vlan(100u16.try_into().unwrap()).ipv4(src[..4].try_into().unwrap(), dst[..4].try_into().unwrap(), 64),
                (1, true) => eth_b.single_vlan(100u16.try_into().unwrap()).ipv6(src, dst, 64),
                (_, false) => eth_b.double_vlan(10u16.try_into().unwrap(), 20u16.try_into().unwrap()).ipv4(src[..4].try_into().unwrap(), dst[..4].try_into().unwrap(), 64),
                (_, true) => eth_b.double_vlan(10u16.try_into().unwrap(), 20u16.try_into().unwrap()).ipv6(src, dst, 64),
            };
            let mut f = Vec::new();
            let (exp_sport, exp_dport) = match l4 {
                0 => { ip_b.tcp(sport, dport, 1, 1000).syn().write(&mut f, &payload).unwrap(); (sport, dport) }
                1 => { ip_b.udp(sport, dport).write(&mut f, &payload).unwrap(); (sport, dport) }
                2 if v6 => { ip_b.icmpv6_echo_request(sport, dport).write(&mut f, &payload).unwrap(); (128, 0) }
                2 => { ip_b.icmpv4_echo_request(sport, dport).write(&mut f, &payload).unwrap(); (8, 0) }
                _ => { ip_b.tcp(sport, dport, 7, 1000).ack(9).psh().write(&mut f, &payload).unwrap(); (sport, dport) }
            };
            let unpadded = f.len();
            f.resize(unpadded + padding, 0xAA);
            let sliced = etherparse::SlicedPacket::from_ethernet(&f[..unpadded]).unwrap();
            let mut d = Decoded::default();
            decode(LinkType::Ethernet, &f, &mut d).unwrap();
            let (es, ed): (Addr, Addr) = match &sliced.net {
                Some(etherparse::NetSlice::Ipv4(h)) => (addr_from_v4(h.header().source()), addr_from_v4(h.header().destination())),
                Some(etherparse::NetSlice::Ipv6(h)) => (h.header().source(), h.header().destination()),
                _ => unreachable!(),
            };
            prop_assert_eq!(d.src, es);
            prop_assert_eq!(d.dst, ed);
            prop_assert_eq!((d.sport, d.dport), (exp_sport, exp_dport));
            let (oracle_len, oracle_ports) = match &sliced.transport {
                Some(etherparse::TransportSlice::Tcp(t)) => (t.payload().len(), Some((t.source_port(), t.destination_port()))),
                Some(etherparse::TransportSlice::Udp(u)) => (u.payload().len(), Some((u.source_port(), u.destination_port()))),
                Some(etherparse::TransportSlice::Icmpv4(i)) => (i.payload().len() + 4, None),
                Some(etherparse::TransportSlice::Icmpv6(i)) => (i.payload().len() + 4, None),
                _ => unreachable!(),
            };
            // etherparse's ICMP payload starts after the 8-byte echo header, ours after 4 bytes.
            prop_assert_eq!(d.payload_len as usize, oracle_len);
            if let Some(p) = oracle_ports {
                prop_assert_eq!((d.sport, d.dport), p);
            }
            prop_assert_eq!(&f[d.payload_offset as usize..][..d.payload_len as usize], &f[unpadded - payload.len() - if l4 == 2 { 4 } else { 0 }..unpadded]);
            prop_assert_eq!(usize::from(d.vlan_count), vlans);
            if l4 == 0 {
                prop_assert_eq!(d.tcp_flags, 2);
            }
        }
    }
}
