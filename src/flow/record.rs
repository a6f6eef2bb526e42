//! One tracked flow: who the client is, what each direction carried, and how it ended.

use super::FlowKey;
use crate::app::session::AppState;
use crate::decode::{Decoded, Tunnel};

/// Suricata's three flow states, as logged in `flow.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowState {
    New = 0,
    Established = 1,
    Closed = 2,
}

impl FlowState {
    pub fn name(self) -> &'static str {
        match self {
            FlowState::New => "new",
            FlowState::Established => "established",
            FlowState::Closed => "closed",
        }
    }
}

/// Packet direction relative to the flow's client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ToServer = 0,
    ToClient = 1,
}

/// Why a flow ended. `suricata()` maps onto Suricata's `flow.reason` vocabulary so SIEM
/// content written for Suricata keeps working; `name()` is our precise reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// Idle longer than the state's timeout.
    Timeout,
    /// TCP closed by FIN/FIN or RST, then the closed timeout passed.
    TcpClose,
    /// Evicted to stay inside the flow memcap.
    Memcap,
    /// A new SYN reused the 5-tuple of a closed TCP session.
    TcpReuse,
    /// The sensor was stopped by a signal.
    Shutdown,
    /// The last input file ended.
    EndOfInput,
}

impl EndReason {
    pub const ALL: [EndReason; 6] = [
        EndReason::Timeout,
        EndReason::TcpClose,
        EndReason::Memcap,
        EndReason::TcpReuse,
        EndReason::Shutdown,
        EndReason::EndOfInput,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::TcpClose => "tcp_close",
            EndReason::Memcap => "memcap",
            EndReason::TcpReuse => "tcp_reuse",
            EndReason::Shutdown => "shutdown",
            EndReason::EndOfInput => "end_of_input",
        }
    }

    pub fn suricata(self) -> &'static str {
        match self {
            EndReason::Timeout | EndReason::TcpClose => "timeout",
            EndReason::Memcap | EndReason::TcpReuse => "forced",
            EndReason::Shutdown | EndReason::EndOfInput => "shutdown",
        }
    }
}

/// Counters for one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirCounters {
    pub pkts: u64,
    /// Whole frames on the wire, link header included (original length, not the snaplen).
    pub bytes: u64,
    /// Transport payload bytes actually captured.
    pub payload: u64,
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

/// Handshake and teardown milestones (bit set).
mod stage {
    pub const SYN: u8 = 1;
    pub const SYNACK: u8 = 2;
    pub const ESTABLISHED: u8 = 4;
    pub const FIN_TS: u8 = 8;
    pub const FIN_TC: u8 = 16;
    pub const RST: u8 = 32;
}

/// A tracked flow. Kept small (see `flow::table` docs for the measured footprint):
/// rarely used parts such as tunnel details and app-layer state are boxed.
#[derive(Debug)]
pub struct Flow {
    pub key: FlowKey,
    pub counters: [DirCounters; 2],
    pub first_us: u64,
    pub last_us: u64,
    pub flow_id: u64,
    pub tunnel: Option<Box<Tunnel>>,
    pub(super) prev: u32,
    pub(super) next: u32,
    pub vlan: [u16; 3],
    pub vlan_count: u8,
    pub ip_version: u8,
    /// The client is the key's `lo` endpoint.
    pub client_is_lo: bool,
    pub state: FlowState,
    /// TCP flags seen per direction, OR-ed.
    pub tcp_flags: [u8; 2],
    pub(super) stage: u8,
    /// ICMP type and code of the first packet in each direction.
    pub icmp: [(u8, u8); 2],
    pub(super) list: u8,
    /// Initial sequence numbers from the SYN (to server) and SYN-ACK (to client).
    isn: [u32; 2],
    /// Reassembly, detection and parser state; allocated at the first payload byte.
    pub app: Option<Box<AppState>>,
}

impl Flow {
    /// A new flow from its first packet; `from_lo` says whether that packet travels lo → hi.
    pub(super) fn new(key: FlowKey, from_lo: bool, d: &Decoded, now_us: u64, id: u64) -> Flow {
        let sender_is_client = match key.proto {
            6 => tcp_sender_is_client(d),
            _ => true,
        };
        Flow {
            key,
            counters: [DirCounters::default(); 2],
            first_us: now_us,
            last_us: now_us,
            flow_id: id,
            tunnel: d.tunnel.map(Box::new),
            prev: u32::MAX,
            next: u32::MAX,
            vlan: d.vlan,
            vlan_count: d.vlan_count,
            ip_version: d.ip_version,
            client_is_lo: from_lo == sender_is_client,
            state: FlowState::New,
            tcp_flags: [0; 2],
            stage: 0,
            icmp: [(0, 0); 2],
            list: 0,
            isn: [0; 2],
            app: None,
        }
    }

    /// Direction of a packet that travels lo → hi (`from_lo`) or back.
    #[inline]
    pub fn direction(&self, from_lo: bool) -> Direction {
        if from_lo == self.client_is_lo {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// Client (address, port) as logged in `src_ip`/`src_port`.
    pub fn client(&self) -> (&crate::decode::Addr, u16) {
        if self.client_is_lo {
            (&self.key.lo, self.key.lo_port)
        } else {
            (&self.key.hi, self.key.hi_port)
        }
    }

    /// Server (address, port) as logged in `dest_ip`/`dest_port`.
    pub fn server(&self) -> (&crate::decode::Addr, u16) {
        if self.client_is_lo {
            (&self.key.hi, self.key.hi_port)
        } else {
            (&self.key.lo, self.key.lo_port)
        }
    }

    /// Count one packet and advance the state machine.
    #[inline]
    pub(super) fn account(
        &mut self,
        dir: Direction,
        d: &Decoded,
        pkts: u64,
        wire_bytes: u64,
        now_us: u64,
    ) {
        let c = &mut self.counters[dir as usize];
        if c.pkts == 0 && matches!(self.key.proto, 1 | 58) {
            self.icmp[dir as usize] = (d.sport as u8, d.dport as u8);
        }
        c.pkts += pkts;
        c.bytes += wire_bytes;
        c.payload += u64::from(d.payload_len);
        self.last_us = self.last_us.max(now_us);
        if self.key.proto == 6 {
            if d.tcp_flags & TCP_SYN != 0 {
                self.isn[dir as usize] = d.tcp_seq;
            }
            self.track_tcp(dir, d.tcp_flags);
        } else if self.state == FlowState::New && self.counters[1 - dir as usize].pkts > 0 {
            self.state = FlowState::Established;
        }
    }

    fn track_tcp(&mut self, dir: Direction, flags: u8) {
        self.tcp_flags[dir as usize] |= flags;
        let syn = flags & TCP_SYN != 0;
        let ack = flags & TCP_ACK != 0;
        match dir {
            Direction::ToServer if syn && !ack => self.stage |= stage::SYN,
            Direction::ToClient if syn && ack => self.stage |= stage::SYNACK,
            Direction::ToServer if ack && self.stage & stage::SYNACK != 0 => {
                self.stage |= stage::ESTABLISHED
            }
            _ => {}
        }
        if flags & TCP_FIN != 0 {
            self.stage |= match dir {
                Direction::ToServer => stage::FIN_TS,
                Direction::ToClient => stage::FIN_TC,
            };
        }
        if flags & TCP_RST != 0 {
            self.stage |= stage::RST;
        }
        // Mid-stream pickup: no handshake seen, but both sides talk.
        if self.stage & (stage::SYN | stage::SYNACK) == 0
            && self.counters[0].pkts > 0
            && self.counters[1].pkts > 0
        {
            self.stage |= stage::ESTABLISHED;
        }
        let closed = self.stage & stage::RST != 0
            || self.stage & (stage::FIN_TS | stage::FIN_TC) == stage::FIN_TS | stage::FIN_TC;
        self.state = if closed {
            FlowState::Closed
        } else if self.stage & stage::ESTABLISHED != 0 {
            FlowState::Established
        } else {
            FlowState::New
        };
    }

    /// The direction's initial sequence number, if its SYN was seen.
    pub fn isn(&self, dir: Direction) -> Option<u32> {
        let seen = match dir {
            Direction::ToServer => stage::SYN,
            Direction::ToClient => stage::SYNACK,
        };
        (self.stage & seen != 0).then_some(self.isn[dir as usize])
    }

    /// A SYN without ACK on a closed session starts a new connection on the same tuple.
    #[inline]
    pub(super) fn is_reused_by(&self, d: &Decoded) -> bool {
        self.key.proto == 6
            && self.state == FlowState::Closed
            && d.tcp_flags & (TCP_SYN | TCP_ACK) == TCP_SYN
    }

    /// TCP state in Suricata's `tcp.state` vocabulary.
    pub fn tcp_state_name(&self) -> &'static str {
        let s = self.stage;
        if s & stage::RST != 0
            || s & (stage::FIN_TS | stage::FIN_TC) == stage::FIN_TS | stage::FIN_TC
        {
            "closed"
        } else if s & stage::FIN_TS != 0 {
            "fin_wait1"
        } else if s & stage::FIN_TC != 0 {
            "close_wait"
        } else if s & stage::ESTABLISHED != 0 {
            "established"
        } else if s & stage::SYNACK != 0 {
            "syn_recv"
        } else if s & stage::SYN != 0 {
            "syn_sent"
        } else {
            "none"
        }
    }

    /// Age in whole seconds, as Suricata logs `flow.age`.
    pub fn age_secs(&self) -> u64 {
        (self.last_us.saturating_sub(self.first_us)) / 1_000_000
    }
}

/// Who opened the connection, judged from the first packet we see of it.
fn tcp_sender_is_client(d: &Decoded) -> bool {
    let syn = d.tcp_flags & TCP_SYN != 0;
    let ack = d.tcp_flags & TCP_ACK != 0;
    if syn {
        return !ack; // SYN: sender is client; SYN-ACK: sender is server.
    }
    // Mid-stream: a well-known source port talking to an ephemeral one is the server answering.
    !(d.sport < 1024 && d.dport >= 1024)
}
