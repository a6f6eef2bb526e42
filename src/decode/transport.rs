//! Transport headers: TCP, UDP, ICMPv4/v6, SCTP, and the payload of anything else.

use super::wire::arr;
use super::{ip, layer, DecodeError, Decoded, MAX_FRAME};

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;
const IPPROTO_NONE: u8 = 59;
const IPPROTO_SCTP: u8 = 132;

/// Decode the transport header of an already reassembled IP payload (used after defragmentation): fills
/// sport/dport/tcp_*/l4_offset/payload_* relative to `l4` (i.e. l4_offset = 0), keeps everything else.
///
/// For IPv6 (`d.ip_version == 6`), extension headers at the start of the fragmentable
/// part (e.g. destination options) are skipped first, which updates `d.proto` and
/// makes `l4_offset` their length. `layers` is left alone: it describes the frame.
pub fn decode_transport(proto: u8, l4: &[u8], d: &mut Decoded) -> Result<(), DecodeError> {
    let l4 = l4.get(..MAX_FRAME).unwrap_or(l4);
    let (proto, at) = if d.ip_version == 6 {
        ip::skip_ipv6_ext(proto, l4)?
    } else {
        (proto, 0)
    };
    d.proto = proto;
    transport(proto, l4, at, d).map(|_| ())
}

/// Fill the transport fields for protocol `proto` whose header is at `at`; `b`
/// ends where the IP payload ends. Returns the layer bit to record.
pub(super) fn transport(
    proto: u8,
    b: &[u8],
    at: usize,
    d: &mut Decoded,
) -> Result<u32, DecodeError> {
    let rest = b.len().saturating_sub(at);
    match proto {
        IPPROTO_TCP => {
            let h = arr::<20>(b, at).ok_or(DecodeError::TcpPktTooSmall)?;
            let hlen = usize::from(h[12] >> 4) * 4;
            if hlen < 20 {
                return Err(DecodeError::TcpHlenTooSmall);
            }
            if hlen > rest {
                return Err(DecodeError::TcpPktTooSmall);
            }
            let (sport, dport) = ports(h);
            d.set_l4(sport, dport, at, at + hlen, rest - hlen);
            d.tcp_flags = h[13];
            d.tcp_seq = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
            d.tcp_ack = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
            Ok(layer::TCP)
        }
        IPPROTO_UDP => {
            let h = arr::<8>(b, at).ok_or(DecodeError::UdpPktTooSmall)?;
            let ulen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            if ulen < 8 {
                return Err(DecodeError::UdpHlenInvalid);
            }
            let (sport, dport) = ports(h);
            d.set_l4(sport, dport, at, at + 8, (ulen - 8).min(rest - 8));
            Ok(layer::UDP)
        }
        IPPROTO_ICMP => icmp(b, at, d, DecodeError::Icmpv4PktTooSmall).map(|()| layer::ICMPV4),
        IPPROTO_ICMPV6 => icmp(b, at, d, DecodeError::Icmpv6PktTooSmall).map(|()| layer::ICMPV6),
        IPPROTO_SCTP => {
            let h = arr::<12>(b, at).ok_or(DecodeError::SctpPktTooSmall)?;
            let (sport, dport) = ports(h);
            d.set_l4(sport, dport, at, at + 12, rest - 12);
            Ok(layer::SCTP)
        }
        // "No next header": anything after it is to be ignored (RFC 8200).
        IPPROTO_NONE => {
            d.set_l4(0, 0, at, at, 0);
            Ok(0)
        }
        _ => {
            d.set_l4(0, 0, at, at, rest);
            Ok(0)
        }
    }
}

/// Source and destination port, the first four bytes of TCP, UDP and SCTP alike.
fn ports<const N: usize>(h: [u8; N]) -> (u16, u16) {
    match arr::<4>(&h, 0) {
        Some([a, b, c, d]) => (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])),
        None => (0, 0),
    }
}

/// ICMP/ICMPv6: type and code stand in for the ports (as flow keys do); the body
/// after the 4-byte header is the payload. ICMP errors quote an inner header,
/// which is deliberately not decoded: the packet is ICMP.
fn icmp(b: &[u8], at: usize, d: &mut Decoded, short: DecodeError) -> Result<(), DecodeError> {
    let [ty, code, ..] = arr::<4>(b, at).ok_or(short)?;
    d.set_l4(u16::from(ty), u16::from(code), at, at + 4, b.len() - at - 4);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{decode, LinkType};
    use super::*;

    fn dec(f: &[u8]) -> Result<Decoded, DecodeError> {
        let mut d = Decoded::default();
        decode(LinkType::Raw, f, &mut d).map(|()| d)
    }

    #[test]
    fn tcp_header_checks() {
        let mut t = tcp(1, 2, b"data");
        t[12] = 0x40;
        assert_eq!(dec(&ipv4(6, &t)), Err(DecodeError::TcpHlenTooSmall));
        t[12] = 0x60; // 24-byte header: options eat 4 bytes of "data"
        let d = dec(&ipv4(6, &t)).unwrap();
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (20, 44, 0));
        t[12] = 0x70; // header longer than the packet
        assert_eq!(dec(&ipv4(6, &t)), Err(DecodeError::TcpPktTooSmall));
        assert_eq!(dec(&ipv4(6, &t[..19])), Err(DecodeError::TcpPktTooSmall));
        let mut t = tcp(1, 2, b"");
        t[13] = 0xff;
        assert_eq!(dec(&ipv6(6, &t)).unwrap().tcp_flags, 0xff);
    }

    #[test]
    fn udp_length_rules() {
        let mut u = udp(53, 5353, b"abcdef");
        assert_eq!(dec(&ipv4(17, &u)).unwrap().payload_len, 6);
        u[5] = 10; // UDP length shorter than the IP payload
        let d = dec(&ipv4(17, &u)).unwrap();
        assert_eq!(
            (d.sport, d.dport, d.payload_offset, d.payload_len),
            (53, 5353, 28, 2)
        );
        u[5] = 200; // longer than the IP payload: clamped
        assert_eq!(dec(&ipv4(17, &u)).unwrap().payload_len, 6);
        u[5] = 4;
        assert_eq!(dec(&ipv4(17, &u)), Err(DecodeError::UdpHlenInvalid));
        assert_eq!(dec(&ipv4(17, &u[..7])), Err(DecodeError::UdpPktTooSmall));
    }

    #[test]
    fn icmp_sctp_and_others() {
        // Port unreachable quoting a UDP header: stays ICMP.
        let quoted = ipv4(17, &udp(1, 2, b""));
        let body = [&[3u8, 3, 0, 0, 0, 0, 0, 0][..], &quoted].concat();
        let d = dec(&ipv4(1, &body)).unwrap();
        assert_eq!(
            (d.proto, d.sport, d.dport, d.payload_len),
            (1, 3, 3, body.len() as u32 - 4)
        );
        assert_eq!(d.layers, layer::RAW | layer::IPV4 | layer::ICMPV4);
        assert_eq!(
            dec(&ipv4(1, &[8, 0, 0])),
            Err(DecodeError::Icmpv4PktTooSmall)
        );
        let d = dec(&ipv6(58, &[135, 0, 0, 0, 1, 2, 3, 4])).unwrap();
        assert_eq!((d.sport, d.dport, d.payload_len), (135, 0, 4));
        assert_eq!(dec(&ipv6(58, &[1])), Err(DecodeError::Icmpv6PktTooSmall));

        let mut s = vec![0x0b, 0x59, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0];
        s.extend([1, 0, 0, 4]);
        let d = dec(&ipv4(132, &s)).unwrap();
        assert_eq!((d.sport, d.dport, d.payload_len), (2905, 80, 4));
        assert_ne!(d.layers & layer::SCTP, 0);
        assert_eq!(dec(&ipv4(132, &s[..11])), Err(DecodeError::SctpPktTooSmall));

        for proto in [50u8, 89, 51, 103] {
            let d = dec(&ipv4(proto, &[9; 24])).unwrap();
            assert_eq!((d.proto, d.sport, d.dport), (proto, 0, 0));
            assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (20, 20, 24));
        }
    }

    #[test]
    fn decode_transport_on_reassembled_buffer() {
        let mut d = Decoded {
            ip_version: 4,
            proto: 17,
            ..Decoded::default()
        };
        let buf = udp(1000, 2000, &[7; 3000]);
        decode_transport(17, &buf, &mut d).unwrap();
        assert_eq!(
            (
                d.sport,
                d.dport,
                d.l4_offset,
                d.payload_offset,
                d.payload_len
            ),
            (1000, 2000, 0, 8, 3000)
        );
        assert_eq!((d.ip_version, d.layers), (4, 0));

        let buf = tcp(5, 6, b"xyz");
        decode_transport(6, &buf, &mut d).unwrap();
        assert_eq!(
            (d.proto, d.sport, d.tcp_seq, d.payload_len),
            (6, 5, 1000, 3)
        );
        assert_eq!(
            decode_transport(6, &buf[..10], &mut d),
            Err(DecodeError::TcpPktTooSmall)
        );

        // IPv6: destination options inside the fragmentable part.
        let mut d = Decoded {
            ip_version: 6,
            proto: 60,
            ..Decoded::default()
        };
        let buf = [&[17u8, 0, 0, 0, 0, 0, 0, 0][..], &udp(1, 2, b"ab")].concat();
        decode_transport(60, &buf, &mut d).unwrap();
        assert_eq!(
            (d.proto, d.l4_offset, d.payload_offset, d.payload_len),
            (17, 8, 16, 2)
        );
        assert_eq!(
            decode_transport(60, &buf[..4], &mut d),
            Err(DecodeError::Ipv6TruncExthdr)
        );
    }
}
