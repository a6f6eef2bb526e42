//! TLS record layer of one flow. Handshake records are gathered only until this side's hello
//! is parsed; after that, and for every application-data record, only the 5-byte headers are
//! read and the bodies counted, never buffered.

use super::fingerprint::{self, Ja3};
use super::hello::{self, ClientHello, ServerHello};
use crate::app::{AppEvent, Cx, Direction, Parser};
use serde_json::{json, Map, Value};

/// Largest legal record body (TLSCiphertext: 2^14 + 2048).
const MAX_RECORD: usize = (1 << 14) + 2048;
/// Handshake bytes buffered while looking for a hello (a ClientHello fits in 64 KiB).
const MAX_HANDSHAKE: usize = 64 * 1024;

const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_HEARTBEAT: u8 = 24;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
/// Not a TLS content type: marks the body of an SSLv2-compatible CLIENT-HELLO.
const SSL2_CLIENT_HELLO: u8 = 0x80;

const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;

/// One direction's record framing and counters.
#[derive(Debug)]
struct Half {
    hdr: [u8; 5],
    hdr_len: usize,
    content_type: u8,
    /// Bytes left in the current record body.
    body_left: usize,
    /// Handshake bytes gathered until this side's hello is parsed, then freed for good.
    hs: Vec<u8>,
    want_hello: bool,
    /// Framing lost (gap, not a record header, SSLv2 server): bytes are only counted.
    unframed: bool,
    records: u64,
    /// Application-data record bodies, plus every byte once unframed.
    appdata: u64,
}

impl Default for Half {
    fn default() -> Half {
        Half {
            hdr: [0; 5],
            hdr_len: 0,
            content_type: 0,
            body_left: 0,
            hs: Vec::new(),
            want_hello: true,
            unframed: false,
            records: 0,
            appdata: 0,
        }
    }
}

impl Half {
    fn stop_hello(&mut self) {
        self.want_hello = false;
        self.hs = Vec::new();
    }

    fn unframe(&mut self) {
        self.unframed = true;
        self.stop_hello();
    }

    /// Takes one header byte; at a full header, starts the record (or gives up framing).
    fn header_byte(&mut self, b: u8, to_client: bool) {
        self.hdr[self.hdr_len] = b;
        self.hdr_len += 1;
        if self.records == 0 && self.hdr[0] & 0x80 != 0 {
            // SSLv2 record header: 2 bytes, length in the low 15 bits.
            if to_client {
                self.appdata += self.hdr_len as u64;
                self.unframe();
            } else if self.hdr_len == 2 {
                let len = usize::from(u16::from_be_bytes([self.hdr[0] & 0x7f, self.hdr[1]]));
                self.start(SSL2_CLIENT_HELLO, len);
            }
            return;
        }
        if self.hdr_len < 5 {
            return;
        }
        let [ct, major, minor, hi, lo] = self.hdr;
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let valid = (CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&ct)
            && major == 3
            && minor <= 4
            && len <= MAX_RECORD;
        if valid {
            self.start(ct, len);
        } else {
            self.appdata += 5;
            self.unframe();
        }
    }

    fn start(&mut self, content_type: u8, len: usize) {
        self.content_type = content_type;
        self.body_left = len;
        self.hdr_len = 0;
        self.records += 1;
    }
}

#[derive(Debug, Default)]
pub struct TlsParser {
    half: [Half; 2],
    client: Option<ClientHello>,
    server: Option<ServerHello>,
    /// The server answered in SSLv2.
    sslv2_server: bool,
    /// Packet time of the ServerHello, else of the first bytes: what the event refers to.
    ts_us: Option<u64>,
    logged: bool,
}

impl TlsParser {
    /// Body bytes of a handshake record (or SSLv2 hello) while this side's hello is awaited.
    fn handshake(&mut self, dir: Direction, chunk: &[u8], ts_us: u64) {
        let h = &mut self.half[dir as usize];
        if h.hs.len() + chunk.len() > MAX_HANDSHAKE {
            h.stop_hello();
            return;
        }
        h.hs.extend_from_slice(chunk);
        if h.content_type == SSL2_CLIENT_HELLO {
            if h.body_left == 0 {
                self.client = hello::sslv2_client_hello(&h.hs);
                h.stop_hello();
            }
            return;
        }
        let mut at = 0;
        while let Some(m) = h.hs.get(at..at + 4) {
            let len = usize::from(m[1]) << 16 | usize::from(m[2]) << 8 | usize::from(m[3]);
            let Some(body) = h.hs.get(at + 4..at + 4 + len) else {
                if 4 + len > MAX_HANDSHAKE {
                    h.stop_hello();
                    return;
                }
                break;
            };
            at += 4 + len;
            match (dir, m[0]) {
                (Direction::ToServer, HS_CLIENT_HELLO) => {
                    self.client = hello::client_hello(body);
                    h.stop_hello();
                    return;
                }
                (Direction::ToClient, HS_SERVER_HELLO) => {
                    let sh = hello::server_hello(body);
                    // After a HelloRetryRequest the real ServerHello follows.
                    if sh.as_ref().is_some_and(|s| s.hello_retry) {
                        continue;
                    }
                    self.server = sh;
                    self.ts_us = Some(ts_us);
                    h.stop_hello();
                    return;
                }
                _ => {}
            }
        }
        h.hs.drain(..at);
    }

    fn event(&self) -> Option<AppEvent> {
        let [ts, tc] = &self.half;
        if ts.records + tc.records == 0 && ts.appdata + tc.appdata == 0 {
            return None;
        }
        let mut tls = Map::new();
        let mut exfil = json!({
            "bytes_appdata_toserver": ts.appdata,
            "bytes_appdata_toclient": tc.appdata,
        });
        let c = self.client.as_ref();
        let s = self.server.as_ref();
        if let Some(sni) = c.and_then(|c| c.sni.clone()) {
            tls.insert("sni".into(), sni.into());
        }
        if self.sslv2_server {
            tls.insert("version".into(), "SSLv2".into());
        } else if let Some(s) = s {
            tls.insert("version".into(), hello::version_name(s.version()).into());
        }
        if let (Some(c), Some(s)) = (c, s) {
            let resumed = if s.version() >= 0x0304 {
                s.psk
            } else {
                !s.session_id.is_empty() && s.session_id == c.session_id
            };
            if resumed {
                tls.insert("session_resumed".into(), true.into());
            }
        }
        if let Some(c) = c {
            if !c.alpn.is_empty() {
                tls.insert("client_alpns".into(), c.alpn.clone().into());
            }
            let mut hs = Map::new();
            hs.insert(
                "version".into(),
                hello::version_name(c.max_version()).into(),
            );
            for (k, v) in [
                ("ciphers", &c.ciphers),
                ("exts", &c.exts),
                ("sig_algs", &c.sig_algs),
            ] {
                if !v.is_empty() {
                    hs.insert(k.into(), v.clone().into());
                }
            }
            tls.insert("client_handshake".into(), Value::Object(hs));
            if let Some(j) = fingerprint::ja3(c) {
                tls.insert("ja3".into(), ja3_json(j));
            }
            if let Some(j) = fingerprint::ja4(c) {
                tls.insert("ja4".into(), j.into());
            }
            if !c.versions.is_empty() {
                let names: Vec<String> =
                    c.versions.iter().map(|&v| hello::version_name(v)).collect();
                exfil["client_versions"] = names.into();
            }
            if c.sslv2 {
                exfil["sslv2_client_hello"] = true.into();
            }
        }
        if let Some(s) = s {
            if !s.alpn.is_empty() {
                tls.insert("server_alpns".into(), s.alpn.clone().into());
            }
            let mut hs = Map::new();
            hs.insert("version".into(), hello::version_name(s.version()).into());
            hs.insert("cipher".into(), s.cipher.into());
            if !s.exts.is_empty() {
                hs.insert("exts".into(), s.exts.clone().into());
            }
            tls.insert("server_handshake".into(), Value::Object(hs));
            if let Some(j) = fingerprint::ja3s(s) {
                tls.insert("ja3s".into(), ja3_json(j));
            }
        }
        if c.is_none() && s.is_none() {
            exfil["no_hello"] = true.into();
        }
        if ts.unframed || tc.unframed {
            exfil["unframed"] = true.into();
        }
        let ev = AppEvent::new(self.ts_us.unwrap_or_default(), "tls", Value::Object(tls));
        Some(ev.with_exfil(exfil))
    }
}

fn ja3_json(j: Ja3) -> Value {
    json!({"hash": j.hash, "string": j.string})
}

impl Parser for TlsParser {
    fn parse(&mut self, dir: Direction, mut data: &[u8], cx: &mut Cx<'_>) {
        self.ts_us.get_or_insert(cx.ts_us);
        let d = dir as usize;
        let to_client = dir == Direction::ToClient;
        while let Some((&first, rest)) = data.split_first() {
            let h = &mut self.half[d];
            if h.unframed {
                h.appdata += data.len() as u64;
                return;
            }
            if h.body_left == 0 {
                let sslv2_start =
                    to_client && h.records == 0 && h.hdr_len == 0 && first & 0x80 != 0;
                h.header_byte(first, to_client);
                self.sslv2_server |= sslv2_start;
                data = rest;
                continue;
            }
            let (chunk, rest) = data.split_at(h.body_left.min(data.len()));
            h.body_left -= chunk.len();
            match h.content_type {
                CT_APPLICATION_DATA => h.appdata += chunk.len() as u64,
                CT_HANDSHAKE | SSL2_CLIENT_HELLO if h.want_hello => {
                    self.handshake(dir, chunk, cx.ts_us);
                }
                _ => {}
            }
            data = rest;
        }
    }

    /// Record boundaries are lost for good; the rest of the direction is only counted.
    fn gap(&mut self, dir: Direction, len: u64, _cx: &mut Cx<'_>) {
        let h = &mut self.half[dir as usize];
        h.appdata += len;
        h.unframe();
    }

    /// One event per flow, at the end: it carries the handshake and the per-direction
    /// application-data volume, which is only known then. Its time is the ServerHello's.
    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.logged {
            return;
        }
        self.logged = true;
        if let Some(sni) = self.client.as_ref().and_then(|c| c.sni.as_deref()) {
            cx.features.server_name = Some(sni.to_ascii_lowercase());
        }
        if let Some(ev) = self.event() {
            cx.events.push(ev);
        }
    }
}
