//! JOSE for OpenID Connect: JWK Sets, JWS signing and verification, OIDC hash claims.

pub mod jwk;
pub mod jws;
pub mod rotation;

pub use jwk::{Jwk, JwkSet, JwkSetError, KeyChoiceError};
pub use jws::{DirectSigner, JwsSigner, KeyError, SigningKey, VerifyError};
