"""Code shared by scripts/gen-pcaps-helper.py and scripts/gen-scenarios-helper.py
(stdlib only): seeded file content, an http.server that stores POST bodies, and
reading what an aiosmtpd Mailbox handler stored."""

import email
import email.policy
import http.server
import mailbox
import os
import random
import socket
import time


# ---------------------------------------------------------------- content
def mkfile(path, size, seed):
    """random.Random(SEED).randbytes(SIZE) into PATH."""
    with open(path, "wb") as f:
        f.write(random.Random(seed).randbytes(size))


def add_mkfile_parser(sub):
    """The `mkfile PATH SIZE SEED` subcommand on an argparse subparsers object."""
    p = sub.add_parser("mkfile")
    p.add_argument("path")
    p.add_argument("size", type=int)
    p.add_argument("seed", type=int)


# ---------------------------------------------------------------- http server
class UploadHandler(http.server.SimpleHTTPRequestHandler):
    """HTTP/1.1 SimpleHTTPRequestHandler, quiet, that stores a POST body as
    UPLOAD_DIR/<last path element>.bin; the reply comes from upload_reply()."""

    protocol_version = "HTTP/1.1"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep the generator quiet
        pass

    def upload_reply(self, stored):
        """(status, content type, body) answering a POST of STORED bytes."""
        raise NotImplementedError

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        remaining, chunks = length, []
        while remaining > 0:
            chunk = self.rfile.read(min(65536, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        body = b"".join(chunks)
        name = os.path.basename(self.path.split("?", 1)[0]) or "upload"
        with open(os.path.join(self.server.upload_dir, name + ".bin"), "wb") as f:
            f.write(body)
        status, ctype, reply = self.upload_reply(len(body))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def serve_http(handler, bind, port, directory, lifetime, family=socket.AF_INET, **attrs):
    """Serve DIRECTORY (uploads into DIRECTORY/uploads) on BIND:PORT for LIFETIME
    seconds; ATTRS are set on the server object (for the handler to read)."""

    class Server(http.server.ThreadingHTTPServer):
        address_family = family
        daemon_threads = True

    os.chdir(directory)
    srv = Server((bind, port), handler)
    srv.upload_dir = os.path.join(directory, "uploads")
    for k, v in attrs.items():
        setattr(srv, k, v)
    os.makedirs(srv.upload_dir, exist_ok=True)
    srv.timeout = 0.5
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        srv.handle_request()
    srv.server_close()


# ---------------------------------------------------------------- TCP client
def send_read_reply(addr, data):
    """Connect to ADDR, send DATA, shut down the write side, return all it replies."""
    s = socket.create_connection(addr, timeout=10)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        reply += b
    s.close()
    return reply


# ---------------------------------------------------------------- mail check
def maildir_messages(maildir):
    """The messages an aiosmtpd Mailbox handler stored in MAILDIR."""
    return [email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
            for m in mailbox.Maildir(maildir, create=False)]


def carries_attachment(msgs, path):
    """True if some message in MSGS has PATH's bytes as an attachment."""
    with open(path, "rb") as f:
        data = f.read()
    return any(part.get_content() == data for m in msgs for part in m.iter_attachments())
