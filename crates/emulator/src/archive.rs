//! The body of `GET /real-time-response/entities/extracted-file-contents/v1`: a 7-Zip archive
//! holding the one retrieved file, AES-256 encrypted with a password (RTR uses `infected`).
//!
//! This module owns only the archive format. The content is streamed from
//! [`Content::reader`] through the encoder chain straight into the output, so a generated body of
//! hundreds of MiB is never held whole in memory; only the small archive header is buffered.
//!
//! Both the entry data and the archive header are encrypted (the header holds the entry name), as
//! 7-Zip does with `-mhe=on`, so listing the archive without the password fails too.
//!
//! Text bodies are packed with LZMA2 at preset 0 and binary bodies are stored: see
//! [`Method::for_content`] for the measurement behind that choice.

use std::io::{Seek, Write};

use sevenz_rust2::encoder_options::{AesEncoderOptions, Lzma2Options};
use sevenz_rust2::{ArchiveEntry, ArchiveWriter, EncoderConfiguration, EncoderMethod, Password};

use crate::content::{Content, GenKind};

/// How the entry data is packed before it is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Stored as is (7z method `Copy`). Throughput is bounded by AES alone.
    Copy,
    /// LZMA2 at this preset (0-9, clamped).
    Lzma2 { level: u32 },
}

impl Method {
    /// The method [`write_7z`] picks for a body: [`Method::Copy`] for binary bodies, LZMA2 at
    /// preset 0 for text.
    ///
    /// Measured on 10 MiB generated bodies in a debug test build (dependencies at opt-level 1;
    /// `archive::tests::measure_methods`, run with `--ignored --nocapture`). The crate's AES
    /// encoder costs about 0.9 s per 10 MiB there, so the bytes that reach it dominate:
    ///
    /// | body | Copy | LZMA2-0 | LZMA2-1 |
    /// |---|---|---|---|
    /// | log lines | 0.92 s, 10 MiB | 0.36 s, 0.77 MB | 0.46 s, 0.76 MB |
    /// | single line | 0.97 s, 10 MiB | 0.19 s, 2 KB | 0.19 s, 2 KB |
    /// | random binary | 0.90 s, 10 MiB | 2.8 s, 10 MiB | 4.5 s, 10 MiB |
    ///
    /// Text shrinks 13x or more at preset 0, which also makes the client's download and
    /// decryption faster (0.10 s vs 0.28 s to read back); random binary does not shrink at all and
    /// LZMA2 only adds match-finding time, so it is stored. Preset 1 buys nothing over 0.
    pub fn for_content(content: &Content) -> Method {
        const TEXT: Method = Method::Lzma2 { level: 0 };
        match content {
            Content::Generated(g) => match g.kind {
                GenKind::Binary => Method::Copy,
                GenKind::LogLines | GenKind::SingleLine => TEXT,
            },
            Content::Bytes(b) => {
                let sample = &b[..b.len().min(8 << 10)];
                if looks_like_text(sample) {
                    TEXT
                } else {
                    Method::Copy
                }
            }
        }
    }
}

/// UTF-8 without NUL bytes (a sequence cut by the end of the sample is fine).
fn looks_like_text(sample: &[u8]) -> bool {
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    valid && !sample.contains(&0)
}

/// Writes a 7z archive holding one entry `entry_name` with `content`, AES-256 encrypted with
/// `password`, streaming the content (never whole in memory). The packing method is
/// [`Method::for_content`].
pub fn write_7z<W: Write + Seek>(
    out: W,
    entry_name: &str,
    content: &Content,
    password: &str,
) -> std::io::Result<()> {
    write_7z_with(
        out,
        entry_name,
        content,
        password,
        Method::for_content(content),
    )
}

/// [`write_7z`] with an explicit packing [`Method`].
///
/// An empty `password` writes an unencrypted archive (7-Zip's behaviour without `-p`).
pub fn write_7z_with<W: Write + Seek>(
    out: W,
    entry_name: &str,
    content: &Content,
    password: &str,
    method: Method,
) -> std::io::Result<()> {
    let mut writer = ArchiveWriter::new(out).map_err(to_io)?;
    let pack: EncoderConfiguration = match method {
        Method::Copy => EncoderMethod::COPY.into(),
        Method::Lzma2 { level } => Lzma2Options::from_level(level.min(9)).into(),
    };
    let mut methods = Vec::with_capacity(2);
    if !password.is_empty() {
        // The first method is applied last: data is packed, then encrypted.
        methods.push(AesEncoderOptions::new(Password::new(password)).into());
    }
    methods.push(pack);
    writer.set_content_methods(methods);
    writer.set_encrypt_header(true);

    let mut entry = ArchiveEntry::new_file(entry_name);
    if let Ok(now) = sevenz_rust2::NtTime::try_from(std::time::SystemTime::now()) {
        entry.last_modified_date = now;
        entry.has_last_modified_date = true;
    }
    writer
        .push_archive_entry(entry, Some(content.reader()))
        .map_err(to_io)?;
    writer.finish()?;
    Ok(())
}

fn to_io(e: sevenz_rust2::Error) -> std::io::Error {
    match e {
        sevenz_rust2::Error::Io(e, _) | sevenz_rust2::Error::FileOpen(e, _) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::time::Instant;

    use sevenz_rust2::ArchiveReader;

    use super::*;

    const PASSWORD: &str = "infected";

    fn archive(content: &Content, name: &str, method: Method) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        write_7z_with(&mut out, name, content, PASSWORD, method).expect("writes");
        out.into_inner()
    }

    /// Every entry of the archive as (name, bytes).
    fn unpack(bytes: &[u8], password: &str) -> Result<Vec<(String, Vec<u8>)>, sevenz_rust2::Error> {
        let mut reader = ArchiveReader::new(Cursor::new(bytes), Password::new(password))?;
        let mut entries = Vec::new();
        reader.for_each_entries(|entry, r| {
            let mut data = Vec::new();
            r.read_to_end(&mut data)?;
            entries.push((entry.name().to_string(), data));
            Ok(true)
        })?;
        Ok(entries)
    }

    #[test]
    fn round_trip_keeps_name_and_bytes() {
        let content = Content::text("hello from C:\\Windows\\win.ini\r\n");
        let mut out = Cursor::new(Vec::new());
        write_7z(&mut out, "win.ini", &content, PASSWORD).expect("writes");
        let bytes = out.into_inner();
        assert_eq!(&bytes[..6], b"7z\xBC\xAF\x27\x1C", "7z signature");
        let entries = unpack(&bytes, PASSWORD).expect("reads");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, "win.ini");
        assert_eq!(entries[0].1, content.to_bytes().as_ref());
    }

    #[test]
    fn data_and_header_are_encrypted() {
        let secret = "a very recognisable plaintext marker";
        let bytes = archive(
            &Content::text(secret.repeat(50)),
            "marker-name.txt",
            Method::Copy,
        );
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(secret), "content stored in clear");
        // 7z stores names as UTF-16LE; an unencrypted header would show these bytes.
        let utf16: Vec<u8> = "marker-name"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(
            !bytes.windows(utf16.len()).any(|w| w == utf16.as_slice()),
            "name stored in clear"
        );
        let reader = ArchiveReader::new(Cursor::new(bytes.as_slice()), Password::new(PASSWORD))
            .expect("opens");
        assert!(reader.archive().is_file_encrypted(0));
    }

    #[test]
    fn wrong_or_missing_password_fails() {
        let content = Content::text("secret");
        let bytes = archive(&content, "x.txt", Method::Lzma2 { level: 0 });
        assert!(unpack(&bytes, "infected2").is_err());
        assert!(unpack(&bytes, "").is_err());
        assert!(unpack(&bytes, PASSWORD).is_ok());
    }

    #[test]
    fn empty_body_and_unicode_name_round_trip() {
        let bytes = archive(&Content::empty(), "ünï côdé.txt", Method::Copy);
        let entries = unpack(&bytes, PASSWORD).expect("reads");
        assert_eq!(entries, vec![("ünï côdé.txt".to_string(), Vec::new())]);
    }

    #[test]
    fn method_follows_the_content() {
        let text = Method::Lzma2 { level: 0 };
        assert_eq!(
            Method::for_content(&Content::generated(1, 10, GenKind::LogLines)),
            text
        );
        assert_eq!(
            Method::for_content(&Content::generated(1, 10, GenKind::SingleLine)),
            text
        );
        assert_eq!(
            Method::for_content(&Content::generated(1, 10, GenKind::Binary)),
            Method::Copy
        );
        assert_eq!(Method::for_content(&Content::text("héllo\r\n")), text);
        assert_eq!(Method::for_content(&Content::empty()), text);
        assert_eq!(
            Method::for_content(&Content::bytes(vec![b'M', b'Z', 0x90, 0])),
            Method::Copy
        );
        // A multi-byte character cut by the 8 KiB sample is still text.
        let cut = format!("{}é", "a".repeat((8 << 10) - 1));
        assert_eq!(Method::for_content(&Content::text(cut)), text);
    }

    #[test]
    fn lzma2_round_trips_too() {
        let content = Content::generated(5, 200_000, GenKind::LogLines);
        let bytes = archive(&content, "log.txt", Method::Lzma2 { level: 1 });
        assert!(bytes.len() < 100_000, "log lines compress");
        let entries = unpack(&bytes, PASSWORD).expect("reads");
        assert_eq!(entries[0].1, content.to_bytes().as_ref());
    }

    #[test]
    fn ten_mib_generated_body_round_trips() {
        let content = Content::generated(42, 10 << 20, GenKind::Binary);
        let file = tempfile::tempfile().expect("tempfile");
        let mut out = std::io::BufWriter::new(file);
        write_7z(&mut out, "memory.dmp", &content, PASSWORD).expect("writes");
        let mut file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .expect("flushes");
        file.rewind().expect("rewinds");
        let mut reader = ArchiveReader::new(file, Password::new(PASSWORD)).expect("opens");
        let mut seen = 0;
        reader
            .for_each_entries(|entry, r| {
                assert_eq!(entry.name(), "memory.dmp");
                assert_eq!(entry.size(), content.len());
                let mut data = Vec::new();
                r.read_to_end(&mut data)?;
                assert_eq!(content.sha256(), Content::bytes(data).sha256());
                seen += 1;
                Ok(true)
            })
            .expect("reads");
        assert_eq!(seen, 1);
    }

    /// Writes never buffer the body: the sink sees the archive grow while the entry is written.
    #[test]
    fn content_is_streamed_to_the_sink() {
        struct Probe {
            inner: Cursor<Vec<u8>>,
            writes: usize,
            largest: usize,
        }
        impl Write for Probe {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.writes += 1;
                self.largest = self.largest.max(buf.len());
                self.inner.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        impl Seek for Probe {
            fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
                self.inner.seek(pos)
            }
        }
        let content = Content::generated(1, 4 << 20, GenKind::Binary);
        let mut probe = Probe {
            inner: Cursor::new(Vec::new()),
            writes: 0,
            largest: 0,
        };
        write_7z(&mut probe, "big.bin", &content, PASSWORD).expect("writes");
        assert!(probe.writes > 1000, "{} writes", probe.writes);
        assert!(
            probe.largest < 1 << 20,
            "a write of {} bytes",
            probe.largest
        );
    }

    /// The measurement behind [`Method::for_content`]:
    /// `cargo test --lib archive::tests::measure -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement, prints timings"]
    fn measure_methods() {
        for kind in [GenKind::LogLines, GenKind::SingleLine, GenKind::Binary] {
            let content = Content::generated(7, 10 << 20, kind);
            let start = Instant::now();
            std::io::copy(&mut content.reader(), &mut std::io::sink()).expect("reads");
            println!("{kind:?}: generating alone {:?}", start.elapsed());
            for method in [
                Method::Copy,
                Method::Lzma2 { level: 0 },
                Method::Lzma2 { level: 1 },
            ] {
                let start = Instant::now();
                let bytes = archive(&content, "x", method);
                let written = start.elapsed();
                let start = Instant::now();
                let entries = unpack(&bytes, PASSWORD).expect("reads");
                assert_eq!(entries[0].1.len() as u64, content.len());
                println!(
                    "{kind:?} {method:?}: write {written:?}, read {:?}, {} bytes",
                    start.elapsed(),
                    bytes.len()
                );
            }
        }
    }
}
