//! Replay of pcap/pcapng files in the order given; directories are expanded to their
//! regular files sorted by name. Classic pcap files are read from a memory map
//! ([`super::pcapmap`]); pcapng files and filtered replays go through libpcap.

use super::pcapmap::PcapMap;
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
    // Records libpcap must skip: the mapped reader delivered them before a record it
    // leaves to libpcap's rules.
    let mut skip = 0;
    if bpf.is_none() {
        if let Some(map) = PcapMap::open(path) {
            let mut feed = Feed {
                link: link_of(path, map.dlt()),
                n: 0,
            };
            sink.mapped(Some(map.shared()));
            let mut records = map.records();
            let mut stopped = false;
            for f in records.by_ref() {
                if !feed.frame(f, stop, sink, last_ts) {
                    stopped = true;
                    break;
                }
            }
            sink.mapped(None);
            if stopped || !records.stopped_early() {
                return Ok(());
            }
            skip = records.delivered();
        }
    }
    let mut cap = pcap::Capture::from_file(path).map_err(|e| e.to_string())?;
    if let Some(f) = bpf {
        cap.filter(f, true)
            .map_err(|e| format!("BPF filter `{f}`: {e}"))?;
    }
    let link = LinkType::from_dlt(cap.get_datalink().0);
    let mut feed = Feed {
        link: if skip == 0 {
            link_of(path, cap.get_datalink().0)
        } else {
            link
        },
        n: skip,
    };
    loop {
        match cap.next_packet() {
            Ok(_) if skip > 0 => skip -= 1,
            Ok(p) => {
                let f = Frame {
                    ts_us: ts_micros(p.header),
                    wire_len: p.header.len.max(p.data.len() as u32),
                    data: p.data,
                };
                if !feed.frame(f, stop, sink, last_ts) {
                    return Ok(());
                }
            }
            Err(pcap::Error::NoMorePackets) => return Ok(()),
            Err(e) => return Err(format!("read error after {} packets: {e}", feed.n)),
        }
    }
}

/// The decoder's link type for a file's DLT; an unknown one is reported once per file.
fn link_of(path: &Path, dlt: i32) -> Option<LinkType> {
    let link = LinkType::from_dlt(dlt);
    if link.is_none() {
        eprintln!(
            "exfil-sensor: {}: link type {dlt} is not decoded; its frames are counted as unsupported",
            path.display(),
        );
    }
    link
}

/// Hands one file's frames to the sink, whichever reader produced them.
struct Feed {
    link: Option<LinkType>,
    /// Frames delivered so far.
    n: u64,
}

impl Feed {
    /// False when replay of this file should stop (the sink asked, or `stop` is set).
    #[inline]
    fn frame(
        &mut self,
        f: Frame<'_>,
        stop: &AtomicBool,
        sink: &mut dyn FrameSink,
        last_ts: &mut u64,
    ) -> bool {
        *last_ts = (*last_ts).max(f.ts_us);
        if !sink.frame(self.link, f) {
            return false;
        }
        self.n += 1;
        // Check the stop flag every few thousand frames, not per frame.
        !(self.n % 4096 == 0 && stop.load(Ordering::Relaxed))
    }
}
