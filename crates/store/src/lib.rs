//! Storage: the traits every backend implements, and the records they keep.
//!
//! Every method is one atomic step. Check-and-consume operations (taking a ticket, redeeming a
//! code, rotating a refresh token) are single methods so a backend can make them conditional
//! updates: N parallel attempts yield exactly one success. Secret values never reach this layer,
//! only their keyed hashes ([`SecretHash`]).
//!
//! The shared test suite (feature `testsuite`) runs against every backend.

use async_trait::async_trait;
use castellan_core::model::{Client, Service};
use castellan_core::records::{AuthorizationCode, Millis, TicketKind, TokenRecord};
use castellan_core::secret::SecretHash;

pub mod codec;
pub mod export;
#[cfg(feature = "testsuite")]
pub mod testsuite;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (API key, client ID, client ID alias) is already taken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend failed (I/O, corruption, unreachable database).
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A service owner: the account that manages services.
#[derive(Clone, Debug)]
pub struct OwnerRecord {
    pub api_key: i64,
    pub secret_hash: SecretHash,
    pub number: i32,
}

/// A service with its hashed API secret and sealed JWK Set. `service.api_secret` and
/// `service.jwks` are always `None` here.
#[derive(Clone, Debug)]
pub struct ServiceRecord {
    pub owner_api_key: i64,
    pub secret_hash: SecretHash,
    /// The JWK Set with private keys, encrypted under the master key.
    pub sealed_jwks: Option<String>,
    /// `service.api_key` is the key; `service.number` is assigned by the store on create.
    pub service: Service,
}

/// A client with its sealed (encrypted) secret. `client.client_secret` is always `None` here.
#[derive(Clone, Debug)]
pub struct ClientRecord {
    pub service_api_key: i64,
    pub sealed_secret: String,
    /// `client.client_id` is the key; `client.number` is assigned by the store on create.
    pub client: Client,
}

/// A developer of a service: signs in to the Developer Console and manages the clients whose
/// `developer` is their login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeveloperRecord {
    pub service_api_key: i64,
    /// Unique within the service; what `Client.developer` holds.
    pub login: String,
    pub display_name: Option<String>,
    /// An Argon2id PHC string, never the password.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Millis,
}

/// A ticket taken out of storage.
#[derive(Clone, Debug)]
pub struct StoredTicket {
    pub service_api_key: i64,
    /// The ticket body, JSON.
    pub data: String,
    pub expires_at: Millis,
}

/// An authorization code and whether it was already redeemed.
#[derive(Clone, Debug)]
pub struct StoredCode {
    pub code: AuthorizationCode,
    pub used: bool,
}

/// A window of a list, with the total count regardless of the window.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub total: u64,
    pub items: Vec<T>,
}

/// The outcome of redeeming an authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// The code was unused; it is now used and the token is stored.
    Redeemed,
    /// The code was redeemed before: nothing was stored.
    AlreadyUsed,
    /// No such code.
    NotFound,
}

/// What a refresh-token hash refers to.
#[derive(Clone, Debug)]
pub enum RefreshLookup {
    /// A live token record holds this refresh token.
    Live(TokenRecord),
    /// The refresh token was rotated out; presenting it again is a replay.
    Retired {
        service_api_key: i64,
        client_id: i64,
        grant_id: String,
    },
    Unknown,
}

/// The outcome of a refresh-token rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// The refresh token is no longer live (rotated or revoked concurrently).
    Gone,
}

/// What using up an authorization ticket issues, stored in the same write.
#[derive(Clone, Copy, Debug, Default)]
pub struct TicketIssues<'a> {
    pub code: Option<(&'a SecretHash, &'a AuthorizationCode)>,
    pub token: Option<(&'a TokenHashes, &'a TokenRecord)>,
}

/// New hashes for a token record.
#[derive(Clone, Debug)]
pub struct TokenHashes {
    pub access: SecretHash,
    pub refresh: Option<SecretHash>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip to the backend (readiness).
    async fn ping(&self) -> StoreResult<()>;

    /// A small key/value area for installation metadata (e.g. the master-key fingerprint).
    async fn meta_get(&self, key: &str) -> StoreResult<Option<String>>;
    async fn meta_set(&self, key: &str, value: &str) -> StoreResult<()>;

    // --- service owners -------------------------------------------------------------------
    /// Inserts or replaces an owner; assigns `number` on first insert and returns the record.
    async fn upsert_owner(&self, api_key: i64, secret_hash: SecretHash)
    -> StoreResult<OwnerRecord>;
    async fn get_owner(&self, api_key: i64) -> StoreResult<Option<OwnerRecord>>;
    async fn list_owners(&self) -> StoreResult<Vec<OwnerRecord>>;

    // --- services -------------------------------------------------------------------------
    /// Stores a new service; assigns `service.number`. `Conflict` if the API key is taken.
    async fn create_service(&self, record: ServiceRecord) -> StoreResult<ServiceRecord>;
    async fn get_service(&self, api_key: i64) -> StoreResult<Option<ServiceRecord>>;
    /// The owner's services in creation order; `owner_api_key = None` lists every service.
    async fn list_services(
        &self,
        owner_api_key: Option<i64>,
        start: u32,
        end: u32,
    ) -> StoreResult<Page<ServiceRecord>>;
    /// Replaces the stored service document (and owner and sealed JWK Set); the API-secret hash
    /// stays as stored (it changes only through `set_service_secret`, so a settings update and
    /// a new secret never undo each other). `false` if there is no such service.
    async fn update_service(&self, record: ServiceRecord) -> StoreResult<bool>;
    /// Replaces the stored service document only if its sealed JWK Set is still `expected`
    /// (compare-and-swap: each sealing is unique, so an equal value means no other change came
    /// in between, on any node). `false` if it changed or the service is gone.
    async fn update_service_if_keys(
        &self,
        record: ServiceRecord,
        expected: Option<&str>,
    ) -> StoreResult<bool>;
    /// Replaces the service's API-secret hash alone. `false` if there is no such service.
    async fn set_service_secret(&self, api_key: i64, secret_hash: &SecretHash)
    -> StoreResult<bool>;
    /// Deletes the service and everything under it (clients, developers, tickets, codes,
    /// tokens).
    async fn delete_service(&self, api_key: i64) -> StoreResult<bool>;
    async fn count_clients(&self, service_api_key: i64) -> StoreResult<u64>;

    // --- clients --------------------------------------------------------------------------
    /// Stores a new client; assigns `client.number`. `Conflict` if the client ID is taken, or
    /// the alias is taken within the service.
    async fn create_client(&self, record: ClientRecord) -> StoreResult<ClientRecord>;
    async fn get_client(
        &self,
        service_api_key: i64,
        client_id: i64,
    ) -> StoreResult<Option<ClientRecord>>;
    async fn get_client_by_alias(
        &self,
        service_api_key: i64,
        alias: &str,
    ) -> StoreResult<Option<ClientRecord>>;
    /// Clients of the service in creation order, optionally only one developer's.
    async fn list_clients(
        &self,
        service_api_key: i64,
        developer: Option<&str>,
        start: u32,
        end: u32,
    ) -> StoreResult<Page<ClientRecord>>;
    /// Replaces the client document; the sealed secret stays as stored (it changes only through
    /// `set_client_secret`, so a settings update and a secret change never undo each other).
    /// `false` if there is no such client; `Conflict` if the new alias is taken.
    async fn update_client(&self, record: ClientRecord) -> StoreResult<bool>;
    /// Replaces the client's sealed secret if it is still `expected` (compare-and-swap: each
    /// sealing is unique). `false` if it changed meanwhile or the client is gone.
    async fn set_client_secret(
        &self,
        service_api_key: i64,
        client_id: i64,
        expected: &str,
        sealed_secret: &str,
    ) -> StoreResult<bool>;
    /// Deletes the client and its tickets, codes and tokens.
    async fn delete_client(&self, service_api_key: i64, client_id: i64) -> StoreResult<bool>;

    // --- developers -----------------------------------------------------------------------
    /// Stores a new developer. `Conflict` if the login is taken in the service.
    async fn create_developer(&self, record: &DeveloperRecord) -> StoreResult<()>;
    async fn get_developer(
        &self,
        service_api_key: i64,
        login: &str,
    ) -> StoreResult<Option<DeveloperRecord>>;
    /// The service's developers by login.
    async fn list_developers(&self, service_api_key: i64) -> StoreResult<Vec<DeveloperRecord>>;
    /// Replaces the display name, password hash and disabled flag. `false` if there is no such
    /// developer.
    async fn update_developer(&self, record: &DeveloperRecord) -> StoreResult<bool>;

    // --- tickets --------------------------------------------------------------------------
    async fn put_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
        data: &str,
        expires_at: Millis,
    ) -> StoreResult<()>;
    // Every ticket operation is scoped by service: another service's ticket is not found and
    // stays untouched, so one tenant can neither probe nor destroy another's tickets.
    /// Reads a ticket without using it up (see `use_ticket`).
    async fn get_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
    ) -> StoreResult<Option<StoredTicket>>;
    /// Atomically uses up the ticket and stores what it issued (a code, an access token): one
    /// write where taking the ticket and then storing them would be several. `false`, and
    /// nothing stored, when the ticket was already gone (used by a concurrent call).
    async fn use_ticket(
        &self,
        kind: TicketKind,
        ticket_hash: &SecretHash,
        service_api_key: i64,
        issued: TicketIssues<'_>,
    ) -> StoreResult<bool>;
    /// Removes and returns the ticket (single use), expired or not: the caller reports expiry.
    async fn take_ticket(
        &self,
        kind: TicketKind,
        hash: &SecretHash,
        service_api_key: i64,
    ) -> StoreResult<Option<StoredTicket>>;

    // --- authorization codes --------------------------------------------------------------
    async fn put_code(&self, hash: &SecretHash, code: &AuthorizationCode) -> StoreResult<()>;
    async fn get_code(&self, hash: &SecretHash) -> StoreResult<Option<StoredCode>>;
    /// Atomically marks the code used and stores the token issued from it. With `exclusive`,
    /// the subject's other tokens of the same client are deleted first
    /// (`singleAccessTokenPerSubject`), only if the code is redeemed.
    async fn redeem_code(
        &self,
        code_hash: &SecretHash,
        hashes: &TokenHashes,
        token: &TokenRecord,
        exclusive: bool,
    ) -> StoreResult<Redemption>;

    // --- tokens ---------------------------------------------------------------------------
    /// Stores a token. With `exclusive`, first deletes the other tokens of the same
    /// (service, client, subject) — `singleAccessTokenPerSubject`.
    async fn insert_token(
        &self,
        hashes: &TokenHashes,
        token: &TokenRecord,
        exclusive: bool,
    ) -> StoreResult<()>;
    async fn get_token_by_access(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>>;
    async fn get_token_by_refresh(&self, hash: &SecretHash) -> StoreResult<RefreshLookup>;
    /// Atomically replaces the record holding `old_refresh` with `token` under new hashes. When
    /// the refresh hash changes, the old one is remembered as retired (for replay detection)
    /// until its expiry.
    async fn rotate_refresh(
        &self,
        old_refresh: &SecretHash,
        hashes: &TokenHashes,
        token: &TokenRecord,
    ) -> StoreResult<Rotation>;
    /// Deletes the record whose access token has this hash; returns it if there was one.
    async fn revoke_by_access(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>>;
    /// Deletes the record whose live refresh token has this hash; returns it if there was one.
    async fn revoke_by_refresh(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>>;
    /// Deletes every token record of the grant (retired refresh tokens stay retired). Returns
    /// how many token records were deleted.
    async fn revoke_grant(&self, service_api_key: i64, grant_id: &str) -> StoreResult<u64>;

    // --- housekeeping ---------------------------------------------------------------------
    /// Deletes at most `batch` expired tickets, codes, token records (both tokens expired) and
    /// retired refresh tokens. Returns how many rows went.
    async fn purge_expired(&self, now: Millis, batch: u32) -> StoreResult<u64>;

    // --- moving between backends ------------------------------------------------------------
    /// Up to `limit` rows of `table` in key order, starting after `after`.
    async fn export_rows(
        &self,
        table: export::Table,
        after: &export::Cursor,
        limit: u32,
    ) -> StoreResult<Vec<export::Row>>;
    /// Stores rows exactly as given (numbers included), all or none. `Conflict` if a key is
    /// taken. Counters and metadata are set, not added.
    async fn import_rows(&self, rows: &[export::Row]) -> StoreResult<()>;
}
