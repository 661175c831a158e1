//! `/auth/authorization`: validates an authorization request and decides what the
//! authorization server must do next.
//!
//! Two steps, because the client must be loaded in between: [`begin`] reads what is needed to
//! find the client; [`decide`] validates the rest. Until `client_id` and `redirect_uri` are
//! trusted, errors are `BAD_REQUEST` with a JSON body; after that they are redirected to the
//! client (`LOCATION`, or `FORM` for `response_mode=form_post`), as RFC 6749 §4.1.2.1 requires.

use serde_json::Value;

use crate::client_lookup::ClientLookup;
use crate::enums::{
    Action, ClientType, CodeChallengeMethod, Display, Prompt, ResponseMode, ResponseType,
};
use crate::envelope::{envelope, error_json_envelope};
use crate::model::{Client, Scope, Service};
use crate::params::{
    ListTooLong, MAX_LIST_VALUE_LEN, MAX_LIST_VALUES, Params, Repeated, split_list,
};
use crate::records::{
    AUTHORIZATION_TICKET_LIFETIME_MS, AuthorizationTicket, Millis, default_response_mode,
};
use crate::redirect::RedirectTarget;
use crate::response::OAuthError;
use crate::result_code::*;
use crate::secret::{Entropy, new_token};
use crate::wire::AuthorizationResponse;

const KIND: &str = "authorizationResponse";

/// Upper bound on `state` and `nonce` (Authlete enforces one but does not publish it).
pub const MAX_STATE_LEN: usize = 2048;
pub const MAX_NONCE_LEN: usize = 2048;

/// The result of [`begin`]: the parsed request and the client identifier to look up.
#[derive(Debug)]
pub struct Begun {
    params: Params,
    pub client_identifier: String,
}

impl Begun {
    /// Whether the request carries an `id_token_hint` (verifying an HS* one needs the client
    /// secret, which the engine then opens).
    pub fn has_id_token_hint(&self) -> bool {
        self.params
            .single("id_token_hint")
            .is_ok_and(|h| h.is_some())
    }
}

/// A decision, and the ticket to store when the request was valid.
#[derive(Debug)]
pub struct AuthorizationDecision {
    pub response: AuthorizationResponse,
    pub ticket: Option<NewTicket>,
}

#[derive(Debug)]
pub struct NewTicket {
    /// The ticket value handed to the caller; only its hash is stored.
    pub value: String,
    pub record: AuthorizationTicket,
}

fn bad_request(
    service: &Service,
    code: ResultCode,
    args: &[&dyn std::fmt::Display],
) -> AuthorizationResponse {
    AuthorizationResponse::bare(error_json_envelope(
        service,
        KIND,
        Action::BadRequest,
        "invalid_request",
        code,
        args,
    ))
}

/// Parses `parameters` and extracts `client_id`.
pub fn begin(
    service: &Service,
    parameters: Option<&str>,
) -> Result<Begun, Box<AuthorizationResponse>> {
    let Some(raw) = parameters else {
        return Err(Box::new(bad_request(service, A004201, &[])));
    };
    let params = Params::parse(raw);
    if params.is_empty() {
        return Err(Box::new(bad_request(service, A004301, &[])));
    }
    let client_identifier = match params.single("client_id") {
        Err(Repeated) => return Err(Box::new(bad_request(service, A010303, &[]))),
        Ok(None) => return Err(Box::new(bad_request(service, A010301, &[]))),
        Ok(Some("")) => return Err(Box::new(bad_request(service, A010302, &[]))),
        Ok(Some(id)) => id.to_owned(),
    };
    Ok(Begun {
        params,
        client_identifier,
    })
}

/// Validates the request against the service and the client found for `client_id`
/// (`client_secret`, the client's, verifies HS* `id_token_hint`s).
pub fn decide(
    service: &Service,
    begun: Begun,
    lookup: ClientLookup,
    client_secret: Option<&str>,
    now: Millis,
    entropy: &mut dyn Entropy,
) -> AuthorizationDecision {
    match decide_inner(service, &begun, lookup, client_secret, now, entropy) {
        Ok(decision) => decision,
        Err(response) => AuthorizationDecision {
            response: *response,
            ticket: None,
        },
    }
}

type Step<T> = Result<T, Box<AuthorizationResponse>>;

fn decide_inner(
    service: &Service,
    begun: &Begun,
    lookup: ClientLookup,
    client_secret: Option<&str>,
    now: Millis,
    entropy: &mut dyn Entropy,
) -> Step<AuthorizationDecision> {
    let params = &begun.params;
    let id = begun.client_identifier.as_str();
    let (client, alias_used) = match lookup {
        ClientLookup::Found { client, alias_used } => (client, alias_used),
        ClientLookup::NotFound if service.client_id_alias_enabled => {
            return Err(Box::new(bad_request(service, A010308, &[&id])));
        }
        ClientLookup::NotFound => return Err(Box::new(bad_request(service, A010304, &[&id]))),
        ClientLookup::AliasNotEnabled => {
            return Err(Box::new(bad_request(service, A010309, &[&id])));
        }
    };
    if client.locked {
        return Err(Box::new(bad_request(
            service,
            A010307,
            &[&client.client_id],
        )));
    }

    let response_type_raw = match params.single("response_type") {
        Err(Repeated) => return Err(Box::new(bad_request(service, A009303, &[]))),
        Ok(None) => return Err(Box::new(bad_request(service, A009301, &[]))),
        Ok(Some("")) => return Err(Box::new(bad_request(service, A009302, &[]))),
        Ok(Some(v)) => v,
    };
    let response_type = ResponseType::parse_request_value(response_type_raw);
    let scope_param = params.single("scope");
    let openid_requested =
        matches!(scope_param, Ok(Some(s)) if s.split(' ').any(|x| x == "openid"));
    let (redirect_uri, redirect_uri_given) =
        resolve_redirect_uri(service, &client, params, openid_requested)?;

    // From here on the redirect URI is trusted: errors go back to the client.
    let mut target = RedirectTarget {
        redirect_uri: redirect_uri.clone(),
        response_mode: response_type
            .map(default_response_mode)
            .unwrap_or(ResponseMode::Query),
        state: None,
    };
    let fail = |target: &RedirectTarget,
                error: &'static str,
                code: ResultCode,
                args: &[&dyn std::fmt::Display]| {
        Box::new(target.authorization_error(service, KIND, OAuthError::new(error, code, args)))
    };
    // A space-separated list, refused when over its caps.
    let list = |target: &RedirectTarget, name: &'static str, raw: &str| {
        split_list(raw).map_err(|ListTooLong| {
            fail(
                target,
                "invalid_request",
                C000301,
                &[&name, &MAX_LIST_VALUES, &MAX_LIST_VALUE_LEN],
            )
        })
    };

    let state = match params.single_non_empty("state") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A013302, &[])),
        Ok(v) => v,
    };
    if let Some(state) = state {
        if !state.is_ascii() {
            return Err(fail(&target, "invalid_request", A013303, &[]));
        }
        // RFC 6749 Appendix A.5: VSCHAR only. A control character would come back altered
        // (a form_post page, a browser) or not at all.
        if state.bytes().any(|b| b.is_ascii_control()) {
            return Err(fail(&target, "invalid_request", C013301, &[]));
        }
        if state.len() > MAX_STATE_LEN {
            return Err(fail(&target, "invalid_request", A013304, &[&MAX_STATE_LEN]));
        }
        target.state = Some(state.to_owned());
    }

    let Some(response_type) = response_type else {
        return Err(fail(&target, "invalid_request", A009304, &[]));
    };

    match params.single_non_empty("response_mode") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A012302, &[])),
        Ok(None) => {}
        Ok(Some(raw)) => match ResponseMode::from_protocol(raw) {
            None => return Err(fail(&target, "invalid_request", A012303, &[])),
            Some(
                mode @ (ResponseMode::Jwt
                | ResponseMode::QueryJwt
                | ResponseMode::FragmentJwt
                | ResponseMode::FormPostJwt),
            ) => {
                // JARM needs the client's `authorization_signed_response_alg`; not supported yet.
                return Err(fail(
                    &target,
                    "invalid_request",
                    A012305,
                    &[&mode.protocol(), &client.client_id],
                ));
            }
            Some(ResponseMode::Query)
                if response_type.has_token() || response_type.has_id_token() =>
            {
                return Err(fail(
                    &target,
                    "invalid_request",
                    A012304,
                    &[&response_type.protocol()],
                ));
            }
            Some(mode) => target.response_mode = mode,
        },
    }

    if !service.supports_response_type(response_type) {
        return Err(fail(
            &target,
            "unsupported_response_type",
            A009305,
            &[&response_type.protocol()],
        ));
    }
    if !client.declares_response_type(response_type) {
        return Err(fail(
            &target,
            "unauthorized_client",
            A009306,
            &[&client.client_id, &response_type.protocol()],
        ));
    }

    // scope
    let requested = match scope_param {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A007302, &[])),
        Ok(None) => None,
        Ok(Some(raw)) => Some(list(&target, "scope", raw)?),
    };
    let mut scopes = effective_scopes(service, &client, requested.as_deref());
    if !response_type.has_code() {
        scopes.retain(|s| s != "offline_access");
    }
    if scopes.is_empty() && service.scope_required {
        return Err(fail(&target, "invalid_scope", A007305, &[]));
    }
    let openid = scopes.iter().any(|s| s == "openid");
    if response_type.has_id_token() && !openid {
        return Err(fail(
            &target,
            "invalid_request",
            A004302,
            &[&response_type.protocol()],
        ));
    }

    // prompt
    let prompts = match params.single_non_empty("prompt") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A016302, &[])),
        Ok(None) => Vec::new(),
        Ok(Some(raw)) => {
            let mut prompts = Vec::new();
            for word in list(&target, "prompt", raw)? {
                match Prompt::from_protocol(&word) {
                    Some(p) => prompts.push(p),
                    None => return Err(fail(&target, "invalid_request", A016303, &[])),
                }
            }
            if prompts.contains(&Prompt::None) && prompts.len() > 1 {
                return Err(fail(&target, "invalid_request", A016304, &[]));
            }
            prompts
        }
    };
    if openid && scopes.iter().any(|s| s == "offline_access") && !prompts.contains(&Prompt::Consent)
    {
        return Err(fail(&target, "invalid_request", A004303, &[]));
    }

    // nonce
    let nonce = match params.single_non_empty("nonce") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A014302, &[])),
        Ok(v) => v,
    };
    // OIDC Core §3.2.2.1, §3.3.2.11: an ID token from this endpoint must be bound to the
    // request by its nonce.
    if nonce.is_none() && response_type.has_id_token() {
        return Err(fail(&target, "invalid_request", A014303, &[]));
    }
    if let Some(nonce) = nonce {
        if !nonce.is_ascii() {
            return Err(fail(&target, "invalid_request", A014304, &[]));
        }
        if nonce.len() > MAX_NONCE_LEN {
            return Err(fail(&target, "invalid_request", A014305, &[&MAX_NONCE_LEN]));
        }
    }

    // display
    let display = match params.single_non_empty("display") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A015302, &[])),
        Ok(None) => Display::Page,
        Ok(Some(raw)) => match Display::from_protocol(raw) {
            None => return Err(fail(&target, "invalid_request", A015303, &[])),
            Some(d) => d,
        },
    };
    if let Some(supported) = service
        .supported_displays
        .as_deref()
        .filter(|s| !s.is_empty())
        && !supported.contains(&display)
    {
        let code = if params.contains("display") {
            A015305
        } else {
            A015304
        };
        return Err(fail(&target, "invalid_request", code, &[]));
    }

    // max_age
    let max_age = match params.single_non_empty("max_age") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A017302, &[])),
        Ok(None) => client.default_max_age.max(0),
        Ok(Some(raw)) => match parse_max_age(raw) {
            Ok(v) => v,
            Err(code) => return Err(fail(&target, "invalid_request", code, &[])),
        },
    };

    // locales
    let ui_locales = match params.single_non_empty("ui_locales") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A018302, &[])),
        Ok(None) => None,
        Ok(Some(raw)) => filter_supported(
            list(&target, "ui_locales", raw)?,
            service.supported_ui_locales.as_deref(),
        ),
    };
    let claims_locales = match params.single_non_empty("claims_locales") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A020302, &[])),
        Ok(None) => None,
        Ok(Some(raw)) => filter_supported(
            list(&target, "claims_locales", raw)?,
            service.supported_claim_locales.as_deref(),
        ),
    };

    // claims (OpenID Connect Core §5.5)
    let claims = match params.single_non_empty("claims") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A022302, &[])),
        Ok(None) => None,
        Ok(Some(raw)) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) => Some(map),
            _ => return Err(fail(&target, "invalid_request", A022303, &[])),
        },
    };
    let id_token_claims = claims
        .as_ref()
        .and_then(|c| c.get("id_token"))
        .filter(|v| v.is_object());
    let user_info_claims = claims
        .as_ref()
        .and_then(|c| c.get("userinfo"))
        .filter(|v| v.is_object());
    let required_subject = id_token_claims
        .and_then(|c| c.get("sub"))
        .and_then(|s| s.get("value"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // id_token_hint names the user the client expects, as the claims parameter's `sub` does.
    let hinted_subject = match params.single_non_empty("id_token_hint") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", C014401, &[])),
        Ok(None) => None,
        Ok(Some(hint)) => {
            match crate::id_token::check_hint(service, &client, hint, client_secret) {
                crate::id_token::Hint::Valid(subject) => subject,
                crate::id_token::Hint::Invalid => {
                    return Err(fail(&target, "invalid_request", C014402, &[]));
                }
            }
        }
    };
    let required_subject = required_subject.or(hinted_subject);
    let acr_claim = id_token_claims.and_then(|c| c.get("acr"));
    let acr_essential = acr_claim
        .and_then(|a| a.get("essential"))
        .and_then(Value::as_bool)
        .unwrap_or(false);

    // acr_values: from the claims parameter, else acr_values, else the client's defaults
    let acr_values_param = match params.single_non_empty("acr_values") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A021302, &[])),
        Ok(None) => None,
        Ok(Some(raw)) => Some(list(&target, "acr_values", raw)?),
    };
    let acrs_from_claims = acr_claim.and_then(acr_list_from_claim);
    let acrs = acrs_from_claims
        .or(acr_values_param)
        .or_else(|| client.default_acrs.clone().filter(|a| !a.is_empty()))
        .unwrap_or_default();
    if !acrs.is_empty() {
        let supported = service.supported_acrs.as_deref().unwrap_or(&[]);
        if supported.is_empty() {
            return Err(fail(&target, "invalid_request", A021303, &[]));
        }
        if let Some(unsupported) = acrs.iter().find(|a| !supported.contains(a)) {
            return Err(fail(&target, "invalid_request", A021304, &[unsupported]));
        }
    }

    let login_hint = match params.single_non_empty("login_hint") {
        Err(Repeated) => return Err(fail(&target, "invalid_request", A069302, &[])),
        Ok(v) => v.map(str::to_owned),
    };

    // PKCE (RFC 7636; required for public clients by RFC 9700 §2.1.1)
    let (code_challenge, code_challenge_method) = if response_type.has_code() {
        match check_pkce(service, &client, params) {
            Ok(pair) => pair,
            Err(code) => return Err(fail(&target, "invalid_request", code, &[])),
        }
    } else {
        (None, None)
    };

    // Request objects and PAR are not supported yet: refuse rather than ignore them.
    if params.contains("request") && params.contains("request_uri") {
        return Err(fail(&target, "invalid_request", A008304, &[]));
    }
    if params.contains("request_uri") {
        return Err(Box::new(AuthorizationResponse::bare(error_json_envelope(
            service,
            KIND,
            Action::BadRequest,
            "invalid_request_uri",
            A008303,
            &[],
        ))));
    }
    if params.contains("request") {
        return Err(fail(&target, "request_not_supported", A008311, &[]));
    }

    let ticket_value = new_token(entropy);
    let record = AuthorizationTicket {
        service_api_key: service.api_key,
        client_id: client.client_id,
        client_id_alias_used: alias_used,
        response_type,
        response_mode: target.response_mode,
        redirect_uri,
        redirect_uri_given,
        scopes: scopes.clone(),
        state: target.state.clone(),
        nonce: nonce.map(str::to_owned),
        code_challenge,
        code_challenge_method,
        max_age,
        prompts: prompts.clone(),
        acrs: acrs.clone(),
        claims: claims
            .as_ref()
            .map(|c| Value::Object(c.clone()).to_string()),
        expires_at: now + AUTHORIZATION_TICKET_LIFETIME_MS,
    };

    let action = if prompts.contains(&Prompt::None) {
        Action::NoInteraction
    } else {
        Action::Interaction
    };
    let env = envelope(
        KIND,
        action,
        A004001,
        &[
            &service.api_key,
            &client.client_id,
            &response_type.protocol(),
            &openid,
        ],
        None,
    );
    let mut response = AuthorizationResponse::bare(env);
    response.ticket = Some(ticket_value.clone());
    response.service = Some(public_service(service));
    response.client = Some(public_client(&client));
    response.display = Some(display);
    response.max_age = max_age;
    response.scopes = scope_objects(service, &scopes);
    response.ui_locales = ui_locales;
    response.claims_locales = claims_locales;
    // Claims the ID token should carry: those the `claims` parameter names and, when no access
    // token will let the client ask the UserInfo endpoint, those of the scope shortcuts
    // (OIDC Core §5.4).
    let shortcut_scopes: &[String] = if response_type == ResponseType::IdToken {
        &scopes
    } else {
        &[]
    };
    let id_token_claim_names = crate::claims::requested_claim_names(
        service,
        shortcut_scopes,
        id_token_claims.map(Value::to_string).as_deref(),
    );
    response.claims = (!id_token_claim_names.is_empty()).then_some(id_token_claim_names);
    response.acr_essential = acr_essential;
    response.client_id_alias_used = alias_used;
    response.acrs = if acrs.is_empty() { None } else { Some(acrs) };
    response.subject = required_subject;
    response.login_hint = login_hint;
    response.lowest_prompt = Some(
        prompts
            .iter()
            .copied()
            .min_by_key(prompt_rank)
            .unwrap_or(Prompt::Consent),
    );
    response.prompts = if prompts.is_empty() {
        None
    } else {
        Some(prompts)
    };
    response.id_token_claims = id_token_claims.map(Value::to_string);
    response.user_info_claims = user_info_claims.map(Value::to_string);

    Ok(AuthorizationDecision {
        response,
        ticket: Some(NewTicket {
            value: ticket_value,
            record,
        }),
    })
}

fn prompt_rank(p: &Prompt) -> usize {
    Prompt::ALL
        .iter()
        .position(|x| x == p)
        .unwrap_or(usize::MAX)
}

/// Resolves the redirect URI: the request's, which must be registered (exact string match,
/// RFC 9700 §2.1), or the only registered one.
fn resolve_redirect_uri(
    service: &Service,
    client: &Client,
    params: &Params,
    openid: bool,
) -> Step<(String, bool)> {
    let registered = client.redirect_uris();
    let none_registered = || {
        let code = if client.client_type() == ClientType::Public {
            A011310
        } else {
            A011309
        };
        Box::new(bad_request(service, code, &[]))
    };
    match params.single("redirect_uri") {
        Err(Repeated) => Err(Box::new(bad_request(service, A011302, &[]))),
        Ok(Some("")) => Err(Box::new(bad_request(service, A011319, &[]))),
        Ok(Some(given)) => {
            // The WHATWG parser drops tabs and line breaks, so the parsed form could match while
            // the raw value carries them: refuse control characters outright.
            if given.chars().any(char::is_control) {
                return Err(Box::new(bad_request(service, A011314, &[])));
            }
            match url::Url::parse(given) {
                Err(url::ParseError::RelativeUrlWithoutBase) => {
                    return Err(Box::new(bad_request(service, A011315, &[])));
                }
                Err(_) => return Err(Box::new(bad_request(service, A011314, &[]))),
                Ok(u) if u.fragment().is_some() => {
                    return Err(Box::new(bad_request(service, A011316, &[])));
                }
                Ok(_) => {}
            }
            if registered.is_empty() {
                return Err(none_registered());
            }
            match registered
                .iter()
                .find_map(|r| matched_redirect_uri(service, r, given))
            {
                Some(uri) => Ok((uri, true)),
                None => Err(Box::new(bad_request(service, A011304, &[&given]))),
            }
        }
        Ok(None) => {
            if openid {
                return Err(Box::new(bad_request(service, A011303, &[])));
            }
            match registered {
                [] => Err(none_registered()),
                [only] => Ok((only.clone(), false)),
                _ => Err(Box::new(bad_request(service, A011313, &[]))),
            }
        }
    }
}

/// The redirect URI to use when `given` matches `registered`: the registered one on an exact
/// match; with `loopbackRedirectionUriVariable`, an `http` loopback URI whose port differs
/// (RFC 8252 §7.3). That one is used as sent, since the token request must repeat it exactly
/// (RFC 6749 §4.1.3), but only once validated: printable ASCII without spaces (control
/// characters were refused before), parsed, and equal to the registered URI but for the port.
fn matched_redirect_uri(service: &Service, registered: &str, given: &str) -> Option<String> {
    if registered == given {
        return Some(registered.to_owned());
    }
    if !service.loopback_redirection_uri_variable || !given.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (Ok(mut r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return None;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    };
    if !loopback(&r) || !loopback(&g) {
        return None;
    }
    let _ = r.set_port(g.port());
    (r == g).then(|| given.to_owned())
}

/// Requested scopes the service knows (unknown ones are dropped silently), narrowed to the
/// client's requestable scopes; the service's defaults when nothing remains.
pub fn effective_scopes(
    service: &Service,
    client: &Client,
    requested: Option<&[String]>,
) -> Vec<String> {
    let allowed = |name: &str| {
        service.scope(name).is_some()
            && client
                .requestable_scopes()
                .is_none_or(|r| r.iter().any(|x| x == name))
    };
    let mut scopes: Vec<String> = requested
        .unwrap_or(&[])
        .iter()
        .filter(|s| allowed(s))
        .cloned()
        .collect();
    if scopes.is_empty() {
        scopes = service
            .default_scopes()
            .into_iter()
            .filter(|s| allowed(s))
            .collect();
    }
    scopes
}

fn scope_objects(service: &Service, names: &[String]) -> Option<Vec<Scope>> {
    if names.is_empty() {
        return None;
    }
    Some(
        names
            .iter()
            .filter_map(|n| service.scope(n).cloned())
            .collect(),
    )
}

fn filter_supported(values: Vec<String>, supported: Option<&[String]>) -> Option<Vec<String>> {
    let supported = supported?;
    let list: Vec<String> = values
        .into_iter()
        .filter(|v| supported.contains(v))
        .collect();
    if list.is_empty() { None } else { Some(list) }
}

fn acr_list_from_claim(claim: &Value) -> Option<Vec<String>> {
    if let Some(v) = claim.get("value").and_then(Value::as_str) {
        return Some(vec![v.to_owned()]);
    }
    let values: Vec<String> = claim
        .get("values")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(values)
    }
}

fn parse_max_age(raw: &str) -> Result<i32, ResultCode> {
    if let Ok(v) = raw.parse::<i64>() {
        return i32::try_from(v).ok().filter(|v| *v >= 0).ok_or(A017305);
    }
    match raw.parse::<f64>() {
        Ok(f) if f.is_finite() => Err(A017304),
        _ => Err(A017303),
    }
}

/// RFC 7636 §4.1: 43–128 characters of the unreserved set.
pub fn is_valid_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

type Pkce = (Option<String>, Option<CodeChallengeMethod>);

fn check_pkce(service: &Service, client: &Client, params: &Params) -> Result<Pkce, ResultCode> {
    let challenge = params.single("code_challenge").map_err(|_| A124303)?;
    let method = params
        .single("code_challenge_method")
        .map_err(|_| A124305)?;
    let required = service.pkce_required || client.pkce_required || client.is_public();
    let s256_required = service.pkce_s256_required || client.pkce_s256_required;
    let challenge = match challenge {
        None if required => return Err(A124301),
        None => return Ok((None, None)),
        Some("") => return Err(A124302),
        Some(c) => c,
    };
    if !is_valid_pkce_value(challenge) {
        return Err(A124304);
    }
    let method = match method.filter(|m| !m.is_empty()) {
        None if s256_required => return Err(A124307),
        None => CodeChallengeMethod::Plain,
        Some(raw) => CodeChallengeMethod::from_protocol(raw).ok_or(A124306)?,
    };
    if s256_required && method != CodeChallengeMethod::S256 {
        return Err(A124308);
    }
    Ok((Some(challenge.to_owned()), Some(method)))
}

/// The service as shown to the authorization server: never its secret or its keys.
fn public_service(service: &Service) -> Service {
    let mut s = service.clone();
    s.api_secret = None;
    s.jwks = None;
    s
}

/// The client as shown to the authorization server's consent page: never its secret.
fn public_client(client: &Client) -> Client {
    let mut c = client.clone();
    c.client_secret = None;
    c
}
