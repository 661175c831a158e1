//! Who is calling: HTTP Basic credentials of a service or of a service owner.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use castellan_core::model::Service;
use castellan_core::result_code::{A002201, A002205, A003201, A003204, ResultCode};
use castellan_engine::{AuthFailure, Engine};
use castellan_store::OwnerRecord;

use crate::error::api_path;
use crate::{ApiError, AppState};

/// `Authorization: Basic base64(key:secret)`, split at the first colon.
fn basic_credentials(path: &str, headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::missing_credentials(path));
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::malformed_credentials(path, "(not ASCII)"))?;
    let encoded = match text.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => rest.trim(),
        _ => return Err(ApiError::malformed_credentials(path, text)),
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::malformed_credentials(path, text))?;
    match decoded.split_once(':') {
        Some((key, secret)) => Ok((key.to_owned(), secret.to_owned())),
        None => Err(ApiError::malformed_credentials(path, text)),
    }
}

/// 401 with the result code for an unknown API key or a wrong secret.
fn refused(
    path: &str,
    failure: AuthFailure,
    unknown: ResultCode,
    mismatch: ResultCode,
) -> ApiError {
    let p = api_path(path);
    match failure {
        AuthFailure::Unknown => {
            ApiError::new(StatusCode::UNAUTHORIZED, unknown, unknown.message(&[&p]))
        }
        AuthFailure::Mismatch(key) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            mismatch,
            mismatch.message(&[&p, &key]),
        ),
    }
}

pub async fn service(
    engine: &Engine,
    path: &str,
    headers: &HeaderMap,
) -> Result<Arc<Service>, ApiError> {
    let (key, secret) = basic_credentials(path, headers)?;
    let outcome = engine
        .authenticate_service(&key, &secret)
        .await
        .map_err(|e| ApiError::internal(path, e))?;
    outcome.map_err(|failure| refused(path, failure, A003201, A003204))
}

pub async fn owner(
    engine: &Engine,
    path: &str,
    headers: &HeaderMap,
) -> Result<OwnerRecord, ApiError> {
    let (key, secret) = basic_credentials(path, headers)?;
    let outcome = engine
        .authenticate_owner(&key, &secret)
        .await
        .map_err(|e| ApiError::internal(path, e))?;
    outcome.map_err(|failure| refused(path, failure, A002201, A002205))
}

/// The calling service, authenticated, as a handler argument.
pub struct ServiceCaller(pub Arc<Service>);

impl FromRequestParts<AppState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, engine: &AppState) -> Result<Self, ApiError> {
        service(engine, parts.uri.path(), &parts.headers)
            .await
            .map(ServiceCaller)
    }
}

/// The calling service owner, authenticated, as a handler argument.
pub struct OwnerCaller(pub OwnerRecord);

impl FromRequestParts<AppState> for OwnerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, engine: &AppState) -> Result<Self, ApiError> {
        owner(engine, parts.uri.path(), &parts.headers)
            .await
            .map(OwnerCaller)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod property_tests {
    //! Property-based tests of the Basic credentials parser: it never panics, is deterministic,
    //! reads back exactly what a client encodes, refuses anything else with a 401 that quotes
    //! at most 64 characters of the header, and its cost grows linearly with the header.

    use std::hint::black_box;
    use std::time::Duration;

    use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
    use castellan_core::result_code::{A001202, A001203};
    use proptest::prelude::*;

    use super::basic_credentials;
    use crate::error::api_path;

    const PATH: &str = "/api/auth/authorization";

    fn with_authorization(value: &[u8]) -> Option<HeaderMap> {
        let value = HeaderValue::from_bytes(value).ok()?;
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value);
        Some(headers)
    }

    /// Bytes a header value may hold: control characters other than tab become printable.
    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..120).prop_map(|bytes| {
            bytes
                .into_iter()
                .map(|b| match b {
                    b'\t' => b,
                    0..0x20 => b | 0x40,
                    0x7f => b'~',
                    _ => b,
                })
                .collect()
        })
    }

    /// `Authorization` values near the valid ones: several schemes and separators, several
    /// base64 flavours, credentials with and without colons, and invalid UTF-8.
    fn near_basic() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(
                &[
                    "Basic", "basic", "BASIC", "bAsIc", "Bearer", "Basicx", "", "Basic:",
                ][..],
            ),
            prop::sample::select(&[" ", "  ", "\t", "", " \t "][..]),
            prop_oneof![
                ".{0,30}".prop_map(String::into_bytes),
                "[a-z0-9]{0,8}:.{0,20}".prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..30),
            ],
            0..4u8,
            prop::sample::select(&["", " ", "=", "==", "\t"][..]),
        )
            .prop_map(|(scheme, sep, credentials, flavour, tail)| {
                let encoded = match flavour {
                    0 => STANDARD.encode(&credentials),
                    1 => STANDARD_NO_PAD.encode(&credentials),
                    2 => URL_SAFE.encode(&credentials),
                    _ => String::from_utf8_lossy(&credentials).into_owned(),
                };
                format!("{scheme}{sep}{encoded}{tail}").into_bytes()
            })
    }

    /// CPU time used by the calling thread: waiting for a busy core does not count.
    fn thread_cpu_time() -> Duration {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }

    /// A cost check as in the core's property tests (`crates/core/tests/properties.rs`): no
    /// absolute times, but the median CPU time at size 8n over the median at size n, the two
    /// sizes timed alternately, each sample repeated to last a couple of milliseconds. Linear
    /// cost gives about 8, quadratic 64; the bound is 32.
    fn assert_linear(name: &str, n: usize, make: impl Fn(usize) -> HeaderMap) {
        const SAMPLES: usize = 7;
        let (small, large) = (make(n), make(8 * n));
        let op = |h: &HeaderMap| {
            black_box(basic_credentials(PATH, h).is_ok());
        };
        op(&large);
        let start = thread_cpu_time();
        let mut reps = 0u32;
        while thread_cpu_time() - start < Duration::from_millis(2) {
            op(&small);
            reps += 1;
        }
        let time = |h: &HeaderMap| {
            let start = thread_cpu_time();
            for _ in 0..reps {
                op(h);
            }
            thread_cpu_time() - start
        };
        let (mut s, mut l) = (Vec::new(), Vec::new());
        for _ in 0..SAMPLES {
            s.push(time(&small));
            l.push(time(&large));
        }
        s.sort();
        l.sort();
        let ratio = l[SAMPLES / 2].as_secs_f64() / s[SAMPLES / 2].as_secs_f64().max(1e-9);
        assert!(ratio < 32.0, "{name}: ratio {ratio:.1} ({s:?} / {l:?})");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_header_is_parsed_or_refused_with_401(value in prop_oneof![header_bytes(), near_basic()]) {
            let Some(headers) = with_authorization(&value) else { return Ok(()); };
            let first = basic_credentials(PATH, &headers);
            prop_assert_eq!(format!("{first:?}"), format!("{:?}", basic_credentials(PATH, &headers)));
            match first {
                Ok((key, secret)) => {
                    prop_assert!(!key.contains(':'));
                    let text = std::str::from_utf8(&value).unwrap();
                    let (scheme, rest) = text.split_once(' ').unwrap();
                    prop_assert!(scheme.eq_ignore_ascii_case("basic"));
                    let decoded = STANDARD.decode(rest.trim()).unwrap();
                    prop_assert_eq!(decoded, format!("{key}:{secret}").into_bytes());
                }
                Err(e) => {
                    prop_assert_eq!(e.status, StatusCode::UNAUTHORIZED);
                    prop_assert_eq!(e.code, A001203);
                    // The header is quoted, cut to 64 characters, its control characters
                    // written as `\u{..}` (at most 10 characters each).
                    let longest = A001203.message(&[&api_path(PATH), &"x".repeat(64)]);
                    prop_assert!(e.message.chars().count() <= longest.chars().count() + 64 * 9);
                    prop_assert!(!e.message.chars().any(char::is_control));
                }
            }
        }

        #[test]
        fn encoded_credentials_read_back(
            key in "[^:]{0,20}",
            secret in ".{0,40}",
            scheme in prop::sample::select(&["Basic", "basic", "BASIC"][..]),
            spaces in "[ ]{0,3}",
        ) {
            let value = format!("{scheme} {spaces}{}{spaces}", STANDARD.encode(format!("{key}:{secret}")));
            let headers = with_authorization(value.as_bytes()).unwrap();
            let (k, s) = basic_credentials(PATH, &headers).unwrap();
            prop_assert_eq!(k, key);
            prop_assert_eq!(s, secret);
        }
    }

    #[test]
    fn a_missing_header_is_its_own_refusal() {
        let e = basic_credentials(PATH, &HeaderMap::new()).unwrap_err();
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);
        assert_eq!(e.code, A001202);
    }

    #[test]
    fn cost_is_linear() {
        assert_linear("long credentials", 4000, |n| {
            let value = format!("Basic {}", STANDARD.encode(format!("k:{}", "s".repeat(n))));
            with_authorization(value.as_bytes()).unwrap()
        });
        assert_linear("many colons", 4000, |n| {
            let value = format!("Basic {}", STANDARD.encode(":".repeat(n)));
            with_authorization(value.as_bytes()).unwrap()
        });
        assert_linear("long invalid header", 4000, |n| {
            with_authorization(format!("Basic {}", "!".repeat(n)).as_bytes()).unwrap()
        });
        assert_linear("long scheme", 4000, |n| {
            with_authorization("B".repeat(n).as_bytes()).unwrap()
        });
    }
}
