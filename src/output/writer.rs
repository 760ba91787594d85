//! The terminal side of host output: [`OutputMode`] (`--raw` or not) and [`SanitizingWriter`],
//! which applies it to one stream. Keep two, one for the host's stdout and one for its stderr:
//! each carries its own partial sanitiser state (a UTF-8 character or escape sequence split
//! across chunks).

use std::io::{self, Write};

use super::sanitize::Sanitizer;

/// [`SanitizingWriter`] input is processed in slices of this size, which bounds its scratch buffer.
const WRITE_SLICE: usize = 64 * 1024;

/// Whether host output is sanitised before it is written (`--raw` selects [`OutputMode::Raw`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputMode {
    /// Neutralise escape sequences, controls, invisible characters and invalid UTF-8.
    #[default]
    Sanitized,
    /// Pass the host's bytes through untouched (for pipes into other tools).
    Raw,
}

/// A writer that applies an [`OutputMode`] to one stream of host output. Use one instance per
/// stream (stdout and stderr each keep their own partial state), and call
/// [`SanitizingWriter::finish`] at the end of each command's output.
#[derive(Debug)]
pub struct SanitizingWriter<W: Write> {
    inner: W,
    mode: OutputMode,
    sanitizer: Sanitizer,
    scratch: Vec<u8>,
}

impl<W: Write> SanitizingWriter<W> {
    pub fn new(inner: W, mode: OutputMode) -> Self {
        SanitizingWriter {
            inner,
            mode,
            sanitizer: Sanitizer::new(),
            scratch: Vec::new(),
        }
    }

    /// See [`Sanitizer::with_highlight`]; ignored in raw mode.
    pub fn with_highlight(mut self, on: bool) -> Self {
        self.sanitizer = self.sanitizer.with_highlight(on);
        self
    }

    pub fn mode(&self) -> OutputMode {
        self.mode
    }

    /// End of one command's output: render what the sanitiser still holds, flush the writer.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.mode == OutputMode::Sanitized {
            self.scratch.clear();
            self.sanitizer.finish(&mut self.scratch);
            let res = self.inner.write_all(&self.scratch);
            self.scratch.clear();
            res?;
        }
        self.inner.flush()
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer. Pending sanitiser state is dropped: call [`Self::finish`] first.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for SanitizingWriter<W> {
    /// Consumes the whole buffer (the sanitiser's state cannot be rewound), so this never
    /// reports a short write.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.mode {
            OutputMode::Raw => self.inner.write_all(buf)?,
            OutputMode::Sanitized => {
                for piece in buf.chunks(WRITE_SLICE) {
                    self.scratch.clear();
                    self.sanitizer.push(piece, &mut self.scratch);
                    let res = self.inner.write_all(&self.scratch);
                    self.scratch.clear();
                    res?;
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The two terminal sinks of host output: host stdout to our stdout, host stderr to our stderr.
pub fn terminal_writers(
    mode: OutputMode,
    highlight: bool,
) -> (SanitizingWriter<io::Stdout>, SanitizingWriter<io::Stderr>) {
    (
        SanitizingWriter::new(io::stdout(), mode).with_highlight(highlight),
        SanitizingWriter::new(io::stderr(), mode).with_highlight(highlight),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every write, to check that no single write (and so no buffer) grows with the input.
    #[derive(Default)]
    struct Recorder {
        total: usize,
        largest_write: usize,
        esc_bytes: usize,
        newlines: usize,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.total += buf.len();
            self.largest_write = self.largest_write.max(buf.len());
            self.esc_bytes += buf.iter().filter(|&&b| b == 0x1b).count();
            self.newlines += buf.iter().filter(|&&b| b == b'\n').count();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const TEN_MB: usize = 10 * 1024 * 1024;

    #[test]
    fn ten_megabyte_unterminated_osc_in_bounded_memory() {
        // One 10 MB write: the writer slices it, so nothing proportional to the line is buffered.
        let mut input = b"\x1b]52;c;".to_vec();
        input.resize(TEN_MB, b'Q');
        let mut w = SanitizingWriter::new(Recorder::default(), OutputMode::Sanitized);
        assert_eq!(w.write(&input).ok(), Some(TEN_MB));
        w.finish().ok();
        let rec = w.into_inner();
        assert_eq!(rec.total, TEN_MB + 1); // ESC (1 byte) became `\e` (2 bytes)
        assert_eq!(rec.esc_bytes, 0);
        assert!(
            rec.largest_write <= WRITE_SLICE + 1,
            "largest write {}",
            rec.largest_write
        );
    }

    #[test]
    fn raw_mode_passes_bytes_through() {
        let input = b"\x1b]0;t\x07\xff\r".to_vec();
        let mut w = SanitizingWriter::new(Vec::new(), OutputMode::Raw).with_highlight(true);
        w.write_all(&input).ok();
        w.finish().ok();
        assert_eq!(w.into_inner(), input);
    }

    #[test]
    fn writer_streams_keep_their_own_state() {
        let mut out = SanitizingWriter::new(Vec::new(), OutputMode::Sanitized);
        let mut err = SanitizingWriter::new(Vec::new(), OutputMode::Sanitized);
        out.write_all(b"a\xe2\x82").ok();
        err.write_all(b"\x1b[").ok();
        out.write_all(b"\xac\r").ok();
        err.write_all(b"31mE").ok();
        out.write_all(b"\n").ok();
        out.finish().ok();
        err.finish().ok();
        assert_eq!(out.into_inner(), "a€\n".as_bytes().to_vec());
        assert_eq!(err.into_inner(), b"\\e[31mE".to_vec());
    }
}
