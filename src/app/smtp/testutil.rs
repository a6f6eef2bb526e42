//! Test harness shared by the SMTP and HTTP tests: replay recorded exchanges into a parser
//! with any chunking, and check events against Suricata's EVE schema.

use crate::app::harness::Harness;
use crate::app::{AppEvent, AppProto, Cx, Direction, Parser, Transport};

/// Segments of a fixture file: `C`/`S`, 4-byte big-endian length, payload (capture order).
pub(crate) fn segments(mut f: &[u8]) -> Vec<(Direction, &[u8])> {
    let mut v = Vec::new();
    while f.len() >= 5 {
        let dir = if f[0] == b'C' {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let n = u32::from_be_bytes([f[1], f[2], f[3], f[4]]) as usize;
        v.push((dir, &f[5..5 + n]));
        f = &f[5 + n..];
    }
    v
}

#[derive(Debug, PartialEq)]
pub(crate) struct Out {
    pub events: Vec<AppEvent>,
    pub upgrade: Option<AppProto>,
}

/// Runs `f` with a fresh context and returns what it produced.
pub(crate) fn with_cx(f: impl FnOnce(&mut Cx<'_>)) -> Out {
    let mut h = harness();
    f(&mut h.cx());
    out(h)
}

fn out(h: Harness) -> Out {
    Out {
        events: h.events,
        upgrade: h.upgrade,
    }
}

fn harness() -> Harness {
    Harness::ports(Transport::Tcp, 40000, 25).at(1_700_000_000_000_000)
}

/// Feeds `segs` to a new parser; `pieces(i, seg)` gives the chunk lengths segment `i` is
/// cut into (the rest goes in one more chunk). Ends with `finish`.
pub(crate) fn run<P: Parser + Default>(
    segs: &[(Direction, &[u8])],
    mut pieces: impl FnMut(usize, &[u8]) -> Vec<usize>,
) -> Out {
    let (mut h, mut p) = (harness(), P::default());
    for (i, (dir, data)) in segs.iter().enumerate() {
        h.feed(&mut p, *dir, data, pieces(i, data));
    }
    h.finish(&mut p);
    out(h)
}

/// Feeds `segs` whole with a gap of `len` bytes after every third one.
pub(crate) fn run_with_gaps<P: Parser + Default>(segs: &[(Direction, &[u8])], len: u64) -> Out {
    let (mut h, mut p) = (harness(), P::default());
    for (i, (dir, data)) in segs.iter().enumerate() {
        h.parse(&mut p, *dir, data);
        if i % 3 == 1 {
            h.gap(&mut p, *dir, len);
        }
    }
    h.finish(&mut p);
    out(h)
}

pub(crate) fn whole(_: usize, _: &[u8]) -> Vec<usize> {
    Vec::new()
}

/// Replay whole segments and check every event against Suricata's schema.
pub(crate) fn run_checked<P: Parser + Default>(segs: &[(Direction, &[u8])]) -> Out {
    let out = run::<P>(segs, whole);
    assert_schema(&out.events);
    out
}

pub(crate) fn of_type<'a>(out: &'a Out, t: &str) -> Vec<&'a AppEvent> {
    out.events.iter().filter(|e| e.event_type == t).collect()
}

pub(crate) fn exfil(e: &AppEvent) -> &serde_json::Value {
    e.exfil.as_ref().expect("exfil")
}

/// Every single split point, and byte-by-byte feeding, give the events of whole segments.
pub(crate) fn assert_split_invariant<P: Parser + Default>(segs: &[(Direction, &[u8])]) {
    let base = run::<P>(segs, whole);
    let bytewise = run::<P>(segs, |_, d| vec![1; d.len()]);
    assert_eq!(bytewise, base, "byte-by-byte");
    for (i, (_, d)) in segs.iter().enumerate() {
        for at in 1..d.len() {
            let out = run::<P>(segs, |j, _| if j == i { vec![at] } else { Vec::new() });
            assert_eq!(out, base, "segment {i} split at {at}");
        }
    }
}

pub(crate) use crate::app::schema_check::assert_schema;
