//! Packet sources: pcap/pcapng replay (classic pcap files memory-mapped, the rest through
//! libpcap) and live capture through libpcap.
//!
//! A source hands raw frames to a [`FrameSink`] (the dispatcher) and reports idle time
//! so timeouts and batch flushes happen even when no packet arrives.

pub mod files;
pub mod live;
mod pcapmap;

use crate::decode::LinkType;
use std::sync::Arc;

/// A capture file mapped into memory, shared by the batches whose frames point into it.
pub type SharedMap = Arc<memmap2::Mmap>;

/// One frame as read from libpcap.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub ts_us: u64,
    /// Length on the wire (may exceed `data.len()` when the snaplen cut it).
    pub wire_len: u32,
    pub data: &'a [u8],
}

/// Receiver of frames from a capture source.
pub trait FrameSink {
    /// A frame of the given link type. Returns false to ask the source to stop.
    fn frame(&mut self, link: Option<LinkType>, f: Frame<'_>) -> bool;
    /// No frame for a while (live) or a new input file: flush and advance time to `now_us`.
    fn idle(&mut self, now_us: u64);
    /// Frames that follow lie inside `map` (replay of a mapped file) and may be kept by
    /// reference instead of copied; None: they are in a reader's buffer again.
    fn mapped(&mut self, _map: Option<SharedMap>) {}
}

/// Microseconds since the epoch from a pcap header timestamp (negative times clamp to 0).
pub(crate) fn ts_micros(h: &pcap::PacketHeader) -> u64 {
    let secs = u64::try_from(h.ts.tv_sec).unwrap_or(0);
    let usecs = u64::try_from(h.ts.tv_usec).unwrap_or(0);
    secs.saturating_mul(1_000_000).saturating_add(usecs)
}
