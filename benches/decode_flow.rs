//! Per-packet cost of the worker path: decode + flow-table update, on frames taken from
//! the bundled captures (real traffic) and replayed from memory, so no I/O is measured.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use exfil_sensor::decode::{decode, Decoded, LinkType};
use exfil_sensor::flow::table::{FlowTable, TableConfig};
use exfil_sensor::flow::Timeouts;
use std::hint::black_box;
use std::path::Path;

/// Frames (link type, wire length, bytes) of every bundled pcap, via libpcap.
fn frames() -> Vec<(LinkType, u32, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("pcaps/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    for f in files {
        let Ok(mut cap) = pcap::Capture::from_file(&f) else {
            continue;
        };
        let Some(link) = LinkType::from_dlt(cap.get_datalink().0) else {
            continue;
        };
        while let Ok(p) = cap.next_packet() {
            out.push((link, p.header.len, p.data.to_vec()));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let frames = frames();
    let bytes: u64 = frames.iter().map(|f| u64::from(f.1)).sum();
    let mut g = c.benchmark_group("worker_path");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("decode", |b| {
        let mut d = Decoded::default();
        b.iter(|| {
            for (link, _, data) in &frames {
                let _ = black_box(decode(*link, data, &mut d));
            }
        })
    });
    g.bench_function("decode+flow", |b| {
        let mut table = FlowTable::new(TableConfig {
            timeouts: Timeouts::default(),
            max_flows: 100_000,
            vlan_in_key: true,
        });
        let mut d = Decoded::default();
        let mut ts = 1_700_000_000_000_000u64;
        b.iter(|| {
            for (link, wire, data) in &frames {
                ts += 10;
                if decode(*link, data, &mut d).is_ok() && d.ip_version != 0 && d.fragment.is_none()
                {
                    black_box(table.packet(&d, 1, u64::from(*wire), ts));
                }
            }
            table.drain_ended().for_each(drop);
        })
    });
    g.finish();
    eprintln!("{} frames, {bytes} bytes per iteration", frames.len());
}

criterion_group!(benches, bench);
criterion_main!(benches);
