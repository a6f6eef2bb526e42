//! The detectors on the scenario captures (pcaps/scenarios/, made by
//! scripts/gen-scenarios.sh): each positive raises exactly the expected alerts, each
//! negative none; every alert explains itself and validates against Suricata's schema.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const CONFIG: &str = "tests/scenarios/sensor.toml";

/// (sid, src_ip, dest_ip) of an expected alert.
type Expected = (u64, &'static str, &'static str);

/// Scenario file → the alerts it must raise, no more and no fewer.
const CASES: &[(&str, &[Expected])] = &[
    (
        "an1173-ftp-upload.pcap",
        &[
            (9_117_301, "10.20.0.11", "203.0.113.50"),
            (9_116_901, "10.20.0.11", "203.0.113.50"),
        ],
    ),
    (
        "an1173-ftp-port80.pcap",
        &[(9_117_303, "10.20.0.12", "203.0.113.51")],
    ),
    // The transfer flow of a TFTP WRQ is opened by the server's first ACK.
    (
        "an1173-tftp-put.pcap",
        &[
            (9_117_301, "203.0.113.69", "10.20.0.13"),
            (9_116_901, "203.0.113.69", "10.20.0.13"),
        ],
    ),
    (
        "an1173-smb-put.pcap",
        &[
            (9_117_301, "10.20.0.14", "203.0.113.45"),
            (9_116_901, "10.20.0.14", "203.0.113.45"),
        ],
    ),
    (
        "an1173-smb-8445.pcap",
        &[(9_117_302, "10.20.0.14", "203.0.113.46")],
    ),
    (
        "an0367-smtp-offhours.pcap",
        &[(9_036_701, "10.20.0.12", "203.0.113.25")],
    ),
    (
        "an0367-dns-tunnel.pcap",
        &[
            (9_036_703, "10.20.0.13", "198.51.100.53"),
            (9_003_003, "10.20.0.13", "198.51.100.53"),
        ],
    ),
    (
        "an0423-staging.pcap",
        &[(9_042_301, "10.20.0.15", "198.51.100.81")],
    ),
    (
        "an0030-raw-4444.pcap",
        &[(9_003_001, "10.20.0.17", "203.0.113.44")],
    ),
    (
        "an0030-http-header-stuffing.pcap",
        &[(9_003_003, "10.20.0.18", "198.51.100.82")],
    ),
    (
        "an0030-non-dns-53.pcap",
        &[(9_003_002, "10.20.0.19", "203.0.113.53")],
    ),
    ("neg-backup-allowlisted.pcap", &[]),
    ("neg-internal-smb-copy.pcap", &[]),
    ("neg-large-download.pcap", &[]),
    ("neg-normal-dns.pcap", &[]),
    ("neg-mail-relay.pcap", &[]),
    ("baseline-ws16-smtp.pcap", &[]),
];

fn scenarios() -> PathBuf {
    repo().join("pcaps/scenarios")
}

fn sensor(pcap: &Path, extra: &[&str]) -> Vec<Value> {
    let (events, out) = run(pcap, &[&["-c", CONFIG], extra].concat());
    assert!(
        out.status.success(),
        "{}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    events
}

fn alerts(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .collect()
}

fn found(events: &[Value]) -> BTreeSet<(u64, String, String)> {
    alerts(events)
        .iter()
        .map(|a| {
            (
                a["alert"]["signature_id"].as_u64().unwrap(),
                a["src_ip"].as_str().unwrap().to_string(),
                a["dest_ip"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn want(expected: &[Expected]) -> BTreeSet<(u64, String, String)> {
    expected
        .iter()
        .map(|(s, a, b)| (*s, a.to_string(), b.to_string()))
        .collect()
}

/// An alert names its analytic, the thresholds and measured values, and its flow.
fn explains_itself(a: &Value) {
    let sid = a["alert"]["signature_id"].as_u64().unwrap();
    let analytic = format!("AN{:04}", sid / 100 % 10_000);
    assert_eq!(
        a["alert"]["metadata"]["mitre_analytic"][0],
        analytic.as_str(),
        "{a}"
    );
    assert_eq!(a["exfil"]["alert"]["analytic"], analytic.as_str(), "{a}");
    assert_eq!(a["alert"]["action"], "allowed");
    assert!(
        a["alert"]["signature"]
            .as_str()
            .unwrap()
            .contains(&analytic),
        "{a}"
    );
    let x = &a["exfil"]["alert"];
    assert!(x["reason"].as_str().is_some_and(|r| r.len() > 30), "{a}");
    assert!(
        x["thresholds"].as_object().is_some_and(|t| !t.is_empty()),
        "{a}"
    );
    assert!(
        x["measured"].as_object().is_some_and(|m| !m.is_empty()),
        "{a}"
    );
    assert!(
        x["measured"]["local_time"]
            .as_str()
            .is_some_and(|t| t.contains("Europe/Berlin")),
        "{a}"
    );
    assert!(a["flow_id"].as_u64().is_some_and(|id| id > 0), "{a}");
    assert!(
        a["community_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("1:")),
        "{a}"
    );
}

/// The flow an alert is about is logged with the same flow_id and community_id.
fn flow_of_alert_is_logged(events: &[Value], a: &Value) {
    let flow = events
        .iter()
        .find(|e| e["event_type"] == "flow" && e["flow_id"] == a["flow_id"])
        .unwrap_or_else(|| panic!("no flow event for alert {a}"));
    assert_eq!(flow["community_id"], a["community_id"]);
}

#[test]
fn scenarios_raise_exactly_the_expected_alerts() {
    let validator = shared()
        .and_then(|s| std::fs::read_to_string(s.join("eve-schema/suricata-eve-schema.json")).ok())
        .map(|t| jsonschema::validator_for(&serde_json::from_str(&t).unwrap()).unwrap());
    if validator.is_none() {
        eprintln!("SKIP: schema validation of alerts: ../shared/eve-schema is absent");
    }
    let mut failures = Vec::new();
    for (file, expected) in CASES {
        let events = sensor(&scenarios().join(file), &[]);
        let (got, want) = (found(&events), want(expected));
        if got != want {
            failures.push(format!("{file}: expected {want:?}, got {got:?}"));
        }
        for a in alerts(&events) {
            explains_itself(a);
            flow_of_alert_is_logged(&events, a);
            if let Some(v) = &validator {
                if let Err(e) = v.validate(&without_exfil(a)) {
                    panic!("{file}: alert fails Suricata's schema: {e}\n{a}");
                }
            }
        }
        eprintln!("{file}: {} alert(s)", got.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The backup is allowlisted until its entry expires; then it alerts and names the entry.
#[test]
fn expired_allowlist_entry_stops_suppressing() {
    let pcap = scenarios().join("neg-backup-allowlisted.pcap");
    let events = sensor(&pcap, &["--set", "detect.allow=[]"]);
    let unlisted = found(&events);
    assert!(
        unlisted.iter().any(|(sid, ..)| *sid == 9_117_301),
        "{unlisted:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(repo().join(CONFIG))
        .unwrap()
        .replace("2099-12-31", "2026-01-01");
    let path = dir.path().join("expired.toml");
    std::fs::write(&path, cfg).unwrap();
    let (events, out) = run(&pcap, &["-c", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("expired on 2026-01-01"), "{stderr}");
    let got = alerts(&events);
    assert_eq!(found(&events), unlisted);
    for a in got {
        assert_eq!(
            a["exfil"]["alert"]["measured"]["allowlist_expired"]["owner"],
            "backup-team@example.org",
            "{a}"
        );
    }
    let stats = events.last().unwrap();
    assert!(
        stats["exfil"]["stats"]["detect"]["expired_allowlist_hits"]
            .as_u64()
            .unwrap()
            > 0
    );
}

fn baseline_from(state: &Path, learning_days: &str) {
    let out = bin()
        .args(["baseline", "-c", CONFIG, "--baseline-state"])
        .arg(state)
        .args([
            "--set",
            &format!("detect.baseline.learning_days={learning_days}"),
        ])
        .arg("-r")
        .arg(scenarios().join("baseline-ws16-smtp.pcap"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(state.exists());
}

/// Four weeks of small Tuesday-morning mails make a 1 MiB mail at that hour an outlier;
/// a usual one is not. The baseline was saved by one run and loaded by the next.
#[test]
fn volume_far_above_the_hosts_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("baseline.json");
    baseline_from(&state, "14");
    let st = state.to_str().unwrap();
    let events = sensor(
        &scenarios().join("an0367-smtp-volume.pcap"),
        &["--baseline-state", st],
    );
    assert_eq!(
        found(&events),
        want(&[(9_036_702, "10.20.0.16", "203.0.113.26")]),
        "{:#?}",
        alerts(&events)
    );
    let a = alerts(&events)[0];
    explains_itself(a);
    let m = &a["exfil"]["alert"]["measured"];
    assert_eq!(m["baseline_samples"], 3, "{a}");
    assert!(m["hour_bytes_out"].as_u64().unwrap() > 1_000_000, "{a}");
    // The same state, a usual mail: quiet.
    baseline_from(&state, "14");
    let events = sensor(
        &scenarios().join("neg-smtp-usual.pcap"),
        &["--baseline-state", st],
    );
    assert!(alerts(&events).is_empty(), "{:#?}", alerts(&events));
}

/// During the learning period only absolute thresholds fire.
#[test]
fn learning_period_holds_baseline_alerts_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("baseline.json");
    baseline_from(&state, "60");
    let events = sensor(
        &scenarios().join("an0367-smtp-volume.pcap"),
        &[
            "--baseline-state",
            state.to_str().unwrap(),
            "--set",
            "detect.baseline.learning_days=60",
        ],
    );
    assert!(alerts(&events).is_empty(), "{:#?}", alerts(&events));
}

/// A corrupt state file is reported and rebuilt: the run goes on and saves a good one.
#[test]
fn corrupt_state_file_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("baseline.json");
    std::fs::write(&state, b"{\"version\": 1, \"cells\": [trunc").unwrap();
    let (events, out) = run(
        &scenarios().join("neg-smtp-usual.pcap"),
        &["-c", CONFIG, "--baseline-state", state.to_str().unwrap()],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is corrupt") && stderr.contains("starting a new baseline"),
        "{stderr}"
    );
    let stats = events.last().unwrap();
    assert_eq!(stats["exfil"]["stats"]["detect"]["baseline"]["rebuilt"], 1);
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
    // An unwritable state path is a clear error at start.
    let (_, out) = run(
        &scenarios().join("neg-smtp-usual.pcap"),
        &["-c", CONFIG, "--baseline-state", "/nonexistent-dir/b.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not writable"));
}

/// With a mature baseline, an upload to a destination no internal host used before is
/// rare (AN0423, and AN0030 for its ratio); a download from a common one is not.
#[test]
fn rare_destinations_need_a_mature_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("baseline.json");
    baseline_from(&state, "14");
    let st = state.to_str().unwrap();
    let events = sensor(
        &scenarios().join("an0423-staging.pcap"),
        &["--baseline-state", st],
    );
    assert_eq!(
        found(&events),
        want(&[
            (9_042_301, "10.20.0.15", "198.51.100.81"),
            (9_042_302, "10.20.0.15", "198.51.100.81"),
            (9_003_001, "10.20.0.15", "198.51.100.81"),
        ]),
        "{:#?}",
        alerts(&events)
    );
    for a in alerts(&events) {
        explains_itself(a);
    }
    baseline_from(&state, "14");
    let events = sensor(
        &scenarios().join("neg-large-download.pcap"),
        &["--baseline-state", st],
    );
    assert!(alerts(&events).is_empty(), "{:#?}", alerts(&events));
}

/// Endpoint telemetry names PowerShell as the process behind the SMB upload: AN1169 rises
/// to severity 1 and every alert carries the process.
#[test]
fn suspicious_process_raises_an1169() {
    let records = repo().join("tests/data/endpoint/scenarios/an1173-smb-put.jsonl");
    let events = sensor(
        &scenarios().join("an1173-smb-put.pcap"),
        &["--endpoint-events", records.to_str().unwrap()],
    );
    assert_eq!(
        found(&events),
        want(&[
            (9_117_301, "10.20.0.14", "203.0.113.45"),
            (9_116_901, "10.20.0.14", "203.0.113.45"),
        ])
    );
    for a in alerts(&events) {
        explains_itself(a);
        assert_eq!(a["exfil"]["process"]["name"], "powershell.exe", "{a}");
        assert!(
            a["exfil"]["alert"]["measured"].get("process").is_none(),
            "{a}"
        );
    }
    let an1169 = alerts(&events)
        .into_iter()
        .find(|a| a["alert"]["signature_id"] == 9_116_901)
        .unwrap();
    assert_eq!(an1169["alert"]["severity"], 1);
    assert!(an1169["exfil"]["alert"]["reason"]
        .as_str()
        .unwrap()
        .contains("powershell.exe"));
    // Without the feed the same upload stays at the rule's severity and says why.
    let events = sensor(&scenarios().join("an1173-smb-put.pcap"), &[]);
    let plain = alerts(&events);
    assert!(
        plain.iter().all(|a| a["alert"]["severity"] == 2),
        "{plain:#?}"
    );
    assert!(plain
        .iter()
        .all(|a| a["exfil"]["alert"]["measured"]["process"]
            .as_str()
            .is_some_and(|p| p.contains("no endpoint telemetry"))));
}
