//! Per-direction packet and byte totals of every TCP/UDP conversation, summed over its
//! flow events, equal an independent count of the same capture — on the bundled
//! captures and on the shared public corpus.

mod common;
use common::*;
use std::path::Path;

/// Captures whose fragments overlap on purpose (the same 640-byte datagram resent in
/// overlapping 16-byte pieces under one IP id). Which piece completes which datagram is a
/// reassembly policy, not a count: Suricata, tshark and we each attribute them differently.
/// Those files are checked for clean handling in `bad_input`, not for exact totals here.
const OVERLAPPING_FRAGMENTS: &[&str] = &["ndpi__ip_fragmented_garbage.pcap"];

fn exact(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    !OVERLAPPING_FRAGMENTS.iter().any(|f| name == *f)
}

fn check(path: &Path) -> Result<usize, String> {
    let (events, out) = run(path, &[]);
    if !out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("had errors") {
        return Err(format!(
            "exit {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let got = sensor_counts(&events);
    let want = oracle_counts(path);
    let mut diffs = Vec::new();
    for (c, w) in &want {
        match got.get(c) {
            Some(g) if g == w => {}
            g => diffs.push(format!("{c:?}: sensor {g:?}, oracle {w:?}")),
        }
    }
    for c in got.keys().filter(|c| !want.contains_key(c)) {
        diffs.push(format!("{c:?}: only the sensor has it: {:?}", got[c]));
    }
    if diffs.is_empty() {
        Ok(want.len())
    } else {
        diffs.truncate(10);
        Err(diffs.join("\n  "))
    }
}

fn check_all(files: &[std::path::PathBuf]) {
    let mut failures = Vec::new();
    let mut convs = 0;
    for f in files.iter().filter(|f| exact(f)) {
        match check(f) {
            Ok(n) => convs += n,
            Err(e) => failures.push(format!("{}:\n  {e}", f.display())),
        }
    }
    eprintln!("{} files, {convs} conversations checked", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bundled_captures_match_independent_count() {
    let files = repo_pcaps();
    assert!(!files.is_empty(), "no bundled pcaps found");
    check_all(&files);
}

#[test]
fn public_corpus_matches_independent_count() {
    let Some(shared) = shared() else { return };
    check_all(&corpus_pcaps(&shared));
}

/// tshark's per-stream frame sums recorded in labels.jsonl are a second, external oracle.
#[test]
fn public_corpus_matches_tshark_labels() {
    let Some(shared) = shared() else { return };
    let labels = std::fs::read_to_string(shared.join("corpus/public/labels.jsonl")).unwrap();
    let (mut checked, mut failures) = (0, Vec::new());
    for line in labels.lines() {
        let l: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = shared
            .join("corpus/public/pcaps")
            .join(l["file"].as_str().unwrap());
        if !exact(&path) {
            continue;
        }
        let (events, _) = run(&path, &[]);
        let got = sensor_counts(&events);
        for f in l["flows_expected"].as_array().unwrap() {
            let (Some(proto), Some(ba), Some(bb)) = (
                f["l4"].as_str(),
                f["bytes_a_to_b"].as_u64(),
                f["bytes_b_to_a"].as_u64(),
            ) else {
                continue;
            };
            if !f["source_of_label"]
                .as_str()
                .unwrap_or("")
                .starts_with("tshark")
            {
                continue;
            }
            let proto = if proto == "tcp" { 6 } else { 17 };
            let a = (
                f["src"].as_str().unwrap().parse().unwrap(),
                f["sport"].as_u64().unwrap() as u16,
            );
            let b = (
                f["dst"].as_str().unwrap().parse().unwrap(),
                f["dport"].as_u64().unwrap() as u16,
            );
            let (pa, pb) = (
                f["pkts_a_to_b"].as_u64().unwrap(),
                f["pkts_b_to_a"].as_u64().unwrap(),
            );
            let (conv, want) = if a <= b {
                (
                    Conv {
                        proto,
                        lo: a,
                        hi: b,
                    },
                    [(pa, ba), (pb, bb)],
                )
            } else {
                (
                    Conv {
                        proto,
                        lo: b,
                        hi: a,
                    },
                    [(pb, bb), (pa, ba)],
                )
            };
            checked += 1;
            if got.get(&conv) != Some(&want) {
                failures.push(format!(
                    "{}: {conv:?} sensor {:?} tshark {want:?}",
                    l["file"],
                    got.get(&conv)
                ));
            }
        }
    }
    eprintln!(
        "{checked} tshark-labelled conversations checked, {} differ",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
