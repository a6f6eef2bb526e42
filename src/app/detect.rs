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
    /// Add in-order bytes of `dir` (a stream chunk or a datagram): buffer the part that
    /// fits the probe window, remember the arrival order, and judge the direction if it is
    /// still undecided. Returns how many bytes of `data` were buffered (the rest must go
    /// straight to the parser once one is chosen).
    pub fn add(&mut self, dir: Direction, data: &[u8], transport: Transport) -> usize {
        let d = dir as usize;
        let take = data
            .len()
            .min(PROBE_BYTES.saturating_sub(self.buf[d].len()));
        if take > 0 && self.order.len() < MAX_CHUNKS {
            if self.buf[d].capacity() == 0 {
                // One allocation per direction instead of a growth series.
                let want = match transport {
                    Transport::Tcp => PROBE_BYTES,
                    Transport::Udp => take,
                };
                self.buf[d].reserve_exact(want);
            }
            self.buf[d].extend_from_slice(&data[..take]);
            self.order.push((dir, take as u32));
        }
        if self.verdict[d] == AppProto::Unknown && !data.is_empty() {
            // A datagram is judged on its own bytes; a stream on everything so far.
            let (probe, full) = match transport {
                Transport::Udp => (&data[..data.len().min(PROBE_BYTES)], true),
                Transport::Tcp => (&self.buf[d][..], self.buf[d].len() >= PROBE_BYTES),
            };
            self.verdict[d] = judge(dir, probe, transport, full);
        }
        take
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
        for (dir, bytes) in [
            (Direction::ToClient, &b"220 hi\r\n"[..]),
            (Direction::ToServer, b"USER a\r\n"),
            (Direction::ToClient, b"331 ok\r\n"),
        ] {
            assert_eq!(d.add(dir, bytes, Transport::Tcp), bytes.len());
        }
        let mut seen = Vec::new();
        d.replay(|dir, b| seen.push((dir, b.to_vec())));
        assert_eq!(seen[0], (Direction::ToClient, b"220 hi\r\n".to_vec()));
        assert_eq!(seen[1], (Direction::ToServer, b"USER a\r\n".to_vec()));
        assert_eq!(seen[2], (Direction::ToClient, b"331 ok\r\n".to_vec()));
    }
}
