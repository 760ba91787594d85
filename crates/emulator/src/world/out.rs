//! Byte-buffer writers for command output: numbers and padded cells without the `fmt` machinery
//! or a `String` per cell (a batch `ps` writes tens of thousands of rows per request). Each
//! writes exactly what the `format!` spelling named in its doc would.

/// The decimal digits of `n`, at the end of `buf`; returns where they start.
fn digits(buf: &mut [u8; 20], mut n: u64) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

/// `{n}`
pub fn u64(out: &mut Vec<u8>, n: u64) {
    // Small numbers (most of a date) as fixed-size writes.
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    if n < 100 {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
        return;
    }
    let mut buf = [0; 20];
    let i = digits(&mut buf, n);
    out.extend_from_slice(&buf[i..]);
}

/// `{n:0width$}`
pub fn u64_zero(out: &mut Vec<u8>, n: u64, width: usize) {
    if width == 2 && n < 100 {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
        return;
    }
    if width == 3 && n < 1000 {
        let (h, t, u) = (n / 100, (n / 10) % 10, n % 10);
        out.extend_from_slice(&[b'0' + h as u8, b'0' + t as u8, b'0' + u as u8]);
        return;
    }
    let mut buf = [0; 20];
    let i = digits(&mut buf, n);
    spaces_of(out, b'0', width.saturating_sub(buf.len() - i));
    out.extend_from_slice(&buf[i..]);
}

/// `{n:>width$}`
pub fn u64_right(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut buf = [0; 20];
    let i = digits(&mut buf, n);
    spaces(out, width.saturating_sub(buf.len() - i));
    out.extend_from_slice(&buf[i..]);
}

/// `{n}`
pub fn i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    u64(out, n.unsigned_abs());
}

/// `{n:0width$}` (the sign counts towards the width, as in `format!`).
pub fn i64_zero(out: &mut Vec<u8>, n: i64, width: usize) {
    if n < 0 {
        out.push(b'-');
        u64_zero(out, n.unsigned_abs(), width.saturating_sub(1));
    } else {
        u64_zero(out, n.unsigned_abs(), width);
    }
}

fn spaces_of(out: &mut Vec<u8>, fill: u8, n: usize) {
    out.resize(out.len() + n, fill);
}

/// `n` spaces.
pub fn spaces(out: &mut Vec<u8>, n: usize) {
    spaces_of(out, b' ', n);
}

/// Characters in valid UTF-8 text (what `str::chars().count()` says).
fn char_count(text: &[u8]) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        // Every byte but continuation bytes (0b10xx_xxxx) starts a character.
        text.iter().filter(|&&b| (b as i8) >= -0x40).count()
    }
}

/// Pads what was written since `start` (valid UTF-8) with spaces up to `width` characters: a
/// `{:<width$}` cell.
pub fn pad_left_aligned(out: &mut Vec<u8>, start: usize, width: usize) {
    let used = char_count(&out[start..]);
    spaces(out, width.saturating_sub(used));
}

/// `{cell:<width$}`
pub fn left(out: &mut Vec<u8>, cell: &str, width: usize) {
    out.extend_from_slice(cell.as_bytes());
    spaces(out, width.saturating_sub(char_count(cell.as_bytes())));
}

/// `{cell:>width$}` for valid UTF-8 `cell`.
pub fn right(out: &mut Vec<u8>, cell: &[u8], width: usize) {
    spaces(out, width.saturating_sub(char_count(cell)));
    out.extend_from_slice(cell);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = b"x".to_vec();
        f(&mut v);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn match_format() {
        for n in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            assert_eq!(w(|o| u64(o, n)), format!("x{n}"));
            for width in [0, 1, 2, 3, 4, 7, 12, 25] {
                assert_eq!(w(|o| u64_zero(o, n, width)), format!("x{n:0width$}"));
                assert_eq!(w(|o| u64_right(o, n, width)), format!("x{n:>width$}"));
            }
        }
        for n in [0i64, 5, -5, 2026, -2026, -12_345, i64::MIN, i64::MAX] {
            assert_eq!(w(|o| i64(o, n)), format!("x{n}"));
            for width in [0, 1, 3, 4, 6] {
                assert_eq!(w(|o| i64_zero(o, n, width)), format!("x{n:0width$}"));
            }
        }
        for s in ["", "abc", "ünï ✓", "a\u{1b}]0;x\u{7}", "0123456789012"] {
            for width in [0, 3, 10] {
                assert_eq!(w(|o| left(o, s, width)), format!("x{s:<width$}"));
                assert_eq!(
                    w(|o| right(o, s.as_bytes(), width)),
                    format!("x{s:>width$}")
                );
                let padded = w(|o| {
                    o.extend_from_slice(s.as_bytes());
                    pad_left_aligned(o, 1, width);
                });
                assert_eq!(padded, format!("x{s:<width$}"));
            }
        }
    }
}
