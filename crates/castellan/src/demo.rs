//! The demo service and client created on an empty data directory, matching the tutorial.

use castellan_core::enums::{
    ApplicationType, ClientAuthMethod, ClientType, GrantType, ResponseType,
};
use castellan_core::model::{Client, Service};
use castellan_engine::Engine;
use castellan_store::OwnerRecord;

pub const DEMO_REDIRECT_URI: &str = "https://client.example.org/cb/example.com";

pub struct Demo {
    pub service: Service,
    pub client: Client,
}

/// The demo service: the defaults every new service gets (see `castellan_engine::defaults`).
pub fn demo_service() -> Service {
    castellan_engine::defaults::service("Demo service", "https://as.example.com")
}

pub fn demo_client() -> Client {
    Client {
        developer: Some("demo".into()),
        client_name: Some("Demo client".into()),
        client_type: Some(ClientType::Confidential),
        application_type: Some(ApplicationType::Web),
        redirect_uris: Some(vec![DEMO_REDIRECT_URI.into()]),
        response_types: Some(vec![ResponseType::Code]),
        grant_types: Some(vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
            GrantType::Password,
        ]),
        token_auth_method: Some(ClientAuthMethod::ClientSecretBasic),
        ..Client::default()
    }
}

/// Creates the demo service and client when the data directory has no service yet.
pub async fn create_if_empty(engine: &Engine, owner: &OwnerRecord) -> anyhow::Result<Option<Demo>> {
    if engine.store().list_services(None, 0, 0).await?.total > 0 {
        return Ok(None);
    }
    let service = engine.create_service(owner, demo_service()).await?;
    let client = engine.create_client(&service, demo_client()).await?;
    Ok(Some(Demo { service, client }))
}
