//! A service's settings as the edit form shows them, and the form read back into a service.

use castellan_core::enums::{ClientAuthMethod, GrantType, JwsAlg, ResponseType};
use castellan_core::model::{Scope, Service};

use crate::form::{Fields, choices};
use crate::pages::{Choice, Field, ServiceForm};

/// The on/off settings the form offers, with their labels.
const FLAGS: &[(&str, &str)] = &[
    ("pkce_required", "Require PKCE from every client"),
    ("pkce_s256_required", "Require PKCE with S256"),
    (
        "refresh_token_kept",
        "Keep the refresh token when it is used (no rotation)",
    ),
    (
        "refresh_token_duration_reset",
        "Restart the refresh token's lifetime on each use",
    ),
    (
        "token_expiration_linked",
        "End the access token with its refresh token",
    ),
    (
        "single_access_token_per_subject",
        "One access token per user and client",
    ),
    ("scope_required", "Refuse requests without a scope"),
    ("client_id_alias_enabled", "Allow client ID aliases"),
    (
        "refresh_token_duration_kept",
        "A new refresh token keeps the old one's expiry",
    ),
    (
        "missing_client_id_allowed",
        "Accept token requests without client_id",
    ),
    (
        "error_description_omitted",
        "Leave error_description out of error responses",
    ),
    (
        "error_uri_omitted",
        "Leave error_uri out of error responses",
    ),
    ("iss_suppressed", "Leave iss out of authorization responses"),
];

/// The endpoints and documents the discovery document names, as the service stores them.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("authorizationEndpoint", "Authorization endpoint"),
    ("tokenEndpoint", "Token endpoint"),
    ("userInfoEndpoint", "UserInfo endpoint"),
    ("jwksUri", "JWK Set URI"),
    ("revocationEndpoint", "Revocation endpoint"),
    ("introspectionEndpoint", "Introspection endpoint"),
    ("registrationEndpoint", "Registration endpoint"),
    ("endSessionEndpoint", "End-session endpoint"),
    ("policyUri", "Privacy policy"),
    ("tosUri", "Terms of service"),
];

fn flag<'s>(service: &'s mut Service, name: &str) -> Option<&'s mut bool> {
    Some(match name {
        "pkce_required" => &mut service.pkce_required,
        "pkce_s256_required" => &mut service.pkce_s256_required,
        "refresh_token_kept" => &mut service.refresh_token_kept,
        "refresh_token_duration_reset" => &mut service.refresh_token_duration_reset,
        "token_expiration_linked" => &mut service.token_expiration_linked,
        "single_access_token_per_subject" => &mut service.single_access_token_per_subject,
        "scope_required" => &mut service.scope_required,
        "client_id_alias_enabled" => &mut service.client_id_alias_enabled,
        "refresh_token_duration_kept" => &mut service.refresh_token_duration_kept,
        "missing_client_id_allowed" => &mut service.missing_client_id_allowed,
        "error_description_omitted" => &mut service.error_description_omitted,
        "error_uri_omitted" => &mut service.error_uri_omitted,
        "iss_suppressed" => &mut service.iss_suppressed,
        _ => return None,
    })
}

/// `name | description | default`, one scope a line.
fn scope_lines(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| {
            let mut line = s.name.clone().unwrap_or_default();
            if let Some(d) = s.description.as_deref().filter(|d| !d.is_empty()) {
                line.push_str(" | ");
                line.push_str(d);
            }
            if s.default_entry {
                line.push_str(" | default");
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn form_of(service: &Service) -> ServiceForm {
    let mut flags_of = service.clone();
    ServiceForm {
        name: service.service_name.clone().unwrap_or_default(),
        issuer: service.issuer.clone().unwrap_or_default(),
        description: service.description.clone().unwrap_or_default(),
        grant_types: choices(
            GrantType::ALL,
            service.supported_grant_types.as_deref().unwrap_or_default(),
            GrantType::wire_name,
            GrantType::protocol,
        ),
        response_types: choices(
            ResponseType::ALL,
            service
                .supported_response_types
                .as_deref()
                .unwrap_or_default(),
            ResponseType::wire_name,
            ResponseType::protocol,
        ),
        auth_methods: choices(
            ClientAuthMethod::ALL,
            service
                .supported_token_auth_methods
                .as_deref()
                .unwrap_or_default(),
            ClientAuthMethod::wire_name,
            ClientAuthMethod::protocol,
        ),
        scopes: scope_lines(service.supported_scopes.as_deref().unwrap_or_default()),
        claims: service
            .supported_claims
            .clone()
            .unwrap_or_default()
            .join("\n"),
        acrs: service
            .supported_acrs
            .clone()
            .unwrap_or_default()
            .join("\n"),
        ui_locales: service
            .supported_ui_locales
            .clone()
            .unwrap_or_default()
            .join("\n"),
        claim_locales: service
            .supported_claim_locales
            .clone()
            .unwrap_or_default()
            .join("\n"),
        endpoints: ENDPOINTS
            .iter()
            .map(|(name, label)| Field {
                name: (*name).to_owned(),
                label: (*label).to_owned(),
                value: service.other_str(name).unwrap_or_default().to_owned(),
            })
            .collect(),
        id_token_key: service
            .id_token_signature_key_id
            .clone()
            .unwrap_or_default(),
        user_info_key: service
            .user_info_signature_key_id
            .clone()
            .unwrap_or_default(),
        access_token_key: service
            .access_token_signature_key_id
            .clone()
            .unwrap_or_default(),
        access_token_algs: std::iter::once(Choice {
            value: String::new(),
            label: "none (opaque access tokens)".into(),
            checked: service.access_token_sign_alg.is_none(),
        })
        .chain(
            JwsAlg::ALL
                .iter()
                .filter(|a| a.is_asymmetric())
                .map(|a| Choice {
                    value: a.wire_name().to_owned(),
                    label: format!("{} (JWT access tokens)", a.protocol()),
                    checked: service.access_token_sign_alg == Some(*a),
                }),
        )
        .collect(),
        access_token_duration: service.access_token_duration.to_string(),
        refresh_token_duration: service.refresh_token_duration.to_string(),
        id_token_duration: service.id_token_duration.to_string(),
        flags: FLAGS
            .iter()
            .map(|(value, label)| Choice {
                value: (*value).to_owned(),
                label: (*label).to_owned(),
                checked: flag(&mut flags_of, value).is_some_and(|v| *v),
            })
            .collect(),
    }
}

fn seconds(fields: &Fields, name: &str, label: &str, min: i64) -> Result<i64, String> {
    match fields.get(name).parse::<i64>() {
        Ok(v) if v >= min && v <= 10 * 365 * 86_400 => Ok(v),
        _ => Err(format!(
            "{label} must be a whole number of seconds, at least {min}."
        )),
    }
}

/// The scopes of the form. A scope the service already has keeps what the form does not show
/// (its attributes, such as per-scope token lifetimes, and localized descriptions).
fn parse_scopes(text: &str, existing: &[Scope]) -> Result<Vec<Scope>, String> {
    let mut scopes = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.split('|').map(str::trim);
        let name = parts.next().unwrap_or_default();
        if name.is_empty()
            || name
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\\')
        {
            return Err(format!(
                "“{line}” does not start with a scope name (no spaces or quotes)."
            ));
        }
        let mut scope = existing
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
            .cloned()
            .unwrap_or_else(|| Scope {
                name: Some(name.to_owned()),
                ..Scope::default()
            });
        scope.default_entry = false;
        scope.description = None;
        for part in parts {
            if part.eq_ignore_ascii_case("default") {
                scope.default_entry = true;
            } else if !part.is_empty() {
                scope.description = Some(part.to_owned());
            }
        }
        scopes.push(scope);
    }
    Ok(scopes)
}

/// An https URL, or http on the local machine (for trying things out).
pub fn web_url(url: &url::Url) -> bool {
    url.scheme() == "https"
        || (url.scheme() == "http"
            && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
}

/// An issuer identifier (RFC 8414 §2): an https URL without query or fragment.
pub fn check_issuer(issuer: &str) -> Result<String, String> {
    match url::Url::parse(issuer) {
        Ok(url) if web_url(&url) && url.query().is_none() && url.fragment().is_none() => {
            Ok(issuer.to_owned())
        }
        _ => Err("The issuer must be an https URL without query or fragment.".into()),
    }
}

/// One value a line; each a single word.
fn words(text: &str, what: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\')
            || line.len() > 200
        {
            return Err(format!(
                "“{line}” is not a {what} (one per line, no spaces)."
            ));
        }
        out.push(line.to_owned());
    }
    Ok(out)
}

/// `service` with the settings of the form; a message for the first invalid field.
pub fn apply(mut service: Service, fields: &Fields) -> Result<Service, String> {
    let name = fields.get("name");
    if name.is_empty() || name.chars().count() > 100 {
        return Err("The name must have 1 to 100 characters.".into());
    }
    service.service_name = Some(name.to_owned());
    service.issuer = Some(check_issuer(fields.get("issuer"))?);
    let description = fields.get("description");
    service.description = (!description.is_empty()).then(|| description.to_owned());
    service.supported_grant_types = Some(fields.parsed("grant_type", GrantType::from_wire_name));
    service.supported_response_types =
        Some(fields.parsed("response_type", ResponseType::from_wire_name));
    service.supported_token_auth_methods =
        Some(fields.parsed("auth_method", ClientAuthMethod::from_wire_name));
    let existing = service.supported_scopes.clone().unwrap_or_default();
    service.supported_scopes = Some(parse_scopes(fields.get("scopes"), &existing)?);
    service.supported_claims = Some(words(fields.get("claims"), "claim")?);
    service.supported_acrs = Some(words(fields.get("acrs"), "ACR")?);
    service.supported_ui_locales = Some(words(fields.get("ui_locales"), "locale")?);
    service.supported_claim_locales = Some(words(fields.get("claim_locales"), "locale")?);
    for (name, label) in ENDPOINTS {
        let value = fields.get(&format!("endpoint_{name}"));
        if value.is_empty() {
            service.other.remove(*name);
            continue;
        }
        match url::Url::parse(value) {
            Ok(url) if web_url(&url) => {
                service.other.insert(
                    (*name).to_owned(),
                    serde_json::Value::String(value.to_owned()),
                );
            }
            _ => {
                return Err(format!(
                    "The {} must be an https URL.",
                    label.to_lowercase()
                ));
            }
        }
    }
    let key_id = |name: &str| {
        let v = fields.get(name);
        (!v.is_empty()).then(|| v.to_owned())
    };
    service.id_token_signature_key_id = key_id("id_token_key");
    service.user_info_signature_key_id = key_id("user_info_key");
    service.access_token_signature_key_id = key_id("access_token_key");
    service.access_token_sign_alg = match fields.get("access_token_sign_alg") {
        "" => None,
        alg => Some(
            JwsAlg::from_wire_name(alg)
                .filter(|a| a.is_asymmetric())
                .ok_or("Choose an access token signing algorithm.")?,
        ),
    };
    service.access_token_duration = seconds(
        fields,
        "access_token_duration",
        "The access token lifetime",
        1,
    )?;
    service.refresh_token_duration = seconds(
        fields,
        "refresh_token_duration",
        "The refresh token lifetime",
        0,
    )?;
    service.id_token_duration = seconds(fields, "id_token_duration", "The ID token lifetime", 1)?;
    let on = fields.all("flag");
    for (name, _) in FLAGS {
        if let Some(value) = flag(&mut service, name) {
            *value = on.contains(name);
        }
    }
    Ok(service)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_form_reads_back_what_it_shows() {
        let service = castellan_engine::defaults::service("S", "https://as.example.com");
        let form = form_of(&service);
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("name", &form.name)
            .append_pair("issuer", &form.issuer)
            .append_pair("scopes", &form.scopes)
            .append_pair("access_token_duration", &form.access_token_duration)
            .append_pair("refresh_token_duration", &form.refresh_token_duration)
            .append_pair("id_token_duration", &form.id_token_duration);
        for c in form.grant_types.iter().filter(|c| c.checked) {
            body.append_pair("grant_type", &c.value);
        }
        for c in form.response_types.iter().filter(|c| c.checked) {
            body.append_pair("response_type", &c.value);
        }
        for c in form.auth_methods.iter().filter(|c| c.checked) {
            body.append_pair("auth_method", &c.value);
        }
        body.append_pair("claims", "email\nemail_verified")
            .append_pair("endpoint_tokenEndpoint", "https://as.example.com/token")
            .append_pair("access_token_sign_alg", "ES256")
            .append_pair("id_token_key", "kid-1");
        let read = apply(service.clone(), &Fields::parse(body.finish().as_bytes())).unwrap();
        // The same choices (the form lists them in a fixed order).
        let sorted = |v: &Option<Vec<GrantType>>| {
            let mut names: Vec<&str> = v.iter().flatten().map(|g| g.wire_name()).collect();
            names.sort_unstable();
            names
        };
        assert_eq!(
            sorted(&read.supported_grant_types),
            sorted(&service.supported_grant_types)
        );
        assert_eq!(
            read.supported_response_types,
            service.supported_response_types
        );
        let names = |s: &Service| -> Vec<(Option<String>, Option<String>, bool)> {
            s.supported_scopes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|x| (x.name, x.description, x.default_entry))
                .collect()
        };
        assert_eq!(names(&read), names(&service));
        assert_eq!(read.access_token_duration, service.access_token_duration);
        let methods = |s: &Service| {
            let mut names: Vec<&str> = s
                .supported_token_auth_methods
                .iter()
                .flatten()
                .map(|m| m.wire_name())
                .collect();
            names.sort_unstable();
            names
        };
        assert_eq!(methods(&read), methods(&service));
        assert_eq!(
            read.supported_claims,
            Some(vec!["email".to_owned(), "email_verified".to_owned()])
        );
        assert_eq!(
            read.other_str("tokenEndpoint"),
            Some("https://as.example.com/token")
        );
        assert_eq!(read.access_token_sign_alg, Some(JwsAlg::Es256));
        assert_eq!(read.id_token_signature_key_id.as_deref(), Some("kid-1"));
        let shown = form_of(&read);
        assert!(
            shown
                .endpoints
                .iter()
                .any(|f| f.value == "https://as.example.com/token")
        );
        assert!(
            shown
                .access_token_algs
                .iter()
                .any(|c| c.checked && c.value == "ES256")
        );
    }

    #[test]
    fn saving_keeps_what_the_form_does_not_show() {
        let mut service = castellan_engine::defaults::service("S", "https://as.example.com");
        let scopes = service.supported_scopes.as_mut().unwrap();
        scopes[0].attributes = Some(vec![castellan_core::model::Pair {
            key: Some("access_token.duration".into()),
            value: Some("60".into()),
        }]);
        let form = form_of(&service);
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("name", &form.name)
            .append_pair("issuer", &form.issuer)
            .append_pair("scopes", &form.scopes)
            .append_pair("access_token_duration", "1")
            .append_pair("refresh_token_duration", "1")
            .append_pair("id_token_duration", "1");
        let read = apply(service.clone(), &Fields::parse(body.finish().as_bytes())).unwrap();
        assert_eq!(
            read.supported_scopes.unwrap()[0].attributes,
            service.supported_scopes.unwrap()[0].attributes
        );
    }

    #[test]
    fn bad_values_are_named() {
        let service = castellan_engine::defaults::service("S", "https://as.example.com");
        let fields = Fields::parse(b"name=S&issuer=https%3A%2F%2Fas.example.com&access_token_duration=soon&refresh_token_duration=1&id_token_duration=1");
        assert!(
            apply(service.clone(), &fields)
                .unwrap_err()
                .contains("access token lifetime")
        );
        let fields = Fields::parse(
            b"name=S&issuer=&access_token_duration=1&refresh_token_duration=1&id_token_duration=1",
        );
        assert!(
            apply(service.clone(), &fields)
                .unwrap_err()
                .contains("issuer")
        );
        let fields = Fields::parse(b"name=S&issuer=https%3A%2F%2Fas.example.com&scopes=two+words&access_token_duration=1&refresh_token_duration=1&id_token_duration=1");
        assert!(
            apply(service.clone(), &fields)
                .unwrap_err()
                .contains("scope name")
        );
        let fields = Fields::parse(b"name=S&issuer=https%3A%2F%2Fas.example.com&endpoint_tokenEndpoint=javascript%3A%2F%2Flocalhost%2F%250aalert(1)&access_token_duration=1&refresh_token_duration=1&id_token_duration=1");
        assert!(
            apply(service, &fields)
                .unwrap_err()
                .contains("token endpoint")
        );
    }
}
