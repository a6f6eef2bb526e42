//! FTP control and data parsers on arbitrary bytes: data[0] splits the rest into the two
//! directions, each cut into chunks (sizes taken from the bytes) fed alternately, with
//! occasional gaps; both directions are probed first.
#![no_main]

use exfil_sensor::app::ftp::{probe, probe_data, FtpDataParser, FtpParser};
use exfil_sensor::app::harness::{interleave, self_sized, split_by, Harness};
use exfil_sensor::app::{AppProto, Direction, Expectation, Parser, Transport};
use exfil_sensor::decode::addr_from_v4;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let (to_server, to_client) = split_by(rest, first);
    for (dir, bytes) in [
        (Direction::ToServer, to_server),
        (Direction::ToClient, to_client),
    ] {
        let _ = probe(dir, &bytes[..bytes.len().min(512)], Transport::Tcp);
        let _ = probe_data(dir, bytes, Transport::Tcp);
    }
    let mut w = Harness::new(
        Transport::Tcp,
        (addr_from_v4([10, 0, 0, 1]), 40000),
        (addr_from_v4([10, 0, 0, 2]), 21),
    );
    let e = Expectation {
        proto: 6,
        src: None,
        dst: addr_from_v4([10, 0, 0, 2]),
        dport: 30000,
        app: AppProto::FtpData,
        parent_flow_id: 1,
        ts_us: 1,
        filename: None,
        upload: None,
    };
    let mut control = FtpParser::default();
    let mut data_channel = FtpDataParser::default();
    for c in interleave(to_server, to_client, self_sized) {
        if c.data[0] == 0xff {
            let len = c.data.len() as u64;
            control.gap(c.dir, len, &mut w.cx_with(None));
            data_channel.gap(c.dir, len, &mut w.cx_with(Some(&e)));
        } else {
            control.parse(c.dir, c.data, &mut w.cx_with(None));
            data_channel.parse(c.dir, c.data, &mut w.cx_with(Some(&e)));
        }
    }
    control.finish(&mut w.cx_with(None));
    data_channel.finish(&mut w.cx_with(Some(&e)));
});
