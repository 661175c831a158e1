//! Secrets: generation from injected entropy, keyed hashing, encryption at rest, and the one
//! constant-time comparison.
//!
//! Tokens, codes, tickets and API secrets are stored as HMAC-SHA256 under a key derived from the
//! master key, so a copy of the database alone can neither reveal nor test them. Client secrets
//! must be recoverable (Authlete returns them, and HS256 signing needs them), so they are
//! encrypted with AES-256-GCM under a second key derived from the same master key.

use aws_lc_rs::{aead, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A source of random bytes. The engine passes the operating system's; tests pass a fixed one.
pub trait Entropy {
    fn fill(&mut self, dest: &mut [u8]);
}

/// A 256-bit random value, base64url without padding (43 characters): the form of every token,
/// code, ticket and API secret.
pub fn new_token(entropy: &mut dyn Entropy) -> String {
    let mut bytes = [0u8; 32];
    entropy.fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A grant identifier: the creation time in milliseconds (12 hex digits) then 128 random bits.
/// Starting with the time keeps identifiers of new grants together in the storage index that
/// revocation by grant uses, so issuing a token touches one index page there, not a random one.
pub fn new_grant_id(now_ms: i64, entropy: &mut dyn Entropy) -> String {
    let mut bytes = [0u8; 16];
    entropy.fill(&mut bytes);
    format!("{:012x}{}", now_ms.max(0), URL_SAFE_NO_PAD.encode(bytes))
}

/// A 512-bit random client secret (86 characters), as Authlete issues.
pub fn new_client_secret(entropy: &mut dyn Entropy) -> String {
    let mut bytes = [0u8; 64];
    entropy.fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random 14-digit identifier (service API keys, client IDs): hard to guess, and exact in
/// every JSON parser (below 2^53).
pub fn new_numeric_id(entropy: &mut dyn Entropy) -> i64 {
    let mut bytes = [0u8; 8];
    entropy.fill(&mut bytes);
    let span: u64 = 90_000_000_000_000;
    let value = 10_000_000_000_000 + (u64::from_le_bytes(bytes) % span);
    i64::try_from(value).unwrap_or(10_000_000_000_000)
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// The keyed hash of a token, code, ticket or secret: what storage keeps and indexes.
/// It has no `PartialEq` on purpose: compare with [`SecretHash::matches`].
#[derive(Clone)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Constant-time equality.
    pub fn matches(&self, other: &SecretHash) -> bool {
        ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// Keys derived from the master key.
pub struct SecretKeys {
    hash_key: hmac::Key,
    seal_key: aead::LessSafeKey,
    pairwise_key: hmac::Key,
    fingerprint: String,
}

impl SecretKeys {
    pub const MASTER_KEY_LEN: usize = 32;

    pub fn from_master(master: &[u8; Self::MASTER_KEY_LEN]) -> Self {
        let root = hmac::Key::new(hmac::HMAC_SHA256, master);
        let derive = |label: &[u8]| hmac::sign(&root, label);
        let hash_key = hmac::Key::new(hmac::HMAC_SHA256, derive(b"castellan/v1/hash").as_ref());
        let seal_bytes = derive(b"castellan/v1/seal");
        let seal_key = match aead::UnboundKey::new(&aead::AES_256_GCM, seal_bytes.as_ref()) {
            Ok(k) => aead::LessSafeKey::new(k),
            // A 32-byte key is always valid for AES-256-GCM.
            Err(_) => unreachable_key(),
        };
        let pairwise_key =
            hmac::Key::new(hmac::HMAC_SHA256, derive(b"castellan/v1/pairwise").as_ref());
        let fingerprint =
            URL_SAFE_NO_PAD.encode(&derive(b"castellan/v1/fingerprint").as_ref()[..12]);
        Self {
            hash_key,
            seal_key,
            pairwise_key,
            fingerprint,
        }
    }

    /// A public value that identifies the master key, so a store can refuse a different key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn hash(&self, value: &str) -> SecretHash {
        SecretHash(URL_SAFE_NO_PAD.encode(hmac::sign(&self.hash_key, value.as_bytes()).as_ref()))
    }

    /// A pairwise subject (OIDC Core §8.1): the same for every client of one sector in one
    /// service, unrelated across sectors, and not reversible without the master key.
    pub fn pairwise_subject(&self, service_api_key: i64, sector: &str, subject: &str) -> String {
        // Lengths first, so no two different triples give the same input.
        let input = format!(
            "{service_api_key}:{}:{sector}:{}:{subject}",
            sector.len(),
            subject.len()
        );
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.pairwise_key, input.as_bytes()).as_ref())
    }

    /// Encrypts `plaintext`; the result is base64url(nonce || ciphertext || tag).
    pub fn seal(&self, plaintext: &str, entropy: &mut dyn Entropy) -> String {
        self.seal_in(b"", plaintext, entropy)
    }

    /// Encrypts `plaintext` bound to `context` (authenticated, not encrypted): it opens only
    /// with [`SecretKeys::open_in`] and the same context, so a value sealed for one use (a
    /// stored client secret, a console session) can never be passed off as another.
    pub fn seal_in(&self, context: &[u8], plaintext: &str, entropy: &mut dyn Entropy) -> String {
        let mut nonce_bytes = [0u8; aead::NONCE_LEN];
        entropy.fill(&mut nonce_bytes);
        let nonce = aead::Nonce::assume_unique_for_key(nonce_bytes);
        let mut buf = plaintext.as_bytes().to_vec();
        if self
            .seal_key
            .seal_in_place_append_tag(nonce, aead::Aad::from(context), &mut buf)
            .is_err()
        {
            return String::new();
        }
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decrypts what [`SecretKeys::seal`] produced; `None` if it was altered or sealed under
    /// another key.
    pub fn open(&self, sealed: &str) -> Option<String> {
        self.open_in(b"", sealed)
    }

    /// Decrypts what [`SecretKeys::seal_in`] sealed with the same `context`.
    pub fn open_in(&self, context: &[u8], sealed: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < aead::NONCE_LEN {
            return None;
        }
        let (nonce_bytes, ciphertext) = bytes.split_at(aead::NONCE_LEN);
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce_bytes).ok()?;
        let mut buf = ciphertext.to_vec();
        let plain = self
            .seal_key
            .open_in_place(nonce, aead::Aad::from(context), &mut buf)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[allow(clippy::panic)]
fn unreachable_key() -> ! {
    panic!("AES-256-GCM rejected a 32-byte key")
}

/// SHA-256 of `input`, base64url without padding: the PKCE S256 transform (RFC 7636 §4.2).
pub fn s256(input: &str) -> String {
    URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.as_bytes()).as_ref())
}

#[cfg(test)]
pub mod testing {
    use super::Entropy;

    /// Deterministic entropy for tests: a counter run through a simple mixer.
    pub struct FixedEntropy(pub u64);

    impl Entropy for FixedEntropy {
        fn fill(&mut self, dest: &mut [u8]) {
            for b in dest.iter_mut() {
                self.0 = self
                    .0
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (self.0 >> 33) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::FixedEntropy;
    use super::*;

    #[test]
    fn token_shapes() {
        let mut e = FixedEntropy(1);
        assert_eq!(new_token(&mut e).len(), 43);
        assert_eq!(new_client_secret(&mut e).len(), 86);
        let id = new_numeric_id(&mut e);
        assert!((10_000_000_000_000..100_000_000_000_000).contains(&id));
    }

    #[test]
    fn seal_round_trip_and_tamper() {
        let keys = SecretKeys::from_master(&[7u8; 32]);
        let mut e = FixedEntropy(2);
        let sealed = keys.seal("s3cret", &mut e);
        assert_eq!(keys.open(&sealed).as_deref(), Some("s3cret"));
        let other = SecretKeys::from_master(&[8u8; 32]);
        assert_eq!(other.open(&sealed), None);
        assert_eq!(keys.open("not base64!"), None);
        assert_eq!(keys.open(""), None);
        // A value sealed for one context opens in no other, nor without one.
        let bound = keys.seal_in(b"session", "s3cret", &mut e);
        assert_eq!(keys.open_in(b"session", &bound).as_deref(), Some("s3cret"));
        assert_eq!(keys.open(&bound), None);
        assert_eq!(keys.open_in(b"other", &bound), None);
        assert_eq!(keys.open_in(b"session", &sealed), None);
    }

    #[test]
    fn hashes_are_keyed_and_stable() {
        let a = SecretKeys::from_master(&[1u8; 32]);
        let b = SecretKeys::from_master(&[2u8; 32]);
        assert!(a.hash("t").matches(&a.hash("t")));
        assert!(!a.hash("t").matches(&b.hash("t")));
        assert!(!a.hash("t").matches(&a.hash("u")));
    }

    #[test]
    fn pkce_s256_matches_rfc7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
