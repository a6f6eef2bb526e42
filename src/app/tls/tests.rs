//! Test streams in `testdata/` (each direction's reassembled TCP payload):
//! - `tls13.*`, `tls12.*`: OpenSSL 3.0 client and server (Python `ssl`, memory BIOs), SNI
//!   files.example.org, client ALPN h2 + http/1.1 (`tls12`: http/1.1 only), then 1000
//!   bytes up and 300 down.
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

// ---- fingerprints ----
// Expected JA3/JA3S/JA4 values of the captured hellos come from a separate Python script
// (hashlib over fields read straight from the bytes); the built hellos below use the
// JA4 spec's worked example, whose hashes the spec publishes.

/// A ClientHello record: legacy version TLS 1.2, zero random, no session id, null
/// compression, the extensions as given (type, data).
fn client_hello(ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut h = vec![3, 3];
    h.extend([0; 32]);
    h.push(0);
    h.extend(list16(ciphers));
    h.extend([1, 0]);
    let mut e = Vec::new();
    for (t, d) in exts {
        e.extend(t.to_be_bytes());
        e.extend(be16(d.len()));
        e.extend(d);
    }
    h.extend(be16(e.len()));
    h.extend(e);
    let mut rec = vec![0x16, 3, 1];
    rec.extend(be16(h.len() + 4));
    rec.extend([1, 0]);
    rec.extend(be16(h.len()));
    rec.extend(h);
    rec
}

fn be16(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap().to_be_bytes()
}

/// u16 values behind a 2-byte length.
fn list16(v: &[u16]) -> Vec<u8> {
    let mut out = be16(v.len() * 2).to_vec();
    for x in v {
        out.extend(x.to_be_bytes());
    }
    out
}

fn alpn_ext(names: &[&[u8]]) -> Vec<u8> {
    let mut l = Vec::new();
    for n in names {
        l.push(u8::try_from(n.len()).unwrap());
        l.extend(*n);
    }
    let mut out = be16(l.len()).to_vec();
    out.extend(l);
    out
}

/// The JA4 spec's example hello (ciphers, extensions and signature algorithms in its
/// order), with GREASE values in every list if `grease`.
fn spec_hello(grease: bool, sig_algs: &[u16]) -> Vec<u8> {
    let g = |v: u16| if grease { vec![v] } else { vec![] };
    let ciphers = [
        g(0x0a0a),
        vec![
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ],
    ]
    .concat();
    let sni = [&[0, 14, 0, 0, 11][..], b"example.com"].concat();
    let versions = [g(0x3a3a), vec![0x0304, 0x0303]].concat();
    let mut sv = vec![u8::try_from(versions.len() * 2).unwrap()];
    sv.extend(versions.iter().flat_map(|v| v.to_be_bytes()));
    let sigs = [g(0x4a4a), sig_algs.to_vec()].concat();
    let groups = [g(0x2a2a), vec![0x001d, 0x0017, 0x0018]].concat();
    let mut exts: Vec<(u16, Vec<u8>)> = g(0x1a1a).into_iter().map(|t| (t, vec![])).collect();
    for t in [
        0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
        0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
    ] {
        let data = match t {
            0x0000 => sni.clone(),
            0x0010 => alpn_ext(&[b"h2", b"http/1.1"]),
            0x000d => list16(&sigs),
            0x002b => sv.clone(),
            0x000a => list16(&groups),
            0x000b => vec![1, 0],
            _ => vec![],
        };
        exts.push((t, data));
    }
    exts.extend(g(0xfafa).into_iter().map(|t| (t, vec![0])));
    client_hello(&ciphers, &exts)
}

const SPEC_SIG_ALGS: &[u16] = &[
    0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
];

/// The `tls` object of a flow with only this client stream.
fn client_only(c2s: &[u8]) -> Value {
    let mut h = harness();
    h.data(ToServer, c2s);
    tls(&h.finish().remove(0)).clone()
}

#[test]
fn ja3_and_ja3s_of_captured_hellos() {
    let e = run(TLS13);
    assert_eq!(
        tls(&e)["ja3"],
        json!({
            "string": "771,4866-4867-4865-49196-49200-49195-49199-52393-52392-49188-49192-\
                       49187-49191-159-158-107-103-255,0-11-10-35-16-22-23-13-43-45-51-21,\
                       29-23-30-25-24-256-257-258-259-260,0-1-2",
            "hash": "304734bb1c086c3453b387400cf83f11"})
    );
    assert_eq!(
        tls(&e)["ja3s"],
        json!({"string": "771,4866,43-51", "hash": "15af977ce25de452b96affa2addb1036"})
    );
    let e = run(STARTTLS);
    assert_eq!(
        tls(&e)["ja3"]["hash"],
        "13020a4ccb11b2d3c9c0e6c285c3c415",
        "{}",
        tls(&e)["ja3"]["string"]
    );
    assert!(tls(&e)["ja3"]["string"]
        .as_str()
        .unwrap()
        .ends_with(",11-10-35-13-15-21,14-13-25-11-12-24-9-10-22-23-8-6-7-20-21-4-5-18-19-1-2-3-15-16-17,0-1-2"));
    assert_eq!(
        tls(&e)["ja3s"],
        json!({"string": "771,49199,65281-11-35", "hash": "ccc514751b175866924439bdbb5bba34"})
    );
    let e = run(TLS12);
    assert_eq!(tls(&e)["ja3"]["hash"], "104774240db569f8f87b1a28206b25e5");
    assert_eq!(
        tls(&e)["ja3s"],
        json!({"string": "771,49196,65281-11-35-16-23", "hash": "e195432758194ce2d482396b82e0d48e"})
    );
}

#[test]
fn ja4_of_captured_hellos() {
    // SNI files.example.org, ALPN h2 first, supported_versions 1.3 and 1.2.
    assert_eq!(
        tls(&run(TLS13))["ja4"],
        "t13d1812h2_85036bcba153_d41ae481755e"
    );
    // ALPN http/1.1 only, no supported_versions.
    assert_eq!(
        tls(&run(TLS12))["ja4"],
        "t12d1508h1_d68b136fe8d9_e7e480e5a997"
    );
    // No SNI, no ALPN.
    assert_eq!(
        tls(&run(STARTTLS))["ja4"],
        "t12i800600_15c493246000_4446390ac224"
    );
    assert_eq!(
        tls(&run(SSLH))["ja4"],
        "t12i550500_3970cc3bc6d2_31498302a1f1"
    );
}

#[test]
fn ja4_spec_example_and_grease_removal() {
    let plain = client_only(&spec_hello(false, SPEC_SIG_ALGS));
    assert_eq!(plain["ja4"], "t13d1516h2_8daaf6152771_e5627efa2ab1");
    assert_eq!(
        plain["ja3"],
        json!({
            "string": "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-\
                       156-157-47-53,27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,\
                       29-23-24,0",
            "hash": "c000e2caf3a25423f9de6c8a4b12a975"})
    );
    let greased = client_only(&spec_hello(true, SPEC_SIG_ALGS));
    assert_eq!(greased["ja4"], plain["ja4"]);
    assert_eq!(greased["ja3"], plain["ja3"]);
    // No signature algorithms: the extension list is hashed without a trailing `_`.
    let no_sigs = client_only(&spec_hello(true, &[]));
    assert_eq!(no_sigs["ja4"], "t13d1516h2_8daaf6152771_6d807ffa2a79");
}

#[test]
fn ja4_alpn_characters() {
    for (first, code) in [
        (&b"h2"[..], "h2"),
        (b"http/1.1", "h1"),
        (b"h", "hh"),
        (b"", "00"),
        (&[0xab], "ab"),
        (&[0xab, 0xcd], "ad"),
        (&[0x30, 0xab], "3b"),
        (&[0x30, 0x31, 0xab, 0xcd], "3d"),
        (&[0x30, 0xab, 0xcd, 0x31], "01"),
        (&[0x0a, 0x0a], "h2"), // a GREASE value is skipped
    ] {
        let hello = client_hello(&[0x1301], &[(0x0010, alpn_ext(&[first, b"h2"]))]);
        let ja4 = client_only(&hello)["ja4"].as_str().unwrap().to_string();
        assert_eq!(&ja4[..10], format!("t12i0101{code}"), "{first:02x?}");
        // Only ALPN: nothing left to hash in the extension part.
        assert!(ja4.ends_with("_000000000000"), "{ja4}");
    }
}

#[test]
fn ja4_empty_lists_and_counts_capped_at_99() {
    let t = client_only(&client_hello(&[], &[]));
    assert_eq!(t["ja4"], "t12i000000_000000000000_000000000000");
    assert_eq!(t["ja3"]["string"], "771,,,,");
    let many: Vec<u16> = (1..=120).collect();
    let exts: Vec<(u16, Vec<u8>)> = (0x100..0x100 + 120).map(|t| (t, vec![])).collect();
    let ja4 = client_only(&client_hello(&many, &exts))["ja4"].clone();
    assert_eq!(&ja4.as_str().unwrap()[..10], "t12i999900");
}

#[test]
fn no_fingerprint_of_broken_or_sslv2_hellos() {
    // An extension length running past the end of the extension block.
    let mut c2s = TLS13.0.to_vec();
    assert_eq!(&c2s[0x76..0x7a], &[0, 0, 0, 0x16]); // SNI, its length
    c2s[0x78] = 0x02; // 512 bytes, more than the whole block
    let t = client_only(&c2s);
    assert!(t.get("client_handshake").is_some());
    assert!(t.get("ja3").is_none() && t.get("ja4").is_none(), "{t}");
    // A hello cut short never parses at all.
    let t = client_only(&TLS13.0[..200]);
    assert!(t.get("ja3").is_none() && t.get("ja4").is_none(), "{t}");
    // Garbage where the extension block should be.
    let mut garbage = client_hello(&[0x1301], &[]);
    garbage.truncate(garbage.len() - 2);
    garbage.push(0x07);
    garbage[4] -= 1;
    garbage[8] -= 1;
    let t = client_only(&garbage);
    assert_eq!(t["client_handshake"]["ciphers"], json!([0x1301]));
    assert!(t.get("ja3").is_none() && t.get("ja4").is_none(), "{t}");
    let t = client_only(SSLV2_HELLO);
    assert!(t.get("ja3").is_none() && t.get("ja4").is_none(), "{t}");
    // A ServerHello whose extension block is cut: no JA3S.
    let mut s2c = TLS13.1[..0x7f].to_vec();
    s2c[4] -= 1;
    s2c[8] -= 1;
    s2c.truncate(0x7e);
    let mut h = harness();
    h.data(ToServer, TLS13.0).data(ToClient, &s2c);
    let e = h.finish().remove(0);
    assert!(tls(&e).get("server_handshake").is_some());
    assert!(tls(&e).get("ja3s").is_none());
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
    fn fingerprints_of_arbitrary_hellos_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        if let Some(c) = hello::client_hello(&data) {
            let _ = fingerprint::ja3(&c);
            let _ = fingerprint::ja4(&c);
        }
        if let Some(s) = hello::server_hello(&data) {
            let _ = fingerprint::ja3s(&s);
        }
    }

    #[test]
    fn fingerprints_of_well_formed_random_hellos(
        ciphers in proptest::collection::vec(any::<u16>(), 0..300),
        exts in proptest::collection::vec(
            (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..12)), 0..300),
    ) {
        let t = client_only(&client_hello(&ciphers, &exts));
        let ja4 = t["ja4"].as_str().unwrap();
        prop_assert_eq!(ja4.len(), 36, "{}", ja4);
        prop_assert_eq!(t["ja3"]["hash"].as_str().unwrap().len(), 32);
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
