//! The harness the HTTP integration tests share: the real router and a store on an ephemeral
//! port, a service with two clients, and helpers for the calls an authorization server makes.
//! The store is the embedded one, or PostgreSQL (a scratch database on the server of
//! `CASTELLAN_TEST_DATABASE_URL`) when `CASTELLAN_TEST_BACKEND=postgres`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use castellan_core::secret::SecretKeys;
use castellan_engine::{Engine, SystemClock};
use castellan_store::Store;
use castellan_store_postgres::testing::ScratchDatabase;
use castellan_store_postgres::{PoolOptions, PostgresStore};
use castellan_store_sqlite::SqliteStore;
use serde_json::{Value, json};

pub const OWNER_KEY: i64 = 1001;
pub const OWNER_SECRET: &str = "owner-secret";
pub const REDIRECT: &str = "https://client.example.org/cb/example.com";
pub const REDIRECT_ENC: &str = "https%3A%2F%2Fclient.example.org%2Fcb%2Fexample.com";

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    _data: TestData,
}

/// What holds a test server's data; dropped (deleted) with the server.
enum TestData {
    Dir(tempfile::TempDir),
    Database(Box<ScratchDatabase>),
}

/// A fresh, empty store of the backend the run asks for.
async fn test_store() -> (Arc<dyn Store>, TestData) {
    if std::env::var("CASTELLAN_TEST_BACKEND").as_deref() == Ok("postgres") {
        let server = std::env::var("CASTELLAN_TEST_DATABASE_URL")
            .expect("CASTELLAN_TEST_BACKEND=postgres needs CASTELLAN_TEST_DATABASE_URL");
        let db = ScratchDatabase::create(&server).await;
        let store = PostgresStore::open(&db.url, &PoolOptions::default())
            .await
            .unwrap();
        return (Arc::new(store), TestData::Database(Box::new(db)));
    }
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("castellan.db")).unwrap();
    (Arc::new(store), TestData::Dir(dir))
}

impl TestServer {
    pub async fn start() -> Self {
        let (store, data) = test_store().await;
        let engine = Arc::new(Engine::new(
            store,
            SecretKeys::from_master(&[9u8; 32]),
            Arc::new(SystemClock),
        ));
        engine.set_owner(OWNER_KEY, OWNER_SECRET).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = castellan_http::router(engine);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            _data: data,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        creds: (&str, &str),
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .basic_auth(creds.0, Some(creds.1));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, creds: (&str, &str), body: Value) -> Value {
        let (status, v) = self
            .call(reqwest::Method::POST, path, creds, Some(body))
            .await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }
}

pub struct Fixture {
    pub server: TestServer,
    pub key: String,
    pub secret: String,
    pub client_id: i64,
    pub client_secret: String,
    pub public_id: i64,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with_service(json!({})).await
    }

    pub async fn with_service(overrides: Value) -> Self {
        let server = TestServer::start().await;
        let owner = (&*OWNER_KEY.to_string(), OWNER_SECRET);
        let mut service = json!({
            "serviceName": "test", "issuer": "https://as.example.com",
            "supportedGrantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "PASSWORD"],
            "supportedResponseTypes": ["CODE"],
            "supportedScopes": [{"name": "history.read", "defaultEntry": true}, {"name": "timeline.read"}, {"name": "openid"}],
            "accessTokenDuration": 3600, "refreshTokenDuration": 86400
        });
        for (k, v) in overrides.as_object().unwrap() {
            service[k] = v.clone();
        }
        let owner_key = OWNER_KEY.to_string();
        let created = server
            .post("/api/service/create", (&owner_key, owner.1), service)
            .await;
        let key = created["apiKey"].as_i64().unwrap().to_string();
        let secret = created["apiSecret"].as_str().unwrap().to_owned();
        let client = server
            .post(
                "/api/client/create",
                (&key, &secret),
                json!({"clientName": "c", "clientType": "CONFIDENTIAL", "redirectUris": [REDIRECT],
                       "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "PASSWORD"],
                       "responseTypes": ["CODE"], "tokenAuthMethod": "CLIENT_SECRET_BASIC"}),
            )
            .await;
        let public = server
            .post(
                "/api/client/create",
                (&key, &secret),
                json!({"clientName": "p", "clientType": "PUBLIC", "redirectUris": [REDIRECT],
                       "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"], "responseTypes": ["CODE"], "tokenAuthMethod": "NONE"}),
            )
            .await;
        Self {
            key,
            secret,
            client_id: client["clientId"].as_i64().unwrap(),
            client_secret: client["clientSecret"].as_str().unwrap().to_owned(),
            public_id: public["clientId"].as_i64().unwrap(),
            server,
        }
    }

    pub fn creds(&self) -> (&str, &str) {
        (&self.key, &self.secret)
    }

    /// A management call with the service's credentials: (HTTP status, JSON body).
    pub async fn manage(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.server.call(method, path, self.creds(), body).await
    }

    /// `/api/service/get` of the fixture's service, with the owner's credentials.
    pub async fn owner_get_service(&self) -> (u16, Value) {
        let owner = OWNER_KEY.to_string();
        self.server
            .call(
                reqwest::Method::GET,
                &format!("/api/service/get/{}", self.key),
                (&owner, OWNER_SECRET),
                None,
            )
            .await
    }

    /// Sets one member of the confidential client (get, change, update).
    pub async fn set_client_field(&self, name: &str, value: Value) {
        let (status, mut client) = self
            .manage(
                reqwest::Method::GET,
                &format!("/api/client/get/{}", self.client_id),
                None,
            )
            .await;
        assert_eq!(status, 200, "{client}");
        client[name] = value;
        self.api(&format!("/api/client/update/{}", self.client_id), client)
            .await;
    }

    pub async fn api(&self, path: &str, body: Value) -> Value {
        self.server.post(path, self.creds(), body).await
    }

    pub async fn authorize(&self, params: &str) -> Value {
        self.api("/api/auth/authorization", json!({ "parameters": params }))
            .await
    }

    /// `/authorization/issue` for the ticket, as the subject.
    pub async fn issue(&self, ticket: &Value, subject: &str) -> Value {
        self.api(
            "/api/auth/authorization/issue",
            json!({ "ticket": ticket, "subject": subject }),
        )
        .await
    }

    /// Authorization + issue; returns the code.
    pub async fn code(&self, extra: &str) -> String {
        let a = self
            .authorize(&format!(
                "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&state=s1{extra}",
                self.client_id
            ))
            .await;
        assert_eq!(a["action"], "INTERACTION", "{a}");
        let issued = self.issue(&a["ticket"], "john").await;
        assert_eq!(issued["action"], "LOCATION", "{issued}");
        issued["authorizationCode"].as_str().unwrap().to_owned()
    }

    /// Calls `path` with `parameters` and the confidential client's Basic credentials.
    pub async fn as_client(&self, path: &str, parameters: &str) -> Value {
        self.api(
            path,
            json!({"parameters": parameters, "clientId": self.client_id.to_string(), "clientSecret": self.client_secret}),
        )
        .await
    }

    pub async fn token(&self, parameters: &str) -> Value {
        self.as_client("/api/auth/token", parameters).await
    }

    pub async fn redeem(&self, code: &str) -> Value {
        self.token(&format!(
            "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}"
        ))
        .await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        self.api("/api/auth/introspection", json!({ "token": token }))
            .await
    }
}

pub fn content(v: &Value) -> Value {
    serde_json::from_str(v["responseContent"].as_str().unwrap()).unwrap()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
