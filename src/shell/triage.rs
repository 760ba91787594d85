//! What `stack`, `diff` and `results` print: tables fitted to the terminal (every row when
//! stdout is a pipe or a file), or JSON lines with `--json`. Values come from hosts: they are
//! made inert before they are printed.

use std::io::Write;

use comfy_table::Table;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use serde_json::{Value, json};

use crate::output::layout;
use crate::output::sanitize::{sanitize_line, truncate_for_display};
use crate::output::style;
use crate::shell::results::{self, Diff, Kept, Stack};

/// Rows shown at a terminal without `--all` (the rarest).
pub const TERMINAL_ROWS: usize = 30;
/// Host names shown per row before "+N more".
const NAMES: usize = 3;

fn write_out(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush())
}

fn json_lines(values: impl Iterator<Item = Value>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for v in values {
        out.write_all(&crate::output::json::to_line(&v).unwrap_or_default())?;
    }
    out.flush()
}

/// `A, B, C +12 more`.
fn names<'a>(all: impl Iterator<Item = &'a str>, count: usize) -> String {
    let shown: Vec<String> = all.take(NAMES).map(sanitize_line).collect();
    if count > shown.len() {
        format!("{} +{} more", shown.join(", "), count - shown.len())
    } else {
        shown.join(", ")
    }
}

/// The line above a stack: what was stacked, over how many hosts.
pub fn stack_title(s: &Stack<'_>) -> String {
    let k = s.kept;
    let values = if s.rows.len() == 1 { "value" } else { "values" };
    let mut t = format!(
        "{} of `{}` (#{}) on {}: {} distinct {values}, rarest first",
        sanitize_line(&s.field),
        sanitize_line(&k.line),
        k.no,
        crate::output::layout::plural(k.hosts(), "host"),
        s.rows.len(),
    );
    if s.without > 0 {
        t.push_str(&format!("; {} without it", s.without));
    }
    let (lines, hosts, cut) = results::notes(k);
    if lines > 0 {
        t.push_str(&format!(
            "; {} not understood on {} (see the output)",
            crate::output::layout::plural(lines, "line"),
            crate::output::layout::plural(hosts, "host")
        ));
    }
    if cut {
        t.push_str("; an output over 64 MiB was read in part");
    }
    t
}

/// Prints a stack: the rarest `TERMINAL_ROWS` at a terminal (all with `all`, or when stdout is
/// not a terminal), one JSON line per value with `--json`.
pub fn print_stack(s: &Stack<'_>, all: bool, json: bool) -> std::io::Result<()> {
    if json {
        return json_lines(s.rows.iter().map(|r| {
            json!({
                "result": s.kept.no,
                "command": s.kept.line,
                "field": s.field,
                "value": r.value,
                "hosts": r.count(),
                "host_names": s.host_names(r).collect::<Vec<_>>(),
                "aids": s.host_aids(r).collect::<Vec<_>>(),
            })
        }));
    }
    eprintln!("{}", style::notice(&stack_title(s)));
    let width = layout::terminal_width(layout::Stream::Stdout);
    let limit = if all || width.is_none() {
        s.rows.len()
    } else {
        TERMINAL_ROWS
    };
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY)
        .set_header(vec!["hosts", &sanitize_line(&s.field), "on"]);
    for r in s.rows.iter().take(limit) {
        t.add_row(vec![
            r.count().to_string(),
            sanitize_line(&truncate_for_display(&r.value, 400)),
            names(s.host_names(r), r.count()),
        ]);
    }
    layout::fit(&mut t, width);
    write_out(&format!("{t}\n"))?;
    if s.rows.len() > limit {
        eprintln!(
            "{}",
            style::notice(&format!(
                "{} more, seen on more hosts: `stack --all {} #{}` shows every one",
                crate::output::layout::plural(s.rows.len() - limit, "value"),
                sanitize_line(&s.field),
                s.kept.no
            ))
        );
    }
    Ok(())
}

/// Prints a diff: what each host has that the other does not.
pub fn print_diff(k: &Kept, d: &Diff, json: bool) -> std::io::Result<()> {
    if json {
        return json_lines(std::iter::once(json!({
            "result": k.no,
            "command": k.line,
            "a": d.a,
            "b": d.b,
            "only_a": d.only_a,
            "only_b": d.only_b,
            "common": d.common,
        })));
    }
    let mut text = String::new();
    for (host, only) in [(&d.a, &d.only_a), (&d.b, &d.only_b)] {
        text.push_str(&format!(
            "only on {} ({}):\n",
            sanitize_line(host),
            only.len()
        ));
        for o in only {
            text.push_str(&format!("  {}\n", sanitize_line(o)));
        }
    }
    write_out(&text)?;
    eprintln!(
        "{}",
        style::notice(&format!(
            "`{}` (#{}): {} in common",
            sanitize_line(&k.line),
            k.no,
            d.common
        ))
    );
    Ok(())
}

/// Prints the kept results.
pub fn print_results<'a>(all: impl Iterator<Item = &'a Kept>, json: bool) -> std::io::Result<()> {
    let rows: Vec<_> = all.map(results::summary).collect();
    if json {
        return json_lines(
            rows.iter()
                .map(|(no, line, hosts, records, unparsed, cut)| {
                    json!({
                        "result": no,
                        "command": line,
                        "hosts": hosts,
                        "records": records,
                        "lines_not_understood": unparsed,
                        "read_in_part": cut,
                    })
                }),
        );
    }
    if rows.is_empty() {
        eprintln!(
            "{}",
            style::notice(
                "no parsed results yet: ps, netstat, reg query, ls, filehash, env, eventlog view and runscript are kept"
            )
        );
        return Ok(());
    }
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY).set_header(vec![
        "#",
        "command",
        "hosts",
        "records",
        "not understood",
    ]);
    for (no, line, hosts, records, unparsed, cut) in rows {
        let mut u = unparsed.to_string();
        if cut {
            u.push_str(" (read in part)");
        }
        t.add_row(vec![
            format!("#{no}"),
            sanitize_line(&truncate_for_display(&line, 60)),
            hosts.to_string(),
            records.to_string(),
            u,
        ]);
    }
    layout::fit(&mut t, layout::terminal_width(layout::Stream::Stdout));
    write_out(&format!("{t}\n"))
}
