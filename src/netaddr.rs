//! CIDR blocks for `home_net` and similar address lists.

use crate::decode::Addr;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address block; IPv4 blocks are stored IPv4-mapped like [`Addr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: Addr,
    /// Prefix length over the 128-bit mapped form.
    bits: u8,
}

impl Cidr {
    pub fn contains(&self, a: &Addr) -> bool {
        let full = usize::from(self.bits / 8);
        if a[..full] != self.net[..full] {
            return false;
        }
        let rem = self.bits % 8;
        rem == 0 || (a[full] ^ self.net[full]) & (0xffu8 << (8 - rem)) == 0
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (ip, len) = match s.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None => (s, None),
        };
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR block"))?;
        let (net, max, offset) = match ip {
            IpAddr::V4(v4) => (crate::decode::addr_from_v4(v4.octets()), 32u8, 96u8),
            IpAddr::V6(v6) => (v6.octets(), 128u8, 0u8),
        };
        let len = match len {
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|&l| l <= max)
                .ok_or_else(|| format!("`{s}`: prefix length must be 0..={max}"))?,
            None => max,
        };
        let bits = len + offset;
        let mut masked = net;
        for (i, b) in masked.iter_mut().enumerate() {
            let keep = bits.saturating_sub(i as u8 * 8).min(8);
            *b &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
        }
        Ok(Cidr { net: masked, bits })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match crate::decode::addr_to_ip(&self.net) {
            ip @ IpAddr::V4(_) => write!(f, "{}/{}", ip, self.bits - 96),
            ip => write!(f, "{}/{}", ip, self.bits),
        }
    }
}

/// A set of blocks, e.g. the internal networks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CidrSet(pub Vec<Cidr>);

impl CidrSet {
    pub fn contains(&self, a: &Addr) -> bool {
        self.0.iter().any(|c| c.contains(a))
    }

    /// Parse a comma-separated list.
    pub fn parse_list(s: &str) -> Result<CidrSet, String> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(CidrSet)
    }

    /// RFC 1918 private IPv4 plus IPv6 unique-local addresses.
    pub fn rfc1918_ula() -> CidrSet {
        CidrSet::parse_list("10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7").expect("valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::addr_from_v4;

    #[test]
    fn v4_and_v6_membership() {
        let set = CidrSet::rfc1918_ula();
        assert!(set.contains(&addr_from_v4([10, 1, 2, 3])));
        assert!(set.contains(&addr_from_v4([172, 31, 255, 1])));
        assert!(!set.contains(&addr_from_v4([172, 32, 0, 1])));
        assert!(!set.contains(&addr_from_v4([8, 8, 8, 8])));
        let ula: IpAddr = "fd00::1".parse().unwrap();
        let IpAddr::V6(v6) = ula else { unreachable!() };
        assert!(set.contains(&v6.octets()));
    }

    #[test]
    fn rejects_bad_blocks() {
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("banana".parse::<Cidr>().is_err());
        assert_eq!(
            "10.9.8.7/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
    }
}
