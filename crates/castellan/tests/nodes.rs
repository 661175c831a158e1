//! Several `castellan serve` processes on one PostgreSQL database: a grant's steps may land on
//! any node, races between nodes have one winner, settings reach every node within the cache
//! bound, a node can die without losing what it acknowledged, and a database outage answers
//! with a server error and heals by itself. Skipped (with a message) when
//! `CASTELLAN_TEST_DATABASE_URL` is not set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use castellan_store_postgres::testing::{ScratchDatabase, test_server_url};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

const OWNER_KEY: &str = "1001";
const OWNER_SECRET: &str = "owner-secret";
const REDIRECT: &str = "https://client.example.org/cb/example.com";
const REDIRECT_ENC: &str = "https%3A%2F%2Fclient.example.org%2Fcb%2Fexample.com";
/// How long the nodes of these tests may serve settings from memory.
const CACHE_TTL_MS: u64 = 500;

/// One `castellan serve` process.
struct Node {
    child: Child,
    base: String,
}

/// The command line of the binary, with the master key every node of these tests shares.
fn castellan() -> Command {
    let master_key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_castellan"));
    command
        .env("CASTELLAN_MASTER_KEY", master_key)
        .env_remove("CASTELLAN_DATABASE_URL");
    command
}

impl Node {
    fn start(database_url: &str, extra: &[&str]) -> Node {
        Node::start_with(&["--database", database_url], extra)
    }

    /// `database`: `--database URL` or `--data-dir DIR`.
    fn start_with(database: &[&str], extra: &[&str]) -> Node {
        let mut child = castellan()
            .args(["serve", "--listen", "127.0.0.1:0", "--no-demo"])
            .args(database)
            .args(["--cache-ttl-ms", &CACHE_TTL_MS.to_string()])
            .args(extra)
            .env("CASTELLAN_SERVICE_OWNER_API_KEY", OWNER_KEY)
            .env("CASTELLAN_SERVICE_OWNER_API_SECRET", OWNER_SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut base = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(addr) = line.strip_prefix("Castellan listening on ") {
                base = Some(addr.trim().to_owned());
            }
            if line.contains("database:") {
                // The password never shows.
                assert!(!line.contains(":secret@"), "{line}");
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Node {
            child,
            base: base.expect("no listening address printed"),
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service's view of the API through one node.
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
    fn on(&self, node: &Node) -> Api {
        Api {
            base: node.base.clone(),
            ..self.clone()
        }
    }

    async fn call(&self, path: &str, body: Value) -> reqwest::Result<(u16, Value)> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.key, Some(&self.secret))
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// `GET path` with the service's credentials; the JSON reply.
    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .basic_auth(&self.key, Some(&self.secret))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, reply) = self.call(path, body).await.unwrap();
        assert_eq!(status, 200, "{path}: {reply}");
        reply
    }

    async fn as_client(&self, path: &str, parameters: &str) -> Value {
        self.post(
            path,
            json!({"parameters": parameters, "clientId": self.client_id, "clientSecret": self.client_secret}),
        )
        .await
    }

    async fn authorize(&self) -> Value {
        let parameters = format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&state=s1",
            self.client_id
        );
        self.post(
            "/api/auth/authorization",
            json!({ "parameters": parameters }),
        )
        .await
    }

    async fn issue(&self, ticket: &Value) -> Value {
        self.post(
            "/api/auth/authorization/issue",
            json!({ "ticket": ticket, "subject": "testuser01" }),
        )
        .await
    }

    async fn redeem(&self, code: &str) -> Value {
        self.as_client(
            "/api/auth/token",
            &format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}"),
        )
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> Value {
        self.as_client(
            "/api/auth/token",
            &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
        )
        .await
    }

    async fn active(&self, token: &str) -> bool {
        let reply = self
            .post("/api/auth/introspection", json!({ "token": token }))
            .await;
        reply["action"] == "OK"
    }

    async fn client_credentials(&self) -> reqwest::Result<Option<String>> {
        let (_, reply) = self
            .call(
                "/api/auth/token",
                json!({"parameters": "grant_type=client_credentials",
                       "clientId": self.client_id, "clientSecret": self.client_secret}),
            )
            .await?;
        Ok(reply["accessToken"].as_str().map(str::to_owned))
    }
}

/// Creates a service through one node and a confidential client through the other.
async fn provision(a: &Node, b: &Node) -> Api {
    let http = reqwest::Client::new();
    let owner = Api {
        http: http.clone(),
        base: a.base.clone(),
        key: OWNER_KEY.into(),
        secret: OWNER_SECRET.into(),
        client_id: String::new(),
        client_secret: String::new(),
    };
    let service = owner
        .post(
            "/api/service/create",
            json!({
                "serviceName": "nodes", "issuer": "https://as.example.com",
                "supportedGrantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS"],
                "supportedResponseTypes": ["CODE"],
                "supportedScopes": [{"name": "history.read", "defaultEntry": true}],
                "accessTokenDuration": 3600, "refreshTokenDuration": 86400
            }),
        )
        .await;
    let mut api = Api {
        http,
        base: b.base.clone(),
        key: service["apiKey"].as_i64().unwrap().to_string(),
        secret: service["apiSecret"].as_str().unwrap().to_owned(),
        client_id: String::new(),
        client_secret: String::new(),
    };
    let client = api
        .post(
            "/api/client/create",
            json!({"clientName": "c", "clientType": "CONFIDENTIAL", "redirectUris": [REDIRECT],
                   "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS"],
                   "responseTypes": ["CODE"], "tokenAuthMethod": "CLIENT_SECRET_BASIC"}),
        )
        .await;
    api.client_id = client["clientId"].as_i64().unwrap().to_string();
    api.client_secret = client["clientSecret"].as_str().unwrap().to_owned();
    api
}

async fn two_nodes() -> Option<(ScratchDatabase, Node, Node, Api)> {
    let server = test_server_url()?;
    let db = ScratchDatabase::create(&server).await;
    let a = Node::start(&db.url, &[]);
    let b = Node::start(&db.url, &[]);
    let api = provision(&a, &b).await;
    Some((db, a, b, api))
}

/// An authorization code issued through node B for a ticket made by node A.
async fn code_across(a: &Api, b: &Api) -> String {
    let authorization = a.authorize().await;
    assert_eq!(authorization["action"], "INTERACTION", "{authorization}");
    let issued = b.issue(&authorization["ticket"]).await;
    assert_eq!(issued["action"], "LOCATION", "{issued}");
    issued["authorizationCode"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_alternates_between_nodes() {
    let Some((_db, a, b, api)) = two_nodes().await else {
        return;
    };
    let (on_a, on_b) = (api.on(&a), api.on(&b));
    let code = code_across(&on_a, &on_b).await;
    let token = on_a.redeem(&code).await;
    assert_eq!(token["action"], "OK", "{token}");
    let access = token["accessToken"].as_str().unwrap();
    let refresh = token["refreshToken"].as_str().unwrap();
    let introspection = on_b
        .post("/api/auth/introspection", json!({ "token": access }))
        .await;
    assert_eq!(introspection["action"], "OK", "{introspection}");
    assert_eq!(introspection["subject"], "testuser01");

    // Refresh on B; the new token is live on A and the old one is gone on both.
    let refreshed = on_b.refresh(refresh).await;
    assert_eq!(refreshed["action"], "OK", "{refreshed}");
    let new_access = refreshed["accessToken"].as_str().unwrap();
    assert!(on_a.active(new_access).await);
    assert!(!on_a.active(access).await && !on_b.active(access).await);

    // Revocation through A takes effect on B at once.
    let revoked = on_a
        .as_client("/api/auth/revocation", &format!("token={new_access}"))
        .await;
    assert_eq!(revoked["action"], "OK", "{revoked}");
    assert!(!on_b.active(new_access).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_redemptions_of_one_code_across_nodes_have_one_winner() {
    let Some((_db, a, b, api)) = two_nodes().await else {
        return;
    };
    let (on_a, on_b) = (api.on(&a), api.on(&b));
    let code = code_across(&on_a, &on_b).await;
    let replies = race(&on_a, &on_b, |api| {
        let code = code.clone();
        async move { api.redeem(&code).await }
    })
    .await;
    let winners: Vec<&Value> = replies.iter().filter(|r| r["action"] == "OK").collect();
    assert_eq!(winners.len(), 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r["action"] != "OK") {
        assert_eq!(reply["action"], "BAD_REQUEST", "{reply}");
        assert!(
            reply["responseContent"]
                .as_str()
                .unwrap()
                .contains("invalid_grant"),
            "{reply}"
        );
    }
    // The replays revoked what the winner got (RFC 6749 §4.1.2, RFC 9700 §4.5).
    let access = winners[0]["accessToken"].as_str().unwrap();
    assert!(!on_a.active(access).await && !on_b.active(access).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_uses_of_one_refresh_token_across_nodes_have_one_winner() {
    let Some((_db, a, b, api)) = two_nodes().await else {
        return;
    };
    let (on_a, on_b) = (api.on(&a), api.on(&b));
    let token = on_a.redeem(&code_across(&on_a, &on_b).await).await;
    let refresh = token["refreshToken"].as_str().unwrap().to_owned();
    let replies = race(&on_a, &on_b, |api| {
        let refresh = refresh.clone();
        async move { api.refresh(&refresh).await }
    })
    .await;
    let winners: Vec<&Value> = replies.iter().filter(|r| r["action"] == "OK").collect();
    assert_eq!(winners.len(), 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| r["action"] == "OK" || r["action"] == "BAD_REQUEST"),
        "{replies:?}"
    );
    // Reuse was detected: the grant, the winner's new tokens included, is revoked.
    let access = winners[0]["accessToken"].as_str().unwrap();
    assert!(!on_a.active(access).await && !on_b.active(access).await);
    let again = on_b
        .refresh(winners[0]["refreshToken"].as_str().unwrap())
        .await;
    assert_eq!(again["action"], "BAD_REQUEST", "{again}");
}

/// Fifty calls at once, alternating between the two nodes; every reply must be a 200.
async fn race<F, Fut>(a: &Api, b: &Api, call: F) -> Vec<Value>
where
    F: Fn(Api) -> Fut,
    Fut: Future<Output = Value> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let api = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (call, start) = (call(api), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            call.await
        }));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changed_on_one_node_reach_the_other_within_the_cache_bound() {
    let Some((_db, a, b, api)) = two_nodes().await else {
        return;
    };
    let (on_a, on_b) = (api.on(&a), api.on(&b));
    // Both nodes have the client in memory.
    assert_eq!(on_a.authorize().await["action"], "INTERACTION");
    assert_eq!(on_b.authorize().await["action"], "INTERACTION");

    // A drops the redirect URI the requests use.
    let mut client = on_a
        .get(&format!("/api/client/get/{}", api.client_id))
        .await;
    client["redirectUris"] = json!(["https://elsewhere.example.org/cb"]);
    let changed_at = Instant::now();
    on_a.post(&format!("/api/client/update/{}", api.client_id), client)
        .await;
    // The node that made the change applies it at once ...
    assert_eq!(on_a.authorize().await["action"], "BAD_REQUEST");
    // ... and the other within the bound: its cached copy is at most CACHE_TTL_MS old.
    let bound = Duration::from_millis(CACHE_TTL_MS);
    tokio::time::sleep(bound.saturating_sub(changed_at.elapsed())).await;
    assert_eq!(on_b.authorize().await["action"], "BAD_REQUEST");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_load_loses_nothing_it_acknowledged() {
    let Some((_db, mut a, b, api)) = two_nodes().await else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let node_api = if i % 2 == 0 { api.on(&a) } else { api.on(&b) };
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            let mut failures = 0;
            while !stop.load(Ordering::SeqCst) {
                match node_api.client_credentials().await {
                    Ok(Some(token)) => tokens.push(token),
                    // Calls to the dead node fail; they acknowledged nothing.
                    _ => failures += 1,
                }
                if failures > 0 && i % 2 == 0 {
                    break;
                }
            }
            (i, tokens)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
    // B keeps serving while A is gone.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_kill = api.on(&b).client_credentials().await.unwrap();
    assert!(after_kill.is_some());
    stop.store(true, Ordering::SeqCst);
    let (mut on_a, mut on_b) = (Vec::new(), Vec::new());
    for task in tasks {
        let (i, tokens) = task.await.unwrap();
        if i % 2 == 0 {
            on_a.extend(tokens);
        } else {
            on_b.extend(tokens);
        }
    }
    assert!(
        on_a.len() >= 10 && on_b.len() >= 10,
        "too little load: {} on A, {} on B",
        on_a.len(),
        on_b.len()
    );
    let survivor = api.on(&b);
    for token in on_a.iter().chain(&on_b) {
        assert!(survivor.active(token).await, "lost {token}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_what_it_accepted() {
    let Some((_db, mut a, b, api)) = two_nodes().await else {
        return;
    };
    let on_a = api.on(&a);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let on_a = on_a.clone();
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            // Every reply that arrives is whole; the loop ends when A stops accepting.
            while let Ok(Some(token)) = on_a.client_credentials().await {
                tokens.push(token);
            }
            tokens
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    a.signal("TERM");
    let exited = tokio::task::spawn_blocking(move || {
        let status = a.child.wait().unwrap();
        (a, status)
    })
    .await
    .unwrap();
    assert!(exited.1.success(), "exit status {:?}", exited.1);
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.extend(task.await.unwrap());
    }
    assert!(tokens.len() >= 10, "too little load: {}", tokens.len());
    let survivor = api.on(&b);
    for token in &tokens {
        assert!(survivor.active(token).await, "lost {token}");
    }
}

/// A TCP relay to the database that can be cut, standing for a database outage that the other
/// tests' database server must not suffer.
struct Relay {
    port: u16,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (is_open, held) = (open.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !is_open.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                held.lock().unwrap().push(task.abort_handle());
            }
        });
        Relay {
            port,
            open,
            connections,
        }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_server_errors_and_heals() {
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await;
    let mut url = url::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let relay = Relay::start(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(relay.port)).unwrap();
    let node = Node::start(
        url.as_str(),
        &[
            "--database-timeout-ms",
            "2000",
            "--database-connect-timeout-ms",
            "1000",
        ],
    );
    let api = provision(&node, &node).await;
    let token = api.client_credentials().await.unwrap().unwrap();
    let ready = |base: String| async move {
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready(node.base.clone()).await, 200);

    relay.cut();
    let started = Instant::now();
    assert_eq!(ready(node.base.clone()).await, 503);
    let (status, reply) = api
        .call("/api/auth/introspection", json!({ "token": token }))
        .await
        .unwrap();
    assert_eq!(status, 500, "{reply}");
    assert_eq!(reply["resultCode"], "A001101", "{reply}");
    let (status, _) = api
        .call(
            "/api/auth/token",
            json!({"parameters": "grant_type=client_credentials",
                   "clientId": api.client_id, "clientSecret": api.client_secret}),
        )
        .await
        .unwrap();
    assert_eq!(status, 500);
    // Each answer came within the operation deadline, not after a hang.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    relay.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready(node.base.clone()).await != 200 {
        assert!(Instant::now() < deadline, "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(api.active(&token).await);
}

/// Runs `castellan <args>` to completion; panics with its output when it fails.
fn run_castellan(args: &[&str]) {
    let output = castellan().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "castellan {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Stops a node with SIGTERM and waits for it.
fn stop(mut node: Node) {
    node.signal("TERM");
    assert!(node.child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_import_move_an_installation_both_ways() {
    let Some(server) = test_server_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let embedded = dir.path().join("embedded");
    let embedded_arg = embedded.to_str().unwrap();
    let node = Node::start_with(&["--data-dir", embedded_arg], &[]);
    let api = provision(&node, &node).await.on(&node);
    // A grant in each state: a code not yet redeemed, a refreshed token, a pending ticket.
    let code = code_across(&api, &api).await;
    let first = api.redeem(&code_across(&api, &api).await).await;
    let refreshed = api.refresh(first["refreshToken"].as_str().unwrap()).await;
    assert_eq!(refreshed["action"], "OK", "{refreshed}");
    let ticket = api.authorize().await["ticket"].clone();
    stop(node);

    // Embedded → PostgreSQL.
    let db = ScratchDatabase::create(&server).await;
    let dump = dir.path().join("export.jsonl");
    let dump_arg = dump.to_str().unwrap();
    run_castellan(&["export", "--data-dir", embedded_arg, "--output", dump_arg]);
    run_castellan(&["import", "--database", &db.url, "--input", dump_arg]);
    // A second import finds the target in use and refuses.
    let again = castellan()
        .args(["import", "--database", &db.url, "--input", dump_arg])
        .output()
        .unwrap();
    assert!(!again.status.success());

    let node = Node::start(&db.url, &[]);
    let on_pg = api.on(&node);
    assert_eq!(on_pg.issue(&ticket).await["action"], "LOCATION");
    let redeemed = on_pg.redeem(&code).await;
    assert_eq!(redeemed["action"], "OK", "{redeemed}");
    let live = refreshed["accessToken"].as_str().unwrap();
    assert!(on_pg.active(live).await);
    // The refresh token rotated out before the move is still known as a replay.
    let replay = on_pg.refresh(first["refreshToken"].as_str().unwrap()).await;
    assert_eq!(replay["action"], "BAD_REQUEST", "{replay}");
    let walk = on_pg.redeem(&code_across(&on_pg, &on_pg).await).await;
    assert_eq!(walk["action"], "OK", "{walk}");
    stop(node);

    // PostgreSQL → a new embedded database.
    let back = dir.path().join("back");
    let back_arg = back.to_str().unwrap();
    let dump2 = dir.path().join("export2.jsonl");
    let dump2_arg = dump2.to_str().unwrap();
    run_castellan(&["export", "--database", &db.url, "--output", dump2_arg]);
    run_castellan(&["import", "--data-dir", back_arg, "--input", dump2_arg]);
    let node = Node::start_with(&["--data-dir", back_arg], &[]);
    let on_back = api.on(&node);
    assert!(on_back.active(walk["accessToken"].as_str().unwrap()).await);
    assert!(
        on_back
            .active(redeemed["accessToken"].as_str().unwrap())
            .await
    );
    let walk = on_back.redeem(&code_across(&on_back, &on_back).await).await;
    assert_eq!(walk["action"], "OK", "{walk}");
    let refreshed = on_back
        .refresh(walk["refreshToken"].as_str().unwrap())
        .await;
    assert_eq!(refreshed["action"], "OK", "{refreshed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_additions_on_both_nodes_are_all_kept() {
    let Some((_db, a, b, api)) = two_nodes().await else {
        return;
    };
    let path = format!("/api/service/keys/add/{}", api.key);
    let mut adds = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let (http, url) = (api.http.clone(), format!("{base}{path}"));
        adds.push(tokio::spawn(async move {
            let reply: Value = http
                .post(url)
                .basic_auth(OWNER_KEY, Some(OWNER_SECRET))
                .json(&json!({"alg": "ES256"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reply["kid"].as_str().expect("a kid").to_owned()
        }));
    }
    let mut kids = Vec::new();
    for add in adds {
        kids.push(add.await.unwrap());
    }
    // Read back through either node: every key added through either is there.
    for node in [&a, &b] {
        let keys = api.on(node).get("/api/service/jwks/get").await;
        let published = keys["keys"].as_array().unwrap();
        for kid in &kids {
            assert!(
                published.iter().any(|k| k["kid"] == kid.as_str()),
                "{kid} lost"
            );
        }
        assert_eq!(published.len(), 4 + kids.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_refresh_survives_concurrent_updates_on_the_other_node() {
    let Some((_db, a, b, api)) = two_nodes().await else {
        return;
    };
    let (on_a, on_b) = (api.on(&a), api.on(&b));
    let client_path = |verb: &str| format!("/api/client/{verb}/{}", api.client_id);
    // Twenty settings updates through A race one secret refresh through B.
    let start = Arc::new(tokio::sync::Barrier::new(21));
    let mut updates = Vec::new();
    for i in 0..20 {
        let (on_a, path, start) = (on_a.clone(), client_path("update"), start.clone());
        let mut client = on_a.get(&client_path("get")).await;
        updates.push(tokio::spawn(async move {
            client["clientName"] = json!(format!("renamed {i}"));
            start.wait().await;
            on_a.post(&path, client).await;
        }));
    }
    start.wait().await;
    let refreshed = on_b.get(&client_path("secret/refresh")).await;
    for update in updates {
        update.await.unwrap();
    }
    let new_secret = refreshed["newClientSecret"].as_str().unwrap().to_owned();
    assert_eq!(refreshed["oldClientSecret"], api.client_secret.as_str());
    assert!(
        on_a.get(&client_path("get")).await["clientName"]
            .as_str()
            .unwrap()
            .starts_with("renamed")
    );
    // The refreshed secret is the one that works, on both nodes once their caches turn over.
    tokio::time::sleep(Duration::from_millis(CACHE_TTL_MS)).await;
    for node in [&a, &b] {
        let with_new = Api {
            client_secret: new_secret.clone(),
            ..api.on(node)
        };
        assert!(with_new.client_credentials().await.unwrap().is_some());
        assert!(api.on(node).client_credentials().await.unwrap().is_none());
    }
}
