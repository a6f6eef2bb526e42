#!/usr/bin/env python3
"""Small servers/clients used by scripts/gen-pcaps.sh (stdlib only).

Subcommands:
  mkfile PATH SIZE SEED             deterministic pseudo-random file content
  http-server --bind ADDR --port P --dir D
                                    http.server (SimpleHTTPRequestHandler, HTTP/1.1)
                                    that also accepts POST /upload (stores body)
  tcp-bulk-server --port P --dir D  accepts 2 connections: #1 read to EOF, reply
                                    "OK <n>\\n", close (FIN); #2 read until reset/EOF
  tcp-bulk-client --port P --size N --seed S
                                    #1: send N bytes, shutdown(WR), read reply, close;
                                    #2: send a little, then close with SO_LINGER 0 (RST)
  udp-echo-server --ports P1,P2 [--bind6-port P3] --count N
                                    echo N datagrams in total, then exit
  udp-client --ports P1,P2 [--port6 P3] [--closed-port P4]
                                    several client sockets (distinct 5-tuples) doing
                                    request/response; one datagram to a closed port
  mail-check --maildir D [--attachment F] --rcpts A,B [--rcpts C ...]
                                    check the messages an aiosmtpd Mailbox handler
                                    stored: one per --rcpts (its X-RcptTo list), and
                                    one carrying F's bytes as a MIME attachment
Every network operation has a timeout; servers exit by themselves.
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture_common  # noqa: E402
from capture_common import mkfile  # noqa: E402


class Handler(capture_common.UploadHandler):
    server_version = "TestHTTP/1.0"

    def upload_reply(self, stored):
        return 201, "text/plain", ("stored %d bytes\n" % stored).encode()


def http_server(bind, port, directory, lifetime):
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    capture_common.serve_http(Handler, bind, port, directory, lifetime, family)


def tcp_bulk_server(port, directory, lifetime):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4)
    ls.settimeout(lifetime)
    # connection 1: bulk upload, normal close
    c, _ = ls.accept()
    c.settimeout(10)
    total = 0
    with open(os.path.join(directory, "bulk-received.bin"), "wb") as f:
        while True:
            b = c.recv(65536)
            if not b:
                break
            f.write(b)
            total += len(b)
    c.sendall(b"OK %d\n" % total)
    c.close()
    # connection 2: the client aborts with RST
    c, _ = ls.accept()
    c.settimeout(10)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
    except (ConnectionResetError, socket.timeout):
        pass
    c.close()
    ls.close()


def tcp_bulk_client(port, size, seed):
    data = random.Random(seed).randbytes(size)
    reply = capture_common.send_read_reply(("127.0.0.1", port), data)
    if reply.strip() != b"OK %d" % size:
        sys.exit("tcp-bulk: unexpected reply %r" % reply)
    time.sleep(0.2)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"this connection will be reset\n" * 20)
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # -> RST


def udp_echo_server(ports, port6, count, lifetime):
    socks = []
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", p))
        socks.append(s)
    if port6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", port6))
        socks.append(s)
    import selectors
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + lifetime
    done = 0
    while done < count and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            data, addr = key.fileobj.recvfrom(65535)
            key.fileobj.sendto(b"echo:" + data, addr)
            done += 1
    for s in socks:
        s.close()


def udp_client(ports, port6, closed_port):
    n = 0
    payloads = [b"hello %d" % i for i in range(3)] + [bytes(range(256)) * 4]
    for p in ports:
        for k in range(2):  # two client sockets per server port -> distinct 5-tuples
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(3)
            s.bind(("127.0.0.1", 0))
            for pl in payloads[: 3 + k]:  # 3 short datagrams, plus a 1024-byte one for k=1
                s.sendto(pl, ("127.0.0.1", p))
                s.recvfrom(65535)
                n += 1
            s.close()
    if port6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(b"hello over v6", ("::1", port6))
        s.recvfrom(65535)
        n += 1
        s.close()
    if closed_port:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"nobody listens here", ("127.0.0.1", closed_port))
        time.sleep(0.1)
        s.close()
    return n


def mail_check(maildir, attachment, rcpts):
    """Exit non-zero unless the Maildir holds exactly the expected messages."""
    msgs = capture_common.maildir_messages(maildir)
    want = sorted(sorted(r.split(",")) for r in rcpts)
    got = sorted(sorted(a.strip() for a in str(m.get("X-RcptTo", "")).split(","))
                 for m in msgs)
    if got != want:
        sys.exit("mail-check: recipients %r, expected %r" % (got, want))
    if attachment:
        if not capture_common.carries_attachment(msgs, attachment):
            sys.exit("mail-check: no message carries %s as attachment" % attachment)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    capture_common.add_mkfile_parser(sub)
    p = sub.add_parser("http-server")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--dir", required=True)
    p.add_argument("--lifetime", type=float, default=60)
    p = sub.add_parser("tcp-bulk-server")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--dir", required=True)
    p.add_argument("--lifetime", type=float, default=60)
    p = sub.add_parser("tcp-bulk-client")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--size", type=int, default=150 * 1024)
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("udp-echo-server")
    p.add_argument("--ports", required=True)
    p.add_argument("--port6", type=int, default=0)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--lifetime", type=float, default=60)
    p = sub.add_parser("udp-client")
    p.add_argument("--ports", required=True)
    p.add_argument("--port6", type=int, default=0)
    p.add_argument("--closed-port", type=int, default=0)
    p = sub.add_parser("mail-check")
    p.add_argument("--maildir", required=True)
    p.add_argument("--attachment")
    p.add_argument("--rcpts", action="append", required=True)
    a = ap.parse_args()

    if a.cmd == "mkfile":
        mkfile(a.path, a.size, a.seed)
    elif a.cmd == "http-server":
        http_server(a.bind, a.port, a.dir, a.lifetime)
    elif a.cmd == "tcp-bulk-server":
        tcp_bulk_server(a.port, a.dir, a.lifetime)
    elif a.cmd == "tcp-bulk-client":
        tcp_bulk_client(a.port, a.size, a.seed)
    elif a.cmd == "udp-echo-server":
        udp_echo_server([int(x) for x in a.ports.split(",")], a.port6, a.count, a.lifetime)
    elif a.cmd == "udp-client":
        udp_client([int(x) for x in a.ports.split(",")], a.port6, a.closed_port)
    elif a.cmd == "mail-check":
        mail_check(a.maildir, a.attachment, a.rcpts)


if __name__ == "__main__":
    main()
