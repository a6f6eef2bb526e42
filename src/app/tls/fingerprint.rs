//! Hello fingerprints as Suricata logs them: JA3 and JA3S (salesforce/ja3, MD5 by
//! definition) and JA4 (FoxIO, TLS over TCP). GREASE is already left out of the parsed
//! lists. Only hellos parsed to the end of their extensions are fingerprinted, and never
//! an SSLv2-compatible CLIENT-HELLO, which has no extensions to speak of.

use super::hello::{ClientHello, ServerHello};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::fmt::{Display, Write};

const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;

/// A JA3 or JA3S string and the lower-case hex MD5 of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ja3 {
    pub string: String,
    pub hash: String,
}

impl Ja3 {
    fn new(string: String) -> Ja3 {
        let hash = format!("{:x}", Md5::digest(string.as_bytes()));
        Ja3 { string, hash }
    }
}

/// `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`; the version is
/// the legacy field, not supported_versions.
pub fn ja3(c: &ClientHello) -> Option<Ja3> {
    if !c.complete || c.sslv2 {
        return None;
    }
    Some(Ja3::new(format!(
        "{},{},{},{},{}",
        c.legacy_version,
        dashed(&c.ciphers),
        dashed(&c.exts),
        dashed(&c.groups),
        dashed(&c.point_formats),
    )))
}

/// `SSLVersion,Cipher,Extensions` of the ServerHello.
pub fn ja3s(s: &ServerHello) -> Option<Ja3> {
    if !s.complete {
        return None;
    }
    Some(Ja3::new(format!(
        "{},{},{}",
        s.legacy_version,
        s.cipher,
        dashed(&s.exts)
    )))
}

/// Decimal values joined by `-`.
fn dashed<T: Display>(v: &[T]) -> String {
    let mut out = String::new();
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{x}");
    }
    out
}

/// `t`, version, SNI or not, cipher and extension counts, ALPN ends; then hashes of the
/// sorted ciphers and of the sorted extensions (less SNI and ALPN) with the signature
/// algorithms in their order.
pub fn ja4(c: &ClientHello) -> Option<String> {
    if !c.complete || c.sslv2 {
        return None;
    }
    let sni = if c.exts.contains(&EXT_SERVER_NAME) {
        'd'
    } else {
        'i'
    };
    let [a0, a1] = alpn_code(c.alpn_ends);
    let mut ciphers = c.ciphers.clone();
    ciphers.sort_unstable();
    let mut exts: Vec<u16> = c
        .exts
        .iter()
        .copied()
        .filter(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN)
        .collect();
    exts.sort_unstable();
    let ext_hash = if exts.is_empty() {
        "000000000000".to_string()
    } else {
        let mut s = hex_list(&exts);
        if !c.sig_algs.is_empty() {
            s.push('_');
            s.push_str(&hex_list(&c.sig_algs));
        }
        hash12(&s)
    };
    let cipher_hash = if ciphers.is_empty() {
        "000000000000".to_string()
    } else {
        hash12(&hex_list(&ciphers))
    };
    Some(format!(
        "t{}{sni}{:02}{:02}{a0}{a1}_{cipher_hash}_{ext_hash}",
        ja4_version(c.max_version()),
        c.ciphers.len().min(99),
        c.exts.len().min(99),
    ))
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        _ => "00",
    }
}

/// The first ALPN value's first and last characters if both are ASCII alphanumeric, else
/// the first and last digits of its hex form; `00` without one.
fn alpn_code(ends: Option<(u8, u8)>) -> [char; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match ends {
        None => ['0', '0'],
        Some((a, b)) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
            [char::from(a), char::from(b)]
        }
        Some((a, b)) => [
            char::from(HEX[usize::from(a >> 4)]),
            char::from(HEX[usize::from(b & 0xf)]),
        ],
    }
}

/// 4-digit lower-case hex values joined by `,`.
fn hex_list(v: &[u16]) -> String {
    let mut out = String::with_capacity(v.len() * 5);
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{x:04x}");
    }
    out
}

/// First 12 hex digits of the SHA-256 of `s`.
fn hash12(s: &str) -> String {
    let mut h = format!("{:x}", Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}
