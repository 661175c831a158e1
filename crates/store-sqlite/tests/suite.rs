//! The shared storage suite, plus what only a file-backed store can show.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use castellan_core::records::TicketKind;
use castellan_store::testsuite::{client, hash, hashes, service, token};
use castellan_store::{RefreshLookup, Store, StoreError};
use castellan_store_sqlite::SqliteStore;
use tempfile::TempDir;

async fn make_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("castellan.db")).unwrap();
    (store, dir)
}

castellan_store::store_suite!(|| async { Some(make_store().await) });

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // The directory does not exist yet: opening creates it.
    let path = dir.path().join("data").join("castellan.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.meta_set("fingerprint", "abc").await.unwrap();
        store.create_service(service(11, 1, "one")).await.unwrap();
        store
            .create_client(client(11, 101, Some("web"), None))
            .await
            .unwrap();
        let t = token(11, 101, Some("alice"), "g1");
        store
            .insert_token(&hashes("at1", Some("rt1")), &t, false)
            .await
            .unwrap();
        store
            .rotate_refresh(&hash("rt1"), &hashes("at2", Some("rt2")), &t)
            .await
            .unwrap();
        store
            .put_ticket(TicketKind::Authorization, &hash("t1"), 11, "{}", 1)
            .await
            .unwrap();
    }
    // Dropping the store closed every connection cleanly: the log was folded into the file.
    assert!(!path.with_extension("db-wal").exists());

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.meta_get("fingerprint").await.unwrap().as_deref(),
        Some("abc")
    );
    assert_eq!(
        store.get_service(11).await.unwrap().unwrap().service.number,
        1
    );
    let c = store.get_client_by_alias(11, "web").await.unwrap().unwrap();
    assert_eq!(c.client.client_id, 101);
    assert!(
        store
            .get_token_by_access(&hash("at2"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt1")).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
    assert!(
        store
            .take_ticket(TicketKind::Authorization, &hash("t1"), 11)
            .await
            .unwrap()
            .is_some()
    );
    // Numbers continue where they left off.
    let next = store.create_service(service(12, 1, "two")).await.unwrap();
    assert_eq!(next.service.number, 2);
}

#[tokio::test]
async fn deleted_numbers_are_not_reused() {
    let (store, _dir) = make_store().await;
    store.create_service(service(11, 1, "one")).await.unwrap();
    store.create_service(service(12, 1, "two")).await.unwrap();
    assert!(store.delete_service(12).await.unwrap());
    let next = store.create_service(service(13, 1, "three")).await.unwrap();
    assert_eq!(next.service.number, 3);
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("castellan.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    match SqliteStore::open(&path) {
        Err(StoreError::Backend(message)) => assert!(message.contains("newer"), "{message}"),
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("opened a database from the future"),
    }
}

#[test]
fn reports_an_unusable_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        SqliteStore::open(&file.join("castellan.db")),
        Err(StoreError::Backend(_))
    ));
}

/// Operations committed in one batch succeed or fail alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_operation_does_not_sink_its_batch() {
    let (store, _dir) = make_store().await;
    let store = std::sync::Arc::new(store);
    let t = token(11, 101, Some("alice"), "g1");
    store
        .insert_token(&hashes("dup", None), &t, false)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (store, t) = (store.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            // Every other insert reuses a taken access hash.
            let access = if i % 2 == 0 {
                "dup".to_owned()
            } else {
                format!("at-{i}")
            };
            store.insert_token(&hashes(&access, None), &t, false).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let result = task.await.unwrap();
        if i % 2 == 0 {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "{i}: {result:?}"
            );
        } else {
            result.unwrap();
            let access = hash(&format!("at-{i}"));
            assert!(store.get_token_by_access(&access).await.unwrap().is_some());
        }
    }
}

/// The data directory and every database file are the owner's alone, also when an older
/// installation left them readable by others.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let db = dir.join("castellan.db");
    {
        let store = SqliteStore::open(&db).unwrap();
        store.meta_set("k", "v").await.unwrap();
        assert_eq!(mode(&dir), 0o700);
        for file in ["castellan.db", "castellan.db-wal", "castellan.db-shm"] {
            let path = dir.join(file);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{file}");
            }
        }
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _store = SqliteStore::open(&db).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&db), 0o600);
}
