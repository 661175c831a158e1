//! What a service publishes for its authorization server to serve: its JWK Set and its
//! OpenID Provider metadata.

use castellan_core::discovery::{self, JwksPublication, PatchError};
use castellan_core::model::Service;
use serde_json::Value;

use crate::Engine;

impl Engine {
    /// `/api/service/jwks/get`.
    pub fn service_jwks(
        &self,
        service: &Service,
        pretty: bool,
        include_private_keys: bool,
    ) -> JwksPublication {
        discovery::published_jwks(service, pretty, include_private_keys)
    }

    /// `/api/service/configuration`: the discovery document, with `patch` applied.
    pub fn service_configuration(
        &self,
        service: &Service,
        pretty: bool,
        patch: Option<&str>,
    ) -> Result<String, PatchError> {
        let mut doc = Value::Object(discovery::document(service));
        if let Some(patch) = patch.filter(|p| !p.trim().is_empty()) {
            discovery::apply_patch(&mut doc, patch)?;
        }
        let text = if pretty {
            serde_json::to_string_pretty(&doc)
        } else {
            serde_json::to_string(&doc)
        };
        Ok(text.unwrap_or_default())
    }
}
