//! Bounded line splitter for one direction of the control channel: the stream may be cut
//! anywhere, so a partial line waits here, but never more than [`MAX_LINE`] bytes of it.

use memchr::memchr;

/// Longest line kept. Real commands and reply lines are far shorter (RFC 959 servers
/// commonly cap at 512); the rest of a longer line is skipped and the line marked truncated.
pub(super) const MAX_LINE: usize = 4096;

#[derive(Debug, Default)]
pub(super) struct LineBuf {
    buf: Vec<u8>,
    /// The line being assembled outgrew `MAX_LINE`; its tail is being discarded.
    overflow: bool,
    /// After a gap: the partial line before the next LF is unusable, drop it.
    resync: bool,
    /// `buf` holds the line returned last time; clear it before assembling the next.
    returned: bool,
    /// Lines cut at `MAX_LINE`.
    pub(super) truncated: u64,
}

impl LineBuf {
    /// Next complete line (without CR/LF) and whether it was truncated, consuming
    /// `data[*pos..]`. None once `data` is used up (a partial line stays buffered).
    pub(super) fn next_line<'r>(
        &'r mut self,
        data: &'r [u8],
        pos: &mut usize,
    ) -> Option<(&'r [u8], bool)> {
        if self.returned {
            self.buf.clear();
            self.returned = false;
        }
        loop {
            let rest = data.get(*pos..).unwrap_or_default();
            if rest.is_empty() {
                return None;
            }
            let Some(nl) = memchr(b'\n', rest) else {
                if !self.resync {
                    self.append(rest);
                }
                *pos = data.len();
                return None;
            };
            let head = &rest[..nl];
            *pos += nl + 1;
            if self.resync {
                self.resync = false;
                continue;
            }
            if self.buf.is_empty() && !self.overflow && head.len() <= MAX_LINE {
                return Some((strip_cr(head), false));
            }
            self.append(head);
            let truncated = std::mem::take(&mut self.overflow);
            if truncated {
                self.truncated += 1;
            }
            self.returned = true;
            return Some((strip_cr(&self.buf), truncated));
        }
    }

    /// Bytes were lost: whatever line they belonged to is garbage up to the next LF.
    pub(super) fn gap(&mut self) {
        self.buf.clear();
        self.overflow = false;
        self.returned = false;
        self.resync = true;
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = MAX_LINE - self.buf.len();
        if bytes.len() > room {
            self.overflow = true;
        }
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
