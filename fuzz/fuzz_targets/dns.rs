#![no_main]
//! Any bytes as a DNS flow: data[0] picks the transport (bit 0), the chunk size (bits 1-7)
//! and, scaled, where the rest splits into client and server bytes; bit 7 also loses
//! bytes of the client side after its first chunk. Probe and parser must never panic.
use exfil_sensor::app::harness::fuzz_fixed_chunks;
use exfil_sensor::app::dns::{probe, DnsParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_fixed_chunks::<DnsParser>(data, probe, 53));
