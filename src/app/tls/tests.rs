//! Test streams in `testdata/` (each direction's reassembled TCP payload):
//! - `tls13.*`, `tls12.*`: OpenSSL 3.0 client and server (Python `ssl`, memory BIOs), SNI
//!   files.example.org, client ALPN h2 + http/1.1, then 1000 bytes up and 300 down.
//! - `starttls.*`: Gmail SMTP after STARTTLS (zeek `tls_smtp-starttls.pcap`), TLS 1.2, no SNI.
//! - `sslh1.*`: TLS 1.2 through the sslh multiplexer (zeek `ssl-and-ssh-using-sslh.pcap`).
//! - `smtps.*`: a ClientHello answered by a plain-text SMTP banner (nDPI `smtps.pcapng`).

use super::*;
use crate::app::harness::{Driver, Harness};
use crate::app::schema_check::assert_schema;
use crate::app::AppEvent;
use proptest::prelude::*;
use serde_json::{json, Value};
use Direction::{ToClient, ToServer};

const TLS13: (&[u8], &[u8]) = (
    include_bytes!("testdata/tls13.c2s"),
    include_bytes!("testdata/tls13.s2c"),
);
const TLS12: (&[u8], &[u8]) = (
    include_bytes!("testdata/tls12.c2s"),
    include_bytes!("testdata/tls12.s2c"),
);
const STARTTLS: (&[u8], &[u8]) = (
    include_bytes!("testdata/starttls.c2s"),
    include_bytes!("testdata/starttls.s2c"),
);
const SSLH: (&[u8], &[u8]) = (
    include_bytes!("testdata/sslh1.c2s"),
    include_bytes!("testdata/sslh1.s2c"),
);
const SMTPS: (&[u8], &[u8]) = (
    include_bytes!("testdata/smtps.c2s"),
    include_bytes!("testdata/smtps.s2c"),
);

/// SSLv2-compatible CLIENT-HELLO offering TLS 1.0: 7 cipher specs (two SSLv2-only), no
/// session id, 16-byte challenge.
const SSLV2_HELLO: &[u8] = &[
    0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x39, 0x00, 0x00,
    0x38, 0x00, 0x00, 0x35, 0x01, 0x00, 0x80, 0x07, 0x00, 0xc0, 0x00, 0x00, 0xff, 0x00, 0x00, 0x0a,
    0x5c, 0x2e, 0x91, 0x07, 0xee, 0x13, 0x4a, 0x90, 0x61, 0x0b, 0x3d, 0x8f, 0x27, 0xc4, 0x55, 0x01,
];

fn harness() -> Driver<TlsParser> {
    let mut d = Driver::new(Harness::ports(Transport::Tcp, 50000, 443).at(1_000).flow(9));
    d.refinish = true;
    d.check = assert_schema;
    d
}

/// Client stream, then server stream, then finish: the single `tls` event.
fn run((c2s, s2c): (&[u8], &[u8])) -> AppEvent {
    let mut h = harness();
    h.data(ToServer, c2s).data(ToClient, s2c);
    let mut ev = h.finish();
    assert_eq!(ev.len(), 1);
    ev.remove(0)
}

fn tls(e: &AppEvent) -> &Value {
    &e.fields["tls"]
}

fn exfil(e: &AppEvent) -> &Value {
    e.exfil.as_ref().unwrap()
}

// ---- probe ----

#[test]
fn probe_hellos_each_in_its_direction() {
    for (c, s) in [TLS13, TLS12, STARTTLS, SSLH] {
        assert_eq!(probe(ToServer, c, Transport::Tcp), Probe::Match);
        assert_eq!(probe(ToClient, s, Transport::Tcp), Probe::Match);
        assert_eq!(probe(ToClient, c, Transport::Tcp), Probe::NoMatch);
        assert_eq!(probe(ToServer, s, Transport::Tcp), Probe::NoMatch);
        for n in 0..10 {
            assert_eq!(probe(ToServer, &c[..n], Transport::Tcp), Probe::NeedMore);
        }
    }
    assert_eq!(probe(ToServer, SMTPS.0, Transport::Tcp), Probe::Match);
    assert_eq!(probe(ToClient, SMTPS.1, Transport::Tcp), Probe::NoMatch);
}

#[test]
fn probe_sslv2_and_midstream_application_data() {
    assert_eq!(probe(ToServer, SSLV2_HELLO, Transport::Tcp), Probe::Match);
    assert_eq!(
        probe(ToServer, &SSLV2_HELLO[..5], Transport::Tcp),
        Probe::NeedMore
    );
    assert_eq!(probe(ToClient, SSLV2_HELLO, Transport::Tcp), Probe::NoMatch);
    let mut bad = SSLV2_HELLO.to_vec();
    bad[1] += 1; // lengths no longer add up
    assert_eq!(probe(ToServer, &bad, Transport::Tcp), Probe::NoMatch);
    // The client's last application-data record of the TLS 1.3 stream.
    let tail = &TLS13.0[TLS13.0.len() - 1022..];
    assert_eq!(&tail[..3], &[0x17, 3, 3]);
    assert_eq!(probe(ToServer, tail, Transport::Tcp), Probe::Match);
    assert_eq!(probe(ToClient, tail, Transport::Tcp), Probe::Match);
}

#[test]
fn probe_rejects_other_protocols() {
    for s in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"220 mail.example.com ESMTP\r\n",
        SMTPS.1,
        &[0x16, 3, 1, 0, 0x10, 1, 0, 0, 0, 3], // hello shorter than possible
        &[0x16, 3, 1, 0x48, 1, 1, 0, 0, 0x40, 3], // record longer than 2^14 + 2048
        &[0x15, 3, 3, 0, 2, 2, 40],            // an alert
    ] {
        assert_eq!(
            probe(ToServer, s, Transport::Tcp),
            Probe::NoMatch,
            "{s:02x?}"
        );
        assert_eq!(
            probe(ToClient, s, Transport::Tcp),
            Probe::NoMatch,
            "{s:02x?}"
        );
    }
}

// ---- events ----

#[test]
fn tls13_handshake_and_volume() {
    let e = run(TLS13);
    let t = tls(&e);
    assert_eq!(t["sni"], "files.example.org");
    assert_eq!(t["version"], "TLS 1.3");
    assert_eq!(t["client_alpns"], json!(["h2", "http/1.1"]));
    assert!(t.get("server_alpns").is_none(), "ALPN is encrypted in 1.3");
    assert!(t.get("session_resumed").is_none());
    assert_eq!(t["client_handshake"]["version"], "TLS 1.3");
    assert_eq!(
        t["server_handshake"],
        json!({"version": "TLS 1.3", "cipher": 0x1302, "exts": [43, 51]})
    );
    assert!(t["client_handshake"]["ciphers"]
        .as_array()
        .unwrap()
        .contains(&json!(0x1301)));
    assert!(t["client_handshake"]["exts"]
        .as_array()
        .unwrap()
        .contains(&json!(0)));
    assert!(!t["client_handshake"]["sig_algs"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        exfil(&e),
        &json!({"bytes_appdata_toserver": 1086, "bytes_appdata_toclient": 1446,
                "client_versions": ["TLS 1.3", "TLS 1.2"]})
    );
}

#[test]
fn tls12_with_server_alpn() {
    let e = run(TLS12);
    let t = tls(&e);
    assert_eq!(t["sni"], "files.example.org");
    assert_eq!(t["version"], "TLS 1.2");
    assert_eq!(t["server_alpns"], json!(["http/1.1"]));
    assert_eq!(t["client_handshake"]["version"], "TLS 1.2");
    assert_eq!(exfil(&e)["bytes_appdata_toserver"], 1024);
    assert_eq!(exfil(&e)["bytes_appdata_toclient"], 324);
}

#[test]
fn gmail_starttls_session() {
    let e = run(STARTTLS);
    let t = tls(&e);
    assert!(t.get("sni").is_none());
    assert_eq!(t["version"], "TLS 1.2");
    assert_eq!(
        t["server_handshake"],
        json!({"version": "TLS 1.2", "cipher": 0xc02f, "exts": [65281, 11, 35]})
    );
    assert_eq!(
        t["client_handshake"]["exts"],
        json!([11, 10, 35, 13, 15, 21])
    );
    assert_eq!(exfil(&e)["bytes_appdata_toserver"], 99);
    assert_eq!(exfil(&e)["bytes_appdata_toclient"], 300);
}

#[test]
fn sslh_session_counts_a_truncated_last_record() {
    let e = run(SSLH);
    assert_eq!(tls(&e)["server_handshake"]["cipher"], 0xc030);
    assert_eq!(exfil(&e)["bytes_appdata_toserver"], 92);
    assert_eq!(exfil(&e)["bytes_appdata_toclient"], 11407);
}

#[test]
fn plain_text_answer_is_only_counted() {
    let e = run(SMTPS);
    let t = tls(&e);
    assert!(t.get("version").is_none());
    assert!(t.get("server_handshake").is_none());
    assert_eq!(t["client_handshake"]["version"], "TLS 1.2");
    assert_eq!(exfil(&e)["unframed"], true);
    assert_eq!(exfil(&e)["bytes_appdata_toclient"], 179);
}

#[test]
fn sslv2_client_hello() {
    let mut h = harness();
    h.data(ToServer, SSLV2_HELLO);
    let e = h.finish().remove(0);
    assert_eq!(
        tls(&e)["client_handshake"],
        json!({"version": "TLSv1", "ciphers": [0x39, 0x38, 0x35, 0xff, 0x0a]})
    );
    assert_eq!(exfil(&e)["sslv2_client_hello"], true);
}

#[test]
fn hello_retry_request_is_skipped() {
    // Put a HelloRetryRequest copy of the real ServerHello in a record of its own first.
    let s2c = TLS13.1;
    let len = usize::from(u16::from_be_bytes([s2c[3], s2c[4]]));
    let mut hrr = s2c[..5 + len].to_vec();
    hrr[11..43].copy_from_slice(&[
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
        0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
        0x33, 0x9c,
    ]);
    assert_eq!(hrr[43], 32); // echoed session id, then the cipher
    hrr[77] ^= 0x03; // a different cipher, to tell them apart
    hrr.extend_from_slice(s2c);
    let e = run((TLS13.0, &hrr));
    assert_eq!(tls(&e)["server_handshake"]["cipher"], 0x1302);
    assert_eq!(tls(&e)["version"], "TLS 1.3");
}

#[test]
fn split_at_every_byte_gives_the_same_event() {
    for flow in [TLS13, STARTTLS] {
        let whole = run(flow);
        for (dir, stream) in [(ToServer, flow.0), (ToClient, flow.1)] {
            for cut in 0..=stream.len() {
                let mut h = harness();
                let other = if dir == ToServer { flow.1 } else { flow.0 };
                let other_dir = if dir == ToServer { ToClient } else { ToServer };
                h.data(dir, &stream[..cut]).data(dir, &stream[cut..]);
                h.data(other_dir, other);
                assert_eq!(h.finish(), vec![whole.clone()], "{dir:?} cut at {cut}");
            }
        }
        let mut h = harness();
        for b in flow.0 {
            h.data(ToServer, std::slice::from_ref(b));
        }
        for b in flow.1 {
            h.data(ToClient, std::slice::from_ref(b));
        }
        assert_eq!(h.finish(), vec![whole]);
    }
}

#[test]
fn event_time_is_the_server_hello() {
    let mut h = harness();
    h.data(ToServer, TLS12.0);
    h.cx.ts_us = 2_000;
    h.data(ToClient, TLS12.1);
    h.cx.ts_us = 9_000;
    assert_eq!(h.finish()[0].ts_us, 2_000);
}

#[test]
fn gap_in_the_handshake_counts_the_rest() {
    let mut h = harness();
    h.data(ToServer, TLS12.0);
    h.data(ToClient, &TLS12.1[..20])
        .gap(ToClient, 500)
        .data(ToClient, &TLS12.1[520..]);
    let e = h.finish().remove(0);
    assert!(tls(&e).get("server_handshake").is_none());
    assert_eq!(tls(&e)["sni"], "files.example.org");
    assert_eq!(exfil(&e)["unframed"], true);
    assert_eq!(
        exfil(&e)["bytes_appdata_toclient"],
        500 + TLS12.1.len() as u64 - 520
    );
}

#[test]
fn nothing_seen_no_event() {
    assert!(harness().finish().is_empty());
}

// ---- robustness ----

#[test]
fn every_truncation_is_safe() {
    for flow in [TLS13, TLS12, STARTTLS, SMTPS] {
        for n in (0..flow.0.len()).step_by(7) {
            let _ = probe(ToServer, &flow.0[..n], Transport::Tcp);
            let mut h = harness();
            h.data(ToServer, &flow.0[..n])
                .data(ToClient, &flow.1[..n.min(flow.1.len())]);
            h.finish();
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..4096),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let _ = probe(ToServer, &data, Transport::Tcp);
        let _ = probe(ToClient, &data, Transport::Udp);
        let mut h = harness();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut last = 0;
        for (i, c) in cuts.into_iter().chain([data.len()]).enumerate() {
            h.data(if i % 2 == 0 { ToServer } else { ToClient }, &data[last..c]);
            last = c;
        }
        h.finish();
    }

    #[test]
    fn mutated_handshakes_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let mut c2s = TLS13.0.to_vec();
        let mut s2c = TLS12.1.to_vec();
        for (i, (at, v)) in flips.into_iter().enumerate() {
            let s = if i % 2 == 0 { &mut c2s } else { &mut s2c };
            let at = at % 600;
            s[at] = v;
        }
        let _ = probe(ToServer, &c2s, Transport::Tcp);
        let mut h = harness();
        h.data(ToServer, &c2s).data(ToClient, &s2c);
        h.finish();
    }
}
