//! `/auth/revocation` (RFC 7009). Revoking either token of a pair revokes both; an unknown token
//! is not an error.

use crate::client_lookup::ClientLookup;
use crate::enums::Action;
use crate::envelope::{envelope, error_json_envelope};
use crate::model::{Client, Service};
use crate::params::{Params, Repeated};
use crate::records::TokenRecord;
use crate::result_code::*;
use crate::secret::ct_eq;
use crate::wire::{EnvelopeOnly, RevocationRequest};

pub use crate::introspection::Hint;

const KIND: &str = "revocationResponse";

fn error(
    service: &Service,
    action: Action,
    err: &'static str,
    code: ResultCode,
    args: &[&dyn std::fmt::Display],
) -> Box<EnvelopeOnly> {
    Box::new(EnvelopeOnly {
        envelope: error_json_envelope(service, KIND, action, err, code, args),
    })
}

#[derive(Debug)]
pub struct Begun {
    pub client_identifier: String,
    secret: Option<String>,
    pub token: String,
    pub hint: Hint,
    callback: Option<String>,
}

pub fn begin(service: &Service, req: RevocationRequest) -> Result<Begun, Box<EnvelopeOnly>> {
    let bad = |code| error(service, Action::BadRequest, "invalid_request", code, &[]);
    let Some(raw) = req.parameters else {
        return Err(error(
            service,
            Action::InternalServerError,
            "server_error",
            A113201,
            &[],
        ));
    };
    let params = Params::parse(&raw);
    if params.is_empty() {
        return Err(bad(A113301));
    }
    let body_id = match params.single("client_id") {
        Err(Repeated) => return Err(bad(A114303)),
        Ok(Some("")) => return Err(bad(A114302)),
        Ok(v) => v.map(str::to_owned),
    };
    let client_identifier = match (req.client_id, body_id) {
        (Some(h), Some(b)) if h != b => return Err(bad(A114312)),
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(bad(A114301)),
    };
    let body_secret = match params.single("client_secret") {
        Err(Repeated) => {
            return Err(error(
                service,
                Action::InvalidClient,
                "invalid_client",
                A114310,
                &[],
            ));
        }
        Ok(v) => v.map(str::to_owned),
    };
    let secret = match (req.client_secret, body_secret) {
        (Some(h), Some(b)) if h != b => return Err(bad(A114313)),
        (Some(s), _) | (None, Some(s)) => Some(s),
        (None, None) => None,
    };
    let token = match params.single("token") {
        Err(Repeated) => return Err(bad(A115303)),
        Ok(None) => return Err(bad(A115301)),
        Ok(Some("")) => return Err(bad(A115302)),
        Ok(Some(t)) => t.to_owned(),
    };
    let hint = match params.single("token_type_hint") {
        Ok(Some("refresh_token")) => Hint::RefreshToken,
        _ => Hint::AccessToken,
    };
    let callback = params
        .single("callback")
        .ok()
        .flatten()
        .filter(|c| is_js_identifier(c))
        .map(str::to_owned);
    Ok(Begun {
        client_identifier,
        secret,
        token,
        hint,
        callback,
    })
}

fn is_js_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// Authenticates the client; `stored_secret` is its decrypted secret.
pub fn authenticate(
    service: &Service,
    begun: &Begun,
    lookup: ClientLookup,
    stored_secret: Option<&str>,
) -> Result<Client, Box<EnvelopeOnly>> {
    let id = begun.client_identifier.as_str();
    let invalid = |code: ResultCode, args: &[&dyn std::fmt::Display]| {
        error(service, Action::InvalidClient, "invalid_client", code, args)
    };
    let client = match lookup {
        ClientLookup::Found { client, .. } => *client,
        ClientLookup::NotFound if service.client_id_alias_enabled => {
            return Err(invalid(A114314, &[&id]));
        }
        ClientLookup::NotFound => return Err(invalid(A114304, &[&id])),
        ClientLookup::AliasNotEnabled => return Err(invalid(A114315, &[&id])),
    };
    if client.locked {
        return Err(invalid(A114307, &[&client.client_id]));
    }
    if !client.is_public() {
        let presented = match begun.secret.as_deref() {
            None => return Err(invalid(A114308, &[])),
            Some("") => return Err(invalid(A114309, &[])),
            Some(s) => s,
        };
        if !stored_secret.is_some_and(|s| ct_eq(s.as_bytes(), presented.as_bytes())) {
            return Err(invalid(A114311, &[]));
        }
    }
    Ok(client)
}

/// Decides on the record found for the token. `true` in the result: delete it.
pub fn decide(
    service: &Service,
    begun: &Begun,
    client: &Client,
    found: Option<&TokenRecord>,
) -> (EnvelopeOnly, bool) {
    if let Some(t) = found.filter(|t| t.service_api_key == service.api_key) {
        if t.client_id != client.client_id {
            return (
                *error(
                    service,
                    Action::BadRequest,
                    "invalid_grant",
                    A116301,
                    &[&client.client_id],
                ),
                false,
            );
        }
        return (ok(begun), true);
    }
    (ok(begun), false)
}

fn ok(begun: &Begun) -> EnvelopeOnly {
    let content = begun.callback.as_ref().map(|c| format!("{c}();"));
    EnvelopeOnly {
        envelope: envelope(KIND, Action::Ok, A113001, &[], content),
    }
}
