//! Hand-built frames for the decoder tests (checksums are not filled: the decoder ignores them).

pub const SRC4: [u8; 4] = [10, 0, 0, 1];
pub const DST4: [u8; 4] = [10, 0, 0, 2];
pub const SRC6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub const DST6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

pub fn eth(et: u16, payload: &[u8]) -> Vec<u8> {
    eth_vlan(&[], et, payload)
}

/// Ethernet with one tag per entry of `tpids` (VLAN ids 100, 101, ...).
pub fn eth_vlan(tpids: &[u16], et: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    for (i, tpid) in tpids.iter().enumerate() {
        f.extend(tpid.to_be_bytes());
        f.extend((100 + i as u16).to_be_bytes());
    }
    f.extend(et.to_be_bytes());
    f.extend(payload);
    f
}

pub fn ipv4_with(
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    id: u16,
    frag: u16,
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend(total.to_be_bytes());
    p.extend(id.to_be_bytes());
    p.extend(frag.to_be_bytes());
    p.extend([64, proto, 0, 0]);
    p.extend(src);
    p.extend(dst);
    p.extend(payload);
    p
}

pub fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(proto, SRC4, DST4, 1, 0, payload)
}

pub fn ipv4_frag(proto: u8, id: u16, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
    ipv4_with(
        proto,
        SRC4,
        DST4,
        id,
        (offset / 8) | if more { 0x2000 } else { 0 },
        data,
    )
}

pub fn ipv6_with(nh: u8, src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend((payload.len() as u16).to_be_bytes());
    p.extend([nh, 64]);
    p.extend(src);
    p.extend(dst);
    p.extend(payload);
    p
}

pub fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
    ipv6_with(nh, SRC6, DST6, payload)
}

/// IPv6 with a chain of extension headers given as (type, total length in bytes).
pub fn ipv6_ext(exts: &[(u8, usize)], nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, &(_, len)) in exts.iter().enumerate() {
        let next = exts.get(i + 1).map_or(nh, |e| e.0);
        let units = if exts[i].0 == 51 {
            len / 4 - 2
        } else {
            len / 8 - 1
        };
        body.extend([next, units as u8]);
        body.resize(body.len() + len - 2, 0);
    }
    body.extend(payload);
    ipv6(exts.first().map_or(nh, |e| e.0), &body)
}

pub fn frag_hdr(nh: u8, id: u32, offset: u16, more: bool) -> Vec<u8> {
    let mut h = vec![nh, 0];
    h.extend((offset | u16::from(more)).to_be_bytes());
    h.extend(id.to_be_bytes());
    h
}

pub fn ipv6_frag(nh: u8, id: u32, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
    ipv6(44, &[&frag_hdr(nh, id, offset, more), data].concat())
}

/// TCP with flags PSH|ACK, seq 1000, ack 2000.
pub fn tcp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend(sport.to_be_bytes());
    t.extend(dport.to_be_bytes());
    t.extend(1000u32.to_be_bytes());
    t.extend(2000u32.to_be_bytes());
    t.extend([0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend(payload);
    t
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend(sport.to_be_bytes());
    u.extend(dport.to_be_bytes());
    u.extend((8 + payload.len() as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend(payload);
    u
}

pub fn gre(flags: u16, proto: u16, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    [
        &flags.to_be_bytes()[..],
        &proto.to_be_bytes(),
        opts,
        payload,
    ]
    .concat()
}

/// ERSPAN type II header (version 1, VLAN 5, session 7).
pub fn erspan2() -> Vec<u8> {
    vec![0x10, 0x05, 0x00, 0x07, 0, 0, 0, 0]
}

/// ERSPAN type III header (version 2), with the optional 8-byte platform subheader.
pub fn erspan3(subheader: bool) -> Vec<u8> {
    let mut h = vec![
        0x20,
        0x05,
        0x00,
        0x07,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        u8::from(subheader),
    ];
    if subheader {
        h.extend([0xAB; 8]);
    }
    h
}

pub fn vxlan_hdr(vni: u32) -> Vec<u8> {
    let v = vni.to_be_bytes();
    vec![0x08, 0, 0, 0, v[1], v[2], v[3], 0]
}

pub fn sll(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    h.extend(proto.to_be_bytes());
    h.extend(payload);
    h
}

pub fn sll2(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = proto.to_be_bytes().to_vec();
    h.extend([0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
    h.extend(payload);
    h
}

/// NFLOG TLV: little-endian length (including the 4-byte header) and type, value padded to 4 bytes.
pub fn tlv(ty: u16, value: &[u8]) -> Vec<u8> {
    let mut t = ((4 + value.len()) as u16).to_le_bytes().to_vec();
    t.extend(ty.to_le_bytes());
    t.extend(value);
    t.resize(t.len().next_multiple_of(4), 0);
    t
}
