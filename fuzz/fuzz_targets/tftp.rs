//! TFTP probe and parser on arbitrary datagrams: data[0] bit 0 says whether the flow came
//! from an expectation (transfer flow) or is a request flow; the rest is cut into
//! datagrams (length and direction taken from a leading byte).
#![no_main]

use exfil_sensor::app::tftp::{probe, TftpParser};
use exfil_sensor::app::{
    AppEvent, AppProto, Cx, Direction, Expectation, Parser, TransferLog, Transport,
};
use exfil_sensor::decode::addr_from_v4;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let mut events: Vec<AppEvent> = Vec::new();
    let mut expect = Vec::new();
    let mut upgrade: Option<AppProto> = None;
    let mut transfers = TransferLog::default();
    let e = Expectation {
        proto: 17,
        src: Some(addr_from_v4([10, 0, 0, 2])),
        dst: addr_from_v4([10, 0, 0, 1]),
        dport: 40000,
        app: AppProto::Tftp,
        parent_flow_id: 1,
        ts_us: 1,
        filename: Some("f".into()),
        upload: Some(first & 2 != 0),
    };
    let expected = (first & 1 != 0).then_some(&e);
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
        let mut cx = Cx {
            ts_us: 1,
            flow_id: 2,
            transport: Transport::Udp,
            client: (addr_from_v4([10, 0, 0, 1]), 40000),
            server: (addr_from_v4([10, 0, 0, 2]), 69),
            events: &mut events,
            expect: &mut expect,
            upgrade: &mut upgrade,
            transfers: &mut transfers,
            expected,
        };
        p.parse(dir, d, &mut cx);
    }
    p.finish(&mut Cx {
        ts_us: 1,
        flow_id: 2,
        transport: Transport::Udp,
        client: (addr_from_v4([10, 0, 0, 1]), 40000),
        server: (addr_from_v4([10, 0, 0, 2]), 69),
        events: &mut events,
        expect: &mut expect,
        upgrade: &mut upgrade,
        transfers: &mut transfers,
        expected,
    });
});
