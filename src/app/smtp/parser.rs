//! SMTP session state: commands and replies paired through a pipelining queue, message
//! content streamed through dot-unstuffing (DATA) or byte counting (BDAT) into the MIME scanner.

use std::collections::VecDeque;

use memchr::memchr;

use super::mime::{text, LineBuf, Mime, MAX_VALUE};
use crate::app::{AppProto, Cx, Direction, Parser};

/// RFC 5321 allows 512 bytes per command line; real clients stay far below 4 KiB.
const MAX_LINE: usize = 4096;
/// Replies we wait for at once (pipelining); older ones are forgotten.
const MAX_PENDING: usize = 64;
const MAX_RCPT: usize = 100;

/// A command waiting for its reply, where the reply changes what we do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    StartTls,
    Data,
    Auth,
    Other,
}

/// Dot-unstuffing of DATA content (RFC 5321 4.5.2), streamed: a line `.` ends the message,
/// a leading dot of any other line is removed.
#[derive(Clone, Copy, Debug)]
struct Unstuff {
    line_start: bool,
    /// 0: nothing held; 1: a line-leading `.`; 2: `.` then CR.
    dot: u8,
}

impl Unstuff {
    const NEW: Unstuff = Unstuff {
        line_start: true,
        dot: 0,
    };

    /// Passes content to `out`; returns the bytes consumed through the terminator, if seen.
    fn feed(&mut self, d: &[u8], out: &mut impl FnMut(&[u8])) -> Option<usize> {
        let mut i = 0;
        while i < d.len() {
            if self.line_start {
                match (self.dot, d[i]) {
                    (0, b'.') => {
                        self.dot = 1;
                        i += 1;
                        continue;
                    }
                    (1, b'\r') => {
                        self.dot = 2;
                        i += 1;
                        continue;
                    }
                    (1 | 2, b'\n') => return Some(i + 1),
                    (2, _) => out(b"\r"),
                    _ => {}
                }
                self.dot = 0;
                self.line_start = false;
            }
            match memchr(b'\n', &d[i..]) {
                Some(j) => {
                    out(&d[i..=i + j]);
                    i += j + 1;
                    self.line_start = true;
                }
                None => {
                    out(&d[i..]);
                    i = d.len();
                }
            }
        }
        None
    }
}

#[derive(Clone, Copy, Debug)]
enum Client {
    Command,
    Data(Unstuff),
    Bdat { remaining: u64, last: bool },
}

/// The message content of a transaction.
#[derive(Debug)]
pub(super) struct Message {
    pub bytes: u64,
    pub mime: Mime,
    pub bdat_chunks: u64,
    pub complete: bool,
    pub gaps: bool,
}

impl Message {
    fn new() -> Message {
        Message {
            bytes: 0,
            mime: Mime::message(),
            bdat_chunks: 0,
            complete: false,
            gaps: false,
        }
    }

    fn feed(&mut self, d: &[u8]) {
        self.bytes = self.bytes.saturating_add(d.len() as u64);
        self.mime.feed(d);
    }

    fn gap(&mut self, len: u64) {
        self.gaps = true;
        self.bytes = self.bytes.saturating_add(len);
        self.mime.gap(len);
    }
}

/// One mail transaction: MAIL FROM through the end of its message (or RSET).
#[derive(Debug, Default)]
pub(super) struct Tx {
    pub mail_from: Option<String>,
    pub rcpt_to: Vec<String>,
    pub rcpt_dropped: u64,
    pub msg: Option<Message>,
}

impl Tx {
    fn is_empty(&self) -> bool {
        self.mail_from.is_none() && self.rcpt_to.is_empty() && self.msg.is_none()
    }
}

/// What the session knows besides the current transaction; logged with every transaction.
#[derive(Debug, Default)]
pub(super) struct Session {
    pub helo: Option<String>,
    /// AUTH mechanism only: the credentials that follow are never kept.
    pub auth_mechanism: Option<String>,
    pub starttls: bool,
    pub oversized_lines: u64,
    pub tx_id: u64,
}

/// SMTP parser for one connection.
#[derive(Debug)]
pub struct SmtpParser {
    cmd: LineBuf,
    reply: LineBuf,
    client: Client,
    pending: VecDeque<Pending>,
    /// Client lines are AUTH exchange data (credentials), not commands.
    in_auth: bool,
    greeted: bool,
    session: Session,
    tx: Tx,
    /// Some event was logged on this connection.
    logged: bool,
    /// STARTTLS succeeded: the rest is TLS and no longer ours.
    done: bool,
}

impl Default for SmtpParser {
    fn default() -> Self {
        SmtpParser {
            cmd: LineBuf::new(MAX_LINE),
            reply: LineBuf::new(MAX_LINE),
            client: Client::Command,
            pending: VecDeque::new(),
            in_auth: false,
            greeted: false,
            session: Session::default(),
            tx: Tx::default(),
            logged: false,
            done: false,
        }
    }
}

impl Parser for SmtpParser {
    fn parse(&mut self, dir: Direction, data: &[u8], cx: &mut Cx<'_>) {
        match dir {
            Direction::ToServer => self.client_bytes(data, cx),
            Direction::ToClient => self.server_bytes(data, cx),
        }
    }

    fn gap(&mut self, dir: Direction, len: u64, cx: &mut Cx<'_>) {
        if self.done {
            return;
        }
        match dir {
            Direction::ToServer => match &mut self.client {
                Client::Command => self.cmd.lose(),
                Client::Data(u) => {
                    // The terminator may have been lost too: keep looking for the next one.
                    u.line_start = false;
                    u.dot = 0;
                    self.msg().gap(len);
                }
                Client::Bdat { remaining, last } => {
                    let in_chunk = len.min(*remaining);
                    *remaining -= in_chunk;
                    let (chunk_over, last) = (*remaining == 0, *last);
                    self.msg().gap(in_chunk);
                    if chunk_over {
                        self.client = Client::Command;
                        if len > in_chunk {
                            // Commands after the chunk were lost too.
                            self.cmd.lose();
                        }
                        if last {
                            self.end_message(true, cx);
                        }
                    }
                }
            },
            Direction::ToClient => {
                // Replies were lost: we can no longer pair them with commands.
                self.reply.lose();
                self.pending.clear();
            }
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.done {
            return;
        }
        self.close(cx);
    }
}

impl SmtpParser {
    fn msg(&mut self) -> &mut Message {
        self.tx.msg.get_or_insert_with(Message::new)
    }

    fn client_bytes(&mut self, mut d: &[u8], cx: &mut Cx<'_>) {
        while !d.is_empty() && !self.done {
            match self.client {
                Client::Command => {
                    let (n, complete) = self.cmd.push(d);
                    d = &d[n..];
                    if complete {
                        self.command_line(cx);
                        self.cmd.clear();
                    }
                }
                Client::Data(mut u) => {
                    let msg = self.tx.msg.get_or_insert_with(Message::new);
                    let end = u.feed(d, &mut |c| msg.feed(c));
                    match end {
                        Some(n) => {
                            d = &d[n..];
                            self.client = Client::Command;
                            self.push_pending(Pending::Other);
                            self.end_message(true, cx);
                        }
                        None => {
                            d = &[];
                            self.client = Client::Data(u);
                        }
                    }
                }
                Client::Bdat { remaining, last } => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(d.len());
                    self.msg().feed(&d[..n]);
                    d = &d[n..];
                    self.client = Client::Bdat {
                        remaining: remaining - n as u64,
                        last,
                    };
                    if remaining == n as u64 {
                        if last {
                            self.end_message(true, cx);
                        }
                        self.client = Client::Command;
                    }
                }
            }
        }
    }

    fn command_line(&mut self, cx: &mut Cx<'_>) {
        if self.cmd.overflowed() {
            self.session.oversized_lines += 1;
        }
        let Some(line) = self.cmd.line() else { return };
        let line = line.to_vec();
        if self.in_auth {
            // Base64 credentials carry neither spaces nor colons; a command does.
            if !line.contains(&b' ') && !line.contains(&b':') {
                self.push_pending(Pending::Auth);
                return;
            }
            self.in_auth = false;
        }
        let (verb, arg) = match memchr(b' ', &line) {
            Some(i) => (&line[..i], line[i + 1..].trim_ascii()),
            None => (&line[..], &b""[..]),
        };
        let verb = verb.to_ascii_uppercase();
        let mut pending = Pending::Other;
        match &verb[..] {
            b"EHLO" | b"HELO" | b"LHLO" => {
                self.session.helo = Some(text(arg));
            }
            b"AUTH" => {
                let mech = arg.split(|&c| c == b' ').next().unwrap_or_default();
                if !mech.is_empty()
                    && mech.len() <= 32
                    && mech
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
                {
                    self.session.auth_mechanism = Some(text(&mech.to_ascii_uppercase()));
                }
                self.in_auth = true;
                pending = Pending::Auth;
            }
            b"MAIL" => {
                if let Some(a) = strip_ci(arg, b"FROM:") {
                    if self.tx.mail_from.is_some() || self.tx.msg.is_some() {
                        // A new transaction without RSET: log the abandoned one.
                        self.emit(cx);
                    }
                    self.tx.mail_from = Some(address(a));
                }
            }
            b"RCPT" => {
                if let Some(a) = strip_ci(arg, b"TO:") {
                    if self.tx.rcpt_to.len() < MAX_RCPT {
                        self.tx.rcpt_to.push(address(a));
                    } else {
                        self.tx.rcpt_dropped += 1;
                    }
                }
            }
            b"DATA" => {
                self.msg();
                self.client = Client::Data(Unstuff::NEW);
                pending = Pending::Data;
            }
            b"BDAT" => {
                let mut words = arg.split(|&c| c == b' ').filter(|w| !w.is_empty());
                let size = words.next().and_then(parse_u64);
                let last = words
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"LAST"));
                if let Some(size) = size {
                    self.msg().bdat_chunks += 1;
                    if size == 0 {
                        if last {
                            self.end_message(true, cx);
                        }
                    } else {
                        self.client = Client::Bdat {
                            remaining: size,
                            last,
                        };
                    }
                }
            }
            b"RSET" if !self.tx.is_empty() => self.emit(cx),
            b"QUIT" => self.close(cx),
            b"STARTTLS" => pending = Pending::StartTls,
            _ => {}
        }
        self.push_pending(pending);
    }

    fn push_pending(&mut self, p: Pending) {
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(p);
    }

    fn server_bytes(&mut self, mut d: &[u8], cx: &mut Cx<'_>) {
        while !d.is_empty() && !self.done {
            let (n, complete) = self.reply.push(d);
            d = &d[n..];
            if complete {
                self.reply_line(cx);
                self.reply.clear();
            }
        }
    }

    fn reply_line(&mut self, cx: &mut Cx<'_>) {
        let Some(line) = self.reply.line() else {
            return;
        };
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return;
        }
        if line.get(3) == Some(&b'-') {
            return; // continued: the last line of a reply answers
        }
        let code = u16::from(line[0] - b'0') * 100
            + u16::from(line[1] - b'0') * 10
            + u16::from(line[2] - b'0');
        if !self.greeted {
            self.greeted = true;
            // The banner, even if the client's first command was parsed before it.
            if code == 220 || self.pending.is_empty() {
                return;
            }
        }
        match self.pending.pop_front() {
            Some(Pending::StartTls) if code == 220 => {
                self.session.starttls = true;
                self.close(cx);
                *cx.upgrade = Some(AppProto::Tls);
                self.done = true;
            }
            Some(Pending::Data) if code != 354 => {
                // DATA refused: the client sends no content, so leave data mode unless
                // content was already seen.
                let untouched = self
                    .tx
                    .msg
                    .as_ref()
                    .is_some_and(|m| m.bytes == 0 && m.bdat_chunks == 0);
                if let Client::Data(u) = self.client {
                    if untouched && u.line_start && u.dot == 0 {
                        self.client = Client::Command;
                        self.tx.msg = None;
                    }
                }
            }
            Some(Pending::Auth) if code != 334 => self.in_auth = false,
            _ => {}
        }
    }

    /// The message of the current transaction ended; log the transaction.
    fn end_message(&mut self, complete: bool, cx: &mut Cx<'_>) {
        self.msg().complete = complete;
        self.emit(cx);
    }

    /// The session ends (QUIT, STARTTLS, end of flow): log what is open.
    fn close(&mut self, cx: &mut Cx<'_>) {
        if matches!(self.client, Client::Data(_) | Client::Bdat { .. }) {
            self.client = Client::Command;
        }
        let session_only = !self.logged
            && (self.session.helo.is_some()
                || self.session.auth_mechanism.is_some()
                || self.session.starttls);
        if !self.tx.is_empty() || session_only {
            self.emit(cx);
        }
    }

    fn emit(&mut self, cx: &mut Cx<'_>) {
        let mut tx = std::mem::take(&mut self.tx);
        if let Some(m) = &mut tx.msg {
            let complete = m.complete;
            m.mime.finish(complete);
        }
        super::events::transaction(&self.session, &tx, cx);
        self.session.tx_id += 1;
        self.logged = true;
    }
}

fn strip_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| s[prefix.len()..].trim_ascii_start())
}

/// `<a@b> SIZE=1` → `<a@b>`: the path as Suricata logs it, without ESMTP parameters.
fn address(a: &[u8]) -> String {
    let end = if a.starts_with(b"<") {
        memchr(b'>', a).map_or(a.len(), |i| i + 1)
    } else {
        memchr(b' ', a).unwrap_or(a.len())
    };
    text(&a[..end.min(MAX_VALUE)])
}

/// Decimal digits only; saturates rather than wrapping (the value is only counted down).
fn parse_u64(w: &[u8]) -> Option<u64> {
    if w.is_empty() || w.len() > 20 || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(w.iter().fold(0u64, |n, &c| {
        n.saturating_mul(10).saturating_add(u64::from(c - b'0'))
    }))
}
