//! Application layer on the bundled captures of real servers and clients: what each flow
//! speaks, port mismatches, linked data channels, per-protocol events and file transfers.

mod common;
use common::*;
use serde_json::Value;

fn events(name: &str) -> Vec<Value> {
    let (ev, out) = run(&repo().join("pcaps").join(name), &[]);
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ev
}

fn of_type<'a>(ev: &'a [Value], t: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["event_type"] == t).collect()
}

/// Flow events whose server port is `port`.
fn flows_to(ev: &[Value], port: u64) -> Vec<&Value> {
    of_type(ev, "flow")
        .into_iter()
        .filter(|e| e["dest_port"] == port)
        .collect()
}

fn files(ev: &[Value]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = of_type(ev, "fileinfo")
        .iter()
        .map(|e| {
            let name = e["fileinfo"]["filename"].as_str().unwrap_or("");
            let base = name.rsplit(['/', '\\']).next().unwrap_or(name).to_string();
            (base, e["fileinfo"]["size"].as_u64().unwrap_or(0))
        })
        .collect();
    v.sort();
    v
}

fn mismatch(flow: &Value) -> Option<&str> {
    flow["exfil"]["app"]["mismatch"].as_str()
}

#[test]
fn ftp_passive_on_2121_links_data_channels() {
    let ev = events("ftp-passive.pcap");
    let control = flows_to(&ev, 2121);
    assert_eq!(control.len(), 2);
    for c in &control {
        assert_eq!(c["app_proto"], "ftp", "{c}");
        assert_eq!(mismatch(c), Some("non_standard_port"), "{c}");
    }
    let data: Vec<_> = of_type(&ev, "flow")
        .into_iter()
        .filter(|e| e["app_proto"] == "ftp-data")
        .collect();
    assert_eq!(data.len(), 2, "{ev:?}");
    let control_ids: Vec<&Value> = control.iter().map(|c| &c["flow_id"]).collect();
    for d in &data {
        assert!(
            control_ids.contains(&&d["exfil"]["app"]["parent_flow_id"]),
            "{d}"
        );
        assert_eq!(
            mismatch(d),
            None,
            "data channels on ephemeral ports are normal: {d}"
        );
    }
    let mut cmds: Vec<(String, String)> = of_type(&ev, "ftp_data")
        .iter()
        .map(|e| {
            let name = e["ftp_data"]["filename"].as_str().unwrap();
            (
                e["ftp_data"]["command"].as_str().unwrap().to_string(),
                name.rsplit('/').next().unwrap().to_string(),
            )
        })
        .collect();
    cmds.sort();
    assert_eq!(
        cmds,
        [
            ("RETR".into(), "file50k.bin".into()),
            ("STOR".into(), "up40k.bin".into())
        ]
    );
    assert_eq!(
        files(&ev),
        [("file50k.bin".into(), 51200), ("up40k.bin".into(), 40960)]
    );
    assert!(of_type(&ev, "ftp")
        .iter()
        .any(|e| e["ftp"]["command"] == "USER"));
}

#[test]
fn ftp_active_data_channels_from_the_server() {
    let ev = events("ftp-active.pcap");
    let data: Vec<_> = of_type(&ev, "flow")
        .into_iter()
        .filter(|e| e["app_proto"] == "ftp-data")
        .collect();
    assert_eq!(data.len(), 2);
    for d in &data {
        assert_eq!(
            d["src_port"], 2020,
            "the server opens active data connections: {d}"
        );
    }
    assert_eq!(
        files(&ev),
        [("file50k.bin".into(), 51200), ("file50k.bin".into(), 51200)]
    );
}

#[test]
fn ftp_on_the_http_port_is_a_mismatch() {
    let ev = events("ftp-port80.pcap");
    let control = flows_to(&ev, 80);
    assert!(!control.is_empty());
    for c in control {
        assert_eq!(c["app_proto"], "ftp", "{c}");
        assert_eq!(c["app_proto_expected"], "http", "{c}");
        assert_eq!(mismatch(c), Some("port_protocol_mismatch"), "{c}");
    }
    assert_eq!(
        files(&ev),
        [("file30k.bin".into(), 30720), ("up20k.bin".into(), 20480)]
    );
}

#[test]
fn http_on_the_ftp_port_is_a_mismatch() {
    let ev = events("http-port21.pcap");
    for c in flows_to(&ev, 21) {
        assert_eq!(c["app_proto"], "http", "{c}");
        assert_eq!(c["app_proto_expected"], "ftp", "{c}");
    }
    let http = of_type(&ev, "http");
    assert!(
        http.iter()
            .any(|e| e["http"]["http_method"] == "POST" && e["http"]["status"] == 201),
        "{http:?}"
    );
}

#[test]
fn http_on_8080_is_plain_http() {
    let ev = events("http-get.pcap");
    for c in flows_to(&ev, 8080) {
        assert_eq!(c["app_proto"], "http", "{c}");
        assert_eq!(mismatch(c), None, "{c}");
    }
    let http = of_type(&ev, "http");
    assert!(
        http.iter()
            .any(|e| e["http"]["url"] == "/file20k.bin" && e["http"]["status"] == 200),
        "{http:?}"
    );
    assert!(
        http.iter().any(|e| e["http"]["http_method"] == "POST"),
        "{http:?}"
    );
}

#[test]
fn dns_on_5300_over_udp_and_tcp() {
    let ev = events("dns-udp.pcap");
    let flows = flows_to(&ev, 5300);
    assert!(flows.len() >= 5);
    for f in &flows {
        assert_eq!(f["app_proto"], "dns", "{f}");
        assert_eq!(mismatch(f), Some("non_standard_port"), "{f}");
    }
    let dns = of_type(&ev, "dns");
    let text = serde_json::to_string(&dns).unwrap();
    assert!(
        text.contains("example.test") && text.contains("NXDOMAIN"),
        "{text}"
    );
}

#[test]
fn smb_on_445_and_8445_with_file_names() {
    for (name, port, mism) in [
        ("smb-445.pcap", 445, None),
        ("smb-8445.pcap", 8445, Some("non_standard_port")),
    ] {
        let ev = events(name);
        let flows = flows_to(&ev, port);
        assert!(!flows.is_empty(), "{name}");
        for f in &flows {
            assert_eq!(f["app_proto"], "smb", "{name}: {f}");
            assert_eq!(mismatch(f), mism, "{name}: {f}");
        }
        let got = files(&ev);
        assert!(
            got.contains(&("upload30k.bin".into(), 30720)),
            "{name}: {got:?}"
        );
        assert!(
            got.contains(&("report20k.bin".into(), 20480)),
            "{name}: {got:?}"
        );
    }
    let ev = events("smb3-encrypted.pcap");
    for f in flows_to(&ev, 445) {
        assert_eq!(f["app_proto"], "smb", "encrypted SMB3 is still SMB: {f}");
    }
}

#[test]
fn tftp_transfers_on_new_ports_are_linked() {
    for (name, port) in [("tftp-69.pcap", 69), ("tftp-5353.pcap", 5353)] {
        let ev = events(name);
        let requests = flows_to(&ev, port);
        assert_eq!(requests.len(), 2, "{name}");
        for r in &requests {
            assert_eq!(r["app_proto"], "tftp", "{name}: {r}");
        }
        let transfers: Vec<_> = of_type(&ev, "flow")
            .into_iter()
            .filter(|e| e["app_proto"] == "tftp" && e["dest_port"] != port && e["src_port"] != port)
            .collect();
        assert_eq!(transfers.len(), 2, "{name}: {ev:?}");
        for t in &transfers {
            assert!(t["exfil"]["app"]["parent_flow_id"].is_u64(), "{name}: {t}");
        }
        assert_eq!(
            files(&ev),
            [
                ("boot20k.bin".into(), 20480),
                ("config10k.bin".into(), 10240)
            ],
            "{name}"
        );
    }
    let ev = events("tftp-5353.pcap");
    assert_eq!(mismatch(flows_to(&ev, 5353)[0]), Some("non_standard_port"));
}

#[test]
fn smtp_messages_and_attachment() {
    let ev = events("smtp.pcap");
    for f in flows_to(&ev, 25) {
        assert_eq!(f["app_proto"], "smtp", "{f}");
    }
    let smtp = of_type(&ev, "smtp");
    let text = serde_json::to_string(&smtp).unwrap();
    assert!(text.contains("carol") && text.contains("dave"), "{text}");
    assert!(
        files(&ev)
            .iter()
            .any(|(n, s)| n == "report8k.bin" && (8000..=8400).contains(s)),
        "{:?}",
        files(&ev)
    );
}

#[test]
fn random_bytes_are_not_guessed_from_the_port() {
    let ev = events("tcp-bulk.pcap");
    for f in flows_to(&ev, 9000) {
        assert_eq!(f["app_proto"], "failed", "{f}");
    }
}

#[test]
fn upgrades_keep_the_original_protocol() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus/public/pcaps");
    // HTTP CONNECT, then SMTP inside the tunnel; SMTP STARTTLS, then TLS.
    for (file, port, app, orig) in [
        ("zeek__http_connect-with-smtp.pcap", 8240, "smtp", "http"),
        ("zeek__tls_smtp-starttls.pcap", 25, "tls", "smtp"),
    ] {
        let (ev, _) = run(&corpus.join(file), &[]);
        let f = flows_to(&ev, port);
        assert!(!f.is_empty(), "{file}");
        assert_eq!(f[0]["app_proto"], app, "{file}: {}", f[0]);
        assert_eq!(f[0]["app_proto_orig"], orig, "{file}: {}", f[0]);
    }
}
