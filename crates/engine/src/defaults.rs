//! The settings a new service starts from when its creator gives only a name and an issuer.

use castellan_core::enums::{ClientAuthMethod, GrantType, ResponseType};
use castellan_core::model::{Scope, Service};

fn scope(name: &str, default_entry: bool, description: &str) -> Scope {
    Scope {
        name: Some(name.into()),
        default_entry,
        description: Some(description.into()),
        ..Scope::default()
    }
}

/// A new service as the CLI, the demo and the console create it: the code flow with refresh
/// tokens, client credentials and the password grant; client_secret_basic/post and none; the
/// tutorial's scopes and token lifetimes.
pub fn service(name: &str, issuer: &str) -> Service {
    Service {
        service_name: Some(name.into()),
        issuer: Some(issuer.into()),
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
