//! `/api/service/jwks/get` and `/api/service/configuration` (service credentials): the JWK Set
//! and the discovery document the authorization server serves. Their bodies are the documents
//! themselves, not result envelopes.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use castellan_core::discovery::JwksPublication;
use serde::Deserialize;
use serde_json::Value;

use crate::body::ApiBody;
use crate::caller::ServiceCaller;
use crate::{ApiError, AppState};

/// A query or body flag: `true`, `True` (what Python's SDK sends), `1`, or a JSON boolean.
fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn json_document(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwksQuery {
    pretty: Option<Value>,
    include_private_keys: Option<Value>,
}

pub async fn jwks(
    State(engine): State<AppState>,
    ServiceCaller(service): ServiceCaller,
    Query(q): Query<JwksQuery>,
) -> Response {
    let pretty = flag(q.pretty.as_ref());
    let private = flag(q.include_private_keys.as_ref());
    match engine.service_jwks(&service, pretty, private) {
        JwksPublication::Keys(text) => json_document(text),
        JwksPublication::Elsewhere(uri) => {
            (StatusCode::FOUND, [(header::LOCATION, uri)]).into_response()
        }
        JwksPublication::Nothing => StatusCode::NO_CONTENT.into_response(),
    }
}

/// `pretty` and `patch` (an RFC 6902 JSON Patch as text), from the query or the body.
#[derive(Debug, Default, Deserialize)]
pub struct ConfigurationRequest {
    pretty: Option<Value>,
    patch: Option<String>,
}

async fn configuration(
    engine: &AppState,
    path: &str,
    service: &castellan_core::model::Service,
    req: ConfigurationRequest,
) -> Result<Response, ApiError> {
    engine
        .service_configuration(service, flag(req.pretty.as_ref()), req.patch.as_deref())
        .map(json_document)
        .map_err(|e| ApiError::bad_request(path, e.0))
}

pub async fn configuration_get(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    Query(req): Query<ConfigurationRequest>,
) -> Result<Response, ApiError> {
    configuration(&engine, uri.path(), &service, req).await
}

pub async fn configuration_post(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    ApiBody(req): ApiBody<ConfigurationRequest>,
) -> Result<Response, ApiError> {
    configuration(&engine, uri.path(), &service, req).await
}
