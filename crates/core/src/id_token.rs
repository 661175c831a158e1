//! ID tokens (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11): their claims, the key that signs
//! them, and the result codes for the ways signing can fail.

use serde_json::{Map, Value};

use crate::enums::{JwsAlg, SubjectType};
use crate::jose::jws::{compact, half_hash, secret_jwk};
use crate::jose::{JwkSet, JwsSigner, KeyChoiceError};
use crate::model::{Client, Service};
use crate::records::Millis;
use crate::result_code::*;
use crate::secret::SecretKeys;
use std::sync::Arc;

/// Claims the engine sets; values of the same name handed in through `claims` are ignored.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "s_hash",
];

/// What one ID token says.
#[derive(Clone, Debug, Default)]
pub struct IdTokenContent<'a> {
    pub subject: &'a str,
    /// What the client called itself with (its alias when it used one).
    pub audience: String,
    pub nonce: Option<&'a str>,
    /// Seconds since the epoch; 0 = unknown (then omitted).
    pub auth_time: i64,
    pub acr: Option<&'a str>,
    /// JSON object text handed to `/auth/authorization/issue` as `claims`.
    pub claims: Option<&'a str>,
    /// Issued beside the ID token: hashed into `at_hash` and `c_hash`.
    pub access_token: Option<&'a str>,
    pub code: Option<&'a str>,
    /// The `state` of an authorization response carrying the ID token: hashed into `s_hash`
    /// (FAPI 1.0 Advanced §5.2.2.1), so a client can tell the state was not swapped.
    pub state: Option<&'a str>,
    pub now: Millis,
}

/// Why no ID token could be made: a result code and its arguments, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenError {
    pub code: ResultCode,
    pub message_args: Vec<String>,
}

impl IdTokenError {
    fn new(code: ResultCode, args: &[&dyn std::fmt::Display]) -> Self {
        Self {
            code,
            message_args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    pub fn args(&self) -> Vec<&dyn std::fmt::Display> {
        self.message_args
            .iter()
            .map(|a| a as &dyn std::fmt::Display)
            .collect()
    }
}

/// What issuing an ID token needs beyond the service: the engine's signer, the client's secret
/// for the HS* algorithms, and the keys pairwise subjects derive from.
#[derive(Clone, Copy)]
pub struct IdTokenSigning<'a> {
    pub signer: &'a dyn JwsSigner,
    pub client_secret: Option<&'a str>,
    pub subject_keys: &'a SecretKeys,
}

/// The `sub` the client sees: the subject itself, or for a `PAIRWISE` client its pairwise value
/// for the client's sector (the client's own ID when no sector can be derived).
pub fn subject_for(service: &Service, client: &Client, subject: &str, keys: &SecretKeys) -> String {
    if client.subject_type != Some(SubjectType::Pairwise) {
        return subject.to_owned();
    }
    let sector = client
        .derived_sector_identifier
        .clone()
        .unwrap_or_else(|| client.client_id.to_string());
    keys.pairwise_subject(service.api_key, &sector, subject)
}

/// The service's JWK Set, parsed (kept parsed by the engine's signer). Verification reads only
/// public members, so the set with its private parts serves to verify as well as to sign.
pub(crate) fn service_keys(service: &Service, signer: &dyn JwsSigner) -> Option<Arc<JwkSet>> {
    service.jwks.as_ref().and_then(|j| signer.key_set(j))
}

/// The audience of a token made for `client` (ID tokens, signed userinfo): the client as it
/// named itself, its alias when it used one.
pub fn audience(client: &Client, alias_used: bool) -> String {
    match &client.client_id_alias {
        Some(alias) if alias_used => alias.clone(),
        _ => client.client_id.to_string(),
    }
}

/// The algorithm the client's ID tokens are signed with (`idTokenSignAlg`, RS256 by default).
pub fn signing_alg(client: &Client) -> JwsAlg {
    client.id_token_sign_alg.unwrap_or(JwsAlg::Rs256)
}

/// RFC 7518 §3.2: an HMAC key at least as long as the hash.
fn min_secret_len(alg: JwsAlg) -> usize {
    match alg {
        JwsAlg::Hs384 => 48,
        JwsAlg::Hs512 => 64,
        _ => 32,
    }
}

/// The claim set, in the order OIDC Core lists the claims.
pub fn claims(service: &Service, content: &IdTokenContent<'_>, alg: JwsAlg) -> Value {
    let now_s = content.now.div_euclid(1000);
    let mut map = Map::new();
    map.insert(
        "iss".into(),
        Value::from(service.issuer.clone().unwrap_or_default()),
    );
    map.insert("sub".into(), Value::from(content.subject));
    let aud = Value::from(content.audience.clone());
    let aud_is_array = service.other_str("idTokenAudType") == Some("array");
    map.insert(
        "aud".into(),
        if aud_is_array {
            Value::Array(vec![aud.clone()])
        } else {
            aud.clone()
        },
    );
    if aud_is_array {
        // OIDC Core §2: the authorized party, for relying parties that expect one beside an
        // audience list.
        map.insert("azp".into(), aud);
    }
    map.insert(
        "exp".into(),
        Value::from(now_s + service.id_token_duration()),
    );
    map.insert("iat".into(), Value::from(now_s));
    if content.auth_time > 0 {
        map.insert("auth_time".into(), Value::from(content.auth_time));
    }
    if let Some(nonce) = content.nonce {
        map.insert("nonce".into(), Value::from(nonce));
    }
    if let Some(acr) = content.acr.filter(|a| !a.is_empty()) {
        map.insert("acr".into(), Value::from(acr));
    }
    if let Some(hash) = content.access_token.and_then(|t| half_hash(alg, t)) {
        map.insert("at_hash".into(), Value::from(hash));
    }
    if let Some(hash) = content.code.and_then(|c| half_hash(alg, c)) {
        map.insert("c_hash".into(), Value::from(hash));
    }
    if let Some(hash) = content.state.and_then(|s| half_hash(alg, s)) {
        map.insert("s_hash".into(), Value::from(hash));
    }
    if let Some(Value::Object(extra)) = content.claims.and_then(|c| serde_json::from_str(c).ok()) {
        for (name, value) in extra {
            if !RESERVED.contains(&name.as_str()) && !value.is_null() {
                map.insert(name, value);
            }
        }
    }
    Value::Object(map)
}

/// Why a JWT for a client could not be signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignFailure {
    /// `none` was asked for.
    NoneAlg,
    /// An asymmetric algorithm, and the service has no JWK Set.
    NoKeySet,
    NoKey,
    Ambiguous,
    /// The client secret is shorter than the HMAC algorithm needs.
    SecretTooShort,
    Failed,
}

/// Signs `claims` with `alg` for a client, with the JOSE header `typ` (`JWT`, or `at+jwt` for
/// access tokens, RFC 9068 §2.1): with the client's secret for HS*, else with the service key
/// chosen by [`JwkSet::signing_key`] (`kid` picks among several).
pub fn sign_jwt(
    service: &Service,
    kid: Option<&str>,
    alg: JwsAlg,
    client_secret: Option<&str>,
    claims: &Value,
    signer: &dyn JwsSigner,
    typ: &str,
) -> Result<String, SignFailure> {
    let mut header = Map::new();
    header.insert("typ".into(), Value::from(typ));
    let sign =
        |jwk| compact(header.clone(), claims, alg, jwk, signer).map_err(|_| SignFailure::Failed);
    if alg == JwsAlg::None {
        return Err(SignFailure::NoneAlg);
    }
    if alg.is_symmetric() {
        let secret = client_secret.unwrap_or_default();
        if secret.len() < min_secret_len(alg) {
            return Err(SignFailure::SecretTooShort);
        }
        return sign(&secret_jwk(secret));
    }
    let keys = match service_keys(service, signer) {
        Some(keys) if !keys.keys().is_empty() => keys,
        _ => return Err(SignFailure::NoKeySet),
    };
    match keys.signing_key(alg, kid) {
        Ok(jwk) => sign(jwk),
        Err(KeyChoiceError::NoKey) => Err(SignFailure::NoKey),
        Err(KeyChoiceError::Ambiguous) => Err(SignFailure::Ambiguous),
    }
}

/// Signs the ID token for `client` (its `sub` pairwise when the client asks for it).
pub fn issue(
    service: &Service,
    client: &Client,
    content: &IdTokenContent<'_>,
    signing: IdTokenSigning<'_>,
) -> Result<String, IdTokenError> {
    let alg = signing_alg(client);
    let subject = subject_for(service, client, content.subject, signing.subject_keys);
    let content = IdTokenContent {
        subject: &subject,
        ..content.clone()
    };
    let claims = claims(service, &content, alg);
    let kid = service.id_token_signature_key_id.as_deref();
    sign_jwt(
        service,
        kid,
        alg,
        signing.client_secret,
        &claims,
        signing.signer,
        "JWT",
    )
    .map_err(|failure| {
        let name = alg.protocol();
        let kid = kid.unwrap_or("");
        match failure {
            SignFailure::NoneAlg => IdTokenError::new(A046301, &[&client.client_id]),
            SignFailure::NoKeySet => IdTokenError::new(A046201, &[&name]),
            SignFailure::NoKey => IdTokenError::new(A046203, &[&name, &kid]),
            SignFailure::Ambiguous => IdTokenError::new(A046204, &[&name, &kid]),
            SignFailure::SecretTooShort => IdTokenError::new(A046113, &[&name]),
            SignFailure::Failed => IdTokenError::new(A046101, &[&name]),
        }
    })
}

/// What an `id_token_hint` says (OIDC Core §3.1.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Not an ID token this service issued to this client.
    Invalid,
    /// Valid; the user's subject, unless the client only ever sees pairwise ones.
    Valid(Option<String>),
}

/// Checks an `id_token_hint`: an ID token this service issued to `client`, expired or not. It
/// must be signed with the client's `idTokenSignAlg` (HS* with a client secret long enough for
/// it), carry the service's `iss`, and name the client in `aud`.
pub fn check_hint(
    service: &Service,
    client: &Client,
    hint: &str,
    client_secret: Option<&str>,
) -> Hint {
    let alg = signing_alg(client);
    let secret = client_secret.filter(|s| s.len() >= min_secret_len(alg));
    // Verification reads only public members; the private ones need not be stripped first.
    let keys = service
        .jwks
        .as_deref()
        .and_then(|j| JwkSet::parse(j).ok())
        .unwrap_or_default();
    let Ok(verified) = crate::jose::jws::verify(hint, &keys, secret, |a| a == alg) else {
        return Hint::Invalid;
    };
    let claims = &verified.claims;
    let issuer = service.issuer.as_deref().unwrap_or_default();
    let names_client = |v: &Value| {
        v.as_str().is_some_and(|a| {
            a == client.client_id.to_string() || client.client_id_alias.as_deref() == Some(a)
        })
    };
    let aud_ok = match claims.get("aud") {
        Some(Value::Array(list)) => list.iter().any(names_client),
        Some(one) => names_client(one),
        None => false,
    };
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) || !aud_ok {
        return Hint::Invalid;
    }
    if client.subject_type == Some(SubjectType::Pairwise) {
        // Its `sub` is the pairwise value, which names no user the AS knows.
        return Hint::Valid(None);
    }
    Hint::Valid(claims.get("sub").and_then(Value::as_str).map(str::to_owned))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::jose::DirectSigner;
    use crate::jose::jws::verify;

    const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","kid":"ec1","alg":"ES256"}"#;

    fn service() -> Service {
        Service {
            issuer: Some("https://as.example.com".into()),
            id_token_duration: 600,
            jwks: Some(format!(r#"{{"keys":[{EC_KEY}]}}"#).into()),
            ..Service::default()
        }
    }

    fn client(alg: JwsAlg) -> Client {
        Client {
            client_id: 42,
            id_token_sign_alg: Some(alg),
            ..Client::default()
        }
    }

    static KEYS: std::sync::LazyLock<SecretKeys> =
        std::sync::LazyLock::new(|| SecretKeys::from_master(&[3u8; 32]));

    fn signing(client_secret: Option<&str>) -> IdTokenSigning<'_> {
        IdTokenSigning {
            signer: &DirectSigner,
            client_secret,
            subject_keys: &KEYS,
        }
    }

    fn content() -> IdTokenContent<'static> {
        IdTokenContent {
            subject: "alice",
            audience: "42".into(),
            nonce: Some("n-0S6_WzA2Mj"),
            auth_time: 1_700_000_000,
            acr: Some("urn:acr:1"),
            claims: Some(r#"{"name":"Alice","sub":"mallory","email":null}"#),
            access_token: Some("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            code: None,
            state: None,
            now: 1_700_000_100_500,
        }
    }

    #[test]
    fn signed_with_the_service_key_and_carrying_the_claims() {
        let s = service();
        let token = issue(&s, &client(JwsAlg::Es256), &content(), signing(None)).unwrap();
        let keys = JwkSet::parse(s.jwks.as_deref().unwrap()).unwrap().public();
        let v = verify(&token, &keys, None, |_| true).unwrap();
        assert_eq!(v.header["kid"], "ec1");
        assert_eq!(v.header["typ"], "JWT");
        let c = &v.claims;
        assert_eq!(c["iss"], "https://as.example.com");
        assert_eq!(c["sub"], "alice", "a claim handed in cannot replace sub");
        assert_eq!(c["aud"], "42");
        assert_eq!(c["iat"], 1_700_000_100);
        assert_eq!(c["exp"], 1_700_000_700);
        assert_eq!(c["auth_time"], 1_700_000_000);
        assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(c["acr"], "urn:acr:1");
        assert_eq!(c["at_hash"], "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(c["name"], "Alice");
        assert!(!c.contains_key("email"));
        assert!(!c.contains_key("c_hash"));
    }

    #[test]
    fn id_token_hints_count_only_when_this_service_signed_them() {
        let s = service();
        let token = issue(&s, &client(JwsAlg::Es256), &content(), signing(None)).unwrap();
        let es = client(JwsAlg::Es256);
        let valid = |sub: &str| Hint::Valid(Some(sub.to_owned()));
        assert_eq!(check_hint(&s, &es, &token, None), valid("alice"));
        let mut other_issuer = s.clone();
        other_issuer.issuer = Some("https://elsewhere.example.com".into());
        assert_eq!(check_hint(&other_issuer, &es, &token, None), Hint::Invalid);
        let tampered = format!("{}x", token);
        assert_eq!(check_hint(&s, &es, &tampered, None), Hint::Invalid);
        assert_eq!(check_hint(&s, &es, "not.a.jwt", None), Hint::Invalid);
        // Issued to another client, or signed with another algorithm than the client's.
        let other = Client {
            client_id: 43,
            ..client(JwsAlg::Es256)
        };
        assert_eq!(check_hint(&s, &other, &token, None), Hint::Invalid);
        let secret = "0123456789abcdef0123456789abcdef-secret";
        let hs_client = client(JwsAlg::Hs256);
        let hs = issue(&s, &hs_client, &content(), signing(Some(secret))).unwrap();
        assert_eq!(
            check_hint(&s, &hs_client, &hs, Some(secret)),
            valid("alice")
        );
        assert_eq!(check_hint(&s, &hs_client, &hs, None), Hint::Invalid);
        assert_eq!(check_hint(&s, &es, &hs, Some(secret)), Hint::Invalid);
        // A secret too short for HS256 cannot vouch for a hint.
        let weak = {
            use base64::Engine as _;
            let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
            let input = format!(
                "{}.{}",
                b64(br#"{"alg":"HS256"}"#),
                b64(br#"{"iss":"https://as.example.com","sub":"victim","aud":"42"}"#)
            );
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"abc");
            let sig = aws_lc_rs::hmac::sign(&key, input.as_bytes());
            format!("{input}.{}", b64(sig.as_ref()))
        };
        assert_eq!(
            check_hint(&s, &hs_client, &weak, Some("abc")),
            Hint::Invalid
        );
        // Pairwise clients: valid, but the sub names no user.
        let pairwise = Client {
            subject_type: Some(SubjectType::Pairwise),
            ..client(JwsAlg::Es256)
        };
        let ptoken = issue(&s, &pairwise, &content(), signing(None)).unwrap();
        assert_eq!(check_hint(&s, &pairwise, &ptoken, None), Hint::Valid(None));
    }

    #[test]
    fn aud_as_array_when_the_service_asks() {
        let mut s = service();
        s.other
            .insert("idTokenAudType".into(), Value::from("array"));
        let c = claims(&s, &content(), JwsAlg::Es256);
        assert_eq!(c["aud"], serde_json::json!(["42"]));
        assert_eq!(c["azp"], "42");
    }

    #[test]
    fn hs256_uses_the_client_secret() {
        let secret = "0123456789abcdef0123456789abcdef-secret";
        let token = issue(
            &service(),
            &client(JwsAlg::Hs256),
            &content(),
            signing(Some(secret)),
        )
        .unwrap();
        assert!(verify(&token, &JwkSet::default(), Some(secret), |_| true).is_ok());
    }

    #[test]
    fn pairwise_subjects_differ_by_sector_and_hide_the_subject() {
        let s = service();
        let sub_for = |sector: Option<&str>, id: i64| {
            let c = Client {
                client_id: id,
                subject_type: Some(SubjectType::Pairwise),
                derived_sector_identifier: sector.map(str::to_owned),
                ..client(JwsAlg::Es256)
            };
            let token = issue(&s, &c, &content(), signing(None)).unwrap();
            let keys = JwkSet::parse(s.jwks.as_deref().unwrap()).unwrap().public();
            let v = verify(&token, &keys, None, |_| true).unwrap();
            v.claims["sub"].as_str().unwrap().to_owned()
        };
        let a = sub_for(Some("a.example"), 1);
        assert_ne!(a, "alice");
        assert_eq!(a, sub_for(Some("a.example"), 2), "one sector, one subject");
        assert_ne!(a, sub_for(Some("b.example"), 1));
        assert_ne!(sub_for(None, 1), sub_for(None, 2), "no sector: per client");
    }

    #[test]
    fn failures_name_their_result_codes() {
        let err = |s: &Service, alg| {
            issue(s, &client(alg), &content(), signing(None))
                .unwrap_err()
                .code
        };
        assert_eq!(err(&service(), JwsAlg::None), A046301);
        assert_eq!(err(&service(), JwsAlg::Rs256), A046203);
        let mut no_keys = service();
        no_keys.jwks = None;
        assert_eq!(err(&no_keys, JwsAlg::Es256), A046201);
        let mut two = service();
        two.jwks =
            Some(format!(r#"{{"keys":[{EC_KEY},{}]}}"#, EC_KEY.replace("ec1", "ec2")).into());
        assert_eq!(err(&two, JwsAlg::Es256), A046204);
        two.id_token_signature_key_id = Some("ec2".into());
        assert!(issue(&two, &client(JwsAlg::Es256), &content(), signing(None)).is_ok());
        // A short client secret cannot key HS256.
        assert_eq!(
            issue(
                &service(),
                &client(JwsAlg::Hs256),
                &content(),
                signing(Some("short"))
            )
            .unwrap_err()
            .code,
            A046113
        );
    }
}
