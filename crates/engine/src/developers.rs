//! Developer accounts of a service: created and disabled by the service owner, used to sign in
//! to the Developer Console. Passwords are kept as Argon2id hashes; hashing and checking run off
//! the async threads.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use castellan_core::secret::Entropy;
use castellan_store::{DeveloperRecord, OwnerRecord, StoreError};

use crate::manage::{ManageError, ManageResult};
use crate::{Engine, EngineError, EngineResult, SystemEntropy};

/// A hash of a password nobody has, checked when the login is unknown so that an unknown login
/// takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$F5w1Xl2RWYbf7yxIi1wLmNUZZmhO6Pnvf9qlyH7vB3o";

/// At least this many characters in a developer's password.
pub const MIN_PASSWORD_CHARS: usize = 12;

fn check_login(login: &str) -> ManageResult<()> {
    let fine = (1..=100).contains(&login.chars().count())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
    if fine {
        Ok(())
    } else {
        Err(ManageError::BadRequest(
            "A login has 1 to 100 characters: letters, digits and . _ - @ +".into(),
        ))
    }
}

fn check_password(password: &str) -> ManageResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > 1024 {
        return Err(ManageError::BadRequest(format!(
            "A password has at least {MIN_PASSWORD_CHARS} characters."
        )));
    }
    Ok(())
}

async fn hash_password(password: String) -> ManageResult<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        SystemEntropy.fill(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ManageError::BadRequest(format!("password hashing stopped: {e}")))?
    .map_err(ManageError::BadRequest)
}

/// Password checks running at once, at most: each takes ~19 MiB and a core for a while, so a
/// flood of sign-ins queues here instead of exhausting memory.
static PASSWORD_CHECKS: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(4));

async fn password_matches(hash: String, password: String) -> bool {
    let Ok(_permit) = PASSWORD_CHECKS.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// The refusal of a password change whose current password is wrong.
pub const WRONG_CURRENT_PASSWORD: &str = "The current password is wrong.";

impl Engine {
    /// Creates a developer of the owner's service, with a password the owner hands over.
    pub async fn create_developer(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
        login: &str,
        display_name: Option<&str>,
        password: &str,
    ) -> ManageResult<DeveloperRecord> {
        self.owned_service(owner, api_key).await?;
        check_login(login)?;
        check_password(password)?;
        let record = DeveloperRecord {
            service_api_key: api_key,
            login: login.to_owned(),
            display_name: display_name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
            password_hash: hash_password(password.to_owned()).await?,
            disabled: false,
            created_at: self.now(),
        };
        match self.store.create_developer(&record).await {
            Ok(()) => Ok(record),
            Err(StoreError::Conflict(m)) => Err(ManageError::Conflict(m)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_developers(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
    ) -> ManageResult<Vec<DeveloperRecord>> {
        self.owned_service(owner, api_key).await?;
        Ok(self.store.list_developers(api_key).await?)
    }

    /// Disables a developer (they can no longer sign in, and their open sessions end) or
    /// enables them again. Their clients stay.
    pub async fn set_developer_disabled(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
        login: &str,
        disabled: bool,
    ) -> ManageResult<()> {
        self.owned_service(owner, api_key).await?;
        let Some(mut record) = self.store.get_developer(api_key, login).await? else {
            return Err(ManageError::NotFound(format!("No developer {login:?}.")));
        };
        record.disabled = disabled;
        self.store.update_developer(&record).await?;
        Ok(())
    }

    /// The developer, if the login names an enabled developer of the service and the password
    /// is theirs. Unknown logins cost as much as wrong passwords.
    pub async fn authenticate_developer(
        &self,
        api_key: i64,
        login: &str,
        password: &str,
    ) -> EngineResult<Option<DeveloperRecord>> {
        let found = self
            .store
            .get_developer(api_key, login)
            .await
            .map_err(EngineError::from)?;
        let hash = found
            .as_ref()
            .map_or(DUMMY_HASH, |d| d.password_hash.as_str())
            .to_owned();
        let matches = password_matches(hash, password.to_owned()).await;
        Ok(found.filter(|d| matches && !d.disabled))
    }

    /// Replaces a developer's password, given their current one. `BadRequest` when the current
    /// password is wrong or the new one too short.
    pub async fn change_developer_password(
        &self,
        api_key: i64,
        login: &str,
        current: &str,
        new: &str,
    ) -> ManageResult<()> {
        let Some(mut record) = self.authenticate_developer(api_key, login, current).await? else {
            return Err(ManageError::BadRequest(WRONG_CURRENT_PASSWORD.into()));
        };
        check_password(new)?;
        record.password_hash = hash_password(new.to_owned()).await?;
        if !self.store.update_developer(&record).await? {
            return Err(ManageError::NotFound(format!("No developer {login:?}.")));
        }
        Ok(())
    }

    /// The developer behind a console session, while they are still enabled.
    pub async fn active_developer(
        &self,
        api_key: i64,
        login: &str,
    ) -> EngineResult<Option<DeveloperRecord>> {
        let found = self
            .store
            .get_developer(api_key, login)
            .await
            .map_err(EngineError::from)?;
        Ok(found.filter(|d| !d.disabled))
    }
}
