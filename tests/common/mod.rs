//! Shared test helpers: run the binary, read its EVE output, and count flows in a pcap
//! independently of the sensor (pcap-file + etherparse + a few lines of link/tunnel
//! handling), as the oracle for per-direction packet and byte totals.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository, or None with a printed reason (tests then skip).
pub fn shared() -> Option<PathBuf> {
    let p = repo().join("../shared");
    if p.join("corpus/public/labels.jsonl").exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: ../shared is absent; conformance checks against the shared corpus are skipped"
        );
        None
    }
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exfil-sensor"))
}

/// Well-formed captures bundled in the repository (the deliberately corrupt ones are excluded).
pub fn repo_pcaps() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["pcaps", "pcaps/synth"] {
        if let Ok(rd) = std::fs::read_dir(repo().join(dir)) {
            for e in rd.flatten() {
                let p = e.path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let is_cap = name.ends_with(".pcap") || name.ends_with(".pcapng");
                if is_cap && !name.starts_with("corrupt-") && !name.starts_with("malformed-") {
                    v.push(p);
                }
            }
        }
    }
    v.sort();
    v
}

pub fn corpus_pcaps(shared: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared.join("corpus/public/pcaps"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Run the sensor on one input with extra args; returns parsed EVE lines and the raw output.
pub fn run(input: &Path, extra: &[&str]) -> (Vec<Value>, Output) {
    let out = bin()
        .arg("-r")
        .arg(input)
        .args(["--stats-interval", "0"])
        .args(extra)
        .output()
        .expect("run exfil-sensor");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad EVE line {l}: {e}")))
        .collect();
    (events, out)
}

/// One TCP/UDP conversation, endpoints ordered.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Conv {
    pub proto: u8,
    pub lo: (IpAddr, u16),
    pub hi: (IpAddr, u16),
}

/// [lo→hi, hi→lo] × (packets, bytes).
pub type Counts = [(u64, u64); 2];

fn conv(proto: u8, src: (IpAddr, u16), dst: (IpAddr, u16)) -> (Conv, usize) {
    if src <= dst {
        (
            Conv {
                proto,
                lo: src,
                hi: dst,
            },
            0,
        )
    } else {
        (
            Conv {
                proto,
                lo: dst,
                hi: src,
            },
            1,
        )
    }
}

/// Sum flow events per conversation and direction.
pub fn sensor_counts(events: &[Value]) -> HashMap<Conv, Counts> {
    let mut m: HashMap<Conv, Counts> = HashMap::new();
    for e in events.iter().filter(|e| e["event_type"] == "flow") {
        let proto = match e["proto"].as_str() {
            Some("TCP") => 6,
            Some("UDP") => 17,
            _ => continue,
        };
        let ip = |k: &str| e[k].as_str().unwrap().parse::<IpAddr>().unwrap();
        let port = |k: &str| e[k].as_u64().unwrap() as u16;
        let (c, d) = conv(
            proto,
            (ip("src_ip"), port("src_port")),
            (ip("dest_ip"), port("dest_port")),
        );
        let f = &e["flow"];
        let ts = (
            f["pkts_toserver"].as_u64().unwrap(),
            f["bytes_toserver"].as_u64().unwrap(),
        );
        let tc = (
            f["pkts_toclient"].as_u64().unwrap(),
            f["bytes_toclient"].as_u64().unwrap(),
        );
        let entry = m.entry(c).or_default();
        let (a, b) = if d == 0 { (ts, tc) } else { (tc, ts) };
        entry[0].0 += a.0;
        entry[0].1 += a.1;
        entry[1].0 += b.0;
        entry[1].1 += b.1;
    }
    m
}

/// A frame as read from a capture file: link type, wire length, bytes.
pub struct RawFrame {
    pub link: u32,
    pub wire_len: u64,
    pub data: Vec<u8>,
}

/// Read every frame of a pcap or pcapng file (stops quietly at a truncated tail).
pub fn read_frames(path: &Path) -> Vec<RawFrame> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let magic = bytes
        .get(..4)
        .map(|m| u32::from_le_bytes(m.try_into().unwrap()));
    if magic == Some(0x0A0D_0D0A) {
        let mut r = pcap_file::pcapng::PcapNgReader::new(&bytes[..]).unwrap();
        let mut links = Vec::new();
        while let Some(Ok(block)) = r.next_block() {
            use pcap_file::pcapng::Block;
            match block {
                Block::InterfaceDescription(i) => links.push(u32::from(i.linktype)),
                Block::EnhancedPacket(p) => out.push(RawFrame {
                    link: links[p.interface_id as usize],
                    wire_len: u64::from(p.original_len),
                    data: p.data.to_vec(),
                }),
                Block::SimplePacket(p) => out.push(RawFrame {
                    link: links[0],
                    wire_len: u64::from(p.original_len),
                    data: p.data.to_vec(),
                }),
                _ => {}
            }
        }
    } else {
        let mut r = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
        let link = u32::from(r.header().datalink);
        // Raw records: pcap-file rejects orig_len > snaplen, which is what truncation looks like.
        while let Some(Ok(p)) = r.next_raw_packet() {
            out.push(RawFrame {
                link,
                wire_len: u64::from(p.orig_len),
                data: p.data.to_vec(),
            });
        }
    }
    out
}

/// The innermost IP packet of a frame: strip the link layer and any GRE/ERSPAN/VXLAN/IP-in-IP.
fn inner_ip(link: u32, data: &[u8]) -> Option<Vec<u8>> {
    let ip = match link {
        1 => return ether_ip(data, 0),
        0 | 108 => data.get(4..)?,
        12 | 14 | 101 | 228 | 229 => data,
        113 => {
            return ethertype_ip(
                u16::from_be_bytes([*data.get(14)?, *data.get(15)?]),
                data.get(16..)?,
                0,
            )
        }
        276 => {
            return ethertype_ip(
                u16::from_be_bytes([*data.first()?, *data.get(1)?]),
                data.get(20..)?,
                0,
            )
        }
        239 => nflog_payload(data)?,
        _ => return None,
    };
    decap(ip, 0)
}

fn ether_ip(data: &[u8], depth: u8) -> Option<Vec<u8>> {
    ethertype_ip(
        u16::from_be_bytes([*data.get(12)?, *data.get(13)?]),
        data.get(14..)?,
        depth,
    )
}

fn ethertype_ip(mut et: u16, mut rest: &[u8], depth: u8) -> Option<Vec<u8>> {
    while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
        et = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]);
        rest = rest.get(4..)?;
    }
    match et {
        0x0800 | 0x86dd => decap(rest, depth),
        // PPPoE session: 6-byte header, then PPP protocol 0x0021 (IPv4) / 0x0057 (IPv6).
        0x8864 if matches!(rest.get(6..8)?, [0, 0x21] | [0, 0x57]) => decap(rest.get(8..)?, depth),
        _ => None,
    }
}

fn nflog_payload(data: &[u8]) -> Option<&[u8]> {
    let mut off = 4;
    while off + 4 <= data.len() {
        let len = u16::from_le_bytes([data[off], data[off + 1]]) as usize;
        let ty = u16::from_le_bytes([data[off + 2], data[off + 3]]);
        if len < 4 {
            return None;
        }
        if ty == 9 {
            return data.get(off + 4..off + len);
        }
        off += (len + 3) & !3;
    }
    None
}

/// Follow tunnels inside an IP packet; returns the innermost IP packet.
fn decap(ip: &[u8], depth: u8) -> Option<Vec<u8>> {
    if depth > 4 {
        return None;
    }
    let p = etherparse::LaxSlicedPacket::from_ip(ip).ok()?;
    let payload = p.ip_payload()?;
    if payload.fragmented {
        return Some(ip.to_vec());
    }
    let body = payload.payload;
    match u8::from(payload.ip_number) {
        4 | 41 => decap(body, depth + 1),
        47 => {
            let flags = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
            if flags & 0x7 != 0 {
                return Some(ip.to_vec()); // GRE v1 (PPTP): not a mirror tunnel
            }
            let proto = u16::from_be_bytes([*body.get(2)?, *body.get(3)?]);
            let mut off = 4;
            for bit in [0x8000u16, 0x2000, 0x1000] {
                if flags & bit != 0 {
                    off += 4;
                }
            }
            let inner = body.get(off..)?;
            match proto {
                0x0800 | 0x86dd => decap(inner, depth + 1),
                0x6558 => ether_ip(inner, depth + 1),
                0x88be if flags & 0x1000 != 0 => ether_ip(inner.get(8..)?, depth + 1),
                0x88be => ether_ip(inner, depth + 1),
                0x22eb => {
                    let o = inner.get(11)? & 1 != 0;
                    ether_ip(inner.get(if o { 20 } else { 12 }..)?, depth + 1)
                }
                _ => Some(ip.to_vec()),
            }
        }
        17 => {
            let dport = u16::from_be_bytes([*body.get(2)?, *body.get(3)?]);
            if dport == 4789 && body.get(8)? & 0x08 != 0 {
                ether_ip(body.get(16..)?, depth + 1)
            } else {
                Some(ip.to_vec())
            }
        }
        _ => Some(ip.to_vec()),
    }
}

/// L4 ports of an (unfragmented or first-fragment) IP packet: (proto, src, dst).
/// (fragment id, byte offset, more fragments)
type FragPos = (u32, u32, bool);
type Endpoint = (IpAddr, u16);

fn tuple(ip: &[u8]) -> Option<(u8, Endpoint, Endpoint, Option<FragPos>)> {
    let p = etherparse::LaxSlicedPacket::from_ip(ip).ok()?;
    let (src, dst, frag): (IpAddr, IpAddr, Option<FragPos>) = match p.net.as_ref()? {
        etherparse::LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let frag = (h.more_fragments() || u16::from(h.fragments_offset()) != 0).then(|| {
                (
                    u32::from(h.identification()),
                    u32::from(u16::from(h.fragments_offset())) * 8,
                    h.more_fragments(),
                )
            });
            (h.source_addr().into(), h.destination_addr().into(), frag)
        }
        etherparse::LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let frag = v6.extensions().clone().into_iter().find_map(|x| match x {
                // Read offset and M flag from the raw header: etherparse 0.16's accessor
                // mis-decodes the offset.
                etherparse::Ipv6ExtensionSlice::Fragment(f) if f.is_fragmenting_payload() => {
                    let b = f.slice();
                    let off_m = u16::from_be_bytes([b[2], b[3]]);
                    Some((
                        f.identification(),
                        u32::from(off_m >> 3) * 8,
                        off_m & 1 != 0,
                    ))
                }
                _ => None,
            });
            (h.source_addr().into(), h.destination_addr().into(), frag)
        }
    };
    let payload = p.ip_payload()?;
    let proto = u8::from(payload.ip_number);
    let body = payload.payload;
    // A TCP header with an impossible data offset carries no flow (sensors count it as invalid).
    if proto == 6 && frag.is_none_or(|f| f.1 == 0) && body.get(12).is_some_and(|b| b >> 4 < 5) {
        return None;
    }
    let ports = if frag.is_some_and(|f| f.1 != 0) {
        (0, 0)
    } else if matches!(proto, 6 | 17) {
        (
            u16::from_be_bytes([*body.first()?, *body.get(1)?]),
            u16::from_be_bytes([*body.get(2)?, *body.get(3)?]),
        )
    } else {
        (0, 0)
    };
    if frag.is_some() && !matches!(proto, 6 | 17) {
        return None;
    }
    Some((proto, (src, ports.0), (dst, ports.1), frag))
}

/// Independent per-conversation counts of TCP and UDP traffic in a capture. Fragments
/// count toward the conversation of their datagram once the datagram is complete.
pub fn oracle_counts(path: &Path) -> HashMap<Conv, Counts> {
    #[derive(Default)]
    struct Frags {
        conv: Option<(Conv, usize)>,
        pkts: u64,
        bytes: u64,
        covered: u32,
        end: Option<u32>,
        invalid: bool,
    }
    let mut m: HashMap<Conv, Counts> = HashMap::new();
    let mut frags: HashMap<(IpAddr, IpAddr, u8, u32), Frags> = HashMap::new();
    for f in read_frames(path) {
        let Some(ip) = inner_ip(f.link, &f.data) else {
            continue;
        };
        let key_bad = |ip: &[u8]| frag_key(ip);
        let Some((proto, src, dst, frag)) = tuple(&ip) else {
            // A first fragment whose TCP header is invalid poisons its datagram.
            if let Some(k) = key_bad(&ip) {
                frags.entry(k).or_default().invalid = true;
            }
            continue;
        };
        if !matches!(proto, 6 | 17) {
            continue;
        }
        match frag {
            None => {
                let (c, d) = conv(proto, src, dst);
                let e = m.entry(c).or_default();
                e[d].0 += 1;
                e[d].1 += f.wire_len;
            }
            Some((id, off, more)) => {
                let len = frag_payload_len(&ip);
                let key = (src.0, dst.0, proto, id);
                let fr = frags.entry(key).or_default();
                fr.pkts += 1;
                fr.bytes += f.wire_len;
                fr.covered += len;
                if off == 0 {
                    fr.conv = Some(conv(proto, src, dst));
                }
                if !more {
                    fr.end = Some(off + len);
                }
                // Complete: attribute it and forget the id, which the sender may reuse.
                if fr.end.is_some_and(|e| fr.covered >= e) && (fr.conv.is_some() || fr.invalid) {
                    let fr = frags.remove(&key).unwrap();
                    if let (Some((c, d)), false) = (fr.conv, fr.invalid) {
                        let e = m.entry(c).or_default();
                        e[d].0 += fr.pkts;
                        e[d].1 += fr.bytes;
                    }
                }
            }
        }
    }
    m
}

/// Reassembly key of an IPv4 fragment (used when its transport header is unusable).
fn frag_key(ip: &[u8]) -> Option<(IpAddr, IpAddr, u8, u32)> {
    let p = etherparse::LaxSlicedPacket::from_ip(ip).ok()?;
    match p.net.as_ref()? {
        etherparse::LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            Some((
                h.source_addr().into(),
                h.destination_addr().into(),
                u8::from(h.protocol()),
                u32::from(h.identification()),
            ))
        }
        etherparse::LaxNetSlice::Ipv6(_) => None,
    }
}

fn frag_payload_len(ip: &[u8]) -> u32 {
    etherparse::LaxSlicedPacket::from_ip(ip)
        .ok()
        .and_then(|p| p.ip_payload().map(|x| x.payload.len() as u32))
        .unwrap_or(0)
}

/// Remove our extension object so the rest can be checked against Suricata's schema.
pub fn without_exfil(e: &Value) -> Value {
    let mut e = e.clone();
    if let Some(o) = e.as_object_mut() {
        o.remove("exfil");
    }
    e
}

/// Wait for a live sensor's "capturing on lo" line. The returned reader keeps the pipe
/// open: the sensor's later log lines must not hit a closed stderr.
pub fn wait_capturing(
    child: &mut std::process::Child,
) -> std::io::BufReader<std::process::ChildStderr> {
    use std::io::BufRead;
    let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr piped"));
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("capturing on lo"), "{line}");
    err
}
