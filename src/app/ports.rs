//! Which protocols each well-known port should carry, and what it means when a flow's
//! bytes say otherwise (AN1173: "FTP over port 80", file transfers on non-standard ports).
//!
//! The registry is a default table that the configuration can extend or override per
//! `"tcp/PORT"` / `"udp/PORT"` key. Only the server port is judged: a well-known *source*
//! port says nothing about what the flow carries.

use super::AppProto;
use std::collections::HashMap;

/// Default registry: (transport, port, protocols the port is for).
const DEFAULTS: &[(u8, u16, &[AppProto])] = &[
    (6, 20, &[AppProto::FtpData]),
    (6, 21, &[AppProto::Ftp]),
    (6, 22, &[AppProto::Ssh]),
    (6, 25, &[AppProto::Smtp]),
    (6, 587, &[AppProto::Smtp]),
    (6, 465, &[AppProto::Tls]),
    (6, 53, &[AppProto::Dns]),
    (17, 53, &[AppProto::Dns]),
    (17, 69, &[AppProto::Tftp]),
    (6, 80, &[AppProto::Http]),
    (6, 8080, &[AppProto::Http]),
    (6, 8000, &[AppProto::Http]),
    (6, 3128, &[AppProto::Http]),
    (6, 443, &[AppProto::Tls]),
    (6, 8443, &[AppProto::Tls]),
    (6, 990, &[AppProto::Tls]),
    (6, 993, &[AppProto::Tls]),
    (6, 995, &[AppProto::Tls]),
    (6, 139, &[AppProto::Smb]),
    (6, 445, &[AppProto::Smb]),
];

/// How a flow's protocol disagrees with its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// A known protocol on a port registered for another one (FTP on 80, HTTP on 21).
    PortProtocolMismatch,
    /// A known protocol on an unregistered port that is not one of its standard ports
    /// (FTP on 2121, SMB on 8445).
    NonStandardPort,
    /// The port's protocol is absent: payload flowed but was not identified (non-DNS on 53).
    PortProtocolAbsent,
    /// Client and server spoke different protocols (an HTTP client at an SSH server).
    DirectionsDisagree,
}

impl Mismatch {
    pub fn name(self) -> &'static str {
        match self {
            Mismatch::PortProtocolMismatch => "port_protocol_mismatch",
            Mismatch::NonStandardPort => "non_standard_port",
            Mismatch::PortProtocolAbsent => "port_protocol_absent",
            Mismatch::DirectionsDisagree => "directions_disagree",
        }
    }
}

/// The port registry.
#[derive(Clone, Debug)]
pub struct PortRegistry {
    map: HashMap<(u8, u16), Vec<AppProto>>,
}

impl Default for PortRegistry {
    fn default() -> Self {
        PortRegistry {
            map: DEFAULTS
                .iter()
                .map(|&(t, p, a)| ((t, p), a.to_vec()))
                .collect(),
        }
    }
}

/// Parse an `app_proto` name as used in configuration.
pub fn parse_proto(name: &str) -> Option<AppProto> {
    AppProto::ALL.iter().copied().find(|p| p.name() == name)
}

impl PortRegistry {
    /// The defaults with `overrides` applied: `"tcp/2121" = ["ftp"]` adds or replaces an
    /// entry, an empty list removes it.
    pub fn with_overrides(
        overrides: &HashMap<String, Vec<String>>,
    ) -> Result<PortRegistry, String> {
        let mut r = PortRegistry::default();
        for (key, protos) in overrides {
            let err = || format!("app.ports.\"{key}\": expected \"tcp/PORT\" or \"udp/PORT\"");
            let (t, p) = key.split_once('/').ok_or_else(err)?;
            let transport = match t {
                "tcp" => 6,
                "udp" => 17,
                _ => return Err(err()),
            };
            let port: u16 = p.parse().map_err(|_| err())?;
            let list = protos
                .iter()
                .map(|n| {
                    parse_proto(n)
                        .filter(|p| p.is_named())
                        .ok_or_else(|| format!("app.ports.\"{key}\": unknown protocol `{n}`"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if list.is_empty() {
                r.map.remove(&(transport, port));
            } else {
                r.map.insert((transport, port), list);
            }
        }
        Ok(r)
    }

    /// Protocols registered for a server port.
    pub fn expected(&self, transport: u8, port: u16) -> &[AppProto] {
        self.map
            .get(&(transport, port))
            .map_or(&[], |v| v.as_slice())
    }

    /// Whether `port` is a registered port of `app` on `transport`.
    pub fn is_standard(&self, transport: u8, port: u16, app: AppProto) -> bool {
        self.expected(transport, port).contains(&app)
    }

    /// Judge a finished detection: `app_ts`/`app_tc` are what each direction's bytes said
    /// (Unknown when a direction carried nothing), `expected_flow` is true for data
    /// channels opened from an announcement (their ephemeral ports are normal).
    /// Returns the mismatch kind and the protocol the port is registered for.
    pub fn judge(
        &self,
        transport: u8,
        server_port: u16,
        app: AppProto,
        app_ts: AppProto,
        app_tc: AppProto,
        expected_flow: bool,
    ) -> Option<(Mismatch, Option<AppProto>)> {
        let registered = self.expected(transport, server_port).first().copied();
        if app_ts.is_named() && app_tc.is_named() && app_ts != app_tc {
            return Some((Mismatch::DirectionsDisagree, registered));
        }
        if app.is_named() {
            if expected_flow || self.is_standard(transport, server_port, app) {
                return None;
            }
            return Some(match registered {
                Some(_) => (Mismatch::PortProtocolMismatch, registered),
                None => (Mismatch::NonStandardPort, None),
            });
        }
        match (app, registered) {
            (AppProto::Failed, Some(reg)) => Some((Mismatch::PortProtocolAbsent, Some(reg))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppProto::*;

    #[test]
    fn judges_the_issue_examples() {
        let r = PortRegistry::default();
        assert_eq!(
            r.judge(6, 80, Ftp, Ftp, Ftp, false),
            Some((Mismatch::PortProtocolMismatch, Some(Http)))
        );
        assert_eq!(
            r.judge(6, 2121, Ftp, Ftp, Ftp, false),
            Some((Mismatch::NonStandardPort, None))
        );
        assert_eq!(r.judge(6, 21, Ftp, Ftp, Ftp, false), None);
        assert_eq!(
            r.judge(17, 53, Failed, Failed, Unknown, false),
            Some((Mismatch::PortProtocolAbsent, Some(Dns)))
        );
        assert_eq!(
            r.judge(6, 22, Failed, Http, Ssh, false),
            Some((Mismatch::DirectionsDisagree, Some(Ssh)))
        );
        assert_eq!(r.judge(6, 40123, FtpData, FtpData, Unknown, true), None);
        // No payload at all: nothing to judge.
        assert_eq!(r.judge(6, 80, Unknown, Unknown, Unknown, false), None);
    }

    #[test]
    fn overrides_add_and_remove() {
        let mut o = HashMap::new();
        o.insert("tcp/2121".to_string(), vec!["ftp".to_string()]);
        o.insert("tcp/8080".to_string(), vec![]);
        let r = PortRegistry::with_overrides(&o).unwrap();
        assert_eq!(r.judge(6, 2121, Ftp, Ftp, Ftp, false), None);
        assert_eq!(r.expected(6, 8080), &[] as &[AppProto]);
        o.insert("sctp/1".to_string(), vec![]);
        assert!(PortRegistry::with_overrides(&o)
            .unwrap_err()
            .contains("sctp/1"));
        let mut bad = HashMap::new();
        bad.insert("tcp/1".to_string(), vec!["gopher".to_string()]);
        assert!(PortRegistry::with_overrides(&bad)
            .unwrap_err()
            .contains("gopher"));
    }
}
