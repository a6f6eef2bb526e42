//! TFTP probe and parser on datagrams from sv__tftp-rrq.pcap and ndpi__tftp.pcap, replayed
//! captures and hostile input.

use std::path::Path;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::app::harness::Harness;
use crate::app::schema_check::assert_schema;
use crate::decode::{addr_from_v4, Addr};
use Direction::{ToClient as C, ToServer as S};

const TS: u64 = 1_700_000_000_000_000;
const REQUEST_FLOW: u64 = 5;

/// sv__tftp-rrq.pcap frame 1.
const RRQ_RFC1350: &[u8] = b"\x00\x01rfc1350.txt\x00octet\x00";
/// ndpi__tftp.pcap: WRQ with blksize/tsize options and the server's OACK.
const WRQ_OPTIONS: &[u8] = b"\x00\x02empty100KB\x00octet\x00blksize\x001468\x00tsize\x00100000\x00";
const OACK_1468: &[u8] = b"\x00\x06blksize\x001468\x00tsize\x00100000\x00";
/// ndpi__tftp.pcap: WRQ for zz.bin in netascii.
const WRQ_ZZ: &[u8] = b"\x00\x02zz.bin\x00netascii\x00";

type World = Harness;

fn world(flow_id: u64, client: (Addr, u16), server: (Addr, u16)) -> World {
    Harness::new(Transport::Udp, client, server)
        .at(TS)
        .flow(flow_id)
}

/// The request flow of sv__tftp-rrq.pcap.
fn request() -> World {
    world(
        REQUEST_FLOW,
        (addr_from_v4([192, 168, 0, 253]), 50618),
        (addr_from_v4([192, 168, 0, 10]), 69),
    )
}

/// Its transfer flow: the server's first datagram made it the flow's client.
fn transfer() -> World {
    world(
        6,
        (addr_from_v4([192, 168, 0, 10]), 3445),
        (addr_from_v4([192, 168, 0, 253]), 50618),
    )
}

/// Feeds the datagrams to a new parser with `expected`, then finishes twice.
fn run(w: &mut World, expected: Option<&Expectation>, datagrams: &[(Direction, Vec<u8>)]) {
    w.expected = expected.cloned();
    let mut p = TftpParser::default();
    for (dir, d) in datagrams {
        w.parse(&mut p, *dir, d);
    }
    w.finish(&mut p);
    w.finish(&mut p);
}

fn data(block: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 3];
    d.extend_from_slice(&block.to_be_bytes());
    d.extend_from_slice(payload);
    d
}

fn ack(block: u16) -> Vec<u8> {
    let mut d = vec![0, 4];
    d.extend_from_slice(&block.to_be_bytes());
    d
}

#[test]
fn probe_requests_only() {
    let udp = Transport::Udp;
    for ok in [
        RRQ_RFC1350,
        WRQ_OPTIONS,
        WRQ_ZZ,
        b"\x00\x01sysman.lis\x00OCTET\x00",
        b"\x00\x01boot/pxelinux.0\x00Mail\x00",
        // ndpi__tftp.pcap frame 2: an empty file name, still a well-formed request.
        b"\x00\x01\x00octet\x00",
        // ndpi__tftp.pcap frame 1: the (empty) name padded with NULs.
        b"\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00octet\x00",
    ] {
        assert_eq!(probe(S, ok, udp), Probe::Match, "{ok:?}");
    }
    for no in [
        &b"\x00\x03\x00\x01hello"[..],
        b"\x00\x04\x00\x01",
        b"\x00\x05\x00\x01File not found\x00",
        OACK_1468,
        b"\x00\x01file\x00binary\x00",
        b"\x00\x01file\x00octet",
        b"\x00\x01file",
        b"\x00\x01fi\nle\x00octet\x00",
        b"\x00\x01file\x00octet\x00blksize\x001468",
        &[&b"\x00\x01file"[..], &[0; 40], b"octet\x00"].concat(),
        b"\x00\x01file\x00\x00\x00",
        b"\x00",
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01",
    ] {
        assert_eq!(probe(S, no, udp), Probe::NoMatch, "{no:?}");
    }
    assert_eq!(probe(S, b"", udp), Probe::NeedMore);
    assert_eq!(probe(C, RRQ_RFC1350, udp), Probe::NoMatch);
    assert_eq!(probe(S, RRQ_RFC1350, Transport::Tcp), Probe::NoMatch);
}

#[test]
fn read_request_event_and_expectation() {
    let mut w = request();
    // The client retransmits its request: logged once.
    run(
        &mut w,
        None,
        &[(S, RRQ_RFC1350.to_vec()), (S, RRQ_RFC1350.to_vec())],
    );
    assert_eq!(w.events.len(), 1);
    let e = &w.events[0];
    assert_eq!(e.event_type, "tftp");
    // Exactly what suricata-verify's tftp-tx-handling-rrq expects.
    assert_eq!(
        e.fields["tftp"],
        json!({"file": "rfc1350.txt", "mode": "octet", "packet": "read"})
    );
    assert_eq!(e.exfil, None);
    assert_eq!(
        w.expect,
        vec![Expectation {
            proto: 17,
            src: Some(w.server.0),
            dst: w.client.0,
            dport: 50618,
            app: AppProto::Tftp,
            parent_flow_id: REQUEST_FLOW,
            ts_us: TS,
            filename: Some("rfc1350.txt".into()),
            upload: Some(false),
        }]
    );
    assert_schema(&w.events);
}

#[test]
fn write_request_options_go_to_exfil() {
    let mut w = request();
    run(&mut w, None, &[(S, WRQ_OPTIONS.to_vec())]);
    assert_eq!(
        w.events[0].fields["tftp"],
        json!({"file": "empty100KB", "mode": "octet", "packet": "write"})
    );
    assert_eq!(
        w.events[0].exfil.as_deref().cloned(),
        Some(json!({"options": {"blksize": "1468", "tsize": "100000"}}))
    );
    assert_eq!(w.expect[0].upload, Some(true));
}

fn expectation(file: &str, upload: bool) -> Expectation {
    Expectation {
        proto: 17,
        src: Some(addr_from_v4([192, 168, 0, 10])),
        dst: addr_from_v4([192, 168, 0, 253]),
        dport: 50618,
        app: AppProto::Tftp,
        parent_flow_id: REQUEST_FLOW,
        ts_us: TS,
        filename: Some(file.into()),
        upload: Some(upload),
    }
}

/// The rfc1350.txt download of sv__tftp-rrq.pcap: 48 full blocks and 23 bytes.
fn rfc1350_download() -> Vec<(Direction, Vec<u8>)> {
    let mut v = Vec::new();
    for block in 1..=49u16 {
        let len = if block == 49 { 23 } else { 512 };
        v.push((S, data(block, &vec![b'x'; len])));
        v.push((C, ack(block)));
    }
    v
}

#[test]
fn download_transfer_summary_and_fileinfo() {
    let mut w = transfer();
    let e = expectation("rfc1350.txt", false);
    run(&mut w, Some(&e), &rfc1350_download());
    assert_eq!(w.events.len(), 2);
    assert!(w.expect.is_empty());
    let t = &w.events[0];
    assert_eq!(t.event_type, "tftp");
    assert_eq!(
        t.fields["tftp"],
        json!({"packet": "read", "file": "rfc1350.txt"})
    );
    assert_eq!(
        t.exfil.as_deref().cloned(),
        Some(
            json!({"bytes_data": 24599, "blocks": 49, "bytes_toserver": 24599, "bytes_toclient": 0,
                    "acks": 49, "retransmits": 0, "parent_flow_id": REQUEST_FLOW, "direction": "download"})
        )
    );
    let f = &w.events[1];
    assert_eq!(f.event_type, "fileinfo");
    assert_eq!(f.fields["app_proto"], "tftp");
    assert_eq!(
        f.fields["fileinfo"],
        json!({"filename": "rfc1350.txt", "size": 24599, "state": "CLOSED", "stored": false, "gaps": false, "tx_id": 0})
    );
    assert_eq!(f.exfil.as_ref().unwrap()["direction"], "download");
    assert_schema(&w.events);
}

#[test]
fn upload_with_retransmission_and_no_last_block() {
    // ndpi__tftp.pcap, zz.bin: ACK 0, DATA 1 sent twice, ACK 1, then the capture ends.
    let mut w = world(
        8,
        (addr_from_v4([172, 28, 5, 170]), 62058),
        (addr_from_v4([172, 28, 5, 91]), 44618),
    );
    let e = expectation("zz.bin", true);
    let block = vec![0x1f; 512];
    run(
        &mut w,
        Some(&e),
        &[
            (S, ack(0)),
            (C, data(1, &block)),
            (C, data(1, &block)),
            (S, ack(1)),
        ],
    );
    let x = w.events[0].exfil.as_ref().unwrap();
    assert_eq!(w.events[0].fields["tftp"]["packet"], "write");
    assert_eq!(
        (&x["bytes_data"], &x["blocks"], &x["retransmits"]),
        (&json!(512), &json!(1), &json!(1))
    );
    assert_eq!(
        (&x["direction"], &x["bytes_toclient"]),
        (&json!("upload"), &json!(512))
    );
    assert_eq!(w.events[1].fields["fileinfo"]["state"], "TRUNCATED");
    assert_eq!(w.events[1].fields["fileinfo"]["size"], 512);
}

#[test]
fn oack_block_size_decides_completion() {
    let mut w = transfer();
    let e = expectation("empty100KB", true);
    let full = vec![0u8; 1468];
    run(
        &mut w,
        Some(&e),
        &[
            (S, OACK_1468.to_vec()),
            (C, data(1, &full)),
            (S, ack(1)),
            (C, data(2, &full[..600])),
        ],
    );
    assert_eq!(w.events[1].fields["fileinfo"]["state"], "CLOSED");
    assert_eq!(w.events[1].fields["fileinfo"]["size"], 2068);
}

#[test]
fn error_reply_is_reported_without_fileinfo() {
    let mut w = transfer();
    let e = expectation("missing.txt", false);
    run(
        &mut w,
        Some(&e),
        &[(S, b"\x00\x05\x00\x01File not found\x00".to_vec())],
    );
    assert_eq!(w.events.len(), 1);
    let x = w.events[0].exfil.as_ref().unwrap();
    assert_eq!(
        (&x["error"], &x["error_code"]),
        (&json!("File not found"), &json!(1))
    );
    assert_eq!(x["blocks"], 0);
    assert_schema(&w.events);
}

#[test]
fn server_answering_from_port_69_is_summarised_on_the_request_flow() {
    let mut w = request();
    run(
        &mut w,
        None,
        &[
            (S, RRQ_RFC1350.to_vec()),
            (C, data(1, b"short file")),
            (S, ack(1)),
        ],
    );
    assert_eq!(w.events.len(), 3);
    assert_eq!(
        w.events[1].fields["tftp"],
        json!({"packet": "read", "file": "rfc1350.txt"})
    );
    let x = w.events[1].exfil.as_ref().unwrap();
    assert_eq!(
        (&x["parent_flow_id"], &x["bytes_toclient"]),
        (&json!(REQUEST_FLOW), &json!(10))
    );
    assert_eq!(w.events[2].fields["fileinfo"]["size"], 10);
    assert_eq!(w.events[2].fields["fileinfo"]["state"], "CLOSED");
}

#[test]
fn unknown_direction_is_inferred_and_junk_counted() {
    let mut w = transfer();
    let mut e = expectation("x", false);
    e.upload = None;
    e.filename = None;
    run(
        &mut w,
        Some(&e),
        &[
            (S, data(1, b"abc")),
            (S, b"\x00\x09junk".to_vec()),
            (C, b"\x00".to_vec()),
            (C, RRQ_RFC1350.to_vec()),
        ],
    );
    let x = w.events[0].exfil.as_ref().unwrap();
    assert_eq!(w.events[0].fields["tftp"], json!({"packet": "read"}));
    assert_eq!(
        (&x["direction"], &x["malformed"]),
        (&json!("download"), &json!(3))
    );
    assert!(w.events[1].fields["fileinfo"].get("filename").is_none());
    assert_schema(&w.events);
}

#[test]
fn nothing_seen_nothing_logged() {
    let mut w = transfer();
    let mut p = TftpParser::default();
    p.finish(&mut w.cx());
    let mut w2 = request();
    run(&mut w2, None, &[(C, ack(3))]);
    assert!(w.events.is_empty());
    // An ACK alone on the request flow is still a (tiny) transfer summary.
    assert_eq!(w2.events.len(), 1);
}

struct Datagram {
    src: (Addr, u16),
    dst: (Addr, u16),
    payload: Vec<u8>,
}

fn udp_datagrams(path: &Path) -> Vec<Datagram> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let bytes = std::fs::read(path).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
    let mut out = Vec::new();
    while let Some(Ok(p)) = r.next_packet() {
        let Ok(s) = SlicedPacket::from_ethernet(&p.data) else {
            continue;
        };
        let Some(NetSlice::Ipv4(h)) = &s.net else {
            continue;
        };
        let Some(TransportSlice::Udp(u)) = &s.transport else {
            continue;
        };
        out.push(Datagram {
            src: (addr_from_v4(h.header().source()), u.source_port()),
            dst: (addr_from_v4(h.header().destination()), u.destination_port()),
            payload: u.payload().to_vec(),
        });
    }
    out
}

/// sv__tftp-rrq.pcap through probe, request and transfer parsers (when ../shared is there).
#[test]
fn replay_corpus_rrq() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/public/pcaps/sv__tftp-rrq.pcap");
    if !path.exists() {
        eprintln!("SKIP: {} absent", path.display());
        return;
    }
    struct Flow {
        w: World,
        p: TftpParser,
        e: Option<Expectation>,
    }
    let mut flows: Vec<Flow> = Vec::new();
    let mut pending: Vec<Expectation> = Vec::new();
    for d in udp_datagrams(&path) {
        let i = match flows.iter().position(|f| {
            (f.w.client, f.w.server) == (d.src, d.dst) || (f.w.client, f.w.server) == (d.dst, d.src)
        }) {
            Some(i) => i,
            None => {
                let hit = pending.iter().position(|e| {
                    e.dst == d.dst.0 && e.dport == d.dst.1 && e.src.is_none_or(|s| s == d.src.0)
                });
                let e = hit.map(|k| pending.remove(k));
                if e.is_none() && probe(S, &d.payload, Transport::Udp) != Probe::Match {
                    continue;
                }
                let id = flows.len() as u64 + 1;
                flows.push(Flow {
                    w: world(id, d.src, d.dst),
                    p: TftpParser::default(),
                    e,
                });
                flows.len() - 1
            }
        };
        let f = &mut flows[i];
        let dir = if d.src == f.w.client { S } else { C };
        f.p.parse(dir, &d.payload, &mut f.w.cx_with(f.e.as_ref()));
        pending.append(&mut f.w.expect);
    }
    let mut events = Vec::new();
    for f in &mut flows {
        f.p.finish(&mut f.w.cx_with(f.e.as_ref()));
        events.append(&mut f.w.events);
    }
    assert_eq!(flows.len(), 2);
    assert_eq!(events.len(), 3, "{events:#?}");
    assert_eq!(
        events[0].fields["tftp"],
        json!({"file": "rfc1350.txt", "mode": "octet", "packet": "read"})
    );
    assert_eq!(
        events[1].fields["tftp"],
        json!({"packet": "read", "file": "rfc1350.txt"})
    );
    assert_eq!(
        events[2].fields["fileinfo"],
        json!({"filename": "rfc1350.txt", "size": 24599, "state": "CLOSED", "stored": false, "gaps": false, "tx_id": 0})
    );
    let x = events[1].exfil.as_ref().unwrap();
    assert_eq!(
        (&x["blocks"], &x["acks"], &x["parent_flow_id"]),
        (&json!(49), &json!(49), &json!(1))
    );
    assert_schema(&events);
}

proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(
        datagrams in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..600)), 0..40),
        tftp_like in proptest::collection::vec(
            (any::<bool>(), 1u8..7, proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..80)), 0..40),
    ) {
        let mut all: Vec<(Direction, Vec<u8>)> = datagrams
            .into_iter()
            .map(|(s, d)| (if s { S } else { C }, d))
            .collect();
        all.extend(tftp_like.into_iter().map(|(s, op, rest)| {
            let mut d = vec![0, op];
            d.extend(rest);
            (if s { S } else { C }, d)
        }));
        for (dir, d) in &all {
            let _ = probe(*dir, d, Transport::Udp);
        }
        let mut w = request();
        run(&mut w, None, &all);
        let mut t = transfer();
        run(&mut t, Some(&expectation("f", true)), &all);
        prop_assert!(t.events.len() <= 2);
        prop_assert!(w.events.len() <= all.len() + 2);
    }
}
