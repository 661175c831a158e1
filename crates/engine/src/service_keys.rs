//! Administration of a service's signing keys: list, add (generated), activate, remove. See
//! `castellan_core::jose::rotation` for how a rotation keeps every token verifiable.

use castellan_core::enums::JwsAlg;
use castellan_core::jose::JwkSet;
use castellan_core::jose::rotation::{self, KeyState};
use castellan_core::model::Service;
use castellan_store::OwnerRecord;

use crate::Engine;
use crate::keys::{GENERATED_KEY_ALGS, generate_jwk};
use crate::manage::{ManageError, ManageResult};

impl Engine {
    /// The service's JWK Set (empty when it has none).
    fn key_set(service: &Service) -> ManageResult<JwkSet> {
        match service.jwks.as_deref().filter(|j| !j.trim().is_empty()) {
            None => Ok(JwkSet::default()),
            Some(text) => JwkSet::parse(text).map_err(|e| ManageError::BadRequest(e.0)),
        }
    }

    pub async fn list_service_keys(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
    ) -> ManageResult<Vec<KeyState>> {
        let service = self.get_service(owner, api_key).await?;
        Ok(rotation::describe(&Self::key_set(&service)?))
    }

    /// Generates a key for `alg` and adds it: signing at once when no other key signs with
    /// `alg`, published as verify-only otherwise.
    pub async fn add_service_key(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
        alg: JwsAlg,
    ) -> ManageResult<KeyState> {
        if !GENERATED_KEY_ALGS.contains(&alg) {
            return Err(ManageError::BadRequest(format!(
                "keys are generated for {}",
                GENERATED_KEY_ALGS
                    .iter()
                    .map(|a| a.protocol())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let jwk = tokio::task::spawn_blocking(move || generate_jwk(alg))
            .await
            .map_err(|e| ManageError::BadRequest(format!("key generation stopped: {e}")))?
            .map_err(|e| ManageError::BadRequest(e.0))?;
        self.change_keys(owner, api_key, |set| Ok(rotation::add(set, jwk.clone())))
            .await?
            .pop()
            .ok_or_else(|| ManageError::BadRequest("the key was not added".into()))
    }

    /// Applies a change to the key set and stores it, leaving every other setting of the
    /// service as it is; returns the keys as they are then. The write is a compare-and-swap on
    /// the stored key set: when another change (from this process or another node on the same
    /// database) came in between, the change is applied again to the newer set.
    async fn change_keys(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
        change: impl Fn(&JwkSet) -> ManageResult<JwkSet>,
    ) -> ManageResult<Vec<KeyState>> {
        // Within one process, changes queue here instead of retrying against each other.
        let _one_at_a_time = self.key_changes.lock().await;
        let (_, set) = self
            .replace_service(owner, api_key, |existing| {
                let mut service = self.reveal_service(existing.clone());
                let set = change(&Self::key_set(&service)?)?;
                service.jwks = Some(set.to_json(false).into());
                Ok((self.updated_service_record(existing, service)?, set))
            })
            .await?;
        Ok(rotation::describe(&set))
    }

    pub async fn activate_service_key(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
        kid: &str,
    ) -> ManageResult<Vec<KeyState>> {
        self.change_keys(owner, api_key, |set| {
            rotation::activate(set, kid).map_err(|e| ManageError::BadRequest(e.0))
        })
        .await
    }

    pub async fn remove_service_key(
        &self,
        owner: Option<&OwnerRecord>,
        api_key: i64,
        kid: &str,
    ) -> ManageResult<Vec<KeyState>> {
        self.change_keys(owner, api_key, |set| {
            rotation::remove(set, kid).map_err(|e| ManageError::NotFound(e.0))
        })
        .await
    }
}
