use proptest::prelude::*;
use serde_json::json;

use super::events::last_segment;
use super::{probe, HttpParser};
use crate::app::smtp::testutil::{
    assert_split_invariant, exfil, of_type, run, run_checked, run_with_gaps, segments, whole,
    with_cx, Out,
};
use crate::app::{AppProto, Direction, Parser, Probe, Transport};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

/// pcaps/http-get.pcap: curl GET of a 20 KiB file.
const GET_20K: &[u8] = include_bytes!("testdata/get-20k.seg");
/// Zeek core/nflog-http: GET / of example.net.
const NFLOG_GET: &[u8] = include_bytes!("testdata/nflog-get.seg");
/// Zeek http/http-lower-case: lower-case `http/1.1` status line, chunked, no body captured.
const LOWER_CASE: &[u8] = include_bytes!("testdata/lower-case-chunked.seg");
/// Zeek http/261 cl-negative: POST with Content-Length -1, then a smuggled GET.
const CL_NEGATIVE: &[u8] = include_bytes!("testdata/cl-negative.seg");
/// Zeek http/connect-with-smtp: CONNECT through a proxy, then SMTP in the tunnel.
const CONNECT: &[u8] = include_bytes!("testdata/connect-with-smtp.seg");
/// Zeek http/flip-content-line-orig: POST of a PNG as application/octet-stream.
const IMAGE_POST: &[u8] = include_bytes!("testdata/image-post.seg");
/// Zeek intel/filename-in-http-post: multipart upload of putty.exe (first 16 KiB of body).
const PUTTY_UPLOAD: &[u8] = include_bytes!("testdata/putty-upload.seg");
/// suricata-verify http-post-file: three JSON POSTs to a Mattermost API over IPv6.
const POST_FILE: &[u8] = include_bytes!("testdata/post-file.seg");

fn http(segs: &[(Direction, &[u8])]) -> Out {
    run_checked::<HttpParser>(segs)
}

#[test]
fn probe_requests() {
    let p = |d: &[u8]| probe(C, d, Transport::Tcp);
    assert_eq!(p(b"GET /index.html HTTP/1.1\r\nHost: x\r\n"), Probe::Match);
    assert_eq!(p(b"POST /api/v4"), Probe::Match);
    assert_eq!(
        p(b"CONNECT mailin03.sul.t-online.de:25 / HTTP/1.0\r\n"),
        Probe::Match
    );
    assert_eq!(p(b"OPTIONS * HTTP/1.1\r\n"), Probe::Match);
    assert_eq!(p(b"PROPFIND /dav/ HTTP/1.1\r\n"), Probe::Match);
    assert_eq!(p(b"GET http://example.com/ HTTP/1.0\r\n"), Probe::Match);
    assert_eq!(p(b""), Probe::NeedMore);
    assert_eq!(p(b"PO"), Probe::NeedMore);
    assert_eq!(p(b"PROPFIN"), Probe::NeedMore);
    assert_eq!(p(b"GET "), Probe::NeedMore);
    assert_eq!(p(b"GET / HTTP/2.0\r\n"), Probe::NoMatch);
    assert_eq!(p(b"GET /\r\n"), Probe::NoMatch);
    assert_eq!(p(b"GET  / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(p(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Probe::NoMatch);
    assert_eq!(p(b"get / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(p(b"SSH-2.0-OpenSSH_8.9p1\r\n"), Probe::NoMatch);
    assert_eq!(
        p(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        Probe::NoMatch
    );
    assert_eq!(p(b"\x00\x00\x00\x85\xffSMBr"), Probe::NoMatch);
    assert_eq!(p(b"EHLO client\r\n"), Probe::NoMatch);
    assert_eq!(
        probe(C, b"GET / HTTP/1.1\r\n", Transport::Udp),
        Probe::NoMatch
    );
}

#[test]
fn probe_responses() {
    let p = |d: &[u8]| probe(S, d, Transport::Tcp);
    assert_eq!(p(b"HTTP/1.1 200 OK\r\n"), Probe::Match);
    assert_eq!(p(b"HTTP/1.0 200"), Probe::Match);
    assert_eq!(p(b"http/1.1 200 OK\r\n"), Probe::Match);
    assert_eq!(p(b"HTTP/1.1"), Probe::Match);
    assert_eq!(p(b"HTTP/1"), Probe::NeedMore);
    assert_eq!(p(b"HT"), Probe::NeedMore);
    assert_eq!(p(b"HTTP/2 200"), Probe::NoMatch);
    assert_eq!(p(b"HTTP/1.x 200"), Probe::NoMatch);
    assert_eq!(p(b"SSH-2.0-OpenSSH\r\n"), Probe::NoMatch);
    assert_eq!(p(b"\x16\x03\x03\x00\x3d\x02"), Probe::NoMatch);
    assert_eq!(p(b"220 mail ESMTP\r\n"), Probe::NoMatch);
}

#[test]
fn get_download() {
    let segs = segments(GET_20K);
    let out = http(&segs);
    assert_eq!(out.events.len(), 2, "{:#?}", out.events);
    let e = &out.events[0];
    assert_eq!(
        e.fields["http"],
        json!({"hostname": "127.0.0.1", "http_port": 8080, "url": "/file20k.bin",
               "http_user_agent": "curl/7.88.1", "http_content_type": "application/octet-stream",
               "http_method": "GET", "protocol": "HTTP/1.1", "status": 200, "length": 20480})
    );
    assert_eq!(e.fields["tx_id"], 0);
    assert_eq!(
        exfil(e),
        &json!({"request_body_bytes": 0, "response_body_bytes": 20480, "url_length": 12})
    );
    let f = &out.events[1];
    assert_eq!(f.event_type, "fileinfo");
    assert_eq!(f.fields["app_proto"], "http");
    assert_eq!(
        f.fields["fileinfo"],
        json!({"filename": "file20k.bin", "size": 20480, "state": "CLOSED",
               "stored": false, "gaps": false, "tx_id": 0})
    );
    assert_eq!(exfil(f), &json!({"direction": "download"}));
    assert_split_invariant::<HttpParser>(&segs);
}

#[test]
fn get_root_and_lower_case_status_line() {
    let out = http(&segments(NFLOG_GET));
    let e = &of_type(&out, "http")[0];
    assert_eq!(e.fields["http"]["hostname"], "www.example.net");
    assert_eq!(e.fields["http"]["length"], 1270);
    assert_eq!(e.fields["http"]["http_content_type"], "text/html");
    assert_eq!(
        of_type(&out, "fileinfo")[0].fields["fileinfo"]["filename"],
        "/"
    );
    assert_split_invariant::<HttpParser>(&segments(NFLOG_GET));

    let segs = segments(LOWER_CASE);
    let out = http(&segs);
    assert_eq!(out.events.len(), 1);
    let h = &out.events[0].fields["http"];
    assert_eq!(h["status"], 200);
    assert_eq!(h["url"], "/index.html");
    assert_eq!(h["length"], 0);
    assert_split_invariant::<HttpParser>(&segs);
}

#[test]
fn negative_content_length_means_no_body() {
    let segs = segments(CL_NEGATIVE);
    let out = http(&segs);
    assert_eq!(out.events.len(), 2);
    assert_eq!(out.events[0].fields["http"]["http_method"], "POST");
    assert_eq!(
        exfil(&out.events[0])["anomalies"],
        json!(["bad_content_length"])
    );
    assert_eq!(out.events[1].fields["http"]["url"], "/smuggled-cl-negative");
    assert_eq!(out.events[1].fields["http"]["hostname"], "target");
    assert_split_invariant::<HttpParser>(&segs);
}

#[test]
fn connect_tunnel_hands_over() {
    let segs = segments(CONNECT);
    let out = http(&segs);
    assert_eq!(out.upgrade, Some(AppProto::Unknown));
    assert_eq!(out.events.len(), 1);
    let e = &out.events[0];
    assert_eq!(
        e.fields["http"],
        json!({"hostname": "mailin03.sul.t-online.de", "http_port": 25,
               "url": "mailin03.sul.t-online.de:25 /", "http_method": "CONNECT",
               "protocol": "HTTP/1.0", "status": 200, "length": 0})
    );
    assert_eq!(exfil(e)["anomalies"], json!(["invalid_header"]));
    assert_split_invariant::<HttpParser>(&segs);
}

#[test]
fn octet_stream_post_counts_upload_volume() {
    let segs = segments(IMAGE_POST);
    let out = http(&segs);
    let e = &of_type(&out, "http")[0];
    assert_eq!(exfil(e)["request_body_bytes"], 5816);
    assert_eq!(exfil(e)["response_body_bytes"], 37);
    assert_eq!(
        exfil(e)["request_content_type"],
        "application/octet-stream."
    );
    assert_eq!(e.fields["http"]["http_content_type"], "application/json");
    // A POST without a multipart file name is volume, not a named upload.
    let files = of_type(&out, "fileinfo");
    assert_eq!(files.len(), 1);
    assert_eq!(exfil(files[0])["direction"], "download");
    assert_split_invariant::<HttpParser>(&segs);
}

#[test]
fn multipart_upload_names_the_file() {
    let segs = segments(PUTTY_UPLOAD);
    let out = http(&segs);
    let e = &of_type(&out, "http")[0];
    assert_eq!(e.fields["http"]["url"], "/upload");
    assert!(e.fields["http"].get("status").is_none());
    assert_eq!(exfil(e)["request_body_bytes"], 16384);
    let f = &of_type(&out, "fileinfo")[0];
    assert_eq!(
        f.fields["fileinfo"],
        json!({"filename": "putty.exe", "size": 16222, "state": "TRUNCATED",
               "stored": false, "gaps": false, "tx_id": 0})
    );
    assert_eq!(exfil(f)["direction"], "upload");
    assert_split_invariant::<HttpParser>(&segs);
}

#[test]
fn keep_alive_api_calls_pair_in_order() {
    let segs = segments(POST_FILE);
    let out = http(&segs);
    let txs = of_type(&out, "http");
    assert_eq!(txs.len(), 3);
    let got: Vec<_> = txs
        .iter()
        .map(|e| {
            (
                e.fields["http"]["status"].clone(),
                exfil(e)["request_body_bytes"].clone(),
                exfil(e)["response_body_bytes"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (json!(200), json!(39), json!(715)),
            (json!(201), json!(170), json!(245)),
            (json!(200), json!(68), json!(264)),
        ]
    );
    assert_eq!(txs[0].fields["http"]["hostname"], "localhost");
    assert_eq!(txs[2].fields["tx_id"], 2);
    let names: Vec<_> = of_type(&out, "fileinfo")
        .iter()
        .map(|f| f.fields["fileinfo"]["filename"].clone())
        .collect();
    assert_eq!(names, ["login", "uploads", "is8j4b6s7i839eo38axwmx5pnr"]);
    assert_split_invariant::<HttpParser>(&segs);
}

#[test]
fn pipelining_head_304_chunked_and_interim() {
    let segs: &[(Direction, &[u8])] = &[
        (
            C,
            b"HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b.txt?x=1 HTTP/1.1\r\nHost: h\r\n\r\n\
GET /c HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"e\"\r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n",
        ),
        (
            C,
            b"PUT /dav/secrets.tar HTTP/1.1\r\nHost: h:8443\r\nExpect: 100-continue\r\n\
Content-Length: 4\r\n\r\n",
        ),
        (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (C, b"DATA"),
        (S, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
    ];
    let out = http(segs);
    let txs = of_type(&out, "http");
    let h = |i: usize| &txs[i].fields["http"];
    assert_eq!(txs.len(), 4);
    assert_eq!(
        (h(0)["http_method"].clone(), h(0)["length"].clone()),
        (json!("HEAD"), json!(0))
    );
    assert_eq!(h(1)["length"], 11);
    assert_eq!(h(1)["http_content_type"], "text/plain");
    assert_eq!(h(2)["status"], 304);
    assert_eq!(h(3)["status"], 201);
    assert_eq!(h(3)["http_port"], 8443);
    assert_eq!(exfil(txs[3])["request_body_bytes"], 4);
    let files: Vec<_> = of_type(&out, "fileinfo")
        .iter()
        .map(|f| {
            (
                f.fields["fileinfo"]["filename"].clone(),
                f.fields["fileinfo"]["size"].clone(),
                exfil(f)["direction"].clone(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            (json!("b.txt"), json!(11), json!("download")),
            (json!("secrets.tar"), json!(4), json!("upload")),
        ]
    );
    assert_split_invariant::<HttpParser>(segs);
}

#[test]
fn chunked_multipart_upload_through_a_proxy() {
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"db.sql\"\r\n\
Content-Type: application/sql\r\n\r\nSELECT 1;\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"g\"; filename=\"\"\r\n\r\n\r\n--XyZ--\r\n";
    let mut req = b"POST http://Upload.Example:8080/in/?k=v HTTP/1.1\r\n\
Content-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for part in body.chunks(40) {
        req.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        req.extend_from_slice(part);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let segs: &[(Direction, &[u8])] = &[(C, &req), (S, b"HTTP/1.1 204 No Content\r\n\r\n")];
    let out = http(segs);
    let e = of_type(&out, "http")[0];
    assert_eq!(e.fields["http"]["hostname"], "Upload.Example");
    assert_eq!(e.fields["http"]["http_port"], 8080);
    assert_eq!(exfil(e)["request_body_bytes"], body.len());
    let files = of_type(&out, "fileinfo");
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0].fields["fileinfo"],
        json!({"filename": "db.sql", "size": 9, "state": "CLOSED", "stored": false,
               "gaps": false, "tx_id": 0})
    );
    assert_split_invariant::<HttpParser>(segs);
}

#[test]
fn body_until_close_and_response_without_request() {
    let out = http(&[(
        S,
        b"HTTP/1.0 200 OK\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04 zipped data",
    )]);
    let e = of_type(&out, "http")[0];
    assert_eq!(e.fields["http"]["length"], 16);
    assert_eq!(e.fields["http"]["protocol"], "HTTP/1.0");
    // No URL, so no file name to log.
    assert!(of_type(&out, "fileinfo").is_empty());
}

#[test]
fn switching_protocols_hands_over() {
    let out = http(&[
        (
            C,
            b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        ),
        (C, b"\x81\x85abcd1234"),
    ]);
    assert_eq!(out.upgrade, Some(AppProto::Unknown));
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].fields["http"]["status"], 101);
}

#[test]
fn gaps_resync() {
    let mut out = with_cx(|cx| {
        let mut p = HttpParser::default();
        p.parse(
            C,
            b"POST /up HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789",
            cx,
        );
        p.gap(C, 80, cx);
        p.parse(C, b"0123456789GET /next HTTP/1.1\r\n\r\n", cx);
        p.parse(
            S,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123",
            cx,
        );
        p.gap(S, 1000, cx);
        p.parse(
            S,
            b"tail of something\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            cx,
        );
        p.gap(C, 7, cx);
        p.parse(C, b"rbage\r\nGET /third HTTP/1.1\r\nHost: x\r\n", cx);
        p.finish(cx);
    });
    let ev = &mut out.events;
    let files: Vec<_> = ev.iter().filter(|e| e.event_type == "fileinfo").collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].fields["fileinfo"]["gaps"], true);
    assert_eq!(files[0].fields["fileinfo"]["state"], "TRUNCATED");
    ev.retain(|e| e.event_type == "http");
    assert_eq!(ev.len(), 3, "{ev:#?}");
    let x = ev[0].exfil.as_ref().unwrap();
    assert_eq!(x["request_body_bytes"], 100);
    assert_eq!(x["response_body_bytes"], 16);
    assert_eq!(ev[1].fields["http"]["url"], "/next");
    assert_eq!(ev[1].fields["http"]["status"], 404);
    assert_eq!(ev[2].fields["http"]["url"], "/third");
    assert_eq!(ev[2].fields["http"]["hostname"], "x");
}

#[test]
fn oversized_headers_are_bounded() {
    let mut req = b"GET /big HTTP/1.1\r\nHost: h\r\n".to_vec();
    for i in 0..2000 {
        req.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "p".repeat(40)).as_bytes());
    }
    req.extend_from_slice(b"User-Agent: late\r\nX-Long: ");
    req.extend(std::iter::repeat_n(b'L', 100_000));
    req.extend_from_slice(b"\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
    let out = http(&[(C, &req)]);
    let txs = of_type(&out, "http");
    assert_eq!(txs.len(), 2);
    assert_eq!(exfil(txs[0])["anomalies"], json!(["oversized_headers"]));
    assert!(txs[0].fields["http"].get("http_user_agent").is_none());
    assert_eq!(txs[1].fields["http"]["url"], "/after");
}

#[test]
fn url_file_names() {
    assert_eq!(last_segment("/a/b/report.pdf?dl=1#x"), "report.pdf");
    assert_eq!(last_segment("/"), "/");
    assert_eq!(last_segment("/dir/"), "/dir/");
    assert_eq!(last_segment("http://h:1/x/y.bin"), "y.bin");
    assert_eq!(last_segment("HTTPS://h"), "/");
    assert_eq!(last_segment("*"), "*");
}

#[test]
fn truncated_fixtures_never_panic() {
    for fixture in [
        GET_20K,
        NFLOG_GET,
        LOWER_CASE,
        CL_NEGATIVE,
        CONNECT,
        IMAGE_POST,
        POST_FILE,
    ] {
        let segs = segments(fixture);
        for n in 0..segs.len() {
            let (dir, last) = segs[n];
            let mut cut = segs[..n].to_vec();
            for len in [1, last.len() / 3, last.len() / 2, last.len() - 1] {
                cut.push((dir, &last[..len.min(last.len())]));
                let _ = run::<HttpParser>(&cut, whole);
                cut.pop();
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..40),
        prefix in 0usize..4,
        gap in proptest::option::of(0u64..u64::MAX),
    ) {
        const PREFIXES: [&[u8]; 4] = [b"", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"PUT /x HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 99\r\n\r\n--b\r\n"];
        let mut segs: Vec<(Direction, &[u8])> = vec![(C, PREFIXES[prefix])];
        for (c, d) in &chunks {
            let dir = if *c { C } else { S };
            let _ = probe(dir, d, Transport::Tcp);
            segs.push((dir, d));
        }
        let _ = run::<HttpParser>(&segs, |_, d| vec![d.len() / 3, 1, 7]);
        if let Some(g) = gap {
            let _ = run_with_gaps::<HttpParser>(&segs, g);
        }
    }
}
