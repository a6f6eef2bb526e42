use super::testdata::*;
use super::tunnel::NameFeatures;
use super::*;
use crate::app::harness::{Driver, Harness};
use crate::app::schema_check::assert_schema;
use crate::app::AppEvent;
use proptest::prelude::*;
use serde_json::{json, Value};

use Direction::{ToClient, ToServer};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Drives a parser with a local `Cx`; every call uses the same timestamp so events from
/// differently chunked input compare equal.
fn harness(transport: Transport) -> Driver<DnsParser> {
    let mut d = Driver::new(
        Harness::ports(transport, 40000, 53)
            .at(1_700_000_000_000_000)
            .flow(7),
    );
    d.check = assert_schema;
    d
}

fn udp(msgs: &[(Direction, Vec<u8>)]) -> Vec<AppEvent> {
    let mut h = harness(Transport::Udp);
    for (d, m) in msgs {
        h.data(*d, m);
    }
    h.finish()
}

fn pair(p: &[&str]) -> Vec<(Direction, Vec<u8>)> {
    vec![(ToServer, hex(p[0])), (ToClient, hex(p[1]))]
}

fn body(e: &AppEvent) -> &Value {
    &e.fields["dns"]
}

fn exfil(e: &AppEvent) -> &Value {
    e.exfil.as_ref().unwrap()
}

fn tcp_framed(m: &[u8]) -> Vec<u8> {
    let mut v = (m.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(m);
    v
}

// ---- probe ----

#[test]
fn probe_matches_real_queries_and_responses() {
    let all: Vec<&str> = [UDP_A, UDP_AAAA, UDP_NXDOMAIN, SV_TXT, SV_NULL, DNSMASQ_MX]
        .concat()
        .into_iter()
        .chain(IODINE.iter().copied())
        .chain(DNSCAT.iter().copied())
        .chain([NS_GLUE, SOA_NXDOMAIN, MALFORMED, DNSMASQ_SRV, DNSMASQ_PTR])
        .collect();
    for (i, h) in all.iter().enumerate() {
        let m = hex(h);
        let dir = if m[2] & 0x80 == 0 { ToServer } else { ToClient };
        assert_eq!(probe(dir, &m, Transport::Udp), Probe::Match, "message {i}");
        assert_eq!(
            probe(dir, &tcp_framed(&m), Transport::Tcp),
            Probe::Match,
            "tcp {i}"
        );
    }
    // dig +tcp, the real stream bytes.
    assert_eq!(
        probe(ToServer, &hex(TCP_A[0]), Transport::Tcp),
        Probe::Match
    );
    assert_eq!(
        probe(ToClient, &hex(TCP_A[1]), Transport::Tcp),
        Probe::Match
    );
}

#[test]
fn probe_tcp_needs_more_until_the_question_is_complete() {
    let s = hex(TCP_A[0]);
    let q_end = 2 + 12 + 18 + 4; // length, header, www.example.test, type+class
    for n in 0..q_end {
        assert_eq!(
            probe(ToServer, &s[..n], Transport::Tcp),
            Probe::NeedMore,
            "{n}"
        );
    }
    assert_eq!(probe(ToServer, &s[..q_end], Transport::Tcp), Probe::Match);
}

#[test]
fn probe_rejects_other_protocols() {
    // NetBIOS name service query for "DFSSERVER" (first-level encoded), qtype NB.
    let mut nbns = hex("a2e80110000100000000000020");
    nbns.extend_from_slice(b"EEEGFDFDEFFCFGEFFCCACACACACACAAA");
    nbns.extend_from_slice(&[0, 0, 0x20, 0, 1]);
    let ntp = {
        let mut v = vec![0x23, 0, 6, 0x20];
        v.resize(48, 0);
        v
    };
    let samples: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(),
        b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n".to_vec(),
        b"SSH-2.0-OpenSSH_9.6\r\n".to_vec(),
        hex("16030100c4010000c00303"),
        nbns,
        ntp,
        vec![0; 64],
        vec![0xff; 64],
    ];
    for (i, s) in samples.iter().enumerate() {
        assert_eq!(probe(ToServer, s, Transport::Udp), Probe::NoMatch, "{i}");
        assert_ne!(probe(ToServer, s, Transport::Tcp), Probe::Match, "tcp {i}");
    }
    // A query whose name points at itself.
    let mut looped = hex(UDP_A[0]);
    looped[12] = 0xc0;
    looped[13] = 12;
    assert_eq!(probe(ToServer, &looped, Transport::Udp), Probe::NoMatch);
}

#[test]
fn probe_rejects_random_datagrams() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut matched = 0;
    for n in 0..100_000usize {
        let len = 12 + n % 500;
        let buf: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        if probe(ToServer, &buf, Transport::Udp) == Probe::Match {
            matched += 1;
        }
    }
    assert_eq!(matched, 0);
}

// ---- events ----

#[test]
fn a_query_and_response_from_dnsmasq() {
    let ev = udp(&pair(UDP_A));
    assert_eq!(ev.len(), 2);
    assert_eq!(
        body(&ev[0]),
        &json!({"version": 3, "type": "request", "tx_id": 0, "id": 0xdf02, "flags": "120",
                "rd": true, "opcode": 0, "rcode": "NOERROR",
                "queries": [{"rrname": "example.test", "rrtype": "A"}],
                "additionals": [{"rrname": "", "rrtype": "OPT", "ttl": 0,
                                 "opt": [{"code": 10, "data": "9539f9eaebbd28be"}]}]})
    );
    assert_eq!(
        body(&ev[1]),
        &json!({"version": 3, "type": "response", "tx_id": 1, "id": 0xdf02, "flags": "8580",
                "qr": true, "aa": true, "rd": true, "ra": true, "opcode": 0, "rcode": "NOERROR",
                "queries": [{"rrname": "example.test", "rrtype": "A"}],
                "answers": [{"rrname": "example.test", "rrtype": "A", "ttl": 0,
                             "rdata": "10.1.2.3"}],
                "grouped": {"A": ["10.1.2.3"]}})
    );
    assert!(!ev[1].reversed);
    assert_eq!(exfil(&ev[1])["msg_len"], 57);
    assert_eq!(exfil(&ev[0])["qname"]["registered_domain"], "example.test");
}

#[test]
fn aaaa_rendered_like_suricata() {
    let ev = udp(&pair(UDP_AAAA));
    assert_eq!(
        body(&ev[1])["answers"][0]["rdata"],
        "2001:0db8:0000:0000:0000:0001:0002:0003"
    );
}

/// The expectations suricata-verify's dns-udp-eve-txt test states for Suricata 8.
#[test]
fn txt_matches_suricata_verify() {
    let ev = udp(&pair(SV_TXT));
    let q = body(&ev[0]);
    assert_eq!(q["type"], "request");
    assert_eq!(q["id"], 28243);
    assert_eq!(q["tx_id"], 0);
    assert_eq!(
        q["queries"][0],
        json!({"rrname": "google.com", "rrtype": "TXT"})
    );
    let r = body(&ev[1]);
    assert_eq!(r["type"], "response");
    assert_eq!(r["flags"], "8180");
    assert_eq!(r["rcode"], "NOERROR");
    assert_eq!(
        r["answers"][0],
        json!({"rrname": "google.com", "rrtype": "TXT", "ttl": 3217,
               "rdata": "v=spf1 include:_spf.google.com ~all"})
    );
    assert_eq!(
        r["grouped"]["TXT"][0],
        "v=spf1 include:_spf.google.com ~all"
    );
    assert_eq!(exfil(&ev[1])["rdata_bytes"], 36);
}

/// suricata-verify dns-udp-null: `dns.answers[0].rdata` is "VACKD\u0003\\xc5\\xe9\u0001".
#[test]
fn null_rdata_matches_suricata_verify() {
    let ev = udp(&pair(SV_NULL));
    assert_eq!(body(&ev[0])["queries"][0]["rrtype"], "NULL");
    assert_eq!(
        body(&ev[1])["answers"][0]["rdata"],
        "VACKD\u{3}\\xc5\\xe9\u{1}"
    );
    assert_eq!(exfil(&ev[1])["rdata_bytes"], 9);
}

#[test]
fn mx_srv_ptr_cname_and_multi_string_txt() {
    let ev = udp(&[
        (ToClient, hex(DNSMASQ_MX[1])),
        (ToClient, hex(DNSMASQ_SRV)),
        (ToClient, hex(DNSMASQ_PTR)),
        (ToClient, hex(DNSMASQ_TXT2)),
        (ToClient, hex(DNSMASQ_CNAME)),
    ]);
    assert_eq!(body(&ev[0])["answers"][0]["rdata"], "mx1.example.test");
    assert_eq!(
        body(&ev[1])["answers"][0]["srv"],
        json!({"priority": 0, "weight": 100, "port": 389, "name": "ldap.example.test"})
    );
    assert_eq!(
        body(&ev[1])["grouped"]["SRV"][0]["name"],
        "ldap.example.test"
    );
    assert_eq!(body(&ev[2])["answers"][0]["rdata"], "host4.example.test");
    assert_eq!(
        body(&ev[2])["queries"][0]["rrname"],
        "4.3.2.10.in-addr.arpa"
    );
    let txt = &body(&ev[3])["answers"];
    assert_eq!(txt[0]["rdata"], "v=spf1 -all");
    assert_eq!(txt[1]["rdata"], "second string");
    assert_eq!(body(&ev[3])["grouped"]["TXT"].as_array().unwrap().len(), 2);
    assert_eq!(
        body(&ev[4])["grouped"],
        json!({"CNAME": ["target.example.test"], "A": ["10.1.2.9"]})
    );
    // Five responses on one flow: the summary comes too.
    assert_eq!(ev.len(), 6);
}

#[test]
fn authorities_and_glue() {
    let ev = udp(&[(ToClient, hex(NS_GLUE))]);
    let b = body(&ev[0]);
    assert_eq!(b["answers"][0]["rrname"], "dns.msftncsi.com");
    let auth = b["authorities"].as_array().unwrap();
    assert_eq!(auth.len(), 5);
    assert!(auth.iter().all(|a| a["rrtype"] == "NS"));
    assert!(b["additionals"].as_array().unwrap().len() >= 9);
    let ev = udp(&[(ToClient, hex(SOA_NXDOMAIN))]);
    let b = body(&ev[0]);
    assert_eq!(b["rcode"], "NXDOMAIN");
    assert_eq!(b["authorities"][0]["rrtype"], "SOA");
    assert_eq!(b["authorities"][0]["soa"]["mname"], "ns.icann.org");
    assert_eq!(b["authorities"][0]["soa"]["rname"], "noc.dns.icann.org");
}

#[test]
fn malformed_pointer_chains_are_flagged_not_fatal() {
    let ev = udp(&pair(&[
        "84b4010000010000000000000377777702787403636f6d0000010001",
        MALFORMED,
    ]));
    assert_eq!(ev.len(), 3);
    let r = &ev[1];
    assert_eq!(body(r)["queries"][0]["rrname"], "www.xt.com");
    assert_eq!(exfil(r)["malformed"], true);
    assert_eq!(exfil(&ev[2])["dns_flow"]["malformed"], 1);
}

#[test]
fn compression_loop_is_malformed() {
    // Answer name pointing at itself.
    let mut m = hex(UDP_A[1]);
    let at = 30; // the c00c pointer of the answer
    assert_eq!(&m[at..at + 2], &[0xc0, 0x0c]);
    m[at + 1] = at as u8;
    let ev = udp(&[(ToClient, m)]);
    assert_eq!(exfil(&ev[0])["malformed"], true);
    assert!(body(&ev[0]).get("answers").is_none());
}

#[test]
fn latin1_labels_escaped_like_suricata() {
    let ev = udp(&[(ToServer, hex(IODINE[6]))]);
    assert_eq!(
        body(&ev[0])["queries"][0]["rrname"],
        "zi03aA-Aaahhh-Drink-mal-ein-J\\xe4germeister-.pirate.sea"
    );
}

// ---- TCP framing ----

#[test]
fn tcp_split_at_every_byte_gives_the_same_events() {
    let ts = hex(TCP_A[0]);
    let tc = hex(TCP_A[1]);
    // Two messages back to back in one direction as well.
    let ts2: Vec<u8> = ts.iter().chain(ts.iter()).copied().collect();
    let whole = {
        let mut h = harness(Transport::Tcp);
        h.data(ToServer, &ts2).data(ToClient, &tc);
        h.finish()
    };
    assert_eq!(whole.len(), 4); // 3 messages + summary (2 requests)
    assert_eq!(body(&whole[2])["answers"][0]["rdata"], "10.1.2.3");
    for cut in 0..=ts2.len() {
        let mut h = harness(Transport::Tcp);
        h.data(ToServer, &ts2[..cut]).data(ToServer, &ts2[cut..]);
        h.data(ToClient, &tc);
        assert_eq!(h.finish(), whole, "cut at {cut}");
    }
    let mut h = harness(Transport::Tcp);
    for b in &ts2 {
        h.data(ToServer, std::slice::from_ref(b));
    }
    for b in &tc {
        h.data(ToClient, std::slice::from_ref(b));
    }
    assert_eq!(h.finish(), whole);
}

#[test]
fn tcp_gap_stops_the_direction() {
    let ts = hex(TCP_A[0]);
    let mut h = harness(Transport::Tcp);
    h.data(ToServer, &ts[..10])
        .gap(ToServer, 100)
        .data(ToServer, &ts);
    h.data(ToClient, &hex(TCP_A[1]));
    let ev = h.finish();
    assert_eq!(ev.len(), 1);
    assert_eq!(body(&ev[0])["type"], "response");
}

#[test]
fn tcp_zero_length_message_is_skipped() {
    let mut s = vec![0, 0];
    s.extend(hex(TCP_A[0]));
    let mut h = harness(Transport::Tcp);
    h.data(ToServer, &s);
    let ev = h.finish();
    assert_eq!(body(&ev[0])["type"], "request");
    assert_eq!(exfil(&ev[1])["dns_flow"]["malformed"], 1);
}

// ---- tunnelling ----

fn features_of(name: &[u8]) -> NameFeatures {
    let mut f = NameFeatures::default();
    f.set(name);
    f
}

#[test]
fn name_features() {
    let f = features_of(b"a1b2.c3d4.News.BBC.co.uk");
    assert_eq!(f.registered, "bbc.co.uk");
    assert_eq!(f.subdomain, b"a1b2.c3d4.news");
    assert_eq!((f.labels, f.longest_label, f.len), (6, 4, 24));
    let f = features_of(b"example.test");
    assert_eq!(
        (f.registered.as_str(), f.subdomain.len()),
        ("example.test", 0)
    );
    assert_eq!(f.entropy, 0.0);
    let f = features_of(b"abcd.x.org");
    assert_eq!(f.entropy, 2.0);
    let f = features_of(b"");
    assert_eq!((f.registered.as_str(), f.labels), ("", 0));
}

#[test]
fn dnscat_exfiltration_summary() {
    let msgs: Vec<(Direction, Vec<u8>)> = DNSCAT
        .iter()
        .enumerate()
        .map(|(i, h)| (if i % 2 == 0 { ToServer } else { ToClient }, hex(h)))
        .collect();
    let ev = udp(&msgs);
    assert_eq!(ev.len(), 7);
    let q = exfil(&ev[0])["qname"].clone();
    assert_eq!(q["longest_label"], 60);
    assert!(q["entropy"].as_f64().unwrap() > 3.5, "{q}");
    assert_eq!(body(&ev[1])["answers"][0]["rrtype"], "MX");
    assert_eq!(body(&ev[3])["answers"][0]["rrtype"], "CNAME");
    let s = &exfil(&ev[6])["dns_flow"];
    assert_eq!(body(&ev[6]), &json!({"version": 3}));
    assert_eq!(s["requests"], 3);
    assert_eq!(s["responses"], 3);
    assert_eq!(s["rcodes"], json!({"NOERROR": 3}));
    assert!(s["qname_bytes"].as_u64().unwrap() > 70);
    assert!(s["rdata_bytes"].as_u64().unwrap() > 100);
}

#[test]
fn iodine_distinct_subdomains_per_domain() {
    let msgs: Vec<(Direction, Vec<u8>)> = IODINE
        .iter()
        .enumerate()
        .map(|(i, h)| (if i % 2 == 0 { ToServer } else { ToClient }, hex(h)))
        .collect();
    let ev = udp(&msgs);
    let s = &exfil(ev.last().unwrap())["dns_flow"];
    assert_eq!(s["domains"][0]["domain"], "pirate.sea");
    assert_eq!(s["domains"][0]["distinct_subdomains"], 6);
    assert_eq!(s["domains"][0]["queries"], 6);
    assert_eq!(s["distinct_subdomains"], 6);
    assert!(s["max_entropy"].as_f64().unwrap() > 4.0);
}

#[test]
fn single_exchange_has_no_summary() {
    assert_eq!(udp(&pair(UDP_NXDOMAIN)).len(), 2);
}

// ---- robustness ----

#[test]
fn every_truncation_of_every_message_is_safe() {
    let all: Vec<Vec<u8>> = [UDP_A, SV_TXT, IODINE, DNSCAT]
        .concat()
        .iter()
        .chain([NS_GLUE, SOA_NXDOMAIN, MALFORMED, DNSMASQ_SRV].iter())
        .map(|h| hex(h))
        .collect();
    for m in &all {
        for n in 0..=m.len() {
            let _ = probe(ToClient, &m[..n], Transport::Udp);
            let _ = probe(ToClient, &m[..n], Transport::Tcp);
            let mut h = harness(Transport::Udp);
            h.data(ToClient, &m[..n]);
            h.finish();
            let mut h = harness(Transport::Tcp);
            h.data(ToClient, &tcp_framed(&m[..n]));
            h.finish();
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        tcp in any::<bool>(),
    ) {
        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
        let _ = probe(ToServer, &data, transport);
        let _ = probe(ToClient, &data, transport);
        let mut h = harness(transport);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut last = 0;
        for (i, c) in cuts.into_iter().chain([data.len()]).enumerate() {
            let dir = if i % 3 == 2 { ToClient } else { ToServer };
            h.data(dir, &data[last..c]);
            last = c;
        }
        h.finish();
    }

    #[test]
    fn mutated_responses_never_panic(
        idx in 0usize..5,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let src = [NS_GLUE, SOA_NXDOMAIN, DNSMASQ_SRV, DNSMASQ_CNAME, SV_TXT[1]][idx];
        let mut m = hex(src);
        for (at, v) in flips {
            let at = at % m.len();
            m[at] = v;
        }
        let _ = probe(ToClient, &m, Transport::Udp);
        let mut h = harness(Transport::Udp);
        h.data(ToClient, &m);
        h.finish();
    }
}
