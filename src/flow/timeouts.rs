//! Per-protocol, per-state idle timeouts (Suricata's `flow-timeouts` model).

use serde::Deserialize;

/// Timeout classes: each has its own LRU list in the table, so the list head is
/// always the next flow of that class to expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtoClass {
    Tcp = 0,
    Udp = 1,
    Icmp = 2,
    Other = 3,
}

impl ProtoClass {
    pub fn of(proto: u8) -> ProtoClass {
        match proto {
            6 => ProtoClass::Tcp,
            17 => ProtoClass::Udp,
            1 | 58 => ProtoClass::Icmp,
            _ => ProtoClass::Other,
        }
    }
}

/// Seconds of inactivity before a flow in a given state ends.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct StateTimeouts {
    pub new: u64,
    pub established: u64,
    pub closed: u64,
}

/// Timeouts for every protocol class, in seconds.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    pub tcp: StateTimeouts,
    pub udp: StateTimeouts,
    pub icmp: StateTimeouts,
    pub other: StateTimeouts,
}

impl Default for StateTimeouts {
    fn default() -> Self {
        StateTimeouts {
            new: 30,
            established: 300,
            closed: 0,
        }
    }
}

impl Default for Timeouts {
    /// Suricata's defaults, except TCP: longer idle allowance for slow bulk transfers and
    /// a short closed wait so the last ACK of a close still counts to its flow.
    fn default() -> Self {
        Timeouts {
            tcp: StateTimeouts {
                new: 60,
                established: 600,
                closed: 10,
            },
            udp: StateTimeouts::default(),
            icmp: StateTimeouts::default(),
            other: StateTimeouts::default(),
        }
    }
}

impl Timeouts {
    /// Timeout in microseconds for a class and state index (0 new, 1 established, 2 closed).
    pub fn micros(&self, class: ProtoClass, state: usize) -> u64 {
        let t = match class {
            ProtoClass::Tcp => &self.tcp,
            ProtoClass::Udp => &self.udp,
            ProtoClass::Icmp => &self.icmp,
            ProtoClass::Other => &self.other,
        };
        let secs = match state {
            0 => t.new,
            1 => t.established,
            _ => t.closed,
        };
        secs.saturating_mul(1_000_000)
    }
}
