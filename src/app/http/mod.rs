//! HTTP/1.x: requests and responses paired in order (pipelining), bodies framed by
//! Content-Length, chunked encoding or connection close and counted, never stored. Request
//! bodies are upload volume; multipart/form-data bodies are scanned for file names.

mod events;
mod parser;
#[cfg(test)]
mod tests;

pub use parser::HttpParser;

use super::{Direction, Probe, Transport};

const METHODS: [&[u8]; 15] = [
    b"GET",
    b"POST",
    b"PUT",
    b"HEAD",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
];
const LONGEST_METHOD: usize = 8;

/// Content-only check. Client: a known method, a space and a plausible start of the target
/// (and, once the line is complete, ` HTTP/1.0` or ` HTTP/1.1` at its end). Server: a
/// `HTTP/1.x` status line (any case: some servers write `http/1.1`).
pub fn probe(dir: Direction, data: &[u8], transport: Transport) -> Probe {
    if transport != Transport::Tcp {
        return Probe::NoMatch;
    }
    match dir {
        Direction::ToServer => probe_request(data),
        Direction::ToClient => probe_response(data),
    }
}

fn probe_request(data: &[u8]) -> Probe {
    let head = &data[..data.len().min(LONGEST_METHOD + 1)];
    let Some(sp) = memchr::memchr(b' ', head) else {
        return if data.len() <= LONGEST_METHOD && METHODS.iter().any(|m| m.starts_with(data)) {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    if !METHODS.contains(&&data[..sp]) {
        return Probe::NoMatch;
    }
    let rest = &data[sp + 1..];
    match rest.first() {
        None => return Probe::NeedMore,
        // origin-form, asterisk-form, absolute-form (http://) or authority-form (CONNECT).
        Some(c) if *c == b'/' || *c == b'*' || *c == b'[' || c.is_ascii_alphanumeric() => {}
        Some(_) => return Probe::NoMatch,
    }
    let Some(end) = memchr::memchr(b'\n', rest) else {
        return Probe::Match;
    };
    let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
    let version = &line[line.len().saturating_sub(9)..];
    if version.eq_ignore_ascii_case(b" HTTP/1.0") || version.eq_ignore_ascii_case(b" HTTP/1.1") {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

fn probe_response(data: &[u8]) -> Probe {
    const PREFIX: &[u8] = b"HTTP/1.";
    let n = data.len().min(PREFIX.len());
    if !data[..n].eq_ignore_ascii_case(&PREFIX[..n]) {
        return Probe::NoMatch;
    }
    match (data.get(7), data.get(8)) {
        (None, _) => Probe::NeedMore,
        (Some(d), _) if !d.is_ascii_digit() => Probe::NoMatch,
        (_, Some(b' ')) | (_, None) => Probe::Match,
        _ => Probe::NoMatch,
    }
}
