//! `/auth/token/issue` and `/auth/token/fail`: finish a password-grant request after the
//! authorization server checked the resource owner's credentials.

use crate::enums::{Action, GrantType, TokenFailReason};
use crate::id_token::IdTokenSigning;
use crate::model::{Client, Property, Service};
use crate::records::{Millis, TokenRecord, TokenTicket};
use crate::result_code::*;
use crate::secret::{Entropy, new_grant_id, new_token};
use crate::store_ops::TokenWrite;
use crate::wire::{TokenFailRequest, TokenIssueRequest, TokenResponse};

use super::{AuthenticatedClient, GrantOutcome, Lifetimes, error_reply, mint, ok_response};

const ISSUE_KIND: &str = "tokenIssueResponse";
const FAIL_KIND: &str = "tokenFailResponse";
use crate::authorization_issue::MAX_SUBJECT_LEN;

fn server_error(
    service: &Service,
    code: ResultCode,
    args: &[&dyn std::fmt::Display],
) -> Box<TokenResponse> {
    Box::new(error_reply(
        service,
        ISSUE_KIND,
        Action::InternalServerError,
        "server_error",
        code,
        args,
    ))
}

#[derive(Debug)]
pub struct IssueCall {
    pub ticket: String,
    pub subject: String,
    pub properties: Vec<Property>,
    pub access_token_duration: i64,
    pub refresh_token_duration: i64,
}

pub fn check_issue(
    service: &Service,
    req: TokenIssueRequest,
) -> Result<IssueCall, Box<TokenResponse>> {
    let Some(ticket) = req.ticket else {
        return Err(server_error(service, A055201, &[]));
    };
    let Some(subject) = req.subject else {
        return Err(server_error(service, A111201, &[]));
    };
    if subject.len() > MAX_SUBJECT_LEN {
        return Err(server_error(
            service,
            A111202,
            &[&subject.len(), &MAX_SUBJECT_LEN],
        ));
    }
    if !subject.is_ascii() {
        return Err(server_error(service, A111203, &[]));
    }
    Ok(IssueCall {
        ticket,
        subject,
        properties: req.properties.unwrap_or_default(),
        access_token_duration: req.access_token_duration.max(0),
        refresh_token_duration: req.refresh_token_duration.max(0),
    })
}

/// Issues the token for a taken ticket. `client` is the ticket's client (None: deleted since).
pub fn issue(
    service: &Service,
    call: IssueCall,
    ticket: Option<TokenTicket>,
    client: Option<Client>,
    now: Millis,
    entropy: &mut dyn Entropy,
    signing: IdTokenSigning<'_>,
) -> GrantOutcome {
    let Some(ticket) = ticket else {
        return GrantOutcome::Reply(server_error(service, A055202, &[]));
    };
    if ticket.service_api_key != service.api_key {
        return GrantOutcome::Reply(server_error(service, A055203, &[]));
    }
    if ticket.expires_at <= now {
        return GrantOutcome::Reply(server_error(service, A055301, &[]));
    }
    let Some(client) = client else {
        return GrantOutcome::Reply(server_error(service, A061103, &[]));
    };
    let client = AuthenticatedClient {
        method: client.token_auth_method(),
        client,
        alias_used: ticket.client_id_alias_used,
    };
    let with_refresh = service.supports_grant_type(GrantType::RefreshToken)
        && client.client.declares_grant_type(GrantType::RefreshToken);
    let lifetimes = Lifetimes::compute(
        service,
        &client.client,
        &ticket.scopes,
        call.access_token_duration,
        call.refresh_token_duration,
    );
    let mut properties = ticket.properties;
    properties.extend(call.properties);
    let record = TokenRecord {
        service_api_key: service.api_key,
        client_id: client.client.client_id,
        client_id_alias_used: ticket.client_id_alias_used,
        subject: Some(call.subject),
        scopes: ticket.scopes,
        grant_type: GrantType::Password,
        grant_id: new_grant_id(now, entropy),
        access_expires_at: crate::records::expires_at(now, lifetimes.access),
        refresh_expires_at: if with_refresh {
            crate::records::expires_at(now, lifetimes.refresh)
        } else {
            0
        },
        properties,
        auth_time: 0,
        acr: None,
        userinfo_claims: None,
        created_at: now,
        last_refreshed_at: 0,
    };
    let refresh = with_refresh.then(|| new_token(entropy));
    let minted = match mint(service, record, refresh, entropy, signing) {
        Ok(m) => m,
        Err(r) => return GrantOutcome::Reply(r),
    };
    let mut response = ok_response(service, ISSUE_KIND, &client, &minted, A054001, None, now);
    // `/auth/token/issue` authenticates no client: there is no method to report.
    response.fields.client_auth_method = None;
    let exclusive =
        service.single_access_token_per_subject || client.client.single_access_token_per_subject;
    let write = TokenWrite::Insert {
        access: minted.access_token,
        refresh: minted.refresh_token,
        record: minted.record,
        exclusive,
    };
    GrantOutcome::Write {
        response: Box::new(response),
        write: Box::new(write),
    }
}

#[derive(Debug)]
pub struct FailCall {
    pub ticket: String,
    pub reason: TokenFailReason,
}

pub fn check_fail(
    service: &Service,
    req: TokenFailRequest,
) -> Result<FailCall, Box<TokenResponse>> {
    let fail_error = |code| {
        Box::new(error_reply(
            service,
            FAIL_KIND,
            Action::InternalServerError,
            "server_error",
            code,
            &[],
        ))
    };
    let Some(ticket) = req.ticket else {
        return Err(fail_error(A063201));
    };
    let Some(reason) = req.reason else {
        return Err(fail_error(A067201));
    };
    Ok(FailCall { ticket, reason })
}

pub fn fail(
    service: &Service,
    call: FailCall,
    ticket: Option<TokenTicket>,
    now: Millis,
) -> TokenResponse {
    let reply = |action, error, code| error_reply(service, FAIL_KIND, action, error, code, &[]);
    let Some(ticket) = ticket else {
        return reply(Action::InternalServerError, "server_error", A063202);
    };
    if ticket.service_api_key != service.api_key {
        return reply(Action::InternalServerError, "server_error", A063203);
    }
    if ticket.expires_at <= now {
        return reply(Action::InternalServerError, "server_error", A063301);
    }
    let (error, code) = match call.reason {
        TokenFailReason::InvalidResourceOwnerCredentials => ("invalid_request", A067301),
        TokenFailReason::InvalidTarget => ("invalid_target", A067303),
        TokenFailReason::Unknown => ("server_error", A067302),
        // 3.0-era reasons: the right OAuth error with the generic code.
        TokenFailReason::InvalidClient => ("invalid_client", A067302),
        TokenFailReason::UnauthorizedClient => ("unauthorized_client", A067302),
        TokenFailReason::InvalidScope => ("invalid_scope", A067302),
    };
    reply(Action::BadRequest, error, code)
}
