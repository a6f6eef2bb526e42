#![no_main]
//! Any bytes as an endpoint record line (shippers send whatever they send): the parser
//! must answer a record or a reason, never panic.
use exfil_sensor::endpoint::parse::parse_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = parse_line(line);
    }
});
