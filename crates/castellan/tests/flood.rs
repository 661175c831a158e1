//! A connection flood against the real binary under a 1,024 open-file limit: 1,200 idle and
//! slow-header connections must not stop it from answering, nor from shutting down in time.
//! Loopback only, bounded in count and time.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const IDLE: usize = 600;

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
const SLOW_HEADER: usize = 600;
const DRAIN_MS: u64 = 2000;
const BODY_MS: u64 = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_do_not_lock_clients_out() {
    // This process holds all 1,200 sockets, so it needs more than 1,024 descriptors itself.
    let ours = rlimit::increase_nofile_limit(8192).unwrap();
    assert!(ours >= 2 * (IDLE + SLOW_HEADER) as u64, "limit {ours}");
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -n 1024 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_castellan"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--master-key-file")
        .arg(dir.path().join("master.key"))
        .args(["--drain-timeout-ms", &DRAIN_MS.to_string()])
        .args(["--body-read-timeout-ms", &BODY_MS.to_string()])
        .env("CASTELLAN_NO_DEMO", "1")
        .env("CASTELLAN_SERVICE_OWNER_API_KEY", "1001")
        .env("CASTELLAN_SERVICE_OWNER_API_SECRET", "owner-secret")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed if the test fails before it stops the server itself.
    let mut child = KillOnDrop(child);
    let pid = child.0.id();
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut banner = String::new();
    let mut base = None;
    while base.is_none() || !banner.contains("database:") {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{banner}");
        if let Some(addr) = line.strip_prefix("Castellan listening on ") {
            base = Some(addr.trim().to_owned());
        }
        banner.push_str(&line);
    }
    std::thread::spawn(move || for _ in stdout.lines() {});
    let mut stderr = child.0.stderr.take().unwrap();
    let stderr_text = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let base = base.unwrap();
    let addr = base.trim_start_matches("http://").to_owned();
    // CASTELLAN_NO_DEMO=1 is read as true.
    assert!(!banner.contains("demo service"), "{banner}");

    // A service and a client to ask for tokens with.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let service: Value = http
        .post(format!("{base}/api/service/create"))
        .basic_auth("1001", Some("owner-secret"))
        .json(
            &json!({"serviceName": "flood", "supportedGrantTypes": ["CLIENT_CREDENTIALS"],
                      "supportedScopes": [{"name": "read"}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = service["apiKey"].as_i64().unwrap().to_string();
    let secret = service["apiSecret"].as_str().unwrap().to_owned();
    let client: Value = http
        .post(format!("{base}/api/client/create"))
        .basic_auth(&key, Some(&secret))
        .json(
            &json!({"clientName": "c", "grantTypes": ["CLIENT_CREDENTIALS"],
                      "tokenAuthMethod": "CLIENT_SECRET_BASIC"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_body = json!({"parameters": "grant_type=client_credentials&scope=read",
                            "clientId": client["clientId"].as_i64().unwrap().to_string(),
                            "clientSecret": client["clientSecret"]});

    // The flood: sockets that never send anything, and sockets stuck mid-header.
    let flood_addr = addr.clone();
    let sockets = tokio::task::spawn_blocking(move || {
        let mut held = Vec::with_capacity(IDLE + SLOW_HEADER);
        for i in 0..IDLE + SLOW_HEADER {
            let mut s = TcpStream::connect(&flood_addr).unwrap();
            if i % 2 == 1 {
                let _ = s.write_all(b"POST /api/auth/token HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            }
            held.push(s);
        }
        held
    })
    .await
    .unwrap();

    // While they are open, real calls are answered, each within a second.
    for round in 0..5 {
        let started = Instant::now();
        let health = http.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let healthz = started.elapsed();
        let started = Instant::now();
        let token: Value = http
            .post(format!("{base}/api/auth/token"))
            .basic_auth(&key, Some(&secret))
            .json(&token_body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token_time = started.elapsed();
        assert_eq!(token["action"], "OK", "{token}");
        assert!(
            healthz < Duration::from_secs(1) && token_time < Duration::from_secs(1),
            "round {round}: /healthz {healthz:?}, token {token_time:?}"
        );
    }
    // A body that never arrives (here to the console's sign-in, which needs no credentials)
    // is given up at the body deadline: the request cannot stay in progress for ever.
    let stalled_addr = addr.clone();
    let stalled = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(&stalled_addr).unwrap();
        s.write_all(
            b"POST /console/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\napi_key=1",
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let started = Instant::now();
        let mut reply = Vec::new();
        let _ = s.read_to_end(&mut reply);
        (started.elapsed(), String::from_utf8_lossy(&reply).into_owned())
    })
    .await
    .unwrap();
    assert!(
        stalled.0 < Duration::from_millis(BODY_MS + 3000),
        "{stalled:?}"
    );
    assert!(
        stalled.1.is_empty() || stalled.1.starts_with("HTTP/1.1 4"),
        "{stalled:?}"
    );

    let open_files = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    assert!(open_files <= 1024, "{open_files}");

    // SIGTERM ends the server within the drain deadline, whatever the slow clients do.
    let started = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_millis(DRAIN_MS + 5000),
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    drop(sockets);
    // The low open-file limit was noticed.
    let stderr = stderr_text.join().unwrap();
    assert!(stderr.contains("open-file limit"), "{stderr}");
}
