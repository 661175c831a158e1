//! The HTTP layer: routing, caller authentication, body parsing, error mapping and the
//! per-call log line. No protocol logic lives here: handlers extract, call the engine and wrap
//! the result.

mod body;
mod caller;
mod error;
mod log;
mod manage;
mod metadata;
mod protocol;
pub mod server;
mod service_keys;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};
use castellan_engine::Engine;

pub use error::ApiError;

/// Largest request body accepted (protocol requests are small; a service document is the
/// largest thing a caller sends).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub type AppState = Arc<Engine>;

pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/api/auth/authorization", post(protocol::authorization))
        .route(
            "/api/auth/authorization/issue",
            post(protocol::authorization_issue),
        )
        .route(
            "/api/auth/authorization/fail",
            post(protocol::authorization_fail),
        )
        .route("/api/auth/token", post(protocol::token))
        .route("/api/auth/token/issue", post(protocol::token_issue))
        .route("/api/auth/token/fail", post(protocol::token_fail))
        .route("/api/auth/introspection", post(protocol::introspection))
        .route(
            "/api/auth/introspection/standard",
            post(protocol::standard_introspection),
        )
        .route("/api/auth/revocation", post(protocol::revocation))
        .route("/api/auth/userinfo", post(protocol::userinfo))
        .route("/api/auth/userinfo/issue", post(protocol::userinfo_issue))
        .route("/api/service/create", post(manage::create_service))
        .route("/api/service/get/list", get(manage::list_services))
        .route("/api/service/get/{api_key}", get(manage::get_service))
        .route(
            "/api/service/update/{api_key}",
            post(manage::update_service),
        )
        .route(
            "/api/service/delete/{api_key}",
            delete(manage::delete_service),
        )
        .route("/api/service/jwks/get", get(metadata::jwks))
        .route("/api/service/keys/get/{api_key}", get(service_keys::list))
        .route("/api/service/keys/add/{api_key}", post(service_keys::add))
        .route(
            "/api/service/keys/activate/{api_key}",
            post(service_keys::activate),
        )
        .route(
            "/api/service/keys/delete/{api_key}",
            post(service_keys::remove),
        )
        .route(
            "/api/service/configuration",
            get(metadata::configuration_get).post(metadata::configuration_post),
        )
        .route("/api/client/create", post(manage::create_client))
        .route("/api/client/get/list", get(manage::list_clients))
        .route("/api/client/get/{client_id}", get(manage::get_client))
        .route(
            "/api/client/update/{client_id}",
            post(manage::update_client),
        )
        .route(
            "/api/client/lock_flag/update/{client_id}",
            post(manage::update_client_lock_flag),
        )
        .route(
            "/api/client/delete/{client_id}",
            delete(manage::delete_client),
        )
        .route(
            "/api/client/secret/refresh/{client_id}",
            get(manage::refresh_client_secret),
        )
        .route(
            "/api/client/secret/update/{client_id}",
            post(manage::update_client_secret),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(log::log_call))
        .with_state(engine)
}

/// Ready when the database answers: 503 while it does not, so a load balancer sends calls to
/// other nodes; it recovers by itself when the database does.
async fn readyz(
    axum::extract::State(engine): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    match engine.store().ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database does not answer",
            )
        }
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(uri.path(), format!("No API at {}.", uri.path()))
}
