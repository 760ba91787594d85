//! Tests of the sanitiser: every hostile input from the threat list, chunking, bounded memory, and
//! property tests ("nothing dangerous gets out", "chunked == whole").

use super::*;
use proptest::prelude::*;

/// Each hostile (or benign) input and its plain rendering.
const CASES: &[(&str, &[u8], &str)] = &[
    ("plain text", b"hello world", "hello world"),
    ("newline and tab", b"a\tb\nc\n", "a\tb\nc\n"),
    (
        "windows path",
        b"C:\\Windows\\System32",
        "C:\\Windows\\System32",
    ),
    (
        "utf-8 text",
        "héllo ✓ 日本 🦀".as_bytes(),
        "héllo ✓ 日本 🦀",
    ),
    (
        "OSC 0 title, BEL",
        b"\x1b]0;pwned\x07x",
        "\\e]0;pwned\\x07x",
    ),
    ("OSC 2 title, ST", b"\x1b]2;t\x1b\\x", "\\e]2;t\\e\\x"),
    (
        "OSC 52 clipboard write",
        b"\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07",
        "\\e]52;c;Y3VybCBldmlsIHwgc2g=\\x07",
    ),
    ("CSI clear screen", b"\x1b[2J\x1b[H", "\\e[2J\\e[H"),
    (
        "CSI cursor up",
        b"ok\x1b[1A\x1b[2Kfake",
        "ok\\e[1A\\e[2Kfake",
    ),
    ("SGR colours", b"\x1b[31mred\x1b[0m", "\\e[31mred\\e[0m"),
    ("CSI private mode", b"\x1b[?1049h", "\\e[?1049h"),
    ("DCS", b"\x1bPq#0;2\x1b\\", "\\ePq#0;2\\e\\"),
    ("APC", b"\x1b_Gf=100\x1b\\", "\\e_Gf=100\\e\\"),
    ("ESC c full reset", b"\x1bc", "\\ec"),
    ("ESC ( B charset", b"\x1b(B", "\\e(B"),
    ("lone ESC at end", b"a\x1b", "a\\e"),
    ("ESC ESC", b"\x1b\x1b[m", "\\e\\e[m"),
    ("CSI cut by newline", b"\x1b[1\nx", "\\e[1\nx"),
    ("OSC cut by newline", b"\x1b]0;a\nb", "\\e]0;a\nb"),
    ("OSC cut by new CSI", b"\x1b]0;a\x1b[2J", "\\e]0;a\\e[2J"),
    ("OSC with CAN", b"\x1b]0;a\x18b", "\\e]0;a\\x18b"),
    ("OSC unterminated at end", b"\x1b]0;abc", "\\e]0;abc"),
    ("OSC ESC at end", b"\x1b]0;abc\x1b", "\\e]0;abc\\e"),
    (
        "OSC control inside",
        b"\x1b]0;a\x01b\x07",
        "\\e]0;a\\x01b\\x07",
    ),
    (
        "OSC utf-8 inside",
        "\x1b]0;é\u{202e}\x07".as_bytes(),
        "\\e]0;é\\u{202e}\\x07",
    ),
    ("BEL", b"a\x07b", "a\\x07b"),
    (
        "backspace overwrite",
        b"abc\x08\x08\x08xyz",
        "abc\\x08\\x08\\x08xyz",
    ),
    ("NUL", b"a\x00b", "a\\x00b"),
    ("DEL", b"a\x7fb", "a\\x7fb"),
    ("vertical tab, form feed", b"\x0b\x0c", "\\x0b\\x0c"),
    ("lone CR overwrite", b"safe\rEVIL", "safe\\rEVIL"),
    ("CRLF", b"a\r\nb\r\n", "a\nb\n"),
    ("CR CR LF", b"a\r\r\nb", "a\nb"),
    ("CR at end", b"a\r", "a\\r"),
    ("CR then ESC", b"\r\x1b[K", "\\r\\e[K"),
    ("CR inside CSI", b"\x1b[1\r\n", "\\e[1\n"),
    ("raw C1 CSI byte", b"\x9b2J", "\\x9b2J"),
    ("raw C1 OSC byte", b"\x9d0;t\x9c", "\\x9d0;t\\x9c"),
    ("UTF-8 encoded C1 CSI", b"\xc2\x9b2J", "\\u{9b}2J"),
    ("RLO", "a\u{202e}fdp.exe".as_bytes(), "a\\u{202e}fdp.exe"),
    (
        "LRE PDF",
        "\u{202a}x\u{202c}".as_bytes(),
        "\\u{202a}x\\u{202c}",
    ),
    (
        "isolates",
        "\u{2066}\u{2067}\u{2068}\u{2069}".as_bytes(),
        "\\u{2066}\\u{2067}\\u{2068}\\u{2069}",
    ),
    (
        "zero width",
        "a\u{200b}\u{200c}\u{200d}\u{200e}\u{200f}b".as_bytes(),
        "a\\u{200b}\\u{200c}\\u{200d}\\u{200e}\\u{200f}b",
    ),
    ("BOM", "\u{feff}x".as_bytes(), "\\u{feff}x"),
    ("arabic letter mark", "\u{61c}".as_bytes(), "\\u{61c}"),
    ("tag characters", "a\u{e0041}".as_bytes(), "a\\u{e0041}"),
    ("line separator", "a\u{2028}b".as_bytes(), "a\\u{2028}b"),
    ("invalid bytes", b"\xff\xfe", "\\xff\\xfe"),
    ("truncated utf-8 at end", b"a\xe2\x82", "a\\xe2\\x82"),
    ("truncated utf-8 then ascii", b"\xe2\x82a", "\\xe2\\x82a"),
    ("overlong slash", b"\xc0\xaf", "\\xc0\\xaf"),
    ("overlong 3-byte", b"\xe0\x80\xaf", "\\xe0\\x80\\xaf"),
    ("surrogate", b"\xed\xa0\x80", "\\xed\\xa0\\x80"),
    (
        "beyond U+10FFFF",
        b"\xf4\x90\x80\x80",
        "\\xf4\\x90\\x80\\x80",
    ),
    ("lone continuation", b"\x80", "\\x80"),
    ("utf-8 cut by ESC", b"\xe2\x1b[m", "\\xe2\\e[m"),
];

fn plain(input: &[u8]) -> String {
    sanitize_bytes(input)
}

#[test]
fn table_of_hostile_inputs() {
    for (name, input, expected) in CASES {
        assert_eq!(plain(input), *expected, "case {name:?}");
    }
}

#[test]
fn table_cases_split_at_every_position() {
    for (name, input, expected) in CASES {
        for cut in 0..=input.len() {
            let mut s = Sanitizer::new();
            let mut out = Vec::new();
            s.push(&input[..cut], &mut out);
            s.push(&input[cut..], &mut out);
            s.finish(&mut out);
            assert_eq!(
                String::from_utf8(out).ok().as_deref(),
                Some(*expected),
                "case {name:?} cut {cut}"
            );
        }
    }
}

#[test]
fn byte_at_a_time_utf8_and_escape() {
    let input = "x\u{1f980}\x1b]52;c;aGk=\x1b\\é\r\n".as_bytes();
    let mut s = Sanitizer::new();
    let mut out = Vec::new();
    for b in input {
        s.push(std::slice::from_ref(b), &mut out);
    }
    s.finish(&mut out);
    assert_eq!(
        String::from_utf8(out).ok().as_deref(),
        Some("x\u{1f980}\\e]52;c;aGk=\\e\\é\n")
    );
}

#[test]
fn highlight_dims_whole_sequences_and_lone_controls() {
    let mut s = Sanitizer::new().with_highlight(true);
    let mut out = Vec::new();
    s.push(b"\x1b[31mred\x1b[0m a\x07b\r", &mut out);
    s.finish(&mut out);
    let expected =
        b"\x1b[2m\\e[31m\x1b[22mred\x1b[2m\\e[0m\x1b[22m a\x1b[2m\\x07\x1b[22mb\x1b[2m\\r\x1b[22m";
    assert_eq!(out, expected.to_vec());
}

#[test]
fn highlight_closes_an_overlong_sequence() {
    let mut s = Sanitizer::new().with_highlight(true);
    let mut out = Vec::new();
    let mut input = b"\x1b]0;".to_vec();
    input.resize(MAX_SEQUENCE_LEN + 100, b'A');
    s.push(&input, &mut out);
    // Closed after MAX_SEQUENCE_LEN bytes, not at the end of input.
    let off = out
        .windows(HIGHLIGHT_OFF.len())
        .position(|w| w == HIGHLIGHT_OFF);
    assert_eq!(off, Some(HIGHLIGHT_ON.len() + MAX_SEQUENCE_LEN + 1));
    s.finish(&mut out);
    assert!(out.ends_with(b"AAAA"));
}

#[test]
fn finish_resets_for_the_next_stream() {
    let mut s = Sanitizer::new();
    let mut out = Vec::new();
    s.push(b"\x1b]0;\xe2\x82", &mut out);
    s.finish(&mut out);
    s.push(b"\xacok", &mut out);
    s.finish(&mut out);
    assert_eq!(
        String::from_utf8(out).ok().as_deref(),
        Some("\\e]0;\\xe2\\x82\\xacok")
    );
}

#[test]
fn sanitize_line_escapes_line_structure() {
    assert_eq!(sanitize_line("host\nname"), "host\\nname");
    assert_eq!(sanitize_line("a\tb\r\nc\r"), "a\\tb\\r\\nc\\r");
    assert_eq!(sanitize_line("\x1b]0;x\x07evil"), "\\e]0;x\\x07evil");
    assert_eq!(sanitize_line("\x1b]0;x\ny"), "\\e]0;x\\ny");
    assert_eq!(sanitize_line("WIN-\u{202e}cod"), "WIN-\\u{202e}cod");
    assert_eq!(sanitize_line("plain-host.example"), "plain-host.example");
}

#[test]
fn truncate_for_display_counts_chars() {
    assert_eq!(truncate_for_display("abc", 3), "abc");
    assert_eq!(truncate_for_display("abcd", 3), "ab…");
    assert_eq!(truncate_for_display("日本語テキスト", 4), "日本語…");
    assert_eq!(truncate_for_display("abc", 0), "");
    assert_eq!(truncate_for_display("", 0), "");
    assert_eq!(truncate_for_display("a", 1), "a");
    assert_eq!(truncate_for_display("ab", 1), "…");
}

const TEN_MB: usize = 10 * 1024 * 1024;

#[test]
fn ten_megabyte_line_in_chunks_keeps_the_output_buffer_small() {
    // Streaming use: the caller clears `out` after each chunk; it never needs to grow past a chunk.
    let chunk: Vec<u8> = b"\x1b]0;\x01\xff"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 65_536 - 7))
        .collect();
    let mut s = Sanitizer::new().with_highlight(true);
    let mut out = Vec::new();
    let mut total = 0;
    let mut max_cap = 0;
    for _ in 0..(TEN_MB / chunk.len()) {
        s.push(&chunk, &mut out);
        total += out.len();
        max_cap = max_cap.max(out.capacity());
        out.clear();
    }
    s.finish(&mut out);
    assert!(total >= TEN_MB);
    assert!(
        max_cap <= 4 * chunk.len(),
        "output buffer grew to {max_cap}"
    );
}

/// Remove the sanitiser's own highlight markers.
fn strip_markers(out: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i..].starts_with(HIGHLIGHT_ON) {
            i += HIGHLIGHT_ON.len();
        } else if out[i..].starts_with(HIGHLIGHT_OFF) {
            i += HIGHLIGHT_OFF.len();
        } else {
            v.push(out[i]);
            i += 1;
        }
    }
    v
}

fn assert_inert(out: &[u8]) -> Result<(), TestCaseError> {
    let text =
        std::str::from_utf8(out).map_err(|e| TestCaseError::fail(format!("not UTF-8: {e}")))?;
    for c in text.chars() {
        let ok = match c {
            '\n' | '\t' => true,
            '\u{0}'..='\u{1f}' | '\u{7f}' => false,
            c => !is_hidden(c),
        };
        prop_assert!(ok, "dangerous char {:?} in {:?}", c, text);
    }
    Ok(())
}

/// Bytes weighted towards the interesting ones: introducers, terminators, CR/LF, UTF-8 pieces.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let interesting = prop::sample::select(vec![
        0x1b, b'[', b']', b'P', b'\\', 0x07, b'\r', b'\n', b'\t', 0x18, 0x08, 0x00, 0x7f, 0x9b,
        0xc2, 0xe2, 0x80, 0xae, 0xaa, 0x81, 0xed, 0xa0, 0xf0, 0x9f, 0xf4, 0xff, b'0', b';', b'm',
        b'A',
    ]);
    let byte = prop_oneof![3 => interesting, 1 => any::<u8>()];
    prop::collection::vec(byte, 0..120)
}

proptest! {
    #[test]
    fn sanitized_output_is_inert(input in hostile_bytes()) {
        assert_inert(sanitize_bytes(&input).as_bytes())?;
        assert_inert(sanitize_line(&String::from_utf8_lossy(&input)).as_bytes())?;
        prop_assert!(!sanitize_line(&String::from_utf8_lossy(&input)).contains(['\n', '\t']));
    }

    #[test]
    fn highlighting_only_adds_markers(input in hostile_bytes()) {
        let mut s = Sanitizer::new().with_highlight(true);
        let mut out = Vec::new();
        s.push(&input, &mut out);
        s.finish(&mut out);
        let stripped = strip_markers(&out);
        assert_inert(&stripped)?;
        prop_assert_eq!(stripped, sanitize_bytes(&input).into_bytes());
    }

    #[test]
    fn chunked_equals_whole(input in hostile_bytes(), highlight in any::<bool>()) {
        let mut whole = Vec::new();
        let mut s = Sanitizer::new().with_highlight(highlight);
        s.push(&input, &mut whole);
        s.finish(&mut whole);
        for cut in 0..=input.len() {
            let mut out = Vec::new();
            s.push(&input[..cut], &mut out);
            s.push(&input[cut..], &mut out);
            s.finish(&mut out);
            prop_assert_eq!(&out, &whole, "cut at {}", cut);
        }
        let mut out = Vec::new();
        for b in &input {
            s.push(std::slice::from_ref(b), &mut out);
        }
        s.finish(&mut out);
        prop_assert_eq!(&out, &whole, "byte at a time");
    }

    #[test]
    fn valid_visible_text_is_unchanged(text in "[ -~\n\té日本🦀]{0,80}") {
        prop_assert_eq!(sanitize_bytes(text.as_bytes()), text);
    }
}
