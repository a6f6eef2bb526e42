//! The per-worker flow table.
//!
//! Flows live in a slab; a `hashbrown::HashTable<u32>` maps key hashes to slab slots (the
//! key is stored once, in the flow). Every flow sits on one intrusive LRU list per
//! (protocol class, state): all flows of a list share a timeout, so each list's head is the
//! next to expire and timeout sweeps touch only expired flows.
//!
//! Footprint per flow: `size_of::<Option<Flow>>()` in the slab (see the unit test, which
//! keeps it ≤ 176 bytes) plus 4 bytes of index and 1 control byte at ≤ 87.5% load.

use super::record::Flow;
use super::{Direction, EndReason, FlowKey, FlowState, ProtoClass, Timeouts};
use crate::decode::Decoded;
use crate::ident::community_id::icmp_ports;
use crate::ident::flow_id;
use hashbrown::HashTable;

const NIL: u32 = u32::MAX;
const LISTS: usize = 12;

#[derive(Clone, Copy, Default)]
struct List {
    head: u32,
    tail: u32,
}

/// Counters the table keeps for the stats event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowTableStats {
    pub created: u64,
    pub created_tcp: u64,
    pub created_udp: u64,
    pub created_icmpv4: u64,
    pub created_icmpv6: u64,
    /// Flows ended, by [`EndReason`] index.
    pub ended: [u64; 6],
    /// Flows ended, by final state (new, established, closed).
    pub ended_state: [u64; 3],
    pub active: u64,
    pub memuse: u64,
}

/// Flow table configuration.
#[derive(Clone, Copy, Debug)]
pub struct TableConfig {
    pub timeouts: Timeouts,
    /// Most flows this table holds; at the cap the least recently active flow is evicted.
    pub max_flows: usize,
    /// Whether the innermost VLAN id separates flows.
    pub vlan_in_key: bool,
}

pub struct FlowTable {
    index: HashTable<u32>,
    slab: Vec<Option<Flow>>,
    free: Vec<u32>,
    lists: [List; LISTS],
    cfg: TableConfig,
    /// Worker clock: the latest packet or tick time seen, never moving backwards.
    now_us: u64,
    stats: FlowTableStats,
    /// Flows that ended since the caller last drained them, with their place in the
    /// detectors' order (the table's clock then; `u64::MAX` when flushed).
    ended: Vec<(Flow, EndReason, u64)>,
    /// At the end of input: the slots still to flush, last flow id first.
    flushing: Option<Vec<u32>>,
}

fn list_of(proto: u8, state: FlowState) -> u8 {
    (ProtoClass::of(proto) as u8) * 3 + state as u8
}

impl FlowTable {
    /// Reserves slab room for `max_flows` up front: the memory is only address space until
    /// flows use it, and the slab never reallocates (no copy spikes, no 2x slack in RSS).
    /// The index grows with the flows instead: sized for `max_flows` it was spread over
    /// megabytes, and every lookup missed the cache (growing it costs a rehash now and
    /// then; lookups into a table sized to the live flows were about a third cheaper).
    pub fn new(cfg: TableConfig) -> FlowTable {
        FlowTable {
            index: HashTable::new(),
            slab: Vec::with_capacity(cfg.max_flows),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; LISTS],
            cfg,
            now_us: 0,
            stats: FlowTableStats::default(),
            ended: Vec::new(),
            flushing: None,
        }
    }

    /// Live flows, for periodic interim reports.
    pub fn live(&self) -> impl Iterator<Item = &Flow> {
        self.slab.iter().flatten()
    }

    /// Key of a decoded packet and whether it travels lo → hi.
    #[inline]
    pub fn key_of(&self, d: &Decoded) -> (FlowKey, bool) {
        let (sport, dport) = if matches!(d.proto, 1 | 58) {
            let (t, c, _) = icmp_ports(d.proto, d.sport as u8, d.dport as u8);
            (t, c)
        } else {
            (d.sport, d.dport)
        };
        let vlan = if self.cfg.vlan_in_key && d.vlan_count > 0 {
            d.vlan[usize::from(d.vlan_count.min(3)) - 1]
        } else {
            0
        };
        FlowKey::new(&d.src, &d.dst, sport, dport, d.proto, vlan)
    }

    /// Account a packet to its flow, creating (or replacing an expired/reused) flow as
    /// needed. `pkts`/`wire_bytes` are 1 and the frame length, or for a reassembled IP
    /// datagram the number and total size of its fragment frames, so fragmenting hides
    /// no bytes. Returns the slab slot, the packet's direction, and whether the packet
    /// started a new flow.
    pub fn packet(
        &mut self,
        d: &Decoded,
        pkts: u64,
        wire_bytes: u64,
        ts_us: u64,
    ) -> (u32, Direction, bool) {
        self.now_us = self.now_us.max(ts_us);
        let (key, from_lo) = self.key_of(d);
        let hash = key.hash64();
        let slab = &self.slab;
        let found = self
            .index
            .find(hash, |&i| slab_key(slab, i) == Some(&key))
            .copied();
        let (slot, created) = match found {
            Some(i) if !self.stale(i, d, ts_us) => (i, false),
            Some(i) => {
                let reason = self.stale_reason(i, d);
                self.end(i, reason);
                (self.create(key, hash, from_lo, d, ts_us), true)
            }
            None => (self.create(key, hash, from_lo, d, ts_us), true),
        };
        let flow = self.slab[slot as usize].as_mut().expect("live slot");
        let dir = flow.direction(from_lo);
        flow.account(dir, d, pkts, wire_bytes, ts_us);
        let list = list_of(flow.key.proto, flow.state);
        // Already last on the right list (the flow's previous packet was the list's latest
        // activity too): moving it would put it back where it is.
        if self.lists[list as usize].tail != slot || flow.list != list {
            self.unlink(slot);
            self.push_tail(slot, list);
        }
        (slot, dir, created)
    }

    /// Whether the flow in `slot` must end before this packet: idle past its timeout
    /// (judged on packet time, so the outcome does not depend on sweep timing) or a
    /// closed TCP tuple reused by a new SYN.
    fn stale(&self, slot: u32, d: &Decoded, ts_us: u64) -> bool {
        let f = self.flow(slot);
        f.is_reused_by(d) || ts_us.saturating_sub(f.last_us) > self.timeout_of(f)
    }

    fn stale_reason(&self, slot: u32, d: &Decoded) -> EndReason {
        let f = self.flow(slot);
        if f.is_reused_by(d) {
            EndReason::TcpReuse
        } else {
            idle_reason(f)
        }
    }

    fn timeout_of(&self, f: &Flow) -> u64 {
        self.cfg
            .timeouts
            .micros(ProtoClass::of(f.key.proto), f.state as usize)
    }

    fn flow(&self, slot: u32) -> &Flow {
        self.slab[slot as usize].as_ref().expect("live slot")
    }

    /// The flow in a slot returned by [`FlowTable::packet`].
    pub fn get_mut(&mut self, slot: u32) -> &mut Flow {
        self.slab[slot as usize].as_mut().expect("live slot")
    }

    fn create(&mut self, key: FlowKey, hash: u64, from_lo: bool, d: &Decoded, ts_us: u64) -> u32 {
        if self.cfg.max_flows > 0 && self.stats.active as usize >= self.cfg.max_flows {
            self.evict_oldest();
        }
        let flow = Flow::new(key, from_lo, d, ts_us, flow_id(&key, ts_us));
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(flow);
                s
            }
            None => {
                self.slab.push(Some(flow));
                (self.slab.len() - 1) as u32
            }
        };
        let slab = &self.slab;
        self.index.insert_unique(hash, slot, |&i| {
            slab_key(slab, i).map_or(0, FlowKey::hash64)
        });
        self.stats.created += 1;
        self.stats.active += 1;
        match key.proto {
            6 => self.stats.created_tcp += 1,
            17 => self.stats.created_udp += 1,
            1 => self.stats.created_icmpv4 += 1,
            58 => self.stats.created_icmpv6 += 1,
            _ => {}
        }
        slot
    }

    /// Evict the least recently active flow of all lists.
    fn evict_oldest(&mut self) {
        let oldest = self
            .lists
            .iter()
            .filter(|l| l.head != NIL)
            .map(|l| l.head)
            .min_by_key(|&h| self.flow(h).last_us);
        if let Some(slot) = oldest {
            self.end(slot, EndReason::Memcap);
        }
    }

    /// End every flow idle past its timeout at time `now_us` (packet time in replay).
    pub fn expire(&mut self, now_us: u64) {
        self.now_us = self.now_us.max(now_us);
        for l in 0..LISTS {
            while let Some(h) = Some(self.lists[l].head).filter(|&h| h != NIL) {
                let f = self.flow(h);
                if self.now_us.saturating_sub(f.last_us) <= self.timeout_of(f) {
                    break;
                }
                let reason = idle_reason(f);
                self.end(h, reason);
            }
        }
    }

    /// End up to `max` flows (shutdown or end of input); true while flows remain. Done in
    /// chunks so the caller can hand each chunk on instead of holding every flow twice.
    pub fn flush(&mut self, reason: EndReason, max: usize) -> bool {
        // In flow id order, so that what the workers flush merges into one order that
        // does not depend on which worker held which flow (see `detect::merge`).
        let mut order = self.flushing.take().unwrap_or_else(|| {
            let slab = &self.slab;
            let mut live: Vec<u32> = (0..slab.len() as u32)
                .filter(|&i| slab[i as usize].is_some())
                .collect();
            live.sort_unstable_by_key(|&i| {
                std::cmp::Reverse(slab[i as usize].as_ref().map_or(0, |f| f.flow_id))
            });
            live
        });
        for _ in 0..max {
            let Some(slot) = order.pop() else { break };
            if self.slab[slot as usize].is_some() {
                // After every flow that ended on its own (see `watermark`).
                self.end_at(slot, reason, u64::MAX);
            }
        }
        let more = !order.is_empty();
        self.flushing = Some(order);
        more
    }

    /// How far this table has got in the detectors' order (end time, then flow id): every
    /// flow it ends from now on comes at or after this. Flushed flows come after all
    /// others, in flow id order.
    pub fn watermark(&self) -> (u64, u64) {
        match &self.flushing {
            None => (self.now_us, 0),
            Some(order) => {
                let next = order
                    .last()
                    .and_then(|&i| self.slab.get(i as usize)?.as_ref());
                (u64::MAX, next.map_or(u64::MAX, |f| f.flow_id))
            }
        }
    }

    fn end(&mut self, slot: u32, reason: EndReason) {
        self.end_at(slot, reason, self.now_us);
    }

    /// End a flow; `at` is where it stands in the detectors' order (see `watermark`).
    fn end_at(&mut self, slot: u32, reason: EndReason, at: u64) {
        self.unlink(slot);
        let flow = self.slab[slot as usize].take().expect("live slot");
        let hash = flow.key.hash64();
        if let Ok(e) = self.index.find_entry(hash, |&i| i == slot) {
            e.remove();
        }
        self.free.push(slot);
        self.stats.active -= 1;
        self.stats.ended[reason as usize] += 1;
        self.stats.ended_state[flow.state as usize] += 1;
        self.ended.push((flow, reason, at));
    }

    /// Take the flows that ended since the last call.
    pub fn drain_ended(&mut self) -> std::vec::Drain<'_, (Flow, EndReason, u64)> {
        self.ended.drain(..)
    }

    /// Counters; `memuse` counts the slots in use (reserved but untouched capacity
    /// costs no memory).
    pub fn stats(&self) -> FlowTableStats {
        let mut s = self.stats;
        s.memuse = (self.slab.len() * std::mem::size_of::<Option<Flow>>()
            + self.index.len() * (std::mem::size_of::<u32>() + 1)
            + self.free.capacity() * 4) as u64;
        s
    }

    fn unlink(&mut self, slot: u32) {
        let (prev, next, list) = {
            let f = self.flow(slot);
            (f.prev, f.next, f.list as usize)
        };
        let l = &mut self.lists[list];
        if l.head != slot && prev == NIL {
            return; // not linked
        }
        if prev == NIL {
            l.head = next;
        } else {
            self.slab[prev as usize].as_mut().expect("live").next = next;
        }
        let l = &mut self.lists[list];
        if next == NIL {
            l.tail = prev;
        } else {
            self.slab[next as usize].as_mut().expect("live").prev = prev;
        }
        let f = self.slab[slot as usize].as_mut().expect("live");
        f.prev = NIL;
        f.next = NIL;
    }

    fn push_tail(&mut self, slot: u32, list: u8) {
        let tail = self.lists[list as usize].tail;
        {
            let f = self.slab[slot as usize].as_mut().expect("live");
            f.list = list;
            f.prev = tail;
            f.next = NIL;
        }
        if tail == NIL {
            self.lists[list as usize].head = slot;
        } else {
            self.slab[tail as usize].as_mut().expect("live").next = slot;
        }
        self.lists[list as usize].tail = slot;
    }
}

fn idle_reason(f: &Flow) -> EndReason {
    if f.state == FlowState::Closed {
        EndReason::TcpClose
    } else {
        EndReason::Timeout
    }
}

fn slab_key(slab: &[Option<Flow>], i: u32) -> Option<&FlowKey> {
    slab.get(i as usize)
        .and_then(|f| f.as_ref())
        .map(|f| &f.key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::addr_from_v4;
    use crate::flow::record::{TCP_ACK, TCP_FIN, TCP_SYN};

    fn cfg(max_flows: usize) -> TableConfig {
        TableConfig {
            timeouts: Timeouts::default(),
            max_flows,
            vlan_in_key: true,
        }
    }

    fn tcp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, flags: u8, len: u32) -> Decoded {
        Decoded {
            ip_version: 4,
            src: addr_from_v4(src),
            dst: addr_from_v4(dst),
            proto: 6,
            sport: sp,
            dport: dp,
            tcp_flags: flags,
            payload_len: len,
            ..Decoded::default()
        }
    }

    const C: [u8; 4] = [10, 0, 0, 1];
    const S: [u8; 4] = [192, 0, 2, 7];

    #[test]
    fn footprint_is_small() {
        let n = std::mem::size_of::<Option<Flow>>();
        eprintln!("Option<Flow>: {n} bytes");
        assert!(n <= 176);
    }

    #[test]
    fn handshake_data_close() {
        let mut t = FlowTable::new(cfg(0));
        let s = 1_000_000;
        t.packet(&tcp(C, S, 40000, 80, TCP_SYN, 0), 1, 74, s);
        t.packet(&tcp(S, C, 80, 40000, TCP_SYN | TCP_ACK, 0), 1, 74, s + 1);
        t.packet(&tcp(C, S, 40000, 80, TCP_ACK, 0), 1, 66, s + 2);
        t.packet(&tcp(C, S, 40000, 80, TCP_ACK, 100), 1, 166, s + 3);
        let (slot, _, _) = t.packet(&tcp(S, C, 80, 40000, TCP_ACK | TCP_FIN, 0), 1, 66, s + 4);
        assert_eq!(t.get_mut(slot).state, FlowState::Established);
        t.packet(&tcp(C, S, 40000, 80, TCP_ACK | TCP_FIN, 0), 1, 66, s + 5);
        t.packet(&tcp(S, C, 80, 40000, TCP_ACK, 0), 1, 66, s + 6);
        assert_eq!(t.stats().active, 1);
        t.expire(s + 20_000_000);
        let ended: Vec<_> = t.drain_ended().collect();
        assert_eq!(ended.len(), 1);
        let (f, r, _) = &ended[0];
        assert_eq!(*r, EndReason::TcpClose);
        assert_eq!(f.state, FlowState::Closed);
        assert_eq!(f.counters[0].pkts, 4);
        assert_eq!(f.counters[0].bytes, 74 + 66 + 166 + 66);
        assert_eq!(f.counters[0].payload, 100);
        assert_eq!(f.counters[1].pkts, 3);
        assert_eq!(f.client(), (&addr_from_v4(C), 40000));
        assert_eq!(f.tcp_state_name(), "closed");
    }

    #[test]
    fn synack_first_makes_receiver_the_client() {
        let mut t = FlowTable::new(cfg(0));
        t.packet(&tcp(S, C, 80, 40000, TCP_SYN | TCP_ACK, 0), 1, 74, 1);
        t.flush(EndReason::EndOfInput, usize::MAX);
        let (f, _, _) = t.drain_ended().next().unwrap();
        assert_eq!(f.client(), (&addr_from_v4(C), 40000));
        assert_eq!(f.counters[1].pkts, 1);
    }

    #[test]
    fn midstream_well_known_source_port_is_server() {
        let mut t = FlowTable::new(cfg(0));
        t.packet(&tcp(S, C, 443, 50000, TCP_ACK, 10), 1, 80, 1);
        t.flush(EndReason::Shutdown, usize::MAX);
        let (f, _, _) = t.drain_ended().next().unwrap();
        assert_eq!(f.server(), (&addr_from_v4(S), 443));
    }

    #[test]
    fn idle_timeout_splits_flows_on_packet_time() {
        let mut t = FlowTable::new(cfg(0));
        let udp = || Decoded {
            ip_version: 4,
            src: addr_from_v4(C),
            dst: addr_from_v4(S),
            proto: 17,
            sport: 5000,
            dport: 53,
            ..Decoded::default()
        };
        t.packet(&udp(), 1, 60, 1_000_000);
        t.packet(&udp(), 1, 60, 1_000_000 + 31_000_000);
        let ended: Vec<_> = t.drain_ended().collect();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].1, EndReason::Timeout);
        assert_eq!(t.stats().created, 2);
    }

    #[test]
    fn tcp_reuse_ends_closed_flow() {
        let mut t = FlowTable::new(cfg(0));
        t.packet(&tcp(C, S, 40000, 80, TCP_SYN, 0), 1, 74, 1);
        t.packet(&tcp(S, C, 80, 40000, 0x04, 0), 1, 60, 2);
        t.packet(&tcp(C, S, 40000, 80, TCP_SYN, 0), 1, 74, 3);
        let ended: Vec<_> = t.drain_ended().collect();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].1, EndReason::TcpReuse);
    }

    #[test]
    fn memcap_evicts_least_recent() {
        let mut t = FlowTable::new(cfg(2));
        t.packet(&tcp(C, S, 1, 80, TCP_SYN, 0), 1, 74, 1);
        t.packet(&tcp(C, S, 2, 80, TCP_SYN, 0), 1, 74, 2);
        t.packet(&tcp(C, S, 1, 80, TCP_ACK, 0), 1, 74, 3);
        t.packet(&tcp(C, S, 3, 80, TCP_SYN, 0), 1, 74, 4);
        let ended: Vec<_> = t.drain_ended().collect();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].0.key.lo_port.min(ended[0].0.key.hi_port), 2);
        assert_eq!(ended[0].1, EndReason::Memcap);
        assert_eq!(t.stats().active, 2);
    }
}
