//! The command line a user meets first.

mod common;
use common::*;

#[test]
fn help_explains_options_with_examples() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--read",
        "--interface",
        "--output",
        "--config",
        "--workers",
        "--home-net",
        "--bpf",
        "--snaplen",
        "--buffer-mb",
        "--check-config",
        "--set",
        "Examples:",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn end_of_input_flushes_flows_with_reason() {
    let pcap = repo().join("pcaps/http-get.pcap");
    let (events, out) = run(&pcap, &[]);
    assert!(out.status.success());
    let flows: Vec<_> = events
        .iter()
        .filter(|e| e["event_type"] == "flow")
        .collect();
    assert!(!flows.is_empty());
    // Closed TCP sessions end as tcp_close or at end of input; nothing is left unreported.
    for f in &flows {
        let r = f["exfil"]["flow"]["end_reason"].as_str().unwrap();
        assert!(matches!(r, "tcp_close" | "end_of_input" | "timeout"), "{f}");
    }
    let stats = events.last().unwrap();
    assert_eq!(stats["event_type"], "stats");
    assert_eq!(stats["stats"]["flow"]["active"], 0);
    assert_eq!(
        stats["stats"]["flow"]["total"].as_u64().unwrap() as usize,
        flows.len()
    );
}

#[test]
fn output_file_option_writes_there() {
    let pcap = repo().join("pcaps/http-get.pcap");
    let out_path = std::env::temp_dir().join(format!("exfil-cli-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&out_path);
    let out = bin()
        .arg("-r")
        .arg(&pcap)
        .arg("-o")
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(text.lines().count() > 1);
    let _ = std::fs::remove_file(&out_path);
}
