//! JWS compact serialisation (RFC 7515) on AWS-LC: signing keys made from JWKs, signing,
//! verification, and the left-half hashes of OpenID Connect (`at_hash`, `c_hash`, `s_hash`).
//!
//! Core decides what to sign and with which key; the signature itself goes through the
//! [`JwsSigner`] the engine passes in, which may keep parsed keys between calls. ECDSA and
//! RSA-PSS draw their nonces and salts from AWS-LC's own generator.

use aws_lc_rs::rsa::{KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, RsaEncoding, RsaKeyPair,
    RsaParameters, UnparsedPublicKey, VerificationAlgorithm,
};
use aws_lc_rs::{digest, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use std::sync::Arc;

use super::jwk::{Jwk, JwkSet, bytes_member, fits};
use crate::enums::JwsAlg;

/// Why a key could not be made or used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

fn key_error(message: impl Into<String>) -> KeyError {
    KeyError(message.into())
}

/// Signs JWS signing inputs. The engine's implementation caches parsed keys and key sets;
/// [`DirectSigner`] parses every time.
pub trait JwsSigner: Send + Sync {
    fn sign(&self, jwk: &Jwk, alg: JwsAlg, input: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// A service's JWK Set (its text as the service holds it), parsed.
    fn key_set(&self, jwks: &Arc<str>) -> Option<Arc<JwkSet>> {
        JwkSet::parse(jwks).ok().map(Arc::new)
    }
}

/// A signer without a cache.
pub struct DirectSigner;

impl JwsSigner for DirectSigner {
    fn sign(&self, jwk: &Jwk, alg: JwsAlg, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        SigningKey::from_jwk(jwk, alg)?.sign(input)
    }
}

/// A private (or secret) key ready to sign with one algorithm.
pub enum SigningKey {
    Rsa(RsaKeyPair, &'static dyn RsaEncoding),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Hmac(Box<hmac::Key>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never prints key material.
        f.write_str(match self {
            SigningKey::Rsa(..) => "SigningKey::Rsa",
            SigningKey::Ec(..) => "SigningKey::Ec",
            SigningKey::Ed(..) => "SigningKey::Ed",
            SigningKey::Hmac(..) => "SigningKey::Hmac",
        })
    }
}

fn required(jwk: &Jwk, name: &str) -> Result<Vec<u8>, KeyError> {
    bytes_member(jwk, name)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| key_error(format!("the key has no valid '{name}'")))
}

/// RFC 7518 §6.3.1 allows no leading zero octets in `n` and `e`; tolerate them anyway, as many
/// JWK producers emit a sign octet.
fn unsigned(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros.min(bytes.len().saturating_sub(1)));
    bytes
}

fn ecdsa_signing(alg: JwsAlg) -> Option<&'static EcdsaSigningAlgorithm> {
    Some(match alg {
        JwsAlg::Es256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        JwsAlg::Es384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        JwsAlg::Es512 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        JwsAlg::Es256K => &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
        _ => return None,
    })
}

fn rsa_signing(alg: JwsAlg) -> Option<&'static dyn RsaEncoding> {
    Some(match alg {
        JwsAlg::Rs256 => &signature::RSA_PKCS1_SHA256,
        JwsAlg::Rs384 => &signature::RSA_PKCS1_SHA384,
        JwsAlg::Rs512 => &signature::RSA_PKCS1_SHA512,
        JwsAlg::Ps256 => &signature::RSA_PSS_SHA256,
        JwsAlg::Ps384 => &signature::RSA_PSS_SHA384,
        JwsAlg::Ps512 => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

fn hmac_algorithm(alg: JwsAlg) -> Option<(hmac::Algorithm, usize)> {
    Some(match alg {
        JwsAlg::Hs256 => (hmac::HMAC_SHA256, 32),
        JwsAlg::Hs384 => (hmac::HMAC_SHA384, 48),
        JwsAlg::Hs512 => (hmac::HMAC_SHA512, 64),
        _ => return None,
    })
}

/// The uncompressed point `0x04 || x || y` of an EC key.
fn ec_point(jwk: &Jwk) -> Result<Vec<u8>, KeyError> {
    let mut point = vec![4u8];
    point.extend(required(jwk, "x")?);
    point.extend(required(jwk, "y")?);
    Ok(point)
}

impl SigningKey {
    /// Makes the key of `jwk` for `alg`. Symmetric algorithms take an `oct` key whose `k` is at
    /// least as long as the hash (RFC 7518 §3.2); RSA keys must be 2048 bits or more.
    pub fn from_jwk(jwk: &Jwk, alg: JwsAlg) -> Result<Self, KeyError> {
        if !fits(jwk, alg) {
            return Err(key_error(format!(
                "the key's type does not fit {}",
                alg.protocol()
            )));
        }
        if let Some(encoding) = rsa_signing(alg) {
            let components = KeyPairComponents {
                public_key: PublicKeyComponents {
                    n: unsigned(required(jwk, "n")?),
                    e: unsigned(required(jwk, "e")?),
                },
                d: required(jwk, "d")?,
                p: required(jwk, "p")?,
                q: required(jwk, "q")?,
                dP: required(jwk, "dp")?,
                dQ: required(jwk, "dq")?,
                qInv: required(jwk, "qi")?,
            };
            let pair = RsaKeyPair::from_components(&components)
                .map_err(|e| key_error(format!("the RSA key is invalid: {e}")))?;
            if pair.public_modulus_len() < 256 {
                return Err(key_error("RSA keys must be at least 2048 bits"));
            }
            return Ok(SigningKey::Rsa(pair, encoding));
        }
        if let Some(algorithm) = ecdsa_signing(alg) {
            let pair = EcdsaKeyPair::from_private_key_and_public_key(
                algorithm,
                &required(jwk, "d")?,
                &ec_point(jwk)?,
            )
            .map_err(|e| key_error(format!("the EC key is invalid: {e}")))?;
            return Ok(SigningKey::Ec(pair));
        }
        if alg == JwsAlg::EdDsa {
            let pair = Ed25519KeyPair::from_seed_and_public_key(
                &required(jwk, "d")?,
                &required(jwk, "x")?,
            )
            .map_err(|e| key_error(format!("the Ed25519 key is invalid: {e}")))?;
            return Ok(SigningKey::Ed(pair));
        }
        if let Some((algorithm, min_len)) = hmac_algorithm(alg) {
            let secret = required(jwk, "k")?;
            if secret.len() < min_len {
                return Err(key_error(format!(
                    "the secret is shorter than the {}-bit minimum for {}",
                    min_len * 8,
                    alg.protocol()
                )));
            }
            return Ok(SigningKey::Hmac(Box::new(hmac::Key::new(
                algorithm, &secret,
            ))));
        }
        Err(key_error(format!(
            "{} is not a signing algorithm",
            alg.protocol()
        )))
    }

    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| key_error("signing failed");
        match self {
            SigningKey::Rsa(pair, encoding) => {
                let mut out = vec![0u8; pair.public_modulus_len()];
                // AWS-LC ignores the generator argument and uses its own.
                pair.sign(*encoding, &rand::SystemRandom::new(), input, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
            SigningKey::Ec(pair) => Ok(pair
                .sign(&rand::SystemRandom::new(), input)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            SigningKey::Ed(pair) => Ok(pair.sign(input).as_ref().to_vec()),
            SigningKey::Hmac(key) => Ok(hmac::sign(key, input).as_ref().to_vec()),
        }
    }
}

/// An `oct` JWK for a shared secret (the client secret keys HS256 ID tokens, OIDC Core §10.1:
/// the octets of its UTF-8 form).
pub fn secret_jwk(secret: &str) -> Jwk {
    let mut jwk = Map::new();
    jwk.insert("kty".into(), Value::from("oct"));
    jwk.insert("k".into(), Value::from(URL_SAFE_NO_PAD.encode(secret)));
    jwk
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// Builds `header.payload.signature`. `header` gets `alg`, and `kid` when the key has one.
pub fn compact(
    mut header: Map<String, Value>,
    claims: &Value,
    alg: JwsAlg,
    jwk: &Jwk,
    signer: &dyn JwsSigner,
) -> Result<String, KeyError> {
    header.insert("alg".into(), Value::from(alg.protocol()));
    if let Some(kid) = jwk.get("kid").filter(|k| k.is_string()) {
        header.insert("kid".into(), kid.clone());
    }
    let input = format!(
        "{}.{}",
        encode_part(&Value::Object(header)),
        encode_part(claims)
    );
    let signature = signer.sign(jwk, alg, input.as_bytes())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Why a JWS was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// Not three base64url parts with JSON objects for header and payload.
    Malformed,
    /// `alg` is missing, `none`, or not one the caller accepts.
    Algorithm,
    /// No key could verify the signature.
    Signature,
}

/// A JWS whose signature checked out.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub alg: JwsAlg,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

fn decode_object(part: &str) -> Result<Map<String, Value>, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(VerifyError::Malformed),
    }
}

/// Verifies a compact JWS against `keys` (and `secret` for HMAC algorithms), accepting only
/// algorithms for which `accept` says yes.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    secret: Option<&str>,
    accept: impl Fn(JwsAlg) -> bool,
) -> Result<Verified, VerifyError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let header = decode_object(h)?;
    let claims = decode_object(p)?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| VerifyError::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(JwsAlg::from_protocol)
        .filter(|a| *a != JwsAlg::None && accept(*a))
        .ok_or(VerifyError::Algorithm)?;
    let input = &token.as_bytes()[..h.len() + 1 + p.len()];
    let verified = Verified {
        alg,
        header,
        claims,
    };
    if let Some((algorithm, _)) = hmac_algorithm(alg) {
        let key = hmac::Key::new(algorithm, secret.ok_or(VerifyError::Signature)?.as_bytes());
        return hmac::verify(&key, input, &signature)
            .map(|()| verified)
            .map_err(|_| VerifyError::Signature);
    }
    let kid = verified.header.get("kid").and_then(Value::as_str);
    let ok = keys
        .verification_keys(alg, kid)
        .any(|jwk| verify_with(jwk, alg, input, &signature));
    if ok {
        Ok(verified)
    } else {
        Err(VerifyError::Signature)
    }
}

fn rsa_params(alg: JwsAlg) -> Option<&'static RsaParameters> {
    Some(match alg {
        JwsAlg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        JwsAlg::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        JwsAlg::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        JwsAlg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
        JwsAlg::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
        JwsAlg::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn point_verification(alg: JwsAlg) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match alg {
        JwsAlg::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
        JwsAlg::Es384 => &signature::ECDSA_P384_SHA384_FIXED,
        JwsAlg::Es512 => &signature::ECDSA_P521_SHA512_FIXED,
        JwsAlg::Es256K => &signature::ECDSA_P256K1_SHA256_FIXED,
        _ => return None,
    })
}

fn verify_with(jwk: &Jwk, alg: JwsAlg, input: &[u8], sig: &[u8]) -> bool {
    if let Some(params) = rsa_params(alg) {
        let (Some(n), Some(e)) = (bytes_member(jwk, "n"), bytes_member(jwk, "e")) else {
            return false;
        };
        let key = PublicKeyComponents {
            n: unsigned(n),
            e: unsigned(e),
        };
        return key.verify(params, input, sig).is_ok();
    }
    if let Some(algorithm) = point_verification(alg) {
        let Ok(point) = ec_point(jwk) else {
            return false;
        };
        return UnparsedPublicKey::new(algorithm, point)
            .verify(input, sig)
            .is_ok();
    }
    if alg == JwsAlg::EdDsa {
        let Some(x) = bytes_member(jwk, "x") else {
            return false;
        };
        return UnparsedPublicKey::new(&signature::ED25519, x)
            .verify(input, sig)
            .is_ok();
    }
    false
}

/// The left half of the hash of `value` under the hash of `alg`, base64url: `at_hash`, `c_hash`
/// and `s_hash` (OIDC Core §3.1.3.6, §3.3.2.11; FAPI). EdDSA with Ed25519 hashes with SHA-512.
pub fn half_hash(alg: JwsAlg, value: &str) -> Option<String> {
    let algorithm = match alg {
        JwsAlg::Hs256 | JwsAlg::Rs256 | JwsAlg::Es256 | JwsAlg::Ps256 | JwsAlg::Es256K => {
            &digest::SHA256
        }
        JwsAlg::Hs384 | JwsAlg::Rs384 | JwsAlg::Es384 | JwsAlg::Ps384 => &digest::SHA384,
        JwsAlg::Hs512 | JwsAlg::Rs512 | JwsAlg::Es512 | JwsAlg::Ps512 | JwsAlg::EdDsa => {
            &digest::SHA512
        }
        JwsAlg::None => return None,
    };
    let hash = digest::digest(algorithm, value.as_bytes());
    let bytes = hash.as_ref();
    Some(URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // RFC 7515 Appendix A.3 (ES256) key, and RFC 8037 Appendix A.1 (Ed25519).
    const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","kid":"ec1"}"#;
    const ED_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed1"}"#;

    fn jwk(text: &str) -> Jwk {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn rfc8037_ed25519_signature() {
        // RFC 8037 Appendix A.4: the signature of "Example of Ed25519 signing".
        let key = SigningKey::from_jwk(&jwk(ED_KEY), JwsAlg::EdDsa).unwrap();
        let input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let sig = URL_SAFE_NO_PAD.encode(key.sign(input).unwrap());
        assert_eq!(
            sig,
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
    }

    #[test]
    fn signed_tokens_verify_and_tampering_fails() {
        for (text, alg) in [(EC_KEY, JwsAlg::Es256), (ED_KEY, JwsAlg::EdDsa)] {
            let key = jwk(text);
            let claims = serde_json::json!({"sub": "alice", "n": 1});
            let token = compact(Map::new(), &claims, alg, &key, &DirectSigner).unwrap();
            let set = JwkSet::from_keys(vec![key.clone()]).public();
            let v = verify(&token, &set, None, |_| true).unwrap();
            assert_eq!(v.alg, alg);
            assert_eq!(v.claims["sub"], "alice");
            assert!(v.header.contains_key("kid"));
            let tampered = token.replacen('.', ".e", 1);
            assert!(verify(&tampered, &set, None, |_| true).is_err());
            assert_eq!(
                verify(&token, &set, None, |a| a == JwsAlg::Rs256),
                Err(VerifyError::Algorithm)
            );
        }
    }

    #[test]
    fn hmac_uses_the_secret_and_requires_its_length() {
        let secret = "a-client-secret-that-is-long-enough-for-hs256";
        let token = compact(
            Map::new(),
            &serde_json::json!({"a": 1}),
            JwsAlg::Hs256,
            &secret_jwk(secret),
            &DirectSigner,
        )
        .unwrap();
        assert!(verify(&token, &JwkSet::default(), Some(secret), |_| true).is_ok());
        assert!(verify(&token, &JwkSet::default(), Some("other"), |_| true).is_err());
        assert!(SigningKey::from_jwk(&secret_jwk("short"), JwsAlg::Hs256).is_err());
        assert!(SigningKey::from_jwk(&secret_jwk(secret), JwsAlg::Hs512).is_err());
    }

    #[test]
    fn wrong_type_or_broken_material_is_an_error_not_a_panic() {
        assert!(SigningKey::from_jwk(&jwk(EC_KEY), JwsAlg::Rs256).is_err());
        assert!(SigningKey::from_jwk(&jwk(EC_KEY), JwsAlg::Es384).is_err());
        let broken = jwk(r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#);
        assert!(SigningKey::from_jwk(&broken, JwsAlg::Es256).is_err());
        let rsa = jwk(
            r#"{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQ","p":"AQ","q":"AQ","dp":"AQ","dq":"AQ","qi":"AQ"}"#,
        );
        assert!(SigningKey::from_jwk(&rsa, JwsAlg::Rs256).is_err());
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.AA", "e30.e30.!!"] {
            assert_eq!(
                verify(bad, &JwkSet::default(), None, |_| true),
                Err(VerifyError::Malformed)
            );
        }
    }

    #[test]
    fn oidc_core_at_hash_example() {
        // OIDC Core Appendix A.3/A.4: at_hash of the example access token under RS256.
        assert_eq!(
            half_hash(JwsAlg::Rs256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
    }
}
