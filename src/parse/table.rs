//! Column tables (`ps`, `netstat`, `ls`, `eventlog view`, PowerShell's `Format-Table`): a
//! header, maybe a rule of dashes, rows whose values sit under their column.
//!
//! A row is first read by position: each word goes to the column it sits under, and a column's
//! value must start where its header starts (left-aligned) or end where it ends
//! (right-aligned). A row that does not fit (a value longer than its column pushed the rest, a
//! tab, a hostile name) is read again by counting words, with the shape the well-aligned rows
//! taught (the Windows `Start Time` is three words, a `COMMAND` any number), or as a row cut
//! short when its words fill the first columns exactly; a row that fits none of these is left
//! unparsed rather than guessed.

/// A run of non-whitespace in a line: byte extents (for slicing) and char extents (for
/// columns, which formatters pad in chars).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tok {
    pub s: usize,
    pub e: usize,
    pub cs: usize,
    pub ce: usize,
}

/// The words of a line.
pub(crate) fn tokens(line: &str) -> Vec<Tok> {
    if line.is_ascii() {
        return ascii_tokens(line);
    }
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    let mut col = 0;
    for (b, c) in line.char_indices() {
        if c.is_whitespace() {
            if let Some((s, cs)) = start.take() {
                out.push(Tok {
                    s,
                    e: b,
                    cs,
                    ce: col,
                });
            }
        } else if start.is_none() {
            start = Some((b, col));
        }
        col += 1;
    }
    if let Some((s, cs)) = start {
        out.push(Tok {
            s,
            e: line.len(),
            cs,
            ce: col,
        });
    }
    out
}

/// [`tokens`] of an ASCII line (most lines): bytes are chars.
fn ascii_tokens(line: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(16);
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // `char::is_whitespace` of ASCII: tab to carriage return, and space.
        while i < b.len() && matches!(b[i], b'\t'..=b'\r' | b' ') {
            i += 1;
        }
        let s = i;
        while i < b.len() && !matches!(b[i], b'\t'..=b'\r' | b' ') {
            i += 1;
        }
        if i > s {
            out.push(Tok {
                s,
                e: i,
                cs: s,
                ce: i,
            });
        }
    }
    out
}

/// A rule under a header: only dashes (or `=`), in one or more groups.
pub(crate) fn is_rule(line: &str) -> bool {
    let t = line.trim_start();
    if !t.starts_with(['-', '=']) {
        return false;
    }
    let t = t.trim_end();
    t.len() >= 2
        && t.chars()
            .all(|c| c == '-' || c == '=' || c == ' ' || c == '\t')
        && t.starts_with(['-', '='])
}

/// A column: its header text and the chars it spans (its rule's dashes when there is a rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Col<'a> {
    pub name: &'a str,
    pub cs: usize,
    pub ce: usize,
}

/// Words that start a two-word header (`Local Address`, `Start Time`, `PID/Program name`).
const FIRST: [&str; 12] = [
    "local",
    "foreign",
    "peer",
    "remote",
    "start",
    "user",
    "kernel",
    "last",
    "pid/program",
    "size",
    "time",
    "entry",
];
/// ... and the words that end one.
const SECOND: [&str; 8] = [
    "address",
    "time",
    "modified",
    "name",
    "type",
    "written",
    "created",
    "generated",
];

/// The columns of a header, from its rule when it has one (which says exactly where each
/// column is), else from its words (a parenthesis and the usual two-word names kept together).
pub(crate) fn columns<'a>(header: &'a str, rule: Option<&str>) -> Vec<Col<'a>> {
    let words = tokens(header);
    if let Some(rule) = rule {
        let groups: Vec<Col<'a>> = tokens(rule)
            .iter()
            .map(|t| Col {
                name: "",
                cs: t.cs,
                ce: t.ce,
            })
            .collect();
        let mut cols = groups.clone();
        if let Some(ranges) = assign(&words, &groups) {
            for (c, r) in cols.iter_mut().zip(ranges) {
                if let Some((a, b)) = r {
                    c.name = &header[words[a].s..words[b - 1].e];
                }
            }
            return cols;
        }
        // A header that does not fit its rule: its words are the columns.
    }
    let mut cols: Vec<Col<'a>> = Vec::with_capacity(words.len());
    let mut prev: Option<Tok> = None;
    for t in words {
        let w = &header[t.s..t.e];
        let merge = match (prev, cols.last()) {
            (Some(p), Some(c)) if t.cs == p.ce + 1 => {
                let lw = w.to_ascii_lowercase();
                let pw = header[p.s..p.e].to_ascii_lowercase();
                w.starts_with('(')
                    || (FIRST.contains(&pw.as_str()) && SECOND.iter().any(|s| lw.starts_with(s)))
                    || c.name.contains(' ') && w.starts_with('(')
            }
            _ => false,
        };
        match cols.last_mut() {
            Some(c) if merge => {
                let start = c.name.as_ptr() as usize - header.as_ptr() as usize;
                c.name = &header[start..t.e];
                c.ce = t.ce;
            }
            _ => cols.push(Col {
                name: w,
                cs: t.cs,
                ce: t.ce,
            }),
        }
        prev = Some(t);
    }
    cols
}

/// Which words (a range of indexes) each column gets, by position; `None` when a word spans two
/// columns or the words would go back to an earlier column.
fn assign(toks: &[Tok], cols: &[Col<'_>]) -> Option<Spans> {
    let mut out: Vec<Option<(usize, usize)>> = vec![None; cols.len()];
    let mut cur = 0usize;
    let mut prev: Option<(Tok, usize)> = None;
    // The first column not wholly before the word (words and columns both go left to right:
    // one pass over each, however long the line).
    let mut p = 0usize;
    for (i, t) in toks.iter().enumerate() {
        while p < cols.len() && cols[p].ce <= t.cs {
            p += 1;
        }
        let overlaps = |q: usize| cols.get(q).is_some_and(|c| c.cs < t.ce);
        let j = if overlaps(p) {
            if overlaps(p + 1) {
                return None;
            }
            p
        } else if p == 0 {
            0
        } else if p == cols.len() {
            p - 1
        } else {
            // In the gap between two columns: the next word of a value (`2:21:45 PM`) stays
            // with it, else the nearer column.
            let (left, right) = (p - 1, p);
            match prev {
                Some((w, pj)) if pj == left && t.cs == w.ce + 1 => left,
                _ if t.cs.saturating_sub(cols[left].ce) <= cols[right].cs.saturating_sub(t.ce) => {
                    left
                }
                _ => right,
            }
        };
        if j < cur {
            return None;
        }
        cur = j;
        out[j] = Some(match out[j] {
            Some((a, _)) => (a, i + 1),
            None => (i, i + 1),
        });
        prev = Some((*t, j));
    }
    Some(out)
}

/// Byte spans of a row's values, one per column (`None`: empty), when the row is aligned.
fn positional(toks: &[Tok], cols: &[Col<'_>]) -> Option<Spans> {
    let ranges = assign(toks, cols)?;
    let mut spans = Vec::with_capacity(cols.len());
    // The end of the previous column's value, when it ran past its column.
    let mut overran: Option<usize> = None;
    for (c, r) in cols.iter().zip(&ranges) {
        spans.push(match *r {
            Some((a, b)) => {
                let (vs, ve) = (toks[a].cs, toks[b - 1].ce);
                let fits = vs == c.cs || ve == c.ce || (vs <= c.cs && ve >= c.ce);
                // A value of several words that ran past its column, one space before this
                // column's first word: that word may be its last (`... 1:00:07 AM` pushed
                // over). One word run past its rule (`Information Source`) is PowerShell's
                // columns being wider than their headers.
                if !fits || (vs == c.cs && overran.is_some_and(|e| vs == e + 1)) {
                    return None;
                }
                overran = (ve > c.ce && b - a > 1).then_some(ve);
                Some((toks[a].s, toks[b - 1].e))
            }
            None => None,
        });
    }
    Some(spans)
}

/// A row's values: the byte span of each column's (`None`: empty).
pub(crate) type Spans = Vec<Option<(usize, usize)>>;

/// How many words a column had in the aligned rows.
#[derive(Clone, Copy, Debug)]
struct Shape {
    min: usize,
    max: usize,
}

/// Spans of the cells of a row, cells being separated by two or more spaces or a tab: words
/// indexes `(first, last + 1)`.
fn cells(line: &str, toks: &[Tok]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let joined = i > 0 && {
            let p = toks[i - 1];
            t.cs == p.ce + 1 && line[p.e..t.s] == *" "
        };
        match out.last_mut() {
            Some(c) if joined => c.1 = i + 1,
            _ => out.push((i, i + 1)),
        }
    }
    out
}

/// The rows of a table split into their columns' byte spans (`None` for a row that could not be
/// read, which the caller keeps unparsed). `greedy_last`: the last column may hold any number
/// of words (a command line, a message) even when no aligned row taught so.
pub(crate) fn split_rows(
    rows: &[(usize, &str)],
    cols: &[Col<'_>],
    greedy_last: bool,
) -> Vec<Option<Spans>> {
    let n = cols.len();
    let toks: Vec<Vec<Tok>> = rows.iter().map(|(_, l)| tokens(l)).collect();
    let mut out: Vec<Option<Spans>> = toks.iter().map(|t| positional(t, cols)).collect();
    if n == 0 || out.iter().all(Option::is_some) {
        return out;
    }
    // What the aligned rows say of each column's number of words.
    let mut shape: Vec<Option<Shape>> = vec![None; n];
    for (spans, t) in out.iter().zip(&toks) {
        let Some(spans) = spans else { continue };
        // A line with most columns empty is no row to learn from (a stray line of words).
        if spans.iter().filter(|s| s.is_some()).count() < n.div_ceil(2) {
            continue;
        }
        for (k, s) in spans.iter().enumerate() {
            let c = match s {
                Some((a, b)) => t.partition_point(|x| x.s < *b) - t.partition_point(|x| x.s < *a),
                None => 0,
            };
            shape[k] = Some(match shape[k] {
                Some(sh) => Shape {
                    min: sh.min.min(c),
                    max: sh.max.max(c),
                },
                None => Shape { min: c, max: c },
            });
        }
    }
    let learned = shape.iter().all(Option::is_some);
    let fixed = |k: usize| -> Option<usize> {
        match shape[k] {
            _ if greedy_last && k == n - 1 => None,
            Some(s) if s.min == s.max => Some(s.min),
            Some(_) => None,
            None if greedy_last && k == n - 1 => None,
            None => Some(1),
        }
    };
    for ((slot, t), (_, line)) in out.iter_mut().zip(&toks).zip(rows) {
        if slot.is_some() {
            continue;
        }
        let span = |a: usize, b: usize| (b > a).then(|| (t[a].s, t[b - 1].e));
        // Cells separated by wide gaps, one per column, each with the words its column takes.
        let cs = cells(line, t);
        if cs.len() == n
            && cs
                .iter()
                .enumerate()
                .all(|(k, (a, b))| fixed(k).is_none_or(|f| f == b - a))
        {
            *slot = Some(cs.iter().map(|&(a, b)| span(a, b)).collect());
            continue;
        }
        // Words counted: the fixed columns take their number, one variable column the rest.
        let var: Vec<usize> = (0..n).filter(|&k| fixed(k).is_none()).collect();
        let want: usize = (0..n).filter_map(fixed).sum();
        let ok = match var.as_slice() {
            [] => t.len() == want,
            [v] => {
                let min = match shape[*v] {
                    Some(s) if learned => s.min.min(1),
                    _ => 1,
                };
                t.len() >= want + min
            }
            _ => false,
        };
        if !ok {
            // A row cut short (the hostile host's process whose line ends after its start
            // time): the first columns, when their words add up exactly (a column of any
            // number of words taking its fewest, one at least).
            let words = |k: usize| fixed(k).unwrap_or_else(|| shape[k].map_or(1, |s| s.min.max(1)));
            let mut sum = 0;
            for k in 0..n {
                sum += words(k);
                if sum == t.len() && k >= 1 {
                    let mut spans: Spans = vec![None; n];
                    let mut i = 0;
                    for (j, slot) in spans.iter_mut().enumerate().take(k + 1) {
                        let c = words(j);
                        *slot = span(i, i + c);
                        i += c;
                    }
                    *slot = Some(spans);
                    break;
                }
                if sum > t.len() {
                    break;
                }
            }
            continue;
        }
        let extra = t.len() - want;
        let mut spans = Vec::with_capacity(n);
        let mut i = 0;
        for k in 0..n {
            let c = fixed(k).unwrap_or(extra);
            spans.push(span(i, i + c));
            i += c;
        }
        *slot = Some(spans);
    }
    out
}

/// A `greedy` for [`read`]: the last column is one whose name `is` accepts.
pub(crate) fn last_column<'a>(is: impl Fn(&str) -> bool) -> impl Fn(&[Col<'a>]) -> bool {
    move |cols| cols.last().is_some_and(|c| is(c.name))
}

/// Reads the one table of an output whose header is the first line `is_header` accepts, to the
/// end: the lines before the header are unparsed (all of them when there is none). `greedy`
/// and `build` as in [`read`].
pub(crate) fn read_from_header<'a>(
    acc: &mut super::Acc<'a>,
    lines: &[(usize, &'a str)],
    is_header: impl Fn(&str) -> bool,
    greedy: impl Fn(&[Col<'a>]) -> bool,
    build: impl FnMut(&[Col<'a>], &'a str, &[Option<(usize, usize)>]) -> Option<Vec<super::Field<'a>>>,
) {
    let Some(h) = lines.iter().position(|(_, l)| is_header(l)) else {
        acc.all_unparsed(lines);
        return;
    };
    acc.all_unparsed(&lines[..h]);
    read(acc, lines, h, lines.len(), greedy, build);
}

/// Reads the table whose header is `lines[h]` (its rule, if any, next) up to `lines[end]`: the
/// header, rule and repeated headers consumed, each row given to `build` (its line and its
/// columns' byte spans), a row that cannot be split or built kept unparsed. `greedy` says,
/// from the columns, whether the last one may hold any number of words.
pub(crate) fn read<'a>(
    acc: &mut super::Acc<'a>,
    lines: &[(usize, &'a str)],
    h: usize,
    end: usize,
    greedy: impl Fn(&[Col<'a>]) -> bool,
    mut build: impl FnMut(
        &[Col<'a>],
        &'a str,
        &[Option<(usize, usize)>],
    ) -> Option<Vec<super::Field<'a>>>,
) {
    let end = end.min(lines.len());
    if h >= end {
        return;
    }
    let (hi, header) = lines[h];
    acc.consume(hi);
    let mut first = h + 1;
    let rule = match lines.get(first) {
        Some(&(ri, r)) if first < end && is_rule(r) => {
            acc.consume(ri);
            first += 1;
            Some(r)
        }
        _ => None,
    };
    let cols = columns(header, rule);
    let mut rows: Vec<(usize, &'a str)> = Vec::with_capacity(end - first);
    let head = header.trim();
    for &(i, l) in &lines[first..end] {
        let repeated = || {
            l.trim_start()
                .strip_prefix(head)
                .is_some_and(|r| r.trim().is_empty())
        };
        if repeated() || is_rule(l) {
            acc.consume(i);
        } else {
            rows.push((i, l));
        }
    }
    let split = split_rows(&rows, &cols, greedy(&cols));
    for ((i, l), spans) in rows.into_iter().zip(split) {
        match spans.and_then(|s| build(&cols, l, &s)) {
            Some(fields) => acc.record(i, fields),
            None => acc.unparsed(i, l),
        }
    }
}

/// The value of a span, trimmed (`None`: empty).
pub(crate) fn value(line: &str, span: Option<(usize, usize)>) -> Option<&str> {
    let (a, b) = span?;
    let v = line.get(a..b)?.trim();
    (!v.is_empty()).then_some(v)
}
