//! Authentication of API callers: a service (its API key and secret) or a service owner.

use castellan_core::model::Service;
use castellan_store::OwnerRecord;

use crate::{Engine, EngineResult};

/// Why the caller's credentials were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No service (or owner) has the API key.
    Unknown,
    /// The API key exists but the secret does not match.
    Mismatch(i64),
}

impl Engine {
    /// Checks a service's API key and secret. The secret's hash is always computed and compared,
    /// so an unknown key costs the same as a wrong secret.
    pub async fn authenticate_service(
        &self,
        api_key: &str,
        api_secret: &str,
    ) -> EngineResult<Result<Service, AuthFailure>> {
        let presented = self.keys.hash(api_secret);
        let record = match api_key.parse::<i64>() {
            Ok(key) => self.store.get_service(key).await?,
            Err(_) => None,
        };
        let Some(record) = record else {
            let _ = presented.matches(&self.keys.hash(""));
            return Ok(Err(AuthFailure::Unknown));
        };
        if !presented.matches(&record.secret_hash) {
            return Ok(Err(AuthFailure::Mismatch(record.service.api_key)));
        }
        Ok(Ok(record.service))
    }

    /// Checks a service owner's API key and secret.
    pub async fn authenticate_owner(
        &self,
        api_key: &str,
        api_secret: &str,
    ) -> EngineResult<Result<OwnerRecord, AuthFailure>> {
        let presented = self.keys.hash(api_secret);
        let record = match api_key.parse::<i64>() {
            Ok(key) => self.store.get_owner(key).await?,
            Err(_) => None,
        };
        let Some(record) = record else {
            let _ = presented.matches(&self.keys.hash(""));
            return Ok(Err(AuthFailure::Unknown));
        };
        if !presented.matches(&record.secret_hash) {
            return Ok(Err(AuthFailure::Mismatch(record.api_key)));
        }
        Ok(Ok(record))
    }

    /// Creates or replaces a service owner's credentials.
    pub async fn set_owner(&self, api_key: i64, api_secret: &str) -> EngineResult<OwnerRecord> {
        Ok(self
            .store
            .upsert_owner(api_key, self.keys.hash(api_secret))
            .await?)
    }
}
