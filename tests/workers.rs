//! Sharding must not change results: the events for `--workers 1` and `--workers 4` are
//! identical in content (order aside), and so are the alerts and the flow records' alert
//! flags of the detection scenarios, whatever order the workers finish in.

mod common;
use common::*;

fn flow_lines(path: &std::path::Path, workers: &str) -> Vec<String> {
    lines(path, &["--workers", workers])
}

fn lines(path: &std::path::Path, args: &[&str]) -> Vec<String> {
    let (events, out) = run(path, args);
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = events
        .iter()
        .filter(|e| e["event_type"] != "stats")
        .map(|e| e.to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn one_and_four_workers_agree() {
    let mut files = repo_pcaps();
    if let Some(shared) = shared() {
        files.extend(corpus_pcaps(&shared));
    }
    let mut flows = 0;
    for f in &files {
        let one = flow_lines(f, "1");
        let four = flow_lines(f, "4");
        assert_eq!(one, four, "{}", f.display());
        flows += one.len();
    }
    assert!(flows > 0);
    eprintln!(
        "{} files, {flows} events identical across worker counts",
        files.len()
    );
}

#[test]
fn detection_scenarios_judge_the_same_whatever_the_worker_timing() {
    let cfg = repo().join("tests/scenarios/sensor.toml");
    let cfg = cfg.to_str().unwrap();
    let mut alerts = 0;
    for name in [
        "an0423-staging",
        "an1173-ftp-upload",
        "an1173-tftp-put",
        "an0030-http-header-stuffing",
    ] {
        let f = repo().join(format!("pcaps/scenarios/{name}.pcap"));
        let base = lines(&f, &["-c", cfg, "--workers", "1"]);
        // Several runs at each count: which worker's flows reach the detectors first
        // varies from run to run.
        for workers in ["2", "2", "3", "4", "4"] {
            let other = lines(&f, &["-c", cfg, "--workers", workers]);
            assert_eq!(base, other, "{name} with {workers} workers");
        }
        alerts += base
            .iter()
            .filter(|l| l.contains(r#""event_type":"alert""#))
            .count();
    }
    assert!(alerts > 0);
}
