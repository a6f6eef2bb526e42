//! Flow tracking: bidirectional keys, per-direction counters, TCP state, timeouts and memcap.

pub mod key;
pub mod record;
pub mod table;
pub mod timeouts;

pub use key::FlowKey;
pub use record::{Direction, EndReason, Flow, FlowState};
pub use table::{FlowTable, FlowTableStats};
pub use timeouts::{ProtoClass, Timeouts};
