#![no_main]
//! Any bytes as a DNS flow: data[0] picks the transport (bit 0), the chunk size (bits 1-7)
//! and, scaled, where the rest splits into client and server bytes; bit 7 also loses
//! bytes of the client side after its first chunk. Probe and parser must never panic.
use exfil_sensor::app::dns::{probe, DnsParser};
use exfil_sensor::app::{Cx, Direction, Parser, TransferLog, Transport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let transport = if ctl & 1 == 0 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let chunk = usize::from(ctl >> 1) + 1;
    let (ts, tc) = rest.split_at(rest.len() * usize::from(ctl) / 255);
    let _ = probe(Direction::ToServer, ts, transport);
    let _ = probe(Direction::ToClient, tc, transport);
    let (mut events, mut expect, mut upgrade, mut transfers) =
        (Vec::new(), Vec::new(), None, TransferLog::default());
    let mut cx = Cx {
        ts_us: 1,
        flow_id: 1,
        transport,
        client: ([0; 16], 40000),
        server: ([0; 16], 53),
        events: &mut events,
        expect: &mut expect,
        upgrade: &mut upgrade,
        transfers: &mut transfers,
        expected: None,
    };
    let mut p = DnsParser::default();
    let mut a = ts.chunks(chunk);
    let mut b = tc.chunks(chunk);
    for round in 0.. {
        let (x, y) = (a.next(), b.next());
        if x.is_none() && y.is_none() {
            break;
        }
        if round == 1 && ctl & 0x80 != 0 {
            p.gap(Direction::ToServer, 1000, &mut cx);
        }
        if let Some(x) = x {
            p.parse(Direction::ToServer, x, &mut cx);
        }
        if let Some(y) = y {
            p.parse(Direction::ToClient, y, &mut cx);
        }
    }
    p.finish(&mut cx);
});
