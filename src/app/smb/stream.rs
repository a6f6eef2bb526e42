//! NetBIOS session framing of one direction: 4-byte headers, SMB messages buffered only as
//! far as needed (READ/WRITE payloads and encrypted frames are skipped by count), resync
//! on the SMB magic after garbage or a gap.

/// Bytes of a frame buffered before deciding whether the rest is worth buffering; covers
/// every fixed header and body part we read (SMB2 READ/WRITE bodies end at 112).
const PREFIX: usize = 512;
/// Largest frame buffered whole; larger ones (big directory listings) are parsed from
/// their first bytes only.
const FULL_CAP: usize = 64 * 1024;

const MAGICS: [u8; 4] = [0xff, 0xfe, 0xfd, 0xfc];

/// One stretch of an SMB frame handed to the flow logic.
pub(super) struct Piece<'a> {
    /// Bytes starting at an SMB message boundary.
    pub buf: &'a [u8],
    /// Bytes from the start of `buf` to the end of the frame (≥ `buf.len()`): what the
    /// wire really carried, for payloads we skipped.
    pub avail: usize,
    /// True for the first piece of a NetBIOS frame (a new SMB2 compound chain).
    pub first: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a NetBIOS header (plus the 4 magic bytes of a session message).
    Header,
    /// Buffering frame bytes up to `want`.
    Collect,
    /// Discarding frame bytes up to `skip_to`.
    Skip,
    /// Discarding the payload of a session-service packet (0x81–0x85).
    NbSkip(usize),
}

#[derive(Debug)]
pub(super) struct Stream {
    state: State,
    /// Lost sync: accept only session messages with SMB magic as headers.
    resync: bool,
    hdr: [u8; 8],
    hlen: usize,
    frame_len: usize,
    /// Frame bytes consumed (the 4 magic bytes included).
    pos: usize,
    buf: Vec<u8>,
    buf_start: usize,
    want: usize,
    skip_to: usize,
    resume: bool,
    /// Times sync was lost on garbage.
    pub desyncs: u64,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            state: State::Header,
            resync: false,
            hdr: [0; 8],
            hlen: 0,
            frame_len: 0,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
            want: 0,
            skip_to: 0,
            resume: false,
            desyncs: 0,
        }
    }
}

/// Smallest sane NetBIOS length for a message with this magic (its fixed header).
fn min_len(magic: u8) -> usize {
    match magic {
        0xff => 32,
        0xfe => 64,
        0xfd => 52,
        _ => 16,
    }
}

/// Can `w` still grow into a header we accept?
fn prefix_ok(w: &[u8], resync: bool) -> bool {
    let Some(&t) = w.first() else { return true };
    match t {
        0x00 => {
            if w.len() >= 4 && u24(w) < 4 {
                return false;
            }
            if w.len() >= 5 && !MAGICS.contains(&w[4]) {
                return false;
            }
            let smb = b"SMB";
            if w.len() > 5 && w[5..w.len().min(8)] != smb[..w.len().min(8) - 5] {
                return false;
            }
            w.len() < 8 || u24(w) >= min_len(w[4])
        }
        0x81..=0x85 if !resync => w.len() < 2 || w[1] & 0xfe == 0,
        _ => false,
    }
}

fn u24(w: &[u8]) -> usize {
    (usize::from(w[1]) << 16) | (usize::from(w[2]) << 8) | usize::from(w[3])
}

/// Is the message at the start of `buf` one whose tail is bulk data (or opaque), so the
/// rest of the frame should be skipped rather than buffered?
pub(super) fn is_bulk(buf: &[u8]) -> bool {
    match buf.first() {
        Some(0xfe) => {
            let cmd = super::names::u16_at(buf, 12);
            let response = super::names::u32_at(buf, 16).map(|f| f & 1 != 0);
            matches!(
                (cmd, response),
                (Some(8), Some(true)) | (Some(9), Some(false))
            )
        }
        Some(0xff) => {
            let reply = buf.get(9).map(|f| f & 0x80 != 0);
            matches!(
                (buf.get(4), reply),
                (Some(0x2e), Some(true)) | (Some(0x2f), Some(false))
            )
        }
        _ => true,
    }
}

impl Stream {
    /// Feeds in-order bytes; `sink` gets each SMB piece and may return the offset (from
    /// the piece start) of a later message in the same frame that still needs parsing.
    pub fn feed(&mut self, data: &[u8], sink: &mut dyn FnMut(Piece<'_>) -> Option<usize>) {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Header => {
                    if self.resync && self.hlen == 0 {
                        // Fast path: jump to the next "SMB" that could follow a header.
                        match memchr::memmem::find(&data[i..], b"SMB") {
                            Some(p) if p >= 5 => i += p - 5,
                            Some(_) => {}
                            None => {
                                // Keep only a tail that could start a header.
                                let keep = (data.len() - i).min(7);
                                i = data.len() - keep;
                            }
                        }
                    }
                    // Session messages: length plus magic; session-service packets: 4 bytes.
                    let first = if self.hlen > 0 { self.hdr[0] } else { data[i] };
                    let need = if first == 0 { 8 } else { 4 };
                    // Byte-wise while resyncing, so a failed candidate slides by one.
                    let n = if self.resync {
                        1
                    } else {
                        (need - self.hlen).min(data.len() - i)
                    };
                    self.hdr[self.hlen..self.hlen + n].copy_from_slice(&data[i..i + n]);
                    self.hlen += n;
                    i += n;
                    if !prefix_ok(&self.hdr[..self.hlen], self.resync) {
                        if !self.resync {
                            self.desyncs += 1;
                            self.resync = true;
                        }
                        self.hdr.copy_within(1..self.hlen, 0);
                        self.hlen -= 1;
                        while !prefix_ok(&self.hdr[..self.hlen], true) {
                            self.hdr.copy_within(1..self.hlen, 0);
                            self.hlen -= 1;
                        }
                        continue;
                    }
                    let done = if self.hdr[0] == 0 {
                        self.hlen == 8
                    } else {
                        self.hlen == 4
                    };
                    if done {
                        self.start_frame();
                    }
                }
                State::NbSkip(rem) => {
                    let n = rem.min(data.len() - i);
                    i += n;
                    self.state = if rem == n {
                        State::Header
                    } else {
                        State::NbSkip(rem - n)
                    };
                }
                State::Collect => {
                    let n = (self.want - self.buf.len()).min(data.len() - i);
                    self.buf.extend_from_slice(&data[i..i + n]);
                    i += n;
                    self.pos += n;
                    if self.buf.len() == self.want {
                        self.collected(sink);
                    }
                }
                State::Skip => {
                    let n = (self.skip_to - self.pos).min(data.len() - i);
                    i += n;
                    self.pos += n;
                    if self.pos == self.skip_to {
                        self.skipped();
                    }
                }
            }
        }
    }

    /// A complete header is in `hdr`: begin a frame or a session-service skip.
    fn start_frame(&mut self) {
        self.hlen = 0;
        self.resync = false;
        if self.hdr[0] != 0 {
            let len = (usize::from(self.hdr[1] & 1) << 16)
                | (usize::from(self.hdr[2]) << 8)
                | usize::from(self.hdr[3]);
            self.state = if len == 0 {
                State::Header
            } else {
                State::NbSkip(len)
            };
            return;
        }
        self.frame_len = u24(&self.hdr);
        self.buf.clear();
        self.buf.extend_from_slice(&self.hdr[4..8]);
        self.buf_start = 0;
        self.pos = 4;
        self.want = self.frame_len.min(PREFIX);
        self.state = State::Collect;
    }

    /// `buf` holds `want` bytes: parse, buffer more, or skip the rest.
    fn collected(&mut self, sink: &mut dyn FnMut(Piece<'_>) -> Option<usize>) {
        loop {
            let avail = self.frame_len - self.buf_start;
            let complete = self.buf.len() == avail;
            let bulk = is_bulk(&self.buf);
            if !complete && avail <= FULL_CAP && !bulk {
                self.want = avail;
                return;
            }
            let next = sink(Piece {
                buf: &self.buf,
                avail,
                first: self.buf_start == 0,
            });
            if complete {
                self.end_frame();
                return;
            }
            match next {
                Some(off) if off > 0 && off < self.buf.len() => {
                    // The next message starts inside what we have: keep it, buffer on.
                    self.buf.drain(..off);
                    self.buf_start += off;
                    self.want = (self.frame_len - self.buf_start)
                        .min(PREFIX)
                        .max(self.buf.len());
                    if self.buf.len() < self.want {
                        return;
                    }
                }
                Some(off) if off > 0 && off < avail => {
                    self.skip_to = self.buf_start + off;
                    self.resume = true;
                    self.state = State::Skip;
                    if self.pos == self.skip_to {
                        self.skipped();
                    }
                    return;
                }
                _ => {
                    self.skip_to = self.frame_len;
                    self.resume = false;
                    self.state = State::Skip;
                    return;
                }
            }
        }
    }

    /// Reached `skip_to`: collect the next message of the chain or end the frame.
    fn skipped(&mut self) {
        if !self.resume || self.pos >= self.frame_len {
            self.end_frame();
            return;
        }
        self.buf.clear();
        self.buf_start = self.pos;
        self.want = (self.frame_len - self.pos).min(PREFIX);
        self.state = State::Collect;
    }

    fn end_frame(&mut self) {
        self.state = State::Header;
        self.hlen = 0;
        if self.buf.capacity() > FULL_CAP {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
    }

    /// Memory held for buffering, to check the bound.
    #[cfg(test)]
    pub fn buffered_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// `len` bytes were lost. Inside a frame we skip to its end; otherwise we resync.
    pub fn gap(&mut self, len: u64) {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        match self.state {
            State::Collect | State::Skip if len <= self.frame_len - self.pos => {
                self.pos += len;
                self.buf.clear();
                if self.pos == self.frame_len {
                    self.end_frame();
                } else {
                    self.skip_to = self.frame_len;
                    self.resume = false;
                    self.state = State::Skip;
                }
            }
            State::NbSkip(rem) if len < rem => self.state = State::NbSkip(rem - len),
            State::NbSkip(rem) if len == rem => self.state = State::Header,
            _ => {
                self.end_frame();
                self.resync = true;
            }
        }
    }
}

/// Content check for the first bytes of a direction (see [`super::probe`]).
pub(super) fn probe_frames(data: &[u8]) -> super::Probe {
    use super::Probe;
    let mut d = data;
    // Session-service packets may precede the first SMB message (139); look past a few.
    for _ in 0..4 {
        let Some(&t) = d.first() else {
            return Probe::NeedMore;
        };
        match t {
            0x00 => {
                if d.len() < 8 {
                    return if prefix_ok(d, true) {
                        Probe::NeedMore
                    } else {
                        Probe::NoMatch
                    };
                }
                return if prefix_ok(&d[..8], true) {
                    Probe::Match
                } else {
                    Probe::NoMatch
                };
            }
            0x81 => {
                if d.len() < 4 {
                    return if prefix_ok(d, false) {
                        Probe::NeedMore
                    } else {
                        Probe::NoMatch
                    };
                }
                let len =
                    (usize::from(d[1] & 1) << 16) | (usize::from(d[2]) << 8) | usize::from(d[3]);
                if d[1] & 0xfe != 0 || !(68..=256).contains(&len) {
                    return Probe::NoMatch;
                }
                let Some(body) = d.get(4..4 + len) else {
                    return Probe::NeedMore;
                };
                return match netbios_name(body)
                    .and_then(|n| netbios_name(&body[n..]).map(|m| n + m))
                {
                    Some(total) if total == len => Probe::Match,
                    _ => Probe::NoMatch,
                };
            }
            0x82 | 0x85 => {
                if d.len() < 4 {
                    return if d[1..].iter().all(|&b| b == 0) {
                        Probe::NeedMore
                    } else {
                        Probe::NoMatch
                    };
                }
                if d[1..4] != [0, 0, 0] {
                    return Probe::NoMatch;
                }
                d = &d[4..];
                if d.is_empty() {
                    return Probe::Match;
                }
            }
            _ => return Probe::NoMatch,
        }
    }
    Probe::Match
}

/// Length of one encoded NetBIOS name (0x20, 32 letters A–P, optional scope labels, 0).
fn netbios_name(b: &[u8]) -> Option<usize> {
    if *b.first()? != 0x20 || !b.get(1..33)?.iter().all(|c| (b'A'..=b'P').contains(c)) {
        return None;
    }
    let mut i = 33;
    loop {
        let l = usize::from(*b.get(i)?);
        if l == 0 {
            return Some(i + 1);
        }
        if l > 63 {
            return None;
        }
        i += 1 + l;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Probe;

    fn frames(input: &[u8], chunk: usize) -> (Vec<(Vec<u8>, usize, bool)>, Stream) {
        let mut s = Stream::default();
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            s.feed(c, &mut |p: Piece<'_>| {
                out.push((p.buf.to_vec(), p.avail, p.first));
                None
            });
        }
        (out, s)
    }

    fn smb2(cmd: u16, response: bool, extra: usize) -> Vec<u8> {
        let mut m = vec![0u8; 64 + extra];
        m[..4].copy_from_slice(b"\xfeSMB");
        m[4] = 64;
        m[12..14].copy_from_slice(&cmd.to_le_bytes());
        m[16] = u8::from(response);
        m
    }

    fn nb(msg: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0,
            (msg.len() >> 16) as u8,
            (msg.len() >> 8) as u8,
            msg.len() as u8,
        ];
        v.extend_from_slice(msg);
        v
    }

    #[test]
    fn small_frames_whole_and_bulk_skipped() {
        let a = smb2(5, false, 100);
        let w = smb2(9, false, 100_000);
        let mut input = nb(&a);
        input.extend(nb(&w));
        input.extend([0x85, 0, 0, 0]);
        input.extend(nb(&a));
        for chunk in [1, 3, 7, 1000, 1 << 20] {
            let (out, s) = frames(&input, chunk);
            assert_eq!(out.len(), 3, "chunk {chunk}");
            assert_eq!(out[0].0, a);
            assert_eq!(out[1].0.len(), PREFIX);
            assert_eq!(out[1].1, w.len());
            assert_eq!(out[2].0, a);
            assert_eq!(s.desyncs, 0);
            assert!(s.buf.capacity() <= FULL_CAP + PREFIX);
        }
    }

    #[test]
    fn resyncs_after_garbage_and_gap() {
        let a = smb2(5, false, 10);
        let mut input = b"garbage\x00\x00\x00SM".to_vec();
        input.extend(nb(&a));
        let (out, s) = frames(&input, 1);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, a);
        assert_eq!(s.desyncs, 1);

        let mut s = Stream::default();
        let mut n = 0;
        let big = nb(&smb2(8, true, 5000));
        s.feed(&big[..100], &mut |_| None);
        s.gap(10);
        s.feed(&big[110..], &mut |_| {
            n += 1;
            None
        });
        assert_eq!(n, 0, "frame hit by the gap is skipped, not parsed");
        s.feed(&nb(&a), &mut |_| {
            n += 1;
            None
        });
        assert_eq!(n, 1);
        s.gap(1_000_000);
        s.feed(b"xx", &mut |_| None);
        s.feed(&nb(&a), &mut |_| {
            n += 1;
            None
        });
        assert_eq!(n, 2);
    }

    #[test]
    fn resume_inside_frame() {
        // A compound: bulk READ response whose NextCommand points past the prefix.
        let mut r = smb2(8, true, 2000);
        let rl = r.len() as u32;
        r[20..24].copy_from_slice(&rl.to_le_bytes());
        let c = smb2(6, true, 60);
        let mut frame = r.clone();
        frame.extend(&c);
        let input = nb(&frame);
        for chunk in [1, 64, 100_000] {
            let mut s = Stream::default();
            let mut got = Vec::new();
            for ch in input.chunks(chunk) {
                s.feed(ch, &mut |p: Piece<'_>| {
                    got.push((p.buf.to_vec(), p.first));
                    if p.first {
                        Some(r.len())
                    } else {
                        None
                    }
                });
            }
            assert_eq!(got.len(), 2);
            assert_eq!(got[1], (c.clone(), false));
        }
    }

    #[test]
    fn probe_verdicts() {
        let m = nb(&smb2(0, false, 40));
        assert_eq!(probe_frames(&m), Probe::Match);
        assert_eq!(probe_frames(&m[..6]), Probe::NeedMore);
        assert_eq!(probe_frames(b""), Probe::NeedMore);
        assert_eq!(probe_frames(b"\x00\x00\x00\x10\xfeSMX"), Probe::NoMatch);
        assert_eq!(probe_frames(b"\x00\x00\x00\x02\xfeSMB"), Probe::NoMatch);
        assert_eq!(probe_frames(b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe_frames(b"\x85\x00\x00\x00"), Probe::Match);
        assert_eq!(probe_frames(b"\x85\x00\x00\x00GET"), Probe::NoMatch);
        assert_eq!(probe_frames(b"\x82\x00\x00\x01"), Probe::NoMatch);
        assert_eq!(probe_frames(b"\x82\x00"), Probe::NeedMore);
        let req = hex("8100004420454a4543454a45474549464244424442464846444441444344444341434143410020464345504644454745494642444144484648464444414441444543414341414100");
        assert_eq!(probe_frames(&req), Probe::Match);
        assert_eq!(probe_frames(&req[..40]), Probe::NeedMore);
        let mut bad = req.clone();
        bad[10] = b'z';
        assert_eq!(probe_frames(&bad), Probe::NoMatch);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
