//! Identifiers SIEMs join on: Suricata-style numeric `flow_id` and Community ID v1.

pub mod community_id;
pub mod flow_id;

pub use community_id::community_id;
pub use flow_id::flow_id;
