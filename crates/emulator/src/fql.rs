//! The subset of FQL (Falcon Query Language) that the emulator's `filter` parameters accept
//! (`GET /devices/queries/devices/v1`, `GET /real-time-response/queries/sessions/v1`, ...).
//!
//! This module owns the grammar and the matching rules; it knows nothing about devices or
//! sessions: a [`Record`] answers field look-ups and the emulator decides which fields exist
//! (via [`Filter::fields`]).
//!
//! Grammar (whitespace is allowed around every token):
//! ```text
//! filter    := "" | or
//! or        := and ("," and)*            -- "," is OR
//! and       := atom ("+" atom)*          -- "+" is AND and binds tighter than ","
//! atom      := "(" or ")" | condition
//! condition := field ":" operator? value
//! operator  := "!" | ">" | ">=" | "<" | "<=" | "~" | "!~"
//! value     := 'text' | "text" | bare | "[" value ("," value)* "]"
//! bare      := number | true | false | null | word of [A-Za-z0-9_.@*/-]
//! ```
//!
//! Matching rules:
//! - String equality is **case-insensitive** (`hostname:'desktop-01'` finds `DESKTOP-01`):
//!   host names and platform names are case-insensitive in practice, and an analyst's filter
//!   should not miss a host because of case. `*` in a value matches any run of characters
//!   (`hostname:'DESK*'`); `\*` is a literal star, `\'` / `\"` a literal quote, `\\` a backslash,
//!   and any other backslash is literal (Windows paths).
//! - `~` is "contains" (also case-insensitive); `!` and `!~` negate.
//! - `>`, `>=`, `<`, `<=` compare integers numerically, timestamps as instants (RFC 3339,
//!   including relative dates `'now'`, `'now-7d'`, `'now-24h'` resolved against the current UTC
//!   time when the filter is parsed), and other strings lexicographically (case-insensitive).
//! - `field:null` matches a null or empty value; `field:!null` matches a present one.
//! - A list value (`field:['a','b']`) matches if any element matches; a list *field*
//!   ([`Value::List`], e.g. tags) matches if any of its elements matches.
//! - A field the record does not know ([`Record::field`] → `None`) never matches, negated or
//!   not. The emulator should reject such filters up front with a 400 using [`Filter::fields`].
//! - A record may declare a field a **name field** ([`Record::rule`] → [`TextRule::Name`]), as the
//!   devices API treats `hostname` on real tenants (docs/protocol.md, "Host-name matching"): the
//!   single form `field:'X'` is a case-insensitive *prefix* match (the API appends the `*`:
//!   `'WIN11'` finds WIN11, WIN11-001, WIN110) and a value starting with `*` finds nothing; the
//!   list form `field:['X','Y']` is an exact, case-sensitive match of each element.

use std::cmp::Ordering;
use std::fmt;
use std::time::{Duration, SystemTime};

/// Deepest parenthesis nesting accepted; deeper input is rejected rather than risking the stack.
pub const MAX_DEPTH: usize = 64;

/// A parsed FQL filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    /// `None` for the empty filter, which matches everything.
    expr: Option<Expr>,
}

/// Why a filter does not parse: a message and the byte offset in the filter where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FqlError {
    pub message: String,
    pub position: usize,
}

impl fmt::Display for FqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter at position {}: {}",
            self.position, self.message
        )
    }
}

impl std::error::Error for FqlError {}

/// A field's value on a record, as FQL sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    List(Vec<&'a str>),
    Bool(bool),
    Int(i64),
    Null,
}

/// A record an FQL filter can be evaluated against.
pub trait Record {
    /// The value of `field`, or `None` if this kind of record has no such field.
    fn field(&self, name: &str) -> Option<Value<'_>>;

    /// How equality (`field:'X'`, `field:['X']`) compares text in `field`.
    fn rule(&self, _field: &str) -> TextRule {
        TextRule::Plain
    }
}

/// How `field:'X'` and `field:['X', ...]` compare a text field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TextRule {
    /// Case-insensitive equality with `*` wildcards, in both forms.
    #[default]
    Plain,
    /// The devices API's `hostname` on real tenants: `'X'` is a case-insensitive prefix match
    /// (a leading `*` matches nothing), `['X']` an exact, case-sensitive match.
    Name,
}

/// Parses a filter; relative dates are resolved against the current time.
pub fn parse(s: &str) -> Result<Filter, FqlError> {
    parse_at(s, SystemTime::now())
}

/// Parses a filter, resolving relative dates (`'now-7d'`) against `now`.
pub fn parse_at(s: &str, now: SystemTime) -> Result<Filter, FqlError> {
    let mut p = Parser {
        src: s,
        pos: 0,
        now,
        depth: 0,
    };
    p.skip_ws();
    if p.at_end() {
        return Ok(Filter { expr: None });
    }
    let expr = p.or()?;
    p.skip_ws();
    if let Some(c) = p.peek() {
        let hint = if c.is_ascii_alphabetic() {
            " (a '+' sent in a URL query must be encoded as %2B)"
        } else {
            ""
        };
        return Err(p.error(format!(
            "expected '+', ',' or the end of the filter, found {}{hint}",
            p.describe_here()
        )));
    }
    Ok(Filter { expr: Some(expr) })
}

impl Filter {
    pub fn matches(&self, record: &dyn Record) -> bool {
        self.expr.as_ref().is_none_or(|e| e.matches(record))
    }

    /// The distinct field names the filter uses, in order of first appearance.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = &self.expr {
            e.collect_fields(&mut out);
        }
        out
    }

    /// True for the empty filter.
    pub fn is_match_all(&self) -> bool {
        self.expr.is_none()
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Cond(Condition),
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    field: String,
    op: Op,
    negated: bool,
    /// One value, or the elements of a list value (equality and `~` only).
    values: Vec<Literal>,
    /// Written as a list (`field:['a']`), even of one element.
    list: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Contains,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Text(Text),
}

/// A string value: its text, its lowercase wildcard pattern, and the instant it denotes when it
/// is a timestamp or a relative date.
#[derive(Clone, Debug, PartialEq)]
struct Text {
    /// The unescaped text (stars kept as written).
    raw: String,
    /// Lowercased pieces between unescaped `*` wildcards.
    pieces: Vec<Piece>,
    /// The instant, for RFC 3339 timestamps and `now[±N unit]`.
    time: Option<SystemTime>,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Lit(Vec<char>),
    Star,
}

impl Expr {
    fn matches(&self, r: &dyn Record) -> bool {
        match self {
            Expr::Or(v) => v.iter().any(|e| e.matches(r)),
            Expr::And(v) => v.iter().all(|e| e.matches(r)),
            Expr::Cond(c) => c.matches(r),
        }
    }

    fn collect_fields(&self, out: &mut Vec<String>) {
        match self {
            Expr::Or(v) | Expr::And(v) => v.iter().for_each(|e| e.collect_fields(out)),
            Expr::Cond(c) => {
                if !out.contains(&c.field) {
                    out.push(c.field.clone());
                }
            }
        }
    }
}

impl Condition {
    fn matches(&self, r: &dyn Record) -> bool {
        let Some(value) = r.field(&self.field) else {
            return false;
        };
        let rule = r.rule(&self.field);
        let hit = self.values.iter().any(|lit| self.test(lit, &value, rule));
        hit != self.negated
    }

    fn test(&self, lit: &Literal, value: &Value<'_>, rule: TextRule) -> bool {
        if let Value::List(items) = value {
            if matches!(lit, Literal::Null) {
                return items.is_empty();
            }
            return items.iter().any(|s| self.test(lit, &Value::Str(s), rule));
        }
        match self.op {
            Op::Eq => match (rule, lit, value) {
                (TextRule::Name, Literal::Text(t), Value::Str(s)) => {
                    if self.list {
                        t.raw == *s
                    } else {
                        t.prefix_of(s)
                    }
                }
                _ => equals(lit, value),
            },
            Op::Contains => contains(lit, value),
            Op::Gt => compare(lit, value).is_some_and(Ordering::is_gt),
            Op::Ge => compare(lit, value).is_some_and(Ordering::is_ge),
            Op::Lt => compare(lit, value).is_some_and(Ordering::is_lt),
            Op::Le => compare(lit, value).is_some_and(Ordering::is_le),
        }
    }
}

fn equals(lit: &Literal, value: &Value<'_>) -> bool {
    match (lit, value) {
        (Literal::Null, v) => is_null(v),
        (_, Value::Null) => false,
        (Literal::Bool(b), Value::Bool(v)) => b == v,
        (Literal::Int(n), Value::Int(v)) => n == v,
        (Literal::Bool(b), Value::Str(s)) => {
            s.eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        (Literal::Int(n), Value::Str(s)) => s.trim().parse::<i64>().is_ok_and(|v| v == *n),
        (Literal::Text(t), Value::Str(s)) => t.matches(s),
        (Literal::Text(t), Value::Int(v)) => t.matches(&v.to_string()),
        (Literal::Text(t), Value::Bool(v)) => t.matches(if *v { "true" } else { "false" }),
        (Literal::Int(_), Value::Bool(_)) | (Literal::Bool(_), Value::Int(_)) => false,
        (_, Value::List(_)) => false,
    }
}

fn is_null(v: &Value<'_>) -> bool {
    match v {
        Value::Null => true,
        Value::Str(s) => s.is_empty(),
        Value::List(items) => items.is_empty(),
        Value::Bool(_) | Value::Int(_) => false,
    }
}

fn contains(lit: &Literal, value: &Value<'_>) -> bool {
    let Literal::Text(t) = lit else {
        return equals(lit, value);
    };
    let haystack = match value {
        Value::Str(s) => (*s).to_string(),
        Value::Int(v) => v.to_string(),
        Value::Bool(v) => v.to_string(),
        Value::Null | Value::List(_) => return false,
    };
    t.contains_in(&haystack)
}

/// How the record's value compares with the literal (`Greater` when the value is greater).
fn compare(lit: &Literal, value: &Value<'_>) -> Option<Ordering> {
    match (lit, value) {
        (Literal::Int(n), Value::Int(v)) => Some(v.cmp(n)),
        (Literal::Int(n), Value::Str(s)) => Some(s.trim().parse::<i64>().ok()?.cmp(n)),
        (Literal::Text(t), Value::Int(v)) => Some(v.cmp(&t.raw.trim().parse::<i64>().ok()?)),
        (Literal::Text(t), Value::Str(s)) => {
            if let Some(lit_time) = t.time {
                if let Some(v) = parse_time(s) {
                    return Some(v.cmp(&lit_time));
                }
                // Not a timestamp on the record's side: compare with the literal as RFC 3339.
                let lit_text = humantime::format_rfc3339_seconds(lit_time).to_string();
                return Some(s.to_lowercase().cmp(&lit_text.to_lowercase()));
            }
            Some(s.to_lowercase().cmp(&t.raw.to_lowercase()))
        }
        _ => None,
    }
}

fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if s.len() < 19 {
        return None;
    }
    humantime::parse_rfc3339_weak(s).ok()
}

impl Text {
    fn new(raw: String, pieces: Vec<Piece>, now: SystemTime) -> Result<Text, String> {
        let time = match relative_date(&raw, now)? {
            Some(t) => Some(t),
            None => parse_time(&raw),
        };
        Ok(Text { raw, pieces, time })
    }

    fn matches(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
        glob(&self.pieces, &chars)
    }

    /// The devices API's reading of `hostname:'X'`: `X*`, case-insensitive; a pattern that
    /// starts with `*` matches nothing.
    fn prefix_of(&self, s: &str) -> bool {
        if matches!(self.pieces.first(), Some(Piece::Star)) {
            return false;
        }
        let chars: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
        let mut pieces = self.pieces.clone();
        pieces.push(Piece::Star);
        glob(&pieces, &chars)
    }

    fn contains_in(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
        let mut pieces = Vec::with_capacity(self.pieces.len() + 2);
        pieces.push(Piece::Star);
        pieces.extend(self.pieces.iter().cloned());
        pieces.push(Piece::Star);
        glob(&pieces, &chars)
    }
}

/// `now`, `now-7d`, `now+1h` (units s, m, h, d, w; case-insensitive) → the instant.
/// `Ok(None)` when the text is not a relative date; `Err` when it is one but out of range.
fn relative_date(raw: &str, now: SystemTime) -> Result<Option<SystemTime>, String> {
    let lower = raw.trim().to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("now") else {
        return Ok(None);
    };
    if rest.is_empty() {
        return Ok(Some(now));
    }
    let (sign, rest) = match rest.as_bytes().first() {
        Some(b'-') => (-1, &rest[1..]),
        Some(b'+') => (1, &rest[1..]),
        _ => return Ok(None),
    };
    let Some(unit) = rest.chars().last() else {
        return Ok(None);
    };
    let digits = &rest[..rest.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let unit_secs: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return Ok(None),
    };
    let out_of_range = || format!("relative date '{raw}' is out of range");
    let n: u64 = digits.parse().map_err(|_| out_of_range())?;
    let secs = n.checked_mul(unit_secs).ok_or_else(out_of_range)?;
    let d = Duration::from_secs(secs);
    let t = if sign < 0 {
        now.checked_sub(d)
    } else {
        now.checked_add(d)
    };
    t.map(Some).ok_or_else(out_of_range)
}

/// Wildcard match of lowercase `pieces` against lowercase `s`: linear backtracking over the last
/// star, O(len(s) * len(pattern)) at worst, no recursion.
fn glob(pieces: &[Piece], s: &[char]) -> bool {
    // Flatten to a char pattern where `None` is a star.
    let pat: Vec<Option<char>> = pieces
        .iter()
        .flat_map(|p| match p {
            Piece::Lit(cs) => cs.iter().map(|c| Some(*c)).collect::<Vec<_>>(),
            Piece::Star => vec![None],
        })
        .collect();
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        match pat.get(p) {
            Some(Some(c)) if *c == s[i] => {
                p += 1;
                i += 1;
            }
            Some(None) => {
                star = Some((p, i));
                p += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(Option::is_none)
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    now: SystemTime,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> FqlError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, position: usize, message: impl Into<String>) -> FqlError {
        FqlError {
            message: message.into(),
            position,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The character at the current position, for messages.
    fn describe_here(&self) -> String {
        match self.src.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) => format!("'{c}'"),
            None => "the end of the filter".to_string(),
        }
    }

    fn or(&mut self) -> Result<Expr, FqlError> {
        self.separated(b',', Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, FqlError> {
        self.separated(b'+', Self::atom, Expr::And)
    }

    /// One or more `item`s separated by `sep`: a lone item as it is, more joined by `join`.
    fn separated(
        &mut self,
        sep: u8,
        item: fn(&mut Self) -> Result<Expr, FqlError>,
        join: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, FqlError> {
        let mut items = vec![item(self)?];
        loop {
            self.skip_ws();
            if !self.eat(sep) {
                break;
            }
            items.push(item(self)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            join(items)
        })
    }

    fn atom(&mut self) -> Result<Expr, FqlError> {
        self.skip_ws();
        if self.peek() == Some(b'(') {
            let open = self.pos;
            if self.depth >= MAX_DEPTH {
                return Err(
                    self.error(format!("parentheses nested deeper than {MAX_DEPTH} levels"))
                );
            }
            self.pos += 1;
            self.depth += 1;
            let inner = self.or()?;
            self.depth -= 1;
            self.skip_ws();
            if !self.eat(b')') {
                return Err(self.error(format!(
                    "expected ')' to close the '(' at position {open}, found {}",
                    self.describe_here()
                )));
            }
            return Ok(inner);
        }
        self.condition().map(Expr::Cond)
    }

    fn condition(&mut self) -> Result<Condition, FqlError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(format!(
                "expected a field name, found {}",
                self.describe_here()
            )));
        }
        let field = self.src[start..self.pos].to_string();
        self.skip_ws();
        if !self.eat(b':') {
            return Err(self.error(format!(
                "expected ':' after field '{field}', found {}",
                self.describe_here()
            )));
        }
        self.skip_ws();
        let op_pos = self.pos;
        let mut negated = false;
        let op = match self.peek() {
            Some(b'!') => {
                self.pos += 1;
                negated = true;
                if self.eat(b'~') { Op::Contains } else { Op::Eq }
            }
            Some(b'~') => {
                self.pos += 1;
                Op::Contains
            }
            Some(b'>') => {
                self.pos += 1;
                if self.eat(b'=') { Op::Ge } else { Op::Gt }
            }
            Some(b'<') => {
                self.pos += 1;
                if self.eat(b'=') { Op::Le } else { Op::Lt }
            }
            _ => Op::Eq,
        };
        self.skip_ws();
        let value_pos = self.pos;
        let is_list = self.peek() == Some(b'[');
        let values = if is_list {
            self.list()?
        } else {
            vec![self.value()?]
        };
        if matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le) {
            if is_list {
                return Err(self.error_at(op_pos, "a comparison takes one value, not a list"));
            }
            if matches!(values[0], Literal::Null | Literal::Bool(_)) {
                return Err(self.error_at(
                    value_pos,
                    "a comparison needs a number, a string or a date, not true/false/null",
                ));
            }
        }
        Ok(Condition {
            field,
            op,
            negated,
            values,
            list: is_list,
        })
    }

    fn list(&mut self) -> Result<Vec<Literal>, FqlError> {
        let open = self.pos;
        self.pos += 1; // '['
        let mut values = Vec::new();
        loop {
            self.skip_ws();
            if values.is_empty() && self.eat(b']') {
                return Err(self.error_at(
                    open,
                    "an empty list matches nothing: give at least one value",
                ));
            }
            values.push(self.value()?);
            self.skip_ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                return Ok(values);
            }
            return Err(self.error(format!(
                "expected ',' or ']' in the list opened at position {open}, found {}",
                self.describe_here()
            )));
        }
    }

    fn value(&mut self) -> Result<Literal, FqlError> {
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self.quoted(q),
            Some(b) if is_bare(b) => self.bare(),
            _ => Err(self.error(format!(
                "expected a value ('text', a number, true, false or null), found {}",
                self.describe_here()
            ))),
        }
    }

    fn quoted(&mut self, quote: u8) -> Result<Literal, FqlError> {
        let open = self.pos;
        self.pos += 1;
        let mut raw = String::new();
        let mut pieces = Vec::new();
        let mut current: Vec<char> = Vec::new();
        loop {
            let Some(c) = self.src.get(self.pos..).and_then(|s| s.chars().next()) else {
                return Err(self.error_at(
                    open,
                    format!("unterminated string: close it with {}", quote as char),
                ));
            };
            self.pos += c.len_utf8();
            match c {
                _ if c as u32 == u32::from(quote) => break,
                '\\' => {
                    let next = self.src.get(self.pos..).and_then(|s| s.chars().next());
                    match next {
                        Some(n @ ('\\' | '*' | '\'' | '"')) => {
                            self.pos += 1;
                            raw.push(n);
                            current.push(n);
                        }
                        _ => {
                            raw.push('\\');
                            current.push('\\');
                        }
                    }
                }
                '*' => {
                    raw.push('*');
                    push_lit(&mut pieces, &mut current);
                    pieces.push(Piece::Star);
                }
                _ => {
                    raw.push(c);
                    current.extend(c.to_lowercase());
                }
            }
        }
        push_lit(&mut pieces, &mut current);
        Text::new(raw, pieces, self.now)
            .map(Literal::Text)
            .map_err(|m| self.error_at(open, m))
    }

    fn bare(&mut self) -> Result<Literal, FqlError> {
        let start = self.pos;
        while self.peek().is_some_and(is_bare) {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        match word.to_ascii_lowercase().as_str() {
            "true" => return Ok(Literal::Bool(true)),
            "false" => return Ok(Literal::Bool(false)),
            "null" => return Ok(Literal::Null),
            _ => {}
        }
        if let Ok(n) = word.parse::<i64>() {
            return Ok(Literal::Int(n));
        }
        Text::new(word.to_string(), wildcard_pieces(word), self.now)
            .map(Literal::Text)
            .map_err(|m| self.error_at(start, m))
    }
}

/// A bare word as pieces to match: runs of lowercased characters between `*` wildcards.
fn wildcard_pieces(word: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut current = Vec::new();
    for c in word.chars() {
        if c == '*' {
            push_lit(&mut pieces, &mut current);
            pieces.push(Piece::Star);
        } else {
            current.extend(c.to_lowercase());
        }
    }
    push_lit(&mut pieces, &mut current);
    pieces
}

fn push_lit(pieces: &mut Vec<Piece>, current: &mut Vec<char>) {
    if !current.is_empty() {
        pieces.push(Piece::Lit(std::mem::take(current)));
    }
}

fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@' | b'*' | b'/')
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// A record backed by a map; `List` fields are comma-separated strings prefixed with `[`.
    #[derive(Default)]
    struct Rec(HashMap<&'static str, Owned>);

    enum Owned {
        S(&'static str),
        L(Vec<&'static str>),
        B(bool),
        I(i64),
        N,
    }

    impl Record for Rec {
        fn field(&self, name: &str) -> Option<Value<'_>> {
            Some(match self.0.get(name)? {
                Owned::S(s) => Value::Str(s),
                Owned::L(l) => Value::List(l.clone()),
                Owned::B(b) => Value::Bool(*b),
                Owned::I(i) => Value::Int(*i),
                Owned::N => Value::Null,
            })
        }
    }

    /// 2026-11-22T10:16:00Z, the "now" of these tests.
    fn now() -> SystemTime {
        humantime::parse_rfc3339("2026-11-22T10:16:00Z").expect("valid")
    }

    fn host() -> Rec {
        Rec(HashMap::from([
            ("hostname", Owned::S("DESKTOP-01")),
            ("platform_name", Owned::S("Windows")),
            ("local_ip", Owned::S("10.0.0.5")),
            ("last_seen", Owned::S("2026-11-22T10:15:03Z")),
            ("first_seen", Owned::S("2025-02-01T08:00:00Z")),
            (
                "tags",
                Owned::L(vec!["SensorGroupingTags/prod", "FalconGroupingTags/web"]),
            ),
            ("offline_queued", Owned::B(true)),
            ("commands_queued", Owned::B(false)),
            ("deleted_at", Owned::N),
            ("empty", Owned::S("")),
            ("platform_id", Owned::I(0)),
            ("duration", Owned::I(42)),
            ("path", Owned::S(r"C:\Windows\*.log")),
        ]))
    }

    fn m(filter: &str) -> bool {
        parse_at(filter, now())
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .matches(&host())
    }

    fn err(filter: &str) -> FqlError {
        match parse_at(filter, now()) {
            Ok(f) => panic!("{filter} parsed as {f:?}"),
            Err(e) => e,
        }
    }

    /// A record whose `hostname` follows the devices API's name rule.
    struct NameRec(&'static str);

    impl Record for NameRec {
        fn field(&self, name: &str) -> Option<Value<'_>> {
            (name == "hostname").then_some(Value::Str(self.0))
        }

        fn rule(&self, _field: &str) -> TextRule {
            TextRule::Name
        }
    }

    #[test]
    fn name_fields_are_prefix_matched_and_lists_are_exact() {
        let m = |f: &str, host: &'static str| {
            parse_at(f, now()).expect("parses").matches(&NameRec(host))
        };
        // The single form: a case-insensitive prefix (the API appends the `*`).
        assert!(m("hostname:'WIN11'", "WIN11"));
        assert!(m("hostname:'WIN11'", "WIN11-001"));
        assert!(m("hostname:'WIN11'", "WIN110"));
        assert!(m("hostname:'win11'", "WIN110"));
        assert!(m("hostname:'WIN11*'", "WIN110"));
        assert!(!m("hostname:'WIN11'", "XWIN11"));
        // A leading `*` finds nothing, even `*` alone.
        assert!(!m("hostname:'*IN11'", "WIN11"));
        assert!(!m("hostname:'*'", "WIN11"));
        // The list form: exact and case-sensitive, element by element.
        assert!(m("hostname:['WIN11']", "WIN11"));
        assert!(!m("hostname:['WIN11']", "WIN110"));
        assert!(!m("hostname:['win11']", "WIN11"));
        assert!(m("hostname:['A','WIN11']", "WIN11"));
        // Negation applies to the rule's answer.
        assert!(m("hostname:!'WIN11'", "WIN2"));
        assert!(!m("hostname:!'WIN11'", "WIN110"));
    }

    #[test]
    fn matching_table() {
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("   ", true),
            ("hostname:'DESKTOP-01'", true),
            ("hostname:\"DESKTOP-01\"", true),
            ("hostname:'desktop-01'", true),
            ("hostname:'DESKTOP-02'", false),
            ("hostname:'DESK*'", true),
            ("hostname:'*-01'", true),
            ("hostname:'D*P*1'", true),
            ("hostname:'D*X*'", false),
            ("hostname:'*'", true),
            ("hostname:DESK*", true),
            ("hostname:!'DESKTOP-01'", false),
            ("hostname:!'x'", true),
            ("hostname:~'top'", true),
            ("hostname:!~'top'", false),
            ("hostname:['a','DESKTOP-01']", true),
            ("hostname:['a','b']", false),
            ("hostname:!['a','b']", true),
            ("platform_name:Windows", true),
            ("platform_name:'Windows'+hostname:'x'", false),
            ("platform_name:'Linux',hostname:'DESKTOP-01'", true),
            // AND binds tighter than OR.
            ("hostname:'x'+hostname:'y',platform_name:'Windows'", true),
            ("hostname:'x'+(hostname:'y',platform_name:'Windows')", false),
            (
                "(hostname:'x',platform_name:'Windows')+local_ip:'10.*'",
                true,
            ),
            ("offline_queued: true+deleted_at: null", true),
            ("offline_queued : true + deleted_at : null", true),
            ("offline_queued:false", false),
            ("offline_queued:'true'", true),
            (
                "commands_queued:true+(deleted_at:null,created_at:>'now-7d')",
                false,
            ),
            ("deleted_at:null", true),
            ("deleted_at:!null", false),
            ("empty:null", true),
            ("hostname:null", false),
            ("hostname:!null", true),
            ("tags:'FalconGroupingTags/web'", true),
            ("tags:'*/prod'", true),
            ("tags:'nope'", false),
            ("tags:!'nope'", true),
            ("tags:!null", true),
            ("platform_id:0", true),
            ("platform_id:'0'", true),
            ("duration:>40", true),
            ("duration:>42", false),
            ("duration:>=42", true),
            ("duration:<'100'", true),
            ("duration:<=41", false),
            ("duration:-1", false),
            ("last_seen:>'now-1h'", true),
            ("last_seen:>'now-24h'", true),
            ("last_seen:>'now'", false),
            ("last_seen:<='now'", true),
            ("last_seen:>now-7d", true),
            ("first_seen:>'now-7d'", false),
            ("first_seen:<'now-1w'", true),
            ("first_seen:>'2025-01-31T23:59:59Z'", true),
            ("first_seen:>'2025-02-01T08:00:00.5Z'", false),
            ("first_seen:>='2025-02-01'", true),
            ("hostname:>'DESKTOP-00'", true),
            ("hostname:<'desktop-00'", false),
            // Escapes: `\*` is a literal star, `\\` a backslash, other backslashes are literal.
            (r"path:'C:\Windows\\\*.log'", true),
            (r"path:'C:\Windows\*.log'", false),
            (r"path:'C:\Windows\\\*'", false),
            (r"path:'C:\Windows\\*'", true),
            (r"path:'C:\Windows\\a.log'", false),
            (r"hostname:'DESK\*'", false),
            (r"hostname:'DESK*\*'", false),
            (r"hostname:'it\'s'", false),
            // Unknown fields never match, negated or not.
            ("nosuch:'x'", false),
            ("nosuch:!'x'", false),
            ("nosuch:null", false),
            ("nosuch:'x',hostname:'DESKTOP-01'", true),
        ];
        for (filter, want) in cases {
            assert_eq!(m(filter), *want, "{filter}");
        }
    }

    #[test]
    fn errors_have_positions() {
        let cases: &[(&str, usize, &str)] = &[
            ("hostname:", 9, "expected a value"),
            ("hostname:'x", 9, "unterminated string"),
            (":(", 0, "expected a field name"),
            ("hostname", 8, "expected ':'"),
            ("hostname:'x'+", 13, "expected a field name"),
            ("hostname:'x',", 13, "expected a field name"),
            ("(hostname:'x'", 13, "expected ')'"),
            ("hostname:'x')", 12, "expected '+', ','"),
            ("hostname:'x' platform_name:'y'", 13, "%2B"),
            ("hostname:['a','b'", 17, "expected ',' or ']'"),
            ("hostname:[]", 9, "empty list"),
            ("hostname:>['a']", 9, "one value"),
            ("deleted_at:>null", 12, "not true/false/null"),
            ("created_at:>'now-99999999999999999d'", 12, "out of range"),
            ("hostname:=x", 9, "expected a value"),
            ("héllo:'x'", 1, "expected ':'"),
        ];
        for (filter, pos, text) in cases {
            let e = err(filter);
            assert_eq!(e.position, *pos, "{filter}: {e}");
            assert!(e.message.contains(text), "{filter}: {e}");
            assert!(!e.to_string().contains('\n'));
            assert!(e.to_string().contains(&format!("position {pos}")));
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}a:1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}a:1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(err(&deep).message.contains("nested deeper"));
    }

    #[test]
    fn fields_are_listed_once_in_order() {
        let f = parse("a:1+(b:'x',a:2)+c.d:!null").expect("parses");
        assert_eq!(f.fields(), vec!["a", "b", "c.d"]);
        assert!(parse("").expect("parses").fields().is_empty());
        assert!(parse("").expect("parses").is_match_all());
    }

    #[test]
    fn relative_dates_follow_the_clock() {
        let f = parse("last_seen:>'now-1h'").expect("parses");
        let fresh = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let old = humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(7200))
            .to_string();
        struct One(String);
        impl Record for One {
            fn field(&self, name: &str) -> Option<Value<'_>> {
                (name == "last_seen").then(|| Value::Str(&self.0))
            }
        }
        assert!(f.matches(&One(fresh)));
        assert!(!f.matches(&One(old)));
    }

    #[test]
    fn wildcard_matching_is_linear_enough() {
        let long = "a".repeat(5_000);
        let pattern = format!("{}b", "*a".repeat(200));
        assert!(!glob(
            &wildcard_pieces(&pattern),
            &long.chars().collect::<Vec<_>>()
        ));
        assert!(glob(&wildcard_pieces("*"), &[]));
        assert!(!glob(&wildcard_pieces("a"), &[]));
        assert!(glob(&wildcard_pieces(""), &[]));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            if let Ok(f) = parse(&s) {
                let _ = f.matches(&host());
            }
        }

        #[test]
        fn parse_never_panics_on_fql_alphabet(s in "[a-z_:'\"!<>=~+,()\\[\\] *0-9.\\\\-]{0,48}") {
            match parse(&s) {
                Ok(f) => { let _ = f.matches(&host()); let _ = f.fields(); }
                Err(e) => prop_assert!(e.position <= s.len()),
            }
        }
    }
}
