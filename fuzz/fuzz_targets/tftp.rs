//! TFTP probe and parser on arbitrary datagrams: data[0] bit 0 says whether the flow came
//! from an expectation (transfer flow) or is a request flow; the rest is cut into
//! datagrams (length and direction taken from a leading byte).
#![no_main]

use exfil_sensor::app::harness::Harness;
use exfil_sensor::app::tftp::{probe, TftpParser};
use exfil_sensor::app::{AppProto, Direction, Expectation, Transport};
use exfil_sensor::decode::addr_from_v4;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let mut h = Harness::new(
        Transport::Udp,
        (addr_from_v4([10, 0, 0, 1]), 40000),
        (addr_from_v4([10, 0, 0, 2]), 69),
    )
    .flow(2);
    h.expected = (first & 1 != 0).then(|| Expectation {
        proto: 17,
        src: Some(addr_from_v4([10, 0, 0, 2])),
        dst: addr_from_v4([10, 0, 0, 1]),
        dport: 40000,
        app: AppProto::Tftp,
        parent_flow_id: 1,
        ts_us: 1,
        filename: Some("f".into()),
        upload: Some(first & 2 != 0),
    });
    let mut p = TftpParser::default();
    while let Some((&head, tail)) = rest.split_first() {
        let len = usize::from(head >> 1).min(tail.len());
        let (d, r) = tail.split_at(len);
        rest = r;
        let dir = if head & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let _ = probe(dir, d, Transport::Udp);
        h.parse(&mut p, dir, d);
    }
    h.finish(&mut p);
});
