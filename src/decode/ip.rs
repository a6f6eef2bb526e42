//! IPv4 and IPv6 headers, IPv6 extension-header walking and fragment detection.

use super::wire::arr;
use super::{addr_from_v4, layer, off32, transport, DecodeError, Decoded, Fragment, Next};

const IPPROTO_FRAGMENT: u8 = 44;
const IPPROTO_AH: u8 = 51;

/// IPv4 header at `at`; `b` ends where the enclosing layer ends.
///
/// A total length beyond the captured bytes is accepted and clamped: it means the
/// capture's snap length cut the packet, and the headers are still worth having.
pub(super) fn ipv4(b: &[u8], at: usize, d: &mut Decoded) -> Result<Next, DecodeError> {
    let h = arr::<20>(b, at).ok_or(DecodeError::Ipv4PktTooSmall)?;
    if h[0] >> 4 != 4 {
        return Err(DecodeError::Ipv4WrongIpVersion);
    }
    let hlen = usize::from(h[0] & 0x0f) * 4;
    if hlen < 20 {
        return Err(DecodeError::Ipv4HlenTooSmall);
    }
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if total < hlen {
        return Err(DecodeError::Ipv4IplenSmallerThanHlen);
    }
    let l4 = at + hlen;
    if l4 > b.len() {
        return Err(DecodeError::Ipv4TruncPkt);
    }
    let end = at.saturating_add(total).min(b.len());
    d.layers |= layer::IPV4;
    d.ip_version = 4;
    d.src = addr_from_v4([h[12], h[13], h[14], h[15]]);
    d.dst = addr_from_v4([h[16], h[17], h[18], h[19]]);
    d.proto = h[9];
    d.ip_offset = off32(at);
    let frag = u16::from_be_bytes([h[6], h[7]]);
    let more = frag & 0x2000 != 0;
    let offset = u32::from(frag & 0x1fff) * 8;
    if more || offset != 0 {
        let id = u32::from(u16::from_be_bytes([h[4], h[5]]));
        return Ok(fragment(b, l4, end, Fragment { id, offset, more }, d));
    }
    Ok(Next::IpPayload {
        proto: h[9],
        at: l4,
        end,
    })
}

/// IPv6 header at `at` and its extension headers.
///
/// Payload length 0 (jumbogram, or a TSO/GSO capture) means "rest of the captured
/// bytes". The extension-header walk stops at the first header that is not one.
pub(super) fn ipv6(b: &[u8], at: usize, d: &mut Decoded) -> Result<Next, DecodeError> {
    let h = arr::<40>(b, at).ok_or(DecodeError::Ipv6PktTooSmall)?;
    if h[0] >> 4 != 6 {
        return Err(DecodeError::Ipv6WrongIpVersion);
    }
    let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let mut cur = at + 40;
    let declared = if plen == 0 { b.len() } else { cur + plen };
    let end = declared.min(b.len());
    d.layers |= layer::IPV6;
    d.ip_version = 6;
    d.src = arr::<16>(&h, 8).unwrap_or_default();
    d.dst = arr::<16>(&h, 24).unwrap_or_default();
    d.ip_offset = off32(at);
    let mut nh = h[6];
    loop {
        if let Some(rule) = ext_len_rule(nh) {
            let [next, l] = arr::<2>(b, cur).ok_or(DecodeError::Ipv6TruncExthdr)?;
            cur += rule(l);
            if cur > b.len() {
                return Err(DecodeError::Ipv6TruncExthdr);
            }
            if cur > declared {
                return Err(DecodeError::Ipv6TruncPkt);
            }
            nh = next;
            continue;
        }
        if nh == IPPROTO_FRAGMENT {
            let f = arr::<8>(b, cur).ok_or(DecodeError::Ipv6TruncExthdr)?;
            cur += 8;
            if cur > declared {
                return Err(DecodeError::Ipv6TruncPkt);
            }
            d.layers |= layer::FRAGMENT;
            nh = f[0];
            let fo = u16::from_be_bytes([f[2], f[3]]);
            let frag = Fragment {
                id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                offset: u32::from(fo >> 3) * 8,
                more: fo & 1 != 0,
            };
            // An atomic fragment (offset 0, no more) is a whole packet (RFC 6946): keep walking.
            if frag.offset != 0 || frag.more {
                d.proto = nh;
                return Ok(fragment(b, cur, end, frag, d));
            }
            continue;
        }
        d.proto = nh;
        return Ok(Next::IpPayload {
            proto: nh,
            at: cur,
            end,
        });
    }
}

/// Skip the IPv6 extension headers at the start of a reassembled fragmentable
/// part (e.g. destination options), returning the upper-layer protocol and its offset.
pub(super) fn skip_ipv6_ext(mut nh: u8, b: &[u8]) -> Result<(u8, usize), DecodeError> {
    let mut cur = 0usize;
    while let Some(rule) = ext_len_rule(nh) {
        let [next, l] = arr::<2>(b, cur).ok_or(DecodeError::Ipv6TruncExthdr)?;
        cur += rule(l);
        if cur > b.len() {
            return Err(DecodeError::Ipv6TruncExthdr);
        }
        nh = next;
    }
    Ok((nh, cur))
}

/// Length rule of the extension headers walked generically ("next header" +
/// "hdr ext len"): AH counts 4-byte units minus 2, the others 8-byte units minus 1.
fn ext_len_rule(nh: u8) -> Option<fn(u8) -> usize> {
    match nh {
        0 | 43 | 60 | 135 | 139 | 140 => Some(|l| (usize::from(l) + 1) * 8),
        IPPROTO_AH => Some(|l| (usize::from(l) + 2) * 4),
        _ => None,
    }
}

/// Record a fragment. Its data is described by `l4_offset`/`payload_*` so the
/// defragmenter can copy it; the transport fields are filled best-effort for the
/// first fragment only (a too-short first fragment is still a fragment to reassemble).
fn fragment(b: &[u8], at: usize, end: usize, frag: Fragment, d: &mut Decoded) -> Next {
    d.layers |= layer::FRAGMENT;
    d.fragment = Some(frag);
    let data = b.get(..end).unwrap_or(b);
    if frag.offset == 0 {
        if let Ok(bit) = transport::transport(d.proto, data, at, d) {
            d.layers |= bit;
        }
    }
    d.l4_offset = off32(at);
    d.payload_offset = off32(at);
    d.payload_len = off32(end.saturating_sub(at));
    Next::Done
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{decode, layer, DecodeError, Decoded, Fragment, LinkType};

    fn dec(f: &[u8]) -> Result<Decoded, DecodeError> {
        let mut d = Decoded::default();
        decode(LinkType::Raw, f, &mut d).map(|()| d)
    }

    #[test]
    fn ipv4_header_checks() {
        let mut p = ipv4(17, &udp(1, 2, b"abcdefgh"));
        p[0] = 0x43;
        assert_eq!(dec(&p), Err(DecodeError::Ipv4HlenTooSmall));
        p[0] = 0x46; // options claimed but the "options" are the UDP header
        assert_eq!(dec(&p).unwrap().l4_offset, 24);
        p[0] = 0x4f; // 60-byte header, total length says 60, only 36 captured
        p[2..4].copy_from_slice(&60u16.to_be_bytes());
        assert_eq!(dec(&p), Err(DecodeError::Ipv4TruncPkt));
        let mut p = ipv4(17, &udp(1, 2, b"abc"));
        p[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(dec(&p), Err(DecodeError::Ipv4IplenSmallerThanHlen));
        assert_eq!(dec(&p[..19]), Err(DecodeError::Ipv4PktTooSmall));
        let mut d = Decoded::default();
        assert_eq!(
            decode(LinkType::Ipv4, &[0x65; 20], &mut d),
            Err(DecodeError::Ipv4WrongIpVersion)
        );
    }

    #[test]
    fn ipv4_snaplen_truncation_is_clamped() {
        let p = ipv4(6, &tcp(1, 2, &[7; 1000]));
        let d = dec(&p[..96]).unwrap();
        assert_eq!((d.sport, d.payload_offset, d.payload_len), (1, 40, 56));
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let mut p = ipv4(6, &[&[1u8, 1, 1, 0][..], &tcp(3, 4, b"z")].concat());
        p[0] = 0x46;
        let d = dec(&p).unwrap();
        assert_eq!((d.l4_offset, d.sport, d.payload_len), (24, 3, 1));
    }

    #[test]
    fn ipv4_fragments() {
        let first = ipv4_frag(6, 0xBEEF, 0, true, &tcp(80, 8080, &[1; 12]));
        let d = dec(&first).unwrap();
        assert_eq!(
            d.fragment,
            Some(Fragment {
                id: 0xBEEF,
                offset: 0,
                more: true
            })
        );
        assert_eq!((d.proto, d.sport, d.dport, d.tcp_seq), (6, 80, 8080, 1000));
        // Fragment data, not TCP payload: what the defragmenter needs.
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (20, 20, 32));
        assert_eq!(
            d.layers,
            layer::RAW | layer::IPV4 | layer::FRAGMENT | layer::TCP
        );

        let d = dec(&ipv4_frag(6, 1, 1480, false, &[2; 20])).unwrap();
        assert_eq!(
            d.fragment,
            Some(Fragment {
                id: 1,
                offset: 1480,
                more: false
            })
        );
        assert_eq!((d.sport, d.dport, d.tcp_flags), (0, 0, 0));
        assert_eq!((d.l4_offset, d.payload_len), (20, 20));
        assert_eq!(d.layers & layer::TCP, 0);

        // A first fragment too short for its TCP header is still a fragment.
        let d = dec(&ipv4_frag(6, 2, 0, true, &[0; 8])).unwrap();
        assert_eq!(
            (d.sport, d.payload_len, d.fragment.unwrap().more),
            (0, 8, true)
        );
    }

    #[test]
    fn ipv6_extension_headers() {
        let t = tcp(443, 50000, b"hello");
        let d = dec(&ipv6_ext(
            &[
                (0, 8),
                (60, 16),
                (43, 24),
                (51, 12),
                (135, 8),
                (139, 8),
                (140, 8),
            ],
            6,
            &t,
        ))
        .unwrap();
        let hdrs = 8 + 16 + 24 + 12 + 8 + 8 + 8;
        assert_eq!(
            (d.ip_version, d.proto, d.sport, d.dport),
            (6, 6, 443, 50000)
        );
        assert_eq!((d.src, d.dst), (SRC6, DST6));
        assert_eq!((d.l4_offset, d.payload_len), (40 + hdrs, 5));
        assert_eq!(d.layers, layer::RAW | layer::IPV6 | layer::TCP);

        let d = dec(&ipv6_ext(&[(60, 8)], 59, b"ignored")).unwrap();
        assert_eq!(
            (d.proto, d.l4_offset, d.payload_offset, d.payload_len),
            (59, 48, 48, 0)
        );
        let d = dec(&ipv6_ext(&[(51, 16)], 50, &[0; 20])).unwrap();
        assert_eq!((d.proto, d.l4_offset, d.payload_len), (50, 56, 20));
    }

    #[test]
    fn ipv6_truncation() {
        let p = ipv6_ext(&[(0, 8), (60, 32)], 17, &udp(1, 2, b""));
        assert_eq!(dec(&p[..40 + 8 + 16]), Err(DecodeError::Ipv6TruncExthdr));
        assert_eq!(dec(&p[..40 + 8 + 1]), Err(DecodeError::Ipv6TruncExthdr));
        // Payload length shorter than the extension headers, bytes present (padding).
        let mut short = p.clone();
        short[4..6].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(dec(&short), Err(DecodeError::Ipv6TruncPkt));
        let f = ipv6_frag(17, 1, 8, true, &[0; 8]);
        assert_eq!(dec(&f[..44]), Err(DecodeError::Ipv6TruncExthdr));
        let mut f2 = f.clone();
        f2[4..6].copy_from_slice(&4u16.to_be_bytes());
        assert_eq!(dec(&f2), Err(DecodeError::Ipv6TruncPkt));
    }

    #[test]
    fn ipv6_payload_length_zero_means_rest_of_capture() {
        let mut p = ipv6_ext(&[(0, 8)], 17, &udp(1, 2, &[5; 100]));
        p[4..6].copy_from_slice(&0u16.to_be_bytes());
        let d = dec(&p).unwrap();
        assert_eq!((d.sport, d.payload_len), (1, 100));
    }

    #[test]
    fn ipv6_fragments() {
        let first = ipv6_ext(
            &[(0, 8)],
            44,
            &[
                &frag_hdr(17, 0xA1B2C3D4, 0, true),
                &udp(53, 53, &[0; 16])[..],
            ]
            .concat(),
        );
        let d = dec(&first).unwrap();
        assert_eq!(
            d.fragment,
            Some(Fragment {
                id: 0xA1B2C3D4,
                offset: 0,
                more: true
            })
        );
        assert_eq!((d.proto, d.sport, d.dport), (17, 53, 53));
        assert_eq!((d.l4_offset, d.payload_offset, d.payload_len), (56, 56, 24));
        assert_ne!(d.layers & layer::FRAGMENT, 0);

        let d = dec(&ipv6_frag(17, 7, 1232, false, &[0; 10])).unwrap();
        assert_eq!(
            d.fragment,
            Some(Fragment {
                id: 7,
                offset: 1232,
                more: false
            })
        );
        assert_eq!(
            (d.proto, d.sport, d.l4_offset, d.payload_len),
            (17, 0, 48, 10)
        );

        // Destination options inside the fragmentable part: proto is the fragment
        // header's next header so every fragment of the datagram shares one key.
        let d = dec(&ipv6_frag(
            60,
            8,
            0,
            true,
            &[17, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2],
        ))
        .unwrap();
        assert_eq!((d.proto, d.sport), (60, 0));

        // Atomic fragment: a whole packet.
        let d = dec(&ipv6_frag(6, 9, 0, false, &tcp(1, 2, b"x"))).unwrap();
        assert_eq!((d.fragment, d.sport, d.payload_len), (None, 1, 1));
        assert_ne!(d.layers & layer::FRAGMENT, 0);
    }
}
