//! Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1).
//!
//! The client's registered `tokenAuthMethod` decides which credentials count: a
//! `client_secret_basic` client must use the `Authorization` header (which the authorization
//! server passes as `clientSecret`), a `client_secret_post` client the `client_secret` body
//! parameter, and a `none` client (public) must send no secret at all. An authenticated client
//! must also have registered the grant type it uses.

use crate::client_lookup::ClientLookup;
use crate::enums::{Action, ClientAuthMethod, ClientType};
use crate::model::{Client, Service};
use crate::params::Repeated;
use crate::result_code::*;
use crate::secret::ct_eq;
use crate::wire::TokenResponse;

use super::{Begun, error_response};

#[derive(Clone, Debug)]
pub struct AuthenticatedClient {
    pub client: Client,
    pub alias_used: bool,
    pub method: ClientAuthMethod,
}

fn invalid_client(
    service: &Service,
    code: ResultCode,
    args: &[&dyn std::fmt::Display],
) -> Box<TokenResponse> {
    Box::new(error_response(
        service,
        Action::InvalidClient,
        "invalid_client",
        code,
        args,
    ))
}

/// Authenticates the client found for `begun.client_identifier`. `stored_secret` is the
/// client's secret, decrypted by the engine.
pub fn authenticate(
    service: &Service,
    begun: &Begun,
    lookup: ClientLookup,
    stored_secret: Option<&str>,
) -> Result<AuthenticatedClient, Box<TokenResponse>> {
    let id = begun.client_identifier.as_str();
    let (client, alias_used) = match lookup {
        ClientLookup::Found { client, alias_used } => (*client, alias_used),
        ClientLookup::NotFound if service.client_id_alias_enabled => {
            return Err(invalid_client(service, A048323, &[&id]));
        }
        ClientLookup::NotFound => return Err(invalid_client(service, A048304, &[&id])),
        ClientLookup::AliasNotEnabled => return Err(invalid_client(service, A048324, &[&id])),
    };
    if client.locked {
        return Err(invalid_client(service, A048307, &[&client.client_id]));
    }
    let method = client.token_auth_method();
    if let Some(supported) = service
        .supported_token_auth_methods
        .as_deref()
        .filter(|s| !s.is_empty())
        && !supported.contains(&method)
    {
        return Err(invalid_client(service, A152301, &[&method.protocol()]));
    }
    let body_secret = match begun.params.single("client_secret") {
        Err(Repeated) => return Err(invalid_client(service, A158301, &[])),
        Ok(v) => v.filter(|s| !s.is_empty()),
    };
    let header_secret = begun.header_secret.as_deref().filter(|s| !s.is_empty());
    let assertion =
        begun.params.contains("client_assertion") || begun.params.contains("client_assertion_type");

    match (client.client_type(), method) {
        (ClientType::Confidential, ClientAuthMethod::None) => {
            return Err(invalid_client(service, A157301, &[]));
        }
        (ClientType::Public, m) if m != ClientAuthMethod::None => {
            return Err(invalid_client(service, A157302, &[]));
        }
        _ => {}
    }
    let presented = match method {
        ClientAuthMethod::None => {
            if body_secret.is_some() || header_secret.is_some() || assertion {
                return Err(invalid_client(service, A157303, &[]));
            }
            None
        }
        ClientAuthMethod::ClientSecretBasic => header_secret,
        ClientAuthMethod::ClientSecretPost => body_secret,
        other => return Err(invalid_client(service, A157344, &[&other.protocol()])),
    };
    if method != ClientAuthMethod::None {
        let Some(presented) = presented else {
            return Err(invalid_client(service, A157304, &[&method.protocol()]));
        };
        let matches = stored_secret.is_some_and(|s| ct_eq(s.as_bytes(), presented.as_bytes()));
        if !matches {
            return Err(invalid_client(service, A157305, &[]));
        }
    }
    // RFC 6749 §5.2: a grant type the client did not register is `unauthorized_client`.
    if !client.declares_grant_type(begun.grant_type) {
        return Err(Box::new(error_response(
            service,
            Action::BadRequest,
            "unauthorized_client",
            A047302,
            &[],
        )));
    }
    Ok(AuthenticatedClient {
        client,
        alias_used,
        method,
    })
}
