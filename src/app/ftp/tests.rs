//! FTP control and data parsers on real exchanges (copied from pcaps/ftp-*.pcap and the
//! shared corpus), replayed captures, chunking invariance and hostile input.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::app::harness::Harness;
use crate::app::schema_check::assert_schema;
use crate::app::{AppEvent, AppProto, Cx, Expectation, Parser, TransferCommand, TransferLog};
use crate::decode::{addr_from_v4, Addr};
use Direction::{ToClient as C, ToServer as S};

const TS: u64 = 1_700_000_000_000_000;
const FLOW: u64 = 77;

type Seg<'a> = (Direction, &'a [u8]);

/// pcaps/ftp-passive.pcap, first control connection (vsftpd, curl): EPSV + RETR.
const PASSIVE_RETR: &[Seg] = &[
    (C, b"220 exfil-sensor test FTP server\r\n"),
    (S, b"USER anonymous\r\n"),
    (C, b"331 Please specify the password.\r\n"),
    (S, b"PASS ftp@example.com\r\n"),
    (C, b"230 Login successful.\r\n"),
    (S, b"PWD\r\n"),
    (C, b"257 \"/\" is the current directory\r\n"),
    (S, b"EPSV\r\n"),
    (C, b"229 Entering Extended Passive Mode (|||30072|)\r\n"),
    (S, b"TYPE I\r\n"),
    (C, b"200 Switching to Binary mode.\r\n"),
    (S, b"SIZE file50k.bin\r\n"),
    (C, b"213 51200\r\n"),
    (S, b"RETR file50k.bin\r\n"),
    (
        C,
        b"150 Opening BINARY mode data connection for file50k.bin (51200 bytes).\r\n",
    ),
    (C, b"226 Transfer complete.\r\n"),
    (S, b"QUIT\r\n"),
    (C, b"221 Goodbye.\r\n"),
];

/// pcaps/ftp-passive.pcap, second control connection: PASV (227) + STOR.
const PASSIVE_STOR: &[Seg] = &[
    (C, b"220 exfil-sensor test FTP server\r\n"),
    (S, b"USER anonymous\r\n"),
    (C, b"331 Please specify the password.\r\n"),
    (S, b"PASS ftp@example.com\r\n"),
    (C, b"230 Login successful.\r\n"),
    (S, b"PWD\r\n"),
    (C, b"257 \"/\" is the current directory\r\n"),
    (S, b"CWD upload\r\n"),
    (C, b"250 Directory successfully changed.\r\n"),
    (S, b"PASV\r\n"),
    (C, b"227 Entering Passive Mode (127,0,0,1,117,126).\r\n"),
    (S, b"TYPE I\r\n"),
    (C, b"200 Switching to Binary mode.\r\n"),
    (S, b"STOR up40k.bin\r\n"),
    (C, b"150 Ok to send data.\r\n226 Transfer complete.\r\n"),
    (S, b"QUIT\r\n"),
    (C, b"221 Goodbye.\r\n"),
];

/// pcaps/ftp-active.pcap, first control connection: PORT + RETR.
const ACTIVE_PORT: &[Seg] = &[
    (C, b"220 exfil-sensor test FTP server\r\n"),
    (S, b"USER anonymous\r\n"),
    (C, b"331 Please specify the password.\r\n"),
    (S, b"PASS ftp@example.com\r\n"),
    (C, b"230 Login successful.\r\n"),
    (S, b"PWD\r\n"),
    (C, b"257 \"/\" is the current directory\r\n"),
    (S, b"PORT 127,0,0,1,157,187\r\n"),
    (C, b"200 PORT command successful. Consider using PASV.\r\n"),
    (S, b"TYPE I\r\n"),
    (C, b"200 Switching to Binary mode.\r\n"),
    (S, b"SIZE file50k.bin\r\n"),
    (C, b"213 51200\r\n"),
    (S, b"RETR file50k.bin\r\n"),
    (
        C,
        b"150 Opening BINARY mode data connection for file50k.bin (51200 bytes).\r\n",
    ),
    (C, b"226 Transfer complete.\r\n"),
    (S, b"QUIT\r\n"),
    (C, b"221 Goodbye.\r\n"),
];

/// sv__ftp-epsv.pcap (ProFTPD): multi-line FEAT with bare LFs, LIST, STOR, errors.
const PROFTPD: &[Seg] = &[
    (
        C,
        b"220 ProFTPD 1.3.0a Server (ProFTPD Anonymous Server) [192.168.1.231]\r\n",
    ),
    (S, b"USER ftp\r\n"),
    (
        C,
        b"331 Anonymous login ok, send your complete email address as your password.\r\n",
    ),
    (S, b"PASS ftp\r\n"),
    (C, b"230 Anonymous access granted, restrictions apply.\r\n"),
    (S, b"SYST\r\n"),
    (C, b"215 UNIX Type: L8\r\n"),
    (S, b"FEAT\r\n"),
    (
        C,
        b"211-Features:\n MDTM\n REST STREAM\n SIZE\r\n211 End\r\n",
    ),
    (S, b"EPSV\r\n"),
    (C, b"229 Entering Extended Passive Mode (|||58612|)\r\n"),
    (S, b"LIST\r\n"),
    (
        C,
        b"150 Opening ASCII mode data connection for file list\r\n226 Transfer complete.\r\n",
    ),
    (S, b"CWD uploads\r\n"),
    (C, b"250 CWD command successful\r\n"),
    (S, b"EPSV\r\n"),
    (C, b"229 Entering Extended Passive Mode (|||36986|)\r\n"),
    (S, b"STOR README\r\n"),
    (
        C,
        b"150 Opening BINARY mode data connection for README\r\n226 Transfer complete.\r\n",
    ),
    (S, b"MKD testdir\r\n"),
    (C, b"550 testdir: File exists\r\n"),
    (S, b"SITE CHMOD 777 resume.doc\r\n"),
    (C, b"550 resume.doc: Permission denied\r\n"),
    (S, b"QUIT\r\n"),
    (C, b"221 Goodbye.\r\n"),
];

/// ndpi__ftp.pcap (vsFTPd on the Internet): 227 with a public address, an unknown command.
const VSFTPD_PASV: &[Seg] = &[
    (C, b"220 (vsFTPd 3.0.3)\r\n"),
    (S, b"USER anonymous\r\n"),
    (C, b"331 Please specify the password.\r\n"),
    (S, b"PASS NcFTP@\r\n"),
    (C, b"230 Login successful.\r\n"),
    (S, b"CLNT NcFTP 3.2.6 macosx10.13\r\n"),
    (C, b"500 Unknown command.\r\n"),
    (S, b"PASV\r\n"),
    (C, b"227 Entering Passive Mode (90,130,70,73,95,203).\r\n"),
    (S, b"RETR 1MB.zip\r\n"),
    (C, b"150 Opening BINARY mode data connection for 1MB.zip (1048576 bytes).\r\n226 Transfer complete.\r\n"),
    (S, b"QUIT\r\n"),
    (C, b"221 Goodbye.\r\n"),
];

/// ndpi__ftp-start-tls.pcap: AUTH TLS, then a TLS ClientHello on the control connection.
const AUTH_TLS: &[Seg] = &[
    (
        C,
        b"220 \"Authorized users only. All activity may be monitored and reported\"\r\n",
    ),
    (S, b"AUTH TLS\r\n"),
    (C, b"234 Proceed with negotiation.\r\n"),
    (
        S,
        b"\x16\x03\x03\x00\x91\x01\x00\x00\x8d\x03\x03Rq\x02\xec\xdf\xee\x9d\xc1DT`Tk\xfft\r\n",
    ),
    (S, b"PASV\r\n"),
];

/// sv__ftp-bounce.pcap, second session: PORT pointing at a third host's port 80.
const BOUNCE: &[Seg] = &[
    (C, b"220 Operation successful\r\n"),
    (S, b"USER anonymous\r\n"),
    (C, b"230 Operation successful\r\n"),
    (S, b"PORT 2,2,2,3,0,80\r\n"),
    (C, b"200 Operation successful\r\n"),
    (S, b"QUIT\r\n"),
    (C, b"221 Operation successful\r\n"),
];

/// STOU as vsftpd answers it (written for these tests): the server names the file in its
/// 150 reply, per RFC 1123 4.1.2.9.
const VSFTPD_STOU: &[Seg] = &[
    (C, b"220 (vsFTPd 3.0.3)\r\n"),
    (S, b"USER anonymous\r\n"),
    (C, b"331 Please specify the password.\r\n"),
    (S, b"PASS ftp@example.com\r\n"),
    (C, b"230 Login successful.\r\n"),
    (S, b"EPSV\r\n"),
    (C, b"229 Entering Extended Passive Mode (|||30072|)\r\n"),
    (S, b"STOU\r\n"),
    (C, b"150 FILE: report.7z\r\n"),
    (C, b"226 Transfer complete.\r\n"),
    (S, b"QUIT\r\n"),
    (C, b"221 Goodbye.\r\n"),
];

fn v4(a: [u8; 4]) -> Addr {
    addr_from_v4(a)
}

fn v6(s: &str) -> Addr {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

/// What a flow's parser writes to, plus the flow's identity.
type World = Harness;

fn world(client: (Addr, u16), server: (Addr, u16)) -> World {
    Harness::new(Transport::Tcp, client, server)
        .at(TS)
        .flow(FLOW)
}

fn local() -> World {
    world((v4([127, 0, 0, 1]), 50530), (v4([127, 0, 0, 1]), 2121))
}

/// Feed every segment cut at offset `cut` (0 = whole), then finish.
fn run_cut(w: &mut World, segs: &[Seg], cut: usize) {
    let mut p = FtpParser::default();
    for (dir, seg) in segs {
        let (a, b) = seg.split_at(cut.min(seg.len()));
        for part in [a, b] {
            if !part.is_empty() {
                p.parse(*dir, part, &mut w.cx());
            }
        }
    }
    p.finish(&mut w.cx());
}

fn run(segs: &[Seg]) -> World {
    let mut w = local();
    run_cut(&mut w, segs, 0);
    w
}

fn ftp(w: &World) -> Vec<&Value> {
    w.events.iter().map(|e| &e.fields["ftp"]).collect()
}

fn by_command<'a>(w: &'a World, cmd: &str) -> Vec<&'a Value> {
    ftp(w).into_iter().filter(|f| f["command"] == cmd).collect()
}

#[test]
fn passive_retr_transactions() {
    let w = run(PASSIVE_RETR);
    let f = ftp(&w);
    assert_eq!(f.len(), 9, "banner + 8 commands: {f:#?}");
    assert_eq!(
        *f[0],
        json!({"reply": ["exfil-sensor test FTP server"], "completion_code": ["220"], "reply_received": "yes"})
    );
    assert_eq!(
        *f[1],
        json!({"command": "USER", "command_data": "anonymous", "reply": ["Please specify the password."],
               "completion_code": ["331"], "reply_received": "yes"})
    );
    assert_eq!(f[2]["command"], "PASS");
    assert_eq!(f[2]["command_data"], "xxxxx");
    assert!(!format!("{:?}", w.events).contains("example.com"));
    assert_eq!(
        *by_command(&w, "EPSV")[0],
        json!({"command": "EPSV", "reply": ["Entering Extended Passive Mode (|||30072|)"],
               "completion_code": ["229"], "dynamic_port": 30072, "mode": "passive", "reply_received": "yes"})
    );
    assert_eq!(
        *by_command(&w, "RETR")[0],
        json!({"command": "RETR", "command_data": "file50k.bin",
               "reply": ["Opening BINARY mode data connection for file50k.bin (51200 bytes).", "Transfer complete."],
               "completion_code": ["150", "226"], "reply_received": "yes"})
    );
    assert_eq!(
        w.expect,
        vec![Expectation {
            proto: 6,
            src: Some(w.client.0),
            dst: w.server.0,
            dport: 30072,
            app: AppProto::FtpData,
            parent_flow_id: FLOW,
            ts_us: TS,
            filename: None,
            upload: None,
        }]
    );
    let t = w.transfers.latest(FLOW).unwrap();
    assert_eq!(
        (t.command.as_str(), t.filename.as_deref()),
        ("RETR", Some("file50k.bin"))
    );
    // The session summary rides on the last event (QUIT).
    let last = w.events.last().unwrap();
    assert_eq!(last.fields["ftp"]["command"], "QUIT");
    assert_eq!(
        last.exfil.as_deref().cloned(),
        Some(
            json!({"session": {"commands": 8, "uploads": 0, "downloads": 1, "listings": 0,
            "files": [{"command": "RETR", "filename": "file50k.bin"}], "failed_logins": 0,
            "truncated_lines": 0, "junk_lines": 0, "tls": false, "user": "anonymous"}})
        )
    );
    assert!(w.events[..w.events.len() - 1]
        .iter()
        .all(|e| e.exfil.is_none()));
    assert_eq!(w.upgrade, None);
    assert_schema(&w.events);
}

#[test]
fn passive_227_and_stor() {
    let w = run(PASSIVE_STOR);
    let pasv = by_command(&w, "PASV")[0];
    assert_eq!(pasv["dynamic_port"], 30078);
    assert_eq!(pasv["mode"], "passive");
    assert_eq!(w.expect.len(), 1);
    assert_eq!(
        (w.expect[0].src, w.expect[0].dst, w.expect[0].dport),
        (Some(w.client.0), v4([127, 0, 0, 1]), 30078)
    );
    let t = w.transfers.latest(FLOW).unwrap();
    assert_eq!(
        (t.command.as_str(), t.filename.as_deref()),
        ("STOR", Some("up40k.bin"))
    );
    assert_eq!(
        w.events.last().unwrap().exfil.as_ref().unwrap()["session"]["uploads"],
        1
    );
    assert_schema(&w.events);
}

#[test]
fn active_port_announces_server_to_client() {
    let mut w = world((v4([127, 0, 0, 1]), 50534), (v4([127, 0, 0, 1]), 2121));
    run_cut(&mut w, ACTIVE_PORT, 0);
    let port = by_command(&w, "PORT")[0];
    assert_eq!(
        *port,
        json!({"command": "PORT", "command_data": "127,0,0,1,157,187",
               "reply": ["PORT command successful. Consider using PASV."], "completion_code": ["200"],
               "dynamic_port": 40379, "mode": "active", "reply_received": "yes"})
    );
    assert_eq!(w.expect.len(), 1);
    let e = &w.expect[0];
    assert_eq!(
        (e.src, e.dst, e.dport, e.app),
        (Some(w.server.0), w.client.0, 40379, AppProto::FtpData)
    );
    assert_schema(&w.events);
}

#[test]
fn bounce_port_points_elsewhere() {
    let mut w = world((v4([1, 1, 1, 2]), 58316), (v4([2, 2, 2, 1]), 21));
    run_cut(&mut w, BOUNCE, 0);
    let port = by_command(&w, "PORT")[0];
    assert_eq!(
        (&port["dynamic_port"], &port["mode"]),
        (&json!(80), &json!("active"))
    );
    assert_eq!(by_command(&w, "QUIT")[0]["reply_received"], "yes");
    // The announced third host first, then the control client as a NAT fallback.
    let dsts: Vec<_> = w.expect.iter().map(|e| (e.src, e.dst, e.dport)).collect();
    assert_eq!(
        dsts,
        vec![
            (Some(w.server.0), v4([2, 2, 2, 3]), 80),
            (Some(w.server.0), w.client.0, 80)
        ]
    );
}

#[test]
fn nat_227_also_expects_the_server_address() {
    let mut w = world((v4([192, 168, 1, 212]), 50694), (v4([10, 0, 0, 5]), 21));
    run_cut(&mut w, VSFTPD_PASV, 0);
    let dsts: Vec<_> = w.expect.iter().map(|e| (e.dst, e.dport)).collect();
    assert_eq!(
        dsts,
        vec![(v4([90, 130, 70, 73]), 24523), (w.server.0, 24523)]
    );
    let clnt = by_command(&w, "CLNT")[0];
    assert_eq!(clnt["command_data"], "NcFTP 3.2.6 macosx10.13");
    assert_eq!(clnt["completion_code"], json!(["500"]));
}

#[test]
fn multiline_replies_and_errors() {
    let w = run(PROFTPD);
    let feat = by_command(&w, "FEAT")[0];
    assert_eq!(
        *feat,
        json!({"command": "FEAT", "reply": ["Features:", " MDTM", " REST STREAM", " SIZE", "End"],
               "completion_code": ["211", "211"], "reply_received": "yes"})
    );
    assert_eq!(by_command(&w, "MKD")[0]["completion_code"], json!(["550"]));
    assert_eq!(
        by_command(&w, "SITE")[0]["command_data"],
        "CHMOD 777 resume.doc"
    );
    let s = &w.events.last().unwrap().exfil.as_ref().unwrap()["session"];
    assert_eq!((&s["listings"], &s["uploads"]), (&json!(1), &json!(1)));
    assert_eq!(
        w.expect.iter().map(|e| e.dport).collect::<Vec<_>>(),
        [58612, 36986]
    );
    assert_schema(&w.events);
}

#[test]
fn netbsd_banner_multiline_with_inner_dash_lines() {
    let banner: &[u8] = b"230-\r\n    The NetBSD Project FTP Server\r\n230-\r\n    EXPORT NOTICE\r\n230 Guest login ok, access restrictions apply.\r\n";
    let w = run(&[
        (
            C,
            b"220 ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.\r\n",
        ),
        (S, b"USER anonymous\r\n"),
        (C, b"331 Guest login ok, type your name as password.\r\n"),
        (S, b"PASS test\r\n"),
        (C, banner),
    ]);
    let pass = by_command(&w, "PASS")[0];
    assert_eq!(pass["completion_code"], json!(["230", "230", "230"]));
    assert_eq!(
        pass["reply"][4],
        "Guest login ok, access restrictions apply."
    );
    assert_eq!(pass["reply_received"], "yes");
}

#[test]
fn ipv6_eprt_and_epsv() {
    let client = v6("2001:470:1f11:81f:c999:d94:aa7c:2e3e");
    let server = v6("2001:470:4867:99::21");
    let mut w = world((client, 49185), (server, 21));
    // zeek__ftp_ipv6.pcap
    run_cut(
        &mut w,
        &[
            (
                C,
                b"220 ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.\r\n",
            ),
            (S, b"EPSV\r\n"),
            (C, b"229 Entering Extended Passive Mode (|||57086|)\r\n"),
            (
                S,
                b"EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|\r\n",
            ),
            (C, b"200 EPRT command successful.\r\n"),
        ],
        0,
    );
    let got: Vec<_> = w.expect.iter().map(|e| (e.src, e.dst, e.dport)).collect();
    assert_eq!(
        got,
        vec![(Some(client), server, 57086), (Some(server), client, 49189)]
    );
    assert_eq!(by_command(&w, "EPRT")[0]["mode"], "active");
}

#[test]
fn auth_tls_upgrades_and_stops() {
    let w = run(AUTH_TLS);
    assert_eq!(w.upgrade, Some(AppProto::Tls));
    let f = ftp(&w);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(f[1]["command"], "AUTH");
    assert_eq!(f[1]["completion_code"], json!(["234"]));
    assert_eq!(w.events[1].exfil.as_ref().unwrap()["session"]["tls"], true);
    assert!(w.expect.is_empty());
}

#[test]
fn auth_refused_does_not_upgrade() {
    let w = run(&[
        (C, b"220 FTP\r\n"),
        (S, b"AUTH TLS\r\n"),
        (C, b"504 Not implemented\r\n"),
        (S, b"USER x\r\n"),
        (C, b"331 ok\r\n"),
    ]);
    assert_eq!(w.upgrade, None);
    assert_eq!(by_command(&w, "USER").len(), 1);
}

#[test]
fn every_cut_gives_the_same_events() {
    for segs in [
        PASSIVE_RETR,
        PASSIVE_STOR,
        ACTIVE_PORT,
        PROFTPD,
        VSFTPD_PASV,
        AUTH_TLS,
        BOUNCE,
        VSFTPD_STOU,
    ] {
        let want = run(segs);
        let longest = segs.iter().map(|s| s.1.len()).max().unwrap();
        for cut in 1..longest {
            let mut w = local();
            run_cut(&mut w, segs, cut);
            assert_eq!(w.events, want.events, "cut at {cut}");
            assert_eq!(w.expect, want.expect, "cut at {cut}");
            assert_eq!(w.upgrade, want.upgrade, "cut at {cut}");
        }
        // One byte at a time.
        let mut w = local();
        let mut p = FtpParser::default();
        for (dir, seg) in segs {
            for b in seg.chunks(1) {
                p.parse(*dir, b, &mut w.cx());
            }
        }
        p.finish(&mut w.cx());
        assert_eq!(w.events, want.events);
    }
}

#[test]
fn unanswered_and_truncated() {
    // The flow ends mid-transfer: RETR has its 150 but no final reply.
    let w = run(&[
        (C, b"220 FTP\r\n"),
        (S, b"RETR big.iso\r\nNOOP\r\n"),
        (C, b"150 Opening\r\n"),
    ]);
    let f = ftp(&w);
    assert_eq!(
        *f[1],
        json!({"command": "RETR", "command_data": "big.iso", "reply": ["Opening"],
               "completion_code": ["150"], "reply_received": "no"})
    );
    assert_eq!(*f[2], json!({"command": "NOOP", "reply_received": "no"}));

    // A huge line is cut, flagged, and the next line still parses.
    let mut long = b"STOR ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 10_000));
    long.extend_from_slice(b"\r\nQUIT\r\n");
    let w = run(&[(S, &long), (C, b"550 no\r\n221 bye\r\n")]);
    let f = ftp(&w);
    assert_eq!(f[0]["command_truncated"], true);
    assert_eq!(
        f[0]["command_data"].as_str().unwrap().len(),
        lines::MAX_LINE - 5
    );
    assert_eq!(f[1]["command"], "QUIT");
    assert_eq!(f[1]["reply"], json!(["bye"]));
    assert_eq!(
        w.events.last().unwrap().exfil.as_ref().unwrap()["session"]["truncated_lines"],
        1
    );
    assert_schema(&w.events);
}

#[test]
fn endless_multiline_and_pipelining_are_bounded() {
    let mut w = local();
    let mut p = FtpParser::default();
    p.parse(C, b"220-hello\r\n", &mut w.cx());
    for _ in 0..10_000 {
        p.parse(C, b"more banner text that never ends\r\n", &mut w.cx());
        p.parse(S, b"NOOP\r\n", &mut w.cx());
    }
    p.finish(&mut w.cx());
    let f = ftp(&w);
    assert_eq!(f.len(), 10_000);
    // The never-ending banner went to the oldest command still waiting, cut short.
    let replies: Vec<_> = f.iter().filter_map(|e| e["reply"].as_array()).collect();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].len(), parser::MAX_REPLY_LINES);
    assert!(f.iter().all(|e| e["reply_received"] == "no"));
}

#[test]
fn gap_resyncs_at_next_line() {
    let mut w = local();
    let mut p = FtpParser::default();
    p.parse(C, b"220 FTP ready\r\n", &mut w.cx());
    p.parse(S, b"USER al", &mut w.cx());
    p.gap(S, 100, &mut w.cx());
    p.parse(S, b"ice\r\nPWD\r\n", &mut w.cx());
    p.parse(C, b"211-Feat", &mut w.cx());
    p.gap(C, 10, &mut w.cx());
    p.parse(C, b"ures\r\n257 \"/\"\r\n", &mut w.cx());
    p.finish(&mut w.cx());
    let f = ftp(&w);
    assert_eq!(f[1]["command"], "PWD");
    assert_eq!(f[1]["reply"], json!(["\"/\""]));
    assert_eq!(f.len(), 2);
}

#[test]
fn probe_client_commands() {
    let tcp = Transport::Tcp;
    for ok in [
        &b"USER anonymous\r\n"[..],
        b"user bob\r\n",
        b"AUTH TLS\r\n",
        b"FEAT\r\n",
        b"SYST\n",
        b"PASV\r\n",
        b"EPSV ",
        b"OPTS UTF8 ON\r\n",
        b"QUIT\r\n",
    ] {
        assert_eq!(
            probe(S, ok, tcp),
            Probe::Match,
            "{:?}",
            String::from_utf8_lossy(ok)
        );
    }
    for no in [
        &b"EHLO mail.example.com\r\n"[..],
        b"HELO x\r\n",
        b"MAIL FROM:<a@b>\r\n",
        b"GET / HTTP/1.1\r\n",
        b"OPTIONS * HTTP/1.1\r\n",
        b"\x16\x03\x01\x02\x00",
        b"SSH-2.0-OpenSSH\r\n",
        b"USERS x\r\n",
    ] {
        assert_eq!(
            probe(S, no, tcp),
            Probe::NoMatch,
            "{:?}",
            String::from_utf8_lossy(no)
        );
    }
    for more in [&b""[..], b"U", b"us", b"USE", b"USER", b"ep"] {
        assert_eq!(probe(S, more, tcp), Probe::NeedMore, "{more:?}");
    }
    assert_eq!(probe(S, b"MAIL", tcp), Probe::NoMatch);
    assert_eq!(probe(S, b"USER x\r\n", Transport::Udp), Probe::NoMatch);
}

#[test]
fn probe_server_replies() {
    let tcp = Transport::Tcp;
    for ftp_banner in [
        &b"220 (vsFTPd 3.0.3)\r\n"[..],
        b"220 ProFTPD 1.3.0a Server (ProFTPD Anonymous Server) [192.168.1.231]\r\n",
        b"220-FileZilla Server 1.5.1\r\n",
        b"220 Welcome to Pure-FTPd.\r\n",
        b"220 exfil-sensor test FTP server\r\n",
        b"220 Serv-U FTP Server v15.0 ready...\r\n",
    ] {
        assert_eq!(probe(C, ftp_banner, tcp), Probe::Match, "{ftp_banner:?}");
    }
    for ambiguous in [
        &b"220 Operation successful\r\n"[..],
        b"220 \"Authorized users only.\"\r\n",
        b"220 ftp.example.com ESMTP Postfix\r\n",
        b"220 mail.example.com ESMTP\r\n",
        b"421 Too many connections\r\n",
        b"120 Ready in 5 minutes\r\n",
        b"",
        b"2",
        b"22",
        b"220",
    ] {
        assert_eq!(probe(C, ambiguous, tcp), Probe::NeedMore, "{ambiguous:?}");
    }
    for no in [
        &b"HTTP/1.1 200 OK\r\n"[..],
        b"SSH-2.0-OpenSSH_8.9\r\n",
        b"+OK POP3 ready\r\n",
        b"2205 x",
        b"22a ",
        b"\x16\x03\x01",
        b"999 x",
    ] {
        assert_eq!(probe(C, no, tcp), Probe::NoMatch, "{no:?}");
    }
}

/// Drive a data parser as the worker would: `expected` from the control flow.
fn data_flow(w: &mut World, e: &Expectation, chunks: &[Seg]) -> Vec<AppEvent> {
    let mut p = FtpDataParser::default();
    for (dir, c) in chunks {
        p.parse(*dir, c, &mut w.cx_with(Some(e)));
    }
    p.finish(&mut w.cx_with(Some(e)));
    p.finish(&mut w.cx_with(Some(e)));
    std::mem::take(&mut w.events)
}

fn expectation(parent: u64) -> Expectation {
    Expectation {
        proto: 6,
        src: None,
        dst: v4([127, 0, 0, 1]),
        dport: 30072,
        app: AppProto::FtpData,
        parent_flow_id: parent,
        ts_us: TS,
        filename: None,
        upload: None,
    }
}

fn record(w: &mut World, parent: u64, command: &str, filename: Option<&str>) {
    w.transfers.record(
        parent,
        TransferCommand {
            command: command.into(),
            filename: filename.map(str::to_string),
            ts_us: TS,
        },
    );
}

#[test]
fn data_passive_download() {
    let mut w = local();
    w.flow_id = 9;
    record(&mut w, FLOW, "RETR", Some("file50k.bin"));
    let block = vec![0x5a; 1024];
    let chunks: Vec<Seg> = (0..50).map(|_| (C, &block[..])).collect();
    let ev = data_flow(&mut w, &expectation(FLOW), &chunks);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].event_type, "ftp_data");
    assert_eq!(
        ev[0].fields["ftp_data"],
        json!({"filename": "file50k.bin", "command": "RETR"})
    );
    assert_eq!(
        ev[0].exfil.as_deref().cloned(),
        Some(
            json!({"bytes_toserver": 0, "bytes_toclient": 51200, "parent_flow_id": FLOW, "direction": "download"})
        )
    );
    assert_eq!(ev[1].event_type, "fileinfo");
    assert_eq!(ev[1].fields["app_proto"], "ftp-data");
    assert_eq!(
        ev[1].fields["fileinfo"],
        json!({"filename": "file50k.bin", "size": 51200, "state": "CLOSED", "stored": false, "gaps": false, "tx_id": 0})
    );
    assert_eq!(ev[1].exfil.as_ref().unwrap()["direction"], "download");
    assert_schema(&ev);
}

#[test]
fn data_active_upload_counts_the_direction_that_carried_the_file() {
    // Active STOR: the FTP server opened the data connection, so the file travels
    // to the TCP client (sv__ftp-upload-active.pcap).
    let mut w = world((v4([172, 23, 0, 2]), 20), (v4([172, 23, 0, 3]), 44133));
    record(&mut w, FLOW, "STOR", Some("index.html"));
    let ev = data_flow(
        &mut w,
        &expectation(FLOW),
        &[(C, &[b'x'; 40][..]), (C, &[b'y'; 5][..])],
    );
    assert_eq!(ev[0].fields["ftp_data"]["command"], "STOR");
    assert_eq!(ev[0].exfil.as_ref().unwrap()["direction"], "upload");
    assert_eq!(ev[0].exfil.as_ref().unwrap()["bytes_toclient"], 45);
    assert_eq!(ev[1].fields["fileinfo"]["size"], 45);
    assert_eq!(ev[1].exfil.as_ref().unwrap()["direction"], "upload");
}

#[test]
fn data_listing_has_no_fileinfo_and_keeps_its_command() {
    let mut w = local();
    record(&mut w, FLOW, "NLST", None);
    let mut p = FtpDataParser::default();
    let e = expectation(FLOW);
    p.parse(C, b"index.html\r\n", &mut w.cx_with(Some(&e)));
    // A later command on the control flow belongs to a later data connection.
    record(&mut w, FLOW, "STOR", Some("next.bin"));
    p.gap(C, 8, &mut w.cx_with(Some(&e)));
    p.finish(&mut w.cx_with(Some(&e)));
    assert_eq!(w.events.len(), 1);
    assert_eq!(w.events[0].fields["ftp_data"], json!({"command": "NLST"}));
    assert_eq!(
        w.events[0].exfil.as_deref().cloned(),
        Some(
            json!({"bytes_toserver": 0, "bytes_toclient": 20, "parent_flow_id": FLOW,
                    "direction": "download", "gap_bytes": 8})
        )
    );
    assert_schema(&w.events);
}

#[test]
fn data_without_command_or_expectation() {
    let mut w = local();
    let mut p = FtpDataParser::default();
    p.parse(S, b"abc", &mut w.cx());
    p.finish(&mut w.cx());
    assert_eq!(w.events.len(), 1);
    assert_eq!(w.events[0].fields["ftp_data"], json!({}));
    assert_eq!(
        w.events[0].exfil.as_deref().cloned(),
        Some(json!({"bytes_toserver": 3, "bytes_toclient": 0}))
    );
    assert_eq!(probe_data(S, b"USER x\r\n", Transport::Tcp), Probe::NoMatch);
}

/// (command, filename) of the control flow's latest transfer record.
fn latest_transfer(w: &World) -> (String, Option<String>) {
    let t = w.transfers.latest(FLOW).unwrap();
    (t.command.clone(), t.filename.clone())
}

fn session(w: &World) -> &Value {
    &w.events.last().unwrap().exfil.as_ref().unwrap()["session"]
}

#[test]
fn stou_takes_its_file_name_from_the_150_reply() {
    let mut w = run(VSFTPD_STOU);
    let stou = w
        .events
        .iter()
        .find(|e| e.fields["ftp"]["command"] == "STOU")
        .unwrap();
    assert_eq!(
        stou.fields["ftp"],
        json!({"command": "STOU", "reply": ["FILE: report.7z", "Transfer complete."],
               "completion_code": ["150", "226"], "reply_received": "yes"})
    );
    assert_eq!(
        stou.exfil.as_deref().cloned(),
        Some(json!({"filename": "report.7z"}))
    );
    assert_eq!(
        latest_transfer(&w),
        ("STOU".into(), Some("report.7z".into()))
    );
    assert_eq!(
        session(&w)["files"],
        json!([{"command": "STOU", "filename": "report.7z"}])
    );
    assert_eq!(session(&w)["uploads"], 1);
    assert_schema(&w.events);

    w.events.clear();
    let ev = data_flow(&mut w, &expectation(FLOW), &[(S, &[0x37; 3000][..])]);
    assert_eq!(
        ev[0].fields["ftp_data"],
        json!({"filename": "report.7z", "command": "STOU"})
    );
    assert_eq!(ev[1].fields["fileinfo"]["filename"], "report.7z");
    assert_eq!(ev[1].fields["fileinfo"]["size"], 3000);
    assert_eq!(ev[1].exfil.as_ref().unwrap()["direction"], "upload");
    assert_schema(&ev);
}

#[test]
fn stou_data_channel_named_by_a_150_after_its_first_byte() {
    // The data parser takes the command at its first byte, but reads the record again when
    // it finishes: a 150 parsed in between still names the file.
    let mut w = local();
    let e = expectation(FLOW);
    let mut control = FtpParser::default();
    let mut data = FtpDataParser::default();
    control.parse(S, b"STOU\r\n", &mut w.cx());
    data.parse(S, &[0x37; 100], &mut w.cx_with(Some(&e)));
    control.parse(C, b"150 FILE: report.7z\r\n", &mut w.cx());
    data.parse(S, &[0x37; 100], &mut w.cx_with(Some(&e)));
    data.finish(&mut w.cx_with(Some(&e)));
    let ev = w.take_events();
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev[0].fields["ftp_data"],
        json!({"filename": "report.7z", "command": "STOU"})
    );
    assert_eq!(ev[1].fields["fileinfo"]["filename"], "report.7z");
    assert_eq!(ev[1].fields["fileinfo"]["size"], 200);

    // A data connection whose first byte came before a later transfer command keeps its
    // own (unnamed) STOU.
    let mut early = FtpDataParser::default();
    control.parse(C, b"226 Transfer complete.\r\n", &mut w.cx());
    control.parse(S, b"STOU\r\n", &mut w.cx());
    early.parse(S, b"x", &mut w.cx_with(Some(&e)));
    w.ts_us += 1;
    control.parse(S, b"STOR b.bin\r\n", &mut w.cx());
    control.parse(C, b"150 FILE: late.bin\r\n", &mut w.cx());
    early.finish(&mut w.cx_with(Some(&e)));
    let ftp_data: Vec<_> = of_type(&w.events, "ftp_data");
    assert_eq!(ftp_data[0].fields["ftp_data"], json!({"command": "STOU"}));
}

#[test]
fn stou_without_a_file_reply_stays_unnamed() {
    let mut w = run(&[
        (C, b"220 FTP\r\n"),
        (S, b"STOU\r\n"),
        (C, b"150 Ok to send data.\r\n226 Transfer complete.\r\n"),
        (S, b"QUIT\r\n"),
        (C, b"221 Goodbye.\r\n"),
    ]);
    let stou = &w.events[1];
    assert_eq!(stou.fields["ftp"]["command"], "STOU");
    assert_eq!(stou.fields["ftp"]["completion_code"], json!(["150", "226"]));
    assert_eq!(stou.exfil, None);
    assert_eq!(latest_transfer(&w), ("STOU".into(), None));
    assert_eq!(
        session(&w)["files"],
        json!([{"command": "STOU", "filename": null}])
    );
    w.events.clear();
    let ev = data_flow(&mut w, &expectation(FLOW), &[(S, &b"abc"[..])]);
    assert_eq!(ev[0].fields["ftp_data"], json!({"command": "STOU"}));
    assert_eq!(
        ev[1].fields["fileinfo"],
        json!({"size": 3, "state": "CLOSED", "stored": false, "gaps": false, "tx_id": 0})
    );
    assert_schema(&ev);
}

#[test]
fn stou_file_name_from_125_and_iis_226() {
    // 125, lower-case "file:", padding and a non-UTF-8 byte.
    let w = run(&[
        (S, b"STOU\r\n"),
        (
            C,
            b"125 file:   dir/u\xff1.bin  \r\n226 Transfer complete.\r\n",
        ),
    ]);
    assert_eq!(
        latest_transfer(&w),
        ("STOU".into(), Some("dir/u\u{fffd}1.bin".into()))
    );
    assert_eq!(
        w.events[0].exfil.as_ref().unwrap()["filename"],
        "dir/u\u{fffd}1.bin"
    );

    // IIS names it in the final reply.
    let w = run(&[
        (S, b"STOU\r\n"),
        (
            C,
            b"125 Data connection already open; Transfer starting.\r\n226 Transfer complete (unique file name:ftp4F2.tmp).\r\n",
        ),
    ]);
    assert_eq!(
        latest_transfer(&w),
        ("STOU".into(), Some("ftp4F2.tmp".into()))
    );
    assert_eq!(session(&w)["files"][0]["filename"], "ftp4F2.tmp");

    // A long name is clipped at a character boundary.
    let mut reply = b"150 FILE: ".to_vec();
    reply.extend("\u{20ac}".repeat(2000).bytes());
    reply.extend_from_slice(b"\r\n");
    let w = run(&[(S, b"STOU\r\n"), (C, &reply)]);
    let name = latest_transfer(&w).1.unwrap();
    assert_eq!(name.len(), parser::MAX_FILENAME / 3 * 3);
    assert!(name.chars().all(|c| c == '\u{20ac}'));

    // "FILE:" with nothing after it names nothing.
    let w = run(&[(S, b"STOU\r\n"), (C, b"150 FILE:  \r\n")]);
    assert_eq!(latest_transfer(&w), ("STOU".into(), None));
}

#[test]
fn a_150_file_reply_does_not_rename_other_transfers() {
    let w = run(&[
        (S, b"STOR keep.bin\r\n"),
        (C, b"150 FILE: other.bin\r\n226 Transfer complete.\r\n"),
        (S, b"QUIT\r\n"),
        (C, b"221 Goodbye.\r\n"),
    ]);
    assert_eq!(
        latest_transfer(&w),
        ("STOR".into(), Some("keep.bin".into()))
    );
    assert_eq!(w.events[0].exfil, None);
    assert_eq!(
        session(&w)["files"],
        json!([{"command": "STOR", "filename": "keep.bin"}])
    );

    // A STOR pipelined behind a STOU: the STOU's 150 names the STOU only.
    let w = run(&[
        (S, b"STOU\r\nSTOR keep.bin\r\n"),
        (
            C,
            b"150 FILE: u.bin\r\n226 Transfer complete.\r\n150 FILE: x.bin\r\n226 Transfer complete.\r\n",
        ),
        (S, b"QUIT\r\n"),
        (C, b"221 Goodbye.\r\n"),
    ]);
    assert_eq!(
        latest_transfer(&w),
        ("STOR".into(), Some("keep.bin".into()))
    );
    assert_eq!(w.events[0].exfil.as_ref().unwrap()["filename"], "u.bin");
    assert_eq!(w.events[1].exfil, None);
    assert_eq!(
        session(&w)["files"],
        json!([{"command": "STOU", "filename": "u.bin"},
               {"command": "STOR", "filename": "keep.bin"}])
    );
}

/// One TCP segment of a capture.
struct Packet {
    ts_us: u64,
    src: (Addr, u16),
    dst: (Addr, u16),
    syn: bool,
    seq: u32,
    payload: Vec<u8>,
}

fn tcp_packets(path: &Path) -> Vec<Packet> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let bytes = std::fs::read(path).unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
    let mut out = Vec::new();
    while let Some(Ok(p)) = r.next_packet() {
        let Ok(s) = SlicedPacket::from_ethernet(&p.data) else {
            continue;
        };
        let (src, dst) = match &s.net {
            Some(NetSlice::Ipv4(h)) => (v4(h.header().source()), v4(h.header().destination())),
            Some(NetSlice::Ipv6(h)) => (h.header().source(), h.header().destination()),
            _ => continue,
        };
        let Some(TransportSlice::Tcp(t)) = &s.transport else {
            continue;
        };
        out.push(Packet {
            ts_us: p.timestamp.as_micros() as u64,
            src: (src, t.source_port()),
            dst: (dst, t.destination_port()),
            syn: t.syn() && !t.ack(),
            seq: t.sequence_number(),
            payload: t.payload().to_vec(),
        });
    }
    out
}

enum Role {
    Undecided(Vec<(Direction, Vec<u8>)>),
    Control(Box<FtpParser>),
    Data(FtpDataParser, Box<Expectation>),
    Other,
}

struct Flow {
    id: u64,
    client: (Addr, u16),
    server: (Addr, u16),
    next_seq: [Option<u32>; 2],
    role: Role,
}

/// A capture through probe, control and data parsers, with a minimal worker: flows by
/// 4-tuple, client = SYN sender, expectations matched on new flows, retransmissions
/// dropped, data parsers finished first (as their connections close first).
fn replay(path: &Path) -> (Vec<AppEvent>, Vec<Flow>) {
    let mut flows: Vec<Flow> = Vec::new();
    let mut expect: Vec<Expectation> = Vec::new();
    let mut events = Vec::new();
    let mut transfers = TransferLog::default();
    let mut features = crate::app::features::FlowFeatures::default();
    let mut upgrade = None;
    for pkt in tcp_packets(path) {
        let found = flows.iter().position(|f| {
            (f.client, f.server) == (pkt.src, pkt.dst) || (f.client, f.server) == (pkt.dst, pkt.src)
        });
        let i = match found {
            Some(i) => i,
            None if pkt.syn => {
                let hit = expect.iter().position(|e| {
                    e.dst == pkt.dst.0
                        && e.dport == pkt.dst.1
                        && e.src.is_none_or(|s| s == pkt.src.0)
                });
                let role = match hit {
                    Some(k) => {
                        // Its NAT-fallback twin (same port) goes too.
                        let e = expect.remove(k);
                        expect.retain(|x| {
                            !(x.parent_flow_id == e.parent_flow_id && x.dport == e.dport)
                        });
                        Role::Data(FtpDataParser::default(), Box::new(e))
                    }
                    None => Role::Undecided(Vec::new()),
                };
                flows.push(Flow {
                    id: flows.len() as u64 + 1,
                    client: pkt.src,
                    server: pkt.dst,
                    next_seq: [None; 2],
                    role,
                });
                flows.len() - 1
            }
            None => continue,
        };
        let f = &mut flows[i];
        let dir = if pkt.src == f.client { S } else { C };
        let next = &mut f.next_seq[dir as usize];
        if pkt.syn || pkt.payload.is_empty() {
            if pkt.syn {
                *next = Some(pkt.seq.wrapping_add(1));
            }
            continue;
        }
        if next.is_some_and(|n| (pkt.seq.wrapping_sub(n) as i32) < 0) {
            continue; // retransmission
        }
        *next = Some(pkt.seq.wrapping_add(pkt.payload.len() as u32));
        if upgrade.take().is_some() {
            f.role = Role::Other; // the control flow went TLS: not ours any more
        }
        let mut cx = Cx {
            ts_us: pkt.ts_us,
            flow_id: f.id,
            transport: Transport::Tcp,
            client: f.client,
            server: f.server,
            events: &mut events,
            expect: &mut expect,
            upgrade: &mut upgrade,
            transfers: &mut transfers,
            expected: None,
            features: &mut features,
        };
        if let Role::Undecided(buf) = &mut f.role {
            buf.push((dir, pkt.payload.clone()));
            let verdicts: Vec<Probe> = [S, C]
                .iter()
                .filter_map(|d| {
                    let first = buf.iter().find(|(bd, _)| bd == d)?;
                    Some(probe(*d, &first.1, Transport::Tcp))
                })
                .collect();
            if verdicts.contains(&Probe::Match) {
                let mut p = FtpParser::default();
                for (d, b) in buf.drain(..) {
                    p.parse(d, &b, &mut cx);
                }
                f.role = Role::Control(Box::new(p));
            } else if verdicts.len() == 2 || verdicts.contains(&Probe::NoMatch) {
                f.role = Role::Other;
            }
            continue;
        }
        match &mut f.role {
            Role::Control(p) => p.parse(dir, &pkt.payload, &mut cx),
            Role::Data(p, e) => {
                cx.expected = Some(&**e);
                p.parse(dir, &pkt.payload, &mut cx);
            }
            _ => {}
        }
    }
    flows.sort_by_key(|f| !matches!(f.role, Role::Data(..)));
    for f in &mut flows {
        let mut cx = Cx {
            ts_us: 0,
            flow_id: f.id,
            transport: Transport::Tcp,
            client: f.client,
            server: f.server,
            events: &mut events,
            expect: &mut expect,
            upgrade: &mut upgrade,
            transfers: &mut transfers,
            expected: None,
            features: &mut features,
        };
        match &mut f.role {
            Role::Control(p) => p.finish(&mut cx),
            Role::Data(p, e) => {
                cx.expected = Some(&**e);
                p.finish(&mut cx);
            }
            _ => {}
        }
    }
    (events, flows)
}

fn of_type<'a>(events: &'a [AppEvent], t: &str) -> Vec<&'a AppEvent> {
    events.iter().filter(|e| e.event_type == t).collect()
}

/// (command, filename, size, direction) of each fileinfo.
fn files(events: &[AppEvent]) -> Vec<(String, String, u64, String)> {
    let mut v: Vec<_> = of_type(events, "fileinfo")
        .iter()
        .map(|e| {
            let x = e.exfil.as_ref().unwrap();
            (
                x["command"].as_str().unwrap().to_string(),
                e.fields["fileinfo"]["filename"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                e.fields["fileinfo"]["size"].as_u64().unwrap(),
                x["direction"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn repo_pcap(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pcaps")
        .join(name)
}

#[test]
fn replay_repo_passive_capture() {
    let (ev, flows) = replay(&repo_pcap("ftp-passive.pcap"));
    assert_eq!(
        flows
            .iter()
            .filter(|f| matches!(f.role, Role::Data(..)))
            .count(),
        2
    );
    let f = |c: &str, n: &str, s, d: &str| (c.to_string(), n.to_string(), s, d.to_string());
    assert_eq!(
        files(&ev),
        vec![
            f("RETR", "file50k.bin", 51200, "download"),
            f("STOR", "up40k.bin", 40960, "upload")
        ]
    );
    assert_eq!(of_type(&ev, "ftp_data").len(), 2);
    assert_eq!(of_type(&ev, "ftp").len(), 9 + 9);
    assert_schema(&ev);
}

#[test]
fn replay_repo_active_capture() {
    let (ev, flows) = replay(&repo_pcap("ftp-active.pcap"));
    let data: Vec<_> = flows
        .iter()
        .filter(|f| matches!(f.role, Role::Data(..)))
        .collect();
    assert_eq!(data.len(), 2);
    // The FTP server (port 2020) is the data connection's TCP client.
    assert!(data.iter().all(|f| f.client.1 == 2020));
    let f = |s| {
        (
            "RETR".to_string(),
            "file50k.bin".to_string(),
            s,
            "download".to_string(),
        )
    };
    assert_eq!(files(&ev), vec![f(51200), f(51200)]);
    for d in of_type(&ev, "ftp_data") {
        assert_eq!(d.exfil.as_ref().unwrap()["bytes_toserver"], 51200);
    }
    assert_schema(&ev);
}

/// The shared corpus, when it is beside the repository: the same counts suricata-verify
/// checks for these captures.
#[test]
fn replay_corpus_captures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/public/pcaps");
    if !dir.exists() {
        eprintln!("SKIP: {} absent", dir.display());
        return;
    }
    let count = |ev: &[AppEvent], t: &str, cmd: Option<&str>| {
        of_type(ev, t)
            .iter()
            .filter(|e| cmd.is_none_or(|c| e.fields[t]["command"] == c))
            .count()
    };
    let (ev, _) = replay(&dir.join("sv__ftp-upload-active.pcap"));
    assert_eq!(count(&ev, "ftp_data", Some("STOR")), 1);
    assert_eq!(count(&ev, "ftp_data", Some("NLST")), 2);
    assert_eq!(count(&ev, "fileinfo", None), 1);
    assert_eq!(files(&ev)[0].3, "upload");
    assert_eq!(count(&ev, "ftp", Some("USER")), 1);
    assert_schema(&ev);

    let (ev, _) = replay(&dir.join("sv__ftp-download-active.pcap"));
    assert_eq!(count(&ev, "ftp_data", None), 3);
    assert_eq!(count(&ev, "fileinfo", None), 1);
    assert_eq!(files(&ev)[0].1, "index.html");

    let (ev, _) = replay(&dir.join("sv__ftp-upload-passive.pcap"));
    assert_eq!(count(&ev, "ftp_data", Some("STOR")), 1);
    assert_eq!(count(&ev, "fileinfo", None), 1);
    assert_eq!(files(&ev)[0].3, "upload");

    let (ev, _) = replay(&dir.join("sv__output-eve-ftp-data.pcap"));
    assert_eq!(count(&ev, "ftp_data", None), 2);
    assert_eq!(
        of_type(&ev, "ftp_data")
            .iter()
            .filter(|e| e.fields["ftp_data"] == json!({"filename": "temp.txt", "command": "RETR"}))
            .count(),
        1
    );

    let (ev, _) = replay(&dir.join("zeek__ftp_ipv6.pcap"));
    assert_eq!(count(&ev, "ftp_data", None), 5);
    let robots = files(&ev);
    assert_eq!(robots.len(), 2);
    assert!(robots.iter().all(|f| f.1 == "robots.txt" && f.2 == 77));

    let (ev, _) = replay(&dir.join("sv__ftp-bounce.pcap"));
    let ports: Vec<_> = of_type(&ev, "ftp")
        .iter()
        .filter_map(|e| e.fields["ftp"]["dynamic_port"].as_u64())
        .collect();
    assert_eq!(ports, [59549, 80]);

    let (ev, _) = replay(&dir.join("ndpi__ftp-start-tls.pcap"));
    assert_eq!(count(&ev, "ftp", Some("AUTH")), 1);
    assert_eq!(count(&ev, "ftp", None), 2);
    assert_schema(&ev);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300), 0u64..5000),
            0..40),
    ) {
        let mut w = local();
        let mut control = FtpParser::default();
        let mut data = FtpDataParser::default();
        let e = expectation(FLOW);
        for (to_server, bytes, gap) in &chunks {
            let dir = if *to_server { S } else { C };
            let _ = probe(dir, bytes, Transport::Tcp);
            let _ = probe_data(dir, bytes, Transport::Tcp);
            control.parse(dir, bytes, &mut w.cx());
            data.parse(dir, bytes, &mut w.cx_with(Some(&e)));
            if *gap % 7 == 0 {
                control.gap(dir, *gap, &mut w.cx());
                data.gap(dir, *gap, &mut w.cx_with(Some(&e)));
            }
        }
        control.finish(&mut w.cx());
        data.finish(&mut w.cx_with(Some(&e)));
        prop_assert!(w.events.len() <= 2 + chunks.len() * 300);
    }

    #[test]
    fn ftp_like_lines_never_panic(
        lines in proptest::collection::vec(
            (any::<bool>(),
             prop_oneof![
                 Just("PORT ".to_string()), Just("EPRT ".to_string()), Just("227 (".to_string()),
                 Just("229 (".to_string()), Just("211-".to_string()), Just("211 ".to_string()),
                 Just("150 ".to_string()), Just("AUTH TLS".to_string()), Just("234 ".to_string()),
                 Just("STOU".to_string()), Just("150 FILE: ".to_string()),
             ],
             "[0-9,|().: a-f]{0,40}",
             0usize..50),
            0..60),
    ) {
        let mut w = local();
        let mut stream = Vec::new();
        for (to_server, head, tail, _) in &lines {
            let dir = if *to_server { S } else { C };
            stream.push((dir, format!("{head}{tail}\r\n").into_bytes()));
        }
        let mut p = FtpParser::default();
        for ((dir, bytes), (_, _, _, cut)) in stream.iter().zip(&lines) {
            let (a, b) = bytes.split_at((*cut).min(bytes.len()));
            p.parse(*dir, a, &mut w.cx());
            p.parse(*dir, b, &mut w.cx());
        }
        p.finish(&mut w.cx());
        prop_assert!(w.expect.iter().all(|e| e.dport != 0));
    }
}
