//! The embedded storage backend: one SQLite database file.
//!
//! Writes go to a single writer thread that commits queued operations together (group commit:
//! one fsync per batch) with `synchronous=FULL`, so every acknowledged write survives a crash or
//! power loss. Operations that check and then change run there too, which makes them atomic
//! without row locks. Reads use a small pool of connections and run inline: in WAL mode they
//! never wait for the writer.

mod clients;
mod connection;
mod developers;
mod error;
mod export;
mod grants;
mod readers;
mod rows;
mod schema;
mod services;
mod tokens;
mod writer;

use std::path::Path;

use async_trait::async_trait;
use castellan_core::records::{AuthorizationCode, Millis, TicketKind, TokenRecord};
use castellan_core::secret::SecretHash;
use castellan_store::{
    ClientRecord, DeveloperRecord, OwnerRecord, Page, Redemption, RefreshLookup, Rotation,
    ServiceRecord, Store, StoreError, StoreResult, StoredCode, StoredTicket, TicketIssues,
    TokenHashes,
};

use crate::readers::Readers;
use crate::rows::{TokenRow, to_json};
use crate::writer::Writer;

pub struct SqliteStore {
    // Fields drop in order: readers close first, so the writer's connection is the last one
    // and closing it folds the log back into the database file.
    readers: Readers,
    writer: Writer,
}

impl SqliteStore {
    /// Opens the database at `path`, creating it (and its directory) if missing, and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        private_files(path)?;
        let mut conn = connection::open_writer(path)?;
        schema::migrate(&mut conn)?;
        let readers = Readers::new(path.to_path_buf())?;
        let writer = Writer::start(conn)?;
        tracing::info!(path = %path.display(), "opened SQLite store");
        Ok(SqliteStore { readers, writer })
    }
}

/// Creates the database's directory (0700) and file (0600) readable by their owner alone, and
/// narrows them to that if they already exist. SQLite gives its log and shared-memory files the
/// database file's mode, so they follow. What this process may not narrow (a mounted volume
/// owned by another user and shared through its group) is left as it is, with a warning.
fn private_files(path: &Path) -> StoreResult<()> {
    let fail = |what: &Path, e: std::io::Error| {
        StoreError::Backend(format!("cannot prepare {}: {e}", what.display()))
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| fail(dir, e))?;
            narrow(dir, 0o700).map_err(|e| fail(dir, e))?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| fail(path, e))?;
        for file in [
            path.to_path_buf(),
            suffixed(path, "-wal"),
            suffixed(path, "-shm"),
        ] {
            if file.exists() {
                narrow(&file, 0o600).map_err(|e| fail(&file, e))?;
            }
        }
    }
    #[cfg(not(unix))]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    }
    Ok(())
}

/// Sets `mode` on `path`; a refusal (not the owner) is a warning, not a failure.
#[cfg(unix)]
fn narrow(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "cannot narrow the permissions (not the owner); leaving them as they are");
            Ok(())
        }
        other => other,
    }
}

fn suffixed(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

fn owned(hash: &SecretHash) -> String {
    hash.as_str().to_owned()
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        if !self.writer.is_running() {
            return Err(StoreError::Backend("the storage writer has stopped".into()));
        }
        self.readers.with(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(error::db_error)
        })
    }

    async fn meta_get(&self, key: &str) -> StoreResult<Option<String>> {
        self.readers.with(|c| services::meta_get(c, key))
    }

    async fn meta_set(&self, key: &str, value: &str) -> StoreResult<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.writer
            .run(move |tx| services::meta_set(tx, &key, &value))
            .await
    }

    async fn upsert_owner(
        &self,
        api_key: i64,
        secret_hash: SecretHash,
    ) -> StoreResult<OwnerRecord> {
        let secret_hash = secret_hash.into_string();
        self.writer
            .run(move |tx| services::upsert_owner(tx, api_key, &secret_hash))
            .await
    }

    async fn get_owner(&self, api_key: i64) -> StoreResult<Option<OwnerRecord>> {
        self.readers.with(|c| services::get_owner(c, api_key))
    }

    async fn list_owners(&self) -> StoreResult<Vec<OwnerRecord>> {
        self.readers.with(|c| services::list_owners(c))
    }

    async fn create_service(&self, record: ServiceRecord) -> StoreResult<ServiceRecord> {
        self.writer
            .run(move |tx| services::create_service(tx, record))
            .await
    }

    async fn get_service(&self, api_key: i64) -> StoreResult<Option<ServiceRecord>> {
        self.readers.with(|c| services::get_service(c, api_key))
    }

    async fn list_services(
        &self,
        owner_api_key: Option<i64>,
        start: u32,
        end: u32,
    ) -> StoreResult<Page<ServiceRecord>> {
        self.readers
            .with(|c| services::list_services(c, owner_api_key, start, end))
    }

    async fn update_service(&self, record: ServiceRecord) -> StoreResult<bool> {
        self.writer
            .run(move |tx| services::update_service(tx, record))
            .await
    }

    async fn update_service_if_keys(
        &self,
        record: ServiceRecord,
        expected: Option<&str>,
    ) -> StoreResult<bool> {
        let expected = expected.map(str::to_owned);
        self.writer
            .run(move |tx| services::update_service_if_keys(tx, record, expected.as_deref()))
            .await
    }

    async fn set_service_secret(
        &self,
        api_key: i64,
        secret_hash: &SecretHash,
    ) -> StoreResult<bool> {
        let hash = owned(secret_hash);
        self.writer
            .run(move |tx| services::set_secret(tx, api_key, &hash))
            .await
    }

    async fn delete_service(&self, api_key: i64) -> StoreResult<bool> {
        self.writer
            .run(move |tx| services::delete_service(tx, api_key))
            .await
    }

    async fn count_clients(&self, service_api_key: i64) -> StoreResult<u64> {
        self.readers.with(|c| clients::count(c, service_api_key))
    }

    async fn create_client(&self, record: ClientRecord) -> StoreResult<ClientRecord> {
        self.writer.run(move |tx| clients::create(tx, record)).await
    }

    async fn get_client(
        &self,
        service_api_key: i64,
        client_id: i64,
    ) -> StoreResult<Option<ClientRecord>> {
        self.readers
            .with(|c| clients::get(c, service_api_key, client_id))
    }

    async fn get_client_by_alias(
        &self,
        service_api_key: i64,
        alias: &str,
    ) -> StoreResult<Option<ClientRecord>> {
        self.readers
            .with(|c| clients::get_by_alias(c, service_api_key, alias))
    }

    async fn list_clients(
        &self,
        service_api_key: i64,
        developer: Option<&str>,
        start: u32,
        end: u32,
    ) -> StoreResult<Page<ClientRecord>> {
        self.readers
            .with(|c| clients::list(c, service_api_key, developer, start, end))
    }

    async fn update_client(&self, record: ClientRecord) -> StoreResult<bool> {
        self.writer.run(move |tx| clients::update(tx, record)).await
    }

    async fn set_client_secret(
        &self,
        service_api_key: i64,
        client_id: i64,
        expected: &str,
        sealed_secret: &str,
    ) -> StoreResult<bool> {
        let (expected, sealed_secret) = (expected.to_owned(), sealed_secret.to_owned());
        self.writer
            .run(move |tx| {
                clients::set_secret(tx, service_api_key, client_id, &expected, &sealed_secret)
            })
            .await
    }

    async fn delete_client(&self, service_api_key: i64, client_id: i64) -> StoreResult<bool> {
        self.writer
            .run(move |tx| clients::delete(tx, service_api_key, client_id))
            .await
    }

    async fn create_developer(&self, record: &DeveloperRecord) -> StoreResult<()> {
        let record = record.clone();
        self.writer
            .run(move |tx| developers::create(tx, &record))
            .await
    }

    async fn get_developer(
        &self,
        service_api_key: i64,
        login: &str,
    ) -> StoreResult<Option<DeveloperRecord>> {
        self.readers
            .with(|c| developers::get(c, service_api_key, login))
    }

    async fn list_developers(&self, service_api_key: i64) -> StoreResult<Vec<DeveloperRecord>> {
        self.readers.with(|c| developers::list(c, service_api_key))
    }

    async fn update_developer(&self, record: &DeveloperRecord) -> StoreResult<bool> {
        let record = record.clone();
        self.writer
            .run(move |tx| developers::update(tx, &record))
            .await
    }

    async fn put_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
        data: &str,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let (hash, data) = (owned(hash), data.to_owned());
        self.writer
            .run(move |tx| grants::put_ticket(tx, kind, &hash, service_api_key, &data, expires_at))
            .await
    }

    async fn get_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
    ) -> StoreResult<Option<StoredTicket>> {
        self.readers
            .with(|c| grants::get_ticket(c, kind, hash.as_str(), service_api_key))
    }

    async fn use_ticket(
        &self,
        kind: TicketKind,
        ticket_hash: &SecretHash,
        service_api_key: i64,
        issued: TicketIssues<'_>,
    ) -> StoreResult<bool> {
        let ticket_hash = owned(ticket_hash);
        let code = match issued.code {
            Some((hash, code)) => Some((owned(hash), code.clone(), to_json(code)?)),
            None => None,
        };
        let token = match issued.token {
            Some((hashes, token)) => Some(TokenRow::new(hashes, token)?),
            None => None,
        };
        self.writer
            .run(move |tx| {
                let code = code
                    .as_ref()
                    .map(|(hash, code, data)| (hash.as_str(), code, data.as_str()));
                grants::use_ticket(
                    tx,
                    kind,
                    &ticket_hash,
                    service_api_key,
                    code,
                    token.as_ref(),
                )
            })
            .await
    }

    async fn take_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
    ) -> StoreResult<Option<StoredTicket>> {
        let hash = owned(hash);
        self.writer
            .run(move |tx| grants::take_ticket(tx, kind, &hash, service_api_key))
            .await
    }

    async fn put_code(&self, hash: &SecretHash, code: &AuthorizationCode) -> StoreResult<()> {
        let (hash, code, data) = (owned(hash), code.clone(), to_json(code)?);
        self.writer
            .run(move |tx| grants::put_code(tx, &hash, &code, &data))
            .await
    }

    async fn get_code(&self, hash: &SecretHash) -> StoreResult<Option<StoredCode>> {
        self.readers.with(|c| grants::get_code(c, hash.as_str()))
    }

    async fn redeem_code(
        &self,
        code_hash: &SecretHash,
        hashes: &TokenHashes,
        token: &TokenRecord,
        exclusive: bool,
    ) -> StoreResult<Redemption> {
        let (code_hash, row) = (owned(code_hash), TokenRow::new(hashes, token)?);
        self.writer
            .run(move |tx| grants::redeem_code(tx, &code_hash, &row, exclusive))
            .await
    }

    async fn insert_token(
        &self,
        hashes: &TokenHashes,
        token: &TokenRecord,
        exclusive: bool,
    ) -> StoreResult<()> {
        let row = TokenRow::new(hashes, token)?;
        self.writer
            .run(move |tx| tokens::insert(tx, &row, exclusive))
            .await
    }

    async fn get_token_by_access(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        self.readers.with(|c| tokens::by_access(c, hash.as_str()))
    }

    async fn get_token_by_refresh(&self, hash: &SecretHash) -> StoreResult<RefreshLookup> {
        self.readers.with(|c| tokens::by_refresh(c, hash.as_str()))
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
        let (old, row) = (owned(old_refresh), TokenRow::new(hashes, token)?);
        self.writer
            .run(move |tx| tokens::rotate(tx, &old, &row, retire))
            .await
    }

    async fn revoke_by_access(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        let hash = owned(hash);
        self.writer
            .run(move |tx| tokens::revoke_by_access(tx, &hash))
            .await
    }

    async fn revoke_by_refresh(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        let hash = owned(hash);
        self.writer
            .run(move |tx| tokens::revoke_by_refresh(tx, &hash))
            .await
    }

    async fn revoke_grant(&self, service_api_key: i64, grant_id: &str) -> StoreResult<u64> {
        let grant_id = grant_id.to_owned();
        self.writer
            .run(move |tx| tokens::revoke_grant(tx, service_api_key, &grant_id))
            .await
    }

    async fn purge_expired(&self, now: Millis, batch: u32) -> StoreResult<u64> {
        self.writer
            .run(move |tx| grants::purge_expired(tx, now, batch))
            .await
    }

    async fn export_rows(
        &self,
        table: castellan_store::export::Table,
        after: &castellan_store::export::Cursor,
        limit: u32,
    ) -> StoreResult<Vec<castellan_store::export::Row>> {
        self.readers
            .with(|c| export::export_rows(c, table, after, limit))
    }

    async fn import_rows(&self, rows: &[castellan_store::export::Row]) -> StoreResult<()> {
        let rows = rows.to_vec();
        self.writer
            .run(move |tx| export::import_rows(tx, &rows))
            .await
    }
}
