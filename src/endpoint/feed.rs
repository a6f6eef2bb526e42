//! Where endpoint lines come from. Feeds only split bytes into lines and hand them over in
//! batches; the stage parses them (so interning and counting stay single-threaded).
//!
//! - Replay: the file is read whole by the stage before it judges a single flow
//!   ([`LineSplitter`] over a `BufReader`), so records before or after a flow both join.
//! - Live: [`follow`] tails the file like `tail -F`: from its end at start-up, across
//!   rotation (rename + new file: the old one is read to its end first) and truncation
//!   (copytruncate: reading restarts at 0), and waits for a file that does not exist yet.
//! - [`listen`]: a unix stream socket for shippers, newline-delimited JSON, several clients
//!   at once (one thread each, bounded by `endpoint.max_clients`); or [`listen_dgram`], a
//!   datagram socket, one or more lines per datagram (what NXLog's `om_uds` and rsyslog's
//!   `omuxsock` send by default).
//!
//! Lines are capped at [`MAX_LINE`] bytes: a longer one is reported as such and skipped to
//! its newline, so a stray binary stream cannot grow a buffer without bound.

use crossbeam_channel::Sender;
use memchr::memchr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Longest accepted line; Sysmon records are well under 4 KiB.
pub const MAX_LINE: usize = 64 * 1024;
/// Lines per batch handed to the stage.
const BATCH_LINES: usize = 1024;
/// How often the follower looks for new data, rotation and truncation, and how long a
/// socket read waits before checking whether to stop.
const POLL: Duration = Duration::from_millis(100);

/// Complete lines from one source.
#[derive(Debug)]
pub struct LineBatch {
    /// For messages: the file, or `socket client #N`.
    pub source: Arc<str>,
    /// Line number of the first line (1-based, counted from where reading began).
    pub first_line: u64,
    pub data: Vec<u8>,
    /// Byte ranges of the lines in `data`; None for a line over [`MAX_LINE`].
    pub spans: Vec<Option<(u32, u32)>>,
}

impl LineBatch {
    pub fn new(source: Arc<str>, first_line: u64) -> LineBatch {
        LineBatch {
            source,
            first_line,
            data: Vec::new(),
            spans: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The lines, None for an overlong one.
    pub fn lines(&self) -> impl Iterator<Item = Option<&[u8]>> {
        self.spans
            .iter()
            .map(|s| s.map(|(a, b)| &self.data[a as usize..b as usize]))
    }

    fn push(&mut self, line: Option<&[u8]>) {
        self.spans.push(line.map(|l| {
            let a = self.data.len() as u32;
            self.data.extend_from_slice(l);
            (a, self.data.len() as u32)
        }));
    }

    /// Hand the lines over and start the next batch after them.
    fn take(&mut self) -> LineBatch {
        let next = self.first_line + self.spans.len() as u64;
        std::mem::replace(self, LineBatch::new(self.source.clone(), next))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Partial {
    #[default]
    Collecting,
    /// Past MAX_LINE: drop bytes up to the newline, then report the line as overlong.
    TooLong,
    /// Started reading mid-line (a followed file's tail): drop up to the newline silently.
    Skip,
}

/// Splits a byte stream into lines, keeping an unfinished last line until its newline
/// arrives (a file being appended to, a socket mid-record).
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    state: Partial,
}

impl LineSplitter {
    /// Split one buffer-full of `r` into `out`. Returns the bytes consumed; 0 at the end
    /// of the input (for now: a followed file may grow). One buffer per call so that a
    /// socket reader hands lines on before it blocks for more.
    pub fn read<R: BufRead>(&mut self, r: &mut R, out: &mut LineBatch) -> io::Result<usize> {
        let avail = loop {
            match r.fill_buf() {
                Ok(b) => break b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        let n = avail.len();
        let mut rest = avail;
        while let Some(i) = memchr(b'\n', rest) {
            self.line_end(&rest[..i], out);
            rest = &rest[i + 1..];
        }
        self.collect(rest);
        r.consume(n);
        Ok(n)
    }

    fn collect(&mut self, bytes: &[u8]) {
        if self.state == Partial::Collecting {
            if self.partial.len() + bytes.len() > MAX_LINE {
                self.partial.clear();
                self.state = Partial::TooLong;
            } else {
                self.partial.extend_from_slice(bytes);
            }
        }
    }

    fn line_end(&mut self, tail: &[u8], out: &mut LineBatch) {
        if self.state == Partial::Collecting && self.partial.is_empty() && tail.len() <= MAX_LINE {
            // The common case: the whole line is in the buffer, no copy into `partial`.
            out.push(Some(tail));
        } else {
            self.collect(tail);
            match self.state {
                Partial::Collecting => out.push(Some(&self.partial)),
                Partial::TooLong => out.push(None),
                Partial::Skip => {}
            }
        }
        self.partial.clear();
        self.state = Partial::Collecting;
    }

    /// The input ended for good: a last line without a newline is still a line.
    pub fn finish(&mut self, out: &mut LineBatch) {
        if !self.partial.is_empty() || self.state == Partial::TooLong {
            self.line_end(&[], out);
        }
        self.partial.clear();
        self.state = Partial::Collecting;
    }

    /// Forget the unfinished line (the file it came from was truncated).
    fn reset(&mut self) {
        self.partial.clear();
        self.state = Partial::Collecting;
    }
}

/// A whole file read in batches of lines (replay).
pub struct FileLines {
    r: BufReader<File>,
    split: LineSplitter,
    source: Arc<str>,
    next_line: u64,
    done: bool,
}

impl FileLines {
    pub fn new(path: &Path, file: File) -> FileLines {
        FileLines {
            r: BufReader::with_capacity(1 << 20, file),
            split: LineSplitter::default(),
            source: Arc::from(path.display().to_string()),
            next_line: 1,
            done: false,
        }
    }

    /// Refill `b` with the next `max` lines or so (whole buffers: a few more); false when
    /// the file has none left. `b`'s buffers are reused.
    pub fn next(&mut self, b: &mut LineBatch, max: usize) -> io::Result<bool> {
        b.source = self.source.clone();
        b.first_line = self.next_line;
        b.data.clear();
        b.spans.clear();
        while !self.done && b.spans.len() < max {
            if self.split.read(&mut self.r, b)? == 0 {
                self.split.finish(b);
                self.done = true;
            }
        }
        self.next_line += b.spans.len() as u64;
        Ok(!b.is_empty())
    }
}

/// What the feeds saw, beyond lines: read by the stage for `stats.endpoint`.
#[derive(Debug, Default)]
pub struct FeedCounters {
    pub rotations: AtomicU64,
    pub truncations: AtomicU64,
    pub clients: AtomicU64,
    pub clients_rejected: AtomicU64,
    /// Clients connected now.
    pub clients_active: AtomicU64,
}

/// The followed file as it is open now.
struct Open {
    r: BufReader<File>,
    dev: u64,
    ino: u64,
}

struct Follower {
    path: PathBuf,
    open: Option<Open>,
    split: LineSplitter,
    batch: LineBatch,
    counters: Arc<FeedCounters>,
}

impl Follower {
    fn attach(&mut self, file: File, at_end: bool) -> io::Result<()> {
        let m = file.metadata()?;
        let mut r = BufReader::with_capacity(1 << 16, file);
        self.split.reset();
        if at_end && m.len() > 0 {
            // Start at the end, but never with half a line: find out whether the last
            // byte ends one.
            r.seek(SeekFrom::Start(m.len() - 1))?;
            let mut last = [0u8];
            io::Read::read_exact(&mut r, &mut last)?;
            if last[0] != b'\n' {
                self.split.state = Partial::Skip;
            }
        }
        self.open = Some(Open {
            r,
            dev: m.dev(),
            ino: m.ino(),
        });
        Ok(())
    }

    /// Read what is there; then notice truncation and rotation. Returns whether any
    /// bytes were read.
    fn poll(&mut self, tx: &Sender<LineBatch>) -> io::Result<bool> {
        if self.open.is_none() {
            match File::open(&self.path) {
                // Created after start-up: all of it is new.
                Ok(f) => self.attach(f, false)?,
                Err(_) => return Ok(false),
            }
        }
        let Some(o) = self.open.as_mut() else {
            return Ok(false);
        };
        let mut any = false;
        while self.split.read(&mut o.r, &mut self.batch)? > 0 {
            any = true;
            if self.batch.spans.len() >= BATCH_LINES {
                send(tx, &mut self.batch);
            }
        }
        send(tx, &mut self.batch);
        let pos = o.r.stream_position()?;
        if o.r.get_ref().metadata()?.len() < pos {
            o.r.seek(SeekFrom::Start(0))?;
            self.split.reset();
            self.counters.truncations.fetch_add(1, Ordering::Relaxed);
            return Ok(true);
        }
        match std::fs::metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) != (o.dev, o.ino) => {
                // Rotated: the old file was read to its end above; its last line is done.
                self.split.finish(&mut self.batch);
                send(tx, &mut self.batch);
                if let Ok(f) = File::open(&self.path) {
                    self.attach(f, false)?;
                    self.counters.rotations.fetch_add(1, Ordering::Relaxed);
                    return Ok(true);
                }
            }
            // Moved away and not yet recreated: keep reading the old one.
            _ => {}
        }
        Ok(any)
    }
}

fn send(tx: &Sender<LineBatch>, batch: &mut LineBatch) {
    if !batch.is_empty() {
        // The stage outlives the feeds; a closed channel only means it is shutting down.
        let _ = tx.send(batch.take());
    }
}

/// Follow `path` like `tail -F` until `stop`. Starts at the end of an existing file: the
/// lines already in it are about flows this run has not seen.
pub fn follow(
    path: PathBuf,
    tx: Sender<LineBatch>,
    stop: Arc<AtomicBool>,
    counters: Arc<FeedCounters>,
) -> Result<JoinHandle<()>, String> {
    let mut f = Follower {
        batch: LineBatch::new(Arc::from(path.display().to_string()), 1),
        path,
        open: None,
        split: LineSplitter::default(),
        counters,
    };
    if let Ok(file) = File::open(&f.path) {
        f.attach(file, true)
            .map_err(|e| format!("endpoint.events_file {}: {e}", f.path.display()))?;
    } else {
        eprintln!(
            "exfil-sensor: endpoint.events_file {} does not exist yet; waiting for it",
            f.path.display()
        );
    }
    thread::Builder::new()
        .name("endpoint-follow".into())
        .spawn(move || {
            let mut warned = false;
            while !stop.load(Ordering::Relaxed) {
                match f.poll(&tx) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => {
                        if !warned {
                            eprintln!(
                                "exfil-sensor: endpoint.events_file {}: {e} (retrying)",
                                f.path.display()
                            );
                            warned = true;
                        }
                        f.open = None;
                    }
                }
                thread::sleep(POLL);
            }
        })
        .map_err(|e| format!("cannot start endpoint follower thread: {e}"))
}

/// Make way for the shippers' socket. A leftover socket file from an earlier run is
/// removed; one that a running process still answers on, or any other kind of file, is
/// an error.
fn clear_path(path: &Path) -> Result<(), String> {
    let what = || format!("endpoint.socket {}", path.display());
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_socket() {
            return Err(format!("{}: exists and is not a socket", what()));
        }
        let live = UnixStream::connect(path).is_ok()
            || UnixDatagram::unbound().is_ok_and(|d| d.connect(path).is_ok());
        if live {
            return Err(format!("{}: another process is listening on it", what()));
        }
        std::fs::remove_file(path).map_err(|e| format!("{}: {e}", what()))?;
    }
    Ok(())
}

fn bind(path: &Path) -> Result<UnixListener, String> {
    clear_path(path)?;
    let what = || format!("endpoint.socket {}", path.display());
    let l = UnixListener::bind(path).map_err(|e| format!("{}: {e}", what()))?;
    l.set_nonblocking(true)
        .map_err(|e| format!("{}: {e}", what()))?;
    Ok(l)
}

/// Listen on a unix socket until `stop`; each client is read on its own thread. The
/// socket file is removed when listening ends.
pub fn listen(
    path: PathBuf,
    tx: Sender<LineBatch>,
    stop: Arc<AtomicBool>,
    counters: Arc<FeedCounters>,
    max_clients: usize,
) -> Result<JoinHandle<()>, String> {
    let listener = bind(&path)?;
    thread::Builder::new()
        .name("endpoint-socket".into())
        .spawn(move || {
            let mut clients: Vec<JoinHandle<()>> = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        clients.retain(|h| !h.is_finished());
                        if clients.len() >= max_clients {
                            counters.clients_rejected.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        n += 1;
                        counters.clients.fetch_add(1, Ordering::Relaxed);
                        let (tx, stop, c) = (tx.clone(), stop.clone(), counters.clone());
                        let spawned = thread::Builder::new()
                            .name(format!("endpoint-client-{n}"))
                            .spawn(move || client(s, n, &tx, &stop, &c));
                        match spawned {
                            Ok(h) => clients.push(h),
                            Err(_) => {
                                counters.clients_rejected.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(POLL),
                    Err(e) => {
                        eprintln!("exfil-sensor: endpoint.socket {}: {e}", path.display());
                        thread::sleep(POLL);
                    }
                }
            }
            for h in clients {
                let _ = h.join();
            }
            let _ = std::fs::remove_file(&path);
        })
        .map_err(|e| format!("cannot start endpoint socket thread: {e}"))
}

/// Largest datagram read whole; a longer one arrives cut and is counted as malformed.
const MAX_DATAGRAM: usize = MAX_LINE;

/// Receive datagrams on a unix socket until `stop`: each holds one or more lines, and its
/// end ends its last line. Any number of senders; no connections to track.
pub fn listen_dgram(
    path: PathBuf,
    tx: Sender<LineBatch>,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>, String> {
    clear_path(&path)?;
    let what = format!("endpoint.socket {}", path.display());
    let sock = UnixDatagram::bind(&path).map_err(|e| format!("{what}: {e}"))?;
    sock.set_read_timeout(Some(POLL))
        .map_err(|e| format!("{what}: {e}"))?;
    thread::Builder::new()
        .name("endpoint-dgram".into())
        .spawn(move || {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            let mut batch = LineBatch::new(Arc::from(format!("{} datagram", path.display())), 1);
            let mut split = LineSplitter::default();
            while !stop.load(Ordering::Relaxed) {
                match sock.recv(&mut buf) {
                    Ok(n) => {
                        let mut r = &buf[..n];
                        while split.read(&mut r, &mut batch).unwrap_or(0) > 0 {}
                        split.finish(&mut batch);
                        send(&tx, &mut batch);
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => {
                        eprintln!("exfil-sensor: {what}: {e}");
                        thread::sleep(POLL);
                    }
                }
            }
            let _ = std::fs::remove_file(&path);
        })
        .map_err(|e| format!("cannot start endpoint socket thread: {e}"))
}

fn client(s: UnixStream, n: u64, tx: &Sender<LineBatch>, stop: &AtomicBool, c: &FeedCounters) {
    c.clients_active.fetch_add(1, Ordering::Relaxed);
    // The accepted stream inherits nothing from the non-blocking listener on Linux, but
    // say so: reads block, with a timeout so a silent client cannot delay shutdown.
    if s.set_nonblocking(false).is_ok() && s.set_read_timeout(Some(POLL)).is_ok() {
        let mut r = BufReader::with_capacity(1 << 16, s);
        let mut split = LineSplitter::default();
        let mut batch = LineBatch::new(Arc::from(format!("socket client #{n}")), 1);
        loop {
            match split.read(&mut r, &mut batch) {
                Ok(0) => {
                    split.finish(&mut batch);
                    send(tx, &mut batch);
                    break;
                }
                Ok(_) => send(tx, &mut batch),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
    c.clients_active.fetch_sub(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(b: &LineBatch) -> Vec<Option<String>> {
        b.lines()
            .map(|l| l.map(|l| String::from_utf8_lossy(l).into_owned()))
            .collect()
    }

    fn split_in_chunks(input: &[u8], chunk: usize) -> Vec<Option<String>> {
        let mut split = LineSplitter::default();
        let mut batch = LineBatch::new(Arc::from("t"), 1);
        for c in input.chunks(chunk.max(1)) {
            let mut r = BufReader::with_capacity(chunk.max(1), c);
            while split.read(&mut r, &mut batch).unwrap() > 0 {}
        }
        split.finish(&mut batch);
        lines_of(&batch)
    }

    #[test]
    fn lines_split_at_any_chunk_boundary() {
        let input = b"{\"a\":1}\n\n{\"b\":2}\r\nlast-without-newline";
        let want: Vec<Option<String>> = ["{\"a\":1}", "", "{\"b\":2}\r", "last-without-newline"]
            .iter()
            .map(|s| Some(s.to_string()))
            .collect();
        for chunk in 1..=input.len() {
            assert_eq!(split_in_chunks(input, chunk), want, "chunk {chunk}");
        }
    }

    #[test]
    fn overlong_lines_are_reported_and_skipped() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\nok\n");
        input.extend(vec![b'y'; MAX_LINE + 1]);
        for chunk in [7, 4096, 1 << 20] {
            assert_eq!(
                split_in_chunks(&input, chunk),
                vec![None, Some("ok".into()), None],
                "chunk {chunk}"
            );
        }
        // Exactly MAX_LINE is fine.
        let mut input = vec![b'z'; MAX_LINE];
        input.push(b'\n');
        assert_eq!(
            split_in_chunks(&input, 1000)[0].as_ref().unwrap().len(),
            MAX_LINE
        );
    }

    #[test]
    fn file_lines_come_in_numbered_batches() {
        let dir = tempdir("filelines");
        let path = dir.join("records.json");
        let text: String = (1..=10).map(|i| format!("line-{i}\n")).collect();
        std::fs::write(&path, text + "last").unwrap();
        let mut fl = FileLines::new(&path, File::open(&path).unwrap());
        let mut b = LineBatch::new(Arc::from(""), 0);
        let mut got = Vec::new();
        while fl.next(&mut b, 4).unwrap() {
            for (i, l) in lines_of(&b).into_iter().enumerate() {
                got.push((b.first_line + i as u64, l.unwrap()));
            }
        }
        assert_eq!(got.len(), 11);
        assert_eq!(got[0], (1, "line-1".to_string()));
        assert_eq!(got[10], (11, "last".to_string()));
        assert!(!fl.next(&mut b, 4).unwrap() && b.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn batches_number_their_lines() {
        let mut b = LineBatch::new(Arc::from("f"), 1);
        b.push(Some(b"a"));
        b.push(None);
        let first = b.take();
        assert_eq!(first.first_line, 1);
        assert_eq!(lines_of(&first), vec![Some("a".into()), None]);
        assert_eq!(b.first_line, 3);
        assert!(b.is_empty());
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "exfil-endpoint-{name}-{}-{:?}",
            std::process::id(),
            thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Collect lines from `rx` until `want` lines arrived or the deadline passed.
    fn collect(rx: &crossbeam_channel::Receiver<LineBatch>, want: usize) -> Vec<String> {
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.len() < want && std::time::Instant::now() < deadline {
            if let Ok(b) = rx.recv_timeout(Duration::from_millis(50)) {
                got.extend(
                    lines_of(&b)
                        .into_iter()
                        .map(|l| l.unwrap_or("<long>".into())),
                );
            }
        }
        got
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn follow_survives_rotation_and_truncation() {
        let dir = tempdir("follow");
        let path = dir.join("sysmon.json");
        // Already there at start-up, ending mid-line: none of it is read.
        append(&path, "old-1\nold-2\nold-partial");
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(FeedCounters::default());
        let h = follow(path.clone(), tx, stop.clone(), counters.clone()).unwrap();

        append(&path, "-rest\nnew-1\nnew-");
        thread::sleep(POLL * 3);
        append(&path, "2\n");
        assert_eq!(collect(&rx, 2), ["new-1", "new-2"]);

        // logrotate `create`: rename, the writer finishes the old file, then a new one.
        std::fs::rename(&path, dir.join("sysmon.json.1")).unwrap();
        append(&dir.join("sysmon.json.1"), "old-file-last\n");
        thread::sleep(POLL * 3);
        append(&path, "rotated-1\nrotated-2\n");
        assert_eq!(collect(&rx, 3), ["old-file-last", "rotated-1", "rotated-2"]);
        assert_eq!(counters.rotations.load(Ordering::Relaxed), 1);

        // logrotate `copytruncate`: the same file, cut to nothing, then written again.
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        thread::sleep(POLL * 3);
        append(&path, "after-truncate\n");
        assert_eq!(collect(&rx, 1), ["after-truncate"]);
        assert_eq!(counters.truncations.load(Ordering::Relaxed), 1);

        // Deleted and recreated later.
        std::fs::remove_file(&path).unwrap();
        thread::sleep(POLL * 3);
        append(&path, "recreated\n");
        assert_eq!(collect(&rx, 1), ["recreated"]);

        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        assert!(rx.try_recv().is_err(), "nothing read twice");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn follow_waits_for_a_missing_file() {
        let dir = tempdir("missing");
        let path = dir.join("later.json");
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let h = follow(path.clone(), tx, stop.clone(), Arc::default()).unwrap();
        thread::sleep(POLL * 2);
        append(&path, "first\nsecond\n");
        assert_eq!(collect(&rx, 2), ["first", "second"]);
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn socket_serves_two_clients_at_once() {
        let dir = tempdir("socket");
        let path = dir.join("endpoint.sock");
        // A stale socket file from an earlier run is replaced.
        drop(UnixListener::bind(&path).unwrap());
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(FeedCounters::default());
        let h = listen(path.clone(), tx.clone(), stop.clone(), counters.clone(), 8).unwrap();
        let mut a = UnixStream::connect(&path).unwrap();
        let mut b = UnixStream::connect(&path).unwrap();
        a.write_all(b"a-1\na-").unwrap();
        b.write_all(b"b-1\n").unwrap();
        let mut got = collect(&rx, 2);
        a.write_all(b"2\n").unwrap();
        b.write_all(b"b-2-no-newline").unwrap();
        drop(b); // the last line of a closed client still counts
        got.extend(collect(&rx, 2));
        got.sort();
        assert_eq!(got, ["a-1", "a-2", "b-1", "b-2-no-newline"]);
        assert_eq!(counters.clients.load(Ordering::Relaxed), 2);
        let e = listen(path.clone(), tx, stop.clone(), Arc::default(), 8).unwrap_err();
        assert!(e.contains("another process is listening"), "{e}");
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        assert!(!path.exists(), "socket file removed at the end");
        drop(a);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn datagram_socket_takes_lines_from_any_sender() {
        let dir = tempdir("dgram");
        let path = dir.join("endpoint.sock");
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let h = listen_dgram(path.clone(), tx.clone(), stop.clone()).unwrap();
        let e = listen(path.clone(), tx, stop.clone(), Arc::default(), 1).unwrap_err();
        assert!(e.contains("another process is listening"), "{e}");
        let a = UnixDatagram::unbound().unwrap();
        let b = UnixDatagram::unbound().unwrap();
        a.send_to(b"a-1", &path).unwrap();
        b.send_to(b"b-1\nb-2\n", &path).unwrap();
        a.send_to(b"a-2\n", &path).unwrap();
        let mut got = collect(&rx, 4);
        got.sort();
        assert_eq!(got, ["a-1", "a-2", "b-1", "b-2"]);
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn socket_path_that_is_a_file_is_refused() {
        let dir = tempdir("notsock");
        let path = dir.join("plain");
        append(&path, "x");
        let (tx, _rx) = crossbeam_channel::unbounded();
        let e = listen(path, tx, Arc::default(), Arc::default(), 1).unwrap_err();
        assert!(e.contains("not a socket"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
