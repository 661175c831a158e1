//! `/auth/authorization/issue` and `/auth/authorization/fail`: finish an authorization request
//! whose ticket `/auth/authorization` handed out.
//!
//! Each is two steps around the store: [`check_issue`] / [`check_fail`] validate the call
//! before the ticket is consumed (a malformed call must not burn it), then [`issue`] / [`fail`]
//! decide from the ticket that was taken.

use crate::enums::{Action, AuthorizationFailReason};
use crate::envelope::{envelope, error_json_envelope};
use crate::model::{Property, Service};
use crate::records::{
    AUTHORIZATION_CODE_LIFETIME_MS, AuthorizationCode, AuthorizationTicket, Millis,
};
use crate::redirect::RedirectTarget;
use crate::response::OAuthError;
use crate::result_code::*;
use crate::secret::{Entropy, new_grant_id, new_token};
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

/// The decision, and the code to store when one was issued.
#[derive(Debug)]
pub struct IssueDecision {
    pub response: AuthorizationIssueResponse,
    pub code: Option<NewCode>,
}

#[derive(Debug)]
pub struct NewCode {
    pub value: String,
    pub record: AuthorizationCode,
}

/// Checks the taken ticket (None: unknown or already used) and issues the response.
pub fn issue(
    service: &Service,
    call: IssueCall,
    ticket: Option<AuthorizationTicket>,
    now: Millis,
    entropy: &mut dyn Entropy,
) -> IssueDecision {
    let reply = |env: Envelope| IssueDecision {
        response: AuthorizationIssueResponse::bare(env),
        code: None,
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

    let mut body = Vec::new();
    let mut code = None;
    if ticket.response_type.has_code() {
        let value = new_token(entropy);
        let record = AuthorizationCode {
            service_api_key: service.api_key,
            client_id: ticket.client_id,
            client_id_alias_used: ticket.client_id_alias_used,
            subject: call.subject,
            scopes: call.scopes.unwrap_or(ticket.scopes),
            redirect_uri: ticket.redirect_uri_given.then_some(ticket.redirect_uri),
            code_challenge: ticket.code_challenge,
            code_challenge_method: ticket.code_challenge_method,
            auth_time: call.auth_time,
            acr: call.acr,
            nonce: ticket.nonce,
            userinfo_claims: claims_member(ticket.claims.as_deref(), "userinfo"),
            claims: call.claims,
            properties: call.properties,
            grant_id: new_grant_id(now, entropy),
            access_token_duration: call.access_token_duration,
            created_at: now,
            expires_at: now + AUTHORIZATION_CODE_LIFETIME_MS,
        };
        body.push(("code", value.clone()));
        code = Some(NewCode { value, record });
    }
    let (action, content) = target.success(service, body);
    let mut response =
        AuthorizationIssueResponse::bare(envelope(ISSUE_KIND, action, A040001, &[], Some(content)));
    response.authorization_code = code.as_ref().map(|c| c.value.clone());
    IssueDecision { response, code }
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
