//! A flow seen from the home network: which endpoint is ours, which is the peer, and
//! how many bytes each sent. Every analytic starts from this.

use super::policy::{LocalTime, Policy};
use super::record::FlowRecord;
use crate::app::AppProto;
use crate::decode::{addr_to_ip, Addr};
use std::net::IpAddr;

pub struct View<'a> {
    pub rec: &'a FlowRecord,
    pub proto: AppProto,
    /// The internal endpoint (the client when both are internal).
    pub host: IpAddr,
    pub host_addr: Addr,
    pub peer: IpAddr,
    pub peer_addr: Addr,
    pub peer_port: u16,
    pub peer_internal: bool,
    pub peer_external: bool,
    pub host_is_client: bool,
    /// Wire bytes sent by the host, and received by it.
    pub sent: u64,
    pub received: u64,
    pub local: LocalTime,
}

impl<'a> View<'a> {
    /// None when neither endpoint is internal (transit traffic is not ours to judge).
    pub fn of(rec: &'a FlowRecord, policy: &Policy) -> Option<View<'a>> {
        let (c, s) = (&rec.client.0, &rec.server.0);
        let host_is_client = if policy.is_internal(c) {
            true
        } else if policy.is_internal(s) {
            false
        } else {
            return None;
        };
        let (h, p, pport) = if host_is_client {
            (c, s, rec.server.1)
        } else {
            (s, c, rec.client.1)
        };
        let (sent, received) = if host_is_client {
            (rec.bytes[0], rec.bytes[1])
        } else {
            (rec.bytes[1], rec.bytes[0])
        };
        Some(View {
            rec,
            proto: rec.app_proto(),
            host: addr_to_ip(h),
            host_addr: *h,
            peer: addr_to_ip(p),
            peer_addr: *p,
            peer_port: pport,
            peer_internal: policy.is_internal(p),
            peer_external: policy.is_external(p),
            host_is_client,
            sent,
            received,
            local: policy.clock.at(rec.first_us.max(rec.last_us)),
        })
    }

    /// Data leaving: to an external peer, on a flow the host opened or a data channel
    /// (active-mode FTP data is opened by the server, but the session is the host's).
    pub fn outbound(&self) -> bool {
        self.peer_external && (self.host_is_client || self.rec.app.parent_flow_id.is_some())
    }

    /// Bytes out per byte in.
    pub fn ratio(&self) -> f64 {
        self.sent as f64 / self.received.max(1) as f64
    }
}

/// Protocols that move files: AN1173 and AN1169 judge these.
pub fn is_file_transfer(p: AppProto) -> bool {
    matches!(
        p,
        AppProto::Ftp | AppProto::FtpData | AppProto::Tftp | AppProto::Smb
    )
}

/// Protocols that carry data in clear: AN0423's "unencrypted protocols".
pub fn is_cleartext_transfer(p: AppProto) -> bool {
    matches!(
        p,
        AppProto::Ftp | AppProto::FtpData | AppProto::Tftp | AppProto::Http | AppProto::Smtp
    )
}

/// Control and data channels are one protocol for baselines and thresholds.
pub fn family(p: AppProto) -> AppProto {
    match p {
        AppProto::FtpData => AppProto::Ftp,
        p => p,
    }
}

/// "1.5 MiB": byte counts in alert reasons.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(50 * 1024 * 1024), "50.0 MiB");
    }
}
