//! Per-flow SMB state shared by the SMB1 and SMB2 decoders: requests waiting for their
//! response, trees (shares) and open files with their byte counts, and the events built
//! from them. Every table is bounded; what falls out is still reported.

use super::aged::Aged;
use super::names::{guid, nt_status, smb1_command, smb2_command};
use super::ntlmssp::Auth;
use crate::app::{AppEvent, Cx, Direction};
use hashbrown::HashMap;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;

/// Requests awaiting a response; past this the oldest is reported unanswered.
const MAX_PENDING: usize = 1024;
/// Open files tracked; past this the oldest is reported as truncated.
const MAX_FILES: usize = 4096;
const MAX_TREES: usize = 1024;
/// Distinct share names listed in the flow summary.
const MAX_SHARES: usize = 32;
/// CREATE results remembered for related (compounded) requests using FileId -1.
const RECENT_CREATES: usize = 64;

/// A file handle: SMB2 FileId or SMB1 FID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum FileKey {
    V1(u16),
    V2([u8; 16]),
}

impl FileKey {
    /// Suricata's `fuid`: SMB2 FileId as a GUID, SMB1 FID as hex.
    pub fn fuid(&self) -> String {
        match self {
            FileKey::V1(fid) => format!("0x{fid:04x}"),
            FileKey::V2(g) => guid(g),
        }
    }
}

/// Request → response matching: SMB2 MessageId, or SMB1 (MID, command) since AndX
/// chains carry several commands under one MID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum PKey {
    V1(u16, u8),
    V2(u64),
}

/// A command code; named only when an event is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmd {
    V1(u8),
    V2(u16),
}

impl Cmd {
    fn name(self) -> String {
        match self {
            Cmd::V1(c) => smb1_command(c),
            Cmd::V2(c) => smb2_command(c),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    Nt(u32),
    /// SMB1 DOS error class and code.
    Dos(u8, u16),
}

impl Status {
    pub fn ok(self) -> bool {
        matches!(self, Status::Nt(0) | Status::Dos(0, 0))
    }

    fn put(self, m: &mut Map<String, Value>) {
        let (status, code) = match self {
            Status::Nt(c) => (nt_status(c), format!("0x{c:x}")),
            Status::Dos(0, 0) => (nt_status(0), "0x0".to_string()),
            Status::Dos(class, code) => (
                format!("DOS_ERROR_CLASS_{class}_CODE_{code}"),
                format!("0x{class:02x}{code:04x}"),
            ),
        };
        m.insert("status".into(), json!(status));
        m.insert("status_code".into(), json!(code));
    }
}

/// Which handle a request works on; `related` names the CREATE (by MessageId) of the same
/// compound chain when the FileId is the "use the previous one" placeholder.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Target {
    pub fid: Option<FileKey>,
    pub related: Option<u64>,
}

#[derive(Clone, Debug)]
pub(super) enum SetInfo {
    Rename(String),
    Delete,
}

/// What a request told us that its response does not repeat.
#[derive(Clone, Debug)]
pub(super) enum Req {
    Plain,
    Negotiate {
        dialects: Vec<String>,
        client_guid: Option<String>,
    },
    SessionSetup {
        auth: Option<Auth>,
        native: Option<(String, String)>,
    },
    TreeConnect {
        path: String,
    },
    Create {
        name: String,
        disposition: u32,
        delete_on_close: bool,
    },
    /// CLOSE, READ, WRITE (with its payload size), SET_INFO and other handle commands.
    File {
        target: Target,
        write: u64,
        set: Option<SetInfo>,
    },
}

#[derive(Clone, Debug)]
pub(super) struct Pending {
    /// Transaction id (`smb.id`); 0 for transactions that get no event.
    pub id: u64,
    pub cmd: Cmd,
    /// Whether this transaction gets an `smb` event (READ/WRITE are aggregated instead).
    pub logged: bool,
    pub session_id: u64,
    pub tree_id: u32,
    pub req: Req,
}

#[derive(Clone, Debug)]
pub(super) struct Tree {
    pub share: String,
    pub pipe: bool,
}

#[derive(Clone, Debug, Default)]
pub(super) struct File {
    pub tx_id: u64,
    pub name: Option<String>,
    pub share: Option<String>,
    pub pipe: bool,
    pub written: u64,
    pub read: u64,
    pub gaps: bool,
    pub deleted: bool,
}

/// What a successful CREATE / NT_CREATE_ANDX response adds to the event.
pub(super) struct Opened {
    pub key: FileKey,
    pub times: [u64; 4],
    pub size: u64,
}

#[derive(Debug, Default)]
pub(super) struct Flow {
    next_id: u64,
    pub dialect: Option<String>,
    trees: HashMap<(u64, u32), Tree>,
    files: Aged<FileKey, File>,
    pending: Aged<PKey, Pending>,
    recent_creates: VecDeque<(u64, [u8; 16])>,
    shares: Vec<String>,
    files_logged: u64,
    bytes_written: u64,
    bytes_read: u64,
    /// Payload of SMB3 transform (encrypted) and compressed frames per direction.
    pub encrypted_bytes: [u64; 2],
    pub compressed_bytes: [u64; 2],
    pub gaps: u64,
    /// Messages (other than READ/WRITE data) cut short by the buffering cap.
    pub truncated: u64,
}

impl Flow {
    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A transaction for `cmd`; only logged ones take an id.
    pub fn pending(
        &mut self,
        cmd: Cmd,
        logged: bool,
        session_id: u64,
        tree_id: u32,
        req: Req,
    ) -> Pending {
        Pending {
            id: if logged { self.new_id() } else { 0 },
            cmd,
            logged,
            session_id,
            tree_id,
            req,
        }
    }

    pub fn dialect_str(&self) -> String {
        self.dialect.clone().unwrap_or_else(|| "unknown".into())
    }

    pub fn add_pending(&mut self, key: PKey, p: Pending, cx: &mut Cx<'_>) {
        if self.pending.len() >= MAX_PENDING && !self.pending.contains(&key) {
            if let Some((_, old)) = self.pending.pop_oldest() {
                self.unanswered(old, cx);
            }
        }
        if let Some(old) = self.pending.insert(key, p) {
            self.unanswered(old, cx);
        }
    }

    pub fn take_pending(&mut self, key: PKey) -> Option<Pending> {
        self.pending.remove(&key)
    }

    /// An SMB1 NEGOTIATE still waiting: an SMB2 NEGOTIATE response may answer it.
    pub fn take_smb1_negotiate(&mut self) -> Option<Pending> {
        let key = *self
            .pending
            .keys()
            .find(|k| matches!(k, PKey::V1(_, 0x72)))?;
        self.pending.remove(&key)
    }

    pub fn tree(&self, session_id: u64, tree_id: u32) -> Option<&Tree> {
        self.trees.get(&(session_id, tree_id))
    }

    pub fn add_tree(&mut self, session_id: u64, tree_id: u32, tree: Tree) {
        if self.trees.len() >= MAX_TREES && !self.trees.contains_key(&(session_id, tree_id)) {
            return;
        }
        if !tree.pipe && self.shares.len() < MAX_SHARES && !self.shares.contains(&tree.share) {
            self.shares.push(tree.share.clone());
        }
        self.trees.insert((session_id, tree_id), tree);
    }

    pub fn remember_create(&mut self, msg_id: u64, fid: [u8; 16]) {
        if self.recent_creates.len() == RECENT_CREATES {
            self.recent_creates.pop_front();
        }
        self.recent_creates.push_back((msg_id, fid));
    }

    pub fn resolve(&self, t: Target) -> Option<FileKey> {
        t.fid.or_else(|| {
            let m = t.related?;
            let (_, fid) = self.recent_creates.iter().rev().find(|(id, _)| *id == m)?;
            Some(FileKey::V2(*fid))
        })
    }

    pub fn file_name(&self, key: Option<FileKey>) -> Option<&str> {
        self.files.get(&key?)?.name.as_deref()
    }

    /// Starts tracking a handle opened by CREATE on the given tree.
    pub fn open_file(
        &mut self,
        key: FileKey,
        tx_id: u64,
        name: &str,
        tree: Option<&Tree>,
        cx: &mut Cx<'_>,
    ) {
        let file = File {
            tx_id,
            name: Some(shown_name(name).to_string()),
            share: tree.map(|t| t.share.clone()),
            pipe: tree.is_some_and(|t| t.pipe),
            ..File::default()
        };
        if let Some(old) = self.insert_file(key, file, cx) {
            self.file_done(key, old, "TRUNCATED", cx);
        }
    }

    fn insert_file(&mut self, key: FileKey, file: File, cx: &mut Cx<'_>) -> Option<File> {
        if self.files.len() >= MAX_FILES && !self.files.contains(&key) {
            if let Some((k, f)) = self.files.pop_oldest() {
                self.file_done(k, f, "TRUNCATED", cx);
            }
        }
        self.files.insert(key, file)
    }

    /// Adds to the counts of a handle's file (tracking it from now on if it was opened
    /// before we started watching); false for named pipes, whose bytes are not file data.
    fn count(&mut self, key: Option<FileKey>, read: u64, written: u64, cx: &mut Cx<'_>) -> bool {
        let Some(key) = key else { return true };
        if let Some(f) = self.files.get_mut(&key) {
            f.read = f.read.saturating_add(read);
            f.written = f.written.saturating_add(written);
            return !f.pipe;
        }
        let file = File {
            tx_id: self.new_id(),
            read,
            written,
            ..File::default()
        };
        self.insert_file(key, file, cx);
        true
    }

    pub fn add_read(&mut self, key: Option<FileKey>, n: u64, cx: &mut Cx<'_>) {
        if self.count(key, n, 0, cx) {
            self.bytes_read = self.bytes_read.saturating_add(n);
        }
    }

    pub fn add_written(&mut self, key: Option<FileKey>, n: u64, cx: &mut Cx<'_>) {
        if self.count(key, 0, n, cx) {
            self.bytes_written = self.bytes_written.saturating_add(n);
        }
    }

    pub fn mark_deleted(&mut self, key: Option<FileKey>) {
        if let Some(f) = key.and_then(|k| self.files.get_mut(&k)) {
            f.deleted = true;
        }
    }

    pub fn mark_gaps(&mut self) {
        self.gaps += 1;
        for f in self.files.values_mut() {
            f.gaps = true;
        }
    }

    /// A handle was closed: stop tracking it and report the file if data moved.
    pub fn close_file(&mut self, key: Option<FileKey>, cx: &mut Cx<'_>) {
        if let Some(k) = key {
            if let Some(f) = self.files.remove(&k) {
                self.file_done(k, f, "CLOSED", cx);
            }
        }
    }

    /// `fileinfo` for a file whose data crossed the wire (opens for metadata, directories
    /// and named pipes carry none worth reporting).
    fn file_done(&mut self, key: FileKey, f: File, state: &str, cx: &mut Cx<'_>) {
        if f.pipe || (f.written == 0 && f.read == 0) {
            return;
        }
        self.files_logged += 1;
        let mut info = Map::new();
        if let Some(name) = &f.name {
            info.insert("filename".into(), json!(name));
        }
        info.insert("gaps".into(), json!(f.gaps));
        info.insert("state".into(), json!(state));
        info.insert("stored".into(), json!(false));
        info.insert("size".into(), json!(f.written.max(f.read)));
        info.insert("tx_id".into(), json!(f.tx_id));
        let ev = AppEvent::with_fields(
            cx.ts_us,
            "fileinfo",
            json!({"app_proto": "smb", "fileinfo": info}),
        );
        let mut ex = json!({
            "direction": if f.written >= f.read { "upload" } else { "download" },
            "bytes_written": f.written,
            "bytes_read": f.read,
            "bytes_toserver": f.written,
            "bytes_toclient": f.read,
            "fuid": key.fuid(),
        });
        if let Some(s) = &f.share {
            ex["share"] = json!(s);
        }
        if f.deleted {
            ex["deleted"] = json!(true);
        }
        cx.events.push(ev.with_exfil(ex));
    }

    /// The common head of an `smb` event.
    pub fn head(
        &self,
        p: &Pending,
        status: Option<Status>,
        session_id: u64,
        tree_id: u32,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(p.id));
        m.insert("dialect".into(), json!(self.dialect_str()));
        m.insert("command".into(), json!(p.cmd.name()));
        if let Some(s) = status {
            s.put(&mut m);
        }
        m.insert("session_id".into(), json!(session_id));
        m.insert("tree_id".into(), json!(tree_id));
        m
    }

    pub fn emit(&self, m: Map<String, Value>, cx: &mut Cx<'_>) {
        cx.events
            .push(AppEvent::new(cx.ts_us, "smb", Value::Object(m)));
    }

    /// Adds what the request knew (names, dialect offers, logon) to an event.
    pub fn request_fields(&self, m: &mut Map<String, Value>, p: &Pending) {
        match &p.req {
            Req::Plain => {}
            Req::Negotiate {
                dialects,
                client_guid,
            } => {
                if !dialects.is_empty() {
                    m.insert("client_dialects".into(), json!(dialects));
                }
                if let Some(g) = client_guid {
                    m.insert("client_guid".into(), json!(g));
                }
            }
            Req::SessionSetup { auth, native } => {
                if let Some(a) = auth {
                    m.insert("ntlmssp".into(), a.to_json());
                }
                if let Some((os, lm)) = native {
                    m.insert("request".into(), json!({"native_os": os, "native_lm": lm}));
                }
            }
            Req::TreeConnect { path } => {
                m.insert("share".into(), json!(path));
            }
            Req::Create {
                name,
                disposition,
                delete_on_close,
            } => {
                m.insert("filename".into(), json!(shown_name(name)));
                m.insert(
                    "disposition".into(),
                    json!(super::names::disposition(*disposition)),
                );
                let access = if *delete_on_close {
                    "delete on close"
                } else {
                    "normal"
                };
                m.insert("access".into(), json!(access));
            }
            Req::File { target, set, .. } => {
                let key = self.resolve(*target);
                if let Some(name) = self.file_name(key) {
                    m.insert("filename".into(), json!(name));
                }
                if let Some(k) = key {
                    m.insert("fuid".into(), json!(k.fuid()));
                }
                match set {
                    Some(SetInfo::Rename(to)) => {
                        let from = self.file_name(key).unwrap_or("");
                        m.insert("rename".into(), json!({"from": from, "to": to}));
                        m.insert(
                            "set_info".into(),
                            json!({"class": "FILE_INFO", "info_level": "SMB2_FILE_RENAME_INFO"}),
                        );
                    }
                    Some(SetInfo::Delete) => {
                        m.insert(
                            "set_info".into(),
                            json!({"class": "FILE_INFO", "info_level": "SMB2_FILE_DISPOSITION_INFO"}),
                        );
                    }
                    None => {}
                }
            }
        }
        if !m.contains_key("share") {
            if let Some(t) = self.tree(p.session_id, p.tree_id) {
                m.insert("share".into(), json!(t.share));
            }
        }
    }

    /// A successful CREATE / NT_CREATE_ANDX: log what it returned and start tracking the
    /// handle under the name the request asked for.
    pub fn created(
        &mut self,
        ev: &mut Map<String, Value>,
        opened: &Opened,
        p: &Pending,
        session_id: u64,
        tree_id: u32,
        cx: &mut Cx<'_>,
    ) {
        Flow::opened_fields(ev, opened);
        let name = match &p.req {
            Req::Create { name, .. } => name.clone(),
            _ => String::new(),
        };
        let tree = self.tree(session_id, tree_id).cloned();
        self.open_file(opened.key, p.id, &name, tree.as_ref(), cx);
    }

    /// CREATE result fields (Suricata's names), and the share of the tree.
    pub fn opened_fields(m: &mut Map<String, Value>, o: &Opened) {
        let [created, accessed, modified, changed] = o.times.map(super::names::filetime_to_unix);
        m.insert("created".into(), json!(created));
        m.insert("accessed".into(), json!(accessed));
        m.insert("modified".into(), json!(modified));
        m.insert("changed".into(), json!(changed));
        m.insert("size".into(), json!(o.size));
        m.insert("fuid".into(), json!(o.key.fuid()));
    }

    /// A request that never got its response (flow ended, table full, MID reused).
    pub fn unanswered(&mut self, p: Pending, cx: &mut Cx<'_>) {
        if let Req::File { target, write, .. } = &p.req {
            if *write > 0 {
                let key = self.resolve(*target);
                self.add_written(key, *write, cx);
            }
        }
        if p.logged {
            let mut m = self.head(&p, None, p.session_id, p.tree_id);
            self.request_fields(&mut m, &p);
            m.insert("request_done".into(), json!(true));
            m.insert("response_done".into(), json!(false));
            self.emit(m, cx);
        }
    }

    /// Flow end: unanswered requests, files still open, then the flow summary.
    pub fn finish(&mut self, desyncs: u64, cx: &mut Cx<'_>) {
        for (_, p) in self.pending.drain_in_order() {
            self.unanswered(p, cx);
        }
        for (k, f) in self.files.drain_in_order() {
            self.file_done(k, f, "TRUNCATED", cx);
        }
        let [enc_ts, enc_tc] = self.encrypted_bytes;
        let mut ex = json!({
            "summary": true,
            "dialect": self.dialect_str(),
            "shares": self.shares,
            "files": self.files_logged,
            "bytes_written": self.bytes_written,
            "bytes_read": self.bytes_read,
            "encrypted": enc_ts + enc_tc > 0,
            "encrypted_bytes_toserver": enc_ts,
            "encrypted_bytes_toclient": enc_tc,
            // Data moved: file payload where visible, the encrypted payload where not.
            "bytes_toserver": self.bytes_written.saturating_add(enc_ts),
            "bytes_toclient": self.bytes_read.saturating_add(enc_tc),
        });
        let [cmp_ts, cmp_tc] = self.compressed_bytes;
        if cmp_ts + cmp_tc > 0 {
            ex["compressed_bytes_toserver"] = json!(cmp_ts);
            ex["compressed_bytes_toclient"] = json!(cmp_tc);
        }
        for (name, n) in [
            ("gaps", self.gaps),
            ("truncated_messages", self.truncated),
            ("desyncs", desyncs),
        ] {
            if n > 0 {
                ex[name] = json!(n);
            }
        }
        let ev = AppEvent::new(cx.ts_us, "smb", json!({ "dialect": self.dialect_str() }));
        cx.events.push(ev.with_exfil(ex));
    }

    /// Counts an opaque (encrypted or compressed) frame.
    pub fn opaque(&mut self, magic: u8, dir: Direction, len: usize) {
        let slot = match magic {
            0xfd => &mut self.encrypted_bytes,
            _ => &mut self.compressed_bytes,
        };
        slot[dir as usize] = slot[dir as usize].saturating_add(len as u64);
    }
}

/// An empty CREATE name opens the share itself; Suricata and Zeek call it this.
fn shown_name(name: &str) -> &str {
    if name.is_empty() {
        "<share_root>"
    } else {
        name
    }
}
