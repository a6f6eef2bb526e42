//! The configuration compiled for matching: networks and groups, business hours in the
//! configured time zone, allowlist entries. Built once at start; a bad value fails there,
//! naming its key.

use super::config::{AllowEntry, BusinessHours, DetectConfig};
use super::record::FlowRecord;
use crate::app::ports::parse_proto;
use crate::app::AppProto;
use crate::decode::Addr;
use crate::netaddr::CidrSet;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::collections::{HashMap, HashSet};

/// Local time of a packet, as the analytics need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// 0 = Monday.
    pub weekday: u8,
    pub hour: u8,
    pub minute: u8,
    /// Within the configured business hours (and not a holiday).
    pub business: bool,
}

impl LocalTime {
    /// Hour of the week, 0 = Monday 00:00-01:00.
    pub fn hour_of_week(self) -> u16 {
        u16::from(self.weekday) * 24 + u16::from(self.hour)
    }

    pub fn describe(self) -> String {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        format!(
            "{} {:02}:{:02}",
            DAYS[usize::from(self.weekday % 7)],
            self.hour,
            self.minute
        )
    }
}

#[derive(Debug)]
pub struct Clock {
    tz: TimeZone,
    /// Per weekday (0 = Monday): open [start, end) in minutes of the day.
    open: [Option<(u16, u16)>; 7],
    holidays: HashSet<Date>,
}

impl Clock {
    pub fn new(tz_name: &str, h: &BusinessHours) -> Result<Clock, String> {
        let tz = TimeZone::get(tz_name)
            .map_err(|e| format!("detect.timezone: unknown time zone {tz_name:?}: {e}"))?;
        let days = [
            ("mon", &h.mon),
            ("tue", &h.tue),
            ("wed", &h.wed),
            ("thu", &h.thu),
            ("fri", &h.fri),
            ("sat", &h.sat),
            ("sun", &h.sun),
        ];
        let mut open = [None; 7];
        for (i, (name, v)) in days.iter().enumerate() {
            open[i] = parse_range(v).map_err(|e| {
                format!("detect.business_hours.{name}: {e} (want \"HH:MM-HH:MM\" or \"\")")
            })?;
        }
        let holidays = h
            .holidays
            .iter()
            .map(|d| {
                d.parse::<Date>()
                    .map_err(|e| format!("detect.business_hours.holidays: {d:?}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Clock { tz, open, holidays })
    }

    pub fn at(&self, ts_us: u64) -> LocalTime {
        let Ok(t) = jiff::Timestamp::from_microsecond(ts_us as i64) else {
            return LocalTime {
                weekday: 0,
                hour: 0,
                minute: 0,
                business: false,
            };
        };
        let z = t.to_zoned(self.tz.clone());
        let weekday = z.weekday().to_monday_zero_offset() as u8;
        let (hour, minute) = (z.hour() as u8, z.minute() as u8);
        let m = u16::from(hour) * 60 + u16::from(minute);
        let business = !self.holidays.contains(&z.date())
            && self.open[usize::from(weekday)].is_some_and(|(s, e)| m >= s && m < e);
        LocalTime {
            weekday,
            hour,
            minute,
            business,
        }
    }
}

fn parse_range(s: &str) -> Result<Option<(u16, u16)>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let (a, b) = s.split_once('-').ok_or_else(|| format!("{s:?}"))?;
    let hm = |x: &str| -> Result<u16, String> {
        let (h, m) = x.trim().split_once(':').ok_or_else(|| format!("{s:?}"))?;
        let (h, m): (u16, u16) = (
            h.parse().map_err(|_| format!("{s:?}"))?,
            m.parse().map_err(|_| format!("{s:?}"))?,
        );
        if h > 24 || m > 59 || h * 60 + m > 24 * 60 {
            return Err(format!("{s:?}"));
        }
        Ok(h * 60 + m)
    };
    let (a, b) = (hm(a)?, hm(b)?);
    if a >= b {
        return Err(format!("{s:?}: start must be before end"));
    }
    Ok(Some((a, b)))
}

/// A compiled allowlist entry.
#[derive(Debug)]
pub struct Allow {
    pub owner: String,
    pub expires: Date,
    pub comment: String,
    src: Option<CidrSet>,
    dst: Option<CidrSet>,
    domains: Vec<String>,
    ports: Vec<u16>,
    protos: Vec<AppProto>,
    processes: Vec<String>,
    analytics: Vec<String>,
}

/// What an allowlist says about an alert-to-be.
#[derive(Debug)]
pub enum Verdict<'a> {
    NotListed,
    Suppressed(&'a Allow),
    /// Listed by an entry that has expired: the alert goes out and names the entry.
    Expired(&'a Allow),
}

impl Allow {
    fn matches(&self, analytic: &str, rec: &FlowRecord, internal: &Addr, other: &Addr) -> bool {
        let proto = rec.app_proto();
        (self.analytics.is_empty() || self.analytics.iter().any(|a| a == analytic))
            && self.src.as_ref().is_none_or(|s| s.contains(internal))
            && self.dst.as_ref().is_none_or(|s| s.contains(other))
            && (self.ports.is_empty() || self.ports.contains(&rec.server.1))
            && (self.protos.is_empty() || self.protos.contains(&proto))
            && (self.domains.is_empty()
                || rec
                    .app
                    .features
                    .server_name
                    .as_deref()
                    .is_some_and(|n| self.domains.iter().any(|d| domain_matches(n, d))))
            && (self.processes.is_empty()
                || rec
                    .process
                    .as_ref()
                    .is_some_and(|p| self.processes.iter().any(|x| *x == p.name)))
    }

    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "owner": self.owner,
            "expires": self.expires.to_string(),
            "comment": self.comment,
        })
    }
}

/// `name` is `domain` or a subdomain of it (case-insensitive).
pub fn domain_matches(name: &str, domain: &str) -> bool {
    let (n, d) = (name.trim_end_matches('.'), domain.trim_end_matches('.'));
    n.eq_ignore_ascii_case(d)
        || (n.len() > d.len()
            && n.as_bytes()[n.len() - d.len() - 1] == b'.'
            && n[n.len() - d.len()..].eq_ignore_ascii_case(d))
}

#[derive(Debug)]
pub struct Policy {
    pub home: CidrSet,
    /// When set, only these count as external; otherwise everything outside home_net.
    pub external: Option<CidrSet>,
    /// `[network.groups]`; `mail_relays` and `file_servers` also carry meaning (README).
    pub groups: HashMap<String, CidrSet>,
    pub clock: Clock,
    pub allow: Vec<Allow>,
    pub suspicious: Vec<String>,
}

impl Policy {
    pub fn new(
        cfg: &DetectConfig,
        home: CidrSet,
        external: &[String],
        groups: &HashMap<String, Vec<String>>,
    ) -> Result<Policy, String> {
        let external = (!external.is_empty())
            .then(|| CidrSet::parse_list(&external.join(",")))
            .transpose()
            .map_err(|e| format!("network.external_net: {e}"))?;
        let groups = groups
            .iter()
            .map(|(name, list)| {
                CidrSet::parse_list(&list.join(","))
                    .map(|s| (name.clone(), s))
                    .map_err(|e| format!("network.groups.{name}: {e}"))
            })
            .collect::<Result<HashMap<_, _>, _>>()?;
        let clock = Clock::new(&cfg.timezone, &cfg.business_hours)?;
        let allow = cfg
            .allow
            .iter()
            .enumerate()
            .map(|(i, a)| compile_allow(a, &groups).map_err(|e| format!("detect.allow[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            home,
            external,
            groups,
            clock,
            allow,
            suspicious: cfg
                .suspicious_processes
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
        })
    }

    /// Entries expired by `today`: reported at start so exceptions get reviewed.
    pub fn expired(&self, today: Date) -> impl Iterator<Item = &Allow> {
        self.allow.iter().filter(move |a| a.expires <= today)
    }

    pub fn is_internal(&self, a: &Addr) -> bool {
        self.home.contains(a)
    }

    pub fn is_external(&self, a: &Addr) -> bool {
        !self.home.contains(a) && self.external.as_ref().is_none_or(|e| e.contains(a))
    }

    pub fn in_group(&self, group: &str, a: &Addr) -> bool {
        self.groups.get(group).is_some_and(|g| g.contains(a))
    }

    /// Look an alert-to-be up in the allowlist, as of packet time `ts_us`.
    pub fn allowed(
        &self,
        analytic: &str,
        rec: &FlowRecord,
        internal: &Addr,
        other: &Addr,
        ts_us: u64,
    ) -> Verdict<'_> {
        let today = date_of(ts_us);
        let mut expired = None;
        for a in self
            .allow
            .iter()
            .filter(|a| a.matches(analytic, rec, internal, other))
        {
            if a.expires > today {
                return Verdict::Suppressed(a);
            }
            expired.get_or_insert(a);
        }
        expired.map_or(Verdict::NotListed, Verdict::Expired)
    }
}

/// UTC date of a packet time (allowlist expiry is a calendar date; a day's slack is fine).
pub fn date_of(ts_us: u64) -> Date {
    jiff::Timestamp::from_microsecond(ts_us as i64)
        .map(|t| t.to_zoned(TimeZone::UTC).date())
        .unwrap_or_default()
}

fn compile_allow(a: &AllowEntry, groups: &HashMap<String, CidrSet>) -> Result<Allow, String> {
    if a.owner.trim().is_empty() {
        return Err("owner is required (who answers for this exception)".into());
    }
    let expires = a
        .expires
        .parse::<Date>()
        .map_err(|e| format!("expires {:?}: {e} (want YYYY-MM-DD)", a.expires))?;
    let nets = |list: &[String], key: &str| -> Result<Option<CidrSet>, String> {
        if list.is_empty() {
            return Ok(None);
        }
        let mut set = CidrSet::default();
        for item in list {
            if let Some(g) = item.strip_prefix('@') {
                let g = groups
                    .get(g)
                    .ok_or_else(|| format!("{key}: no group {g:?} in [network.groups]"))?;
                set.0.extend(g.0.iter().cloned());
            } else {
                set.0.extend(
                    CidrSet::parse_list(item)
                        .map_err(|e| format!("{key}: {e}"))?
                        .0,
                );
            }
        }
        Ok(Some(set))
    };
    let protos = a
        .proto
        .iter()
        .map(|p| parse_proto(p).ok_or_else(|| format!("proto: unknown protocol {p:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    const ANALYTICS: [&str; 5] = ["AN1173", "AN0367", "AN1169", "AN0423", "AN0030"];
    if let Some(x) = a
        .analytics
        .iter()
        .find(|x| !ANALYTICS.contains(&x.as_str()))
    {
        return Err(format!(
            "analytics: unknown analytic {x:?} (one of {ANALYTICS:?})"
        ));
    }
    Ok(Allow {
        owner: a.owner.clone(),
        expires,
        comment: a.comment.clone(),
        src: nets(&a.src, "src")?,
        dst: nets(&a.dst, "dst")?,
        domains: a.domain.iter().map(|d| d.to_ascii_lowercase()).collect(),
        ports: a.port.clone(),
        protos,
        processes: a.process.iter().map(|p| p.to_ascii_lowercase()).collect(),
        analytics: a.analytics.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(tz: &str) -> Clock {
        let h = BusinessHours {
            holidays: vec!["2026-12-25".into()],
            ..BusinessHours::default()
        };
        Clock::new(tz, &h).unwrap()
    }

    fn us(s: &str) -> u64 {
        s.parse::<jiff::Timestamp>().unwrap().as_microsecond() as u64
    }

    #[test]
    fn business_hours_follow_the_time_zone_and_dst() {
        let c = clock("Europe/Berlin");
        // Tue 2026-03-10 09:00 UTC = 10:00 CET.
        let t = c.at(us("2026-03-10T09:00:00Z"));
        assert_eq!((t.weekday, t.hour, t.business), (1, 10, true));
        // 07:30 UTC = 08:30 CET: open; in summer 06:30 UTC = 08:30 CEST.
        assert!(c.at(us("2026-03-10T07:30:00Z")).business);
        assert!(c.at(us("2026-07-14T06:30:00Z")).business);
        assert!(!c.at(us("2026-07-14T05:30:00Z")).business);
        // Sunday 03:00 local: closed.
        let s = c.at(us("2026-03-08T02:00:00Z"));
        assert_eq!((s.weekday, s.hour, s.business), (6, 3, false));
        // A holiday on a Friday.
        assert!(!c.at(us("2026-12-25T10:00:00Z")).business);
        assert_eq!(s.hour_of_week(), 6 * 24 + 3);
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut h = BusinessHours::default();
        assert!(Clock::new("Mars/Olympus", &h)
            .unwrap_err()
            .contains("detect.timezone"));
        h.wed = "18:00-08:00".into();
        assert!(Clock::new("UTC", &h)
            .unwrap_err()
            .contains("business_hours.wed"));
        h.wed = "8-18".into();
        assert!(Clock::new("UTC", &h).is_err());
        h.wed = String::new();
        h.holidays = vec!["christmas".into()];
        assert!(Clock::new("UTC", &h).unwrap_err().contains("holidays"));
    }

    #[test]
    fn domains_match_themselves_and_subdomains() {
        assert!(domain_matches("backup.example.com", "example.com"));
        assert!(domain_matches("Example.COM.", "example.com"));
        assert!(!domain_matches("badexample.com", "example.com"));
        assert!(!domain_matches("com", "example.com"));
    }
}
