//! One structured log line per API call: method, path, status, resultCode, action, latency.
//! Never a body, a token or a credential.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// What a handler reports for the log line.
#[derive(Clone, Copy, Debug)]
pub struct CallInfo {
    pub result_code: &'static str,
    pub action: Option<&'static str>,
}

pub async fn log_call(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let info = response.extensions().get::<CallInfo>().copied();
    tracing::info!(
        target: "castellan::api",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        result_code = info.map(|i| i.result_code).unwrap_or("-"),
        action = info.and_then(|i| i.action).unwrap_or("-"),
        latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "api call"
    );
    response
}
