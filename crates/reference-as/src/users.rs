//! End users: a JSON file of accounts with Argon2 password hashes and the claims the server
//! hands out about them.

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The default users file: the tutorial's `testuser01` (password `testuser01`). Demo only.
pub const DEMO_USERS: &str = include_str!("../demo-users.json");

#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub username: String,
    /// The `sub` Castellan gets.
    pub subject: String,
    /// An Argon2 PHC string (`castellan-reference-as hash-password` makes one).
    pub password_hash: String,
    /// Claim values (`name`, `email`, ...).
    #[serde(default)]
    pub claims: Map<String, Value>,
}

#[derive(Clone, Debug, Default)]
pub struct Users {
    by_username: HashMap<String, User>,
    by_subject: HashMap<String, String>,
}

#[derive(Deserialize)]
struct UsersFile {
    users: Vec<User>,
}

impl Users {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: UsersFile = serde_json::from_str(text)?;
        let mut users = Users::default();
        for user in file.users {
            PasswordHash::new(&user.password_hash).map_err(|e| {
                anyhow::anyhow!(
                    "user {}: password_hash is not a PHC string: {e}",
                    user.username
                )
            })?;
            users
                .by_subject
                .insert(user.subject.clone(), user.username.clone());
            users.by_username.insert(user.username.clone(), user);
        }
        Ok(users)
    }

    /// The user whose password this is; the hash check runs even for unknown names, so the
    /// answer takes as long either way.
    pub fn authenticate(&self, username: &str, password: &str) -> Option<&User> {
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$F5w1Xl2RWYbf7yxIi1wLmNUZZmhO6Pnvf9qlyH7vB3o";
        let user = self.by_username.get(username);
        let hash = user.map_or(DUMMY, |u| u.password_hash.as_str());
        let matches = PasswordHash::new(hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        user.filter(|_| matches)
    }

    pub fn by_subject(&self, subject: &str) -> Option<&User> {
        self.by_subject
            .get(subject)
            .and_then(|name| self.by_username.get(name))
    }
}

/// A PHC string for `password`, for the users file.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| anyhow::anyhow!("no randomness"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn demo_user_logs_in_with_its_password_only() {
        let users = Users::parse(DEMO_USERS).unwrap();
        let user = users.authenticate("testuser01", "testuser01").unwrap();
        assert_eq!(user.subject, "testuser01");
        assert!(users.authenticate("testuser01", "wrong").is_none());
        assert!(users.authenticate("nobody", "testuser01").is_none());
        assert!(users.by_subject("testuser01").is_some());
    }

    #[test]
    fn hashes_verify() {
        let hash = hash_password("s3cret").unwrap();
        let text =
            format!(r#"{{"users":[{{"username":"u","subject":"s","password_hash":"{hash}"}}]}}"#);
        assert!(
            Users::parse(&text)
                .unwrap()
                .authenticate("u", "s3cret")
                .is_some()
        );
    }
}
