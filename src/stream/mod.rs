//! TCP stream reassembly: one direction's segments in, the in-order byte stream out, with an
//! explicit [`Chunk::Gap`] wherever capture lost bytes, so app-layer parsers can resync
//! instead of silently gluing unrelated bytes together.
//!
//! Sequence numbers are compared modulo 2^32: a segment is "ahead" when it lies less than
//! 2^31 past the next expected byte. In-order segments are handed out as the caller's slice
//! (no copy, no allocation); only out-of-order data is copied into a per-direction buffer,
//! which is bounded by [`StreamConfig::max_buffered`] and the worker's [`StreamMemcap`].
//! Nothing ever waits forever for a lost segment: a budget overrun, an ACK past the hole
//! ([`HalfStream::acked`]) or the end of the flow ([`HalfStream::finish`]) turns the hole
//! into a gap and releases what follows it.
//!
//! # Overlap policy: "first wins"
//!
//! When a segment overlaps bytes this direction already holds, the bytes that arrived
//! first are kept and the newcomer only contributes bytes nobody sent before. This is
//! Suricata's `first` policy (BSD-like: the receiver keeps its queued data). Bytes already
//! handed out can never be replaced anyway, so overlaps with delivered data just trim the
//! new segment. Overlaps are counted (`overlaps`), and those whose bytes disagree with what
//! is kept are counted again (`overlap_diff_data`): corruption aside, differing overlaps
//! are the classic evasion where an attacker sends two versions of the same bytes hoping
//! the sensor and the end host keep different ones (Ptacek/Newsham). Stacks that resolve
//! some overlap shapes in favour of the newer copy (what Suricata's other target-based
//! policies model) may see other bytes than we do; `overlap_diff_data` is the signal that
//! this was attempted. The same rule applies to in-order data overlapping buffered bytes.
//!
//! RST gets no special treatment and its data is delivered: a passive sensor cannot tell
//! whether the receiver accepted it (RFC 5961 receivers drop out-of-window RSTs), and acting
//! on it would let an injected RST blind the sensor.

#[cfg(test)]
mod tests;

use crate::flow::record::{TCP_FIN, TCP_SYN};
use std::collections::VecDeque;

/// Reassembly limits.
#[derive(Clone, Copy, Debug)]
pub struct StreamConfig {
    /// Bytes per direction handed to the app layer; beyond it only counting continues (0 = unlimited).
    pub depth: u64,
    /// Out-of-order bytes buffered per direction before the oldest hole is declared a gap.
    /// Counted like [`HalfStream::buffered`], per-segment overhead included.
    pub max_buffered: usize,
}

impl Default for StreamConfig {
    /// 1 MiB of depth covers protocol headers and file starts; 256 KiB of buffer covers a few
    /// round trips of a fast stream's reordering.
    fn default() -> StreamConfig {
        StreamConfig {
            depth: 1 << 20,
            max_buffered: 256 << 10,
        }
    }
}

/// Reassembly counters of one worker, summed over its streams.
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamStats {
    pub segments: u64,
    /// Segments that carried the next expected byte (possibly after trimming old bytes).
    pub in_order: u64,
    /// Segments that arrived ahead of a hole and were buffered (or dropped past depth).
    pub out_of_order: u64,
    /// Segments entirely made of bytes already delivered.
    pub retransmissions: u64,
    /// Segments overlapping bytes already delivered or buffered.
    pub overlaps: u64,
    /// Overlapping segments whose bytes differ from the kept ones (evasion attempt or corruption).
    pub overlap_diff_data: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Directions that reached `depth`.
    pub depth_reached: u64,
    /// Holes declared gaps because the buffer or the memcap was full.
    pub memcap_drops: u64,
    /// Directions picked up without their SYN.
    pub midstream: u64,
}

/// Memory budget shared by all streams of one worker (plain struct owned by the worker, passed by &mut).
///
/// `used` is charged for buffered out-of-order data and refunded as it is handed out; call
/// [`HalfStream::finish`] before dropping a stream, or its buffer stays charged.
pub struct StreamMemcap {
    pub limit: usize,
    pub used: usize,
}

/// What the reassembler hands on, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// The next bytes of the stream.
    Data(&'a [u8]),
    /// This many bytes of the stream were never seen (lost in capture).
    Gap(u64),
}

/// Per-segment cost added to its payload when charging buffers: the queue slot plus the
/// allocation's bookkeeping. Without it a flood of 1-byte segments could hold many times
/// the budget.
const SEG_OVERHEAD: usize = 64;

/// Largest payload taken from one segment. Real segments are below 64 KiB (a few hundred
/// KiB with GRO); the cap keeps every length far below 2^31 so modulo-2^32 comparisons hold.
const MAX_SEGMENT: usize = 1 << 24;

/// `HalfStream::state` bits.
mod st {
    /// `next` is valid: a first segment was seen.
    pub const STARTED: u8 = 1;
    /// The stream moved past its first expected byte (data or gap), so a SYN no longer resyncs it.
    pub const PROGRESS: u8 = 2;
    /// `fin` is valid.
    pub const FIN: u8 = 4;
    /// `depth` reached: nothing more is handed out.
    pub const AT_DEPTH: u8 = 8;
}

/// One buffered out-of-order segment.
#[derive(Clone, Debug)]
struct Seg {
    seq: u32,
    data: Vec<u8>,
}

impl Seg {
    fn cost(&self) -> usize {
        self.data.len() + SEG_OVERHEAD
    }
}

/// Out-of-order data, boxed so an idle or in-order stream carries only a null pointer.
#[derive(Clone, Debug)]
struct Pending {
    /// Sorted by sequence (relative to `next`), non-overlapping, never empty segments.
    segs: VecDeque<Seg>,
    /// Sum of `Seg::cost`, also charged to the memcap.
    cost: usize,
    /// `cfg.depth` of the latest insert: `finish` gets no config but must respect it.
    depth: u64,
}

/// One direction of a TCP connection.
///
/// 32 bytes and no allocation while data arrives in order. `Clone` copies buffered data
/// without charging the memcap (meant for tests and snapshots, not for live streams).
#[derive(Clone, Debug, Default)]
pub struct HalfStream {
    /// Sequence number of the next byte to hand out.
    next: u32,
    /// Sequence number just past the FIN's data (valid with `st::FIN`).
    fin: u32,
    delivered: u64,
    state: u8,
    ooo: Option<Box<Pending>>,
}

/// Signed distance from `from` to `to` modulo 2^32 (positive: `to` is ahead).
fn dist(from: u32, to: u32) -> i64 {
    i64::from(to.wrapping_sub(from) as i32)
}

/// `usize` → `u32` for lengths already bounded by [`MAX_SEGMENT`] or by a sequence distance.
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl HalfStream {
    /// A segment of this direction: seq, flags (SYN sets ISN+1; FIN noted as the end; RST treated like any
    /// segment, see the module docs), payload bytes (already clamped to captured bytes). Calls `out` with
    /// in-order chunks (possibly several: the segment, then buffered segments it unblocked). Bytes past
    /// `cfg.depth` are not handed out (counted only).
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        seq: u32,
        flags: u8,
        payload: &[u8],
        cfg: &StreamConfig,
        mem: &mut StreamMemcap,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        stats.segments += 1;
        let payload = payload.get(..MAX_SEGMENT).unwrap_or(payload);
        let mut seq = seq;
        if flags & TCP_SYN != 0 {
            // The SYN occupies one sequence number; data (TCP Fast Open) follows it.
            seq = seq.wrapping_add(1);
            // Before any progress a SYN (re)defines the stream: a mid-stream pickup that
            // only saw an ACK, or a retried handshake with a new ISN.
            if self.state & st::PROGRESS == 0 && self.ooo.is_none() {
                self.next = seq;
                self.state = (self.state | st::STARTED) & !st::FIN;
            }
        } else if self.state & st::STARTED == 0 {
            self.next = seq;
            self.state |= st::STARTED;
            stats.midstream += 1;
        }
        if flags & TCP_FIN != 0 {
            // Remembered so the ACK of the FIN (one past the data) is not taken for lost data,
            // and so `finish` can report lost bytes before it. Capped at depth, because
            // `finish` gets no config: until depth, `next - delivered` is constant, so the cap
            // holds as the stream advances.
            self.fin = seq.wrapping_add(len32(payload.len()));
            if cfg.depth != 0 {
                let room = cfg.depth.saturating_sub(self.delivered);
                if dist(self.next, self.fin) > 0 && dist(self.next, self.fin) as u64 > room {
                    self.fin = self.next.wrapping_add(room as u32);
                }
            }
            self.state |= st::FIN;
        }
        if payload.is_empty() {
            return;
        }
        let rel = dist(self.next, seq);
        if rel + payload.len() as i64 <= 0 {
            stats.retransmissions += 1;
            return;
        }
        if rel > 0 {
            stats.out_of_order += 1;
        } else {
            stats.in_order += 1;
        }
        if self.state & st::AT_DEPTH == 0 {
            if rel > 0 {
                self.insert(seq, payload, cfg, mem, stats);
                self.enforce_budget(cfg, mem, stats, out);
            } else {
                let new = payload.get(rel.unsigned_abs() as usize..).unwrap_or(&[]);
                self.push_in_order(new, rel < 0, cfg.depth, mem, stats, out);
            }
        }
        if self.state & st::AT_DEPTH != 0 {
            // Past depth only the sequence position is kept, so retransmissions stay recognised.
            let end = seq.wrapping_add(len32(payload.len()));
            if dist(self.next, end) > 0 {
                self.next = end;
            }
        }
        self.tidy(mem);
    }

    /// The peer acknowledged up to `ack`: bytes below it will never be retransmitted, so a hole below it was lost
    /// in capture. Declares such holes gaps and flushes the buffered data after them. Call it with the `ack` of
    /// the other direction's segments that have the ACK flag.
    pub fn acked(
        &mut self,
        ack: u32,
        cfg: &StreamConfig,
        mem: &mut StreamMemcap,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        if self.state & st::STARTED == 0 {
            return;
        }
        let mut ack = ack;
        if self.state & st::FIN != 0 && dist(self.fin, ack) > 0 {
            // The FIN's own sequence number is acknowledged but carries no byte.
            ack = self.fin;
        }
        if dist(self.next, ack) <= 0 {
            return;
        }
        if self.state & st::AT_DEPTH != 0 {
            self.next = ack;
            return;
        }
        loop {
            self.flush_ready(cfg.depth, mem, stats, out);
            let missing = dist(self.next, ack);
            if missing <= 0 || self.state & st::AT_DEPTH != 0 {
                break;
            }
            let hole = self.front_dist().map_or(missing, |d| d.min(missing));
            self.gap(hole, cfg.depth, stats, out);
        }
        self.tidy(mem);
    }

    /// Flow ends: flush whatever is buffered after declaring the remaining holes gaps (including bytes lost before
    /// a FIN). Releases the buffer and its memcap charge.
    pub fn finish(
        &mut self,
        mem: &mut StreamMemcap,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let depth = self.ooo.as_ref().map_or(0, |p| p.depth);
        while self.state & st::AT_DEPTH == 0 {
            let Some(hole) = self.front_dist() else { break };
            self.gap(hole, depth, stats, out);
            self.flush_ready(depth, mem, stats, out);
        }
        if self.state & (st::AT_DEPTH | st::FIN) == st::FIN {
            let missing = dist(self.next, self.fin);
            if missing > 0 {
                self.gap(missing, depth, stats, out);
            }
        }
        self.release(mem);
    }

    /// Stream bytes handed out so far, gaps included: the position `depth` limits.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Bytes buffered now, as charged to the budgets (payload plus a fixed per-segment overhead).
    pub fn buffered(&self) -> usize {
        self.ooo.as_ref().map_or(0, |p| p.cost)
    }

    /// Hands out `data`, which starts at `next` (`trimmed`: old bytes were cut off its front).
    /// Where it overlaps buffered segments those win (first-wins policy): `data` only fills
    /// the bytes before and between them.
    fn push_in_order(
        &mut self,
        data: &[u8],
        trimmed: bool,
        depth: u64,
        mem: &mut StreamMemcap,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let start = self.next;
        let (mut overlap, mut differ) = (trimmed, false);
        // Compare first, while the buffered bytes that win are still there.
        for s in self.ooo.iter().flat_map(|p| p.segs.iter()) {
            let at = dist(start, s.seq) as u64;
            if at >= data.len() as u64 {
                break;
            }
            let n = s.data.len().min(data.len() - at as usize);
            overlap = true;
            differ |= slice(data, at, at + n as u64) != slice(&s.data, 0, n as u64);
        }
        count_overlap(overlap, differ, stats);
        loop {
            self.flush_ready(depth, mem, stats, out);
            // Skip what the buffered segments just supplied.
            let done = usize::try_from(dist(start, self.next)).unwrap_or(usize::MAX);
            let rest = data.get(done..).unwrap_or(&[]);
            if rest.is_empty() || self.state & st::AT_DEPTH != 0 {
                break;
            }
            let cut = self.front_dist().map_or(rest.len(), |a| {
                usize::try_from(a).unwrap_or(usize::MAX).min(rest.len())
            });
            self.emit(rest.get(..cut).unwrap_or(rest), depth, stats, out);
        }
    }

    /// Buffers an out-of-order segment (`seq` ahead of `next`), keeping bytes already buffered
    /// (first-wins) and dropping what would lie past depth.
    fn insert(
        &mut self,
        seq: u32,
        payload: &[u8],
        cfg: &StreamConfig,
        mem: &mut StreamMemcap,
        stats: &mut StreamStats,
    ) {
        let next = self.next;
        let start = dist(next, seq) as u64;
        let mut end = start + payload.len() as u64;
        if cfg.depth != 0 {
            // These bytes sit at stream position `delivered + rel` (gaps count towards depth):
            // those past depth will never be handed out, so they are not worth memory.
            end = end.min(cfg.depth.saturating_sub(self.delivered));
            if end <= start {
                return;
            }
        }
        let p = self.ooo.get_or_insert_with(|| {
            Box::new(Pending {
                segs: VecDeque::new(),
                cost: 0,
                depth: cfg.depth,
            })
        });
        p.depth = cfg.depth;
        let rel = |s: &Seg| u64::from(s.seq.wrapping_sub(next));
        let mut i = p
            .segs
            .partition_point(|s| rel(s) + s.data.len() as u64 <= start);
        let (mut at, mut overlap, mut differ) = (start, false, false);
        while at < end {
            let (s_start, s_end) = p
                .segs
                .get(i)
                .map_or((end, end), |s| (rel(s), rel(s) + s.data.len() as u64));
            if s_start > at {
                let upto = s_start.min(end);
                let piece = slice(payload, at - start, upto - start).to_vec();
                let seg = Seg {
                    seq: next.wrapping_add(at as u32),
                    data: piece,
                };
                p.cost += seg.cost();
                mem.used = mem.used.saturating_add(seg.cost());
                p.segs.insert(i, seg);
                at = upto;
            } else {
                let upto = s_end.min(end);
                let kept = p.segs.get(i).map_or(&[][..], |s| s.data.as_slice());
                overlap = true;
                differ |= slice(payload, at - start, upto - start)
                    != slice(kept, at - s_start, upto - s_start);
                at = upto;
            }
            i += 1;
        }
        count_overlap(overlap, differ, stats);
    }

    /// Over the direction's or the worker's budget: give up on the oldest hole, hand out what
    /// follows it, repeat until within budget or nothing is buffered.
    fn enforce_budget(
        &mut self,
        cfg: &StreamConfig,
        mem: &mut StreamMemcap,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        while self.state & st::AT_DEPTH == 0
            && (self.buffered() > cfg.max_buffered || mem.used > mem.limit)
        {
            let Some(hole) = self.front_dist() else { break };
            stats.memcap_drops += 1;
            self.gap(hole, cfg.depth, stats, out);
            self.flush_ready(cfg.depth, mem, stats, out);
        }
    }

    /// Hands out the buffered segments that now start at (or before) `next`.
    fn flush_ready(
        &mut self,
        depth: u64,
        mem: &mut StreamMemcap,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        while self.state & st::AT_DEPTH == 0 {
            let Some(p) = self.ooo.as_mut() else { break };
            let Some(front) = p.segs.front() else { break };
            let ahead = dist(self.next, front.seq);
            if ahead > 0 {
                break;
            }
            let Some(seg) = p.segs.pop_front() else { break };
            p.cost = p.cost.saturating_sub(seg.cost());
            mem.used = mem.used.saturating_sub(seg.cost());
            let new = seg.data.get(ahead.unsigned_abs() as usize..).unwrap_or(&[]);
            self.emit(new, depth, stats, out);
        }
    }

    /// Distance from `next` to the first buffered segment.
    fn front_dist(&self) -> Option<i64> {
        let front = self.ooo.as_ref()?.segs.front()?;
        Some(dist(self.next, front.seq))
    }

    /// Moves `next` past `len` bytes and returns how many of them still fit under `depth`
    /// (counted as handed out). Gaps count too: depth is a position in the stream, as in
    /// Suricata, so a gap cannot push later data past it.
    fn advance(&mut self, len: usize, depth: u64, stats: &mut StreamStats) -> usize {
        self.next = self.next.wrapping_add(len32(len));
        self.state |= st::PROGRESS;
        if self.state & st::AT_DEPTH != 0 {
            return 0;
        }
        let room = match depth {
            0 => len,
            d => usize::try_from(d.saturating_sub(self.delivered))
                .unwrap_or(usize::MAX)
                .min(len),
        };
        self.delivered += room as u64;
        if depth != 0 && self.delivered >= depth {
            self.state |= st::AT_DEPTH;
            stats.depth_reached += 1;
        }
        room
    }

    /// Moves past `data` (which starts at `next`), handing out what fits under `depth`.
    fn emit(
        &mut self,
        data: &[u8],
        depth: u64,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let room = self.advance(data.len(), depth, stats);
        if room > 0 {
            out(Chunk::Data(data.get(..room).unwrap_or(data)));
        }
    }

    /// Declares the next `len` bytes lost.
    fn gap(
        &mut self,
        len: i64,
        depth: u64,
        stats: &mut StreamStats,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let Ok(len) = usize::try_from(len) else {
            return;
        };
        let room = self.advance(len, depth, stats);
        if room > 0 {
            stats.gaps += 1;
            stats.gap_bytes += room as u64;
            out(Chunk::Gap(room as u64));
        }
    }

    /// Frees the buffer once it is empty or useless (past depth), so idle streams hold no allocation.
    fn tidy(&mut self, mem: &mut StreamMemcap) {
        let empty = self.ooo.as_ref().is_some_and(|p| p.segs.is_empty());
        if empty || self.state & st::AT_DEPTH != 0 {
            self.release(mem);
        }
    }

    /// Drops the buffer and refunds its memcap charge.
    fn release(&mut self, mem: &mut StreamMemcap) {
        if let Some(p) = self.ooo.take() {
            mem.used = mem.used.saturating_sub(p.cost);
        }
    }
}

fn count_overlap(overlap: bool, differ: bool, stats: &mut StreamStats) {
    if overlap {
        stats.overlaps += 1;
        stats.overlap_diff_data += u64::from(differ);
    }
}

/// `b[from..to]`, empty when out of range (never panics).
fn slice(b: &[u8], from: u64, to: u64) -> &[u8] {
    let (Ok(from), Ok(to)) = (usize::try_from(from), usize::try_from(to)) else {
        return &[];
    };
    b.get(from..to).unwrap_or(&[])
}
