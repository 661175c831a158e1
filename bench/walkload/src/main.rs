//! Closed-loop load of the four-call walk-through against a Castellan server:
//! `/api/auth/authorization` → `/api/auth/authorization/issue` → `/api/auth/token` →
//! `/api/auth/introspection`, each flow on one keep-alive connection, `--conc` connections at
//! once, for `--seconds`. Prints one JSON line shaped like `load/post.lua`'s summary (so
//! `bench.py` reads both alike) plus flows per second and per-call percentiles.
//!
//! With `--peer`, it runs the same flow against node-oidc-provider (bench/peer-oidc-provider)
//! as a relying party would: `GET /auth` → `GET /interaction/{uid}` (the peer's stand-in for
//! login and consent, finished at once) → `GET /auth/{uid}` → `POST /token` →
//! `POST /token/introspection`, with cookies. Its "issue" step is the two interaction calls.
//!
//! It speaks just enough HTTP/1.1 for this (one request in flight per connection, bodies with
//! Content-Length) so that it costs the loaded machine as little as wrk does.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use clap::Parser;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser, Debug, Clone)]
struct Args {
    /// Base URL of the server (loopback only), e.g. http://127.0.0.1:8081
    #[arg(long)]
    base: String,
    #[arg(long, default_value = "")]
    api_key: String,
    #[arg(long, default_value = "")]
    api_secret: String,
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    client_secret: String,
    #[arg(long, default_value = "https://client.example.org/cb/example.com")]
    redirect_uri: String,
    #[arg(long, default_value = "testuser01")]
    subject: String,
    /// Connections, each running one flow at a time.
    #[arg(long, default_value_t = 16)]
    conc: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Drive node-oidc-provider's authorization code flow instead of Castellan's API;
    /// `--api-key`/`--api-secret` are then ignored and the client credentials are sent as
    /// HTTP Basic to the token and introspection endpoints.
    #[arg(long)]
    peer: bool,
    /// Socket timeout per call, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// The scope of the authorization request (`openid profile` makes every flow issue an ID
    /// token at the token endpoint). Castellan only.
    #[arg(long, default_value = "profile")]
    scope: String,
}

const STEPS: [&str; 4] = ["authorization", "issue", "token", "introspection"];

#[derive(Default)]
struct Stats {
    /// Latency of each successful call, in microseconds, per step.
    latencies: [Vec<u32>; 4],
    /// HTTP calls answered as expected.
    calls: u64,
    flows: u64,
    io_errors: u64,
    status_errors: u64,
    timeouts: u64,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        for (mine, theirs) in self.latencies.iter_mut().zip(other.latencies) {
            mine.extend(theirs);
        }
        self.calls += other.calls;
        self.flows += other.flows;
        self.io_errors += other.io_errors;
        self.status_errors += other.status_errors;
        self.timeouts += other.timeouts;
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: TcpStream,
    host: String,
    authorization: String,
    buf: Vec<u8>,
}

enum CallError {
    Io(anyhow::Error),
    Timeout,
    /// The server answered, but not with HTTP 200 and the expected action.
    Unexpected(String),
}

impl Conn {
    async fn open(host: &str, authorization: &str) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            host: host.to_owned(),
            authorization: authorization.to_owned(),
            buf: Vec::with_capacity(8192),
        })
    }

    async fn post(&mut self, path: &str, body: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let headers = format!(
            "Authorization: {}\r\nContent-Type: application/json\r\n",
            self.authorization
        );
        let (status, _, body) = self.send("POST", path, &headers, body).await?;
        Ok((status, body))
    }

    /// Sends one request (`headers`: extra header lines, each ending in CRLF); returns the
    /// status, the response head and the body.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &str,
        body: &str,
    ) -> anyhow::Result<(u16, String, Vec<u8>)> {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Accept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        self.stream.write_all(request.as_bytes()).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> anyhow::Result<(u16, String, Vec<u8>)> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .context("response head")?
            .to_owned();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or_else(|| anyhow!("response without Content-Length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok((status, head, body))
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Calls `path` and returns the reply's JSON when it is HTTP 200 with `action == expected`.
async fn call(
    conn: &mut Conn,
    path: &str,
    body: &Value,
    expected: &str,
    timeout: Duration,
) -> Result<Value, CallError> {
    let body = body.to_string();
    let (status, reply) = match tokio::time::timeout(timeout, conn.post(path, &body)).await {
        Err(_) => return Err(CallError::Timeout),
        Ok(Err(e)) => return Err(CallError::Io(e)),
        Ok(Ok(r)) => r,
    };
    let json: Value = serde_json::from_slice(&reply)
        .map_err(|e| CallError::Unexpected(format!("{path}: not JSON: {e}")))?;
    if status != 200 || json["action"] != expected {
        return Err(CallError::Unexpected(format!(
            "{path}: HTTP {status}, action {}, {}",
            json["action"], json["resultMessage"]
        )));
    }
    Ok(json)
}

fn field<'a>(json: &'a Value, name: &str) -> Result<&'a str, CallError> {
    json[name]
        .as_str()
        .ok_or_else(|| CallError::Unexpected(format!("reply without {name}")))
}

/// One walk-through; pushes each call's latency as it completes.
async fn flow(conn: &mut Conn, args: &Args, stats: &mut Stats) -> Result<(), CallError> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let redirect = utf8_percent_encode(&args.redirect_uri, NON_ALPHANUMERIC).to_string();
    let mut timed = async |step: usize, path: &str, body: Value, expected: &str| {
        let started = Instant::now();
        let reply = call(conn, path, &body, expected, timeout).await?;
        stats.latencies[step].push(micros_since(started));
        stats.calls += 1;
        Ok::<Value, CallError>(reply)
    };
    let scope = utf8_percent_encode(&args.scope, NON_ALPHANUMERIC).to_string();
    let parameters = format!(
        "response_type=code&client_id={}&redirect_uri={redirect}&state=s1&scope={scope}&nonce=n1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        args.client_id
    );
    let reply = timed(
        0,
        "/api/auth/authorization",
        json!({ "parameters": parameters }),
        "INTERACTION",
    )
    .await?;
    let ticket = field(&reply, "ticket")?.to_owned();
    let reply = timed(
        1,
        "/api/auth/authorization/issue",
        json!({ "ticket": ticket, "subject": args.subject }),
        "LOCATION",
    )
    .await?;
    let code = field(&reply, "authorizationCode")?.to_owned();
    let reply = timed(
        2,
        "/api/auth/token",
        json!({
            "parameters": format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&code_verifier={VERIFIER}"),
            "clientId": args.client_id,
            "clientSecret": args.client_secret,
        }),
        "OK",
    )
    .await?;
    let token = field(&reply, "accessToken")?.to_owned();
    timed(
        3,
        "/api/auth/introspection",
        json!({ "token": token }),
        "OK",
    )
    .await?;
    Ok(())
}

/// RFC 7636's example PKCE pair: both flows use PKCE (the peer requires it).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn micros_since(started: Instant) -> u32 {
    u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX)
}

/// The value of the first header `name` in a response head.
fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Keeps the name=value of every Set-Cookie in `head`, replacing older values.
fn keep_cookies(head: &str, jar: &mut Vec<(String, String)>) {
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.eq_ignore_ascii_case("set-cookie") {
            continue;
        }
        let pair = value.trim().split(';').next().unwrap_or("");
        if let Some((k, v)) = pair.split_once('=') {
            jar.retain(|(old, _)| old != k);
            jar.push((k.to_owned(), v.to_owned()));
        }
    }
}

/// A GET that must answer with a redirect; returns the Location (path only, for this host).
async fn follow(
    conn: &mut Conn,
    path: &str,
    jar: &mut Vec<(String, String)>,
    timeout: Duration,
) -> Result<String, CallError> {
    let cookies = if jar.is_empty() {
        String::new()
    } else {
        let pairs: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("Cookie: {}\r\n", pairs.join("; "))
    };
    let (status, head, _) =
        match tokio::time::timeout(timeout, conn.send("GET", path, &cookies, "")).await {
            Err(_) => return Err(CallError::Timeout),
            Ok(Err(e)) => return Err(CallError::Io(e)),
            Ok(Ok(r)) => r,
        };
    keep_cookies(&head, jar);
    let location = header_value(&head, "location")
        .filter(|_| (300..400).contains(&status))
        .ok_or_else(|| CallError::Unexpected(format!("GET {path}: HTTP {status}, no redirect")))?;
    let origin = format!("http://{}", conn.host);
    Ok(location
        .strip_prefix(&origin)
        .unwrap_or(location)
        .to_owned())
}

/// A form POST with HTTP Basic client credentials that must answer 200 with JSON.
async fn post_form(
    conn: &mut Conn,
    path: &str,
    basic: &str,
    body: &str,
    timeout: Duration,
) -> Result<Value, CallError> {
    let headers =
        format!("Authorization: {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    let (status, _, reply) =
        match tokio::time::timeout(timeout, conn.send("POST", path, &headers, body)).await {
            Err(_) => return Err(CallError::Timeout),
            Ok(Err(e)) => return Err(CallError::Io(e)),
            Ok(Ok(r)) => r,
        };
    let json: Value = serde_json::from_slice(&reply)
        .map_err(|e| CallError::Unexpected(format!("{path}: not JSON: {e}")))?;
    if status != 200 {
        return Err(CallError::Unexpected(format!(
            "{path}: HTTP {status}: {json}"
        )));
    }
    Ok(json)
}

/// One walk-through against node-oidc-provider (see the module documentation).
async fn peer_flow(conn: &mut Conn, args: &Args, stats: &mut Stats) -> Result<(), CallError> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let redirect = utf8_percent_encode(&args.redirect_uri, NON_ALPHANUMERIC).to_string();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", args.client_id, args.client_secret))
    );
    // A new user agent per flow, as each Castellan flow is a new authorization.
    let mut jar = Vec::new();

    let started = Instant::now();
    let authorize = format!(
        "/auth?response_type=code&client_id={}&redirect_uri={redirect}&state=s1&scope=api%3Aread&code_challenge={CHALLENGE}&code_challenge_method=S256",
        args.client_id
    );
    let interaction = follow(conn, &authorize, &mut jar, timeout).await?;
    stats.latencies[0].push(micros_since(started));
    stats.calls += 1;

    let started = Instant::now();
    let resume = follow(conn, &interaction, &mut jar, timeout).await?;
    let back = follow(conn, &resume, &mut jar, timeout).await?;
    stats.latencies[1].push(micros_since(started));
    stats.calls += 2;
    let code = back
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .ok_or_else(|| CallError::Unexpected(format!("no code in {back}")))?
        .to_owned();

    let started = Instant::now();
    let token = post_form(
        conn,
        "/token",
        &basic,
        &format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}&code_verifier={VERIFIER}"),
        timeout,
    )
    .await?;
    stats.latencies[2].push(micros_since(started));
    stats.calls += 1;
    let access = token["access_token"]
        .as_str()
        .ok_or_else(|| CallError::Unexpected(format!("no access_token: {token}")))?
        .to_owned();

    let started = Instant::now();
    let seen = post_form(
        conn,
        "/token/introspection",
        &basic,
        &format!("token={access}"),
        timeout,
    )
    .await?;
    if seen["active"] != true {
        return Err(CallError::Unexpected(format!("introspection: {seen}")));
    }
    stats.latencies[3].push(micros_since(started));
    stats.calls += 1;
    Ok(())
}

/// Runs flows on one connection until `deadline`, reconnecting after a failure.
async fn worker(args: Args, host: String, authorization: String, deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    let mut conn: Option<Conn> = None;
    while Instant::now() < deadline {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::open(&host, &authorization).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    stats.io_errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let outcome = if args.peer {
            peer_flow(c, &args, &mut stats).await
        } else {
            flow(c, &args, &mut stats).await
        };
        match outcome {
            Ok(()) => stats.flows += 1,
            Err(CallError::Unexpected(message)) => {
                if stats.status_errors == 0 {
                    eprintln!("walkload: unexpected reply: {message}");
                }
                stats.status_errors += 1;
            }
            Err(CallError::Timeout) => {
                stats.timeouts += 1;
                conn = None;
            }
            Err(CallError::Io(e)) => {
                if stats.io_errors == 0 {
                    eprintln!("walkload: {e:#}");
                }
                stats.io_errors += 1;
                conn = None;
            }
        }
    }
    stats
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(sorted: &[u32]) -> Value {
    let n = sorted.len().max(1) as f64;
    let mean = sorted.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = sorted
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    json!({
        "mean": (mean * 10.0).round() / 10.0,
        "stdev": (var.sqrt() * 10.0).round() / 10.0,
        "p50": percentile(sorted, 50.0),
        "p90": percentile(sorted, 90.0),
        "p99": percentile(sorted, 99.0),
        "p999": percentile(sorted, 99.9),
        "max": sorted.last().copied().unwrap_or(0),
    })
}

fn loopback_host(base: &str) -> anyhow::Result<String> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--base must be an http:// URL"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if !(name == "localhost" || name.starts_with("127.") || name == "[::1]") {
        bail!("refusing non-loopback target {base}");
    }
    Ok(host.to_owned())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let host = loopback_host(&args.base)?;
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", args.api_key, args.api_secret))
    );
    // One thread: the generator is pinned to its own core, like wrk with one thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let stats = runtime.block_on(async {
        let tasks: Vec<_> = (0..args.conc)
            .map(|_| {
                tokio::spawn(worker(
                    args.clone(),
                    host.clone(),
                    authorization.clone(),
                    deadline,
                ))
            })
            .collect();
        let mut all = Stats::default();
        for task in tasks {
            if let Ok(stats) = task.await {
                all.merge(stats);
            }
        }
        all
    });
    let duration = started.elapsed().as_secs_f64();

    let mut every: Vec<u32> = stats.latencies.iter().flatten().copied().collect();
    every.sort_unstable();
    let mut steps = serde_json::Map::new();
    for (name, latencies) in STEPS.iter().zip(&stats.latencies) {
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        steps.insert((*name).to_owned(), summary(&sorted));
    }
    let requests = stats.calls;
    let out = json!({
        "requests": requests,
        "duration_s": (duration * 1000.0).round() / 1000.0,
        "bytes": 0,
        "rps": (requests as f64 / duration * 10.0).round() / 10.0,
        "errors": {
            "connect": 0,
            "read": stats.io_errors,
            "write": 0,
            "status": stats.status_errors,
            "timeout": stats.timeouts,
        },
        "lat_us": summary(&every),
        "flows": stats.flows,
        "flows_per_s": (stats.flows as f64 / duration * 10.0).round() / 10.0,
        "steps": steps,
    });
    println!("{out}");
    Ok(())
}
