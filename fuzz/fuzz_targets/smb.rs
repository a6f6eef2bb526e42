//! SMB probe and parser on arbitrary bytes: data[0] splits the rest into the client and
//! server streams, data[1] sets the chunk size, data[2] places a gap in the server stream.
#![no_main]
use exfil_sensor::app::smb::{probe, SmbParser};
use exfil_sensor::app::{Cx, Direction, Parser, TransferLog, Transport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (split, chunk, gap_at) = (data[0] as usize, data[1] as usize % 64 + 1, data[2] as usize);
    let rest = &data[3..];
    let (to_server, to_client) = rest.split_at((split * rest.len() / 256).min(rest.len()));
    for (dir, d) in [(Direction::ToServer, to_server), (Direction::ToClient, to_client)] {
        let _ = probe(dir, d, Transport::Tcp);
        let _ = probe(dir, d, Transport::Udp);
    }

    let mut events = Vec::new();
    let mut expect = Vec::new();
    let mut upgrade = None;
    let mut transfers = TransferLog::default();
    let addr = exfil_sensor::decode::addr_from_v4([10, 0, 0, 1]);
    let mut cx = Cx {
        ts_us: 1,
        flow_id: 1,
        transport: Transport::Tcp,
        client: (addr, 49152),
        server: (addr, 445),
        events: &mut events,
        expect: &mut expect,
        upgrade: &mut upgrade,
        transfers: &mut transfers,
        expected: None,
    };
    let mut parser = SmbParser::default();
    // Interleave the directions chunk by chunk, as a conversation would.
    let mut a = to_server.chunks(chunk);
    let mut b = to_client.chunks(chunk).enumerate();
    loop {
        let x = a.next();
        if let Some(c) = x {
            parser.parse(Direction::ToServer, c, &mut cx);
        }
        let y = b.next();
        if let Some((i, c)) = y {
            if i == gap_at {
                parser.gap(Direction::ToClient, c.len() as u64, &mut cx);
            } else {
                parser.parse(Direction::ToClient, c, &mut cx);
            }
        }
        if x.is_none() && y.is_none() {
            break;
        }
    }
    parser.finish(&mut cx);
});
