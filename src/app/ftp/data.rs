//! FTP data connections: recognised only through the control channel's expectations, so
//! this parser never looks at content; it counts bytes and names the file at the end.

use serde_json::{json, Map, Value};

use super::Transfer;
use crate::app::{AppEvent, Cx, Direction, Parser, Probe, TransferCommand, Transport};

/// Data channels carry arbitrary bytes: only an expectation identifies them.
pub fn probe_data(_dir: Direction, _data: &[u8], _transport: Transport) -> Probe {
    Probe::NoMatch
}

/// Parser for a flow opened from an FTP data-connection [`Expectation`](crate::app::Expectation).
/// At the end it emits `ftp_data` (and `fileinfo` for STOR/STOU/APPE/RETR) naming the
/// transfer command its control flow issued.
#[derive(Default)]
pub struct FtpDataParser {
    /// Payload bytes per flow direction, lost (gap) bytes included.
    bytes: [u64; 2],
    gap_bytes: u64,
    /// The control flow's transfer command when the first byte arrived: later commands
    /// belong to later data connections. Re-read at the end while it is still the latest,
    /// since a STOU's file name comes with a server reply that may follow the first byte.
    command: Option<TransferCommand>,
    started: bool,
    done: bool,
}

impl Parser for FtpDataParser {
    fn parse(&mut self, dir: Direction, data: &[u8], cx: &mut Cx<'_>) {
        if !self.started && !data.is_empty() {
            self.started = true;
            self.command = latest(cx);
        }
        self.bytes[dir as usize] += data.len() as u64;
    }

    /// Lost bytes still moved: they count, and the file is flagged as having gaps.
    fn gap(&mut self, dir: Direction, len: u64, _cx: &mut Cx<'_>) {
        self.bytes[dir as usize] = self.bytes[dir as usize].saturating_add(len);
        self.gap_bytes = self.gap_bytes.saturating_add(len);
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        // An empty transfer saw no first byte: the latest command is the best guess.
        let command = match self.command.take() {
            Some(c) => Some(current(c, cx)),
            None => latest(cx),
        };
        let [to_server, to_client] = self.bytes;
        // A data connection carries the file one way; which TCP side that is depends on
        // active vs passive mode, so the file is whichever direction carried the bytes.
        let size = to_server.max(to_client);
        let transfer = command.as_ref().and_then(|c| Transfer::of(&c.command));

        let mut body = Map::new();
        let mut exfil = json!({"bytes_toserver": to_server, "bytes_toclient": to_client});
        if let Some(e) = cx.expected {
            exfil["parent_flow_id"] = json!(e.parent_flow_id);
        }
        if let Some(t) = transfer {
            exfil["direction"] = json!(t.direction());
        }
        if self.gap_bytes > 0 {
            exfil["gap_bytes"] = json!(self.gap_bytes);
        }
        if let Some(c) = &command {
            if let Some(f) = &c.filename {
                body.insert("filename".into(), f.clone().into());
            }
            body.insert("command".into(), c.command.clone().into());
        }
        let filename = body.get("filename").cloned();
        cx.events.push(
            AppEvent::new(cx.ts_us, "ftp_data", Value::Object(body)).with_exfil(exfil.clone()),
        );

        let Some(t @ (Transfer::Upload | Transfer::Download)) = transfer else {
            return;
        };
        let mut info = json!({
            "size": size,
            "state": "CLOSED",
            "stored": false,
            "gaps": self.gap_bytes > 0,
            "tx_id": 0,
        });
        if let Some(f) = filename {
            info["filename"] = f;
        }
        let ev = AppEvent::with_fields(
            cx.ts_us,
            "fileinfo",
            json!({"app_proto": "ftp-data", "fileinfo": info}),
        );
        exfil["direction"] = json!(t.direction());
        if let Some(c) = &command {
            exfil["command"] = json!(c.command);
        }
        cx.events.push(ev.with_exfil(exfil));
    }
}

fn latest(cx: &Cx<'_>) -> Option<TransferCommand> {
    let parent = cx.expected?.parent_flow_id;
    cx.transfers.latest(parent).cloned()
}

/// `c` as the log holds it now, if the control flow recorded no transfer since (same
/// command, same time); else `c` as it was.
fn current(c: TransferCommand, cx: &Cx<'_>) -> TransferCommand {
    latest(cx)
        .filter(|l| l.command == c.command && l.ts_us == c.ts_us)
        .unwrap_or(c)
}
