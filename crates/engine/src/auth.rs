//! Authentication of API callers: a service (its API key and secret) or a service owner.

use std::sync::Arc;

use castellan_core::client_lookup::identifier_as_id;
use castellan_core::model::Service;
use castellan_core::secret::SecretHash;
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
    /// Checks a service's API key and secret.
    pub async fn authenticate_service(
        &self,
        api_key: &str,
        api_secret: &str,
    ) -> EngineResult<Result<Arc<Service>, AuthFailure>> {
        let found = match identifier_as_id(api_key) {
            Some(key) => self.cached_service(key).await?,
            None => None,
        };
        let checked =
            self.verify_api_secret(api_secret, found, |r| (&r.secret_hash, r.service.api_key));
        Ok(checked.map(|r| Arc::clone(&r.service)))
    }

    /// Checks a service owner's API key and secret.
    pub async fn authenticate_owner(
        &self,
        api_key: &str,
        api_secret: &str,
    ) -> EngineResult<Result<OwnerRecord, AuthFailure>> {
        let found = match identifier_as_id(api_key) {
            Some(key) => self.store.get_owner(key).await?,
            None => None,
        };
        Ok(self.verify_api_secret(api_secret, found, |r| (&r.secret_hash, r.api_key)))
    }

    /// Compares the secret with the stored hash of the record found for the API key. The hash
    /// is computed and compared even when no record was found, so an unknown key costs the
    /// same as a wrong secret.
    fn verify_api_secret<T>(
        &self,
        api_secret: &str,
        found: Option<T>,
        stored: impl Fn(&T) -> (&SecretHash, i64),
    ) -> Result<T, AuthFailure> {
        let presented = self.keys.hash(api_secret);
        let Some(record) = found else {
            let _ = presented.matches(&self.keys.hash(""));
            return Err(AuthFailure::Unknown);
        };
        let (hash, api_key) = stored(&record);
        if !presented.matches(hash) {
            return Err(AuthFailure::Mismatch(api_key));
        }
        Ok(record)
    }

    /// Creates or replaces a service owner's credentials.
    pub async fn set_owner(&self, api_key: i64, api_secret: &str) -> EngineResult<OwnerRecord> {
        Ok(self
            .store
            .upsert_owner(api_key, self.keys.hash(api_secret))
            .await?)
    }
}
