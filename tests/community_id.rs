//! Community ID v1 against the published test vectors, and on the flows the sensor logs
//! from the vectors' own captures.

mod common;
use common::*;
use exfil_sensor::decode::Addr;
use exfil_sensor::ident::community_id;
use std::net::IpAddr;

fn addr(s: &str) -> Addr {
    match s.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v4) => exfil_sensor::decode::addr_from_v4(v4.octets()),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn vectors(file: &str) -> Option<Vec<serde_json::Value>> {
    let shared = shared()?;
    let text = std::fs::read_to_string(shared.join("community-id").join(file)).ok()?;
    Some(serde_json::from_str(&text).unwrap())
}

#[test]
fn published_vectors_seed_0_and_1() {
    for (file, seed) in [("baseline_deflt.json", 0u16), ("baseline_seed1.json", 1)] {
        let Some(rows) = vectors(file) else { return };
        for r in &rows {
            let proto = r["proto"].as_u64().unwrap() as u8;
            let got = community_id(
                seed,
                proto,
                &addr(r["saddr"].as_str().unwrap()),
                &addr(r["daddr"].as_str().unwrap()),
                r["sport"].as_u64().unwrap_or(0) as u16,
                r["dport"].as_u64().unwrap_or(0) as u16,
            );
            assert_eq!(
                got.as_str(),
                r["communityid"].as_str().unwrap(),
                "{file}: {r}"
            );
        }
        eprintln!("{file}: {} vectors", rows.len());
    }
}

/// Every flow the sensor logs from the vector captures carries one of the published IDs
/// for its tuple.
#[test]
fn sensor_flows_carry_published_ids() {
    let Some(shared) = shared() else { return };
    for (seed, file) in [(0, "baseline_deflt.json"), (1, "baseline_seed1.json")] {
        let rows = vectors(file).unwrap();
        let known: std::collections::HashSet<&str> = rows
            .iter()
            .map(|r| r["communityid"].as_str().unwrap())
            .collect();
        let mut n = 0;
        for cap in [
            "tcp.pcap",
            "udp.pcap",
            "icmp.pcap",
            "icmp6.pcap",
            "ipv6.pcap",
            "sctp.pcap",
        ] {
            let (events, _) = run(
                &shared.join("community-id").join(cap),
                &["--set", &format!("output.community_id_seed={seed}")],
            );
            for e in events.iter().filter(|e| e["event_type"] == "flow") {
                let id = e["community_id"].as_str().unwrap();
                assert!(
                    known.contains(id),
                    "{cap} seed {seed}: {id} not in vectors: {e}"
                );
                n += 1;
            }
        }
        assert!(n > 10, "too few flows checked: {n}");
    }
}
