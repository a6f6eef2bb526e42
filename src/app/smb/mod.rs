//! SMB 1/2/3 over the NetBIOS session service (TCP 445 direct, 139 with session setup).
//!
//! What exfiltration detection needs from SMB: which dialect and who (NEGOTIATE,
//! SESSION_SETUP), which shares (TREE_CONNECT), which files (CREATE / NT_CREATE_ANDX) and how
//! many bytes each moved in which direction (READ/WRITE, aggregated per handle and reported
//! at CLOSE as `fileinfo`). SMB3 encrypted sessions hide all of that, so their payload is
//! only counted. Events: one `smb` per command transaction (READ/WRITE excluded; they are
//! counted per file instead), one `fileinfo` per file that moved data, and at flow end one
//! `smb` summary whose `exfil` part carries the flow totals.

mod aged;
mod names;
mod ntlmssp;
mod smb1;
mod smb2;
mod state;
mod stream;
#[cfg(test)]
mod tests;

use crate::app::{Cx, Direction, Parser, Probe, Transport};
use state::Flow;
use stream::{Piece, Stream};

/// Content check on the first bytes of either direction: a NetBIOS session message
/// holding an SMB1/SMB2/SMB3-transform (or compression) header, or a well-formed NetBIOS
/// session request / positive response / keepalive. Never looks at ports.
pub fn probe(_dir: Direction, data: &[u8], transport: Transport) -> Probe {
    match transport {
        Transport::Tcp => stream::probe_frames(data),
        Transport::Udp => probe_datagram(data),
    }
}

/// NetBIOS datagram service header: 14 bytes, then source and destination names
/// (34 bytes each in their encoded form).
const NBDS_SMB_AT: usize = 14 + 34 + 34;

/// SMB over the NetBIOS datagram service (UDP 138: browser and mailslot messages): a
/// direct unique/group or broadcast datagram (types 0x10-0x12) whose user data is SMB1.
fn probe_datagram(data: &[u8]) -> Probe {
    if !matches!(data.first(), Some(0x10..=0x12)) {
        return Probe::NoMatch;
    }
    match data.get(NBDS_SMB_AT..NBDS_SMB_AT + 4) {
        Some(b"\xffSMB") => Probe::Match,
        _ => Probe::NoMatch,
    }
}

/// SMB parser for one TCP flow.
#[derive(Debug, Default)]
pub struct SmbParser {
    flow: Flow,
    /// NetBIOS framing per direction (index: `Direction as usize`).
    streams: [Stream; 2],
    chains: [smb2::Chain; 2],
}

impl Parser for SmbParser {
    fn parse(&mut self, dir: Direction, data: &[u8], cx: &mut Cx<'_>) {
        // Datagram-service SMB (browser announcements, mailslots) moves no files:
        // identifying it is all we do.
        if cx.transport == Transport::Udp {
            return;
        }
        let SmbParser {
            flow,
            streams,
            chains,
        } = self;
        let i = dir as usize;
        let chain = &mut chains[i];
        streams[i].feed(data, &mut |p: Piece<'_>| match p.buf.first() {
            Some(0xfe) => flow.smb2_piece(&p, chain, cx),
            Some(0xff) => {
                flow.smb1_message(p.buf, p.avail, cx);
                None
            }
            Some(&magic) => {
                flow.opaque(magic, dir, p.avail);
                None
            }
            None => None,
        });
    }

    fn gap(&mut self, dir: Direction, len: u64, _cx: &mut Cx<'_>) {
        self.streams[dir as usize].gap(len);
        self.flow.mark_gaps();
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        let desyncs = self.streams.iter().map(|s| s.desyncs).sum();
        self.flow.finish(desyncs, cx);
    }
}

#[cfg(test)]
mod datagram_tests {
    use super::*;

    #[test]
    fn smb_browser_datagram_is_smb() {
        let mut d = vec![0x11, 0x02, 0x81, 0x2c, 10, 0, 5, 9, 0, 138, 0, 200, 0, 0];
        d.extend([0x20].iter().chain([b'A'; 32].iter()).chain([0].iter()));
        d.extend([0x20].iter().chain([b'B'; 32].iter()).chain([0].iter()));
        d.extend(b"\xffSMB\x25");
        assert_eq!(probe(Direction::ToServer, &d, Transport::Udp), Probe::Match);
        d[NBDS_SMB_AT] = 0xfe;
        assert_eq!(
            probe(Direction::ToServer, &d, Transport::Udp),
            Probe::NoMatch
        );
        assert_eq!(
            probe(Direction::ToServer, &d[..20], Transport::Udp),
            Probe::NoMatch
        );
    }
}
