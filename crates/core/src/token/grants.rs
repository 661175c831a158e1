//! The four grant types of this release: authorization_code, refresh_token,
//! client_credentials and password.

use crate::authorization::{effective_scopes, is_valid_pkce_value};
use crate::enums::{Action, CodeChallengeMethod, GrantType};
use crate::envelope::envelope;
use crate::id_token::{self, IdTokenContent, IdTokenSigning};
use crate::model::Service;
use crate::params::{ListTooLong, MAX_LIST_VALUE_LEN, MAX_LIST_VALUES, Repeated, split_list};
use crate::records::{
    AuthorizationCode, Millis, TOKEN_TICKET_LIFETIME_MS, TokenRecord, TokenTicket,
};
use crate::result_code::*;
use crate::secret::{Entropy, ct_eq, new_grant_id, new_token, s256};
use crate::store_ops::TokenWrite;
use crate::wire::{TokenFields, TokenResponse};

use super::{
    AuthenticatedClient, Begun, GrantOutcome, KIND, Lifetimes, Minted, bad_request, error_response,
    mint, ok_response,
};

type Reject = Box<TokenResponse>;

/// A required, single, non-empty parameter.
fn required_param<'a>(
    service: &Service,
    begun: &'a Begun,
    name: &str,
    missing: ResultCode,
    empty: ResultCode,
    repeated: ResultCode,
) -> Result<&'a str, Reject> {
    match begun.params.single(name) {
        Err(Repeated) => Err(bad_request(service, "invalid_request", repeated)),
        Ok(None) => Err(bad_request(service, "invalid_request", missing)),
        Ok(Some("")) => Err(bad_request(service, "invalid_request", empty)),
        Ok(Some(v)) => Ok(v),
    }
}

/// The scopes a grant without a code or refresh token gets: those the `scope` parameter asks
/// for (or the defaults) that the service and client allow; refused when the parameter is
/// repeated, or when nothing is left and the service requires a scope.
fn requested_scopes(
    service: &Service,
    begun: &Begun,
    client: &AuthenticatedClient,
    repeated: ResultCode,
    none_left: ResultCode,
) -> Result<Vec<String>, Reject> {
    let requested = match begun.params.single("scope") {
        Err(Repeated) => return Err(bad_request(service, "invalid_request", repeated)),
        Ok(None) => None,
        Ok(Some(raw)) => Some(scope_list(service, raw)?),
    };
    let scopes = effective_scopes(service, &client.client, requested.as_deref());
    if scopes.is_empty() && service.scope_required {
        return Err(bad_request(service, "invalid_scope", none_left));
    }
    Ok(scopes)
}

/// The `scope` parameter's values, refused when over the list caps.
fn scope_list(service: &Service, raw: &str) -> Result<Vec<String>, Reject> {
    split_list(raw).map_err(|ListTooLong| {
        Box::new(error_response(
            service,
            Action::BadRequest,
            "invalid_request",
            C000301,
            &[&"scope", &MAX_LIST_VALUES, &MAX_LIST_VALUE_LEN],
        ))
    })
}

fn issues_refresh_token(service: &Service, client: &AuthenticatedClient) -> bool {
    service.supports_grant_type(GrantType::RefreshToken)
        && client.client.declares_grant_type(GrantType::RefreshToken)
}

fn grant_success_code(grant: GrantType) -> ResultCode {
    match grant {
        GrantType::AuthorizationCode => A050001,
        GrantType::ClientCredentials => A052001,
        GrantType::RefreshToken => A053001,
        _ => A054001,
    }
}

fn ok(
    service: &Service,
    client: &AuthenticatedClient,
    minted: &Minted,
    grant: GrantType,
    now: Millis,
) -> Box<TokenResponse> {
    Box::new(ok_response(
        service,
        KIND,
        client,
        minted,
        grant_success_code(grant),
        Some(grant),
        now,
    ))
}

/// The grant functions use `Err` for early replies so `?` can short-circuit; both sides are
/// outcomes.
fn settle(result: Result<GrantOutcome, GrantOutcome>) -> GrantOutcome {
    result.unwrap_or_else(|outcome| outcome)
}

// ----- authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5) ---------------------------------

/// The `code` parameter, to look the code up by.
pub fn code_param<'a>(service: &Service, begun: &'a Begun) -> Result<&'a str, Reject> {
    required_param(service, begun, "code", A050301, A050302, A050303)
}

/// A stored authorization code, as the engine found it.
#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub code: AuthorizationCode,
    pub used: bool,
}

/// The reply to a code that was already redeemed (the engine also revokes its grant).
pub fn code_replayed(service: &Service) -> TokenResponse {
    error_response(service, Action::BadRequest, "invalid_grant", A050305, &[])
}

pub fn authorization_code(
    service: &Service,
    begun: &Begun,
    client: &AuthenticatedClient,
    found: Option<CodeGrant>,
    now: Millis,
    entropy: &mut dyn Entropy,
    signing: IdTokenSigning<'_>,
) -> GrantOutcome {
    settle(authorization_code_inner(
        service, begun, client, found, now, entropy, signing,
    ))
}

fn authorization_code_inner(
    service: &Service,
    begun: &Begun,
    client: &AuthenticatedClient,
    found: Option<CodeGrant>,
    now: Millis,
    entropy: &mut dyn Entropy,
    signing: IdTokenSigning<'_>,
) -> Result<GrantOutcome, GrantOutcome> {
    let reply = |r: Reject| GrantOutcome::Reply(r);
    let code_value = code_param(service, begun).map_err(reply)?.to_owned();
    let redirect_uri = match begun.params.single("redirect_uri") {
        Err(Repeated) => return Err(reply(bad_request(service, "invalid_request", A050304))),
        Ok(v) => v.filter(|v| !v.is_empty()),
    };
    let verifier = match begun.params.single("code_verifier") {
        Err(Repeated) => return Err(reply(bad_request(service, "invalid_request", A050314))),
        Ok(Some("")) => return Err(reply(bad_request(service, "invalid_request", A050313))),
        Ok(v) => v,
    };
    // Another service's code is answered as an unknown one: nothing about it is confirmed.
    let Some(found) = found.filter(|f| f.code.service_api_key == service.api_key) else {
        return Err(reply(bad_request(service, "invalid_grant", A050305)));
    };
    let code = found.code;
    if code.client_id != client.client.client_id {
        return Err(reply(bad_request(service, "invalid_grant", A050307)));
    }
    if found.used {
        // RFC 6749 §4.1.2 / RFC 9700 §4.2.4: a replayed code revokes what it produced.
        return Err(GrantOutcome::RevokeGrant {
            response: Box::new(code_replayed(service)),
            grant_id: code.grant_id,
        });
    }
    if code.expires_at <= now {
        return Err(reply(bad_request(service, "invalid_grant", A050311)));
    }
    match (&code.redirect_uri, redirect_uri) {
        (Some(_), None) => return Err(reply(bad_request(service, "invalid_grant", A050308))),
        (Some(expected), Some(given)) if expected != given => {
            return Err(reply(bad_request(service, "invalid_grant", A050309)));
        }
        (None, Some(_)) => return Err(reply(bad_request(service, "invalid_grant", A050310))),
        _ => {}
    }
    match (&code.code_challenge, verifier) {
        (Some(_), None) => return Err(reply(bad_request(service, "invalid_grant", A050312))),
        (None, Some(_)) => return Err(reply(bad_request(service, "invalid_grant", A050317))),
        (Some(challenge), Some(verifier)) => {
            if !is_valid_pkce_value(verifier) {
                return Err(reply(bad_request(service, "invalid_request", A050316)));
            }
            let computed = match code
                .code_challenge_method
                .unwrap_or(CodeChallengeMethod::Plain)
            {
                CodeChallengeMethod::S256 => s256(verifier),
                CodeChallengeMethod::Plain => verifier.to_owned(),
            };
            if !ct_eq(computed.as_bytes(), challenge.as_bytes()) {
                return Err(reply(bad_request(service, "invalid_grant", A050315)));
            }
        }
        (None, None) => {}
    }

    let lifetimes = Lifetimes::compute(
        service,
        &client.client,
        &code.scopes,
        if begun.access_token_duration > 0 {
            begun.access_token_duration
        } else {
            code.access_token_duration
        },
        begun.refresh_token_duration,
    );
    let with_refresh = issues_refresh_token(service, client);
    let mut properties = code.properties.clone();
    properties.extend(begun.properties.iter().cloned());
    let record = TokenRecord {
        service_api_key: service.api_key,
        client_id: client.client.client_id,
        client_id_alias_used: client.alias_used,
        subject: Some(code.subject.clone()),
        scopes: code.scopes.clone(),
        grant_type: GrantType::AuthorizationCode,
        grant_id: code.grant_id.clone(),
        access_expires_at: crate::records::expires_at(now, lifetimes.access),
        refresh_expires_at: if with_refresh {
            crate::records::expires_at(now, lifetimes.refresh)
        } else {
            0
        },
        properties,
        auth_time: code.auth_time,
        acr: code.acr.clone(),
        userinfo_claims: code.userinfo_claims.clone(),
        created_at: now,
        last_refreshed_at: 0,
    };
    let refresh = with_refresh.then(|| new_token(entropy));
    let mut minted = mint(service, record, refresh, entropy, signing).map_err(reply)?;
    if code.scopes.iter().any(|s| s == "openid") {
        let content = IdTokenContent {
            subject: &code.subject,
            audience: id_token::audience(&client.client, client.alias_used),
            nonce: code.nonce.as_deref(),
            auth_time: code.auth_time,
            acr: code.acr.as_deref(),
            claims: code.claims.as_deref(),
            // The value the client receives (the JWT form, when there is one).
            access_token: Some(
                minted
                    .jwt_access_token
                    .as_deref()
                    .unwrap_or(&minted.access_token),
            ),
            code: None,
            state: None,
            now,
        };
        let issued = id_token::issue(service, &client.client, &content, signing);
        match issued {
            Ok(token) => minted.id_token = Some(token),
            Err(e) => {
                return Err(reply(Box::new(error_response(
                    service,
                    Action::InternalServerError,
                    "server_error",
                    e.code,
                    &e.args(),
                ))));
            }
        }
    }
    let response = ok(service, client, &minted, GrantType::AuthorizationCode, now);
    let write = TokenWrite::RedeemCode {
        code: code_value,
        access: minted.access_token,
        refresh: minted.refresh_token,
        grant_id: code.grant_id,
        record: minted.record,
        exclusive: service.single_access_token_per_subject
            || client.client.single_access_token_per_subject,
    };
    Ok(GrantOutcome::Write {
        response,
        write: Box::new(write),
    })
}

// ----- refresh_token (RFC 6749 §6) ---------------------------------------------------------

/// The `refresh_token` parameter, to look the token up by.
pub fn refresh_param<'a>(service: &Service, begun: &'a Begun) -> Result<&'a str, Reject> {
    required_param(service, begun, "refresh_token", A053301, A053302, A053303)
}

/// What the engine found for the presented refresh token.
#[derive(Clone, Debug)]
pub enum RefreshGrant {
    Live(TokenRecord),
    /// Rotated out earlier: presenting it again is a replay (RFC 9700 §4.14.2).
    Retired {
        service_api_key: i64,
        client_id: i64,
        grant_id: String,
    },
    Unknown,
}

/// The reply to a refresh token that is no longer live (the engine also revokes its grant).
pub fn refresh_token_replayed(service: &Service) -> TokenResponse {
    error_response(service, Action::BadRequest, "invalid_grant", A053305, &[])
}

pub fn refresh_token(
    service: &Service,
    begun: &Begun,
    client: &AuthenticatedClient,
    found: RefreshGrant,
    now: Millis,
    entropy: &mut dyn Entropy,
    signing: IdTokenSigning<'_>,
) -> GrantOutcome {
    settle(refresh_token_inner(
        service, begun, client, found, now, entropy, signing,
    ))
}

fn refresh_token_inner(
    service: &Service,
    begun: &Begun,
    client: &AuthenticatedClient,
    found: RefreshGrant,
    now: Millis,
    entropy: &mut dyn Entropy,
    signing: IdTokenSigning<'_>,
) -> Result<GrantOutcome, GrantOutcome> {
    let reply = |r: Reject| GrantOutcome::Reply(r);
    let presented = refresh_param(service, begun).map_err(reply)?.to_owned();
    let requested_scopes = match begun.params.single("scope") {
        Err(Repeated) => return Err(reply(bad_request(service, "invalid_request", A053304))),
        Ok(None) => None,
        Ok(Some(raw)) => Some(scope_list(service, raw).map_err(reply)?).filter(|s| !s.is_empty()),
    };
    let old = match found {
        RefreshGrant::Unknown => return Err(reply(bad_request(service, "invalid_grant", A053305))),
        RefreshGrant::Retired {
            service_api_key,
            client_id,
            grant_id,
        } => {
            if service_api_key != service.api_key || client_id != client.client.client_id {
                return Err(reply(bad_request(service, "invalid_grant", A053305)));
            }
            return Err(GrantOutcome::RevokeGrant {
                response: Box::new(refresh_token_replayed(service)),
                grant_id,
            });
        }
        // Another service's refresh token is answered as an unknown one.
        RefreshGrant::Live(record) if record.service_api_key != service.api_key => {
            return Err(reply(bad_request(service, "invalid_grant", A053305)));
        }
        RefreshGrant::Live(record) => record,
    };
    if old.client_id != client.client.client_id {
        return Err(reply(bad_request(service, "invalid_grant", A053307)));
    }
    if old.refresh_expires_at <= now {
        return Err(reply(bad_request(service, "invalid_grant", A053308)));
    }
    let scopes = match requested_scopes {
        None => old.scopes.clone(),
        Some(requested) => {
            if requested.iter().any(|s| !old.scopes.contains(s)) {
                return Err(reply(bad_request(service, "invalid_scope", A053309)));
            }
            requested
        }
    };
    let lifetimes = Lifetimes::compute(
        service,
        &client.client,
        &scopes,
        begun.access_token_duration,
        begun.refresh_token_duration,
    );
    let (refresh_value, refresh_expires_at) = if service.refresh_token_kept {
        let expires = if service.refresh_token_duration_reset {
            crate::records::expires_at(now, lifetimes.refresh)
        } else {
            old.refresh_expires_at
        };
        (presented.clone(), expires)
    } else {
        let expires = if service.refresh_token_duration_kept {
            old.refresh_expires_at
        } else {
            crate::records::expires_at(now, lifetimes.refresh)
        };
        (new_token(entropy), expires)
    };
    let mut access_expires_at = crate::records::expires_at(now, lifetimes.access);
    if service.token_expiration_linked {
        access_expires_at = access_expires_at.min(refresh_expires_at);
    }
    let record = TokenRecord {
        scopes,
        access_expires_at,
        refresh_expires_at,
        properties: if begun.properties.is_empty() {
            old.properties.clone()
        } else {
            begun.properties.clone()
        },
        last_refreshed_at: now,
        client_id_alias_used: client.alias_used,
        ..old
    };
    let minted = mint(service, record, Some(refresh_value), entropy, signing).map_err(reply)?;
    let response = ok(service, client, &minted, GrantType::RefreshToken, now);
    let write = TokenWrite::Rotate {
        old_refresh: presented,
        access: minted.access_token,
        refresh: minted.refresh_token,
        record: minted.record,
    };
    Ok(GrantOutcome::Write {
        response,
        write: Box::new(write),
    })
}

// ----- client_credentials (RFC 6749 §4.4) --------------------------------------------------

pub fn client_credentials(
    service: &Service,
    begun: &Begun,
    client: &AuthenticatedClient,
    now: Millis,
    entropy: &mut dyn Entropy,
    signing: IdTokenSigning<'_>,
) -> GrantOutcome {
    if client.client.is_public() {
        return GrantOutcome::Reply(bad_request(service, "unauthorized_client", A052301));
    }
    let scopes = match requested_scopes(service, begun, client, A052302, A052303) {
        Ok(s) => s,
        Err(r) => return GrantOutcome::Reply(r),
    };
    let lifetimes = Lifetimes::compute(
        service,
        &client.client,
        &scopes,
        begun.access_token_duration,
        0,
    );
    let record = TokenRecord {
        service_api_key: service.api_key,
        client_id: client.client.client_id,
        client_id_alias_used: client.alias_used,
        subject: None,
        scopes,
        grant_type: GrantType::ClientCredentials,
        grant_id: new_grant_id(now, entropy),
        access_expires_at: crate::records::expires_at(now, lifetimes.access),
        refresh_expires_at: 0,
        properties: begun.properties.clone(),
        auth_time: 0,
        acr: None,
        userinfo_claims: None,
        created_at: now,
        last_refreshed_at: 0,
    };
    let minted = match mint(service, record, None, entropy, signing) {
        Ok(m) => m,
        Err(r) => return GrantOutcome::Reply(r),
    };
    let response = ok(service, client, &minted, GrantType::ClientCredentials, now);
    let write = TokenWrite::Insert {
        access: minted.access_token,
        refresh: None,
        record: minted.record,
        exclusive: false,
    };
    GrantOutcome::Write {
        response,
        write: Box::new(write),
    }
}

// ----- password (RFC 6749 §4.3) -------------------------------------------------------------

/// Validates the request and hands the credentials to the authorization server (action
/// `PASSWORD`), with a ticket for `/auth/token/issue` or `/auth/token/fail`.
pub fn password(
    service: &Service,
    begun: &Begun,
    client: &AuthenticatedClient,
    now: Millis,
    entropy: &mut dyn Entropy,
) -> GrantOutcome {
    let username = match required_param(service, begun, "username", A051301, A051302, A051303) {
        Ok(v) => v.to_owned(),
        Err(r) => return GrantOutcome::Reply(r),
    };
    let password = match required_param(service, begun, "password", A051304, A051305, A051306) {
        Ok(v) => v.to_owned(),
        Err(r) => return GrantOutcome::Reply(r),
    };
    let scopes = match requested_scopes(service, begun, client, A051307, A051308) {
        Ok(s) => s,
        Err(r) => return GrantOutcome::Reply(r),
    };
    let ticket = new_token(entropy);
    let record = TokenTicket {
        service_api_key: service.api_key,
        client_id: client.client.client_id,
        client_id_alias_used: client.alias_used,
        scopes: scopes.clone(),
        properties: begun.properties.clone(),
        expires_at: now + TOKEN_TICKET_LIFETIME_MS,
    };
    let env = envelope(
        KIND,
        Action::Password,
        A051001,
        &[&service.api_key, &client.client.client_id],
        None,
    );
    let fields = TokenFields {
        username: Some(username),
        password: Some(password),
        ticket: Some(ticket.clone()),
        grant_type: Some(GrantType::Password),
        client_id: client.client.client_id,
        client_id_alias: client.client.client_id_alias.clone(),
        client_id_alias_used: client.alias_used,
        scopes: if scopes.is_empty() {
            None
        } else {
            Some(scopes)
        },
        client_auth_method: Some(client.method),
        ..TokenFields::default()
    };
    let response = Box::new(TokenResponse {
        envelope: env,
        fields,
    });
    GrantOutcome::Write {
        response,
        write: Box::new(TokenWrite::PutTokenTicket { ticket, record }),
    }
}
