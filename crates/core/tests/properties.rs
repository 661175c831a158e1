#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property-based tests of everything in the core that parses outside input: the `parameters`
//! string, space-separated lists, redirect URIs, JWS/JWT and JWK Sets, the JSON bodies of every
//! endpoint and the Service/Client objects, configuration patches and numeric identifiers.
//!
//! Each parser is checked for three things:
//! 1. it never panics, on arbitrary input and on structured near-valid input;
//! 2. it is deterministic (the same input gives the same result, compared by `Debug` text);
//! 3. its cost grows at most linearly with the size of hostile inputs (see [`assert_linear`]).
//!
//! Failing cases are kept in `tests/proptest-regressions/properties.txt` and replayed first on
//! every run; a failure found here that is a real defect also gets a plain `#[test]` below.
//! The case counts are kept small so the file runs in seconds in a debug build; for a longer
//! search, run `PROPTEST_CASES=5000 cargo test -p castellan-core --test properties`.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use castellan_core::authorization::{self, AuthorizationDecision};
use castellan_core::client_lookup::{ClientLookup, identifier_as_id};
use castellan_core::discovery::{self, MAX_PATCH_OPERATIONS, MAX_PATCHED_DOCUMENT_BYTES};
use castellan_core::enums::{Action, GrantType, JwsAlg};
use castellan_core::id_token::{self, Hint, IdTokenSigning};
use castellan_core::introspection;
use castellan_core::jose::jwk::{Jwk, thumbprint};
use castellan_core::jose::jws::{self, VerifyError};
use castellan_core::jose::{DirectSigner, JwkSet, SigningKey, rotation};
use castellan_core::jwt_access_token::opaque_value;
use castellan_core::model::{Client, Service};
use castellan_core::params::{MAX_LIST_VALUE_LEN, MAX_LIST_VALUES, Params, Repeated, split_list};
use castellan_core::records::TokenRecord;
use castellan_core::revocation;
use castellan_core::secret::{Entropy, SecretKeys};
use castellan_core::token;
use castellan_core::userinfo;
use castellan_core::wire::AuthorizationResponse;
use castellan_core::{authorization_issue, wire};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

// ----- shared set-up ------------------------------------------------------------------------

/// `cases` generated inputs per property (`PROPTEST_CASES` overrides it, for a longer search);
/// failures are saved next to this file.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// Deterministic entropy: a counter run through a linear congruential mixer.
struct Counter(u64);

impl Entropy for Counter {
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

const NOW: i64 = 1_700_000_000_000;
const API_KEY: i64 = 1001;
const CLIENT_ID: i64 = 2001;
const CLIENT_SECRET: &str = "0123456789abcdef0123456789abcdef-client-secret";

// RFC 7515 Appendix A.3 (ES256) and RFC 8037 Appendix A.1 (Ed25519).
const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","kid":"ec1","alg":"ES256"}"#;
const ED_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed1"}"#;

fn jwks_text() -> String {
    format!(r#"{{"keys":[{EC_KEY},{ED_KEY}]}}"#)
}

fn jwk(text: &str) -> Jwk {
    serde_json::from_str(text).unwrap()
}

const REGISTERED: &[&str] = &[
    "https://client.example.com/cb",
    "https://client.example.com/cb?x=1",
    "com.example.app:/oauth2redirect",
    "http://127.0.0.1/cb",
    "http://localhost:8080/callback",
    "http://[::1]:9000/cb",
];

fn service_json(loopback: bool) -> Value {
    json!({
        "apiKey": API_KEY,
        "serviceName": "properties",
        "issuer": "https://as.example.com",
        "supportedResponseTypes": ["NONE", "CODE", "TOKEN", "ID_TOKEN", "CODE_TOKEN",
            "CODE_ID_TOKEN", "ID_TOKEN_TOKEN", "CODE_ID_TOKEN_TOKEN"],
        "supportedGrantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS",
            "PASSWORD", "IMPLICIT"],
        "supportedScopes": [
            {"name": "openid"},
            {"name": "profile", "defaultEntry": true},
            {"name": "email"},
            {"name": "offline_access"}
        ],
        "supportedDisplays": ["PAGE", "POPUP"],
        "supportedUiLocales": ["en", "de"],
        "supportedClaimLocales": ["en"],
        "supportedAcrs": ["urn:acr:1"],
        "loopbackRedirectionUriVariable": loopback,
        "accessTokenSignAlg": "ES256",
        "accessTokenSignatureKeyId": "ec1",
        "jwks": jwks_text(),
    })
}

fn service(loopback: bool) -> Service {
    let mut s: Service = serde_json::from_value(service_json(loopback)).unwrap();
    s.normalize();
    s
}

fn client_json(public: bool, redirect_uris: &[String], alg: &str) -> Value {
    json!({
        "clientId": CLIENT_ID,
        "clientName": "c",
        "clientType": if public { "PUBLIC" } else { "CONFIDENTIAL" },
        "tokenAuthMethod": if public { "NONE" } else { "CLIENT_SECRET_BASIC" },
        "redirectUris": redirect_uris,
        "responseTypes": ["NONE", "CODE", "TOKEN", "ID_TOKEN", "CODE_TOKEN", "CODE_ID_TOKEN",
            "ID_TOKEN_TOKEN", "CODE_ID_TOKEN_TOKEN"],
        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "PASSWORD",
            "IMPLICIT"],
        "idTokenSignAlg": alg,
    })
}

fn client(public: bool, redirect_uris: &[String]) -> Client {
    let mut c: Client =
        serde_json::from_value(client_json(public, redirect_uris, "ES256")).unwrap();
    c.normalize();
    c
}

fn found(client: &Client) -> ClientLookup {
    ClientLookup::Found {
        client: Box::new(client.clone()),
        alias_used: false,
    }
}

fn token_record(scopes: &[&str]) -> TokenRecord {
    TokenRecord {
        service_api_key: API_KEY,
        client_id: CLIENT_ID,
        client_id_alias_used: false,
        subject: Some("alice".into()),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        grant_type: GrantType::AuthorizationCode,
        grant_id: "g".into(),
        access_expires_at: NOW + 60_000,
        refresh_expires_at: NOW + 120_000,
        properties: Vec::new(),
        auth_time: 0,
        acr: None,
        userinfo_claims: None,
        created_at: NOW - 1000,
        last_refreshed_at: 0,
    }
}

static SUBJECT_KEYS: std::sync::LazyLock<SecretKeys> =
    std::sync::LazyLock::new(|| SecretKeys::from_master(&[9u8; 32]));

/// Signs with a digest of the input: ECDSA and RSA-PSS signatures are randomised, and the
/// determinism checks compare whole replies.
struct DigestSigner;

impl castellan_core::jose::JwsSigner for DigestSigner {
    fn sign(
        &self,
        _: &Jwk,
        _: JwsAlg,
        input: &[u8],
    ) -> Result<Vec<u8>, castellan_core::jose::KeyError> {
        Ok(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input)
            .as_ref()
            .to_vec())
    }
}

fn signing(secret: Option<&str>) -> IdTokenSigning<'_> {
    IdTokenSigning {
        signer: &DigestSigner,
        client_secret: secret,
        subject_keys: &SUBJECT_KEYS,
    }
}

/// A form-encoded parameter string.
fn encode(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

// ----- cost growth ----------------------------------------------------------------------------

/// Timing tests hold this so they do not disturb one another.
static TIMING: Mutex<()> = Mutex::new(());

/// CPU time used by the calling thread so far: unlike wall-clock time, it does not grow while
/// the thread waits for a core that other processes (or other tests) are using.
fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Checks that `op` costs at most about linearly more on an input 8 times larger.
///
/// Absolute times mean nothing in a debug build on a shared machine, so the test compares the
/// operation with itself: it builds the hostile input at size `n` and at size `8n`, times both
/// alternately (so any disturbance falls on both alike), and compares the medians of several
/// samples. Times are the thread's CPU time, so waiting for a busy core does not count. Each
/// sample repeats the operation as often as needed for the size-`n` input to take at least a
/// couple of milliseconds, so timer resolution stays small against it. Linear cost gives a
/// ratio of about 8 (less when fixed costs dominate), quadratic cost 64; the bound of 32 leaves
/// a factor of 4 for noise and still catches quadratic growth.
fn assert_linear<T>(name: &str, n: usize, make: impl Fn(usize) -> T, op: impl Fn(&T)) {
    const SAMPLES: usize = 7;
    const MAX_RATIO: f64 = 32.0;
    const MIN_SAMPLE: Duration = Duration::from_millis(2);
    let _serial = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let small = make(n);
    let large = make(8 * n);
    // Warm up, and calibrate the repetitions on the small input.
    op(&large);
    let start = thread_cpu_time();
    let mut reps = 0u32;
    while thread_cpu_time() - start < MIN_SAMPLE {
        op(&small);
        reps += 1;
    }
    let time = |input: &T| {
        let start = thread_cpu_time();
        for _ in 0..reps {
            op(input);
        }
        thread_cpu_time() - start
    };
    let mut t_small = Vec::with_capacity(SAMPLES);
    let mut t_large = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        t_small.push(time(&small));
        t_large.push(time(&large));
    }
    t_small.sort();
    t_large.sort();
    let (s, l) = (t_small[SAMPLES / 2], t_large[SAMPLES / 2]);
    let ratio = l.as_secs_f64() / s.as_secs_f64().max(1e-9);
    eprintln!("{name}: n={n} {s:?}, 8n {l:?}, ratio {ratio:.1} ({reps} repetitions)");
    assert!(
        ratio < MAX_RATIO,
        "{name}: size {n} took {s:?}, size {} took {l:?} ({reps} repetitions): ratio {ratio:.1} \
         suggests worse than linear cost",
        8 * n
    );
}

// ----- generators -----------------------------------------------------------------------------

/// Parameter names the endpoints read, and a few others.
const PARAM_NAMES: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "response_mode",
    "nonce",
    "display",
    "prompt",
    "max_age",
    "ui_locales",
    "claims_locales",
    "id_token_hint",
    "login_hint",
    "acr_values",
    "claims",
    "code_challenge",
    "code_challenge_method",
    "request",
    "request_uri",
    "grant_type",
    "code",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "username",
    "password",
    "token",
    "token_type_hint",
    "callback",
    "",
    "x",
];

/// Values that mean something to some parameter.
const PARAM_VALUES: &[&str] = &[
    "",
    " ",
    "code",
    "token",
    "id_token",
    "code id_token",
    "id_token token",
    "code id_token token",
    "none",
    "code code",
    "2001",
    "02001",
    "openid",
    "openid profile email offline_access",
    "query",
    "fragment",
    "form_post",
    "jwt",
    "login consent",
    "none login",
    "page",
    "popup",
    "0",
    "-1",
    "1.5",
    "99999999999",
    "en de fr",
    "urn:acr:1",
    "{\"id_token\":{\"acr\":{\"values\":[\"urn:acr:1\"],\"essential\":true},\"sub\":{\"value\":\"bob\"}},\"userinfo\":{}}",
    "[]",
    "plain",
    "S256",
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
    "implicit",
    "access_token",
    "cb_1",
    "1cb",
    CLIENT_SECRET,
];

fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(PARAM_NAMES).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(PARAM_VALUES).prop_map(str::to_owned),
        2 => ".{0,40}",
        1 => "[\\x00-\\x7f]{0,40}",
    ]
}

/// A parameter string: form-encoded pairs, sometimes with raw junk mixed in.
fn parameters() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((param_name(), param_value()), 0..12),
        prop::option::of("[&=%+?a-z0-9\\x00-\\x20]{0,12}"),
        any::<bool>(),
    )
        .prop_map(|(pairs, junk, question)| {
            let mut s = if question {
                String::from("?")
            } else {
                String::new()
            };
            s.push_str(&encode(&pairs));
            if let Some(j) = junk {
                s.push('&');
                s.push_str(&j);
            }
            s
        })
}

/// Registered URIs, edited: a character inserted, removed or replaced, or a suffix added.
fn mutated_uri() -> impl Strategy<Value = String> {
    (
        prop::sample::select(REGISTERED),
        any::<prop::sample::Index>(),
        any::<char>(),
        0..8u8,
    )
        .prop_map(|(uri, at, c, kind)| {
            let mut chars: Vec<char> = uri.chars().collect();
            let i = at.index(chars.len() + 1);
            match kind {
                0 => chars.insert(i, c),
                1 if i < chars.len() => {
                    chars.remove(i);
                }
                2 if i < chars.len() => chars[i] = c,
                3 => chars.extend("\r\nLocation: https://evil.example".chars()),
                4 => chars.extend("#frag".chars()),
                5 => chars.extend(":443".chars()),
                6 => return uri.to_uppercase(),
                _ => chars.push('/'),
            }
            chars.into_iter().collect()
        })
}

/// Loopback URIs with other ports, hosts, schemes and paths; mostly the registered hosts and
/// paths, so many differ from a registered URI only in the port.
fn loopback_uri() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        3 => prop::sample::select(&["http://127.0.0.1", "http://localhost", "http://[::1]"][..]),
        2 => prop::sample::select(&[
            "https://127.0.0.1",
            "http://127.0.0.2",
            "http://LOCALHOST",
            "http://user:pw@127.0.0.1",
            "http://127.0.0.1.evil.example",
            "http://0x7f.0.0.1",
            "http://[0:0:0:0:0:0:0:1]",
            "http://127.1",
        ][..]),
    ];
    let port = prop::option::weighted(
        0.8,
        prop_oneof![
            4 => any::<u16>().prop_map(|p| p.to_string()),
            1 => prop::sample::select(&["80", "8080", "9000", "0", "080", "65536", "999999", ""][..])
                .prop_map(str::to_owned),
        ],
    );
    let path = prop_oneof![
        3 => prop::sample::select(&["/cb", "/callback"][..]),
        2 => prop::sample::select(&[
            "/cb/", "/CB", "", "/cb?x=1", "/cb#f", "/%63b", "/./cb", "/a/../cb", "/cb\t",
            "/cb%0d%0a", "/cb?", "//cb", "/cb\\", "/cb;x",
        ][..]),
    ];
    (host, port, path).prop_map(|(host, port, path)| match port {
        Some(p) => format!("{host}:{p}{path}"),
        None => format!("{host}{path}"),
    })
}

fn redirect_uri() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(REGISTERED).prop_map(str::to_owned),
        3 => mutated_uri(),
        3 => loopback_uri(),
        1 => ".{0,40}",
        1 => "[ -~]{0,40}",
    ]
}

/// An authorization request near the valid ones.
#[derive(Clone, Debug)]
struct AuthRequest {
    redirect_uri: Option<String>,
    repeat_redirect_uri: bool,
    pairs: Vec<(String, String)>,
}

impl AuthRequest {
    fn parameters(&self) -> String {
        let mut pairs = vec![("client_id".to_owned(), CLIENT_ID.to_string())];
        if let Some(uri) = &self.redirect_uri {
            pairs.push(("redirect_uri".into(), uri.clone()));
            if self.repeat_redirect_uri {
                pairs.push(("redirect_uri".into(), uri.clone()));
            }
        }
        pairs.extend(self.pairs.iter().cloned());
        encode(&pairs)
    }
}

fn auth_request() -> impl Strategy<Value = AuthRequest> {
    // Each parameter is present with probability `p`; most values are meaningful ones, so
    // most requests get past the early checks to where the redirect URI is trusted.
    let opt = |name: &'static str, p: f64, values: &'static [&'static str]| {
        prop::option::weighted(
            p,
            prop_oneof![
                6 => prop::sample::select(values).prop_map(str::to_owned),
                1 => ".{0,16}",
            ],
        )
        .prop_map(move |v| v.map(|v| (name.to_owned(), v)))
    };
    (
        prop::option::weighted(0.9, redirect_uri()),
        prop::bool::weighted(0.05),
        opt(
            "response_type",
            0.95,
            &[
                "code",
                "code",
                "token",
                "id_token",
                "code id_token",
                "id_token token",
                "none",
                "code x",
            ],
        ),
        opt(
            "response_mode",
            0.6,
            &[
                "form_post",
                "form_post",
                "query",
                "fragment",
                "jwt",
                "query.jwt",
            ],
        ),
        prop::option::weighted(
            0.7,
            prop_oneof!["[ -~]{1,20}", ".{1,20}", "[\\x00-\\x7f]{1,20}",],
        )
        .prop_map(|v| v.map(|v| ("state".to_owned(), v))),
        opt(
            "scope",
            0.7,
            &[
                "openid",
                "openid profile",
                "profile",
                "openid offline_access",
                "x y",
            ],
        ),
        opt("nonce", 0.5, &["n-0S6_WzA2Mj", ""]),
        opt(
            "prompt",
            0.3,
            &["consent", "none", "login consent", "none login", "bad"],
        ),
        opt(
            "code_challenge",
            0.6,
            &["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "short"],
        ),
        opt("code_challenge_method", 0.5, &["S256", "plain", "x"]),
        opt("acr_values", 0.2, &["urn:acr:1", "urn:acr:1 urn:other"]),
        prop::collection::vec((param_name(), param_value()), 0..3),
    )
        .prop_map(
            |(redirect_uri, repeat, rt, rm, state, scope, nonce, prompt, cc, ccm, acr, extra)| {
                let pairs = [rt, rm, state, scope, nonce, prompt, cc, ccm, acr]
                    .into_iter()
                    .flatten()
                    .chain(extra)
                    .collect();
                AuthRequest {
                    redirect_uri,
                    repeat_redirect_uri: repeat,
                    pairs,
                }
            },
        )
}

fn registered_uris() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        1 => prop::sample::subsequence(REGISTERED, 0..=REGISTERED.len()),
        // Usually all of them, so the request's URI is more often one of them.
        3 => Just(REGISTERED.to_vec()),
    ]
    .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

/// JSON member names the request bodies and the Service/Client objects read.
const FIELD_NAMES: &[&str] = &[
    "parameters",
    "clientId",
    "clientSecret",
    "token",
    "scopes",
    "subject",
    "ticket",
    "reason",
    "description",
    "sub",
    "claims",
    "properties",
    "key",
    "value",
    "hidden",
    "accessTokenDuration",
    "refreshTokenDuration",
    "authTime",
    "acr",
    "withHiddenProperties",
    "serviceName",
    "apiKey",
    "number",
    "issuer",
    "supportedGrantTypes",
    "supportedResponseTypes",
    "supportedScopes",
    "name",
    "defaultEntry",
    "attributes",
    "descriptions",
    "tag",
    "supportedTokenAuthMethods",
    "supportedDisplays",
    "supportedUiLocales",
    "supportedAcrs",
    "supportedClaimTypes",
    "pkceRequired",
    "pkceS256Required",
    "accessTokenType",
    "jwks",
    "jwksUri",
    "idTokenSignatureKeyId",
    "accessTokenSignAlg",
    "loopbackRedirectionUriVariable",
    "clientIdAliasEnabled",
    "scopeRequired",
    "redirectUris",
    "responseTypes",
    "grantTypes",
    "tokenAuthMethod",
    "clientType",
    "subjectType",
    "idTokenSignAlg",
    "extension",
    "requestableScopesEnabled",
    "requestableScopes",
    "defaultMaxAge",
    "defaultAcrs",
    "clientIdAlias",
    "locked",
    "tokenEndpoint",
    "x",
];

/// Strings that mean something to some field.
const WORDS: &[&str] = &[
    "",
    " ",
    "CODE",
    "TOKEN",
    "ID_TOKEN",
    "PUBLIC",
    "CONFIDENTIAL",
    "AUTHORIZATION_CODE",
    "CLIENT_CREDENTIALS",
    "CLIENT_SECRET_BASIC",
    "CLIENT_SECRET_POST",
    "NONE",
    "ES256",
    "RS256",
    "HS256",
    "EdDSA",
    "PAIRWISE",
    "PAGE",
    "NOT_LOGGED_IN",
    "true",
    "false",
    "0",
    " 42 ",
    "-1",
    "9223372036854775808",
    "openid profile",
    "response_type=code&client_id=2001&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb",
    "grant_type=client_credentials&client_id=2001&client_secret=0123456789abcdef0123456789abcdef-client-secret",
    "grant_type=password&username=u&password=p&scope=openid",
    "token=t&token_type_hint=refresh_token&client_id=2001",
    "{\"keys\":[]}",
    "{\"name\":\"Alice\"}",
    "https://client.example.com/cb",
];

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(FIELD_NAMES).prop_map(str::to_owned),
        1 => ".{0,8}",
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        // Binary fractions: exact in text, so values survive writing and reading.
        1 => any::<i32>().prop_map(|m| Value::from(f64::from(m) / 8.0)),
        1 => (-3i64..3).prop_map(Value::from),
        3 => prop::sample::select(WORDS).prop_map(Value::from),
        1 => ".{0,16}".prop_map(Value::from),
    ]
}

/// Arbitrary JSON of bounded depth and size, with the member names the code reads.
fn json_value(depth: u32) -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(depth, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A JSON object whose members are fields the code reads.
fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((json_key(), json_value(3)), 0..10)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// Valid example bodies of the endpoints and objects, to mutate.
fn examples() -> Vec<Value> {
    vec![
        json!({"parameters": "response_type=code&client_id=2001&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&scope=openid&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"}),
        json!({"ticket": "t", "subject": "alice", "authTime": 1_700_000_000, "acr": "urn:acr:1",
               "claims": "{\"name\":\"Alice\"}", "properties": [{"key": "k", "value": "v", "hidden": true}],
               "scopes": ["openid"], "sub": "a", "accessTokenDuration": 60}),
        json!({"ticket": "t", "reason": "NOT_LOGGED_IN", "description": "d"}),
        json!({"parameters": "grant_type=client_credentials&scope=profile", "clientId": "2001",
               "clientSecret": CLIENT_SECRET, "properties": [{"key": "k", "value": "v"}],
               "accessTokenDuration": 60, "refreshTokenDuration": 120}),
        json!({"parameters": "grant_type=password&username=u&password=p", "clientId": 2001,
               "clientSecret": CLIENT_SECRET}),
        json!({"token": "t", "scopes": ["openid", "profile"], "subject": "alice"}),
        json!({"parameters": "token=t&token_type_hint=refresh_token", "withHiddenProperties": true}),
        json!({"parameters": "token=t&client_id=2001&callback=cb", "clientSecret": CLIENT_SECRET}),
        json!({"token": "t", "claims": "{\"name\":\"Alice\"}", "sub": "a"}),
        service_json(true),
        client_json(false, &["https://client.example.com/cb".into()], "ES256"),
    ]
}

#[derive(Clone, Debug)]
enum Edit {
    Set(prop::sample::Index, Value),
    Remove(prop::sample::Index),
    Add(String, Value),
    Wrap(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), json_value(2)).prop_map(|(i, v)| Edit::Set(i, v)),
        any::<prop::sample::Index>().prop_map(Edit::Remove),
        (json_key(), json_value(2)).prop_map(|(k, v)| Edit::Add(k, v)),
        any::<prop::sample::Index>().prop_map(Edit::Wrap),
    ]
}

/// An example body with some of its members replaced, removed, added or wrapped in an array.
fn mutated_example() -> impl Strategy<Value = Value> {
    (
        any::<prop::sample::Index>(),
        prop::collection::vec(edit(), 0..4),
    )
        .prop_map(|(which, edits)| {
            let all = examples();
            let mut v = all[which.index(all.len())].clone();
            let Value::Object(map) = &mut v else {
                unreachable!()
            };
            for e in edits {
                let keys: Vec<String> = map.keys().cloned().collect();
                let key = |i: &prop::sample::Index| {
                    (!keys.is_empty()).then(|| keys[i.index(keys.len())].clone())
                };
                match e {
                    Edit::Set(i, value) => {
                        if let Some(k) = key(&i) {
                            map.insert(k, value);
                        }
                    }
                    Edit::Remove(i) => {
                        if let Some(k) = key(&i) {
                            map.remove(&k);
                        }
                    }
                    Edit::Add(k, value) => {
                        map.insert(k, value);
                    }
                    Edit::Wrap(i) => {
                        if let Some(k) = key(&i) {
                            let old = map.remove(&k).unwrap_or_default();
                            map.insert(k, Value::Array(vec![old]));
                        }
                    }
                }
            }
            v
        })
}

/// A text with a character inserted, removed or replaced.
fn mutated_text(base: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (
        base,
        prop::collection::vec((any::<prop::sample::Index>(), any::<char>(), 0..3u8), 0..4),
    )
        .prop_map(|(text, edits)| {
            let mut chars: Vec<char> = text.chars().collect();
            for (at, c, kind) in edits {
                let i = at.index(chars.len() + 1);
                match kind {
                    0 => chars.insert(i, c),
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    _ if i < chars.len() => chars[i] = c,
                    _ => chars.push(c),
                }
            }
            chars.into_iter().collect()
        })
}

// ----- parameters ----------------------------------------------------------------------------

/// A model of `split_list`: the same caps and result, written the obvious (quadratic) way.
fn split_list_model(value: &str) -> Result<Vec<String>, ()> {
    let items: Vec<&str> = value.split(' ').filter(|s| !s.is_empty()).collect();
    if items.len() > MAX_LIST_VALUES || items.iter().any(|s| s.len() > MAX_LIST_VALUE_LEN) {
        return Err(());
    }
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.iter().any(|x| x == item) {
            out.push(item.to_owned());
        }
    }
    Ok(out)
}

fn list_input() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        "[ab \\t]{0,80}",
        // Many short values, with repeats, near the count cap.
        (
            prop::collection::vec(
                prop::sample::select(&["a", "b", "c", "openid", "é"][..]),
                0..300
            ),
            1..3usize
        )
            .prop_map(|(words, gap)| words.join(&" ".repeat(gap))),
        // Distinct values around the count cap.
        (MAX_LIST_VALUES - 3..MAX_LIST_VALUES + 3, any::<bool>()).prop_map(|(n, repeat)| {
            let mut v: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
            if repeat {
                v.push("s0".into());
            }
            v.join(" ")
        }),
        // Values around the length cap.
        (MAX_LIST_VALUE_LEN - 2..MAX_LIST_VALUE_LEN + 2, "[ -~]{0,5}")
            .prop_map(|(n, rest)| format!("{} {rest}", "x".repeat(n))),
        // A two-byte character across the length cap.
        (0..3usize).prop_map(|k| "é".repeat(MAX_LIST_VALUE_LEN / 2 - 1 + k)),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn params_parse_never_panics_and_is_deterministic(raw in prop_oneof![".*", parameters()]) {
        let a = Params::parse(&raw);
        let b = Params::parse(&raw);
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
        for name in PARAM_NAMES {
            let single = a.single(name);
            prop_assert_eq!(single, b.single(name));
            let non_empty = a.single_non_empty(name);
            prop_assert_eq!(non_empty, single.map(|v| v.filter(|v| !v.is_empty())));
            if single.is_err() || single.is_ok_and(|v| v.is_some()) {
                prop_assert!(a.contains(name));
            }
        }
    }

    #[test]
    fn params_round_trip_form_encoding(
        pairs in prop::collection::vec((param_name(), ".{0,20}"), 0..10),
        question in any::<bool>(),
    ) {
        let encoded = encode(&pairs);
        let raw = if question { format!("?{encoded}") } else { encoded };
        let p = Params::parse(&raw);
        prop_assert_eq!(p.is_empty(), pairs.iter().all(|(k, _)| k.is_empty()));
        for (name, value) in &pairs {
            let count = pairs.iter().filter(|(k, _)| k == name).count();
            if count == 1 {
                prop_assert_eq!(p.single(name), Ok(Some(value.as_str())));
            } else {
                prop_assert_eq!(p.single(name), Err(Repeated));
            }
        }
        prop_assert_eq!(p.single("never-sent-name"), Ok(None));
    }

    #[test]
    fn split_list_keeps_its_promises(value in list_input()) {
        let out = split_list(&value);
        prop_assert_eq!(&out, &split_list(&value));
        prop_assert_eq!(out.clone().map_err(|_| ()), split_list_model(&value));
        if let Ok(items) = out {
            prop_assert!(items.len() <= MAX_LIST_VALUES);
            let mut seen = std::collections::HashSet::new();
            for item in &items {
                prop_assert!(!item.is_empty());
                prop_assert!(!item.contains(' '));
                prop_assert!(item.len() <= MAX_LIST_VALUE_LEN);
                prop_assert!(seen.insert(item.clone()), "repeated {:?}", item);
            }
            // First-occurrence order: the items appear in the input in this order.
            let firsts: Vec<&str> = {
                let mut seen = std::collections::HashSet::new();
                value.split(' ').filter(|s| !s.is_empty() && seen.insert(*s)).collect()
            };
            prop_assert_eq!(items.iter().map(String::as_str).collect::<Vec<_>>(), firsts);
        }
    }

    #[test]
    fn identifiers_are_canonical_decimals(s in prop_oneof![
        "[0-9]{0,21}",
        "[-+ 0]{0,2}[0-9]{1,20}[ ]{0,1}",
        ".{0,22}",
        any::<i64>().prop_map(|v| v.to_string()),
    ]) {
        let id = identifier_as_id(&s);
        prop_assert_eq!(id, identifier_as_id(&s));
        if let Some(v) = id {
            prop_assert!(v > 0);
            prop_assert_eq!(v.to_string(), s);
        }
    }

    #[test]
    fn every_positive_i64_round_trips(v in any::<i64>()) {
        let text = v.to_string();
        if v > 0 {
            prop_assert_eq!(identifier_as_id(&text), Some(v));
            prop_assert_eq!(identifier_as_id(&format!("0{text}")), None);
            prop_assert_eq!(identifier_as_id(&format!("+{text}")), None);
            prop_assert_eq!(identifier_as_id(&format!(" {text}")), None);
            prop_assert_eq!(identifier_as_id(&format!("{text} ")), None);
        } else {
            prop_assert_eq!(identifier_as_id(&text), None);
        }
    }
}

#[test]
fn parameters_cost_is_linear() {
    assert_linear(
        "many parameters",
        1000,
        |n| (0..n).map(|i| format!("p{i}=v{i}&")).collect::<String>(),
        |raw| {
            let p = Params::parse(raw);
            black_box(p.single("p0").is_ok());
            black_box(p.single("absent").is_ok());
        },
    );
    assert_linear(
        "one long value",
        4000,
        |n| format!("scope={}", "x".repeat(n)),
        |raw| {
            black_box(Params::parse(raw));
        },
    );
    assert_linear(
        "percent escapes",
        2000,
        |n| format!("a={}", "%41%ff+".repeat(n)),
        |raw| {
            black_box(Params::parse(raw));
        },
    );
    assert_linear(
        "one name repeated",
        500,
        |n| "scope=a&".repeat(n),
        |raw| {
            let p = Params::parse(raw);
            black_box(p.single("scope").is_err());
            black_box(p.contains("absent"));
        },
    );
}

#[test]
fn list_cost_is_linear() {
    assert_linear(
        "runs of spaces",
        4000,
        |n| format!("a{}b", " ".repeat(n)),
        |v| {
            black_box(split_list(v).is_ok());
        },
    );
    // 8n must stay under the count cap so the whole list is read.
    assert_linear(
        "repeated values",
        30,
        |n| vec!["openid"; n].join(" "),
        |v| {
            black_box(split_list(v).is_ok());
        },
    );
    assert_linear(
        "distinct values, long",
        60,
        |n| {
            (0..200)
                .map(|i| format!("{i}{} ", "x".repeat(n)))
                .collect::<String>()
        },
        |v| {
            black_box(split_list(v).is_ok());
        },
    );
    assert_linear(
        "far over the count cap",
        20_000,
        |n| (0..n).map(|i| format!("s{i} ")).collect::<String>(),
        |v| {
            black_box(split_list(v).is_err());
        },
    );
}

// ----- redirect URIs through /auth/authorization ------------------------------------------

/// Whether `uri` is acceptable as the redirect URI for `registered`: one of them exactly, or,
/// with `loopbackRedirectionUriVariable`, an `http` loopback URI equal to a registered one in
/// every part but the port (RFC 8252 §7.3).
fn acceptable(loopback: bool, registered: &[String], uri: &str) -> bool {
    if registered.iter().any(|r| r == uri) {
        return true;
    }
    if !loopback || has_control(uri) {
        return false;
    }
    let Ok(u) = url::Url::parse(uri) else {
        return false;
    };
    let is_loopback = |x: &url::Url| {
        x.scheme() == "http" && matches!(x.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
    };
    registered
        .iter()
        .filter_map(|r| url::Url::parse(r).ok())
        .any(|r| {
            is_loopback(&r)
                && is_loopback(&u)
                && r.host_str() == u.host_str()
                && r.username() == u.username()
                && r.password() == u.password()
                && r.path() == u.path()
                && r.query() == u.query()
                && r.fragment() == u.fragment()
        })
}

/// Whether a `LOCATION` reply goes to an acceptable redirect URI: it starts with one and
/// continues with the response parameters.
fn location_ok(loopback: bool, registered: &[String], location: &str) -> bool {
    let exact = registered.iter().any(|r| {
        location
            .strip_prefix(r.as_str())
            .is_some_and(|rest| rest.starts_with(['?', '&', '#']) || r.ends_with(['?', '&']))
    });
    if exact {
        return true;
    }
    // A loopback URI with another port: the parameters are the query or the fragment.
    let Ok(mut u) = url::Url::parse(location) else {
        return false;
    };
    u.set_query(None);
    u.set_fragment(None);
    loopback && acceptable(true, registered, u.as_str())
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `action` of a form_post page.
fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + "action=\"".len();
    let end = start + html[start..].find('"')?;
    Some(html_unescape(&html[start..end]))
}

fn decide(
    service: &Service,
    client: &Client,
    parameters: &str,
) -> Result<AuthorizationDecision, Box<AuthorizationResponse>> {
    let begun = authorization::begin(service, Some(parameters))?;
    Ok(authorization::decide(
        service,
        begun,
        found(client),
        Some(CLIENT_SECRET),
        NOW,
        &mut Counter(7),
    ))
}

/// A request refused before its client was looked up: a JSON error, never a redirect.
fn check_refusal(response: &AuthorizationResponse) -> Result<(), TestCaseError> {
    let env = &response.envelope;
    prop_assert_eq!(env.action, Action::BadRequest);
    let content = env.response_content.as_deref().unwrap_or("");
    prop_assert!(!has_control(content));
    prop_assert!(serde_json::from_str::<Value>(content).is_ok());
    Ok(())
}

fn check_decision(
    loopback: bool,
    registered: &[String],
    given: Option<&str>,
    decision: &AuthorizationDecision,
) -> Result<(), TestCaseError> {
    let env = &decision.response.envelope;
    let content = env.response_content.as_deref().unwrap_or("");
    if let Some(ticket) = &decision.ticket {
        let uri = &ticket.record.redirect_uri;
        prop_assert!(
            acceptable(loopback, registered, uri),
            "accepted {:?} for {:?}",
            uri,
            registered
        );
        match given {
            Some(g) if registered.iter().any(|r| r == g) => prop_assert_eq!(uri, g),
            Some(_) => {}
            None => prop_assert_eq!(registered, std::slice::from_ref(uri)),
        }
        prop_assert!(!has_control(uri));
    }
    if given.is_some_and(has_control) {
        prop_assert_eq!(env.action, Action::BadRequest, "{:?}", env);
    }
    match env.action {
        Action::Location => {
            prop_assert!(!has_control(content), "control character in {:?}", content);
            prop_assert!(
                location_ok(loopback, registered, content),
                "redirected to {:?}, registered {:?}",
                content,
                registered
            );
        }
        Action::Form => {
            let action = form_action(content);
            prop_assert!(action.is_some(), "no action in {:?}", content);
            let action = action.unwrap_or_default();
            prop_assert!(!has_control(&action));
            prop_assert!(
                acceptable(loopback, registered, &action),
                "posts to {:?}",
                action
            );
            // The page's own line breaks are the only control characters in it (see the
            // `form_post_page_has_no_control_characters_*` regression tests).
            prop_assert!(
                !content.chars().any(|c| c.is_control() && c != '\n'),
                "control character in the form_post page {:?}",
                content
            );
        }
        Action::BadRequest => {
            prop_assert!(!has_control(content), "control character in {:?}", content);
            let body: Value = serde_json::from_str(content)
                .map_err(|e| TestCaseError::fail(format!("{e}: {content}")))?;
            prop_assert!(body.get("error").is_some_and(Value::is_string));
        }
        Action::Interaction | Action::NoInteraction => {
            prop_assert!(decision.ticket.is_some());
        }
        other => prop_assert!(false, "unexpected action {:?}", other),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn redirect_uris_are_matched_safely(
        req in auth_request(),
        registered in registered_uris(),
        loopback in any::<bool>(),
        public in any::<bool>(),
    ) {
        let service = service(loopback);
        let client = client(public, &registered);
        let parameters = req.parameters();
        let first = decide(&service, &client, &parameters);
        let second = decide(&service, &client, &parameters);
        prop_assert_eq!(format!("{first:?}"), format!("{second:?}"));
        let decision = match first {
            Ok(decision) => decision,
            // A repeated or empty client_id among the extra parameters.
            Err(response) => return check_refusal(&response),
        };
        let given = if req.repeat_redirect_uri { None } else { req.redirect_uri.as_deref() };
        check_decision(loopback, &registered, given, &decision)?;
        if req.repeat_redirect_uri && req.redirect_uri.is_some() {
            prop_assert_eq!(decision.response.envelope.action, Action::BadRequest);
        }
    }

    #[test]
    fn authorization_never_panics_on_arbitrary_parameters(
        raw in prop_oneof![".*", parameters(), mutated_text(auth_request().prop_map(|r| r.parameters()))],
        loopback in any::<bool>(),
    ) {
        let service = service(loopback);
        let registered: Vec<String> = REGISTERED.iter().map(|s| (*s).to_owned()).collect();
        let client = client(true, &registered);
        let first = decide(&service, &client, &raw);
        prop_assert_eq!(format!("{first:?}"), format!("{:?}", decide(&service, &client, &raw)));
        let given = Params::parse(&raw).single("redirect_uri").ok().flatten().map(str::to_owned);
        match first {
            Ok(decision) => check_decision(loopback, &registered, given.as_deref(), &decision)?,
            Err(response) => check_refusal(&response)?,
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Well-formed requests whose redirect URI is a loopback URI: most get a ticket, so the
    /// port rule of `loopbackRedirectionUriVariable` is exercised on many accepted URIs.
    #[test]
    fn loopback_redirect_uris_differ_only_in_port(
        given in prop_oneof![3 => loopback_uri(), 1 => mutated_uri()],
        loopback in prop::bool::weighted(0.8),
        form_post in any::<bool>(),
    ) {
        let registered: Vec<String> = REGISTERED.iter().map(|s| (*s).to_owned()).collect();
        let service = service(loopback);
        let client = client(true, &registered);
        let mut pairs = vec![
            ("client_id".to_owned(), CLIENT_ID.to_string()),
            ("redirect_uri".into(), given.clone()),
            ("response_type".into(), "code".into()),
            ("code_challenge".into(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            ("code_challenge_method".into(), "S256".into()),
            ("state".into(), "xyz".into()),
        ];
        if form_post {
            pairs.push(("response_mode".into(), "form_post".into()));
        }
        let decision = decide(&service, &client, &encode(&pairs)).unwrap();
        check_decision(loopback, &registered, Some(&given), &decision)?;
        if let Some(ticket) = &decision.ticket {
            let uri = &ticket.record.redirect_uri;
            if !registered.contains(uri) {
                // A loopback URI with another port: the one given, as the URL parser wrote it.
                prop_assert!(loopback);
                prop_assert_eq!(url::Url::parse(uri).ok(), url::Url::parse(&given).ok());
            }
        }
    }
}

/// Builds an authorization request for the cost checks.
fn auth_params(extra: &[(String, String)]) -> String {
    let mut pairs = vec![
        ("client_id".to_owned(), CLIENT_ID.to_string()),
        ("response_type".into(), "code".into()),
        (
            "redirect_uri".into(),
            "https://client.example.com/cb".into(),
        ),
        (
            "code_challenge".into(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        ),
        ("code_challenge_method".into(), "S256".into()),
        ("nonce".into(), "n".into()),
    ];
    pairs.extend(extra.iter().cloned());
    encode(&pairs)
}

#[test]
fn authorization_cost_is_linear() {
    let registered: Vec<String> = REGISTERED.iter().map(|s| (*s).to_owned()).collect();
    let service = service(true);
    let client = client(true, &registered);
    let run = |p: &String| {
        black_box(decide(&service, &client, p).is_ok());
    };
    assert_linear(
        "many unknown parameters",
        200,
        |n| {
            auth_params(
                &(0..n)
                    .map(|i| (format!("x{i}"), "v".into()))
                    .collect::<Vec<_>>(),
            )
        },
        run,
    );
    assert_linear(
        "many scopes",
        30,
        |n| {
            let scope: Vec<String> = (0..n).map(|i| format!("scope{i}")).collect();
            auth_params(&[("scope".into(), format!("openid {}", scope.join(" ")))])
        },
        run,
    );
    assert_linear(
        "long state",
        200,
        |n| auth_params(&[("state".into(), "s".repeat(n))]),
        run,
    );
    assert_linear(
        "claims with many members",
        100,
        |n| {
            let members: Map<String, Value> = (0..n)
                .map(|i| (format!("c{i}"), json!({"essential": true})))
                .collect();
            auth_params(&[
                ("scope".into(), "openid".into()),
                (
                    "claims".into(),
                    json!({"id_token": members, "userinfo": {}}).to_string(),
                ),
            ])
        },
        run,
    );
    assert_linear(
        "deeply nested claims",
        12,
        |n| {
            let claims = format!("{}{}", "{\"a\":".repeat(n), "1".to_owned() + &"}".repeat(n));
            auth_params(&[("claims".into(), claims)])
        },
        run,
    );
    assert_linear(
        "long loopback redirect URI",
        200,
        |n| {
            let mut pairs = vec![("client_id".to_owned(), CLIENT_ID.to_string())];
            pairs.push((
                "redirect_uri".into(),
                format!("http://127.0.0.1:5000/{}", "a/".repeat(n)),
            ));
            encode(&pairs)
        },
        run,
    );
    assert_linear(
        "many ui_locales",
        30,
        |n| {
            let locales: Vec<String> = (0..n).map(|i| format!("l{i}")).collect();
            auth_params(&[("ui_locales".into(), locales.join(" "))])
        },
        run,
    );
}

/// The form_post page of an error redirected to `com.example.app:/oauth2redirect`, for a
/// request with these extra parameters.
fn form_post_error_page(extra: &[(&str, &str)]) -> String {
    let registered = vec!["com.example.app:/oauth2redirect".to_owned()];
    let service = service(false);
    let client = client(false, &registered);
    let mut pairs = vec![
        ("client_id".to_owned(), CLIENT_ID.to_string()),
        ("redirect_uri".into(), registered[0].clone()),
        ("response_type".into(), "code".into()),
        ("response_mode".into(), "form_post".into()),
    ];
    pairs.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let decision = decide(&service, &client, &encode(&pairs)).unwrap();
    let env = decision.response.envelope;
    assert_eq!(env.action, Action::Form);
    env.response_content.unwrap_or_default()
}

fn has_control_besides_line_breaks_of_the_page(page: &str) -> bool {
    page.chars().any(|c| c.is_control() && c != '\n') || page.contains("\n\"/>")
}

/// Found by `redirect_uris_are_matched_safely` (its seed is in `tests/proptest-regressions`):
/// `state` was only checked to be ASCII, so its control characters (here NUL, CR, LF) reached
/// the form_post page raw, where browsers alter them (NUL becomes U+FFFD, line breaks become
/// CRLF on submission) and the client got back another `state` than it sent. RFC 6749
/// Appendix A.5 allows only VSCHAR (%x20-7E) in `state`: such a `state` is refused (C013301),
/// and not echoed.
#[test]
fn a_state_with_control_characters_is_refused_and_not_echoed() {
    let registered = vec!["com.example.app:/oauth2redirect".to_owned()];
    let pairs = vec![
        ("client_id".to_owned(), CLIENT_ID.to_string()),
        ("redirect_uri".into(), registered[0].clone()),
        ("response_type".into(), "code".into()),
        ("response_mode".into(), "form_post".into()),
        ("state".into(), "\0\r\n".into()),
    ];
    let decision = decide(
        &service(false),
        &client(false, &registered),
        &encode(&pairs),
    )
    .unwrap();
    let env = decision.response.envelope;
    assert!(decision.ticket.is_none());
    assert_eq!(env.result_code, "C013301");
    let content = env.response_content.unwrap_or_default();
    assert!(!content.contains("state="), "{content:?}");
    assert!(
        !has_control_besides_line_breaks_of_the_page(&content),
        "{content:?}"
    );
}

/// The same through `error_description`: A021304 quotes the unsupported ACR value; quoted
/// values have their control characters written as `\u{..}`.
#[test]
fn form_post_page_has_no_control_characters_from_error_description() {
    let page = form_post_error_page(&[("acr_values", "urn:\u{1}\r\nx")]);
    assert!(
        !has_control_besides_line_breaks_of_the_page(&page),
        "{page:?}"
    );
}

// ----- JOSE -----------------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signed(header: Map<String, Value>, claims: &Value, alg: JwsAlg, key: &Jwk) -> String {
    jws::compact(header, claims, alg, key, &DirectSigner).unwrap()
}

fn hint_claims() -> Value {
    json!({"iss": "https://as.example.com", "sub": "alice", "aud": CLIENT_ID.to_string(),
           "jti": "opaque-1", "exp": 1})
}

/// The one ES256 token and the one HS256 token the JOSE properties start from.
fn valid_tokens() -> (String, String) {
    let es = signed(Map::new(), &hint_claims(), JwsAlg::Es256, &jwk(EC_KEY));
    let hs = signed(
        Map::new(),
        &hint_claims(),
        JwsAlg::Hs256,
        &jws::secret_jwk(CLIENT_SECRET),
    );
    (es, hs)
}

static VALID: std::sync::LazyLock<(String, String)> = std::sync::LazyLock::new(valid_tokens);

/// Three base64url parts from arbitrary JSON and bytes, headers naming real and unreal `alg`s.
fn structured_jws() -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        prop::sample::select(
            &[
                "ES256", "RS256", "PS256", "EdDSA", "HS256", "HS512", "none", "None", "", "ES256K"
            ][..]
        )
        .prop_map(Value::from),
        json_leaf(),
    ];
    (
        alg,
        prop::option::of(prop::sample::select(&["ec1", "ed1", "x", ""][..])),
        json_value(2),
        json_value(3),
        prop::collection::vec(any::<u8>(), 0..80),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(alg, kid, extra, claims, sig, raw_header)| {
            let header = if raw_header {
                extra
            } else {
                let mut h = Map::new();
                h.insert("alg".into(), alg);
                if let Some(k) = kid {
                    h.insert("kid".into(), Value::from(k));
                }
                Value::Object(h)
            };
            format!(
                "{}.{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes()),
                b64(&sig)
            )
        })
}

fn any_token() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => ".{0,60}",
        1 => "[A-Za-z0-9_=.-]{0,80}",
        2 => structured_jws(),
        2 => mutated_text(prop_oneof![Just(VALID.0.clone()), Just(VALID.1.clone())]),
        // Edits that keep the base64url alphabet, so more of them reach the signature check.
        2 => (
            prop_oneof![Just(VALID.0.clone()), Just(VALID.1.clone())],
            prop::collection::vec((any::<prop::sample::Index>(), "[A-Za-z0-9_-]"), 1..3),
        )
            .prop_map(|(token, edits)| {
                let mut chars: Vec<char> = token.chars().collect();
                for (at, c) in edits {
                    let i = at.index(chars.len());
                    if chars[i] != '.' {
                        chars[i] = c.chars().next().unwrap_or('A');
                    }
                }
                chars.into_iter().collect()
            }),
        // Parts of the valid tokens swapped around.
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(a, b, c)| {
                let parts: Vec<&str> = VALID.0.split('.').chain(VALID.1.split('.')).collect();
                format!("{}.{}.{}", parts[a.index(6)], parts[b.index(6)], parts[c.index(6)])
            }),
    ]
}

/// The claims of a token, decoded without any check.
fn unverified_claims(token: &str) -> Option<Value> {
    let part = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

fn unverified_alg(token: &str) -> Option<String> {
    let part = token.split('.').next()?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()?;
    header.get("alg")?.as_str().map(str::to_owned)
}

fn jwk_object() -> impl Strategy<Value = Value> {
    let member = prop_oneof![
        prop::sample::select(
            &[
                "kty", "crv", "x", "y", "d", "n", "e", "p", "q", "dp", "dq", "qi", "k", "kid",
                "alg", "use", "key_ops", "oth"
            ][..]
        )
        .prop_map(str::to_owned),
        ".{0,6}",
    ];
    let value = prop_oneof![
        prop::sample::select(
            &[
                "EC",
                "RSA",
                "OKP",
                "oct",
                "P-256",
                "P-384",
                "P-521",
                "secp256k1",
                "Ed25519",
                "sig",
                "enc",
                "ES256",
                "RS256",
                "EdDSA",
                "HS256",
                "AQAB",
                "AA",
                "",
                "ec1"
            ][..]
        )
        .prop_map(Value::from),
        prop::collection::vec(any::<u8>(), 0..48).prop_map(|b| Value::from(b64(&b))),
        prop::collection::vec(
            prop::sample::select(&["sign", "verify", "encrypt"][..]),
            0..3
        )
        .prop_map(Value::from),
        json_leaf(),
    ];
    let kty = prop::sample::select(&["EC", "RSA", "OKP", "oct", "x"][..]);
    (
        prop::option::weighted(0.85, kty),
        prop::collection::vec((member, value), 0..10),
    )
        .prop_map(|(kty, kv)| {
            let mut key: Map<String, Value> = kty
                .map(|k| ("kty".to_owned(), Value::from(k)))
                .into_iter()
                .collect();
            key.extend(kv);
            Value::Object(key)
        })
}

fn jwk_set_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => ".{0,40}",
        1 => json_value(3).prop_map(|v| v.to_string()),
        3 => prop::collection::vec(
            prop_oneof![
                4 => jwk_object(),
                1 => Just(jwk(EC_KEY)).prop_map(Value::Object),
                1 => Just(jwk(ED_KEY)).prop_map(Value::Object),
                1 => json_value(2),
            ],
            0..6,
        )
        .prop_map(|keys| json!({"keys": keys}).to_string()),
        1 => mutated_text(Just(jwks_text())),
    ]
}

const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn jws_verification_never_accepts_what_was_not_signed(
        token in any_token(),
        secret in prop::option::of(prop_oneof![Just(CLIENT_SECRET.to_owned()), ".{0,8}"]),
    ) {
        let keys = JwkSet::parse(&jwks_text()).unwrap().public();
        let first = jws::verify(&token, &keys, secret.as_deref(), |_| true);
        prop_assert_eq!(&first, &jws::verify(&token, &keys, secret.as_deref(), |_| true));
        if token.split('.').count() != 3 {
            prop_assert_eq!(&first, &Err(VerifyError::Malformed));
        }
        if let Ok(v) = &first {
            // Only the two tokens made here carry a valid signature.
            prop_assert_eq!(&Value::Object(v.claims.clone()), &hint_claims());
            prop_assert!(v.alg != JwsAlg::None);
            prop_assert!(v.alg == JwsAlg::Es256 || v.alg == JwsAlg::Hs256);
            if v.alg == JwsAlg::Hs256 {
                prop_assert_eq!(secret.as_deref(), Some(CLIENT_SECRET));
            }
            prop_assert_eq!(unverified_claims(&token), Some(hint_claims()));
        }
        if unverified_alg(&token).as_deref() == Some("none") {
            prop_assert!(first.is_err());
        }
        // An algorithm the caller refuses is never accepted.
        prop_assert!(jws::verify(&token, &keys, secret.as_deref(), |_| false).is_err());
    }

    #[test]
    fn id_token_hints_name_only_the_signed_subject(
        hint in any_token(),
        alg in prop::sample::select(&["ES256", "HS256", "EdDSA", "RS256", "NONE"][..]),
        secret in prop::option::of(prop_oneof![Just(CLIENT_SECRET.to_owned()), ".{0,8}"]),
        pairwise in any::<bool>(),
    ) {
        let service = service(false);
        let mut client_value = client_json(false, &[], alg);
        if pairwise {
            client_value["subjectType"] = json!("PAIRWISE");
        }
        let Ok(client) = serde_json::from_value::<Client>(client_value) else {
            return Ok(());
        };
        let first = id_token::check_hint(&service, &client, &hint, secret.as_deref());
        prop_assert_eq!(&first, &id_token::check_hint(&service, &client, &hint, secret.as_deref()));
        if let Hint::Valid(subject) = &first {
            prop_assert_eq!(unverified_claims(&hint), Some(hint_claims()));
            if pairwise {
                prop_assert_eq!(subject, &None);
            } else {
                prop_assert_eq!(subject.as_deref(), Some("alice"));
            }
        }
    }

    #[test]
    fn opaque_values_of_presented_tokens(presented in prop_oneof![any_token(), "([a-z]{0,3}\\.){0,6}"]) {
        let service = service(false);
        let first = opaque_value(&service, &presented, &DirectSigner);
        prop_assert_eq!(&first, &opaque_value(&service, &presented, &DirectSigner));
        if presented.split('.').count() != 3 {
            prop_assert_eq!(first.as_deref(), Some(presented.as_str()));
        } else if let Some(v) = &first {
            // Only the ES256 token verifies (HS* is not accepted for access tokens).
            prop_assert_eq!(v.as_str(), "opaque-1");
            let alg = unverified_alg(&presented);
            prop_assert_eq!(alg.as_deref(), Some("ES256"));
        }
    }

    #[test]
    fn jwk_sets_parse_safely(text in jwk_set_text(), kid in prop_oneof![Just("ec1".to_owned()), ".{0,4}"]) {
        let first = JwkSet::parse(&text);
        prop_assert_eq!(&first, &JwkSet::parse(&text));
        let Ok(set) = first else { return Ok(()); };
        for key in set.keys() {
            prop_assert!(key.get("kty").is_some_and(Value::is_string));
            let _ = thumbprint(key);
        }
        // Published: no symmetric key, no private member.
        let public = set.public();
        for key in public.keys() {
            prop_assert!(key.get("kty").and_then(Value::as_str) != Some("oct"));
            for m in PRIVATE_MEMBERS {
                prop_assert!(!key.contains_key(*m));
            }
        }
        // What is written parses back to the same set.
        prop_assert_eq!(&JwkSet::parse(&set.to_json(false)).unwrap(), &set);
        prop_assert_eq!(&JwkSet::parse(&set.to_json(true)).unwrap(), &set);
        for alg in JwsAlg::ALL {
            let chosen = set.signing_key(*alg, Some(&kid));
            prop_assert_eq!(chosen, set.signing_key(*alg, Some(&kid)));
            let _ = set.verification_keys(*alg, Some(&kid)).count();
        }
        let _ = rotation::describe(&set);
        if let Ok(after) = rotation::activate(&set, &kid) {
            prop_assert_eq!(after.keys().len(), set.keys().len());
        }
        if let Ok(after) = rotation::remove(&set, &kid) {
            prop_assert_eq!(after.keys().len() + 1, set.keys().len());
        }
        let added = rotation::add(&set, jwk(EC_KEY));
        prop_assert_eq!(added.keys().len(), set.keys().len() + 1);
    }

    #[test]
    fn signing_keys_from_arbitrary_jwks_never_panic(key in prop_oneof![
        jwk_object(),
        // A real key with members replaced.
        (prop::sample::select(&[EC_KEY, ED_KEY][..]), jwk_object()).prop_map(|(base, over)| {
            let mut k = jwk(base);
            if let Value::Object(over) = over {
                k.extend(over);
            }
            Value::Object(k)
        }),
    ]) {
        let Value::Object(key) = key else { return Ok(()); };
        for alg in JwsAlg::ALL {
            if let Ok(signing_key) = SigningKey::from_jwk(&key, *alg) {
                let _ = signing_key.sign(b"input");
            }
        }
    }
}

#[test]
fn jose_cost_is_linear() {
    let keys = JwkSet::parse(&jwks_text()).unwrap().public();
    let ec = jwk(EC_KEY);
    assert_linear(
        "long signed payload",
        2000,
        |n| signed(Map::new(), &json!({"x": "y".repeat(n)}), JwsAlg::Es256, &ec),
        |t| {
            black_box(jws::verify(t, &keys, None, |_| true).is_ok());
        },
    );
    assert_linear(
        "deeply nested header",
        12,
        |n| {
            let header = format!("{}{}", "{\"a\":".repeat(n), "1".to_owned() + &"}".repeat(n));
            format!("{}.e30.AA", b64(header.as_bytes()))
        },
        |t| {
            black_box(jws::verify(t, &keys, None, |_| true).is_err());
        },
    );
    assert_linear(
        "many dots",
        2000,
        |n| "a.".repeat(n),
        |t| {
            black_box(jws::verify(t, &keys, None, |_| true).is_err());
        },
    );
    let service = service(false);
    let client = client(false, &[]);
    assert_linear(
        "long id_token_hint",
        2000,
        |n| format!("{}.{}.{}", "a".repeat(n), "b".repeat(n), "c".repeat(n)),
        |h| {
            black_box(id_token::check_hint(&service, &client, h, None));
        },
    );
    assert_linear(
        "presented access token with many dots",
        2000,
        |n| "a.".repeat(n),
        |t| {
            black_box(opaque_value(&service, t, &DirectSigner));
        },
    );
    assert_linear(
        "JWK Set with many keys",
        50,
        |n| {
            let keys: Vec<Value> = (0..n)
                .map(|i| json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "kid": format!("k{i}")}))
                .collect();
            json!({"keys": keys}).to_string()
        },
        |t| {
            let set = JwkSet::parse(t).unwrap();
            black_box(set.public().to_json(false));
            black_box(set.signing_key(JwsAlg::Es256, Some("k0")).is_err());
        },
    );
}

// ----- request bodies and the Service/Client objects --------------------------------------

fn parse_value<T: DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone()).ok()
}

/// Parses `body` as each request type and as a Service and a Client, and runs what the engine
/// would run next on whatever parsed. The `Debug` text of every outcome, for determinism.
fn exercise_body(body: &Value) -> String {
    let loopback = true;
    let service = service(loopback);
    let registered = vec!["https://client.example.com/cb".to_owned()];
    let confidential = client(false, &registered);
    let public = client(true, &registered);
    let mut out = Vec::<String>::new();
    let mut note = |s: String| out.push(s);

    if let Some(req) = parse_value::<wire::AuthorizationRequest>(body) {
        match authorization::begin(&service, req.parameters.as_deref()) {
            Ok(begun) => {
                let d = authorization::decide(
                    &service,
                    begun,
                    found(&public),
                    None,
                    NOW,
                    &mut Counter(1),
                );
                note(format!("{d:?}"));
            }
            Err(r) => note(format!("{r:?}")),
        }
    }
    if let Some(req) = parse_value::<wire::AuthorizationIssueRequest>(body) {
        note(format!(
            "{:?}",
            authorization_issue::check_issue(&service, req)
        ));
    }
    if let Some(req) = parse_value::<wire::AuthorizationFailRequest>(body) {
        note(format!(
            "{:?}",
            authorization_issue::check_fail(&service, req)
        ));
    }
    if let Some(req) = parse_value::<wire::TokenRequest>(body) {
        match token::begin(&service, req) {
            Ok(begun) => {
                note(format!("{begun:?}"));
                for c in [&confidential, &public] {
                    match token::authenticate(&service, &begun, found(c), Some(CLIENT_SECRET)) {
                        Ok(auth) => match begun.grant_type {
                            GrantType::ClientCredentials => note(format!(
                                "{:?}",
                                token::client_credentials(
                                    &service,
                                    &begun,
                                    &auth,
                                    NOW,
                                    &mut Counter(2),
                                    signing(Some(CLIENT_SECRET)),
                                )
                            )),
                            GrantType::Password => note(format!(
                                "{:?}",
                                token::password(&service, &begun, &auth, NOW, &mut Counter(3))
                            )),
                            _ => note(format!("{auth:?}")),
                        },
                        Err(r) => note(format!("{r:?}")),
                    }
                }
            }
            Err(r) => note(format!("{r:?}")),
        }
    }
    if let Some(req) = parse_value::<wire::TokenIssueRequest>(body) {
        note(format!("{:?}", token::check_issue(&service, req)));
    }
    if let Some(req) = parse_value::<wire::TokenFailRequest>(body) {
        note(format!("{:?}", token::check_fail(&service, req)));
    }
    if let Some(req) = parse_value::<wire::IntrospectionRequest>(body) {
        match introspection::check(&service, req) {
            Ok(call) => {
                for rec in [None, Some(token_record(&["openid", "profile"]))] {
                    let r = introspection::introspect(&service, &call, rec, None, NOW);
                    assert!(
                        !has_control(r.envelope.response_content.as_deref().unwrap_or("")),
                        "a WWW-Authenticate value with a control character: {r:?}"
                    );
                    note(format!("{r:?}"));
                }
            }
            Err(r) => note(format!("{r:?}")),
        }
    }
    if let Some(req) = parse_value::<wire::StandardIntrospectionRequest>(body) {
        match introspection::check_standard(
            &service,
            req.parameters.as_deref(),
            req.with_hidden_properties,
        ) {
            Ok(call) => note(format!(
                "{:?}",
                introspection::introspect_standard(&service, &call, None, NOW)
            )),
            Err(r) => note(format!("{r:?}")),
        }
    }
    if let Some(req) = parse_value::<wire::RevocationRequest>(body) {
        match revocation::begin(&service, req) {
            Ok(begun) => {
                for c in [&confidential, &public] {
                    match revocation::authenticate(&service, &begun, found(c), Some(CLIENT_SECRET))
                    {
                        Ok(client) => {
                            let rec = token_record(&["openid"]);
                            let r = revocation::decide(&service, &begun, &client, Some(&rec));
                            note(format!("{r:?}"));
                        }
                        Err(r) => note(format!("{r:?}")),
                    }
                }
            }
            Err(r) => note(format!("{r:?}")),
        }
    }
    if let Some(req) = parse_value::<wire::UserInfoRequest>(body) {
        match userinfo::userinfo_token(&service, req.token.as_deref()) {
            Ok(t) => {
                let rec = token_record(&["openid", "profile"]);
                for found in [None, Some(&rec)] {
                    let r = userinfo::userinfo(&service, &t, found, None, NOW);
                    assert!(!has_control(
                        r.envelope.response_content.as_deref().unwrap_or("")
                    ));
                    note(format!("{r:?}"));
                }
            }
            Err(r) => note(format!("{r:?}")),
        }
    }
    if let Some(req) = parse_value::<wire::UserInfoIssueRequest>(body) {
        note(format!(
            "{:?}",
            userinfo::issue_token(&service, req.token.as_deref())
        ));
    }
    note(exercise_objects(body));
    out.join("\n")
}

/// A body as a Service and as a Client: normalised, written back and read again, published,
/// and used for an authorization request and a token request.
fn exercise_objects(body: &Value) -> String {
    let mut out = String::new();
    let parsed_service = parse_value::<Service>(body).map(|mut s| {
        s.normalize();
        s
    });
    let parsed_client = parse_value::<Client>(body).map(|mut c| {
        c.normalize();
        c
    });
    if let Some(s) = &parsed_service {
        let written = serde_json::to_value(s).unwrap();
        let again: Service = serde_json::from_value(written).unwrap();
        assert_eq!(&again, s, "a Service does not survive writing and reading");
        out.push_str(&format!("{:?}", discovery::document(s)));
        out.push_str(&format!("{:?}", discovery::published_jwks(s, false, false)));
    }
    if let Some(c) = &parsed_client {
        let written = serde_json::to_value(c).unwrap();
        let again: Client = serde_json::from_value(written).unwrap();
        assert_eq!(&again, c, "a Client does not survive writing and reading");
    }
    let service = parsed_service.unwrap_or_else(|| service(true));
    let client = parsed_client.unwrap_or_else(|| client(false, &[]));
    let parameters = auth_params(&[("scope".into(), "openid profile".into())]);
    out.push_str(&format!("{:?}", decide(&service, &client, &parameters)));
    let token_request: wire::TokenRequest = serde_json::from_value(json!({
        "parameters": "grant_type=client_credentials&scope=profile",
        "clientId": client.client_id.to_string(),
        "clientSecret": CLIENT_SECRET,
    }))
    .unwrap();
    if let Ok(begun) = token::begin(&service, token_request)
        && let Ok(auth) = token::authenticate(&service, &begun, found(&client), Some(CLIENT_SECRET))
    {
        out.push_str(&format!(
            "{:?}",
            token::client_credentials(
                &service,
                &begun,
                &auth,
                NOW,
                &mut Counter(4),
                signing(Some(CLIENT_SECRET))
            )
        ));
    }
    out
}

/// The form-encoded variant of a body: every member a string.
fn form_body() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            json_key(),
            prop_oneof![
                param_value(),
                prop::sample::select(WORDS).prop_map(str::to_owned)
            ],
        ),
        0..8,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k, Value::from(v))).collect()))
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn request_bodies_never_panic(body in prop_oneof![
        2 => json_object(),
        3 => mutated_example(),
        1 => form_body(),
        1 => json_value(4),
    ]) {
        let first = exercise_body(&body);
        prop_assert_eq!(first, exercise_body(&body));
    }

    #[test]
    fn request_body_text_never_panics(text in prop_oneof![
        ".{0,60}",
        mutated_text(mutated_example().prop_map(|v| v.to_string())),
    ]) {
        // The text as each type, straight from the bytes, and through a Value as the server reads it.
        let direct = [
            serde_json::from_str::<wire::AuthorizationRequest>(&text).is_ok(),
            serde_json::from_str::<wire::AuthorizationIssueRequest>(&text).is_ok(),
            serde_json::from_str::<wire::AuthorizationFailRequest>(&text).is_ok(),
            serde_json::from_str::<wire::TokenRequest>(&text).is_ok(),
            serde_json::from_str::<wire::TokenIssueRequest>(&text).is_ok(),
            serde_json::from_str::<wire::TokenFailRequest>(&text).is_ok(),
            serde_json::from_str::<wire::IntrospectionRequest>(&text).is_ok(),
            serde_json::from_str::<wire::StandardIntrospectionRequest>(&text).is_ok(),
            serde_json::from_str::<wire::RevocationRequest>(&text).is_ok(),
            serde_json::from_str::<wire::UserInfoRequest>(&text).is_ok(),
            serde_json::from_str::<wire::UserInfoIssueRequest>(&text).is_ok(),
            serde_json::from_str::<Service>(&text).is_ok(),
            serde_json::from_str::<Client>(&text).is_ok(),
        ];
        prop_assert_eq!(direct, [
            serde_json::from_str::<wire::AuthorizationRequest>(&text).is_ok(),
            serde_json::from_str::<wire::AuthorizationIssueRequest>(&text).is_ok(),
            serde_json::from_str::<wire::AuthorizationFailRequest>(&text).is_ok(),
            serde_json::from_str::<wire::TokenRequest>(&text).is_ok(),
            serde_json::from_str::<wire::TokenIssueRequest>(&text).is_ok(),
            serde_json::from_str::<wire::TokenFailRequest>(&text).is_ok(),
            serde_json::from_str::<wire::IntrospectionRequest>(&text).is_ok(),
            serde_json::from_str::<wire::StandardIntrospectionRequest>(&text).is_ok(),
            serde_json::from_str::<wire::RevocationRequest>(&text).is_ok(),
            serde_json::from_str::<wire::UserInfoRequest>(&text).is_ok(),
            serde_json::from_str::<wire::UserInfoIssueRequest>(&text).is_ok(),
            serde_json::from_str::<Service>(&text).is_ok(),
            serde_json::from_str::<Client>(&text).is_ok(),
        ]);
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            let first = exercise_body(&value);
            prop_assert_eq!(first, exercise_body(&value));
        }
    }
}

#[test]
fn body_cost_is_linear() {
    assert_linear(
        "Service with many unknown members",
        100,
        |n| {
            let mut v = service_json(true);
            for i in 0..n {
                v[format!("x{i}")] = json!({"a": [1, 2, 3], "b": "text"});
            }
            v.to_string()
        },
        |t| {
            let mut s: Service = serde_json::from_str(t).unwrap();
            s.normalize();
            black_box(discovery::document(&s));
        },
    );
    assert_linear(
        "Client with many redirect URIs",
        100,
        |n| {
            let uris: Vec<String> = (0..n).map(|i| format!("https://c.example/cb{i}")).collect();
            client_json(false, &uris, "ES256").to_string()
        },
        |t| {
            let mut c: Client = serde_json::from_str(t).unwrap();
            c.normalize();
            black_box(c);
        },
    );
    assert_linear(
        "Service with many scopes",
        50,
        |n| {
            let mut v = service_json(true);
            v["supportedScopes"] = Value::Array(
                (0..n)
                    .map(|i| json!({"name": format!("s{i}"), "attributes": [{"key": "k", "value": "v"}]}))
                    .collect(),
            );
            v.to_string()
        },
        |t| {
            let s: Service = serde_json::from_str(t).unwrap();
            black_box(discovery::document(&s));
        },
    );
    assert_linear(
        "deeply nested unknown member",
        12,
        |n| format!("{{\"x\":{}1{}}}", "[".repeat(n), "]".repeat(n)),
        |t| {
            black_box(serde_json::from_str::<Service>(t).is_ok());
            black_box(serde_json::from_str::<wire::TokenRequest>(t).is_ok());
        },
    );
    let service = service(true);
    assert_linear(
        "introspection with many required scopes",
        200,
        |n| {
            let scopes: Vec<String> = (0..n).map(|i| format!("scope\"{i}\\")).collect();
            json!({"token": "t", "scopes": scopes}).to_string()
        },
        |t| {
            let req: wire::IntrospectionRequest = serde_json::from_str(t).unwrap();
            let call = introspection::check(&service, req).unwrap();
            black_box(introspection::introspect(&service, &call, None, None, NOW));
        },
    );
    assert_linear(
        "token request with many properties",
        100,
        |n| {
            let props: Vec<Value> = (0..n)
                .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
                .collect();
            json!({"parameters": "grant_type=client_credentials", "clientId": "2001",
                   "clientSecret": CLIENT_SECRET, "properties": props})
            .to_string()
        },
        |t| {
            let req: wire::TokenRequest = serde_json::from_str(t).unwrap();
            black_box(token::begin(&service, req).is_ok());
        },
    );
}

// ----- configuration patches ----------------------------------------------------------------

fn configuration() -> Value {
    Value::Object(discovery::document(&service(false)))
}

fn serialized_len(v: &Value) -> usize {
    serde_json::to_vec(v).unwrap().len()
}

fn pointer() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "",
                "/",
                "/issuer",
                "/scopes_supported",
                "/scopes_supported/0",
                "/scopes_supported/-",
                "/scopes_supported/99",
                "/a",
                "/a/b",
                "/x~1y",
                "/x~0y",
                "/~2",
                "/c0",
                "/c0/c1",
                "/c0/issuer",
                "/-",
                "/response_types_supported/01",
                "issuer"
            ][..]
        )
        .prop_map(str::to_owned),
        "(/[a-z0-9~-]{0,4}){0,4}",
        ".{0,10}",
    ]
}

fn patch_operation() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&["add", "remove", "replace", "move", "copy", "test", "x"][..]),
        pointer(),
        pointer(),
        json_value(2),
        0..4u8,
    )
        .prop_map(|(op, path, from, value, shape)| match shape {
            0 => json!({"op": op, "path": path}),
            1 => json!({"op": op, "path": path, "from": from}),
            2 => json!({"op": op, "path": path, "value": value}),
            _ => json!({"op": op, "path": path, "from": from, "value": value}),
        })
}

/// Copies and moves of the document into itself, each able to double it.
fn copy_heavy_patch() -> impl Strategy<Value = Value> {
    prop::collection::vec((0..40usize, 0..40usize, any::<bool>()), 1..40).prop_map(|ops| {
        Value::Array(
            ops.into_iter()
                .enumerate()
                .map(|(i, (from, to, is_move))| {
                    let from = if from % 3 == 0 { String::new() } else { format!("/c{}", from % (i + 1)) };
                    json!({"op": if is_move { "move" } else { "copy" }, "from": from, "path": format!("/c{to}")})
                })
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn patches_never_panic_and_stay_bounded(patch in prop_oneof![
        1 => ".{0,60}".prop_map(Value::from),
        1 => json_value(3),
        3 => prop::collection::vec(patch_operation(), 0..8).prop_map(Value::Array),
        2 => copy_heavy_patch(),
        1 => prop::collection::vec(patch_operation(), MAX_PATCH_OPERATIONS + 1..MAX_PATCH_OPERATIONS + 3).prop_map(Value::Array),
    ], raw_text in any::<bool>()) {
        let text = match (&patch, raw_text) {
            (Value::String(s), true) => s.clone(),
            _ => patch.to_string(),
        };
        let mut a = configuration();
        let mut b = configuration();
        let ra = discovery::apply_patch(&mut a, &text);
        let rb = discovery::apply_patch(&mut b, &text);
        prop_assert_eq!(&ra, &rb);
        prop_assert_eq!(&a, &b);
        let len = serialized_len(&a);
        if ra.is_ok() {
            prop_assert!(len <= MAX_PATCHED_DOCUMENT_BYTES, "{} bytes", len);
        }
        // Even a refused patch stops after the operation that went over the cap: at most a
        // doubling of a document within it, plus what the patch itself carries.
        prop_assert!(len <= 2 * MAX_PATCHED_DOCUMENT_BYTES + text.len(), "{} bytes", len);
        if matches!(&patch, Value::Array(ops) if ops.len() > MAX_PATCH_OPERATIONS) {
            prop_assert!(ra.is_err());
            prop_assert_eq!(&a, &configuration());
        }
    }
}

#[test]
fn patch_cost_is_linear() {
    let base = configuration();
    let apply = |p: &String| {
        let mut doc = base.clone();
        black_box(discovery::apply_patch(&mut doc, p).is_ok());
    };
    assert_linear(
        "one long added value",
        4000,
        |n| json!([{"op": "add", "path": "/big", "value": "x".repeat(n)}]).to_string(),
        apply,
    );
    // 8n operations must stay under the cap on the number of operations.
    assert_linear(
        "many test operations",
        12,
        |n| {
            let ops: Vec<Value> = (0..n)
                .map(
                    |_| json!({"op": "test", "path": "/issuer", "value": "https://as.example.com"}),
                )
                .collect();
            Value::Array(ops).to_string()
        },
        apply,
    );
    assert_linear(
        "long pointer",
        500,
        |n| json!([{"op": "add", "path": "/a".repeat(n), "value": 1}]).to_string(),
        apply,
    );
    assert_linear(
        "far over the operation cap",
        2000,
        |n| {
            let ops: Vec<Value> = (0..n)
                .map(|i| json!({"op": "remove", "path": format!("/x{i}")}))
                .collect();
            Value::Array(ops).to_string()
        },
        apply,
    );
    assert_linear(
        "deeply nested value",
        12,
        |n| {
            format!(
                r#"[{{"op":"add","path":"/deep","value":{}1{}}}]"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        },
        apply,
    );
}

#[test]
fn identifier_cost_is_bounded() {
    assert_linear(
        "long digit strings",
        4000,
        |n| "1".repeat(n),
        |s| {
            black_box(identifier_as_id(s));
        },
    );
}
