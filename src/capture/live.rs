//! Live capture from a network interface through libpcap.

use super::{ts_micros, Frame, FrameSink};
use crate::decode::LinkType;
use crate::stats::{lock, StatsHub};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Options for opening an interface.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub interface: String,
    pub snaplen: u32,
    pub promiscuous: bool,
    pub buffer_mb: u32,
    pub bpf: Option<String>,
}

/// How often the loop wakes without traffic, to flush batches and time out flows.
const READ_TIMEOUT_MS: i32 = 100;

pub fn open(o: &LiveOptions) -> Result<pcap::Capture<pcap::Active>, String> {
    let cap = pcap::Capture::from_device(o.interface.as_str())
        .map_err(|e| format!("interface {}: {e}", o.interface))?
        .promisc(o.promiscuous)
        .snaplen(o.snaplen as i32)
        .buffer_size(o.buffer_mb.saturating_mul(1024 * 1024).min(i32::MAX as u32) as i32)
        .timeout(READ_TIMEOUT_MS)
        .open()
        .and_then(|c| c.setnonblock())
        .map_err(|e| format!("cannot capture on {}: {e}", o.interface))?;
    let mut cap = cap;
    if let Some(f) = &o.bpf {
        cap.filter(f, true)
            .map_err(|e| format!("BPF filter `{f}`: {e}"))?;
    }
    Ok(cap)
}

fn wall_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Capture until `stop` is set or the interface fails (e.g. it vanished): that error is returned.
pub fn run(
    mut cap: pcap::Capture<pcap::Active>,
    stop: &AtomicBool,
    stats: &StatsHub,
    sink: &mut dyn FrameSink,
) -> Result<(), String> {
    let link = LinkType::from_dlt(cap.get_datalink().0);
    let mut last_idle = Instant::now();
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        match cap.next_packet() {
            Ok(p) => {
                let f = Frame {
                    ts_us: ts_micros(p.header),
                    wire_len: p.header.len.max(p.data.len() as u32),
                    data: p.data,
                };
                if !sink.frame(link, f) {
                    break Ok(());
                }
            }
            // Non-blocking read found nothing: wait for the descriptor, bounded, so the
            // stop flag is seen even on a silent link (libpcap's own read timeout does
            // not fire on Linux when no packet arrives).
            Err(pcap::Error::TimeoutExpired) => wait_readable(cap.as_raw_fd()),
            Err(e) => break Err(format!("capture failed: {e}")),
        }
        // Bound latency under light traffic: flush batches and advance the clock regularly.
        if last_idle.elapsed() >= Duration::from_millis(READ_TIMEOUT_MS as u64) {
            last_idle = Instant::now();
            sink.idle(wall_micros());
            publish_kernel_stats(&mut cap, stats);
        }
    };
    publish_kernel_stats(&mut cap, stats);
    result
}

fn wait_readable(fd: std::os::fd::RawFd) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call; errors (EINTR on a signal)
    // just end the wait early, which is what we want.
    unsafe {
        libc::poll(&mut pfd, 1, READ_TIMEOUT_MS);
    }
}

fn publish_kernel_stats(cap: &mut pcap::Capture<pcap::Active>, stats: &StatsHub) {
    if let Ok(s) = cap.stats() {
        let mut c = lock(&stats.capture);
        c.kernel_packets = u64::from(s.received);
        c.kernel_drops = u64::from(s.dropped);
        c.kernel_ifdrops = u64::from(s.if_dropped);
    }
}
