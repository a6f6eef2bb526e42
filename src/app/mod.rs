//! Application layer: what a flow really speaks, judged from its bytes in both directions
//! (ports are only a hint), and the metadata each protocol parser extracts.
//!
//! Each protocol is a module with a cheap `probe` on the first bytes of a direction and a
//! stateful [`Parser`] fed in-order bytes (reassembled TCP stream or one UDP datagram).
//! Parsers never trust lengths from the wire and never panic.

pub mod detect;
pub mod event;
pub mod features;
/// Drives a parser outside the pipeline (own `Cx`, chunked feeding of both directions),
/// for tests and fuzz targets.
pub mod harness;
pub mod ports;
pub mod registry;
#[cfg(test)]
mod schema_check;
pub mod session;

pub mod dns;
pub mod ftp;
pub mod http;
pub mod smb;
pub mod smtp;
pub mod ssh;
pub mod tftp;
pub mod tls;

use crate::decode::Addr;
pub use crate::flow::Direction;
pub use event::AppEvent;

/// Application protocols we identify. `Failed`: bytes seen, nothing matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AppProto {
    #[default]
    Unknown,
    Failed,
    Ftp,
    FtpData,
    Tftp,
    Smb,
    Smtp,
    Dns,
    Http,
    Tls,
    Ssh,
}

impl AppProto {
    pub const ALL: [AppProto; 11] = [
        AppProto::Unknown,
        AppProto::Failed,
        AppProto::Ftp,
        AppProto::FtpData,
        AppProto::Tftp,
        AppProto::Smb,
        AppProto::Smtp,
        AppProto::Dns,
        AppProto::Http,
        AppProto::Tls,
        AppProto::Ssh,
    ];

    /// A protocol we identified, as opposed to Unknown (no verdict) or Failed (no match).
    pub fn is_named(self) -> bool {
        !matches!(self, AppProto::Unknown | AppProto::Failed)
    }

    /// Suricata's `app_proto` spelling.
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Unknown => "unknown",
            AppProto::Failed => "failed",
            AppProto::Ftp => "ftp",
            AppProto::FtpData => "ftp-data",
            AppProto::Tftp => "tftp",
            AppProto::Smb => "smb",
            AppProto::Smtp => "smtp",
            AppProto::Dns => "dns",
            AppProto::Http => "http",
            AppProto::Tls => "tls",
            AppProto::Ssh => "ssh",
        }
    }
}

/// Verdict of a probe on the first bytes of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes are this protocol.
    Match,
    /// The bytes cannot be this protocol.
    NoMatch,
    /// Too few bytes to tell; call again with more.
    NeedMore,
}

/// Transport the parser's bytes came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

/// A data connection a control channel announced (FTP PORT/EPRT/227/229, TFTP request).
/// Matched against new flows of the same worker (sharding keeps the address pair together).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// 6 TCP or 17 UDP.
    pub proto: u8,
    /// The side that will open the connection, if known (address only; its port is unknown).
    pub src: Option<Addr>,
    /// Where the connection will go.
    pub dst: Addr,
    pub dport: u16,
    /// Protocol the new flow will carry.
    pub app: AppProto,
    /// flow_id of the announcing (control) flow.
    pub parent_flow_id: u64,
    /// Announced at (packet time, µs); expectations expire.
    pub ts_us: u64,
    /// TFTP: file name and whether the client writes (WRQ) — known at announcement.
    pub filename: Option<String>,
    pub upload: Option<bool>,
}

/// A file transfer command seen on a control channel, for its data channel to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferCommand {
    /// STOR, STOU, APPE, RETR, LIST, NLST, MLSD.
    pub command: String,
    pub filename: Option<String>,
    pub ts_us: u64,
}

/// What a parser can see and do besides its bytes.
pub struct Cx<'a> {
    /// Packet time of the bytes being parsed, µs since the epoch.
    pub ts_us: u64,
    pub flow_id: u64,
    pub transport: Transport,
    /// Client and server (address, port): client = who opened the flow.
    pub client: (Addr, u16),
    pub server: (Addr, u16),
    /// Events produced; the worker stamps flow identity on them.
    pub events: &'a mut Vec<AppEvent>,
    /// Data connections announced by this flow.
    pub expect: &'a mut Vec<Expectation>,
    /// Set when the protocol changes mid-flow (STARTTLS → Tls, HTTP CONNECT → the tunnelled
    /// bytes are re-detected: `Unknown`). Parsing of this flow then restarts with that protocol.
    pub upgrade: &'a mut Option<AppProto>,
    /// Control channels record transfer commands here under their own flow_id; data channels
    /// read the latest command of their parent (`parent_flow_id`) at the end.
    pub transfers: &'a mut TransferLog,
    /// For flows opened from an [`Expectation`]: it.
    pub expected: Option<&'a Expectation>,
    /// What the detectors should know of this flow (kept across protocol upgrades).
    pub features: &'a mut features::FlowFeatures,
}

/// Latest transfer command per control flow, bounded (oldest control flows forgotten first).
#[derive(Debug, Default)]
pub struct TransferLog {
    latest: hashbrown::HashMap<u64, TransferCommand>,
    /// Control flows in first-recorded order, for eviction.
    order: std::collections::VecDeque<u64>,
}

impl TransferLog {
    const CAP: usize = 4096;

    pub fn record(&mut self, control_flow_id: u64, cmd: TransferCommand) {
        if self.latest.insert(control_flow_id, cmd).is_none() {
            self.order.push_back(control_flow_id);
            if self.order.len() > Self::CAP {
                if let Some(old) = self.order.pop_front() {
                    self.latest.remove(&old);
                }
            }
        }
    }

    pub fn latest(&self, control_flow_id: u64) -> Option<&TransferCommand> {
        self.latest.get(&control_flow_id)
    }

    /// Names the file of a control flow's latest transfer: for STOU the server reports the
    /// name in a reply, after the command was recorded.
    pub fn name_latest(&mut self, control_flow_id: u64, filename: &str) {
        if let Some(c) = self.latest.get_mut(&control_flow_id) {
            c.filename = Some(filename.to_string());
        }
    }
}

/// A protocol parser for one flow.
pub trait Parser: Send {
    /// In-order bytes of one direction: a stretch of the reassembled TCP stream (any size,
    /// split anywhere) or one whole UDP datagram.
    fn parse(&mut self, dir: Direction, data: &[u8], cx: &mut Cx<'_>);
    /// `len` bytes of one direction were lost (TCP gap); resynchronise or stop parsing.
    fn gap(&mut self, _dir: Direction, _len: u64, _cx: &mut Cx<'_>) {}
    /// The flow ended: emit whatever is still open (partial transactions, totals).
    fn finish(&mut self, _cx: &mut Cx<'_>) {}
}
