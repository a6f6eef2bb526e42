//! The periodic `stats` event: Suricata's counter names where Suricata has the counter,
//! the rest (decode errors by reason, drops by cause, end reasons) under `exfil.stats`.

use super::timefmt::ts;
use crate::app::AppProto;
use crate::decode::DecodeError;
use crate::detect::engine::{DetectCounters, ANALYTICS};
use crate::flow::EndReason;
use crate::stats::{Snapshot, LAYER_NAMES};
use serde_json::{json, Map, Value};

pub fn stats_event(s: &Snapshot, now_us: u64) -> Value {
    let c = &s.capture;
    let w = &s.worker;
    let f = &w.flow;
    let d = &w.defrag;
    let invalid: u64 = c.decode_errors.iter().sum::<u64>() + c.unsupported_link;

    let mut decoder = Map::new();
    decoder.insert("pkts".into(), json!(c.packets));
    decoder.insert("bytes".into(), json!(c.bytes));
    decoder.insert("invalid".into(), json!(invalid));
    decoder.insert("max_pkt_size".into(), json!(c.max_pkt_size));
    decoder.insert(
        "avg_pkt_size".into(),
        json!(c.bytes.checked_div(c.packets).unwrap_or(0)),
    );
    for (name, n) in LAYER_NAMES.iter().zip(w.layers) {
        // Suricata has no `nflog` or `fragment` decoder counter; those go under exfil.
        if !matches!(*name, "nflog" | "fragment" | "arp") {
            decoder.insert((*name).into(), json!(n));
        }
    }
    decoder.insert("arp".into(), json!(c.arp));

    let decode_errors: Map<String, Value> = DecodeError::ALL
        .iter()
        .zip(c.decode_errors.iter().chain(std::iter::repeat(&0)))
        .filter(|(_, &n)| n > 0)
        .map(|(e, &n)| (e.name().to_string(), json!(n)))
        .collect();
    let ended: Map<String, Value> = EndReason::ALL
        .iter()
        .map(|r| (r.name().to_string(), json!(f.ended[*r as usize])))
        .collect();

    let a = &w.app;
    let flows =
        |p: AppProto, t: usize| a.flows[t][AppProto::ALL.iter().position(|x| *x == p).unwrap_or(0)];
    let mut app_flow = Map::new();
    for p in AppProto::ALL.iter().filter(|p| p.is_named()) {
        match p {
            AppProto::Dns => {
                app_flow.insert("dns_tcp".into(), json!(flows(*p, 0)));
                app_flow.insert("dns_udp".into(), json!(flows(*p, 1)));
            }
            _ => {
                app_flow.insert(p.name().into(), json!(flows(*p, 0) + flows(*p, 1)));
            }
        }
    }
    app_flow.insert("failed_tcp".into(), json!(flows(AppProto::Failed, 0)));
    app_flow.insert("failed_udp".into(), json!(flows(AppProto::Failed, 1)));
    let st = &a.stream;
    let e = &s.endpoint;

    json!({
        "timestamp": ts(now_us),
        "event_type": "stats",
        "stats": {
            "uptime": s.uptime_secs,
            "capture": {
                "kernel_packets": c.kernel_packets,
                "kernel_drops": c.kernel_drops,
                "kernel_ifdrops": c.kernel_ifdrops,
                "errors": c.file_errors,
            },
            "decoder": decoder,
            "flow": {
                "total": f.created,
                "active": f.active,
                "tcp": f.created_tcp,
                "udp": f.created_udp,
                "icmpv4": f.created_icmpv4,
                "icmpv6": f.created_icmpv6,
                "memuse": f.memuse,
                "tcp_reuse": f.ended[EndReason::TcpReuse as usize],
                "end": { "state": {
                    "new": f.ended_state[0],
                    "established": f.ended_state[1],
                    "closed": f.ended_state[2],
                }},
                "wrk": { "flows_evicted": f.ended[EndReason::Memcap as usize] },
            },
            "app_layer": { "flow": app_flow, "expectations": a.expectations_added },
            "tcp": {
                "reassembly_gap": st.gaps,
                "overlap": st.overlaps,
                "overlap_diff_data": st.overlap_diff_data,
                "midstream_pickups": st.midstream,
                "segment_memcap_drop": st.memcap_drops,
                "stream_depth_reached": st.depth_reached,
                "reassembly_memuse": a.stream_memuse,
            },
            "defrag": {
                "ipv4": { "fragments": d.fragments_v4, "reassembled": d.reassembled_v4 },
                "ipv6": { "fragments": d.fragments_v6, "reassembled": d.reassembled_v6 },
                "max_trackers_reached": d.max_trackers_reached,
                "memuse": w.defrag_memuse,
                "wrk": { "tracker_timeout": d.timeouts },
            },
        },
        "exfil": { "stats": {
            "packets_to_workers": w.packets,
            "decoder": {
                "nflog": w.layers[LAYER_NAMES.iter().position(|n| *n == "nflog").unwrap_or(0)],
                "other_l3": c.other_l3,
                "unsupported_link": c.unsupported_link,
                "errors": decode_errors,
            },
            "drops": {
                "queue": c.queue_drops,
                "kernel": c.kernel_drops,
                "kernel_if": c.kernel_ifdrops,
                "decode": invalid,
                "defrag_memcap": d.memcap_drops,
                "defrag_too_large": d.too_large,
                "stream_memcap": st.memcap_drops,
                "stream_gap_bytes": st.gap_bytes,
                "defrag_timeout": d.timeouts,
                "defrag_max_trackers": d.max_trackers_reached,
                "reassembled_invalid": w.reassembled_invalid,
                "output_write_errors": s.output.write_errors,
            },
            "defrag": { "overlaps": d.overlaps },
            "app": {
                "events": a.events,
                "upgrades": a.upgrades,
                "expectations_matched": a.expectations_matched,
                "expectations_evicted": a.expectations_evicted,
                "expectations_expired": a.expectations_expired,
                "flows_unknown_payload": flows(AppProto::Unknown, 0) + flows(AppProto::Unknown, 1),
            },
            "stream": {
                "segments": st.segments,
                "in_order": st.in_order,
                "out_of_order": st.out_of_order,
                "retransmissions": st.retransmissions,
                "gap_bytes": st.gap_bytes,
            },
            "flow": { "ended": ended },
            "detect": detect_stats(&s.detect),
            "input": { "files": c.files_read, "file_errors": c.file_errors },
            "output": { "events": s.output.events, "reopens": s.output.reopens },
            "endpoint": {
                "records_read": e.records_read,
                "by_format": { "ecs": e.ecs, "sysmon": e.sysmon },
                "ignored_event_ids": e.ignored_event_ids,
                "malformed": e.malformed,
                "indexed": e.indexed,
                "evicted": e.evicted,
                "expired": e.expired,
                "index_records": e.index_records,
                "flows_joined": e.flows_joined,
                "flows_unjoined": e.flows_unjoined,
                "flows_outside_tolerance": e.flows_outside_tolerance,
                "records_never_joined": e.records_never_joined,
                "flows_held": e.flows_held,
                "hold_overflow": e.hold_overflow,
                "held_now": e.held_now,
                "file_rotations": e.file_rotations,
                "file_truncations": e.file_truncations,
                "socket_clients": e.socket_clients,
                "socket_clients_rejected": e.socket_clients_rejected,
            },
        }},
    })
}

fn detect_stats(d: &DetectCounters) -> Value {
    let alerts: serde_json::Map<String, Value> = ANALYTICS
        .iter()
        .zip(d.alerts)
        .map(|(a, n)| (a.to_string(), n.into()))
        .collect();
    json!({
        "records": d.records,
        "interim_records": d.interim_records,
        "alerts": alerts,
        "alerts_folded": d.folded,
        "allowlisted": d.allowlisted,
        "expired_allowlist_hits": d.expired_allowlist_hits,
        "baseline": {
            "cells": d.baseline_cells,
            "destinations": d.baseline_destinations,
            "evicted": d.baseline_evicted,
            "saves": d.baseline_saves,
            "save_errors": d.baseline_save_errors,
            "rebuilt": d.baseline_rebuilt,
        },
        "window_evicted": d.window_evicted,
    })
}
