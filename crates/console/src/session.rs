//! Console sessions, held by the browser in a sealed cookie (AES-256-GCM under a key derived
//! from the master key, the same sealing as client secrets), so any node can read them and none
//! keeps state. A session names who signed in (the owner, or a developer of one service),
//! carries its CSRF token, and ends after [`IDLE_LIMIT_S`] without use or [`ABSOLUTE_LIMIT_S`]
//! after sign-in. Owner and developer sessions live in different cookies, and a developer's
//! cookie is scoped to the path of their service's console.
//!
//! Revocation: a session carries the epoch its principal had at sign-in, checked on every
//! request against the current one. The epoch joins a value kept in the store (replaced by
//! sign-out, so every session of that principal ends on every node) and a fingerprint of the
//! principal's credential (so a new owner secret or developer password ends the old sessions).

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use castellan_core::secret::{Entropy, SecretKeys, ct_eq};
use castellan_engine::SystemEntropy;
use serde::{Deserialize, Serialize};

/// Which console a session or sign-in form belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Owner,
    /// The Developer Console of the service with this API key.
    Developer(i64),
}

impl Scope {
    fn session_cookie(self) -> &'static str {
        match self {
            Scope::Owner => "castellan_console",
            Scope::Developer(_) => "castellan_developer",
        }
    }

    fn sign_in_cookie(self) -> &'static str {
        match self {
            Scope::Owner => "castellan_console_sign_in",
            Scope::Developer(_) => "castellan_developer_sign_in",
        }
    }

    /// The cookie path: the browser sends a developer's cookie to their service's console only.
    fn path(self) -> String {
        match self {
            Scope::Owner => "/console".to_owned(),
            Scope::Developer(api_key) => format!("/console/developer/{api_key}"),
        }
    }
}

/// Who signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    Owner(i64),
    Developer { service: i64, login: String },
}

impl Principal {
    pub fn scope(&self) -> Scope {
        match self {
            Principal::Owner(_) => Scope::Owner,
            Principal::Developer { service, .. } => Scope::Developer(*service),
        }
    }
}
/// A session unused this long (seconds) is over.
pub const IDLE_LIMIT_S: u64 = 30 * 60;
/// A session ends this long (seconds) after sign-in, however busy.
pub const ABSOLUTE_LIMIT_S: u64 = 12 * 3600;
/// What sessions and sign-in tokens are sealed for (authenticated context): nothing else sealed
/// under the master key, such as a stored JWK Set an owner wrote, opens as one of them.
const SESSION_CONTEXT: &[u8] = b"castellan/console-session/v1";
const SIGN_IN_CONTEXT: &[u8] = b"castellan/console-sign-in/v1";
/// Marks what a sealed value is (a second check besides the context).
const PURPOSE: &str = "console-session";
const SIGN_IN_PURPOSE: &str = "console-sign-in";
/// Clock skew tolerated between nodes when a session says it was used in the future.
const SKEW_S: u64 = 300;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    purpose: String,
    pub principal: Principal,
    pub csrf: String,
    started_at: u64,
    seen_at: u64,
    /// The principal's epoch at sign-in (see the module documentation).
    #[serde(default)]
    epoch: String,
}

/// The store's key of a principal's session epoch (in the metadata area both backends keep).
fn epoch_key(principal: &Principal) -> String {
    match principal {
        Principal::Owner(api_key) => format!("console-epoch/owner/{api_key}"),
        Principal::Developer { service, login } => {
            format!("console-epoch/developer/{service}/{login}")
        }
    }
}

/// The principal's current epoch; `credential` is what proves the principal (the owner's secret
/// hash, the developer's password hash).
pub async fn current_epoch(
    store: &dyn castellan_store::Store,
    principal: &Principal,
    credential: &str,
) -> castellan_store::StoreResult<String> {
    let stored = store.meta_get(&epoch_key(principal)).await?;
    let fingerprint = castellan_core::secret::s256(credential);
    Ok(format!(
        "{}.{}",
        stored.as_deref().unwrap_or("0"),
        &fingerprint[..fingerprint.len().min(22)]
    ))
}

/// Ends every session of the principal, on every node.
pub async fn end_all_sessions(
    store: &dyn castellan_store::Store,
    principal: &Principal,
) -> castellan_store::StoreResult<()> {
    store.meta_set(&epoch_key(principal), &random_token()).await
}

pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemEntropy.fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Session {
    /// A new session, with a new CSRF token, for someone who just signed in; `epoch` is the
    /// principal's [`current_epoch`].
    pub fn start(principal: Principal, epoch: String) -> Session {
        let now = now_s();
        Session {
            purpose: PURPOSE.into(),
            principal,
            csrf: random_token(),
            started_at: now,
            seen_at: now,
            epoch,
        }
    }

    /// Carries the session over to a new epoch of its own principal (after the principal
    /// changed their own credential in this session).
    pub fn move_to_epoch(&mut self, epoch: String) {
        self.epoch = epoch;
    }

    /// Whether the session was started in the principal's current epoch (not signed out since,
    /// nor its credential changed).
    pub fn in_epoch(&self, current: &str) -> bool {
        !self.epoch.is_empty() && ct_eq(self.epoch.as_bytes(), current.as_bytes())
    }

    /// The session of `scope` in the request's cookie, if it is one and still live.
    pub fn from_headers(keys: &SecretKeys, headers: &HeaderMap, scope: Scope) -> Option<Session> {
        let sealed = cookie(headers, scope.session_cookie())?;
        let session: Session =
            serde_json::from_str(&keys.open_in(SESSION_CONTEXT, &sealed)?).ok()?;
        let now = now_s();
        let live = session.purpose == PURPOSE
            && session.principal.scope() == scope
            && session.seen_at <= now + SKEW_S
            && session.started_at <= session.seen_at
            && now.saturating_sub(session.seen_at) < IDLE_LIMIT_S
            && now.saturating_sub(session.started_at) < ABSOLUTE_LIMIT_S;
        live.then_some(session)
    }

    /// Whether a form's CSRF field is this session's token.
    pub fn accepts(&self, csrf: &str) -> bool {
        ct_eq(self.csrf.as_bytes(), csrf.as_bytes())
    }

    /// The `Set-Cookie` value that keeps the session going from now on.
    pub fn renewed_cookie(&self, keys: &SecretKeys, secure: bool) -> Option<HeaderValue> {
        let mut next = self.clone();
        next.seen_at = now_s();
        let json = serde_json::to_string(&next).ok()?;
        let sealed = keys.seal_in(SESSION_CONTEXT, &json, &mut SystemEntropy);
        let scope = self.principal.scope();
        set_cookie(
            scope.session_cookie(),
            &scope.path(),
            &sealed,
            IDLE_LIMIT_S,
            secure,
        )
    }
}

/// The sign-in form's CSRF token: random, and also kept sealed in a cookie, so a form posted
/// from another site (which cannot read or set the cookie) is refused; this stops an attacker
/// from signing a victim into the attacker's account.
pub struct SignInToken {
    pub token: String,
}

#[derive(Serialize, Deserialize)]
struct SignInSeal {
    purpose: String,
    /// The console the form belongs to: a token from one console is refused by another.
    scope: String,
    token: String,
    issued_at: u64,
}

fn scope_name(scope: Scope) -> String {
    match scope {
        Scope::Owner => "owner".into(),
        Scope::Developer(api_key) => format!("developer:{api_key}"),
    }
}

impl SignInToken {
    pub fn issue(
        keys: &SecretKeys,
        scope: Scope,
        secure: bool,
    ) -> (SignInToken, Option<HeaderValue>) {
        let token = random_token();
        let seal = SignInSeal {
            purpose: SIGN_IN_PURPOSE.into(),
            scope: scope_name(scope),
            token: token.clone(),
            issued_at: now_s(),
        };
        let cookie = serde_json::to_string(&seal)
            .ok()
            .map(|json| keys.seal_in(SIGN_IN_CONTEXT, &json, &mut SystemEntropy))
            .and_then(|sealed| {
                set_cookie(
                    scope.sign_in_cookie(),
                    &scope.path(),
                    &sealed,
                    IDLE_LIMIT_S,
                    secure,
                )
            });
        (SignInToken { token }, cookie)
    }

    /// Whether the posted token matches the one sealed in the request's cookie.
    pub fn verify(keys: &SecretKeys, headers: &HeaderMap, scope: Scope, posted: &str) -> bool {
        let Some(sealed) = cookie(headers, scope.sign_in_cookie()) else {
            return false;
        };
        let Some(seal) = keys
            .open_in(SIGN_IN_CONTEXT, &sealed)
            .and_then(|json| serde_json::from_str::<SignInSeal>(&json).ok())
        else {
            return false;
        };
        seal.purpose == SIGN_IN_PURPOSE
            && seal.scope == scope_name(scope)
            && now_s().saturating_sub(seal.issued_at) < IDLE_LIMIT_S
            && ct_eq(seal.token.as_bytes(), posted.as_bytes())
    }
}

/// `Set-Cookie`: HttpOnly, SameSite=Strict, Secure when served over TLS.
fn set_cookie(
    name: &str,
    path: &str,
    value: &str,
    max_age_s: u64,
    secure: bool,
) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age_s}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// `Set-Cookie` values that end the scope's session and sign-in form.
pub fn cleared_session(scope: Scope, secure: bool) -> Option<HeaderValue> {
    set_cookie(scope.session_cookie(), &scope.path(), "", 0, secure)
}

pub fn cleared_sign_in(scope: Scope, secure: bool) -> Option<HeaderValue> {
    set_cookie(scope.sign_in_cookie(), &scope.path(), "", 0, secure)
}

/// The value of the first cookie called `name`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// Adds `Set-Cookie` values to a response's headers.
pub fn add_cookies(
    headers: &mut HeaderMap,
    cookies: impl IntoIterator<Item = Option<HeaderValue>>,
) {
    for value in cookies.into_iter().flatten() {
        headers.append(SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn request_with(cookie: &HeaderValue) -> HeaderMap {
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    #[test]
    fn a_session_round_trips_and_only_under_its_key() {
        let keys = SecretKeys::from_master(&[1; 32]);
        let session = Session::start(Principal::Owner(42), "e1".into());
        let cookie = session.renewed_cookie(&keys, true).unwrap();
        let text = cookie.to_str().unwrap();
        assert!(text.contains("HttpOnly") && text.contains("SameSite=Strict"));
        assert!(text.contains("Secure") && text.contains("Path=/console;"));
        let headers = request_with(&cookie);
        let read = Session::from_headers(&keys, &headers, Scope::Owner).unwrap();
        assert_eq!(read.principal, Principal::Owner(42));
        assert!(read.accepts(&session.csrf));
        assert!(!read.accepts("forged"));
        let other_keys = SecretKeys::from_master(&[2; 32]);
        assert!(Session::from_headers(&other_keys, &headers, Scope::Owner).is_none());
    }

    #[test]
    fn idle_and_old_sessions_are_over() {
        let keys = SecretKeys::from_master(&[1; 32]);
        let mut idle = Session::start(Principal::Owner(42), "e1".into());
        idle.seen_at -= IDLE_LIMIT_S + 1;
        let sealed = keys.seal_in(
            SESSION_CONTEXT,
            &serde_json::to_string(&idle).unwrap(),
            &mut SystemEntropy,
        );
        let cookie = set_cookie("castellan_console", "/console", &sealed, 1, false).unwrap();
        assert!(Session::from_headers(&keys, &request_with(&cookie), Scope::Owner).is_none());

        // A session stamped in the future (forged or badly skewed) is not taken.
        let mut future = Session::start(Principal::Owner(42), "e1".into());
        future.seen_at += 10 * SKEW_S;
        let sealed = keys.seal_in(
            SESSION_CONTEXT,
            &serde_json::to_string(&future).unwrap(),
            &mut SystemEntropy,
        );
        let cookie = set_cookie("castellan_console", "/console", &sealed, 1, false).unwrap();
        assert!(Session::from_headers(&keys, &request_with(&cookie), Scope::Owner).is_none());
        // The same JSON sealed without the session context (as a stored value would be).
        let plain = keys.seal(
            &serde_json::to_string(&Session::start(Principal::Owner(42), "e1".into())).unwrap(),
            &mut SystemEntropy,
        );
        let cookie = set_cookie("castellan_console", "/console", &plain, 1, false).unwrap();
        assert!(Session::from_headers(&keys, &request_with(&cookie), Scope::Owner).is_none());

        let mut old = Session::start(Principal::Owner(42), "e1".into());
        old.started_at -= ABSOLUTE_LIMIT_S + 1;
        let cookie = old.renewed_cookie(&keys, false).unwrap();
        assert!(Session::from_headers(&keys, &request_with(&cookie), Scope::Owner).is_none());
    }

    #[test]
    fn a_developer_session_is_for_one_service_only() {
        let keys = SecretKeys::from_master(&[1; 32]);
        let session = Session::start(
            Principal::Developer {
                service: 7,
                login: "alice".into(),
            },
            "e1".into(),
        );
        let cookie = session.renewed_cookie(&keys, false).unwrap();
        assert!(
            cookie
                .to_str()
                .unwrap()
                .contains("Path=/console/developer/7;")
        );
        let headers = request_with(&cookie);
        assert!(Session::from_headers(&keys, &headers, Scope::Developer(7)).is_some());
        assert!(Session::from_headers(&keys, &headers, Scope::Developer(8)).is_none());
        assert!(Session::from_headers(&keys, &headers, Scope::Owner).is_none());
    }

    #[test]
    fn a_sign_in_token_is_not_a_session() {
        let keys = SecretKeys::from_master(&[1; 32]);
        let (token, cookie) = SignInToken::issue(&keys, Scope::Owner, false);
        let cookie = cookie.unwrap();
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .replace("castellan_console_sign_in", "castellan_console");
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert!(Session::from_headers(&keys, &headers, Scope::Owner).is_none());
        let headers = request_with(&cookie);
        assert!(SignInToken::verify(
            &keys,
            &headers,
            Scope::Owner,
            &token.token
        ));
        assert!(!SignInToken::verify(&keys, &headers, Scope::Owner, "other"));
        assert!(!SignInToken::verify(
            &keys,
            &headers,
            Scope::Developer(7),
            &token.token
        ));
    }
}
