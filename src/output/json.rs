//! JSON lines that are safe to `cat` to a terminal: serde_json already escapes C0 controls, and
//! this formatter also writes DEL, C1 controls, bidi controls and invisible characters (see
//! [`is_hidden`]) as `\uXXXX` escapes. The decoded strings are unchanged (jq sees the same value);
//! only the bytes on the wire are inert.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

use super::sanitize::is_hidden;

struct TerminalSafe;

impl Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        // ASCII below DEL is never hidden: skip it a run at a time, decode only the rest.
        while let Some(skip) = bytes[i..].iter().position(|&b| b >= 0x7f) {
            i += skip;
            let Some(c) = fragment[i..].chars().next() else {
                break;
            };
            if c == '\u{7f}' || is_hidden(c) {
                writer.write_all(&bytes[start..i])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = i + c.len_utf8();
            }
            i += c.len_utf8();
        }
        writer.write_all(&bytes[start..])
    }
}

/// `value` as one line of terminal-safe JSON, newline included.
pub(crate) fn to_line<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut line = Vec::with_capacity(256);
    let mut ser = Serializer::with_formatter(&mut line, TerminalSafe);
    value.serialize(&mut ser)?;
    line.push(b'\n');
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_escaped_and_decode_unchanged() {
        let s = "a\u{7f}\u{9b}\u{202e}b\u{e0041}\u{1b}é🦀";
        let line = to_line(s).expect("serialises");
        let text = std::str::from_utf8(&line).expect("UTF-8");
        assert_eq!(
            text,
            "\"a\\u007f\\u009b\\u202eb\\udb40\\udc41\\u001bé🦀\"\n"
        );
        let back: String = serde_json::from_str(text).expect("parses");
        assert_eq!(back, s);
    }
}
