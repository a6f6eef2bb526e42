//! Bad input gets a clear error or a counted skip: never a panic, a hang or a silent loss.

mod common;
use common::*;
use std::path::PathBuf;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn no_panic(o: &std::process::Output) {
    let e = stderr(o);
    assert!(!e.contains("panicked"), "panic: {e}");
    assert_ne!(o.status.code(), Some(101), "{e}");
}

fn final_stats(events: &[serde_json::Value]) -> &serde_json::Value {
    events
        .iter()
        .rev()
        .find(|e| e["event_type"] == "stats")
        .expect("final stats event")
}

fn synth(name: &str) -> PathBuf {
    repo().join("pcaps/synth").join(name)
}

#[test]
fn truncated_pcap_keeps_what_was_read_and_counts_the_error() {
    let (events, out) = run(&synth("corrupt-truncated.pcap"), &[]);
    no_panic(&out);
    assert!(
        stderr(&out).contains("corrupt-truncated.pcap"),
        "{}",
        stderr(&out)
    );
    let s = final_stats(&events);
    assert_eq!(s["stats"]["capture"]["errors"], 1, "{s}");
    assert!(s["stats"]["decoder"]["pkts"].as_u64().unwrap() > 0);
}

#[test]
fn corrupt_record_header_is_an_error_not_a_hang() {
    let (events, out) = run(&synth("corrupt-header.pcap"), &[]);
    no_panic(&out);
    assert_eq!(final_stats(&events)["stats"]["capture"]["errors"], 1);
}

#[test]
fn malformed_packets_are_counted_by_reason() {
    let (events, out) = run(&synth("malformed-packets.pcap"), &[]);
    no_panic(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = final_stats(&events);
    let errors = s["exfil"]["stats"]["decoder"]["errors"]
        .as_object()
        .unwrap();
    assert!(
        errors.len() >= 4,
        "expected several distinct reasons: {errors:?}"
    );
    assert!(
        s["stats"]["decoder"]["invalid"].as_u64().unwrap() >= 5,
        "{s}"
    );
}

/// Fragment garbage (public corpus: four 313-fragment datagrams under one IP id, two
/// with impossible TCP headers): handled cleanly, every fragment accounted for.
#[test]
fn overlapping_fragment_garbage_is_counted() {
    let Some(shared) = shared() else { return };
    let (events, out) = run(
        &shared.join("corpus/public/pcaps/ndpi__ip_fragmented_garbage.pcap"),
        &[],
    );
    no_panic(&out);
    assert!(out.status.success());
    let s = final_stats(&events);
    assert_eq!(s["stats"]["defrag"]["ipv4"]["fragments"], 1252, "{s}");
    assert_eq!(s["stats"]["defrag"]["ipv4"]["reassembled"], 4, "{s}");
    assert_eq!(
        s["exfil"]["stats"]["drops"]["reassembled_invalid"], 2,
        "{s}"
    );
    let in_flows: u64 = events
        .iter()
        .filter(|e| e["event_type"] == "flow")
        .map(|e| {
            e["flow"]["pkts_toserver"].as_u64().unwrap()
                + e["flow"]["pkts_toclient"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(in_flows, 2 * 313);
}

#[test]
fn not_a_pcap_is_a_clear_error() {
    let dir = tempdir();
    let f = dir.join("notes.txt");
    std::fs::write(&f, "hello").unwrap();
    let (_, out) = run(&f, &[]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("notes.txt"), "{}", stderr(&out));
}

#[test]
fn missing_input_and_unwritable_output_fail_clearly() {
    let out = bin().args(["-r", "/nonexistent/x.pcap"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/x.pcap"));
    let pcap = repo_pcaps().into_iter().next().unwrap();
    let out = bin()
        .arg("-r")
        .arg(&pcap)
        .args(["-o", "/nonexistent-dir/eve.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot open EVE output"),
        "{}",
        stderr(&out)
    );
}

/// `--check-config` on a config file with this text: (exit code, stderr).
fn check_config(text: &str) -> (Option<i32>, String) {
    let cfg = tempdir().join("sensor.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = bin()
        .arg("-c")
        .arg(&cfg)
        .arg("--check-config")
        .output()
        .unwrap();
    (out.status.code(), stderr(&out))
}

#[test]
fn bad_config_names_the_key() {
    for (text, key) in [
        ("[flow]\nmax_flowz = 10\n", "max_flowz"),
        ("[flow.timeouts.udp]\nnew = -5\n", "new"),
        ("[app.ports]\n\"tcp/21\" = [\"gopher\"]\n", "gopher"),
    ] {
        let (code, err) = check_config(text);
        assert_eq!(code, Some(1), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
    }
    let (code, err) = check_config("[network]\nhome_net = [\"10.0.0.0/8\"]\n");
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn directory_input_reads_every_file() {
    let dir = tempdir();
    let files = repo_pcaps();
    for f in files.iter().take(3) {
        std::fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let (events, out) = run(&dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(final_stats(&events)["exfil"]["stats"]["input"]["files"], 3);
}

#[test]
fn unknown_interface_is_a_clear_error() {
    let out = bin().args(["-i", "nosuchif0"]).output().unwrap();
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nosuchif0"), "{}", stderr(&out));
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "exfil-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
