//! A rough throughput check, not part of the normal run:
//! `cargo test --release -p castellan-store-sqlite --test throughput -- --ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use castellan_store::Store;
use castellan_store::testsuite::{hash, hashes, token};
use castellan_store_sqlite::SqliteStore;

const TASKS: usize = 64;
const TOKENS: usize = 20_000;
const LOOKUPS: usize = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn durable_inserts_and_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("castellan.db")).unwrap());
    // Hashing is the caller's cost, not the store's: prepare everything first.
    let work: Vec<Vec<_>> = (0..TASKS)
        .map(|t| {
            (t..TOKENS)
                .step_by(TASKS)
                .map(|n| hashes(&format!("at-{n}"), Some(&format!("rt-{n}"))))
                .collect()
        })
        .collect();
    let record = token(11, 101, Some("alice"), "g1");

    let started = Instant::now();
    let mut tasks = Vec::new();
    for batch in work {
        let (store, record) = (store.clone(), record.clone());
        tasks.push(tokio::spawn(async move {
            for h in batch {
                store.insert_token(&h, &record, false).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{TOKENS} durable token inserts from {TASKS} tasks: {secs:.2} s, {:.0}/s",
        TOKENS as f64 / secs
    );

    let keys: Vec<_> = (0..LOOKUPS)
        .map(|i| hash(&format!("at-{}", i % TOKENS)))
        .collect();
    let started = Instant::now();
    for key in &keys {
        assert!(store.get_token_by_access(key).await.unwrap().is_some());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{LOOKUPS} lookups by access token on one task: {secs:.2} s, {:.0}/s",
        LOOKUPS as f64 / secs
    );
}
