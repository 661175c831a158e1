//! `/auth/token`, `/auth/token/issue` and `/auth/token/fail`.
//!
//! The engine calls, in order: [`begin`] (parameters, grant type, client identifier), then
//! [`authenticate`] with the client it loaded, then the grant's own function with whatever it
//! loaded for that grant (the code, the refresh token). Each returns either a finished reply or
//! the one write to perform.

mod client_auth;
mod grants;
mod issue;
mod lifetimes;

pub use client_auth::{AuthenticatedClient, authenticate};
pub use grants::{
    CodeGrant, RefreshGrant, authorization_code, client_credentials, code_param, code_replayed,
    password, refresh_param, refresh_token, refresh_token_replayed,
};
pub use issue::{FailCall, IssueCall, check_fail, check_issue, fail, issue};
pub use lifetimes::Lifetimes;

use crate::enums::{Action, GrantType};
use crate::envelope::error_json_envelope;
use crate::id_token::IdTokenSigning;
use crate::jwt_access_token;
use crate::model::{Property, Service};
use crate::params::{Params, Repeated};
use crate::records::TokenRecord;
use crate::response::token_json;
use crate::result_code::*;
use crate::secret::{Entropy, new_token};
use crate::store_ops::TokenWrite;
use crate::wire::{Envelope, TokenFields, TokenRequest, TokenResponse};

pub(crate) const KIND: &str = "tokenResponse";

/// An error reply of the token endpoint.
pub(crate) fn error_response(
    service: &Service,
    action: Action,
    error: &'static str,
    code: ResultCode,
    args: &[&dyn std::fmt::Display],
) -> TokenResponse {
    error_reply(service, KIND, action, error, code, args)
}

/// An error reply of one of the token APIs (`kind` names its DTO).
pub(crate) fn error_reply(
    service: &Service,
    kind: &'static str,
    action: Action,
    error: &'static str,
    code: ResultCode,
    args: &[&dyn std::fmt::Display],
) -> TokenResponse {
    TokenResponse {
        envelope: error_json_envelope(service, kind, action, error, code, args),
        fields: TokenFields::default(),
    }
}

pub(crate) fn bad_request(
    service: &Service,
    error: &'static str,
    code: ResultCode,
) -> Box<TokenResponse> {
    Box::new(error_response(
        service,
        Action::BadRequest,
        error,
        code,
        &[],
    ))
}

/// What [`begin`] found.
#[derive(Debug)]
pub struct Begun {
    pub params: Params,
    pub grant_type: GrantType,
    /// From the `Authorization` header (`clientId`) or the `client_id` parameter; empty when
    /// `client_id_missing`.
    pub client_identifier: String,
    /// No client identifier was given and the service allows inferring it from the code or
    /// refresh token (`missingClientIdAllowed`): the engine calls [`infer_client`].
    pub client_id_missing: bool,
    pub header_secret: Option<String>,
    pub properties: Vec<Property>,
    pub access_token_duration: i64,
    pub refresh_token_duration: i64,
}

pub fn begin(service: &Service, req: TokenRequest) -> Result<Begun, Box<TokenResponse>> {
    let Some(raw) = req.parameters else {
        return Err(Box::new(error_response(
            service,
            Action::InternalServerError,
            "server_error",
            A047201,
            &[],
        )));
    };
    let params = Params::parse(&raw);
    if params.is_empty() {
        return Err(bad_request(service, "invalid_request", A047301));
    }
    let grant_type = match params.single("grant_type") {
        Err(Repeated) => return Err(bad_request(service, "invalid_request", A049303)),
        Ok(None) => return Err(bad_request(service, "invalid_request", A049301)),
        Ok(Some("")) => return Err(bad_request(service, "invalid_request", A049302)),
        Ok(Some(g)) => match GrantType::from_protocol(g) {
            None => return Err(bad_request(service, "invalid_request", A049304)),
            Some(GrantType::Implicit) => {
                return Err(bad_request(service, "unsupported_grant_type", A049306));
            }
            Some(g) => g,
        },
    };
    if !service.supports_grant_type(grant_type)
        || !matches!(
            grant_type,
            GrantType::AuthorizationCode
                | GrantType::RefreshToken
                | GrantType::ClientCredentials
                | GrantType::Password
        )
    {
        return Err(Box::new(error_response(
            service,
            Action::BadRequest,
            "unsupported_grant_type",
            A049305,
            &[&grant_type.protocol()],
        )));
    }
    let body_client_id = match params.single("client_id") {
        Err(Repeated) => return Err(bad_request(service, "invalid_request", A048303)),
        Ok(Some("")) => return Err(bad_request(service, "invalid_request", A048302)),
        Ok(v) => v.map(str::to_owned),
    };
    let client_identifier = match (req.client_id, body_client_id) {
        (Some(h), Some(b)) if h != b => {
            return Err(bad_request(service, "invalid_request", A048312));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None)
            if service.missing_client_id_allowed
                && matches!(
                    grant_type,
                    GrantType::AuthorizationCode | GrantType::RefreshToken
                ) =>
        {
            String::new()
        }
        (None, None) => return Err(missing_client_id(service, grant_type)),
    };
    Ok(Begun {
        params,
        grant_type,
        client_id_missing: client_identifier.is_empty(),
        client_identifier,
        header_secret: req.client_secret,
        properties: req.properties.unwrap_or_default(),
        access_token_duration: req.access_token_duration.max(0),
        refresh_token_duration: req.refresh_token_duration.max(0),
    })
}

fn missing_client_id(service: &Service, grant_type: GrantType) -> Box<TokenResponse> {
    let code = match grant_type {
        GrantType::Password => A048301,
        GrantType::ClientCredentials => A048314,
        _ => A244305,
    };
    bad_request(service, "invalid_request", code)
}

/// Completes a request without a client identifier (`missingClientIdAllowed`) with the client
/// the presented code or refresh token was issued to (`None`: nothing found, so no client can
/// be named and the request fails as if the service did not allow it). Client authentication
/// then runs as usual, so only a client that needs no credentials (a public client) gets
/// through.
pub fn infer_client(
    service: &Service,
    begun: &mut Begun,
    issued_to: Option<i64>,
) -> Result<(), Box<TokenResponse>> {
    match issued_to {
        Some(client_id) => {
            begun.client_identifier = client_id.to_string();
            begun.client_id_missing = false;
            Ok(())
        }
        None => Err(missing_client_id(service, begun.grant_type)),
    }
}

/// A token decided on: the values handed out and the write that makes them real.
#[derive(Debug)]
pub struct Minted {
    /// The opaque value, which storage knows by its hash.
    pub access_token: String,
    /// The same token as a JWT, when the service issues JWT access tokens.
    pub jwt_access_token: Option<String>,
    pub refresh_token: Option<String>,
    /// Set by grants that issue an ID token beside the access token.
    pub id_token: Option<String>,
    pub record: TokenRecord,
}

/// Generates the token values for `record` (a refresh token only when `with_refresh`), and the
/// JWT form of the access token when the service asks for one (RFC 9068).
pub(crate) fn mint(
    service: &Service,
    record: TokenRecord,
    with_refresh: Option<String>,
    entropy: &mut dyn Entropy,
    signing: IdTokenSigning<'_>,
) -> Result<Minted, Box<TokenResponse>> {
    let access_token = new_token(entropy);
    let jwt_access_token = jwt_access_token::jwt_form(service, &access_token, &record, signing)
        .map_err(|_| {
            let (code, alg) = jwt_access_token::unsignable(service);
            Box::new(error_response(
                service,
                Action::InternalServerError,
                "server_error",
                code,
                &[&alg],
            ))
        })?;
    Ok(Minted {
        access_token,
        jwt_access_token,
        refresh_token: with_refresh,
        id_token: None,
        record,
    })
}

/// The `OK` reply for a minted token (`kind` names the DTO; `grant_type` is reported as given).
pub(crate) fn ok_response(
    service: &Service,
    kind: &'static str,
    client: &AuthenticatedClient,
    minted: &Minted,
    code: ResultCode,
    grant_type: Option<GrantType>,
    now: i64,
) -> TokenResponse {
    let r = &minted.record;
    let access_duration = (r.access_expires_at - now).max(0) / 1000;
    let mut content = token_json(
        minted
            .jwt_access_token
            .as_deref()
            .unwrap_or(&minted.access_token),
        minted.refresh_token.as_deref(),
        &r.scopes,
        service.token_type(),
        access_duration,
        minted.id_token.as_deref(),
    );
    append_visible_properties(&mut content, &r.properties);
    let envelope: Envelope = crate::envelope::envelope(kind, Action::Ok, code, &[], Some(content));
    let fields = TokenFields {
        access_token: Some(minted.access_token.clone()),
        jwt_access_token: minted.jwt_access_token.clone(),
        access_token_expires_at: r.access_expires_at,
        access_token_duration: access_duration,
        refresh_token: minted.refresh_token.clone(),
        id_token: minted.id_token.clone(),
        refresh_token_expires_at: if minted.refresh_token.is_some() {
            r.refresh_expires_at
        } else {
            0
        },
        refresh_token_duration: if minted.refresh_token.is_some() {
            (r.refresh_expires_at - now).max(0) / 1000
        } else {
            0
        },
        grant_type,
        client_id: r.client_id,
        client_id_alias: client.client.client_id_alias.clone(),
        client_id_alias_used: r.client_id_alias_used,
        subject: r.subject.clone(),
        scopes: if r.scopes.is_empty() {
            None
        } else {
            Some(r.scopes.clone())
        },
        properties: if r.properties.is_empty() {
            None
        } else {
            Some(r.properties.clone())
        },
        client_auth_method: Some(client.method),
        ..TokenFields::default()
    };
    TokenResponse { envelope, fields }
}

/// Adds non-hidden extra properties as top-level members of the token JSON (hidden ones are for
/// the resource server only). Standard member names are never overwritten.
fn append_visible_properties(content: &mut String, properties: &[Property]) {
    const RESERVED: &[&str] = &[
        "access_token",
        "refresh_token",
        "scope",
        "token_type",
        "expires_in",
        "id_token",
    ];
    let visible: Vec<&Property> = properties
        .iter()
        .filter(|p| {
            !p.hidden
                && p.key
                    .as_deref()
                    .is_some_and(|k| !k.is_empty() && !RESERVED.contains(&k))
        })
        .collect();
    if visible.is_empty() {
        return;
    }
    if let Ok(serde_json::Value::Object(mut map)) =
        serde_json::from_str::<serde_json::Value>(content)
    {
        for p in visible {
            if let Some(key) = &p.key {
                map.insert(
                    key.clone(),
                    serde_json::Value::from(p.value.clone().unwrap_or_default()),
                );
            }
        }
        *content = serde_json::Value::Object(map).to_string();
    }
}

/// The outcome of a grant: a finished reply, or a reply that holds only once the write commits.
#[derive(Debug)]
pub enum GrantOutcome {
    Reply(Box<TokenResponse>),
    Write {
        response: Box<TokenResponse>,
        write: Box<TokenWrite>,
    },
    /// A replayed code or refresh token: reply, and revoke every token of the grant.
    RevokeGrant {
        response: Box<TokenResponse>,
        grant_id: String,
    },
}
