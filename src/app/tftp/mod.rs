//! TFTP (RFC 1350, options RFC 2347-2349). A read or write request goes to the server's
//! well-known port; the server answers from a new port, so the transfer is a second UDP
//! flow, announced here as an [`Expectation`] and parsed by the same [`TftpParser`].

#[cfg(test)]
mod tests;

use memchr::memchr;
use serde_json::{json, Map, Value};

use super::{AppEvent, AppProto, Cx, Direction, Expectation, Parser, Probe, Transport};

const RRQ: u16 = 1;
const WRQ: u16 = 2;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;

const MODES: &[&[u8]] = &[b"netascii", b"octet", b"mail"];
/// RFC 1350 block size, unless an OACK negotiates another (RFC 2348).
const DEFAULT_BLKSIZE: u64 = 512;
/// Bounds on what is logged from the wire.
const MAX_NAME: usize = 1024;
const MAX_OPTIONS: usize = 8;
const MAX_OPTION_TEXT: usize = 64;
const MAX_ERROR_TEXT: usize = 256;
/// NULs tolerated between the file name and the mode.
const MAX_PADDING: usize = 32;

/// Probe the first datagram of a UDP flow: only a read/write request identifies TFTP (opcode,
/// NUL-terminated file name, a known NUL-terminated mode, optional NUL-terminated options).
/// Transfer flows are recognised through the request's expectation, never by content.
pub fn probe(dir: Direction, data: &[u8], transport: Transport) -> Probe {
    if transport != Transport::Udp || dir != Direction::ToServer {
        return Probe::NoMatch;
    }
    if data.is_empty() {
        return Probe::NeedMore;
    }
    match parse_request(data) {
        Some(_) => Probe::Match,
        None => Probe::NoMatch,
    }
}

struct Request<'a> {
    write: bool,
    filename: &'a [u8],
    mode: &'a [u8],
    /// NUL-terminated name/value strings.
    options: &'a [u8],
}

fn parse_request(d: &[u8]) -> Option<Request<'_>> {
    let write = match opcode(d)? {
        RRQ => false,
        WRQ => true,
        _ => return None,
    };
    let rest = &d[2..];
    let end = memchr(0, rest)?;
    let filename = &rest[..end];
    if filename.iter().any(|b| *b < 0x20 || *b == 0x7f) {
        return None;
    }
    // Some clients pad the name with NULs (ndpi__tftp.pcap): the mode is the next string.
    let rest = &rest[end + 1..];
    let pad = rest.iter().take_while(|b| **b == 0).count();
    if pad > MAX_PADDING {
        return None;
    }
    let rest = &rest[pad..];
    let end = memchr(0, rest)?;
    let mode = &rest[..end];
    if !MODES.iter().any(|m| m.eq_ignore_ascii_case(mode)) {
        return None;
    }
    let options = &rest[end + 1..];
    if options.last().is_some_and(|b| *b != 0) {
        return None;
    }
    Some(Request {
        write,
        filename,
        mode,
        options,
    })
}

fn opcode(d: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(..2)?.try_into().ok()?))
}

/// Name/value pairs of a NUL-separated option list.
fn options(raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut it = raw.split(|b| *b == 0);
    std::iter::from_fn(move || {
        let name = it.next().filter(|n| !n.is_empty())?;
        Some((name, it.next()?))
    })
}

/// Parser for both TFTP flows. On the request flow: one `tftp` event per request (a
/// retransmitted request is not logged again) and an expectation for the transfer. On the
/// transfer flow (opened from that expectation), or a request flow the server answers from
/// its well-known port: DATA/ACK/ERROR are counted and, at the end, a `tftp` event for the
/// transfer plus a `fileinfo` for the file.
#[derive(Default)]
pub struct TftpParser {
    /// Whether the flow came from an expectation; decided on the first datagram.
    transfer_flow: Option<bool>,
    /// Last request logged: (write, file name, mode).
    last_request: Option<(bool, String, String)>,
    xfer: Xfer,
    malformed: u64,
    done: bool,
}

#[derive(Default)]
struct Xfer {
    /// DATA, ACK, ERROR and OACK datagrams.
    packets: u64,
    /// DATA payload bytes per flow direction, each block once.
    data_bytes: [u64; 2],
    blocks: u64,
    /// DATA blocks sent again (same number as the previous one): not counted twice.
    retransmits: u64,
    last_block: [Option<u16>; 2],
    acks: u64,
    error: Option<(u16, String)>,
    /// Negotiated by OACK; 0 = default.
    blksize: u64,
    /// A DATA block shorter than the block size ends the transfer.
    complete: bool,
    /// Direction of the first DATA block.
    data_dir: Option<Direction>,
}

impl Parser for TftpParser {
    fn parse(&mut self, dir: Direction, data: &[u8], cx: &mut Cx<'_>) {
        let transfer_flow = *self.transfer_flow.get_or_insert(cx.expected.is_some());
        let valid = match opcode(data) {
            Some(RRQ | WRQ) if !transfer_flow && dir == Direction::ToServer => {
                self.request(data, cx)
            }
            Some(_) => self.xfer.packet(dir, data),
            None => false,
        };
        if !valid {
            self.malformed += 1;
        }
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        match self.transfer_flow {
            Some(true) => {
                let e = cx.expected;
                let (file, upload, parent) = (
                    e.and_then(|e| e.filename.clone()),
                    e.and_then(|e| e.upload),
                    e.map(|e| e.parent_flow_id),
                );
                self.transfer_events(file, upload, parent, true, cx);
            }
            Some(false) if self.xfer.packets > 0 => {
                let (upload, file) = match &self.last_request {
                    Some((write, file, _)) => (Some(*write), Some(file.clone())),
                    None => (None, None),
                };
                self.transfer_events(file, upload, Some(cx.flow_id), false, cx);
            }
            _ => {}
        }
    }
}

impl TftpParser {
    /// False if `data` is not a well-formed request.
    fn request(&mut self, data: &[u8], cx: &mut Cx<'_>) -> bool {
        let Some(req) = parse_request(data) else {
            return false;
        };
        let file = text(req.filename, MAX_NAME);
        let mode = text(req.mode, MAX_NAME);
        let key = (req.write, file.clone(), mode.clone());
        if self.last_request.as_ref() == Some(&key) {
            return true; // the client retransmitted its request
        }
        let packet = if req.write { "write" } else { "read" };
        let mut ev = AppEvent::new(
            cx.ts_us,
            "tftp",
            json!({"packet": packet, "file": file, "mode": mode}),
        );
        let opts: Map<String, Value> = options(req.options)
            .take(MAX_OPTIONS)
            .map(|(k, v)| {
                let k = text(k, MAX_OPTION_TEXT).to_ascii_lowercase();
                (k, text(v, MAX_OPTION_TEXT).into())
            })
            .collect();
        if !opts.is_empty() {
            // tsize in a write request announces the upload's size (RFC 2349).
            ev = ev.with_exfil(json!({"options": opts}));
        }
        cx.events.push(ev);
        // The server answers from a new port to the client's port.
        cx.expect.push(Expectation {
            proto: 17,
            src: Some(cx.server.0),
            dst: cx.client.0,
            dport: cx.client.1,
            app: AppProto::Tftp,
            parent_flow_id: cx.flow_id,
            ts_us: cx.ts_us,
            filename: Some(file.clone()),
            upload: Some(req.write),
        });
        self.last_request = Some(key);
        true
    }

    /// `server_is_client`: on a transfer flow the TFTP server sent the first datagram, so
    /// it is the flow's client; used only when the request (read or write) is unknown.
    fn transfer_events(
        &self,
        file: Option<String>,
        upload: Option<bool>,
        parent: Option<u64>,
        server_is_client: bool,
        cx: &mut Cx<'_>,
    ) {
        let x = &self.xfer;
        let upload = upload.or_else(|| {
            x.data_dir
                .map(|d| (d == Direction::ToServer) != server_is_client)
        });
        let mut body = Map::new();
        if let Some(u) = upload {
            body.insert("packet".into(), if u { "write" } else { "read" }.into());
        }
        if let Some(f) = &file {
            body.insert("file".into(), f.clone().into());
        }
        let size = x.data_bytes[0] + x.data_bytes[1];
        let mut exfil = json!({
            "bytes_data": size,
            "blocks": x.blocks,
            "bytes_toserver": x.data_bytes[0],
            "bytes_toclient": x.data_bytes[1],
            "acks": x.acks,
            "retransmits": x.retransmits,
        });
        if let Some(p) = parent {
            exfil["parent_flow_id"] = json!(p);
        }
        if let Some(u) = upload {
            exfil["direction"] = json!(if u { "upload" } else { "download" });
        }
        if let Some((code, msg)) = &x.error {
            exfil["error"] = json!(msg);
            exfil["error_code"] = json!(code);
        }
        if self.malformed > 0 {
            exfil["malformed"] = json!(self.malformed);
        }
        cx.events
            .push(AppEvent::new(cx.ts_us, "tftp", Value::Object(body)).with_exfil(exfil.clone()));
        if x.blocks == 0 {
            return;
        }
        let state = if x.error.is_some() {
            "ERROR"
        } else if x.complete {
            "CLOSED"
        } else {
            "TRUNCATED"
        };
        let mut info = json!({
            "size": size,
            "state": state,
            "stored": false,
            "gaps": false,
            "tx_id": 0,
        });
        if let Some(f) = file {
            info["filename"] = json!(f);
        }
        let ev = AppEvent::with_fields(
            cx.ts_us,
            "fileinfo",
            json!({"app_proto": "tftp", "fileinfo": info}),
        );
        cx.events.push(ev.with_exfil(exfil));
    }
}

impl Xfer {
    /// Count a DATA/ACK/ERROR/OACK datagram; false if it is none of those, or too short.
    fn packet(&mut self, dir: Direction, d: &[u8]) -> bool {
        let block = d.get(2..4).map(|b| u16::from_be_bytes([b[0], b[1]]));
        match (opcode(d), block) {
            (Some(DATA), Some(block)) => {
                let i = dir as usize;
                if self.last_block[i] == Some(block) {
                    self.retransmits += 1;
                } else {
                    self.last_block[i] = Some(block);
                    self.data_dir.get_or_insert(dir);
                    self.blocks += 1;
                    let len = (d.len() - 4) as u64;
                    self.data_bytes[i] += len;
                    let blksize = if self.blksize == 0 {
                        DEFAULT_BLKSIZE
                    } else {
                        self.blksize
                    };
                    self.complete |= len < blksize;
                }
            }
            (Some(ACK), Some(_)) => self.acks += 1,
            (Some(ERROR), Some(code)) => {
                if self.error.is_none() {
                    let msg = &d[4..];
                    let msg = &msg[..memchr(0, msg).unwrap_or(msg.len())];
                    self.error = Some((code, text(msg, MAX_ERROR_TEXT)));
                }
            }
            (Some(OACK), _) => {
                let blksize = options(&d[2..])
                    .find(|(k, _)| k.eq_ignore_ascii_case(b"blksize"))
                    .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
                if let Some(b) = blksize.filter(|b| (8..=65464).contains(b)) {
                    self.blksize = b;
                }
            }
            _ => return false,
        }
        self.packets += 1;
        true
    }
}

/// Wire bytes as text (invalid UTF-8 replaced), from at most `max` of them.
fn text(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned()
}
