//! Request and response bodies of the protocol APIs, exactly as on the wire (camelCase; nulls
//! omitted; numbers and booleans always present).
//!
//! Requests are lenient the way Authlete's SDKs need: `null`, `0` and `false` mean "not given",
//! unknown members are ignored, and the form-encoded variant (all values strings, lists
//! space-separated) deserialises into the same types.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::enums::{
    Action, AuthorizationFailReason, ClientAuthMethod, Display, GrantType, Prompt, TokenFailReason,
};
use crate::model::{Client, Property, Scope, Service};

// ----- lenient field readers --------------------------------------------------------------

/// A string, or a number written as its decimal form (e.g. `"subject": 1`); `null` and `""` are absent.
pub fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Null | Value::String(_) => None,
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a string, found {}",
                kind(&other)
            )));
        }
    })
}

/// An integer, or a string holding one (form bodies); `null` is 0.
pub fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("expected an integer")),
        Value::String(s) if s.trim().is_empty() => Ok(0),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom("expected an integer")),
        other => Err(serde::de::Error::custom(format!(
            "expected an integer, found {}",
            kind(&other)
        ))),
    }
}

/// A boolean, or `"true"`/`"false"` (form bodies); `null` is false.
pub fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(b),
        Value::String(s) if s.is_empty() || s == "false" => Ok(false),
        Value::String(s) if s == "true" => Ok(true),
        other => Err(serde::de::Error::custom(format!(
            "expected a boolean, found {}",
            kind(&other)
        ))),
    }
}

/// A list of strings, or one space-separated string (form bodies); `null` is absent.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(
            s.split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(serde::de::Error::custom(format!(
                    "expected a string in the list, found {}",
                    kind(&other)
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => Err(serde::de::Error::custom(format!(
            "expected a list of strings, found {}",
            kind(&other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

// ----- requests ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub parameters: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationIssueRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub ticket: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub subject: Option<String>,
    /// Seconds since the epoch.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub auth_time: i64,
    #[serde(default, deserialize_with = "string_or_number")]
    pub acr: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub claims: Option<String>,
    #[serde(default)]
    pub properties: Option<Vec<Property>>,
    #[serde(default, deserialize_with = "string_list")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub sub: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub access_token_duration: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationFailRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub ticket: Option<String>,
    #[serde(default)]
    pub reason: Option<AuthorizationFailReason>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub parameters: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub properties: Option<Vec<Property>>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub access_token_duration: i64,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub refresh_token_duration: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenIssueRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub ticket: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub subject: Option<String>,
    #[serde(default)]
    pub properties: Option<Vec<Property>>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub access_token_duration: i64,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub refresh_token_duration: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenFailRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub ticket: Option<String>,
    #[serde(default)]
    pub reason: Option<TokenFailReason>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntrospectionRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub token: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub subject: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardIntrospectionRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub parameters: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub with_hidden_properties: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevocationRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub parameters: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub client_secret: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoIssueRequest {
    #[serde(default, deserialize_with = "string_or_number")]
    pub token: Option<String>,
    /// Claim values, a JSON object as text.
    #[serde(default)]
    pub claims: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub sub: Option<String>,
}

// ----- responses --------------------------------------------------------------------------

/// The envelope every protocol reply starts with.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub result_code: &'static str,
    pub result_message: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_content: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<Display>,
    pub max_age: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_locales: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_locales: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<String>>,
    pub acr_essential: bool,
    pub client_id_alias_used: bool,
    pub client_entity_id_used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acrs: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<Prompt>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lowest_prompt: Option<Prompt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_claims: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_info_claims: Option<String>,
}

impl AuthorizationResponse {
    pub fn bare(envelope: Envelope) -> Self {
        Self {
            envelope,
            ticket: None,
            service: None,
            client: None,
            display: None,
            max_age: 0,
            scopes: None,
            ui_locales: None,
            claims_locales: None,
            claims: None,
            acr_essential: false,
            client_id_alias_used: false,
            client_entity_id_used: false,
            acrs: None,
            subject: None,
            login_hint: None,
            prompts: None,
            lowest_prompt: None,
            id_token_claims: None,
            user_info_claims: None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationIssueResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    pub access_token_expires_at: i64,
    pub access_token_duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl AuthorizationIssueResponse {
    pub fn bare(envelope: Envelope) -> Self {
        Self {
            envelope,
            authorization_code: None,
            access_token: None,
            access_token_expires_at: 0,
            access_token_duration: 0,
            jwt_access_token: None,
            id_token: None,
        }
    }
}

/// `/auth/authorization/fail`, `/auth/token/fail`: the envelope alone.
#[derive(Clone, Debug, Serialize)]
pub struct EnvelopeOnly {
    #[serde(flatten)]
    pub envelope: Envelope,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    pub access_token_expires_at: i64,
    pub access_token_duration: i64,
    /// The access token as a JWT (RFC 9068), when the service issues them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_access_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub refresh_token_expires_at: i64,
    pub refresh_token_duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<GrantType>,
    pub client_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    pub client_id_alias_used: bool,
    pub client_entity_id_used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<Property>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_auth_method: Option<ClientAuthMethod>,
    #[serde(skip_serializing_if = "is_false")]
    pub previous_refresh_token_used: bool,
}

/// `/auth/token` and `/auth/token/issue`.
#[derive(Clone, Debug, Serialize)]
pub struct TokenResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub fields: TokenFields,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntrospectionFields {
    pub client_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    pub client_id_alias_used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    pub existent: bool,
    pub usable: bool,
    pub sufficient: bool,
    pub refreshable: bool,
    pub expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<Property>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<GrantType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    pub auth_time: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct IntrospectionResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub fields: IntrospectionFields,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoFields {
    pub client_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_alias: Option<String>,
    pub client_id_alias_used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<Property>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_info_claims: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct UserInfoResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub fields: UserInfoFields,
}

/// `/auth/userinfo/issue`: the envelope alone (`responseContent` is the body).
pub type UserInfoIssueResponse = EnvelopeOnly;

/// `/auth/introspection/standard` and `/auth/revocation`: the envelope alone.
pub type StandardIntrospectionResponse = EnvelopeOnly;
pub type RevocationResponse = EnvelopeOnly;
