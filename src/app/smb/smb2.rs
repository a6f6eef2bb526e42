//! SMB2/3 messages (MS-SMB2 2.2): compound chains, requests remembered by MessageId,
//! responses turned into events and per-file byte counts.

use super::names::{arr16_at, clip, smb2_dialect, u16_at, u32_at, u64_at, u8_at, utf16};
use super::ntlmssp;
use super::state::{Cmd, FileKey, Flow, Opened, PKey, Req, SetInfo, Status, Target, Tree};
use super::stream::Piece;
use crate::app::Cx;
use serde_json::json;

const HDR: usize = 64;
const FLAG_RESPONSE: u32 = 0x1;
const FLAG_ASYNC: u32 = 0x2;
const FLAG_RELATED: u32 = 0x4;
const STATUS_PENDING: u32 = 0x103;
const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;
/// FileId meaning "the handle the previous request of this compound opened".
const FID_PREVIOUS: [u8; 16] = [0xff; 16];

const NEGOTIATE: u16 = 0x00;
const SESSION_SETUP: u16 = 0x01;
const TREE_CONNECT: u16 = 0x03;
const CREATE: u16 = 0x05;
const CLOSE: u16 = 0x06;
const FLUSH: u16 = 0x07;
const READ: u16 = 0x08;
const WRITE: u16 = 0x09;
const LOCK: u16 = 0x0a;
const IOCTL: u16 = 0x0b;
const CANCEL: u16 = 0x0c;
const FIND: u16 = 0x0e;
const CHANGE_NOTIFY: u16 = 0x0f;
const GET_INFO: u16 = 0x10;
const SET_INFO: u16 = 0x11;
const OPLOCK_BREAK: u16 = 0x12;

/// Compound-chain context of one direction, reset at each NetBIOS frame.
#[derive(Debug, Default)]
pub(super) struct Chain {
    last_create: Option<u64>,
}

struct Header {
    command: u16,
    status: u32,
    flags: u32,
    next: usize,
    msg_id: u64,
    tree_id: u32,
    session_id: u64,
}

impl Header {
    fn parse(m: &[u8]) -> Option<Header> {
        if m.get(..4)? != b"\xfeSMB" || m.len() < HDR {
            return None;
        }
        let flags = u32_at(m, 16)?;
        Some(Header {
            command: u16_at(m, 12)?,
            status: u32_at(m, 8)?,
            flags,
            next: u32_at(m, 20)? as usize,
            msg_id: u64_at(m, 24)?,
            // Async messages carry an AsyncId where the TreeId would be.
            tree_id: if flags & FLAG_ASYNC != 0 {
                0
            } else {
                u32_at(m, 36)?
            },
            session_id: u64_at(m, 40)?,
        })
    }
}

impl Flow {
    /// Walks the SMB2 messages of a piece; returns where a message that is not fully in
    /// the piece starts, so the framing layer can buffer it.
    pub(super) fn smb2_piece(
        &mut self,
        p: &Piece<'_>,
        chain: &mut Chain,
        cx: &mut Cx<'_>,
    ) -> Option<usize> {
        if p.first {
            *chain = Chain::default();
        }
        let partial = p.buf.len() < p.avail;
        let mut o = 0;
        loop {
            let h = Header::parse(&p.buf[o..])?;
            let msg_avail = if h.next >= HDR {
                h.next.min(p.avail - o)
            } else {
                p.avail - o
            };
            let m = &p.buf[o..(o + msg_avail).min(p.buf.len())];
            if m.len() < msg_avail && !super::stream::is_bulk(m) {
                self.truncated += 1;
            }
            if h.flags & FLAG_RESPONSE != 0 {
                self.response(&h, m, msg_avail, cx);
            } else {
                self.request(&h, m, msg_avail, chain, cx);
            }
            if h.next < HDR {
                return None;
            }
            let n = o.checked_add(h.next)?;
            if n >= p.avail {
                return None;
            }
            if partial {
                // Is the next message wholly inside what we have?
                let end = match u32_at(p.buf, n + 20) {
                    Some(nc) if nc as usize >= HDR => n.saturating_add(nc as usize),
                    Some(_) => p.avail,
                    None => usize::MAX,
                };
                if end > p.buf.len() {
                    return Some(n);
                }
            }
            o = n;
        }
    }

    fn request(
        &mut self,
        h: &Header,
        m: &[u8],
        msg_avail: usize,
        chain: &mut Chain,
        cx: &mut Cx<'_>,
    ) {
        let b = m.get(HDR..).unwrap_or(&[]);
        let target = |off: usize| -> Target {
            match arr16_at(b, off) {
                Some(FID_PREVIOUS) if h.flags & FLAG_RELATED != 0 => Target {
                    fid: None,
                    related: chain.last_create,
                },
                Some(fid) => Target {
                    fid: Some(FileKey::V2(fid)),
                    related: None,
                },
                None => Target::default(),
            }
        };
        let file = |t: Target| Req::File {
            target: t,
            write: 0,
            set: None,
        };
        let (req, logged) = match h.command {
            NEGOTIATE => {
                let count = usize::from(u16_at(b, 2).unwrap_or(0)).min(64);
                let dialects = (0..count)
                    .filter_map(|i| u16_at(b, 36 + 2 * i))
                    .map(smb2_dialect)
                    .collect();
                let client_guid = arr16_at(b, 12).map(|g| super::names::guid(&g));
                (
                    Req::Negotiate {
                        dialects,
                        client_guid,
                    },
                    true,
                )
            }
            SESSION_SETUP => {
                let blob = clip(m, offset(b, 12), usize::from(u16_at(b, 14).unwrap_or(0)));
                let auth = ntlmssp::parse_auth(blob);
                (Req::SessionSetup { auth, native: None }, true)
            }
            TREE_CONNECT => {
                let path = utf16(clip(
                    m,
                    offset(b, 4),
                    usize::from(u16_at(b, 6).unwrap_or(0)),
                ));
                (Req::TreeConnect { path }, true)
            }
            CREATE => {
                chain.last_create = Some(h.msg_id);
                let name = utf16(clip(
                    m,
                    offset(b, 44),
                    usize::from(u16_at(b, 46).unwrap_or(0)),
                ));
                let req = Req::Create {
                    name,
                    disposition: u32_at(b, 36).unwrap_or(0),
                    delete_on_close: u32_at(b, 40).unwrap_or(0) & 0x1000 != 0,
                };
                (req, true)
            }
            CLOSE | FLUSH | LOCK | IOCTL | FIND | CHANGE_NOTIFY => (file(target(8)), true),
            READ => (file(target(16)), false),
            WRITE => {
                let data_off = usize::from(u16_at(b, 2).unwrap_or(0));
                let len = u64::from(u32_at(b, 4).unwrap_or(0));
                // Never believe a length beyond what the message carries.
                let len = len.min(msg_avail.saturating_sub(data_off) as u64);
                let req = Req::File {
                    target: target(16),
                    write: len,
                    set: None,
                };
                (req, false)
            }
            SET_INFO => {
                let set = set_info(m, b);
                let logged = set.is_some();
                if !logged {
                    return;
                }
                let req = Req::File {
                    target: target(16),
                    write: 0,
                    set,
                };
                (req, logged)
            }
            GET_INFO | CANCEL | OPLOCK_BREAK => return,
            _ => (Req::Plain, true),
        };
        let pending = self.pending(Cmd::V2(h.command), logged, h.session_id, h.tree_id, req);
        self.add_pending(PKey::V2(h.msg_id), pending, cx);
    }

    fn response(&mut self, h: &Header, m: &[u8], msg_avail: usize, cx: &mut Cx<'_>) {
        if h.status == STATUS_PENDING && h.flags & FLAG_ASYNC != 0 {
            return; // interim: the final response follows with the same MessageId
        }
        let b = m.get(HDR..).unwrap_or(&[]);
        let status = Status::Nt(h.status);
        let mut p = self.take_pending(PKey::V2(h.msg_id));
        if p.as_ref().is_some_and(|p| p.cmd != Cmd::V2(h.command)) {
            // MessageId answered by another command: report that request unanswered.
            if let Some(old) = p.take() {
                self.unanswered(old, cx);
            }
        }
        if h.command == NEGOTIATE && p.is_none() {
            // The answer to an SMB1 multi-protocol NEGOTIATE.
            p = self.take_smb1_negotiate();
        }
        let p = match p {
            Some(p) => p,
            None => {
                let logged = !matches!(
                    h.command,
                    READ | WRITE | GET_INFO | CANCEL | OPLOCK_BREAK | SET_INFO
                );
                self.pending(
                    Cmd::V2(h.command),
                    logged,
                    h.session_id,
                    h.tree_id,
                    Req::Plain,
                )
            }
        };
        let session_id = if h.session_id != 0 {
            h.session_id
        } else {
            p.session_id
        };
        let tree_id = if h.tree_id != 0 { h.tree_id } else { p.tree_id };
        let target = match &p.req {
            Req::File { target, .. } => self.resolve(*target),
            _ => None,
        };
        let mut ev = serde_json::Map::new();
        if p.logged {
            ev = self.head(&p, Some(status), session_id, tree_id);
            self.request_fields(&mut ev, &p);
        }
        match h.command {
            NEGOTIATE => {
                if let Some(rev) = u16_at(b, 4).filter(|_| status.ok()) {
                    self.dialect = Some(smb2_dialect(rev));
                    ev.insert("dialect".into(), json!(self.dialect_str()));
                }
                if let Some(g) = arr16_at(b, 8) {
                    ev.insert("server_guid".into(), json!(super::names::guid(&g)));
                }
                if let (Some(r), Some(w)) = (u32_at(b, 32), u32_at(b, 36)) {
                    ev.insert("max_read_size".into(), json!(r));
                    ev.insert("max_write_size".into(), json!(w));
                }
            }
            TREE_CONNECT => {
                let kind = u8_at(b, 2).unwrap_or(0);
                ev.insert("share_type".into(), json!(super::names::share_type(kind)));
                if let Req::TreeConnect { path } = &p.req {
                    if kind == 2 {
                        ev.remove("share");
                        ev.insert("named_pipe".into(), json!(path));
                    }
                    if status.ok() {
                        let tree = Tree {
                            share: path.clone(),
                            pipe: kind == 2,
                        };
                        self.add_tree(session_id, h.tree_id, tree);
                    }
                }
            }
            CREATE => {
                if let (true, Some(fid)) = (status.ok(), arr16_at(b, 64)) {
                    let key = FileKey::V2(fid);
                    self.remember_create(h.msg_id, fid);
                    let opened = Opened {
                        key,
                        times: [8, 16, 24, 32].map(|o| u64_at(b, o).unwrap_or(0)),
                        size: u64_at(b, 48).unwrap_or(0),
                    };
                    self.created(&mut ev, &opened, &p, session_id, tree_id, cx);
                }
            }
            CLOSE => {
                self.emit(ev, cx);
                self.close_file(target, cx);
                return;
            }
            READ if status.ok() || h.status == STATUS_BUFFER_OVERFLOW => {
                let data_off = usize::from(u8_at(b, 2).unwrap_or(0));
                let len = u64::from(u32_at(b, 4).unwrap_or(0));
                let len = len.min(msg_avail.saturating_sub(data_off) as u64);
                self.add_read(target, len, cx);
            }
            WRITE => {
                if let Req::File { write, .. } = p.req {
                    self.add_written(target, write, cx);
                }
            }
            SET_INFO => {
                if let Req::File {
                    set: Some(SetInfo::Delete),
                    ..
                } = p.req
                {
                    if status.ok() {
                        self.mark_deleted(target);
                    }
                }
            }
            _ => {}
        }
        if p.logged {
            self.emit(ev, cx);
        }
    }
}

/// A header-relative offset field of the body, as usize.
fn offset(b: &[u8], off: usize) -> usize {
    usize::from(u16_at(b, off).unwrap_or(0))
}

/// SET_INFO requests worth an event: rename and delete.
fn set_info(m: &[u8], b: &[u8]) -> Option<SetInfo> {
    const INFO_FILE: u8 = 1;
    const RENAME: u8 = 10;
    const DISPOSITION: u8 = 13;
    const DISPOSITION_EX: u8 = 64;
    if u8_at(b, 2)? != INFO_FILE {
        return None;
    }
    let buf = clip(m, offset(b, 8), u32_at(b, 4)? as usize);
    match u8_at(b, 3)? {
        RENAME => {
            let len = u32_at(buf, 16)? as usize;
            Some(SetInfo::Rename(utf16(clip(buf, 20, len))))
        }
        DISPOSITION if u8_at(buf, 0)? != 0 => Some(SetInfo::Delete),
        DISPOSITION_EX if u32_at(buf, 0)? & 1 != 0 => Some(SetInfo::Delete),
        _ => None,
    }
}
