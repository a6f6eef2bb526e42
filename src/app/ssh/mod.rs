//! SSH: both identification lines (RFC 4253 §4.2) in one `ssh` event per flow, and the bytes
//! each side sent after its banner. Everything after the banners is only counted.

mod parser;

#[cfg(test)]
mod tests;

pub use parser::SshParser;

use crate::app::{Direction, Probe, Transport};

/// Identification strings of the protocol versions we parse.
const PREFIXES: [&[u8]; 2] = [b"SSH-2.0-", b"SSH-1.99-"];

/// Either direction must start with `SSH-2.0-` or `SSH-1.99-`.
pub fn probe(_dir: Direction, data: &[u8], _transport: Transport) -> Probe {
    for p in PREFIXES {
        let n = data.len().min(p.len());
        if data[..n] == p[..n] {
            return if n == p.len() {
                Probe::Match
            } else {
                Probe::NeedMore
            };
        }
    }
    Probe::NoMatch
}
