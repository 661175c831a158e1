//! `/auth/authorization/issue` and `/auth/authorization/fail`: finish an authorization request
//! whose ticket `/auth/authorization` handed out.
//!
//! Each is two steps around the store: [`check_issue`] / [`check_fail`] validate the call
//! before the ticket is consumed (a malformed call must not burn it), then [`issue`] / [`fail`]
//! decide from the ticket that was taken.

use crate::enums::{Action, AuthorizationFailReason, GrantType};
use crate::envelope::{envelope, error_json_envelope};
use crate::id_token::{self, IdTokenContent, IdTokenSigning};
use crate::jwt_access_token;
use crate::model::{Client, Property, Service};
use crate::records::{
    AUTHORIZATION_CODE_LIFETIME_MS, AuthorizationCode, AuthorizationTicket, Millis, TokenRecord,
};
use crate::redirect::RedirectTarget;
use crate::response::OAuthError;
use crate::result_code::*;
use crate::secret::{Entropy, new_grant_id, new_token};
use crate::token::Lifetimes;
use crate::wire::{
    AuthorizationFailRequest, AuthorizationIssueRequest, AuthorizationIssueResponse, Envelope,
    EnvelopeOnly,
};

const ISSUE_KIND: &str = "authorizationIssueResponse";
const FAIL_KIND: &str = "authorizationFailResponse";

/// Longest `subject` accepted (OpenID Connect Core §2: `sub` is at most 255 ASCII characters).
pub const MAX_SUBJECT_LEN: usize = 255;
/// Longest `acr` accepted.
pub const MAX_ACR_LEN: usize = 255;

/// An error JSON reply in an envelope.
fn error_envelope(
    service: &Service,
    kind: &'static str,
    action: Action,
    code: ResultCode,
    args: &[&dyn std::fmt::Display],
) -> Envelope {
    let error = match action {
        Action::InternalServerError => "server_error",
        _ => "invalid_request",
    };
    error_json_envelope(service, kind, action, error, code, args)
}

/// A validated `/auth/authorization/issue` call.
#[derive(Clone, Debug)]
pub struct IssueCall {
    pub ticket: String,
    pub subject: String,
    pub auth_time: i64,
    pub acr: Option<String>,
    pub claims: Option<String>,
    pub properties: Vec<Property>,
    pub scopes: Option<Vec<String>>,
    pub access_token_duration: i64,
}

pub fn check_issue(
    service: &Service,
    req: AuthorizationIssueRequest,
) -> Result<IssueCall, Box<AuthorizationIssueResponse>> {
    let reject = |code: ResultCode, args: &[&dyn std::fmt::Display]| {
        Box::new(AuthorizationIssueResponse::bare(error_envelope(
            service,
            ISSUE_KIND,
            Action::InternalServerError,
            code,
            args,
        )))
    };
    let Some(ticket) = req.ticket else {
        return Err(reject(A041201, &[]));
    };
    let Some(subject) = req.subject else {
        return Err(reject(A042201, &[]));
    };
    if subject.len() > MAX_SUBJECT_LEN {
        return Err(reject(A042202, &[&MAX_SUBJECT_LEN]));
    }
    if !subject.is_ascii() {
        return Err(reject(A042203, &[]));
    }
    if req.acr.as_ref().is_some_and(|a| a.len() > MAX_ACR_LEN) {
        return Err(reject(A043201, &[&MAX_ACR_LEN]));
    }
    if let Some(claims) = &req.claims
        && !matches!(
            serde_json::from_str::<serde_json::Value>(claims),
            Ok(serde_json::Value::Object(_))
        )
    {
        return Err(reject(A044201, &[]));
    }
    Ok(IssueCall {
        ticket,
        subject,
        auth_time: req.auth_time.max(0),
        acr: req.acr,
        claims: req.claims,
        properties: req.properties.unwrap_or_default(),
        scopes: req.scopes,
        access_token_duration: req.access_token_duration.max(0),
    })
}

/// The decision, and the code and access token to store when they were issued.
#[derive(Debug)]
pub struct IssueDecision {
    pub response: AuthorizationIssueResponse,
    pub code: Option<NewCode>,
    pub token: Option<NewToken>,
}

/// An access token issued by the authorization endpoint (implicit and hybrid flows).
#[derive(Debug)]
pub struct NewToken {
    pub value: String,
    /// The JWT form, when the service issues JWT access tokens.
    pub jwt: Option<String>,
    pub record: TokenRecord,
}

#[derive(Debug)]
pub struct NewCode {
    pub value: String,
    pub record: AuthorizationCode,
}

/// Checks the ticket (None: unknown or already used) and issues what its response type asks
/// for: a code, an access token, an ID token. `client` is the ticket's client (None when it was
/// deleted meanwhile).
pub fn issue(
    service: &Service,
    call: IssueCall,
    ticket: Option<AuthorizationTicket>,
    client: Option<&Client>,
    signing: IdTokenSigning<'_>,
    now: Millis,
    entropy: &mut dyn Entropy,
) -> IssueDecision {
    let reply = |env: Envelope| IssueDecision {
        response: AuthorizationIssueResponse::bare(env),
        code: None,
        token: None,
    };
    let Some(ticket) = ticket else {
        return reply(error_envelope(
            service,
            ISSUE_KIND,
            Action::BadRequest,
            A041202,
            &[&call.ticket],
        ));
    };
    if ticket.service_api_key != service.api_key {
        return reply(error_envelope(
            service,
            ISSUE_KIND,
            Action::InternalServerError,
            A041203,
            &[],
        ));
    }
    if ticket.expires_at <= now {
        return reply(error_envelope(
            service,
            ISSUE_KIND,
            Action::BadRequest,
            A041301,
            &[],
        ));
    }
    let target = RedirectTarget {
        redirect_uri: ticket.redirect_uri.clone(),
        response_mode: ticket.response_mode,
        state: ticket.state.clone(),
    };

    // Tokens are made to the client's settings; it may have been deleted since the request.
    if client.is_none() && (ticket.response_type.has_token() || ticket.response_type.has_id_token())
    {
        return reply(error_envelope(
            service,
            ISSUE_KIND,
            Action::InternalServerError,
            A045303,
            &[&ticket.client_id],
        ));
    }
    let scopes = call.scopes.clone().unwrap_or(ticket.scopes.clone());
    let userinfo_claims = claims_member(ticket.claims.as_deref(), "userinfo");
    let grant_id = new_grant_id(now, entropy);
    let mut body = Vec::new();
    let mut code = None;
    if ticket.response_type.has_code() {
        let value = new_token(entropy);
        let record = AuthorizationCode {
            service_api_key: service.api_key,
            client_id: ticket.client_id,
            client_id_alias_used: ticket.client_id_alias_used,
            subject: call.subject.clone(),
            scopes: scopes.clone(),
            redirect_uri: ticket
                .redirect_uri_given
                .then(|| ticket.redirect_uri.clone()),
            code_challenge: ticket.code_challenge.clone(),
            code_challenge_method: ticket.code_challenge_method,
            auth_time: call.auth_time,
            acr: call.acr.clone(),
            nonce: ticket.nonce.clone(),
            userinfo_claims: userinfo_claims.clone(),
            claims: call.claims.clone(),
            properties: call.properties.clone(),
            grant_id: grant_id.clone(),
            access_token_duration: call.access_token_duration,
            created_at: now,
            expires_at: now + AUTHORIZATION_CODE_LIFETIME_MS,
        };
        body.push(("code", value.clone()));
        code = Some(NewCode { value, record });
    }
    let mut token = None;
    if let (true, Some(client)) = (ticket.response_type.has_token(), client) {
        // Implicit (RFC 6749 §4.2.2): an access token, never a refresh token.
        let lifetimes = Lifetimes::compute(service, client, &scopes, call.access_token_duration, 0);
        let record = TokenRecord {
            service_api_key: service.api_key,
            client_id: ticket.client_id,
            client_id_alias_used: ticket.client_id_alias_used,
            subject: Some(call.subject.clone()),
            scopes: scopes.clone(),
            grant_type: GrantType::Implicit,
            grant_id: grant_id.clone(),
            access_expires_at: crate::records::expires_at(now, lifetimes.access),
            refresh_expires_at: 0,
            properties: call.properties.clone(),
            auth_time: call.auth_time,
            acr: call.acr.clone(),
            userinfo_claims: userinfo_claims.clone(),
            created_at: now,
            last_refreshed_at: 0,
        };
        let value = new_token(entropy);
        let jwt = match jwt_access_token::jwt_form(service, &value, &record, signing) {
            Ok(jwt) => jwt,
            Err(_) => {
                let (code, alg) = jwt_access_token::unsignable(service);
                return reply(error_envelope(
                    service,
                    ISSUE_KIND,
                    Action::InternalServerError,
                    code,
                    &[&alg],
                ));
            }
        };
        body.push(("access_token", jwt.clone().unwrap_or_else(|| value.clone())));
        body.push(("token_type", service.token_type().to_owned()));
        body.push(("expires_in", lifetimes.access.to_string()));
        body.push(("scope", scopes.join(" ")));
        token = Some(NewToken { value, jwt, record });
    }
    let mut id_token = None;
    if let (true, Some(client)) = (ticket.response_type.has_id_token(), client) {
        let content = IdTokenContent {
            subject: &call.subject,
            audience: id_token::audience(client, ticket.client_id_alias_used),
            nonce: ticket.nonce.as_deref(),
            auth_time: call.auth_time,
            acr: call.acr.as_deref(),
            claims: call.claims.as_deref(),
            // The value the client receives, so its at_hash checks out.
            access_token: token.as_ref().map(|t| t.jwt.as_deref().unwrap_or(&t.value)),
            code: code.as_ref().map(|c| c.value.as_str()),
            state: ticket.state.as_deref(),
            now,
        };
        match id_token::issue(service, client, &content, signing) {
            Ok(jwt) => {
                body.push(("id_token", jwt.clone()));
                id_token = Some(jwt);
            }
            Err(e) => {
                return reply(error_envelope(
                    service,
                    ISSUE_KIND,
                    Action::InternalServerError,
                    e.code,
                    &e.args(),
                ));
            }
        }
    }
    let (action, content) = target.success(service, body);
    let mut response =
        AuthorizationIssueResponse::bare(envelope(ISSUE_KIND, action, A040001, &[], Some(content)));
    response.authorization_code = code.as_ref().map(|c| c.value.clone());
    if let Some(t) = &token {
        response.access_token = Some(t.value.clone());
        response.jwt_access_token = t.jwt.clone();
        response.access_token_expires_at = t.record.access_expires_at;
        response.access_token_duration = (t.record.access_expires_at - now) / 1000;
    }
    response.id_token = id_token;
    IssueDecision {
        response,
        code,
        token,
    }
}

/// One member (`id_token` or `userinfo`) of a `claims` request parameter, as JSON text.
fn claims_member(claims: Option<&str>, member: &str) -> Option<String> {
    let parsed: serde_json::Value = serde_json::from_str(claims?).ok()?;
    parsed
        .get(member)
        .filter(|v| v.is_object())
        .map(|v| v.to_string())
}

/// A validated `/auth/authorization/fail` call.
#[derive(Debug)]
pub struct FailCall {
    pub ticket: String,
    pub reason: AuthorizationFailReason,
    pub description: Option<String>,
}

pub fn check_fail(
    service: &Service,
    req: AuthorizationFailRequest,
) -> Result<FailCall, Box<EnvelopeOnly>> {
    let reject = |code: ResultCode| {
        Box::new(EnvelopeOnly {
            envelope: error_envelope(service, FAIL_KIND, Action::InternalServerError, code, &[]),
        })
    };
    let Some(ticket) = req.ticket else {
        return Err(reject(A059201));
    };
    let Some(reason) = req.reason else {
        return Err(reject(A060201));
    };
    Ok(FailCall {
        ticket,
        reason,
        description: req.description,
    })
}

/// The OAuth error and result code for each `reason`.
pub fn fail_reason_error(reason: AuthorizationFailReason) -> (&'static str, ResultCode) {
    use AuthorizationFailReason as R;
    match reason {
        R::Unknown => ("server_error", A060307),
        R::NotLoggedIn => ("login_required", A060301),
        R::MaxAgeNotSupported => ("login_required", A060302),
        R::ExceedsMaxAge => ("login_required", A060303),
        R::DifferentSubject => ("login_required", A060304),
        R::AcrNotSatisfied => ("unmet_authentication_requirements", A060305),
        R::Denied => ("access_denied", A060306),
        R::ServerError => ("server_error", A060308),
        R::NotAuthenticated => ("login_required", A060309),
        R::AccountSelectionRequired => ("account_selection_required", A060310),
        R::ConsentRequired => ("consent_required", A060311),
        R::InteractionRequired => ("interaction_required", A060312),
        R::InvalidTarget => ("invalid_target", A060313),
        // Not in the 2.x catalogue: the nearest code, with the right OAuth error.
        R::InvalidScope => ("invalid_scope", A060307),
        R::UnauthorizedClient => ("unauthorized_client", A060307),
        R::TemporarilyUnavailable => ("temporarily_unavailable", A060308),
    }
}

pub fn fail(
    service: &Service,
    call: FailCall,
    ticket: Option<AuthorizationTicket>,
    now: Millis,
) -> EnvelopeOnly {
    let Some(ticket) = ticket else {
        return EnvelopeOnly {
            envelope: error_envelope(service, FAIL_KIND, Action::BadRequest, A059202, &[]),
        };
    };
    if ticket.service_api_key != service.api_key {
        return EnvelopeOnly {
            envelope: error_envelope(
                service,
                FAIL_KIND,
                Action::InternalServerError,
                A059203,
                &[],
            ),
        };
    }
    if ticket.expires_at <= now {
        return EnvelopeOnly {
            envelope: error_envelope(service, FAIL_KIND, Action::BadRequest, A059301, &[]),
        };
    }
    let target = RedirectTarget {
        redirect_uri: ticket.redirect_uri,
        response_mode: ticket.response_mode,
        state: ticket.state,
    };
    let (error, code) = fail_reason_error(call.reason);
    let mut err = OAuthError::new(error, code, &[]);
    err.description_override = call.description.filter(|d| !d.is_empty());
    EnvelopeOnly {
        envelope: target.error_envelope(service, FAIL_KIND, err),
    }
}
