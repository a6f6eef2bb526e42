//! Buffered EVE line writer for stdout or a file, reopened on SIGHUP for log rotation.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

pub struct EveWriter {
    path: Option<PathBuf>,
    out: BufWriter<Box<dyn Write + Send>>,
}

fn open_append(p: &PathBuf) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(p)
}

impl EveWriter {
    /// Opens the output now, so an unwritable path is an error at start, not a silent loss later.
    pub fn open(path: Option<PathBuf>) -> Result<EveWriter, String> {
        let sink: Box<dyn Write + Send> = match &path {
            Some(p) => Box::new(
                open_append(p)
                    .map_err(|e| format!("cannot open EVE output {}: {e}", p.display()))?,
            ),
            None => Box::new(io::stdout()),
        };
        Ok(EveWriter {
            path,
            out: BufWriter::with_capacity(1 << 16, sink),
        })
    }

    /// Write one JSON object followed by a newline.
    pub fn line(&mut self, json: &[u8]) -> io::Result<()> {
        self.out.write_all(json)?;
        self.out.write_all(b"\n")
    }

    /// Write lines that already end in newlines.
    pub fn raw(&mut self, lines: &[u8]) -> io::Result<()> {
        self.out.write_all(lines)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Close and reopen the file (after logrotate moved it). A no-op for stdout.
    pub fn reopen(&mut self) -> Result<(), String> {
        let Some(p) = &self.path else {
            return Ok(());
        };
        let _ = self.out.flush();
        let f = open_append(p).map_err(|e| format!("cannot reopen {}: {e}", p.display()))?;
        self.out = BufWriter::with_capacity(1 << 16, Box::new(f));
        Ok(())
    }
}
