//! HTTP/1.x transactions: each side reads start line, headers and a framed body; the
//! response side pairs with the oldest request still waiting for one.

use std::collections::VecDeque;

use memchr::memchr;

use crate::app::features::{dense_entropy, value_hash};
use crate::app::smtp::mime::{multipart_boundary, text, LineBuf, Mime};
use crate::app::{AppProto, Cx, Direction, Parser};

/// Start line plus header block.
const MAX_HEADER: usize = 64 * 1024;
/// Transactions waiting for their response; past this the oldest is logged as it is.
const MAX_TXS: usize = 64;
/// URLs are kept longer than other values: long query strings are an exfiltration channel.
pub(super) const MAX_URL: usize = 4096;

/// Headers that matter for the log and for body framing.
#[derive(Debug, Default)]
pub(super) struct Headers {
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub referer: Option<String>,
    pub xff: Option<String>,
    pub content_range: Option<String>,
    /// None: absent; Some(None): present but invalid or conflicting.
    pub content_length: Option<Option<u64>>,
    pub chunked: bool,
    boundary: Option<Vec<u8>>,
}

/// One message body, counted.
#[derive(Debug, Default)]
pub(super) struct Body {
    /// Decoded bytes (chunk framing excluded).
    pub bytes: u64,
    pub complete: bool,
    pub gaps: bool,
    pub mime: Option<Mime>,
}

impl Body {
    fn feed(&mut self, d: &[u8]) {
        self.bytes = self.bytes.saturating_add(d.len() as u64);
        if let Some(m) = &mut self.mime {
            m.feed(d);
        }
    }

    fn gap(&mut self, len: u64) {
        self.bytes = self.bytes.saturating_add(len);
        self.gaps = true;
        if let Some(m) = &mut self.mime {
            m.gap(len);
        }
    }

    fn end(&mut self, complete: bool) {
        self.complete = complete;
        if let Some(m) = &mut self.mime {
            m.finish(complete);
        }
    }
}

/// A request and its response.
#[derive(Debug, Default)]
pub(super) struct Tx {
    pub id: u64,
    pub method: Option<String>,
    pub url: Option<String>,
    /// Length of the request target as sent (the logged URL may be cut).
    pub url_len: usize,
    pub protocol: Option<String>,
    pub req: Headers,
    pub req_body: Body,
    req_done: bool,
    pub status: Option<u16>,
    /// Status token that is not a number.
    pub status_string: Option<String>,
    pub resp_protocol: Option<String>,
    pub resp: Headers,
    pub resp_body: Body,
    pub resp_started: bool,
    resp_done: bool,
    pub anomalies: Vec<&'static str>,
}

impl Tx {
    fn anomaly(&mut self, a: &'static str) {
        if !self.anomalies.contains(&a) {
            self.anomalies.push(a);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    /// The CRLF after chunk data.
    DataEnd,
    Trailer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Expecting a request or status line; other lines are skipped (resynchronisation).
    Start,
    Headers,
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    /// Bytes that are not HTTP: after CONNECT, until the proxy answers.
    Ignore,
}

#[derive(Debug)]
struct Side {
    line: LineBuf,
    phase: Phase,
    /// The transaction this side is reading.
    tx: u64,
    header_bytes: usize,
    /// Reading a 1xx interim response, which belongs to no transaction.
    interim: bool,
}

impl Side {
    fn new() -> Side {
        Side {
            line: LineBuf::new(MAX_HEADER),
            phase: Phase::Start,
            tx: 0,
            header_bytes: 0,
            interim: false,
        }
    }
}

/// HTTP/1.x parser for one connection.
#[derive(Debug)]
pub struct HttpParser {
    req: Side,
    resp: Side,
    txs: VecDeque<Tx>,
    next_id: u64,
    scratch: Body,
    /// The connection left HTTP (CONNECT tunnel, 101 Switching Protocols).
    done: bool,
    dense: DenseValues,
}

impl Default for HttpParser {
    fn default() -> Self {
        HttpParser {
            req: Side::new(),
            resp: Side::new(),
            txs: VecDeque::new(),
            next_id: 0,
            scratch: Body::default(),
            done: false,
            dense: DenseValues::default(),
        }
    }
}

impl Parser for HttpParser {
    fn parse(&mut self, dir: Direction, mut d: &[u8], cx: &mut Cx<'_>) {
        while !d.is_empty() && !self.done {
            let n = match self.side(dir).phase {
                Phase::Start
                | Phase::Headers
                | Phase::Chunked(Chunk::Size | Chunk::DataEnd | Chunk::Trailer) => {
                    let (n, complete) = self.side(dir).line.push(d);
                    if complete {
                        self.line(dir, cx);
                        self.side(dir).line.clear();
                    }
                    n
                }
                Phase::Length(rem) | Phase::Chunked(Chunk::Data(rem)) => {
                    let n = usize::try_from(rem).unwrap_or(usize::MAX).min(d.len());
                    self.body(dir).feed(&d[..n]);
                    self.consumed(dir, n as u64, cx);
                    n
                }
                Phase::UntilClose => {
                    self.body(dir).feed(d);
                    d.len()
                }
                Phase::Ignore => d.len(),
            };
            d = &d[n..];
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, cx: &mut Cx<'_>) {
        if self.done {
            return;
        }
        let phase = self.side(dir).phase;
        match phase {
            Phase::Length(rem) | Phase::Chunked(Chunk::Data(rem)) => {
                let n = len.min(rem);
                self.body(dir).gap(n);
                if len > rem {
                    // The body ended inside the gap; so did whatever followed it.
                    let complete = matches!(phase, Phase::Length(_));
                    self.end_body(dir, complete, cx);
                    self.side(dir).line.lose();
                } else {
                    self.consumed(dir, n, cx);
                }
            }
            Phase::UntilClose => self.body(dir).gap(len),
            Phase::Ignore => {}
            Phase::Start => self.side(dir).line.lose(),
            Phase::Headers | Phase::Chunked(_) => {
                // Framing lost: close what we were reading and look for the next start line.
                let id = self.side(dir).tx;
                if let Some(tx) = self.tx_mut(id) {
                    tx.anomaly("gap");
                }
                if phase == Phase::Headers {
                    self.end_message(dir, cx);
                } else {
                    self.end_body(dir, false, cx);
                }
                self.side(dir).line.lose();
            }
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if !self.done {
            for dir in [Direction::ToServer, Direction::ToClient] {
                match self.side(dir).phase {
                    Phase::UntilClose => self.end_body(dir, true, cx),
                    Phase::Length(_) | Phase::Chunked(_) => self.end_body(dir, false, cx),
                    _ => {}
                }
            }
        }
        while let Some(tx) = self.txs.pop_front() {
            super::events::transaction(tx, cx);
        }
    }
}

impl HttpParser {
    fn side(&mut self, dir: Direction) -> &mut Side {
        match dir {
            Direction::ToServer => &mut self.req,
            Direction::ToClient => &mut self.resp,
        }
    }

    fn tx_mut(&mut self, id: u64) -> Option<&mut Tx> {
        self.txs.iter_mut().find(|t| t.id == id)
    }

    /// The body being read on `dir`, or a scratch body if its transaction was already
    /// logged (too many outstanding): framing goes on, the accounting is dropped.
    fn body(&mut self, dir: Direction) -> &mut Body {
        let id = self.side(dir).tx;
        match self.txs.iter_mut().find(|t| t.id == id) {
            Some(tx) => match dir {
                Direction::ToServer => &mut tx.req_body,
                Direction::ToClient => &mut tx.resp_body,
            },
            None => &mut self.scratch,
        }
    }

    /// `n` bytes of a length-framed body or chunk were read.
    fn consumed(&mut self, dir: Direction, n: u64, cx: &mut Cx<'_>) {
        let side = self.side(dir);
        match side.phase {
            Phase::Length(rem) => {
                side.phase = Phase::Length(rem - n);
                if rem == n {
                    self.end_body(dir, true, cx);
                }
            }
            Phase::Chunked(Chunk::Data(rem)) => {
                side.phase = Phase::Chunked(if rem == n {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(rem - n)
                });
            }
            _ => {}
        }
    }

    /// A complete line of `dir`. It is read in place: its buffer is taken out of the side
    /// while the line is handled (the handlers need `self`) and put back for the caller to
    /// clear, instead of copying every header line.
    fn line(&mut self, dir: Direction, cx: &mut Cx<'_>) {
        let buf = std::mem::replace(&mut self.side(dir).line, LineBuf::new(0));
        self.handle_line(dir, buf.overflowed(), buf.line(), cx);
        self.side(dir).line = buf;
    }

    fn handle_line(
        &mut self,
        dir: Direction,
        overflow: bool,
        line: Option<&[u8]>,
        cx: &mut Cx<'_>,
    ) {
        let side = self.side(dir);
        let phase = side.phase;
        let id = side.tx;
        if overflow && phase == Phase::Headers {
            if let Some(tx) = self.tx_mut(id) {
                tx.anomaly("oversized_headers");
            }
        }
        let Some(line) = line else {
            if matches!(phase, Phase::Chunked(_)) {
                if let Some(tx) = self.tx_mut(id) {
                    tx.anomaly("bad_chunk_size");
                }
                self.end_body(dir, false, cx);
            }
            return;
        };
        match phase {
            Phase::Start => match dir {
                Direction::ToServer => self.request_line(line, cx),
                Direction::ToClient => self.status_line(line, cx),
            },
            Phase::Headers => self.header_line(dir, line, cx),
            Phase::Chunked(Chunk::Size | Chunk::DataEnd) => {
                if line.is_empty() && phase == Phase::Chunked(Chunk::DataEnd) {
                    self.side(dir).phase = Phase::Chunked(Chunk::Size);
                    return;
                }
                match chunk_size(line) {
                    Some(0) => self.side(dir).phase = Phase::Chunked(Chunk::Trailer),
                    Some(n) => self.side(dir).phase = Phase::Chunked(Chunk::Data(n)),
                    None => {
                        if let Some(tx) = self.tx_mut(id) {
                            tx.anomaly("bad_chunk_size");
                        }
                        self.end_body(dir, false, cx);
                    }
                }
            }
            // Trailer fields are skipped; the blank line ends the body.
            Phase::Chunked(Chunk::Trailer) if line.is_empty() => self.end_body(dir, true, cx),
            _ => {}
        }
    }

    /// Queue a new transaction under the next id; at the cap the oldest is logged as it is.
    fn open_tx(&mut self, tx: Tx, cx: &mut Cx<'_>) -> u64 {
        if self.txs.len() >= MAX_TXS {
            if let Some(old) = self.txs.pop_front() {
                super::events::transaction(old, cx);
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.txs.push_back(Tx { id, ..tx });
        id
    }

    fn request_line(&mut self, line: &[u8], cx: &mut Cx<'_>) {
        let Some((method, target, version)) = request_line(line) else {
            return;
        };
        let id = self.open_tx(
            Tx {
                method: Some(text(method)),
                url: Some(
                    String::from_utf8_lossy(&target[..target.len().min(MAX_URL)]).into_owned(),
                ),
                url_len: target.len(),
                protocol: Some(text(version)),
                ..Tx::default()
            },
            cx,
        );
        self.req.tx = id;
        self.req.phase = Phase::Headers;
        self.req.header_bytes = line.len();
        let query = memchr(b'?', target).map_or(&[][..], |q| &target[q + 1..]);
        self.dense.check("http.uri", b"", query, cx);
    }

    fn status_line(&mut self, line: &[u8], cx: &mut Cx<'_>) {
        if line.len() < 5 || !line[..5].eq_ignore_ascii_case(b"HTTP/") {
            return;
        }
        let mut words = line.splitn(3, |&c| c == b' ');
        let version = words.next().unwrap_or_default();
        let code = words.next().unwrap_or_default();
        let status = (code.len() == 3 && code.iter().all(u8::is_ascii_digit))
            .then(|| code.iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0')));
        self.resp.phase = Phase::Headers;
        self.resp.header_bytes = line.len();
        self.resp.interim = false;
        if status.is_some_and(|s| (100..200).contains(&s) && s != 101) {
            self.resp.interim = true;
            return;
        }
        let id = match self.txs.iter().find(|t| !t.resp_started) {
            Some(t) => t.id,
            None => {
                // A response without a request we saw (capture started late).
                self.open_tx(
                    Tx {
                        req_done: true,
                        ..Tx::default()
                    },
                    cx,
                )
            }
        };
        self.resp.tx = id;
        let tx = self.tx_mut(id).expect("found or pushed above");
        tx.resp_started = true;
        tx.status = status;
        if status.is_none() && !code.is_empty() {
            tx.status_string = Some(text(code));
        }
        tx.resp_protocol = Some(text(version));
    }

    fn header_line(&mut self, dir: Direction, line: &[u8], cx: &mut Cx<'_>) {
        let side = self.side(dir);
        side.header_bytes += line.len() + 2;
        let over = side.header_bytes > MAX_HEADER;
        let (id, interim) = (side.tx, side.interim);
        if line.is_empty() {
            self.side(dir).header_bytes = 0;
            if interim {
                self.resp.interim = false;
                self.resp.phase = Phase::Start;
            } else {
                self.headers_done(dir, cx);
            }
            return;
        }
        if interim || line[0] == b' ' || line[0] == b'\t' {
            return; // interim headers, obsolete line folding
        }
        let colon = memchr(b':', line).filter(|&c| c > 0);
        if let (Some(c), false, Direction::ToServer) = (colon, over, dir) {
            let (name, value) = (&line[..c], line[c + 1..].trim_ascii());
            self.dense.check("http.header.", name, value, cx);
            if name.eq_ignore_ascii_case(b"host") {
                cx.features.server_name = Some(host_name(value));
            }
        }
        let Some(tx) = self.tx_mut(id) else { return };
        if over {
            tx.anomaly("oversized_headers");
            return;
        }
        let Some(colon) = colon else {
            tx.anomaly("invalid_header");
            return;
        };
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        let h = match dir {
            Direction::ToServer => &mut tx.req,
            Direction::ToClient => &mut tx.resp,
        };
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("host") {
            h.host = Some(text(value));
        } else if is("user-agent") {
            h.user_agent = Some(text(value));
        } else if is("content-type") {
            h.content_type = Some(text(value));
            let v = value.to_ascii_lowercase();
            if v.starts_with(b"multipart/form-data") {
                h.boundary = multipart_boundary(value);
            }
        } else if is("referer") {
            h.referer = Some(text(value));
        } else if is("x-forwarded-for") {
            h.xff = Some(text(value));
        } else if is("content-range") {
            h.content_range = Some(text(value));
        } else if is("content-length") {
            let n = parse_length(value);
            h.content_length = match h.content_length {
                None => Some(n),
                Some(prev) if prev == n => Some(n),
                Some(_) => Some(None),
            };
        } else if is("transfer-encoding") {
            h.chunked = value
                .split(|&c| c == b',')
                .any(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        }
    }

    fn headers_done(&mut self, dir: Direction, cx: &mut Cx<'_>) {
        let id = self.side(dir).tx;
        let Some(tx) = self.tx_mut(id) else {
            self.side(dir).phase = Phase::Start;
            return;
        };
        let connect = tx.method.as_deref() == Some("CONNECT");
        let head = tx.method.as_deref() == Some("HEAD");
        let (h, is_req) = match dir {
            Direction::ToServer => (&tx.req, true),
            Direction::ToClient => (&tx.resp, false),
        };
        let (chunked, length) = (h.chunked, h.content_length);
        if length == Some(None) && !chunked {
            tx.anomaly("bad_content_length");
        }
        let phase = if is_req {
            if let Some(b) = tx.req.boundary.take() {
                tx.req_body.mime = Some(Mime::multipart(b));
            }
            match (chunked, length) {
                _ if connect => Phase::Ignore,
                (true, _) => Phase::Chunked(Chunk::Size),
                (false, Some(Some(n))) if n > 0 => Phase::Length(n),
                _ => Phase::Start,
            }
        } else {
            let status = tx.status.unwrap_or(0);
            if status == 101 || (connect && (200..300).contains(&status)) {
                // The connection now carries another protocol: let detection run again.
                tx.resp_done = true;
                tx.req_done = true;
                self.done = true;
                *cx.upgrade = Some(AppProto::Unknown);
                self.flush(cx);
                return;
            }
            if connect && self.req.phase == Phase::Ignore {
                self.req.phase = Phase::Start;
            }
            match (chunked, length) {
                _ if head || status == 204 || status == 304 => Phase::Start,
                (true, _) => Phase::Chunked(Chunk::Size),
                (false, Some(Some(0))) => Phase::Start,
                (false, Some(Some(n))) => Phase::Length(n),
                _ => Phase::UntilClose,
            }
        };
        self.side(dir).phase = phase;
        if phase == Phase::Start {
            self.end_message(dir, cx);
        } else if phase == Phase::Ignore {
            if let Some(tx) = self.tx_mut(id) {
                tx.req_done = true;
            }
        }
    }

    /// The body on `dir` ended.
    fn end_body(&mut self, dir: Direction, complete: bool, cx: &mut Cx<'_>) {
        self.body(dir).end(complete);
        self.end_message(dir, cx);
    }

    /// The message on `dir` is over: mark it, log what is complete, expect the next one.
    fn end_message(&mut self, dir: Direction, cx: &mut Cx<'_>) {
        let id = self.side(dir).tx;
        self.side(dir).phase = Phase::Start;
        if let Some(tx) = self.tx_mut(id) {
            match dir {
                Direction::ToServer => tx.req_done = true,
                Direction::ToClient => {
                    tx.resp_started = true;
                    tx.resp_done = true;
                }
            }
        }
        self.flush(cx);
    }

    /// Logs finished transactions, oldest first (a later one waits for an earlier one).
    fn flush(&mut self, cx: &mut Cx<'_>) {
        while self.txs.front().is_some_and(|t| t.req_done && t.resp_done) {
            if let Some(tx) = self.txs.pop_front() {
                super::events::transaction(tx, cx);
            }
        }
    }
}

/// `METHOD target HTTP/x.y`; the target may contain spaces (seen in the wild with CONNECT).
fn request_line(line: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let sp = memchr(b' ', line)?;
    let method = &line[..sp];
    if method.is_empty()
        || method.len() > 32
        || !method
            .iter()
            .all(|c| c.is_ascii_uppercase() || *c == b'-' || *c == b'_')
    {
        return None;
    }
    let rest = line[sp + 1..].trim_ascii();
    let vsp = memchr::memrchr(b' ', rest)?;
    let version = &rest[vsp + 1..];
    if version.len() > 10 || version.len() < 6 || !version[..5].eq_ignore_ascii_case(b"HTTP/") {
        return None;
    }
    let target = rest[..vsp].trim_ascii();
    (!target.is_empty()).then_some((method, target, version))
}

/// Hex chunk size before any `;extension`; at most 15 digits so it cannot overflow.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let end = line
        .iter()
        .position(|c| !c.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let tail = line[end..].trim_ascii_start();
    if end == 0 || end > 15 || !(tail.is_empty() || tail.starts_with(b";")) {
        return None;
    }
    line[..end].iter().try_fold(0u64, |n, &c| {
        Some(n << 4 | u64::from((c as char).to_digit(16)?))
    })
}

/// Decimal Content-Length; anything else (negative, garbage, > 18 digits) is invalid.
fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0')))
}

/// Distinct dense values sent by the client (request headers, query strings): data riding
/// in fields meant for short text. Repeats (a session cookie on every request) count once.
#[derive(Debug, Default)]
struct DenseValues {
    seen: hashbrown::HashSet<u64>,
}

impl DenseValues {
    /// Values remembered per flow; past it new values are still counted, never stored.
    const CAP: usize = 1024;

    /// `field` + lower-cased `name` says where the value was (only spelt out when dense).
    fn check(&mut self, field: &str, name: &[u8], value: &[u8], cx: &mut Cx<'_>) {
        let Some(e) = dense_entropy(value) else {
            return;
        };
        let h = value_hash(value);
        if self.seen.contains(&h) {
            return;
        }
        if self.seen.len() < Self::CAP {
            self.seen.insert(h);
        }
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        cx.features
            .dense(&format!("{field}{name}"), h, value.len(), e);
    }
}

/// Lower-cased host of a Host header, without its port.
fn host_name(value: &[u8]) -> String {
    let host = text(value).to_ascii_lowercase();
    match host.rsplit_once(':') {
        Some((h, _)) if !h.ends_with(']') && h.contains(':') => host, // bare IPv6 literal
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => host,
    }
}

#[cfg(test)]
mod feature_tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port_only() {
        assert_eq!(host_name(b"Example.COM:8080"), "example.com");
        assert_eq!(host_name(b"example.com"), "example.com");
        assert_eq!(host_name(b"[::1]:80"), "[::1]");
        assert_eq!(host_name(b"::1"), "::1");
    }
}
