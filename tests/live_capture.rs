//! Live capture on `lo` with traffic the test makes itself: flows are tracked, SIGHUP
//! reopens the output file, SIGTERM flushes live flows with reason `shutdown`.
//! Skips with a message where the test may not capture (no CAP_NET_RAW).

mod common;
use common::*;
use std::net::UdpSocket;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn can_capture() -> bool {
    match pcap::Capture::from_device("lo").and_then(|c| c.open()) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIP: cannot capture on lo ({e}); live capture test needs CAP_NET_RAW");
            false
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

fn read_events(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn live_loopback_capture_rotation_and_shutdown() {
    if !can_capture() {
        return;
    }
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (sp, cp) = (
        server.local_addr().unwrap().port(),
        client.local_addr().unwrap().port(),
    );
    let dir = std::env::temp_dir().join(format!("exfil-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let eve = dir.join("eve.json");
    let mut child = bin()
        .args([
            "-i",
            "lo",
            "--bpf",
            &format!("udp and port {sp}"),
            "--stats-interval",
            "1",
            "-o",
        ])
        .arg(&eve)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the sensor says it captures.
    let _stderr = wait_capturing(&mut child);

    server
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 256];
    for i in 0..5u8 {
        client.send_to(&[i; 100], ("127.0.0.1", sp)).unwrap();
        let (n, from) = server.recv_from(&mut buf).unwrap();
        server.send_to(&buf[..n / 2], from).unwrap();
    }
    // Rotate: move the file away, SIGHUP, and wait for the sensor to write a new one.
    std::thread::sleep(Duration::from_millis(1500));
    let rotated = dir.join("eve.json.1");
    std::fs::rename(&eve, &rotated).unwrap();
    signal(child.id(), "-HUP");
    let t0 = Instant::now();
    while !eve.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(eve.exists(), "no new output file after SIGHUP");
    signal(child.id(), "-TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");

    let old = read_events(&rotated);
    assert!(
        old.iter().any(|e| e["event_type"] == "stats"),
        "rotated file lacks stats"
    );
    let new = read_events(&eve);
    let flow = new
        .iter()
        .find(|e| e["event_type"] == "flow" && e["dest_port"] == sp)
        .unwrap_or_else(|| panic!("no flow event: {new:?}"));
    assert_eq!(flow["src_port"], cp);
    assert_eq!(flow["flow"]["reason"], "shutdown");
    assert_eq!(flow["exfil"]["flow"]["end_reason"], "shutdown");
    assert_eq!(flow["flow"]["pkts_toserver"], 5);
    assert_eq!(flow["flow"]["pkts_toclient"], 5);
    // Ethernet 14 + IPv4 20 + UDP 8 + payload.
    assert_eq!(flow["flow"]["bytes_toserver"], 5 * (42 + 100));
    assert_eq!(flow["flow"]["bytes_toclient"], 5 * (42 + 50));
    let last = new.last().unwrap();
    assert_eq!(last["event_type"], "stats");
    assert!(
        last["stats"]["capture"]["kernel_packets"].as_u64().unwrap() >= 10,
        "{last}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
