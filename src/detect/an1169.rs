//! AN1169: FTP/SMB/TFTP with large outbound or strongly unbalanced volume; severity rises
//! when endpoint telemetry names a suspicious process (powershell, cmd, rundll32, ...).

use super::alert::{Alert, AN1169_LARGE_UNBALANCED, AN1169_SUSPICIOUS_PROCESS};
use super::engine::{measured_flow, Candidate, Engine, Session};
use super::view::{human, is_file_transfer, View};

impl Engine {
    pub(super) fn an1169(&self, v: &View, s: &Session, out: &mut Vec<Candidate>) {
        if !is_file_transfer(v.proto) {
            return;
        }
        let cfg = &self.cfg.an1169;
        let suspicious = v
            .rec
            .process
            .as_ref()
            .filter(|p| self.policy.suspicious.contains(&p.name));
        let large = v.outbound() && s.sent >= cfg.min_bytes_out && s.ratio() >= cfg.min_ratio;
        if large {
            let mut a = Alert::new(
                &AN1169_LARGE_UNBALANCED,
                v.rec,
                format!(
                    "{} sent {} over {} to {} and received {} (ratio {:.1}:1), above {} and {:.0}:1.",
                    v.host,
                    human(s.sent),
                    v.proto.name(),
                    v.peer,
                    human(s.received),
                    s.ratio(),
                    human(cfg.min_bytes_out),
                    cfg.min_ratio
                ),
            )
            .threshold("detect.an1169.min_bytes_out", cfg.min_bytes_out)
            .threshold("detect.an1169.min_ratio", cfg.min_ratio);
            if let Some(p) = suspicious {
                a.severity = 1;
                a.reason
                    .push_str(&format!(" The process was {}, a suspicious image.", p.name));
            }
            let mut a = measured_flow(a, v, s);
            a.related_flows = s.flows.clone();
            out.push(Candidate {
                alert: a,
                key: s.id,
            });
        }
        // Already said, at raised severity, by the alert above.
        let Some(p) = suspicious.filter(|_| !large) else {
            return;
        };
        // Lateral copies by a suspicious process matter too, not only outbound ones.
        if s.sent >= cfg.suspicious_min_bytes && (v.outbound() || v.peer_internal) {
            let a = Alert::new(
                &AN1169_SUSPICIOUS_PROCESS,
                v.rec,
                format!(
                    "{} ({}) moved {} over {} to {}: {} is on the suspicious-process list.",
                    p.name,
                    v.host,
                    human(s.sent),
                    v.proto.name(),
                    v.peer,
                    p.name
                ),
            )
            .measured("process_name", p.name.clone())
            .threshold(
                "detect.an1169.suspicious_min_bytes",
                cfg.suspicious_min_bytes,
            )
            .threshold(
                "detect.suspicious_processes",
                self.policy.suspicious.clone(),
            );
            let mut a = measured_flow(a, v, s);
            a.related_flows = s.flows.clone();
            out.push(Candidate {
                alert: a,
                key: s.id,
            });
        }
    }
}
