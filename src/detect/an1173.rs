//! AN1173: large outbound FTP/TFTP/SMB sessions from internal hosts to external IPs;
//! file transfers on non-standard ports and application/port mismatches (FTP over 80).

use super::alert::{Alert, AN1173_NONSTANDARD_PORT, AN1173_PORT_MISMATCH, AN1173_VOLUME};
use super::engine::{measured_flow, Candidate, Engine, Session};
use super::view::{human, is_file_transfer, View};
use crate::app::ports::Mismatch;
use crate::app::AppProto;

impl Engine {
    pub(super) fn an1173(&self, v: &View, s: &Session, out: &mut Vec<Candidate>) {
        let cfg = &self.cfg.an1173;
        if is_file_transfer(v.proto) && v.outbound() && s.sent >= cfg.min_bytes_out {
            let a = Alert::new(
                &AN1173_VOLUME,
                v.rec,
                format!(
                    "{} sent {} to external {} over {} ({} flow(s) in the session), at or above the {} threshold.",
                    v.host,
                    human(s.sent),
                    v.peer,
                    v.proto.name(),
                    s.flows.len(),
                    human(cfg.min_bytes_out)
                ),
            )
            .threshold("detect.an1173.min_bytes_out", cfg.min_bytes_out);
            let mut a = measured_flow(a, v, s);
            a.related_flows = s.flows.clone();
            out.push(Candidate {
                alert: a,
                key: s.id,
            });
        }
        let in_scope =
            v.host_is_client && (v.peer_external || (cfg.mismatch_internal && v.peer_internal));
        let Some(m) = v.rec.app.mismatch.filter(|_| in_scope) else {
            return;
        };
        let rule = match m {
            Mismatch::PortProtocolMismatch => &AN1173_PORT_MISMATCH,
            Mismatch::NonStandardPort
                if is_file_transfer(v.proto) && v.proto != AppProto::FtpData =>
            {
                &AN1173_NONSTANDARD_PORT
            }
            _ => return,
        };
        let expected = v.rec.app.expected.map_or("no protocol", AppProto::name);
        let port_says = match v.rec.app.expected {
            Some(p) => format!("registered for {}", p.name()),
            None => format!("not a standard {} port", v.proto.name()),
        };
        let a = Alert::new(
            rule,
            v.rec,
            format!(
                "{} spoke {} to {} on port {}, which is {} ({}).",
                v.host,
                v.proto.name(),
                v.peer,
                v.peer_port,
                port_says,
                m.name()
            ),
        )
        .measured("mismatch", m.name())
        .measured("app_proto_expected", expected)
        .threshold("detect.an1173.mismatch_internal", cfg.mismatch_internal);
        out.push(Candidate {
            alert: measured_flow(a, v, s),
            key: v.rec.flow_id,
        });
    }
}
