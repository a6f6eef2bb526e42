#!/usr/bin/env python3
"""Synthesise small, deterministic captures for what loopback cannot produce.

usage: scripts/synth-pcaps.py [OUTDIR]      (default: pcaps/synth next to scripts/)

Stdlib only (struct). Fixed timestamps and seeds: two runs give byte-identical
files. IPv4 header, TCP, UDP, ICMP and ICMPv6 checksums are computed (except
where a file is malformed on purpose). Writes OUTDIR/*.pcap and OUTDIR/README.md.
Addresses are documentation/private ranges; nothing is sent anywhere.
"""
import os
import random
import struct
import sys

# --------------------------------------------------------------------------- pcap
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


def pcap_header(linktype, snaplen=65535):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(ts_us, data, snaplen=65535, orig_len=None):
    orig = len(data) if orig_len is None else orig_len
    cap = data[:snaplen]
    return struct.pack("<IIII", T0 + ts_us // 1_000_000, ts_us % 1_000_000, len(cap), orig) + cap


def write_pcap(path, linktype, frames, snaplen=65535, step_us=1000):
    """frames: list of bytes (timestamps every step_us) or (ts_us, bytes)."""
    out = [pcap_header(linktype, snaplen)]
    for i, fr in enumerate(frames):
        if isinstance(fr, tuple):
            ts, data = fr
        else:
            ts, data = i * step_us, fr
        out.append(pcap_record(ts, data, snaplen))
    with open(path, "wb") as f:
        f.write(b"".join(out))


# --------------------------------------------------------------------------- checksums
def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed


# --------------------------------------------------------------------------- layers
def ether(payload, ethertype, src="02:00:00:00:00:01", dst="02:00:00:00:00:02", tags=()):
    """tags: sequence of (tpid, vid) outermost first."""
    mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
    hdr = mac(dst) + mac(src)
    for tpid, vid in tags:
        hdr += struct.pack("!HH", tpid, vid & 0xFFF)
    frame = hdr + struct.pack("!H", ethertype) + payload
    if len(frame) < 60:
        frame += b"\0" * (60 - len(frame))  # Ethernet minimum frame (no FCS)
    return frame


def ipv4(src, dst, proto, payload, ident=1, ttl=64, df=True, frag_off=0, mf=False,
         total_len=None, ihl=5, options=b"", fix_csum=True):
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_off // 8)
    hl = 20 + len(options)
    tl = hl + len(payload) if total_len is None else total_len
    h = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, tl, ident, flags, ttl, proto, 0,
                    ip4(src), ip4(dst)) + options
    if fix_csum:
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, hlim=64, plen=None):
    pl = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", 6 << 28, pl, nh, hlim, ip6(src), ip6(dst)) + payload


def pseudo(src, dst, proto, length, v6):
    if v6:
        return ip6(src) + ip6(dst) + struct.pack("!IxxxB", length, proto)
    return ip4(src) + ip4(dst) + struct.pack("!xBH", proto, length)


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", win=64240, v6=False,
        options=b"", doff=None):
    hl = 20 + len(options)
    off = (hl // 4) if doff is None else doff
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                    off << 4, flags, win, 0, 0) + options
    seg = h + payload
    c = csum(pseudo(src, dst, 6, len(seg), v6) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, payload, v6=False, length=None):
    ln = 8 + len(payload) if length is None else length
    seg = struct.pack("!HHHH", sport, dport, ln, 0) + payload
    c = csum(pseudo(src, dst, 17, len(seg), v6) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp4(typ, code, body):
    m = struct.pack("!BBHI", typ, code, 0, 0) + body
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp4_echo(typ, ident, seq, data):
    m = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def icmp6(src, dst, typ, code, body):
    m = struct.pack("!BBHI", typ, code, 0, 0) + body
    c = csum(pseudo(src, dst, 58, len(m), True) + m)
    return m[:2] + struct.pack("!H", c) + m[4:]


class L3:
    """An IPv4 or IPv6 'socket pair' helper producing layer-3 packets."""

    def __init__(self, v6=False, ext=()):
        self.v6 = v6
        self.ext = ext  # IPv6 extension headers: list of (type, bytes-after-nh-byte)
        self.ident = 0x1000

    def pkt(self, src, dst, proto, l4):
        if not self.v6:
            self.ident += 1
            return ipv4(src, dst, proto, l4, ident=self.ident)
        # chain extension headers (each: next-header byte + rest)
        chain = b""
        types = [t for t, _ in self.ext] + [proto]
        for i, (t, body) in enumerate(self.ext):
            chain += bytes([types[i + 1]]) + body
        first = types[0]
        return ipv6(src, dst, first, chain + l4)


def tcp_conversation(c, s, cport, sport, request, response, v6=False, ext=(), mss=1400,
                     isn_c=1000, isn_s=5000, close="fin"):
    """Client c:cport <-> server s:sport. Returns a list of L3 packets (bytes).
    Handshake, request, ACK, response segmented by mss (ACK every 2 segments),
    then FIN/ACK close from the client ('fin') or an RST from the client ('rst')."""
    l3 = L3(v6, ext)
    out = []
    cs, ss = isn_c, isn_s
    mss_opt = struct.pack("!BBH", 2, 4, mss)
    P = lambda src, dst, seg: out.append(l3.pkt(src, dst, 6, seg))
    P(c, s, tcp(c, s, cport, sport, cs, 0, TCP_SYN, v6=v6, options=mss_opt))
    P(s, c, tcp(s, c, sport, cport, ss, cs + 1, TCP_SYN | TCP_ACK, v6=v6, options=mss_opt))
    cs += 1
    ss += 1
    P(c, s, tcp(c, s, cport, sport, cs, ss, TCP_ACK, v6=v6))
    for i in range(0, len(request), mss):
        chunk = request[i:i + mss]
        P(c, s, tcp(c, s, cport, sport, cs, ss, TCP_ACK | TCP_PSH, chunk, v6=v6))
        cs += len(chunk)
    P(s, c, tcp(s, c, sport, cport, ss, cs, TCP_ACK, v6=v6))
    n = 0
    for i in range(0, len(response), mss):
        chunk = response[i:i + mss]
        P(s, c, tcp(s, c, sport, cport, ss, cs, TCP_ACK | TCP_PSH, chunk, v6=v6))
        ss += len(chunk)
        n += 1
        if n % 2 == 0:
            P(c, s, tcp(c, s, cport, sport, cs, ss, TCP_ACK, v6=v6))
    if n % 2:
        P(c, s, tcp(c, s, cport, sport, cs, ss, TCP_ACK, v6=v6))
    if close == "rst":
        P(c, s, tcp(c, s, cport, sport, cs, ss, TCP_RST | TCP_ACK, v6=v6, win=0))
        return out
    P(c, s, tcp(c, s, cport, sport, cs, ss, TCP_FIN | TCP_ACK, v6=v6))
    cs += 1
    P(s, c, tcp(s, c, sport, cport, ss, cs, TCP_FIN | TCP_ACK, v6=v6))
    ss += 1
    P(c, s, tcp(c, s, cport, sport, cs, ss, TCP_ACK, v6=v6))
    return out


def http_req(host, path="/index.html"):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: synth/1.0\r\nAccept: */*\r\n\r\n"
            % (path, host)).encode()


def http_resp(body):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
            % len(body)) + body


def ethertype_of(pkt):
    return 0x86DD if pkt[0] >> 4 == 6 else 0x0800


def src_of(pkt):
    return pkt[8:24] if pkt[0] >> 4 == 6 else pkt[12:16]


# --------------------------------------------------------------------------- files
def f_vlan_qinq(rnd):
    frames = []
    conv1 = tcp_conversation("10.10.1.1", "10.10.1.2", 40001, 80, http_req("vlan.test"),
                             http_resp(rnd.randbytes(1500)))
    for p in conv1:
        frames.append(ether(p, 0x0800, tags=[(0x8100, 100)]))
    conv2 = tcp_conversation("10.20.1.1", "10.20.1.2", 40002, 80, http_req("qinq.test"),
                             http_resp(rnd.randbytes(1500)), isn_c=7000, isn_s=9000)
    for p in conv2:
        frames.append(ether(p, 0x0800, tags=[(0x88A8, 200), (0x8100, 300)]))
    return LINKTYPE_ETHERNET, frames, ("802.1Q (TPID 0x8100, VID 100) TCP/HTTP flow 10.10.1.1:40001 -> "
                                       "10.10.1.2:80, then 802.1ad outer VID 200 (TPID 0x88a8) + 802.1Q inner "
                                       "VID 300 TCP/HTTP flow 10.20.1.1:40002 -> 10.20.1.2:80; each handshake, "
                                       "GET, 1500-byte body in 2 segments, FIN close (%d frames)")


def gre(proto, payload, key=None, seq=None, routing=False, csum_bit=False, version=0):
    flags = (0x8000 if csum_bit else 0) | (0x4000 if routing else 0) | \
            (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0) | version
    h = struct.pack("!HH", flags, proto)
    if csum_bit or routing:
        h += struct.pack("!HH", 0, 0)
    if key is not None:
        h += struct.pack("!I", key)
    if seq is not None:
        h += struct.pack("!I", seq)
    return h + payload


def erspan2(inner, session=7, vlan=0, index=0):
    # Ver=1 | VLAN(12) ; COS(3) En(2) T(1) SessionID(10) ; Reserved(12) Index(20)
    w1 = (1 << 12) | vlan
    w2 = (0 << 13) | (0 << 11) | (0 << 10) | session
    w3 = index & 0xFFFFF
    return struct.pack("!HHI", w1, w2, w3) + inner


def erspan3(inner, session=9, vlan=0, ts=0, hwid=1):
    # Ver=2 | VLAN ; COS BSO T SessionID ; Timestamp ; SGT(16) P FT(5) HWID(6) D Gra(2) O
    w1 = (2 << 12) | vlan
    w2 = session
    w4 = (0 << 16) | (0 << 15) | (0 << 10) | (hwid << 4) | (0 << 3) | (0 << 1) | 0
    return struct.pack("!HHII", w1, w2, ts, w4) + inner


def f_gre_erspan(rnd):
    frames = []
    outer = L3()
    # GRE v0 with key, carrying IPv4/TCP
    for p in tcp_conversation("10.30.0.1", "10.30.0.2", 40010, 80, http_req("gre.test"),
                              http_resp(rnd.randbytes(800))):
        frames.append(ether(outer.pkt("192.0.2.1", "192.0.2.2", 47, gre(0x0800, p, key=0x1234)), 0x0800))
    # ERSPAN type II: GRE with sequence number, proto 0x88BE, inner Ethernet
    for i, p in enumerate(tcp_conversation("10.40.0.1", "10.40.0.2", 40020, 21,
                                           b"USER alice\r\nPASS secret\r\n", b"230 Login successful.\r\n")):
        inner = ether(p, 0x0800, src="02:00:00:00:aa:01", dst="02:00:00:00:aa:02")
        frames.append(ether(outer.pkt("192.0.2.10", "192.0.2.20", 47,
                                      gre(0x88BE, erspan2(inner, session=7, index=i), seq=i + 1)), 0x0800))
    # ERSPAN type III: GRE with sequence number, proto 0x22EB, inner Ethernet
    for i, p in enumerate(tcp_conversation("10.50.0.1", "10.50.0.2", 40030, 443,
                                           rnd.randbytes(300), rnd.randbytes(600))):
        inner = ether(p, 0x0800, src="02:00:00:00:bb:01", dst="02:00:00:00:bb:02")
        frames.append(ether(outer.pkt("192.0.2.30", "192.0.2.40", 47,
                                      gre(0x22EB, erspan3(inner, session=9, ts=1000 * i), seq=i + 1)), 0x0800))
    return LINKTYPE_ETHERNET, frames, (
        "outer IPv4 192.0.2.x proto 47. (1) GRE v0 with key 0x1234 carrying IPv4 TCP 10.30.0.1:40010 -> "
        "10.30.0.2:80 (HTTP GET, 800-byte body); (2) ERSPAN type II (GRE S bit + seq, proto 0x88BE, "
        "session 7) carrying Ethernet/IPv4 TCP 10.40.0.1:40020 -> 10.40.0.2:21 (USER/PASS); (3) ERSPAN "
        "type III (GRE S bit + seq, proto 0x22EB, session 9, no optional subheader) carrying Ethernet/IPv4 "
        "TCP 10.50.0.1:40030 -> 10.50.0.2:443 (300 B / 600 B) (%d frames)")


def f_vxlan(rnd):
    frames = []
    outer = L3()
    vx = lambda inner: struct.pack("!BxxxI", 0x08, 42 << 8) + inner
    inner_pkts = []
    l3 = L3()
    for i in range(3):
        q = udp("10.60.0.1", "10.60.0.2", 50000 + i, 7000, b"query %d" % i)
        r = udp("10.60.0.2", "10.60.0.1", 7000, 50000 + i, b"answer %d" % i)
        inner_pkts.append(l3.pkt("10.60.0.1", "10.60.0.2", 17, q))
        inner_pkts.append(l3.pkt("10.60.0.2", "10.60.0.1", 17, r))
    inner_pkts += tcp_conversation("10.60.0.1", "10.60.0.2", 40040, 80, http_req("vxlan.test"),
                                   http_resp(rnd.randbytes(1000)))
    for p in inner_pkts:
        fwd = src_of(p) == ip4("10.60.0.1")
        inner = ether(p, 0x0800, src="02:00:00:00:cc:0%d" % (1 if fwd else 2),
                      dst="02:00:00:00:cc:0%d" % (2 if fwd else 1))
        a, b = ("198.51.100.1", "198.51.100.2") if fwd else ("198.51.100.2", "198.51.100.1")
        sport = 49152 + (hash_ports(p) % 16384)
        frames.append(ether(outer.pkt(a, b, 17, udp(a, b, sport, 4789, vx(inner))), 0x0800))
    return LINKTYPE_ETHERNET, frames, (
        "outer IPv4 198.51.100.1 <-> 198.51.100.2 UDP dport 4789, VXLAN VNI 42, inner Ethernet/IPv4: 3 UDP "
        "request/response pairs 10.60.0.1:50000-50002 -> 10.60.0.2:7000 and one TCP/HTTP flow "
        "10.60.0.1:40040 -> 10.60.0.2:80 (1000-byte body) (%d frames)")


def hash_ports(p):
    # deterministic outer source port from the inner ports (like a real VTEP)
    ihl = (p[0] & 15) * 4
    return sum(p[ihl:ihl + 4])


def conv_for_linktype(v6, base_port):
    if v6:
        return tcp_conversation("2001:db8::1", "2001:db8::2", base_port, 80, http_req("v6.test"),
                                http_resp(b"x" * 700), v6=True)
    return tcp_conversation("10.70.0.1", "10.70.0.2", base_port, 80, http_req("v4.test"),
                            http_resp(b"y" * 700))


def f_linktype_sll(rnd):
    frames = []
    for p in conv_for_linktype(False, 40050):
        outgoing = src_of(p) == ip4("10.70.0.1")
        hdr = struct.pack("!HHH8sH", 4 if outgoing else 0, 1, 6,
                          bytes.fromhex("020000000001" if outgoing else "020000000002") + b"\0\0", 0x0800)
        frames.append(hdr + p)
    return LINKTYPE_LINUX_SLL, frames, (
        "LINKTYPE_LINUX_SLL (113), cooked header v1 (packet type 4 outgoing / 0 to-us, ARPHRD_ETHER, "
        "protocol 0x0800): TCP/HTTP flow 10.70.0.1:40050 -> 10.70.0.2:80 (%d packets)")


def f_linktype_sll2(rnd):
    frames = []
    for p in conv_for_linktype(False, 40051):
        outgoing = src_of(p) == ip4("10.70.0.1")
        hdr = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 4 if outgoing else 0, 6,
                          bytes.fromhex("020000000001" if outgoing else "020000000002") + b"\0\0")
        frames.append(hdr + p)
    return LINKTYPE_LINUX_SLL2, frames, (
        "LINKTYPE_LINUX_SLL2 (276), cooked header v2 (protocol 0x0800, ifindex 2, ARPHRD_ETHER): TCP/HTTP "
        "flow 10.70.0.1:40051 -> 10.70.0.2:80 (%d packets)")


def f_linktype_null(rnd):
    frames = []
    for p in conv_for_linktype(False, 40052):
        frames.append(struct.pack("<I", 2) + p)
    for p in conv_for_linktype(True, 40053):
        frames.append(struct.pack("<I", 24) + p)
    return LINKTYPE_NULL, frames, (
        "LINKTYPE_NULL (0), 4-byte little-endian family: AF_INET=2 TCP/HTTP flow 10.70.0.1:40052 -> "
        "10.70.0.2:80, then AF_INET6=24 (BSD value) TCP/HTTP flow [2001:db8::1]:40053 -> [2001:db8::2]:80 "
        "(%d packets)")


def f_linktype_raw(rnd):
    frames = conv_for_linktype(False, 40054) + conv_for_linktype(True, 40055)
    return LINKTYPE_RAW, frames, (
        "LINKTYPE_RAW (101), packets start at the IP header: IPv4 TCP/HTTP flow 10.70.0.1:40054 -> "
        "10.70.0.2:80, then IPv6 TCP/HTTP flow [2001:db8::1]:40055 -> [2001:db8::2]:80 (%d packets)")


def hbh_or_dst(pad_to=8):
    # after the next-header byte: hdr ext len (0 => 8 bytes) + PadN option filling 6 bytes
    return bytes([0, 1, 4, 0, 0, 0, 0])


def f_ipv6_ext(rnd):
    ext = [(0, hbh_or_dst()), (60, hbh_or_dst())]  # hop-by-hop, then destination options
    frames = []
    for p in tcp_conversation("2001:db8:1::1", "2001:db8:1::2", 40060, 80, http_req("ext.test"),
                              http_resp(rnd.randbytes(1200)), v6=True, ext=ext, mss=1380):
        frames.append(ether(p, 0x86DD))
    l3 = L3(True, ext)
    for i in range(2):
        frames.append(ether(l3.pkt("2001:db8:1::1", "2001:db8:1::2", 17,
                                   udp("2001:db8:1::1", "2001:db8:1::2", 50060, 7000, b"ping %d" % i, v6=True)),
                            0x86DD))
        frames.append(ether(l3.pkt("2001:db8:1::2", "2001:db8:1::1", 17,
                                   udp("2001:db8:1::2", "2001:db8:1::1", 7000, 50060, b"pong %d" % i, v6=True)),
                            0x86DD))
    return LINKTYPE_ETHERNET, frames, (
        "Ethernet/IPv6 where every packet carries a Hop-by-Hop Options header (PadN) then a Destination "
        "Options header (PadN) before the transport header: TCP/HTTP flow [2001:db8:1::1]:40060 -> "
        "[2001:db8:1::2]:80 (1200-byte body) and 2 UDP exchanges [2001:db8:1::1]:50060 <-> [2001:db8:1::2]:7000 (%d frames)")


def f_frag_v4(rnd):
    src, dst = "10.80.0.1", "10.80.0.2"
    data = rnd.randbytes(3000)
    dgram = udp(src, dst, 50080, 9999, data)  # 3008 bytes, checksum over the whole datagram
    ident = 0x4242
    pieces = []
    off = 0
    while off < len(dgram):
        chunk = dgram[off:off + 1480]
        mf = off + len(chunk) < len(dgram)
        pieces.append(ipv4(src, dst, 17, chunk, ident=ident, df=False, frag_off=off, mf=mf))
        off += len(chunk)
    order = [1, 2, 0]  # out of order: middle, last, first
    frames = [ether(pieces[i], 0x0800) for i in order]
    reply = udp(dst, src, 9999, 50080, b"got 3000 bytes")
    frames.append(ether(ipv4(dst, src, 17, reply, ident=0x4243), 0x0800))
    return LINKTYPE_ETHERNET, frames, (
        "IPv4 UDP datagram 10.80.0.1:50080 -> 10.80.0.2:9999 with 3000 bytes of payload split into 3 "
        "fragments (offsets 0/1480/2960, IP id 0x4242) sent in the order 2nd, 3rd, 1st, then an "
        "unfragmented 14-byte UDP reply (%d frames)")


def f_frag_v6(rnd):
    src, dst = "2001:db8:2::1", "2001:db8:2::2"
    data = rnd.randbytes(3000)
    dgram = udp(src, dst, 50081, 9999, data, v6=True)
    ident = 0x01020304
    pieces = []
    off = 0
    while off < len(dgram):
        chunk = dgram[off:off + 1448]
        mf = off + len(chunk) < len(dgram)
        fh = struct.pack("!BBHI", 17, 0, (off // 8) << 3 | (1 if mf else 0), ident)
        pieces.append(ipv6(src, dst, 44, fh + chunk))
        off += len(chunk)
    order = [1, 2, 0]
    frames = [ether(pieces[i], 0x86DD) for i in order]
    reply = udp(dst, src, 9999, 50081, b"got 3000 bytes", v6=True)
    frames.append(ether(ipv6(dst, src, 17, reply), 0x86DD))
    return LINKTYPE_ETHERNET, frames, (
        "IPv6 UDP datagram [2001:db8:2::1]:50081 -> [2001:db8:2::2]:9999 with 3000 bytes of payload split "
        "into 3 fragments (Fragment header, offsets 0/1448/2896, id 0x01020304) sent in the order 2nd, "
        "3rd, 1st, then an unfragmented UDP reply (%d frames)")


def f_snaplen(rnd):
    conv = tcp_conversation("10.90.0.1", "10.90.0.2", 40090, 80, http_req("snap.test"),
                            http_resp(rnd.randbytes(4000)), mss=1448)
    return LINKTYPE_ETHERNET, [ether(p, 0x0800) for p in conv], (
        "pcap snaplen 96: TCP/HTTP flow 10.90.0.1:40090 -> 10.90.0.2:80 with a 4000-byte body in 1448-byte "
        "segments (no TCP options); the GET (135 B) and the response segments (up to 1502 B) have caplen 96 < "
        "orig len, the 60-byte control packets are complete (%d frames)")


def f_icmp_error(rnd):
    frames = []
    probe = ipv4("10.100.0.1", "10.100.0.2", 17, udp("10.100.0.1", "10.100.0.2", 50100, 33434, b"are you there?"),
                 ident=0x5151)
    frames.append(ether(probe, 0x0800))
    err = ipv4("10.100.0.2", "10.100.0.1", 1, icmp4(3, 3, probe), ident=0x6161)
    frames.append(ether(err, 0x0800))
    probe6 = ipv6("2001:db8:3::1", "2001:db8:3::2", 17,
                  udp("2001:db8:3::1", "2001:db8:3::2", 50101, 33435, b"are you there?", v6=True))
    frames.append(ether(probe6, 0x86DD))
    err6 = ipv6("2001:db8:3::2", "2001:db8:3::1", 58, icmp6("2001:db8:3::2", "2001:db8:3::1", 1, 4, probe6))
    frames.append(ether(err6, 0x86DD))
    return LINKTYPE_ETHERNET, frames, (
        "UDP 10.100.0.1:50100 -> 10.100.0.2:33434 and the ICMP type 3 code 3 (port unreachable) that quotes "
        "it in full; then the IPv6 equivalent: UDP [2001:db8:3::1]:50101 -> [2001:db8:3::2]:33435 and "
        "ICMPv6 type 1 code 4 quoting it (%d frames)")


def valid_small_conv():
    return [ether(p, 0x0800) for p in tcp_conversation("10.110.0.1", "10.110.0.2", 40110, 80,
                                                        http_req("ok.test"), http_resp(b"z" * 300))]


def f_malformed(rnd):
    frames = []
    descr = []
    good = valid_small_conv()
    frames += good[:3]
    descr.append("3 valid frames (TCP handshake 10.110.0.1:40110 -> 10.110.0.2:80)")
    s, d = "10.120.0.1", "10.120.0.2"
    t = tcp(s, d, 40120, 80, 1, 0, TCP_SYN)
    # 1. IPv4 IHL 3 (< 5)
    frames.append(ether(ipv4(s, d, 6, t, ihl=3), 0x0800))
    descr.append("IPv4 with IHL 3")
    # 2. TCP data offset 2 (< 5)
    frames.append(ether(ipv4(s, d, 6, tcp(s, d, 40121, 80, 1, 0, TCP_SYN, doff=2)), 0x0800))
    descr.append("TCP with data offset 2")
    # 3. IPv6 with a hop-by-hop header claiming 40 bytes, frame ends after 8
    hbh = bytes([6, 4]) + b"\x01\x04\0\0\0\0"  # nh=TCP, hdr ext len 4 => 40 bytes
    frames.append(ether(ipv6("2001:db8:4::1", "2001:db8:4::2", 0, hbh, plen=40), 0x86DD))
    descr.append("IPv6 whose Hop-by-Hop header (length 40) is cut after 8 bytes (payload length says 40)")
    # 4. UDP length field 4 (< 8)
    frames.append(ether(ipv4(s, d, 17, udp(s, d, 50120, 53, b"abcdefgh", length=4)), 0x0800))
    descr.append("UDP with length field 4")
    # 5. GRE v0 with the routing bit set (deprecated, RFC 1701 source routing)
    inner = ipv4("10.130.0.1", "10.130.0.2", 6, tcp("10.130.0.1", "10.130.0.2", 40130, 80, 1, 0, TCP_SYN))
    frames.append(ether(ipv4("192.0.2.50", "192.0.2.51", 47, gre(0x0800, inner, routing=True)), 0x0800))
    descr.append("GRE v0 with the routing (R) bit set")
    # 6. 5 nested IP-in-IP (proto 4) headers around a TCP SYN
    p = ipv4("10.140.0.1", "10.140.0.2", 6, tcp("10.140.0.1", "10.140.0.2", 40140, 80, 1, 0, TCP_SYN))
    for k in range(5):
        p = ipv4("192.0.2.%d" % (60 + k), "192.0.2.%d" % (70 + k), 4, p)
    frames.append(ether(p, 0x0800))
    descr.append("5 nested IPv4-in-IPv4 headers (proto 4) around a TCP SYN")
    # 7. IPv4 total length larger than the frame
    frames.append(ether(ipv4(s, d, 6, t, total_len=1500), 0x0800))
    descr.append("IPv4 total length 1500 in a 60-byte frame")
    # 8. frame shorter than an Ethernet header
    frames.append(b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00")
    descr.append("10-byte frame (shorter than an Ethernet header)")
    # 9. Ethernet + IPv4 ethertype + 10 bytes only
    frames.append(bytes.fromhex("020000000002020000000001") + b"\x08\x00" + b"\x45\x00\x00\x28" + b"\0" * 6)
    descr.append("IPv4 ethertype followed by a 10-byte (truncated) IPv4 header")
    # 10-12. random bytes (seeded)
    for n in (64, 333, 1514):
        frames.append(rnd.randbytes(n))
    descr.append("3 frames of random bytes (64, 333, 1514 bytes)")
    # 13. random bytes behind a valid Ethernet/IPv4 ethertype
    frames.append(bytes.fromhex("020000000002020000000001") + b"\x08\x00" + rnd.randbytes(100))
    descr.append("Ethernet/IPv4 ethertype followed by 100 random bytes")
    frames += good[3:]
    descr.append("the rest of the valid flow (request, response, FIN close)")
    return LINKTYPE_ETHERNET, frames, "valid pcap records whose contents are malformed, in this order: " + \
        "; ".join(descr) + " (%d frames)"


FILES = [
    ("vlan-qinq.pcap", f_vlan_qinq),
    ("gre-erspan.pcap", f_gre_erspan),
    ("vxlan.pcap", f_vxlan),
    ("linktypes-sll.pcap", f_linktype_sll),
    ("linktypes-sll2.pcap", f_linktype_sll2),
    ("linktypes-null.pcap", f_linktype_null),
    ("linktypes-raw.pcap", f_linktype_raw),
    ("ipv6-ext.pcap", f_ipv6_ext),
    ("frag-v4.pcap", f_frag_v4),
    ("frag-v6.pcap", f_frag_v6),
    ("snaplen-96.pcap", f_snaplen),
    ("icmp-error.pcap", f_icmp_error),
    ("malformed-packets.pcap", f_malformed),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "pcaps", "synth")
    outdir = os.path.normpath(outdir)
    os.makedirs(outdir, exist_ok=True)
    readme = []
    for i, (name, fn) in enumerate(FILES):
        rnd = random.Random(1000 + i)
        linktype, frames, text = fn(rnd)
        snaplen = 96 if name == "snaplen-96.pcap" else 65535
        write_pcap(os.path.join(outdir, name), linktype, frames, snaplen=snaplen)
        readme.append((name, text % len(frames)))

    # corrupt files: built from a valid capture
    good = valid_small_conv()
    blob = pcap_header(LINKTYPE_ETHERNET) + b"".join(pcap_record(i * 1000, f) for i, f in enumerate(good))
    # cut in the middle of the packet data of the first big record (the HTTP response)
    k = next(i for i, f in enumerate(good) if len(f) > 200)
    cut = len(pcap_header(LINKTYPE_ETHERNET))
    for f in good[:k]:
        cut += 16 + len(f)
    cut += 16 + len(good[k]) // 2
    with open(os.path.join(outdir, "corrupt-truncated.pcap"), "wb") as f:
        f.write(blob[:cut])
    readme.append(("corrupt-truncated.pcap",
                   "valid pcap (TCP/HTTP flow 10.110.0.1:40110 -> 10.110.0.2:80) cut in the middle of record "
                   "%d's packet data (the HTTP response): %d complete records, then a record header whose caplen "
                   "(%d) runs past end of file (%d bytes)" % (k + 1, k, len(good[k]), cut)))
    rnd = random.Random(99)
    bad = pcap_header(LINKTYPE_ETHERNET) + struct.pack("<IIII", T0, 0, 0xFFFFFF00, 0xFFFFFF00) + rnd.randbytes(200)
    with open(os.path.join(outdir, "corrupt-header.pcap"), "wb") as f:
        f.write(bad)
    readme.append(("corrupt-header.pcap",
                   "valid 24-byte global header (EN10MB, snaplen 65535) immediately followed by a record header "
                   "claiming caplen = orig len = 0xFFFFFF00 and 200 random bytes; no valid packet (%d bytes)"
                   % len(bad)))

    with open(os.path.join(outdir, "README.md"), "w") as f:
        f.write("# Synthesised captures\n\n"
                "Made by `scripts/synth-pcaps.py` (stdlib only, fixed timestamps from 2023-11-14T22:13:20Z "
                "and fixed seeds: re-running gives byte-identical files). Classic pcap, microsecond "
                "timestamps, little-endian. IPv4/TCP/UDP/ICMP/ICMPv6 checksums are correct except where a "
                "file is malformed on purpose. Ethernet MACs are 02:00:00:00:00:01 (client side) / :02.\n\n"
                "| file | contents |\n| --- | --- |\n")
        for name, text in readme:
            f.write("| `%s` | %s |\n" % (name, text))
    for name, _ in readme:
        p = os.path.join(outdir, name)
        print("%-26s %7d bytes" % (name, os.path.getsize(p)))


if __name__ == "__main__":
    main()
