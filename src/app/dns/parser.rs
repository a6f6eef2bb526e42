//! The DNS flow parser: one message per UDP datagram, or 2-byte length-prefixed messages on
//! TCP (RFC 1035 §4.2.2); one `dns` event per message and a tunnelling summary at the end.

use super::logger::message_body;
use super::tunnel::{FlowSummary, NameFeatures};
use super::wire::{Message, RData, TYPE_CNAME, TYPE_MX, TYPE_NULL, TYPE_TXT};
use crate::app::{AppEvent, Cx, Direction, Parser, Transport};
use serde::Serialize;
use serde_json::json;

/// Reassembles length-prefixed messages of one TCP direction. The buffer holds at most one
/// message (≤ 2 + 65535 bytes, the prefix's own limit).
#[derive(Debug, Default)]
struct TcpFramer {
    buf: Vec<u8>,
    /// After a gap the framing is lost and cannot be found again reliably.
    dead: bool,
}

impl TcpFramer {
    /// Bytes still missing for the message being buffered.
    fn missing(&self) -> usize {
        match self.buf.get(..2) {
            Some(l) => 2 + usize::from(u16::from_be_bytes([l[0], l[1]])) - self.buf.len(),
            None => 2 - self.buf.len(),
        }
    }
}

#[derive(Debug, Default)]
pub struct DnsParser {
    /// Suricata-style transaction counter: every message is its own transaction.
    tx_id: u64,
    /// Made at the first TCP bytes: DNS over UDP, nearly all of it, needs none.
    tcp: Option<Box<[TcpFramer; 2]>>,
    summary: FlowSummary,
}

thread_local! {
    /// The message being logged and its first query name's features, parsed into the
    /// buffers of the previous message of this worker: reused per flow instead, the grown
    /// buffers cost about a kilobyte for every live DNS flow.
    static SCRATCH: std::cell::RefCell<(Message, NameFeatures)> = Default::default();
}

impl DnsParser {
    fn message(&mut self, msg: &[u8], cx: &mut Cx<'_>) {
        SCRATCH.with_borrow_mut(|(m, qname)| self.message_in(msg, m, qname, cx));
    }

    fn message_in(
        &mut self,
        msg: &[u8],
        m: &mut Message,
        qname: &mut NameFeatures,
        cx: &mut Cx<'_>,
    ) {
        if !m.parse(msg) {
            self.summary.malformed += 1;
            return;
        }
        let m = &*m;
        if m.malformed {
            self.summary.malformed += 1;
        }
        let features = m.questions.first().map(|q| {
            qname.set(m.text(&q.name));
            &*qname
        });
        let mut exfil = MessageExfil {
            malformed: m.malformed,
            msg_len: msg.len(),
            qname: features,
            rdata_bytes: None,
            rr_capped: m.rr_capped,
        };
        if m.header.qr() {
            let carried = rdata_bytes(m);
            self.summary.response(m.header.rcode(), carried);
            self.summary.answered(features, carried);
            exfil.rdata_bytes = Some(carried);
        } else {
            self.summary.request(features);
        }
        let body = message_body(m, self.tx_id);
        self.tx_id += 1;
        cx.events
            .push(AppEvent::new(cx.ts_us, "dns", body).with_exfil(exfil));
    }

    fn tcp_data(&mut self, d: usize, data: &[u8], cx: &mut Cx<'_>) {
        let mut tcp = self.tcp.take().unwrap_or_default();
        self.tcp_frames(&mut tcp[d], data, cx);
        self.tcp = Some(tcp);
    }

    fn tcp_frames(&mut self, f: &mut TcpFramer, mut data: &[u8], cx: &mut Cx<'_>) {
        if f.dead {
            return;
        }
        while !data.is_empty() {
            if f.buf.is_empty() {
                // Whole messages straight from the input, no copy.
                if let [a, b, rest @ ..] = data {
                    let len = usize::from(u16::from_be_bytes([*a, *b]));
                    if let Some(msg) = rest.get(..len) {
                        self.framed(msg, cx);
                        data = &rest[len..];
                        continue;
                    }
                }
                // A partial message: at most 2 + 65534 bytes.
                f.buf.extend_from_slice(data);
                return;
            }
            let take = f.missing().min(data.len());
            f.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if f.buf.len() >= 2 && f.missing() == 0 {
                let buf = std::mem::take(&mut f.buf);
                self.framed(&buf[2..], cx);
                f.buf = buf;
                f.buf.clear();
            }
        }
    }

    fn framed(&mut self, msg: &[u8], cx: &mut Cx<'_>) {
        if msg.is_empty() {
            self.summary.malformed += 1;
        } else {
            self.message(msg, cx);
        }
    }
}

/// Our additions to a message's event (typed: serialised straight into the event text;
/// keys in alphabetical order, as the `serde_json::Map` it replaces wrote them).
#[derive(Serialize)]
struct MessageExfil<'a> {
    #[serde(skip_serializing_if = "is_false")]
    malformed: bool,
    msg_len: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    qname: Option<&'a NameFeatures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rdata_bytes: Option<u64>,
    #[serde(skip_serializing_if = "is_false")]
    rr_capped: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Answer bytes that can carry tunnelled data downstream.
fn rdata_bytes(m: &Message) -> u64 {
    m.answers
        .iter()
        .filter(|rr| matches!(rr.rtype, TYPE_TXT | TYPE_NULL | TYPE_CNAME | TYPE_MX))
        .filter(|rr| !matches!(rr.data, RData::Other))
        .map(|rr| u64::from(rr.rdlen))
        .sum()
}

impl Parser for DnsParser {
    fn parse(&mut self, dir: Direction, data: &[u8], cx: &mut Cx<'_>) {
        let d = dir as usize;
        self.summary.add_bytes(d == 1, data.len());
        match cx.transport {
            Transport::Udp => self.message(data, cx),
            Transport::Tcp => self.tcp_data(d, data, cx),
        }
    }

    fn gap(&mut self, dir: Direction, _len: u64, _cx: &mut Cx<'_>) {
        let f = &mut self.tcp.get_or_insert_default()[dir as usize];
        f.dead = true;
        f.buf = Vec::new();
    }

    /// The summary only adds to the per-message events when a flow carried several messages
    /// (tunnels reuse one socket) or garbage; a lone query/response pair gets none.
    fn finish(&mut self, cx: &mut Cx<'_>) {
        let s = &self.summary;
        cx.features.dns = s.volumes();
        if s.requests <= 1 && s.responses <= 1 && s.malformed == 0 {
            return;
        }
        let ev = AppEvent::new(cx.ts_us, "dns", json!({"version": 3}))
            .with_exfil(json!({"dns_flow": s.to_json()}));
        cx.events.push(ev);
        self.summary = FlowSummary::default();
    }
}
