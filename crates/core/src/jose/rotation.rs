//! Rotating a service's signing keys without downtime, with the standard `key_ops` member: a key
//! whose `key_ops` is `["verify"]` is published (relying parties can verify with it) but never
//! signs. A new key for an algorithm that already has a signer is added in that state; activating
//! it makes it the signer and turns the previous signers of its algorithm to verify-only, so
//! tokens they signed stay verifiable until the key is removed.

use serde_json::Value;

use super::jwk::{Jwk, JwkSet, can_sign, member};
use crate::enums::JwsAlg;

/// One key as the administration tools show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeyState {
    pub kid: String,
    pub kty: String,
    pub alg: Option<String>,
    /// Whether it signs (a private key not restricted to verification).
    pub signing: bool,
}

fn verify_only() -> Value {
    Value::from(vec!["verify"])
}

/// The asymmetric algorithms a key could sign with.
fn signing_algs(jwk: &Jwk) -> Vec<JwsAlg> {
    JwsAlg::ALL
        .iter()
        .copied()
        .filter(|a| a.is_asymmetric() && can_sign(jwk, *a))
        .collect()
}

fn shares_an_alg(a: &Jwk, b: &Jwk) -> bool {
    let of_a = signing_algs(a);
    signing_algs(b).iter().any(|alg| of_a.contains(alg))
}

pub fn describe(set: &JwkSet) -> Vec<KeyState> {
    set.keys()
        .iter()
        .map(|k| KeyState {
            kid: member(k, "kid").unwrap_or_default().to_owned(),
            kty: member(k, "kty").unwrap_or_default().to_owned(),
            alg: member(k, "alg").map(str::to_owned),
            signing: !signing_algs(k).is_empty(),
        })
        .collect()
}

/// Adds `new`: it signs at once when nothing else signs with its algorithm, and is published
/// as verify-only otherwise (activate it when relying parties have had time to fetch it).
pub fn add(set: &JwkSet, mut new: Jwk) -> JwkSet {
    if set.keys().iter().any(|k| shares_an_alg(k, &new)) {
        new.insert("key_ops".into(), verify_only());
    }
    let mut keys = set.keys().to_vec();
    keys.push(new);
    JwkSet::from_keys(keys)
}

/// Why a key could not be activated or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationError(pub String);

fn position(set: &JwkSet, kid: &str) -> Result<usize, RotationError> {
    set.keys()
        .iter()
        .position(|k| member(k, "kid") == Some(kid))
        .ok_or_else(|| RotationError(format!("no key has kid '{kid}'")))
}

/// Makes the key `kid` sign; the other keys that signed with its algorithms become verify-only.
pub fn activate(set: &JwkSet, kid: &str) -> Result<JwkSet, RotationError> {
    let index = position(set, kid)?;
    let mut keys = set.keys().to_vec();
    let mut chosen = keys[index].clone();
    if !chosen.contains_key("d") {
        return Err(RotationError(format!(
            "key '{kid}' has no private part and cannot sign"
        )));
    }
    chosen.remove("key_ops");
    for (i, key) in keys.iter_mut().enumerate() {
        if i != index && shares_an_alg(key, &chosen) {
            key.insert("key_ops".into(), verify_only());
        }
    }
    keys[index] = chosen;
    Ok(JwkSet::from_keys(keys))
}

/// Removes the key `kid` (tokens it signed no longer verify).
pub fn remove(set: &JwkSet, kid: &str) -> Result<JwkSet, RotationError> {
    let index = position(set, kid)?;
    let mut keys = set.keys().to_vec();
    keys.remove(index);
    Ok(JwkSet::from_keys(keys))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(kid: &str, alg: &str, kty: &str, crv: Option<&str>) -> Jwk {
        let mut k = Jwk::new();
        k.insert("kty".into(), Value::from(kty));
        if let Some(crv) = crv {
            k.insert("crv".into(), Value::from(crv));
        }
        k.insert("alg".into(), Value::from(alg));
        k.insert("kid".into(), Value::from(kid));
        k.insert("d".into(), Value::from("private"));
        k
    }

    #[test]
    fn publish_then_activate_then_remove() {
        let set = JwkSet::from_keys(vec![
            key("ec-old", "ES256", "EC", Some("P-256")),
            key("rsa", "RS256", "RSA", None),
        ]);
        let set = add(&set, key("ec-new", "ES256", "EC", Some("P-256")));
        let signer = |s: &JwkSet| {
            member(s.signing_key(JwsAlg::Es256, None).unwrap(), "kid").map(str::to_owned)
        };
        // Published, not signing yet.
        assert_eq!(signer(&set).as_deref(), Some("ec-old"));
        assert!(!describe(&set)[2].signing);
        assert_eq!(set.verification_keys(JwsAlg::Es256, None).count(), 2);

        let set = activate(&set, "ec-new").unwrap();
        assert_eq!(signer(&set).as_deref(), Some("ec-new"));
        assert_eq!(set.verification_keys(JwsAlg::Es256, None).count(), 2);
        // Other algorithms are untouched.
        assert!(set.signing_key(JwsAlg::Rs256, None).is_ok());

        let set = remove(&set, "ec-old").unwrap();
        assert_eq!(set.keys().len(), 2);
        assert!(remove(&set, "ec-old").is_err());
        assert!(activate(&set, "nope").is_err());

        // A new algorithm signs at once.
        let set = add(&set, key("ed", "EdDSA", "OKP", Some("Ed25519")));
        assert!(set.signing_key(JwsAlg::EdDsa, None).is_ok());
    }
}
