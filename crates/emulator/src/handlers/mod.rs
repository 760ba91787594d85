//! Route handlers, one file per API area, and the request-parsing helpers they share.
//!
//! Parsing is lenient where real servers are (fields the spec calls required but real clients
//! never send are accepted) and every such deviation is recorded as a spec violation in the
//! stats, so tests can hold rtrsh itself to the letter of the spec.

pub mod auth;
pub mod batch;
pub mod commands;
pub mod devices;
pub mod files;
pub mod introspect;
pub mod library;
pub mod sessions;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::rejection::ExtensionRejection;
use axum::extract::{Extension, FromRequestParts};
use axum::http::request::Parts;
use bytes::Bytes;
use serde_json::Value;

use crate::fql;
use crate::http::ApiError;
use crate::state::{Caller, Emulator};

/// What most API handlers start from: the emulator, the caller the gateway authenticated, and
/// the query string.
pub struct Call {
    pub emu: Arc<Emulator>,
    pub caller: Caller,
    pub q: Query,
}

impl FromRequestParts<Arc<Emulator>> for Call {
    type Rejection = ExtensionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        emu: &Arc<Emulator>,
    ) -> Result<Self, Self::Rejection> {
        // Taken rather than cloned: the gateway put it there for this extractor alone.
        let caller = match parts.extensions.remove::<Caller>() {
            Some(c) => c,
            None => Extension::<Caller>::from_request_parts(parts, emu).await?.0,
        };
        Ok(Call {
            emu: emu.clone(),
            caller,
            q: Query::parse(parts.uri.query()),
        })
    }
}

/// Decoded query string, keeping repeated keys (`ids=a&ids=b`).
#[derive(Clone, Debug, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a repeated key; a single value with commas is split too (some clients
    /// send `ids=a,b`).
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|s| !s.is_empty()))
            .map(str::to_string)
            .collect()
    }

    /// A required string parameter.
    pub fn required(&self, key: &str) -> Result<&str, ApiError> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::bad_request(format!(
                "{key} is a required parameter"
            ))),
        }
    }

    /// `limit` (1 to 5000, 100 when absent) and `offset` (0 when absent) of an offset-paged
    /// query, in that order.
    pub fn paging(&self) -> Result<(usize, usize), ApiError> {
        let limit = self.int("limit", 1, 5000)?.unwrap_or(100) as usize;
        let offset = match self.get("offset") {
            None | Some("") => 0,
            Some(v) => v.parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!("offset must be a number, got {v:?}"))
            })?,
        };
        Ok((limit, offset))
    }

    /// An optional integer parameter within `min..=max`.
    pub fn int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                Ok(n) => Err(ApiError::bad_request(format!(
                    "{key} must be between {min} and {max}, got {n}"
                ))),
                Err(_) => Err(ApiError::bad_request(format!(
                    "{key} must be an integer, got {v:?}"
                ))),
            },
        }
    }
}

/// The query string as an extractor (what `RawQuery` carries, decoded).
impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query::parse(parts.uri.query()))
    }
}

/// An FQL filter, or the 400 the API answers for one it cannot parse.
pub fn parse_filter(text: &str) -> Result<fql::Filter, ApiError> {
    fql::parse(text).map_err(|e| ApiError::bad_request(format!("Invalid filter: {e}")))
}

/// A JSON request body, with helpers that check field types and record spec deviations.
pub struct Body<'a> {
    pub value: Value,
    emu: &'a Emulator,
    method: &'static str,
    path: &'static str,
}

/// The JSON types a field can be required to have.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Str,
    Bool,
    Int,
    StrArray,
}

impl<'a> Body<'a> {
    /// Parses a JSON object body; malformed JSON or a non-object is a 400.
    pub fn parse(
        emu: &'a Emulator,
        method: &'static str,
        path: &'static str,
        bytes: &Bytes,
    ) -> Result<Body<'a>, ApiError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::bad_request(format!("Invalid JSON in request body: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::bad_request("Request body must be a JSON object"));
        }
        Ok(Body {
            value,
            emu,
            method,
            path,
        })
    }

    fn violation(&self, problem: String) {
        self.emu
            .lock()
            .stats
            .violation(self.method, self.path, problem);
    }

    /// Checks a field's type. `spec_required`: the spec marks it required (missing = a recorded
    /// violation, as real clients omit it). `server_needs`: the server cannot work without it
    /// (missing = 400). A present field of the wrong type is always a 400.
    pub fn field(
        &self,
        name: &str,
        kind: Kind,
        spec_required: bool,
        server_needs: bool,
    ) -> Result<Option<&Value>, ApiError> {
        match self.value.get(name) {
            None | Some(Value::Null) => {
                if server_needs {
                    return Err(ApiError::bad_request(format!("{name} is required")));
                }
                if spec_required {
                    self.violation(format!("required field `{name}` missing from body"));
                }
                Ok(None)
            }
            Some(v) => {
                let ok = match kind {
                    Kind::Str => v.is_string(),
                    Kind::Bool => v.is_boolean(),
                    Kind::Int => v.is_i64() || v.is_u64(),
                    Kind::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                };
                if ok {
                    Ok(Some(v))
                } else {
                    let want = match kind {
                        Kind::Str => "a string",
                        Kind::Bool => "a boolean",
                        Kind::Int => "an integer",
                        Kind::StrArray => "an array of strings",
                    };
                    Err(ApiError::bad_request(format!("{name} must be {want}")))
                }
            }
        }
    }

    pub fn str(
        &self,
        name: &str,
        spec_required: bool,
        server_needs: bool,
    ) -> Result<Option<String>, ApiError> {
        Ok(self
            .field(name, Kind::Str, spec_required, server_needs)?
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    pub fn bool(&self, name: &str, spec_required: bool) -> Result<bool, ApiError> {
        Ok(self
            .field(name, Kind::Bool, spec_required, false)?
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }

    pub fn strings(
        &self,
        name: &str,
        spec_required: bool,
        server_needs: bool,
    ) -> Result<Option<Vec<String>>, ApiError> {
        Ok(self
            .field(name, Kind::StrArray, spec_required, server_needs)?
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            }))
    }
}

/// The `ids` of a `POST` body `{"ids": [...]}` (required).
pub fn body_ids(
    emu: &Emulator,
    path: &'static str,
    bytes: &Bytes,
) -> Result<Vec<String>, ApiError> {
    Ok(Body::parse(emu, "POST", path, bytes)?
        .strings("ids", true, true)?
        .unwrap_or_default())
}

/// RFC 3339 with seconds (`2026-11-22T10:15:03Z`).
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// RFC 3339 with nanoseconds, as session init reports `created_at`.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

/// The Go zero time, which the real API sends for "not deleted" (docs/protocol.md, "Files").
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Reads `timeout` (seconds) and `timeout_duration` (a Go duration such as `30s`, `2m`) and
/// returns the effective request timeout. When both are given, `timeout_duration` wins (it is the
/// more precise of the two; the real API does not document this). Range: 1 s to 600 s.
pub fn request_timeout(
    q: &Query,
    emu: &Emulator,
    path: &'static str,
) -> Result<Duration, ApiError> {
    let from_int = q
        .int("timeout", 1, 600)?
        .map(|s| Duration::from_secs(s as u64));
    let from_duration = match q.get("timeout_duration") {
        None | Some("") => None,
        Some(v) => Some(parse_go_duration(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "timeout_duration {v:?} is not a valid duration such as 30s or 2m"
            ))
        })?),
    };
    if let Some(d) = from_duration
        && !(Duration::from_secs(1)..=Duration::from_secs(600)).contains(&d)
    {
        return Err(ApiError::bad_request(
            "timeout_duration must be between 1s and 10m",
        ));
    }
    if from_duration.is_some() && from_int.is_some() {
        // Not a violation: Caracara sends both. Worth knowing when reading stats, though.
        let _ = (emu, path);
    }
    Ok(from_duration
        .or(from_int)
        .unwrap_or(Duration::from_secs(30)))
}

/// Parses a Go duration string (`300ms`, `1m30s`, `2h`, `1.5s`).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_go_duration("tiny bit less than overall request timeout"),
            None
        );
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn query_keeps_repeats_and_splits_commas() {
        let q = Query::parse(Some("ids=a&ids=b,c&limit=5"));
        assert_eq!(q.all("ids"), vec!["a", "b", "c"]);
        assert_eq!(q.int("limit", 1, 10).expect("in range"), Some(5));
        assert!(q.int("limit", 6, 10).is_err());
    }
}
