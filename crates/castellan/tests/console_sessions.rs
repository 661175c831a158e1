//! Console sessions end on the server's word: sign-out ends every session of that person (a
//! copied cookie stops working), and so does a change of the owner's secret or a developer's
//! password. The real routers on an ephemeral port, spoken to over HTTP with a small cookie jar.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use castellan_core::secret::SecretKeys;
use castellan_engine::{Engine, SystemClock};
use castellan_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

const OWNER_KEY: i64 = 1001;
const OWNER_SECRET: &str = "owner-secret";

struct Console {
    base: String,
    http: reqwest::Client,
    engine: Arc<Engine>,
    _dir: tempfile::TempDir,
}

/// One browser: its cookies, by name.
#[derive(Clone, Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("no csrf field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

impl Console {
    async fn start() -> Console {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("castellan.db")).unwrap();
        let engine = Arc::new(Engine::new(
            Arc::new(store),
            SecretKeys::from_master(&[9u8; 32]),
            Arc::new(SystemClock),
        ));
        engine.set_owner(OWNER_KEY, OWNER_SECRET).await.unwrap();
        let app = castellan_console::router(
            engine.clone(),
            castellan_console::ConsoleOptions {
                secure_cookies: false,
                trusted_proxies: Vec::new(),
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Console {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            engine,
            _dir: dir,
        }
    }

    /// Sends the request with the jar's cookies, keeps the cookies it sets: (status, Location,
    /// body).
    async fn send(
        &self,
        jar: &mut Jar,
        request: reqwest::RequestBuilder,
    ) -> (StatusCode, String, String) {
        let response = request.header(COOKIE, jar.header()).send().await.unwrap();
        jar.take(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, response.text().await.unwrap())
    }

    async fn get(&self, jar: &mut Jar, path: &str) -> (StatusCode, String, String) {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(jar, request).await
    }

    async fn post(&self, jar: &mut Jar, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        let (status, location, _) = self.send(jar, request).await;
        (status, location)
    }

    async fn owner_sign_in(&self, secret: &str) -> Jar {
        let mut jar = Jar::default();
        let (_, _, page) = self.get(&mut jar, "/console/sign-in").await;
        let key = OWNER_KEY.to_string();
        let (status, location) = self
            .post(
                &mut jar,
                "/console/sign-in",
                &[
                    ("csrf", &csrf_of(&page)),
                    ("api_key", &key),
                    ("api_secret", secret),
                ],
            )
            .await;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(location, "/console/services");
        jar
    }

    async fn developer_sign_in(&self, api_key: i64, password: &str) -> Jar {
        let mut jar = Jar::default();
        let base = format!("/console/developer/{api_key}");
        let (_, _, page) = self.get(&mut jar, &format!("{base}/sign-in")).await;
        let (status, location) = self
            .post(
                &mut jar,
                &format!("{base}/sign-in"),
                &[
                    ("csrf", &csrf_of(&page)),
                    ("login", "alice"),
                    ("password", password),
                ],
            )
            .await;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(location, format!("{base}/apps"));
        jar
    }

    /// A new service with the developer "alice" (password "first-password-long"); its API key.
    async fn service_with_developer_alice(&self) -> i64 {
        let owner = self
            .engine
            .store()
            .get_owner(OWNER_KEY)
            .await
            .unwrap()
            .unwrap();
        let service = self
            .engine
            .create_service(
                &owner,
                serde_json::from_value(serde_json::json!({"serviceName": "s"})).unwrap(),
            )
            .await
            .unwrap();
        self.engine
            .create_developer(
                Some(&owner),
                service.api_key,
                "alice",
                None,
                "first-password-long",
            )
            .await
            .unwrap();
        service.api_key
    }

    /// Whether the jar's owner session is live: the services page, or a redirect to sign-in.
    async fn owner_signed_in(&self, jar: &Jar) -> bool {
        let (status, location, _) = self.get(&mut jar.clone(), "/console/services").await;
        match status {
            StatusCode::OK => true,
            s if s.is_redirection() && location == "/console/sign-in" => false,
            other => panic!("unexpected {other}"),
        }
    }

    async fn developer_signed_in(&self, api_key: i64, jar: &Jar) -> bool {
        let path = format!("/console/developer/{api_key}/apps");
        let (status, location, _) = self.get(&mut jar.clone(), &path).await;
        match status {
            StatusCode::OK => true,
            s if s.is_redirection() && location.ends_with("/sign-in") => false,
            other => panic!("unexpected {other}"),
        }
    }
}

#[tokio::test]
async fn sign_out_ends_every_copy_of_the_session() {
    let console = Console::start().await;
    let mut browser = console.owner_sign_in(OWNER_SECRET).await;
    let other_tab = browser.clone();
    let elsewhere = console.owner_sign_in(OWNER_SECRET).await;
    assert!(console.owner_signed_in(&other_tab).await);
    let (_, _, page) = console.get(&mut browser, "/console/services").await;
    let (status, location) = console
        .post(
            &mut browser,
            "/console/sign-out",
            &[("csrf", &csrf_of(&page))],
        )
        .await;
    assert!(status.is_redirection() && location == "/console/sign-in");
    // The copied cookie, and the owner's other session, no longer work.
    assert!(!console.owner_signed_in(&other_tab).await);
    assert!(!console.owner_signed_in(&elsewhere).await);
    // Signing in again works.
    let again = console.owner_sign_in(OWNER_SECRET).await;
    assert!(console.owner_signed_in(&again).await);
}

#[tokio::test]
async fn a_new_owner_secret_ends_the_old_sessions() {
    let console = Console::start().await;
    let browser = console.owner_sign_in(OWNER_SECRET).await;
    assert!(console.owner_signed_in(&browser).await);
    console
        .engine
        .set_owner(OWNER_KEY, "a-brand-new-owner-secret")
        .await
        .unwrap();
    assert!(!console.owner_signed_in(&browser).await);
    let again = console.owner_sign_in("a-brand-new-owner-secret").await;
    assert!(console.owner_signed_in(&again).await);
}

#[tokio::test]
async fn developer_sign_out_and_password_change_end_other_sessions() {
    let console = Console::start().await;
    let key = console.service_with_developer_alice().await;

    // Two browsers; one changes the password: it stays signed in, the other is signed out.
    let mut laptop = console.developer_sign_in(key, "first-password-long").await;
    let phone = console.developer_sign_in(key, "first-password-long").await;
    let path = format!("/console/developer/{key}/password");
    let (_, _, page) = console.get(&mut laptop, &path).await;
    let (status, _) = console
        .post(
            &mut laptop,
            &path,
            &[
                ("csrf", &csrf_of(&page)),
                ("current", "first-password-long"),
                ("new", "second-password-long"),
                ("repeat", "second-password-long"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(console.developer_signed_in(key, &laptop).await);
    assert!(!console.developer_signed_in(key, &phone).await);

    // Sign-out ends the laptop's session and any copy of it.
    let copy = laptop.clone();
    let (_, _, page) = console
        .get(&mut laptop, &format!("/console/developer/{key}/apps"))
        .await;
    let (status, _) = console
        .post(
            &mut laptop,
            &format!("/console/developer/{key}/sign-out"),
            &[("csrf", &csrf_of(&page))],
        )
        .await;
    assert!(status.is_redirection());
    assert!(!console.developer_signed_in(key, &copy).await);
    let back = console.developer_sign_in(key, "second-password-long").await;
    assert!(console.developer_signed_in(key, &back).await);
}

#[tokio::test]
async fn guessing_the_current_password_is_limited_like_signing_in() {
    let console = Console::start().await;
    let key = console.service_with_developer_alice().await;
    // A stolen session tries current passwords.
    let mut thief = console.developer_sign_in(key, "first-password-long").await;
    let path = format!("/console/developer/{key}/password");
    let mut statuses = Vec::new();
    for guess in 0..8 {
        let (_, _, page) = console.get(&mut thief, &path).await;
        let wrong = format!("guess-number-{guess}");
        let (status, _) = console
            .post(
                &mut thief,
                &path,
                &[
                    ("csrf", &csrf_of(&page)),
                    ("current", &wrong),
                    ("new", "stolen-password-long"),
                    ("repeat", "stolen-password-long"),
                ],
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses[0], StatusCode::BAD_REQUEST);
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // The right password is not tried either while locked, and nothing changed.
    let (_, _, page) = console.get(&mut thief, &path).await;
    let (status, _) = console
        .post(
            &mut thief,
            &path,
            &[
                ("csrf", &csrf_of(&page)),
                ("current", "first-password-long"),
                ("new", "stolen-password-long"),
                ("repeat", "stolen-password-long"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        console
            .engine
            .authenticate_developer(key, "alice", "first-password-long")
            .await
            .unwrap()
            .is_some()
    );
}
