//! HTTP/1.x probe and parser on arbitrary bytes: data[0] splits the rest into the two
//! directions, each cut into chunks (lengths taken from the bytes) fed alternately, with an
//! occasional gap, then finish.
#![no_main]

use exfil_sensor::app::http::{probe, HttpParser};
use exfil_sensor::app::{Cx, Direction, Parser, TransferLog, Transport};
use libfuzzer_sys::fuzz_target;

/// Next chunk of `rest`: its first byte sets the length.
fn chunk<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = (1 + usize::from(*rest.first()? % 97)).min(rest.len());
    let (c, r) = rest.split_at(len);
    *rest = r;
    Some(c)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let (to_server, to_client) = rest.split_at(usize::from(first) * rest.len() / 255);
    for (dir, bytes) in [(Direction::ToServer, to_server), (Direction::ToClient, to_client)] {
        let _ = probe(dir, &bytes[..bytes.len().min(512)], Transport::Tcp);
    }
    let (mut events, mut expect, mut upgrade) = (Vec::new(), Vec::new(), None);
    let mut transfers = TransferLog::default();
    let mut cx = Cx {
        ts_us: 1,
        flow_id: 1,
        transport: Transport::Tcp,
        client: ([0; 16], 40000),
        server: ([0; 16], 80),
        events: &mut events,
        expect: &mut expect,
        upgrade: &mut upgrade,
        transfers: &mut transfers,
        expected: None,
    };
    let mut p = HttpParser::default();
    let (mut cs, mut sc) = (to_server, to_client);
    loop {
        let a = chunk(&mut cs);
        let b = chunk(&mut sc);
        if a.is_none() && b.is_none() {
            break;
        }
        for (dir, c) in [(Direction::ToServer, a), (Direction::ToClient, b)] {
            let Some(c) = c else { continue };
            if c[0] == 0xff {
                p.gap(dir, c.len() as u64 * 1000, &mut cx);
            } else {
                p.parse(dir, c, &mut cx);
            }
        }
    }
    p.finish(&mut cx);
});
