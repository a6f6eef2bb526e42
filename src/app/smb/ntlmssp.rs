//! Who logged on: the NTLMSSP AUTHENTICATE message inside a session-setup security blob.
//! We search for the NTLMSSP signature instead of decoding SPNEGO/GSS-API ASN.1, which is
//! all wrapping around it.

use super::names::{oem, u16_at, u32_at, u8_at, utf16};
use serde_json::{json, Value};

const SIGNATURE: &[u8] = b"NTLMSSP\0";
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
const NEGOTIATE_VERSION: u32 = 0x0200_0000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Auth {
    pub domain: String,
    pub user: String,
    pub host: String,
    pub version: Option<String>,
}

impl Auth {
    /// Suricata's `smb.ntlmssp` object.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "domain": self.domain, "user": self.user, "host": self.host });
        if let Some(ver) = &self.version {
            v["version"] = json!(ver);
        }
        v
    }
}

/// The AUTHENTICATE (type 3) message in `blob`, if there is one.
pub(super) fn parse_auth(blob: &[u8]) -> Option<Auth> {
    let start = memchr::memmem::find(blob, SIGNATURE)?;
    let m = &blob[start..];
    if u32_at(m, 8)? != 3 {
        return None;
    }
    let flags = u32_at(m, 60).unwrap_or(0);
    let unicode = flags & NEGOTIATE_UNICODE != 0;
    let field = |off: usize| -> String {
        let (Some(len), Some(pos)) = (u16_at(m, off), u32_at(m, off + 4)) else {
            return String::new();
        };
        let s = super::names::clip(m, pos as usize, len as usize);
        if unicode {
            utf16(s)
        } else {
            oem(s)
        }
    };
    // The version block sits right after the fixed fields when negotiated; a payload
    // offset below 72 means the sender left it out.
    let payload_start = [28usize, 36, 44]
        .iter()
        .filter_map(|&o| u32_at(m, o + 4))
        .min()
        .unwrap_or(0);
    let version = if flags & NEGOTIATE_VERSION != 0 && payload_start >= 72 {
        match (u8_at(m, 64), u8_at(m, 65), u16_at(m, 66), u8_at(m, 71)) {
            (Some(major), Some(minor), Some(build), Some(rev)) => {
                Some(format!("{major}.{minor} build {build} rev {rev}"))
            }
            _ => None,
        }
    } else {
        None
    };
    Some(Auth {
        domain: field(28),
        user: field(36),
        host: field(44),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an AUTHENTICATE message with the given UTF-16 strings.
    fn auth_msg(domain: &str, user: &str, host: &str) -> Vec<u8> {
        let enc = |s: &str| {
            s.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>()
        };
        let (d, u, h) = (enc(domain), enc(user), enc(host));
        let mut m = b"NTLMSSP\0".to_vec();
        m.extend_from_slice(&3u32.to_le_bytes());
        let mut off = 72u32;
        let mut fields = Vec::new();
        let mut payload = Vec::new();
        for part in [&[][..], &[][..], &d[..], &u[..], &h[..], &[][..]] {
            fields.extend_from_slice(&(part.len() as u16).to_le_bytes());
            fields.extend_from_slice(&(part.len() as u16).to_le_bytes());
            fields.extend_from_slice(&off.to_le_bytes());
            off += part.len() as u32;
            payload.extend_from_slice(part);
        }
        m.extend_from_slice(&fields);
        m.extend_from_slice(&(NEGOTIATE_UNICODE | NEGOTIATE_VERSION).to_le_bytes());
        m.extend_from_slice(&[6, 1, 0xb1, 0x1d, 0, 0, 0, 15]);
        m.extend_from_slice(&payload);
        m
    }

    #[test]
    fn extracts_user_domain_host_version() {
        let mut blob = vec![0xa1, 0x82, 0x01, 0x00]; // SPNEGO wrapping bytes before it
        blob.extend(auth_msg("VNET3", "administrator", "BLU"));
        let a = parse_auth(&blob).unwrap();
        assert_eq!(a.domain, "VNET3");
        assert_eq!(a.user, "administrator");
        assert_eq!(a.host, "BLU");
        assert_eq!(a.version.as_deref(), Some("6.1 build 7601 rev 15"));
    }

    #[test]
    fn other_messages_and_garbage() {
        let mut neg = b"NTLMSSP\0".to_vec();
        neg.extend_from_slice(&1u32.to_le_bytes());
        assert_eq!(parse_auth(&neg), None);
        assert_eq!(parse_auth(b"NTLMSSP\0\x03"), None);
        let m = auth_msg("D", "U", "H");
        for cut in 0..m.len() {
            let _ = parse_auth(&m[..cut]);
        }
    }
}
