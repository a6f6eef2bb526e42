//! ClientHello and ServerHello bodies (RFC 8446 §4.1.2–4.1.3, RFC 5246 §7.4.1), and the
//! SSLv2-compatible CLIENT-HELLO (RFC 6101 appendix E.2). Lists are capped so a hostile
//! hello cannot produce a huge event.

/// Entries kept per list (ciphers, extensions, …); real hellos stay far below. A longer
/// list is clipped, and the JA3/JA4 fingerprints are computed from the entries kept.
const MAX_LIST: usize = 256;
/// ALPN protocol names kept.
const MAX_ALPN: usize = 32;

const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIG_ALGS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_PRE_SHARED_KEY: u16 = 41;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// ServerHello.random of a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Reads big-endian fields; every read is bounds-checked.
#[derive(Clone, Copy)]
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.bytes(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A block with a `width`-byte length prefix.
    fn block(&mut self, width: usize) -> Option<Reader<'a>> {
        let len = match width {
            1 => usize::from(self.u8()?),
            _ => usize::from(self.u16()?),
        };
        Some(Reader(self.bytes(len)?))
    }

    fn u16_list(mut self) -> Vec<u16> {
        let mut v = Vec::new();
        while let Some(x) = self.u16() {
            if !is_grease(x) && v.len() < MAX_LIST {
                v.push(x);
            }
        }
        v
    }

    fn u8_list(self) -> Vec<u8> {
        self.0.iter().copied().take(MAX_LIST).collect()
    }
}

/// RFC 8701 GREASE values (0x?a?a) are random noise; left out of logged lists.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    /// supported_versions extension, GREASE removed.
    pub versions: Vec<u16>,
    pub ciphers: Vec<u16>,
    pub exts: Vec<u16>,
    pub sig_algs: Vec<u16>,
    /// supported_groups (elliptic curves), GREASE removed: JA3 only.
    pub groups: Vec<u16>,
    /// ec_point_formats: JA3 only.
    pub point_formats: Vec<u8>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// First and last byte of the first non-GREASE ALPN value, if not empty: JA4 takes
    /// its raw bytes, which the lossy strings in `alpn` may not keep.
    pub alpn_ends: Option<(u8, u8)>,
    pub session_id: Vec<u8>,
    /// Came as an SSLv2-compatible CLIENT-HELLO.
    pub sslv2: bool,
    /// Every extension parsed to the end of the list: fingerprints are only taken of such
    /// hellos, since one cut short would give a plausible but wrong value.
    pub complete: bool,
}

impl ClientHello {
    /// The highest version offered (supported_versions wins over the legacy field).
    pub fn max_version(&self) -> u16 {
        self.versions
            .iter()
            .copied()
            .max()
            .unwrap_or(self.legacy_version)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    pub legacy_version: u16,
    pub selected_version: Option<u16>,
    pub cipher: u16,
    pub exts: Vec<u16>,
    pub alpn: Vec<String>,
    pub session_id: Vec<u8>,
    /// pre_shared_key accepted: a TLS 1.3 resumption.
    pub psk: bool,
    pub hello_retry: bool,
    /// Every extension parsed to the end of the list (see [`ClientHello::complete`]).
    pub complete: bool,
}

impl ServerHello {
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

fn alpn_list(mut r: Reader<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(mut list) = r.block(2) else {
        return out;
    };
    while let Some(p) = list.block(1) {
        if out.len() < MAX_ALPN {
            out.push(String::from_utf8_lossy(p.0).into_owned());
        }
    }
    out
}

/// First and last byte of the first ALPN value that is not a GREASE identifier (RFC 8701
/// §2: the two-byte 0x?A?A values); None if that value is empty or there is none.
fn alpn_ends(mut r: Reader<'_>) -> Option<(u8, u8)> {
    let mut list = r.block(2)?;
    while let Some(Reader(v)) = list.block(1) {
        if let [a, b] = *v {
            if is_grease(u16::from_be_bytes([a, b])) {
                continue;
            }
        }
        return v.first().copied().zip(v.last().copied());
    }
    None
}

fn server_name(mut r: Reader<'_>) -> Option<String> {
    let mut list = r.block(2)?;
    while let Some(kind) = list.u8() {
        let name = list.block(2)?;
        if kind == 0 {
            return Some(String::from_utf8_lossy(name.0).into_owned());
        }
    }
    None
}

/// Parses a ClientHello body (after the 4-byte handshake header). Extensions that do not
/// parse end the extension list, keeping what came before.
pub fn client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader(body);
    let mut ch = ClientHello {
        legacy_version: r.u16()?,
        ..ClientHello::default()
    };
    r.bytes(32)?;
    ch.session_id = r.block(1)?.0.to_vec();
    ch.ciphers = r.block(2)?.u16_list();
    r.block(1)?; // compression methods
    if r.0.is_empty() {
        ch.complete = true;
        return Some(ch); // SSLv3-style hello without extensions
    }
    let Some(mut exts) = r.block(2) else {
        return Some(ch); // not an extension block: logged, not fingerprinted
    };
    while let (Some(t), Some(mut data)) = (exts.u16(), exts.block(2)) {
        if !is_grease(t) && ch.exts.len() < MAX_LIST {
            ch.exts.push(t);
        }
        match t {
            EXT_SERVER_NAME => ch.sni = server_name(data),
            EXT_ALPN => {
                ch.alpn = alpn_list(data);
                ch.alpn_ends = alpn_ends(data);
            }
            EXT_SUPPORTED_GROUPS => {
                ch.groups = data.block(2).map(Reader::u16_list).unwrap_or_default();
            }
            EXT_EC_POINT_FORMATS => {
                ch.point_formats = data.block(1).map(Reader::u8_list).unwrap_or_default();
            }
            EXT_SIG_ALGS => ch.sig_algs = data.block(2).map(Reader::u16_list).unwrap_or_default(),
            EXT_SUPPORTED_VERSIONS => {
                ch.versions = data.block(1).map(Reader::u16_list).unwrap_or_default();
            }
            _ => {}
        }
    }
    ch.complete = exts.0.is_empty();
    Some(ch)
}

/// Parses a ServerHello body (after the 4-byte handshake header).
pub fn server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader(body);
    let mut sh = ServerHello {
        legacy_version: r.u16()?,
        ..ServerHello::default()
    };
    sh.hello_retry = r.bytes(32)? == HRR_RANDOM;
    sh.session_id = r.block(1)?.0.to_vec();
    sh.cipher = r.u16()?;
    r.u8()?; // compression method
    if r.0.is_empty() {
        sh.complete = true;
        return Some(sh);
    }
    let Some(mut exts) = r.block(2) else {
        return Some(sh);
    };
    while let (Some(t), Some(mut data)) = (exts.u16(), exts.block(2)) {
        if !is_grease(t) && sh.exts.len() < MAX_LIST {
            sh.exts.push(t);
        }
        match t {
            EXT_ALPN => sh.alpn = alpn_list(data),
            EXT_SUPPORTED_VERSIONS => sh.selected_version = data.u16(),
            EXT_PRE_SHARED_KEY => sh.psk = true,
            _ => {}
        }
    }
    sh.complete = exts.0.is_empty();
    Some(sh)
}

/// SSLv2 CLIENT-HELLO body (after the 2-byte record header): msg type 1, version, lengths,
/// 3-byte cipher specs. Specs whose first byte is 0 are TLS cipher suites.
pub fn sslv2_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader(body);
    if r.u8()? != 1 {
        return None;
    }
    let legacy_version = r.u16()?;
    let cs_len = usize::from(r.u16()?);
    let sid_len = usize::from(r.u16()?);
    r.u16()?; // challenge length
    let specs = r.bytes(cs_len)?;
    let session_id = r.bytes(sid_len)?.to_vec();
    let ciphers = specs
        .chunks_exact(3)
        .filter(|s| s[0] == 0)
        .map(|s| u16::from_be_bytes([s[1], s[2]]))
        .take(MAX_LIST)
        .collect();
    Some(ClientHello {
        legacy_version,
        ciphers,
        session_id,
        sslv2: true,
        ..ClientHello::default()
    })
}

/// Suricata's version spelling.
pub fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x7f10..=0x7f1c => format!("TLS 1.3 draft-{}", v & 0xff),
        _ => "UNDETERMINED".into(),
    }
}
