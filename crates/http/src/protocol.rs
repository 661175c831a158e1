//! Handlers of the protocol APIs. Every action-bearing reply is HTTP 200.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use castellan_core::wire::Envelope;
use serde::Serialize;

use crate::log::CallInfo;
use crate::{ApiError, AppState, body, caller};

/// A protocol reply: the DTO as JSON, with its result code and action for the log line.
fn reply<T: Serialize>(envelope: &Envelope, dto: &T) -> Response {
    let info = CallInfo {
        result_code: envelope.result_code,
        action: Some(envelope.action.wire_name()),
    };
    let mut response = axum::Json(dto).into_response();
    response.extensions_mut().insert(info);
    response
}

macro_rules! protocol_handler {
    ($name:ident, $request:ty, $method:ident, |$r:ident| $envelope:expr) => {
        pub async fn $name(
            State(engine): State<AppState>,
            uri: Uri,
            headers: HeaderMap,
            request: Body,
        ) -> Result<Response, ApiError> {
            let path = uri.path();
            let service = caller::service(&engine, path, &headers).await?;
            let req: $request = body::read(path, &headers, request).await?;
            let $r = engine
                .$method(&service, req)
                .await
                .map_err(|e| ApiError::internal(path, e))?;
            Ok(reply($envelope, &$r))
        }
    };
}

protocol_handler!(
    authorization,
    castellan_core::wire::AuthorizationRequest,
    authorization,
    |r| &r.envelope
);
protocol_handler!(
    authorization_issue,
    castellan_core::wire::AuthorizationIssueRequest,
    authorization_issue,
    |r| &r.envelope
);
protocol_handler!(
    authorization_fail,
    castellan_core::wire::AuthorizationFailRequest,
    authorization_fail,
    |r| &r.envelope
);
protocol_handler!(token, castellan_core::wire::TokenRequest, token, |r| &r
    .envelope);
protocol_handler!(
    token_issue,
    castellan_core::wire::TokenIssueRequest,
    token_issue,
    |r| &r.envelope
);
protocol_handler!(
    token_fail,
    castellan_core::wire::TokenFailRequest,
    token_fail,
    |r| &r.envelope
);
protocol_handler!(
    introspection,
    castellan_core::wire::IntrospectionRequest,
    introspection,
    |r| &r.envelope
);
protocol_handler!(
    standard_introspection,
    castellan_core::wire::StandardIntrospectionRequest,
    standard_introspection,
    |r| &r.envelope
);
protocol_handler!(
    revocation,
    castellan_core::wire::RevocationRequest,
    revocation,
    |r| &r.envelope
);
