//! Request extractors whose rejections are API errors naming the offending field.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::domain::errors::ApiError;

/// A JSON body: `invalid_json` when it does not parse (or is not an object),
/// `validation_error` with the JSON path in `param` when a field is wrong.
pub struct JsonBody<T>(pub T);

/// Parses a JSON body the way every route does.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Fast path: a well-formed object decodes straight into `T` (no intermediate `Value`).
    // Anything else takes the slow path below, which names the offending field.
    let is_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_object && let Ok(v) = serde_json::from_slice::<T>(bytes) {
        return Ok(v);
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("The body is not valid JSON: {e}."),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "The body must be a JSON object.",
        ));
    }
    integral_floats_to_ints(&mut value);
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(value, &mut track);
    T::deserialize(de).map_err(|e| {
        let path = track.path().to_string();
        let msg = e.to_string();
        let mut param = if path == "." { String::new() } else { path };
        // serde reports unknown/missing fields at the parent; name the field itself.
        for marker in ["unknown field `", "missing field `"] {
            if let Some(rest) = msg.split(marker).nth(1)
                && let Some(field) = rest.split('`').next()
            {
                let already = param == field || param.ends_with(&format!(".{field}"));
                if !already {
                    param = if param.is_empty() {
                        field.to_string()
                    } else {
                        format!("{param}.{field}")
                    };
                }
            }
        }
        let param = if param.is_empty() {
            "body".to_string()
        } else {
            param
        };
        ApiError::validation(
            param.clone(),
            format!("Invalid value for `{param}`: {msg}."),
        )
    })
}

/// Rewrites numbers with a zero fraction (`4189.0`) as integers: JSON Schema counts them as
/// integers, so an integer field accepts them. Others (`1.5`, or out of the `i64` range) stay floats
/// and are refused by the field.
fn integral_floats_to_ints(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f >= i64::MIN as f64
                && f < i64::MAX as f64
            {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_floats_to_ints),
        Value::Object(o) => o.values_mut().for_each(integral_floats_to_ints),
        _ => {}
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE))?;
        let empty = bytes.iter().all(|b| b.is_ascii_whitespace());
        if !empty && !ct.is_empty() && !ct.starts_with("application/json") {
            return Err(ApiError::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        if empty {
            return parse_json(b"{}").map(JsonBody);
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// The smallest `limit` of a list.
pub const LIMIT_MIN: usize = 1;
/// The largest `limit` of a list.
pub const LIMIT_MAX: usize = 100;
/// The `limit` of a list that names none.
pub const LIMIT_DEFAULT: usize = 20;

/// Query parameters as a map; typed accessors give `validation_error` naming the parameter.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let map: HashMap<String, String> = serde_urlencoded::from_str(q)
            .map_err(|_| ApiError::validation("query", "The query string is malformed."))?;
        Ok(QueryMap(map))
    }
}

impl QueryMap {
    /// A string parameter.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|s| !s.is_empty())
    }
    /// `limit`, [`LIMIT_MIN`]–[`LIMIT_MAX`], default [`LIMIT_DEFAULT`].
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(LIMIT_DEFAULT),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (LIMIT_MIN..=LIMIT_MAX).contains(&n) => Ok(n),
                _ => Err(ApiError::validation(
                    "limit",
                    format!("`limit` must be an integer from {LIMIT_MIN} to {LIMIT_MAX}."),
                )),
            },
        }
    }
    /// `cursor`: an opaque position.
    pub fn cursor(&self) -> Result<Option<u64>, ApiError> {
        match self.get("cursor") {
            None => Ok(None),
            Some(s) => crate::http::pagination::decode_cursor(s).map(Some),
        }
    }
}
