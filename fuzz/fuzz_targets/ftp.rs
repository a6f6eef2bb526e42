//! FTP control and data parsers on arbitrary bytes: data[0] splits the rest into the two
//! directions, each cut into chunks (sizes taken from the bytes) fed alternately, with
//! occasional gaps; both directions are probed first.
#![no_main]

use exfil_sensor::app::ftp::{probe, probe_data, FtpDataParser, FtpParser};
use exfil_sensor::app::{
    AppEvent, AppProto, Cx, Direction, Expectation, Parser, TransferLog, Transport,
};
use exfil_sensor::decode::{addr_from_v4, Addr};
use libfuzzer_sys::fuzz_target;

struct World {
    events: Vec<AppEvent>,
    expect: Vec<Expectation>,
    upgrade: Option<AppProto>,
    transfers: TransferLog,
}

impl World {
    fn cx<'a>(&'a mut self, expected: Option<&'a Expectation>) -> Cx<'a> {
        let (client, server): ((Addr, u16), (Addr, u16)) = (
            (addr_from_v4([10, 0, 0, 1]), 40000),
            (addr_from_v4([10, 0, 0, 2]), 21),
        );
        Cx {
            ts_us: 1,
            flow_id: 1,
            transport: Transport::Tcp,
            client,
            server,
            events: &mut self.events,
            expect: &mut self.expect,
            upgrade: &mut self.upgrade,
            transfers: &mut self.transfers,
            expected,
        }
    }
}

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
    let (mut to_server, mut to_client) = rest.split_at(usize::from(first) * rest.len() / 255);
    for (dir, bytes) in [
        (Direction::ToServer, to_server),
        (Direction::ToClient, to_client),
    ] {
        let _ = probe(dir, &bytes[..bytes.len().min(512)], Transport::Tcp);
        let _ = probe_data(dir, bytes, Transport::Tcp);
    }
    let mut w = World {
        events: Vec::new(),
        expect: Vec::new(),
        upgrade: None,
        transfers: TransferLog::default(),
    };
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
    loop {
        let mut fed = false;
        for (dir, rest) in [
            (Direction::ToServer, &mut to_server),
            (Direction::ToClient, &mut to_client),
        ] {
            if let Some(c) = chunk(rest) {
                fed = true;
                if c[0] == 0xff {
                    control.gap(dir, c.len() as u64, &mut w.cx(None));
                    data_channel.gap(dir, c.len() as u64, &mut w.cx(Some(&e)));
                } else {
                    control.parse(dir, c, &mut w.cx(None));
                    data_channel.parse(dir, c, &mut w.cx(Some(&e)));
                }
            }
        }
        if !fed {
            break;
        }
    }
    control.finish(&mut w.cx(None));
    data_channel.finish(&mut w.cx(Some(&e)));
});
