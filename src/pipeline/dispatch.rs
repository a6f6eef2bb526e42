//! The capture thread's half of the pipeline: decode each frame once, shard it by a
//! symmetric hash of its innermost IP pair, and hand it to that worker in batches.
//!
//! Sharding on the address pair (not the 5-tuple) keeps IP fragments, FTP data channels
//! and TFTP transfers on the worker that holds their control flow.

use super::batch::{Batch, ToWorker};
use crate::capture::{Frame, FrameSink, SharedMap};
use crate::decode::{decode, layer, Addr, Decoded, LinkType};
use crate::ident::flow_id::mix64;
use crate::stats::{lock, CaptureCounters, StatsHub};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::Arc;

/// Whether a full queue blocks (replay: never lose a packet) or drops and counts (live).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueMode {
    Block,
    Drop,
}

/// Packet time between ticks to idle workers (1 s, like a flow manager's pass).
const TICK_US: u64 = 1_000_000;

pub struct Dispatcher {
    workers: Vec<Sender<ToWorker>>,
    recycled: Receiver<Batch>,
    pending: Vec<Batch>,
    batch_packets: usize,
    mode: QueueMode,
    decoded: Decoded,
    counters: CaptureCounters,
    stats: Arc<StatsHub>,
    now_us: u64,
    last_tick_us: u64,
    since_publish: u32,
    /// The mapped file frames currently come from (their bytes are then not copied).
    map: Option<SharedMap>,
}

/// Where `data` starts inside `map`, if it lies within it.
fn offset_in(map: &SharedMap, data: &[u8]) -> Option<usize> {
    let base = map.as_ptr() as usize;
    let at = (data.as_ptr() as usize).checked_sub(base)?;
    (at + data.len() <= map.len()).then_some(at)
}

/// Symmetric in (a, b): both directions of a conversation land on the same worker.
#[inline]
pub fn shard_of(a: &Addr, b: &Addr, n: usize) -> usize {
    let fold = |x: &Addr| {
        let (hi, lo) = x.split_at(8);
        u64::from_le_bytes(hi.try_into().unwrap_or_default())
            ^ u64::from_le_bytes(lo.try_into().unwrap_or_default()).rotate_left(17)
    };
    let (x, y) = (fold(a), fold(b));
    let h = mix64(x ^ y) ^ mix64(x.wrapping_add(y));
    ((h as u128 * n as u128) >> 64) as usize
}

impl Dispatcher {
    pub fn new(
        workers: Vec<Sender<ToWorker>>,
        recycled: Receiver<Batch>,
        batch_packets: usize,
        mode: QueueMode,
        stats: Arc<StatsHub>,
    ) -> Dispatcher {
        let pending = (0..workers.len())
            .map(|_| Batch::with_capacity(batch_packets))
            .collect();
        Dispatcher {
            workers,
            recycled,
            pending,
            batch_packets,
            mode,
            decoded: Decoded::default(),
            counters: CaptureCounters::default(),
            stats,
            now_us: 0,
            last_tick_us: 0,
            since_publish: 0,
            map: None,
        }
    }

    fn send(&mut self, w: usize, msg: ToWorker) {
        match self.mode {
            QueueMode::Block => {
                // A worker only disappears if it panicked; its share is then lost, and counted.
                if let Err(e) = self.workers[w].send(msg) {
                    self.count_lost(e.0);
                }
            }
            QueueMode::Drop => match self.workers[w].try_send(msg) {
                Ok(()) => {}
                Err(TrySendError::Full(m)) | Err(TrySendError::Disconnected(m)) => {
                    self.count_lost(m)
                }
            },
        }
    }

    fn count_lost(&mut self, m: ToWorker) {
        if let ToWorker::Batch(b) = m {
            self.counters.queue_drops += b.pkts.len() as u64;
        }
    }

    fn flush_worker(&mut self, w: usize) {
        if self.pending[w].pkts.is_empty() {
            return;
        }
        let spare = match self.recycled.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Batch::with_capacity(self.batch_packets),
        };
        let full = std::mem::replace(&mut self.pending[w], spare);
        self.send(w, ToWorker::Batch(full));
    }

    /// Send every pending batch, then a tick so workers expire flows up to `now_us`.
    fn flush_all_and_tick(&mut self) {
        for w in 0..self.workers.len() {
            self.flush_worker(w);
            self.send(w, ToWorker::Tick(self.now_us));
        }
        self.last_tick_us = self.now_us;
        self.publish();
    }

    fn publish(&mut self) {
        let mut c = lock(&self.stats.capture);
        let files = (c.files_read, c.file_errors);
        let kernel = (c.kernel_packets, c.kernel_drops, c.kernel_ifdrops);
        *c = self.counters.clone();
        (c.files_read, c.file_errors) = files;
        (c.kernel_packets, c.kernel_drops, c.kernel_ifdrops) = kernel;
        self.since_publish = 0;
    }

    /// End of input or shutdown: flush, tell every worker to end its flows, and stop.
    pub fn finish(mut self, reason: crate::flow::EndReason) {
        for w in 0..self.workers.len() {
            self.flush_worker(w);
            self.send(w, ToWorker::Finish(reason));
        }
        self.publish();
    }
}

impl FrameSink for Dispatcher {
    #[inline]
    fn frame(&mut self, link: Option<LinkType>, f: Frame<'_>) -> bool {
        let c = &mut self.counters;
        c.packets += 1;
        c.bytes += u64::from(f.wire_len);
        c.max_pkt_size = c.max_pkt_size.max(u64::from(f.wire_len));
        self.now_us = self.now_us.max(f.ts_us);
        let Some(link) = link else {
            c.unsupported_link += 1;
            return true;
        };
        match decode(link, f.data, &mut self.decoded) {
            Ok(()) if self.decoded.ip_version != 0 => {
                let d = &self.decoded;
                let w = shard_of(&d.src, &d.dst, self.workers.len());
                let at = self.map.as_ref().and_then(|m| offset_in(m, f.data));
                if !self.pending[w].fits(at.and(self.map.as_ref())) {
                    self.flush_worker(w);
                }
                let (b, d) = (&mut self.pending[w], &self.decoded);
                match (at, &self.map) {
                    (Some(at), Some(m)) => {
                        b.push_mapped(m, at, f.ts_us, f.wire_len, f.data.len() as u32, d)
                    }
                    _ => b.push(f.ts_us, f.wire_len, f.data, d),
                }
                if self.pending[w].pkts.len() >= self.batch_packets {
                    self.flush_worker(w);
                }
            }
            Ok(()) => {
                if self.decoded.layers & layer::ARP != 0 {
                    c.arp += 1;
                } else {
                    c.other_l3 += 1;
                }
            }
            Err(e) => c.count_decode_error(e),
        }
        if self.now_us.saturating_sub(self.last_tick_us) >= TICK_US {
            self.flush_all_and_tick();
        }
        self.since_publish += 1;
        if self.since_publish >= 65_536 {
            self.publish();
        }
        true
    }

    fn idle(&mut self, now_us: u64) {
        self.now_us = self.now_us.max(now_us);
        self.flush_all_and_tick();
    }

    fn mapped(&mut self, map: Option<SharedMap>) {
        self.map = map;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::addr_from_v4;

    #[test]
    fn shard_is_symmetric_and_spreads() {
        let mut seen = [0usize; 4];
        for i in 0..1000u32 {
            let a = addr_from_v4((0x0a00_0000 + i).to_be_bytes());
            let b = addr_from_v4([198, 51, 100, (i % 250) as u8]);
            let s = shard_of(&a, &b, 4);
            assert_eq!(s, shard_of(&b, &a, 4));
            seen[s] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
    }
}
