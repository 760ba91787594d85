//! File and command-output bodies of the simulated world.
//!
//! Small bodies are plain bytes. Large files (up to hundreds of MB) are *generated*: every byte is
//! a pure function of (seed, kind, offset), so a chunk can be produced at any offset without ever
//! holding the whole file in memory, and the same seed always gives the same bytes.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::rng::Rng;

/// Length of one generated log line, newline included. Fixed so that line `i` starts at
/// `i * LOG_LINE_LEN` and any offset maps to a line without scanning.
pub const LOG_LINE_LEN: u64 = 128;

/// The body of a file or of a command's stdout.
#[derive(Clone, Debug)]
pub enum Content {
    Bytes(Bytes),
    Generated(Arc<Generated>),
}

/// How a generated body looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenKind {
    /// ASCII log lines of exactly [`LOG_LINE_LEN`] bytes (timestamp, service, pid, message).
    LogLines,
    /// One single line of printable ASCII with no newline until the last byte.
    SingleLine,
    /// Uniformly random bytes (not valid UTF-8): archives, executables, memory dumps.
    Binary,
}

#[derive(Debug)]
pub struct Generated {
    pub seed: u64,
    pub len: u64,
    pub kind: GenKind,
    sha256: OnceLock<[u8; 32]>,
}

impl Content {
    pub fn empty() -> Self {
        Content::Bytes(Bytes::new())
    }

    pub fn text(s: impl Into<String>) -> Self {
        // `Bytes::from(Vec)` keeps spare capacity alive: at 10,000 hosts that is tens of MB.
        let mut v = s.into().into_bytes();
        v.shrink_to_fit();
        Content::Bytes(Bytes::from(v))
    }

    pub fn bytes(b: impl Into<Bytes>) -> Self {
        Content::Bytes(b.into())
    }

    pub fn generated(seed: u64, len: u64, kind: GenKind) -> Self {
        Content::Generated(Arc::new(Generated {
            seed,
            len,
            kind,
            sha256: OnceLock::new(),
        }))
    }

    pub fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Generated(g) => g.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies bytes starting at `offset` into `buf`; returns how many were copied.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        match self {
            Content::Bytes(b) => {
                let start = offset.min(b.len() as u64) as usize;
                let n = buf.len().min(b.len() - start);
                buf[..n].copy_from_slice(&b[start..start + n]);
                n
            }
            Content::Generated(g) => g.read_at(offset, buf),
        }
    }

    /// The bytes in `start..end` (clamped to the length). Cheap for `Bytes` (no copy).
    pub fn slice(&self, start: u64, end: u64) -> Bytes {
        let end = end.min(self.len());
        let start = start.min(end);
        match self {
            Content::Bytes(b) => b.slice(start as usize..end as usize),
            Content::Generated(g) => {
                let mut v = vec![0u8; (end - start) as usize];
                let n = g.read_at(start, &mut v);
                v.truncate(n);
                Bytes::from(v)
            }
        }
    }

    /// The whole body in memory. Only for bodies known to be small.
    pub fn to_bytes(&self) -> Bytes {
        self.slice(0, self.len())
    }

    /// A streaming reader over the whole body.
    pub fn reader(&self) -> ContentReader {
        ContentReader {
            content: self.clone(),
            pos: 0,
        }
    }

    /// Passes the whole body to `f` in pieces of up to 1 MiB, in order (for digests: a generated
    /// body is never held whole).
    pub fn for_each_piece(&self, mut f: impl FnMut(&[u8])) {
        let mut r = self.reader();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            f(&buf[..n]);
        }
    }

    /// SHA-256 of the body (computed once for generated bodies, then cached).
    pub fn sha256(&self) -> [u8; 32] {
        match self {
            Content::Bytes(b) => Sha256::digest(b).into(),
            Content::Generated(g) => *g.sha256.get_or_init(|| {
                let mut h = Sha256::new();
                self.for_each_piece(|piece| h.update(piece));
                h.finalize().into()
            }),
        }
    }

    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256())
    }

    /// Where chunk `index` of this body starts and ends when split into pieces of about
    /// `chunk_size` bytes. Boundaries never split a UTF-8 sequence (a boundary that would land on a
    /// continuation byte moves back to the sequence's first byte), so every chunk of valid UTF-8 is
    /// valid UTF-8 on its own. Returns `None` past the last chunk. An empty body has one empty chunk.
    pub fn chunk_bounds(&self, chunk_size: u64, index: u64) -> Option<(u64, u64)> {
        let chunk_size = chunk_size.max(4);
        let len = self.len();
        let start = if index == 0 {
            0
        } else {
            self.boundary(index.checked_mul(chunk_size)?)
        };
        if index > 0 && start >= len {
            return None;
        }
        let end = match (index + 1).checked_mul(chunk_size) {
            Some(p) if p < len => self.boundary(p),
            _ => len,
        };
        Some((start, end))
    }

    /// Number of chunks this body is split into (at least 1).
    pub fn chunk_count(&self, chunk_size: u64) -> u64 {
        let mut n = 1;
        while self.chunk_bounds(chunk_size, n).is_some() {
            n += 1;
        }
        n
    }

    fn boundary(&self, pos: u64) -> u64 {
        if pos >= self.len() {
            return self.len();
        }
        let look = pos.min(3);
        let mut buf = [0u8; 4];
        let from = pos - look;
        let n = self.read_at(from, &mut buf[..(look + 1) as usize]);
        // Walk back over at most three continuation bytes (0b10xx_xxxx).
        let mut p = pos;
        let mut i = look as usize;
        while i > 0 && i < n && buf[i] & 0xC0 == 0x80 {
            i -= 1;
            p -= 1;
        }
        if i < n && buf[i] & 0xC0 == 0x80 {
            pos
        } else {
            p
        }
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content::text(s)
    }
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Content::text(s)
    }
}

pub use rtrsh_command::digest::hex;

impl Generated {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> usize {
        if offset >= self.len {
            return 0;
        }
        let n = buf.len().min((self.len - offset) as usize);
        let out = &mut buf[..n];
        match self.kind {
            GenKind::LogLines => {
                let mut line = [0u8; LOG_LINE_LEN as usize];
                let mut done = 0usize;
                while done < n {
                    let pos = offset + done as u64;
                    let idx = pos / LOG_LINE_LEN;
                    let within = (pos % LOG_LINE_LEN) as usize;
                    self.log_line(idx, &mut line);
                    let take = (LOG_LINE_LEN as usize - within).min(n - done);
                    out[done..done + take].copy_from_slice(&line[within..within + take]);
                    done += take;
                }
                // A file whose length is not a multiple of the line length ends with a newline.
                if offset + n as u64 == self.len && n > 0 && !self.len.is_multiple_of(LOG_LINE_LEN)
                {
                    out[n - 1] = b'\n';
                }
            }
            GenKind::SingleLine => {
                for (i, b) in out.iter_mut().enumerate() {
                    let p = offset + i as u64;
                    *b = if p + 1 == self.len {
                        b'\n'
                    } else {
                        b'A' + (p % 26) as u8
                    };
                }
            }
            GenKind::Binary => {
                let mut done = 0usize;
                while done < n {
                    let pos = offset + done as u64;
                    let block = pos / 8;
                    let within = (pos % 8) as usize;
                    let word = Rng::derive(self.seed, &[block]).next_u64().to_le_bytes();
                    let take = (8 - within).min(n - done);
                    out[done..done + take].copy_from_slice(&word[within..within + take]);
                    done += take;
                }
            }
        }
        n
    }

    /// Writes generated log line `idx` (exactly LOG_LINE_LEN bytes, ending in '\n') into `line`.
    fn log_line(&self, idx: u64, line: &mut [u8; LOG_LINE_LEN as usize]) {
        const SERVICES: [&str; 6] = ["sshd", "svchost", "kernel", "cron", "falcond", "nginx"];
        const EVENTS: [&str; 6] = [
            "connection accepted from 10.1.4.22",
            "session opened for user svc_backup",
            "scheduled task completed",
            "service state changed to running",
            "policy refresh succeeded",
            "GET /healthz 200",
        ];
        let mut r = Rng::derive(self.seed, &[idx]);
        // 2026-01-01T00:00:00Z plus one second per line, so lines sort by time.
        let t = 1_767_225_600 + idx;
        let (h, m, s) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
        let day = 1 + (idx / 86_400) % 28;
        let month = 1 + (idx / (86_400 * 28)) % 12;
        let text = format!(
            "2026-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z {}[{}]: #{idx:010} {}",
            r.pick(&SERVICES),
            1000 + r.below(60_000),
            r.pick(&EVENTS),
        );
        let bytes = text.as_bytes();
        let body = LOG_LINE_LEN as usize - 1;
        let take = bytes.len().min(body);
        line[..take].copy_from_slice(&bytes[..take]);
        for b in &mut line[take..body] {
            *b = b'.';
        }
        line[body] = b'\n';
    }
}

/// A `std::io::Read` over a [`Content`].
pub struct ContentReader {
    content: Content,
    pos: u64,
}

impl Read for ContentReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.content.read_at(self.pos, buf);
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_log_is_deterministic_and_random_access() {
        let c = Content::generated(9, 10_000, GenKind::LogLines);
        let whole = c.to_bytes();
        assert_eq!(whole.len(), 10_000);
        assert_eq!(c.slice(1_000, 2_345), whole.slice(1_000..2_345));
        assert!(whole.is_ascii());
        assert_eq!(whole.last(), Some(&b'\n'));
        assert_eq!(
            whole,
            Content::generated(9, 10_000, GenKind::LogLines).to_bytes()
        );
        assert_ne!(
            whole,
            Content::generated(10, 10_000, GenKind::LogLines).to_bytes()
        );
    }

    #[test]
    fn sha256_of_generated_matches_bytes() {
        let c = Content::generated(3, 3_000_001, GenKind::Binary);
        let b = Content::bytes(c.to_bytes());
        assert_eq!(c.sha256(), b.sha256());
    }

    #[test]
    fn chunks_cover_body_exactly_and_respect_utf8() {
        let s = "héllo wörld ✓ ".repeat(500);
        let c = Content::text(s.clone());
        let mut joined = Vec::new();
        let n = c.chunk_count(7);
        for i in 0..n {
            let (a, b) = c.chunk_bounds(7, i).expect("chunk in range");
            let piece = c.slice(a, b);
            assert!(
                std::str::from_utf8(&piece).is_ok(),
                "chunk {i} splits a character"
            );
            joined.extend_from_slice(&piece);
        }
        assert_eq!(joined, s.as_bytes());
        assert!(c.chunk_bounds(7, n).is_none());
        assert_eq!(Content::empty().chunk_count(10), 1);
        assert_eq!(Content::empty().chunk_bounds(10, 0), Some((0, 0)));
    }

    #[test]
    fn chunks_of_invalid_utf8_still_cover_everything() {
        let raw: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 256) as u8).collect();
        let c = Content::bytes(raw.clone());
        let mut joined = Vec::new();
        for i in 0..c.chunk_count(16) {
            let (a, b) = c.chunk_bounds(16, i).expect("chunk");
            assert!(b > a);
            joined.extend_from_slice(&c.slice(a, b));
        }
        assert_eq!(joined, raw);
    }
}
