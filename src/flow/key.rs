//! Bidirectional flow key: both directions of a conversation map to one key.

use crate::decode::Addr;

/// Endpoints ordered by (address, port) so the key does not depend on direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    pub lo: Addr,
    pub hi: Addr,
    pub lo_port: u16,
    pub hi_port: u16,
    pub proto: u8,
    /// Innermost VLAN id when VLANs separate flows (config), else 0.
    pub vlan: u16,
}

impl FlowKey {
    /// Builds the key and says whether the packet travels from `lo` to `hi`.
    #[inline]
    pub fn new(
        src: &Addr,
        dst: &Addr,
        sport: u16,
        dport: u16,
        proto: u8,
        vlan: u16,
    ) -> (FlowKey, bool) {
        let from_lo = (src, sport) <= (dst, dport);
        let (lo, hi, lo_port, hi_port) = if from_lo {
            (*src, *dst, sport, dport)
        } else {
            (*dst, *src, dport, sport)
        };
        (
            FlowKey {
                lo,
                hi,
                lo_port,
                hi_port,
                proto,
                vlan,
            },
            from_lo,
        )
    }

    /// Cheap 64-bit hash for the table (the table compares full keys on collision).
    #[inline]
    pub fn hash64(&self) -> u64 {
        // Fixed seeds: the table needs no DoS resistance beyond ahash's mixing, and a
        // fixed state keeps iteration-independent behaviour reproducible.
        const STATE: ahash::RandomState =
            ahash::RandomState::with_seeds(0x5851_f42d, 0x4c95_7f2d, 0x9e37_79b9, 0x7f4a_7c15);
        STATE.hash_one(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::addr_from_v4;

    #[test]
    fn both_directions_share_a_key() {
        let a = addr_from_v4([10, 0, 0, 1]);
        let b = addr_from_v4([10, 0, 0, 2]);
        let (k1, d1) = FlowKey::new(&a, &b, 1234, 80, 6, 0);
        let (k2, d2) = FlowKey::new(&b, &a, 80, 1234, 6, 0);
        assert_eq!(k1, k2);
        assert_ne!(d1, d2);
    }
}
