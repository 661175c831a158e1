//! OpenID Connect through the HTTP API: service keys, the JWK Set and discovery documents, and
//! ID tokens checked by an independent relying-party library (the `openidconnect` crate).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AccessToken, AccessTokenHash, ClientId, ClientSecret, IssuerUrl, JsonWebKey as _, Nonce,
};
use serde_json::{Value, json};

const ISSUER: &str = "https://as.example.com";

/// A raw GET with the service's credentials that does not follow redirects:
/// (status, `Location`, body).
async fn get_raw(f: &Fixture, path: &str) -> (u16, Option<String>, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http
        .get(format!("{}{path}", f.server.base))
        .basic_auth(&f.key, Some(&f.secret))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, location, resp.text().await.unwrap())
}

async fn owner_get_service(f: &Fixture) -> Value {
    let (status, service) = f.owner_get_service().await;
    assert_eq!(status, 200, "{service}");
    service
}

async fn owner_update_service(f: &Fixture, service: Value) -> Value {
    let owner = OWNER_KEY.to_string();
    f.server
        .post(
            &format!("/api/service/update/{}", f.key),
            (&owner, OWNER_SECRET),
            service,
        )
        .await
}

fn key_set(text: &str) -> Vec<Value> {
    let set: Value = serde_json::from_str(text).unwrap();
    set["keys"].as_array().unwrap().clone()
}

const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi"];

#[tokio::test]
async fn new_services_get_keys_and_publish_only_their_public_half() {
    let f = Fixture::new().await;
    let service = owner_get_service(&f).await;
    let private = key_set(service["jwks"].as_str().unwrap());
    let algs: Vec<&str> = private.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["RS256", "PS256", "ES256", "EdDSA"]);
    assert!(
        private
            .iter()
            .all(|k| k["d"].is_string() && k["kid"].is_string())
    );

    let (status, _, body) = get_raw(&f, "/api/service/jwks/get").await;
    assert_eq!(status, 200);
    let public = key_set(&body);
    assert_eq!(public.len(), 4);
    for (pub_key, priv_key) in public.iter().zip(&private) {
        assert_eq!(pub_key["kid"], priv_key["kid"]);
        for member in PRIVATE_MEMBERS {
            assert!(pub_key.get(member).is_none(), "{member} published");
        }
    }
    // Python's SDK sends capitalised booleans.
    let (status, _, body) = get_raw(
        &f,
        "/api/service/jwks/get?pretty=True&includePrivateKeys=True",
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains('\n'));
    assert!(key_set(&body).iter().all(|k| k["d"].is_string()));

    // Without keys: a redirect to jwksUri when one is set, else nothing.
    let mut changed = service.clone();
    changed["jwks"] = Value::Null;
    changed["jwksUri"] = json!("https://as.example.com/jwks");
    owner_update_service(&f, changed.clone()).await;
    let (status, location, _) = get_raw(&f, "/api/service/jwks/get").await;
    assert_eq!(
        (status, location.as_deref()),
        (302, Some("https://as.example.com/jwks"))
    );
    changed["jwksUri"] = Value::Null;
    owner_update_service(&f, changed).await;
    assert_eq!(get_raw(&f, "/api/service/jwks/get").await.0, 204);
}

#[tokio::test]
async fn broken_key_sets_are_refused() {
    let f = Fixture::new().await;
    let mut service = owner_get_service(&f).await;
    let owner = OWNER_KEY.to_string();
    for bad in [
        "not json",
        r#"{"keys":{}}"#,
        r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}]}"#,
    ] {
        service["jwks"] = json!(bad);
        let (status, body) = f
            .server
            .call(
                reqwest::Method::POST,
                &format!("/api/service/update/{}", f.key),
                (&owner, OWNER_SECRET),
                Some(service.clone()),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["resultMessage"].as_str().unwrap().contains("jwks"));
    }
    // The keys are unchanged.
    assert_eq!(
        key_set(&get_raw(&f, "/api/service/jwks/get").await.2).len(),
        4
    );
}

#[tokio::test]
async fn discovery_document() {
    let f = Fixture::with_service(json!({
        "authorizationEndpoint": "https://as.example.com/authorize",
        "tokenEndpoint": "https://as.example.com/token",
        "jwksUri": "https://as.example.com/jwks",
        "supportedTokenAuthMethods": ["CLIENT_SECRET_BASIC"]
    }))
    .await;
    let (status, _, body) = get_raw(&f, "/api/service/configuration").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["token_endpoint"], "https://as.example.com/token");
    assert_eq!(doc["jwks_uri"], "https://as.example.com/jwks");
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic"])
    );
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );

    // What Python's SDK posts, and a patch.
    let patched = f
        .server
        .http
        .post(format!("{}/api/service/configuration", f.server.base))
        .basic_auth(&f.key, Some(&f.secret))
        .json(&json!({"pretty": true, "patch": r#"[{"op":"replace","path":"/subject_types_supported","value":["public"]}]"#}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 200);
    let text = patched.text().await.unwrap();
    assert!(text.contains('\n'));
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["subject_types_supported"], json!(["public"]));

    let (status, body) = f
        .manage(
            reqwest::Method::POST,
            "/api/service/configuration",
            Some(json!({"patch": r#"[{"op":"remove","path":"/nothing_here"}]"#})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

/// The relying party's check of ID tokens for the confidential client, accepting `alg` only.
fn id_token_verifier(
    f: &Fixture,
    jwks: CoreJsonWebKeySet,
    alg: CoreJwsSigningAlgorithm,
) -> CoreIdTokenVerifier<'static> {
    CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(f.client_id.to_string()),
        ClientSecret::new(f.client_secret.clone()),
        IssuerUrl::new(ISSUER.to_owned()).unwrap(),
        jwks,
    )
    .set_allowed_algs(vec![alg])
}

/// Sets the confidential client's `idTokenSignAlg`.
async fn set_id_token_alg(f: &Fixture, alg: &str) {
    f.set_client_field("idTokenSignAlg", json!(alg)).await;
}

/// The code flow with `openid`: returns the token reply.
async fn openid_tokens(f: &Fixture, nonce: &str) -> Value {
    let a = f
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&scope=openid&nonce={nonce}",
            f.client_id
        ))
        .await;
    assert_eq!(a["action"], "INTERACTION", "{a}");
    let issued = f
        .api(
            "/api/auth/authorization/issue",
            json!({"ticket": a["ticket"], "subject": "john", "authTime": 1_700_000_000,
                   "acr": "urn:mace:incommon:iap:silver",
                   "claims": r#"{"name":"John Smith","email":"john@example.com","sub":"mallory"}"#}),
        )
        .await;
    assert_eq!(issued["action"], "LOCATION", "{issued}");
    let code = issued["authorizationCode"].as_str().unwrap();
    let t = f.redeem(code).await;
    assert_eq!(t["action"], "OK", "{t}");
    t
}

#[tokio::test]
async fn id_tokens_verify_with_an_independent_library_for_every_algorithm() {
    let f = Fixture::new().await;
    let (_, _, jwks_text) = get_raw(&f, "/api/service/jwks/get").await;
    let jwks: CoreJsonWebKeySet = serde_json::from_str(&jwks_text).unwrap();
    for (name, alg) in [
        ("RS256", CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        ("PS256", CoreJwsSigningAlgorithm::RsaSsaPssSha256),
        ("ES256", CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        ("EdDSA", CoreJwsSigningAlgorithm::EdDsa),
        ("HS256", CoreJwsSigningAlgorithm::HmacSha256),
    ] {
        set_id_token_alg(&f, name).await;
        let nonce = format!("nonce-{name}");
        let t = openid_tokens(&f, &nonce).await;
        let raw = t["idToken"].as_str().expect("an ID token");
        assert_eq!(content(&t)["id_token"], raw);

        let verifier = id_token_verifier(&f, jwks.clone(), alg.clone());
        let id_token: CoreIdToken = raw.parse().unwrap();
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(claims.subject().as_str(), "john", "{name}");
        assert_eq!(claims.auth_time().unwrap().timestamp(), 1_700_000_000);
        assert_eq!(
            claims.auth_context_ref().unwrap().as_str(),
            "urn:mace:incommon:iap:silver"
        );
        assert_eq!(
            claims.email().unwrap().as_str(),
            "john@example.com",
            "{name}"
        );
        let at = AccessToken::new(t["accessToken"].as_str().unwrap().to_owned());
        // An HMAC key is the client secret, not a published key.
        let secret_key = openidconnect::core::CoreJsonWebKey::new_symmetric(
            f.client_secret.clone().into_bytes(),
        );
        let key = match id_token.signing_key(&verifier) {
            Ok(key) => key,
            Err(_) if name == "HS256" => &secret_key,
            Err(e) => panic!("{name}: {e}"),
        };
        let expected =
            AccessTokenHash::from_token(&at, id_token.signing_alg().unwrap(), key).unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected), "{name}");
        // Another nonce is refused.
        assert!(
            id_token
                .claims(&verifier, &Nonce::new("other".into()))
                .is_err()
        );
    }
}

#[tokio::test]
async fn no_id_token_without_openid_and_a_clear_error_without_a_key() {
    let f = Fixture::new().await;
    let plain = f.redeem(&f.code("").await).await;
    assert_eq!(plain["action"], "OK");
    assert!(plain.get("idToken").is_none());
    assert!(content(&plain).get("id_token").is_none());

    // ES384 has no key in the default set.
    set_id_token_alg(&f, "ES384").await;
    let a = f
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&scope=openid",
            f.client_id
        ))
        .await;
    let issued = f.issue(&a["ticket"], "john").await;
    let t = f
        .redeem(issued["authorizationCode"].as_str().unwrap())
        .await;
    assert_eq!(t["action"], "INTERNAL_SERVER_ERROR", "{t}");
    assert_eq!(t["resultCode"], "A046203");
    assert_eq!(content(&t)["error"], "server_error");
}

#[tokio::test]
async fn userinfo_and_its_issue_as_json_and_as_a_signed_jwt() {
    let f = Fixture::new().await;
    let a = f
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&scope=openid&claims={}",
            f.client_id,
            url_encode(r#"{"userinfo":{"email":{"essential":true},"nickname":null}}"#)
        ))
        .await;
    assert_eq!(a["action"], "INTERACTION", "{a}");
    let issued = f.issue(&a["ticket"], "john").await;
    let t = f
        .redeem(issued["authorizationCode"].as_str().unwrap())
        .await;
    let at = t["accessToken"].as_str().unwrap();

    let u = f.api("/api/auth/userinfo", json!({"token": at})).await;
    assert_eq!(u["action"], "OK", "{u}");
    assert_eq!(u["resultCode"], "A091001");
    assert_eq!(u["subject"], "john");
    assert_eq!(u["claims"], json!(["email", "nickname"]));
    assert_eq!(u["clientId"], f.client_id);

    let claims = r#"{"email":"john@example.com","nickname":"jo","phone_number":"+1 555"}"#;
    let j = f
        .api(
            "/api/auth/userinfo/issue",
            json!({"token": at, "claims": claims}),
        )
        .await;
    assert_eq!(j["action"], "JSON", "{j}");
    assert_eq!(
        content(&j),
        json!({"sub": "john", "email": "john@example.com", "nickname": "jo"})
    );

    // The client asks for signed responses.
    // RS256: the algorithm the crate's userinfo verifier accepts.
    f.set_client_field("userInfoSignAlg", json!("RS256")).await;
    let s = f
        .api(
            "/api/auth/userinfo/issue",
            json!({"token": at, "claims": claims}),
        )
        .await;
    assert_eq!(s["action"], "JWT", "{s}");
    let (_, _, jwks_text) = get_raw(&f, "/api/service/jwks/get").await;
    let jwks: CoreJsonWebKeySet = serde_json::from_str(&jwks_text).unwrap();
    let verifier = openidconnect::core::CoreUserInfoVerifier::new(
        ClientId::new(f.client_id.to_string()),
        IssuerUrl::new(ISSUER.to_owned()).unwrap(),
        jwks,
        Some(openidconnect::SubjectIdentifier::new("john".into())),
    );
    let jwt: openidconnect::UserInfoJsonWebToken<
        openidconnect::EmptyAdditionalClaims,
        openidconnect::core::CoreGenderClaim,
        openidconnect::core::CoreJweContentEncryptionAlgorithm,
        openidconnect::core::CoreJwsSigningAlgorithm,
    > = serde_json::from_value(json!(s["responseContent"])).unwrap();
    let verified = jwt.claims(&verifier).unwrap();
    assert_eq!(verified.email().unwrap().as_str(), "john@example.com");

    // Errors come with a WWW-Authenticate value.
    let e = f
        .api("/api/auth/userinfo", json!({"token": "no-such-token"}))
        .await;
    assert_eq!(e["action"], "UNAUTHORIZED");
    assert!(
        e["responseContent"]
            .as_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let plain = f.redeem(&f.code("").await).await;
    let e = f
        .api("/api/auth/userinfo", json!({"token": plain["accessToken"]}))
        .await;
    assert_eq!(
        (e["action"].as_str(), e["resultCode"].as_str()),
        (Some("FORBIDDEN"), Some("A089304"))
    );
    let e = f.api("/api/auth/userinfo/issue", json!({})).await;
    assert_eq!(e["action"], "BAD_REQUEST");
}

fn header_kid(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// Whether the ID token verifies against the service's published keys.
async fn verifies(f: &Fixture, id_token: &str, nonce: &str) -> bool {
    let (_, _, jwks_text) = get_raw(f, "/api/service/jwks/get").await;
    let jwks: CoreJsonWebKeySet = serde_json::from_str(&jwks_text).unwrap();
    let verifier = id_token_verifier(f, jwks, CoreJwsSigningAlgorithm::EcdsaP256Sha256);
    let token: CoreIdToken = id_token.parse().unwrap();
    token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .is_ok()
}

#[tokio::test]
async fn key_rotation_keeps_every_token_verifiable() {
    let f = Fixture::new().await;
    set_id_token_alg(&f, "ES256").await;
    let owner = OWNER_KEY.to_string();
    let owner_creds = (owner.as_str(), OWNER_SECRET);
    let keys_path = |verb: &str| format!("/api/service/keys/{verb}/{}", f.key);

    let before = openid_tokens(&f, "n1").await;
    let old_token = before["idToken"].as_str().unwrap().to_owned();
    let old_kid = header_kid(&old_token);

    // 1. Publish a new ES256 key: it does not sign yet.
    let added = f
        .server
        .post(&keys_path("add"), owner_creds, json!({"alg": "ES256"}))
        .await;
    assert_eq!(added["signing"], false, "{added}");
    let new_kid = added["kid"].as_str().unwrap().to_owned();
    let published = key_set(&get_raw(&f, "/api/service/jwks/get").await.2);
    assert!(published.iter().any(|k| k["kid"] == new_kid.as_str()));
    let during = openid_tokens(&f, "n2").await;
    assert_eq!(header_kid(during["idToken"].as_str().unwrap()), old_kid);

    // 2. Activate it: new tokens use it, old ones still verify.
    let listed = f
        .server
        .post(&keys_path("activate"), owner_creds, json!({"kid": new_kid}))
        .await;
    let states = listed["keys"].as_array().unwrap();
    let state = |kid: &str| {
        states
            .iter()
            .find(|k| k["kid"] == kid)
            .map(|k| k["signing"].clone())
    };
    assert_eq!(state(&new_kid), Some(json!(true)));
    assert_eq!(state(&old_kid), Some(json!(false)));
    let after = openid_tokens(&f, "n3").await;
    let new_token = after["idToken"].as_str().unwrap().to_owned();
    assert_eq!(header_kid(&new_token), new_kid);
    assert!(verifies(&f, &old_token, "n1").await);
    assert!(verifies(&f, &new_token, "n3").await);

    // 3. Remove the old key: its tokens stop verifying, the new ones do not.
    f.server
        .post(&keys_path("delete"), owner_creds, json!({"kid": old_kid}))
        .await;
    assert!(!verifies(&f, &old_token, "n1").await);
    assert!(verifies(&f, &new_token, "n3").await);

    let (status, _) = f
        .server
        .call(
            reqwest::Method::POST,
            &keys_path("add"),
            owner_creds,
            Some(json!({"alg": "HS256"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, listed) = f
        .server
        .call(reqwest::Method::GET, &keys_path("get"), owner_creds, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["keys"].as_array().unwrap().len(), 4);
}

const HYBRID_TYPES: &str = r#"["CODE", "TOKEN", "ID_TOKEN", "ID_TOKEN_TOKEN", "CODE_TOKEN", "CODE_ID_TOKEN", "CODE_ID_TOKEN_TOKEN"]"#;

/// A fixture whose service and confidential client allow every response type.
async fn hybrid_fixture() -> Fixture {
    let types: Value = serde_json::from_str(HYBRID_TYPES).unwrap();
    let f = Fixture::with_service(json!({
        "supportedResponseTypes": types,
        "supportedScopes": [{"name": "openid"}, {"name": "email"}]
    }))
    .await;
    f.set_client_field("responseTypes", types).await;
    f
}

/// The parameters of a fragment redirect.
fn fragment(location: &str) -> std::collections::HashMap<String, String> {
    let (_, fragment) = location.split_once('#').expect("a fragment");
    form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn hybrid_flow_issues_code_access_token_and_id_token_from_the_authorization_endpoint() {
    let f = hybrid_fixture().await;
    let a = f
        .authorize(&format!(
            "response_type=code%20id_token%20token&client_id={}&redirect_uri={REDIRECT_ENC}&scope=openid&nonce=n-hy&state=s-hy",
            f.client_id
        ))
        .await;
    assert_eq!(a["action"], "INTERACTION", "{a}");
    let issued = f.issue(&a["ticket"], "john").await;
    assert_eq!(issued["action"], "LOCATION", "{issued}");
    let location = issued["responseContent"].as_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    let params = fragment(location);
    assert_eq!(params["state"], "s-hy");
    assert_eq!(params["token_type"], "Bearer");
    assert_eq!(
        params["code"],
        issued["authorizationCode"].as_str().unwrap()
    );
    assert_eq!(
        params["access_token"],
        issued["accessToken"].as_str().unwrap()
    );
    assert_eq!(params["id_token"], issued["idToken"].as_str().unwrap());
    assert!(issued["accessTokenExpiresAt"].as_i64().unwrap() > 0);

    // The relying party checks the ID token, its c_hash and its at_hash.
    let (_, _, jwks_text) = get_raw(&f, "/api/service/jwks/get").await;
    let jwks: CoreJsonWebKeySet = serde_json::from_str(&jwks_text).unwrap();
    let verifier = id_token_verifier(&f, jwks, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
    let id_token: CoreIdToken = params["id_token"].parse().unwrap();
    let claims = id_token
        .claims(&verifier, &Nonce::new("n-hy".into()))
        .unwrap();
    let alg = id_token.signing_alg().unwrap();
    let key = id_token.signing_key(&verifier).unwrap();
    let code_hash = openidconnect::AuthorizationCodeHash::from_code(
        &openidconnect::AuthorizationCode::new(params["code"].clone()),
        alg,
        key,
    )
    .unwrap();
    assert_eq!(claims.code_hash(), Some(&code_hash));
    let at_hash =
        AccessTokenHash::from_token(&AccessToken::new(params["access_token"].clone()), alg, key)
            .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    // s_hash: the left half of SHA-256 (RS256) of the state.
    let s_hash = {
        use base64::Engine as _;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"s-hy");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    };
    assert_eq!(jwt_part(&params["id_token"], 1)["s_hash"], s_hash.as_str());

    // The access token works, and so does the code.
    let i = f.introspect(&params["access_token"]).await;
    assert_eq!(i["action"], "OK", "{i}");
    assert_eq!(i["subject"], "john");
    let t = f.redeem(&params["code"]).await;
    assert_eq!(t["action"], "OK", "{t}");
    assert!(t["idToken"].is_string());
}

#[tokio::test]
async fn implicit_id_token_rules() {
    let f = hybrid_fixture().await;
    let ask = |query: String| {
        let f = &f;
        async move {
            f.authorize(&format!(
                "client_id={}&redirect_uri={REDIRECT_ENC}&state=s{query}",
                f.client_id
            ))
            .await
        }
    };
    // An ID token needs a nonce and the openid scope; errors go back in the fragment.
    let no_nonce = ask("&response_type=id_token&scope=openid".into()).await;
    assert_eq!(no_nonce["action"], "LOCATION");
    assert_eq!(no_nonce["resultCode"], "A014303");
    let content = no_nonce["responseContent"].as_str().unwrap();
    assert_eq!(fragment(content)["error"], "invalid_request");
    let no_openid = ask("&response_type=id_token&scope=email&nonce=n".into()).await;
    assert_eq!(no_openid["resultCode"], "A004302");
    // A query response mode cannot carry tokens.
    let query = ask("&response_type=token&scope=openid&response_mode=query".into()).await;
    assert_eq!(query["resultCode"], "A012304");

    // id_token alone: the scope's claims are asked for in the ID token itself.
    let a = ask("&response_type=id_token&scope=openid%20email&nonce=n1".into()).await;
    assert_eq!(a["action"], "INTERACTION", "{a}");
    assert_eq!(a["claims"], json!(["email", "email_verified"]));
    let issued = f
        .api(
            "/api/auth/authorization/issue",
            json!({"ticket": a["ticket"], "subject": "john",
                   "claims": r#"{"email":"john@example.com","email_verified":true}"#}),
        )
        .await;
    let params = fragment(issued["responseContent"].as_str().unwrap());
    assert!(!params.contains_key("access_token") && !params.contains_key("code"));
    let id_token: CoreIdToken = params["id_token"].parse().unwrap();
    let (_, _, jwks_text) = get_raw(&f, "/api/service/jwks/get").await;
    let jwks: CoreJsonWebKeySet = serde_json::from_str(&jwks_text).unwrap();
    let verifier = id_token_verifier(&f, jwks, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
    let claims = id_token
        .claims(&verifier, &Nonce::new("n1".into()))
        .unwrap();
    assert_eq!(claims.email().unwrap().as_str(), "john@example.com");
    assert!(claims.access_token_hash().is_none());

    // token alone: an access token, no refresh token.
    let a = ask("&response_type=token&scope=email".into()).await;
    let issued = f.issue(&a["ticket"], "john").await;
    let params = fragment(issued["responseContent"].as_str().unwrap());
    assert!(params.contains_key("access_token") && !params.contains_key("refresh_token"));
    assert_eq!(params["scope"], "email");
}

#[tokio::test]
async fn id_token_hint_names_the_expected_user_when_this_service_signed_it() {
    let f = Fixture::new().await;
    let hint = openid_tokens(&f, "n-h").await["idToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let ask = |hint: String, extra: &'static str| {
        let f = &f;
        async move {
            f.authorize(&format!(
                "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&scope=openid&id_token_hint={}{extra}",
                f.client_id,
                url_encode(&hint)
            ))
            .await
        }
    };
    let a = ask(hint.clone(), "").await;
    assert_eq!(a["action"], "INTERACTION", "{a}");
    assert_eq!(a["subject"], "john");
    let silent = ask(hint.clone(), "&prompt=none").await;
    assert_eq!(silent["action"], "NO_INTERACTION", "{silent}");
    assert_eq!(silent["subject"], "john");

    let forged = ask(format!("{hint}x"), "").await;
    assert_eq!(forged["action"], "LOCATION", "{forged}");
    assert_eq!(forged["resultCode"], "C014402");
    assert!(
        forged["responseContent"]
            .as_str()
            .unwrap()
            .contains("error=invalid_request")
    );
}

#[tokio::test]
async fn pairwise_clients_see_a_stable_subject_of_their_own() {
    let f = Fixture::new().await;
    f.set_client_field("subjectType", json!("PAIRWISE")).await;
    let sub_of = |t: &Value| {
        use base64::Engine as _;
        let payload = t["idToken"].as_str().unwrap().split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let claims: Value = serde_json::from_slice(&bytes).unwrap();
        claims["sub"].as_str().unwrap().to_owned()
    };
    let first = openid_tokens(&f, "p1").await;
    let second = openid_tokens(&f, "p2").await;
    let pairwise = sub_of(&first);
    assert_ne!(pairwise, "john");
    assert_eq!(pairwise, sub_of(&second));

    // The authorization server and resource servers still see the real subject; the client's
    // userinfo response carries the pairwise one.
    let at = first["accessToken"].as_str().unwrap();
    assert_eq!(f.introspect(at).await["subject"], "john");
    let u = f.api("/api/auth/userinfo", json!({"token": at})).await;
    assert_eq!(u["subject"], "john");
    let j = f
        .api("/api/auth/userinfo/issue", json!({"token": at}))
        .await;
    assert_eq!(content(&j)["sub"], pairwise.as_str());
}

fn jwt_part(jwt: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn jwt_access_tokens_when_the_service_asks_for_them() {
    let f = Fixture::with_service(json!({"accessTokenSignAlg": "ES256"})).await;
    let t = f
        .token("grant_type=client_credentials&scope=history.read")
        .await;
    assert_eq!(t["action"], "OK", "{t}");
    let jwt = t["jwtAccessToken"].as_str().unwrap().to_owned();
    let opaque = t["accessToken"].as_str().unwrap().to_owned();
    assert_eq!(content(&t)["access_token"], jwt.as_str());
    assert_eq!(jwt_part(&jwt, 0)["typ"], "at+jwt");
    let claims = jwt_part(&jwt, 1);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["client_id"], f.client_id.to_string());
    assert_eq!(claims["jti"], opaque.as_str());
    assert_eq!(claims["scope"], "history.read");
    assert_eq!(claims["grant_type"], "client_credentials");
    assert_eq!(
        claims["sub"],
        f.client_id.to_string(),
        "no user: the client is the subject"
    );
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // Both forms introspect; a forged JWT does not; revoking the JWT revokes the token.
    assert_eq!(f.introspect(&jwt).await["action"], "OK");
    assert_eq!(f.introspect(&opaque).await["action"], "OK");
    let forged = format!("{}x", jwt);
    assert_eq!(f.introspect(&forged).await["action"], "UNAUTHORIZED");
    let standard = f
        .api(
            "/api/auth/introspection/standard",
            json!({"parameters": format!("token={jwt}")}),
        )
        .await;
    assert_eq!(content(&standard)["active"], true);
    let revoked = f
        .as_client("/api/auth/revocation", &format!("token={jwt}"))
        .await;
    assert_eq!(revoked["action"], "OK", "{revoked}");
    assert_eq!(f.introspect(&opaque).await["action"], "UNAUTHORIZED");

    // With openid, the ID token's at_hash is of the JWT the client receives.
    let tokens = openid_tokens(&f, "n-jwt").await;
    let jwt = tokens["jwtAccessToken"].as_str().unwrap();
    let id_token: CoreIdToken = tokens["idToken"].as_str().unwrap().parse().unwrap();
    let (_, _, jwks_text) = get_raw(&f, "/api/service/jwks/get").await;
    let jwks: CoreJsonWebKeySet = serde_json::from_str(&jwks_text).unwrap();
    let verifier = id_token_verifier(&f, jwks, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
    let claims = id_token
        .claims(&verifier, &Nonce::new("n-jwt".into()))
        .unwrap();
    let expected = AccessTokenHash::from_token(
        &AccessToken::new(jwt.to_owned()),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    let u = f.api("/api/auth/userinfo", json!({"token": jwt})).await;
    assert_eq!(u["action"], "OK", "{u}");
}

#[tokio::test]
async fn concurrent_key_additions_are_all_kept() {
    let f = Arc::new(Fixture::new().await);
    let owner = OWNER_KEY.to_string();
    let path = format!("/api/service/keys/add/{}", f.key);
    let adds = (0..4).map(|_| {
        let (f, owner, path) = (Arc::clone(&f), owner.clone(), path.clone());
        tokio::spawn(async move {
            f.server
                .post(&path, (&owner, OWNER_SECRET), json!({"alg": "ES256"}))
                .await["kid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
    });
    let mut kids = Vec::new();
    for add in adds {
        kids.push(add.await.unwrap());
    }
    let published = key_set(&get_raw(&f, "/api/service/jwks/get").await.2);
    for kid in kids {
        assert!(
            published.iter().any(|k| k["kid"] == kid.as_str()),
            "{kid} lost"
        );
    }
    assert_eq!(published.len(), 8);
}
