//! What parsers notice for the detectors, besides their EVE events: the name of the
//! server a client asked for, the data volume DNS carries per domain, and protocol fields
//! dense enough to be carrying data rather than meaning (AN0030's "meaningless data in
//! protocol payloads").

/// A field counts as dense from this many bytes...
pub const DENSE_MIN_LEN: usize = 32;
/// ... written only in the alphabets data encodings use (hex, base32/64, URL-safe,
/// percent-encoding: no spaces or punctuation, so prose and user agents are out)...
/// ... at this Shannon entropy (bits per byte) or more: hex runs reach ~3.9, base32
/// ~4.6, base64 ~5.5 at these lengths; repeated or dictionary tokens stay lower.
pub const DENSE_MIN_ENTROPY: f64 = 3.5;
/// Distinct dense values remembered per flow (their hashes): enough to tell one session
/// cookie repeated on every connection from a stream of fresh blobs.
pub const MAX_DENSE_VALUES: usize = 256;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowFeatures {
    /// Lower-cased HTTP Host or TLS SNI.
    pub server_name: Option<String>,
    /// DNS: volume per registered domain, largest first (bounded).
    pub dns: Vec<DnsVolume>,
    /// Distinct dense values in HTTP headers/URIs of this flow.
    pub dense_fields: u64,
    /// Hashes of the first of them, so repeats across flows count once.
    pub dense_values: Vec<u64>,
    /// Longest dense field, its entropy (milli-bits per byte) and where it was.
    pub densest: Option<DenseField>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsVolume {
    pub domain: String,
    pub queries: u64,
    /// Subdomain bytes in query names: data a client can carry upstream.
    pub qname_bytes: u64,
    /// TXT/NULL/CNAME/MX answer bytes: data a server can carry downstream.
    pub rdata_bytes: u64,
    /// Distinct dense subdomains (length and entropy as for [`DENSE_MIN_LEN`]).
    pub dense_names: u64,
    /// Hashes of the first of them.
    pub dense_values: Vec<u64>,
    pub max_entropy_milli: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DenseField {
    /// e.g. `http.header.x-session`, `http.uri`, `dns.rrname`.
    pub field: String,
    pub len: u64,
    pub entropy_milli: u32,
}

impl FlowFeatures {
    /// Record a dense field (call only for new distinct values).
    pub fn dense(&mut self, field: &str, hash: u64, len: usize, entropy: f64) {
        self.dense_fields += 1;
        if self.dense_values.len() < MAX_DENSE_VALUES {
            self.dense_values.push(hash);
        }
        if self.densest.as_ref().is_none_or(|d| d.len < len as u64) {
            self.densest = Some(DenseField {
                field: field.to_string(),
                len: len as u64,
                entropy_milli: (entropy * 1000.0) as u32,
            });
        }
    }
}

/// Shannon entropy of the bytes, bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    let mut h = Histogram::default();
    for &b in bytes {
        h.add(b);
    }
    h.entropy()
}

/// A byte histogram that remembers which bytes occur, so its entropy walks those few
/// (names and header values use a dozen or two) rather than all 256 counts.
pub struct Histogram {
    counts: [u32; 256],
    seen: [u8; 256],
    distinct: usize,
    total: u32,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: [0; 256],
            seen: [0; 256],
            distinct: 0,
            total: 0,
        }
    }
}

impl Histogram {
    pub fn add(&mut self, b: u8) {
        let c = &mut self.counts[usize::from(b)];
        if *c == 0 {
            self.seen[self.distinct] = b;
            self.distinct += 1;
        }
        *c += 1;
        self.total += 1;
    }

    /// log2(t) - sum(c log2 c) / t, with c log2 c from a table for the small counts
    /// names and header values have: one logarithm per histogram, not per distinct byte.
    pub fn entropy(&self) -> f64 {
        static C_LOG2_C: std::sync::LazyLock<[f64; 256]> = std::sync::LazyLock::new(|| {
            std::array::from_fn(|c| {
                if c < 2 {
                    0.0
                } else {
                    c as f64 * (c as f64).log2()
                }
            })
        });
        if self.total == 0 {
            return 0.0;
        }
        let table = &*C_LOG2_C;
        let sum: f64 = self.seen[..self.distinct]
            .iter()
            .map(|&b| {
                let c = self.counts[usize::from(b)];
                table
                    .get(c as usize)
                    .copied()
                    .unwrap_or_else(|| f64::from(c) * f64::from(c).log2())
            })
            .sum();
        let t = f64::from(self.total);
        // Rounding can leave a one-symbol histogram a hair below zero.
        (t.log2() - sum / t).max(0.0)
    }
}

/// Whether a value with this entropy is dense (see [`DENSE_MIN_LEN`]).
pub fn is_dense(value: &[u8], entropy: f64) -> bool {
    value.len() >= DENSE_MIN_LEN && entropy >= DENSE_MIN_ENTROPY && value.iter().all(encoding_byte)
}

/// A value's entropy when it is dense. The length and alphabet checks go first: most
/// header values (user agents, dates, content types) fail them and cost no histogram.
pub fn dense_entropy(value: &[u8]) -> Option<f64> {
    if value.len() < DENSE_MIN_LEN || !value.iter().all(encoding_byte) {
        return None;
    }
    let e = entropy(value);
    (e >= DENSE_MIN_ENTROPY).then_some(e)
}

/// A byte of the alphabets data is encoded in (base64/32/16, URL-safe, percent-encoding).
fn encoding_byte(b: &u8) -> bool {
    ENCODING[usize::from(*b)]
}

const ENCODING: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(b, b'+' | b'/' | b'=' | b'_' | b'-' | b'.' | b'%');
        i += 1;
    }
    t
};

/// A stable hash of a value, the same in every worker.
pub fn value_hash(value: &[u8]) -> u64 {
    ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_of_random_data_are_dense_words_are_not() {
        let words = b"application/x-www-form-urlencoded; charset=utf-8";
        assert!(!is_dense(words, entropy(words)));
        let ua = b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36";
        assert!(!is_dense(ua, entropy(ua)));
        let b32 = b"MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPIYTEMZUGU3DOOBZ";
        assert!(is_dense(b32, entropy(b32)), "{}", entropy(b32));
        let repeated = b"abababababababababababababababababab";
        assert!(!is_dense(repeated, entropy(repeated)));
        let b64 = b"q8Zk3P0xR+/7Lw2nYbE5vTg1aUcJ9mHsFdK4oWzXiQ6p";
        assert!(entropy(b64) > 5.0);
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"ab") - 1.0).abs() < 1e-9);
    }

    proptest::proptest! {
        /// The table-driven histogram agrees with the textbook sum over all 256 counts,
        /// including counts past the table (long values).
        #[test]
        fn histogram_entropy_is_shannon_entropy(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
            skew in 0usize..600,
        ) {
            let mut v = bytes;
            v.extend(std::iter::repeat_n(b'a', skew));
            let mut counts = [0u64; 256];
            for &b in &v {
                counts[usize::from(b)] += 1;
            }
            let t = v.len() as f64;
            let want: f64 = counts
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| c as f64 / t * (t / c as f64).log2())
                .sum();
            let got = entropy(&v);
            proptest::prop_assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
    }
}
