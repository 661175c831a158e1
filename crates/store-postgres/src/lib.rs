//! The PostgreSQL storage backend: one database shared by any number of Castellan nodes.
//!
//! Every check-and-change is decided by the database, never by process memory: a conditional
//! `UPDATE`/`DELETE` or a row lock inside one transaction, so concurrent callers on different
//! nodes get exactly one winner. Transactions run at READ COMMITTED; one that the database
//! aborts as a serialization failure or deadlock (CockroachDB at SERIALIZABLE does so often) is
//! run again after a short random pause. Every operation is bounded by a deadline, and the
//! server is told the same bound (`statement_timeout`, `lock_timeout`,
//! `idle_in_transaction_session_timeout`), so an unreachable or stuck database answers with an
//! error instead of a hang, and an abandoned statement does not hold its connection or locks.

mod clients;
mod developers;
mod error;
mod export;
mod grants;
mod schema;
mod services;
mod sql;
mod tls;
mod tokens;

#[cfg(feature = "testing")]
pub mod testing;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use castellan_core::records::{AuthorizationCode, Millis, TicketKind, TokenRecord};
use castellan_core::secret::SecretHash;
use castellan_store::codec::{TokenRow, to_json};
use castellan_store::{
    ClientRecord, DeveloperRecord, OwnerRecord, Page, Redemption, RefreshLookup, Rotation,
    ServiceRecord, Store, StoreError, StoreResult, StoredCode, StoredTicket, TicketIssues,
    TokenHashes,
};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::config::SslMode;
use tokio_postgres::{IsolationLevel, NoTls};

use crate::error::{PgError, PgResult};

pub use crate::schema::CURRENT_VERSION as SCHEMA_VERSION;

/// Connection-pool settings.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Connections this node keeps open at most.
    pub max_connections: usize,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// How long one storage operation may take in all: waiting for a free connection,
    /// connecting, and running its statements.
    pub operation_timeout: Duration,
    /// PEM certificates to trust, instead of the system's roots, when connecting over TLS.
    /// Giving them turns TLS on even without `sslmode=require` in the URL.
    pub ca_file: Option<PathBuf>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(10),
            ca_file: None,
        }
    }
}

/// How many times a transaction the database aborted as a lost race is run again.
const MAX_RETRIES: u32 = 5;

/// A random pause before retry `attempt` (1-based), growing with each attempt, so transactions
/// that collided do not collide again at once.
fn retry_pause(attempt: u32) -> Duration {
    // Jitter, not secrecy: the clock's nanoseconds are random enough to spread retries.
    let noise = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let ceiling_ms = 5u64 << attempt.min(6);
    Duration::from_millis(noise % (ceiling_ms + 1))
}

pub struct PostgresStore {
    pool: Pool,
    operation_timeout: Duration,
}

impl PostgresStore {
    /// A pool on `url` (`postgres://user:password@host:port/database?...`). Connects lazily:
    /// call [`PostgresStore::migrate`] (or any operation) to reach the database.
    pub fn connect(url: &str, options: &PoolOptions) -> StoreResult<PostgresStore> {
        let mut config = pg_config(url, options)?;
        let manager_config = ManagerConfig {
            // A connection the server closed (restart, failover) is noticed and replaced.
            recycling_method: RecyclingMethod::Fast,
        };
        // TLS when the URL requires it (`sslmode=require`) or a CA file is given; then the
        // server's certificate and name are always verified. Otherwise plain TCP, as with
        // `sslmode=disable` (`prefer` falls back to it).
        let tls = config.get_ssl_mode() == SslMode::Require || options.ca_file.is_some();
        if options.ca_file.is_some() && config.get_ssl_mode() == SslMode::Prefer {
            config.ssl_mode(SslMode::Require);
        }
        let manager = if tls {
            let connector = tls::connector(options.ca_file.as_deref())?;
            Manager::from_config(config, connector, manager_config)
        } else {
            Manager::from_config(config, NoTls, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .wait_timeout(Some(options.operation_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        Ok(PostgresStore {
            pool,
            operation_timeout: options.operation_timeout,
        })
    }

    /// Connects and brings the schema up to date; safe to run from several nodes at once.
    /// Returns the migration versions this call applied.
    pub async fn migrate(&self) -> StoreResult<Vec<i64>> {
        self.bounded(async {
            let mut conn = self.conn().await?;
            schema::migrate(&mut conn).await
        })
        .await
    }

    /// Opens the pool and migrates: what a server does at start.
    pub async fn open(url: &str, options: &PoolOptions) -> StoreResult<PostgresStore> {
        let store = PostgresStore::connect(url, options)?;
        store.migrate().await?;
        Ok(store)
    }

    async fn conn(&self) -> PgResult<Object> {
        self.pool.get().await.map_err(|e| {
            let message = match e {
                deadpool_postgres::PoolError::Backend(e) => error::describe(&e),
                deadpool_postgres::PoolError::Timeout(_) => {
                    "database unavailable: no connection became free in time".to_owned()
                }
                other => format!("database unavailable: {other}"),
            };
            StoreError::Backend(message).into()
        })
    }

    /// Runs `work` under the operation deadline, mapping errors for callers.
    async fn bounded<T>(&self, work: impl Future<Output = PgResult<T>>) -> StoreResult<T> {
        match tokio::time::timeout(self.operation_timeout, work).await {
            Ok(result) => result.map_err(PgError::into_store),
            Err(_) => Err(StoreError::Backend(format!(
                "database did not answer within {} ms",
                self.operation_timeout.as_millis()
            ))),
        }
    }
}

/// The driver's settings for `url`, with the pool's connect timeout, an application name, and
/// the server-side limits that match the operation deadline.
fn pg_config(url: &str, options: &PoolOptions) -> StoreResult<tokio_postgres::Config> {
    let mut config = tokio_postgres::Config::from_str(url)
        .map_err(|e| StoreError::Backend(format!("invalid database URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("castellan");
    }
    // The server gives up on a statement (or a lock wait, or an idle transaction) before
    // the caller's deadline passes, so a connection handed back after a timeout is free.
    let server_ms = options
        .operation_timeout
        .as_millis()
        .saturating_sub(500)
        .max(500);
    let limits = format!(
        "-c statement_timeout={server_ms} -c lock_timeout={server_ms} \
             -c idle_in_transaction_session_timeout={}",
        server_ms.saturating_mul(2)
    );
    let options_text = match config.get_options() {
        Some(given) => format!("{given} {limits}"),
        None => limits,
    };
    config.options(&options_text);
    // A peer that vanished (no RST after a failover or partition) is noticed by keepalives.
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    Ok(config)
}

/// Runs `$body` (an expression using the transaction `$tx`) in a transaction on a pooled
/// connection, commits, and runs it again when the database aborted it as a lost race.
macro_rules! transact {
    ($store:expr, |$tx:ident| $body:expr) => {
        transact!($store, IsolationLevel::ReadCommitted, |$tx| $body)
    };
    ($store:expr, $isolation:expr, |$tx:ident| $body:expr) => {
        $store.bounded(async {
            let mut attempt = 0;
            loop {
                let mut conn = $store.conn().await?;
                let result: PgResult<_> = async {
                    let $tx = conn
                        .build_transaction()
                        .isolation_level($isolation)
                        .start()
                        .await?;
                    let value = $body.await?;
                    $tx.commit().await?;
                    Ok(value)
                }
                .await;
                match result {
                    Err(e) if e.is_retryable() && attempt < MAX_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(retry_pause(attempt)).await;
                    }
                    other => break other,
                }
            }
        })
    };
}

/// Runs `$body` (an expression using the connection `$c`) outside any transaction: one
/// statement, atomic on its own.
macro_rules! single {
    ($store:expr, |$c:ident| $body:expr) => {
        $store.bounded(async {
            let conn = $store.conn().await?;
            let $c: &Object = &conn;
            $body.await
        })
    };
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        single!(self, |c| async {
            c.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await
    }

    async fn meta_get(&self, key: &str) -> StoreResult<Option<String>> {
        single!(self, |c| services::meta_get(c, key)).await
    }

    async fn meta_set(&self, key: &str, value: &str) -> StoreResult<()> {
        single!(self, |c| services::meta_set(c, key, value)).await
    }

    async fn upsert_owner(
        &self,
        api_key: i64,
        secret_hash: SecretHash,
    ) -> StoreResult<OwnerRecord> {
        transact!(self, |tx| services::upsert_owner(
            &tx,
            api_key,
            secret_hash.as_str()
        ))
        .await
    }

    async fn get_owner(&self, api_key: i64) -> StoreResult<Option<OwnerRecord>> {
        single!(self, |c| services::get_owner(c, api_key)).await
    }

    async fn list_owners(&self) -> StoreResult<Vec<OwnerRecord>> {
        single!(self, |c| services::list_owners(c)).await
    }

    async fn create_service(&self, record: ServiceRecord) -> StoreResult<ServiceRecord> {
        transact!(self, |tx| services::create_service(&tx, record.clone())).await
    }

    async fn get_service(&self, api_key: i64) -> StoreResult<Option<ServiceRecord>> {
        single!(self, |c| services::get_service(c, api_key)).await
    }

    async fn list_services(
        &self,
        owner_api_key: Option<i64>,
        start: u32,
        end: u32,
    ) -> StoreResult<Page<ServiceRecord>> {
        transact!(self, IsolationLevel::RepeatableRead, |tx| {
            services::list_services(&tx, owner_api_key, start, end)
        })
        .await
    }

    async fn update_service(&self, record: ServiceRecord) -> StoreResult<bool> {
        transact!(self, |tx| services::update_service(&tx, record.clone())).await
    }

    async fn update_service_if_keys(
        &self,
        record: ServiceRecord,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        transact!(self, |tx| services::update_service_if_keys(
            &tx,
            record.clone(),
            expected
        ))
        .await
    }

    async fn set_service_secret(
        &self,
        api_key: i64,
        secret_hash: &SecretHash,
    ) -> StoreResult<bool> {
        single!(self, |c| services::set_secret(
            c,
            api_key,
            secret_hash.as_str()
        ))
        .await
    }

    async fn delete_service(&self, api_key: i64) -> StoreResult<bool> {
        transact!(self, |tx| services::delete_service(&tx, api_key)).await
    }

    async fn count_clients(&self, service_api_key: i64) -> StoreResult<u64> {
        single!(self, |c| clients::count(c, service_api_key)).await
    }

    async fn create_client(&self, record: ClientRecord) -> StoreResult<ClientRecord> {
        transact!(self, |tx| clients::create(&tx, record.clone())).await
    }

    async fn get_client(
        &self,
        service_api_key: i64,
        client_id: i64,
    ) -> StoreResult<Option<ClientRecord>> {
        single!(self, |c| clients::get(c, service_api_key, client_id)).await
    }

    async fn get_client_by_alias(
        &self,
        service_api_key: i64,
        alias: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        single!(self, |c| clients::get_by_alias(c, service_api_key, alias)).await
    }

    async fn list_clients(
        &self,
        service_api_key: i64,
        developer: Option<&str>,
        start: u32,
        end: u32,
    ) -> StoreResult<Page<ClientRecord>> {
        transact!(self, IsolationLevel::RepeatableRead, |tx| {
            clients::list(&tx, service_api_key, developer, start, end)
        })
        .await
    }

    async fn update_client(&self, record: ClientRecord) -> StoreResult<bool> {
        transact!(self, |tx| clients::update(&tx, record.clone())).await
    }

    async fn set_client_secret(
        &self,
        service_api_key: i64,
        client_id: i64,
        expected: &str,
        sealed_secret: &str,
    ) -> StoreResult<bool> {
        single!(self, |c| clients::set_secret(
            c,
            service_api_key,
            client_id,
            expected,
            sealed_secret
        ))
        .await
    }

    async fn delete_client(&self, service_api_key: i64, client_id: i64) -> StoreResult<bool> {
        transact!(self, |tx| clients::delete(&tx, service_api_key, client_id)).await
    }

    async fn create_developer(&self, record: &DeveloperRecord) -> StoreResult<()> {
        single!(self, |c| developers::create(c, record)).await
    }

    async fn get_developer(
        &self,
        service_api_key: i64,
        login: &str,
    ) -> StoreResult<Option<DeveloperRecord>> {
        single!(self, |c| developers::get(c, service_api_key, login)).await
    }

    async fn list_developers(&self, service_api_key: i64) -> StoreResult<Vec<DeveloperRecord>> {
        single!(self, |c| developers::list(c, service_api_key)).await
    }

    async fn update_developer(&self, record: &DeveloperRecord) -> StoreResult<bool> {
        single!(self, |c| developers::update(c, record)).await
    }

    async fn put_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
        data: &str,
        expires_at: Millis,
    ) -> StoreResult<()> {
        single!(self, |c| grants::put_ticket(
            c,
            kind,
            hash.as_str(),
            service_api_key,
            data,
            expires_at
        ))
        .await
    }

    async fn get_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
    ) -> StoreResult<Option<StoredTicket>> {
        single!(self, |c| grants::get_ticket(
            c,
            kind,
            hash.as_str(),
            service_api_key
        ))
        .await
    }

    async fn use_ticket(
        &self,
        kind: TicketKind,
        ticket_hash: &SecretHash,
        service_api_key: i64,
        issued: TicketIssues<'_>,
    ) -> StoreResult<bool> {
        let code = match issued.code {
            Some((hash, code)) => Some((hash.as_str(), code, to_json(code)?)),
            None => None,
        };
        let token = match issued.token {
            Some((hashes, token)) => Some(TokenRow::new(hashes, token)?),
            None => None,
        };
        let code = code
            .as_ref()
            .map(|(hash, code, data)| (*hash, *code, data.as_str()));
        transact!(self, |tx| grants::use_ticket(
            &tx,
            kind,
            ticket_hash.as_str(),
            service_api_key,
            code,
            token.as_ref()
        ))
        .await
    }

    async fn take_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
    ) -> StoreResult<Option<StoredTicket>> {
        single!(self, |c| grants::take_ticket(
            c,
            kind,
            hash.as_str(),
            service_api_key
        ))
        .await
    }

    async fn put_code(&self, hash: &SecretHash, code: &AuthorizationCode) -> StoreResult<()> {
        let data = to_json(code)?;
        single!(self, |c| grants::put_code(c, hash.as_str(), code, &data)).await
    }

    async fn get_code(&self, hash: &SecretHash) -> StoreResult<Option<StoredCode>> {
        single!(self, |c| grants::get_code(c, hash.as_str())).await
    }

    async fn redeem_code(
        &self,
        code_hash: &SecretHash,
        hashes: &TokenHashes,
        token: &TokenRecord,
        exclusive: bool,
    ) -> StoreResult<Redemption> {
        let row = TokenRow::new(hashes, token)?;
        transact!(self, |tx| grants::redeem_code(
            &tx,
            code_hash.as_str(),
            &row,
            exclusive
        ))
        .await
    }

    async fn insert_token(
        &self,
        hashes: &TokenHashes,
        token: &TokenRecord,
        exclusive: bool,
    ) -> StoreResult<()> {
        let row = TokenRow::new(hashes, token)?;
        if !exclusive {
            return single!(self, |c| tokens::insert_row(c, &row)).await;
        }
        transact!(self, |tx| tokens::insert(&tx, &row, exclusive)).await
    }

    async fn get_token_by_access(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        single!(self, |c| tokens::by_access(c, hash.as_str())).await
    }

    async fn get_token_by_refresh(&self, hash: &SecretHash) -> StoreResult<RefreshLookup> {
        single!(self, |c| tokens::by_refresh(c, hash.as_str())).await
    }

    async fn rotate_refresh(
        &self,
        old_refresh: &SecretHash,
        hashes: &TokenHashes,
        token: &TokenRecord,
    ) -> StoreResult<Rotation> {
        // Keeping the same refresh token (`refreshTokenKept`) retires nothing.
        let retire = !hashes
            .refresh
            .as_ref()
            .is_some_and(|new| new.matches(old_refresh));
        let row = TokenRow::new(hashes, token)?;
        transact!(self, |tx| tokens::rotate(
            &tx,
            old_refresh.as_str(),
            &row,
            retire
        ))
        .await
    }

    async fn revoke_by_access(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        single!(self, |c| tokens::revoke_by_access(c, hash.as_str())).await
    }

    async fn revoke_by_refresh(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        single!(self, |c| tokens::revoke_by_refresh(c, hash.as_str())).await
    }

    async fn revoke_grant(&self, service_api_key: i64, grant_id: &str) -> StoreResult<u64> {
        single!(self, |c| tokens::revoke_grant(c, service_api_key, grant_id)).await
    }

    async fn purge_expired(&self, now: Millis, batch: u32) -> StoreResult<u64> {
        single!(self, |c| grants::purge_expired(c, now, batch)).await
    }

    async fn export_rows(
        &self,
        table: castellan_store::export::Table,
        after: &castellan_store::export::Cursor,
        limit: u32,
    ) -> StoreResult<Vec<castellan_store::export::Row>> {
        single!(self, |c| export::export_rows(c, table, after, limit)).await
    }

    async fn import_rows(&self, rows: &[castellan_store::export::Row]) -> StoreResult<()> {
        transact!(self, |tx| export::import_rows(&tx, rows)).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_server_is_told_the_deadline() {
        let options = PoolOptions {
            operation_timeout: Duration::from_secs(4),
            ..PoolOptions::default()
        };
        let config = pg_config("postgres://u@h/db?options=-c%20search_path%3Dx", &options).unwrap();
        let given = config.get_options().unwrap();
        assert!(given.starts_with("-c search_path=x "), "{given}");
        assert!(given.contains("statement_timeout=3500"), "{given}");
        assert!(given.contains("lock_timeout=3500"), "{given}");
        assert!(
            given.contains("idle_in_transaction_session_timeout=7000"),
            "{given}"
        );
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(5)));
    }
}
