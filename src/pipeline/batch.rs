//! Batches: the unit handed from the capture thread to a worker. Frames are copied once
//! into a reusable arena, or, when they come from a memory-mapped capture file, not copied
//! at all: the batch then holds the map and each frame's place in it. Batches travel back
//! to the capture thread for reuse, so the steady state allocates nothing.

use crate::capture::SharedMap;
use crate::decode::Decoded;
use crate::flow::EndReason;
use std::sync::Arc;

/// One frame inside a batch.
#[derive(Clone, Copy, Debug)]
pub struct PacketDesc {
    pub ts_us: u64,
    pub wire_len: u32,
    pub caplen: u32,
    /// Where the frame starts in the batch's arena, or in its map.
    pub offset: usize,
    pub decoded: Decoded,
}

#[derive(Debug, Default)]
pub struct Batch {
    pub data: Vec<u8>,
    /// Set when the frames are ranges of this mapped file; `data` is then unused.
    pub map: Option<SharedMap>,
    pub pkts: Vec<PacketDesc>,
}

impl Batch {
    pub fn with_capacity(packets: usize) -> Batch {
        Batch {
            data: Vec::with_capacity(packets * 512),
            map: None,
            pkts: Vec::with_capacity(packets),
        }
    }

    /// Whether a frame from `map` (None: one to copy) can join this batch: a batch holds
    /// copies or ranges of one map, not both; an empty one takes either.
    pub fn fits(&self, map: Option<&SharedMap>) -> bool {
        self.pkts.is_empty()
            || match (&self.map, map) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }

    /// Add a frame by copying it (the batch must [`fit`](Batch::fits) copies).
    pub fn push(&mut self, ts_us: u64, wire_len: u32, frame: &[u8], decoded: &Decoded) {
        let offset = self.data.len();
        self.data.extend_from_slice(frame);
        self.pkts.push(PacketDesc {
            ts_us,
            wire_len,
            caplen: frame.len() as u32,
            offset,
            decoded: *decoded,
        });
    }

    /// Add a frame that is `map[offset..offset + caplen]` (the batch must
    /// [`fit`](Batch::fits) that map).
    pub fn push_mapped(
        &mut self,
        map: &SharedMap,
        offset: usize,
        ts_us: u64,
        wire_len: u32,
        caplen: u32,
        decoded: &Decoded,
    ) {
        if self.map.is_none() {
            self.map = Some(map.clone());
        }
        self.pkts.push(PacketDesc {
            ts_us,
            wire_len,
            caplen,
            offset,
            decoded: *decoded,
        });
    }

    pub fn frame(&self, p: &PacketDesc) -> &[u8] {
        let base: &[u8] = match &self.map {
            Some(m) => m,
            None => &self.data,
        };
        &base[p.offset..p.offset + p.caplen as usize]
    }

    /// Empty the batch for reuse; a map it held is released.
    pub fn clear(&mut self) {
        self.data.clear();
        self.map = None;
        self.pkts.clear();
    }
}

/// What the capture thread tells a worker.
#[derive(Debug)]
pub enum ToWorker {
    Batch(Batch),
    /// Time advanced to this packet time with nothing for this worker: expire idle flows.
    Tick(u64),
    /// Input ended or the sensor stops: end every flow with this reason.
    Finish(EndReason),
}
