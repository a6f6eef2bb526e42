//! SMB1/CIFS messages (MS-CIFS, MS-SMB): AndX chains, requests remembered by
//! (MID, command), the commands that name dialects, users, shares and files, and
//! READ_ANDX/WRITE_ANDX byte counts.

use super::names::{arr16_at, clip, oem, u16_at, u32_at, u64_at, u8_at, utf16};
use super::ntlmssp;
use super::state::{Cmd, FileKey, Flow, Opened, PKey, Req, Status, Target, Tree};
use crate::app::Cx;
use serde_json::json;

const HDR: usize = 32;
const FLAGS2_NT_STATUS: u16 = 0x4000;
const FLAGS2_UNICODE: u16 = 0x8000;
/// Most AndX hops followed in one message.
const MAX_ANDX: usize = 8;

const CLOSE: u8 = 0x04;
const READ: u8 = 0x0a;
const WRITE: u8 = 0x0b;
const LOCKING_ANDX: u8 = 0x24;
const OPEN_ANDX: u8 = 0x2d;
const READ_ANDX: u8 = 0x2e;
const WRITE_ANDX: u8 = 0x2f;
const NEGOTIATE: u8 = 0x72;
const SESSION_SETUP_ANDX: u8 = 0x73;
const LOGOFF_ANDX: u8 = 0x74;
const TREE_CONNECT_ANDX: u8 = 0x75;
const NT_CREATE_ANDX: u8 = 0xa2;
const NT_CANCEL: u8 = 0xa4;

struct Header {
    status: Status,
    reply: bool,
    unicode: bool,
    tid: u16,
    uid: u16,
    mid: u16,
}

/// One command block of an AndX chain: where its words and bytes sit in the message.
struct Block<'a> {
    cmd: u8,
    words: &'a [u8],
    /// Offset of the byte section from the start of the SMB header.
    bytes_off: usize,
    bytes_len: usize,
}

fn is_andx(cmd: u8) -> bool {
    matches!(
        cmd,
        LOCKING_ANDX
            | OPEN_ANDX
            | READ_ANDX
            | WRITE_ANDX
            | SESSION_SETUP_ANDX
            | LOGOFF_ANDX
            | TREE_CONNECT_ANDX
            | NT_CREATE_ANDX
    )
}

/// A string in the byte section: UTF-16 (2-aligned to the header) or OEM, NUL-ended.
/// Returns it and the offset after its terminator.
fn string_at(m: &[u8], off: usize, unicode: bool) -> (String, usize) {
    if unicode {
        let off = off + (off & 1);
        let s = m.get(off..).unwrap_or(&[]);
        let units = s
            .chunks_exact(2)
            .position(|c| c == [0, 0])
            .unwrap_or(s.len() / 2);
        (utf16(&s[..units * 2]), off + units * 2 + 2)
    } else {
        let s = m.get(off..).unwrap_or(&[]);
        let n = memchr::memchr(0, s).unwrap_or(s.len());
        (oem(&s[..n]), off + n + 1)
    }
}

impl Flow {
    /// Parses one SMB1 message (`m` may be cut short; `avail` is its size on the wire).
    pub(super) fn smb1_message(&mut self, m: &[u8], avail: usize, cx: &mut Cx<'_>) {
        if m.len() < HDR || &m[..4] != b"\xffSMB" {
            return;
        }
        if m.len() < avail && !super::stream::is_bulk(m) {
            self.truncated += 1;
        }
        let flags2 = u16_at(m, 10).unwrap_or(0);
        let status = if flags2 & FLAGS2_NT_STATUS != 0 {
            Status::Nt(u32_at(m, 5).unwrap_or(0))
        } else {
            Status::Dos(m[5], u16_at(m, 7).unwrap_or(0))
        };
        let h = Header {
            status,
            reply: m[9] & 0x80 != 0,
            unicode: flags2 & FLAGS2_UNICODE != 0,
            tid: u16_at(m, 24).unwrap_or(0),
            uid: u16_at(m, 28).unwrap_or(0),
            mid: u16_at(m, 30).unwrap_or(0),
        };
        let mut cmd = m[4];
        let mut off = HDR;
        for _ in 0..MAX_ANDX {
            let Some(wc) = u8_at(m, off) else { return };
            let words = clip(m, off + 1, 2 * usize::from(wc));
            let bc_off = off + 1 + 2 * usize::from(wc);
            let block = Block {
                cmd,
                words,
                bytes_off: bc_off + 2,
                bytes_len: usize::from(u16_at(m, bc_off).unwrap_or(0)),
            };
            if h.reply {
                self.smb1_response(&h, m, &block, avail, cx);
            } else {
                self.smb1_request(&h, m, &block, avail, cx);
            }
            if !is_andx(cmd) || words.len() < 4 || words[0] == 0xff {
                return;
            }
            let next = usize::from(u16_at(words, 2).unwrap_or(0));
            if next <= off || next >= m.len() {
                return;
            }
            cmd = words[0];
            off = next;
        }
    }

    fn smb1_request(
        &mut self,
        h: &Header,
        m: &[u8],
        blk: &Block<'_>,
        avail: usize,
        cx: &mut Cx<'_>,
    ) {
        let w = blk.words;
        let fid_at = |off: usize| Target {
            fid: u16_at(w, off).map(FileKey::V1),
            related: None,
        };
        let (req, logged) = match blk.cmd {
            NEGOTIATE => {
                let bytes = clip(m, blk.bytes_off, blk.bytes_len);
                let dialects = bytes
                    .split(|&b| b == 0)
                    .filter_map(|d| d.strip_prefix(&[0x02]))
                    .take(32)
                    .map(oem)
                    .collect();
                let req = Req::Negotiate {
                    dialects,
                    client_guid: None,
                };
                (req, true)
            }
            SESSION_SETUP_ANDX => {
                let (auth, strings_off) = match w.len() {
                    // Extended security: an NTLMSSP/SPNEGO blob.
                    24 => {
                        let len = usize::from(u16_at(w, 14).unwrap_or(0));
                        let auth = ntlmssp::parse_auth(clip(m, blk.bytes_off, len));
                        (auth, blk.bytes_off + len)
                    }
                    // NTLM (v1) logon: passwords, then account and domain names.
                    26 => {
                        let pw = usize::from(u16_at(w, 14).unwrap_or(0))
                            + usize::from(u16_at(w, 16).unwrap_or(0));
                        let (user, next) = string_at(m, blk.bytes_off + pw, h.unicode);
                        let (domain, next) = string_at(m, next, h.unicode);
                        let auth = ntlmssp::Auth {
                            domain,
                            user,
                            host: String::new(),
                            version: None,
                        };
                        (Some(auth), next)
                    }
                    _ => (None, blk.bytes_off),
                };
                let native = native_strings(m, strings_off, h.unicode);
                (Req::SessionSetup { auth, native }, true)
            }
            TREE_CONNECT_ANDX => {
                let pw = usize::from(u16_at(w, 6).unwrap_or(0));
                let (path, _) = string_at(m, blk.bytes_off + pw, h.unicode);
                (Req::TreeConnect { path }, true)
            }
            NT_CREATE_ANDX => {
                let len = usize::from(u16_at(w, 5).unwrap_or(0));
                let name = if h.unicode {
                    let off = blk.bytes_off + (blk.bytes_off & 1);
                    utf16(clip(m, off, len))
                } else {
                    oem(clip(m, blk.bytes_off, len))
                };
                let req = Req::Create {
                    name,
                    disposition: u32_at(w, 35).unwrap_or(0),
                    delete_on_close: u32_at(w, 39).unwrap_or(0) & 0x1000 != 0,
                };
                (req, true)
            }
            CLOSE => {
                let req = Req::File {
                    target: fid_at(0),
                    write: 0,
                    set: None,
                };
                (req, true)
            }
            READ_ANDX => {
                let req = Req::File {
                    target: fid_at(4),
                    write: 0,
                    set: None,
                };
                (req, false)
            }
            WRITE_ANDX => {
                let len = u64::from(u16_at(w, 20).unwrap_or(0))
                    | (u64::from(u16_at(w, 18).unwrap_or(0)) << 16);
                let data_off = usize::from(u16_at(w, 22).unwrap_or(0));
                let req = Req::File {
                    target: fid_at(4),
                    write: len.min(avail.saturating_sub(data_off) as u64),
                    set: None,
                };
                (req, false)
            }
            READ | WRITE | NT_CANCEL => return,
            _ => (Req::Plain, true),
        };
        let pending = self.pending(
            Cmd::V1(blk.cmd),
            logged,
            u64::from(h.uid),
            u32::from(h.tid),
            req,
        );
        self.add_pending(PKey::V1(h.mid, blk.cmd), pending, cx);
    }

    fn smb1_response(
        &mut self,
        h: &Header,
        m: &[u8],
        blk: &Block<'_>,
        avail: usize,
        cx: &mut Cx<'_>,
    ) {
        let w = blk.words;
        let p = match self.take_pending(PKey::V1(h.mid, blk.cmd)) {
            Some(p) => p,
            None => {
                let logged = !matches!(blk.cmd, READ_ANDX | WRITE_ANDX | READ | WRITE | NT_CANCEL);
                self.pending(
                    Cmd::V1(blk.cmd),
                    logged,
                    u64::from(h.uid),
                    u32::from(h.tid),
                    Req::Plain,
                )
            }
        };
        let ok = h.status.ok();
        let session_id = u64::from(h.uid);
        let tree_id = u32::from(h.tid);
        let target = match &p.req {
            Req::File { target, .. } => self.resolve(*target),
            _ => None,
        };
        let mut ev = serde_json::Map::new();
        if p.logged {
            ev = self.head(&p, Some(h.status), session_id, tree_id);
            self.request_fields(&mut ev, &p);
        }
        match blk.cmd {
            NEGOTIATE => {
                if let (true, Some(idx), Req::Negotiate { dialects, .. }) =
                    (ok, u16_at(w, 0), &p.req)
                {
                    if let Some(d) = dialects.get(usize::from(idx)) {
                        self.dialect = Some(d.clone());
                        ev.insert("dialect".into(), json!(d));
                    }
                }
                // Extended security: the server GUID opens the byte section.
                if w.len() == 34 && u32_at(w, 19).unwrap_or(0) & 0x8000_0000 != 0 {
                    if let Some(g) = arr16_at(m, blk.bytes_off) {
                        ev.insert("server_guid".into(), json!(super::names::guid(&g)));
                    }
                }
            }
            SESSION_SETUP_ANDX => {
                let strings_off = match w.len() {
                    8 => blk.bytes_off + usize::from(u16_at(w, 6).unwrap_or(0)),
                    _ => blk.bytes_off,
                };
                if w.len() >= 6 {
                    if let Some((os, lm)) = native_strings(m, strings_off, h.unicode) {
                        ev.insert("response".into(), json!({"native_os": os, "native_lm": lm}));
                    }
                }
            }
            TREE_CONNECT_ANDX => {
                let service = if w.len() >= 6 {
                    oem(clip(m, blk.bytes_off, blk.bytes_len))
                } else {
                    String::new()
                };
                let kind = match service.as_str() {
                    "A:" => 1,
                    "IPC" => 2,
                    "LPT1:" => 3,
                    _ => 0,
                };
                if p.logged {
                    ev.insert("share_type".into(), json!(super::names::share_type(kind)));
                }
                if let Req::TreeConnect { path } = &p.req {
                    if kind == 2 {
                        ev.remove("share");
                        ev.insert("named_pipe".into(), json!(path));
                    }
                    if ok {
                        let tree = Tree {
                            share: path.clone(),
                            pipe: kind == 2,
                        };
                        self.add_tree(session_id, tree_id, tree);
                    }
                }
            }
            NT_CREATE_ANDX => {
                if let (true, Some(fid)) = (ok && w.len() >= 68, u16_at(w, 5)) {
                    let key = FileKey::V1(fid);
                    let opened = Opened {
                        key,
                        times: [11, 19, 27, 35].map(|o| u64_at(w, o).unwrap_or(0)),
                        size: u64_at(w, 55).unwrap_or(0),
                    };
                    self.created(&mut ev, &opened, &p, session_id, tree_id, cx);
                }
            }
            CLOSE => {
                self.emit(ev, cx);
                self.close_file(target, cx);
                return;
            }
            READ_ANDX if ok && w.len() >= 16 => {
                let len = u64::from(u16_at(w, 10).unwrap_or(0))
                    | (u64::from(u16_at(w, 14).unwrap_or(0)) << 16);
                let data_off = usize::from(u16_at(w, 12).unwrap_or(0));
                self.add_read(target, len.min(avail.saturating_sub(data_off) as u64), cx);
            }
            WRITE_ANDX => {
                if let Req::File { write, .. } = p.req {
                    self.add_written(target, write, cx);
                }
            }
            _ => {}
        }
        if p.logged {
            self.emit(ev, cx);
        }
    }
}

/// NativeOS and NativeLanMan of a session setup, if present.
fn native_strings(m: &[u8], off: usize, unicode: bool) -> Option<(String, String)> {
    if off >= m.len() {
        return None;
    }
    let (os, next) = string_at(m, off, unicode);
    let (lm, _) = string_at(m, next, unicode);
    Some((os, lm))
}
