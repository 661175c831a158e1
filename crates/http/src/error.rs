//! Replies that are not protocol outcomes: authentication failures, malformed bodies, missing
//! resources and internal faults. Their body is `{"resultCode","resultMessage"}` only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use castellan_core::result_code::{A000201, A001101, A001202, A001203, ResultCode};
use serde_json::json;

use crate::log::CallInfo;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ResultCode,
    pub message: String,
}

/// The API path as Authlete's messages quote it: without the `/api` prefix.
pub fn api_path(path: &str) -> &str {
    path.strip_prefix("/api").unwrap_or(path)
}

impl ApiError {
    pub fn new(status: StatusCode, code: ResultCode, message: String) -> Self {
        Self {
            status,
            code,
            message,
        }
    }

    pub fn missing_credentials(path: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            A001202,
            A001202.message(&[&api_path(path)]),
        )
    }

    pub fn malformed_credentials(path: &str, header: &str) -> Self {
        let shown: String = header.chars().take(64).collect();
        Self::new(
            StatusCode::UNAUTHORIZED,
            A001203,
            A001203.message(&[&api_path(path), &shown]),
        )
    }

    /// A request the server cannot read (bad JSON, wrong types, oversized body).
    pub fn bad_request(path: &str, detail: impl std::fmt::Display) -> Self {
        let _ = path;
        Self::new(
            StatusCode::BAD_REQUEST,
            A000201,
            A000201.message(&[&detail]),
        )
    }

    pub fn not_found(path: &str, detail: impl std::fmt::Display) -> Self {
        let _ = path;
        Self::new(StatusCode::NOT_FOUND, A000201, A000201.message(&[&detail]))
    }

    pub fn conflict(detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::CONFLICT, A000201, A000201.message(&[&detail]))
    }

    /// An internal fault: logged with its cause, answered without it.
    pub fn internal(path: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(path, %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            A001101,
            A001101.message(&[&api_path(path)]),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "resultCode": self.code.code, "resultMessage": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        response.extensions_mut().insert(CallInfo {
            result_code: self.code.code,
            action: None,
        });
        response
    }
}
