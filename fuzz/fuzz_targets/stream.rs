#![no_main]
//! Arbitrary segments, ACKs and flow ends into both directions of one connection sharing a
//! tiny memcap, so every budget, depth and wrap-around path is reachable. Must never panic,
//! and the books must balance: the memcap equals what the streams buffer, every handed-out
//! byte is counted in `delivered`, depth is never exceeded, and finishing frees everything.

use exfil_sensor::stream::{Chunk, HalfStream, StreamConfig, StreamMemcap, StreamStats};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Header: depth, per-direction budget, memcap (small units), base sequence number.
    let Some((head, mut ops)) = data.split_first_chunk::<8>() else {
        return;
    };
    let [depth, budget, lim0, lim1, b0, b1, b2, b3] = *head;
    let cfg = StreamConfig {
        depth: u64::from(depth) * 16,
        max_buffered: usize::from(budget) * 16,
    };
    let mut mem = StreamMemcap {
        limit: usize::from(u16::from_le_bytes([lim0, lim1])),
        used: 0,
    };
    let base = u32::from_le_bytes([b0, b1, b2, b3]);
    let mut stats = StreamStats::default();
    let mut dirs = [HalfStream::default(), HalfStream::default()];
    let mut handed = [0u64; 2];
    // Each op: kind, 4-byte sequence number, TCP flags, payload length, payload.
    while let Some((op, rest)) = ops.split_first_chunk::<7>() {
        let [kind, s0, s1, s2, s3, flags, len] = *op;
        let (payload, rest) = rest.split_at(usize::from(len).min(rest.len()));
        ops = rest;
        let raw = u32::from_le_bytes([s0, s1, s2, s3]);
        // Mostly close to `base`, so segments overlap and fill each other's holes.
        let seq = if kind & 2 == 0 {
            base.wrapping_add(raw % 2048)
        } else {
            raw
        };
        let d = usize::from(kind & 1);
        let mut out = |c: Chunk<'_>| {
            handed[d] += match c {
                Chunk::Data(b) => b.len() as u64,
                Chunk::Gap(n) => n,
            };
        };
        let s = &mut dirs[d];
        match (kind >> 2) & 7 {
            0 | 1 => s.acked(seq, &cfg, &mut mem, &mut stats, &mut out),
            2 => s.finish(&mut mem, &mut stats, &mut out),
            _ => s.segment(seq, flags, payload, &cfg, &mut mem, &mut stats, &mut out),
        }
        assert_eq!(mem.used, dirs[0].buffered() + dirs[1].buffered());
        for (s, h) in dirs.iter().zip(handed) {
            assert_eq!(s.delivered(), h);
            assert!(cfg.depth == 0 || s.delivered() <= cfg.depth);
            assert!(s.buffered() <= cfg.max_buffered || mem.used <= mem.limit);
        }
    }
    for s in &mut dirs {
        s.finish(&mut mem, &mut stats, &mut |_| {});
    }
    assert_eq!(mem.used, 0);
});
