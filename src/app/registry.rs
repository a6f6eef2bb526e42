//! The protocol registry: probe order and parser constructors. Order matters only when
//! two probes match the same bytes; the most specific (binary magic) come first.

use super::{dns, ftp, http, smb, smtp, ssh, tftp, tls};
use super::{AppProto, Direction, Parser, Probe, Transport};

pub struct Entry {
    pub proto: AppProto,
    pub probe: fn(Direction, &[u8], Transport) -> Probe,
    pub tcp: bool,
    pub udp: bool,
    pub new_parser: fn() -> Box<dyn Parser>,
}

impl Entry {
    pub fn serves(&self, t: Transport) -> bool {
        match t {
            Transport::Tcp => self.tcp,
            Transport::Udp => self.udp,
        }
    }
}

fn never(_: Direction, _: &[u8], _: Transport) -> Probe {
    Probe::NoMatch
}

fn boxed<P: Parser + Default + 'static>() -> Box<dyn Parser> {
    Box::new(P::default())
}

pub static REGISTRY: &[Entry] = &[
    Entry {
        proto: AppProto::Tls,
        probe: tls::probe,
        tcp: true,
        udp: false,
        new_parser: boxed::<tls::TlsParser>,
    },
    Entry {
        proto: AppProto::Ssh,
        probe: ssh::probe,
        tcp: true,
        // SSH banners over UDP are rare but real (tunnelling tools); content decides.
        udp: true,
        new_parser: boxed::<ssh::SshParser>,
    },
    Entry {
        proto: AppProto::Smb,
        probe: smb::probe,
        tcp: true,
        // NetBIOS datagram service (UDP 138) carries SMB browser/mailslot messages.
        udp: true,
        new_parser: boxed::<smb::SmbParser>,
    },
    Entry {
        proto: AppProto::Http,
        probe: http::probe,
        tcp: true,
        udp: false,
        new_parser: boxed::<http::HttpParser>,
    },
    Entry {
        proto: AppProto::Smtp,
        probe: smtp::probe,
        tcp: true,
        udp: false,
        new_parser: boxed::<smtp::SmtpParser>,
    },
    Entry {
        proto: AppProto::Ftp,
        probe: ftp::probe,
        tcp: true,
        udp: false,
        new_parser: boxed::<ftp::FtpParser>,
    },
    Entry {
        proto: AppProto::Dns,
        probe: dns::probe,
        tcp: true,
        udp: true,
        new_parser: boxed::<dns::DnsParser>,
    },
    Entry {
        proto: AppProto::Tftp,
        probe: tftp::probe,
        tcp: false,
        udp: true,
        new_parser: boxed::<tftp::TftpParser>,
    },
    // Data channels are only ever recognised through the control channel's announcement.
    Entry {
        proto: AppProto::FtpData,
        probe: never,
        tcp: true,
        udp: false,
        new_parser: boxed::<ftp::FtpDataParser>,
    },
];
