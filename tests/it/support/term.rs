//! A minimal model of what a terminal shows, for tests that drive a program on a pseudo-terminal.
//!
//! A line editor does not print typed text once: it repaints its row (`\r`, erase the line, the
//! prompt again, the line, a dimmed hint, a cursor move), so the raw byte stream repeats the
//! prompt and interleaves escape sequences with typed characters. Tests should look for what a
//! person sees instead: [`Term`] applies the bytes to rows of cells the way an xterm-like
//! terminal of fixed width does (printable characters with their column widths, automatic wrap,
//! carriage return, line feed, backspace, tab stops, cursor movement and erasure) and drops
//! every other control sequence (modes, titles, device strings). Its text is the rows joined by
//! `\n` (a soft wrap joins without one). Colours and other attributes are not text, but each
//! cell remembers its style, so a dim hint and the same letters typed over it differ.
//!
//! The model is deliberately small: no screen height, no scrolling regions, no absolute cursor
//! addressing. Rows reachable by the cursor stay editable (the last [`LIVE_ROWS`]); older ones
//! are frozen into a string.
//!
//! It does not replace checks on the raw bytes: what a terminal would have *executed* (a title
//! change, a screen clear) disappears from the model's text by design.

use unicode_width::UnicodeWidthChar;

/// Rows the cursor can still move back to; older rows are frozen.
pub const LIVE_ROWS: usize = 100;

const TAB: usize = 8;

/// A style: what SGR sequences set (intensity, other attributes, colours).
#[derive(Default, Clone, Copy, PartialEq, Eq)]
struct Style {
    flags: u16,
    fg: Option<u32>,
    bg: Option<u32>,
}

const BOLD: u16 = 1;
const DIM: u16 = 2;

/// A style interned by [`Term`] (0: the default).
type StyleId = u8;

#[derive(Default, Clone)]
struct Cell {
    /// The character(s) shown (a wide character's second column is empty; zero-width
    /// characters join the cell before them).
    text: String,
    style: StyleId,
}

impl Cell {
    fn blank() -> Cell {
        Cell {
            text: " ".into(),
            style: 0,
        }
    }
}

#[derive(Default, Clone)]
struct Row {
    /// One per column.
    cells: Vec<Cell>,
    /// The row continues on the next one (automatic wrap, not a line feed).
    wrapped: bool,
}

impl Row {
    fn text(&self) -> String {
        self.cells.iter().map(|c| c.text.as_str()).collect()
    }

    /// The style of each byte of [`text`](Self::text).
    fn styles(&self, out: &mut Vec<StyleId>) {
        for c in &self.cells {
            out.extend(std::iter::repeat_n(c.style, c.text.len()));
        }
    }

    fn pad_to(&mut self, len: usize) {
        while self.cells.len() < len {
            self.cells.push(Cell::blank());
        }
    }
}

#[derive(Default)]
enum State {
    #[default]
    Ground,
    Esc,
    /// Control sequence: parameter and intermediate characters so far.
    Csi(String),
    /// A string (OSC, DCS, SOS, PM, APC) up to its terminator.
    Str,
    /// ESC inside a string: `\` ends it.
    StrEsc,
    /// A character-set designation: one more character.
    Charset,
}

/// What a terminal of a given width shows.
pub struct Term {
    width: usize,
    frozen: String,
    /// Offset (in the whole text since the start) of `frozen[0]`: text before it was dropped.
    base: usize,
    rows: Vec<Row>,
    row: usize,
    col: usize,
    /// The last column was written: the next printable character wraps first.
    wrap_pending: bool,
    state: State,
    utf8: Vec<u8>,
    /// The styles seen, by id; `pen` is the current one.
    styles: Vec<Style>,
    pen: StyleId,
}

impl Term {
    pub fn new(width: usize) -> Term {
        Term {
            width: width.max(2),
            frozen: String::new(),
            base: 0,
            rows: vec![Row::default()],
            row: 0,
            col: 0,
            wrap_pending: false,
            state: State::Ground,
            utf8: Vec::new(),
            styles: vec![Style::default()],
            pen: 0,
        }
    }

    /// Applies output bytes (UTF-8, possibly cut anywhere).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.utf8.extend_from_slice(bytes);
        let buf = std::mem::take(&mut self.utf8);
        let mut rest = &buf[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    s.chars().for_each(|c| self.put(c));
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // Valid by construction.
                    std::str::from_utf8(good)
                        .unwrap_or_default()
                        .chars()
                        .for_each(|c| self.put(c));
                    match e.error_len() {
                        Some(n) => {
                            self.put('\u{fffd}');
                            rest = &bad[n..];
                        }
                        None => {
                            // An incomplete character at the end: wait for the rest.
                            self.utf8 = bad.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        self.freeze();
    }

    /// Where the editable rows start, as an offset into the whole text.
    pub fn live_start(&self) -> usize {
        self.base + self.frozen.len()
    }

    /// The text from offset `from` (or from the oldest text kept, if later) to the end, and the
    /// offset it really starts at.
    pub fn text_from(&self, from: usize) -> (usize, String) {
        let mut out = String::new();
        let start = from.max(self.base);
        if start < self.live_start() {
            let mut i = start - self.base;
            while !self.frozen.is_char_boundary(i) {
                i += 1;
            }
            out.push_str(&self.frozen[i..]);
            let start = self.base + i;
            self.push_live(&mut out);
            return (start, out);
        }
        let mut live = String::new();
        self.push_live(&mut live);
        let mut i = (start - self.live_start()).min(live.len());
        while !live.is_char_boundary(i) {
            i += 1;
        }
        (self.live_start() + i, live[i..].to_string())
    }

    /// The offset the kept text starts at (text before it was dropped).
    pub fn kept_from(&self) -> usize {
        self.base
    }

    /// The style of each byte of the text from offset `from` (as [`text_from`](Self::text_from)
    /// gives it), for `len` bytes at most. Frozen text has no styles (it cannot change).
    pub fn styles_from(&self, from: usize, len: usize) -> Vec<StyleId> {
        let from = from.max(self.base);
        let live = self.live_start();
        let mut out = vec![0; live.saturating_sub(from).min(len)];
        if out.len() < len {
            let last = self.rows.len() - 1;
            let mut all = Vec::new();
            for (i, r) in self.rows.iter().enumerate() {
                r.styles(&mut all);
                if i < last && !r.wrapped {
                    all.push(0);
                }
            }
            let skip = from.saturating_sub(live);
            let want = len - out.len();
            out.extend(all.into_iter().skip(skip).take(want));
        }
        out
    }

    /// The whole text kept.
    pub fn text(&self) -> String {
        self.text_from(0).1
    }

    /// Drops frozen text before offset `upto` (a memory bound); returns the offset the kept text
    /// now starts at.
    pub fn forget_before(&mut self, upto: usize) -> usize {
        let mut cut = upto.saturating_sub(self.base).min(self.frozen.len());
        while !self.frozen.is_char_boundary(cut) {
            cut -= 1;
        }
        self.frozen.drain(..cut);
        self.base += cut;
        self.base
    }

    fn push_live(&self, out: &mut String) {
        let last = self.rows.len() - 1;
        for (i, r) in self.rows.iter().enumerate() {
            out.push_str(&r.text());
            if i < last && !r.wrapped {
                out.push('\n');
            }
        }
    }

    fn freeze(&mut self) {
        while self.rows.len() > LIVE_ROWS && self.row > 0 {
            let r = self.rows.remove(0);
            self.frozen.push_str(&r.text());
            if !r.wrapped {
                self.frozen.push('\n');
            }
            self.row -= 1;
        }
    }

    fn put(&mut self, c: char) {
        match std::mem::take(&mut self.state) {
            State::Ground => self.ground(c),
            State::Esc => self.escape(c),
            State::Csi(mut params) => match c {
                '\x1b' => self.state = State::Esc,
                '\x18' | '\x1a' => {}
                '\x20'..='\x3f' => {
                    params.push(c);
                    self.state = State::Csi(params);
                }
                '\x40'..='\x7e' => self.csi(&params, c),
                // Other controls inside a sequence are executed by terminals.
                _ => {
                    self.ground(c);
                    self.state = State::Csi(params);
                }
            },
            State::Str => match c {
                '\x07' | '\u{9c}' => {}
                '\x1b' => self.state = State::StrEsc,
                _ => self.state = State::Str,
            },
            State::StrEsc => {
                if c != '\\' {
                    self.escape(c);
                }
            }
            State::Charset => {}
        }
    }

    fn ground(&mut self, c: char) {
        match c {
            '\x1b' => self.state = State::Esc,
            '\r' => {
                self.col = 0;
                self.wrap_pending = false;
            }
            '\n' | '\x0b' | '\x0c' => self.line_feed(),
            '\x08' => {
                self.col = self.col.saturating_sub(1);
                self.wrap_pending = false;
            }
            '\t' => {
                self.col = ((self.col / TAB + 1) * TAB).min(self.width - 1);
                self.wrap_pending = false;
            }
            '\u{9b}' => self.state = State::Csi(String::new()),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => self.state = State::Str,
            c if c.is_control() => {}
            c => self.print(c),
        }
    }

    fn escape(&mut self, c: char) {
        self.state = match c {
            '[' => State::Csi(String::new()),
            ']' | 'P' | 'X' | '^' | '_' => State::Str,
            '(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%' | ' ' => State::Charset,
            '\x1b' => State::Esc,
            // Two-character sequences (save/restore cursor, keypad modes, ...): no text.
            _ => State::Ground,
        };
    }

    fn csi(&mut self, params: &str, fin: char) {
        if params.starts_with(['?', '>', '<', '=']) {
            return; // private modes (synchronized output, bracketed paste, ...)
        }
        let nums: Vec<usize> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let n = nums.first().copied().unwrap_or(0).max(1);
        let mode = nums.first().copied().unwrap_or(0);
        match fin {
            'A' => self.row = self.row.saturating_sub(n),
            'B' => {
                self.row += n;
                self.ensure_row();
            }
            'C' => self.col = (self.col + n).min(self.width - 1),
            'D' => self.col = self.col.saturating_sub(n),
            'E' => {
                self.row += n;
                self.ensure_row();
                self.col = 0;
            }
            'F' => {
                self.row = self.row.saturating_sub(n);
                self.col = 0;
            }
            'G' | '`' => self.col = (n - 1).min(self.width - 1),
            'K' => {
                let col = self.col;
                let r = &mut self.rows[self.row];
                // Erased to the end: whatever wrapped from this row no longer continues it.
                if mode != 1 {
                    r.wrapped = false;
                }
                match mode {
                    0 => r.cells.truncate(col),
                    1 => {
                        r.pad_to(col + 1);
                        r.cells[..=col].iter_mut().for_each(|c| *c = Cell::blank());
                    }
                    _ => r.cells.clear(),
                }
            }
            'J' if mode == 0 => {
                self.rows[self.row].cells.truncate(self.col);
                self.rows.truncate(self.row + 1);
            }
            'm' => {
                self.sgr(params);
                return;
            }
            // Colours, whole-screen erasure, absolute positions, reports...: no text.
            _ => return,
        }
        self.wrap_pending = false;
    }

    /// Select graphic rendition: the pen's style.
    fn sgr(&mut self, params: &str) {
        let mut st = self.styles[usize::from(self.pen)];
        let nums: Vec<u32> = params
            .split([';', ':'])
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        let mut i = 0;
        while i < nums.len() {
            let n = nums[i];
            match n {
                0 => st = Style::default(),
                1 => st.flags |= BOLD,
                2 => st.flags |= DIM,
                22 => st.flags &= !(BOLD | DIM),
                3..=9 => st.flags |= 1 << n,
                23..=29 => st.flags &= !(1 << (n - 20)),
                30..=37 | 90..=97 => st.fg = Some(n),
                39 => st.fg = None,
                40..=47 | 100..=107 => st.bg = Some(n),
                49 => st.bg = None,
                38 | 48 => {
                    // 5;N (palette) or 2;R;G;B.
                    let (colour, used) = match nums.get(i + 1) {
                        Some(5) => (1000 + nums.get(i + 2).copied().unwrap_or(0), 2),
                        Some(2) => {
                            let c = |k| nums.get(i + k).copied().unwrap_or(0) & 0xff;
                            (1 << 24 | c(2) << 16 | c(3) << 8 | c(4), 4)
                        }
                        _ => (0, 0),
                    };
                    if n == 38 {
                        st.fg = Some(colour);
                    } else {
                        st.bg = Some(colour);
                    }
                    i += used;
                }
                _ => {}
            }
            i += 1;
        }
        self.pen = match self.styles.iter().position(|s| *s == st) {
            Some(id) => StyleId::try_from(id).unwrap_or(StyleId::MAX),
            None if self.styles.len() <= usize::from(StyleId::MAX) => {
                self.styles.push(st);
                StyleId::try_from(self.styles.len() - 1).unwrap_or(StyleId::MAX)
            }
            // Too many styles for the tests' purpose: share the last id.
            None => StyleId::MAX,
        };
    }

    fn line_feed(&mut self) {
        self.row += 1;
        self.ensure_row();
        self.wrap_pending = false;
    }

    fn ensure_row(&mut self) {
        while self.rows.len() <= self.row {
            self.rows.push(Row::default());
        }
    }

    fn print(&mut self, c: char) {
        let w = c.width().unwrap_or(0);
        if w == 0 {
            // Joins the character before it (combining marks, format characters).
            let r = &mut self.rows[self.row];
            let at = if self.wrap_pending {
                self.col
            } else {
                self.col.saturating_sub(1)
            };
            r.pad_to(at + 1);
            r.cells[at].text.push(c);
            return;
        }
        if self.wrap_pending || self.col + w > self.width {
            self.rows[self.row].wrapped = true;
            self.row += 1;
            self.ensure_row();
            self.col = 0;
            self.wrap_pending = false;
        }
        let col = self.col;
        let r = &mut self.rows[self.row];
        r.pad_to(col + w);
        r.cells[col] = Cell {
            text: c.to_string(),
            style: self.pen,
        };
        if w == 2 {
            r.cells[col + 1] = Cell {
                text: String::new(),
                style: self.pen,
            };
        }
        if col + w >= self.width {
            self.col = self.width - 1;
            self.wrap_pending = true;
        } else {
            self.col = col + w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(width: usize, bytes: &str) -> String {
        let mut t = Term::new(width);
        t.feed(bytes.as_bytes());
        t.text()
    }

    #[test]
    fn plain_text_and_lines() {
        assert_eq!(shown(80, "ab\r\ncd\n"), "ab\ncd\n");
        assert_eq!(shown(80, "abc\rx"), "xbc");
        assert_eq!(shown(80, "abc\x08\x08y"), "ayc");
        assert_eq!(shown(80, "a\tb"), "a       b");
    }

    #[test]
    fn a_line_editor_repaint_shows_once() {
        // rustyline with a hint: synchronized update, erase the row, prompt, line, dim hint,
        // cursor back after the line.
        let s = "H C:\\> ca\x1b[?2026h\r\x1b[KH C:\\> cat\x1b[2m <path>\x1b[22m\r\x1b[10C\x1b[?2026l\
                 \x1b[?2026h\r\x1b[KH C:\\> cat C\r\x1b[12C\x1b[?2026l:\\x";
        assert_eq!(shown(80, s), "H C:\\> cat C:\\x");
    }

    #[test]
    fn controls_and_strings_leave_no_text() {
        assert_eq!(
            shown(
                80,
                "a\x1b]0;title\x07b\x1b]8;;u\x1b\\c\x1bPq#0\x1b\\d\x1b(Be\x1b7f\x07"
            ),
            "abcdef"
        );
        assert_eq!(shown(80, "\x1b[31mred\x1b[0m \x1b[1;2mx\x1b[m"), "red x");
    }

    #[test]
    fn wrap_and_cursor_up() {
        // Width 4: "abcdef" wraps after "abcd" (a soft wrap: no newline in the text).
        assert_eq!(shown(4, "abcdef"), "abcdef");
        // Deferred wrap: a carriage return at the last column stays on the row.
        assert_eq!(shown(4, "abcd\rX"), "Xbcd");
        // Repaint of a wrapped line from its second row.
        assert_eq!(shown(4, "abcdef\r\x1b[K\x1b[A\r\x1b[Kxyz"), "xyz\n");
    }

    #[test]
    fn styles_are_not_text_but_are_kept() {
        let mut t = Term::new(80);
        t.feed(b"ab\x1b[2mcd\x1b[22m\x1b[38;5;1me\x1b[m\x1b[38;2;1;2;3mf\x1b[0mg");
        assert_eq!(t.text(), "abcdefg");
        let s = t.styles_from(0, 7);
        assert_eq!(s[0], 0);
        assert_eq!(s[2], s[3]);
        assert_ne!(s[2], 0, "dim");
        assert_ne!(s[4], 0);
        assert_ne!(s[4], s[2]);
        assert_ne!(s[5], s[4]);
        assert_eq!((s[1], s[6]), (0, 0), "reset");
        // The same letter typed over a dim one.
        t.feed(b"\r\x1b[2Cc");
        assert_eq!(t.text(), "abcdefg");
        assert_eq!(t.styles_from(2, 2), [0, s[3]]);
        assert_eq!(t.styles_from(6, 9), [0], "to the end");
    }

    #[test]
    fn erasing() {
        assert_eq!(shown(80, "abcdef\x1b[3D\x1b[K"), "abc");
        assert_eq!(shown(80, "abcdef\x1b[3D\x1b[1K"), "    ef");
        assert_eq!(shown(80, "abcdef\x1b[2K"), "");
        assert_eq!(shown(80, "ab\ncd\x1b[A\r\x1b[J"), "");
    }

    #[test]
    fn wide_combining_and_split_utf8() {
        let mut t = Term::new(80);
        let s = "é漢x".as_bytes();
        for b in s {
            t.feed(&[*b]);
        }
        t.feed(b"e\xcc\x81\xff");
        assert_eq!(t.text(), "é漢xe\u{301}\u{fffd}");
    }

    #[test]
    fn frozen_rows_and_offsets() {
        let mut t = Term::new(80);
        for i in 0..(LIVE_ROWS * 2) {
            t.feed(format!("line {i}\r\n").as_bytes());
        }
        assert!(t.live_start() > 0);
        let all = t.text();
        assert!(all.starts_with("line 0\nline 1\n"), "{all:?}");
        let (at, tail) = t.text_from(7);
        assert_eq!((at, &tail[..6]), (7, "line 1"));
        let kept = t.forget_before(14);
        assert_eq!(kept, 14);
        assert!(t.text().starts_with("line 2\n"));
        assert_eq!(t.text_from(0).0, 14);
    }
}
