//! Sharding must not change results: the flow events for `--workers 1` and `--workers 4`
//! are identical in content (order aside).

mod common;
use common::*;

fn flow_lines(path: &std::path::Path, workers: &str) -> Vec<String> {
    let (events, out) = run(path, &["--workers", workers]);
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
