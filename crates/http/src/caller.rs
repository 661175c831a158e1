//! Who is calling: HTTP Basic credentials of a service or of a service owner.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use castellan_core::model::Service;
use castellan_core::result_code::{A002201, A002205, A003201, A003204, ResultCode};
use castellan_engine::{AuthFailure, Engine};
use castellan_store::OwnerRecord;

use crate::error::api_path;
use crate::{ApiError, AppState};

/// `Authorization: Basic base64(key:secret)`, split at the first colon.
fn basic_credentials(path: &str, headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::missing_credentials(path));
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::malformed_credentials(path, "(not ASCII)"))?;
    let encoded = match text.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => rest.trim(),
        _ => return Err(ApiError::malformed_credentials(path, text)),
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::malformed_credentials(path, text))?;
    match decoded.split_once(':') {
        Some((key, secret)) => Ok((key.to_owned(), secret.to_owned())),
        None => Err(ApiError::malformed_credentials(path, text)),
    }
}

/// 401 with the result code for an unknown API key or a wrong secret.
fn refused(
    path: &str,
    failure: AuthFailure,
    unknown: ResultCode,
    mismatch: ResultCode,
) -> ApiError {
    let p = api_path(path);
    match failure {
        AuthFailure::Unknown => {
            ApiError::new(StatusCode::UNAUTHORIZED, unknown, unknown.message(&[&p]))
        }
        AuthFailure::Mismatch(key) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            mismatch,
            mismatch.message(&[&p, &key]),
        ),
    }
}

pub async fn service(
    engine: &Engine,
    path: &str,
    headers: &HeaderMap,
) -> Result<Arc<Service>, ApiError> {
    let (key, secret) = basic_credentials(path, headers)?;
    let outcome = engine
        .authenticate_service(&key, &secret)
        .await
        .map_err(|e| ApiError::internal(path, e))?;
    outcome.map_err(|failure| refused(path, failure, A003201, A003204))
}

pub async fn owner(
    engine: &Engine,
    path: &str,
    headers: &HeaderMap,
) -> Result<OwnerRecord, ApiError> {
    let (key, secret) = basic_credentials(path, headers)?;
    let outcome = engine
        .authenticate_owner(&key, &secret)
        .await
        .map_err(|e| ApiError::internal(path, e))?;
    outcome.map_err(|failure| refused(path, failure, A002201, A002205))
}

/// The calling service, authenticated, as a handler argument.
pub struct ServiceCaller(pub Arc<Service>);

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, engine: &AppState) -> Result<Self, ApiError> {
        service(engine, parts.uri.path(), &parts.headers)
            .await
            .map(ServiceCaller)
    }
}

/// The calling service owner, authenticated, as a handler argument.
pub struct OwnerCaller(pub OwnerRecord);

impl FromRequestParts<AppState> for OwnerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, engine: &AppState) -> Result<Self, ApiError> {
        owner(engine, parts.uri.path(), &parts.headers)
            .await
            .map(OwnerCaller)
    }
}
