//! IPv4/IPv6 fragment reassembly.
//!
//! Overlap policy: **first**. Bytes already received are never overwritten; a later
//! fragment only fills the gaps it covers. It is simple, deterministic and means
//! data the sensor has already accepted cannot be rewritten by a crafted fragment.
//! Targets using another policy (Linux, BSD-right, ...) may reassemble overlapping
//! fragments differently, so every overlap is counted in [`DefragStats::overlaps`].
//! The same goes for conflicting ends: the first last-fragment (MF clear) fixes the
//! datagram length, and data beyond it is discarded and counted as an overlap.
//!
//! Resources are bounded: at most `max_trackers` datagrams and `max_bytes` of
//! reassembly buffers (holes included, as they are allocated) plus range lists.
//! Over either cap the oldest datagram is evicted.

use std::collections::BTreeMap;

use hashbrown::HashMap;

use super::{Addr, Decoded};

/// Largest reassembled payload: the IP length fields are 16 bits.
const MAX_PAYLOAD: u32 = 65535;

#[derive(Clone, Debug)]
pub struct DefragConfig {
    /// Datagrams not completed this long after their first fragment are dropped.
    pub timeout_secs: u64,
    pub max_trackers: usize,
    /// Cap on buffered fragment data, see [`Defragmenter::memuse`].
    pub max_bytes: usize,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            timeout_secs: 60,
            max_trackers: 65536,
            max_bytes: 64 << 20,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct DefragStats {
    pub fragments_v4: u64,
    pub fragments_v6: u64,
    pub reassembled_v4: u64,
    pub reassembled_v6: u64,
    /// Datagrams dropped incomplete by `expire` or by a late fragment.
    pub timeouts: u64,
    /// Datagrams evicted because `max_trackers` was reached.
    pub max_trackers_reached: u64,
    /// Datagrams evicted (or refused) because `max_bytes` was reached.
    pub memcap_drops: u64,
    /// Fragments that overlapped received data or conflicted with the known end.
    pub overlaps: u64,
    /// Fragments reaching beyond byte 65535 of the payload; their datagram is dropped.
    pub too_large: u64,
}

/// RFC 791 / RFC 8200 reassembly key (proto is the IPv6 fragment header's next header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    version: u8,
    proto: u8,
    src: Addr,
    dst: Addr,
    id: u32,
}

/// (first-seen µs, insertion sequence): orders trackers for expiry and eviction.
type Age = (u64, u64);

struct Tracker {
    /// Reassembly buffer indexed by fragment offset; holes stay zero until filled.
    buf: Vec<u8>,
    /// Received byte ranges `[start, end)`: sorted, disjoint, non-adjacent.
    have: Vec<(u32, u32)>,
    /// Payload length, known once a last fragment (MF clear) arrived.
    total: Option<u32>,
    age: Age,
    /// Fragment frames and their wire bytes, so the flow is charged for every frame.
    frames: u64,
    wire_bytes: u64,
}

/// A completed datagram: the upper-layer payload (L4 header onwards) and the frames it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reassembled {
    pub payload: Vec<u8>,
    pub frames: u64,
    pub wire_bytes: u64,
}

impl Tracker {
    /// Bytes charged against `max_bytes`.
    fn cost(&self) -> usize {
        self.buf.len().saturating_add(
            self.have
                .len()
                .saturating_mul(std::mem::size_of::<(u32, u32)>()),
        )
    }

    /// Add fragment data at `start` (`start + data.len() <= MAX_PAYLOAD`, checked
    /// by the caller). Returns whether it overlapped or conflicted with what we had.
    fn add(&mut self, start: u32, data: &[u8], last: bool) -> bool {
        let mut end = start.saturating_add(u32::try_from(data.len()).unwrap_or(MAX_PAYLOAD));
        let mut conflict = false;
        if last {
            match self.total {
                None => {
                    self.total = Some(end);
                    if self.buf.len() > end as usize {
                        conflict = true;
                        self.buf.truncate(end as usize);
                        self.have.retain_mut(|r| {
                            r.1 = r.1.min(end);
                            r.0 < r.1
                        });
                    }
                }
                Some(t) => conflict |= t != end,
            }
        }
        if let Some(t) = self.total {
            if end > t {
                conflict = true;
                end = t;
            }
        }
        if start >= end {
            return conflict;
        }
        if self.buf.len() < end as usize {
            self.buf.reserve_exact(end as usize - self.buf.len());
            self.buf.resize(end as usize, 0);
        }
        // Copy only into the gaps of [start, end): first policy.
        let first = self.have.partition_point(|&(_, b)| b < start);
        let mut pos = start;
        for &(a, b) in self.have.iter().skip(first) {
            if a >= end || pos >= end {
                break;
            }
            if b <= pos {
                continue;
            }
            if a > pos {
                copy(&mut self.buf, data, start, pos, a);
            }
            conflict = true;
            pos = b;
        }
        if pos < end {
            copy(&mut self.buf, data, start, pos, end);
        }
        // Merge [start, end) with the ranges it touches.
        let mut last_touching = first;
        let (mut lo, mut hi) = (start, end);
        while let Some(&(a, b)) = self.have.get(last_touching) {
            if a > end {
                break;
            }
            lo = lo.min(a);
            hi = hi.max(b);
            last_touching += 1;
        }
        self.have.splice(first..last_touching, [(lo, hi)]);
        conflict
    }

    fn complete(&self) -> bool {
        self.total
            .is_some_and(|t| self.have.first() == Some(&(0, t)))
    }
}

/// Copy `data` (which starts at offset `base`) for offsets `[from, to)` into `buf`.
fn copy(buf: &mut [u8], data: &[u8], base: u32, from: u32, to: u32) {
    let (from, to, base) = (from as usize, to as usize, base as usize);
    let src = data.get(from.saturating_sub(base)..to.saturating_sub(base));
    if let (Some(dst), Some(src)) = (buf.get_mut(from..to), src) {
        dst.copy_from_slice(src);
    }
}

fn bump(counter: &mut u64) {
    *counter = counter.saturating_add(1);
}

pub struct Defragmenter {
    cfg: DefragConfig,
    trackers: HashMap<Key, Tracker, ahash::RandomState>,
    by_age: BTreeMap<Age, Key>,
    seq: u64,
    bytes: usize,
    stats: DefragStats,
}

impl Defragmenter {
    pub fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            trackers: HashMap::with_hasher(ahash::RandomState::new()),
            by_age: BTreeMap::new(),
            seq: 0,
            bytes: 0,
            stats: DefragStats::default(),
        }
    }

    /// Feed one fragment (d.fragment is Some; `frame` is the original frame; `now_us` packet timestamp in microseconds).
    /// `wire_len` is the frame's length on the wire. Returns the complete datagram when this fragment
    /// completes it; the caller then calls `decode_transport(d.proto, &r.payload, &mut d)`.
    ///
    /// The fragment's data is `frame[d.payload_offset..][..d.payload_len]` (see [`Decoded::payload_offset`]).
    pub fn insert(
        &mut self,
        frame: &[u8],
        d: &Decoded,
        wire_len: u32,
        now_us: u64,
    ) -> Option<Reassembled> {
        let frag = d.fragment?;
        match d.ip_version {
            4 => bump(&mut self.stats.fragments_v4),
            6 => bump(&mut self.stats.fragments_v6),
            _ => return None,
        }
        let start = d.payload_offset as usize;
        let data = frame.get(start..start.checked_add(d.payload_len as usize)?)?;
        let key = Key {
            version: d.ip_version,
            proto: d.proto,
            src: d.src,
            dst: d.dst,
            id: frag.id,
        };
        let end = u32::try_from(data.len())
            .ok()
            .and_then(|len| frag.offset.checked_add(len))
            .filter(|&end| end <= MAX_PAYLOAD);
        let Some(end) = end else {
            bump(&mut self.stats.too_large);
            self.remove(&key);
            return None;
        };
        let timeout = self.timeout_us();
        if self
            .trackers
            .get(&key)
            .is_some_and(|t| now_us.saturating_sub(t.age.0) > timeout)
        {
            self.remove(&key);
            bump(&mut self.stats.timeouts);
        }
        if !self.trackers.contains_key(&key) && !self.create(key, now_us) {
            return None;
        }
        if !self.reserve(&key, end) {
            return None;
        }
        let t = self.trackers.get_mut(&key)?;
        self.bytes = self.bytes.saturating_sub(t.cost());
        t.frames += 1;
        t.wire_bytes += u64::from(wire_len);
        let conflict = t.add(frag.offset, data, !frag.more);
        self.bytes = self.bytes.saturating_add(t.cost());
        if conflict {
            bump(&mut self.stats.overlaps);
        }
        if !t.complete() {
            return None;
        }
        let t = self.remove(&key)?;
        bump(if key.version == 4 {
            &mut self.stats.reassembled_v4
        } else {
            &mut self.stats.reassembled_v6
        });
        Some(Reassembled {
            payload: t.buf,
            frames: t.frames,
            wire_bytes: t.wire_bytes,
        })
    }

    /// Drop trackers older than the timeout (called periodically with packet time).
    pub fn expire(&mut self, now_us: u64) {
        let timeout = self.timeout_us();
        while let Some((&age, &key)) = self.by_age.first_key_value() {
            if now_us.saturating_sub(age.0) <= timeout {
                break;
            }
            self.remove(&key);
            bump(&mut self.stats.timeouts);
        }
    }

    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    /// Bytes held in reassembly buffers (holes included) and range lists: what `max_bytes` caps.
    pub fn memuse(&self) -> usize {
        self.bytes
    }

    fn timeout_us(&self) -> u64 {
        self.cfg.timeout_secs.saturating_mul(1_000_000)
    }

    /// Start tracking `key`, evicting the oldest tracker when at `max_trackers`.
    fn create(&mut self, key: Key, now_us: u64) -> bool {
        if self.trackers.len() >= self.cfg.max_trackers {
            bump(&mut self.stats.max_trackers_reached);
            while self.trackers.len() >= self.cfg.max_trackers {
                if !self.evict_oldest(None) {
                    return false;
                }
            }
        }
        let age = (now_us, self.seq);
        self.seq = self.seq.wrapping_add(1);
        self.by_age.insert(age, key);
        self.trackers.insert(
            key,
            Tracker {
                buf: Vec::new(),
                have: Vec::new(),
                total: None,
                age,
                frames: 0,
                wire_bytes: 0,
            },
        );
        true
    }

    /// Make room under `max_bytes` for `key`'s data to reach `end`, evicting other
    /// trackers oldest first; if that is not enough, `key`'s tracker is dropped.
    fn reserve(&mut self, key: &Key, end: u32) -> bool {
        let Some(t) = self.trackers.get(key) else {
            return false;
        };
        let growth = (end as usize)
            .saturating_sub(t.buf.len())
            .saturating_add(std::mem::size_of::<(u32, u32)>());
        while self.bytes.saturating_add(growth) > self.cfg.max_bytes {
            bump(&mut self.stats.memcap_drops);
            if !self.evict_oldest(Some(key)) {
                self.remove(key);
                return false;
            }
        }
        true
    }

    fn evict_oldest(&mut self, keep: Option<&Key>) -> bool {
        let victim = self.by_age.values().find(|k| Some(*k) != keep).copied();
        victim.and_then(|k| self.remove(&k)).is_some()
    }

    fn remove(&mut self, key: &Key) -> Option<Tracker> {
        let t = self.trackers.remove(key)?;
        self.by_age.remove(&t.age);
        self.bytes = self.bytes.saturating_sub(t.cost());
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{decode, decode_transport, Fragment, LinkType};
    use super::*;

    const SEC: u64 = 1_000_000;

    fn dec(f: &[u8]) -> Decoded {
        let mut d = Decoded::default();
        decode(LinkType::Ethernet, f, &mut d).unwrap();
        d
    }

    /// Ethernet frames carrying `l4` split into `size`-byte fragments.
    fn split(v6: bool, proto: u8, id: u16, l4: &[u8], size: usize) -> Vec<Vec<u8>> {
        let n = l4.len().div_ceil(size);
        (0..n)
            .map(|i| {
                let chunk = &l4[i * size..((i + 1) * size).min(l4.len())];
                let (off, more) = ((i * size) as u16, i + 1 < n);
                if v6 {
                    eth(
                        0x86DD,
                        &ipv6_frag(proto, u32::from(id) << 16, off, more, chunk),
                    )
                } else {
                    eth(0x0800, &ipv4_frag(proto, id, off, more, chunk))
                }
            })
            .collect()
    }

    fn feed(df: &mut Defragmenter, f: &[u8], t: u64) -> Option<Vec<u8>> {
        df.insert(f, &dec(f), f.len() as u32, t).map(|r| r.payload)
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn out_of_order_v4_and_v6() {
        for v6 in [false, true] {
            let mut df = Defragmenter::new(DefragConfig::default());
            let l4 = udp(1000, 2000, &pattern(3000));
            let frags = split(v6, 17, 0x1234, &l4, 1480);
            assert_eq!(frags.len(), 3);
            let d0 = dec(&frags[0]);
            assert_eq!(
                d0.fragment,
                Some(Fragment {
                    id: if v6 { 0x1234_0000 } else { 0x1234 },
                    offset: 0,
                    more: true
                })
            );
            assert_eq!((d0.sport, d0.dport, d0.payload_len), (1000, 2000, 1480));
            let d2 = dec(&frags[2]);
            assert_eq!(
                (
                    d2.sport,
                    d2.fragment.unwrap().offset,
                    d2.fragment.unwrap().more
                ),
                (0, 2960, false)
            );

            assert_eq!(feed(&mut df, &frags[2], 1), None);
            assert_eq!(feed(&mut df, &frags[0], 2), None);
            assert!(df.memuse() >= 3008);
            let buf = feed(&mut df, &frags[1], 3).unwrap();
            assert_eq!(buf, l4);
            assert_eq!(df.memuse(), 0);
            let mut d = dec(&frags[1]);
            decode_transport(d.proto, &buf, &mut d).unwrap();
            assert_eq!(
                (
                    d.sport,
                    d.dport,
                    d.l4_offset,
                    d.payload_offset,
                    d.payload_len
                ),
                (1000, 2000, 0, 8, 3000)
            );
            let s = df.stats();
            if v6 {
                assert_eq!(
                    (s.fragments_v6, s.reassembled_v6, s.fragments_v4),
                    (3, 1, 0)
                );
            } else {
                assert_eq!(
                    (s.fragments_v4, s.reassembled_v4, s.fragments_v6),
                    (3, 1, 0)
                );
            }
            assert_eq!(s.overlaps, 0);
        }
    }

    #[test]
    fn interleaved_datagrams_and_keys() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let a = split(false, 17, 1, &udp(1, 2, &[b'a'; 100]), 48);
        let b = split(false, 17, 2, &udp(3, 4, &[b'b'; 100]), 48);
        let tcp_same_id = split(false, 6, 1, &tcp(5, 6, &[b't'; 100]), 48);
        for i in 0..2 {
            assert_eq!(feed(&mut df, &a[i], 0), None);
            assert_eq!(feed(&mut df, &b[i], 0), None);
            assert_eq!(feed(&mut df, &tcp_same_id[i], 0), None);
        }
        assert_eq!(feed(&mut df, &b[2], 0).unwrap(), udp(3, 4, &[b'b'; 100]));
        assert_eq!(feed(&mut df, &a[2], 0).unwrap(), udp(1, 2, &[b'a'; 100]));
        assert_eq!(
            feed(&mut df, &tcp_same_id[2], 0).unwrap(),
            tcp(5, 6, &[b't'; 100])
        );
    }

    #[test]
    fn overlap_first_wins() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let fa = eth(0x0800, &ipv4_frag(99, 7, 0, true, &[b'A'; 16]));
        let fb = eth(0x0800, &ipv4_frag(99, 7, 8, true, &[b'B'; 16]));
        let fc = eth(0x0800, &ipv4_frag(99, 7, 24, false, &[b'C'; 8]));
        let dup = fc.clone();
        assert_eq!(feed(&mut df, &fa, 0), None);
        assert_eq!(feed(&mut df, &fb, 0), None);
        let buf = feed(&mut df, &fc, 0).unwrap();
        assert_eq!(buf, [&[b'A'; 16][..], &[b'B'; 8], &[b'C'; 8]].concat());
        assert_eq!(df.stats().overlaps, 1);
        // A later fragment fully inside earlier data changes nothing; a duplicate counts.
        let fa2 = eth(0x86DD, &ipv6_frag(6, 9, 0, true, &[b'x'; 32]));
        let fb2 = eth(0x86DD, &ipv6_frag(6, 9, 8, true, &[b'y'; 8]));
        let fc2 = eth(0x86DD, &ipv6_frag(6, 9, 32, false, &[b'z'; 8]));
        assert_eq!(feed(&mut df, &fa2, 0), None);
        assert_eq!(feed(&mut df, &fb2, 0), None);
        assert_eq!(feed(&mut df, &fb2, 0), None);
        let buf = feed(&mut df, &fc2, 0).unwrap();
        assert_eq!(buf, [&[b'x'; 32][..], &[b'z'; 8]].concat());
        assert_eq!(df.stats().overlaps, 3);
        // The completed datagram is gone: a late duplicate starts a new one.
        assert_eq!(feed(&mut df, &dup, 0), None);
        assert_eq!(df.trackers.len(), 1);
    }

    #[test]
    fn conflicting_ends() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let mid = eth(0x0800, &ipv4_frag(99, 1, 16, true, &[b'm'; 16]));
        let end1 = eth(0x0800, &ipv4_frag(99, 1, 16, false, &[b'e'; 8]));
        let end2 = eth(0x0800, &ipv4_frag(99, 1, 32, false, &[b'f'; 8]));
        let head = eth(0x0800, &ipv4_frag(99, 1, 0, true, &[b'h'; 16]));
        assert_eq!(feed(&mut df, &mid, 0), None);
        assert_eq!(feed(&mut df, &end1, 0), None); // ends at 24: data beyond is cut
        assert_eq!(feed(&mut df, &end2, 0), None); // a second, different end
        let buf = feed(&mut df, &head, 0).unwrap();
        assert_eq!(buf, [&[b'h'; 16][..], &[b'm'; 8]].concat());
        assert_eq!(df.stats().overlaps, 2);
    }

    #[test]
    fn timeout_by_expire_and_by_late_fragment() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let frags = split(false, 17, 5, &udp(1, 2, &[0; 64]), 32);
        assert_eq!(feed(&mut df, &frags[0], 0), None);
        df.expire(60 * SEC);
        assert_eq!(df.trackers.len(), 1);
        df.expire(60 * SEC + 1);
        assert_eq!((df.trackers.len(), df.by_age.len(), df.memuse()), (0, 0, 0));
        assert_eq!(df.stats().timeouts, 1);

        assert_eq!(feed(&mut df, &frags[0], 100 * SEC), None);
        assert_eq!(feed(&mut df, &frags[1], 161 * SEC), None);
        assert_eq!(df.stats().timeouts, 2);
        assert_eq!(feed(&mut df, &frags[2], 162 * SEC), None);
        assert_eq!(
            feed(&mut df, &frags[0], 163 * SEC).unwrap(),
            udp(1, 2, &[0; 64])
        );
    }

    #[test]
    fn max_trackers_evicts_oldest() {
        let mut df = Defragmenter::new(DefragConfig {
            max_trackers: 2,
            ..DefragConfig::default()
        });
        let d: Vec<_> = (0..3u16)
            .map(|id| split(false, 17, id, &udp(id, 9, &[1; 40]), 24))
            .collect();
        assert_eq!(feed(&mut df, &d[0][0], 10), None);
        assert_eq!(feed(&mut df, &d[1][0], 20), None);
        assert_eq!(feed(&mut df, &d[2][0], 30), None);
        assert_eq!(df.stats().max_trackers_reached, 1);
        assert_eq!(df.trackers.len(), 2);
        assert_eq!(feed(&mut df, &d[2][1], 40), Some(udp(2, 9, &[1; 40])));
        assert_eq!(feed(&mut df, &d[1][1], 40), Some(udp(1, 9, &[1; 40])));
        assert_eq!(feed(&mut df, &d[0][1], 40), None); // its head was evicted

        let mut none = Defragmenter::new(DefragConfig {
            max_trackers: 0,
            ..DefragConfig::default()
        });
        assert_eq!(feed(&mut none, &d[0][0], 0), None);
        assert_eq!(none.stats().max_trackers_reached, 1);
    }

    #[test]
    fn memcap() {
        let mut df = Defragmenter::new(DefragConfig {
            max_bytes: 2048,
            ..DefragConfig::default()
        });
        let big = split(false, 17, 1, &udp(1, 2, &[0; 3000]), 1480);
        assert_eq!(feed(&mut df, &big[0], 0), None);
        assert_eq!(feed(&mut df, &big[1], 0), None);
        assert_eq!(df.stats().memcap_drops, 1);
        assert!(df.memuse() <= 2048);
        assert_eq!(df.trackers.len(), 0);

        // The second datagram evicts the first to make room.
        let a = split(false, 17, 2, &udp(1, 2, &[0; 1600]), 1024);
        let b = split(false, 17, 3, &udp(1, 2, &[0; 1600]), 1024);
        assert_eq!(feed(&mut df, &a[0], 0), None);
        assert_eq!(df.memuse(), 1024 + 8);
        assert_eq!(feed(&mut df, &b[0], 1), None);
        assert_eq!(df.stats().memcap_drops, 2);
        assert_eq!(feed(&mut df, &b[1], 2), Some(udp(1, 2, &[0; 1600])));
        assert_eq!(feed(&mut df, &a[1], 3), None);
        assert_eq!(df.memuse(), 1608 + 8);
    }

    #[test]
    fn too_large_and_non_fragments() {
        let mut df = Defragmenter::new(DefragConfig::default());
        let head = eth(0x0800, &ipv4_frag(17, 3, 0, true, &[0; 16]));
        let beyond = eth(0x0800, &ipv4_frag(17, 3, 65528, true, &[0; 16]));
        assert_eq!(feed(&mut df, &head, 0), None);
        assert_eq!(feed(&mut df, &beyond, 0), None);
        assert_eq!((df.stats().too_large, df.trackers.len()), (1, 0));
        let edge = eth(0x86DD, &ipv6_frag(17, 3, 65528, false, &[0; 7]));
        assert_eq!(feed(&mut df, &edge, 0), None);
        assert_eq!((df.stats().too_large, df.trackers.len()), (1, 1));

        let whole = eth(0x0800, &ipv4(17, &udp(1, 2, b"x")));
        assert_eq!(feed(&mut df, &whole, 0), None);
        // Atomic IPv6 fragment: decoded as a whole packet, nothing to reassemble.
        let atomic = eth(0x86DD, &ipv6_frag(17, 4, 0, false, &udp(1, 2, b"x")));
        let d = dec(&atomic);
        assert_eq!((d.fragment, d.sport, d.payload_len), (None, 1, 1));
        assert_eq!(df.insert(&atomic, &d, 60, 0), None);
        // Offsets that do not fit the frame are ignored.
        let mut bogus = dec(&head);
        bogus.payload_len = 10_000;
        assert_eq!(df.insert(&head, &bogus, 60, 0), None);
        let s = df.stats();
        assert_eq!(
            (s.fragments_v4, s.fragments_v6, s.reassembled_v4),
            (3, 1, 0)
        );
    }

    #[test]
    fn random_fragment_soup_never_panics_and_stays_bounded() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::default();
        let strat = proptest::collection::vec(
            (0u16..4, 0u16..8191, any::<bool>(), 0usize..600, 0u64..200),
            1..60,
        );
        runner
            .run(&strat, |ops| {
                let mut df = Defragmenter::new(DefragConfig {
                    timeout_secs: 1,
                    max_trackers: 3,
                    max_bytes: 100_000,
                });
                for (id, off, more, len, t) in ops {
                    let f = eth(
                        0x0800,
                        &ipv4_frag(99, id, off * 8, more, &vec![id as u8; len]),
                    );
                    if let Some(buf) = feed(&mut df, &f, t * SEC / 10) {
                        prop_assert!(buf.len() <= MAX_PAYLOAD as usize);
                    }
                    prop_assert!(df.trackers.len() <= 3 && df.by_age.len() == df.trackers.len());
                    prop_assert!(df.memuse() <= 100_000);
                    let cost: usize = df.trackers.values().map(Tracker::cost).sum();
                    prop_assert_eq!(cost, df.memuse());
                    for t in df.trackers.values() {
                        prop_assert!(t.have.windows(2).all(|w| w[0].1 < w[1].0));
                    }
                    df.expire(t * SEC / 10);
                }
                Ok(())
            })
            .unwrap();
    }
}
