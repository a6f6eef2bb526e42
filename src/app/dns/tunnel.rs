//! DNS tunnelling features. Tunnels (iodine, dnscat2, DNSExfiltrator…) encode data in the
//! labels left of a domain the attacker controls, so the useful signals are the shape and
//! entropy of that subdomain and how many distinct subdomains one registered domain gets.

use super::logger::{rcode_name, ByteStr};
use crate::app::features::{is_dense, DnsVolume, Histogram, MAX_DENSE_VALUES};
use hashbrown::{HashMap, HashSet};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Second-level labels under which registrations happen one level deeper (a small, common
/// subset of the public suffix list: enough that `bbc.co.uk` is not reported as `co.uk`).
const TWO_LABEL_SUFFIXES: &[&str] = &[
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "me.uk",
    "net.uk",
    "ltd.uk",
    "plc.uk",
    "com.au",
    "net.au",
    "org.au",
    "edu.au",
    "gov.au",
    "co.nz",
    "org.nz",
    "net.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "ac.jp",
    "go.jp",
    "co.kr",
    "or.kr",
    "co.za",
    "org.za",
    "com.br",
    "net.br",
    "org.br",
    "com.cn",
    "net.cn",
    "org.cn",
    "gov.cn",
    "com.mx",
    "com.tr",
    "co.in",
    "net.in",
    "org.in",
    "com.sg",
    "com.hk",
    "com.tw",
    "co.il",
    "com.ar",
    "co.id",
    "com.my",
    "com.ph",
    "com.vn",
    "com.ua",
    "co.th",
    "com.pl",
    "com.ru",
    "com.sa",
    "com.eg",
    "com.co",
    "com.pk",
    "com.ng",
    "in-addr.arpa",
    "ip6.arpa",
];

/// Distinct (registered domain, subdomain) pairs remembered per flow.
const MAX_DISTINCT: usize = 4096;
/// Registered domains tracked per flow; further ones are only counted.
const MAX_DOMAINS: usize = 256;
/// Domains listed in the flow summary (most distinct subdomains first).
const MAX_DOMAINS_REPORTED: usize = 16;

/// Shape of one query name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameFeatures {
    /// Length of the printed name (labels and dots).
    pub len: usize,
    pub labels: usize,
    pub longest_label: usize,
    /// Shannon entropy of the subdomain's bytes (dots excluded), bits per byte.
    pub entropy: f64,
    /// Lower-cased last two labels, or three under a known two-label public suffix.
    pub registered: String,
    /// Lower-cased labels left of `registered`, dot-joined.
    pub subdomain: Vec<u8>,
}

impl NameFeatures {
    /// Recomputes the features for `name`, label by label and into the buffers already
    /// held: the parser keeps one of these for its flow, so steady state allocates nothing
    /// (this runs for every DNS message).
    pub fn set(&mut self, name: &[u8]) {
        let labels = || name.split(|&b| b == b'.').filter(|l| !l.is_empty());
        let (n, longest_label) = labels().fold((0, 0), |(n, m), l| (n + 1, m.max(l.len())));
        let mut keep = n.min(2);
        if n >= 3 {
            let mut back = labels().rev();
            let (last, second) = (
                back.next().unwrap_or_default(),
                back.next().unwrap_or_default(),
            );
            let is_suffix = |s: &&str| {
                let s = s.as_bytes();
                s.len() == second.len() + 1 + last.len()
                    && s[..second.len()].eq_ignore_ascii_case(second)
                    && s[second.len()] == b'.'
                    && s[second.len() + 1..].eq_ignore_ascii_case(last)
            };
            if TWO_LABEL_SUFFIXES.iter().any(is_suffix) {
                keep = 3;
            }
        }
        self.subdomain.clear();
        self.registered.clear();
        let mut counts = Histogram::default();
        for (i, l) in labels().enumerate() {
            if i < n - keep {
                for &b in l {
                    counts.add(b);
                }
                if !self.subdomain.is_empty() {
                    self.subdomain.push(b'.');
                }
                self.subdomain.extend(l.iter().map(u8::to_ascii_lowercase));
            } else {
                if !self.registered.is_empty() {
                    self.registered.push('.');
                }
                push_rendered_lower(&mut self.registered, l);
            }
        }
        self.len = name.len();
        self.labels = n;
        self.longest_label = longest_label;
        self.entropy = counts.entropy();
    }
}

/// Appends `l` lower-cased in [`super::logger::string_from_bytes`]'s rendering (ASCII kept, other bytes
/// as `\xNN`), byte by byte: no intermediate buffer, string or UTF-8 check.
fn push_rendered_lower(out: &mut String, l: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &c in l {
        if c < 0x80 {
            out.push(char::from(c.to_ascii_lowercase()));
        } else {
            out.push_str("\\x");
            out.push(char::from(HEX[usize::from(c >> 4)]));
            out.push(char::from(HEX[usize::from(c & 0xf)]));
        }
    }
}

/// The `qname` object of a query's `exfil` record (serialised straight into the event text).
impl Serialize for NameFeatures {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Keys in alphabetical order, as the `serde_json::Map` this replaces wrote them.
        #[derive(Serialize)]
        struct View<'a> {
            entropy: f64,
            labels: usize,
            len: usize,
            longest_label: usize,
            registered_domain: &'a str,
            subdomain: ByteStr<'a>,
            subdomain_len: usize,
        }
        View {
            entropy: round3(self.entropy),
            labels: self.labels,
            len: self.len,
            longest_label: self.longest_label,
            registered_domain: &self.registered,
            subdomain: ByteStr(&self.subdomain),
            subdomain_len: self.subdomain.len(),
        }
        .serialize(s)
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[derive(Debug, Default)]
struct DomainStat {
    queries: u64,
    distinct: u64,
    subdomain_bytes: u64,
    rdata_bytes: u64,
    /// Distinct subdomains dense enough to carry data, and the first hashes of them.
    dense: u64,
    dense_values: Vec<u64>,
    max_entropy: f64,
}

/// Domains handed to the detectors per flow (largest volume first).
const MAX_DOMAINS_FEATURED: usize = 8;

/// Per-flow totals for the summary emitted at finish.
#[derive(Debug, Default)]
pub struct FlowSummary {
    pub requests: u64,
    pub responses: u64,
    pub malformed: u64,
    bytes: [u64; 2],
    /// Sum of subdomain lengths over queries: data that could be carried upstream.
    qname_bytes: u64,
    /// TXT/NULL/CNAME/MX rdata bytes in responses: data that could be carried downstream.
    rdata_bytes: u64,
    max_entropy: f64,
    rcodes: [u32; 16],
    /// Boxed keys and values keep the table's buckets small: most flows carry one
    /// domain, and tens of thousands of them stay live until their UDP timeout.
    domains: HashMap<Box<str>, Box<DomainStat>>,
    untracked_queries: u64,
    seen: HashSet<u64>,
    distinct_capped: bool,
}

impl FlowSummary {
    pub fn add_bytes(&mut self, to_client: bool, n: usize) {
        self.bytes[usize::from(to_client)] += n as u64;
    }

    pub fn request(&mut self, f: Option<&NameFeatures>) {
        self.requests += 1;
        let Some(f) = f else { return };
        self.qname_bytes += f.subdomain.len() as u64;
        self.max_entropy = self.max_entropy.max(f.entropy);
        let new_domain = !self.domains.contains_key(f.registered.as_str());
        if new_domain && self.domains.len() >= MAX_DOMAINS {
            self.untracked_queries += 1;
            return;
        }
        // The name is copied only when the domain is new.
        let d = self.domains.entry_ref(f.registered.as_str()).or_default();
        d.queries += 1;
        d.subdomain_bytes += f.subdomain.len() as u64;
        if f.subdomain.is_empty() {
            return;
        }
        // Fixed seeds: the same names give the same keys in every run.
        const KEYS: ahash::RandomState =
            ahash::RandomState::with_seeds(0x2d35_8dcc, 0xaa6c_78a5, 0x8bb8_4b93, 0x962e_acb3);
        let key = KEYS.hash_one((&f.registered, &f.subdomain));
        if self.seen.contains(&key) {
            return;
        }
        if self.seen.len() >= MAX_DISTINCT {
            self.distinct_capped = true;
            return;
        }
        self.seen.insert(key);
        d.distinct += 1;
        d.max_entropy = d.max_entropy.max(f.entropy);
        if is_dense(&f.subdomain, f.entropy) {
            d.dense += 1;
            if d.dense_values.len() < MAX_DENSE_VALUES {
                d.dense_values.push(key);
            }
        }
    }

    /// Answer bytes that can carry data, for the domain the response is about.
    pub fn answered(&mut self, f: Option<&NameFeatures>, rdata_bytes: u64) {
        if let Some(d) = f.and_then(|f| self.domains.get_mut(f.registered.as_str())) {
            d.rdata_bytes += rdata_bytes;
        }
    }

    /// Per-domain volumes for the detectors.
    pub fn volumes(&self) -> Vec<DnsVolume> {
        let mut v: Vec<DnsVolume> = self
            .domains
            .iter()
            .map(|(name, d)| DnsVolume {
                domain: name.to_string(),
                queries: d.queries,
                qname_bytes: d.subdomain_bytes,
                rdata_bytes: d.rdata_bytes,
                dense_names: d.dense,
                dense_values: d.dense_values.clone(),
                max_entropy_milli: (d.max_entropy * 1000.0) as u32,
            })
            .collect();
        v.sort_by(|a, b| {
            (b.qname_bytes + b.rdata_bytes)
                .cmp(&(a.qname_bytes + a.rdata_bytes))
                .then_with(|| a.domain.cmp(&b.domain))
        });
        v.truncate(MAX_DOMAINS_FEATURED);
        v
    }

    pub fn response(&mut self, rcode: u8, rdata_bytes: u64) {
        self.responses += 1;
        let n = &mut self.rcodes[usize::from(rcode & 0xf)];
        *n = n.saturating_add(1);
        self.rdata_bytes += rdata_bytes;
    }

    pub fn to_json(&self) -> Value {
        let mut rcodes = Map::new();
        for (i, &n) in self.rcodes.iter().enumerate() {
            if n > 0 {
                rcodes.insert(rcode_name(i as u8), n.into());
            }
        }
        let mut doms: Vec<(&Box<str>, &Box<DomainStat>)> = self.domains.iter().collect();
        doms.sort_by(|a, b| b.1.distinct.cmp(&a.1.distinct).then(a.0.cmp(b.0)));
        let domains: Vec<Value> = doms
            .iter()
            .take(MAX_DOMAINS_REPORTED)
            .map(|(name, d)| {
                json!({"domain": name, "queries": d.queries, "distinct_subdomains": d.distinct,
                       "subdomain_bytes": d.subdomain_bytes})
            })
            .collect();
        let mut o = json!({
            "requests": self.requests,
            "responses": self.responses,
            "malformed": self.malformed,
            "bytes_toserver": self.bytes[0],
            "bytes_toclient": self.bytes[1],
            "qname_bytes": self.qname_bytes,
            "rdata_bytes": self.rdata_bytes,
            "max_entropy": round3(self.max_entropy),
            "rcodes": rcodes,
            "registered_domains": self.domains.len(),
            "distinct_subdomains": self.seen.len(),
            "domains": domains,
        });
        if self.distinct_capped {
            o["distinct_capped"] = true.into();
        }
        if self.untracked_queries > 0 {
            o["untracked_queries"] = self.untracked_queries.into();
        }
        o
    }
}
