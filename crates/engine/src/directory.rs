//! Services and clients as the protocol operations read them: through a short-lived in-process
//! cache, because every API call authenticates a service and most look up a client, and
//! loading and parsing their JSON documents was the largest cost of a call.
//!
//! Bound on staleness: a change made through this engine (management API or CLI in this
//! process) is seen at once, because it evicts the entry. A change made elsewhere (another
//! process or node on the same database) is seen within the time-to-live. Tokens, codes and
//! tickets are never cached: revocation and single use take effect everywhere at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use castellan_core::model::Service;
use castellan_core::secret::SecretHash;
use castellan_store::ClientRecord;

use crate::{Engine, EngineResult};

/// How long an entry may be served without reading storage again, by default.
pub const DEFAULT_CACHE_TTL_MS: i64 = 1_000;

/// Entries kept per map at most; when full the map is emptied (cheap, and rare: it takes that
/// many distinct services or clients called within one time-to-live).
const CAPACITY: usize = 10_000;

/// A service as authentication needs it.
pub(crate) struct CachedService {
    pub secret_hash: SecretHash,
    pub service: Arc<Service>,
}

struct TtlMap<K, V> {
    entries: RwLock<HashMap<K, (i64, Arc<V>)>>,
}

impl<K: Eq + Hash, V> TtlMap<K, V> {
    fn new() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The entry stored after `stale_at` (an entry as old as the time-to-live is stale).
    fn get(&self, key: &K, stale_at: i64) -> Option<Arc<V>> {
        let entries = self.entries.read().ok()?;
        match entries.get(key) {
            Some((stored_at, value)) if *stored_at > stale_at => Some(Arc::clone(value)),
            _ => None,
        }
    }

    fn put(&self, key: K, value: Arc<V>, now: i64) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key, (now, value));
        }
    }

    fn retain(&self, keep: impl Fn(&K, &V) -> bool) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|k, (_, v)| keep(k, v));
        }
    }
}

pub(crate) struct Directory {
    ttl_ms: i64,
    services: TtlMap<i64, CachedService>,
    clients: TtlMap<(i64, i64), ClientRecord>,
    aliases: TtlMap<(i64, String), ClientRecord>,
}

impl Directory {
    pub fn new(ttl_ms: i64) -> Self {
        Self {
            ttl_ms,
            services: TtlMap::new(),
            clients: TtlMap::new(),
            aliases: TtlMap::new(),
        }
    }

    fn enabled(&self) -> bool {
        self.ttl_ms > 0
    }
}

impl Engine {
    fn stale_at(&self, now: i64) -> i64 {
        now.saturating_sub(self.directory.ttl_ms)
    }

    /// The entry for `key`: from `map` while fresh, else what `load` finds (then kept).
    async fn through<K, V>(
        &self,
        map: &TtlMap<K, V>,
        key: K,
        load: impl Future<Output = EngineResult<Option<V>>>,
    ) -> EngineResult<Option<Arc<V>>>
    where
        K: Eq + Hash,
    {
        let now = self.now();
        let enabled = self.directory.enabled();
        if enabled && let Some(hit) = map.get(&key, self.stale_at(now)) {
            return Ok(Some(hit));
        }
        let Some(value) = load.await? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        if enabled {
            map.put(key, Arc::clone(&value), now);
        }
        Ok(Some(value))
    }

    /// The service with this API key, with the hash of its secret.
    pub(crate) async fn cached_service(
        &self,
        api_key: i64,
    ) -> EngineResult<Option<Arc<CachedService>>> {
        let load = async {
            Ok(self
                .store
                .get_service(api_key)
                .await?
                .map(|record| CachedService {
                    secret_hash: record.secret_hash.clone(),
                    service: Arc::new(self.reveal_service(record)),
                }))
        };
        self.through(&self.directory.services, api_key, load).await
    }

    /// The client with this numeric ID in the service.
    pub(crate) async fn cached_client(
        &self,
        service_api_key: i64,
        client_id: i64,
    ) -> EngineResult<Option<Arc<ClientRecord>>> {
        let load = async { Ok(self.store.get_client(service_api_key, client_id).await?) };
        let key = (service_api_key, client_id);
        self.through(&self.directory.clients, key, load).await
    }

    /// The client with this alias in the service.
    pub(crate) async fn cached_client_by_alias(
        &self,
        service_api_key: i64,
        alias: &str,
    ) -> EngineResult<Option<Arc<ClientRecord>>> {
        let load = async {
            Ok(self
                .store
                .get_client_by_alias(service_api_key, alias)
                .await?)
        };
        let key = (service_api_key, alias.to_owned());
        self.through(&self.directory.aliases, key, load).await
    }

    /// Drops what is cached of a service and of its clients (after it changed or went).
    pub(crate) fn forget_service(&self, api_key: i64) {
        let dir = &self.directory;
        dir.services.retain(|k, _| *k != api_key);
        self.forget_clients(api_key);
    }

    /// Drops what is cached of a service's clients (after one of them changed or went).
    pub(crate) fn forget_clients(&self, service_api_key: i64) {
        let dir = &self.directory;
        dir.clients.retain(|(s, _), _| *s != service_api_key);
        dir.aliases.retain(|(s, _), _| *s != service_api_key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use castellan_core::model::Client;
    use castellan_core::secret::SecretKeys;
    use castellan_store::Store;
    use castellan_store_sqlite::SqliteStore;

    use super::*;
    use crate::{AuthFailure, Clock};

    struct ManualClock(AtomicI64);

    impl Clock for ManualClock {
        fn now_ms(&self) -> i64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    const TTL: i64 = 1_000;

    struct Fixture {
        engine: Engine,
        clock: Arc<ManualClock>,
        store: Arc<SqliteStore>,
        service: Service,
        _dir: tempfile::TempDir,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
        let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000_000)));
        let engine = Engine::new(
            store.clone(),
            SecretKeys::from_master(&[7; 32]),
            clock.clone(),
        )
        .with_cache_ttl_ms(TTL);
        let owner = engine.set_owner(1, "owner-secret").await.unwrap();
        let service = engine
            .create_service(&owner, Service::default())
            .await
            .unwrap();
        Fixture {
            engine,
            clock,
            store,
            service,
            _dir: dir,
        }
    }

    impl Fixture {
        fn advance(&self, ms: i64) {
            self.clock.0.fetch_add(ms, Ordering::SeqCst);
        }

        async fn authenticate(&self, secret: &str) -> Result<Arc<Service>, AuthFailure> {
            let key = self.service.api_key.to_string();
            self.engine
                .authenticate_service(&key, secret)
                .await
                .unwrap()
        }
    }

    #[tokio::test]
    async fn a_change_made_elsewhere_is_seen_within_the_ttl() {
        let f = fixture().await;
        let old_secret = f.service.api_secret.clone().unwrap();
        assert!(f.authenticate(&old_secret).await.is_ok());

        // Another process or node replaces the API secret in the shared database.
        let hash = f.engine.keys().hash("replaced-secret");
        assert!(
            f.store
                .set_service_secret(f.service.api_key, &hash)
                .await
                .unwrap()
        );

        f.advance(TTL - 1);
        assert!(f.authenticate(&old_secret).await.is_ok());
        f.advance(1);
        assert_eq!(
            f.authenticate(&old_secret).await.err(),
            Some(AuthFailure::Mismatch(f.service.api_key))
        );
        assert!(f.authenticate("replaced-secret").await.is_ok());
    }

    #[tokio::test]
    async fn a_change_made_through_the_engine_is_seen_at_once() {
        let f = fixture().await;
        let secret = f.service.api_secret.clone().unwrap();
        assert!(f.authenticate(&secret).await.is_ok());
        let client = f
            .engine
            .create_client(&f.service, Client::default())
            .await
            .unwrap();
        let cached = f
            .engine
            .cached_client(f.service.api_key, client.client_id)
            .await
            .unwrap()
            .unwrap();

        let changed = f
            .engine
            .change_client_secret(&f.service, &client.client_id.to_string(), None)
            .await
            .unwrap();
        let fresh = f
            .engine
            .cached_client(f.service.api_key, client.client_id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(fresh.sealed_secret, cached.sealed_secret);
        assert_eq!(
            f.engine.keys().open(&fresh.sealed_secret),
            Some(changed.new_secret)
        );

        f.engine
            .delete_client(&f.service, &client.client_id.to_string())
            .await
            .unwrap();
        assert!(
            f.engine
                .cached_client(f.service.api_key, client.client_id)
                .await
                .unwrap()
                .is_none()
        );

        f.engine
            .delete_service(None, f.service.api_key)
            .await
            .unwrap();
        assert_eq!(
            f.authenticate(&secret).await.err(),
            Some(AuthFailure::Unknown)
        );
    }
}
