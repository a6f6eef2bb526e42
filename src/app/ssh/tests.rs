//! `testdata/ssh80.*`: each direction of an OpenSSH 5.2 client talking to OpenSSH 5.8p1 on
//! TCP port 80 (zeek `ssh-on-port-80.pcap`): banners, key exchange, encrypted session.

use super::*;
use crate::app::harness::{Driver, Harness};
use crate::app::schema_check::assert_schema;
use crate::app::AppEvent;
use proptest::prelude::*;
use serde_json::json;
use Direction::{ToClient, ToServer};

const C2S: &[u8] = include_bytes!("testdata/ssh80.c2s");
const S2C: &[u8] = include_bytes!("testdata/ssh80.s2c");
/// suricata-verify proto-mismatch-http-ssh: an SSH server answering an HTTP request.
const HTTP_REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 10.16.1.1:22\r\nUser-Agent: curl/7.47.0\r\nAccept: */*\r\n\r\n";
const MISMATCH_SERVER: &[u8] = b"SSH-2.0-OpenSSH_6.6.1\r\nProtocol mismatch.\n";

fn harness(transport: Transport) -> Driver<SshParser> {
    let mut d = Driver::new(Harness::ports(transport, 49656, 80).at(1_000).flow(3));
    d.refinish = true;
    d.check = assert_schema;
    d
}

fn run(c2s: &[u8], s2c: &[u8]) -> Vec<AppEvent> {
    let mut h = harness(Transport::Tcp);
    h.data(ToClient, s2c).data(ToServer, c2s);
    h.finish()
}

#[test]
fn probe_banners() {
    assert_eq!(probe(ToServer, C2S, Transport::Tcp), Probe::Match);
    assert_eq!(probe(ToClient, S2C, Transport::Tcp), Probe::Match);
    assert_eq!(
        probe(ToClient, b"SSH-1.99-Cisco-1.25\r\n", Transport::Tcp),
        Probe::Match
    );
    for n in 0..8 {
        assert_eq!(probe(ToServer, &C2S[..n], Transport::Tcp), Probe::NeedMore);
    }
    assert_eq!(
        probe(ToServer, b"SSH-1.99", Transport::Udp),
        Probe::NeedMore
    );
    for no in [
        &b"SSH-1.5-OpenSSH_1.2.3\r\n"[..],
        b"SSH-2.0",
        b"ssh-2.0-x",
        HTTP_REQUEST,
        b"\x16\x03\x01",
    ] {
        assert_ne!(probe(ToServer, no, Transport::Tcp), Probe::Match, "{no:?}");
    }
    assert_eq!(
        probe(ToServer, HTTP_REQUEST, Transport::Tcp),
        Probe::NoMatch
    );
}

#[test]
fn openssh_on_port_80() {
    let ev = run(C2S, S2C);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].event_type, "ssh");
    assert_eq!(
        ev[0].fields["ssh"],
        json!({"client": {"proto_version": "2.0", "software_version": "OpenSSH_5.2"},
               "server": {"proto_version": "2.0", "software_version": "OpenSSH_5.8p1"}})
    );
    assert_eq!(
        ev[0].exfil.as_deref().cloned(),
        Some(
            json!({"bytes_toserver": C2S.len() - 21, "bytes_toclient": S2C.len() - 39,
                    "server_comments": "Debian-1ubuntu3"})
        )
    );
}

#[test]
fn split_at_every_byte_gives_the_same_event() {
    let whole = run(C2S, S2C);
    for cut in 0..200 {
        let mut h = harness(Transport::Tcp);
        h.data(ToClient, &S2C[..cut]).data(ToServer, &C2S[..cut]);
        h.data(ToClient, &S2C[cut..]).data(ToServer, &C2S[cut..]);
        assert_eq!(h.finish(), whole, "cut at {cut}");
    }
    let mut h = harness(Transport::Tcp);
    for (a, b) in S2C.iter().zip(C2S) {
        h.data(ToClient, std::slice::from_ref(a))
            .data(ToServer, std::slice::from_ref(b));
    }
    h.data(ToClient, &S2C[C2S.len()..]);
    assert_eq!(h.finish(), whole);
}

#[test]
fn event_time_is_when_both_banners_are_known() {
    let mut h = harness(Transport::Tcp);
    h.data(ToClient, &S2C[..39]);
    h.cx.ts_us = 5_000;
    h.data(ToServer, &C2S[..30]);
    h.cx.ts_us = 9_000;
    h.data(ToServer, &C2S[30..]);
    assert_eq!(h.finish()[0].ts_us, 5_000);
}

#[test]
fn http_client_against_ssh_server() {
    let ev = run(HTTP_REQUEST, MISMATCH_SERVER);
    let e = &ev[0];
    assert!(e.fields["ssh"].get("client").is_none());
    assert_eq!(
        e.fields["ssh"]["server"]["software_version"],
        "OpenSSH_6.6.1"
    );
    assert_eq!(
        e.exfil.as_ref().unwrap()["bytes_toserver"],
        HTTP_REQUEST.len()
    );
    assert_eq!(e.exfil.as_ref().unwrap()["bytes_toclient"], 19);
}

/// zeek ssh-over-udp: banners in datagrams, ended by LF alone.
#[test]
fn udp_banners_with_bare_lf() {
    let mut h = harness(Transport::Udp);
    h.data(ToServer, b"SSH-2.0-OpenSSH_42.2\n")
        .data(ToClient, b"SSH-2.0-OpenSSH_7.4\n");
    let ev = h.finish();
    assert_eq!(
        ev[0].fields["ssh"]["client"]["software_version"],
        "OpenSSH_42.2"
    );
    assert_eq!(
        ev[0].fields["ssh"]["server"]["software_version"],
        "OpenSSH_7.4"
    );
}

#[test]
fn server_lines_before_the_banner() {
    let mut h = harness(Transport::Tcp);
    h.data(
        ToClient,
        b"Welcome\r\nauthorised use only\r\nSSH-2.0-dropbear_2022.83\r\n",
    );
    h.data(ToServer, b"SSH-2.0-PuTTY_Release_0.78\r\n");
    let ev = h.finish();
    assert_eq!(
        ev[0].fields["ssh"]["server"]["software_version"],
        "dropbear_2022.83"
    );
    assert_eq!(ev[0].exfil.as_ref().unwrap()["bytes_toclient"], 30);
}

#[test]
fn no_banner_no_event() {
    let mut h = harness(Transport::Tcp);
    h.data(ToServer, &[b'x'; 5000])
        .data(ToClient, &b"line\n".repeat(40));
    assert!(h.finish().is_empty());
    let mut h = harness(Transport::Tcp);
    h.data(ToServer, b"SSH-2.0")
        .gap(ToServer, 10)
        .data(ToServer, b"-x\r\n");
    assert!(h.finish().is_empty());
}

#[test]
fn gap_after_banner_is_counted() {
    let mut h = harness(Transport::Tcp);
    h.data(ToServer, &C2S[..100])
        .gap(ToServer, 1000)
        .data(ToServer, &C2S[100..]);
    let ev = h.finish();
    assert_eq!(
        ev[0].exfil.as_ref().unwrap()["bytes_toserver"],
        C2S.len() - 21 + 1000
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        prefix in any::<bool>(),
    ) {
        let mut data = data;
        if prefix {
            data.splice(0..0, b"SSH-2.0-".iter().copied());
        }
        let _ = probe(ToServer, &data, Transport::Tcp);
        let mut h = harness(Transport::Tcp);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut last = 0;
        for (i, c) in cuts.into_iter().chain([data.len()]).enumerate() {
            h.data(if i % 2 == 0 { ToServer } else { ToClient }, &data[last..c]);
            last = c;
        }
        h.finish();
    }
}
