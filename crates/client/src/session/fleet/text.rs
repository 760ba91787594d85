//! A host's stdout as a fleet keeps it until it is shown: in memory, or, once it passes
//! [`SPILL_ABOVE`] bytes, in an unnamed private temporary file. A fleet `cat` of a 100 MB log
//! then holds no more than [`SPILL_ABOVE`] of it per chunk loop, whatever the output mode, and
//! the printer reads it back in pieces ([`Text::for_each`]).
//!
//! The file is made by [`tempfile::tempfile`]: created 0600 in the temporary folder and already
//! unlinked (on Linux, `O_TMPFILE`), so nothing is left behind, not even after a crash. When no
//! file can be made, the output stays in memory (a debug line says so); when the file cannot be
//! written once part of the output is there (disk full), the host's result is an error that
//! says so, never a shortened output.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use rtrsh_command::digest::OutputDigest;

use crate::session::poll::OutputSink;

/// Output (stdout) kept in memory per host; past it, the host's output goes to a file.
pub const SPILL_ABOVE: usize = 1 << 20;

/// Pieces [`Text::for_each`] reads a file's text back in.
const PIECE: usize = 64 * 1024;

/// One host's stdout, in memory or in a file.
#[derive(Debug)]
pub struct Text {
    repr: Repr,
    len: u64,
    /// Its last byte (a file's text is not at hand to look at).
    last: Option<u8>,
}

#[derive(Debug)]
enum Repr {
    Mem(String),
    File(File),
}

impl Default for Text {
    fn default() -> Self {
        Text::from(String::new())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text {
            len: s.len() as u64,
            last: s.as_bytes().last().copied(),
            repr: Repr::Mem(s),
        }
    }
}

impl Text {
    /// Bytes of text.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held in memory (none for a file's text).
    pub fn in_memory_len(&self) -> usize {
        match &self.repr {
            Repr::Mem(s) => s.len(),
            Repr::File(_) => 0,
        }
    }

    /// What it costs to hold until shown, in bytes, for the budget of a unit of results: its
    /// length in memory; a file's text counts as [`SPILL_ABOVE`] (an open file each), so a
    /// unit holds a handful of them, never one per host of a large fleet.
    pub fn held(&self) -> usize {
        match &self.repr {
            Repr::Mem(s) => s.len(),
            Repr::File(_) => SPILL_ABOVE,
        }
    }

    /// The text, when it is in memory.
    pub fn as_str(&self) -> Option<&str> {
        match &self.repr {
            Repr::Mem(s) => Some(s),
            Repr::File(_) => None,
        }
    }

    /// Whether it ends a line (or is empty).
    pub fn ends_line(&self) -> bool {
        self.last.is_none_or(|b| b == b'\n')
    }

    /// Hands the text to `f` in order, in pieces (one for text in memory; pieces of at most
    /// 64 KiB from a file, each cut on a character boundary).
    pub fn for_each(&self, mut f: impl FnMut(&str) -> io::Result<()>) -> io::Result<()> {
        let file = match &self.repr {
            Repr::Mem(s) => return f(s),
            Repr::File(file) => file,
        };
        // One reader at a time: the printer is the only one.
        let mut file: &File = file;
        file.seek(SeekFrom::Start(0))?;
        let mut buf = vec![0u8; PIECE];
        // Bytes of a character cut by the previous read, at the start of `buf`.
        let mut carried = 0;
        loop {
            let n = file.read(&mut buf[carried..])?;
            if n == 0 {
                if carried > 0 {
                    // Only whole characters were written: a cut one means the file changed.
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the saved output ends inside a character",
                    ));
                }
                return Ok(());
            }
            let end = carried + n;
            let (text, rest) = match std::str::from_utf8(&buf[..end]) {
                Ok(t) => (t, 0),
                // A character cut at the end of the piece: kept for the next.
                Err(e) if e.error_len().is_none() => {
                    let good = e.valid_up_to();
                    (
                        std::str::from_utf8(&buf[..good]).unwrap_or_default(),
                        end - good,
                    )
                }
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the saved output is not UTF-8",
                    ));
                }
            };
            if !text.is_empty() {
                f(text)?;
            }
            buf.copy_within(end - rest..end, 0);
            carried = rest;
        }
    }

    /// The whole text: borrowed when in memory, read back from its file otherwise (for the
    /// few uses that need it whole, such as parsing a command's records).
    pub fn whole(&self) -> io::Result<Cow<'_, str>> {
        if let Repr::Mem(s) = &self.repr {
            return Ok(Cow::Borrowed(s));
        }
        let mut out = String::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.for_each(|piece| {
            out.push_str(piece);
            Ok(())
        })?;
        Ok(Cow::Owned(out))
    }

    /// [`Text::whole`], owned.
    pub fn to_string_whole(&self) -> io::Result<String> {
        self.whole().map(Cow::into_owned)
    }

    /// Gives back spare room of text in memory.
    pub fn shrink_to_fit(&mut self) {
        if let Repr::Mem(s) = &mut self.repr {
            s.shrink_to_fit();
        }
    }
}

/// Collects one host's output as it arrives, with its digest: stdout in memory up to `limit`
/// bytes, then in a temporary file; stderr in memory.
pub struct SpillSink {
    mem: String,
    file: Option<BufWriter<File>>,
    len: u64,
    last: Option<u8>,
    stderr: String,
    digest: OutputDigest,
    limit: usize,
    /// No temporary file could be made: the output stays in memory.
    in_memory: bool,
    /// Writing the file failed after part of the output went there: it cannot be shown whole.
    error: Option<String>,
}

impl SpillSink {
    pub fn new(limit: usize) -> SpillSink {
        SpillSink {
            mem: String::new(),
            file: None,
            len: 0,
            last: None,
            stderr: String::new(),
            digest: OutputDigest::default(),
            limit,
            in_memory: false,
            error: None,
        }
    }

    /// Moves what is in memory to a new temporary file, and writes there from now on.
    fn spill(&mut self) -> io::Result<()> {
        let mut w = BufWriter::with_capacity(PIECE, tempfile::tempfile()?);
        w.write_all(self.mem.as_bytes())?;
        self.mem = String::new();
        self.file = Some(w);
        Ok(())
    }

    /// The stdout, the stderr and their digest; `Err` when the output went partly to a file
    /// that could then not be written (disk full): it is not whole, and says why.
    pub fn finish(self) -> Result<(Text, String, OutputDigest), String> {
        let SpillSink {
            mem,
            file,
            len,
            last,
            stderr,
            digest,
            error,
            ..
        } = self;
        if let Some(e) = error {
            return Err(e);
        }
        let mut text = match file.map(BufWriter::into_inner) {
            Some(Ok(f)) => Text {
                repr: Repr::File(f),
                len,
                last,
            },
            Some(Err(e)) => return Err(spill_error(e.error())),
            None => Text::from(mem),
        };
        text.shrink_to_fit();
        Ok((text, stderr, digest))
    }
}

fn spill_error(e: &io::Error) -> String {
    format!("its output could not be kept in a temporary file: {e}")
}

impl OutputSink for SpillSink {
    fn stdout(&mut self, chunk: &str) {
        if chunk.is_empty() || self.error.is_some() {
            return;
        }
        self.digest.stdout(chunk.as_bytes());
        self.len += chunk.len() as u64;
        self.last = chunk.as_bytes().last().copied();
        if self.file.is_none()
            && !self.in_memory
            && self.mem.len() + chunk.len() > self.limit
            && let Err(e) = self.spill()
        {
            tracing::debug!("a host's output stays in memory (no temporary file: {e})");
            self.in_memory = true;
            self.file = None;
        }
        match &mut self.file {
            Some(w) => {
                if let Err(e) = w.write_all(chunk.as_bytes()) {
                    self.error = Some(spill_error(&e));
                    self.file = None;
                }
            }
            None => self.mem.push_str(chunk),
        }
    }

    fn stderr(&mut self, chunk: &str) {
        self.digest.stderr(chunk.as_bytes());
        self.stderr.push_str(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(t: &Text) -> Vec<String> {
        let mut v = Vec::new();
        t.for_each(|p| {
            v.push(p.to_string());
            Ok(())
        })
        .expect("reads back");
        v
    }

    #[test]
    fn small_output_stays_in_memory_and_large_output_goes_to_a_file_unchanged() {
        let mut small = SpillSink::new(16);
        small.stdout("0123456789");
        small.stdout("abcdef");
        let (t, _, d) = small.finish().expect("whole");
        assert_eq!(t.as_str(), Some("0123456789abcdef"));
        assert_eq!(d.stdout_bytes, 16);

        // Multi-byte characters across the 64 KiB pieces the file is read back in.
        let line = "é🦀 wörld — ünïcode\n";
        let whole: String = line.repeat(20_000);
        let mut big = SpillSink::new(1000);
        // Chunks arrive as text: cut on character boundaries.
        let mut rest = whole.as_str();
        while !rest.is_empty() {
            let mut cut = rest.len().min(3000);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            big.stdout(&rest[..cut]);
            rest = &rest[cut..];
        }
        big.stderr("warning\n");
        let (t, err, d) = big.finish().expect("whole");
        assert_eq!(t.as_str(), None, "kept in a file");
        assert_eq!(t.in_memory_len(), 0);
        assert_eq!(t.len(), whole.len() as u64);
        assert!(t.ends_line());
        assert_eq!(err, "warning\n");
        assert_eq!(
            d.stdout_sha256(),
            OutputDigest::of(whole.as_bytes(), b"").stdout_sha256()
        );
        let back = pieces(&t);
        assert!(back.len() > 1, "read back in pieces");
        assert!(back.iter().all(|p| p.len() <= PIECE));
        assert_eq!(back.concat(), whole);
        // A second reader starts from the beginning again.
        assert_eq!(t.to_string_whole().expect("reads"), whole);
    }

    #[test]
    fn an_empty_output_ends_a_line_and_has_one_empty_piece() {
        let (t, _, _) = SpillSink::new(10).finish().expect("whole");
        assert!(t.is_empty() && t.ends_line());
        assert_eq!(pieces(&t), vec![String::new()]);
        let (t, _, _) = {
            let mut s = SpillSink::new(10);
            s.stdout("no newline");
            s.finish().expect("whole")
        };
        assert!(!t.ends_line());
    }
}
