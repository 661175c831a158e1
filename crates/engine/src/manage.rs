//! Management of services (by their owner) and clients (by their service).

use castellan_core::jose::JwkSet;
use castellan_core::model::{Client, MAX_TOKEN_DURATION_SECONDS, Pair, Service};
use castellan_core::secret::{new_client_secret, new_numeric_id, new_token};
use castellan_store::{ClientRecord, OwnerRecord, ServiceRecord, StoreError};
use serde_json::Value;

use crate::system::SystemEntropy;
use crate::{Engine, EngineError};

/// A management call that cannot be done as asked.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ManageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ManageError::Conflict(what),
            other => ManageError::Engine(EngineError::Store(other)),
        }
    }
}

pub(crate) type ManageResult<T> = Result<T, ManageError>;

/// A service just created: the only time its API secret is shown.
pub type NewService = Service;

pub struct ServicePage {
    pub total: u64,
    pub services: Vec<Service>,
}

pub struct ClientPage {
    pub total: u64,
    pub clients: Vec<Client>,
}

/// The reply of the client-secret APIs.
pub struct ClientSecretChange {
    pub client_id: i64,
    pub new_secret: String,
    pub old_secret: String,
}

const MAX_REDIRECT_URI_LEN: usize = 200;
const NO_SETTINGS: &str = "The request carries no settings. An update replaces every setting, so send the whole object as the get API returns it, with your changes.";
const MAX_ATTEMPTS: usize = 8;

fn validate_service(service: &Service) -> ManageResult<()> {
    if let Some(issuer) = service.issuer.as_deref().filter(|i| !i.is_empty()) {
        let url = url::Url::parse(issuer).map_err(|_| {
            ManageError::BadRequest(format!("issuer '{issuer}' is not an absolute URI"))
        })?;
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && local) {
            return Err(ManageError::BadRequest(format!(
                "issuer '{issuer}' must use https"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ManageError::BadRequest(format!(
                "issuer '{issuer}' must have no query and no fragment"
            )));
        }
    }
    for (name, value) in [
        ("accessTokenDuration", service.access_token_duration),
        ("refreshTokenDuration", service.refresh_token_duration),
        ("idTokenDuration", service.id_token_duration),
    ] {
        check_duration(name, value)?;
    }
    for scope in service.supported_scopes.iter().flatten() {
        for attribute in ["access_token.duration", "refresh_token.duration"] {
            if let Some(value) = scope.attribute(attribute) {
                let seconds = value.trim().parse::<i64>().map_err(|_| {
                    ManageError::BadRequest(format!(
                        "the attribute '{attribute}' of scope '{}' must be a whole number of seconds",
                        scope.name()
                    ))
                })?;
                check_duration(attribute, seconds)?;
            }
        }
        let name = scope.name();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(ManageError::BadRequest(format!(
                "scope name '{name}' is not a valid scope token (RFC 6749 §3.3)"
            )));
        }
    }
    Ok(())
}

/// A token lifetime in seconds: 0 (the default) up to [`MAX_TOKEN_DURATION_SECONDS`].
fn check_duration(name: &str, seconds: i64) -> ManageResult<()> {
    if (0..=MAX_TOKEN_DURATION_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(ManageError::BadRequest(format!(
            "{name} must be between 0 and {MAX_TOKEN_DURATION_SECONDS} seconds"
        )))
    }
}

/// Client metadata that names a web page or document: shown to users or fetched, so only
/// `https` is accepted (as the Developer Console requires).
const CLIENT_WEB_URIS: &[&str] = &[
    "clientUri",
    "logoUri",
    "policyUri",
    "tosUri",
    "jwksUri",
    "sectorIdentifierUri",
    "initiateLoginUri",
];
/// The localized forms of the same metadata: lists of `{tag, value}`.
const CLIENT_TAGGED_WEB_URIS: &[&str] = &["clientUris", "logoUris", "policyUris", "tosUris"];

fn check_https(name: &str, uri: &str) -> ManageResult<()> {
    match url::Url::parse(uri) {
        Ok(u) if u.scheme() == "https" && !uri.chars().any(char::is_control) => Ok(()),
        _ => Err(ManageError::BadRequest(format!(
            "{name} must be an absolute https URL"
        ))),
    }
}

fn validate_client_uris(client: &Client) -> ManageResult<()> {
    for name in CLIENT_WEB_URIS {
        match client.other.get(*name) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => check_https(name, s)?,
            Some(_) => {
                return Err(ManageError::BadRequest(format!("{name} must be a string")));
            }
        }
    }
    for name in CLIENT_TAGGED_WEB_URIS {
        let Some(list) = client.other.get(*name).filter(|v| !v.is_null()) else {
            continue;
        };
        let items = list.as_array().ok_or_else(|| {
            ManageError::BadRequest(format!("{name} must be a list of {{tag, value}}"))
        })?;
        for item in items {
            match item.get("value") {
                Some(Value::String(s)) if !s.is_empty() => check_https(name, s)?,
                _ => {
                    return Err(ManageError::BadRequest(format!(
                        "{name} must be a list of {{tag, value}} with a URL as value"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Whether a service in an update request carries any setting: an update replaces every
/// setting, so a body without any (an empty object, a wrong content type) would wipe the
/// service, its signing keys included.
fn has_service_settings(input: &Service) -> bool {
    let mut probe = input.clone();
    probe.normalize();
    // What callers cannot set: a body of these alone carries no settings either.
    probe.api_key = 0;
    probe.number = 0;
    probe.service_owner_number = 0;
    probe.created_at = 0;
    probe.modified_at = 0;
    probe.api_secret = None;
    probe.metadata = None;
    probe != Service::default()
}

fn has_client_settings(input: &Client) -> bool {
    let mut probe = input.clone();
    probe.other.retain(|_, v| !v.is_null());
    probe.client_id = 0;
    probe.number = 0;
    probe.service_number = 0;
    probe.created_at = 0;
    probe.modified_at = 0;
    probe.locked = false;
    probe.dynamically_registered = false;
    probe.client_secret = None;
    probe != Client::default()
}

fn validate_client(client: &Client) -> ManageResult<()> {
    validate_client_uris(client)?;
    if let Some(ext) = &client.extension {
        check_duration("extension.accessTokenDuration", ext.access_token_duration)?;
        check_duration("extension.refreshTokenDuration", ext.refresh_token_duration)?;
    }
    for uri in client.redirect_uris() {
        if uri.len() > MAX_REDIRECT_URI_LEN || !uri.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(ManageError::BadRequest(format!(
                "redirect URI '{uri}' must be printable ASCII of at most {MAX_REDIRECT_URI_LEN} characters"
            )));
        }
        let url = url::Url::parse(uri).map_err(|_| {
            ManageError::BadRequest(format!("redirect URI '{uri}' is not an absolute URI"))
        })?;
        if url.fragment().is_some() {
            return Err(ManageError::BadRequest(format!(
                "redirect URI '{uri}' must not have a fragment"
            )));
        }
        // Schemes that run or read content instead of reaching an application: a form_post
        // response (or a plain redirect) to one would run script on the authorization server's
        // origin.
        if matches!(
            url.scheme(),
            "javascript" | "data" | "vbscript" | "file" | "blob" | "about"
        ) {
            return Err(ManageError::BadRequest(format!(
                "redirect URI '{uri}' uses the scheme '{}', which cannot receive a response",
                url.scheme()
            )));
        }
    }
    if let Some(alias) = client.client_id_alias.as_deref()
        && (alias.is_empty() || alias.bytes().all(|b| b.is_ascii_digit()) || alias.len() > 200)
    {
        return Err(ManageError::BadRequest(format!(
            "clientIdAlias '{alias}' must be 1 to 200 characters and not all digits (it would shadow a client ID)"
        )));
    }
    Ok(())
}

/// Custom client secrets: `A-Z a-z 0-9 - _`, 1 to 86 characters.
fn validate_client_secret(secret: &str) -> ManageResult<()> {
    if secret.is_empty()
        || secret.len() > 86
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ManageError::BadRequest(
            "clientSecret must be 1 to 86 characters of A-Z a-z 0-9 - _".to_owned(),
        ));
    }
    Ok(())
}

impl Engine {
    // ----- services -----------------------------------------------------------------------

    /// Checks a JWK Set handed in with a service and seals it for storage.
    fn seal_jwks(&self, jwks: Option<&str>) -> ManageResult<Option<String>> {
        let Some(text) = jwks.filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        let set = JwkSet::parse(text).map_err(|e| ManageError::BadRequest(format!("jwks: {e}")))?;
        crate::keys::check_private_keys(&set)
            .map_err(|e| ManageError::BadRequest(format!("jwks: {e}")))?;
        Ok(Some(self.keys.seal(text, &mut SystemEntropy)))
    }

    /// The service of a record with its JWK Set opened.
    pub(crate) fn reveal_service(&self, record: ServiceRecord) -> Service {
        let mut service = record.service;
        service.jwks = record
            .sealed_jwks
            .and_then(|s| self.keys.open(&s))
            .map(Into::into);
        service
    }

    /// A JWK Set with one new key for each default algorithm, as text.
    async fn default_jwks() -> ManageResult<String> {
        let generated = tokio::task::spawn_blocking(crate::keys::default_key_set)
            .await
            .map_err(|e| ManageError::BadRequest(format!("key generation stopped: {e}")))?;
        let set = generated.map_err(|e| ManageError::BadRequest(e.0))?;
        Ok(set.to_json(false))
    }

    pub async fn create_service(
        &self,
        owner: &OwnerRecord,
        mut input: Service,
    ) -> ManageResult<NewService> {
        input.normalize();
        validate_service(&input)?;
        // A service without keys gets a fresh set, so it can sign ID tokens from the start.
        if input.jwks.as_deref().is_none_or(|j| j.trim().is_empty()) {
            input.jwks = Some(Self::default_jwks().await?.into());
        }
        let sealed_jwks = self.seal_jwks(input.jwks.as_deref())?;
        let now = self.now();
        input.service_owner_number = owner.number;
        input.created_at = now;
        input.modified_at = now;
        input.api_secret = None;
        input.metadata = None;
        for _ in 0..MAX_ATTEMPTS {
            let secret = new_token(&mut SystemEntropy);
            let mut service = input.clone();
            service.api_key = new_numeric_id(&mut SystemEntropy);
            let record = ServiceRecord {
                owner_api_key: owner.api_key,
                secret_hash: self.keys.hash(&secret),
                sealed_jwks: sealed_jwks.clone(),
                service,
            };
            match self.store.create_service(record).await {
                Ok(stored) => {
                    let mut service = self.reveal_service(stored);
                    service.api_secret = Some(secret);
                    service.metadata = Some(vec![Pair {
                        key: Some("clientCount".into()),
                        value: Some("0".into()),
                    }]);
                    return Ok(service);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ManageError::Conflict(
            "could not allocate a unique API key".to_owned(),
        ))
    }

    pub(crate) async fn owned_service(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
    ) -> ManageResult<ServiceRecord> {
        match self.store.get_service(api_key).await? {
            Some(r) if owner.is_none_or(|o| o.api_key == r.owner_api_key) => Ok(r),
            _ => Err(ManageError::NotFound(format!(
                "The service (API Key = {api_key}) does not exist."
            ))),
        }
    }

    async fn with_metadata(&self, mut service: Service) -> ManageResult<Service> {
        let count = self.store.count_clients(service.api_key).await?;
        service.metadata = Some(vec![Pair {
            key: Some("clientCount".into()),
            value: Some(count.to_string()),
        }]);
        Ok(service)
    }

    /// `owner = None`: any service (local administration through the CLI).
    pub async fn get_service(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
    ) -> ManageResult<Service> {
        let record = self.owned_service(owner, api_key).await?;
        self.with_metadata(self.reveal_service(record)).await
    }

    pub async fn list_services(
        &self,
        owner: Option<&OwnerRecord>,
        start: u32,
        end: u32,
    ) -> ManageResult<ServicePage> {
        let page = self
            .store
            .list_services(owner.map(|o| o.api_key), start, end)
            .await?;
        let mut services = Vec::with_capacity(page.items.len());
        for r in page.items {
            services.push(self.with_metadata(self.reveal_service(r)).await?);
        }
        Ok(ServicePage {
            total: page.total,
            services,
        })
    }

    pub async fn update_service(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
        input: Service,
    ) -> ManageResult<Service> {
        let (record, ()) = self
            .replace_service(owner, api_key, |existing| {
                Ok((self.updated_service_record(existing, input.clone())?, ()))
            })
            .await?;
        self.with_metadata(self.reveal_service(record)).await
    }

    /// Stores what `build` makes of the stored service, as a compare-and-swap on its key set:
    /// a change made meanwhile (here or on another node) is never undone; `build` is applied
    /// again to the newer record instead. Returns the stored record and what `build` returned
    /// beside it.
    pub(crate) async fn replace_service<T>(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
        mut build: impl FnMut(ServiceRecord) -> ManageResult<(ServiceRecord, T)>,
    ) -> ManageResult<(ServiceRecord, T)> {
        for _ in 0..MAX_ATTEMPTS {
            let existing = self.owned_service(owner, api_key).await?;
            let expected = existing.sealed_jwks.clone();
            let (record, built) = build(existing)?;
            let swapped = self
                .store
                .update_service_if_keys(record.clone(), expected.as_deref())
                .await?;
            self.forget_service(api_key);
            if swapped {
                return Ok((record, built));
            }
        }
        Err(ManageError::Conflict(format!(
            "the keys of service {api_key} kept changing; try again"
        )))
    }

    /// The record that replaces `existing` with the settings of `input`, keeping what callers
    /// cannot change (API key, number, owner, creation time, API secret).
    pub(crate) fn updated_service_record(
        &self,
        existing: ServiceRecord,
        mut input: Service,
    ) -> ManageResult<ServiceRecord> {
        if !has_service_settings(&input) {
            return Err(ManageError::BadRequest(NO_SETTINGS.to_owned()));
        }
        input.normalize();
        validate_service(&input)?;
        let sealed_jwks = self.seal_jwks(input.jwks.as_deref())?;
        let kept = &existing.service;
        input.api_key = kept.api_key;
        input.number = kept.number;
        input.service_owner_number = kept.service_owner_number;
        input.created_at = kept.created_at;
        input.modified_at = self.now();
        input.api_secret = None;
        input.metadata = None;
        Ok(ServiceRecord {
            owner_api_key: existing.owner_api_key,
            secret_hash: existing.secret_hash,
            sealed_jwks,
            service: input,
        })
    }

    /// Gives the service a new API secret and returns it (shown once): the old secret stops
    /// working at once on this node, and on others within the cache bound.
    pub async fn regenerate_service_secret(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
    ) -> ManageResult<String> {
        // The hash alone is written, so a concurrent settings update cannot bring the old
        // secret back, nor this change undo the settings.
        self.owned_service(owner, api_key).await?;
        let secret = new_token(&mut SystemEntropy);
        let updated = self
            .store
            .set_service_secret(api_key, &self.keys.hash(&secret))
            .await?;
        self.forget_service(api_key);
        if !updated {
            return Err(ManageError::NotFound(format!(
                "The service (API Key = {api_key}) does not exist."
            )));
        }
        Ok(secret)
    }

    pub async fn delete_service(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
    ) -> ManageResult<()> {
        self.owned_service(owner, api_key).await?;
        self.store.delete_service(api_key).await?;
        self.forget_service(api_key);
        Ok(())
    }

    // ----- clients ------------------------------------------------------------------------

    async fn client_record(
        &self,
        service: &Service,
        identifier: &str,
    ) -> ManageResult<ClientRecord> {
        let by_id = match castellan_core::client_lookup::identifier_as_id(identifier) {
            Some(id) => self.store.get_client(service.api_key, id).await?,
            None => None,
        };
        let found = match by_id {
            Some(r) => Some(r),
            None => {
                self.store
                    .get_client_by_alias(service.api_key, identifier)
                    .await?
            }
        };
        found.ok_or_else(|| {
            ManageError::NotFound(format!(
                "The client (identifier = {identifier}) does not exist."
            ))
        })
    }

    fn reveal(&self, record: ClientRecord) -> Client {
        let mut client = record.client;
        client.client_secret = self.keys.open(&record.sealed_secret);
        client
    }

    pub async fn create_client(
        &self,
        service: &Service,
        mut input: Client,
    ) -> ManageResult<Client> {
        input.normalize();
        validate_client(&input)?;
        let now = self.now();
        input.service_number = service.number;
        input.created_at = now;
        input.modified_at = now;
        input.locked = false;
        input.client_secret = None;
        let secret = new_client_secret(&mut SystemEntropy);
        let sealed = self.keys.seal(&secret, &mut SystemEntropy);
        for _ in 0..MAX_ATTEMPTS {
            let mut client = input.clone();
            client.client_id = new_numeric_id(&mut SystemEntropy);
            let record = ClientRecord {
                service_api_key: service.api_key,
                sealed_secret: sealed.clone(),
                client,
            };
            match self.store.create_client(record).await {
                Ok(stored) => {
                    let mut client = stored.client;
                    client.client_secret = Some(secret);
                    return Ok(client);
                }
                Err(StoreError::Conflict(what)) if what.contains("alias") => {
                    return Err(ManageError::Conflict(format!(
                        "The client ID alias is already in use in this service ({what})."
                    )));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ManageError::Conflict(
            "could not allocate a unique client ID".to_owned(),
        ))
    }

    pub async fn get_client(&self, service: &Service, identifier: &str) -> ManageResult<Client> {
        let record = self.client_record(service, identifier).await?;
        Ok(self.reveal(record))
    }

    pub async fn list_clients(
        &self,
        service: &Service,
        developer: Option<&str>,
        start: u32,
        end: u32,
    ) -> ManageResult<ClientPage> {
        let page = self
            .store
            .list_clients(service.api_key, developer, start, end)
            .await?;
        Ok(ClientPage {
            total: page.total,
            clients: page.items.into_iter().map(|r| self.reveal(r)).collect(),
        })
    }

    pub async fn update_client(
        &self,
        service: &Service,
        client_id: i64,
        mut input: Client,
    ) -> ManageResult<Client> {
        if !has_client_settings(&input) {
            return Err(ManageError::BadRequest(NO_SETTINGS.to_owned()));
        }
        let existing = self
            .store
            .get_client(service.api_key, client_id)
            .await?
            .ok_or_else(|| {
                ManageError::NotFound(format!("The client (ID = {client_id}) does not exist."))
            })?;
        input.normalize();
        validate_client(&input)?;
        let kept = &existing.client;
        input.client_id = kept.client_id;
        input.number = kept.number;
        input.service_number = kept.service_number;
        input.created_at = kept.created_at;
        input.locked = kept.locked;
        input.dynamically_registered = kept.dynamically_registered;
        input.modified_at = self.now();
        input.client_secret = None;
        let record = ClientRecord {
            service_api_key: service.api_key,
            sealed_secret: existing.sealed_secret,
            client: input,
        };
        let updated = self.store.update_client(record.clone()).await?;
        self.forget_clients(service.api_key);
        if !updated {
            return Err(ManageError::NotFound(format!(
                "The client (ID = {client_id}) does not exist."
            )));
        }
        Ok(self.reveal(record))
    }

    pub async fn delete_client(&self, service: &Service, identifier: &str) -> ManageResult<()> {
        let record = self.client_record(service, identifier).await?;
        self.store
            .delete_client(service.api_key, record.client.client_id)
            .await?;
        self.forget_clients(service.api_key);
        Ok(())
    }

    /// Locks or unlocks the client: a locked client is refused by every protocol API.
    /// Returns the client's ID.
    pub async fn set_client_lock(
        &self,
        service: &Service,
        identifier: &str,
        locked: bool,
    ) -> ManageResult<i64> {
        let mut record = self.client_record(service, identifier).await?;
        record.client.locked = locked;
        self.save_client(service, identifier, record).await
    }

    /// Stores a changed client record (stamping `modifiedAt`) and drops cached copies; returns
    /// the client's ID.
    async fn save_client(
        &self,
        service: &Service,
        identifier: &str,
        mut record: ClientRecord,
    ) -> ManageResult<i64> {
        record.client.modified_at = self.now();
        let client_id = record.client.client_id;
        let updated = self.store.update_client(record).await?;
        self.forget_clients(service.api_key);
        if !updated {
            return Err(ManageError::NotFound(format!(
                "The client (identifier = {identifier}) does not exist."
            )));
        }
        Ok(client_id)
    }

    /// Replaces the client's secret with `new_secret`, or a generated one. The write is a
    /// compare-and-swap on the stored secret, so of concurrent changes (on any node) each one
    /// reports the secret it replaced and the last one stands.
    pub async fn change_client_secret(
        &self,
        service: &Service,
        identifier: &str,
        new_secret: Option<String>,
    ) -> ManageResult<ClientSecretChange> {
        const ATTEMPTS: usize = 8;
        if let Some(s) = &new_secret {
            validate_client_secret(s)?;
        }
        let new_secret = new_secret.unwrap_or_else(|| new_client_secret(&mut SystemEntropy));
        let sealed = self.keys.seal(&new_secret, &mut SystemEntropy);
        for _ in 0..ATTEMPTS {
            let record = self.client_record(service, identifier).await?;
            let client_id = record.client.client_id;
            let swapped = self
                .store
                .set_client_secret(service.api_key, client_id, &record.sealed_secret, &sealed)
                .await?;
            self.forget_clients(service.api_key);
            if swapped {
                return Ok(ClientSecretChange {
                    client_id,
                    new_secret,
                    old_secret: self.keys.open(&record.sealed_secret).unwrap_or_default(),
                });
            }
        }
        Err(ManageError::Conflict(format!(
            "the secret of client {identifier} kept changing; try again"
        )))
    }
}
