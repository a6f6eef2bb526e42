//! FTP: the control channel (RFC 959, with RFC 2228 AUTH, RFC 2428 EPRT/EPSV) and its data
//! channels. The control parser pairs each command with its reply, announces data
//! connections as [`Expectation`](super::Expectation)s and records transfer commands (for
//! STOU, whose file the server names, with the name from its reply); the data parser
//! ([`FtpDataParser`]) only counts bytes and reports the file at the end.

mod addr;
mod data;
mod lines;
mod parser;
#[cfg(test)]
mod tests;

pub use data::{probe_data, FtpDataParser};
pub use parser::FtpParser;

use super::{Direction, Probe, Transport};

/// Commands that open a client's command stream. SMTP's EHLO/HELO/MAIL are absent on
/// purpose: an SMTP client's first command is one of those, so they must not match.
const COMMANDS: &[&[u8]] = &[
    b"USER", b"PASS", b"ACCT", b"AUTH", b"PBSZ", b"PROT", b"CCC", b"FEAT", b"SYST", b"OPTS",
    b"PWD", b"XPWD", b"CWD", b"XCWD", b"CDUP", b"XCUP", b"TYPE", b"MODE", b"STRU", b"PASV",
    b"EPSV", b"PORT", b"EPRT", b"LIST", b"NLST", b"MLSD", b"MLST", b"RETR", b"STOR", b"STOU",
    b"APPE", b"ALLO", b"REST", b"RNFR", b"RNTO", b"ABOR", b"DELE", b"MKD", b"XMKD", b"RMD",
    b"XRMD", b"SIZE", b"MDTM", b"SITE", b"STAT", b"HELP", b"NOOP", b"QUIT", b"REIN", b"CLNT",
    b"HOST", b"LANG",
];

/// Banner words that say FTP (vsFTPd, ProFTPD, Pure-FTPd, WS_FTP, Microsoft FTP Service all
/// contain "ftp").
const FTP_BANNER_WORDS: &[&[u8]] = &[b"ftp", b"filezilla", b"serv-u"];

/// How much of a direction's first bytes the probe looks at.
const PROBE_WINDOW: usize = 512;

/// Probe one direction of a TCP flow for FTP control traffic. Client side: a known command
/// word followed by a space or line end. Server side: only a 220 banner that names FTP is
/// conclusive (SMTP greets with 220 too); other replies wait for the client's command.
pub fn probe(dir: Direction, data: &[u8], transport: Transport) -> Probe {
    if transport != Transport::Tcp {
        return Probe::NoMatch;
    }
    let data = &data[..data.len().min(PROBE_WINDOW)];
    match dir {
        Direction::ToServer => probe_command(data),
        Direction::ToClient => probe_reply(data),
    }
}

fn probe_command(data: &[u8]) -> Probe {
    let end = data.iter().position(|b| matches!(b, b' ' | b'\r' | b'\n'));
    let word = &data[..end.unwrap_or(data.len())];
    let known = |full: bool| {
        COMMANDS.iter().any(|c| {
            if full {
                c.eq_ignore_ascii_case(word)
            } else {
                c.len() >= word.len() && c[..word.len()].eq_ignore_ascii_case(word)
            }
        })
    };
    match end {
        Some(_) if known(true) => Probe::Match,
        None if known(false) => Probe::NeedMore,
        _ => Probe::NoMatch,
    }
}

fn probe_reply(data: &[u8]) -> Probe {
    let head = &data[..data.len().min(4)];
    let digits = head
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits < head.len().min(3) || head.first().is_some_and(|d| !(b'1'..=b'6').contains(d)) {
        return Probe::NoMatch;
    }
    match head.get(3) {
        None => Probe::NeedMore,
        Some(b' ' | b'-') if head.starts_with(b"220") => {
            if contains_ci(data, b"smtp") {
                Probe::NeedMore
            } else if FTP_BANNER_WORDS.iter().any(|w| contains_ci(data, w)) {
                Probe::Match
            } else {
                Probe::NeedMore
            }
        }
        Some(b' ' | b'-') => Probe::NeedMore,
        Some(_) => Probe::NoMatch,
    }
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Transfer commands: what a data connection opened after them carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transfer {
    /// STOR, STOU, APPE: a file from the FTP client to the server.
    Upload,
    /// RETR: a file from the server to the client.
    Download,
    /// LIST, NLST, MLSD: a directory listing from the server.
    Listing,
}

impl Transfer {
    fn of(command: &str) -> Option<Transfer> {
        match command {
            "STOR" | "STOU" | "APPE" => Some(Transfer::Upload),
            "RETR" => Some(Transfer::Download),
            "LIST" | "NLST" | "MLSD" => Some(Transfer::Listing),
            _ => None,
        }
    }

    /// From the FTP client's point of view.
    fn direction(self) -> &'static str {
        match self {
            Transfer::Upload => "upload",
            Transfer::Download | Transfer::Listing => "download",
        }
    }
}
