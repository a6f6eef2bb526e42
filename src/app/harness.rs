//! Drives a [`Parser`] outside the pipeline, for tests and fuzz targets: [`Harness`] owns
//! what a [`Cx`] borrows (events, expectations, upgrade slot, transfer log) plus the flow's
//! identity, and feeds a parser bytes, gaps and the end of the flow; [`Driver`] pairs it
//! with one parser; [`interleave`] cuts both directions into chunks fed alternately.

use super::features::FlowFeatures;
use super::Transport;
use super::{AppEvent, AppProto, Cx, Direction, Expectation, Parser, Probe, TransferLog};
use crate::decode::Addr;

/// The world one flow's parser writes to, and the flow's identity.
#[derive(Debug)]
pub struct Harness {
    pub ts_us: u64,
    pub flow_id: u64,
    pub transport: Transport,
    pub client: (Addr, u16),
    pub server: (Addr, u16),
    /// For flows opened from an expectation (data channels, TFTP transfers).
    pub expected: Option<Expectation>,
    pub events: Vec<AppEvent>,
    pub expect: Vec<Expectation>,
    pub upgrade: Option<AppProto>,
    pub transfers: TransferLog,
    pub features: FlowFeatures,
}

impl Harness {
    /// Flow 1 at time 1, nothing expected.
    pub fn new(transport: Transport, client: (Addr, u16), server: (Addr, u16)) -> Harness {
        Harness {
            ts_us: 1,
            flow_id: 1,
            transport,
            client,
            server,
            expected: None,
            events: Vec::new(),
            expect: Vec::new(),
            upgrade: None,
            transfers: TransferLog::default(),
            features: FlowFeatures::default(),
        }
    }

    /// All-zero addresses, client port `client_port`, server port `server_port`.
    pub fn ports(transport: Transport, client_port: u16, server_port: u16) -> Harness {
        Harness::new(transport, ([0; 16], client_port), ([0; 16], server_port))
    }

    pub fn at(mut self, ts_us: u64) -> Harness {
        self.ts_us = ts_us;
        self
    }

    pub fn flow(mut self, flow_id: u64) -> Harness {
        self.flow_id = flow_id;
        self
    }

    /// The context of the next call, with the stored expectation.
    pub fn cx(&mut self) -> Cx<'_> {
        Cx {
            ts_us: self.ts_us,
            flow_id: self.flow_id,
            transport: self.transport,
            client: self.client,
            server: self.server,
            events: &mut self.events,
            expect: &mut self.expect,
            upgrade: &mut self.upgrade,
            transfers: &mut self.transfers,
            expected: self.expected.as_ref(),
            features: &mut self.features,
        }
    }

    /// The context with another expectation: for parsers of two flows sharing one world
    /// (an FTP control channel and its data channel).
    pub fn cx_with<'a>(&'a mut self, expected: Option<&'a Expectation>) -> Cx<'a> {
        let mut cx = self.cx();
        cx.expected = expected;
        cx
    }

    pub fn parse<P: Parser + ?Sized>(&mut self, p: &mut P, dir: Direction, data: &[u8]) {
        p.parse(dir, data, &mut self.cx());
    }

    pub fn gap<P: Parser + ?Sized>(&mut self, p: &mut P, dir: Direction, len: u64) {
        p.gap(dir, len, &mut self.cx());
    }

    pub fn finish<P: Parser + ?Sized>(&mut self, p: &mut P) {
        p.finish(&mut self.cx());
    }

    /// Feeds `data` in chunks of the given lengths (each cut to what is left, empty ones
    /// included), then the rest, if any, in one more chunk.
    pub fn feed<P: Parser + ?Sized>(
        &mut self,
        p: &mut P,
        dir: Direction,
        data: &[u8],
        lens: impl IntoIterator<Item = usize>,
    ) {
        let mut rest = data;
        for n in lens {
            let (c, r) = rest.split_at(n.min(rest.len()));
            self.parse(p, dir, c);
            rest = r;
        }
        if !rest.is_empty() {
            self.parse(p, dir, rest);
        }
    }

    pub fn events(&self) -> &[AppEvent] {
        &self.events
    }

    /// The events so far, leaving none.
    pub fn take_events(&mut self) -> Vec<AppEvent> {
        std::mem::take(&mut self.events)
    }
}

/// One parser and its [`Harness`], chainable: `d.data(C, a).gap(C, 10).data(S, b)`.
pub struct Driver<P> {
    pub parser: P,
    pub cx: Harness,
    /// Call `finish` twice: a second end of flow must not add events.
    pub refinish: bool,
    /// Run on the events at `finish` (a schema check).
    pub check: fn(&[AppEvent]),
}

impl<P: Parser + Default> Driver<P> {
    pub fn new(cx: Harness) -> Driver<P> {
        Driver {
            parser: P::default(),
            cx,
            refinish: false,
            check: |_| {},
        }
    }
}

impl<P: Parser> Driver<P> {
    pub fn data(&mut self, dir: Direction, d: &[u8]) -> &mut Self {
        self.cx.parse(&mut self.parser, dir, d);
        self
    }

    pub fn gap(&mut self, dir: Direction, len: u64) -> &mut Self {
        self.cx.gap(&mut self.parser, dir, len);
        self
    }

    /// Ends the flow and returns its events (taken: a next run starts empty).
    pub fn finish(&mut self) -> Vec<AppEvent> {
        let mut cx = self.cx.cx();
        self.parser.finish(&mut cx);
        if self.refinish {
            self.parser.finish(&mut cx);
        }
        (self.check)(&self.cx.events);
        self.cx.take_events()
    }
}

/// A chunk of one direction, as [`interleave`] hands it out.
#[derive(Clone, Copy, Debug)]
pub struct Piece<'a> {
    /// Which pair of chunks (one per direction) it belongs to.
    pub round: usize,
    pub dir: Direction,
    pub data: &'a [u8],
}

/// Both directions cut by `cut`, alternately client then server chunk, until both run out.
pub fn interleave<'a>(
    to_server: &'a [u8],
    to_client: &'a [u8],
    mut cut: impl FnMut(&mut &'a [u8]) -> Option<&'a [u8]>,
) -> Vec<Piece<'a>> {
    let (mut cs, mut sc) = (to_server, to_client);
    let mut out = Vec::new();
    for round in 0.. {
        let (a, b) = (cut(&mut cs), cut(&mut sc));
        if a.is_none() && b.is_none() {
            break;
        }
        for (dir, c) in [(Direction::ToServer, a), (Direction::ToClient, b)] {
            if let Some(data) = c {
                out.push(Piece { round, dir, data });
            }
        }
    }
    out
}

/// A cutter for [`interleave`]: chunks of `n` bytes (the last one shorter).
pub fn fixed<'a>(n: usize) -> impl FnMut(&mut &'a [u8]) -> Option<&'a [u8]> {
    move |rest| {
        if rest.is_empty() {
            return None;
        }
        let (c, r) = rest.split_at(n.max(1).min(rest.len()));
        *rest = r;
        Some(c)
    }
}

/// A cutter for [`interleave`]: the chunk's first byte sets its length (1 to 97).
pub fn self_sized<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = (1 + usize::from(*rest.first()? % 97)).min(rest.len());
    let (c, r) = rest.split_at(len);
    *rest = r;
    Some(c)
}

/// `data` split in two at `sel`/255 of its length: client bytes, server bytes.
pub fn split_by(data: &[u8], sel: u8) -> (&[u8], &[u8]) {
    data.split_at(data.len() * usize::from(sel) / 255)
}

/// A probe function of a protocol module.
pub type ProbeFn = fn(Direction, &[u8], Transport) -> Probe;

/// Fuzz shape of the DNS, SSH and TLS targets: data[0] picks the transport (bit 0), the
/// chunk size (bits 1-7) and, scaled, where the rest splits into client and server bytes;
/// bit 7 also loses bytes of the client side after its first chunk. Both directions are
/// probed whole, then fed alternately and the flow finished.
pub fn fuzz_fixed_chunks<P: Parser + Default>(data: &[u8], probe: ProbeFn, server_port: u16) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let transport = if ctl & 1 == 0 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let (ts, tc) = split_by(rest, ctl);
    let _ = probe(Direction::ToServer, ts, transport);
    let _ = probe(Direction::ToClient, tc, transport);
    let mut h = Harness::ports(transport, 40000, server_port);
    let mut p = P::default();
    let mut gapped = false;
    for c in interleave(ts, tc, fixed(usize::from(ctl >> 1) + 1)) {
        if c.round == 1 && ctl & 0x80 != 0 && !gapped {
            gapped = true;
            h.gap(&mut p, Direction::ToServer, 1000);
        }
        h.parse(&mut p, c.dir, c.data);
    }
    h.finish(&mut p);
}

/// Fuzz shape of the HTTP and SMTP targets: data[0] splits the rest into the two
/// directions (each probed on its first 512 bytes), each cut into [`self_sized`] chunks fed
/// alternately; a chunk starting 0xff is a gap of 1000 times its length instead. Then finish.
pub fn fuzz_self_sized_chunks<P: Parser + Default>(data: &[u8], probe: ProbeFn, server_port: u16) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let (to_server, to_client) = split_by(rest, first);
    for (dir, bytes) in [
        (Direction::ToServer, to_server),
        (Direction::ToClient, to_client),
    ] {
        let _ = probe(dir, &bytes[..bytes.len().min(512)], Transport::Tcp);
    }
    let mut h = Harness::ports(Transport::Tcp, 40000, server_port);
    let mut p = P::default();
    for c in interleave(to_server, to_client, self_sized) {
        if c.data[0] == 0xff {
            h.gap(&mut p, c.dir, c.data.len() as u64 * 1000);
        } else {
            h.parse(&mut p, c.dir, c.data);
        }
    }
    h.finish(&mut p);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_alternates_until_both_sides_run_out() {
        let v = interleave(b"abcde", b"xy", fixed(2));
        let got: Vec<(usize, Direction, &[u8])> =
            v.iter().map(|c| (c.round, c.dir, c.data)).collect();
        assert_eq!(
            got,
            vec![
                (0, Direction::ToServer, &b"ab"[..]),
                (0, Direction::ToClient, &b"xy"[..]),
                (1, Direction::ToServer, &b"cd"[..]),
                (2, Direction::ToServer, &b"e"[..]),
            ]
        );
        let mut rest = &[3u8, 1, 2, 3, 4][..];
        assert_eq!(self_sized(&mut rest), Some(&[3u8, 1, 2, 3][..]));
        assert_eq!(self_sized(&mut rest), Some(&[4u8][..]));
        assert_eq!(self_sized(&mut rest), None);
    }
}
