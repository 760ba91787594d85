//! The envelope every Falcon reply shares, and the error replies.
//!
//! Each request runs inside a task-local [`Ctx`] set by the gateway middleware, so any handler
//! or error conversion can build `meta` (`trace_id` equal to the `X-CS-TRACEID` header,
//! `query_time`, `powered_by`) without threading it through every function.

use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::InvalidUtf8;

/// Per-request facts, available to every handler through [`ctx`].
#[derive(Clone, Debug)]
pub struct Ctx {
    pub trace_id: String,
    pub start: Instant,
}

tokio::task_local! {
    static CTX: Ctx;
}

/// Runs `fut` with `ctx` as the current request context.
pub async fn scope<F: Future>(ctx: Ctx, fut: F) -> F::Output {
    CTX.scope(ctx, fut).await
}

/// The current request's context (a fresh one outside a request, e.g. in unit tests).
pub fn ctx() -> Ctx {
    CTX.try_with(Clone::clone).unwrap_or_else(|_| Ctx {
        trace_id: uuid::Uuid::nil().to_string(),
        start: Instant::now(),
    })
}

/// Which backend answers: RTR, OAuth2, devices, or the API gateway itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoweredBy {
    Rtr,
    Oauth,
    Devices,
    Gateway,
}

impl PoweredBy {
    pub fn as_str(self) -> &'static str {
        match self {
            PoweredBy::Rtr => "empower-api",
            PoweredBy::Oauth => "csam",
            PoweredBy::Devices => "device-api",
            PoweredBy::Gateway => "crowdstrike-api-gateway",
        }
    }
}

/// `msa.MetaInfo` for the current request.
pub fn meta(by: PoweredBy) -> Value {
    let c = ctx();
    json!({
        "query_time": c.start.elapsed().as_secs_f64(),
        "powered_by": by.as_str(),
        "trace_id": c.trace_id,
    })
}

/// `msa.MetaInfo` with `pagination`.
pub fn meta_paged(by: PoweredBy, offset: u64, limit: u64, total: u64) -> Value {
    let mut m = meta(by);
    m["pagination"] = json!({ "offset": offset, "limit": limit, "total": total });
    m
}

/// A JSON reply with the given status.
pub fn json_reply(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    raw_json_reply(status, bytes)
}

/// A reply whose JSON body is already serialised.
pub fn raw_json_reply(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The usual `{meta, resources, errors: []}` wrapper.
pub fn ok(status: StatusCode, by: PoweredBy, resources: Value) -> Response {
    json_reply(
        status,
        &json!({ "meta": meta(by), "resources": resources, "errors": [] }),
    )
}

/// One page of a query's ids: `{meta, resources, errors: []}` with `meta.pagination`.
pub fn ok_paged(by: PoweredBy, offset: usize, limit: usize, total: usize, ids: Value) -> Response {
    json_reply(
        StatusCode::OK,
        &json!({
            "meta": meta_paged(by, offset as u64, limit as u64, total as u64),
            "resources": ids,
            "errors": [],
        }),
    )
}

/// Which error body the real API sends for this kind of failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorShape {
    /// `domain.APIError` in a form that satisfies both the 2023 envelope and the 2026 flat
    /// `{code, message}` schema: `{meta, errors, resources: [], code, message}` (docs/protocol.md,
    /// "Response envelopes").
    ApiError,
    /// `msa.ReplyMetaOnly` / `msa.ErrorsOnly`: `{meta, errors}` (401, 403, 429, OAuth2).
    MetaOnly,
}

/// An error reply. `code` is the API's code in `errors[].code` (the HTTP status or a finer RTR
/// code such as 40401).
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    pub shape: ErrorShape,
    pub by: PoweredBy,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            shape: ErrorShape::ApiError,
            by: PoweredBy::Rtr,
        }
    }

    /// A 400 with `code` 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, 400, message)
    }

    /// A 404 with `code` 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, 404, message)
    }

    /// An error the API gateway answers itself (rate limits, authentication, unknown routes):
    /// `{meta, errors}` with the HTTP status as `code`.
    pub fn gateway(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::new(status, u32::from(status.as_u16()), message)
            .shape(ErrorShape::MetaOnly)
            .by(PoweredBy::Gateway)
    }

    /// An RTR error code mapped to its HTTP status (40002 → 400, 40401 → 404, 50007 → 500).
    pub fn rtr(code: u32, message: impl Into<String>) -> Self {
        let status = StatusCode::from_u16((code / 100) as u16).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, code, message)
    }

    pub fn shape(mut self, shape: ErrorShape) -> Self {
        self.shape = shape;
        self
    }

    pub fn by(mut self, by: PoweredBy) -> Self {
        self.by = by;
        self
    }

    pub fn body(&self) -> Value {
        let errors = json!([{ "code": self.code, "message": self.message }]);
        match self.shape {
            ErrorShape::ApiError => json!({
                "meta": meta(self.by),
                "errors": errors,
                "resources": [],
                "code": self.code,
                "message": self.message,
            }),
            ErrorShape::MetaOnly => json!({ "meta": meta(self.by), "errors": errors }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_reply(self.status, &self.body())
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

/// Appends `bytes` to `out` as a JSON string literal (with quotes). Control characters and
/// quotes are escaped; invalid UTF-8 is replaced or copied raw according to `mode`.
///
/// Each maximal invalid sequence (as `utf8_chunks` splits them) is one replacement.
/// Runs of bytes that need no escape are copied in bulk.
pub fn write_json_bytes(out: &mut Vec<u8>, bytes: &[u8], mode: InvalidUtf8) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => {
                write_json_str_body(out, rest);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                write_json_str_body(out, valid);
                // `None`: the input ends inside a sequence; all that is left is the invalid part.
                let n = e.error_len().unwrap_or(after.len());
                let (invalid, tail) = after.split_at(n);
                match mode {
                    InvalidUtf8::Replace => out.extend_from_slice("\u{fffd}".as_bytes()),
                    InvalidUtf8::Raw => out.extend_from_slice(invalid),
                }
                rest = tail;
            }
        }
    }
    out.push(b'"');
}

/// Whether a byte of valid UTF-8 text must be escaped in a JSON string: quote, backslash,
/// C0 controls and DEL.
const fn needs_escape(b: u8) -> bool {
    matches!(b, b'"' | b'\\' | 0x00..=0x1f | 0x7f)
}

/// Whether any of the 8 bytes in `w` (little-endian) needs [`needs_escape`]. May not say which;
/// never misses one.
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte is zero (after the xor) or below 0x20: the classic "has zero/less byte" tests. A
    // borrow can only flag bytes above one that is really flagged, so a clean word is never
    // flagged.
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    below_space
        || has_zero(w ^ (ONES * b'"' as u64))
        || has_zero(w ^ (ONES * b'\\' as u64))
        || has_zero(w ^ (ONES * 0x7f))
}

/// Escapes valid UTF-8 `s` (without quotes) onto `out`.
fn write_json_str_body(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut last = 0;
    let mut i = 0;
    while i < s.len() {
        // Skip whole clean words at a time; a flagged word (or the tail) goes byte by byte.
        let end = match s.get(i..i + 8) {
            Some(w) => {
                let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
                if !word_needs_escape(w) {
                    i += 8;
                    continue;
                }
                i + 8
            }
            None => s.len(),
        };
        while i < end {
            let b = s[i];
            i += 1;
            if !needs_escape(b) {
                continue;
            }
            out.extend_from_slice(&s[last..i - 1]);
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                _ => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
            }
            last = i;
        }
    }
    out.extend_from_slice(&s[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(b: &[u8], m: InvalidUtf8) -> Vec<u8> {
        let mut v = Vec::new();
        write_json_bytes(&mut v, b, m);
        v
    }

    #[test]
    fn escapes_like_serde_for_valid_text() {
        let s = "a\"b\\c\n\r\t\x1b[31m\x07 ünï ✓ \x7f";
        let ours = enc(s.as_bytes(), InvalidUtf8::Replace);
        let back: String = serde_json::from_slice(&ours).expect("valid json");
        assert_eq!(back, s);
    }

    #[test]
    fn invalid_utf8_is_replaced_or_raw() {
        let b = b"ok\xff\xfe end";
        let replaced: String =
            serde_json::from_slice(&enc(b, InvalidUtf8::Replace)).expect("valid json");
        assert_eq!(replaced, "ok\u{fffd}\u{fffd} end");
        let raw = enc(b, InvalidUtf8::Raw);
        assert!(raw.windows(2).any(|w| w == b"\xff\xfe"));
        assert!(serde_json::from_slice::<String>(&raw).is_err());
    }

    /// The previous, byte-at-a-time encoder: `write_json_bytes` must match it byte for byte.
    fn reference(bytes: &[u8], mode: InvalidUtf8) -> Vec<u8> {
        fn body(out: &mut Vec<u8>, s: &str) {
            let mut last = 0;
            for (i, b) in s.bytes().enumerate() {
                let esc: Option<&[u8]> = match b {
                    b'"' => Some(b"\\\""),
                    b'\\' => Some(b"\\\\"),
                    b'\n' => Some(b"\\n"),
                    b'\r' => Some(b"\\r"),
                    b'\t' => Some(b"\\t"),
                    0x00..=0x1f | 0x7f => None,
                    _ => continue,
                };
                out.extend_from_slice(&s.as_bytes()[last..i]);
                match esc {
                    Some(e) => out.extend_from_slice(e),
                    None => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                }
                last = i + 1;
            }
            out.extend_from_slice(&s.as_bytes()[last..]);
        }
        let mut out = vec![b'"'];
        for chunk in bytes.utf8_chunks() {
            body(&mut out, chunk.valid());
            let invalid = chunk.invalid();
            if !invalid.is_empty() {
                match mode {
                    InvalidUtf8::Replace => out.extend_from_slice("\u{fffd}".as_bytes()),
                    InvalidUtf8::Raw => out.extend_from_slice(invalid),
                }
            }
        }
        out.push(b'"');
        out
    }

    /// Bytes that exercise every path: escapes, controls, DEL, multi-byte characters, truncated
    /// and overlong sequences, surrogates, stray continuation bytes.
    fn hostile_bytes() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => proptest::collection::vec(0x20u8..0x7f, 0..24),
            2 => proptest::collection::vec(any::<u8>(), 0..12),
            1 => proptest::sample::select(vec![
                b"\"".to_vec(), b"\\".to_vec(), b"\n".to_vec(), b"\r\n".to_vec(),
                b"\t".to_vec(), b"\x00".to_vec(), b"\x1b[31m".to_vec(), b"\x7f".to_vec(),
                "é".as_bytes().to_vec(), "✓".as_bytes().to_vec(), "😀".as_bytes().to_vec(),
                b"\xe2\x82".to_vec(), b"\xf0\x9f\x98".to_vec(), b"\xc0\xaf".to_vec(),
                b"\xed\xa0\x80".to_vec(), b"\x80".to_vec(), b"\xff\xfe".to_vec(),
                b"\xf4\x90\x80\x80".to_vec(),
            ]),
        ];
        proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2000, ..proptest::prelude::ProptestConfig::default()
        })]
        #[test]
        fn write_json_bytes_matches_reference(bytes in hostile_bytes()) {
            for mode in [InvalidUtf8::Replace, InvalidUtf8::Raw] {
                proptest::prop_assert_eq!(enc(&bytes, mode), reference(&bytes, mode));
            }
        }
    }

    #[test]
    fn write_json_bytes_every_byte_and_pair() {
        for mode in [InvalidUtf8::Replace, InvalidUtf8::Raw] {
            for a in 0..=255u8 {
                for b in 0..=255u8 {
                    // Inside and across the 8-byte words the fast path skips.
                    let mut v = b"abcdefg".to_vec();
                    v.extend_from_slice(&[a, b]);
                    v.extend_from_slice(b"hijklmnopq");
                    assert_eq!(enc(&v, mode), reference(&v, mode), "{v:?}");
                }
            }
        }
    }

    #[test]
    fn rtr_codes_map_to_http_status() {
        assert_eq!(ApiError::rtr(40401, "x").status, StatusCode::NOT_FOUND);
        assert_eq!(ApiError::rtr(40002, "x").status, StatusCode::BAD_REQUEST);
        assert_eq!(
            ApiError::rtr(50007, "x").status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let body = ApiError::bad_request("nope").body();
        assert_eq!(body["errors"][0]["code"], 400);
        assert_eq!(body["code"], 400);
        assert_eq!(body["message"], "nope");
    }
}
