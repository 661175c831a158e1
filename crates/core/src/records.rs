//! What the engine persists between calls: tickets, authorization codes and tokens.
//!
//! Core builds and reads these; storage keeps them keyed by the hash of their secret value and
//! never sees the value itself.

use serde::{Deserialize, Serialize};

use crate::enums::{CodeChallengeMethod, GrantType, Prompt, ResponseMode, ResponseType};
use crate::model::Property;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// When something that lives `seconds` from `now` expires. Saturating, and `seconds` is cut to
/// [`crate::model::MAX_TOKEN_DURATION_SECONDS`], so no setting can wrap an expiry into the past.
pub fn expires_at(now: Millis, seconds: i64) -> Millis {
    let seconds = seconds.clamp(0, crate::model::MAX_TOKEN_DURATION_SECONDS);
    now.saturating_add(seconds.saturating_mul(1000))
}

/// Lifetime of an authorization ticket (Authlete: 24 hours).
pub const AUTHORIZATION_TICKET_LIFETIME_MS: Millis = 24 * 3600 * 1000;
/// Lifetime of a token ticket (password grant).
pub const TOKEN_TICKET_LIFETIME_MS: Millis = 24 * 3600 * 1000;
/// Lifetime of an authorization code (Authlete: 10 minutes).
pub const AUTHORIZATION_CODE_LIFETIME_MS: Millis = 10 * 60 * 1000;

/// The two kinds of single-use ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketKind {
    Authorization,
    Token,
}

impl TicketKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Authorization => "authorization",
            TicketKind::Token => "token",
        }
    }
}

/// A validated authorization request waiting for `/auth/authorization/issue` or `/fail`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationTicket {
    pub service_api_key: i64,
    pub client_id: i64,
    pub client_id_alias_used: bool,
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    /// Where the response goes: the request's `redirect_uri`, or the only registered one.
    pub redirect_uri: String,
    /// Whether the request named `redirect_uri` explicitly (the token request must then repeat it).
    pub redirect_uri_given: bool,
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<CodeChallengeMethod>,
    #[serde(default)]
    pub max_age: i32,
    #[serde(default)]
    pub prompts: Vec<Prompt>,
    #[serde(default)]
    pub acrs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
    pub expires_at: Millis,
}

/// A password-grant request waiting for `/auth/token/issue` or `/fail`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenTicket {
    pub service_api_key: i64,
    pub client_id: i64,
    pub client_id_alias_used: bool,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub properties: Vec<Property>,
    pub expires_at: Millis,
}

/// An issued authorization code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub service_api_key: i64,
    pub client_id: i64,
    pub client_id_alias_used: bool,
    pub subject: String,
    pub scopes: Vec<String>,
    /// The `redirect_uri` of the authorization request, when it named one explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<CodeChallengeMethod>,
    /// Authentication time of the end-user, seconds since the epoch (0 = unknown).
    #[serde(default)]
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
    /// The `userinfo` member of the request's `claims` parameter (JSON), for `/auth/userinfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_claims: Option<String>,
    #[serde(default)]
    pub properties: Vec<Property>,
    /// Identifies the grant: every token issued from this code (and its refreshes) carries it,
    /// so a replay of the code can revoke them all.
    pub grant_id: String,
    /// Access-token lifetime asked for at issue time (0 = service rules).
    #[serde(default)]
    pub access_token_duration: i64,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// An access token and, when one was issued, its refresh token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub service_api_key: i64,
    pub client_id: i64,
    pub client_id_alias_used: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub scopes: Vec<String>,
    pub grant_type: GrantType,
    pub grant_id: String,
    pub access_expires_at: Millis,
    /// 0 when no refresh token was issued.
    #[serde(default)]
    pub refresh_expires_at: Millis,
    #[serde(default)]
    pub properties: Vec<Property>,
    #[serde(default)]
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The `userinfo` member of the authorization request's `claims` parameter (JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_claims: Option<String>,
    pub created_at: Millis,
    #[serde(default)]
    pub last_refreshed_at: Millis,
}

impl TokenRecord {
    pub fn has_refresh_token(&self) -> bool {
        self.refresh_expires_at > 0
    }

    /// When the record is no longer usable for anything and may be purged.
    pub fn dead_at(&self) -> Millis {
        self.access_expires_at.max(self.refresh_expires_at)
    }
}

/// What `/auth/authorization` and friends need to know about a response type for building
/// redirects.
pub fn default_response_mode(response_type: ResponseType) -> ResponseMode {
    if response_type.has_token() || response_type.has_id_token() {
        ResponseMode::Fragment
    } else {
        ResponseMode::Query
    }
}
