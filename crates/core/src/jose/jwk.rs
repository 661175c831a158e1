//! JSON Web Keys (RFC 7517) as a service registers them: a JWK Set kept as text, its public view,
//! the choice of the key that signs, and RFC 7638 thumbprints.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::enums::JwsAlg;

/// One key: its JSON members, kept as given.
pub type Jwk = Map<String, Value>;

/// Members that carry private or secret key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a JWK Set was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwkSetError(pub String);

impl std::fmt::Display for JwkSetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JwkSetError {}

/// Why no single key could sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyChoiceError {
    /// No key of the set can sign with the algorithm.
    NoKey,
    /// Several keys can, and `kid` does not pick one.
    Ambiguous,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

impl JwkSet {
    /// Parses the text of a JWK Set: an object with a `keys` array of objects that each name a
    /// `kty`. Key material is checked by [`super::jws::SigningKey`] and [`super::jws::verify`]
    /// when a key is used.
    pub fn parse(text: &str) -> Result<Self, JwkSetError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| JwkSetError(format!("the JWK Set is not valid JSON: {e}")))?;
        let Value::Object(mut top) = value else {
            return Err(JwkSetError("a JWK Set must be a JSON object".into()));
        };
        let Some(Value::Array(keys)) = top.remove("keys") else {
            return Err(JwkSetError("a JWK Set must have a 'keys' array".into()));
        };
        let mut parsed = Vec::with_capacity(keys.len());
        for (index, key) in keys.into_iter().enumerate() {
            let Value::Object(key) = key else {
                return Err(JwkSetError(format!("key {index} is not a JSON object")));
            };
            if member(&key, "kty").is_none() {
                return Err(JwkSetError(format!("key {index} has no 'kty'")));
            }
            parsed.push(key);
        }
        Ok(Self { keys: parsed })
    }

    pub fn from_keys(keys: Vec<Jwk>) -> Self {
        Self { keys }
    }

    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    pub fn into_keys(self) -> Vec<Jwk> {
        self.keys
    }

    /// What may be published: symmetric keys are dropped and private members removed.
    pub fn public(&self) -> JwkSet {
        let keys = self
            .keys
            .iter()
            .filter(|k| member(k, "kty") != Some("oct"))
            .map(|k| {
                let mut k = k.clone();
                for name in PRIVATE_MEMBERS {
                    k.remove(*name);
                }
                k
            })
            .collect();
        JwkSet { keys }
    }

    pub fn to_json(&self, pretty: bool) -> String {
        let value = serde_json::json!({ "keys": self.keys });
        let text = if pretty {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        };
        text.unwrap_or_else(|_| r#"{"keys":[]}"#.to_owned())
    }

    /// The key that signs with `alg`. `kid` (a service's `idTokenSignatureKeyId` and the like)
    /// picks among several candidates; when it names none of them and exactly one candidate
    /// exists, that one signs, so one pinned `kid` does not stop the other algorithms.
    pub fn signing_key(&self, alg: JwsAlg, kid: Option<&str>) -> Result<&Jwk, KeyChoiceError> {
        let candidates: Vec<&Jwk> = self.keys.iter().filter(|k| can_sign(k, alg)).collect();
        if let Some(kid) = kid.filter(|k| !k.is_empty())
            && let Some(key) = candidates.iter().find(|k| member(k, "kid") == Some(kid))
        {
            return Ok(key);
        }
        match candidates.as_slice() {
            [] => Err(KeyChoiceError::NoKey),
            [only] => Ok(only),
            _ => Err(KeyChoiceError::Ambiguous),
        }
    }

    /// Keys that may verify a signature made with `alg`, the one named `kid` first.
    pub fn verification_keys<'a>(
        &'a self,
        alg: JwsAlg,
        kid: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| can_verify(k, alg))
            .filter(move |k| kid.is_none() || member(k, "kid") == kid)
    }
}

/// A string member of a key.
pub fn member<'a>(jwk: &'a Jwk, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

/// A base64url member of a key, decoded.
pub fn bytes_member(jwk: &Jwk, name: &str) -> Option<Vec<u8>> {
    member(jwk, name).and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok())
}

/// Whether the key's type (and curve) is the one `alg` uses.
pub fn fits(jwk: &Jwk, alg: JwsAlg) -> bool {
    let kty = member(jwk, "kty");
    let crv = member(jwk, "crv");
    match alg {
        JwsAlg::Rs256
        | JwsAlg::Rs384
        | JwsAlg::Rs512
        | JwsAlg::Ps256
        | JwsAlg::Ps384
        | JwsAlg::Ps512 => kty == Some("RSA"),
        JwsAlg::Es256 => kty == Some("EC") && crv == Some("P-256"),
        JwsAlg::Es384 => kty == Some("EC") && crv == Some("P-384"),
        JwsAlg::Es512 => kty == Some("EC") && crv == Some("P-521"),
        JwsAlg::Es256K => kty == Some("EC") && crv == Some("secp256k1"),
        JwsAlg::EdDsa => kty == Some("OKP") && crv == Some("Ed25519"),
        JwsAlg::Hs256 | JwsAlg::Hs384 | JwsAlg::Hs512 => kty == Some("oct"),
        JwsAlg::None => false,
    }
}

/// Whether the key is meant for signatures with `alg`: its `alg`, `use` and `key_ops`, when
/// present, allow it.
fn meant_for(jwk: &Jwk, alg: JwsAlg, operation: &str) -> bool {
    let alg_ok = member(jwk, "alg").is_none_or(|a| a == alg.protocol());
    let use_ok = member(jwk, "use").is_none_or(|u| u == "sig");
    let ops_ok = match jwk.get("key_ops") {
        Some(Value::Array(ops)) => ops.iter().any(|o| o.as_str() == Some(operation)),
        _ => true,
    };
    fits(jwk, alg) && alg_ok && use_ok && ops_ok
}

/// Whether the key holds the private part needed to sign with `alg`.
pub fn can_sign(jwk: &Jwk, alg: JwsAlg) -> bool {
    let private = if alg.is_symmetric() { "k" } else { "d" };
    meant_for(jwk, alg, "sign") && jwk.contains_key(private)
}

pub fn can_verify(jwk: &Jwk, alg: JwsAlg) -> bool {
    meant_for(jwk, alg, "verify")
}

/// The RFC 7638 thumbprint (SHA-256, base64url): the required members in lexicographic order,
/// written without whitespace. Built by hand so that member order never depends on a map.
pub fn thumbprint(jwk: &Jwk) -> Option<String> {
    let names: &[&str] = match member(jwk, "kty")? {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "oct" => &["k", "kty"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in names.iter().enumerate() {
        let value = serde_json::to_string(member(jwk, name)?).ok()?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&format!("\"{name}\":{value}"));
    }
    canonical.push('}');
    let digest = digest::digest(&digest::SHA256, canonical.as_bytes());
    Some(URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn set(text: &str) -> JwkSet {
        JwkSet::parse(text).unwrap()
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let key = set(
            r#"{"keys":[{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}]}"#,
        );
        assert_eq!(
            thumbprint(&key.keys()[0]).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn malformed_sets_are_refused() {
        assert!(JwkSet::parse("not json").is_err());
        assert!(JwkSet::parse("[]").is_err());
        assert!(JwkSet::parse(r#"{"keys":{}}"#).is_err());
        assert!(JwkSet::parse(r#"{"keys":[1]}"#).is_err());
        assert!(JwkSet::parse(r#"{"keys":[{"n":"x"}]}"#).is_err());
        assert_eq!(JwkSet::parse(r#"{"keys":[]}"#).unwrap().keys().len(), 0);
    }

    #[test]
    fn public_view_drops_private_members_and_symmetric_keys() {
        let s = set(
            r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c","kid":"1"},{"kty":"oct","k":"s"}]}"#,
        );
        let public = s.public();
        assert_eq!(public.keys().len(), 1);
        assert!(!public.keys()[0].contains_key("d"));
        assert_eq!(member(&public.keys()[0], "kid"), Some("1"));
    }

    #[test]
    fn signing_key_choice() {
        let s = set(r#"{"keys":[
            {"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c","kid":"old"},
            {"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c","kid":"new"},
            {"kty":"EC","crv":"P-256","x":"a","y":"b","kid":"public-only"},
            {"kty":"OKP","crv":"Ed25519","x":"a","d":"c","kid":"ed","use":"enc"},
            {"kty":"RSA","n":"a","e":"b","d":"c","kid":"rsa","alg":"PS256"}]}"#);
        assert_eq!(
            s.signing_key(JwsAlg::Es256, None),
            Err(KeyChoiceError::Ambiguous)
        );
        let chosen = s.signing_key(JwsAlg::Es256, Some("new")).unwrap();
        assert_eq!(member(chosen, "kid"), Some("new"));
        // The kid pins ES256; PS256 still has its only candidate.
        let rsa = s.signing_key(JwsAlg::Ps256, Some("new")).unwrap();
        assert_eq!(member(rsa, "kid"), Some("rsa"));
        assert_eq!(
            s.signing_key(JwsAlg::Rs256, None),
            Err(KeyChoiceError::NoKey)
        );
        assert_eq!(
            s.signing_key(JwsAlg::EdDsa, None),
            Err(KeyChoiceError::NoKey)
        );
        assert_eq!(s.verification_keys(JwsAlg::Es256, None).count(), 3);
        assert_eq!(
            s.verification_keys(JwsAlg::Es256, Some("public-only"))
                .count(),
            1
        );
    }
}
