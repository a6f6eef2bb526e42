#![no_main]
//! Any bytes as a frame of any link type: decode must never panic, and what it reports
//! must point inside the frame.
use exfil_sensor::decode::{decode, Decoded, Defragmenter, LinkType};
use libfuzzer_sys::fuzz_target;

const LINKS: [i32; 9] = [1, 0, 108, 101, 228, 229, 113, 276, 239];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else { return };
    let link = LinkType::from_dlt(LINKS[usize::from(sel) % LINKS.len()]).unwrap();
    let mut d = Decoded::default();
    if decode(link, frame, &mut d).is_ok() && d.ip_version != 0 {
        let end = d.payload_offset as usize + d.payload_len as usize;
        assert!(end <= frame.len());
        if d.fragment.is_some() {
            let mut df = Defragmenter::new(Default::default());
            let _ = df.insert(frame, &d, frame.len() as u32, 0);
        }
    }
});
