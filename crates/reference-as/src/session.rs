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
}

#[derive(Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
}

fn new_id() -> String {
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
            && let Some(session) = map.get(&id)
        {
            return (id, session.clone());
        }
        (new_id(), Session::default())
    }

    pub fn save(&self, id: &str, session: Session) {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(id.to_owned(), session);
    }

    /// Saves `session` under a new id and forgets the old one: done at login, so an id known
    /// before the login (planted in the browser, say) is worth nothing after it.
    pub fn save_renewed(&self, old_id: &str, session: Session) -> String {
        let id = new_id();
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(old_id);
        map.insert(id.clone(), session);
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
