//! `POST /oauth2/token` and `POST /oauth2/revoke` (docs/protocol.md, "Authentication").

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use crate::config::Misbehaviour;
use crate::handlers::Query;
use crate::http::{ApiError, ErrorShape, PoweredBy, json_reply, meta};
use crate::state::{Emulator, TokenRec};

fn oauth_error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError::new(status, status.as_u16() as u32, message)
        .shape(ErrorShape::MetaOnly)
        .by(PoweredBy::Oauth)
}

/// Credentials from an `Authorization: Basic` header, if any.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

pub async fn token(State(emu): State<Arc<Emulator>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Query::parse(std::str::from_utf8(&body).ok());
    {
        let mut inner = emu.lock();
        inner.token_requests += 1;
        if emu.config.redirect_first_token && inner.token_requests == 1 {
            // The region redirect a token request to the wrong cloud may get (docs/protocol.md,
            // "Clouds and region discovery").
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            let mut r = StatusCode::PERMANENT_REDIRECT.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("http://{host}/oauth2/token")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
    }
    let (id, secret) = match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) if !id.is_empty() => (id.to_string(), secret.to_string()),
        _ => match basic_auth(&headers) {
            Some(pair) => pair,
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "Failed to generate access token for clientID=: client_id and client_secret are required",
                )
                .into_response();
            }
        },
    };
    let Some(cred) = emu
        .credentials
        .iter()
        .find(|c| c.client_id == id && c.client_secret == secret)
    else {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "Failed to issue access token - Client authentication failed.",
        )
        .into_response();
    };
    let cid = match form.get("member_cid").filter(|m| !m.is_empty()) {
        None => emu.world.cid.clone(),
        Some(m) => {
            let m = m.to_ascii_lowercase();
            let m = m.split('-').next().unwrap_or_default().to_string();
            if !emu.world.child_cids.contains(&m) {
                return oauth_error(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Failed to issue access token - member_cid {m} is not a child of this CID"
                    ),
                )
                .into_response();
            }
            m
        }
    };
    let lifetime = emu.config.token_lifetime;
    let access_token = {
        let mut inner = emu.lock();
        let token = format!(
            "eyJhbGciOiJSUzI1NiIsImtpZCI6InB1YmxpYzplbXVsYXRvciIsInR5cCI6IkpXVCJ9.{}{}.{}",
            inner.rng.hex32(),
            inner.rng.hex32(),
            inner.rng.hex32()
        );
        inner.tokens.insert(
            token.clone(),
            TokenRec {
                client_id: cred.client_id.clone(),
                cid,
                scopes: cred.scopes.as_slice().into(),
                expires: Instant::now() + lifetime,
                revoked: false,
            },
        );
        inner.stats.tokens_issued += 1;
        token
    };
    json_reply(
        StatusCode::CREATED,
        &json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": if emu.config.misbehaves(Misbehaviour::AbsurdNumbers) {
                u64::MAX
            } else {
                lifetime.as_secs().saturating_sub(1).max(1)
            },
        }),
    )
}

pub async fn revoke(State(emu): State<Arc<Emulator>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Query::parse(std::str::from_utf8(&body).ok());
    let Some(token) = form.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "token is required").into_response();
    };
    if let Some((id, secret)) = basic_auth(&headers)
        && !emu
            .credentials
            .iter()
            .any(|c| c.client_id == id && c.client_secret == secret)
    {
        return oauth_error(StatusCode::FORBIDDEN, "access denied, authorization failed")
            .into_response();
    }
    {
        let mut inner = emu.lock();
        if let Some(t) = inner.tokens.get_mut(token) {
            t.revoked = true;
            inner.stats.tokens_revoked += 1;
        }
    }
    json_reply(
        StatusCode::OK,
        &json!({ "meta": meta(PoweredBy::Oauth), "errors": [] }),
    )
}
