//! The Service and Client objects of the Authlete 2.x data model, and the small value objects
//! they embed.
//!
//! Fields the engine honours are typed; every other field a caller sends is kept verbatim in
//! `other` and returned as given, so no part of an SDK's object is lost. Primitive fields accept
//! `null` as "not given" (the Java SDK serialises nulls), and are always present on output;
//! optional strings, lists and objects are omitted when absent.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::enums::{
    ApplicationType, ClientAuthMethod, ClientType, Display, GrantType, JwsAlg, ResponseType,
    SubjectType,
};

/// Deserialises `null` as the type's default value.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Access-token lifetime used when a service says 0.
pub const DEFAULT_ACCESS_TOKEN_DURATION: i64 = 86_400;
/// Refresh-token lifetime used when a service says 0.
pub const DEFAULT_REFRESH_TOKEN_DURATION: i64 = 864_000;
/// ID-token lifetime used when a service says 0.
pub const DEFAULT_ID_TOKEN_DURATION: i64 = 86_400;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaggedValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Extra data attached to a token. Hidden properties are never shown to clients.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Property {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub hidden: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub default_entry: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptions: Option<Vec<TaggedValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<Pair>>,
}

impl Scope {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The value of a scope attribute such as `access_token.duration`.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .flatten()
            .find(|p| p.key.as_deref() == Some(key))
            .and_then(|p| p.value.as_deref())
    }
}

/// A service: one authorization server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default, deserialize_with = "nullable")]
    pub number: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub service_owner_number: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub api_key: i64,
    /// Output only, and only in the reply that creates the service: it is stored hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub modified_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Vec<Pair>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<Pair>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_grant_types: Option<Vec<GrantType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_response_types: Option<Vec<ResponseType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_scopes: Option<Vec<Scope>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_token_auth_methods: Option<Vec<ClientAuthMethod>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_revocation_auth_methods: Option<Vec<ClientAuthMethod>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_displays: Option<Vec<Display>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_ui_locales: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_claim_locales: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_acrs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_claims: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub pkce_required: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub pkce_s256_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub access_token_duration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_token_duration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub id_token_duration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_token_kept: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_token_duration_kept: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_token_duration_reset: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub token_expiration_linked: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub single_access_token_per_subject: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub scope_required: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub missing_client_id_allowed: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub client_id_alias_enabled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub error_description_omitted: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub error_uri_omitted: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub iss_suppressed: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub loopback_redirection_uri_variable: bool,
    /// The service's JWK Set with private keys, as text. Stored encrypted; storage records
    /// hold it apart from the rest of the service, so this is `None` inside them. Shared, so
    /// copies of a service (there is one per authorization response) do not copy the keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<std::sync::Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_signature_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info_signature_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_signature_key_id: Option<String>,
    /// Set: access tokens are also issued as JWTs signed with this algorithm (RFC 9068).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_sign_alg: Option<JwsAlg>,
    /// Every other field of the object, kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Fields of a Service that only the server sets; ignored on input.
pub const SERVICE_OUTPUT_ONLY: &[&str] = &[
    "number",
    "serviceOwnerNumber",
    "apiKey",
    "apiSecret",
    "createdAt",
    "modifiedAt",
    "metadata",
    "hsks",
];

impl Service {
    /// Drops `null` members of `other`, so they are omitted on output like the typed ones.
    pub fn normalize(&mut self) {
        self.other.retain(|_, v| !v.is_null());
        for key in SERVICE_OUTPUT_ONLY {
            self.other.remove(*key);
        }
    }

    pub fn supports_grant_type(&self, g: GrantType) -> bool {
        self.supported_grant_types.iter().flatten().any(|x| *x == g)
    }

    pub fn supports_response_type(&self, r: ResponseType) -> bool {
        self.supported_response_types
            .iter()
            .flatten()
            .any(|x| *x == r)
    }

    pub fn scope(&self, name: &str) -> Option<&Scope> {
        self.supported_scopes
            .iter()
            .flatten()
            .find(|s| s.name() == name)
    }

    pub fn default_scopes(&self) -> Vec<String> {
        self.supported_scopes
            .iter()
            .flatten()
            .filter(|s| s.default_entry)
            .map(|s| s.name().to_owned())
            .collect()
    }

    pub fn token_type(&self) -> &str {
        match self.access_token_type.as_deref() {
            Some(t) if !t.is_empty() => t,
            _ => "Bearer",
        }
    }

    pub fn access_token_duration(&self) -> i64 {
        positive_or(self.access_token_duration, DEFAULT_ACCESS_TOKEN_DURATION)
    }

    pub fn refresh_token_duration(&self) -> i64 {
        positive_or(self.refresh_token_duration, DEFAULT_REFRESH_TOKEN_DURATION)
    }

    pub fn id_token_duration(&self) -> i64 {
        positive_or(self.id_token_duration, DEFAULT_ID_TOKEN_DURATION)
    }

    /// A member kept verbatim in `other` (endpoints, URIs and the many settings the engine
    /// only reports), as a string.
    pub fn other_str(&self, name: &str) -> Option<&str> {
        self.other
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// The longest token lifetime, in seconds (100 years): longer values are refused when services
/// and clients are saved, and anything longer that reaches a computation is cut to it, so an
/// expiry time can never overflow.
pub const MAX_TOKEN_DURATION_SECONDS: i64 = 100 * 365 * 86_400;

fn positive_or(value: i64, default: i64) -> i64 {
    if value > 0 {
        value.min(MAX_TOKEN_DURATION_SECONDS)
    } else {
        default
    }
}

/// Settings of a client that only the service owner may change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientExtension {
    #[serde(default, deserialize_with = "nullable")]
    pub requestable_scopes_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requestable_scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub access_token_duration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_token_duration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub token_exchange_permitted: bool,
}

/// A client application registered in a service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    #[serde(default, deserialize_with = "nullable")]
    pub number: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub service_number: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub developer: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub client_id: i64,
    /// Output only; stored encrypted, never in the clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub client_id_alias_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_type: Option<ClientType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<ApplicationType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<ResponseType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<GrantType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_auth_method: Option<ClientAuthMethod>,
    #[serde(default, deserialize_with = "nullable")]
    pub default_max_age: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_acrs: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub pkce_required: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub pkce_s256_required: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub single_access_token_per_subject: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub locked: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub dynamically_registered: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<SubjectType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_sector_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_sign_alg: Option<JwsAlg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_info_sign_alg: Option<JwsAlg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ClientExtension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<Pair>>,
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub modified_at: i64,
    /// Every other field of the object, kept as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// Fields of a Client that only the server sets; ignored on input.
pub const CLIENT_OUTPUT_ONLY: &[&str] = &[
    "number",
    "serviceNumber",
    "clientId",
    "clientSecret",
    "createdAt",
    "modifiedAt",
    "dynamicallyRegistered",
    "registrationAccessTokenHash",
    "derivedSectorIdentifier",
    "locked",
];

impl Client {
    /// Drops `null` members of `other` and output-only members, and fills the documented defaults.
    pub fn normalize(&mut self) {
        self.other.retain(|_, v| !v.is_null());
        for key in CLIENT_OUTPUT_ONLY {
            self.other.remove(*key);
        }
        if self.token_auth_method.is_none() {
            self.token_auth_method = Some(if self.client_type == Some(ClientType::Public) {
                ClientAuthMethod::None
            } else {
                ClientAuthMethod::ClientSecretBasic
            });
        }
        if self.client_type.is_none() {
            self.client_type = Some(if self.token_auth_method == Some(ClientAuthMethod::None) {
                ClientType::Public
            } else {
                ClientType::Confidential
            });
        }
        if self.subject_type.is_none() {
            self.subject_type = Some(SubjectType::Public);
        }
        if self.id_token_sign_alg.is_none() {
            self.id_token_sign_alg = Some(JwsAlg::Rs256);
        }
        if self.extension.is_none() {
            self.extension = Some(ClientExtension::default());
        }
        self.derived_sector_identifier = self.derive_sector_identifier();
    }

    /// The sector pairwise subjects are computed for (OIDC Core §8.1): the host every redirect
    /// URI shares. A `sectorIdentifierUri` would let redirect URIs of several hosts share a
    /// sector only after its document was fetched and found to list them; it is not fetched, so
    /// it is not trusted (a client could otherwise claim another's sector and correlate users).
    fn derive_sector_identifier(&self) -> Option<String> {
        let host = |uri: &str| {
            url::Url::parse(uri)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
        };
        let mut hosts = self.redirect_uris().iter().map(|u| host(u));
        let first = hosts.next()??;
        hosts.all(|h| h.as_deref() == Some(&first)).then_some(first)
    }

    pub fn client_type(&self) -> ClientType {
        self.client_type.unwrap_or(ClientType::Confidential)
    }

    pub fn is_public(&self) -> bool {
        self.client_type() == ClientType::Public
    }

    pub fn token_auth_method(&self) -> ClientAuthMethod {
        self.token_auth_method
            .unwrap_or(ClientAuthMethod::ClientSecretBasic)
    }

    pub fn declares_grant_type(&self, g: GrantType) -> bool {
        self.grant_types.iter().flatten().any(|x| *x == g)
    }

    pub fn declares_response_type(&self, r: ResponseType) -> bool {
        self.response_types.iter().flatten().any(|x| *x == r)
    }

    pub fn redirect_uris(&self) -> &[String] {
        self.redirect_uris.as_deref().unwrap_or(&[])
    }

    /// The scopes this client may obtain, when the service owner restricted them.
    pub fn requestable_scopes(&self) -> Option<&[String]> {
        match &self.extension {
            Some(ext) if ext.requestable_scopes_enabled => {
                Some(ext.requestable_scopes.as_deref().unwrap_or(&[]))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_zeros_and_unknown_fields() {
        let json = r#"{"serviceName":"s","apiKey":null,"pkceRequired":null,"accessTokenDuration":0,
            "supportedScopes":null,"issuer":"https://as.example.com","tosUri":"https://t","hsmEnabled":false,"x":null}"#;
        let mut s: Service = serde_json::from_str(json).unwrap_or_default();
        s.normalize();
        assert_eq!(s.service_name.as_deref(), Some("s"));
        assert_eq!(s.api_key, 0);
        assert!(!s.pkce_required);
        assert_eq!(s.access_token_duration(), DEFAULT_ACCESS_TOKEN_DURATION);
        assert_eq!(s.other.get("tosUri"), Some(&Value::from("https://t")));
        assert_eq!(s.other.get("hsmEnabled"), Some(&Value::from(false)));
        assert!(!s.other.contains_key("x"));
        let out = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(out["pkceRequired"], Value::from(false));
        assert_eq!(out["number"], Value::from(0));
        assert!(out.get("supportedScopes").is_none());
    }

    #[test]
    fn client_defaults() {
        let mut c: Client =
            serde_json::from_str(r#"{"clientName":"c","redirectUris":["https://c.example/cb"]}"#)
                .unwrap_or_default();
        c.normalize();
        assert_eq!(c.token_auth_method(), ClientAuthMethod::ClientSecretBasic);
        assert_eq!(c.client_type(), ClientType::Confidential);
        assert_eq!(c.derived_sector_identifier.as_deref(), Some("c.example"));
        let mut two: Client = serde_json::from_str(
            r#"{"redirectUris":["https://c.example/a","https://c.example/b"]}"#,
        )
        .unwrap_or_default();
        two.normalize();
        assert_eq!(two.derived_sector_identifier.as_deref(), Some("c.example"));
        let mut mixed: Client = serde_json::from_str(
            r#"{"redirectUris":["https://c.example/a","https://d.example/b"]}"#,
        )
        .unwrap_or_default();
        mixed.normalize();
        assert_eq!(mixed.derived_sector_identifier, None);
        // An unverified sectorIdentifierUri does not claim a sector.
        mixed.other.insert(
            "sectorIdentifierUri".into(),
            Value::from("https://s.example/x.json"),
        );
        mixed.normalize();
        assert_eq!(mixed.derived_sector_identifier, None);
        let mut p: Client = serde_json::from_str(r#"{"clientType":"PUBLIC"}"#).unwrap_or_default();
        p.normalize();
        assert_eq!(p.token_auth_method(), ClientAuthMethod::None);
    }

    #[test]
    fn unknown_enum_value_is_an_error() {
        assert!(
            serde_json::from_str::<Client>(r#"{"grantTypes":["authorization_code"]}"#).is_err()
        );
    }
}
