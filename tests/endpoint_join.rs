//! Process attribution: the sensor joins Sysmon Event ID 3 records (Winlogbeat/ECS and
//! flat JSON) to the flows of the bundled captures. The records and the expected joins in
//! `tests/data/endpoint` are made by `scripts/gen-endpoint-events.py` (see its README);
//! golden facts about them are also spelled out here, so the generator cannot agree with
//! the sensor on a mistake.

mod common;
use common::*;
use exfil_sensor::output::timefmt::ts;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

const DATASETS: [&str; 6] = [
    "smb-445",
    "ftp-passive",
    "tftp-69",
    "http-get",
    "dns-udp",
    "udp-misc",
];

fn data(name: &str) -> PathBuf {
    repo().join("tests/data/endpoint").join(name)
}

fn expect(name: &str) -> Value {
    let text = std::fs::read_to_string(data(&format!("{name}.expect.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Run on the dataset's capture with its records and any extra options.
fn run_with(name: &str, extra: &[&str]) -> (Vec<Value>, String) {
    let records = data(&format!("{name}.jsonl"));
    let mut args = vec!["--endpoint-events", records.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (ev, out) = run(&repo().join("pcaps").join(format!("{name}.pcap")), &args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{name}: {err}");
    (ev, err)
}

type Tuple = (String, String, u64, String, u64);

fn tuple(v: &Value) -> Tuple {
    (
        v["proto"].as_str().unwrap().to_string(),
        v["src_ip"].as_str().unwrap().to_string(),
        v["src_port"].as_u64().unwrap(),
        v["dest_ip"].as_str().unwrap().to_string(),
        v["dest_port"].as_u64().unwrap(),
    )
}

/// TCP/UDP flow events by tuple.
fn flows(ev: &[Value]) -> HashMap<Tuple, &Value> {
    ev.iter()
        .filter(|e| e["event_type"] == "flow" && matches!(e["proto"].as_str(), Some("TCP" | "UDP")))
        .map(|e| (tuple(e), e))
        .collect()
}

fn endpoint_stats(ev: &[Value]) -> &Value {
    let s = ev.iter().rfind(|e| e["event_type"] == "stats").unwrap();
    &s["exfil"]["stats"]["endpoint"]
}

fn process_of(ev: &[Value], dest_port: u64) -> Vec<&Value> {
    ev.iter()
        .filter(|e| e["event_type"] == "flow" && e["dest_port"] == dest_port)
        .map(|e| &e["exfil"]["process"])
        .collect()
}

#[test]
fn every_dataset_joins_as_expected() {
    let mut cases = BTreeSet::new();
    let mut formats = BTreeSet::new();
    for name in DATASETS {
        let want = expect(name);
        let (ev, _) = run_with(name, &[]);
        let got = flows(&ev);
        let wf = want["flows"].as_array().unwrap();
        assert_eq!(got.len(), wf.len(), "{name}: TCP/UDP flows");
        for w in wf {
            let f = got
                .get(&tuple(w))
                .unwrap_or_else(|| panic!("{name}: no flow {w}"));
            let p = &f["exfil"]["process"];
            cases.insert(w["case"].as_str().unwrap().to_string());
            let e = &w["process"];
            if e.is_null() {
                assert!(p.is_null(), "{name} {}: unexpected process {p}", w["case"]);
                continue;
            }
            formats.insert(e["format"].as_str().unwrap().to_string());
            let ctx = format!("{name} {} {}", w["case"], f);
            for k in ["image", "name", "pid", "user", "host", "format"] {
                assert_eq!(p[k], e[k], "{k}: {ctx}");
            }
            assert_eq!(p["join"]["orientation"], e["orientation"], "{ctx}");
            assert_eq!(p["join"]["skew_ms"], e["skew_ms"], "{ctx}");
            assert_eq!(
                p["record_time"],
                ts(e["record_time_us"].as_u64().unwrap()),
                "{ctx}"
            );
            // The endpoint tuple's Community ID is the flow's: the pivot between the logs.
            assert_eq!(p["community_id"], f["community_id"], "{ctx}");
            match e["parent"].as_object() {
                Some(parent) => {
                    for (k, v) in parent {
                        assert_eq!(&p["parent"][k], v, "parent {k}: {ctx}");
                    }
                }
                None => assert!(p["parent"].is_null(), "{ctx}"),
            }
        }
        let s = endpoint_stats(&ev);
        let c = &want["counts"];
        for k in [
            "records_read",
            "ignored_event_ids",
            "malformed",
            "indexed",
            "flows_joined",
            "flows_unjoined",
            "flows_outside_tolerance",
            "records_never_joined",
        ] {
            assert_eq!(s[k], c[k], "{name}: stats.endpoint.{k} in {s}");
        }
        assert_eq!(s["by_format"]["ecs"], c["ecs"], "{name}");
        assert_eq!(s["by_format"]["sysmon"], c["sysmon"], "{name}");
        assert_eq!(s["evicted"], 0);
        assert_eq!(s["flows_held"], 0, "replay holds nothing");
        // Alerts of joined flows carry the same object (none on these captures yet).
        for a in ev.iter().filter(|e| e["event_type"] == "alert") {
            let f = got[&tuple(a)];
            assert_eq!(a["exfil"]["process"], f["exfil"]["process"], "{a}");
        }
    }
    let all: BTreeSet<String> = [
        "after",
        "before",
        "skew_in",
        "inbound",
        "skew_out",
        "none",
        "nearest",
        "both_sides",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(cases, all, "the datasets cover every case");
    assert_eq!(formats.len(), 2, "both formats joined: {formats:?}");
}

/// Golden facts about the SMB and FTP captures, independent of the expectation files.
#[test]
fn smb_and_ftp_name_their_processes() {
    let (ev, err) = run_with("smb-445", &[]);
    let smb = process_of(&ev, 445);
    assert_eq!(smb.len(), 2);
    for p in &smb {
        assert_eq!(p["name"], "powershell.exe", "{p}");
        assert_eq!(
            p["image"],
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
        );
        assert_eq!(p["user"], r"CORP\alice");
        assert_eq!(p["join"]["orientation"], "initiated");
    }
    // One record came 1.2 s after the first packet (ECS), one 0.8 s before (flat).
    let mut skews: Vec<i64> = smb
        .iter()
        .map(|p| p["join"]["skew_ms"].as_i64().unwrap())
        .collect();
    skews.sort_unstable();
    assert!(
        (-800..=-799).contains(&skews[0]) && (1199..=1200).contains(&skews[1]),
        "{skews:?}"
    );
    let fmts: BTreeSet<&str> = smb.iter().map(|p| p["format"].as_str().unwrap()).collect();
    assert_eq!(fmts, BTreeSet::from(["ecs", "sysmon"]));
    let ecs = smb.iter().find(|p| p["format"] == "ecs").unwrap();
    assert_eq!(ecs["parent"]["name"], "explorer.exe", "{ecs}");
    assert_eq!(ecs["host"], "ws-042");
    // Seven garbage lines: counted, reported on stderr (rate-limited), never fatal.
    assert_eq!(endpoint_stats(&ev)["malformed"], 7);
    assert!(err.contains("endpoint record skipped"), "{err}");
    assert!(
        err.lines()
            .filter(|l| l.contains("endpoint record"))
            .count()
            <= 2,
        "rate-limited: {err}"
    );

    let (ev, _) = run_with("ftp-passive", &[]);
    let control = process_of(&ev, 2121);
    // The first control connection's record is 4.3 s off (joins); the second 7.5 s (not).
    let joined: Vec<_> = control.iter().filter(|p| !p.is_null()).collect();
    assert_eq!(joined.len(), 1, "{control:?}");
    assert_eq!(joined[0]["name"], "ftp.exe");
    assert_eq!(joined[0]["join"]["skew_ms"], 4299);
    // A data connection logged by the server side: the accepting process, inbound.
    let inbound: Vec<_> = ev
        .iter()
        .filter(|e| e["exfil"]["process"]["join"]["orientation"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0]["app_proto"], "ftp-data");
    assert_eq!(inbound[0]["exfil"]["process"]["name"], "svchost.exe");
    let s = endpoint_stats(&ev);
    assert_eq!(
        (s["flows_joined"].as_u64(), s["flows_unjoined"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(s["flows_outside_tolerance"], 1);
}

#[test]
fn tolerance_is_configurable() {
    // Wider than the 7.5 s skew: the second FTP control connection joins too.
    let (ev, _) = run_with("ftp-passive", &["--set", "endpoint.tolerance_ms=8000"]);
    let control = process_of(&ev, 2121);
    assert!(
        control.iter().all(|p| p["name"] == "ftp.exe"),
        "{control:?}"
    );
    let skews: BTreeSet<i64> = control
        .iter()
        .map(|p| p["join"]["skew_ms"].as_i64().unwrap())
        .collect();
    assert!(
        skews.iter().any(|s| (-7501..=-7499).contains(s)),
        "{skews:?}"
    );
    assert_eq!(endpoint_stats(&ev)["flows_outside_tolerance"], 0);

    // Narrower than SMB's 1.2 s: only the record 0.8 s early still joins.
    let (ev, _) = run_with("smb-445", &["--set", "endpoint.tolerance_ms=1000"]);
    let smb = process_of(&ev, 445);
    assert_eq!(smb.iter().filter(|p| !p.is_null()).count(), 1, "{smb:?}");
    let s = endpoint_stats(&ev);
    assert_eq!(s["flows_outside_tolerance"], 1);
    // The other SMB record, the NAT'd one and three with no flow.
    assert_eq!(s["records_never_joined"], 5);
}

#[test]
fn config_file_section_equals_the_option() {
    let dir = std::env::temp_dir().join(format!("exfil-endpoint-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("sensor.toml");
    std::fs::write(
        &cfg,
        format!(
            "[endpoint]\nevents_file = {:?}\ntolerance_ms = 5000\nmax_records = 1000\n",
            data("smb-445.jsonl").to_str().unwrap()
        ),
    )
    .unwrap();
    let (a, out) = run(
        &repo().join("pcaps/smb-445.pcap"),
        &["-c", cfg.to_str().unwrap()],
    );
    assert!(out.status.success());
    let (b, _) = run_with("smb-445", &[]);
    let procs = |ev: &[Value]| -> Vec<Value> {
        let mut v: Vec<Value> = process_of(ev, 445).into_iter().cloned().collect();
        v.sort_by_key(|p| p.to_string());
        v
    };
    assert_eq!(procs(&a), procs(&b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn small_cap_evicts_and_counts() {
    let (ev, _) = run_with("udp-misc", &["--set", "endpoint.max_records=2"]);
    let s = endpoint_stats(&ev);
    let indexed = s["indexed"].as_u64().unwrap();
    assert_eq!(s["evicted"].as_u64().unwrap(), indexed - 2, "{s}");
    assert_eq!(s["index_records"], 0, "the rest counted at the end");
}

#[test]
fn without_a_feed_nothing_is_joined() {
    let (ev, out) = run(&repo().join("pcaps/smb-445.pcap"), &[]);
    assert!(out.status.success());
    assert!(ev.iter().all(|e| e["exfil"]["process"].is_null()));
    let s = endpoint_stats(&ev);
    assert_eq!(s["records_read"], 0);
    assert_eq!(s["flows_unjoined"], 0, "not counted without a feed");
}

#[test]
fn missing_events_file_fails_at_start() {
    let (ev, out) = run(
        &repo().join("pcaps/smb-445.pcap"),
        &["--endpoint-events", "/nonexistent/sysmon.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("endpoint.events_file /nonexistent/sysmon.json"),
        "{err}"
    );
    assert!(ev.is_empty(), "no events before the failure");
}

fn can_capture() -> bool {
    match pcap::Capture::from_device("lo").and_then(|c| c.open()) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIP: cannot capture on lo ({e}); live endpoint test needs CAP_NET_RAW");
            false
        }
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn sysmon_record(src: u16, dst: u16, time_us: u64, image: &str) -> String {
    let t = ts(time_us); // "2026-...T...+0000": RFC 3339 with a numeric offset
    format!(
        r#"{{"EventID":3,"SourceName":"Microsoft-Windows-Sysmon","UtcTime":"{t}","Image":{},"ProcessId":"4242","User":"CORP\\alice","Computer":"WS-042","Protocol":"udp","Initiated":"true","SourceIp":"127.0.0.1","SourcePort":"{src}","DestinationIp":"127.0.0.1","DestinationPort":"{dst}"}}"#,
        serde_json::to_string(image).unwrap()
    )
}

/// Live: a record sent to the socket after its flow has ended still joins (the flow was
/// held), and one appended to the followed file joins too.
#[test]
fn live_socket_and_followed_file_join_late_records() {
    if !can_capture() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("exfil-endpoint-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (eve, sock, file) = (
        dir.join("eve.json"),
        dir.join("endpoint.sock"),
        dir.join("sysmon.json"),
    );
    // Lines already in the file are about the past: not read.
    std::fs::write(&file, sysmon_record(1, 2, now_us(), "old.exe") + "\n").unwrap();
    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sp = server.local_addr().unwrap().port();
    let (ap, bp) = (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    );
    let mut child = bin()
        .args(["-i", "lo", "--bpf", &format!("udp and port {sp}")])
        .args(["--stats-interval", "0", "-o"])
        .arg(&eve)
        .arg("--endpoint-socket")
        .arg(&sock)
        .arg("--endpoint-events")
        .arg(&file)
        .args(["--set", "endpoint.hold_ms=4000"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = wait_capturing(&mut child);
    let t0 = Instant::now();
    while !sock.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let start = now_us();
    a.send_to(b"to-a", ("127.0.0.1", sp)).unwrap();
    b.send_to(b"to-b", ("127.0.0.1", sp)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // End the flows (SIGTERM flushes them), then deliver their records late.
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    std::thread::sleep(Duration::from_millis(800));
    let mut c = std::os::unix::net::UnixStream::connect(&sock)
        .expect("socket still served during the hold");
    writeln!(
        c,
        "{}",
        sysmon_record(ap, sp, start + 20_000, r"C:\Tools\rclone.exe")
    )
    .unwrap();
    writeln!(c, "not json").unwrap();
    drop(c);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    writeln!(
        f,
        "{}",
        sysmon_record(bp, sp, start - 30_000, r"C:\Windows\System32\curl.exe")
    )
    .unwrap();
    drop(f);
    let status = child.wait().unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    assert!(status.success(), "exit {status:?}: {rest}");

    let ev: Vec<Value> = std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_port = |p: u16| {
        ev.iter()
            .find(|e| e["event_type"] == "flow" && e["src_port"] == p)
            .unwrap_or_else(|| panic!("no flow from {p}: {ev:?}"))
    };
    let pa = &by_port(ap)["exfil"]["process"];
    assert_eq!(pa["name"], "rclone.exe", "{pa}");
    assert_eq!(pa["join"]["orientation"], "initiated");
    assert_eq!(
        pa["join"]["skew_ms"]
            .as_i64()
            .map(|s| (15..=25).contains(&s)),
        Some(true),
        "{pa}"
    );
    assert_eq!(by_port(bp)["exfil"]["process"]["name"], "curl.exe");
    let s = endpoint_stats(&ev);
    assert_eq!(s["flows_joined"], 2, "{s}");
    assert_eq!(s["flows_held"], 2, "{s}");
    assert_eq!(s["malformed"], 1, "{s}");
    assert_eq!(s["socket_clients"], 1, "{s}");
    assert_eq!(s["records_read"], 3, "the file's old line is not read: {s}");
    assert!(!sock.exists(), "socket removed at exit");
    let _ = std::fs::remove_dir_all(&dir);
}
