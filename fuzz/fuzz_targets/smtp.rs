//! SMTP probe and parser on arbitrary bytes: data[0] splits the rest into the two
//! directions, each cut into chunks (lengths taken from the bytes) fed alternately, with an
//! occasional gap, then finish.
#![no_main]

use exfil_sensor::app::harness::fuzz_self_sized_chunks;
use exfil_sensor::app::smtp::{probe, SmtpParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fuzz_self_sized_chunks::<SmtpParser>(data, probe, 25));
