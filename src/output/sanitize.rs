//! The hostile-output sanitiser: every byte a remote host returns goes through here before it
//! reaches a terminal (unless the analyst asked for `--raw`).
//!
//! A host under investigation may be controlled by the attacker, so its output is treated as an
//! attack on the analyst's terminal: escape sequences can retitle the window (OSC 0), write the
//! clipboard (OSC 52), clear the screen, move the cursor to overwrite earlier lines, or recolour
//! text; `\r` and backspace can hide a line under another; bidi overrides and invisible format
//! characters can make `exe.txt` read as `txt.exe`; invalid UTF-8 can confuse the terminal's decoder.
//!
//! # Policy
//! - Printable text (ASCII and valid, visible UTF-8), `\n` and `\t` pass through unchanged.
//! - `\r\n` (and `\r\r\n`, as some Windows tools write) becomes `\n`. A `\r` followed by anything
//!   else (the overwrite trick) is shown as the two characters `\r`.
//! - ESC is shown as `\e`, and a whole escape sequence is kept together as inert text: CSI
//!   (`ESC [ params final`), OSC (`ESC ] ... BEL|ST`), DCS/SOS/PM/APC (`ESC P|X|^|_ ... ST`) and
//!   two/three-byte escapes (`ESC c`, `ESC ( B`). `\e]52;c;aGk=\x07` tells a reader exactly what the
//!   host tried. A newline always ends a sequence (a malformed sequence cannot swallow lines), and
//!   a sequence longer than [`MAX_SEQUENCE_LEN`] bytes is closed and the rest shown as text, so an
//!   unterminated 10 MB OSC holds no state.
//! - Every other C0 control, DEL and raw C1 byte is shown as `\xNN` (lowercase hex), e.g. BEL is
//!   `\x07` and backspace `\x08`. Invalid UTF-8 bytes are shown the same way, one `\xNN` per byte.
//! - C1 controls encoded as UTF-8 (U+0080..U+009F), bidi controls (U+202A..U+202E,
//!   U+2066..U+2069, U+061C), zero-width and other invisible format characters (U+200B..U+200F,
//!   U+2028..U+2029, U+2060..U+206F, U+FEFF, U+00AD, U+180E, U+FFF9..U+FFFB, Hangul fillers) and
//!   Unicode tag characters (U+E0000..U+E007F, used to smuggle invisible ASCII) are shown as
//!   `\u{202e}`.
//!
//! # Why this convention
//! It is plain ASCII, so it survives every terminal, font, pager and copy-paste; it is the
//! notation analysts already read (`printf`, bash `$'...'`, Rust, Python, PowerShell's `` `e``),
//! so a suspicious sequence can be pasted into a tool to reproduce it; and it is greppable. Glyphs
//! such as `␛` were rejected: they are easy to miss, render differently per font, and are
//! themselves non-ASCII. Backslashes in the host's own text are *not* escaped: Windows paths are
//! the bulk of RTR output, and every `C:\Windows` becoming `C:\\Windows` would hurt every reader;
//! the price is that a host can print a literal `\e[2J` that looks like a neutralised one.
//! Optional highlighting (see [`Sanitizer::with_highlight`]) dims everything the sanitiser
//! produced, which tells the two apart on a terminal; `--raw` and the JSON outputs keep the exact bytes.
//!
//! # Properties
//! Streaming and chunk-agnostic: [`Sanitizer::push`] may be called with arbitrary splits (inside
//! an escape sequence, inside a UTF-8 character, between `\r` and `\n`) and gives the same output
//! as sanitising the concatenation. Linear time; the state is a few bytes (a UTF-8 prefix of at most
//! 3 bytes, a `\r` counter, the sequence kind and length), never a buffered line.

use std::borrow::Cow;

/// A sequence longer than this (in bytes, introducer included) is closed: its start has been shown
/// as text, and the rest is shown as ordinary text. Only affects highlighting, never content.
pub const MAX_SEQUENCE_LEN: usize = 4096;

/// SGR "faint" on / "normal intensity" off: the only escape sequences the sanitiser itself ever
/// emits, and only with highlighting on.
pub const HIGHLIGHT_ON: &[u8] = b"\x1b[2m";
/// See [`HIGHLIGHT_ON`].
pub const HIGHLIGHT_OFF: &[u8] = b"\x1b[22m";

/// Where the parser is. Sequence states mean a sequence is open (and, with highlighting, dimmed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Ground,
    /// Just after ESC.
    Esc,
    /// `ESC` followed by intermediates (0x20..=0x2F), waiting for a final byte.
    EscIntermediate,
    /// Inside `ESC [`.
    Csi,
    /// Inside a control string: OSC (`osc`, ends on BEL or ST) or DCS/SOS/PM/APC (ends on ST).
    Str {
        osc: bool,
    },
    /// ESC seen inside a control string: `\` completes ST, anything else starts a new sequence.
    StrEsc,
}

/// A streaming sanitiser for one output stream (keep one per stream: stdout and stderr each
/// carry their own partial state).
#[derive(Clone, Debug)]
pub struct Sanitizer {
    state: State,
    highlight: bool,
    /// One-line rendering: `\n`, `\r` and `\t` are shown escaped too.
    line_mode: bool,
    /// Bytes of the open sequence so far.
    seq_len: usize,
    /// `\r`s not yet rendered: they vanish if a `\n` follows.
    pending_cr: u64,
    /// Prefix of an incomplete UTF-8 character.
    utf8: [u8; 4],
    utf8_len: u8,
    utf8_need: u8,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Sanitizer {
    /// A sanitiser for multi-line output, without highlighting.
    pub fn new() -> Self {
        Sanitizer {
            state: State::Ground,
            highlight: false,
            line_mode: false,
            seq_len: 0,
            pending_cr: 0,
            utf8: [0; 4],
            utf8_len: 0,
            utf8_need: 0,
        }
    }

    /// Dim everything the sanitiser rendered (escaped controls, whole escape sequences) with SGR 2
    /// / SGR 22, so a reader can tell them from the host's own text. For terminals only.
    pub fn with_highlight(mut self, on: bool) -> Self {
        self.highlight = on;
        self
    }

    fn line() -> Self {
        Sanitizer {
            line_mode: true,
            ..Self::new()
        }
    }

    /// Sanitise the next chunk of the stream, appending to `out`. Chunks may split anything.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len());
        let mut i = 0;
        while i < chunk.len() {
            if self.state == State::Ground && self.utf8_need == 0 && self.pending_cr == 0 {
                let rest = &chunk[i..];
                let run = rest
                    .iter()
                    .position(|&b| !self.is_plain(b))
                    .unwrap_or(rest.len());
                out.extend_from_slice(&rest[..run]);
                i += run;
                if i == chunk.len() {
                    break;
                }
            }
            self.byte(chunk[i], out);
            i += 1;
        }
    }

    /// End of the stream: render whatever is pending (a lone trailing `\r`, an incomplete UTF-8
    /// character, an unterminated sequence) and reset, ready for a new stream.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.flush_utf8(out);
        self.flush_cr(out);
        if self.state == State::StrEsc {
            self.abort_str_esc(out);
        }
        self.close(out);
        let (highlight, line_mode) = (self.highlight, self.line_mode);
        *self = Sanitizer {
            highlight,
            line_mode,
            ..Self::new()
        };
    }

    /// Bytes copied as they are in ground state (the fast path).
    fn is_plain(&self, b: u8) -> bool {
        matches!(b, 0x20..=0x7e) || (!self.line_mode && (b == b'\n' || b == b'\t'))
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.utf8_need > 0 {
            if self.continues_utf8(b) {
                self.utf8[usize::from(self.utf8_len)] = b;
                self.utf8_len += 1;
                self.utf8_need -= 1;
                if self.utf8_need == 0 {
                    let len = usize::from(self.utf8_len);
                    self.utf8_len = 0;
                    let decoded = std::str::from_utf8(&self.utf8[..len])
                        .ok()
                        .and_then(|s| s.chars().next());
                    match decoded {
                        Some(c) => self.text_char(c, out),
                        // Unreachable with the checks in `continues_utf8`; render safely anyway.
                        None => {
                            for k in 0..len {
                                let byte = self.utf8[k];
                                self.emit_escaped(&hex_escape(byte), out);
                            }
                        }
                    }
                    self.check_cap(out);
                }
                return;
            }
            self.flush_utf8(out);
        }
        if !self.line_mode {
            if b == b'\r' {
                match self.state {
                    State::Esc | State::EscIntermediate | State::Csi => self.close(out),
                    State::StrEsc => self.abort_str_esc(out),
                    State::Ground | State::Str { .. } => {}
                }
                self.pending_cr += 1;
                return;
            }
            if self.pending_cr > 0 {
                if b == b'\n' {
                    self.pending_cr = 0;
                } else {
                    self.flush_cr(out);
                }
            }
        }
        self.dispatch(b, out);
        self.check_cap(out);
    }

    /// The byte that ends a sequence: shown, then the sequence is closed.
    fn final_byte(&mut self, b: u8, out: &mut Vec<u8>) {
        out.push(b);
        self.close(out);
    }

    /// A byte that cannot continue the sequence: the sequence is closed and the byte read afresh.
    fn abort(&mut self, b: u8, out: &mut Vec<u8>) {
        self.close(out);
        self.ground(b, out);
    }

    fn dispatch(&mut self, b: u8, out: &mut Vec<u8>) {
        match self.state {
            State::Ground => self.ground(b, out),
            State::Esc => match b {
                b'[' => self.seq_byte(b, State::Csi, out),
                b']' => self.seq_byte(b, State::Str { osc: true }, out),
                b'P' | b'X' | b'^' | b'_' => self.seq_byte(b, State::Str { osc: false }, out),
                0x20..=0x2f => self.seq_byte(b, State::EscIntermediate, out),
                0x30..=0x7e => self.final_byte(b, out),
                _ => self.abort(b, out),
            },
            State::EscIntermediate => match b {
                0x20..=0x2f => self.seq_byte(b, State::EscIntermediate, out),
                0x30..=0x7e => self.final_byte(b, out),
                _ => self.abort(b, out),
            },
            State::Csi => match b {
                0x20..=0x3f => self.seq_byte(b, State::Csi, out),
                0x40..=0x7e => self.final_byte(b, out),
                _ => self.abort(b, out),
            },
            State::Str { osc } => {
                self.seq_len += 1;
                match b {
                    b'\n' => {
                        self.close(out);
                        self.ground(b, out);
                    }
                    0x07 if osc => {
                        out.extend_from_slice(b"\\x07");
                        self.close(out);
                    }
                    // CAN and SUB cancel a control string.
                    0x18 | 0x1a => {
                        out.extend_from_slice(control_repr(b).as_bytes());
                        self.close(out);
                    }
                    0x1b => self.state = State::StrEsc,
                    b'\t' if !self.line_mode => out.push(b),
                    0x00..=0x1f | 0x7f => out.extend_from_slice(control_repr(b).as_bytes()),
                    0x20..=0x7e => out.push(b),
                    _ => self.utf8_start(b, out),
                }
            }
            State::StrEsc => {
                if b == b'\\' {
                    out.extend_from_slice(b"\\e\\");
                    self.close(out);
                } else {
                    // The ESC starts a new sequence: end the string, open a sequence for the ESC.
                    self.close(out);
                    self.open(out);
                    self.dispatch(b, out);
                }
            }
        }
    }

    fn ground(&mut self, b: u8, out: &mut Vec<u8>) {
        match b {
            b'\n' if !self.line_mode => out.push(b),
            b'\t' if !self.line_mode => out.push(b),
            0x1b => self.open(out),
            0x00..=0x1f | 0x7f => self.emit_escaped(control_repr(b), out),
            0x20..=0x7e => out.push(b),
            _ => self.utf8_start(b, out),
        }
    }

    /// ESC: open a sequence and show the ESC.
    fn open(&mut self, out: &mut Vec<u8>) {
        if self.highlight {
            out.extend_from_slice(HIGHLIGHT_ON);
        }
        out.extend_from_slice(b"\\e");
        self.state = State::Esc;
        self.seq_len = 1;
    }

    fn seq_byte(&mut self, b: u8, next: State, out: &mut Vec<u8>) {
        out.push(b);
        self.seq_len += 1;
        self.state = next;
    }

    /// End the open sequence, if any.
    fn close(&mut self, out: &mut Vec<u8>) {
        if self.state != State::Ground {
            if self.highlight {
                out.extend_from_slice(HIGHLIGHT_OFF);
            }
            self.state = State::Ground;
            self.seq_len = 0;
        }
    }

    /// An ESC inside a control string followed by something that cannot continue a sequence.
    fn abort_str_esc(&mut self, out: &mut Vec<u8>) {
        self.close(out);
        self.emit_escaped("\\e", out);
    }

    /// Close an overlong sequence at a character boundary.
    fn check_cap(&mut self, out: &mut Vec<u8>) {
        if self.seq_len >= MAX_SEQUENCE_LEN
            && self.utf8_need == 0
            && matches!(
                self.state,
                State::Csi | State::EscIntermediate | State::Str { .. }
            )
        {
            self.close(out);
        }
    }

    /// Escaped text: dimmed on its own in ground state, part of the open sequence otherwise.
    fn emit_escaped(&self, text: &str, out: &mut Vec<u8>) {
        if self.highlight && self.state == State::Ground {
            out.extend_from_slice(HIGHLIGHT_ON);
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(HIGHLIGHT_OFF);
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    }

    fn flush_cr(&mut self, out: &mut Vec<u8>) {
        while self.pending_cr > 0 {
            self.pending_cr -= 1;
            self.emit_escaped("\\r", out);
        }
    }

    fn utf8_start(&mut self, b: u8, out: &mut Vec<u8>) {
        let need = match b {
            0xc2..=0xdf => 1,
            0xe0..=0xef => 2,
            0xf0..=0xf4 => 3,
            // Continuation bytes without a lead, overlong leads (C0, C1), beyond U+10FFFF.
            _ => {
                self.emit_escaped(&hex_escape(b), out);
                return;
            }
        };
        self.utf8[0] = b;
        self.utf8_len = 1;
        self.utf8_need = need;
    }

    /// Whether `b` is a valid next byte of the pending UTF-8 character (rejects overlongs,
    /// surrogates and code points above U+10FFFF at the second byte, like `str::from_utf8`).
    fn continues_utf8(&self, b: u8) -> bool {
        if self.utf8_len == 1 {
            match self.utf8[0] {
                0xe0 => (0xa0..=0xbf).contains(&b),
                0xed => (0x80..=0x9f).contains(&b),
                0xf0 => (0x90..=0xbf).contains(&b),
                0xf4 => (0x80..=0x8f).contains(&b),
                _ => (0x80..=0xbf).contains(&b),
            }
        } else {
            (0x80..=0xbf).contains(&b)
        }
    }

    /// Render an incomplete UTF-8 prefix byte by byte.
    fn flush_utf8(&mut self, out: &mut Vec<u8>) {
        if self.utf8_need > 0 {
            for k in 0..usize::from(self.utf8_len) {
                let byte = self.utf8[k];
                self.emit_escaped(&hex_escape(byte), out);
            }
            self.utf8_len = 0;
            self.utf8_need = 0;
        }
    }

    fn text_char(&mut self, c: char, out: &mut Vec<u8>) {
        if is_hidden(c) {
            self.emit_escaped(&format!("\\u{{{:x}}}", u32::from(c)), out);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

/// How a C0 control or DEL is shown.
fn control_repr(b: u8) -> &'static str {
    const HEX: [&str; 32] = [
        "\\x00", "\\x01", "\\x02", "\\x03", "\\x04", "\\x05", "\\x06", "\\x07", "\\x08", "\\t",
        "\\n", "\\x0b", "\\x0c", "\\r", "\\x0e", "\\x0f", "\\x10", "\\x11", "\\x12", "\\x13",
        "\\x14", "\\x15", "\\x16", "\\x17", "\\x18", "\\x19", "\\x1a", "\\e", "\\x1c", "\\x1d",
        "\\x1e", "\\x1f",
    ];
    match HEX.get(usize::from(b)) {
        Some(s) => s,
        None => "\\x7f",
    }
}

fn hex_escape(b: u8) -> String {
    format!("\\x{b:02x}")
}

/// Characters that are invisible, reorder text, or act as controls: shown as `\u{...}`.
pub fn is_hidden(c: char) -> bool {
    matches!(
        u32::from(c),
        0x80..=0x9f                // C1 controls
            | 0xad                 // soft hyphen
            | 0x061c               // Arabic letter mark
            | 0x115f | 0x1160 | 0x3164 | 0xffa0 // Hangul fillers (blank "letters")
            | 0x180e               // Mongolian vowel separator
            | 0x200b..=0x200f      // zero-width space/joiners, LRM, RLM
            | 0x2028..=0x202e      // line/paragraph separators, bidi embeddings and overrides
            | 0x2060..=0x206f      // word joiner, invisible operators, bidi isolates, deprecated
            | 0xfeff               // BOM / zero-width no-break space
            | 0xfff9..=0xfffb      // interlinear annotation
            | 0xe0000..=0xe007f // tag characters
    )
}

/// Sanitise a whole multi-line blob (the policy above, `\n` and `\t` kept).
pub fn sanitize_bytes(bytes: &[u8]) -> String {
    let mut s = Sanitizer::new();
    let mut out = Vec::with_capacity(bytes.len());
    s.push(bytes, &mut out);
    s.finish(&mut out);
    into_string(out)
}

/// Sanitise text that must stay on one line (hostnames, error messages, table cells): as
/// [`sanitize_bytes`], and `\n`, `\r`, `\t` are shown as those two-character escapes.
pub fn sanitize_line(s: &str) -> String {
    let mut san = Sanitizer::line();
    let mut out = Vec::with_capacity(s.len());
    san.push(s.as_bytes(), &mut out);
    san.finish(&mut out);
    into_string(out)
}

/// The sanitiser only ever emits ASCII escapes and whole valid characters.
fn into_string(out: Vec<u8>) -> String {
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Shorten `s` to at most `max_chars` characters, ending in `…` when cut. Counts `char`s, not
/// terminal columns. Meant for already sanitised table cells.
pub fn truncate_for_display(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        None => Cow::Borrowed(s),
        Some(_) if max_chars == 0 => Cow::Borrowed(""),
        Some(_) => {
            let cut = s
                .char_indices()
                .nth(max_chars - 1)
                .map_or(s.len(), |(i, _)| i);
            let mut t = String::with_capacity(cut + 3);
            t.push_str(&s[..cut]);
            t.push('…');
            Cow::Owned(t)
        }
    }
}

/// Makes text safe for a one-line terminal message (no control characters, no newlines).
pub fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    // Whatever else the text holds (escape sequences, bidi overrides, other controls: an API
    // error may quote what a host chose, e.g. its hostname) is made inert.
    sanitize_line(&flat)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[path = "sanitize_tests.rs"]
mod tests;
