use super::*;
use crate::flow::record::TCP_RST;
use proptest::prelude::*;

const SYN: u8 = TCP_SYN;
const FIN: u8 = TCP_FIN;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Out {
    Data(Vec<u8>),
    Gap(u64),
}

/// One direction with its own config, memcap, stats and a record of what it handed out.
struct H {
    s: HalfStream,
    cfg: StreamConfig,
    mem: StreamMemcap,
    stats: StreamStats,
    out: Vec<Out>,
}

impl H {
    fn new() -> H {
        H::with(0, 1 << 20, usize::MAX)
    }

    fn with(depth: u64, max_buffered: usize, limit: usize) -> H {
        H {
            s: HalfStream::default(),
            cfg: StreamConfig {
                depth,
                max_buffered,
            },
            mem: StreamMemcap { limit, used: 0 },
            stats: StreamStats::default(),
            out: Vec::new(),
        }
    }

    fn seg(&mut self, seq: u32, flags: u8, data: &[u8]) -> &mut H {
        let out = &mut self.out;
        self.s.segment(
            seq,
            flags,
            data,
            &self.cfg,
            &mut self.mem,
            &mut self.stats,
            &mut |c| out.push(own(c)),
        );
        self
    }

    fn ack(&mut self, ack: u32) -> &mut H {
        let out = &mut self.out;
        self.s
            .acked(ack, &self.cfg, &mut self.mem, &mut self.stats, &mut |c| {
                out.push(own(c))
            });
        self
    }

    fn finish(&mut self) -> &mut H {
        let out = &mut self.out;
        self.s
            .finish(&mut self.mem, &mut self.stats, &mut |c| out.push(own(c)));
        self
    }

    /// Output so far as text, gaps as `[n]`.
    fn text(&self) -> String {
        self.out
            .iter()
            .map(|o| match o {
                Out::Data(d) => String::from_utf8_lossy(d).into_owned(),
                Out::Gap(n) => format!("[{n}]"),
            })
            .collect()
    }
}

fn own(c: Chunk<'_>) -> Out {
    match c {
        Chunk::Data(d) => Out::Data(d.to_vec()),
        Chunk::Gap(n) => Out::Gap(n),
    }
}

#[test]
fn idle_stream_is_small_and_unallocated() {
    assert!(std::mem::size_of::<HalfStream>() <= 32);
    let mut h = H::new();
    h.seg(1000, SYN, b"")
        .seg(1001, 0, b"hello")
        .seg(1006, 0, b" world");
    assert_eq!(h.text(), "hello world");
    assert!(h.s.ooo.is_none());
    assert_eq!(
        (h.stats.segments, h.stats.in_order, h.stats.midstream),
        (3, 2, 0)
    );
    assert_eq!(h.s.delivered(), 11);
}

#[test]
fn in_order_segment_is_handed_out_without_copy() {
    let (cfg, mut stats) = (StreamConfig::default(), StreamStats::default());
    let mut mem = StreamMemcap { limit: 0, used: 0 };
    let mut s = HalfStream::default();
    let payload = b"zero-copy".to_vec();
    let mut same = false;
    s.segment(7, 0, &payload, &cfg, &mut mem, &mut stats, &mut |c| {
        same = matches!(c, Chunk::Data(d) if std::ptr::eq(d.as_ptr(), payload.as_ptr()) && d.len() == 9);
    });
    assert!(same);
}

#[test]
fn out_of_order_is_buffered_then_released_in_order() {
    let mut h = H::new();
    h.seg(0, SYN, b"").seg(7, 0, b"world").seg(12, 0, b"!");
    assert_eq!(h.text(), "");
    assert_eq!(h.s.buffered(), 6 + 2 * SEG_OVERHEAD);
    assert_eq!(h.mem.used, h.s.buffered());
    h.seg(1, 0, b"hello ");
    assert_eq!(
        h.out,
        [
            Out::Data(b"hello ".to_vec()),
            Out::Data(b"world".to_vec()),
            Out::Data(b"!".to_vec())
        ]
    );
    assert_eq!((h.stats.in_order, h.stats.out_of_order), (1, 2));
    assert_eq!((h.s.buffered(), h.mem.used), (0, 0));
    assert!(h.s.ooo.is_none(), "buffer freed once empty");
}

#[test]
fn retransmission_and_partial_overlap_with_delivered_bytes() {
    let mut h = H::new();
    h.seg(100, SYN, b"").seg(101, 0, b"hello");
    h.seg(101, 0, b"hello").seg(103, 0, b"ll");
    assert_eq!(h.stats.retransmissions, 2);
    h.seg(104, 0, b"lo world");
    assert_eq!(h.text(), "hello world");
    assert_eq!(h.stats.overlaps, 1);
    assert_eq!(h.stats.retransmissions, 2);
}

#[test]
fn overlapping_buffered_segments_first_wins_same_data() {
    let mut h = H::new();
    h.seg(0, SYN, b"")
        .seg(6, 0, b"world")
        .seg(6, 0, b"worl")
        .seg(7, 0, b"orld!!");
    assert_eq!((h.stats.overlaps, h.stats.overlap_diff_data), (2, 0));
    h.seg(1, 0, b"hello");
    assert_eq!(h.text(), "helloworld!!");
    assert_eq!(h.mem.used, 0);
}

#[test]
fn overlapping_buffered_segments_first_wins_different_data() {
    let mut h = H::new();
    // Buffered AAAA at offsets 10..14; the newcomer covers 8..16 with other bytes.
    h.seg(0, SYN, b"")
        .seg(11, 0, b"AAAA")
        .seg(9, 0, b"BBBBBBBB");
    assert_eq!((h.stats.overlaps, h.stats.overlap_diff_data), (1, 1));
    // Holes between kept segments are filled, pieces on both sides of AAAA come from B.
    h.seg(1, 0, b"01234567");
    assert_eq!(h.text(), "01234567BBAAAABB");
}

#[test]
fn newcomer_spanning_several_buffered_segments_fills_only_the_holes() {
    let mut h = H::new();
    h.seg(0, SYN, b"")
        .seg(3, 0, b"X")
        .seg(6, 0, b"YY")
        .seg(10, 0, b"Z");
    h.seg(2, 0, b"abcdefghijk");
    assert_eq!((h.stats.overlaps, h.stats.overlap_diff_data), (1, 1));
    h.seg(1, 0, b"_");
    assert_eq!(h.text(), "_aXcdYYghZjk");
    assert_eq!(h.mem.used, 0);
}

#[test]
fn in_order_data_does_not_override_buffered_bytes() {
    let mut h = H::new();
    h.seg(0, SYN, b"").seg(4, 0, b"XYZ").seg(1, 0, b"abcdefg");
    assert_eq!(h.text(), "abcXYZg");
    assert_eq!((h.stats.overlaps, h.stats.overlap_diff_data), (1, 1));
    // Same bytes: counted as overlap, not as different data.
    let mut h = H::new();
    h.seg(0, SYN, b"").seg(4, 0, b"def").seg(1, 0, b"abcdefg");
    assert_eq!(h.text(), "abcdefg");
    assert_eq!((h.stats.overlaps, h.stats.overlap_diff_data), (1, 0));
}

#[test]
fn sequence_numbers_wrap_around() {
    let isn = u32::MAX - 3;
    let mut h = H::new();
    h.seg(isn, SYN, b"");
    // Bytes at MAX-2 .. MAX+6 (wrapped): out of order across the wrap, then in order.
    h.seg(isn.wrapping_add(5), 0, b"efgh");
    h.seg(isn.wrapping_add(1), 0, b"abcd");
    h.seg(isn.wrapping_add(3), 0, b"cd");
    assert_eq!(h.text(), "abcdefgh");
    assert_eq!(h.stats.retransmissions, 1);
    h.seg(isn.wrapping_add(11), 0, b"k")
        .ack(isn.wrapping_add(12));
    assert_eq!(h.text(), "abcdefgh[2]k");
}

#[test]
fn ack_past_a_hole_declares_a_gap_and_flushes() {
    let mut h = H::new();
    h.seg(0, SYN, b"")
        .seg(1, 0, b"aaaa")
        .seg(9, 0, b"cccc")
        .seg(15, 0, b"e");
    h.ack(5).ack(1);
    assert_eq!(h.text(), "aaaa", "acks of delivered bytes change nothing");
    h.ack(13);
    assert_eq!(h.text(), "aaaa[4]cccc");
    h.ack(17);
    assert_eq!(h.text(), "aaaa[4]cccc[2]e[1]");
    assert_eq!(
        (h.stats.gaps, h.stats.gap_bytes, h.stats.memcap_drops),
        (3, 7, 0)
    );
    assert_eq!(h.mem.used, 0);
    // The lost bytes arriving late are old news.
    h.seg(5, 0, b"bbbb");
    assert_eq!(h.stats.retransmissions, 1);
    assert_eq!(h.text(), "aaaa[4]cccc[2]e[1]");
}

#[test]
fn ack_of_fin_is_not_a_gap_but_bytes_lost_before_fin_are() {
    let mut h = H::new();
    h.seg(0, SYN, b"").seg(1, FIN, b"bye").ack(5);
    assert_eq!(h.text(), "bye");
    let mut h = H::new();
    h.seg(0, SYN, b"").seg(1, 0, b"ab").seg(6, FIN, b"f").ack(8);
    assert_eq!(h.text(), "ab[3]f");
    let mut h = H::new();
    h.seg(0, SYN, b"")
        .seg(1, 0, b"ab")
        .seg(6, FIN, b"")
        .finish();
    assert_eq!(h.text(), "ab[3]");
}

#[test]
fn acks_before_the_stream_started_are_ignored() {
    let mut h = H::new();
    h.ack(1234).seg(1000, 0, b"mid");
    assert_eq!(h.text(), "mid");
}

#[test]
fn per_direction_budget_forces_a_gap() {
    let mut h = H::with(0, 10 + SEG_OVERHEAD, usize::MAX);
    h.seg(0, SYN, b"").seg(5, 0, b"0123456789");
    assert_eq!(h.text(), "", "exactly at the budget: still buffered");
    h.seg(20, 0, b"x");
    assert_eq!(
        h.text(),
        "[4]0123456789",
        "only the oldest hole is given up"
    );
    assert_eq!(
        (h.stats.gaps, h.stats.gap_bytes, h.stats.memcap_drops),
        (1, 4, 1)
    );
    assert_eq!(
        (h.s.buffered(), h.mem.used),
        (1 + SEG_OVERHEAD, 1 + SEG_OVERHEAD)
    );
    h.finish();
    assert_eq!(h.text(), "[4]0123456789[5]x");
    assert_eq!((h.stats.gaps, h.stats.memcap_drops), (2, 1));
    assert_eq!((h.s.buffered(), h.mem.used), (0, 0));
}

#[test]
fn worker_memcap_forces_a_gap_in_the_stream_that_overflows_it() {
    let cfg = StreamConfig::default();
    let mut mem = StreamMemcap {
        limit: 100 + 2 * SEG_OVERHEAD,
        used: 0,
    };
    let mut stats = StreamStats::default();
    let (mut a, mut b) = (HalfStream::default(), HalfStream::default());
    let mut got: Vec<(char, Out)> = Vec::new();
    a.segment(0, SYN, b"", &cfg, &mut mem, &mut stats, &mut |_| {});
    b.segment(0, SYN, b"", &cfg, &mut mem, &mut stats, &mut |_| {});
    a.segment(11, 0, &[b'a'; 60], &cfg, &mut mem, &mut stats, &mut |c| {
        got.push(('a', own(c)))
    });
    assert!(got.is_empty());
    b.segment(11, 0, &[b'b'; 60], &cfg, &mut mem, &mut stats, &mut |c| {
        got.push(('b', own(c)))
    });
    assert_eq!(got, [('b', Out::Gap(10)), ('b', Out::Data(vec![b'b'; 60]))]);
    assert_eq!(stats.memcap_drops, 1);
    assert_eq!(mem.used, a.buffered());
    a.finish(&mut mem, &mut stats, &mut |_| {});
    b.finish(&mut mem, &mut stats, &mut |_| {});
    assert_eq!(mem.used, 0);
}

#[test]
fn depth_stops_delivery_and_buffering() {
    let mut h = H::with(10, 1 << 20, usize::MAX);
    h.seg(0, SYN, b"")
        .seg(1, 0, b"012345")
        .seg(7, 0, b"6789abcd");
    assert_eq!(h.text(), "0123456789");
    assert_eq!((h.s.delivered(), h.stats.depth_reached), (10, 1));
    // Past depth: nothing handed out, nothing buffered, sequence still tracked.
    h.seg(30, 0, b"later")
        .seg(15, 0, b"efghijklmnopqrs")
        .seg(20, 0, b"x");
    h.ack(40).finish();
    assert_eq!(h.text(), "0123456789");
    assert_eq!(
        (h.s.buffered(), h.mem.used, h.stats.depth_reached),
        (0, 0, 1)
    );
    // Past depth the position jumps over holes, so the late filler counts as old data.
    assert_eq!(h.stats.retransmissions, 2);
    assert_eq!(h.stats.gaps, 0);
}

#[test]
fn out_of_order_bytes_beyond_depth_are_not_buffered() {
    let mut h = H::with(10, 1 << 20, usize::MAX);
    h.seg(0, SYN, b"")
        .seg(6, 0, b"56789abcdef")
        .seg(12, 0, b"zz");
    assert_eq!(h.s.buffered(), 5 + SEG_OVERHEAD);
    h.seg(1, 0, b"01234");
    assert_eq!(h.text(), "0123456789");
    assert_eq!(
        (h.s.buffered(), h.mem.used, h.stats.depth_reached),
        (0, 0, 1)
    );
}

#[test]
fn gaps_count_towards_depth() {
    // Offsets 0..2 delivered, 2 lost, 3..7 buffered but only 3..5 lie within depth.
    let mut h = H::with(5, 1 << 20, usize::MAX);
    h.seg(0, SYN, b"").seg(1, 0, b"ab").seg(4, 0, b"cdef");
    assert_eq!(h.s.buffered(), 2 + SEG_OVERHEAD);
    h.ack(10);
    assert_eq!(h.text(), "ab[1]cd");
    assert_eq!((h.s.delivered(), h.stats.depth_reached), (5, 1));
    // A gap reaching past depth is cut at depth.
    let mut h = H::with(8, 1 << 20, usize::MAX);
    h.seg(0, SYN, b"")
        .seg(1, 0, b"ab")
        .seg(4, 0, b"cdef")
        .ack(12);
    assert_eq!(h.text(), "ab[1]cdef[1]");
    assert_eq!((h.s.delivered(), h.stats.gap_bytes), (8, 2));
    // Bytes lost before a FIN are capped at depth too, although `finish` gets no config.
    let mut h = H::with(5, 1 << 20, usize::MAX);
    h.seg(0, SYN, b"")
        .seg(1, 0, b"ab")
        .seg(11, FIN, b"")
        .finish();
    assert_eq!(h.text(), "ab[3]");
    assert_eq!(h.s.delivered(), 5);
}

#[test]
fn midstream_pickup_starts_at_the_first_segment() {
    let mut h = H::new();
    h.seg(5000, 0, b"middle").seg(4990, 0, b"before");
    assert_eq!(h.text(), "middle");
    assert_eq!((h.stats.midstream, h.stats.retransmissions), (1, 1));
    // A SYN after progress is just an old segment.
    h.seg(100, SYN, b"").seg(5006, 0, b"!");
    assert_eq!(h.text(), "middle!");
}

#[test]
fn syn_before_any_progress_resyncs() {
    let mut h = H::new();
    h.seg(777, 0, b"").seg(100, SYN, b"").seg(101, 0, b"data");
    assert_eq!(h.text(), "data");
    assert_eq!(h.stats.midstream, 1);
    // Retransmitted SYN: same ISN, harmless.
    let mut h = H::new();
    h.seg(100, SYN, b"").seg(100, SYN, b"").seg(101, 0, b"x");
    assert_eq!(h.text(), "x");
}

#[test]
fn syn_data_follows_the_isn() {
    let mut h = H::new();
    h.seg(100, SYN, b"fast")
        .seg(105, 0, b"open")
        .seg(100, SYN, b"fast");
    assert_eq!(h.text(), "fastopen");
    assert_eq!(h.stats.retransmissions, 1);
}

#[test]
fn rst_data_is_delivered_like_any_other() {
    let mut h = H::new();
    h.seg(0, SYN, b"").seg(1, TCP_RST, b"rst");
    assert_eq!(h.text(), "rst");
}

#[test]
fn finish_declares_holes_and_releases_memory() {
    let mut h = H::new();
    h.seg(0, SYN, b"").seg(5, 0, b"b").seg(9, 0, b"cd").finish();
    assert_eq!(h.text(), "[4]b[3]cd");
    assert_eq!((h.s.buffered(), h.mem.used), (0, 0));
    assert!(h.s.ooo.is_none());
}

/// Cuts `data` at `cuts` into segments, adds overlapping re-cuts and duplicates, orders them by `keys`.
fn segments(
    data: &[u8],
    cuts: &[usize],
    extra: &[(usize, usize)],
    keys: &[u32],
) -> Vec<(usize, usize)> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    at.extend([0, data.len()]);
    at.sort_unstable();
    at.dedup();
    let mut segs: Vec<(usize, usize)> = at.windows(2).map(|w| (w[0], w[1])).collect();
    for &(s, l) in extra {
        let s = s % data.len();
        segs.push((s, (s + l).min(data.len())));
    }
    let mut keyed: Vec<(u32, (usize, usize))> = segs
        .into_iter()
        .enumerate()
        .map(|(i, r)| (keys[i % keys.len()] ^ i as u32, r))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, r)| r).collect()
}

proptest! {
    #[test]
    fn shuffled_duplicated_segments_reassemble_to_the_original(
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        isn in any::<u32>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..60),
        extra in proptest::collection::vec((any::<usize>(), 1usize..300), 0..20),
        keys in proptest::collection::vec(any::<u32>(), 1..64),
        depth in prop_oneof![Just(0u64), 1u64..4000],
    ) {
        let mut h = H::with(depth, 1 << 20, usize::MAX);
        h.seg(isn, SYN, b"");
        for (s, e) in segments(&data, &cuts, &extra, &keys) {
            h.seg(isn.wrapping_add(1 + s as u32), 0, &data[s..e]);
        }
        h.finish();
        let want = match depth {
            0 => &data[..],
            d => &data[..data.len().min(d as usize)],
        };
        let got: Vec<u8> = h.out.iter().flat_map(|o| match o {
            Out::Data(d) => d.clone(),
            Out::Gap(_) => panic!("gap without loss"),
        }).collect();
        prop_assert_eq!(&got[..], want);
        prop_assert_eq!(h.s.delivered(), want.len() as u64);
        prop_assert_eq!(h.stats.overlap_diff_data, 0);
        prop_assert_eq!(h.mem.used, 0);
    }

    #[test]
    fn lossy_capture_keeps_every_byte_at_its_position(
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        isn in any::<u32>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..60),
        extra in proptest::collection::vec((any::<usize>(), 1usize..300), 0..20),
        keys in proptest::collection::vec(any::<u32>(), 1..64),
        lost in proptest::collection::vec(any::<bool>(), 1..16),
        acks in proptest::collection::vec(proptest::option::of(any::<usize>()), 1..16),
        max_buffered in 0usize..3000,
        limit in 0usize..6000,
    ) {
        let mut h = H::with(0, max_buffered, limit);
        h.seg(isn, SYN, b"");
        for (i, (s, e)) in segments(&data, &cuts, &extra, &keys).into_iter().enumerate() {
            if !lost[i % lost.len()] {
                h.seg(isn.wrapping_add(1 + s as u32), 0, &data[s..e]);
            }
            if let Some(a) = acks[i % acks.len()] {
                h.ack(isn.wrapping_add(1 + (a % (data.len() + 1)) as u32));
            }
            prop_assert!(h.s.buffered() <= max_buffered || h.mem.used <= limit);
        }
        h.ack(isn.wrapping_add(1 + data.len() as u32)).finish();
        let mut pos = 0usize;
        for o in &h.out {
            match o {
                Out::Data(d) => {
                    prop_assert_eq!(&data[pos..pos + d.len()], &d[..]);
                    pos += d.len();
                }
                Out::Gap(n) => pos += *n as usize,
            }
        }
        prop_assert_eq!(pos, data.len());
        prop_assert_eq!(h.s.delivered(), data.len() as u64);
        prop_assert_eq!(h.mem.used, 0);
    }

    #[test]
    fn arbitrary_segments_never_panic_and_keep_the_books(
        ops in proptest::collection::vec(
            (any::<bool>(), 0u8..4, prop_oneof![0u32..600, any::<u32>()], any::<u8>(),
             proptest::collection::vec(any::<u8>(), 0..120)),
            0..80),
        base in any::<u32>(),
        depth in prop_oneof![Just(0u64), 0u64..500],
        max_buffered in 0usize..1500,
        limit in 0usize..2500,
    ) {
        let cfg = StreamConfig { depth, max_buffered };
        let mut mem = StreamMemcap { limit, used: 0 };
        let mut stats = StreamStats::default();
        let mut dirs = [HalfStream::default(), HalfStream::default()];
        let mut handed = [0u64; 2];
        for (second, op, off, flags, payload) in ops {
            let d = usize::from(second);
            let s = &mut dirs[d];
            let seq = base.wrapping_add(off);
            let mut out = |c: Chunk<'_>| {
                handed[d] += match c {
                    Chunk::Data(b) => b.len() as u64,
                    Chunk::Gap(n) => n,
                };
            };
            match op {
                0 => s.acked(seq, &cfg, &mut mem, &mut stats, &mut out),
                1 => s.finish(&mut mem, &mut stats, &mut out),
                _ => s.segment(seq, flags, &payload, &cfg, &mut mem, &mut stats, &mut out),
            }
            prop_assert_eq!(mem.used, dirs[0].buffered() + dirs[1].buffered());
            for (i, s) in dirs.iter().enumerate() {
                prop_assert_eq!(s.delivered(), handed[i]);
                prop_assert!(depth == 0 || s.delivered() <= depth);
                prop_assert!(s.buffered() <= max_buffered || mem.used <= limit);
                if let Some(p) = &s.ooo {
                    prop_assert!(!p.segs.is_empty());
                    let rel = |g: &Seg| u64::from(g.seq.wrapping_sub(s.next));
                    prop_assert!(p.segs.iter().all(|g| !g.data.is_empty() && rel(g) > 0 && rel(g) < 1 << 31));
                    prop_assert!(p.segs.iter().zip(p.segs.iter().skip(1))
                        .all(|(a, b)| rel(a) + a.data.len() as u64 <= rel(b)));
                    prop_assert_eq!(p.cost, p.segs.iter().map(Seg::cost).sum::<usize>());
                }
            }
        }
        for s in &mut dirs {
            s.finish(&mut mem, &mut stats, &mut |_| {});
        }
        prop_assert_eq!(mem.used, 0);
    }
}

#[test]
fn syn_resync_forgets_an_earlier_fin() {
    let mut h = H::with(49, 1 << 20, usize::MAX);
    h.seg(0, 0, b"")
        .seg(450, FIN, b"")
        .seg(1 << 31, SYN, b"x")
        .finish();
    assert_eq!(h.text(), "x");
}
