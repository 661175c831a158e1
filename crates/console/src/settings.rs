//! A service's settings as the edit form shows them, and the form read back into a service.

use castellan_core::enums::{GrantType, ResponseType};
use castellan_core::model::{Scope, Service};

use crate::form::Fields;
use crate::pages::{Choice, ServiceForm};

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
        _ => return None,
    })
}

fn choices<T: Copy + PartialEq>(
    all: &[T],
    chosen: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<Choice> {
    all.iter()
        .map(|&v| Choice {
            value: value(v).to_owned(),
            label: label(v).to_owned(),
            checked: chosen.contains(&v),
        })
        .collect()
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
        scopes: scope_lines(service.supported_scopes.as_deref().unwrap_or_default()),
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

fn parse_scopes(text: &str) -> Result<Vec<Scope>, String> {
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
        let mut scope = Scope {
            name: Some(name.to_owned()),
            ..Scope::default()
        };
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

/// `service` with the settings of the form; a message for the first invalid field.
pub fn apply(mut service: Service, fields: &Fields) -> Result<Service, String> {
    let name = fields.get("name");
    if name.is_empty() || name.chars().count() > 100 {
        return Err("The name must have 1 to 100 characters.".into());
    }
    service.service_name = Some(name.to_owned());
    service.issuer = Some(fields.get("issuer").to_owned());
    let description = fields.get("description");
    service.description = (!description.is_empty()).then(|| description.to_owned());
    service.supported_grant_types = Some(
        fields
            .all("grant_type")
            .into_iter()
            .filter_map(GrantType::from_wire_name)
            .collect(),
    );
    service.supported_response_types = Some(
        fields
            .all("response_type")
            .into_iter()
            .filter_map(ResponseType::from_wire_name)
            .collect(),
    );
    service.supported_scopes = Some(parse_scopes(fields.get("scopes"))?);
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
    }

    #[test]
    fn bad_values_are_named() {
        let service = castellan_engine::defaults::service("S", "https://as.example.com");
        let fields = Fields::parse(b"name=S&issuer=x&access_token_duration=soon&refresh_token_duration=1&id_token_duration=1");
        assert!(
            apply(service.clone(), &fields)
                .unwrap_err()
                .contains("access token lifetime")
        );
        let fields = Fields::parse(b"name=S&scopes=two+words&access_token_duration=1&refresh_token_duration=1&id_token_duration=1");
        assert!(apply(service, &fields).unwrap_err().contains("scope name"));
    }
}
