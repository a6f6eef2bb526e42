//! Content-first protocol detection for one flow.
//!
//! Every probe of the registry looks at the first bytes of each direction; ports play no
//! part. A direction's verdict is the first probe (in registry priority) that matches, or
//! `Failed` once no probe can match any more. The flow gets a parser as soon as one
//! direction names a protocol (so no bytes are lost while waiting), and the final
//! `app_proto` is judged from both directions when the flow ends: an HTTP client talking
//! to an SSH server is reported as two disagreeing directions, not as HTTP.

use super::registry::{Entry, REGISTRY};
use super::{AppProto, Direction, Probe, Transport};

/// Bytes of each direction kept for probing (TCP); a direction still undecided after
/// this many bytes matched nothing.
pub const PROBE_BYTES: usize = 512;

/// Chunks remembered for replay; more before a verdict is pathological (tiny segments).
const MAX_CHUNKS: usize = 128;

/// Detection state: the first bytes of each direction, and the order they arrived in so
/// the parser chosen later sees the exchange as it happened.
#[derive(Debug, Default)]
pub struct Detection {
    buf: [Vec<u8>; 2],
    /// (direction, length) of every chunk in arrival order (UDP: one per datagram).
    order: Vec<(Direction, u32)>,
    pub verdict: [AppProto; 2],
}

/// Run the registry's probes on one direction's first bytes.
fn judge(dir: Direction, data: &[u8], transport: Transport, full: bool) -> AppProto {
    let mut need_more = false;
    for e in REGISTRY.iter().filter(|e| e.serves(transport)) {
        match (e.probe)(dir, data, transport) {
            Probe::Match => return e.proto,
            Probe::NeedMore => need_more = true,
            Probe::NoMatch => {}
        }
    }
    if need_more && !full {
        AppProto::Unknown
    } else {
        AppProto::Failed
    }
}

impl Detection {
    /// Judge in-order bytes of `dir` (a stream chunk or a datagram) if that direction is
    /// still undecided. Bytes are copied only when needed: a stream direction's first
    /// bytes while its probe wants more, and — while no direction has named a protocol
    /// (`replaying`: no parser yet) — every chunk, so the parser chosen later sees the
    /// exchange as it happened. The chunk that names the protocol is never copied: the
    /// caller replays the earlier ones and hands it to the parser whole.
    pub fn add(&mut self, dir: Direction, data: &[u8], transport: Transport, replaying: bool) {
        let d = dir as usize;
        let mut copied = false;
        if self.verdict[d] == AppProto::Unknown && !data.is_empty() {
            // A datagram is judged on its own bytes; a stream on everything so far.
            self.verdict[d] = match transport {
                Transport::Udp => judge(dir, &data[..data.len().min(PROBE_BYTES)], transport, true),
                Transport::Tcp if self.buf[d].is_empty() => {
                    let first = &data[..data.len().min(PROBE_BYTES)];
                    judge(dir, first, transport, first.len() == PROBE_BYTES)
                }
                Transport::Tcp => {
                    copied = self.copy(d, data, transport);
                    let full = self.buf[d].len() >= PROBE_BYTES;
                    judge(dir, &self.buf[d], transport, full)
                }
            };
            if self.verdict[d] == AppProto::Unknown && !copied {
                // The probe wants more of this stream: keep what it saw.
                copied = self.copy(d, data, transport);
            }
        }
        if !replaying || self.chosen().is_some() {
            return;
        }
        if !copied {
            copied = self.copy(d, data, transport);
        }
        if copied && self.order.len() < MAX_CHUNKS {
            let len = data.len().min(PROBE_BYTES);
            self.order.push((dir, len as u32));
        }
    }

    /// Append what fits of the probe window; false when nothing did.
    fn copy(&mut self, d: usize, data: &[u8], transport: Transport) -> bool {
        let take = data
            .len()
            .min(PROBE_BYTES.saturating_sub(self.buf[d].len()));
        if take == 0 {
            return false;
        }
        if self.buf[d].capacity() == 0 {
            // One allocation per direction instead of a growth series.
            let want = match transport {
                Transport::Tcp => PROBE_BYTES,
                Transport::Udp => take,
            };
            self.buf[d].reserve_exact(want);
        }
        self.buf[d].extend_from_slice(&data[..take]);
        true
    }

    /// The protocol to parse with, once a direction named one (client side first).
    pub fn chosen(&self) -> Option<AppProto> {
        self.verdict.iter().copied().find(|p| p.is_named())
    }

    /// Hand the buffered chunks over in arrival order (for TCP only the bytes that were
    /// buffered: the first `PROBE_BYTES` of each direction).
    pub fn replay(&self, mut f: impl FnMut(Direction, &[u8])) {
        let mut pos = [0usize; 2];
        for &(dir, len) in &self.order {
            let d = dir as usize;
            let end = (pos[d] + len as usize).min(self.buf[d].len());
            if pos[d] < end {
                f(dir, &self.buf[d][pos[d]..end]);
            }
            pos[d] = end;
        }
    }

    /// Free the buffers once a parser has taken over (verdicts stay).
    pub fn release(&mut self) {
        self.buf = Default::default();
        self.order = Vec::new();
    }

    /// At flow end: a direction that carried bytes but stayed undecided matched nothing.
    pub fn close(&mut self, carried: [bool; 2]) {
        for (v, carried) in self.verdict.iter_mut().zip(carried) {
            if *v == AppProto::Unknown && carried {
                *v = AppProto::Failed;
            }
        }
    }
}

/// The flow's `app_proto` from both directions' verdicts.
pub fn combine(ts: AppProto, tc: AppProto) -> AppProto {
    match (ts.is_named(), tc.is_named()) {
        (true, true) if ts != tc => AppProto::Failed,
        (true, _) => ts,
        (false, true) => tc,
        _ if ts == AppProto::Failed || tc == AppProto::Failed => AppProto::Failed,
        _ => AppProto::Unknown,
    }
}

/// Registry lookup for a parser constructor.
pub fn entry(proto: AppProto) -> Option<&'static Entry> {
    REGISTRY.iter().find(|e| e.proto == proto)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppProto::*;

    #[test]
    fn combine_judges_both_sides() {
        assert_eq!(combine(Http, Ssh), Failed);
        assert_eq!(combine(Ftp, Unknown), Ftp);
        assert_eq!(combine(Failed, Http), Http);
        assert_eq!(combine(Failed, Unknown), Failed);
        assert_eq!(combine(Unknown, Unknown), Unknown);
    }

    #[test]
    fn replay_keeps_arrival_order() {
        let mut d = Detection::default();
        let chunks = [
            (Direction::ToClient, &b"hello\r\n"[..]),
            (Direction::ToServer, b"HI\r\n"),
            (Direction::ToClient, b"more\r\n"),
        ];
        for (dir, bytes) in chunks {
            d.add(dir, bytes, Transport::Tcp, true);
        }
        assert_eq!(d.chosen(), None);
        let mut seen = Vec::new();
        d.replay(|dir, b| seen.push((dir, b.to_vec())));
        let want: Vec<_> = chunks.iter().map(|(d, b)| (*d, b.to_vec())).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn the_naming_chunk_is_not_copied() {
        let mut d = Detection::default();
        d.add(
            Direction::ToServer,
            b"GET / HTTP/1.1\r\n\r\n",
            Transport::Tcp,
            true,
        );
        assert_eq!(d.chosen(), Some(Http));
        let mut seen = 0;
        d.replay(|_, _| seen += 1);
        assert_eq!(seen, 0);
        assert_eq!(d.buf[0].capacity(), 0);
        // The other side is still judged once the parser runs, without keeping its bytes.
        d.add(
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\n\r\n",
            Transport::Tcp,
            false,
        );
        assert_eq!(d.verdict[1], Http);
        assert_eq!(d.buf[1].capacity(), 0);
    }
}
