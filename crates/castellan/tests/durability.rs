//! Durability of the real binary: every authorization code and access token that a reply
//! announced is still there after the server is killed with SIGKILL mid-load and restarted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

const REDIRECT_ENC: &str = "https%3A%2F%2Fclient.example.org%2Fcb%2Fexample.com";

struct Server {
    child: Child,
    base: String,
    /// `value` of each `    name:   value` line printed at start.
    printed: Vec<(String, String)>,
}

impl Server {
    /// Starts the binary on `dir`; `demo`: an empty data directory, whose banner ends with the
    /// demo credentials and a curl command rather than with the data directory line.
    fn start(dir: &Path, demo: bool) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_castellan"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"))
            .arg("--master-key-file")
            .arg(dir.join("master.key"))
            .env("CASTELLAN_SERVICE_OWNER_API_KEY", "1001")
            .env("CASTELLAN_SERVICE_OWNER_API_SECRET", "owner-secret")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut base = None;
        let mut printed = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(addr) = line.strip_prefix("Castellan listening on ") {
                base = Some(addr.trim().to_owned());
            } else if let Some((name, value)) = line.trim().split_once(':') {
                printed.push((name.to_owned(), value.trim().to_owned()));
            }
            let last = if demo { "curl" } else { "database:" };
            if line.contains(last) {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base: base.expect("no listening address printed"),
            printed,
        }
    }

    fn printed(&self, name: &str) -> String {
        self.printed
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} not printed: {:?}", self.printed))
    }
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
    secret: String,
    client_id: String,
    client_secret: String,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> Result<Value, reqwest::Error> {
        self.http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.key, Some(&self.secret))
            .json(&body)
            .send()
            .await?
            .json()
            .await
    }

    /// A client-credentials token, when the reply announced one.
    async fn token(&self) -> Result<Option<String>, reqwest::Error> {
        let reply = self
            .post(
                "/api/auth/token",
                json!({
                    "parameters": "grant_type=client_credentials",
                    "clientId": self.client_id,
                    "clientSecret": self.client_secret,
                }),
            )
            .await?;
        Ok(reply["accessToken"].as_str().map(str::to_owned))
    }

    /// An authorization code, when the issue reply announced one.
    async fn code(&self) -> Result<Option<String>, reqwest::Error> {
        let parameters = format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}",
            self.client_id
        );
        let reply = self
            .post(
                "/api/auth/authorization",
                json!({ "parameters": parameters }),
            )
            .await?;
        let Some(ticket) = reply["ticket"].as_str() else {
            return Ok(None);
        };
        let reply = self
            .post(
                "/api/auth/authorization/issue",
                json!({ "ticket": ticket, "subject": "testuser01" }),
            )
            .await?;
        Ok(reply["authorizationCode"].as_str().map(str::to_owned))
    }
}

/// The items `found` says are gone, checked eight at a time.
async fn lost<F, Fut>(items: &[String], found: F) -> Vec<String>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = bool>,
{
    futures::stream::iter(items.iter().cloned())
        .map(|item| {
            let check = found(item.clone());
            async move { (!check.await).then_some(item) }
        })
        .buffer_unordered(8)
        .filter_map(|gone| async move { gone })
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_codes_and_tokens_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Server::start(dir.path(), true);
    let api = Api {
        http: reqwest::Client::new(),
        base: first.base.clone(),
        key: first.printed("API key"),
        secret: first.printed("API secret"),
        client_id: first.printed("client ID"),
        client_secret: first.printed("client secret"),
    };

    // Load from several tasks; each keeps what the server announced until its connection dies.
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (api, stop) = (api.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let (mut tokens, mut codes) = (Vec::new(), Vec::new());
            while !stop.load(Ordering::SeqCst) {
                let outcome = if i % 2 == 0 {
                    api.token().await.map(|t| tokens.extend(t))
                } else {
                    api.code().await.map(|c| codes.extend(c))
                };
                if outcome.is_err() {
                    break;
                }
            }
            (tokens, codes)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    first.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    let (mut tokens, mut codes) = (Vec::new(), Vec::new());
    for task in tasks {
        let (t, c) = task.await.unwrap();
        tokens.extend(t);
        codes.extend(c);
    }
    assert!(
        tokens.len() >= 20 && codes.len() >= 10,
        "too little load to mean anything: {} tokens, {} codes",
        tokens.len(),
        codes.len()
    );

    let second = Server::start(dir.path(), false);
    let api = Api {
        base: second.base.clone(),
        ..api
    };
    let lost_tokens = lost(&tokens, |token| {
        let api = api.clone();
        async move {
            let reply = api
                .post("/api/auth/introspection", json!({ "token": token }))
                .await
                .unwrap();
            reply["action"] == "OK"
        }
    })
    .await;
    assert!(
        lost_tokens.is_empty(),
        "{} of {} announced tokens lost",
        lost_tokens.len(),
        tokens.len()
    );
    let lost_codes = lost(&codes, |code| {
        let api = api.clone();
        async move {
            let parameters =
                format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}");
            let reply = api
                .post(
                    "/api/auth/token",
                    json!({
                        "parameters": parameters,
                        "clientId": api.client_id,
                        "clientSecret": api.client_secret,
                    }),
                )
                .await
                .unwrap();
            reply["action"] == "OK"
        }
    })
    .await;
    assert!(
        lost_codes.is_empty(),
        "{} of {} announced codes lost",
        lost_codes.len(),
        codes.len()
    );
    drop(second);
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
