//! Browser sessions: who logged in and when, and the authorization request being worked on,
//! held in memory behind an HttpOnly, SameSite=Lax cookie.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

pub const COOKIE: &str = "ras_session";

/// What the server remembers of one browser.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The logged-in user's subject and the time of login (seconds).
    pub subject: Option<String>,
    pub auth_time: i64,
    /// The `/auth/authorization` reply of the request waiting for login or consent.
    pub pending: Option<Value>,
    /// A random reference to that request, carried by its consent form: a consent posted for
    /// another request (one that replaced it meanwhile) is refused.
    pub pending_ref: Option<String>,
    /// The `pending_ref` of the request the user logged in for, if they logged in for it.
    pub logged_in_for: Option<String>,
}

/// Sessions kept at most; past it, the ones idle longest go first.
const MAX_SESSIONS: usize = 100_000;
/// A session unused this long (seconds) is forgotten.
const IDLE_LIMIT_S: u64 = 8 * 3600;

#[derive(Clone, Default)]
pub struct Sessions {
    /// Each session with the time (seconds) it was last saved.
    inner: Arc<Mutex<HashMap<String, (u64, Session)>>>,
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Drops idle sessions, and when that is not enough, the least recently used ones.
fn make_room(map: &mut HashMap<String, (u64, Session)>) {
    if map.len() < MAX_SESSIONS {
        return;
    }
    let now = now_s();
    map.retain(|_, (seen, _)| now.saturating_sub(*seen) < IDLE_LIMIT_S);
    if map.len() >= MAX_SESSIONS {
        let mut seen: Vec<u64> = map.values().map(|(t, _)| *t).collect();
        seen.sort_unstable();
        let cutoff = seen[seen.len() / 2];
        map.retain(|_, (t, _)| *t > cutoff);
    }
}

/// A fresh 256-bit random value, base64url: session ids and request references.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    // A failure leaves zeros, which only makes the session unusable: the fill does not fail.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The session id in the request's cookies.
pub fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for a session id.
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax")
}

impl Sessions {
    /// The session of the request (a new, empty one if it has none or an unknown one), with
    /// its id.
    pub fn load(&self, headers: &HeaderMap) -> (String, Session) {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = cookie_id(headers)
            && let Some((seen, session)) = map.get(&id)
            && now_s().saturating_sub(*seen) < IDLE_LIMIT_S
        {
            return (id, session.clone());
        }
        (new_id(), Session::default())
    }

    pub fn save(&self, id: &str, session: Session) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        make_room(&mut map);
        map.insert(id.to_owned(), (now_s(), session));
    }

    /// Saves `session` under a new id and forgets the old one: done at login, so an id known
    /// before the login (planted in the browser, say) is worth nothing after it.
    pub fn save_renewed(&self, old_id: &str, session: Session) -> String {
        let id = new_id();
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(old_id);
        make_room(&mut map);
        map.insert(id.clone(), (now_s(), session));
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie_headers(id: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = format!("other=1; {COOKIE}={id}").parse() {
            h.insert(header::COOKIE, v);
        }
        h
    }

    #[test]
    fn login_renews_the_session_id() {
        let sessions = Sessions::default();
        let (planted, _) = sessions.load(&HeaderMap::new());
        sessions.save(&planted, Session::default());
        let logged_in = Session {
            subject: Some("testuser01".into()),
            ..Session::default()
        };
        let renewed = sessions.save_renewed(&planted, logged_in);
        assert_ne!(renewed, planted);
        let (_, old) = sessions.load(&cookie_headers(&planted));
        assert!(old.subject.is_none(), "the planted id carries no login");
        let (id, new) = sessions.load(&cookie_headers(&renewed));
        assert_eq!(
            (id.as_str(), new.subject.as_deref()),
            (renewed.as_str(), Some("testuser01"))
        );
    }
}
