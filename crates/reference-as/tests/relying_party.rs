//! An independent relying party (the `openidconnect` crate) logs the demo user in through the
//! reference authorization server, which runs on a real Castellan: discovery, authorization
//! code with PKCE and nonce, the login and consent forms, token, ID-token validation, userinfo,
//! refresh, and `prompt=none` with and without a session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use castellan_core::secret::SecretKeys;
use castellan_engine::{Engine, SystemClock};
use castellan_reference_as::castellan::Castellan;
use castellan_reference_as::session::Sessions;
use castellan_reference_as::users::{DEMO_USERS, Users};
use castellan_reference_as::{App, bootstrap, router};
use castellan_store_sqlite::SqliteStore;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

const OWNER: (&str, &str) = ("5150", "reference-as-test-owner-secret");
const REDIRECT: &str = "http://127.0.0.1:1/cb";

struct Servers {
    issuer: String,
    client_id: String,
    client_secret: String,
    _dir: tempfile::TempDir,
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Castellan (in-process router, embedded store) and the reference AS on ephemeral ports.
async fn start() -> Servers {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("castellan.db")).unwrap();
    let engine = Arc::new(Engine::new(
        Arc::new(store),
        SecretKeys::from_master(&[7u8; 32]),
        Arc::new(SystemClock),
    ));
    engine
        .set_owner(OWNER.0.parse().unwrap(), OWNER.1)
        .await
        .unwrap();
    let castellan_url = serve(castellan_http::router(engine)).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let provisioned = bootstrap::provision(&castellan_url, OWNER, &issuer, &[REDIRECT.to_owned()])
        .await
        .unwrap();
    let app = Arc::new(App {
        castellan: Castellan::new(
            &castellan_url,
            &provisioned.api_key,
            &provisioned.api_secret,
        ),
        users: Users::parse(DEMO_USERS).unwrap(),
        sessions: Sessions::default(),
        introspection_credentials: (
            provisioned.client_id.clone(),
            provisioned.client_secret.clone(),
        ),
    });
    tokio::spawn(async move { axum::serve(listener, router(app)).await.unwrap() });
    Servers {
        issuer,
        client_id: provisioned.client_id,
        client_secret: provisioned.client_secret,
        _dir: dir,
    }
}

/// A user agent that keeps the session cookie and does not follow redirects.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req.send().await.unwrap();
        if let Some(set) = resp.headers().get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        resp
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let req = self.http.get(url);
        self.send(req).await
    }

    async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let req = self.http.post(url).form(form);
        self.send(req).await
    }
}

/// The hidden `request` field of a consent page.
fn request_ref(html: &str) -> String {
    const FIELD: &str = "name=\"request\" value=\"";
    let start = html.find(FIELD).expect("a request field") + FIELD.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_owned()
}

fn query_value(location: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn location(resp: &reqwest::Response) -> String {
    assert_eq!(resp.status().as_u16(), 302, "expected a redirect");
    resp.headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn openidconnect_crate_logs_the_demo_user_in() {
    let servers = start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Discovery, and the client the relying party is.
    let issuer = IssuerUrl::new(servers.issuer.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(servers.client_id.clone()),
        Some(ClientSecret::new(servers.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());

    // The authorization request, through the login and consent pages.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new();
    let login_page = browser.get(url.as_str()).await;
    assert_eq!(login_page.status().as_u16(), 200);
    // The login page cannot be framed, loads nothing and runs no script.
    let headers = login_page.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
    let html = login_page.text().await.unwrap();
    assert!(html.contains("name=\"username\"") && html.contains("name=\"password\""));
    let login = format!("{}/login", servers.issuer);
    let wrong = browser
        .post_form(&login, &[("username", "testuser01"), ("password", "nope")])
        .await;
    assert!(wrong.text().await.unwrap().contains("wrong"));
    let consent_page = browser
        .post_form(
            &login,
            &[("username", "testuser01"), ("password", "testuser01")],
        )
        .await;
    assert_eq!(consent_page.headers()["x-frame-options"], "DENY");
    assert!(
        consent_page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = consent_page.text().await.unwrap();
    assert!(html.contains("name=\"decision\"") && html.contains("email"));
    let reference = request_ref(&html);
    let redirect = browser
        .post_form(
            &format!("{}/consent", servers.issuer),
            &[("decision", "approve"), ("request", &reference)],
        )
        .await;
    let back = location(&redirect);
    assert!(back.starts_with(REDIRECT));
    assert_eq!(
        query_value(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        query_value(&back, "iss").as_deref(),
        Some(servers.issuer.as_str())
    );
    let code = query_value(&back, "code").unwrap();

    // Token, and the ID token as the relying party validates it.
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token.claims(&id_verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), "testuser01");
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert!(claims.auth_time().is_some());

    // Userinfo.
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.email().unwrap().as_str(), "testuser01@example.com");
    assert_eq!(
        info.name().and_then(|n| n.get(None)).unwrap().as_str(),
        "Test User 01"
    );

    // Refresh.
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("a refresh token"))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );

    // prompt=none with the session: a code at once; without one: login_required.
    let silent = |browser_nonce: Nonce| {
        client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                move || browser_nonce.clone(),
            )
            .add_prompt(CoreAuthPrompt::None)
            .url()
            .0
    };
    let again = browser.get(silent(Nonce::new_random()).as_str()).await;
    assert!(query_value(&location(&again), "code").is_some());
    let mut stranger = Browser::new();
    let refused = stranger.get(silent(Nonce::new_random()).as_str()).await;
    assert_eq!(
        query_value(&location(&refused), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn denial_introspection_and_revocation() {
    let servers = start().await;
    let mut browser = Browser::new();
    let authorize = format!(
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s1",
        servers.issuer,
        servers.client_id,
        url_escape(REDIRECT)
    );
    browser.get(&authorize).await;
    let consent_page = browser
        .post_form(
            &format!("{}/login", servers.issuer),
            &[("username", "testuser01"), ("password", "testuser01")],
        )
        .await;
    let first_ref = request_ref(&consent_page.text().await.unwrap());

    // Another request replaces the pending one: a consent posted for the first is refused.
    let other = authorize.replace("state=s1", "state=s2");
    let second_page = browser.get(&other).await.text().await.unwrap();
    let consent_url = format!("{}/consent", servers.issuer);
    let stale = browser
        .post_form(
            &consent_url,
            &[("decision", "approve"), ("request", &first_ref)],
        )
        .await;
    assert_eq!(stale.status().as_u16(), 400);
    // Nor does a request that insists on a new login accept the earlier one.
    let forced = browser
        .get(&format!("{authorize}&prompt=login"))
        .await
        .text()
        .await
        .unwrap();
    assert!(forced.contains("name=\"password\""));
    let skipped = browser
        .post_form(
            &consent_url,
            &[
                ("decision", "approve"),
                ("request", &request_ref(&second_page)),
            ],
        )
        .await;
    assert_eq!(skipped.status().as_u16(), 400);

    browser.get(&authorize).await;
    let consent_page = browser
        .post_form(
            &format!("{}/login", servers.issuer),
            &[("username", "testuser01"), ("password", "testuser01")],
        )
        .await;
    let reference = request_ref(&consent_page.text().await.unwrap());
    let denied = browser
        .post_form(
            &consent_url,
            &[("decision", "deny"), ("request", &reference)],
        )
        .await;
    let back = location(&denied);
    assert_eq!(
        query_value(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_value(&back, "state").as_deref(), Some("s1"));

    // An unknown client is answered by the authorization server itself, not redirected.
    let bad = browser
        .get(&format!(
            "{}/authorize?response_type=code&client_id=1&scope=openid",
            servers.issuer
        ))
        .await;
    assert_eq!(bad.status().as_u16(), 400);

    // The demo client may not use client_credentials: the token endpoint says so as JSON.
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{}/token", servers.issuer))
        .basic_auth(&servers.client_id, Some(&servers.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status().as_u16(), 400);
    assert_eq!(token.headers()["cache-control"], "no-store");
    let wrong_secret = http
        .post(format!("{}/token", servers.issuer))
        .basic_auth(&servers.client_id, Some("wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status().as_u16(), 401);
    assert!(
        wrong_secret.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );

    // Introspection needs the resource server's credentials.
    let anonymous = http
        .post(format!("{}/introspect", servers.issuer))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let inactive: serde_json::Value = http
        .post(format!("{}/introspect", servers.issuer))
        .basic_auth(&servers.client_id, Some(&servers.client_secret))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inactive["active"], false);

    let revoked = http
        .post(format!("{}/revoke", servers.issuer))
        .basic_auth(&servers.client_id, Some(&servers.client_secret))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);

    let userinfo = http
        .get(format!("{}/userinfo", servers.issuer))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status().as_u16(), 401);
    assert!(
        userinfo.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
}

fn url_escape(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
