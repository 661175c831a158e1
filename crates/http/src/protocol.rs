//! Handlers of the protocol APIs. Every action-bearing reply is HTTP 200.

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use castellan_core::wire::{
    AuthorizationFailRequest, AuthorizationIssueRequest, AuthorizationRequest, Envelope,
    IntrospectionRequest, RevocationRequest, StandardIntrospectionRequest, TokenFailRequest,
    TokenIssueRequest, TokenRequest, UserInfoIssueRequest, UserInfoRequest,
};
use serde::Serialize;

use crate::body::ApiBody;
use crate::caller::ServiceCaller;
use crate::log::CallInfo;
use crate::{ApiError, AppState};

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
    ($name:ident, $request:ty, $method:ident) => {
        pub async fn $name(
            State(engine): State<AppState>,
            uri: Uri,
            ServiceCaller(service): ServiceCaller,
            ApiBody(req): ApiBody<$request>,
        ) -> Result<Response, ApiError> {
            let r = engine
                .$method(&service, req)
                .await
                .map_err(|e| ApiError::internal(uri.path(), e))?;
            Ok(reply(&r.envelope, &r))
        }
    };
}

protocol_handler!(authorization, AuthorizationRequest, authorization);
protocol_handler!(
    authorization_issue,
    AuthorizationIssueRequest,
    authorization_issue
);
protocol_handler!(
    authorization_fail,
    AuthorizationFailRequest,
    authorization_fail
);
protocol_handler!(token, TokenRequest, token);
protocol_handler!(token_issue, TokenIssueRequest, token_issue);
protocol_handler!(token_fail, TokenFailRequest, token_fail);
protocol_handler!(introspection, IntrospectionRequest, introspection);
protocol_handler!(
    standard_introspection,
    StandardIntrospectionRequest,
    standard_introspection
);
protocol_handler!(revocation, RevocationRequest, revocation);
protocol_handler!(userinfo, UserInfoRequest, userinfo);
protocol_handler!(userinfo_issue, UserInfoIssueRequest, userinfo_issue);
