//! The world's fixed clock and the time formats hosts print.
//!
//! The world never reads the real clock: "now" is a constant so that every listing, process
//! start time and log record is identical for a given seed on every run.

/// Seconds since the Unix epoch of the world's "now": 2026-11-22T10:15:03Z.
pub const NOW: i64 = days_from_civil(2026, 11, 22) * 86_400 + 10 * 3600 + 15 * 60 + 3;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

struct Parts {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
}

fn parts(t: i64) -> Parts {
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
    let secs = t.rem_euclid(86_400);
    Parts {
        y,
        mo,
        d,
        h: (secs / 3600) as u32,
        mi: ((secs / 60) % 60) as u32,
        s: (secs % 60) as u32,
    }
}

/// `2026-11-22T10:15:03Z`
pub fn rfc3339(t: i64) -> String {
    let p = parts(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    )
}

/// `11/22/2026 10:15:03 AM` (the US format Windows RTR output uses).
pub fn windows(t: i64) -> String {
    let mut s = String::with_capacity(24);
    write_windows(&mut s, t);
    s
}

/// [`windows`], appended to `out` (no allocation of its own: `ps` writes one per process).
pub fn write_windows(out: &mut String, t: i64) {
    use std::fmt::Write as _;
    let p = parts(t);
    let (h12, ampm) = h12(p.h);
    let _ = write!(
        out,
        "{}/{}/{} {}:{:02}:{:02} {}",
        p.mo, p.d, p.y, h12, p.mi, p.s, ampm
    );
}

/// [`rfc3339`], appended to a byte buffer.
pub fn push_rfc3339(out: &mut Vec<u8>, t: i64) {
    use super::out as o;
    let p = parts(t);
    o::i64_zero(out, p.y, 4);
    out.push(b'-');
    o::u64_zero(out, p.mo.into(), 2);
    out.push(b'-');
    o::u64_zero(out, p.d.into(), 2);
    out.push(b'T');
    o::u64_zero(out, p.h.into(), 2);
    out.push(b':');
    o::u64_zero(out, p.mi.into(), 2);
    out.push(b':');
    o::u64_zero(out, p.s.into(), 2);
    out.push(b'Z');
}

/// [`windows`], appended to a byte buffer.
pub fn push_windows(out: &mut Vec<u8>, t: i64) {
    use super::out as o;
    let p = parts(t);
    let (h12, ampm) = h12(p.h);
    o::u64(out, p.mo.into());
    out.push(b'/');
    o::u64(out, p.d.into());
    out.push(b'/');
    o::i64(out, p.y);
    out.push(b' ');
    o::u64(out, h12.into());
    out.push(b':');
    o::u64_zero(out, p.mi.into(), 2);
    out.push(b':');
    o::u64_zero(out, p.s.into(), 2);
    out.push(b' ');
    out.extend_from_slice(ampm.as_bytes());
}

/// The 12-hour clock's hour and AM/PM of an hour 0-23.
fn h12(h: u32) -> (u32, &'static str) {
    match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    }
}

/// `Nov 22 10:15` for recent times, `Nov 22  2025` for older ones (like `ls -l`).
pub fn unix_ls(t: i64) -> String {
    let p = parts(t);
    let mon = MONTHS[(p.mo as usize).saturating_sub(1) % 12];
    if (NOW - t).abs() < 182 * 86_400 {
        format!("{mon} {:>2} {:02}:{:02}", p.d, p.h, p.mi)
    } else {
        format!("{mon} {:>2}  {}", p.d, p.y)
    }
}

/// `Sun Nov 22 10:15:03 2026` (like `date`, syslog-ish headers).
pub fn ctime(t: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let p = parts(t);
    let dow = DAYS[t.div_euclid(86_400).rem_euclid(7) as usize];
    let mon = MONTHS[(p.mo as usize).saturating_sub(1) % 12];
    format!(
        "{dow} {mon} {:>2} {:02}:{:02}:{:02} {}",
        p.d, p.h, p.mi, p.s, p.y
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(NOW), "2026-11-22T10:15:03Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(windows(NOW), "11/22/2026 10:15:03 AM");
        assert_eq!(windows(NOW + 3 * 3600), "11/22/2026 1:15:03 PM");
        assert_eq!(unix_ls(NOW), "Nov 22 10:15");
        assert_eq!(unix_ls(NOW - 400 * 86_400), "Oct 18  2025");
        assert_eq!(ctime(NOW), "Sun Nov 22 10:15:03 2026");
        let step = 86_400 * 365 * 20 + 3_607;
        for t in (-200 * 365 * 86_400..400 * 365 * 86_400)
            .step_by(step)
            .chain([NOW, 0, -1, NOW + 12 * 3600, NOW + 13 * 3600 + 61])
        {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            push_rfc3339(&mut a, t);
            push_windows(&mut b, t);
            assert_eq!(String::from_utf8(a).expect("utf8"), rfc3339(t));
            assert_eq!(String::from_utf8(b).expect("utf8"), windows(t));
        }
        for d in [-1000, 0, 59, 60, 365, 20_000, 30_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m as i64, dd as i64), d);
        }
    }
}
