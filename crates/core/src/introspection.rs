//! `/auth/introspection` (Authlete's own, for resource servers) and
//! `/auth/introspection/standard` (RFC 7662).

use serde_json::{Map, Value};

use crate::enums::{Action, GrantType};
use crate::envelope::{envelope, envelope_with_message, error_json_envelope};
use crate::model::Service;
use crate::params::{Params, Repeated};
use crate::records::{Millis, TokenRecord};
use crate::response::OAuthError;
use crate::result_code::*;
use crate::wire::{EnvelopeOnly, IntrospectionFields, IntrospectionRequest, IntrospectionResponse};

const KIND: &str = "introspectionResponse";
const STANDARD_KIND: &str = "standardIntrospectionResponse";

/// The constant `responseContent` of a successful introspection, for the resource server's
/// own later checks.
pub const OK_CHALLENGE: &str = "Bearer error=\"invalid_request\"";

/// A validated introspection call.
#[derive(Debug)]
pub struct IntrospectionCall {
    pub token: String,
    pub scopes: Option<Vec<String>>,
    pub subject: Option<String>,
}

fn reply(
    service: &Service,
    action: Action,
    error: &'static str,
    code: ResultCode,
    args: &[&dyn std::fmt::Display],
    scopes: Option<&[String]>,
    fields: IntrospectionFields,
) -> IntrospectionResponse {
    let err = OAuthError::new(error, code, args);
    let scope_attr = scopes.filter(|s| !s.is_empty()).map(|s| s.join(" "));
    let content = err.www_authenticate(service, scope_attr.as_deref());
    IntrospectionResponse {
        envelope: envelope_with_message(KIND, action, code, err.message, Some(content)),
        fields,
    }
}

pub fn check(
    service: &Service,
    req: IntrospectionRequest,
) -> Result<IntrospectionCall, Box<IntrospectionResponse>> {
    match req.token {
        None => Err(Box::new(reply(
            service,
            Action::BadRequest,
            "invalid_request",
            A057301,
            &[],
            None,
            IntrospectionFields::default(),
        ))),
        Some(token) => Ok(IntrospectionCall {
            token,
            scopes: req.scopes,
            subject: req.subject,
        }),
    }
}

/// Decides from the token record found for the access token (None: unknown) and the alias of
/// the client it was issued to, if that client has one.
pub fn introspect(
    service: &Service,
    call: &IntrospectionCall,
    found: Option<TokenRecord>,
    client_alias: Option<&str>,
    now: Millis,
) -> IntrospectionResponse {
    let required = call.scopes.as_deref();
    let Some(t) = found.filter(|t| t.service_api_key == service.api_key) else {
        return reply(
            service,
            Action::Unauthorized,
            "invalid_token",
            A057302,
            &[],
            required,
            IntrospectionFields::default(),
        );
    };
    let refreshable = t.has_refresh_token() && t.refresh_expires_at > now;
    let mut fields = IntrospectionFields {
        client_id: t.client_id,
        client_id_alias: client_alias.map(str::to_owned),
        client_id_alias_used: t.client_id_alias_used,
        subject: t.subject.clone(),
        scopes: if t.scopes.is_empty() {
            None
        } else {
            Some(t.scopes.clone())
        },
        existent: true,
        usable: t.access_expires_at > now,
        sufficient: false,
        refreshable,
        expires_at: t.access_expires_at,
        properties: if t.properties.is_empty() {
            None
        } else {
            Some(t.properties.clone())
        },
        grant_type: Some(t.grant_type),
        acr: t.acr.clone(),
        auth_time: t.auth_time,
    };
    if !fields.usable {
        let code = if refreshable {
            A065301
        } else if t.has_refresh_token() {
            A065302
        } else {
            A065303
        };
        return reply(
            service,
            Action::Unauthorized,
            "invalid_token",
            code,
            &[],
            required,
            fields,
        );
    }
    if let Some(required_scopes) = required.filter(|s| !s.is_empty()) {
        if t.scopes.is_empty() {
            return reply(
                service,
                Action::Forbidden,
                "insufficient_scope",
                A064301,
                &[],
                required,
                fields,
            );
        }
        if let Some(missing) = required_scopes.iter().find(|s| !t.scopes.contains(s)) {
            return reply(
                service,
                Action::Forbidden,
                "insufficient_scope",
                A064302,
                &[missing],
                required,
                fields,
            );
        }
    }
    fields.sufficient = true;
    if let Some(subject) = call.subject.as_deref() {
        match t.subject.as_deref() {
            None => {
                return reply(
                    service,
                    Action::Forbidden,
                    "invalid_request",
                    A066301,
                    &[],
                    required,
                    fields,
                );
            }
            Some(s) if s != subject => {
                return reply(
                    service,
                    Action::Forbidden,
                    "invalid_request",
                    A066302,
                    &[],
                    required,
                    fields,
                );
            }
            Some(_) => {}
        }
    }
    let env = envelope(
        KIND,
        Action::Ok,
        A056001,
        &[],
        Some(OK_CHALLENGE.to_owned()),
    );
    IntrospectionResponse {
        envelope: env,
        fields,
    }
}

// ----- RFC 7662 ----------------------------------------------------------------------------

/// Which kind of token to look up first (`token_type_hint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    AccessToken,
    RefreshToken,
}

#[derive(Debug)]
pub struct StandardCall {
    pub token: String,
    pub hint: Hint,
    pub with_hidden_properties: bool,
}

fn standard_error(
    service: &Service,
    action: Action,
    error: &'static str,
    code: ResultCode,
) -> Box<EnvelopeOnly> {
    Box::new(EnvelopeOnly {
        envelope: error_json_envelope(service, STANDARD_KIND, action, error, code, &[]),
    })
}

pub fn check_standard(
    service: &Service,
    parameters: Option<&str>,
    with_hidden_properties: bool,
) -> Result<StandardCall, Box<EnvelopeOnly>> {
    let Some(raw) = parameters else {
        return Err(standard_error(
            service,
            Action::InternalServerError,
            "server_error",
            A145201,
        ));
    };
    let params = Params::parse(raw);
    if params.is_empty() {
        return Err(standard_error(
            service,
            Action::BadRequest,
            "invalid_request",
            A145301,
        ));
    }
    let token = match params.single("token") {
        Ok(Some(t)) if !t.is_empty() => t.to_owned(),
        Err(Repeated) | Ok(_) => {
            return Err(standard_error(
                service,
                Action::BadRequest,
                "invalid_request",
                A145302,
            ));
        }
    };
    let hint = match params.single("token_type_hint") {
        Ok(Some("refresh_token")) => Hint::RefreshToken,
        _ => Hint::AccessToken,
    };
    Ok(StandardCall {
        token,
        hint,
        with_hidden_properties,
    })
}

/// What the engine found: the record, and whether the token was its refresh token.
#[derive(Debug)]
pub struct Found {
    pub record: TokenRecord,
    pub is_refresh_token: bool,
}

pub fn introspect_standard(
    service: &Service,
    call: &StandardCall,
    found: Option<Found>,
    now: Millis,
) -> EnvelopeOnly {
    let found = found.filter(|f| f.record.service_api_key == service.api_key);
    let (kind, active, body) = match found {
        None => ("null", false, inactive()),
        Some(Found {
            record,
            is_refresh_token,
        }) => {
            let expires_at = if is_refresh_token {
                record.refresh_expires_at
            } else {
                record.access_expires_at
            };
            let kind = if is_refresh_token {
                "refresh_token"
            } else {
                "access_token"
            };
            if expires_at <= now {
                (kind, false, inactive())
            } else {
                (
                    kind,
                    true,
                    active_body(
                        service,
                        &record,
                        is_refresh_token,
                        expires_at,
                        call.with_hidden_properties,
                    ),
                )
            }
        }
    };
    let env = envelope(
        STANDARD_KIND,
        Action::Ok,
        A145001,
        &[&kind, &active],
        Some(body),
    );
    EnvelopeOnly { envelope: env }
}

fn inactive() -> String {
    r#"{"active":false}"#.to_owned()
}

fn active_body(
    service: &Service,
    t: &TokenRecord,
    is_refresh_token: bool,
    expires_at: Millis,
    with_hidden: bool,
) -> String {
    let mut map = Map::new();
    if let Some(sub) = &t.subject {
        map.insert("sub".into(), Value::from(sub.clone()));
    }
    map.insert(
        "scope".into(),
        if t.scopes.is_empty() {
            Value::Null
        } else {
            Value::from(t.scopes.join(" "))
        },
    );
    if let Some(iss) = service.issuer.as_deref().filter(|i| !i.is_empty()) {
        map.insert("iss".into(), Value::from(iss));
    }
    map.insert("active".into(), Value::from(true));
    if !is_refresh_token {
        map.insert("token_type".into(), Value::from(service.token_type()));
    }
    map.insert("exp".into(), Value::from(expires_at / 1000));
    let issued_at = if t.last_refreshed_at > 0 {
        t.last_refreshed_at
    } else {
        t.created_at
    };
    map.insert("iat".into(), Value::from(issued_at / 1000));
    map.insert("client_id".into(), Value::from(t.client_id.to_string()));
    if t.grant_type == GrantType::AuthorizationCode && t.auth_time > 0 {
        map.insert("auth_time".into(), Value::from(t.auth_time));
    }
    if let Some(acr) = &t.acr {
        map.insert("acr".into(), Value::from(acr.clone()));
    }
    for p in t.properties.iter().filter(|p| with_hidden || !p.hidden) {
        if let Some(key) = p
            .key
            .as_deref()
            .filter(|k| !k.is_empty() && !map.contains_key(*k))
        {
            map.insert(
                key.to_owned(),
                Value::from(p.value.clone().unwrap_or_default()),
            );
        }
    }
    Value::Object(map).to_string()
}
