//! The demo service and client created on an empty data directory, matching the tutorial.

use castellan_core::enums::{
    ApplicationType, ClientAuthMethod, ClientType, GrantType, ResponseType,
};
use castellan_core::model::{Client, Scope, Service};
use castellan_engine::Engine;
use castellan_store::OwnerRecord;

pub const DEMO_REDIRECT_URI: &str = "https://client.example.org/cb/example.com";

pub struct Demo {
    pub service: Service,
    pub client: Client,
}

fn scope(name: &str, default_entry: bool, description: &str) -> Scope {
    Scope {
        name: Some(name.into()),
        default_entry,
        description: Some(description.into()),
        ..Scope::default()
    }
}

pub fn demo_service() -> Service {
    Service {
        service_name: Some("Demo service".into()),
        issuer: Some("https://as.example.com".into()),
        supported_grant_types: Some(vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
            GrantType::Password,
        ]),
        supported_response_types: Some(vec![ResponseType::Code]),
        supported_scopes: Some(vec![
            scope("openid", false, "Sign you in"),
            scope("profile", false, "Read your profile"),
            scope("email", false, "Read your e-mail address"),
            scope("history.read", false, "Read your history"),
            scope("timeline.read", false, "Read your timeline"),
        ]),
        supported_token_auth_methods: Some(vec![
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost,
            ClientAuthMethod::None,
        ]),
        access_token_type: Some("Bearer".into()),
        access_token_duration: 86_400,
        refresh_token_duration: 864_000,
        id_token_duration: 86_400,
        ..Service::default()
    }
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
