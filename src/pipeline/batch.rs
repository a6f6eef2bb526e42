//! Batches: the unit handed from the capture thread to a worker. Frames are copied once
//! into a reusable arena; batches travel back to the capture thread for reuse, so the
//! steady state allocates nothing.

use crate::decode::Decoded;
use crate::flow::EndReason;

/// One frame inside a batch.
#[derive(Clone, Copy, Debug)]
pub struct PacketDesc {
    pub ts_us: u64,
    pub wire_len: u32,
    pub offset: u32,
    pub caplen: u32,
    pub decoded: Decoded,
}

#[derive(Debug, Default)]
pub struct Batch {
    pub data: Vec<u8>,
    pub pkts: Vec<PacketDesc>,
}

impl Batch {
    pub fn with_capacity(packets: usize) -> Batch {
        Batch {
            data: Vec::with_capacity(packets * 512),
            pkts: Vec::with_capacity(packets),
        }
    }

    pub fn push(&mut self, ts_us: u64, wire_len: u32, frame: &[u8], decoded: &Decoded) {
        let offset = self.data.len() as u32;
        self.data.extend_from_slice(frame);
        self.pkts.push(PacketDesc {
            ts_us,
            wire_len,
            offset,
            caplen: frame.len() as u32,
            decoded: *decoded,
        });
    }

    pub fn frame(&self, p: &PacketDesc) -> &[u8] {
        &self.data[p.offset as usize..(p.offset + p.caplen) as usize]
    }

    pub fn clear(&mut self) {
        self.data.clear();
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
