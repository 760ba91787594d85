//! STUB: building the password-protected 7z archives of `extracted-file-contents`.

use std::io::{Seek, Write};

use crate::emulator::content::Content;

/// Writes a 7z archive holding one entry `entry_name` with `content`, AES-256 encrypted with
/// `password`, streaming the content (never whole in memory).
pub fn write_7z<W: Write + Seek>(
    _out: W,
    _entry_name: &str,
    _content: &Content,
    _password: &str,
) -> std::io::Result<()> {
    Err(std::io::Error::other("not yet"))
}
