use proptest::prelude::*;
use serde_json::json;

use super::mime::{param, Mime};
use super::testutil::{
    assert_split_invariant, exfil, of_type, run, run_checked, run_with_gaps, segments, whole,
    with_cx, Out,
};
use super::{probe, SmtpParser};
use crate::app::{AppProto, Direction, Parser, Probe, Transport};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

/// suricata-verify smtp-bdat-multichunk: a message in two BDAT chunks, then one via DATA.
const BDAT_MULTICHUNK: &[u8] = include_bytes!("testdata/bdat-multichunk.seg");
/// Zeek smtp/bdat-multipart-chunked: multipart message with a base64 PNG in 27 BDAT chunks.
const BDAT_MULTIPART: &[u8] = include_bytes!("testdata/bdat-multipart-chunked.seg");
/// suricata-verify smtp-attachment-md5: DATA with an EICAR attachment.
const ATTACHMENT: &[u8] = include_bytes!("testdata/attachment-md5.seg");
/// Zeek tls/smtp-starttls: EHLO, STARTTLS, 220, then the TLS ClientHello.
const STARTTLS: &[u8] = include_bytes!("testdata/starttls.seg");

fn smtp(segs: &[(Direction, &[u8])]) -> Out {
    run_checked::<SmtpParser>(segs)
}

#[test]
fn probe_client_commands() {
    let p = |d: &[u8]| probe(C, d, Transport::Tcp);
    assert_eq!(p(b"EHLO client.example.com\r\n"), Probe::Match);
    assert_eq!(p(b"helo x"), Probe::Match);
    assert_eq!(p(b"LHLO lmtp\r\n"), Probe::Match);
    assert_eq!(p(b"MAIL FROM:<a@b>\r\n"), Probe::Match);
    assert_eq!(p(b""), Probe::NeedMore);
    assert_eq!(p(b"EHL"), Probe::NeedMore);
    assert_eq!(p(b"EHLO"), Probe::NeedMore);
    // FTP's first commands are not SMTP.
    assert_eq!(p(b"USER anonymous\r\n"), Probe::NoMatch);
    assert_eq!(p(b"AUTH TLS\r\n"), Probe::NoMatch);
    assert_eq!(p(b"PASV\r\n"), Probe::NoMatch);
    assert_eq!(p(b"EHLOX"), Probe::NoMatch);
    assert_eq!(p(b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
    assert_eq!(p(b"\x16\x03\x01\x02\x00"), Probe::NoMatch);
    assert_eq!(probe(C, b"EHLO x\r\n", Transport::Udp), Probe::NoMatch);
}

#[test]
fn probe_server_banners() {
    let p = |d: &[u8]| probe(S, d, Transport::Tcp);
    assert_eq!(
        p(b"220 mx.google.com ESMTP hf10si - gsmtp\r\n"),
        Probe::Match
    );
    assert_eq!(
        p(b"220 example.com ESMTP Postfix (Debian/GNU)\r\n"),
        Probe::Match
    );
    assert_eq!(p(b"220-mx1 Exim 4.96 ready\r\n"), Probe::Match);
    assert_eq!(
        p(b"220 linuxbox -- E-MailRelay V2.1a -- Service ready\r\n"),
        Probe::Match
    );
    // The bare banner is FTP's too.
    assert_eq!(p(b"220 ProFTPD 1.3.5 Server ready.\r\n"), Probe::NeedMore);
    assert_eq!(p(b"220 (vsFTPd 3.0.3)\r\n"), Probe::NeedMore);
    assert_eq!(
        p(b"220 mail.example.com FTP server ready\r\n"),
        Probe::NeedMore
    );
    assert_eq!(p(b"220 host"), Probe::NeedMore);
    assert_eq!(p(b"554 no service\r\n"), Probe::NeedMore);
    assert_eq!(p(b"22"), Probe::NeedMore);
    assert_eq!(p(b""), Probe::NeedMore);
    assert_eq!(p(b"SSH-2.0-OpenSSH_8.9\r\n"), Probe::NoMatch);
    assert_eq!(p(b"HTTP/1.1 200 OK\r\n"), Probe::NoMatch);
    assert_eq!(p(b"\x00\x00\x00\x45\xffSMB"), Probe::NoMatch);
    assert_eq!(p(b"2201"), Probe::NoMatch);
}

#[test]
fn bdat_chunks_then_data() {
    let segs = segments(BDAT_MULTICHUNK);
    let out = smtp(&segs);
    assert_eq!(out.events.len(), 2, "{:#?}", out.events);
    let (a, b) = (&out.events[0], &out.events[1]);
    assert_eq!(
        a.fields["smtp"],
        json!({"helo": "client.example.com", "mail_from": "<a@example.com>",
               "rcpt_to": ["<b@example.com>"]})
    );
    assert_eq!(a.fields["tx_id"], 0);
    assert_eq!(a.fields["email"]["status"], "PARSE_DONE");
    assert_eq!(a.fields["email"]["subject"], "first mail chunk one");
    assert_eq!(a.fields["email"]["from"], "a@example.com");
    assert_eq!(exfil(a)["bdat_chunks"], 2);
    assert_eq!(exfil(a)["message_bytes"], 79 + 44);
    assert_eq!(exfil(a)["starttls"], false);
    // The second transaction does not inherit the first one's recipients.
    assert_eq!(
        b.fields["smtp"],
        json!({"helo": "client.example.com", "mail_from": "<evil@example.com>",
               "rcpt_to": ["<victim@example.com>"]})
    );
    assert_eq!(b.fields["tx_id"], 1);
    assert_eq!(b.fields["email"]["status"], "PARSE_DONE");
    assert_eq!(b.fields["email"]["subject"], "SECOND-MAIL-MARKER");
    assert_eq!(exfil(b)["bdat_chunks"], 0);
    assert_eq!(
        exfil(b)["message_bytes"],
        "Subject: SECOND-MAIL-MARKER\r\n\r\nSECONDBODY\r\n".len()
    );
    assert_split_invariant::<SmtpParser>(&segs);
}

#[test]
fn bdat_multipart_attachment() {
    let segs = segments(BDAT_MULTIPART);
    let out = smtp(&segs);
    let tx = of_type(&out, "smtp");
    assert_eq!(tx.len(), 1);
    let e = &tx[0];
    // 26 chunks of 129 bytes and a LAST of 106 (Postfix reports 3462 after its own edits).
    assert_eq!(exfil(e)["message_bytes"], 3460);
    assert_eq!(exfil(e)["bdat_chunks"], 27);
    assert_eq!(e.fields["email"]["subject"], "Zeek Logo");
    assert_eq!(
        e.fields["email"]["to"],
        json!(["Arne Welzel <arne.welzel@corelight.com>"])
    );
    assert_eq!(e.fields["email"]["attachment"], json!(["zeek-logo.png"]));
    assert_eq!(e.fields["smtp"]["mail_from"], "<zeek@localhost>");
    // Decoded PNG size (base64 alphabet characters × 3/4).
    assert_eq!(
        exfil(e)["attachments"],
        json!([{"filename": "zeek-logo.png", "size": 2011}])
    );
    let files = of_type(&out, "fileinfo");
    assert_eq!(files.len(), 1);
    let f = files[0];
    assert_eq!(f.fields["app_proto"], "smtp");
    assert_eq!(
        f.fields["fileinfo"],
        json!({"filename": "zeek-logo.png", "size": 2011, "state": "CLOSED",
               "stored": false, "gaps": false, "tx_id": 0})
    );
    assert_eq!(exfil(f)["direction"], "upload");
    assert_split_invariant::<SmtpParser>(&segs);
}

#[test]
fn data_with_attachment() {
    let segs = segments(ATTACHMENT);
    let out = smtp(&segs);
    let e = of_type(&out, "smtp")[0];
    assert_eq!(e.fields["smtp"]["helo"], "linuxbox");
    assert_eq!(
        e.fields["smtp"]["rcpt_to"],
        json!(["<172.16.92.2@linuxbox>"])
    );
    let email = &e.fields["email"];
    assert_eq!(email["from"], "Gavin Shrubbery <gavin.shrubbery@gmail.com>");
    assert_eq!(email["to"], json!(["172.16.92.2@linuxbox"]));
    assert_eq!(email["subject"], "This is a test email");
    assert_eq!(email["message_id"], "<ZEIazHR6Rlh4UY5I@linuxbox>");
    assert_eq!(email["date"], "Fri, 21 Apr 2023 05:10:36 +0000");
    assert_eq!(email["attachment"], json!(["EICAR-Test-File"]));
    // The EICAR test string is 68 bytes; the CRLF before the boundary is not part of it.
    assert_eq!(
        exfil(e)["attachments"],
        json!([{"filename": "EICAR-Test-File", "size": 68}])
    );
    assert_eq!(exfil(e)["message_bytes"], 39 + 594 - 3);
    assert_eq!(of_type(&out, "fileinfo").len(), 1);
    assert_split_invariant::<SmtpParser>(&segs);
}

#[test]
fn starttls_upgrades_and_stops() {
    let segs = segments(STARTTLS);
    let out = smtp(&segs);
    assert_eq!(out.upgrade, Some(AppProto::Tls));
    assert_eq!(out.events.len(), 1);
    let e = &out.events[0];
    assert_eq!(e.fields["smtp"], json!({"helo": "openssl.client.net"}));
    assert!(e.fields.get("email").is_none());
    assert_eq!(exfil(e)["starttls"], true);
    assert_split_invariant::<SmtpParser>(&segs);
}

#[test]
fn starttls_when_the_banner_is_parsed_late() {
    let out = smtp(&[
        (C, b"EHLO a\r\nSTARTTLS\r\n"),
        (
            S,
            b"220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n",
        ),
    ]);
    assert_eq!(out.upgrade, Some(AppProto::Tls));
}

#[test]
fn starttls_refused_stays_smtp() {
    let out = smtp(&[
        (S, b"220 mx ESMTP\r\n"),
        (C, b"EHLO a\r\n"),
        (S, b"250 mx\r\n"),
        (C, b"STARTTLS\r\n"),
        (S, b"454 TLS not available\r\n"),
        (C, b"MAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nQUIT\r\n"),
    ]);
    assert_eq!(out.upgrade, None);
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].fields["smtp"]["mail_from"], "<x@y>");
}

/// SMTP tunnelled through HTTP CONNECT (Zeek http/connect-with-smtp), after the proxy's 200.
#[test]
fn tunnelled_session_with_received_headers() {
    let all = segments(include_bytes!("../http/testdata/connect-with-smtp.seg"));
    let segs = &all[2..];
    let out = smtp(segs);
    let e = &out.events[0];
    assert_eq!(out.events.len(), 1);
    assert_eq!(
        e.fields["smtp"],
        json!({"helo": "208.191.73.21", "mail_from": "<nhfjenna_neumann@lycos.com>",
               "rcpt_to": ["<thenightwatch@t-online.de>"]})
    );
    assert_eq!(
        e.fields["email"]["subject"],
        "Hier sind die dicken Girls hemmungloser denn je.. grcu"
    );
    assert_eq!(
        e.fields["email"]["x_mailer"],
        "Microsoft Outlook Build 10.0.2616"
    );
    assert_eq!(exfil(e)["message_bytes"], 277 + 1196 - 3);
    assert_split_invariant::<SmtpParser>(segs);
}

#[test]
fn dot_unstuffing_and_terminator() {
    let body = b"Subject: x\r\n\r\n..leading dot\r\n.\r\n";
    let out = smtp(&[
        (C, b"HELO h\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
        (S, b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
        (C, body),
        (S, b"250 queued\r\n"),
    ]);
    let e = &out.events[0];
    assert_eq!(
        exfil(e)["message_bytes"],
        "Subject: x\r\n\r\n.leading dot\r\n".len()
    );
    assert_eq!(e.fields["email"]["status"], "PARSE_DONE");
}

#[test]
fn auth_credentials_never_logged() {
    let segs: &[(Direction, &[u8])] = &[
        (S, b"220 mx ESMTP\r\n"),
        (C, b"EHLO a\r\n"),
        (S, b"250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
        (C, b"AUTH LOGIN\r\n"),
        (S, b"334 VXNlcm5hbWU6\r\n"),
        (C, b"c2VjcmV0dXNlcg==\r\n"),
        (S, b"334 UGFzc3dvcmQ6\r\n"),
        (C, b"UVVJVA==\r\n"),
        (S, b"235 2.7.0 Authentication successful\r\n"),
        (C, b"MAIL FROM:<me@x>\r\n"),
        (S, b"250 ok\r\n"),
        (C, b"RSET\r\nAUTH PLAIN AHNlY3JldHVzZXIAaHVudGVyMg==\r\n"),
        (S, b"250 ok\r\n235 ok\r\n"),
        (C, b"MAIL FROM:<two@x>\r\nQUIT\r\n"),
    ];
    let out = smtp(segs);
    let text = format!("{:?}", out.events);
    for secret in ["c2VjcmV0dXNlcg", "UVVJVA", "AHNlY3JldHVzZXIAaHVudGVyMg"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert_eq!(out.events.len(), 2);
    assert_eq!(out.events[0].fields["smtp"]["mail_from"], "<me@x>");
    assert_eq!(exfil(&out.events[0])["auth_mechanism"], "LOGIN");
    assert_eq!(exfil(&out.events[1])["auth_mechanism"], "PLAIN");
    assert_split_invariant::<SmtpParser>(segs);
}

#[test]
fn refused_data_returns_to_commands() {
    let out = smtp(&[
        (C, b"HELO h\r\nMAIL FROM:<a@b>\r\nDATA\r\n"),
        (S, b"250 ok\r\n250 ok\r\n554 no valid recipients\r\n"),
        (C, b"MAIL FROM:<second@b>\r\nQUIT\r\n"),
    ]);
    assert_eq!(out.events.len(), 2);
    assert!(out.events[0].fields.get("email").is_none());
    assert_eq!(out.events[1].fields["smtp"]["mail_from"], "<second@b>");
}

#[test]
fn truncated_message_is_logged_at_finish() {
    let out = smtp(&[
        (C, b"EHLO h\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
        (S, b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
        (C, b"Subject: cut\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Disposition: attachment; filename=\"secret.zip\"\r\n\r\nPK\x03\x04abc"),
    ]);
    let e = &of_type(&out, "smtp")[0];
    assert_eq!(e.fields["email"]["status"], "BODY_STARTED");
    let f = &of_type(&out, "fileinfo")[0];
    assert_eq!(f.fields["fileinfo"]["filename"], "secret.zip");
    assert_eq!(f.fields["fileinfo"]["size"], 7);
    assert_eq!(f.fields["fileinfo"]["state"], "TRUNCATED");
}

#[test]
fn oversized_command_line_is_dropped_and_counted() {
    let mut long = b"NOOP ".to_vec();
    long.resize(10_000, b'x');
    long.extend_from_slice(b"\r\nMAIL FROM:<a@b>\r\nQUIT\r\n");
    let out = smtp(&[(C, b"HELO h\r\n"), (C, &long)]);
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].fields["smtp"]["mail_from"], "<a@b>");
    assert_eq!(exfil(&out.events[0])["oversized_lines"], 1);
}

#[test]
fn bdat_gap_resyncs_on_the_next_command() {
    let out = with_cx(|cx| {
        let mut p = SmtpParser::default();
        p.parse(C, b"HELO h\r\nMAIL FROM:<a@b>\r\nBDAT 1000 LAST\r\n", cx);
        p.parse(C, b"Subject: s\r\n\r\n", cx);
        p.gap(C, 900, cx);
        p.parse(C, &[b'y'; 86], cx);
        p.parse(C, b"MAIL FROM:<next@b>\r\n", cx);
        p.gap(C, 5, cx);
        p.parse(C, b"garbage\r\nRCPT TO:<r@b>\r\nDATA\r\nhello\r\n", cx);
        p.gap(C, 50, cx);
        p.parse(C, b"end\r\n.\r\nQUIT\r\n", cx);
        p.finish(cx);
    });
    let ev = &out.events;
    assert_eq!(ev.len(), 2);
    let x = ev[0].exfil.as_ref().unwrap();
    assert_eq!(x["message_bytes"], 1000);
    assert_eq!(x["gaps"], true);
    assert_eq!(ev[0].fields["email"]["status"], "PARSE_DONE");
    assert_eq!(ev[1].fields["smtp"]["mail_from"], "<next@b>");
    assert_eq!(ev[1].fields["smtp"]["rcpt_to"], json!(["<r@b>"]));
    assert_eq!(ev[1].exfil.as_ref().unwrap()["message_bytes"], 7 + 50 + 5);
}

#[test]
fn mime_params_and_nesting() {
    assert_eq!(
        param(b"attachment; filename=\"a;b \\\"c\\\".txt\"", "filename").as_deref(),
        Some(&b"a;b \"c\".txt"[..])
    );
    assert_eq!(
        param(b"form-data; name=\"f\"; filename=\"x.exe\"", "name").as_deref(),
        Some(&b"f"[..])
    );
    assert_eq!(
        param(
            b"attachment; filename*=UTF-8''na%C3%AFve%20plan.pdf",
            "filename"
        )
        .as_deref(),
        Some("naïve plan.pdf".as_bytes())
    );
    assert_eq!(param(b"attachment", "filename"), None);
    let msg = b"Content-Type: multipart/mixed; boundary=outer\r\n\r\npreamble\r\n--outer\r\n\
Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: text/plain\r\n\r\n\
hi\r\n--inner--\r\n--outer\r\nContent-Type: application/pdf;\r\n name=\"r.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nQUJDREVG\r\nR0g=\r\n--outer--\r\nepilogue\r\n";
    let mut m = Mime::message();
    m.feed(msg);
    m.finish(true);
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].filename, "r.pdf");
    assert_eq!(m.attachments[0].size, 8); // "ABCDEFGH"
    assert!(m.attachments[0].complete);
}

#[test]
fn huge_header_block_is_bounded() {
    let mut m = Mime::message();
    m.feed(b"Subject: big\r\n");
    for _ in 0..2000 {
        m.feed(b"X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    m.feed(b"Content-Disposition: attachment; filename=late.bin\r\n\r\nbody\r\n");
    m.finish(true);
    assert_eq!(m.email.subject.as_deref(), Some("big"));
    assert_eq!(m.oversized, 1);
    assert!(m.attachments.is_empty());
}

#[test]
fn truncated_fixtures_never_panic() {
    for fixture in [BDAT_MULTICHUNK, BDAT_MULTIPART, ATTACHMENT, STARTTLS] {
        let segs = segments(fixture);
        for n in 0..segs.len() {
            let _ = run::<SmtpParser>(&segs[..n], whole);
            let (dir, last) = segs[n];
            let mut cut = segs[..n].to_vec();
            cut.push((dir, &last[..last.len() / 2]));
            let _ = run::<SmtpParser>(&cut, whole);
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
        const PREFIXES: [&[u8]; 4] = [b"", b"EHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\n",
            b"BDAT 10 LAST\r\n", b"DATA\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"];
        let mut segs: Vec<(Direction, &[u8])> = vec![(C, PREFIXES[prefix])];
        for (c, d) in &chunks {
            let dir = if *c { C } else { S };
            let _ = probe(dir, d, Transport::Tcp);
            segs.push((dir, d));
        }
        let _ = run::<SmtpParser>(&segs, |_, d| vec![d.len() / 3, 1, 7]);
        if let Some(g) = gap {
            let _ = run_with_gaps::<SmtpParser>(&segs, g);
        }
    }
}
