//! Replays of real SMB sessions (TCP payloads of public and repository captures, see
//! `testdata/README.md`), split-invariance, schema conformance and robustness.

use super::*;
use crate::app::harness::Harness;
use crate::app::AppEvent;
use proptest::prelude::*;
use serde_json::Value;

const FILE_READ: &[u8] = include_bytes!("testdata/smb2_file_read.bin");
const SMB3_ENCRYPTED: &[u8] = include_bytes!("testdata/smb3_encrypted.bin");
const READ_WRITE: &[u8] = include_bytes!("testdata/smb2_readwrite.bin");
const SMB311: &[u8] = include_bytes!("testdata/smb311.bin");
const SMALL_FILES: &[u8] = include_bytes!("testdata/smb2_100_small_files.bin");
const EICAR: &[u8] = include_bytes!("testdata/smb1_eicar_write.bin");
const SMBV1: &[u8] = include_bytes!("testdata/smb1_ndpi.bin");
const DELETE: &[u8] = include_bytes!("testdata/smb2_deletefile.bin");
const OSS_FUZZ: &[u8] = include_bytes!("testdata/smb1_oss_fuzz.bin");
// The repository's own captures (pcaps/smb-445.pcap flow 1, pcaps/smb3-encrypted.pcap).
const SAMBA_PUT_GET: &[u8] = include_bytes!("testdata/samba_smb311_put_get.bin");
const SAMBA_ENCRYPTED: &[u8] = include_bytes!("testdata/samba_smb3_encrypted_put.bin");

const ALL: [&[u8]; 11] = [
    FILE_READ,
    SMB3_ENCRYPTED,
    READ_WRITE,
    SMB311,
    SMALL_FILES,
    EICAR,
    SMBV1,
    DELETE,
    OSS_FUZZ,
    SAMBA_PUT_GET,
    SAMBA_ENCRYPTED,
];

fn records(v: &[u8]) -> Vec<(Direction, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 5 <= v.len() {
        let dir = if v[i] == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let len = u32::from_le_bytes([v[i + 1], v[i + 2], v[i + 3], v[i + 4]]) as usize;
        out.push((dir, &v[i + 5..i + 5 + len]));
        i += 5 + len;
    }
    assert_eq!(i, v.len(), "test vector framing");
    out
}

/// Drives a parser like the worker does; `split(record index, bytes)` chooses chunking.
fn run_with(
    recs: &[(Direction, &[u8])],
    split: &dyn Fn(usize, &[u8]) -> Vec<usize>,
) -> Vec<AppEvent> {
    let a = crate::decode::addr_from_v4([10, 0, 0, 1]);
    let b = crate::decode::addr_from_v4([10, 0, 0, 2]);
    let mut h = Harness::new(Transport::Tcp, (a, 49152), (b, 445));
    let mut parser = SmbParser::default();
    for (i, (dir, data)) in recs.iter().enumerate() {
        h.ts_us = 1_000_000 + i as u64;
        let mut start = 0;
        for end in split(i, data).into_iter().chain([data.len()]) {
            h.parse(&mut parser, *dir, &data[start..end]);
            start = end;
        }
    }
    h.ts_us = 9_000_000;
    h.finish(&mut parser);
    assert!(h.expect.is_empty() && h.upgrade.is_none());
    h.events
}

/// Flow 1 at time 1, 10.0.0.1 port 1 to itself port 445.
fn local_harness() -> Harness {
    let a = crate::decode::addr_from_v4([10, 0, 0, 1]);
    Harness::new(Transport::Tcp, (a, 1), (a, 445))
}

fn run(v: &[u8]) -> Vec<AppEvent> {
    run_with(&records(v), &|_, _| Vec::new())
}

fn smb(events: &[AppEvent]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e.event_type == "smb")
        .map(|e| &e.fields["smb"])
        .collect()
}

fn commands<'a>(events: &'a [AppEvent], cmd: &str) -> Vec<&'a Value> {
    smb(events)
        .into_iter()
        .filter(|s| s["command"] == cmd)
        .collect()
}

fn files(events: &[AppEvent]) -> Vec<&AppEvent> {
    events
        .iter()
        .filter(|e| e.event_type == "fileinfo")
        .collect()
}

fn summary(events: &[AppEvent]) -> &Value {
    let last = events.last().expect("summary event");
    let ex = last.exfil.as_ref().expect("summary exfil");
    assert_eq!(ex["summary"], true);
    ex
}

#[test]
fn smb2_file_read_matches_suricata_verify() {
    let ev = run(FILE_READ);
    // suricata-verify smb1-01: 7 CREATE, 7 CLOSE, 2 FIND, no GET_INFO, dialect unknown
    // (the capture starts midstream). READ is aggregated into fileinfo instead.
    let creates = commands(&ev, "SMB2_COMMAND_CREATE");
    assert_eq!(creates.len(), 7);
    assert_eq!(commands(&ev, "SMB2_COMMAND_CLOSE").len(), 7);
    assert_eq!(commands(&ev, "SMB2_COMMAND_FIND").len(), 2);
    assert!(commands(&ev, "SMB2_COMMAND_GET_INFO").is_empty());
    assert!(commands(&ev, "SMB2_COMMAND_READ").is_empty());
    assert!(smb(&ev).iter().all(|s| s["dialect"] == "unknown"));
    let payroll: Vec<_> = creates
        .iter()
        .filter(|s| s["fuid"] == "00000065-0030-0000-0025-0020ffffffff")
        .collect();
    assert_eq!(payroll.len(), 1);
    let c = payroll[0];
    assert_eq!(c["filename"], "Test\\2009-12 Payroll.xlsx");
    assert_eq!(c["status"], "STATUS_SUCCESS");
    assert_eq!(c["status_code"], "0x0");
    assert_eq!(c["session_id"], 4398046511153u64);
    assert_eq!(c["tree_id"], 1);
    assert_eq!(c["disposition"], "FILE_OPEN");
    assert_eq!(c["size"], 25940);

    let f = files(&ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].fields["app_proto"], "smb");
    let info = &f[0].fields["fileinfo"];
    assert_eq!(info["filename"], "Test\\2009-12 Payroll.xlsx");
    assert_eq!(info["state"], "CLOSED");
    assert_eq!(info["gaps"], false);
    assert_eq!(info["size"], 25940);
    let ex = f[0].exfil.as_ref().unwrap();
    assert_eq!(ex["direction"], "download");
    assert_eq!(ex["bytes_read"], 25940);
    assert_eq!(ex["bytes_written"], 0);

    let s = summary(&ev);
    assert_eq!(s["bytes_read"], 25940);
    assert_eq!(s["bytes_written"], 0);
    assert_eq!(s["files"], 1);
    assert_eq!(s["encrypted"], false);
}

#[test]
fn smb3_negotiate_tree_connect_then_encrypted() {
    let ev = run(SMB3_ENCRYPTED);
    let neg = commands(&ev, "SMB2_COMMAND_NEGOTIATE_PROTOCOL");
    assert_eq!(neg.len(), 1);
    assert_eq!(neg[0]["dialect"], "3.00");
    assert_eq!(neg[0]["status"], "STATUS_SUCCESS");
    assert_eq!(neg[0]["client_dialects"], serde_json::json!(["3.00"]));
    let trees = commands(&ev, "SMB2_COMMAND_TREE_CONNECT");
    assert!(trees.iter().any(|t| t["share"] == "\\\\WS2016\\encrypted"
        && t["dialect"] == "3.00"
        && t["status"] == "STATUS_SUCCESS"));
    assert!(trees
        .iter()
        .any(|t| t["named_pipe"] == "\\\\10.160.65.202\\IPC$" && t["share_type"] == "PIPE"));
    let setup = commands(&ev, "SMB2_COMMAND_SESSION_SETUP");
    assert!(!setup.is_empty());
    let s = summary(&ev);
    assert_eq!(s["dialect"], "3.00");
    assert_eq!(s["encrypted"], true);
    assert!(s["encrypted_bytes_toserver"].as_u64().unwrap() > 0);
    assert!(s["encrypted_bytes_toclient"].as_u64().unwrap() > 0);
    assert_eq!(s["bytes_toserver"], s["encrypted_bytes_toserver"]);
    assert_eq!(s["shares"], serde_json::json!(["\\\\WS2016\\encrypted"]));
}

#[test]
fn smb2_read_and_write_per_file() {
    let ev = run(READ_WRITE);
    let f = files(&ev);
    let by_name = |n: &str| {
        f.iter()
            .find(|e| e.fields["fileinfo"]["filename"] == n)
            .unwrap_or_else(|| panic!("no fileinfo for {n}"))
    };
    // Zeek's files.log: pythonfile read (16 bytes), pythonfile2 written (7000 bytes).
    let r = by_name("pythonfile");
    assert_eq!(r.fields["fileinfo"]["size"], 16);
    assert_eq!(r.exfil.as_ref().unwrap()["direction"], "download");
    let w = by_name("pythonfile2");
    assert_eq!(w.fields["fileinfo"]["size"], 7000);
    assert_eq!(w.fields["fileinfo"]["state"], "CLOSED");
    let wx = w.exfil.as_ref().unwrap();
    assert_eq!(wx["direction"], "upload");
    assert_eq!(wx["bytes_written"], 7000);
    assert_eq!(wx["bytes_toserver"], 7000);
    assert_eq!(f.len(), 2);
    let s = summary(&ev);
    assert_eq!(s["bytes_written"], 7000);
    assert_eq!(s["bytes_read"], 16);
    assert_eq!(s["files"], 2);
    // The interim STATUS_PENDING of CHANGE_NOTIFY is not a transaction of its own.
    assert!(smb(&ev).iter().all(|s| s["status"] != "STATUS_PENDING"));
}

#[test]
fn smb311_encrypted_after_negotiate() {
    let ev = run(SMB311);
    let neg = commands(&ev, "SMB2_COMMAND_NEGOTIATE_PROTOCOL");
    assert_eq!(neg[0]["dialect"], "3.11");
    let s = summary(&ev);
    assert_eq!(s["dialect"], "3.11");
    assert_eq!(s["encrypted"], true);
    assert!(files(&ev).is_empty());
}

#[test]
fn smb2_hundred_small_files() {
    let ev = run(SMALL_FILES);
    let f = files(&ev);
    // 100 files read; the capture ends before the last CLOSE is answered.
    assert_eq!(f.len(), 100);
    for e in &f {
        let name = e.fields["fileinfo"]["filename"].as_str().unwrap();
        assert!(
            name.starts_with("100-small-files\\") && name.ends_with(".txt"),
            "{name}"
        );
        assert!(e.fields["fileinfo"]["size"].as_u64().unwrap() > 0);
        assert_eq!(e.exfil.as_ref().unwrap()["share"], "\\\\127.0.0.1\\public");
    }
    let s = summary(&ev);
    assert_eq!(s["dialect"], "3.11");
    assert_eq!(s["files"], 100);
    assert_eq!(s["shares"], serde_json::json!(["\\\\127.0.0.1\\public"]));
    let total: u64 = f
        .iter()
        .map(|e| e.fields["fileinfo"]["size"].as_u64().unwrap())
        .sum();
    assert_eq!(s["bytes_read"], total);
}

#[test]
fn smb1_eicar_upload() {
    let ev = run(EICAR);
    let neg = commands(&ev, "SMB1_COMMAND_NEGOTIATE_PROTOCOL");
    assert_eq!(neg.len(), 1);
    assert_eq!(neg[0]["dialect"], "NT LM 0.12");
    assert_eq!(neg[0]["client_dialects"].as_array().unwrap().len(), 10);
    let setup = commands(&ev, "SMB1_COMMAND_SESSION_SETUP_ANDX");
    assert_eq!(setup.len(), 2);
    assert_eq!(setup[0]["status"], "STATUS_MORE_PROCESSING_REQUIRED");
    assert_eq!(setup[1]["session_id"], 2048);
    assert!(setup[1]["request"]["native_os"].is_string());
    let tree = commands(&ev, "SMB1_COMMAND_TREE_CONNECT_ANDX");
    assert_eq!(tree[0]["share"], "\\\\192.168.1.3\\PUBLIC");
    assert_eq!(tree[0]["share_type"], "FILE");
    let create = commands(&ev, "SMB1_COMMAND_NT_CREATE_ANDX");
    assert_eq!(create[0]["filename"], "\\eicar");
    assert_eq!(create[0]["fuid"], "0x4000");
    assert_eq!(create[0]["share"], "\\\\192.168.1.3\\PUBLIC");
    let close = commands(&ev, "SMB1_COMMAND_CLOSE");
    assert_eq!(close[0]["filename"], "\\eicar");
    assert!(commands(&ev, "SMB1_COMMAND_WRITE_ANDX").is_empty());
    let f = files(&ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].fields["fileinfo"]["filename"], "\\eicar");
    assert_eq!(f[0].fields["fileinfo"]["size"], 68);
    let ex = f[0].exfil.as_ref().unwrap();
    assert_eq!(ex["direction"], "upload");
    assert_eq!(ex["share"], "\\\\192.168.1.3\\PUBLIC");
    let s = summary(&ev);
    assert_eq!(s["dialect"], "NT LM 0.12");
    assert_eq!(s["bytes_written"], 68);
    assert_eq!(s["bytes_toserver"], 68);
}

#[test]
fn smb1_ndpi_ipc_and_unanswered_trans2() {
    let ev = run(SMBV1);
    assert_eq!(
        commands(&ev, "SMB1_COMMAND_NEGOTIATE_PROTOCOL")[0]["dialect"],
        "NT LM 0.12"
    );
    let setup = commands(&ev, "SMB1_COMMAND_SESSION_SETUP_ANDX");
    assert_eq!(
        setup[0]["response"]["native_os"],
        "Windows 7 Ultimate 7601 Service Pack 1"
    );
    let tree = commands(&ev, "SMB1_COMMAND_TREE_CONNECT_ANDX");
    assert_eq!(tree[0]["named_pipe"], "\\\\10.128.0.243\\IPC$");
    assert_eq!(tree[0]["share_type"], "PIPE");
    let t2 = commands(&ev, "SMB1_COMMAND_TRANS2");
    assert_eq!(t2.len(), 1);
    assert_eq!(t2[0]["request_done"], true);
    assert_eq!(t2[0]["response_done"], false);
    assert!(t2[0].get("status").is_none());
    assert_eq!(summary(&ev)["shares"], serde_json::json!([]));
}

#[test]
fn smb2_delete_file() {
    let ev = run(DELETE);
    assert!(files(&ev).is_empty(), "nothing read or written");
    let set = commands(&ev, "SMB2_COMMAND_SET_INFO");
    assert!(set.iter().any(
        |s| s["set_info"]["info_level"] == "SMB2_FILE_DISPOSITION_INFO"
            && s["filename"] == "Luca\\Downloads\\innosetup-5.6.1.exe"
    ));
    // The compounded CREATE/SET_INFO/CLOSE resolved the related FileId.
    let closes = commands(&ev, "SMB2_COMMAND_CLOSE");
    assert!(closes
        .iter()
        .any(|c| c["filename"] == "Luca\\Downloads\\innosetup-5.6.1.exe"));
    assert!(closes
        .iter()
        .all(|c| c["fuid"] != "ffffffff-ffff-ffff-ffff-ffffffffffff"));
}

/// Samba answers WRITE and READ with an interim STATUS_PENDING first; the final async
/// response still carries the byte count.
#[test]
fn samba_put_and_get_with_interim_responses() {
    let ev = run(SAMBA_PUT_GET);
    let setup = commands(&ev, "SMB2_COMMAND_SESSION_SETUP");
    assert_eq!(setup[1]["ntlmssp"]["user"], "smbtest");
    assert_eq!(setup[1]["ntlmssp"]["domain"], "TESTGROUP");
    let f = files(&ev);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].fields["fileinfo"]["filename"], "upload30k.bin");
    assert_eq!(f[0].fields["fileinfo"]["size"], 30720);
    assert_eq!(f[0].exfil.as_ref().unwrap()["direction"], "upload");
    assert_eq!(f[1].fields["fileinfo"]["filename"], "report20k.bin");
    assert_eq!(f[1].fields["fileinfo"]["size"], 20480);
    assert_eq!(f[1].exfil.as_ref().unwrap()["direction"], "download");
    let s = summary(&ev);
    assert_eq!(s["dialect"], "3.11");
    assert_eq!(s["shares"], serde_json::json!(["\\\\127.0.0.1\\data"]));
    assert_eq!(s["bytes_toserver"], 30720);
    assert_eq!(s["bytes_toclient"], 20480);
}

/// Everything after SESSION_SETUP is encrypted: the 10 KB upload shows only as volume.
#[test]
fn samba_encrypted_upload_counted_as_volume() {
    let ev = run(SAMBA_ENCRYPTED);
    assert!(files(&ev).is_empty());
    assert!(commands(&ev, "SMB2_COMMAND_TREE_CONNECT").is_empty());
    let s = summary(&ev);
    assert_eq!(s["encrypted"], true);
    assert!(s["encrypted_bytes_toserver"].as_u64().unwrap() > 10240);
    assert_eq!(s["bytes_toserver"], s["encrypted_bytes_toserver"]);
}

#[test]
fn malformed_smb1_does_not_inflate_counts() {
    let ev = run(OSS_FUZZ);
    let s = summary(&ev);
    // Bogus WRITE_ANDX lengths (Zeek saw 762064980) are capped by the frame size.
    assert!(s["bytes_written"].as_u64().unwrap() < 20_000);
}

/// Every vector fed one byte at a time (every boundary a split point), and in chunks
/// of several sizes, gives exactly the events of the unsplit replay.
#[test]
fn split_anywhere_same_events() {
    for v in ALL {
        let recs = records(v);
        let whole = run_with(&recs, &|_, _| Vec::new());
        let bytewise = run_with(&recs, &|_, d| (1..d.len()).collect());
        assert_eq!(whole, bytewise);
        for k in [2, 3, 7, 100, 1460] {
            let chunked = run_with(&recs, &|_, d| (k..d.len()).step_by(k).collect());
            assert_eq!(whole, chunked, "chunk {k}");
        }
    }
}

/// Exhaustive: each record of the small SMB1 sessions split in two at every offset.
#[test]
fn every_single_split_point() {
    for v in [EICAR, SMBV1] {
        let recs = records(v);
        let whole = run_with(&recs, &|_, _| Vec::new());
        for (ri, (_, data)) in recs.iter().enumerate() {
            for at in 1..data.len() {
                let ev = run_with(&recs, &|i, _| if i == ri { vec![at] } else { Vec::new() });
                assert_eq!(whole, ev, "record {ri} split at {at}");
            }
        }
    }
}

/// With `exfil` aside, every event validates against Suricata's EVE schema.
#[test]
fn events_match_suricata_schema() {
    for v in ALL {
        crate::app::schema_check::assert_schema(&run(v));
    }
}

#[test]
fn gap_marks_files_and_resyncs() {
    let recs = records(READ_WRITE);
    // Drop 10 bytes from the middle of the 7000-byte WRITE request (the largest record).
    let (big, _) = recs
        .iter()
        .enumerate()
        .max_by_key(|(_, (_, d))| d.len())
        .unwrap();
    let mut h = local_harness();
    let mut cx = h.cx();
    let mut p = SmbParser::default();
    for (i, (dir, d)) in recs.iter().enumerate() {
        if i == big {
            p.parse(*dir, &d[..3000], &mut cx);
            p.gap(*dir, 10, &mut cx);
            p.parse(*dir, &d[3010..], &mut cx);
        } else {
            p.parse(*dir, d, &mut cx);
        }
    }
    p.finish(&mut cx);
    let events = h.take_events();
    let f: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "fileinfo")
        .collect();
    let w = f
        .iter()
        .find(|e| e.fields["fileinfo"]["filename"] == "pythonfile2")
        .unwrap();
    assert_eq!(w.fields["fileinfo"]["gaps"], true);
    // Everything after the gap still parsed: the later directory listings and closes.
    assert!(
        events
            .iter()
            .filter(|e| e
                .fields
                .get("smb")
                .is_some_and(|s| s["command"] == "SMB2_COMMAND_FIND"))
            .count()
            >= 2
    );
    assert_eq!(events.last().unwrap().exfil.as_ref().unwrap()["gaps"], 1);
}

#[test]
fn probe_real_first_bytes() {
    for v in ALL {
        let recs = records(v);
        // The OSS-Fuzz capture starts inside mangled messages: not recognisable.
        let want = if v == OSS_FUZZ {
            Probe::NoMatch
        } else {
            Probe::Match
        };
        for dir in [Direction::ToServer, Direction::ToClient] {
            let Some((_, first)) = recs.iter().find(|(d, _)| *d == dir) else {
                continue;
            };
            assert_eq!(probe(dir, first, Transport::Tcp), want);
            if want == Probe::NoMatch {
                continue;
            }
            assert_eq!(probe(dir, &first[..3], Transport::Tcp), Probe::NeedMore);
            assert_eq!(probe(dir, first, Transport::Udp), Probe::NoMatch);
        }
    }
    for other in [
        &b"220 ftp.example.com FTP\r\n"[..],
        b"\x16\x03\x01\x02\x00\x01",
        b"SSH-2.0-OpenSSH\r\n",
        b"\x00\x00\x00\x02",
    ] {
        assert_eq!(
            probe(Direction::ToServer, other, Transport::Tcp),
            Probe::NoMatch,
            "{other:?}"
        );
    }
}

#[test]
fn truncated_inputs_do_not_panic() {
    for v in ALL {
        let recs = records(v);
        for cut in 0..recs.len() {
            let ev = run_with(&recs[..cut], &|_, _| Vec::new());
            assert!(summary(&ev)["summary"] == true);
        }
        // Each record truncated to half and mangled.
        let mangled: Vec<(Direction, Vec<u8>)> = recs
            .iter()
            .enumerate()
            .map(|(i, (d, data))| {
                let mut x = data[..data.len() / 2 + i % 3].to_vec();
                if let Some(b) = x.get_mut(i % 97) {
                    *b ^= 0x5a;
                }
                (*d, x)
            })
            .collect();
        let borrowed: Vec<(Direction, &[u8])> = mangled.iter().map(|(d, x)| (*d, &x[..])).collect();
        let _ = run_with(&borrowed, &|_, _| Vec::new());
    }
}

/// Flipped bytes in real sessions: no panic, counts stay bounded by the bytes seen.
#[test]
fn bit_flips_in_real_sessions() {
    for v in [EICAR, READ_WRITE, SMB3_ENCRYPTED, SMBV1] {
        let recs = records(v);
        let total: usize = recs.iter().map(|(_, d)| d.len()).sum();
        for seed in 0..200usize {
            let flipped: Vec<(Direction, Vec<u8>)> = recs
                .iter()
                .enumerate()
                .map(|(i, (d, data))| {
                    let mut x = data.to_vec();
                    if !x.is_empty() {
                        let at = (seed * 7919 + i * 104_729) % x.len();
                        x[at] ^= 1 << (seed % 8);
                    }
                    (*d, x)
                })
                .collect();
            let borrowed: Vec<(Direction, &[u8])> =
                flipped.iter().map(|(d, x)| (*d, &x[..])).collect();
            let ev = run_with(&borrowed, &|_, _| Vec::new());
            let s = summary(&ev);
            let moved = s["bytes_written"].as_u64().unwrap() + s["bytes_read"].as_u64().unwrap();
            assert!(moved <= total as u64, "seed {seed}: {moved} > {total}");
        }
    }
}

fn arb_dir() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::ToServer), Just(Direction::ToClient)]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec((arb_dir(), proptest::collection::vec(any::<u8>(), 0..300)), 0..40),
        gap_at in proptest::option::of(0usize..40),
    ) {
        for (d, c) in &chunks {
            let _ = probe(*d, c, Transport::Tcp);
        }
        let mut h = local_harness();
        let mut cx = h.cx();
        let mut p = SmbParser::default();
        for (i, (d, c)) in chunks.iter().enumerate() {
            if gap_at == Some(i) {
                p.gap(*d, c.len() as u64 * 1000, &mut cx);
            }
            p.parse(*d, c, &mut cx);
        }
        p.finish(&mut cx);
        let events = h.take_events();
        prop_assert!(events.last().is_some_and(|e| e.exfil.is_some()));
    }

    /// Structured noise: valid NetBIOS + SMB magics with random bodies.
    #[test]
    fn smb_shaped_noise_never_panics(
        msgs in proptest::collection::vec(
            (arb_dir(), prop_oneof![Just(0xfeu8), Just(0xff), Just(0xfd), Just(0xfc)],
             proptest::collection::vec(any::<u8>(), 60..400), 1usize..50),
            1..30),
    ) {
        let mut h = local_harness();
        let mut cx = h.cx();
        let mut p = SmbParser::default();
        for (d, magic, body, chunk) in &msgs {
            let len = body.len() + 4;
            let mut frame = vec![0, (len >> 16) as u8, (len >> 8) as u8, len as u8, *magic, b'S', b'M', b'B'];
            frame.extend_from_slice(body);
            for c in frame.chunks(*chunk) {
                p.parse(*d, c, &mut cx);
            }
        }
        p.finish(&mut cx);
    }
}

/// Builds SMB2 messages the way Windows lays them out.
mod build {
    pub const SESSION: u64 = 0x4400_0000_0031;
    pub const TREE: u32 = 5;

    pub fn msg(cmd: u16, response: bool, msg_id: u64, flags: u32, body: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; 64];
        m[..4].copy_from_slice(b"\xfeSMB");
        m[4] = 64;
        m[12..14].copy_from_slice(&cmd.to_le_bytes());
        m[16..20].copy_from_slice(&(flags | u32::from(response)).to_le_bytes());
        m[24..32].copy_from_slice(&msg_id.to_le_bytes());
        m[36..40].copy_from_slice(&TREE.to_le_bytes());
        m[40..48].copy_from_slice(&SESSION.to_le_bytes());
        m.extend_from_slice(body);
        m
    }

    fn body(size: u16, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[..2].copy_from_slice(&size.to_le_bytes());
        b
    }

    pub fn tree_connect(msg_id: u64, path: &str) -> (Vec<u8>, Vec<u8>) {
        let name: Vec<u8> = path.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut b = body(9, 8);
        b[4..6].copy_from_slice(&72u16.to_le_bytes());
        b[6..8].copy_from_slice(&(name.len() as u16).to_le_bytes());
        b.extend(name);
        let mut r = body(16, 16);
        r[2] = 1;
        (msg(3, false, msg_id, 0, &b), msg(3, true, msg_id, 0, &r))
    }

    pub fn create(msg_id: u64, flags: u32, name: &str, fid: [u8; 16]) -> (Vec<u8>, Vec<u8>) {
        let name: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut b = body(57, 56);
        b[36..40].copy_from_slice(&5u32.to_le_bytes());
        b[44..46].copy_from_slice(&120u16.to_le_bytes());
        b[46..48].copy_from_slice(&(name.len() as u16).to_le_bytes());
        b.extend(name);
        let mut r = body(89, 88);
        r[64..80].copy_from_slice(&fid);
        (
            msg(5, false, msg_id, flags, &b),
            msg(5, true, msg_id, flags, &r),
        )
    }

    pub fn write(msg_id: u64, fid: [u8; 16], len: usize) -> (Vec<u8>, Vec<u8>) {
        let mut b = body(49, 48);
        b[2..4].copy_from_slice(&112u16.to_le_bytes());
        b[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        b[16..32].copy_from_slice(&fid);
        b.extend(std::iter::repeat_n(0x41, len));
        let mut r = body(17, 16);
        r[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        (msg(9, false, msg_id, 0, &b), msg(9, true, msg_id, 0, &r))
    }

    pub fn read(msg_id: u64, flags: u32, fid: [u8; 16], len: usize) -> (Vec<u8>, Vec<u8>) {
        let mut b = body(49, 49);
        b[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        b[16..32].copy_from_slice(&fid);
        let mut r = body(17, 16);
        r[2] = 80;
        r[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        r.extend(std::iter::repeat_n(0x42, len));
        (
            msg(8, false, msg_id, flags, &b),
            msg(8, true, msg_id, flags, &r),
        )
    }

    pub fn close(msg_id: u64, flags: u32, fid: [u8; 16]) -> (Vec<u8>, Vec<u8>) {
        let mut b = body(24, 24);
        b[8..24].copy_from_slice(&fid);
        (
            msg(6, false, msg_id, flags, &b),
            msg(6, true, msg_id, flags, &body(60, 60)),
        )
    }

    /// Compounds messages: NextCommand set, each padded to 8 bytes.
    pub fn compound(msgs: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let mut m = m.clone();
            if i + 1 < msgs.len() {
                m.resize(m.len().div_ceil(8) * 8, 0);
                let n = m.len() as u32;
                m[20..24].copy_from_slice(&n.to_le_bytes());
            }
            out.extend(m);
        }
        out
    }

    pub fn nb(m: &[u8]) -> Vec<u8> {
        let l = m.len();
        let mut v = vec![0, (l >> 16) as u8, (l >> 8) as u8, l as u8];
        v.extend_from_slice(m);
        v
    }
}

/// Large WRITEs and a compounded CREATE+READ+CLOSE whose READ data exceeds the buffer cap:
/// bytes are counted without buffering payloads, and the CLOSE after the big READ in the
/// same frame is still found.
#[test]
fn large_transfers_counted_without_buffering() {
    use build::*;
    const RELATED: u32 = 0x4;
    let up = [1u8; 16];
    let down = [2u8; 16];
    let mut recs: Vec<(Direction, Vec<u8>)> = Vec::new();
    let (tq, tr) = tree_connect(1, "\\\\fs\\loot");
    recs.push((Direction::ToServer, nb(&tq)));
    recs.push((Direction::ToClient, nb(&tr)));
    let (cq, cr) = create(2, 0, "dump.7z", up);
    recs.push((Direction::ToServer, nb(&cq)));
    recs.push((Direction::ToClient, nb(&cr)));
    for i in 0..20 {
        let (wq, wr) = write(10 + i, up, 100_000);
        recs.push((Direction::ToServer, nb(&wq)));
        recs.push((Direction::ToClient, nb(&wr)));
    }
    let (xq, xr) = close(40, 0, up);
    recs.push((Direction::ToServer, nb(&xq)));
    recs.push((Direction::ToClient, nb(&xr)));
    let (c2q, c2r) = create(50, 0, "secrets.db", down);
    let (rq, rr) = read(51, RELATED, [0xff; 16], 70_000);
    let (x2q, x2r) = close(52, RELATED, [0xff; 16]);
    recs.push((Direction::ToServer, nb(&compound(&[c2q, rq, x2q]))));
    recs.push((Direction::ToClient, nb(&compound(&[c2r, rr, x2r]))));
    let borrowed: Vec<(Direction, &[u8])> = recs.iter().map(|(d, x)| (*d, &x[..])).collect();

    let ev = run_with(&borrowed, &|_, _| Vec::new());
    let f = files(&ev);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].fields["fileinfo"]["filename"], "dump.7z");
    assert_eq!(f[0].fields["fileinfo"]["size"], 2_000_000);
    assert_eq!(f[0].exfil.as_ref().unwrap()["direction"], "upload");
    assert_eq!(f[0].exfil.as_ref().unwrap()["share"], "\\\\fs\\loot");
    assert_eq!(f[1].fields["fileinfo"]["filename"], "secrets.db");
    assert_eq!(f[1].fields["fileinfo"]["size"], 70_000);
    assert_eq!(f[1].fields["fileinfo"]["state"], "CLOSED");
    let s = summary(&ev);
    assert_eq!(s["bytes_written"], 2_000_000);
    assert_eq!(s["bytes_read"], 70_000);
    assert_eq!(s["files"], 2);
    assert!(s.get("truncated_messages").is_none());
    // Logged: TREE_CONNECT, 2 CREATE, 2 CLOSE; no READ/WRITE events.
    assert_eq!(smb(&ev).len() - 1, 5);
    let ids: Vec<u64> = smb(&ev).iter().filter_map(|s| s["id"].as_u64()).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);

    assert_eq!(ev, run_with(&borrowed, &|_, d| (1..d.len()).collect()));
    assert_eq!(
        ev,
        run_with(&borrowed, &|_, d| (1000..d.len()).step_by(1000).collect())
    );

    // The framing layer never held more than the cap.
    let mut p = SmbParser::default();
    let mut h = local_harness();
    let mut cx = h.cx();
    for (d, x) in &borrowed {
        for c in x.chunks(1460) {
            p.parse(*d, c, &mut cx);
            for s in &p.streams {
                assert!(s.buffered_capacity() <= 1024, "{}", s.buffered_capacity());
            }
        }
    }
}

/// Port 139 style: NetBIOS session request/response first, then an SMB1 NEGOTIATE that the
/// server answers with SMB2 (dialect 2.??), then the SMB2 NEGOTIATE proper.
#[test]
fn netbios_session_and_smb1_to_smb2_upgrade() {
    use build::*;
    let session_req = stream_hex("8100004420454a4543454a45474549464244424442464846444441444344444341434143410020464345504644454745494642444144484648464444414441444543414341414100");
    let mut smb1 = vec![0u8; 32];
    smb1[..4].copy_from_slice(b"\xffSMB");
    smb1[4] = 0x72;
    smb1[10..12].copy_from_slice(&0xc853u16.to_le_bytes());
    smb1.push(0); // word count
    let mut dialects = Vec::new();
    for d in ["NT LM 0.12", "SMB 2.002", "SMB 2.???"] {
        dialects.push(2);
        dialects.extend_from_slice(d.as_bytes());
        dialects.push(0);
    }
    smb1.extend_from_slice(&(dialects.len() as u16).to_le_bytes());
    smb1.extend(dialects);
    let neg_resp = |rev: u16, msg_id: u64| {
        let mut b = vec![0u8; 64];
        b[..2].copy_from_slice(&65u16.to_le_bytes());
        b[4..6].copy_from_slice(&rev.to_le_bytes());
        msg(0, true, msg_id, 0, &b)
    };
    let mut neg_req = vec![0u8; 36];
    neg_req[..2].copy_from_slice(&36u16.to_le_bytes());
    neg_req[2] = 2;
    neg_req.extend_from_slice(&0x0202u16.to_le_bytes());
    neg_req.extend_from_slice(&0x0210u16.to_le_bytes());
    let mut to_server = session_req.clone();
    to_server.extend(nb(&smb1));
    let mut to_client = vec![0x82, 0, 0, 0];
    to_client.extend(nb(&neg_resp(0x02ff, 0)));
    let recs = [
        (Direction::ToServer, &to_server[..]),
        (Direction::ToClient, &to_client[..]),
        (Direction::ToServer, &nb(&msg(0, false, 1, 0, &neg_req))[..]),
        (Direction::ToClient, &nb(&neg_resp(0x0210, 1))[..]),
    ];
    assert_eq!(
        probe(Direction::ToServer, &to_server, Transport::Tcp),
        Probe::Match
    );
    assert_eq!(
        probe(Direction::ToClient, &to_client, Transport::Tcp),
        Probe::Match
    );
    let ev = run_with(&recs, &|_, _| Vec::new());
    let s = smb(&ev);
    assert_eq!(s[0]["command"], "SMB1_COMMAND_NEGOTIATE_PROTOCOL");
    assert_eq!(s[0]["dialect"], "2.??");
    assert_eq!(
        s[0]["client_dialects"],
        serde_json::json!(["NT LM 0.12", "SMB 2.002", "SMB 2.???"])
    );
    assert_eq!(s[1]["command"], "SMB2_COMMAND_NEGOTIATE_PROTOCOL");
    assert_eq!(s[1]["dialect"], "2.10");
    assert_eq!(s[1]["client_dialects"], serde_json::json!(["2.02", "2.10"]));
    assert_eq!(summary(&ev)["dialect"], "2.10");
    assert!(summary(&ev).get("desyncs").is_none());
    assert_eq!(ev, run_with(&recs, &|_, d| (1..d.len()).collect()));
}

/// Floods of unanswered requests and of open handles stay within the table bounds and
/// are still reported.
#[test]
fn tables_stay_bounded() {
    use build::*;
    let mut recs: Vec<(Direction, Vec<u8>)> = Vec::new();
    let mut creates = Vec::new();
    for i in 0..5000u64 {
        creates.extend(nb(&create(10_000 + i, 0, "x", [0; 16]).0));
    }
    recs.push((Direction::ToServer, creates));
    for i in 0..5000u64 {
        let mut fid = [0u8; 16];
        fid[..8].copy_from_slice(&i.to_le_bytes());
        let (rq, rr) = read(i, 0, fid, 10);
        recs.push((Direction::ToServer, nb(&rq)));
        recs.push((Direction::ToClient, nb(&rr)));
    }
    let borrowed: Vec<(Direction, &[u8])> = recs.iter().map(|(d, x)| (*d, &x[..])).collect();
    let ev = run_with(&borrowed, &|_, _| Vec::new());
    let c = commands(&ev, "SMB2_COMMAND_CREATE");
    assert_eq!(c.len(), 5000);
    assert!(c.iter().all(|c| c["response_done"] == false));
    // Ids follow the requests, whatever order they were evicted in.
    assert!(c
        .windows(2)
        .all(|w| w[0]["id"].as_u64() < w[1]["id"].as_u64()));
    let f = files(&ev);
    assert_eq!(f.len(), 5000);
    assert!(f
        .iter()
        .all(|e| e.fields["fileinfo"]["state"] == "TRUNCATED"));
    assert_eq!(summary(&ev)["bytes_read"], 50_000);
}

fn stream_hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
