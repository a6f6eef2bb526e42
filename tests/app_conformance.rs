//! Protocol identification against the labelled public corpus: for every labelled flow
//! of the protocols we identify, `app_proto` (or, where the flow changed protocol or its
//! directions disagree, `app_proto_orig`/`_ts`/`_tc`) agrees with the label. Prints the
//! per-protocol agreement table; the goal is ≥ 98%.

mod common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// Protocol families we identify, as the labels spell them.
const FAMILIES: &[&str] = &[
    "ftp", "ftp-data", "tftp", "smb", "smtp", "dns", "http", "tls", "ssh",
];

/// Label sources, most trusted first: the curator's payload scan reads the bytes;
/// tshark picks dissectors by port and is wrong on purpose on mismatch captures.
fn rank(source: &str) -> u8 {
    match source {
        s if s.starts_with("curator") => 0,
        s if s.starts_with("suricata") => 1,
        s if s.starts_with("zeek") => 2,
        s if s.starts_with("nDPI") => 3,
        _ => 4,
    }
}

type Tuple = (u8, (IpAddr, u16), (IpAddr, u16));

fn tuple(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Tuple {
    if a <= b {
        (proto, a, b)
    } else {
        (proto, b, a)
    }
}

fn family(app: &str, l4: &str) -> Option<&'static str> {
    let app = match (app, l4) {
        ("netbios", "tcp") => "smb",
        (a, _) => a,
    };
    FAMILIES.iter().copied().find(|f| *f == app)
}

#[test]
fn app_proto_agrees_with_corpus_labels() {
    let Some(shared) = shared() else { return };
    let labels = std::fs::read_to_string(shared.join("corpus/public/labels.jsonl")).unwrap();
    let mut table: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    let mut misses = Vec::new();
    for line in labels.lines() {
        let l: Value = serde_json::from_str(line).unwrap();
        let file = l["file"].as_str().unwrap();
        // Best-ranked labels per tuple.
        let mut want: HashMap<Tuple, (u8, Vec<&'static str>)> = HashMap::new();
        for f in l["flows_expected"].as_array().unwrap() {
            let (Some(l4), Some(app), Some(src), Some(dst), Some(sp), Some(dp)) = (
                f["l4"].as_str(),
                f["app"].as_str(),
                f["src"].as_str(),
                f["dst"].as_str(),
                f["sport"].as_u64(),
                f["dport"].as_u64(),
            ) else {
                continue;
            };
            let Some(fam) = family(app, l4) else { continue };
            let proto = if l4 == "tcp" { 6 } else { 17 };
            let t = tuple(
                proto,
                (src.parse().unwrap(), sp as u16),
                (dst.parse().unwrap(), dp as u16),
            );
            let r = rank(f["source_of_label"].as_str().unwrap_or(""));
            let e = want.entry(t).or_insert((r, Vec::new()));
            if r < e.0 {
                *e = (r, Vec::new());
            }
            if r == e.0 && !e.1.contains(&fam) {
                e.1.push(fam);
            }
        }
        if want.is_empty() {
            continue;
        }
        let (events, out) = run(&shared.join("corpus/public/pcaps").join(file), &[]);
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{file}"
        );
        let mut got: HashMap<Tuple, Vec<String>> = HashMap::new();
        for e in events.iter().filter(|e| e["event_type"] == "flow") {
            let proto = match e["proto"].as_str() {
                Some("TCP") => 6,
                Some("UDP") => 17,
                _ => continue,
            };
            let ip = |k: &str| e[k].as_str().unwrap().parse::<IpAddr>().unwrap();
            let port = |k: &str| e[k].as_u64().unwrap() as u16;
            let t = tuple(
                proto,
                (ip("src_ip"), port("src_port")),
                (ip("dest_ip"), port("dest_port")),
            );
            let names = got.entry(t).or_default();
            for k in [
                "app_proto",
                "app_proto_ts",
                "app_proto_tc",
                "app_proto_orig",
            ] {
                if let Some(a) = e[k].as_str() {
                    names.push(a.to_string());
                }
            }
        }
        for (t, (_, fams)) in want {
            let names = got.get(&t).cloned().unwrap_or_default();
            let ok = fams.iter().any(|f| names.iter().any(|n| n == f));
            let row = table.entry(fams[0]).or_default();
            row.0 += 1;
            if ok {
                row.1 += 1;
            } else {
                misses.push(format!("{file}: {t:?} labelled {fams:?}, sensor {names:?}"));
            }
        }
    }
    let (total, agree) = table.values().fold((0, 0), |a, r| (a.0 + r.0, a.1 + r.1));
    eprintln!("protocol   labelled  agree");
    for (p, (n, a)) in &table {
        eprintln!(
            "{p:<10} {n:>8} {a:>6}  {:5.1}%",
            100.0 * f64::from(*a) / f64::from(*n)
        );
    }
    eprintln!(
        "{:<10} {total:>8} {agree:>6}  {:5.1}%",
        "all",
        100.0 * f64::from(agree) / f64::from(total)
    );
    for m in &misses {
        eprintln!("  miss: {m}");
    }
    assert!(total > 50, "too few labelled flows: {total}");
    assert!(
        f64::from(agree) >= 0.98 * f64::from(total),
        "agreement below 98%: {agree}/{total}"
    );
}
