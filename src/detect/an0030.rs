//! AN0030: outbound flows with a disproportionate send:receive ratio to an uncommon port
//! or host, and "meaningless data in protocol payloads": bytes that do not fit the port's
//! protocol, and dense (high-entropy) data in DNS names or HTTP headers.

use super::alert::{Alert, AN0030_NONCONFORMING, AN0030_RATIO, AN0030_STUFFED_FIELD};
use super::baseline::DestKey;
use super::engine::{key, measured_flow, Candidate, Engine, Session};
use super::view::{family, human, View};
use crate::app::features::{DENSE_MIN_ENTROPY, DENSE_MIN_LEN};
use crate::app::ports::Mismatch;

impl Engine {
    pub(super) fn an0030(&self, v: &View, out: &mut Vec<Candidate>) {
        let cfg = &self.cfg.an0030;
        let own = Session {
            id: v.rec.flow_id,
            sent: v.sent,
            received: v.received,
            flows: vec![v.rec.flow_id],
        };
        let payload_out = if v.host_is_client {
            v.rec.payload[0]
        } else {
            v.rec.payload[1]
        };
        if v.host_is_client
            && !v.peer_internal
            && v.rec.app.mismatch == Some(Mismatch::PortProtocolAbsent)
            && payload_out >= cfg.nonconforming_min_bytes
        {
            let expected = v.rec.app.expected.map_or("its protocol", |p| p.name());
            let a = Alert::new(
                &AN0030_NONCONFORMING,
                v.rec,
                format!(
                    "{} sent {} of payload to {} port {} that is not {}: the bytes do not fit the port's protocol.",
                    v.host,
                    human(payload_out),
                    v.peer,
                    v.peer_port,
                    expected
                ),
            )
            .measured("payload_bytes_out", payload_out)
            .measured("app_proto_expected", expected)
            .threshold("detect.an0030.nonconforming_min_bytes", cfg.nonconforming_min_bytes);
            out.push(Candidate {
                alert: measured_flow(a, v, &own),
                key: v.rec.flow_id,
            });
        }
        // Data channels and TFTP transfers use negotiated ports: their session is judged instead.
        if !v.outbound() || !v.host_is_client || v.rec.app.parent_flow_id.is_some() {
            return;
        }
        if v.sent < cfg.min_bytes_out || v.ratio() < cfg.min_ratio {
            return;
        }
        let transport = v.rec.proto;
        let app = family(v.proto);
        let common_port = app.is_named() && self.ports.is_standard(transport, v.peer_port, app);
        let rare_host = self.mature()
            && self
                .baseline
                .rarity(&DestKey::Ip(v.peer), v.host, v.peer_port)
                .rare(self.cfg.baseline.rare_max_hosts);
        if common_port && !rare_host {
            return;
        }
        let why = match (common_port, rare_host) {
            (false, true) => "an uncommon port and a destination rare for this network",
            (false, false) => "a port not registered for its protocol",
            _ => "a destination rare for this network",
        };
        let a = Alert::new(
            &AN0030_RATIO,
            v.rec,
            format!(
                "{} sent {} to {}:{} and received {} (ratio {:.0}:1), over {}.",
                v.host,
                human(v.sent),
                v.peer,
                v.peer_port,
                human(v.received),
                v.ratio(),
                why
            ),
        )
        .measured("uncommon_port", !common_port)
        .measured("rare_destination", rare_host)
        .threshold("detect.an0030.min_bytes_out", cfg.min_bytes_out)
        .threshold("detect.an0030.min_ratio", cfg.min_ratio);
        out.push(Candidate {
            alert: measured_flow(a, v, &own),
            key: v.rec.flow_id,
        });
    }

    /// Dense fields per host and destination (domain or server) within the window.
    pub(super) fn stuffed(&mut self, v: &View, dest: &str, field: &str, out: &mut Vec<Candidate>) {
        let cfg = &self.cfg.an0030;
        let k = (v.host, dest.to_string());
        let (count, flows) = self.dense.sum(&k, v.rec.last_us);
        if count < cfg.stuffed_min_count {
            return;
        }
        let mut a = Alert::new(
            &AN0030_STUFFED_FIELD,
            v.rec,
            format!(
                "{} sent {} distinct high-entropy values (at least {} bytes, {:.1} bits/byte) in {} to {} within {} s.",
                v.host,
                count,
                DENSE_MIN_LEN,
                DENSE_MIN_ENTROPY,
                field,
                dest,
                self.cfg.an0367.dns_window_secs
            ),
        )
        .measured("dense_fields", count)
        .measured("field", field.to_string())
        .measured("destination", dest.to_string())
        .measured("host", v.host.to_string())
        .threshold("detect.an0030.stuffed_min_count", cfg.stuffed_min_count);
        if let Some(d) = &v.rec.app.features.densest {
            a = a
                .measured("densest_field_len", d.len)
                .measured("densest_field_entropy", f64::from(d.entropy_milli) / 1000.0);
        }
        a.related_flows = flows;
        out.push(Candidate {
            alert: a,
            key: key((v.host, dest)),
        });
    }
}
