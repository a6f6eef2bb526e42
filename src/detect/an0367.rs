//! AN0367: unusual outbound transfers over FTP, SMB, SMTP or DNS — outside business
//! hours, far above the host's baseline for that protocol and hour of the week, by a
//! process the host does not usually use for it, or data carried in DNS (tunnelling).

use super::alert::{
    Alert, Rule, AN0367_ABOVE_BASELINE, AN0367_DNS_VOLUME, AN0367_OFF_HOURS, AN0367_UNUSUAL_PROCESS,
};
use super::engine::{baselined, key, measured_flow, Candidate, Engine, Session};
use super::view::{family, human, View};
use crate::app::features::DnsVolume;
use crate::app::AppProto;

impl Engine {
    pub(super) fn an0367(&self, v: &View, s: &Session, out: &mut Vec<Candidate>) {
        let fam = family(v.proto);
        if !baselined(fam) || !v.outbound() {
            return;
        }
        // Relaying everyone's mail at all hours is what mail relays are for.
        if fam == AppProto::Smtp && self.policy.in_group("mail_relays", &v.host_addr) {
            return;
        }
        let cfg = &self.cfg.an0367;
        if fam != AppProto::Dns && !v.local.business && s.sent >= cfg.off_hours_min_bytes {
            let a = Alert::new(
                &AN0367_OFF_HOURS,
                v.rec,
                format!(
                    "{} sent {} over {} to {} at {} local time, outside business hours.",
                    v.host,
                    human(s.sent),
                    v.proto.name(),
                    v.peer,
                    v.local.describe()
                ),
            )
            .threshold("detect.an0367.off_hours_min_bytes", cfg.off_hours_min_bytes)
            .threshold("detect.business_hours", self.business_hours());
            let mut a = measured_flow(a, v, s);
            a.related_flows = s.flows.clone();
            out.push(Candidate {
                alert: a,
                key: s.id,
            });
        }
        self.above_baseline(v, s, fam, out);
        let min = (
            "detect.an0367.unusual_process_min_bytes",
            self.cfg.an0367.unusual_process_min_bytes,
        );
        self.unusual_process(&AN0367_UNUSUAL_PROCESS, v, s, fam, min, out);
    }

    fn above_baseline(&self, v: &View, s: &Session, fam: AppProto, out: &mut Vec<Candidate>) {
        let b = &self.cfg.baseline;
        if !self.mature() {
            return;
        }
        let how = v.local.hour_of_week();
        let (so_far, cell) = self.baseline.hour(v.host, fam, how, v.rec.first_us);
        let Some(cell) = cell.filter(|c| c.n >= b.min_samples) else {
            return;
        };
        let hour_bytes = so_far + v.sent;
        let limit = cell.limit(b.deviation);
        if hour_bytes < b.min_bytes || (hour_bytes as f64) < limit {
            return;
        }
        let spread = cell.dev.max(cell.mean * 0.1).max(1.0);
        let a = Alert::new(
            &AN0367_ABOVE_BASELINE,
            v.rec,
            format!(
                "{} sent {} over {} in this hour ({}); its usual for this hour of the week is {} (limit {}, {} weeks observed).",
                v.host,
                human(hour_bytes),
                fam.name(),
                v.local.describe(),
                human(cell.mean as u64),
                human(limit as u64),
                cell.n
            ),
        )
        .measured("hour_bytes_out", hour_bytes)
        .measured("baseline_mean", cell.mean.round())
        .measured("baseline_deviation", cell.dev.round())
        .measured("baseline_samples", cell.n)
        .measured("deviations_above_mean", ((hour_bytes as f64 - cell.mean) / spread * 10.0).round() / 10.0)
        .threshold("detect.baseline.deviation", b.deviation)
        .threshold("detect.baseline.min_bytes", b.min_bytes)
        .threshold("detect.baseline.min_samples", b.min_samples);
        out.push(Candidate {
            alert: measured_flow(a, v, s),
            key: key((v.host, fam, v.rec.first_us / 3_600_000_000)),
        });
    }

    /// A process the host has not used for `fam` before (endpoint telemetry, mature
    /// baseline) sent at least `min` (config key, bytes).
    pub(super) fn unusual_process(
        &self,
        rule: &'static Rule,
        v: &View,
        s: &Session,
        fam: AppProto,
        (min_key, min): (&str, u64),
        out: &mut Vec<Candidate>,
    ) {
        let Some(p) = &v.rec.process else { return };
        let usual = self.baseline.processes(v.host, fam);
        if !self.mature() || usual.is_empty() || usual.contains(&p.name) || s.sent < min {
            return;
        }
        let a = Alert::new(
            rule,
            v.rec,
            format!(
                "{} on {} sent {} over {} to {}; this host's {} traffic has come from {} before.",
                p.name,
                v.host,
                human(s.sent),
                fam.name(),
                v.peer,
                fam.name(),
                usual.join(", ")
            ),
        )
        .measured("process_name", p.name.clone())
        .measured("usual_processes", usual.to_vec())
        .threshold(min_key, min);
        out.push(Candidate {
            alert: measured_flow(a, v, s),
            key: key((s.id, &p.name)),
        });
    }

    /// DNS carrying data: bytes in query names and answers per host and registered domain.
    pub(super) fn dns_volume(&mut self, v: &View, d: &DnsVolume, out: &mut Vec<Candidate>) {
        let cfg = &self.cfg.an0367;
        let k = (v.host, d.domain.clone());
        let (total, flows) = self.dns.sum(&k, v.rec.last_us);
        if total < cfg.dns_min_bytes {
            return;
        }
        let mut a = Alert::new(
            &AN0367_DNS_VOLUME,
            v.rec,
            format!(
                "{} carried {} in DNS names and answers under {} within {} s ({} flows), at or above {}.",
                v.host,
                human(total),
                d.domain,
                cfg.dns_window_secs,
                flows.len(),
                human(cfg.dns_min_bytes)
            ),
        )
        .measured("domain", d.domain.clone())
        .measured("dns_bytes_in_window", total)
        .measured("flow_qname_bytes", d.qname_bytes)
        .measured("flow_rdata_bytes", d.rdata_bytes)
        .measured("flow_queries", d.queries)
        .measured("max_label_entropy", f64::from(d.max_entropy_milli) / 1000.0)
        .measured("host", v.host.to_string())
        .measured("resolver", v.peer.to_string())
        .threshold("detect.an0367.dns_min_bytes", cfg.dns_min_bytes)
        .threshold("detect.an0367.dns_window_secs", cfg.dns_window_secs);
        a.related_flows = flows;
        out.push(Candidate {
            alert: a,
            key: key((v.host, &d.domain)),
        });
    }

    pub(super) fn business_hours(&self) -> String {
        let h = &self.cfg.business_hours;
        let days = [
            ("Mon", &h.mon),
            ("Tue", &h.tue),
            ("Wed", &h.wed),
            ("Thu", &h.thu),
            ("Fri", &h.fri),
            ("Sat", &h.sat),
            ("Sun", &h.sun),
        ];
        let open: Vec<String> = days
            .iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(d, r)| format!("{d} {r}"))
            .collect();
        format!("{} ({})", open.join(", "), self.cfg.timezone)
    }
}
