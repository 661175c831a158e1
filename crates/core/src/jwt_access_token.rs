//! JWT access tokens (RFC 9068), issued when the service sets `accessTokenSignAlg`. As in
//! Authlete, the JWT and the opaque token are two forms of one access token: the JWT's `jti` is
//! the opaque value, which is what storage knows (by its hash), so introspection, userinfo and
//! revocation accept either form.

use serde_json::{Map, Value};

use crate::id_token::{IdTokenSigning, SignFailure, service_keys, sign_jwt};
use crate::jose::JwsSigner;
use crate::jose::jws::verify;
use crate::model::Service;
use crate::records::TokenRecord;
use crate::result_code::{C050101, ResultCode};

/// The claims of RFC 9068 §2.2 (and Authlete's `client_id`, `grant_type`, properties).
fn claims(service: &Service, opaque: &str, record: &TokenRecord) -> Value {
    let mut c = Map::new();
    c.insert(
        "iss".into(),
        Value::from(service.issuer.clone().unwrap_or_default()),
    );
    // RFC 9068 §2.2: without a resource owner (client credentials), the client is the subject.
    let sub = record
        .subject
        .clone()
        .unwrap_or_else(|| record.client_id.to_string());
    c.insert("sub".into(), Value::from(sub));
    c.insert(
        "client_id".into(),
        Value::from(record.client_id.to_string()),
    );
    if !record.scopes.is_empty() {
        c.insert("scope".into(), Value::from(record.scopes.join(" ")));
    }
    c.insert(
        "iat".into(),
        Value::from(record.created_at.div_euclid(1000)),
    );
    c.insert(
        "exp".into(),
        Value::from(record.access_expires_at.div_euclid(1000)),
    );
    c.insert("jti".into(), Value::from(opaque));
    c.insert(
        "grant_type".into(),
        Value::from(record.grant_type.protocol()),
    );
    if record.auth_time > 0 {
        c.insert("auth_time".into(), Value::from(record.auth_time));
    }
    if let Some(acr) = &record.acr {
        c.insert("acr".into(), Value::from(acr.clone()));
    }
    for p in record.properties.iter().filter(|p| !p.hidden) {
        if let (Some(k), Some(v)) = (&p.key, &p.value)
            && !c.contains_key(k)
        {
            c.insert(k.clone(), Value::from(v.clone()));
        }
    }
    Value::Object(c)
}

/// The JWT form of the access token `opaque`, when the service asks for one.
pub fn jwt_form(
    service: &Service,
    opaque: &str,
    record: &TokenRecord,
    signing: IdTokenSigning<'_>,
) -> Result<Option<String>, SignFailure> {
    let Some(alg) = service.access_token_sign_alg.filter(|a| a.is_asymmetric()) else {
        return Ok(None);
    };
    let kid = service.access_token_signature_key_id.as_deref();
    let claims = claims(service, opaque, record);
    sign_jwt(service, kid, alg, None, &claims, signing.signer, "at+jwt").map(Some)
}

/// The result code and its argument when the JWT form cannot be signed.
pub fn unsignable(service: &Service) -> (ResultCode, &'static str) {
    let alg = service.access_token_sign_alg.map_or("", |a| a.protocol());
    (C050101, alg)
}

/// The opaque value behind a presented access token: the token itself, or the `jti` of a JWT
/// access token whose signature the service's keys verify. `None` for a JWT that fails.
/// `signer` supplies the service's parsed key set (introspection is a hot path).
pub fn opaque_value(service: &Service, presented: &str, signer: &dyn JwsSigner) -> Option<String> {
    if presented.split('.').count() != 3 {
        return Some(presented.to_owned());
    }
    let keys = service_keys(service, signer)?;
    let verified = verify(presented, &keys, None, |a| a.is_asymmetric()).ok()?;
    verified
        .claims
        .get("jti")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
