#!/usr/bin/env python3
"""Generate a large, deterministic benchmark pcap (stdlib only).

usage:
  scripts/gen-bench-pcap.py OUT [--size-mb 1100] [--flows 150000] [--pool 2000] [--seed 1]
  scripts/gen-bench-pcap.py OUT --concurrent N [--seed 1]

Mixed mode (default): Ethernet/IPv4 (~10% IPv6, ~10% 802.1Q-tagged) TCP and UDP;
about --flows distinct flows (the generator keeps creating flows until the file
reaches --size-mb; flows still open at that point are cut off). A pool of --pool
concurrently active flows is interleaved in time, timestamps advance 10 us per packet.
Flow kinds: DNS over UDP 53 (query + response), HTTP GET and POST upload (port 80,
real request/response headers), TLS-like port 443 exchanges (random bytes), FTP
control sessions (USER/PASS/TYPE/PASV/STOR/QUIT lines) each with its passive data
connection carrying the upload, generic UDP streams, and a few bulk TCP flows of
thousands of 1448-byte segments. TCP flows have SYN / SYN-ACK / ACK, data both ways
with an ACK every second segment, and a FIN close (~5% end with RST). Payload bytes
other than the protocol headers are slices of a pre-generated random buffer.
IPv4 header and TCP/UDP checksums are correct.

--concurrent N: N distinct TCP flows, each a single SYN packet (IPv4, one server,
clients 10.x.y.z), 1 us apart: for the many-concurrent-flows memory test.

Writes OUT and OUT.meta.json (packets, bytes, flows, size histogram, arguments).
Same arguments -> byte-identical output.
"""
import argparse
import itertools
import json
import os
import random
import struct
import sys
import time

T0 = 1_700_000_000
PCAP_HDR = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
REC = struct.Struct("<IIII")
VERSION = 1
P_BULK = 0.001      # fraction of new flows that are bulk flows
BULK_SHARE = 0.45   # fraction of the file's bytes meant for bulk flows (initially)
BULK_MIN_SEGS = 700  # a bulk flow has at least ~1000 packets

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
MSS4, MSS6 = 1448, 1428  # with the 12-byte timestamp option, 1514-byte frames

CMAC = bytes.fromhex("001b21aa0001")  # "client side" station
SMAC = bytes.fromhex("00005e000101")  # router

# constant TCP option bytes and their 16-bit word sums
TAIL_TS = b"\x00\x00\x01\x01\x08\x0a"          # urg ptr, NOP NOP TS(8,10)
SUM_TAIL_TS = 0x0101 + 0x080A
SYN_OPT_A = b"\x00\x00\x02\x04"                  # urg ptr, MSS kind/len
SYN_OPT_B = b"\x04\x02\x08\x0a"                  # SACK_PERM, TS kind/len
SYN_OPT_C = b"\x01\x03\x03\x07"                  # NOP, WS 7
SUM_SYN_FIXED = 0x0204 + 0x0402 + 0x080A + 0x0103 + 0x0307  # + mss value per family


def cks_of(s):
    """Internet checksum from a (non-folded, positive) sum of 16-bit words."""
    return 0xFFFE - ((s - 1) % 0xFFFF)


def wsum(b):
    if len(b) & 1:
        b += b"\0"
    return sum(struct.unpack("!%dH" % (len(b) >> 1), b))


def addr_words(b):
    return sum(struct.unpack("!%dH" % (len(b) >> 1), b))


# ------------------------------------------------------------------ random payload buffer
class Payload:
    def __init__(self, rnd, size=1 << 20):
        self.buf = rnd.randbytes(size)
        words = struct.unpack("!%dH" % (size >> 1), self.buf)
        self.pre = [0] + list(itertools.accumulate(words))
        self.size = size

    def slice(self, off, n):
        """bytes and word sum of buf[off:off+n]; off is even; returns new even offset."""
        if off + n > self.size:
            off = 0
        e = off + n
        b = self.buf[off:e]
        if n & 1:
            s = self.pre[(e - 1) >> 1] - self.pre[off >> 1] + (self.buf[e - 1] << 8)
        else:
            s = self.pre[e >> 1] - self.pre[off >> 1]
        return b, s, (e + 1) & ~1


# ------------------------------------------------------------------ structs
_structs = {}


def st(fmt):
    s = _structs.get(fmt)
    if s is None:
        s = _structs[fmt] = struct.Struct(fmt)
    return s


class Flow:
    """Per-flow constant header parts for both directions (0 = client->server)."""
    __slots__ = ("v6", "pre", "ap", "kip", "kl4", "S", "Ssyn", "Su", "ipid", "seq", "ts",
                 "mss", "hdr_ovh", "win", "proto")

    def __init__(self, v6, caddr, saddr, cport, sport, vlan, proto, rnd):
        self.v6 = v6
        self.proto = proto
        et = b"\x86\xdd" if v6 else b"\x08\x00"
        if vlan:
            tag = b"\x81\x00" + struct.pack("!H", vlan)
            l2 = [SMAC + CMAC + tag + et, CMAC + SMAC + tag + et]
        else:
            l2 = [SMAC + CMAC + et, CMAC + SMAC + et]
        a = [caddr + saddr, saddr + caddr]
        p = [struct.pack("!HH", cport, sport), struct.pack("!HH", sport, cport)]
        self.ap = [a[0] + p[0], a[1] + p[1]]
        aw = addr_words(caddr) + addr_words(saddr)
        pw = cport + sport
        self.kl4 = [aw + proto + pw, aw + proto + pw]
        if v6:
            self.pre = [l[0:] + b"\x60\x00\x00\x00" for l in l2]
            n = len(self.pre[0])
            self.S = st("!%dsH2s36sIIHHH6sII" % n)
            self.Ssyn = st("!%dsH2s36sIIHHH4sH4sII4s" % n)
            self.Su = st("!%dsH2s36sHH" % n)
            self.kip = None
            self.mss = MSS6
            self.hdr_ovh = 40
        else:
            self.pre = [l + b"\x45\x00" for l in l2]
            n = len(self.pre[0])
            self.S = st("!%dsHH4sH12sIIHHH6sII" % n)
            self.Ssyn = st("!%dsHH4sH12sIIHHH4sH4sII4s" % n)
            self.Su = st("!%dsHH4sH12sHH" % n)
            k = 0x4500 + 0x4000 + (0x40 << 8 | proto) + aw
            self.kip = [k, k]
            self.mss = MSS4
            self.hdr_ovh = 20
        self.ipid = [rnd.randrange(65536), rnd.randrange(65536)]
        self.seq = [rnd.randrange(1 << 32), rnd.randrange(1 << 32)]
        self.ts = [rnd.randrange(1 << 30), rnd.randrange(1 << 30)]
        self.win = [rnd.choice((502, 501, 512, 1024, 2048)), rnd.choice((509, 510, 235, 4096))]

    # -- TCP
    def tcp(self, d, flags, payload=b"", psum=0, n=0):
        """One TCP segment (timestamp option) from direction d; advances seq by len(payload)."""
        seq = self.seq[d]
        ack = self.seq[1 - d]
        tsv = self.ts[d] + (n >> 2)
        tse = self.ts[1 - d] + (n >> 2)
        win = self.win[d]
        ln = 32 + len(payload)
        offf = 0x8000 | flags
        s = (self.kl4[d] + SUM_TAIL_TS + ln + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF)
             + offf + win + (tsv >> 16) + (tsv & 0xFFFF) + (tse >> 16) + (tse & 0xFFFF) + psum)
        c = cks_of(s)
        if payload:
            self.seq[d] = (seq + len(payload)) & 0xFFFFFFFF
        if flags & (SYN | FIN):
            self.seq[d] = (self.seq[d] + 1) & 0xFFFFFFFF
        if self.v6:
            return self.S.pack(self.pre[d], ln, b"\x06\x40", self.ap[d], seq, ack, offf, win, c,
                               TAIL_TS, tsv, tse) + payload
        tl = ln + 20
        ipid = self.ipid[d] = (self.ipid[d] + 1) & 0xFFFF
        ic = cks_of(self.kip[d] + tl + ipid)
        return self.S.pack(self.pre[d], tl, ipid, b"\x40\x00\x40\x06", ic, self.ap[d], seq, ack, offf,
                           win, c, TAIL_TS, tsv, tse) + payload

    def syn(self, d):
        """SYN (d=0) or SYN-ACK (d=1) with MSS, SACK_PERM, TS, NOP, WS options."""
        seq = self.seq[d]
        ack = 0 if d == 0 else self.seq[0]
        flags = SYN if d == 0 else SYN | ACK
        tsv = self.ts[d]
        tse = 0 if d == 0 else self.ts[0]
        win = 64240 if d == 0 else 65160
        mss = self.mss + 12
        ln = 40
        offf = 0xA000 | flags
        s = (self.kl4[d] + SUM_SYN_FIXED + mss + ln + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16)
             + (ack & 0xFFFF) + offf + win + (tsv >> 16) + (tsv & 0xFFFF) + (tse >> 16) + (tse & 0xFFFF))
        c = cks_of(s)
        self.seq[d] = (seq + 1) & 0xFFFFFFFF
        if self.v6:
            return self.Ssyn.pack(self.pre[d], ln, b"\x06\x40", self.ap[d], seq, ack, offf, win, c,
                                  SYN_OPT_A, mss, SYN_OPT_B, tsv, tse, SYN_OPT_C)
        tl = ln + 20
        ipid = self.ipid[d] = (self.ipid[d] + 1) & 0xFFFF
        ic = cks_of(self.kip[d] + tl + ipid)
        return self.Ssyn.pack(self.pre[d], tl, ipid, b"\x40\x00\x40\x06", ic, self.ap[d], seq, ack, offf,
                              win, c, SYN_OPT_A, mss, SYN_OPT_B, tsv, tse, SYN_OPT_C)

    # -- UDP
    def udp(self, d, payload, psum):
        ul = 8 + len(payload)
        c = cks_of(self.kl4[d] + ul + ul + psum) or 0xFFFF
        if self.v6:
            fr = self.Su.pack(self.pre[d], ul, b"\x11\x40", self.ap[d], ul, c) + payload
        else:
            tl = ul + 20
            ipid = self.ipid[d] = (self.ipid[d] + 1) & 0xFFFF
            ic = cks_of(self.kip[d] + tl + ipid)
            fr = self.Su.pack(self.pre[d], tl, ipid, b"\x40\x00\x40\x11", ic, self.ap[d], ul, c) + payload
        if len(fr) < 60:
            fr += b"\0" * (60 - len(fr))
        return fr


# ------------------------------------------------------------------ application payloads
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
         "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]
UAS = ["Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
       "curl/7.88.1", "python-requests/2.31.0", "Wget/1.21.3"]


class Gen:
    def __init__(self, a):
        self.a = a
        self.rnd = random.Random(a.seed)
        self.pl = Payload(random.Random(a.seed + 1))
        self.poff = 0
        self.flows = 0
        self.kinds = {}
        self.bulk_flows = 0

    # -- addresses: unique per flow (flow counter), so every flow is a distinct 5-tuple
    def endpoints(self, v6):
        n = self.flows
        self.flows += 1
        r = self.rnd
        if v6:
            c = struct.pack("!HHHHQ", 0xFD00, 0xC1, n >> 16, n & 0xFFFF, 0x1000 + r.randrange(1 << 16))
            s = struct.pack("!HHHHQ", 0xFD00, 0x5E, 0, r.randrange(64), 0x10 + r.randrange(16))
        else:
            c = bytes((10, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF))
            s = bytes((172, 16 + r.randrange(4), r.randrange(256), 1 + r.randrange(254)))
        return c, s

    def new_flow(self, proto, sport, v6=None, vlan=None, cport=None):
        r = self.rnd
        if v6 is None:
            v6 = r.random() < 0.10
        if vlan is None:
            vlan = (100 + r.randrange(4)) if r.random() < 0.10 else 0
        c, s = self.endpoints(v6)
        if cport is None:
            cport = 32768 + r.randrange(28232)
        return Flow(v6, c, s, cport, sport, vlan, proto, r)

    def body(self, n):
        b, s, self.poff = self.pl.slice(self.poff, n)
        return b, s

    # -- generic TCP conversation -------------------------------------------------
    def tcp_conv(self, fl, msgs, rst=False):
        """msgs: list of (direction, header bytes, body length). Yields frames."""
        pk = 0
        yield fl.syn(0)
        yield fl.syn(1)
        yield fl.tcp(0, ACK, n=pk)
        mss = fl.mss
        nmsg = len(msgs)
        for mi, (d, hdr, blen) in enumerate(msgs):
            hsum = wsum(hdr) if hdr else 0
            odd = len(hdr) & 1
            remaining = blen
            first = True
            nseg = 0
            while first or remaining > 0:
                if first and hdr:
                    take = min(mss - len(hdr), remaining)
                    if take > 0:
                        b, s = self.body(take)
                        payload = hdr + b
                        psum = hsum + (s * 256 if odd else s)
                    else:
                        take = 0
                        payload, psum = hdr, hsum
                else:
                    take = min(mss, remaining)
                    payload, psum = self.body(take)
                first = False
                remaining -= take
                nseg += 1
                pk += 1
                yield fl.tcp(d, (PSH | ACK) if remaining <= 0 else ACK, payload, psum, pk)
                if nseg % 2 == 0 and remaining > 0:
                    yield fl.tcp(1 - d, ACK, n=pk)
            # the peer ACKs the end of the message, unless its next message (sent
            # right away) carries the ACK
            if mi + 1 == nmsg or msgs[mi + 1][0] == d or nseg > 1:
                yield fl.tcp(1 - d, ACK, n=pk)
        if rst:
            yield fl.tcp(0, RST | ACK, n=pk)
            return
        yield fl.tcp(0, FIN | ACK, n=pk)
        yield fl.tcp(1, FIN | ACK, n=pk)
        yield fl.tcp(0, ACK, n=pk)

    def pick_medium(self):
        return 300 + self.rnd.randrange(400)

    # -- flow kinds -------------------------------------------------------------
    def http(self):
        r = self.rnd
        fl = self.new_flow(6, 80)
        host = "www.%s-%s.example.com" % (r.choice(WORDS), r.choice(WORDS))
        path = "/%s/%s/%d" % (r.choice(WORDS), r.choice(WORDS), r.randrange(100000))
        ua = r.choice(UAS)
        target = self.pick_medium()  # request size 300-700 bytes
        if r.random() < 0.15:
            # POST upload: body from the client
            up = r.choice((1000, 3000, 6000, 12000, 20000)) + r.randrange(1000)
            req = ("POST %s/upload HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nContent-Type: "
                   "application/octet-stream\r\nContent-Length: %d\r\n" % (path, host, ua, up))
            req = self._pad_headers(req, target)
            resp = "HTTP/1.1 201 Created\r\nServer: nginx/1.24.0\r\nContent-Length: 0\r\n\r\n"
            msgs = [(0, req.encode(), up), (1, resp.encode(), 0)]
        else:
            req = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n" % (path, host, ua)
            req = self._pad_headers(req, target)
            x = r.random()
            if x < 0.40:
                blen = self.pick_medium() - 160
            elif x < 0.95:
                blen = 1448 * (1 + r.randrange(6)) + self.pick_medium()
            else:
                blen = 1448 * (10 + r.randrange(30))
            resp = ("HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n" % blen)
            msgs = [(0, req.encode(), 0), (1, resp.encode(), blen)]
        return self.tcp_conv(fl, msgs, rst=r.random() < 0.05), 1, "http"

    def _pad_headers(self, req, target):
        cookie = "Cookie: session="
        need = target - len(req) - len(cookie) - 4
        if need > 0:
            req += cookie + self.rnd.randbytes((need + 1) // 2).hex()[:need] + "\r\n"
        return req + "\r\n"

    def tls(self):
        r = self.rnd
        fl = self.new_flow(6, 443)
        msgs = [(0, b"", 517), (1, b"", 1448 * 2 + self.pick_medium()), (0, b"", 80 + r.randrange(60))]
        for _ in range(r.randrange(1, 5)):
            msgs.append((0, b"", self.pick_medium()))
            msgs.append((1, b"", self.pick_medium() if r.random() < 0.7 else 1448 * (1 + r.randrange(2))))
        return self.tcp_conv(fl, msgs, rst=r.random() < 0.05), 1, "tls"

    def ftp(self, pool_add):
        r = self.rnd
        fl = self.new_flow(6, 21)
        user = "%s%d" % (r.choice(WORDS), r.randrange(100))
        fname = "backup-%s-%d.tar.gz" % (r.choice(WORDS), r.randrange(10000))
        size = 1448 * (2 + r.randrange(20)) + r.randrange(1448)
        dport = 30000 + r.randrange(10000)
        sa = fl.ap[1][:4] if not fl.v6 else None
        if sa is not None:
            pasv = "227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).\r\n" % (tuple(sa) + (dport >> 8, dport & 255))
            pcmd = "PASV\r\n"
        else:
            pasv = "229 Entering Extended Passive Mode (|||%d|)\r\n" % dport
            pcmd = "EPSV\r\n"
        lines = [
            (1, "220 (vsFTPd 3.0.3)\r\n"), (0, "USER %s\r\n" % user), (1, "331 Please specify the password.\r\n"),
            (0, "PASS %s\r\n" % r.randbytes(6).hex()), (1, "230 Login successful.\r\n"),
            (0, "TYPE I\r\n"), (1, "200 Switching to Binary mode.\r\n"), (0, pcmd), (1, pasv),
            (0, "STOR %s\r\n" % fname), (1, "150 Ok to send data.\r\n"),
            (1, "226 Transfer complete.\r\n"), (0, "QUIT\r\n"), (1, "221 Goodbye.\r\n"),
        ]
        msgs = [(d, t.encode(), 0) for d, t in lines]
        # the passive data connection: same hosts, client -> server:dport, the STOR payload
        c_addr = fl.ap[0][:16] if fl.v6 else fl.ap[0][:4]
        s_addr = fl.ap[1][:16] if fl.v6 else fl.ap[1][:4]
        vlan = struct.unpack("!H", fl.pre[0][14:16])[0] if fl.pre[0][12:14] == b"\x81\x00" else 0
        dfl = Flow(fl.v6, c_addr, s_addr, 32768 + r.randrange(28232), dport, vlan, 6, r)
        self.flows += 1
        pool_add(self.tcp_conv(dfl, [(0, b"", size)]), 4, "ftp-data")
        return self.tcp_conv(fl, msgs), 1, "ftp"

    def dns(self):
        r = self.rnd
        fl = self.new_flow(17, 53)
        qid = r.randrange(65536)
        labels = [r.choice(WORDS), r.choice(WORDS) + str(r.randrange(1000)), r.choice(("com", "net", "org", "test"))]
        if r.random() < 0.1:  # long, random-looking label (tunnelling-ish)
            labels.insert(0, r.randbytes(20).hex())
        qname = b"".join(bytes((len(x),)) + x.encode() for x in labels) + b"\0"
        qtype = r.choice((1, 1, 1, 28, 28, 16, 15))
        q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) + qname + struct.pack("!HH", qtype, 1) + \
            b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
        nans = 1 + r.randrange(8)
        ans = b""
        for i in range(nans):
            if qtype == 1:
                rd = bytes((93, 184, r.randrange(256), r.randrange(256)))
            elif qtype == 28:
                rd = b"\x26\x06\x28\x00" + r.randbytes(12)
            elif qtype == 16:
                t = r.randbytes(10 + r.randrange(40)).hex().encode()[:255]
                rd = bytes((len(t),)) + t
            else:
                mx = b"\x04mail" + qname[len(labels[0]) + 1:] if len(labels) > 1 else qname
                rd = struct.pack("!H", 10 * (i + 1)) + mx
            ans += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 300, len(rd)) + rd
        resp = struct.pack("!HHHHHH", qid, 0x8180, 1, nans, 0, 1) + qname + struct.pack("!HH", qtype, 1) + ans + \
            b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"

        def g():
            yield fl.udp(0, q, wsum(q))
            yield fl.udp(1, resp, wsum(resp))
        return g(), 1, "dns"

    def udp_stream(self):
        r = self.rnd
        fl = self.new_flow(17, 5000 + r.randrange(1000))
        n = 4 + r.randrange(12)
        big = r.random() < 0.5

        def g():
            for i in range(n):
                d = 0 if r.random() < 0.7 else 1
                if d == 1 and r.random() < 0.3:
                    ln = 20 + r.randrange(40)
                elif big:
                    ln = 1358 + r.randrange(114)
                else:
                    ln = 258 + r.randrange(400)
                b, s = self.body(ln)
                yield fl.udp(d, b, s)
        return g(), 2, "udp"

    def bulk(self):
        r = self.rnd
        fl = self.new_flow(6, r.choice((22, 443, 873, 2049, 9000)))
        # BULK_SHARE of the bytes are meant for p_bulk * --flows bulk flows
        segs = int(self.bulk_segs * (0.5 + r.random()))
        segs = max(BULK_MIN_SEGS, min(segs, 100000))
        up = r.random() < 0.5
        hdr = b"BULK %d\r\n" % r.randrange(1 << 30)
        msgs = [(0, hdr, 0), (1, b"", segs * fl.mss)] if not up else [(0, hdr, segs * fl.mss), (1, b"OK\r\n", 0)]
        return self.tcp_conv(fl, msgs), 24, "bulk"

    # -- scheduling ---------------------------------------------------------------
    def pick_kind(self, pool_add):
        x = self.rnd.random()
        if x < self.p_bulk:
            self.bulk_flows += 1
            return self.bulk()
        if x < 0.40:
            return self.dns()
        if x < 0.65:
            return self.http()
        if x < 0.80:
            return self.tls()
        if x < 0.83:
            return self.ftp(pool_add)
        return self.udp_stream()

    def run(self, out_path):
        a = self.a
        self.target = int(a.size_mb * 1_000_000)
        self.p_bulk = P_BULK
        # bulk flows: 1448/1428-byte segments + an ACK every 2nd one, ~1.5 frames/segment
        self.bulk_segs = BULK_SHARE * self.target / max(1.0, P_BULK * a.flows) / (1514 + 16 + 0.5 * 82)
        r = self.rnd
        gens = []
        bursts = []
        kinds = []
        hist = [0, 0, 0, 0]  # <=100, 101-299, 300-700, 701-1399, >=1400 (last two merged below)
        big = 0
        counts = {}
        kbytes = {}
        kpk = {}

        def pool_add(gen, burst, kind):
            gens.append(gen)
            bursts.append(burst)
            kinds.append(kind)
            counts[kind] = counts.get(kind, 0) + 1

        while len(gens) < a.pool:
            g, b, k = self.pick_kind(pool_add)
            pool_add(g, b, k)

        f = open(out_path, "wb")
        f.write(PCAP_HDR)
        written = len(PCAP_HDR)
        packets = 0
        out = []
        outb = 0
        sec, usec = T0, 0
        rec = REC.pack
        rand = r.random
        target = self.target
        while written + outb < target:
            i = int(rand() * len(gens))
            g = gens[i]
            k = kinds[i]
            for _ in range(bursts[i]):
                try:
                    fr = next(g)
                except StopIteration:
                    if len(gens) > a.pool:
                        # the pool grew (FTP data connections): drop this slot
                        gens[i], bursts[i], kinds[i] = gens[-1], bursts[-1], kinds[-1]
                        gens.pop()
                        bursts.pop()
                        kinds.pop()
                    else:
                        # replace the finished flow in place (pool_add may append extra flows)
                        ng, nb, nk = self.pick_kind(pool_add)
                        gens[i], bursts[i], kinds[i] = ng, nb, nk
                        counts[nk] = counts.get(nk, 0) + 1
                    break
                n = len(fr)
                out.append(rec(sec, usec, n, n))
                out.append(fr)
                outb += n + 16
                packets += 1
                kbytes[k] = kbytes.get(k, 0) + n
                kpk[k] = kpk.get(k, 0) + 1
                if n <= 100:
                    hist[0] += 1
                elif n < 300:
                    hist[1] += 1
                elif n <= 700:
                    hist[2] += 1
                elif n < 1400:
                    hist[3] += 1
                else:
                    big += 1
                usec += 10
                if usec >= 1_000_000:
                    usec -= 1_000_000
                    sec += 1
            if outb > 8_000_000:
                f.write(b"".join(out))
                written += outb
                out = []
                outb = 0
        f.write(b"".join(out))
        written += outb
        f.close()
        return {
            "mode": "mixed", "packets": packets, "bytes": written, "flows": self.flows,
            "flow_kinds_started": counts, "bulk_flows": self.bulk_flows,
            "kind_packets": kpk, "kind_bytes": kbytes,
            "size_hist": {"60-100": hist[0], "101-299": hist[1], "300-700": hist[2], "701-1399": hist[3],
                          "1400-1514": big},
            "first_ts": T0, "last_ts": sec + usec / 1e6,
        }


def gen_concurrent(a, out_path):
    r = random.Random(a.seed)
    saddr = bytes((172, 16, 0, 10))
    sport = 443
    S = struct.Struct("!16sHH4sH4s4sHHIIHHH4sH4sII4s")
    l2 = SMAC + CMAC + b"\x08\x00"
    pre = l2 + b"\x45\x00"
    aw_s = addr_words(saddr)
    n = a.concurrent
    with open(out_path, "wb") as f:
        f.write(PCAP_HDR)
        out = []
        sec, usec = T0, 0
        for i in range(n):
            caddr = bytes((10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF))
            cport = 32768 + r.randrange(28232)
            seq = r.randrange(1 << 32)
            tsv = r.randrange(1 << 30)
            ipid = r.randrange(65536)
            aw = addr_words(caddr) + aw_s
            ic = cks_of(0x4500 + 0x4000 + 0x4006 + aw + 60 + ipid)
            s = (aw + 6 + cport + sport + SUM_SYN_FIXED + 1460 + 40 + (seq >> 16) + (seq & 0xFFFF)
                 + 0xA002 + 64240 + (tsv >> 16) + (tsv & 0xFFFF))
            fr = S.pack(pre, 60, ipid, b"\x40\x00\x40\x06", ic, caddr, saddr, cport, sport, seq, 0, 0xA002,
                        64240, cks_of(s), SYN_OPT_A, 1460, SYN_OPT_B, tsv, 0, SYN_OPT_C)
            assert len(fr) == 74
            out.append(REC.pack(sec, usec, 74, 74))
            out.append(fr)
            usec += 1
            if usec >= 1_000_000:
                usec -= 1_000_000
                sec += 1
            if len(out) >= 200_000:
                f.write(b"".join(out))
                out = []
        f.write(b"".join(out))
    return {"mode": "concurrent", "packets": n, "bytes": os.path.getsize(out_path), "flows": n,
            "first_ts": T0, "last_ts": sec + usec / 1e6}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=float, default=1100, help="target file size in MB (1e6 bytes)")
    ap.add_argument("--flows", type=int, default=150000, help="target number of distinct flows")
    ap.add_argument("--pool", type=int, default=2000, help="concurrently active flows")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrent", type=int, default=0, metavar="N",
                    help="instead: N distinct TCP flows of one SYN each")
    a = ap.parse_args()
    t = time.monotonic()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".part"
    if a.concurrent:
        meta = gen_concurrent(a, tmp)
    else:
        meta = Gen(a).run(tmp)
    os.replace(tmp, a.out)
    meta["args"] = {"size_mb": a.size_mb, "flows": a.flows, "pool": a.pool, "seed": a.seed,
                    "concurrent": a.concurrent}
    meta["generator_version"] = VERSION
    meta["seconds"] = round(time.monotonic() - t, 2)
    with open(a.out + ".meta.json", "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    print("%s: %d packets, %d bytes, %d flows, %.1f s" % (a.out, meta["packets"], meta["bytes"], meta["flows"],
                                                          meta["seconds"]), file=sys.stderr)


if __name__ == "__main__":
    main()
