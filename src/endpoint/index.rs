//! Endpoint records waiting for their flows. A flow is judged when it ends, which may be
//! long after the record (a record logged at connect time meets its flow only at the flow's
//! end), or before it (live: the shipper is late), so records are kept for a retention
//! period and looked up by transport and four-tuple, in either orientation, with the
//! record's time within a tolerance of the flow's first packet.
//!
//! Bounded: at `max_records` the record that would expire first is evicted (counted). Each
//! record is one slab slot, one `u32` in a hash table keyed by its unordered tuple (so a
//! lookup is one hash probe whatever the orientation), and one entry in a min-heap by
//! expiry time that drives both expiry and eviction. The strings of a process (image,
//! user, host, parent) are shared between its records: a host opens thousands of
//! connections from a handful of processes.

use super::parse::RecordRef;
use super::{image_name, Format, JoinQuality, Parent, Process};
use crate::decode::Addr;
use crate::ident::community_id;
use hashbrown::HashTable;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::Hash;
use std::sync::Arc;

/// The join's knobs, in µs.
#[derive(Clone, Copy, Debug)]
pub struct IndexConfig {
    /// Largest |record time − flow start| that still joins.
    pub tolerance_us: u64,
    /// How long a record waits for its flow (past its own time, plus the tolerance).
    pub retention_us: u64,
    pub max_records: usize,
    /// For the Community ID of the record's tuple (`output.community_id_seed`).
    pub community_id_seed: u16,
}

/// What the index did, for `stats.endpoint`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexCounts {
    pub indexed: u64,
    /// Removed at the `max_records` cap before their time.
    pub evicted: u64,
    /// Removed after the retention period.
    pub expired: u64,
    /// Records that left the index (or were still in it at the end) without joining a
    /// flow: no such flow seen, NAT between host and sensor, or a clock off by more than
    /// the tolerance.
    pub never_joined: u64,
}

/// Outcome of looking a flow up.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Shared: the flow event, its alerts and the detectors' record all point at it.
    Joined(Arc<Process>),
    /// Records with the flow's tuple exist, none within the tolerance: a clock problem.
    OutsideTolerance,
    NoRecord,
}

/// A transport four-tuple with its endpoints ordered, so both orientations share it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    lo: Addr,
    hi: Addr,
    lo_port: u16,
    hi_port: u16,
    proto: u8,
}

impl Key {
    /// The key, and whether `a` is its `lo` end.
    fn new(proto: u8, a: (Addr, u16), b: (Addr, u16)) -> (Key, bool) {
        let a_lo = a <= b;
        let ((lo, lo_port), (hi, hi_port)) = if a_lo { (a, b) } else { (b, a) };
        (
            Key {
                lo,
                hi,
                lo_port,
                hi_port,
                proto,
            },
            a_lo,
        )
    }

    fn hash64(&self) -> u64 {
        // Fixed seeds, as the flow table: reproducible, and ahash mixes well enough.
        const STATE: ahash::RandomState =
            ahash::RandomState::with_seeds(0x2545_f491, 0x9e37_79b9, 0x7f4a_7c15, 0x5851_f42d);
        STATE.hash_one(self)
    }
}

/// The strings of one process identity, shared by all its records.
#[derive(Debug, PartialEq, Eq)]
struct Names {
    image: Box<str>,
    name: Box<str>,
    user_domain: Option<Box<str>>,
    user: Option<Box<str>>,
    host: Option<Box<str>>,
    parent_image: Option<Box<str>>,
}

type NamesKey<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

impl Names {
    fn key(&self) -> NamesKey<'_> {
        (
            &self.image,
            self.user_domain.as_deref(),
            self.user.as_deref(),
            self.host.as_deref(),
            self.parent_image.as_deref(),
        )
    }
}

/// Interns [`Names`]. Bounded by clearing when full: records keep their `Arc`s, only the
/// sharing with later records is lost. One per parsing thread (names are then shared
/// within a thread's records, which is nearly all the sharing there is).
pub struct Interner {
    table: HashTable<Arc<Names>>,
    state: ahash::RandomState,
}

impl Default for Interner {
    fn default() -> Interner {
        Interner {
            table: HashTable::new(),
            state: ahash::RandomState::new(),
        }
    }
}

const MAX_NAMES: usize = 65_536;

impl Interner {
    fn get(&mut self, r: &RecordRef<'_>) -> Arc<Names> {
        let key: NamesKey<'_> = (
            &r.image,
            r.user_domain.as_deref(),
            r.user.as_deref(),
            r.host.as_deref(),
            r.parent_image.as_deref(),
        );
        let h = self.state.hash_one(key);
        if let Some(n) = self.table.find(h, |n| n.key() == key) {
            return n.clone();
        }
        if self.table.len() >= MAX_NAMES {
            self.table.clear();
        }
        let boxed = |s: &Option<std::borrow::Cow<'_, str>>| s.as_deref().map(Box::from);
        let n = Arc::new(Names {
            image: Box::from(&*r.image),
            name: image_name(&r.image).into(),
            user_domain: boxed(&r.user_domain),
            user: boxed(&r.user),
            host: boxed(&r.host),
            parent_image: boxed(&r.parent_image),
        });
        let state = &self.state;
        self.table
            .insert_unique(h, n.clone(), |n| state.hash_one(n.key()));
        n
    }
}

/// A record ready for the index: parsed, keyed and its strings interned. Made on any
/// thread ([`Prepared::new`]), inserted on the index's.
pub struct Prepared {
    key: Key,
    time_us: u64,
    pid: Option<u64>,
    parent_pid: Option<u64>,
    names: Arc<Names>,
    /// The record's source is the key's `lo` end.
    src_is_lo: bool,
    initiated: Option<bool>,
    format: Format,
}

impl Prepared {
    pub fn new(names: &mut Interner, r: &RecordRef<'_>) -> Prepared {
        let (key, src_is_lo) = Key::new(r.proto, r.src, r.dst);
        Prepared {
            key,
            time_us: r.time_us,
            pid: r.pid,
            parent_pid: r.parent_pid,
            names: names.get(r),
            src_is_lo,
            initiated: r.initiated,
            format: r.format,
        }
    }
}

struct Slot {
    r: Prepared,
    joined: bool,
}

pub struct Index {
    cfg: IndexConfig,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    table: HashTable<u32>,
    /// (expiry time, slot): every live slot has exactly one entry, and slots are freed
    /// only by popping it, so the heap never holds a stale entry.
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    pub counts: IndexCounts,
}

impl Index {
    pub fn new(cfg: IndexConfig) -> Index {
        Index {
            cfg: IndexConfig {
                max_records: cfg.max_records.clamp(1, u32::MAX as usize),
                ..cfg
            },
            slots: Vec::new(),
            free: Vec::new(),
            table: HashTable::new(),
            heap: BinaryHeap::new(),
            counts: IndexCounts::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn insert(&mut self, r: Prepared) {
        if self.len() >= self.cfg.max_records {
            if let Some(Reverse((_, s))) = self.heap.pop() {
                self.remove(s);
                self.counts.evicted += 1;
            }
        }
        let (key, time_us) = (r.key, r.time_us);
        let slot = Slot { r, joined: false };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.table.insert_unique(key.hash64(), idx, |&i| {
            slots[i as usize].as_ref().map_or(0, |s| s.r.key.hash64())
        });
        let expiry = time_us
            .saturating_add(self.cfg.retention_us)
            .saturating_add(self.cfg.tolerance_us);
        self.heap.push(Reverse((expiry, idx)));
        self.counts.indexed += 1;
    }

    fn remove(&mut self, idx: u32) {
        let Some(slot) = self.slots[idx as usize].take() else {
            return;
        };
        if let Ok(e) = self.table.find_entry(slot.r.key.hash64(), |&i| i == idx) {
            e.remove();
        }
        self.free.push(idx);
        if !slot.joined {
            self.counts.never_joined += 1;
        }
    }

    /// Drop records whose retention ended before `now_us` (packet time in replay, wall
    /// time live).
    pub fn expire(&mut self, now_us: u64) {
        while let Some(&Reverse((t, s))) = self.heap.peek() {
            if t >= now_us {
                break;
            }
            self.heap.pop();
            self.remove(s);
            self.counts.expired += 1;
        }
    }

    /// Records still waiting count as never joined once the input has ended. (One pass
    /// over the slab: removing a million records one heap pop at a time took longer
    /// than indexing them.)
    pub fn finish(&mut self) {
        let waiting = self.slots.iter().flatten().filter(|s| !s.joined).count();
        self.counts.never_joined += waiting as u64;
        self.slots = Vec::new();
        self.free = Vec::new();
        self.table = HashTable::new();
        self.heap = BinaryHeap::new();
    }

    /// The process for a flow: the record with its tuple (either orientation) whose time
    /// is nearest the flow's start within the tolerance, preferring the side that opened
    /// the connection (a flow between two monitored hosts has a record on each).
    pub fn join(
        &mut self,
        proto: u8,
        client: (Addr, u16),
        server: (Addr, u16),
        start_us: u64,
    ) -> Lookup {
        let (key, client_is_lo) = Key::new(proto, client, server);
        let tol = self.cfg.tolerance_us as i128;
        let mut best: Option<(bool, i128, u32, bool)> = None;
        let mut seen = false;
        for &i in self.table.iter_hash(key.hash64()) {
            let Some(s) = self.slots[i as usize]
                .as_ref()
                .map(|s| &s.r)
                .filter(|s| s.key == key)
            else {
                continue;
            };
            seen = true;
            let skew = i128::from(s.time_us) - i128::from(start_us);
            if skew.abs() > tol {
                continue;
            }
            // A record that does not say who initiated: its source is the connecting side.
            let initiated = s.initiated.unwrap_or(s.src_is_lo == client_is_lo);
            let rank = (!initiated, skew.abs());
            if best.is_none_or(|(b_in, b_skew, _, _)| rank < (b_in, b_skew.abs())) {
                best = Some((!initiated, skew, i, initiated));
            }
        }
        let Some((_, skew, i, initiated)) = best else {
            return if seen {
                Lookup::OutsideTolerance
            } else {
                Lookup::NoRecord
            };
        };
        let seed = self.cfg.community_id_seed;
        let Some(s) = self.slots[i as usize].as_mut() else {
            return Lookup::NoRecord;
        };
        s.joined = true;
        Lookup::Joined(Arc::new(s.r.process(seed, initiated, skew)))
    }
}

impl Prepared {
    fn process(&self, seed: u16, initiated: bool, skew_us: i128) -> Process {
        let n = &*self.names;
        let k = &self.key;
        let (src, dst) = if self.src_is_lo {
            ((k.lo, k.lo_port), (k.hi, k.hi_port))
        } else {
            ((k.hi, k.hi_port), (k.lo, k.lo_port))
        };
        let user = n.user.as_deref().map(|u| match &n.user_domain {
            Some(d) => format!("{d}\\{u}"),
            None => u.to_string(),
        });
        let parent = (n.parent_image.is_some() || self.parent_pid.is_some()).then(|| Parent {
            image: n.parent_image.as_deref().map(String::from),
            name: n.parent_image.as_deref().map(image_name),
            pid: self.parent_pid,
        });
        Process {
            image: n.image.to_string(),
            name: n.name.to_string(),
            pid: self.pid,
            parent,
            user,
            host: n.host.as_deref().map(String::from),
            record_time: self.time_us,
            format: self.format.name(),
            community_id: community_id(seed, k.proto, &src.0, &dst.0, src.1, dst.1).to_string(),
            join: JoinQuality {
                orientation: if initiated { "initiated" } else { "inbound" },
                skew_ms: (skew_us / 1000) as i64,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::addr_from_v4;
    use std::borrow::Cow;

    const S: u64 = 1_000_000;
    const T0: u64 = 1_773_133_201 * S;

    fn cfg(max_records: usize) -> IndexConfig {
        IndexConfig {
            tolerance_us: 5 * S,
            retention_us: 60 * S,
            max_records,
            community_id_seed: 0,
        }
    }

    fn ep(last: u8, port: u16) -> (Addr, u16) {
        (addr_from_v4([10, 0, 0, last]), port)
    }

    fn rec(
        src: (Addr, u16),
        dst: (Addr, u16),
        time_us: u64,
        image: &str,
        initiated: Option<bool>,
    ) -> RecordRef<'_> {
        RecordRef {
            format: Format::Sysmon,
            proto: 6,
            src,
            dst,
            time_us,
            initiated,
            image: Cow::Borrowed(image),
            pid: Some(42),
            user_domain: Some(Cow::Borrowed("CORP")),
            user: Some(Cow::Borrowed("alice")),
            host: Some(Cow::Borrowed("WS-1")),
            parent_image: None,
            parent_pid: None,
        }
    }

    /// Prepare and insert, as the stage does.
    fn add(ix: &mut Index, names: &mut Interner, r: &RecordRef<'_>) {
        ix.insert(Prepared::new(names, r));
    }

    fn joined(l: Lookup) -> Arc<Process> {
        match l {
            Lookup::Joined(p) => p,
            other => panic!("not joined: {other:?}"),
        }
    }

    #[test]
    fn joins_before_and_after_within_tolerance() {
        let mut ix = Index::new(cfg(100));
        let mut nm = Interner::default();
        let (c, s) = (ep(1, 50000), ep(2, 21));
        add(
            &mut ix,
            &mut nm,
            &rec(
                c,
                s,
                T0 - 800_000,
                r"C:\Windows\System32\FTP.EXE",
                Some(true),
            ),
        );
        let p = joined(ix.join(6, c, s, T0));
        assert_eq!(p.name, "ftp.exe");
        assert_eq!(p.image, r"C:\Windows\System32\FTP.EXE");
        assert_eq!(p.user.as_deref(), Some(r"CORP\alice"));
        assert_eq!(p.join.orientation, "initiated");
        assert_eq!(p.join.skew_ms, -800);
        assert_eq!(p.record_time, T0 - 800_000);
        assert_eq!(
            p.community_id,
            community_id(0, 6, &c.0, &s.0, c.1, s.1).to_string()
        );
        // A record 4.2 s after the start of another flow on the same tuple.
        add(
            &mut ix,
            &mut nm,
            &rec(c, s, T0 + 104_200_000, "ftp.exe", None),
        );
        let p = joined(ix.join(6, c, s, T0 + 100 * S));
        assert_eq!(p.join.skew_ms, 4200);
        assert_eq!(p.join.orientation, "initiated", "its source is the client");
        assert_eq!(
            ix.join(17, c, s, T0),
            Lookup::NoRecord,
            "transport is part of the key"
        );
        assert_eq!(ix.join(6, c, ep(2, 22), T0), Lookup::NoRecord);
    }

    #[test]
    fn skew_beyond_tolerance_is_reported() {
        let mut ix = Index::new(cfg(100));
        let mut nm = Interner::default();
        let (c, s) = (ep(1, 50000), ep(2, 21));
        add(
            &mut ix,
            &mut nm,
            &rec(c, s, T0 + 5 * S + 1, "ftp.exe", Some(true)),
        );
        add(
            &mut ix,
            &mut nm,
            &rec(c, s, T0 - 7 * S, "ftp.exe", Some(true)),
        );
        assert_eq!(ix.join(6, c, s, T0), Lookup::OutsideTolerance);
        assert_eq!(joined(ix.join(6, c, s, T0 + 1)).join.skew_ms, 5000);
    }

    #[test]
    fn inbound_records_join_in_either_orientation() {
        let mut ix = Index::new(cfg(100));
        let mut nm = Interner::default();
        let (c, s) = (ep(9, 41000), ep(2, 445));
        // Logged on the server: the accepting process, tuple as the connection runs.
        add(
            &mut ix,
            &mut nm,
            &rec(
                c,
                s,
                T0 + 300_000,
                r"C:\Windows\System32\svchost.exe",
                Some(false),
            ),
        );
        let p = joined(ix.join(6, c, s, T0));
        assert_eq!(p.join.orientation, "inbound");
        assert_eq!(p.name, "svchost.exe");
        // Some shippers write an inbound record with the local end as the source.
        let mut ix = Index::new(cfg(100));
        let mut nm = Interner::default();
        add(&mut ix, &mut nm, &rec(s, c, T0, "svchost.exe", None));
        let p = joined(ix.join(6, c, s, T0));
        assert_eq!(p.join.orientation, "inbound");
        assert_eq!(
            p.community_id,
            community_id(0, 6, &c.0, &s.0, c.1, s.1).to_string()
        );
    }

    #[test]
    fn nearest_record_wins_and_initiator_is_preferred() {
        let mut ix = Index::new(cfg(100));
        let mut nm = Interner::default();
        let (c, s) = (ep(1, 50000), ep(2, 445));
        add(
            &mut ix,
            &mut nm,
            &rec(c, s, T0 + 3_900_000, "decoy.exe", Some(true)),
        );
        add(
            &mut ix,
            &mut nm,
            &rec(c, s, T0 + 200_000, "real.exe", Some(true)),
        );
        add(&mut ix, &mut nm, &rec(c, s, T0, "server.exe", Some(false)));
        let p = joined(ix.join(6, c, s, T0));
        assert_eq!(p.name, "real.exe");
        assert_eq!(p.join.skew_ms, 200);
    }

    #[test]
    fn records_expire_after_retention_and_count_if_unused() {
        let mut ix = Index::new(cfg(100));
        let mut nm = Interner::default();
        let (c, s) = (ep(1, 50000), ep(2, 21));
        add(&mut ix, &mut nm, &rec(c, s, T0, "a.exe", Some(true)));
        add(
            &mut ix,
            &mut nm,
            &rec(ep(1, 50001), s, T0 + 10 * S, "b.exe", Some(true)),
        );
        joined(ix.join(6, c, s, T0));
        ix.expire(T0 + 65 * S); // retention 60 s + tolerance 5 s: the first is still due
        assert_eq!(ix.len(), 2);
        ix.expire(T0 + 65 * S + 1);
        assert_eq!(ix.len(), 1);
        assert_eq!(ix.counts.expired, 1);
        assert_eq!(ix.counts.never_joined, 0, "the expired one had joined");
        assert_eq!(ix.join(6, c, s, T0), Lookup::NoRecord);
        ix.finish();
        assert!(ix.is_empty());
        assert_eq!(ix.counts.never_joined, 1);
        assert_eq!(ix.counts.indexed, 2);
    }

    #[test]
    fn cap_evicts_the_record_due_first() {
        let mut ix = Index::new(cfg(3));
        let mut nm = Interner::default();
        let s = ep(2, 80);
        for (i, t) in [5u64, 1, 9, 3].into_iter().enumerate() {
            add(
                &mut ix,
                &mut nm,
                &rec(ep(1, 1000 + i as u16), s, T0 + t * S, "x.exe", Some(true)),
            );
        }
        assert_eq!(ix.len(), 3);
        assert_eq!(ix.counts.evicted, 1);
        assert_eq!(ix.counts.never_joined, 1);
        // The record at T0+1 s (port 1001) went; the others remain.
        assert_eq!(ix.join(6, ep(1, 1001), s, T0 + S), Lookup::NoRecord);
        for (port, t) in [(1000, 5), (1002, 9), (1003, 3)] {
            joined(ix.join(6, ep(1, port), s, T0 + t * S));
        }
        // Slots are reused after eviction.
        for i in 0..10u16 {
            add(
                &mut ix,
                &mut nm,
                &rec(ep(1, 2000 + i), s, T0 + 20 * S, "y.exe", None),
            );
        }
        assert_eq!(ix.len(), 3);
        assert!(ix.slots.len() <= 4);
    }

    #[test]
    fn names_are_shared_between_records() {
        let mut ix = Index::new(cfg(100));
        let mut nm = Interner::default();
        for i in 0..50u16 {
            add(
                &mut ix,
                &mut nm,
                &rec(ep(1, 3000 + i), ep(2, 80), T0, "same.exe", Some(true)),
            );
        }
        assert_eq!(nm.table.len(), 1);
        let first = ix.slots[0].as_ref().unwrap().r.names.clone();
        assert!(ix
            .slots
            .iter()
            .flatten()
            .all(|s| Arc::ptr_eq(&s.r.names, &first)));
    }
}
