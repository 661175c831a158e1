//! ID-token issuance per signing algorithm, measured in process on one thread: the claims, the
//! choice of the key from the service's JWK Set, and the signature, as `/auth/token` does them
//! for a code with `openid`. Run pinned to one core:
//!
//!     taskset -c 0 cargo run --release -p castellan-idtoken-bench -- [seconds per algorithm]

use std::time::Instant;

use castellan_core::enums::JwsAlg;
use castellan_core::id_token::{self, IdTokenContent, IdTokenSigning};
use castellan_core::jose::JwkSet;
use castellan_core::model::{Client, Service};
use castellan_core::secret::SecretKeys;
use castellan_engine::{CachingSigner, DEFAULT_KEY_ALGS, default_key_set, generate_jwk};

const ALGS: [JwsAlg; 8] = [
    JwsAlg::Rs256,
    JwsAlg::Ps256,
    JwsAlg::Es256,
    JwsAlg::Es384,
    JwsAlg::EdDsa,
    JwsAlg::Hs256,
    JwsAlg::Hs384,
    JwsAlg::Hs512,
];

fn main() -> anyhow::Result<()> {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3.0);
    let subject_keys = SecretKeys::from_master(&[1u8; 32]);
    let signer = CachingSigner::default();
    let client_secret = "s".repeat(86);
    println!("| alg | ID tokens/s | µs per token |");
    println!("|---|---:|---:|");
    for alg in ALGS {
        // What a new service holds (one key each for RS256, PS256, ES256, EdDSA), plus a key
        // for the algorithm measured when the defaults have none.
        let mut keys = default_key_set()?.into_keys();
        if !alg.is_symmetric() && !DEFAULT_KEY_ALGS.contains(&alg) {
            keys.push(generate_jwk(alg)?);
        }
        let keys = JwkSet::from_keys(keys);
        let service = Service {
            issuer: Some("https://as.example.com".into()),
            jwks: Some(keys.to_json(false).into()),
            ..Service::default()
        };
        let client = Client {
            client_id: 12_345_678_901_234,
            id_token_sign_alg: Some(alg),
            ..Client::default()
        };
        let content = IdTokenContent {
            subject: "testuser01",
            audience: "12345678901234".into(),
            nonce: Some("n-0S6_WzA2Mj"),
            auth_time: 1_700_000_000,
            acr: None,
            claims: Some(r#"{"name":"Test User 01","email":"testuser01@example.com"}"#),
            access_token: Some("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            code: None,
            state: None,
            now: 1_700_000_000_000,
        };
        let signing = IdTokenSigning {
            signer: &signer,
            client_secret: Some(&client_secret),
            subject_keys: &subject_keys,
        };
        let issue = || id_token::issue(&service, &client, &content, signing);
        for _ in 0..20 {
            issue().map_err(|e| anyhow::anyhow!("{}", e.code.code))?;
        }
        let started = Instant::now();
        let mut count = 0u64;
        while started.elapsed().as_secs_f64() < seconds {
            for _ in 0..10 {
                issue().map_err(|e| anyhow::anyhow!("{}", e.code.code))?;
            }
            count += 10;
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "| {} | {:.0} | {:.1} |",
            alg.protocol(),
            count as f64 / elapsed,
            elapsed * 1e6 / count as f64
        );
    }
    Ok(())
}
