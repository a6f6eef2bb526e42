//! Wiring: capture thread → N workers (sharded) → [endpoint join] → detection → output thread.

pub mod batch;
pub mod dispatch;
pub mod worker;

use crate::app::ports::PortRegistry;
use crate::app::session::AppLayer;
use crate::capture::{files, live};
use crate::config::Config;
use crate::decode::Defragmenter;
use crate::detect::baseline::Baseline;
use crate::detect::engine::Engine;
use crate::detect::merge::FlushGate;
use crate::detect::DetectStage;
use crate::endpoint::EndpointStage;
use crate::flow::table::{FlowTable, TableConfig};
use crate::flow::{EndReason, Flow};
use crate::output::writer::EveWriter;
use crate::output::{OutMsg, OutputThread};
use crate::stats::{lock, StatsHub};
use crate::stream::StreamConfig;
use batch::ToWorker;
use dispatch::{Dispatcher, QueueMode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;
use worker::{Interim, Worker};

/// Process-wide control flags set by signal handlers.
#[derive(Clone, Default)]
pub struct Control {
    /// SIGINT/SIGTERM: stop capturing, flush every flow, exit.
    pub stop: Arc<AtomicBool>,
    /// SIGHUP: reopen the output file.
    pub reopen: Arc<AtomicBool>,
}

/// What a run did, for the closing log line and the exit code.
#[derive(Debug)]
pub struct Summary {
    pub packets: u64,
    pub flows: u64,
    pub events: u64,
    pub file_errors: u64,
    /// Live capture ended because the interface failed.
    pub capture_error: Option<String>,
}

/// Messages queued between two stages after the workers.
const QUEUE_MSGS: usize = 64;

/// Per-flow memory of the table, used to turn `flow.memcap_mb` into a flow cap.
pub fn flow_footprint() -> usize {
    std::mem::size_of::<Option<Flow>>() + 8
}

/// Run the sensor until input ends or `ctl.stop` is set.
pub fn run(cfg: &Config, ctl: &Control) -> Result<Summary, String> {
    let workers_n = cfg.workers();
    let home_net = cfg.home_net()?;
    let ports = cfg.ports()?;
    // Open inputs and output before starting threads, so bad paths fail fast and clearly.
    let writer = EveWriter::open(cfg.output.eve_path.clone().filter(|p| p.as_os_str() != "-"))?;
    let source = if let Some(ifname) = &cfg.capture.interface {
        let cap = live::open(&live::LiveOptions {
            interface: ifname.clone(),
            snaplen: cfg.capture.snaplen,
            promiscuous: cfg.capture.promiscuous,
            buffer_mb: cfg.capture.buffer_mb,
            bpf: cfg.capture.bpf.clone(),
        })?;
        eprintln!(
            "exfil-sensor: capturing on {ifname} (link type {}), {workers_n} workers",
            cap.get_datalink().0
        );
        Source::Live(cap)
    } else {
        Source::Files(files::expand_inputs(&cfg.capture.files)?)
    };

    let stats = Arc::new(StatsHub::new(workers_n));
    // Endpoint feeds open here too (a bad file or socket path fails before any thread runs).
    let endpoint = EndpointStage::open(
        &cfg.endpoint,
        cfg.output.community_id_seed,
        matches!(source, Source::Live(_)),
        stats.clone(),
    )?;
    let engine = detection(cfg, &ports, endpoint.is_some())?;
    // Messages carry up to ~256 events (see the worker's send thresholds): QUEUE_MSGS of
    // them bound what waits between two stages to a few MB.
    let (out_tx, out_rx) = crossbeam_channel::bounded::<OutMsg>(QUEUE_MSGS);
    let output = OutputThread {
        writer,
        stats: stats.clone(),
        stats_interval: (cfg.output.stats_interval_secs > 0)
            .then(|| Duration::from_secs(cfg.output.stats_interval_secs)),
        community_id_seed: cfg.output.community_id_seed,
        home_net,
        reopen: ctl.reopen.clone(),
    };
    let out_handle = spawn("output", move || output.run(out_rx))?;
    // Workers feed the detection stage, which feeds the output.
    let (det_tx, det_rx) = crossbeam_channel::bounded::<OutMsg>(QUEUE_MSGS);
    let gate = Arc::new(FlushGate::default());
    let detect = DetectStage::new(
        engine,
        stats.clone(),
        Duration::from_secs(cfg.detect.baseline.save_interval_secs.max(1)),
        workers_n,
        gate.clone(),
    );
    let det_handle = spawn("detect", move || detect.run(det_rx, out_tx))?;
    // With endpoint telemetry, its stage sits between the workers and the detectors, so
    // every flow is judged with its process already joined.
    let (det_tx, ep_handle) = match endpoint {
        Some(st) => {
            let (tx, rx) = crossbeam_channel::bounded::<OutMsg>(QUEUE_MSGS);
            (tx, Some(spawn("endpoint", move || st.run(rx, det_tx))?))
        }
        None => (det_tx, None),
    };

    let (recycle_tx, recycle_rx) = crossbeam_channel::unbounded();
    let table_cfg = TableConfig {
        timeouts: cfg.flow.timeouts,
        max_flows: cfg.flows_per_worker(flow_footprint()),
        vlan_in_key: cfg.flow.vlan_in_key,
    };
    let mut senders = Vec::with_capacity(workers_n);
    let mut handles = Vec::with_capacity(workers_n);
    for id in 0..workers_n {
        let (tx, rx) = crossbeam_channel::bounded::<ToWorker>(cfg.runtime.queue_batches);
        senders.push(tx);
        let app = cfg.app.enabled.then(|| {
            AppLayer::new(
                StreamConfig {
                    depth: cfg.app.stream_depth_kb.saturating_mul(1024),
                    max_buffered: cfg.app.stream_max_buffered_kb.saturating_mul(1024),
                },
                cfg.app.stream_memcap_mb.saturating_mul(1024 * 1024),
                ports.clone(),
                cfg.output.community_id_seed,
            )
        });
        let w = Worker::new(
            id,
            FlowTable::new(table_cfg),
            Defragmenter::new(cfg.defrag()),
            app,
            stats.clone(),
            det_tx.clone(),
            recycle_tx.clone(),
        )
        .with_flush_gate(gate.clone())
        .with_interim(cfg.detect.enabled.then(|| {
            Interim::new(
                cfg.detect.interim_secs.max(1) * 1_000_000,
                cfg.detect.interim_min_bytes(),
            )
        }));
        handles.push(spawn(&format!("worker-{id}"), move || w.run(rx))?);
    }
    drop(det_tx);
    drop(recycle_tx);

    let mode = match source {
        Source::Live(_) => QueueMode::Drop,
        Source::Files(_) => QueueMode::Block,
    };
    let mut dispatcher = Dispatcher::new(
        senders,
        recycle_rx,
        cfg.runtime.batch_packets,
        mode,
        stats.clone(),
    );
    let stop = ctl.stop.clone();
    let bpf = cfg.capture.bpf.clone();
    let stats_c = stats.clone();
    let capture = spawn("capture", move || {
        let (result, reason) = match source {
            Source::Files(list) => {
                files::replay(&list, bpf.as_deref(), &stop, &stats_c, &mut dispatcher);
                let r = if stop.load(Ordering::Relaxed) {
                    EndReason::Shutdown
                } else {
                    EndReason::EndOfInput
                };
                (Ok(()), r)
            }
            Source::Live(cap) => (
                live::run(cap, &stop, &stats_c, &mut dispatcher),
                EndReason::Shutdown,
            ),
        };
        dispatcher.finish(reason);
        result
    })?;

    let capture_result = capture
        .join()
        .unwrap_or_else(|_| Err("capture thread panicked".into()));
    for h in handles {
        if h.join().is_err() {
            eprintln!("exfil-sensor: a worker thread panicked; its flows are lost (see stats)");
        }
    }
    // The workers held the last senders: the endpoint and detection stages drain and end,
    // then the output thread writes the final stats event and exits.
    if ep_handle.is_some_and(|h| h.join().is_err()) {
        eprintln!("exfil-sensor: the endpoint thread panicked; flows it held are lost");
    }
    if det_handle.join().is_err() {
        eprintln!("exfil-sensor: the detection thread panicked; alerts may be missing");
    }
    if out_handle.join().is_err() {
        eprintln!("exfil-sensor: the output thread panicked; events may be missing");
    }

    let snap = stats.snapshot();
    let c = lock(&stats.capture).clone();
    Ok(Summary {
        packets: c.packets,
        flows: snap.worker.flow.created,
        events: snap.output.events,
        file_errors: c.file_errors,
        capture_error: capture_result.err(),
    })
}

/// The analytics engine, or None when detection is off. Problems a user must fix (an
/// unwritable state file) fail here, before any thread starts.
fn detection(
    cfg: &Config,
    ports: &PortRegistry,
    endpoint_feed: bool,
) -> Result<Option<Engine>, String> {
    if !cfg.detect.enabled {
        return Ok(None);
    }
    let policy = cfg.policy()?;
    let today = jiff::Zoned::now().date();
    for a in policy.expired(today) {
        eprintln!(
            "exfil-sensor: allowlist entry of {} expired on {} and no longer suppresses alerts ({})",
            a.owner, a.expires, a.comment
        );
    }
    if let Some(p) = cfg
        .detect
        .baseline
        .state_file
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        Baseline::check_writable(p)?;
    }
    Ok(Some(Engine::new(
        cfg.detect.clone(),
        policy,
        ports.clone(),
        cfg.detect.learn_only,
        endpoint_feed,
    )))
}

enum Source {
    Files(Vec<std::path::PathBuf>),
    Live(pcap::Capture<pcap::Active>),
}

fn spawn<F, T>(name: &str, f: F) -> Result<thread::JoinHandle<T>, String>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| format!("cannot start {name} thread: {e}"))
}
