//! A client's settings as the Developer Console's form shows them, and the form read back.
//! Settings the data model keeps beside its typed fields (logo, policy and terms URIs, contacts,
//! JWK Set and its URI) travel under their Authlete names in `Client.other`.

use castellan_core::enums::{
    ApplicationType, ClientAuthMethod, ClientType, GrantType, JwsAlg, ResponseType, SubjectType,
};
use castellan_core::model::Client;
use serde_json::Value;

use crate::form::{Fields, choices};
use crate::pages::{AppFormFields, Choice};

fn other_text(client: &Client, name: &str) -> String {
    client
        .other
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

pub fn form_of(client: &Client) -> AppFormFields {
    let one = |v: Option<ClientType>| v.into_iter().collect::<Vec<_>>();
    AppFormFields {
        client_name: client.client_name.clone().unwrap_or_default(),
        description: client.description.clone().unwrap_or_default(),
        client_types: choices(
            ClientType::ALL,
            &one(client.client_type.or(Some(ClientType::Confidential))),
            ClientType::wire_name,
            ClientType::protocol,
        ),
        application_types: choices(
            ApplicationType::ALL,
            &client
                .application_type
                .or(Some(ApplicationType::Web))
                .into_iter()
                .collect::<Vec<_>>(),
            ApplicationType::wire_name,
            ApplicationType::protocol,
        ),
        redirect_uris: client.redirect_uris.clone().unwrap_or_default().join("\n"),
        grant_types: choices(
            GrantType::ALL,
            client.grant_types.as_deref().unwrap_or_default(),
            GrantType::wire_name,
            GrantType::protocol,
        ),
        response_types: choices(
            ResponseType::ALL,
            client.response_types.as_deref().unwrap_or_default(),
            ResponseType::wire_name,
            ResponseType::protocol,
        ),
        auth_methods: choices(
            ClientAuthMethod::ALL,
            &client
                .token_auth_method
                .or(Some(ClientAuthMethod::ClientSecretBasic))
                .into_iter()
                .collect::<Vec<_>>(),
            ClientAuthMethod::wire_name,
            ClientAuthMethod::protocol,
        ),
        sign_algs: choices(
            &JwsAlg::ALL
                .iter()
                .copied()
                .filter(|a| *a != JwsAlg::None)
                .collect::<Vec<_>>(),
            &client
                .id_token_sign_alg
                .or(Some(JwsAlg::Rs256))
                .into_iter()
                .collect::<Vec<_>>(),
            JwsAlg::wire_name,
            JwsAlg::protocol,
        ),
        subject_types: choices(
            SubjectType::ALL,
            &client
                .subject_type
                .or(Some(SubjectType::Public))
                .into_iter()
                .collect::<Vec<_>>(),
            SubjectType::wire_name,
            SubjectType::protocol,
        ),
        userinfo_algs: std::iter::once(Choice {
            value: String::new(),
            label: "none (plain JSON)".into(),
            checked: client.user_info_sign_alg.is_none(),
        })
        .chain(
            JwsAlg::ALL
                .iter()
                .filter(|a| **a != JwsAlg::None)
                .map(|a| Choice {
                    value: a.wire_name().to_owned(),
                    label: a.protocol().to_owned(),
                    checked: client.user_info_sign_alg == Some(*a),
                }),
        )
        .collect(),
        default_max_age: client.default_max_age.to_string(),
        pkce_required: client.pkce_required,
        logo_uri: other_text(client, "logoUri"),
        policy_uri: other_text(client, "policyUri"),
        tos_uri: other_text(client, "tosUri"),
        contacts: client
            .other
            .get("contacts")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        jwks_uri: other_text(client, "jwksUri"),
        jwks: other_text(client, "jwks"),
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn set_other(client: &mut Client, name: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            client.other.insert(name.to_owned(), v);
        }
        None => {
            client.other.remove(name);
        }
    }
}

fn https_or_empty(fields: &Fields, name: &str, label: &str) -> Result<Option<Value>, String> {
    let value = fields.get(name);
    if value.is_empty() {
        return Ok(None);
    }
    match url::Url::parse(value) {
        Ok(u) if u.scheme() == "https" => Ok(Some(Value::String(value.to_owned()))),
        _ => Err(format!("The {label} must be an https URL.")),
    }
}

/// `client` with the settings of the form; a message for the first invalid field.
pub fn apply(mut client: Client, fields: &Fields) -> Result<Client, String> {
    let name = fields.get("client_name");
    if name.is_empty() || name.chars().count() > 100 {
        return Err("The name must have 1 to 100 characters.".into());
    }
    let description = fields.get("description");
    if description.chars().count() > 200 {
        return Err("The description has at most 200 characters.".into());
    }
    client.client_name = Some(name.to_owned());
    client.description = (!description.is_empty()).then(|| description.to_owned());
    client.client_type =
        Some(ClientType::from_wire_name(fields.get("client_type")).ok_or("Choose a client type.")?);
    client.application_type = Some(
        ApplicationType::from_wire_name(fields.get("application_type"))
            .ok_or("Choose an application type.")?,
    );
    let redirect_uris = lines(fields.get("redirect_uris"));
    for uri in &redirect_uris {
        match url::Url::parse(uri) {
            Ok(url)
                if !matches!(
                    url.scheme(),
                    "javascript" | "data" | "vbscript" | "file" | "blob" | "about"
                ) => {}
            _ => {
                return Err(format!(
                    "“{uri}” is not a redirect URI an application can receive."
                ));
            }
        }
    }
    client.redirect_uris = Some(redirect_uris);
    client.grant_types = Some(fields.parsed("grant_type", GrantType::from_wire_name));
    client.response_types = Some(fields.parsed("response_type", ResponseType::from_wire_name));
    client.token_auth_method = Some(
        ClientAuthMethod::from_wire_name(fields.get("token_auth_method"))
            .ok_or("Choose how the client authenticates.")?,
    );
    client.id_token_sign_alg = Some(
        JwsAlg::from_wire_name(fields.get("id_token_sign_alg"))
            .filter(|a| *a != JwsAlg::None)
            .ok_or("Choose an ID token signing algorithm.")?,
    );
    client.subject_type = Some(
        SubjectType::from_wire_name(fields.get("subject_type")).ok_or("Choose a subject type.")?,
    );
    client.user_info_sign_alg = match fields.get("user_info_sign_alg") {
        "" => None,
        alg => Some(
            JwsAlg::from_wire_name(alg)
                .filter(|a| *a != JwsAlg::None)
                .ok_or("Choose a userinfo signing algorithm.")?,
        ),
    };
    client.default_max_age = match fields.get("default_max_age") {
        "" => 0,
        text => text
            .parse::<i32>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or("The default max_age is a whole number of seconds.")?,
    };
    client.pkce_required = fields.get("pkce_required") == "on";
    if client.client_type == Some(ClientType::Public)
        && client.token_auth_method != Some(ClientAuthMethod::None)
    {
        return Err(
            "A public client cannot hold a secret: choose “none” for its authentication.".into(),
        );
    }
    set_other(
        &mut client,
        "logoUri",
        https_or_empty(fields, "logo_uri", "logo URI")?,
    );
    set_other(
        &mut client,
        "policyUri",
        https_or_empty(fields, "policy_uri", "privacy policy URI")?,
    );
    set_other(
        &mut client,
        "tosUri",
        https_or_empty(fields, "tos_uri", "terms of service URI")?,
    );
    let contacts = lines(fields.get("contacts"));
    if contacts
        .iter()
        .any(|c| !c.contains('@') || c.chars().any(char::is_whitespace))
    {
        return Err("Contacts are e-mail addresses, one per line.".into());
    }
    set_other(
        &mut client,
        "contacts",
        (!contacts.is_empty()).then(|| Value::from(contacts)),
    );
    let jwks_uri = https_or_empty(fields, "jwks_uri", "JWK Set URI")?;
    let jwks = fields.get("jwks");
    if !jwks.is_empty() {
        let parsed: Value =
            serde_json::from_str(jwks).map_err(|_| "The JWK Set is not JSON.".to_owned())?;
        if !parsed.get("keys").is_some_and(Value::is_array) {
            return Err("The JWK Set must be an object with a \"keys\" array.".into());
        }
        if jwks_uri.is_some() {
            return Err("Give a JWK Set or its URI, not both.".into());
        }
    }
    set_other(&mut client, "jwksUri", jwks_uri);
    set_other(
        &mut client,
        "jwks",
        (!jwks.is_empty()).then(|| Value::String(jwks.to_owned())),
    );
    Ok(client)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn body(pairs: &[(&str, &str)]) -> Fields {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        Fields::parse(s.finish().as_bytes())
    }

    const BASE: &[(&str, &str)] = &[
        ("client_name", "App"),
        ("client_type", "CONFIDENTIAL"),
        ("application_type", "WEB"),
        (
            "redirect_uris",
            "https://app.example.com/cb\n\nhttps://app.example.com/cb2",
        ),
        ("grant_type", "AUTHORIZATION_CODE"),
        ("grant_type", "REFRESH_TOKEN"),
        ("response_type", "CODE"),
        ("token_auth_method", "CLIENT_SECRET_BASIC"),
        ("id_token_sign_alg", "ES256"),
        ("subject_type", "PAIRWISE"),
        ("user_info_sign_alg", "EdDSA"),
        ("default_max_age", "600"),
        ("pkce_required", "on"),
        ("logo_uri", "https://app.example.com/logo.png"),
        ("contacts", "ops@app.example.com"),
        ("jwks", "{\"keys\":[]}"),
    ];

    #[test]
    fn the_form_round_trips() {
        let client = apply(Client::default(), &body(BASE)).unwrap();
        assert_eq!(client.redirect_uris.as_ref().unwrap().len(), 2);
        assert_eq!(client.id_token_sign_alg, Some(JwsAlg::Es256));
        assert_eq!(client.default_max_age, 600);
        assert_eq!(client.subject_type, Some(SubjectType::Pairwise));
        assert_eq!(client.user_info_sign_alg, Some(JwsAlg::EdDsa));
        assert!(client.pkce_required);
        assert_eq!(
            client.other["contacts"],
            serde_json::json!(["ops@app.example.com"])
        );
        let form = form_of(&client);
        assert_eq!(form.logo_uri, "https://app.example.com/logo.png");
        assert_eq!(form.jwks, "{\"keys\":[]}");
        assert!(form.grant_types.iter().filter(|c| c.checked).count() == 2);
    }

    #[test]
    fn bad_values_are_named() {
        let with = |name: &str, value: &str| {
            let mut pairs: Vec<(&str, &str)> =
                BASE.iter().copied().filter(|(k, _)| *k != name).collect();
            pairs.push((name, value));
            apply(Client::default(), &body(&pairs)).unwrap_err()
        };
        assert!(with("logo_uri", "http://plain.example.com/x").contains("https"));
        assert!(with("jwks", "{").contains("JSON"));
        assert!(with("contacts", "not an address").contains("e-mail"));
        assert!(with("client_type", "PUBLIC").contains("public client"));
        assert!(with("default_max_age", "-1").contains("max_age"));
        assert!(with("redirect_uris", "javascript:alert(1)").contains("redirect URI"));
        assert!(with("id_token_sign_alg", "NONE").contains("algorithm"));
    }
}
