//! `runscript` output that says what it is: JSON objects (an array of them, one, or one per
//! line as NDJSON, as `ConvertTo-Json` and `jq -c` print them), CSV with a header row (as
//! `ConvertTo-Csv`/`Export-Csv` print it, `#TYPE` line included), or a `Format-Table` table with
//! its rule. Field names are the output's own. Anything else is left unparsed whole: guessing
//! at a script's free text would invent fields.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::table::{self, Col};
use super::{Acc, Field};

pub(crate) fn parse<'a>(acc: &mut Acc<'a>, text: &'a str, lines: &[(usize, &'a str)]) {
    let Some(&(_, first)) = lines.first() else {
        return;
    };
    let done = (first.trim_start().starts_with(['[', '{']) && json(acc, text, lines))
        || (lines.get(1).is_some_and(|(_, l)| table::is_rule(l)) && {
            format_table(acc, lines);
            true
        })
        || csv(acc, text, lines);
    if !done {
        acc.all_unparsed(lines);
    }
}

/// The 0-based line of each byte offset: offsets of the line starts.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex(starts)
    }

    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset).saturating_sub(1)
    }
}

/// Where the JSON objects are: byte spans of the top-level objects, or of the objects of a
/// top-level array. `None` when the text is anything else.
fn object_spans(text: &str) -> Option<Vec<(usize, usize)>> {
    let mut spans = Vec::new();
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    let mut array = false;
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        let obj_level = usize::from(array);
        match b {
            b'"' if depth > obj_level => in_str = true,
            b'{' if depth == obj_level => {
                start = i;
                depth += 1;
            }
            b'[' if depth == 0 => {
                array = true;
                depth = 1;
            }
            b'{' | b'[' if depth > obj_level => depth += 1,
            b'}' | b']' if depth > obj_level => {
                depth -= 1;
                if depth == obj_level && b == b'}' {
                    spans.push((start, i + 1));
                }
            }
            b']' if array && depth == 1 => {
                depth = 0;
                array = false;
            }
            b',' if array && depth == 1 => {}
            _ if b.is_ascii_whitespace() => {}
            _ if depth > obj_level => {}
            _ => return None,
        }
    }
    (depth == 0 && !in_str && !spans.is_empty()).then_some(spans)
}

fn json_value(v: Value) -> Option<Cow<'static, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Owned(s)),
        Value::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
        other => Some(Cow::Owned(other.to_string())),
    }
}

fn json<'a>(acc: &mut Acc<'a>, text: &'a str, lines: &[(usize, &'a str)]) -> bool {
    let Some(spans) = object_spans(text) else {
        return false;
    };
    let mut objects = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        let Ok(map) = serde_json::from_str::<Map<String, Value>>(&text[a..b]) else {
            return false;
        };
        objects.push((a, map));
    }
    let index = LineIndex::new(text);
    let mut starts = Vec::with_capacity(objects.len());
    for (a, map) in objects {
        let line = index.line(a);
        starts.push(line);
        let fields: Vec<Field<'a>> = map
            .into_iter()
            .filter_map(|(k, v)| Some((Cow::Owned(k), json_value(v)?)))
            .collect();
        acc.record(line, fields);
    }
    for &(i, _) in lines {
        if starts.binary_search(&i).is_err() {
            acc.consume(i);
        }
    }
    true
}

fn format_table<'a>(acc: &mut Acc<'a>, lines: &[(usize, &'a str)]) {
    table::read(
        acc,
        lines,
        0,
        lines.len(),
        |_| true,
        |cols, line, spans| {
            let fs: Vec<Field<'a>> = cols
                .iter()
                .zip(spans)
                .filter(|(c, _): &(&Col<'_>, _)| !c.name.is_empty())
                .filter_map(|(c, s)| {
                    let v = table::value(line, *s)?;
                    Some((Cow::Owned(c.name.to_string()), Cow::Borrowed(v)))
                })
                .collect();
            (!fs.is_empty()).then_some(fs)
        },
    );
}

/// One CSV record: its fields and the byte where the next one starts.
fn csv_record(text: &str, mut p: usize) -> (Vec<Cow<'_, str>>, usize) {
    let bytes = text.as_bytes();
    let mut fields = Vec::new();
    loop {
        if bytes.get(p) == Some(&b'"') {
            let mut q = p + 1;
            let mut escaped = false;
            loop {
                match bytes.get(q) {
                    None => break,
                    Some(b'"') if bytes.get(q + 1) == Some(&b'"') => {
                        escaped = true;
                        q += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => q += 1,
                }
            }
            let inner = text.get(p + 1..q.min(text.len())).unwrap_or("");
            fields.push(if escaped {
                Cow::Owned(inner.replace("\"\"", "\""))
            } else {
                Cow::Borrowed(inner)
            });
            // Past the closing quote, to the delimiter (anything between is dropped).
            p = q + 1;
            while p < bytes.len() && !matches!(bytes[p], b',' | b'\n') {
                p += 1;
            }
        } else {
            let end = text[p.min(text.len())..]
                .find([',', '\n'])
                .map_or(text.len(), |e| p + e);
            fields.push(Cow::Borrowed(text[p.min(text.len())..end].trim()));
            p = end;
        }
        match bytes.get(p) {
            Some(b',') => p += 1,
            Some(_) => return (fields, p + 1),
            None => return (fields, text.len()),
        }
    }
}

fn csv<'a>(acc: &mut Acc<'a>, text: &'a str, lines: &[(usize, &'a str)]) -> bool {
    let index = LineIndex::new(text);
    let start_of = |line: usize| index.0.get(line).copied().unwrap_or(text.len());
    let mut at = 0;
    let mut head = None;
    if lines[0].1.trim_start().starts_with("#TYPE ") {
        head = Some(lines[0].0);
        at = 1;
    }
    let Some(&(hl, _)) = lines.get(at) else {
        return false;
    };
    let (header, mut p) = csv_record(text, start_of(hl));
    let ok = header.len() >= 2
        && header
            .iter()
            .all(|h| !h.trim().is_empty() && h.len() <= 64 && !h.contains('\n'));
    if !ok || index.line(p.saturating_sub(1)) != hl {
        return false;
    }
    let mut rows = Vec::new();
    while p < text.len() {
        let (fields, next) = csv_record(text, p);
        let first = index.line(p);
        let last = index.line(next.saturating_sub(1).max(p));
        if !fields.iter().all(|v| v.trim().is_empty()) {
            rows.push((first, last, fields));
        }
        p = next;
    }
    let good = rows.iter().filter(|r| r.2.len() == header.len()).count();
    if good == 0 || good * 2 < rows.len() {
        return false;
    }
    let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let mut owner: Vec<(usize, usize, bool)> = Vec::with_capacity(rows.len());
    for (first, last, fields) in rows {
        let fit = fields.len() == names.len();
        if fit {
            let fs: Vec<Field<'a>> = names
                .iter()
                .zip(fields)
                .map(|(n, v)| {
                    let v = match v {
                        Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                        Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
                    };
                    (Cow::Owned(n.clone()), v)
                })
                .collect();
            acc.record(first, fs);
        }
        owner.push((first, last, fit));
    }
    // Every other line: the header's, a record's continuation (consumed), a bad row's.
    let mut k = 0;
    for &(i, l) in lines {
        if Some(i) == head || i == hl {
            acc.consume(i);
            continue;
        }
        while k < owner.len() && owner[k].1 < i {
            k += 1;
        }
        match owner.get(k) {
            Some(&(first, _, true)) if i == first => {}
            Some(&(first, last, true)) if i > first && i <= last => acc.consume(i),
            _ => acc.unparsed(i, l),
        }
    }
    true
}
