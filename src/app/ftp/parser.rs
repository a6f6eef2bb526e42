//! Control channel: one transaction per command, closed by its final (non-1xx) reply.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::{json, Value};

use super::lines::LineBuf;
use super::{addr, Transfer};
use crate::app::{AppEvent, AppProto, Cx, Direction, Expectation, Parser, TransferCommand};
use crate::decode::{addr_from_v4, Addr};

/// Commands sent ahead of their replies (pipelining) kept waiting; past this the oldest is
/// logged without a reply, so a server that never answers cannot grow the queue.
const MAX_PENDING: usize = 32;
/// Reply lines and bytes logged per transaction (a multi-line banner can be long; the
/// rest is still parsed for the end of the reply but not kept).
pub(super) const MAX_REPLY_LINES: usize = 64;
const MAX_REPLY_BYTES: usize = 8192;
/// File names kept for the session summary.
const MAX_FILES: usize = 32;
/// Longest user name kept for the summary.
const MAX_USER: usize = 256;
/// Longest file name taken from a reply (STOU): a line of server text can be 4 KiB, a
/// path rarely a quarter of that.
pub(super) const MAX_FILENAME: usize = 1024;

/// FTP control-channel parser. Emits one `ftp` event per command with its reply lines (and
/// one per reply that answers no command, like the banner). The latest event is held back
/// until the next one or the end of the flow so that the session summary can ride on it
/// under `exfil.session` without adding an event Suricata would not log.
#[derive(Default)]
pub struct FtpParser {
    lines: [LineBuf; 2],
    session: Session,
}

#[derive(Default)]
struct Session {
    pending: VecDeque<Tx>,
    reply: Reply,
    held: Option<AppEvent>,
    /// AUTH TLS accepted: the rest of the flow is TLS, not ours.
    upgraded: bool,
    summary: Summary,
    /// Transfer commands recorded in `cx.transfers` so far: tells whether a STOU's record is
    /// still the flow's latest when the server names its file.
    records: u64,
}

/// A command waiting for its final reply (`command` None: a reply nobody asked for).
#[derive(Default)]
struct Tx {
    command: Option<String>,
    data: Option<String>,
    truncated: bool,
    dyn_port: Option<u16>,
    mode: Option<&'static str>,
    /// AUTH TLS / AUTH SSL: a 234 reply switches the flow to TLS.
    auth_tls: bool,
    unique: Option<Unique>,
}

/// A STOU: the server picks the file name and reports it in a reply, after the command was
/// recorded, so where that name must go is kept until then.
struct Unique {
    /// Its number among the session's transfer records.
    record: u64,
    /// Its entry in the summary's `files`, if there was room.
    file: Option<usize>,
    name: Option<String>,
}

/// Reply lines gathered so far (preliminary 1xx replies stay until the final one).
#[derive(Default)]
struct Reply {
    lines: Vec<String>,
    codes: Vec<String>,
    bytes: usize,
    truncated: bool,
    /// Code of an open multi-line reply: `NNN-` seen, the closing `NNN ` not yet.
    multi: Option<[u8; 3]>,
}

#[derive(Default)]
struct Summary {
    commands: u64,
    uploads: u64,
    downloads: u64,
    listings: u64,
    files: Vec<Value>,
    files_omitted: u64,
    user: Option<String>,
    failed_logins: u64,
    /// Server lines that were neither a reply nor inside a multi-line reply.
    junk_lines: u64,
}

impl Parser for FtpParser {
    fn parse(&mut self, dir: Direction, data: &[u8], cx: &mut Cx<'_>) {
        let mut pos = 0;
        while !self.session.upgraded {
            let Some((line, truncated)) = self.lines[dir as usize].next_line(data, &mut pos) else {
                break;
            };
            match dir {
                Direction::ToServer => self.session.command(line, truncated, cx),
                Direction::ToClient => self.session.reply_line(line, truncated, cx),
            }
        }
        if self.session.upgraded && self.session.held.is_some() {
            let truncated = self.truncated_lines();
            self.session.flush(truncated, cx);
        }
    }

    /// Lines resynchronise at the next LF; an open multi-line reply is abandoned since its
    /// closing line may have been lost.
    fn gap(&mut self, dir: Direction, _len: u64, _cx: &mut Cx<'_>) {
        self.lines[dir as usize].gap();
        if dir == Direction::ToClient {
            self.session.reply.multi = None;
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        let truncated = self.truncated_lines();
        self.session.flush(truncated, cx);
    }
}

impl FtpParser {
    fn truncated_lines(&self) -> u64 {
        self.lines.iter().map(|l| l.truncated).sum()
    }
}

impl Session {
    fn command(&mut self, line: &[u8], truncated: bool, cx: &mut Cx<'_>) {
        let line = line.trim_ascii();
        if line.is_empty() {
            return;
        }
        let (verb, arg) = match memchr::memchr(b' ', line) {
            Some(i) => (&line[..i], line[i + 1..].trim_ascii()),
            None => (line, &[][..]),
        };
        let known = (1..=16).contains(&verb.len()) && verb.iter().all(u8::is_ascii_graphic);
        let command = if known {
            String::from_utf8_lossy(verb).to_ascii_uppercase()
        } else {
            "UNKNOWN".to_string()
        };
        let mut tx = Tx {
            data: (known && !arg.is_empty()).then(|| String::from_utf8_lossy(arg).into_owned()),
            truncated,
            ..Tx::default()
        };
        self.summary.commands += 1;
        match command.as_str() {
            // Never log a password; "xxxxx" keeps the fact that one was sent.
            "PASS" => tx.data = tx.data.map(|_| "xxxxx".to_string()),
            "USER" => self.summary.user = tx.data.as_deref().map(|u| clip(u, MAX_USER)),
            "AUTH" => {
                let a = arg.to_ascii_uppercase();
                tx.auth_tls = a.starts_with(b"TLS") || a.starts_with(b"SSL");
            }
            "PORT" | "EPRT" => {
                let announced = if command == "PORT" {
                    addr::parse_port(arg)
                } else {
                    addr::parse_eprt(arg)
                };
                if let Some((a, port)) = announced {
                    // The server connects to the client: announced early, before the
                    // 200, so a fast data connection is not missed.
                    expect(cx, cx.server.0, a, cx.client.0, port);
                    tx.dyn_port = Some(port);
                    tx.mode = Some("active");
                }
            }
            c => {
                if let Some(t) = Transfer::of(c) {
                    let file = self.transfer(t, &command, tx.data.as_deref(), cx);
                    if c == "STOU" {
                        tx.unique = Some(Unique {
                            record: self.records,
                            file,
                            name: None,
                        });
                    }
                }
            }
        }
        tx.command = Some(command);
        if self.pending.len() == MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                self.emit(event(cx.ts_us, old, None, false), cx);
            }
        }
        self.pending.push_back(tx);
    }

    /// Records a transfer command; returns its summary entry, if any.
    fn transfer(
        &mut self,
        t: Transfer,
        command: &str,
        filename: Option<&str>,
        cx: &mut Cx<'_>,
    ) -> Option<usize> {
        self.records += 1;
        cx.transfers.record(
            cx.flow_id,
            TransferCommand {
                command: command.to_string(),
                filename: filename.map(str::to_string),
                ts_us: cx.ts_us,
            },
        );
        let s = &mut self.summary;
        match t {
            Transfer::Upload => s.uploads += 1,
            Transfer::Download => s.downloads += 1,
            Transfer::Listing => {
                s.listings += 1;
                return None;
            }
        }
        if s.files.len() < MAX_FILES {
            s.files
                .push(json!({"command": command, "filename": filename}));
            Some(s.files.len() - 1)
        } else {
            s.files_omitted += 1;
            None
        }
    }

    fn reply_line(&mut self, line: &[u8], truncated: bool, cx: &mut Cx<'_>) {
        let code = reply_code(line);
        match (self.reply.multi, code) {
            (Some(open), Some((c, b' '))) if c == open => {
                self.reply.add(line, true, truncated);
                self.reply.multi = None;
                self.end_reply(c, line, cx);
            }
            (Some(_), _) => self.reply.add(line, code.is_some(), truncated),
            (None, Some((c, b'-'))) => {
                self.reply.add(line, true, truncated);
                self.reply.multi = Some(c);
            }
            (None, Some((c, _))) => {
                self.reply.add(line, true, truncated);
                self.end_reply(c, line, cx);
            }
            (None, None) => self.summary.junk_lines += 1,
        }
    }

    /// A complete (possibly multi-line) reply with `code` ended with `last`.
    fn end_reply(&mut self, code: [u8; 3], last: &[u8], cx: &mut Cx<'_>) {
        let text = last.get(4..).unwrap_or_default();
        self.unique_name(&code, text, cx);
        if code[0] == b'1' {
            return; // preliminary: the command's final reply follows
        }
        let reply = std::mem::take(&mut self.reply);
        let mut tx = self.pending.pop_front().unwrap_or_default();
        let mut upgrade = false;
        match &code {
            b"227" => {
                if let Some((a, port)) = addr::parse_227(text) {
                    expect(cx, cx.client.0, a, cx.server.0, port);
                    tx.dyn_port = Some(port);
                    tx.mode = Some("passive");
                }
            }
            b"229" => {
                if let Some(port) = addr::parse_229(text) {
                    expect(cx, cx.client.0, cx.server.0, cx.server.0, port);
                    tx.dyn_port = Some(port);
                    tx.mode = Some("passive");
                }
            }
            b"234" => upgrade = tx.auth_tls,
            b"530" => self.summary.failed_logins += 1,
            _ => {}
        }
        self.emit(event(cx.ts_us, tx, Some(reply), true), cx);
        if upgrade {
            *cx.upgrade = Some(AppProto::Tls);
            self.upgraded = true;
        }
    }

    /// A reply to a pending STOU that names its file: the name goes to the transfer record
    /// (unless a later transfer command replaced it), the summary and the STOU's event. The
    /// first name given counts.
    fn unique_name(&mut self, code: &[u8; 3], text: &[u8], cx: &mut Cx<'_>) {
        let Some(u) = self.pending.front_mut().and_then(|tx| tx.unique.as_mut()) else {
            return;
        };
        if u.name.is_some() {
            return;
        }
        let Some(name) = reply_filename(code, text) else {
            return;
        };
        let name = clip(&String::from_utf8_lossy(name), MAX_FILENAME);
        if u.record == self.records {
            cx.transfers.name_latest(cx.flow_id, &name);
        }
        if let Some(f) = u.file.and_then(|i| self.summary.files.get_mut(i)) {
            f["filename"] = json!(name);
        }
        u.name = Some(name);
    }

    fn emit(&mut self, ev: AppEvent, cx: &mut Cx<'_>) {
        if let Some(prev) = self.held.replace(ev) {
            cx.events.push(prev);
        }
    }

    /// End of the flow (or of its clear-text part): open commands are logged without a
    /// reply, and the last event carries the session summary.
    fn flush(&mut self, truncated_lines: u64, cx: &mut Cx<'_>) {
        let mut partial = Some(std::mem::take(&mut self.reply));
        while let Some(tx) = self.pending.pop_front() {
            self.emit(event(cx.ts_us, tx, partial.take(), false), cx);
        }
        if let Some(r) = partial.filter(|r| !r.lines.is_empty()) {
            self.emit(event(cx.ts_us, Tx::default(), Some(r), false), cx);
        }
        if let Some(ev) = self.held.take() {
            let mut exfil = ev.exfil.as_deref().cloned().unwrap_or_else(|| json!({}));
            exfil["session"] = self.summary.to_json(truncated_lines, self.upgraded);
            cx.events.push(ev.with_exfil(exfil));
        }
    }
}

impl Reply {
    fn add(&mut self, line: &[u8], has_code: bool, truncated: bool) {
        self.truncated |= truncated;
        let text = if has_code {
            line.get(4..).unwrap_or_default()
        } else {
            line
        };
        if self.lines.len() == MAX_REPLY_LINES || self.bytes + text.len() > MAX_REPLY_BYTES {
            self.truncated = true;
            return;
        }
        self.bytes += text.len();
        self.lines.push(String::from_utf8_lossy(text).into_owned());
        if has_code {
            self.codes
                .push(String::from_utf8_lossy(&line[..3]).into_owned());
        }
    }
}

impl Summary {
    fn to_json(&self, truncated_lines: u64, tls: bool) -> Value {
        let mut o = json!({
            "commands": self.commands,
            "uploads": self.uploads,
            "downloads": self.downloads,
            "listings": self.listings,
            "files": self.files,
            "failed_logins": self.failed_logins,
            "truncated_lines": truncated_lines,
            "junk_lines": self.junk_lines,
            "tls": tls,
        });
        if let Some(u) = &self.user {
            o["user"] = json!(u);
        }
        if self.files_omitted > 0 {
            o["files_omitted"] = json!(self.files_omitted);
        }
        o
    }
}

/// `NNN` followed by space, `-` or the line end: (code, separator; line end counts as space).
fn reply_code(line: &[u8]) -> Option<([u8; 3], u8)> {
    let code: [u8; 3] = line.get(..3)?.try_into().ok()?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match line.get(3) {
        None => Some((code, b' ')),
        Some(&sep @ (b' ' | b'-')) => Some((code, sep)),
        Some(_) => None,
    }
}

/// The file name a server gives in a reply to STOU: `FILE: name` in the 125/150 reply
/// (RFC 1123 4.1.2.9; vsftpd, ProFTPD), or IIS's `226 Transfer complete (unique file
/// name:name).`. None if absent or blank.
fn reply_filename<'a>(code: &[u8; 3], text: &'a [u8]) -> Option<&'a [u8]> {
    const FILE: &[u8] = b"FILE:";
    const IIS: &[u8] = b"unique file name:";
    let name = match code {
        b"125" | b"150" => {
            let t = text.trim_ascii_start();
            t.get(..FILE.len())
                .filter(|p| p.eq_ignore_ascii_case(FILE))
                .map(|_| &t[FILE.len()..])?
        }
        b"226" | b"250" => {
            let at = text
                .windows(IIS.len())
                .position(|w| w.eq_ignore_ascii_case(IIS))?;
            let rest = &text[at + IIS.len()..];
            &rest[..memchr::memrchr(b')', rest).unwrap_or(rest.len())]
        }
        _ => return None,
    };
    Some(name.trim_ascii()).filter(|n| !n.is_empty())
}

/// Announce a data connection from `opener` to `announced:port`. An unspecified address
/// means "the peer"; one that differs from the peer's (NAT, or a bounce) gets a second
/// expectation to the peer, since which one the sensor will see depends on where it sits.
fn expect(cx: &mut Cx<'_>, opener: Addr, announced: Addr, peer: Addr, port: u16) {
    let unspecified = announced == [0; 16] || announced == addr_from_v4([0; 4]);
    let dst = if unspecified { peer } else { announced };
    let mut push = |dst| {
        cx.expect.push(Expectation {
            proto: 6,
            src: Some(opener),
            dst,
            dport: port,
            app: AppProto::FtpData,
            parent_flow_id: cx.flow_id,
            ts_us: cx.ts_us,
            filename: None,
            upload: None,
        })
    };
    push(dst);
    if dst != peer {
        push(peer);
    }
}

/// An `ftp` record, written straight from its fields; keys in alphabetical order, as the
/// `serde_json::Map` it replaces wrote them.
#[derive(Serialize)]
struct FtpRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command_data: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    command_truncated: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    completion_code: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dynamic_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reply: Vec<String>,
    reply_received: &'static str,
    #[serde(skip_serializing_if = "is_false")]
    reply_truncated: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The `ftp` event of a transaction; a STOU's server-given file name goes under `exfil`,
/// since Suricata's `ftp` record has no field for it.
fn event(ts_us: u64, tx: Tx, reply: Option<Reply>, received: bool) -> AppEvent {
    let (reply, completion_code, reply_truncated) =
        reply.map_or_else(Default::default, |r| (r.lines, r.codes, r.truncated));
    let record = FtpRecord {
        command: tx.command,
        command_data: tx.data,
        command_truncated: tx.truncated,
        completion_code,
        dynamic_port: tx.dyn_port,
        mode: tx.mode,
        reply,
        reply_received: if received { "yes" } else { "no" },
        reply_truncated,
    };
    let ev = AppEvent::new(ts_us, "ftp", record);
    match tx.unique.and_then(|u| u.name) {
        Some(name) => ev.with_exfil(json!({ "filename": name })),
        None => ev,
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
