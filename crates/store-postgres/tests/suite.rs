//! The shared storage suite against PostgreSQL, plus what only a shared database can show.
//! Each case runs on a scratch database of its own (see `castellan_store_postgres::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use castellan_store::testsuite::{client, hash, hashes, service, token};
use castellan_store::{Redemption, RefreshLookup, Rotation, Store, StoreError};
use castellan_store_postgres::testing::{ScratchDatabase, test_server_url};
use castellan_store_postgres::{PoolOptions, PostgresStore, SCHEMA_VERSION};

async fn make_store() -> Option<(PostgresStore, ScratchDatabase)> {
    let server = test_server_url()?;
    let db = ScratchDatabase::create(&server).await;
    let store = PostgresStore::open(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    Some((store, db))
}

castellan_store::store_suite!(make_store);

/// Two stores on one database stand for two nodes.
async fn two_nodes(db: &ScratchDatabase) -> (Arc<PostgresStore>, Arc<PostgresStore>) {
    let a = PostgresStore::open(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let b = PostgresStore::open(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    (Arc::new(a), Arc::new(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await;
    let mut starts = Vec::new();
    for _ in 0..8 {
        let url = db.url.clone();
        starts.push(tokio::spawn(async move {
            let store = PostgresStore::connect(&url, &PoolOptions::default()).unwrap();
            store.migrate().await
        }));
    }
    let mut applied = Vec::new();
    for start in starts {
        applied.extend(start.await.unwrap().unwrap());
    }
    let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
    applied.sort_unstable();
    assert_eq!(applied, expected, "each migration applied exactly once");
    // A later start finds nothing to do.
    let store = PostgresStore::open(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    assert!(store.migrate().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_newer_schema() {
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await;
    let store = PostgresStore::open(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    store.meta_set("probe", "1").await.unwrap();
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "INSERT INTO castellan_schema (version, name, applied_at) VALUES (999, 'future', 0)",
        )
        .await
        .unwrap();
    match PostgresStore::open(&db.url, &PoolOptions::default()).await {
        Err(StoreError::Backend(message)) => assert!(message.contains("newer"), "{message}"),
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("opened a database from the future"),
    }
}

/// A code redeemed at once through two nodes: one redemption wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redemption_across_nodes_has_one_winner() {
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await;
    let (a, b) = two_nodes(&db).await;
    let code = castellan_store::testsuite::code(11, 101, "g1");
    a.put_code(&hash("c1"), &code).await.unwrap();
    let t = token(11, 101, Some("alice"), "g1");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            store
                .redeem_code(&hash("c1"), &hashes(&format!("at{i}"), None), &t, false)
                .await
        }));
    }
    let mut redeemed = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Redemption::Redeemed => redeemed += 1,
            Redemption::AlreadyUsed => {}
            Redemption::NotFound => panic!("the code vanished"),
        }
    }
    assert_eq!(redeemed, 1);
}

/// One refresh token rotated at once through two nodes: one rotation wins, and the old
/// token is then recognised as retired on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_across_nodes_has_one_winner() {
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await;
    let (a, b) = two_nodes(&db).await;
    let t = token(11, 101, Some("alice"), "g1");
    a.insert_token(&hashes("at0", Some("rt0")), &t, false)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let new = hashes(&format!("at{}", i + 1), Some(&format!("rt{}", i + 1)));
            store.rotate_refresh(&hash("rt0"), &new, &t).await
        }));
    }
    let mut rotated = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == Rotation::Rotated {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
    for store in [&a, &b] {
        assert!(matches!(
            store.get_token_by_refresh(&hash("rt0")).await.unwrap(),
            RefreshLookup::Retired { .. }
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_fails_fast() {
    // Nothing listens on port 1: every operation must fail, not hang.
    let options = PoolOptions {
        connect_timeout: std::time::Duration::from_millis(500),
        operation_timeout: std::time::Duration::from_secs(2),
        ..PoolOptions::default()
    };
    let store = PostgresStore::connect("postgres://castellan@127.0.0.1:1/none", &options).unwrap();
    let started = std::time::Instant::now();
    match store.ping().await {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("unavailable"), "{message}")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        store.get_service(1).await,
        Err(StoreError::Backend(_))
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Something the parser rejects is reported, not a panic.
    assert!(PostgresStore::connect("postgres://a b@:x/", &options).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_and_clients_are_shared() {
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await;
    let (a, b) = two_nodes(&db).await;
    a.create_service(service(11, 1, "one")).await.unwrap();
    a.create_client(client(11, 101, Some("web"), None))
        .await
        .unwrap();
    assert_eq!(
        b.get_client_by_alias(11, "web")
            .await
            .unwrap()
            .unwrap()
            .client
            .client_id,
        101
    );
    // Numbers are assigned by the database, so nodes never hand out the same one.
    let next = b.create_service(service(12, 1, "two")).await.unwrap();
    assert_eq!(next.service.number, 2);
    assert!(matches!(
        b.create_service(service(11, 1, "dup")).await,
        Err(StoreError::Conflict(_))
    ));
}

/// The test server's URL with `host` and extra parameters, when the server speaks TLS with the
/// certificate Debian generates for `localhost` (the machines this project tests on).
fn tls_setup(server: &str, host: &str, params: &str) -> Option<(String, std::path::PathBuf)> {
    let ca = std::path::PathBuf::from("/etc/ssl/certs/ssl-cert-snakeoil.pem");
    if !ca.exists() {
        eprintln!("skipped: no {} to trust for TLS", ca.display());
        return None;
    }
    let mut url = url::Url::parse(server).unwrap();
    url.set_host(Some(host)).unwrap();
    url.set_query(Some(params));
    Some((url.to_string(), ca))
}

async fn server_speaks_tls(server: &str) -> bool {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client.query_one("SHOW ssl", &[]).await.unwrap();
    let on = row.get::<_, String>(0) == "on";
    if !on {
        eprintln!("skipped: the test server has ssl off");
    }
    on
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_connections_verify_the_server() {
    let Some(server) = test_server_url() else {
        return;
    };
    if !server_speaks_tls(&server).await {
        return;
    }
    let Some((url, ca)) = tls_setup(&server, "localhost", "sslmode=require") else {
        return;
    };
    let quick = PoolOptions {
        connect_timeout: std::time::Duration::from_secs(2),
        operation_timeout: std::time::Duration::from_secs(4),
        ..PoolOptions::default()
    };

    // Trusting the server's certificate: connected, over TLS.
    let trusted = PostgresStore::connect(
        &url,
        &PoolOptions {
            ca_file: Some(ca.clone()),
            ..quick.clone()
        },
    )
    .unwrap();
    trusted.ping().await.unwrap();
    let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let encrypted: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
             WHERE ssl AND application_name = 'castellan'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(encrypted >= 1);

    // A CA that did not sign the server's certificate does not vouch for it.
    let other_ca = std::env::temp_dir().join(format!("castellan-other-ca-{}", std::process::id()));
    let bundle = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    let first = bundle
        .split_inclusive("-----END CERTIFICATE-----")
        .next()
        .unwrap_or_default();
    std::fs::write(&other_ca, first).unwrap();
    let untrusted = PostgresStore::connect(
        &url,
        &PoolOptions {
            ca_file: Some(other_ca.clone()),
            ..quick.clone()
        },
    );
    std::fs::remove_file(&other_ca).unwrap();
    if first.contains("BEGIN CERTIFICATE") {
        match untrusted.unwrap().ping().await {
            Err(StoreError::Backend(message)) => {
                assert!(message.contains("certificate"), "{message}")
            }
            other => panic!("connected to an unverified server: {other:?}"),
        }
    } else {
        eprintln!("skipped the untrusted-CA case: no system CA bundle to borrow a CA from");
    }

    // The certificate names localhost, not 127.0.0.1.
    let (by_address, _) = tls_setup(&server, "127.0.0.1", "sslmode=require").unwrap();
    let misnamed = PostgresStore::connect(
        &by_address,
        &PoolOptions {
            ca_file: Some(ca),
            ..quick
        },
    )
    .unwrap();
    assert!(matches!(misnamed.ping().await, Err(StoreError::Backend(_))));

    // A CA file that is not PEM is refused at once.
    let dir = std::env::temp_dir().join(format!("castellan-ca-{}", std::process::id()));
    std::fs::write(&dir, "not a certificate").unwrap();
    let refused = PostgresStore::connect(
        &url,
        &PoolOptions {
            ca_file: Some(dir.clone()),
            ..PoolOptions::default()
        },
    );
    std::fs::remove_file(&dir).unwrap();
    assert!(matches!(refused, Err(StoreError::Backend(_))));
}

/// `singleAccessTokenPerSubject` through two nodes at once: one token for the subject remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusive_issuance_across_nodes_leaves_one_token() {
    let Some(server) = test_server_url() else {
        return;
    };
    let db = ScratchDatabase::create(&server).await;
    let (a, b) = two_nodes(&db).await;
    a.create_service(service(11, 1, "one")).await.unwrap();
    a.create_client(client(11, 101, None, None)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let t = token(11, 101, Some("alice"), &format!("g{i}"));
            store
                .insert_token(&hashes(&format!("at{i}"), None), &t, true)
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut live = 0;
    for i in 0..20 {
        if a.get_token_by_access(&hash(&format!("at{i}")))
            .await
            .unwrap()
            .is_some()
        {
            live += 1;
        }
    }
    assert_eq!(live, 1);
}
