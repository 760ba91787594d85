//! What people read: tables fitted to the terminal and sizes in binary units.
//!
//! Tables wrap their cells to the terminal's width instead of letting the terminal wrap whole
//! rows (which garbles the borders). When the stream is not a terminal there is no limit: a
//! pipe or a file is read by programs (`grep`, `awk`) or scrolled sideways (`less -S`), and a
//! row broken over several lines would split one record in two. Cells are sanitised by the
//! callers before they get here.

use std::io::IsTerminal;

use comfy_table::{ContentArrangement, Table};

/// Which stream a table is printed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The width of the terminal `stream` is, or `None` when it is not a terminal. A terminal whose
/// size cannot be read counts as 80 columns (`$COLUMNS` first).
pub fn terminal_width(stream: Stream) -> Option<u16> {
    let tty = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    if !tty {
        return None;
    }
    Some(
        queried_width(stream)
            .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
            .filter(|w| *w >= 20)
            .unwrap_or(80),
    )
}

#[cfg(unix)]
fn queried_width(stream: Stream) -> Option<u16> {
    let size = match stream {
        Stream::Stdout => rustix::termios::tcgetwinsize(std::io::stdout()),
        Stream::Stderr => rustix::termios::tcgetwinsize(std::io::stderr()),
    };
    size.ok().map(|s| s.ws_col).filter(|w| *w > 0)
}

#[cfg(not(unix))]
fn queried_width(_stream: Stream) -> Option<u16> {
    None
}

/// Lays `table` out for `width` columns (cells wrap to fit), or without a limit for `None`.
pub fn fit(table: &mut Table, width: Option<u16>) {
    match width {
        Some(w) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
}

/// A size for people: `512 B`, `1.5 KiB`, `100.0 MiB` (binary units, one decimal).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `1 host`, `2 hosts`: a count and its noun (plural by `s`).
pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(104_857_600), "100.0 MiB");
        assert_eq!(human_size(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn a_fitted_table_never_passes_its_width() {
        let mut t = Table::new();
        t.set_header(vec!["hostname", "aid", "platform", "last seen", "status"]);
        t.add_row(vec![
            "DESKTOP-01",
            "4c2e8a1b9d0f4e6a8b7c6d5e4f3a2b1c",
            "Windows",
            "2024-05-01T10:00:00Z",
            "normal",
        ]);
        fit(&mut t, Some(60));
        assert!(t.lines().all(|l| l.chars().count() <= 60), "{t}");
        fit(&mut t, None);
        assert!(t.lines().any(|l| l.chars().count() > 60), "{t}");
    }
}
