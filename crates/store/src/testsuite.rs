//! The shared storage test suite: behaviour every backend must show.
//!
//! A backend's tests run it with [`store_suite!`](crate::store_suite), giving a closure that
//! makes a fresh, empty store plus a guard kept alive until the case ends (a temporary
//! directory, a scratch database, or `()`), or `None` when the backend is not available here
//! (the case then passes after saying why on standard error):
//!
//! ```ignore
//! castellan_store::store_suite!(|| async { Some(make_store().await) });
//! ```

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use castellan_core::enums::GrantType;
use castellan_core::model::{Client, Service};
use castellan_core::records::{AuthorizationCode, Millis, TicketKind, TokenRecord};
use castellan_core::secret::{SecretHash, SecretKeys};
use tokio::sync::Barrier;

use crate::export::{Cursor, Row, TABLES};
use crate::{
    ClientRecord, DeveloperRecord, Redemption, RefreshLookup, Rotation, ServiceRecord, Store,
    StoreError, TicketIssues, TokenHashes,
};

/// Expands to one `#[test]` per case of the suite, each on a fresh store from `$make`.
#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        $crate::store_suite!(@cases $make;
            ping_and_meta,
            owners,
            services,
            service_delete_cascades,
            clients,
            client_conflicts,
            client_delete_cascades,
            tickets,
            ticket_for_code,
            concurrent_ticket_use,
            codes,
            concurrent_redemption,
            token_lookup,
            rotation,
            concurrent_rotation,
            kept_refresh_rotation,
            revocation,
            revoke_grant,
            exclusive_insert,
            purge,
            export_and_import,
            service_keys_compare_and_swap,
            client_secret_compare_and_swap,
            service_secret_changes_alone,
            developers,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::testsuite::run($make, $crate::testsuite::$case);
            }
        )+
    };
}

/// Runs one case on a multi-threaded runtime with two workers, so concurrent tasks really race.
pub fn run<M, MF, S, G, C, CF>(make: M, case: C)
where
    M: FnOnce() -> MF,
    MF: Future<Output = Option<(S, G)>>,
    S: Store,
    C: FnOnce(Arc<S>) -> CF,
    CF: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let Some((store, guard)) = make().await else {
            return;
        };
        case(Arc::new(store)).await;
        drop(guard);
    });
}

// --- fixtures -------------------------------------------------------------------------------

/// A fixed "now" for records; the store itself never reads the clock.
pub const NOW: Millis = 1_700_000_000_000;
const HOUR: Millis = 3_600_000;

pub fn hash(value: &str) -> SecretHash {
    SecretKeys::from_master(&[7; 32]).hash(value)
}

pub fn hashes(access: &str, refresh: Option<&str>) -> TokenHashes {
    TokenHashes {
        access: hash(access),
        refresh: refresh.map(hash),
    }
}

pub fn service(api_key: i64, owner_api_key: i64, name: &str) -> ServiceRecord {
    ServiceRecord {
        owner_api_key,
        secret_hash: hash(&format!("secret-{api_key}")),
        sealed_jwks: Some(format!("sealed-jwks-{api_key}")),
        service: Service {
            api_key,
            service_name: Some(name.into()),
            issuer: Some(format!("https://{name}.example.com")),
            supported_grant_types: Some(vec![GrantType::AuthorizationCode]),
            created_at: NOW,
            modified_at: NOW,
            ..Service::default()
        },
    }
}

pub fn client(
    service_api_key: i64,
    client_id: i64,
    alias: Option<&str>,
    developer: Option<&str>,
) -> ClientRecord {
    ClientRecord {
        service_api_key,
        sealed_secret: format!("sealed-{client_id}"),
        client: Client {
            client_id,
            service_number: 7,
            client_id_alias: alias.map(str::to_owned),
            client_id_alias_enabled: alias.is_some(),
            developer: developer.map(str::to_owned),
            client_name: Some(format!("client {client_id}")),
            redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
            created_at: NOW,
            modified_at: NOW,
            ..Client::default()
        },
    }
}

pub fn code(service_api_key: i64, client_id: i64, grant_id: &str) -> AuthorizationCode {
    AuthorizationCode {
        service_api_key,
        client_id,
        client_id_alias_used: false,
        subject: "alice".into(),
        scopes: vec!["openid".into(), "profile".into()],
        redirect_uri: Some("https://app.example.com/cb".into()),
        code_challenge: None,
        code_challenge_method: None,
        auth_time: NOW / 1000,
        acr: None,
        nonce: Some("n-0S6_WzA2Mj".into()),
        claims: None,
        userinfo_claims: Some(r#"{"email":null}"#.into()),
        properties: Vec::new(),
        grant_id: grant_id.into(),
        access_token_duration: 0,
        created_at: NOW,
        expires_at: NOW + 10 * 60 * 1000,
    }
}

/// A token from the authorization-code grant with a refresh token, live at [`NOW`].
pub fn token(
    service_api_key: i64,
    client_id: i64,
    subject: Option<&str>,
    grant_id: &str,
) -> TokenRecord {
    TokenRecord {
        service_api_key,
        client_id,
        client_id_alias_used: false,
        subject: subject.map(str::to_owned),
        scopes: vec!["openid".into()],
        grant_type: GrantType::AuthorizationCode,
        grant_id: grant_id.into(),
        access_expires_at: NOW + HOUR,
        refresh_expires_at: NOW + 24 * HOUR,
        properties: Vec::new(),
        auth_time: NOW / 1000,
        acr: None,
        userinfo_claims: Some(r#"{"email":null}"#.into()),
        created_at: NOW,
        last_refreshed_at: 0,
    }
}

/// A service with the given clients, as codes and tokens are only ever issued under one.
pub async fn setup<S: Store>(store: &S, service_api_key: i64, client_ids: &[i64]) {
    store
        .create_service(service(
            service_api_key,
            1,
            &format!("svc{service_api_key}"),
        ))
        .await
        .unwrap();
    for id in client_ids {
        store
            .create_client(client(service_api_key, *id, None, None))
            .await
            .unwrap();
    }
}

fn service_keys(items: &[ServiceRecord]) -> Vec<i64> {
    items.iter().map(|r| r.service.api_key).collect()
}

fn client_ids(items: &[ClientRecord]) -> Vec<i64> {
    items.iter().map(|r| r.client.client_id).collect()
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "expected Conflict, got {result:?}"
    );
}

fn assert_live(lookup: RefreshLookup, expected: &TokenRecord) {
    match lookup {
        RefreshLookup::Live(found) => assert_eq!(&found, expected),
        other => panic!("expected a live refresh token, got {other:?}"),
    }
}

async fn is_unknown<S: Store>(store: &S, refresh: &str) -> bool {
    matches!(
        store.get_token_by_refresh(&hash(refresh)).await.unwrap(),
        RefreshLookup::Unknown
    )
}

// --- cases ----------------------------------------------------------------------------------

pub async fn ping_and_meta<S: Store>(store: Arc<S>) {
    store.ping().await.unwrap();
    assert_eq!(store.meta_get("fingerprint").await.unwrap(), None);
    store.meta_set("fingerprint", "abc").await.unwrap();
    assert_eq!(
        store.meta_get("fingerprint").await.unwrap().as_deref(),
        Some("abc")
    );
    store.meta_set("fingerprint", "def").await.unwrap();
    store.meta_set("other", "x").await.unwrap();
    assert_eq!(
        store.meta_get("fingerprint").await.unwrap().as_deref(),
        Some("def")
    );
    assert_eq!(store.meta_get("other").await.unwrap().as_deref(), Some("x"));
}

pub async fn owners<S: Store>(store: Arc<S>) {
    assert!(store.get_owner(1001).await.unwrap().is_none());
    assert!(store.list_owners().await.unwrap().is_empty());

    let a = store.upsert_owner(1001, hash("owner-a")).await.unwrap();
    assert_eq!((a.api_key, a.number), (1001, 1));
    assert!(a.secret_hash.matches(&hash("owner-a")));
    let b = store.upsert_owner(1002, hash("owner-b")).await.unwrap();
    assert_eq!((b.api_key, b.number), (1002, 2));

    // Replacing an owner takes the new secret and keeps the number.
    let a2 = store.upsert_owner(1001, hash("owner-a2")).await.unwrap();
    assert_eq!(a2.number, 1);
    let got = store.get_owner(1001).await.unwrap().unwrap();
    assert_eq!(got.number, 1);
    assert!(got.secret_hash.matches(&hash("owner-a2")));
    assert!(!got.secret_hash.matches(&hash("owner-a")));

    let all = store.list_owners().await.unwrap();
    let listed: Vec<(i64, i32)> = all.iter().map(|o| (o.api_key, o.number)).collect();
    assert_eq!(listed, vec![(1001, 1), (1002, 2)]);
}

pub async fn services<S: Store>(store: Arc<S>) {
    let mut first = service(11, 1, "one");
    first.service.number = 99; // the store assigns numbers, whatever the caller sends
    let created = store.create_service(first).await.unwrap();
    assert_eq!(created.service.number, 1);
    for (key, owner, name) in [(12, 1, "two"), (21, 2, "other"), (13, 1, "three")] {
        store
            .create_service(service(key, owner, name))
            .await
            .unwrap();
    }

    let got = store.get_service(11).await.unwrap().unwrap();
    assert_eq!(got.owner_api_key, 1);
    assert_eq!(got.service.number, 1);
    assert_eq!(got.service.service_name.as_deref(), Some("one"));
    assert_eq!(
        got.service.issuer.as_deref(),
        Some("https://one.example.com")
    );
    assert!(got.secret_hash.matches(&hash("secret-11")));
    assert_eq!(got.sealed_jwks.as_deref(), Some("sealed-jwks-11"));
    assert!(got.service.jwks.is_none());
    assert_eq!(
        store.get_service(13).await.unwrap().unwrap().service.number,
        4
    );
    assert!(store.get_service(999).await.unwrap().is_none());

    assert_conflict(store.create_service(service(11, 2, "again")).await);
    assert_eq!(
        store.get_service(11).await.unwrap().unwrap().owner_api_key,
        1
    );

    // Creation order, windows [start, end), and the total regardless of the window.
    let page = store.list_services(Some(1), 0, 10).await.unwrap();
    assert_eq!(
        (page.total, service_keys(&page.items)),
        (3, vec![11, 12, 13])
    );
    let page = store.list_services(Some(1), 1, 2).await.unwrap();
    assert_eq!((page.total, service_keys(&page.items)), (3, vec![12]));
    let page = store.list_services(Some(1), 2, 2).await.unwrap();
    assert_eq!((page.total, page.items.len()), (3, 0));
    let page = store.list_services(Some(1), 3, 1).await.unwrap();
    assert_eq!((page.total, page.items.len()), (3, 0));
    let page = store.list_services(Some(1), 2, 100).await.unwrap();
    assert_eq!((page.total, service_keys(&page.items)), (3, vec![13]));
    let page = store.list_services(None, 0, 100).await.unwrap();
    assert_eq!(
        (page.total, service_keys(&page.items)),
        (4, vec![11, 12, 21, 13])
    );
    let page = store.list_services(Some(3), 0, 10).await.unwrap();
    assert_eq!((page.total, page.items.len()), (0, 0));

    let mut changed = store.get_service(12).await.unwrap().unwrap();
    changed.service.service_name = Some("two, renamed".into());
    changed.service.pkce_required = true;
    changed.service.number = 0;
    changed.sealed_jwks = None;
    // A JWK Set left in the service document is never stored in it.
    changed.service.jwks = Some("{\"keys\":[]}".into());
    assert!(store.update_service(changed).await.unwrap());
    let got = store.get_service(12).await.unwrap().unwrap();
    assert_eq!(got.service.service_name.as_deref(), Some("two, renamed"));
    assert!(got.sealed_jwks.is_none());
    assert!(got.service.jwks.is_none());
    assert!(got.service.pkce_required);
    assert_eq!(got.service.number, 2);
    assert!(!store.update_service(service(999, 1, "none")).await.unwrap());
    assert!(store.get_service(999).await.unwrap().is_none());
}

pub async fn service_delete_cascades<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    setup(&*store, 12, &[201]).await;
    for (svc, client, tag) in [(11, 101, "a"), (12, 201, "b")] {
        let ticket = format!("ticket-{tag}");
        store
            .put_ticket(
                TicketKind::Authorization,
                &hash(&ticket),
                svc,
                "{}",
                NOW + HOUR,
            )
            .await
            .unwrap();
        store
            .put_code(&hash(&format!("code-{tag}")), &code(svc, client, tag))
            .await
            .unwrap();
        let (at, rt) = (format!("at-{tag}"), format!("rt-{tag}"));
        let (at2, rt2) = (format!("at2-{tag}"), format!("rt2-{tag}"));
        let t = token(svc, client, Some("alice"), tag);
        store
            .insert_token(&hashes(&at, Some(&rt)), &t, false)
            .await
            .unwrap();
        // Leaves `rt` retired.
        store
            .rotate_refresh(&hash(&rt), &hashes(&at2, Some(&rt2)), &t)
            .await
            .unwrap();
    }

    assert!(store.delete_service(11).await.unwrap());
    assert!(!store.delete_service(11).await.unwrap());
    assert!(store.get_service(11).await.unwrap().is_none());
    assert!(store.get_client(11, 101).await.unwrap().is_none());
    assert_eq!(store.count_clients(11).await.unwrap(), 0);
    assert!(store.get_code(&hash("code-a")).await.unwrap().is_none());
    assert_access_tokens(&*store, &[("at2-a", false)]).await;
    assert!(is_unknown(&*store, "rt2-a").await);
    assert!(is_unknown(&*store, "rt-a").await);
    assert!(
        store
            .take_ticket(TicketKind::Authorization, &hash("ticket-a"), 11)
            .await
            .unwrap()
            .is_none()
    );

    // The other service is untouched.
    assert!(store.get_service(12).await.unwrap().is_some());
    assert!(store.get_client(12, 201).await.unwrap().is_some());
    assert!(store.get_code(&hash("code-b")).await.unwrap().is_some());
    assert_access_tokens(&*store, &[("at2-b", true)]).await;
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt-b")).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
    assert!(
        store
            .take_ticket(TicketKind::Authorization, &hash("ticket-b"), 12)
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn clients<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[]).await;
    setup(&*store, 12, &[]).await;
    let mut numbers = Vec::new();
    for record in [
        client(11, 101, Some("web"), Some("alice")),
        client(11, 102, None, Some("bob")),
        client(11, 103, Some("cli"), Some("alice")),
    ] {
        let created = store.create_client(record).await.unwrap();
        assert_eq!(created.client.service_number, 7);
        numbers.push(created.client.number);
    }
    assert_eq!(numbers, vec![1, 2, 3]);

    let got = store.get_client(11, 101).await.unwrap().unwrap();
    assert_eq!(got.service_api_key, 11);
    assert_eq!(got.sealed_secret, "sealed-101");
    assert_eq!(got.client.number, 1);
    assert_eq!(got.client.service_number, 7);
    assert_eq!(got.client.client_id_alias.as_deref(), Some("web"));
    assert_eq!(got.client.developer.as_deref(), Some("alice"));
    assert_eq!(got.client.client_name.as_deref(), Some("client 101"));
    assert!(store.get_client(12, 101).await.unwrap().is_none());
    assert!(store.get_client(11, 999).await.unwrap().is_none());

    let by_alias = store.get_client_by_alias(11, "web").await.unwrap().unwrap();
    assert_eq!(by_alias.client.client_id, 101);
    assert!(
        store
            .get_client_by_alias(12, "web")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_client_by_alias(11, "nope")
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(store.count_clients(11).await.unwrap(), 3);
    assert_eq!(store.count_clients(12).await.unwrap(), 0);
    let page = store.list_clients(11, None, 0, 10).await.unwrap();
    assert_eq!(
        (page.total, client_ids(&page.items)),
        (3, vec![101, 102, 103])
    );
    let page = store.list_clients(11, Some("alice"), 0, 10).await.unwrap();
    assert_eq!((page.total, client_ids(&page.items)), (2, vec![101, 103]));
    let page = store.list_clients(11, Some("alice"), 1, 5).await.unwrap();
    assert_eq!((page.total, client_ids(&page.items)), (2, vec![103]));
    let page = store.list_clients(11, Some("carol"), 0, 10).await.unwrap();
    assert_eq!((page.total, page.items.len()), (0, 0));
    let page = store.list_clients(11, None, 5, 5).await.unwrap();
    assert_eq!((page.total, page.items.len()), (3, 0));
    let page = store.list_clients(11, None, 1, 2).await.unwrap();
    assert_eq!((page.total, client_ids(&page.items)), (3, vec![102]));

    let mut changed = store.get_client(11, 102).await.unwrap().unwrap();
    changed.client.client_id_alias = Some("mobile".into());
    changed.client.client_name = Some("renamed".into());
    changed.client.number = 0;
    changed.sealed_secret = "ignored-by-update".into();
    assert!(store.update_client(changed).await.unwrap());
    let got = store
        .get_client_by_alias(11, "mobile")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.client.client_id, 102);
    assert_eq!(got.client.number, 2);
    assert_eq!(got.client.client_name.as_deref(), Some("renamed"));
    // The secret changes only through `set_client_secret`.
    assert_eq!(got.sealed_secret, "sealed-102");
    // The client's service is part of its identity.
    assert!(
        !store
            .update_client(client(12, 102, None, None))
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_client(client(11, 999, None, None))
            .await
            .unwrap()
    );

    assert!(store.delete_client(11, 102).await.unwrap());
    assert!(!store.delete_client(11, 102).await.unwrap());
    assert!(!store.delete_client(12, 101).await.unwrap());
    assert!(store.get_client(11, 102).await.unwrap().is_none());
    assert!(
        store
            .get_client_by_alias(11, "mobile")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.count_clients(11).await.unwrap(), 2);
}

pub async fn client_conflicts<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[]).await;
    setup(&*store, 12, &[]).await;
    store
        .create_client(client(11, 101, Some("web"), None))
        .await
        .unwrap();

    // Client IDs are unique across services.
    assert_conflict(store.create_client(client(11, 101, None, None)).await);
    assert_conflict(store.create_client(client(12, 101, None, None)).await);
    // Aliases are unique within a service only.
    assert_conflict(
        store
            .create_client(client(11, 102, Some("web"), None))
            .await,
    );
    assert!(store.get_client(11, 102).await.unwrap().is_none());
    store
        .create_client(client(12, 201, Some("web"), None))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_client_by_alias(12, "web")
            .await
            .unwrap()
            .unwrap()
            .client
            .client_id,
        201
    );

    store
        .create_client(client(11, 102, Some("app"), None))
        .await
        .unwrap();
    let mut taken = store.get_client(11, 102).await.unwrap().unwrap();
    taken.client.client_id_alias = Some("web".into());
    assert_conflict(store.update_client(taken).await);
    let unchanged = store.get_client(11, 102).await.unwrap().unwrap();
    assert_eq!(unchanged.client.client_id_alias.as_deref(), Some("app"));
    assert_eq!(
        store
            .get_client_by_alias(11, "web")
            .await
            .unwrap()
            .unwrap()
            .client
            .client_id,
        101
    );

    // Keeping one's own alias is not a conflict.
    let mut same = store.get_client(11, 101).await.unwrap().unwrap();
    same.client.description = Some("still web".into());
    assert!(store.update_client(same).await.unwrap());
}

pub async fn client_delete_cascades<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101, 102]).await;
    for (client, tag) in [(101, "a"), (102, "b")] {
        store
            .put_code(&hash(&format!("code-{tag}")), &code(11, client, tag))
            .await
            .unwrap();
        let t = token(11, client, Some("alice"), tag);
        let (at, rt) = (format!("at-{tag}"), format!("rt-{tag}"));
        let (at2, rt2) = (format!("at2-{tag}"), format!("rt2-{tag}"));
        store
            .insert_token(&hashes(&at, Some(&rt)), &t, false)
            .await
            .unwrap();
        store
            .rotate_refresh(&hash(&rt), &hashes(&at2, Some(&rt2)), &t)
            .await
            .unwrap();
    }

    assert!(store.delete_client(11, 101).await.unwrap());
    assert!(store.get_code(&hash("code-a")).await.unwrap().is_none());
    assert_access_tokens(&*store, &[("at2-a", false)]).await;
    assert!(is_unknown(&*store, "rt2-a").await);
    assert!(is_unknown(&*store, "rt-a").await);

    assert!(store.get_code(&hash("code-b")).await.unwrap().is_some());
    assert_access_tokens(&*store, &[("at2-b", true)]).await;
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt-b")).await.unwrap(),
        RefreshLookup::Retired { client_id: 102, .. }
    ));
}

pub async fn tickets<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[]).await;
    let data = r#"{"clientId":101,"scopes":["openid"]}"#;
    store
        .put_ticket(TicketKind::Authorization, &hash("t1"), 11, data, NOW + HOUR)
        .await
        .unwrap();
    store
        .put_ticket(TicketKind::Token, &hash("t2"), 11, "{}", NOW - 1)
        .await
        .unwrap();

    // The kind must match.
    assert!(
        store
            .take_ticket(TicketKind::Token, &hash("t1"), 11)
            .await
            .unwrap()
            .is_none()
    );
    let taken = store
        .take_ticket(TicketKind::Authorization, &hash("t1"), 11)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.service_api_key, 11);
    assert_eq!(taken.data, data);
    assert_eq!(taken.expires_at, NOW + HOUR);
    // Single use.
    assert!(
        store
            .take_ticket(TicketKind::Authorization, &hash("t1"), 11)
            .await
            .unwrap()
            .is_none()
    );

    // Expired tickets are still handed out: the caller reports the expiry.
    let expired = store
        .take_ticket(TicketKind::Token, &hash("t2"), 11)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(expired.expires_at, NOW - 1);
    assert!(
        store
            .take_ticket(TicketKind::Token, &hash("unknown"), 11)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn ticket_for_code<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    let kind = TicketKind::Authorization;
    store
        .put_ticket(kind, &hash("t1"), 11, "{}", NOW + HOUR)
        .await
        .unwrap();
    store
        .put_ticket(kind, &hash("t2"), 11, "{}", NOW + HOUR)
        .await
        .unwrap();

    // Another service's call finds nothing and leaves the ticket alone.
    setup(&*store, 12, &[]).await;
    assert!(
        store
            .get_ticket(kind, &hash("t1"), 12)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_ticket(kind, &hash("t1"), 12)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store
            .use_ticket(kind, &hash("t1"), 12, TicketIssues::default())
            .await
            .unwrap()
    );

    // Reading does not use the ticket up; the kind must match.
    let peeked = store
        .get_ticket(kind, &hash("t1"), 11)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((peeked.service_api_key, peeked.data.as_str()), (11, "{}"));
    assert!(
        store
            .get_ticket(kind, &hash("t1"), 11)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get_ticket(TicketKind::Token, &hash("t1"), 11)
            .await
            .unwrap()
            .is_none()
    );

    // Used with a code: the ticket goes and the code is stored, once.
    let c = code(11, 101, "g1");
    assert!(
        store
            .use_ticket(kind, &hash("t1"), 11, with_code(&hash("c1"), &c))
            .await
            .unwrap()
    );
    assert!(
        store
            .get_ticket(kind, &hash("t1"), 11)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.get_code(&hash("c1")).await.unwrap().unwrap().code, c);
    assert!(
        !store
            .use_ticket(kind, &hash("t1"), 11, with_code(&hash("c2"), &c))
            .await
            .unwrap()
    );
    assert!(store.get_code(&hash("c2")).await.unwrap().is_none());

    // Used with an access token (implicit and hybrid flows): stored with the code, at once.
    store
        .put_ticket(kind, &hash("t3"), 11, "{}", NOW + HOUR)
        .await
        .unwrap();
    let t = token(11, 101, Some("alice"), "g3");
    let hashes = hashes("at3", None);
    let c3 = code(11, 101, "g3");
    let issued = TicketIssues {
        code: Some((&hash("c3"), &c3)),
        token: Some((&hashes, &t)),
    };
    assert!(
        store
            .use_ticket(kind, &hash("t3"), 11, issued)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_token_by_access(&hash("at3")).await.unwrap(),
        Some(t)
    );
    assert!(store.get_code(&hash("c3")).await.unwrap().is_some());

    // Used without a code (the call was refused): the ticket still goes.
    assert!(
        store
            .use_ticket(kind, &hash("t2"), 11, TicketIssues::default())
            .await
            .unwrap()
    );
    assert!(
        store
            .get_ticket(kind, &hash("t2"), 11)
            .await
            .unwrap()
            .is_none()
    );
}

fn with_code<'a>(hash: &'a SecretHash, code: &'a AuthorizationCode) -> TicketIssues<'a> {
    TicketIssues {
        code: Some((hash, code)),
        token: None,
    }
}

pub async fn concurrent_ticket_use<S: Store>(store: Arc<S>) {
    const TASKS: usize = 16;
    setup(&*store, 11, &[101]).await;
    let kind = TicketKind::Authorization;
    store
        .put_ticket(kind, &hash("t1"), 11, "{}", NOW + HOUR)
        .await
        .unwrap();
    let outcomes = race(&store, TASKS, move |store, i| async move {
        let c = code(11, 101, &format!("g{i}"));
        store
            .use_ticket(
                kind,
                &hash("t1"),
                11,
                with_code(&hash(&format!("c{i}")), &c),
            )
            .await
            .unwrap()
    })
    .await;
    assert_eq!(outcomes.iter().filter(|used| **used).count(), 1);
    let mut stored = 0;
    for i in 0..TASKS {
        if store
            .get_code(&hash(&format!("c{i}")))
            .await
            .unwrap()
            .is_some()
        {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
}

pub async fn codes<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    let c = code(11, 101, "g1");
    store.put_code(&hash("c1"), &c).await.unwrap();
    let stored = store.get_code(&hash("c1")).await.unwrap().unwrap();
    assert_eq!(stored.code, c);
    assert!(!stored.used);
    assert!(store.get_code(&hash("c2")).await.unwrap().is_none());

    let t = token(11, 101, Some("alice"), "g1");
    // Redemption is all or nothing: if the token cannot be stored, the code stays unused.
    store
        .insert_token(&hashes("taken", None), &t, false)
        .await
        .unwrap();
    assert_conflict(
        store
            .redeem_code(&hash("c1"), &hashes("taken", None), &t, false)
            .await,
    );
    assert!(!store.get_code(&hash("c1")).await.unwrap().unwrap().used);

    let outcome = store
        .redeem_code(&hash("c1"), &hashes("at1", Some("rt1")), &t, false)
        .await
        .unwrap();
    assert_eq!(outcome, Redemption::Redeemed);
    assert!(store.get_code(&hash("c1")).await.unwrap().unwrap().used);
    assert_eq!(
        store.get_token_by_access(&hash("at1")).await.unwrap(),
        Some(t.clone())
    );
    assert_live(store.get_token_by_refresh(&hash("rt1")).await.unwrap(), &t);

    // A failed redemption changes nothing, even when it would have been exclusive.
    let outcome = store
        .redeem_code(&hash("c1"), &hashes("at2", Some("rt2")), &t, true)
        .await
        .unwrap();
    assert_eq!(outcome, Redemption::AlreadyUsed);
    assert_access_tokens(&*store, &[("at1", true), ("at2", false)]).await;

    let outcome = store
        .redeem_code(&hash("c2"), &hashes("at3", None), &t, false)
        .await
        .unwrap();
    assert_eq!(outcome, Redemption::NotFound);
    assert_access_tokens(&*store, &[("at3", false)]).await;
}

/// Runs `op(store, i)` for i in 0..tasks on as many tasks, released together by a barrier so
/// they really race; returns their outcomes in order of `i`.
async fn race<S, F, Fut, T>(store: &Arc<S>, tasks: usize, op: F) -> Vec<T>
where
    S: Store,
    F: Fn(Arc<S>, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::new();
    for i in 0..tasks {
        let (store, barrier, op) = (store.clone(), barrier.clone(), op.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            op(store, i).await
        }));
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    outcomes
}

pub async fn concurrent_redemption<S: Store>(store: Arc<S>) {
    const TASKS: usize = 16;
    setup(&*store, 11, &[101]).await;
    store
        .put_code(&hash("c1"), &code(11, 101, "g1"))
        .await
        .unwrap();
    let outcomes = race(&store, TASKS, |store, i| async move {
        let t = token(11, 101, Some("alice"), "g1");
        let h = hashes(&format!("at-{i}"), Some(&format!("rt-{i}")));
        store.redeem_code(&hash("c1"), &h, &t, false).await.unwrap()
    })
    .await;
    let redeemed = outcomes
        .iter()
        .filter(|o| **o == Redemption::Redeemed)
        .count();
    let used = outcomes
        .iter()
        .filter(|o| **o == Redemption::AlreadyUsed)
        .count();
    assert_eq!((redeemed, used), (1, TASKS - 1));

    let mut stored = 0;
    for i in 0..TASKS {
        let at = hash(&format!("at-{i}"));
        if store.get_token_by_access(&at).await.unwrap().is_some() {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
}

pub async fn token_lookup<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    let with_refresh = token(11, 101, Some("alice"), "g1");
    store
        .insert_token(&hashes("at1", Some("rt1")), &with_refresh, false)
        .await
        .unwrap();
    let mut access_only = token(11, 101, None, "g2");
    access_only.grant_type = GrantType::ClientCredentials;
    access_only.refresh_expires_at = 0;
    store
        .insert_token(&hashes("at2", None), &access_only, false)
        .await
        .unwrap();

    assert_eq!(
        store.get_token_by_access(&hash("at1")).await.unwrap(),
        Some(with_refresh.clone())
    );
    assert_eq!(
        store.get_token_by_access(&hash("at2")).await.unwrap(),
        Some(access_only)
    );
    assert_live(
        store.get_token_by_refresh(&hash("rt1")).await.unwrap(),
        &with_refresh,
    );
    // An access token is not a refresh token, nor the other way round.
    assert!(is_unknown(&*store, "at1").await);
    assert_access_tokens(&*store, &[("rt1", false), ("nope", false)]).await;
    assert!(is_unknown(&*store, "nope").await);

    // Access hashes are unique.
    assert!(
        store
            .insert_token(&hashes("at1", None), &with_refresh, false)
            .await
            .is_err()
    );
}

pub async fn rotation<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    let t1 = token(11, 101, Some("alice"), "g1");
    store
        .insert_token(&hashes("at1", Some("rt1")), &t1, false)
        .await
        .unwrap();

    let mut t2 = t1.clone();
    t2.access_expires_at = NOW + 2 * HOUR;
    t2.last_refreshed_at = NOW + HOUR;
    let outcome = store
        .rotate_refresh(&hash("rt1"), &hashes("at2", Some("rt2")), &t2)
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Rotated);

    match store.get_token_by_refresh(&hash("rt1")).await.unwrap() {
        RefreshLookup::Retired {
            service_api_key,
            client_id,
            grant_id,
        } => assert_eq!(
            (service_api_key, client_id, grant_id.as_str()),
            (11, 101, "g1")
        ),
        other => panic!("expected a retired refresh token, got {other:?}"),
    }
    assert_live(store.get_token_by_refresh(&hash("rt2")).await.unwrap(), &t2);
    assert_access_tokens(&*store, &[("at1", false)]).await;
    assert_eq!(
        store.get_token_by_access(&hash("at2")).await.unwrap(),
        Some(t2.clone())
    );

    // The old refresh token cannot be rotated again.
    let outcome = store
        .rotate_refresh(&hash("rt1"), &hashes("at3", Some("rt3")), &t2)
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Gone);
    assert_access_tokens(&*store, &[("at3", false)]).await;
    assert!(is_unknown(&*store, "rt3").await);
    assert_live(store.get_token_by_refresh(&hash("rt2")).await.unwrap(), &t2);

    // Rotating to no refresh token at all still retires the old one.
    let mut t3 = t2.clone();
    t3.refresh_expires_at = 0;
    let outcome = store
        .rotate_refresh(&hash("rt2"), &hashes("at4", None), &t3)
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Rotated);
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt2")).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
    assert_eq!(
        store.get_token_by_access(&hash("at4")).await.unwrap(),
        Some(t3)
    );
    assert!(
        store
            .rotate_refresh(&hash("nope"), &hashes("at5", None), &t2)
            .await
            .unwrap()
            == Rotation::Gone
    );
}

pub async fn concurrent_rotation<S: Store>(store: Arc<S>) {
    const TASKS: usize = 8;
    setup(&*store, 11, &[101]).await;
    let t = token(11, 101, Some("alice"), "g1");
    store
        .insert_token(&hashes("at", Some("rt")), &t, false)
        .await
        .unwrap();
    let rotated = t.clone();
    let outcomes = race(&store, TASKS, move |store, i| {
        let t = rotated.clone();
        async move {
            let h = hashes(&format!("at-{i}"), Some(&format!("rt-{i}")));
            store.rotate_refresh(&hash("rt"), &h, &t).await.unwrap()
        }
    })
    .await;
    let winners: Vec<usize> = (0..TASKS)
        .filter(|i| outcomes[*i] == Rotation::Rotated)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins: {winners:?}");
    for i in 0..TASKS {
        let lookup = store
            .get_token_by_refresh(&hash(&format!("rt-{i}")))
            .await
            .unwrap();
        if winners.contains(&i) {
            assert_live(lookup, &t);
        } else {
            assert!(matches!(lookup, RefreshLookup::Unknown));
        }
    }
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt")).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
}

pub async fn kept_refresh_rotation<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    let t1 = token(11, 101, Some("alice"), "g1");
    store
        .insert_token(&hashes("at1", Some("rt1")), &t1, false)
        .await
        .unwrap();
    let mut t2 = t1.clone();
    t2.last_refreshed_at = NOW + HOUR;
    let outcome = store
        .rotate_refresh(&hash("rt1"), &hashes("at2", Some("rt1")), &t2)
        .await
        .unwrap();
    assert_eq!(outcome, Rotation::Rotated);
    assert_live(store.get_token_by_refresh(&hash("rt1")).await.unwrap(), &t2);
    assert_access_tokens(&*store, &[("at1", false), ("at2", true)]).await;

    // Nothing was retired: once revoked, the kept refresh token is simply unknown.
    assert_eq!(
        store.revoke_by_refresh(&hash("rt1")).await.unwrap(),
        Some(t2)
    );
    assert!(is_unknown(&*store, "rt1").await);
}

pub async fn revocation<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    let a = token(11, 101, Some("alice"), "ga");
    let b = token(11, 101, Some("bob"), "gb");
    store
        .insert_token(&hashes("at-a", Some("rt-a")), &a, false)
        .await
        .unwrap();
    store
        .insert_token(&hashes("at-b", Some("rt-b")), &b, false)
        .await
        .unwrap();

    assert_eq!(
        store.revoke_by_access(&hash("at-a")).await.unwrap(),
        Some(a)
    );
    assert_access_tokens(&*store, &[("at-a", false)]).await;
    assert!(is_unknown(&*store, "rt-a").await);
    assert!(
        store
            .revoke_by_access(&hash("at-a"))
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(
        store.revoke_by_refresh(&hash("rt-b")).await.unwrap(),
        Some(b.clone())
    );
    assert_access_tokens(&*store, &[("at-b", false)]).await;
    assert!(is_unknown(&*store, "rt-b").await);
    assert!(
        store
            .revoke_by_refresh(&hash("rt-b"))
            .await
            .unwrap()
            .is_none()
    );

    // Only live refresh tokens can be revoked; a retired one stays retired.
    store
        .insert_token(&hashes("at-c", Some("rt-c")), &b, false)
        .await
        .unwrap();
    store
        .rotate_refresh(&hash("rt-c"), &hashes("at-d", Some("rt-d")), &b)
        .await
        .unwrap();
    assert!(
        store
            .revoke_by_refresh(&hash("rt-c"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt-c")).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
    assert_access_tokens(&*store, &[("at-d", true)]).await;
    assert!(
        store
            .revoke_by_access(&hash("nope"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn revoke_grant<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101, 102]).await;
    setup(&*store, 12, &[201]).await;
    let g1 = token(11, 101, Some("alice"), "g1");
    store
        .insert_token(&hashes("at1", Some("rt1")), &g1, false)
        .await
        .unwrap();
    store
        .rotate_refresh(&hash("rt1"), &hashes("at1b", Some("rt1b")), &g1)
        .await
        .unwrap();
    let g1_other_client = token(11, 102, Some("alice"), "g1");
    store
        .insert_token(&hashes("at2", None), &g1_other_client, false)
        .await
        .unwrap();
    store
        .insert_token(
            &hashes("at3", Some("rt3")),
            &token(11, 101, Some("alice"), "g2"),
            false,
        )
        .await
        .unwrap();
    // The same grant ID in another service is another grant.
    store
        .insert_token(
            &hashes("at4", Some("rt4")),
            &token(12, 201, Some("alice"), "g1"),
            false,
        )
        .await
        .unwrap();
    store
        .put_code(&hash("c1"), &code(11, 101, "g1"))
        .await
        .unwrap();

    assert_eq!(store.revoke_grant(11, "g1").await.unwrap(), 2);
    assert_access_tokens(&*store, &[("at1b", false), ("at2", false)]).await;
    assert!(is_unknown(&*store, "rt1b").await);
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt1")).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
    assert_access_tokens(&*store, &[("at3", true), ("at4", true)]).await;
    assert!(store.get_code(&hash("c1")).await.unwrap().is_some());

    assert_eq!(store.revoke_grant(11, "g1").await.unwrap(), 0);
    assert_eq!(store.revoke_grant(11, "unknown").await.unwrap(), 0);
}

/// Checks which of the access tokens (by raw value) the store still has.
async fn assert_access_tokens<S: Store>(store: &S, expected: &[(&str, bool)]) {
    for (at, present) in expected {
        let found = store.get_token_by_access(&hash(at)).await.unwrap();
        assert_eq!(found.is_some(), *present, "{at}");
    }
}

pub async fn exclusive_insert<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101, 102]).await;
    let alice = token(11, 101, Some("alice"), "g1");
    for (at, t) in [
        ("alice-1", alice.clone()),
        ("alice-2", token(11, 101, Some("alice"), "g2")),
        ("bob", token(11, 101, Some("bob"), "g3")),
        ("alice-other-client", token(11, 102, Some("alice"), "g4")),
        ("no-subject", token(11, 101, None, "g5")),
    ] {
        store
            .insert_token(&hashes(at, Some(&format!("r-{at}"))), &t, false)
            .await
            .unwrap();
    }
    store
        .insert_token(&hashes("alice-3", Some("r-alice-3")), &alice, true)
        .await
        .unwrap();

    assert_access_tokens(
        &*store,
        &[
            ("alice-1", false),
            ("alice-2", false),
            ("alice-3", true),
            ("bob", true),
            ("alice-other-client", true),
            ("no-subject", true),
        ],
    )
    .await;
    assert!(is_unknown(&*store, "r-alice-1").await);

    // An exclusive code redemption replaces the subject's tokens of the client in the same way.
    store
        .put_code(&hash("c-alice"), &code(11, 101, "g7"))
        .await
        .unwrap();
    let outcome = store
        .redeem_code(&hash("c-alice"), &hashes("alice-4", None), &alice, true)
        .await
        .unwrap();
    assert_eq!(outcome, Redemption::Redeemed);
    assert_access_tokens(
        &*store,
        &[("alice-3", false), ("alice-4", true), ("bob", true)],
    )
    .await;

    // Without a subject there is nothing to be exclusive about.
    store
        .insert_token(
            &hashes("no-subject-2", None),
            &token(11, 101, None, "g6"),
            true,
        )
        .await
        .unwrap();
    assert_access_tokens(&*store, &[("no-subject", true), ("alice-4", true)]).await;
}

pub async fn purge<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    let past = NOW - HOUR;

    // Five expired rows: two tickets, a code, a token record, a retired refresh token.
    store
        .put_ticket(TicketKind::Authorization, &hash("t-old"), 11, "{}", past)
        .await
        .unwrap();
    store
        .put_ticket(TicketKind::Token, &hash("t-old2"), 11, "{}", past)
        .await
        .unwrap();
    let mut old_code = code(11, 101, "g1");
    old_code.expires_at = past;
    store.put_code(&hash("c-old"), &old_code).await.unwrap();
    let mut dead = token(11, 101, Some("alice"), "g2");
    (dead.access_expires_at, dead.refresh_expires_at) = (past, past);
    store
        .insert_token(&hashes("at-dead", Some("rt-dead")), &dead, false)
        .await
        .unwrap();
    store
        .insert_token(&hashes("at-r", Some("rt-r-old")), &dead, false)
        .await
        .unwrap();
    let renewed = token(11, 101, Some("alice"), "g2");
    store
        .rotate_refresh(&hash("rt-r-old"), &hashes("at-r2", Some("rt-r2")), &renewed)
        .await
        .unwrap();

    // Live rows, including a token whose access token expired but whose refresh token did not,
    // and a retired refresh token that has not expired yet.
    store
        .put_ticket(
            TicketKind::Authorization,
            &hash("t-live"),
            11,
            "{}",
            NOW + HOUR,
        )
        .await
        .unwrap();
    store
        .put_code(&hash("c-live"), &code(11, 101, "g3"))
        .await
        .unwrap();
    let mut half = token(11, 101, Some("bob"), "g4");
    half.access_expires_at = past;
    store
        .insert_token(&hashes("at-half", Some("rt-half")), &half, false)
        .await
        .unwrap();
    let live = token(11, 101, Some("carol"), "g5");
    store
        .insert_token(&hashes("at-live", Some("rt-live")), &live, false)
        .await
        .unwrap();
    store
        .rotate_refresh(
            &hash("rt-live"),
            &hashes("at-live2", Some("rt-live2")),
            &live,
        )
        .await
        .unwrap();

    assert_eq!(store.purge_expired(NOW, 2).await.unwrap(), 2);
    assert_eq!(store.purge_expired(NOW, 2).await.unwrap(), 2);
    assert_eq!(store.purge_expired(NOW, 2).await.unwrap(), 1);
    assert_eq!(store.purge_expired(NOW, 2).await.unwrap(), 0);
    assert_eq!(store.purge_expired(NOW, 100).await.unwrap(), 0);

    assert!(store.get_code(&hash("c-old")).await.unwrap().is_none());
    assert_access_tokens(&*store, &[("at-dead", false)]).await;
    assert!(is_unknown(&*store, "rt-dead").await);
    assert!(is_unknown(&*store, "rt-r-old").await);
    for (kind, ticket) in [
        (TicketKind::Authorization, "t-old"),
        (TicketKind::Token, "t-old2"),
    ] {
        assert!(
            store
                .take_ticket(kind, &hash(ticket), 11)
                .await
                .unwrap()
                .is_none()
        );
    }

    assert!(store.get_code(&hash("c-live")).await.unwrap().is_some());
    assert_access_tokens(
        &*store,
        &[("at-r2", true), ("at-half", true), ("at-live2", true)],
    )
    .await;
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt-live")).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
    assert!(
        store
            .take_ticket(TicketKind::Authorization, &hash("t-live"), 11)
            .await
            .unwrap()
            .is_some()
    );
}

/// Every row of every table, read `page` rows at a time.
pub async fn export_all<S: Store + ?Sized>(store: &S, page: u32) -> Vec<Row> {
    let mut all = Vec::new();
    for table in TABLES {
        let mut after = Cursor::Start;
        loop {
            let rows = store.export_rows(table, &after, page).await.unwrap();
            let Some(last) = rows.last() else { break };
            after = last.cursor();
            let full = rows.len() == page as usize;
            all.extend(rows);
            if !full {
                break;
            }
        }
    }
    all
}

pub async fn export_and_import<S: Store>(store: Arc<S>) {
    store.meta_set("fingerprint", "f1").await.unwrap();
    store.upsert_owner(1, hash("owner")).await.unwrap();
    setup(&*store, 11, &[101, 102]).await;
    store
        .create_developer(&developer(11, "alice"))
        .await
        .unwrap();
    store
        .put_ticket(
            TicketKind::Authorization,
            &hash("t1"),
            11,
            "{\"a\":1}",
            NOW + HOUR,
        )
        .await
        .unwrap();
    store
        .put_code(&hash("c1"), &code(11, 101, "g1"))
        .await
        .unwrap();
    let t = token(11, 102, Some("alice"), "g2");
    store
        .insert_token(&hashes("at1", Some("rt1")), &t, false)
        .await
        .unwrap();
    store
        .rotate_refresh(&hash("rt1"), &hashes("at2", Some("rt2")), &t)
        .await
        .unwrap();
    store
        .insert_token(&hashes("at3", None), &token(11, 101, None, "g3"), false)
        .await
        .unwrap();

    // Paging returns every row once, whatever the page size.
    let all = export_all(&*store, 1000).await;
    assert_eq!(export_all(&*store, 1).await, all);
    let count = |f: fn(&Row) -> bool| all.iter().filter(|r| f(r)).count();
    assert_eq!(count(|r| matches!(r, Row::Counter { .. })), 3);
    assert_eq!(count(|r| matches!(r, Row::Owner { .. })), 1);
    assert_eq!(count(|r| matches!(r, Row::Service { .. })), 1);
    assert_eq!(count(|r| matches!(r, Row::Client { .. })), 2);
    assert_eq!(count(|r| matches!(r, Row::Developer { .. })), 1);
    assert_eq!(count(|r| matches!(r, Row::Ticket { .. })), 1);
    assert_eq!(count(|r| matches!(r, Row::Code { .. })), 1);
    assert_eq!(count(|r| matches!(r, Row::Token { .. })), 2);
    assert_eq!(count(|r| matches!(r, Row::RetiredRefresh { .. })), 1);
    assert!(all.contains(&Row::Meta {
        key: "fingerprint".into(),
        value: "f1".into()
    }));

    // Importing rows whose keys are taken fails as a whole and changes nothing.
    assert!(matches!(
        store.import_rows(&all).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(export_all(&*store, 1000).await, all);

    // Deleted, then imported back: the same rows, numbers and counters included, and they work.
    assert!(store.delete_service(11).await.unwrap());
    let back: Vec<Row> = all
        .iter()
        .filter(|r| !matches!(r, Row::Owner { .. }))
        .cloned()
        .collect();
    store.import_rows(&back).await.unwrap();
    assert_eq!(export_all(&*store, 1000).await, all);
    assert_eq!(
        store
            .get_client(11, 102)
            .await
            .unwrap()
            .unwrap()
            .client
            .number,
        2
    );
    assert!(matches!(
        store.get_token_by_refresh(&hash("rt1")).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
    assert_eq!(
        store
            .redeem_code(
                &hash("c1"),
                &hashes("at9", None),
                &token(11, 101, None, "g1"),
                false
            )
            .await
            .unwrap(),
        Redemption::Redeemed
    );
}

pub async fn service_keys_compare_and_swap<S: Store>(store: Arc<S>) {
    store.create_service(service(11, 1, "one")).await.unwrap();
    let with_keys = |sealed: &str| {
        let mut record = service(11, 1, "one");
        record.sealed_jwks = Some(sealed.to_owned());
        record
    };
    // The stored set is the expected one: replaced.
    assert!(
        store
            .update_service_if_keys(with_keys("v2"), Some("sealed-jwks-11"))
            .await
            .unwrap()
    );
    // Stale expectations (an old value, or none while there is one) change nothing.
    assert!(
        !store
            .update_service_if_keys(with_keys("v3"), Some("sealed-jwks-11"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_service_if_keys(with_keys("v3"), None)
            .await
            .unwrap()
    );
    let stored = store.get_service(11).await.unwrap().unwrap();
    assert_eq!(stored.sealed_jwks.as_deref(), Some("v2"));
    assert_eq!(stored.service.number, 1);
    // No keys yet is an expectation too.
    let mut bare = service(12, 1, "two");
    bare.sealed_jwks = None;
    store.create_service(bare).await.unwrap();
    let mut keyed = service(12, 1, "two");
    keyed.sealed_jwks = Some("k1".into());
    assert!(store.update_service_if_keys(keyed, None).await.unwrap());
    // A missing service is not updated.
    assert!(
        !store
            .update_service_if_keys(service(99, 1, "none"), None)
            .await
            .unwrap()
    );

    // Concurrent swaps from the same expectation: exactly one wins.
    let winners = winners_of_race(&store, 16, |store, i| async move {
        let record = with_keys(&format!("race-{i}"));
        store
            .update_service_if_keys(record, Some("v2"))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(winners, 1);
}

/// Starts `n` calls at once (released together by a barrier) and counts those that say `true`.
async fn winners_of_race<S, F, Fut>(store: &Arc<S>, n: usize, call: F) -> usize
where
    S: Store,
    F: Fn(Arc<S>, usize) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (call, barrier) = (call(store.clone(), i), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            call.await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap() {
            winners += 1;
        }
    }
    winners
}

/// A service's API secret and its settings change separately: neither write undoes the other.
pub async fn service_secret_changes_alone<S: Store>(store: Arc<S>) {
    store.create_service(service(11, 1, "one")).await.unwrap();
    let mut changed = store.get_service(11).await.unwrap().unwrap();
    assert!(
        store
            .set_service_secret(11, &hash("new-secret"))
            .await
            .unwrap()
    );
    // A settings update read before the new secret does not bring the old one back.
    changed.service.service_name = Some("renamed".into());
    assert!(store.update_service(changed.clone()).await.unwrap());
    let got = store.get_service(11).await.unwrap().unwrap();
    assert!(got.secret_hash.matches(&hash("new-secret")));
    assert_eq!(got.service.service_name.as_deref(), Some("renamed"));
    assert!(
        store
            .update_service_if_keys(changed, Some("sealed-jwks-11"))
            .await
            .unwrap()
    );
    assert!(
        store
            .get_service(11)
            .await
            .unwrap()
            .unwrap()
            .secret_hash
            .matches(&hash("new-secret"))
    );
    assert!(!store.set_service_secret(999, &hash("x")).await.unwrap());
}

pub async fn client_secret_compare_and_swap<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[101]).await;
    assert!(
        store
            .set_client_secret(11, 101, "sealed-101", "v2")
            .await
            .unwrap()
    );
    // A stale expectation, another service's client, or no client: nothing changes.
    assert!(
        !store
            .set_client_secret(11, 101, "sealed-101", "v3")
            .await
            .unwrap()
    );
    assert!(!store.set_client_secret(12, 101, "v2", "v3").await.unwrap());
    assert!(!store.set_client_secret(11, 999, "v2", "v3").await.unwrap());
    let got = store.get_client(11, 101).await.unwrap().unwrap();
    assert_eq!(got.sealed_secret, "v2");

    // Settings updates and secret changes at once: neither undoes the other.
    let barrier = Arc::new(Barrier::new(16));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            if i == 0 {
                assert!(store.set_client_secret(11, 101, "v2", "v3").await.unwrap());
            } else {
                let mut record = store.get_client(11, 101).await.unwrap().unwrap();
                record.client.client_name = Some(format!("name {i}"));
                assert!(store.update_client(record).await.unwrap());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        store
            .get_client(11, 101)
            .await
            .unwrap()
            .unwrap()
            .sealed_secret,
        "v3"
    );

    // Concurrent swaps from one expectation: exactly one wins.
    let winners = winners_of_race(&store, 16, |store, i| async move {
        store
            .set_client_secret(11, 101, "v3", &format!("race-{i}"))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(winners, 1);
}

fn developer(service_api_key: i64, login: &str) -> DeveloperRecord {
    DeveloperRecord {
        service_api_key,
        login: login.into(),
        display_name: Some(format!("{login} (display)")),
        password_hash: format!("$argon2id$hash-of-{login}"),
        disabled: false,
        created_at: NOW,
    }
}

pub async fn developers<S: Store>(store: Arc<S>) {
    setup(&*store, 11, &[]).await;
    setup(&*store, 12, &[]).await;
    store
        .create_developer(&developer(11, "alice"))
        .await
        .unwrap();
    store.create_developer(&developer(11, "bob")).await.unwrap();
    // A login is unique within its service, not across services.
    assert!(matches!(
        store.create_developer(&developer(11, "alice")).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .create_developer(&developer(12, "alice"))
        .await
        .unwrap();

    assert_eq!(
        store.get_developer(11, "alice").await.unwrap(),
        Some(developer(11, "alice"))
    );
    assert_eq!(store.get_developer(11, "carol").await.unwrap(), None);
    let logins = |list: Vec<DeveloperRecord>| list.into_iter().map(|d| d.login).collect::<Vec<_>>();
    assert_eq!(
        logins(store.list_developers(11).await.unwrap()),
        ["alice", "bob"]
    );
    assert_eq!(logins(store.list_developers(12).await.unwrap()), ["alice"]);

    let mut changed = developer(11, "bob");
    changed.disabled = true;
    changed.password_hash = "$argon2id$new".into();
    changed.display_name = None;
    assert!(store.update_developer(&changed).await.unwrap());
    assert_eq!(store.get_developer(11, "bob").await.unwrap(), Some(changed));
    assert!(
        !store
            .update_developer(&developer(11, "carol"))
            .await
            .unwrap()
    );

    // Developers go with their service.
    assert!(store.delete_service(11).await.unwrap());
    assert!(store.list_developers(11).await.unwrap().is_empty());
    assert_eq!(store.list_developers(12).await.unwrap().len(), 1);
}
