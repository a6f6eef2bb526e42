//! Replay of pcap/pcapng files (libpcap reads both) in the order given; directories are
//! expanded to their regular files sorted by name.

use super::{ts_micros, Frame, FrameSink};
use crate::decode::LinkType;
use crate::stats::{lock, StatsHub};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Expand `-r` arguments: files as given, directories to their files sorted by name.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(format!("{}: directory holds no files", p.display()));
            }
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        return Err("no input files".into());
    }
    Ok(out)
}

/// Replay every file into `sink`. A file that cannot be opened, or that breaks off
/// (truncated, corrupt), is logged and counted, and replay continues with the next one.
pub fn replay(
    files: &[PathBuf],
    bpf: Option<&str>,
    stop: &AtomicBool,
    stats: &StatsHub,
    sink: &mut dyn FrameSink,
) {
    let mut last_ts = 0;
    for path in files {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        lock(&stats.capture).files_read += 1;
        if let Err(e) = replay_one(path, bpf, stop, sink, &mut last_ts) {
            eprintln!(
                "exfil-sensor: {}: {e}; continuing with the next input",
                path.display()
            );
            lock(&stats.capture).file_errors += 1;
        }
        sink.idle(last_ts);
    }
}

fn replay_one(
    path: &Path,
    bpf: Option<&str>,
    stop: &AtomicBool,
    sink: &mut dyn FrameSink,
    last_ts: &mut u64,
) -> Result<(), String> {
    let mut cap = pcap::Capture::from_file(path).map_err(|e| e.to_string())?;
    if let Some(f) = bpf {
        cap.filter(f, true)
            .map_err(|e| format!("BPF filter `{f}`: {e}"))?;
    }
    let link = LinkType::from_dlt(cap.get_datalink().0);
    if link.is_none() {
        eprintln!(
            "exfil-sensor: {}: link type {} is not decoded; its frames are counted as unsupported",
            path.display(),
            cap.get_datalink().0
        );
    }
    let mut n: u64 = 0;
    loop {
        match cap.next_packet() {
            Ok(p) => {
                let ts = ts_micros(p.header);
                *last_ts = (*last_ts).max(ts);
                let f = Frame {
                    ts_us: ts,
                    wire_len: p.header.len.max(p.data.len() as u32),
                    data: p.data,
                };
                if !sink.frame(link, f) {
                    return Ok(());
                }
                n += 1;
                // Check the stop flag every few thousand frames, not per frame.
                if n % 4096 == 0 && stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
            }
            Err(pcap::Error::NoMorePackets) => return Ok(()),
            Err(e) => return Err(format!("read error after {n} packets: {e}")),
        }
    }
}
