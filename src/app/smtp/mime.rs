//! Streaming MIME scanning, shared by SMTP (whole messages) and HTTP (multipart/form-data
//! request bodies): attachment names and sizes without storing bodies. Only header blocks
//! (≤ 64 KiB) and the first bytes of each body line (to spot boundaries) are buffered.

use memchr::memchr;

/// Longest header block we interpret; the rest of the block is skipped up to its blank line.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Longest single (unfolded) header field kept.
const MAX_FIELD: usize = 8 * 1024;
/// A body line longer than this cannot be a boundary (RFC 2046: boundary ≤ 70 bytes).
const MAX_BOUNDARY_LINE: usize = 256;
const MAX_BOUNDARY: usize = 200;
/// Nesting depth of multiparts we follow.
const MAX_DEPTH: usize = 8;
const MAX_ATTACHMENTS: usize = 256;
/// Longest logged string (header value, file name, address).
pub const MAX_VALUE: usize = 1024;
const MAX_ADDRS: usize = 64;

/// One line of a byte stream, accumulated across chunks and capped: a longer line is
/// cut at `cap` and reported as overflowed so the caller can drop and count it.
#[derive(Debug)]
pub struct LineBuf {
    buf: Vec<u8>,
    cap: usize,
    overflow: bool,
    lost: bool,
}

impl LineBuf {
    pub fn new(cap: usize) -> LineBuf {
        LineBuf {
            buf: Vec::new(),
            cap,
            overflow: false,
            lost: false,
        }
    }

    /// Takes bytes up to and including the next LF. Returns bytes consumed and whether the
    /// line is now complete (then read it with [`LineBuf::line`] and [`LineBuf::clear`] it).
    pub fn push(&mut self, data: &[u8]) -> (usize, bool) {
        let (take, done) = match memchr(b'\n', data) {
            Some(i) => (i, true),
            None => (data.len(), false),
        };
        let room = self.cap - self.buf.len();
        if take > room {
            self.overflow = true;
        }
        self.buf.extend_from_slice(&data[..take.min(room)]);
        (take + usize::from(done), done)
    }

    /// The complete line without its CR LF, unless it overflowed or was hit by a gap.
    pub fn line(&self) -> Option<&[u8]> {
        if self.overflow || self.lost {
            return None;
        }
        Some(self.buf.strip_suffix(b"\r").unwrap_or(&self.buf))
    }

    /// The line was cut at the cap (as opposed to lost in a gap): worth counting.
    pub fn overflowed(&self) -> bool {
        self.overflow && !self.lost
    }

    /// Bytes were lost: whatever the current line holds is garbage up to the next LF.
    pub fn lose(&mut self) {
        self.lost = true;
        self.buf.clear();
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.overflow = false;
        self.lost = false;
    }
}

/// A file carried in a MIME part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// Decoded size: base64 content is estimated from its alphabet characters (×3/4).
    pub size: u64,
    /// Closed by its boundary or by the end of a complete message/body.
    pub complete: bool,
    pub gaps: bool,
}

/// Top-level message headers Suricata logs in its `email` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmailHeaders {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: Option<String>,
    pub date: Option<String>,
    pub message_id: Option<String>,
    pub x_mailer: Option<String>,
}

#[derive(Debug, Default)]
struct Entity {
    filename: Option<String>,
    boundary: Option<Vec<u8>>,
    base64: bool,
    /// Raw content bytes.
    bytes: u64,
    /// Base64 alphabet characters in the content.
    b64: u64,
    gaps: bool,
}

impl Entity {
    fn count(&mut self, d: &[u8]) {
        self.bytes = self.bytes.saturating_add(d.len() as u64);
        if self.base64 {
            let n = d
                .iter()
                .filter(|&&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
                .count();
            self.b64 = self.b64.saturating_add(n as u64);
        }
    }

    fn size(&self) -> u64 {
        if self.base64 {
            self.b64 / 4 * 3 + self.b64 % 4 * 3 / 4
        } else {
            self.bytes
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    Headers,
    Body,
}

/// Incremental scanner of one MIME entity tree (an email message or a multipart body).
#[derive(Debug)]
pub struct Mime {
    state: State,
    /// Still in the message's own header block (its fields go to `email`).
    top: bool,
    line: Vec<u8>,
    /// The current line outgrew its buffer: headers drop it, bodies count it as content.
    line_long: bool,
    /// Body bytes of the current line already counted (a long line is counted as it streams).
    counted_line: bool,
    /// Line break of the previous body line, held back: before a boundary it belongs to the
    /// delimiter, not to the part.
    pending_eol: u64,
    field: Vec<u8>,
    header_bytes: usize,
    boundaries: Vec<Vec<u8>>,
    entity: Entity,
    pub email: EmailHeaders,
    pub attachments: Vec<Attachment>,
    /// Attachments past the cap, not listed.
    pub attachments_dropped: u64,
    /// Header lines or blocks too long to interpret.
    pub oversized: u64,
}

impl Mime {
    /// A scanner for a whole message, starting with its header block.
    pub fn message() -> Mime {
        Mime {
            state: State::Headers,
            top: true,
            line: Vec::new(),
            line_long: false,
            counted_line: false,
            pending_eol: 0,
            field: Vec::new(),
            header_bytes: 0,
            boundaries: Vec::new(),
            entity: Entity::default(),
            email: EmailHeaders::default(),
            attachments: Vec::new(),
            attachments_dropped: 0,
            oversized: 0,
        }
    }

    /// A scanner for a multipart body whose boundary came from an outer header (HTTP).
    pub fn multipart(boundary: Vec<u8>) -> Mime {
        let mut m = Mime::message();
        m.state = State::Body;
        m.top = false;
        m.boundaries.push(boundary);
        m
    }

    /// Still inside the message's own header block.
    pub fn in_top_headers(&self) -> bool {
        self.top
    }

    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let (take, done) = match memchr(b'\n', data) {
                Some(i) => (i, true),
                None => (data.len(), false),
            };
            self.append(&data[..take]);
            if done {
                self.end_line();
            }
            data = &data[take + usize::from(done)..];
        }
    }

    /// Bytes of the content were lost: count them into the current part, drop the line.
    pub fn gap(&mut self, len: u64) {
        self.entity.gaps = true;
        self.entity.bytes = self.entity.bytes.saturating_add(len);
        if self.entity.base64 {
            self.entity.b64 = self.entity.b64.saturating_add(len);
        }
        self.line.clear();
        self.line_long = true;
        self.counted_line = true;
    }

    /// The message or body ended (`complete`: properly, not cut off): close the open part.
    pub fn finish(&mut self, complete: bool) {
        if self.state == State::Headers {
            self.end_field();
        } else if !self.line.is_empty() && !self.line_long {
            // A last line without line break: a closing delimiter or content.
            let l = std::mem::take(&mut self.line);
            if !self.boundary_line(&l) {
                self.count_line(&l);
            }
        }
        self.close_entity(complete);
    }

    fn append(&mut self, d: &[u8]) {
        if self.line_long {
            if self.state == State::Body {
                self.entity.count(d);
            }
            return;
        }
        let cap = match self.state {
            State::Headers => MAX_FIELD,
            State::Body => MAX_BOUNDARY_LINE,
        };
        if self.line.len() + d.len() <= cap {
            self.line.extend_from_slice(d);
            return;
        }
        self.line_long = true;
        match self.state {
            State::Headers => {
                self.oversized += 1;
                self.line.clear();
            }
            State::Body => {
                // Not a boundary: count what we held and stream the rest.
                let held = std::mem::take(&mut self.line);
                self.entity.bytes = self.entity.bytes.saturating_add(self.pending_eol);
                self.pending_eol = 0;
                self.entity.count(&held);
                self.entity.count(d);
                self.counted_line = true;
            }
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        let long = std::mem::replace(&mut self.line_long, false);
        let counted = std::mem::replace(&mut self.counted_line, false);
        match self.state {
            State::Headers => {
                let l = line.strip_suffix(b"\r").unwrap_or(&line);
                if !long {
                    self.header_line(l);
                }
            }
            State::Body => {
                if counted {
                    // A long line was counted as it came, its CR included.
                    self.pending_eol = 1;
                } else if !self.boundary_line(&line) {
                    self.count_line(&line);
                }
            }
        }
        self.line = line;
        self.line.clear();
    }

    /// Counts a body line (without its LF) and holds its line break back.
    fn count_line(&mut self, line: &[u8]) {
        let (content, eol) = match line.strip_suffix(b"\r") {
            Some(c) => (c, 2),
            None => (line, 1),
        };
        self.entity.bytes = self.entity.bytes.saturating_add(self.pending_eol);
        self.entity.count(content);
        self.pending_eol = eol;
    }

    fn header_line(&mut self, l: &[u8]) {
        self.header_bytes += l.len() + 2;
        if l.is_empty() {
            self.end_field();
            self.end_headers();
            return;
        }
        if self.header_bytes > MAX_HEADER_BLOCK {
            if self.header_bytes - (l.len() + 2) <= MAX_HEADER_BLOCK {
                self.oversized += 1;
            }
            self.field.clear();
            return;
        }
        if l[0] == b' ' || l[0] == b'\t' {
            // Folded continuation of the previous field.
            if !self.field.is_empty() && self.field.len() + l.len() <= MAX_FIELD {
                self.field.extend_from_slice(l);
            }
            return;
        }
        self.end_field();
        self.field.extend_from_slice(l);
    }

    fn end_headers(&mut self) {
        self.state = State::Body;
        self.top = false;
        self.header_bytes = 0;
        self.pending_eol = 0;
        if let Some(b) = self.entity.boundary.take() {
            // A multipart's own body is its preamble, never a file.
            if self.boundaries.len() < MAX_DEPTH {
                self.boundaries.push(b);
            }
            self.entity = Entity::default();
        }
    }

    fn end_field(&mut self) {
        let field = std::mem::take(&mut self.field);
        if let Some(colon) = memchr(b':', &field) {
            let name = field[..colon].trim_ascii();
            let value = field[colon + 1..].trim_ascii();
            self.header(name, value);
        }
        self.field = field;
        self.field.clear();
    }

    fn header(&mut self, name: &[u8], value: &[u8]) {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("content-type") {
            if starts_with_ci(value, b"multipart/") {
                self.entity.boundary = multipart_boundary(value);
            }
            if self.entity.filename.is_none() {
                self.entity.filename = param(value, "name").map(|n| text(&n));
            }
        } else if is("content-disposition") {
            if let Some(n) = param(value, "filename") {
                self.entity.filename = Some(text(&n));
            }
        } else if is("content-transfer-encoding") {
            self.entity.base64 = value.eq_ignore_ascii_case(b"base64");
        } else if self.top {
            let e = &mut self.email;
            if is("from") {
                e.from = Some(text(value));
            } else if is("to") {
                addresses(value, &mut e.to);
            } else if is("cc") {
                addresses(value, &mut e.cc);
            } else if is("subject") {
                e.subject = Some(text(value));
            } else if is("date") {
                e.date = Some(text(value));
            } else if is("message-id") {
                e.message_id = Some(text(value));
            } else if is("x-mailer") {
                e.x_mailer = Some(text(value));
            }
        }
    }

    /// Is `line` a delimiter of an open multipart? If so, close the current part.
    fn boundary_line(&mut self, line: &[u8]) -> bool {
        let Some(rest) = line.strip_prefix(b"--") else {
            return false;
        };
        let rest = rest.trim_ascii_end();
        for i in (0..self.boundaries.len()).rev() {
            let Some(tail) = rest.strip_prefix(self.boundaries[i].as_slice()) else {
                continue;
            };
            let close = match tail {
                b"" => false,
                b"--" => true,
                _ => continue,
            };
            self.close_entity(true);
            self.pending_eol = 0;
            if close {
                // The epilogue that follows belongs to no part.
                self.boundaries.truncate(i);
                self.state = State::Body;
            } else {
                self.boundaries.truncate(i + 1);
                self.state = State::Headers;
            }
            return true;
        }
        false
    }

    fn close_entity(&mut self, complete: bool) {
        let e = std::mem::take(&mut self.entity);
        let Some(filename) = e.filename.clone().filter(|f| !f.is_empty()) else {
            return;
        };
        if e.boundary.is_some() {
            return;
        }
        if self.attachments.len() >= MAX_ATTACHMENTS {
            self.attachments_dropped += 1;
            return;
        }
        self.attachments.push(Attachment {
            filename,
            size: e.size(),
            complete,
            gaps: e.gaps,
        });
    }
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Bytes as a logged string: lossy UTF-8, at most [`MAX_VALUE`] bytes of input.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(MAX_VALUE)]).into_owned()
}

/// The boundary of a `multipart/...` Content-Type value, if usable.
pub fn multipart_boundary(content_type: &[u8]) -> Option<Vec<u8>> {
    param(content_type, "boundary").filter(|b| !b.is_empty() && b.len() <= MAX_BOUNDARY)
}

/// Splits `a, "b, c" <d>` into addresses (commas inside quotes or `<>` do not split).
fn addresses(value: &[u8], out: &mut Vec<String>) {
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    for i in 0..=value.len() {
        let c = value.get(i).copied();
        match c {
            Some(b'"') => quoted = !quoted,
            Some(b'<') if !quoted => angle = true,
            Some(b'>') if !quoted => angle = false,
            _ => {}
        }
        if c.is_none() || (c == Some(b',') && !quoted && !angle) {
            let a = value[start..i].trim_ascii();
            if !a.is_empty() && out.len() < MAX_ADDRS {
                out.push(text(a));
            }
            start = i + 1;
        }
    }
}

/// A parameter of a header value (`type; name="value"`), unquoted. `name*=charset''pct`
/// (RFC 2231) is decoded when the plain form is absent.
pub fn param(value: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut extended = None;
    for p in split_params(value).skip(1) {
        let Some(eq) = memchr(b'=', p) else { continue };
        let key = p[..eq].trim_ascii();
        let val = p[eq + 1..].trim_ascii();
        if key.eq_ignore_ascii_case(name.as_bytes()) {
            return Some(unquote(val));
        }
        if key.len() == name.len() + 1
            && key.ends_with(b"*")
            && key[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        {
            // charset'language'percent-encoded
            let v = unquote(val);
            let start = v
                .iter()
                .enumerate()
                .filter(|(_, &c)| c == b'\'')
                .nth(1)
                .map_or(0, |(i, _)| i + 1);
            extended = Some(percent_decode(&v[start..]));
        }
    }
    extended
}

/// Splits at `;` outside double quotes.
fn split_params(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut quoted = false;
    let mut escaped = false;
    value.split(move |&c| {
        if escaped {
            escaped = false;
            return false;
        }
        match c {
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b';' => return !quoted,
            _ => {}
        }
        false
    })
}

fn unquote(v: &[u8]) -> Vec<u8> {
    let Some(inner) = v.strip_prefix(b"\"") else {
        return v.to_vec();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut it = inner.iter();
    while let Some(&c) = it.next() {
        match c {
            b'"' => break,
            b'\\' => out.extend(it.next()),
            _ => out.push(c),
        }
    }
    out
}

fn percent_decode(v: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%' && i + 2 < v.len() {
            if let (Some(h), Some(l)) = (hex(v[i + 1]), hex(v[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(v[i]);
        i += 1;
    }
    out
}
