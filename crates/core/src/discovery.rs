//! The OpenID Provider metadata document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) built
//! from a service's settings: what `/api/service/configuration` returns for the authorization
//! server to serve at `/.well-known/openid-configuration`.
//!
//! Keys come from the service as Authlete maps them. Where Authlete advertises features
//! unconditionally, this document advertises only what Castellan does: no encryption
//! algorithms, no JWT-secured response modes and no request objects until those exist.

use serde_json::{Map, Value, json};

use crate::enums::{ClientAuthMethod, JwsAlg};
use crate::jose::JwkSet;
use crate::model::Service;

/// `(discovery key, Service field)` for the URLs the service advertises.
const ENDPOINTS: &[(&str, &str)] = &[
    ("authorization_endpoint", "authorizationEndpoint"),
    ("token_endpoint", "tokenEndpoint"),
    ("userinfo_endpoint", "userInfoEndpoint"),
    ("jwks_uri", "jwksUri"),
    ("registration_endpoint", "registrationEndpoint"),
    ("revocation_endpoint", "revocationEndpoint"),
    ("introspection_endpoint", "introspectionEndpoint"),
    ("end_session_endpoint", "endSessionEndpoint"),
    (
        "pushed_authorization_request_endpoint",
        "pushedAuthReqEndpoint",
    ),
    (
        "device_authorization_endpoint",
        "deviceAuthorizationEndpoint",
    ),
    (
        "backchannel_authentication_endpoint",
        "backchannelAuthenticationEndpoint",
    ),
    ("grant_management_endpoint", "grantManagementEndpoint"),
    ("service_documentation", "serviceDocumentation"),
    ("op_policy_uri", "policyUri"),
    ("op_tos_uri", "tosUri"),
];

/// `(discovery key, Service field)` for lists of strings advertised as given.
const STRING_LISTS: &[(&str, &str)] = &[
    ("acr_values_supported", "supportedAcrs"),
    ("claims_supported", "supportedClaims"),
    ("claims_locales_supported", "supportedClaimLocales"),
    ("ui_locales_supported", "supportedUiLocales"),
    (
        "authorization_details_types_supported",
        "supportedAuthorizationDetailsTypes",
    ),
];

fn protocol_names<T: Copy>(
    items: Option<&Vec<T>>,
    name: impl Fn(T) -> &'static str,
) -> Option<Value> {
    items.map(|v| Value::from(v.iter().map(|x| name(*x)).collect::<Vec<_>>()))
}

fn auth_methods(methods: Option<&Vec<ClientAuthMethod>>) -> Value {
    protocol_names(methods, ClientAuthMethod::protocol).unwrap_or_else(|| json!([]))
}

/// Every JWS algorithm Castellan signs and verifies with, `none` excluded.
fn signing_algs() -> Value {
    Value::from(
        JwsAlg::ALL
            .iter()
            .filter(|a| **a != JwsAlg::None)
            .map(|a| a.protocol())
            .collect::<Vec<_>>(),
    )
}

/// The metadata document as a JSON object.
pub fn document(service: &Service) -> Map<String, Value> {
    let as_json = serde_json::to_value(service).unwrap_or_default();
    let field = |name: &str| as_json.get(name).filter(|v| !v.is_null()).cloned();
    let mut doc = Map::new();
    doc.insert(
        "issuer".into(),
        Value::from(service.issuer.clone().unwrap_or_default()),
    );
    for (key, source) in ENDPOINTS {
        if let Some(Value::String(url)) = field(source).filter(|v| v.as_str() != Some("")) {
            doc.insert((*key).into(), Value::from(url));
        }
    }
    if let Some(scopes) = &service.supported_scopes {
        let names: Vec<&str> = scopes.iter().map(|s| s.name()).collect();
        doc.insert("scopes_supported".into(), Value::from(names));
    }
    if let Some(v) = protocol_names(service.supported_response_types.as_ref(), |r| r.protocol()) {
        doc.insert("response_types_supported".into(), v);
    }
    doc.insert(
        "response_modes_supported".into(),
        json!(["query", "fragment", "form_post"]),
    );
    if let Some(v) = protocol_names(service.supported_grant_types.as_ref(), |g| g.protocol()) {
        doc.insert("grant_types_supported".into(), v);
    }
    doc.insert(
        "subject_types_supported".into(),
        json!(["public", "pairwise"]),
    );
    doc.insert(
        "id_token_signing_alg_values_supported".into(),
        signing_algs(),
    );
    let mut userinfo_algs = signing_algs();
    if let Value::Array(algs) = &mut userinfo_algs {
        algs.push(Value::from("none"));
    }
    doc.insert(
        "userinfo_signing_alg_values_supported".into(),
        userinfo_algs,
    );
    doc.insert(
        "token_endpoint_auth_methods_supported".into(),
        auth_methods(service.supported_token_auth_methods.as_ref()),
    );
    doc.insert(
        "revocation_endpoint_auth_methods_supported".into(),
        auth_methods(service.supported_revocation_auth_methods.as_ref()),
    );
    doc.insert(
        "introspection_endpoint_auth_methods_supported".into(),
        field("supportedIntrospectionAuthMethods")
            .and_then(|v| serde_json::from_value::<Vec<ClientAuthMethod>>(v).ok())
            .map_or_else(|| json!([]), |m| auth_methods(Some(&m))),
    );
    if let Some(v) = protocol_names(service.supported_displays.as_ref(), |d| d.protocol()) {
        doc.insert("display_values_supported".into(), v);
    }
    if let Some(Value::Array(types)) = field("supportedClaimTypes") {
        let names: Vec<Value> = types
            .iter()
            .filter_map(Value::as_str)
            .map(|t| Value::from(t.to_ascii_lowercase()))
            .collect();
        doc.insert("claim_types_supported".into(), Value::Array(names));
    }
    for (key, source) in STRING_LISTS {
        if let Some(list @ Value::Array(_)) = field(source) {
            doc.insert((*key).into(), list);
        }
    }
    doc.insert("claims_parameter_supported".into(), Value::from(true));
    doc.insert("request_parameter_supported".into(), Value::from(false));
    doc.insert("request_uri_parameter_supported".into(), Value::from(false));
    doc.insert(
        "code_challenge_methods_supported".into(),
        if service.pkce_s256_required {
            json!(["S256"])
        } else {
            json!(["plain", "S256"])
        },
    );
    doc.insert(
        "authorization_response_iss_parameter_supported".into(),
        Value::from(!service.iss_suppressed),
    );
    doc
}

/// What `/api/service/jwks/get` answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksPublication {
    /// The service's JWK Set, as JSON text.
    Keys(String),
    /// No keys registered, but the service names where its keys are (`jwksUri`).
    Elsewhere(String),
    /// Neither.
    Nothing,
}

/// The service's keys as published: private members stripped unless `include_private`.
pub fn published_jwks(service: &Service, pretty: bool, include_private: bool) -> JwksPublication {
    match service.jwks.as_deref().map(JwkSet::parse) {
        Some(Ok(set)) => {
            let set = if include_private { set } else { set.public() };
            JwksPublication::Keys(set.to_json(pretty))
        }
        _ => match service.other_str("jwksUri") {
            Some(uri) => JwksPublication::Elsewhere(uri.to_owned()),
            None => JwksPublication::Nothing,
        },
    }
}

/// Why a patch could not be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchError(pub String);

/// How many operations a configuration patch may hold, and how large (serialized, in bytes)
/// the patched document may grow. `copy` and `move` can double the document with each
/// operation, so the size is checked after every one, before the next can double it again.
pub const MAX_PATCH_OPERATIONS: usize = 100;
pub const MAX_PATCHED_DOCUMENT_BYTES: usize = 256 * 1024;

/// Applies `patch` (RFC 6902, as JSON text) to the document, within the caps above.
pub fn apply_patch(doc: &mut Value, patch: &str) -> Result<(), PatchError> {
    let patch: json_patch::Patch = serde_json::from_str(patch)
        .map_err(|e| PatchError(format!("'patch' is not a JSON Patch: {e}")))?;
    if patch.0.len() > MAX_PATCH_OPERATIONS {
        return Err(PatchError(format!(
            "'patch' has {} operations; at most {MAX_PATCH_OPERATIONS} are allowed.",
            patch.0.len()
        )));
    }
    for (index, operation) in patch.0.iter().enumerate() {
        json_patch::patch(doc, std::slice::from_ref(operation)).map_err(|e| {
            PatchError(format!(
                "'patch' could not be applied: operation {index}: {}",
                e.kind
            ))
        })?;
        if !fits(doc, MAX_PATCHED_DOCUMENT_BYTES) {
            return Err(PatchError(format!(
                "'patch' makes the document larger than {MAX_PATCHED_DOCUMENT_BYTES} bytes."
            )));
        }
    }
    Ok(())
}

/// Whether `value` serializes to at most `limit` bytes; stops writing once past it.
fn fits(value: &Value, limit: usize) -> bool {
    struct Budget(usize);
    impl std::io::Write for Budget {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self
                .0
                .checked_sub(buf.len())
                .ok_or_else(|| std::io::Error::other("over the limit"))?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(Budget(limit), value).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn service() -> Service {
        serde_json::from_value(json!({
            "issuer": "https://as.example.com",
            "authorizationEndpoint": "https://as.example.com/authorize",
            "tokenEndpoint": "https://as.example.com/token",
            "userInfoEndpoint": "https://as.example.com/userinfo",
            "jwksUri": "https://as.example.com/jwks",
            "revocationEndpoint": "",
            "supportedScopes": [{"name": "openid"}, {"name": "profile"}],
            "supportedResponseTypes": ["CODE", "CODE_ID_TOKEN"],
            "supportedGrantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
            "supportedTokenAuthMethods": ["CLIENT_SECRET_BASIC", "NONE"],
            "supportedClaims": ["sub", "name"],
            "supportedClaimTypes": ["NORMAL"],
            "pkceS256Required": true
        }))
        .unwrap()
    }

    #[test]
    fn maps_the_service_settings() {
        let doc = document(&service());
        assert_eq!(doc["issuer"], "https://as.example.com");
        assert_eq!(
            doc["authorization_endpoint"],
            "https://as.example.com/authorize"
        );
        assert_eq!(doc["userinfo_endpoint"], "https://as.example.com/userinfo");
        assert_eq!(doc["jwks_uri"], "https://as.example.com/jwks");
        assert!(
            !doc.contains_key("revocation_endpoint"),
            "empty URLs are not advertised"
        );
        assert_eq!(doc["scopes_supported"], json!(["openid", "profile"]));
        assert_eq!(
            doc["response_types_supported"],
            json!(["code", "code id_token"])
        );
        assert_eq!(
            doc["grant_types_supported"],
            json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "none"])
        );
        assert_eq!(doc["revocation_endpoint_auth_methods_supported"], json!([]));
        assert_eq!(doc["claims_supported"], json!(["sub", "name"]));
        assert_eq!(doc["claim_types_supported"], json!(["normal"]));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        let algs = doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap();
        assert!(algs.contains(&json!("RS256")) && algs.contains(&json!("EdDSA")));
        assert!(!algs.contains(&json!("none")));
        assert!(
            doc["userinfo_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("none"))
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    }

    #[test]
    fn jwks_publication() {
        let mut s = service();
        assert_eq!(
            published_jwks(&s, false, false),
            JwksPublication::Elsewhere("https://as.example.com/jwks".into())
        );
        s.other.remove("jwksUri");
        assert_eq!(published_jwks(&s, false, false), JwksPublication::Nothing);
        s.jwks = Some(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}"#.into());
        let JwksPublication::Keys(public) = published_jwks(&s, false, false) else {
            panic!("keys expected");
        };
        assert!(!public.contains("\"d\""));
        let JwksPublication::Keys(private) = published_jwks(&s, true, true) else {
            panic!("keys expected");
        };
        assert!(private.contains("\"d\"") && private.contains('\n'));
    }

    #[test]
    fn patches_apply_and_bad_ones_are_errors() {
        let mut doc = Value::Object(document(&service()));
        apply_patch(
            &mut doc,
            r#"[{"op":"replace","path":"/subject_types_supported","value":["public"]},
                {"op":"add","path":"/x_custom","value":1},
                {"op":"remove","path":"/claims_supported"}]"#,
        )
        .unwrap();
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert_eq!(doc["x_custom"], 1);
        assert!(doc.get("claims_supported").is_none());
        assert!(apply_patch(&mut doc, "{").is_err());
        assert!(apply_patch(&mut doc, r#"[{"op":"remove","path":"/nope"}]"#).is_err());
    }

    #[test]
    fn patches_cannot_blow_the_document_up() {
        // Each copy of the root doubles the document: 17 of them once took 1.6 GB.
        let copies: Vec<Value> = (0..17)
            .map(|i| json!({"op": "copy", "from": "", "path": format!("/c{i}")}))
            .collect();
        let mut doc = Value::Object(document(&service()));
        let err = apply_patch(&mut doc, &Value::Array(copies).to_string()).unwrap_err();
        assert!(err.0.contains("larger than"), "{}", err.0);

        let too_many: Vec<Value> = (0..=MAX_PATCH_OPERATIONS)
            .map(|i| json!({"op": "add", "path": format!("/x{i}"), "value": i}))
            .collect();
        let mut doc = Value::Object(document(&service()));
        let err = apply_patch(&mut doc, &Value::Array(too_many).to_string()).unwrap_err();
        assert!(err.0.contains("operations"), "{}", err.0);

        let big =
            json!([{"op": "add", "path": "/big", "value": "x".repeat(MAX_PATCHED_DOCUMENT_BYTES)}]);
        let mut doc = Value::Object(document(&service()));
        assert!(apply_patch(&mut doc, &big.to_string()).is_err());
    }
}
