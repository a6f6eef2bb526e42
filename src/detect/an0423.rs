//! AN0423: data staged (large reads from internal servers) and then sent out over an
//! unencrypted protocol, or a sizeable unencrypted upload to a destination rare for the
//! network.

use super::alert::{Alert, AN0423_RARE_DESTINATION, AN0423_STAGED_UPLOAD, AN0423_UNUSUAL_PROCESS};
use super::baseline::DestKey;
use super::engine::{measured_flow, Candidate, Engine, Session};
use super::view::{human, is_cleartext_transfer, View};
use super::window::Entry;
use crate::app::AppProto;
use crate::decode::addr_to_ip;

/// Reads smaller than this are not staging (directory listings, metadata).
const MIN_STAGING_READ: u64 = 64 * 1024;

impl Engine {
    pub(super) fn an0423(&mut self, v: &View, s: &Session, out: &mut Vec<Candidate>) {
        if !is_cleartext_transfer(v.proto) || !v.outbound() {
            return;
        }
        // Flows end in any order across workers: an upload judged before its staging
        // reads arrive is kept and judged again when they do.
        if !self.staged_upload(v, s, out) && v.rec.ended {
            let kept = self.uploads.entry(v.host).or_default();
            if kept.len() >= MAX_KEPT_UPLOADS {
                kept.remove(0);
            }
            kept.push((v.rec.clone(), s.clone()));
        }
        let cfg = &self.cfg.an0423;
        // FTP, TFTP and SMTP have AN0367's process check; HTTP uploads get it here.
        if v.proto == AppProto::Http {
            let min = (
                "detect.an0423.unusual_process_min_bytes",
                cfg.unusual_process_min_bytes,
            );
            self.unusual_process(&AN0423_UNUSUAL_PROCESS, v, s, AppProto::Http, min, out);
        }
        if s.sent < cfg.rare_min_bytes || !self.mature() {
            return;
        }
        let max = self.cfg.baseline.rare_max_hosts;
        let ip = self
            .baseline
            .rarity(&DestKey::Ip(v.peer), v.host, v.peer_port);
        let name = v.rec.app.features.server_name.as_ref();
        let by_name = name.map(|n| {
            self.baseline
                .rarity(&DestKey::Name(n.clone()), v.host, v.peer_port)
        });
        // Rare: few other internal hosts ever went there, by address and by name.
        if !ip.rare(max) || !by_name.as_ref().is_none_or(|r| r.rare(max)) {
            return;
        }
        let a = Alert::new(
            &AN0423_RARE_DESTINATION,
            v.rec,
            format!(
                "{} uploaded {} over unencrypted {} to {}{}, which {} other internal host(s) contacted in {:.0} days of baseline.",
                v.host,
                human(s.sent),
                v.proto.name(),
                v.peer,
                name.map(|n| format!(" ({n})")).unwrap_or_default(),
                ip.other_hosts,
                self.baseline.days_learnt()
            ),
        )
        .measured("destination_other_hosts", ip.other_hosts)
        .measured("destination_first_seen", ip.first_us.map(crate::output::timefmt::ts))
        .measured("server_name", name.cloned())
        .threshold("detect.an0423.rare_min_bytes", cfg.rare_min_bytes)
        .threshold("detect.baseline.rare_max_hosts", max);
        out.push(Candidate {
            alert: measured_flow(a, v, s),
            key: s.id,
        });
    }

    /// Staged bytes of the host, and the upload comparable to them: the staging alert.
    fn staged_upload(&self, v: &View, s: &Session, out: &mut Vec<Candidate>) -> bool {
        let cfg = &self.cfg.an0423;
        let (staged, staging_flows) = self.staged.sum(&v.host, v.rec.last_us);
        if staged < cfg.staging_min_bytes
            || (s.sent as f64) < cfg.comparable_fraction * staged as f64
        {
            return false;
        }
        let mut a = Alert::new(
            &AN0423_STAGED_UPLOAD,
            v.rec,
            format!(
                "{} read {} from internal servers in the {} s before ({} flows), then sent {} to {} over unencrypted {}.",
                v.host,
                human(staged),
                cfg.window_secs,
                staging_flows.len(),
                human(s.sent),
                v.peer,
                v.proto.name()
            ),
        )
        .measured("staged_bytes", staged)
        .threshold("detect.an0423.staging_min_bytes", cfg.staging_min_bytes)
        .threshold("detect.an0423.window_secs", cfg.window_secs)
        .threshold("detect.an0423.comparable_fraction", cfg.comparable_fraction);
        a.related_flows = staging_flows;
        a.related_flows
            .extend(s.flows.iter().filter(|f| **f != v.rec.flow_id));
        out.push(Candidate {
            alert: measured_flow(a, v, s),
            key: s.id,
        });
        true
    }

    /// Remember large reads between internal hosts: whoever received the bytes staged
    /// them. Uploads of that host kept from earlier are judged again.
    pub(super) fn learn_staging(&mut self, v: &View, out: &mut Vec<Candidate>) {
        let rec = v.rec;
        let staging = matches!(
            v.proto,
            AppProto::Smb | AppProto::Http | AppProto::Ftp | AppProto::FtpData | AppProto::Tftp
        );
        if !staging || !v.peer_internal {
            return;
        }
        let servers = self.policy.groups.get("file_servers");
        // [to the server, to the client]: the client received bytes[1] from the server.
        for (receiver, sender, bytes) in [
            (&rec.client.0, &rec.server.0, rec.bytes[1]),
            (&rec.server.0, &rec.client.0, rec.bytes[0]),
        ] {
            if bytes < MIN_STAGING_READ || servers.is_some_and(|g| !g.contains(sender)) {
                continue;
            }
            let host = addr_to_ip(receiver);
            self.staged.add(
                host,
                Entry {
                    ts_us: rec.last_us,
                    amount: bytes,
                    flow_id: rec.flow_id,
                    tag: 0,
                },
            );
            let window = cfg_window_us(self.cfg.an0423.window_secs);
            let kept = self.uploads.remove(&host).unwrap_or_default();
            let mut still = Vec::new();
            for (up, sess) in kept {
                // The upload must end after the read started, and within the window of it.
                let after = up.last_us >= rec.first_us && up.first_us <= rec.last_us + window;
                let fired = after
                    && View::of(&up, &self.policy)
                        .is_some_and(|uv| self.staged_upload(&uv, &sess, out));
                if !fired {
                    still.push((up, sess));
                }
            }
            if !still.is_empty() {
                self.uploads.insert(host, still);
            }
        }
    }
}

/// Uploads kept per host for a late staging read.
const MAX_KEPT_UPLOADS: usize = 4;

fn cfg_window_us(secs: u64) -> u64 {
    secs.saturating_mul(1_000_000)
}

impl Engine {
    /// Forget kept uploads older than the staging window.
    pub(super) fn expire_uploads(&mut self, now_us: u64) {
        let window = cfg_window_us(self.cfg.an0423.window_secs);
        self.uploads.retain(|_, v| {
            v.retain(|(r, _)| r.last_us + window >= now_us);
            !v.is_empty()
        });
    }
}
