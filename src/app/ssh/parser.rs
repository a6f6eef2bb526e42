//! Identification-line parsing, then byte counting.

use crate::app::{AppEvent, Cx, Direction, Parser};
use serde_json::{json, Map, Value};

/// RFC 4253 caps the line at 255 bytes; allow slack, then give up on the side.
const MAX_LINE: usize = 1024;
/// Lines a server may send before its identification line (RFC 4253 §4.2).
const MAX_PRE_LINES: u32 = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Banner {
    proto: String,
    software: String,
    comments: Option<String>,
}

impl Banner {
    /// `SSH-protoversion-softwareversion[ SP comments]`, CR LF already stripped.
    fn parse(line: &[u8]) -> Option<Banner> {
        let rest = line.strip_prefix(b"SSH-")?;
        let dash = memchr::memchr(b'-', rest)?;
        let (proto, rest) = (&rest[..dash], &rest[dash + 1..]);
        let (software, comments) = match memchr::memchr(b' ', rest) {
            Some(sp) => (&rest[..sp], Some(&rest[sp + 1..])),
            None => (rest, None),
        };
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Some(Banner {
            proto: text(proto),
            software: text(software),
            comments: comments.map(text),
        })
    }

    fn to_json(&self) -> Value {
        json!({"proto_version": self.proto, "software_version": self.software})
    }
}

#[derive(Debug, Default)]
struct Side {
    line: Vec<u8>,
    banner: Option<Banner>,
    /// The identification line's length with its line end: not counted as payload.
    banner_len: u64,
    pre_lines: u32,
    /// No banner will come (overlong line, too many lines, gap): only counting.
    gave_up: bool,
    /// Every byte this side sent, gaps included.
    total: u64,
}

impl Side {
    fn give_up(&mut self) {
        self.gave_up = true;
        self.line = Vec::new();
    }

    /// Bytes sent besides the identification line.
    fn payload(&self) -> u64 {
        self.total - self.banner_len
    }

    /// Gathers the identification line; returns true when this call completed it.
    fn feed(&mut self, mut data: &[u8]) -> bool {
        self.total += data.len() as u64;
        if self.banner.is_some() || self.gave_up {
            return false;
        }
        while let Some(nl) = memchr::memchr(b'\n', data) {
            if self.line.len() + nl > MAX_LINE {
                self.give_up();
                return false;
            }
            self.line.extend_from_slice(&data[..nl]);
            data = &data[nl + 1..];
            let raw = std::mem::take(&mut self.line);
            let line = raw.strip_suffix(b"\r").unwrap_or(&raw);
            if line.starts_with(b"SSH-") {
                self.banner = Banner::parse(line);
                if self.banner.is_none() {
                    self.give_up();
                    return false;
                }
                self.banner_len = raw.len() as u64 + 1;
                return true;
            }
            self.pre_lines += 1;
            if self.pre_lines > MAX_PRE_LINES {
                self.give_up();
                return false;
            }
        }
        if self.line.len() + data.len() > MAX_LINE {
            self.give_up();
        } else {
            self.line.extend_from_slice(data);
        }
        false
    }
}

#[derive(Debug, Default)]
pub struct SshParser {
    side: [Side; 2],
    /// Packet time when both banners were known, else of the first bytes.
    ts_us: Option<u64>,
    logged: bool,
}

impl Parser for SshParser {
    fn parse(&mut self, dir: Direction, data: &[u8], cx: &mut Cx<'_>) {
        self.ts_us.get_or_insert(cx.ts_us);
        if self.side[dir as usize].feed(data) && self.side.iter().all(|s| s.banner.is_some()) {
            self.ts_us = Some(cx.ts_us);
        }
    }

    /// Before the banner: the line is lost, so the side is given up. After: just counted.
    fn gap(&mut self, dir: Direction, len: u64, _cx: &mut Cx<'_>) {
        let s = &mut self.side[dir as usize];
        if s.banner.is_none() {
            s.give_up();
        }
        s.total += len;
    }

    /// One event per flow, at the end, so it carries the volume each side sent.
    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.logged || self.side.iter().all(|s| s.banner.is_none()) {
            return;
        }
        self.logged = true;
        let [c, s] = &self.side;
        let mut ssh = Map::new();
        let mut exfil = json!({"bytes_toserver": c.payload(), "bytes_toclient": s.payload()});
        for (key, side) in [("client", c), ("server", s)] {
            if let Some(b) = &side.banner {
                ssh.insert(key.into(), b.to_json());
                if let Some(comments) = &b.comments {
                    exfil[format!("{key}_comments")] = comments.clone().into();
                }
            }
        }
        let ev = AppEvent::new(self.ts_us.unwrap_or_default(), "ssh", Value::Object(ssh));
        cx.events.push(ev.with_exfil(exfil));
    }
}
