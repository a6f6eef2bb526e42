//! Classic pcap files read straight from a memory map.
//!
//! libpcap's file reader `fread`s every record into its own buffer: a kernel copy into
//! stdio's buffer and a second copy out of it, on the capture thread, which is the
//! pipeline's serial stage. Mapped, the records are read in place; the dispatcher copies
//! each frame once, into its batch. pcapng files, files this reader does not recognise and
//! replays with a BPF filter stay with libpcap.

use super::{Frame, SharedMap};
use memmap2::{Advice, Mmap, UncheckedAdvice};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

const FILE_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;
/// libpcap's `max_snaplen_for_dlt` for the link types the decoder handles.
const MAX_SNAPLEN: u32 = 262_144;
/// Pages behind the read position are dropped from the mapping in steps of this much, so
/// the process's resident size does not grow with the file (the page cache keeps them).
const RELEASE_STEP: usize = 4 << 20;
/// How far behind the read position pages are kept: batches queued for the workers point
/// into them (the default queues hold about 10 MB). Releasing them earlier would only cost
/// page faults when a worker reads them.
const RELEASE_LAG: usize = 16 << 20;
/// Release boundaries are aligned to this (a multiple of every common page size).
const RELEASE_ALIGN: usize = 2 << 20;
/// Pages ahead of the read position are mapped in steps of this much with one
/// MADV_POPULATE_READ each: a page fault per 64 KiB of file was a tenth of the whole
/// pipeline's CPU time, on the capture thread.
const POPULATE_STEP: usize = 4 << 20;
/// How far ahead of the read position the file is prefetched into the cache.
const PREFETCH_AHEAD: usize = 4096;

/// A mapped classic pcap file (microsecond or nanosecond, either byte order).
pub struct PcapMap {
    map: SharedMap,
    swapped: bool,
    nanos: bool,
    snaplen: u32,
    dlt: i32,
}

impl PcapMap {
    /// The file mapped, when it is a classic pcap file (version 2.x) with a sane snaplen;
    /// None for anything else (pcapng, other magic, too short, cannot be mapped), which
    /// libpcap then reads and reports on as before.
    pub fn open(path: &Path) -> Option<PcapMap> {
        let file = File::open(path).ok()?;
        // SAFETY: the map is read-only and lives as long as this reader. A file that is
        // truncated while mapped would fault; replay inputs are finished captures.
        let map = unsafe { Mmap::map(&file) }.ok()?;
        let h = map.get(..FILE_HEADER)?;
        let magic = u32::from_le_bytes(h[..4].try_into().ok()?);
        let (swapped, nanos) = match magic {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            _ => return None,
        };
        let major = u16::from_le_bytes([h[4], h[5]]);
        if major != 2 && major.swap_bytes() != 2 {
            return None;
        }
        let mut m = PcapMap {
            map: Arc::new(map),
            swapped,
            nanos,
            snaplen: 0,
            dlt: 0,
        };
        m.snaplen = m.u32_at(16);
        if m.snaplen == 0 || m.snaplen > MAX_SNAPLEN {
            return None;
        }
        // The low 26 bits are the link type (the rest is FCS information); the decoder
        // takes LINKTYPE_ values where they differ from DLT_ ones (101 for raw IP).
        m.dlt = (m.u32_at(20) & 0x03ff_ffff) as i32;
        // Read once, front to back: ask for aggressive read-ahead.
        let _ = m.map.advise(Advice::Sequential);
        Some(m)
    }

    pub fn dlt(&self) -> i32 {
        self.dlt
    }

    /// The mapping, for consumers that keep frames by reference.
    pub fn shared(&self) -> SharedMap {
        self.map.clone()
    }

    fn u32_at(&self, at: usize) -> u32 {
        let v = u32::from_le_bytes(self.map[at..at + 4].try_into().unwrap_or_default());
        if self.swapped {
            v.swap_bytes()
        } else {
            v
        }
    }

    /// The records in file order, up to the end or the first record that is not plainly
    /// well-formed (see [`Records::stopped_early`]).
    pub fn records(&self) -> Records<'_> {
        Records {
            map: self,
            pos: FILE_HEADER,
            released: 0,
            populated: 0,
            prefetched: 0,
            count: 0,
            odd: false,
        }
    }
}

pub struct Records<'a> {
    map: &'a PcapMap,
    pos: usize,
    /// Start of the mapped pages not yet released.
    released: usize,
    /// End of the pages mapped ahead.
    populated: usize,
    /// End of the bytes asked into the cache.
    prefetched: usize,
    count: u64,
    odd: bool,
}

impl Records<'_> {
    /// Whether reading stopped at a record that is cut off or longer than the snaplen,
    /// rather than at the end of the file. libpcap has its own rules for those (errors,
    /// truncation to the snaplen), so the caller hands the rest of the file to it.
    pub fn stopped_early(&self) -> bool {
        self.odd
    }

    /// Records delivered so far.
    pub fn delivered(&self) -> u64 {
        self.count
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Frame<'a>;

    #[inline]
    fn next(&mut self) -> Option<Frame<'a>> {
        let m = self.map;
        let data: &'a [u8] = &m.map;
        let at = self.pos;
        if at >= data.len() || self.odd {
            return None;
        }
        if at.saturating_sub(RELEASE_LAG) - self.released >= RELEASE_STEP {
            let end = (at - RELEASE_LAG) & !(RELEASE_ALIGN - 1);
            // SAFETY: for a read-only file mapping, MADV_DONTNEED only unmaps the pages:
            // a later access reads the same bytes from the file again, so references into
            // the released range stay valid and unchanged.
            let _ = unsafe {
                m.map.unchecked_advise_range(
                    UncheckedAdvice::DontNeed,
                    self.released,
                    end - self.released,
                )
            };
            self.released = end;
        }
        if at >= self.populated {
            let len = POPULATE_STEP.min(data.len() - at);
            // Older kernels refuse the advice: the pages then fault in as before.
            let _ = m.map.advise_range(Advice::PopulateRead, at, len);
            self.populated = at + len;
        }
        let start = at + RECORD_HEADER;
        if start > data.len() {
            self.odd = true;
            return None;
        }
        let (secs, frac, caplen, len) = (
            m.u32_at(at),
            m.u32_at(at + 4),
            m.u32_at(at + 8),
            m.u32_at(at + 12),
        );
        let frame = (caplen <= m.snaplen)
            .then(|| data.get(start..start + caplen as usize))
            .flatten();
        let Some(frame) = frame else {
            self.odd = true;
            return None;
        };
        self.pos = start + frame.len();
        // Stream the file into the cache ahead of the read position: each record's header
        // is a new cache line, and waiting for memory there was most of the read cost.
        let ahead = (self.pos + PREFETCH_AHEAD).min(data.len());
        while self.prefetched < ahead {
            prefetch(data, self.prefetched);
            self.prefetched += 64;
        }
        self.count += 1;
        let usecs = if m.nanos { frac / 1000 } else { frac };
        Some(Frame {
            ts_us: u64::from(secs) * 1_000_000 + u64::from(usecs),
            wire_len: len.max(caplen),
            data: frame,
        })
    }
}

/// Hint the CPU to load the cache line holding `data[at]` (no-op past the end).
#[inline(always)]
fn prefetch(data: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = data.get(at) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is only a hint: it reads nothing the program sees and never
        // faults, and the address lies inside the mapping.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(b).cast()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(magic: u32, big_endian: bool, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut b = Vec::new();
        b.extend(w32(magic));
        b.extend(w16(2));
        b.extend(w16(4));
        b.extend([0; 8]);
        b.extend(w32(65535));
        b.extend(w32(1));
        for (s, f, data, len) in records {
            b.extend(w32(*s));
            b.extend(w32(*f));
            b.extend(w32(data.len() as u32));
            b.extend(w32(*len));
            b.extend_from_slice(data);
        }
        b
    }

    /// (ts, wire_len, data) of a record.
    type Rec = (u64, u32, Vec<u8>);

    /// The records of a file, and whether reading stopped early.
    fn read(bytes: &[u8]) -> Option<(Vec<Rec>, bool)> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("pcapmap-{}-{n}.pcap", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        let m = PcapMap::open(&p);
        std::fs::remove_file(&p).unwrap();
        let m = m?;
        assert_eq!(m.dlt(), 1);
        let mut r = m.records();
        let v = r
            .by_ref()
            .map(|f| (f.ts_us, f.wire_len, f.data.to_vec()))
            .collect();
        Some((v, r.stopped_early()))
    }

    #[test]
    fn both_byte_orders_and_resolutions() {
        for (magic, be, ts) in [
            (0xa1b2_c3d4, false, 5_000_007),
            (0xa1b2_c3d4, true, 5_000_007),
            (0xa1b2_3c4d, false, 5_000_000),
            (0xa1b2_3c4d, true, 5_000_000),
        ] {
            let b = file(magic, be, &[(5, 7, b"abc", 60), (6, 0, b"", 0)]);
            let r = read(&b).unwrap();
            let want = vec![(ts, 60, b"abc".to_vec()), (6_000_000, 0, vec![])];
            assert_eq!(r, (want, false), "{magic:x} {be}");
        }
    }

    #[test]
    fn odd_records_stop_reading_and_other_formats_are_left_to_libpcap() {
        let b = file(0xa1b2_c3d4, false, &[(1, 0, b"abcd", 4)]);
        let one = vec![(1_000_000, 4, b"abcd".to_vec())];
        assert_eq!(read(&b[..b.len() - 2]).unwrap(), (vec![], true));
        let mut half = b.clone();
        half.extend([0; 5]);
        assert_eq!(read(&half).unwrap(), (one.clone(), true));
        let mut huge = b.clone();
        huge.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
        huge.extend(vec![0; 65536]);
        assert_eq!(read(&huge).unwrap(), (one, true));
        let mut ng = b.clone();
        ng[..4].copy_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        assert!(read(&ng).is_none());
        let mut no_snaplen = b.clone();
        no_snaplen[16..20].copy_from_slice(&[0; 4]);
        assert!(read(&no_snaplen).is_none());
    }
}
