//! Request bodies: JSON (what the SDKs send) or `application/x-www-form-urlencoded`, into the
//! same request types.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{ApiError, MAX_BODY_BYTES};

pub async fn read<T: DeserializeOwned>(
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    // A declared length over the limit is refused before waiting for any of it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(ApiError::bad_request(
            path,
            format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::bad_request(
                path,
                format!("The request body is larger than {MAX_BODY_BYTES} bytes or unreadable."),
            )
        })?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let value = if is_form {
        let mut map = Map::new();
        for (k, v) in form_urlencoded::parse(&bytes) {
            map.insert(k.into_owned(), Value::from(v.into_owned()));
        }
        Value::Object(map)
    } else if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice::<Value>(&bytes).map_err(|e| {
            ApiError::bad_request(path, format!("The request body is not valid JSON: {e}"))
        })?
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            path,
            "The request body must be a JSON object.",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(path, format!("The request body has a wrong value: {e}"))
    })
}

/// A JSON or form request body as a handler argument (see [`read`]).
pub struct ApiBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        read(parts.uri.path(), &parts.headers, body)
            .await
            .map(ApiBody)
    }
}
