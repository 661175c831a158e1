//! The engine: one async function per API operation. Each loads what the protocol core needs
//! from storage, lets the core decide, and performs the one write the decision asks for.
//! Used by the HTTP layer and the CLI alike.

mod auth;
pub mod defaults;
mod developers;
mod directory;
mod keys;
mod manage;
mod metadata;
mod protocol;
mod service_keys;
mod system;

use std::sync::Arc;

use castellan_core::secret::SecretKeys;
use castellan_store::{Store, StoreError};

pub use auth::AuthFailure;
pub use developers::WRONG_CURRENT_PASSWORD;
pub use directory::DEFAULT_CACHE_TTL_MS;
pub use keys::{CachingSigner, DEFAULT_KEY_ALGS, default_key_set, generate_jwk};
pub use manage::{ClientPage, ClientSecretChange, ManageError, NewService, ServicePage};
pub use system::{Clock, SystemClock, SystemEntropy, load_or_create_master_key};

/// A failure that is not a protocol outcome: the caller answers 500.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type EngineResult<T> = Result<T, EngineError>;

pub struct Engine {
    store: Arc<dyn Store>,
    keys: SecretKeys,
    clock: Arc<dyn Clock>,
    directory: directory::Directory,
    signer: keys::CachingSigner,
    /// Key-set changes read, change and write a service's whole JWK Set: one at a time.
    key_changes: tokio::sync::Mutex<()>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, keys: SecretKeys, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            keys,
            clock,
            directory: directory::Directory::new(DEFAULT_CACHE_TTL_MS),
            signer: keys::CachingSigner::default(),
            key_changes: tokio::sync::Mutex::new(()),
        }
    }

    /// Sets how long services and clients are served from memory before storage is read
    /// again (see `directory`); 0 reads storage on every call.
    pub fn with_cache_ttl_ms(mut self, ttl_ms: i64) -> Self {
        self.directory = directory::Directory::new(ttl_ms.max(0));
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn keys(&self) -> &SecretKeys {
        &self.keys
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Fails when the store was initialised under a different master key (its hashes and
    /// sealed secrets would be unreadable); records the key's fingerprint on first use.
    pub async fn check_master_key(&self) -> Result<(), String> {
        const KEY: &str = "master_key_fingerprint";
        let fingerprint = self.keys.fingerprint().to_owned();
        match self.store.meta_get(KEY).await.map_err(|e| e.to_string())? {
            Some(stored) if stored == fingerprint => Ok(()),
            Some(_) => Err(
                "the master key does not match the one this data directory was created with"
                    .to_owned(),
            ),
            None => self
                .store
                .meta_set(KEY, &fingerprint)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Deletes expired tickets, codes and tokens in bounded batches; returns how many went.
    pub async fn purge_expired(&self, batch: u32) -> EngineResult<u64> {
        Ok(self.store.purge_expired(self.now(), batch).await?)
    }
}
