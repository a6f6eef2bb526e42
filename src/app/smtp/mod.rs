//! SMTP: envelope (HELO, MAIL FROM, RCPT TO), message size (DATA and BDAT), MIME attachments
//! and STARTTLS. Messages are counted, never stored: mail is a classic exfiltration path and
//! the detectors need who sent how much to whom, and which files rode along.

mod events;
pub(crate) mod mime;
mod parser;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub use parser::SmtpParser;

use super::{Direction, Probe, Transport};

/// Content-only check. Client: a greeting command (EHLO/HELO/LHLO), or a mid-session
/// envelope command. Server: a `220` banner naming SMTP or a mail server; the bare
/// banner is shared with FTP, so it only says NeedMore and the client side decides.
pub fn probe(dir: Direction, data: &[u8], transport: Transport) -> Probe {
    if transport != Transport::Tcp {
        return Probe::NoMatch;
    }
    match dir {
        Direction::ToServer => probe_client(data),
        Direction::ToClient => probe_server(data),
    }
}

fn probe_client(data: &[u8]) -> Probe {
    const MATCH: [&[u8]; 5] = [b"EHLO ", b"HELO ", b"LHLO ", b"MAIL FROM:", b"RCPT TO:"];
    let mut more = false;
    for p in MATCH {
        let n = p.len().min(data.len());
        if data[..n].eq_ignore_ascii_case(&p[..n]) {
            if n == p.len() {
                return Probe::Match;
            }
            more = true;
        }
    }
    if more {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

fn probe_server(data: &[u8]) -> Probe {
    // A reply: three digits, then space, dash or the end of the line.
    let digits = data
        .iter()
        .take(3)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits < data.len().min(3) {
        return Probe::NoMatch;
    }
    match data.get(3) {
        None => return Probe::NeedMore,
        Some(b' ' | b'-' | b'\r' | b'\n') => {}
        Some(_) => return Probe::NoMatch,
    }
    if &data[..3] != b"220" {
        return Probe::NeedMore;
    }
    let end = memchr::memchr(b'\n', data).unwrap_or(data.len());
    let line = &data[4.min(end)..end];
    let says = |w: &[u8]| line.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
    if [&b"SMTP"[..], b"Postfix", b"Exim", b"Sendmail"]
        .iter()
        .any(|w| says(w))
    {
        return Probe::Match;
    }
    // "mail.example.com FTP server ready" is an FTP banner.
    if says(b"mail") && !says(b"FTP") {
        return Probe::Match;
    }
    Probe::NeedMore
}
