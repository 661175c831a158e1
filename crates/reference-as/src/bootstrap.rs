//! First start: a service for this server (its issuer and endpoints under this server's base
//! URL) and a demo client, made through Castellan's management API with the service owner's
//! credentials.

use serde_json::{Value, json};

use crate::castellan::Castellan;

/// What a started server tells its operator.
#[derive(Clone, Debug)]
pub struct Provisioned {
    pub api_key: String,
    pub api_secret: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The service document: issuer and endpoints at `base`, the OpenID Connect scopes and claims
/// the demo users have.
pub fn service_document(base: &str) -> Value {
    let scope = |name: &str, description: &str| json!({"name": name, "description": description});
    json!({
        "serviceName": "Castellan reference authorization server",
        "issuer": base,
        "authorizationEndpoint": format!("{base}/authorize"),
        "tokenEndpoint": format!("{base}/token"),
        "userInfoEndpoint": format!("{base}/userinfo"),
        "jwksUri": format!("{base}/jwks"),
        "revocationEndpoint": format!("{base}/revoke"),
        "introspectionEndpoint": format!("{base}/introspect"),
        "supportedGrantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "PASSWORD"],
        "supportedResponseTypes": ["CODE", "ID_TOKEN", "CODE_ID_TOKEN", "CODE_TOKEN", "CODE_ID_TOKEN_TOKEN", "ID_TOKEN_TOKEN"],
        "supportedScopes": [
            scope("openid", "Sign you in"),
            scope("profile", "Your name and locale"),
            scope("email", "Your e-mail address"),
        ],
        "supportedClaims": ["sub", "name", "given_name", "family_name", "email", "email_verified", "locale"],
        "supportedTokenAuthMethods": ["CLIENT_SECRET_BASIC", "CLIENT_SECRET_POST", "NONE"],
        "accessTokenDuration": 3600,
        "refreshTokenDuration": 86400,
        "idTokenDuration": 3600
    })
}

/// Creates the service and a confidential demo client registered for `redirect_uris`.
pub async fn provision(
    castellan_url: &str,
    owner: (&str, &str),
    base: &str,
    redirect_uris: &[String],
) -> anyhow::Result<Provisioned> {
    let as_owner = Castellan::new(castellan_url, owner.0, owner.1);
    let service = as_owner
        .post("/api/service/create", &service_document(base))
        .await?;
    let api_key = service["apiKey"].to_string();
    let api_secret = service["apiSecret"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the service was created without an API secret"))?
        .to_owned();
    let as_service = Castellan::new(castellan_url, &api_key, &api_secret);
    let client = as_service
        .post(
            "/api/client/create",
            &json!({
                "clientName": "Demo relying party",
                "clientType": "CONFIDENTIAL",
                "applicationType": "WEB",
                "redirectUris": redirect_uris,
                "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
                "responseTypes": ["CODE", "ID_TOKEN", "CODE_ID_TOKEN"],
                "tokenAuthMethod": "CLIENT_SECRET_BASIC"
            }),
        )
        .await?;
    Ok(Provisioned {
        api_key,
        api_secret,
        client_id: client["clientId"].to_string(),
        client_secret: client["clientSecret"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}
