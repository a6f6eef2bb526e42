//! exfil-sensor: a network sensor that tells a SOC when data leaves the network over
//! file-transfer protocols, writing Suricata-compatible EVE JSON.
//!
//! The pipeline reads top to bottom:
//! [`capture`] → [`decode`] → [`pipeline`] (sharding onto workers) → [`flow`] →
//! [`stream`] → [`app`] → [`detect`] (joined with [`endpoint`] telemetry) → [`output`]. [`config`] and [`cli`] set it up; [`stats`] counts everything that
//! happens, drops included.

pub mod app;
pub mod capture;
pub mod cli;
pub mod config;
pub mod decode;
pub mod detect;
pub mod endpoint;
pub mod flow;
pub mod ident;
pub mod netaddr;
pub mod output;
pub mod pipeline;
pub mod stats;
pub mod stream;
