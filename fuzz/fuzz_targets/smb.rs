//! SMB probe and parser on arbitrary bytes: data[0] splits the rest into the client and
//! server streams, data[1] sets the chunk size, data[2] places a gap in the server stream.
#![no_main]
use exfil_sensor::app::harness::{fixed, interleave, Harness};
use exfil_sensor::app::smb::{probe, SmbParser};
use exfil_sensor::app::{Direction, Transport};
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

    let addr = exfil_sensor::decode::addr_from_v4([10, 0, 0, 1]);
    let mut h = Harness::new(Transport::Tcp, (addr, 49152), (addr, 445));
    let mut parser = SmbParser::default();
    // Interleave the directions chunk by chunk, as a conversation would.
    for c in interleave(to_server, to_client, fixed(chunk)) {
        if c.dir == Direction::ToClient && c.round == gap_at {
            h.gap(&mut parser, c.dir, c.data.len() as u64);
        } else {
            h.parse(&mut parser, c.dir, c.data);
        }
    }
    h.finish(&mut parser);
});
