//! Numeric flow id in Suricata's style: 51 bits so JavaScript consumers keep it exact.
//!
//! Derived only from the flow's key and start time with a fixed function (no random seed,
//! no thread identity), so a capture gives the same ids at any worker count and on any run.

use crate::flow::FlowKey;

const FLOW_ID_MASK: u64 = (1 << 51) - 1;

/// splitmix64 finaliser: cheap, well-mixed, stable forever.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn fold(acc: u64, bytes: &[u8]) -> u64 {
    bytes.chunks(8).fold(acc, |h, c| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        mix64(h ^ u64::from_le_bytes(w))
    })
}

/// Flow id for a flow with `key` that started at `start_us` (microseconds since the epoch).
pub fn flow_id(key: &FlowKey, start_us: u64) -> u64 {
    let mut h = fold(0x6578_6669_6c5f_6964, &key.lo);
    h = fold(h, &key.hi);
    let ports = u64::from(key.lo_port)
        | u64::from(key.hi_port) << 16
        | u64::from(key.proto) << 32
        | u64::from(key.vlan) << 40;
    h = mix64(h ^ ports);
    h = mix64(h ^ start_us);
    // Never 0: Suricata treats 0 as "no flow".
    (h & FLOW_ID_MASK).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::addr_from_v4;

    #[test]
    fn stable_and_in_range() {
        let k = FlowKey::new(
            &addr_from_v4([10, 0, 0, 1]),
            &addr_from_v4([192, 0, 2, 1]),
            40000,
            80,
            6,
            0,
        )
        .0;
        let a = flow_id(&k, 1_700_000_000_000_000);
        assert_eq!(a, flow_id(&k, 1_700_000_000_000_000));
        assert!(a > 0 && a <= FLOW_ID_MASK);
        assert_ne!(a, flow_id(&k, 1_700_000_000_000_001));
    }
}
