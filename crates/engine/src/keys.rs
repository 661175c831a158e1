//! Signing keys: generation of a service's key pairs as JWKs, and the signer the protocol core
//! signs through, which keeps parsed private keys between calls (making an RSA key from its
//! JWK checks the key and costs about as much as a signature).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use castellan_core::enums::JwsAlg;
use castellan_core::jose::jwk::{fits, thumbprint};
use castellan_core::jose::{Jwk, JwkSet, JwsSigner, KeyError, SigningKey};
use serde_json::Value;

/// The algorithms a new service gets one key each for.
pub const DEFAULT_KEY_ALGS: &[JwsAlg] =
    &[JwsAlg::Rs256, JwsAlg::Ps256, JwsAlg::Es256, JwsAlg::EdDsa];

/// The algorithms keys can be generated for.
pub const GENERATED_KEY_ALGS: &[JwsAlg] = &[
    JwsAlg::Rs256,
    JwsAlg::Rs384,
    JwsAlg::Rs512,
    JwsAlg::Ps256,
    JwsAlg::Ps384,
    JwsAlg::Ps512,
    JwsAlg::Es256,
    JwsAlg::Es384,
    JwsAlg::Es512,
    JwsAlg::EdDsa,
];

fn b64(bytes: &[u8]) -> Value {
    Value::from(URL_SAFE_NO_PAD.encode(bytes))
}

fn failed(what: &str) -> KeyError {
    KeyError(format!("could not generate {what} key"))
}

/// A new key pair for `alg` as a private JWK with `alg`, `use: sig` and, as `kid`, its RFC 7638
/// thumbprint (unique, and stable whatever else the key's JSON says).
pub fn generate_jwk(alg: JwsAlg) -> Result<Jwk, KeyError> {
    let mut jwk = match alg {
        JwsAlg::Rs256
        | JwsAlg::Rs384
        | JwsAlg::Rs512
        | JwsAlg::Ps256
        | JwsAlg::Ps384
        | JwsAlg::Ps512 => rsa_jwk()?,
        JwsAlg::Es256 => ec_jwk(&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256")?,
        JwsAlg::Es384 => ec_jwk(&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384")?,
        JwsAlg::Es512 => ec_jwk(&ECDSA_P521_SHA512_FIXED_SIGNING, "P-521")?,
        JwsAlg::EdDsa => ed25519_jwk()?,
        other => {
            return Err(KeyError(format!(
                "keys are not generated for {}",
                other.protocol()
            )));
        }
    };
    jwk.insert("alg".into(), Value::from(alg.protocol()));
    jwk.insert("use".into(), Value::from("sig"));
    let kid = thumbprint(&jwk).ok_or_else(|| failed("a"))?;
    jwk.insert("kid".into(), Value::from(kid));
    Ok(jwk)
}

/// One key for each of [`DEFAULT_KEY_ALGS`].
pub fn default_key_set() -> Result<JwkSet, KeyError> {
    DEFAULT_KEY_ALGS
        .iter()
        .map(|alg| generate_jwk(*alg))
        .collect::<Result<Vec<_>, _>>()
        .map(JwkSet::from_keys)
}

fn rsa_jwk() -> Result<Jwk, KeyError> {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("an RSA"))?;
    let pkcs8 = pair.as_der().map_err(|_| failed("an RSA"))?;
    // AWS-LC does not hand out the private components; read them from the PKCS#8 document.
    let info = pkcs8::PrivateKeyInfo::try_from(pkcs8.as_ref()).map_err(|_| failed("an RSA"))?;
    let key = pkcs1::RsaPrivateKey::try_from(info.private_key).map_err(|_| failed("an RSA"))?;
    let mut jwk = Jwk::new();
    jwk.insert("kty".into(), Value::from("RSA"));
    jwk.insert("n".into(), b64(key.modulus.as_bytes()));
    jwk.insert("e".into(), b64(key.public_exponent.as_bytes()));
    jwk.insert("d".into(), b64(key.private_exponent.as_bytes()));
    jwk.insert("p".into(), b64(key.prime1.as_bytes()));
    jwk.insert("q".into(), b64(key.prime2.as_bytes()));
    jwk.insert("dp".into(), b64(key.exponent1.as_bytes()));
    jwk.insert("dq".into(), b64(key.exponent2.as_bytes()));
    jwk.insert("qi".into(), b64(key.coefficient.as_bytes()));
    Ok(jwk)
}

fn ec_jwk(algorithm: &'static EcdsaSigningAlgorithm, crv: &str) -> Result<Jwk, KeyError> {
    let pair = EcdsaKeyPair::generate(algorithm).map_err(|_| failed("an EC"))?;
    let private = pair
        .private_key()
        .as_be_bytes()
        .map_err(|_| failed("an EC"))?;
    // Uncompressed point: 0x04 || x || y, each half the rest.
    let point = pair.public_key().as_ref();
    let half = point.len().saturating_sub(1) / 2;
    let (x, y) = point.get(1..).unwrap_or_default().split_at(half);
    let mut jwk = Jwk::new();
    jwk.insert("kty".into(), Value::from("EC"));
    jwk.insert("crv".into(), Value::from(crv));
    jwk.insert("x".into(), b64(x));
    jwk.insert("y".into(), b64(y));
    jwk.insert("d".into(), b64(private.as_ref()));
    Ok(jwk)
}

fn ed25519_jwk() -> Result<Jwk, KeyError> {
    let pair = Ed25519KeyPair::generate().map_err(|_| failed("an Ed25519"))?;
    let seed = pair
        .seed()
        .and_then(|s| s.as_be_bytes())
        .map_err(|_| failed("an Ed25519"))?;
    let mut jwk = Jwk::new();
    jwk.insert("kty".into(), Value::from("OKP"));
    jwk.insert("crv".into(), Value::from("Ed25519"));
    jwk.insert("x".into(), b64(pair.public_key().as_ref()));
    jwk.insert("d".into(), b64(seed.as_ref()));
    Ok(jwk)
}

/// Checks every private key of a JWK Set a service registers: each must make a working signing
/// key for the algorithm it names (or, without `alg`, for some algorithm of its type), so a
/// broken key is refused at registration rather than at the first ID token.
pub fn check_private_keys(set: &JwkSet) -> Result<(), String> {
    for (index, jwk) in set.keys().iter().enumerate() {
        if !jwk.contains_key("d") {
            continue;
        }
        let named = jwk
            .get("alg")
            .and_then(Value::as_str)
            .map(|a| {
                JwsAlg::from_protocol(a).ok_or_else(|| format!("key {index}: unknown alg '{a}'"))
            })
            .transpose()?;
        let usable = match named {
            Some(alg) => SigningKey::from_jwk(jwk, alg).map(|_| ()).map_err(|e| e.0),
            // Its material must make a key for some algorithm of its type; `use` and `key_ops`
            // (a verify-only key in rotation, an encryption key) do not matter here.
            None => JwsAlg::ALL
                .iter()
                .filter(|alg| alg.is_asymmetric() && fits(jwk, **alg))
                .find_map(|alg| SigningKey::from_jwk(jwk, *alg).ok())
                .map(|_| ())
                .ok_or_else(|| "its private key is not a usable signing key".to_owned()),
        };
        usable.map_err(|e| format!("key {index}: {e}"))?;
    }
    Ok(())
}

/// Entries kept at most; when full the cache is emptied (it takes that many distinct keys).
const CACHE_CAPACITY: usize = 1024;
/// Parsed key sets kept at most. The directory reloads a service (a new text) every
/// time-to-live, so old entries are left behind; a small bound keeps them from adding up.
const SET_CACHE_CAPACITY: usize = 64;

/// A parsed key set and the text it was parsed from.
type KeptSet = (Arc<str>, Arc<JwkSet>);

/// The engine's [`JwsSigner`]: asymmetric keys are parsed once and kept, keyed by the key's
/// RFC 7638 thumbprint (its public part, which determines the private one) and algorithm;
/// secret (`oct`) keys are cheap to make and are never kept.
#[derive(Default)]
pub struct CachingSigner {
    keys: RwLock<HashMap<(String, JwsAlg), Arc<SigningKey>>>,
    /// Parsed key sets by the address of the service's JWK Set text. Each entry holds that
    /// text, so the address cannot be reused by other text while the entry lives.
    sets: RwLock<HashMap<usize, KeptSet>>,
}

impl CachingSigner {
    fn key_for(&self, jwk: &Jwk, alg: JwsAlg) -> Result<Arc<SigningKey>, KeyError> {
        let Some(thumbprint) = thumbprint(jwk) else {
            return Ok(Arc::new(SigningKey::from_jwk(jwk, alg)?));
        };
        let id = (thumbprint, alg);
        if let Ok(keys) = self.keys.read()
            && let Some(key) = keys.get(&id)
        {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(SigningKey::from_jwk(jwk, alg)?);
        if let Ok(mut keys) = self.keys.write() {
            if keys.len() >= CACHE_CAPACITY {
                keys.clear();
            }
            keys.insert(id, Arc::clone(&key));
        }
        Ok(key)
    }
}

impl JwsSigner for CachingSigner {
    fn sign(&self, jwk: &Jwk, alg: JwsAlg, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        if alg.is_symmetric() {
            return SigningKey::from_jwk(jwk, alg)?.sign(input);
        }
        self.key_for(jwk, alg)?.sign(input)
    }

    fn key_set(&self, jwks: &Arc<str>) -> Option<Arc<JwkSet>> {
        // The directory shares one text per cached service, so its address identifies it.
        let address = jwks.as_ptr() as usize;
        if let Ok(sets) = self.sets.read()
            && let Some((text, set)) = sets.get(&address)
            && Arc::ptr_eq(text, jwks)
        {
            return Some(Arc::clone(set));
        }
        let set = Arc::new(JwkSet::parse(jwks).ok()?);
        if let Ok(mut sets) = self.sets.write() {
            if sets.len() >= SET_CACHE_CAPACITY {
                sets.clear();
            }
            sets.insert(address, (Arc::clone(jwks), Arc::clone(&set)));
        }
        Some(set)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use castellan_core::jose::jws::{compact, verify};

    #[test]
    fn generated_keys_sign_and_verify_with_their_public_half() {
        let signer = CachingSigner::default();
        for alg in GENERATED_KEY_ALGS {
            let jwk = generate_jwk(*alg).unwrap();
            assert_eq!(jwk["kid"], Value::from(thumbprint(&jwk).unwrap()));
            let set = JwkSet::from_keys(vec![jwk.clone()]);
            check_private_keys(&set).unwrap();
            let token = compact(
                Jwk::new(),
                &serde_json::json!({"sub": "x"}),
                *alg,
                &jwk,
                &signer,
            )
            .unwrap();
            // Twice: the second signature comes from the cached key.
            compact(Jwk::new(), &serde_json::json!({}), *alg, &jwk, &signer).unwrap();
            let verified = verify(&token, &set.public(), None, |_| true).unwrap();
            assert_eq!(verified.alg, *alg);
        }
    }

    #[test]
    fn parsed_key_sets_are_kept_per_shared_text() {
        let signer = CachingSigner::default();
        let text: Arc<str> = default_key_set().unwrap().to_json(false).into();
        let first = signer.key_set(&text).unwrap();
        assert!(Arc::ptr_eq(&first, &signer.key_set(&text).unwrap()));
        // Another copy of the text (a reloaded service) is parsed again, and is equal.
        let copy: Arc<str> = Arc::from(&*text);
        let again = signer.key_set(&copy).unwrap();
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(*first, *again);
        assert!(signer.key_set(&Arc::from("not json")).is_none());
    }

    #[test]
    fn default_set_has_one_key_per_default_algorithm() {
        let set = default_key_set().unwrap();
        for alg in DEFAULT_KEY_ALGS {
            assert!(set.signing_key(*alg, None).is_ok(), "{alg:?}");
        }
    }

    #[test]
    fn keys_without_alg_stay_acceptable_through_a_rotation() {
        let mut old = generate_jwk(JwsAlg::Es256).unwrap();
        old.remove("alg");
        let set = JwkSet::from_keys(vec![old.clone()]);
        let mut new = generate_jwk(JwsAlg::Es256).unwrap();
        new.remove("alg");
        let set = castellan_core::jose::rotation::add(&set, new.clone());
        let kid = new["kid"].as_str().unwrap();
        let set = castellan_core::jose::rotation::activate(&set, kid).unwrap();
        check_private_keys(&set).unwrap();
    }

    #[test]
    fn broken_private_keys_are_refused() {
        let mut jwk = generate_jwk(JwsAlg::Es256).unwrap();
        jwk.insert("d".into(), Value::from("AAAA"));
        assert!(check_private_keys(&JwkSet::from_keys(vec![jwk])).is_err());
        let mut named = generate_jwk(JwsAlg::EdDsa).unwrap();
        named.insert("alg".into(), Value::from("XS999"));
        assert!(check_private_keys(&JwkSet::from_keys(vec![named])).is_err());
    }
}
