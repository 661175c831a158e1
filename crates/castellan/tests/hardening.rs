//! Regression tests of hostile input found by an adversarial review: each one failed before its
//! fix. The real router on an ephemeral port, spoken to over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{Value, json};

/// The redirect the authorization API answered with, parsed (`LOCATION` errors land here).
fn redirect_error(v: &Value) -> String {
    let location = v["responseContent"].as_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn huge_lists_are_refused_not_chewed_on() {
    let f = Fixture::new().await;
    // 100,000 scope values (≈ 690 KB) used to keep a worker busy for 9 s.
    let huge: String = (0..100_000)
        .map(|i| format!("s{i}"))
        .collect::<Vec<_>>()
        .join("+");
    let base = format!(
        "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&state=s",
        f.client_id
    );
    for param in [
        "scope",
        "prompt",
        "acr_values",
        "ui_locales",
        "claims_locales",
    ] {
        let a = f.authorize(&format!("{base}&{param}={huge}")).await;
        assert_eq!(a["action"], "LOCATION", "{param}: {}", a["resultMessage"]);
        assert_eq!(a["resultCode"], "C000301", "{param}");
        assert_eq!(redirect_error(&a), "invalid_request");
        assert!(
            a["resultMessage"].as_str().unwrap().contains(param),
            "{param}"
        );
    }
    // One over the cap is refused, the cap itself is fine.
    let at_cap = vec!["history.read"; 256].join("+");
    let a = f.authorize(&format!("{base}&scope={at_cap}")).await;
    assert_eq!(a["action"], "INTERACTION", "{a}");
    let over = vec!["history.read"; 257].join("+");
    let a = f.authorize(&format!("{base}&scope={over}")).await;
    assert_eq!(a["resultCode"], "C000301");
    let long_value = "x".repeat(513);
    let a = f.authorize(&format!("{base}&scope={long_value}")).await;
    assert_eq!(a["resultCode"], "C000301");

    // The token endpoint's scope too.
    let t = f
        .token(&format!("grant_type=client_credentials&scope={huge}"))
        .await;
    assert_eq!(t["action"], "BAD_REQUEST", "{t}");
    assert_eq!(t["resultCode"], "C000301");
    assert_eq!(content(&t)["error"], "invalid_request");
}

#[tokio::test]
async fn configuration_patches_have_caps() {
    let f = Fixture::new().await;
    // 17 copies of the root doubled the document 17 times (1.66 GB).
    let copies: Vec<Value> = (0..17)
        .map(|i| json!({"op": "copy", "from": "", "path": format!("/c{i}")}))
        .collect();
    let (status, v) = f
        .manage(
            reqwest::Method::POST,
            "/api/service/configuration",
            Some(json!({"patch": Value::Array(copies).to_string()})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["resultMessage"].as_str().unwrap().contains("larger than"),
        "{v}"
    );
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"op": "add", "path": format!("/x{i}"), "value": i}))
        .collect();
    let (status, v) = f
        .manage(
            reqwest::Method::POST,
            "/api/service/configuration",
            Some(json!({"patch": Value::Array(many).to_string()})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    // A reasonable patch still applies.
    let (status, v) = f
        .manage(
            reqwest::Method::POST,
            "/api/service/configuration",
            Some(json!({"patch": r#"[{"op":"add","path":"/x_extra","value":1}]"#})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["x_extra"], 1);
}

/// A second service on the fixture's server: (API key, API secret).
async fn second_service(f: &Fixture) -> (String, String) {
    let owner = OWNER_KEY.to_string();
    let created = f
        .server
        .post(
            "/api/service/create",
            (&owner, OWNER_SECRET),
            json!({"serviceName": "other", "issuer": "https://other.example.com",
                   "supportedGrantTypes": ["AUTHORIZATION_CODE", "PASSWORD"],
                   "supportedResponseTypes": ["CODE"]}),
        )
        .await;
    (
        created["apiKey"].as_i64().unwrap().to_string(),
        created["apiSecret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_service_cannot_touch_another_services_tickets() {
    let f = Fixture::new().await;
    let (other_key, other_secret) = second_service(&f).await;
    let other = (other_key.as_str(), other_secret.as_str());
    // A call with the other service's credentials.
    let as_other = |path: &'static str, body: Value| f.server.post(path, other, body);
    let base = format!(
        "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&state=s",
        f.client_id
    );

    // Authorization tickets: the other service's issue and fail answer "not found"...
    let a = f.authorize(&base).await;
    let ticket = a["ticket"].clone();
    let issued = as_other(
        "/api/auth/authorization/issue",
        json!({"ticket": ticket, "subject": "mallory"}),
    )
    .await;
    assert_eq!(issued["action"], "BAD_REQUEST", "{issued}");
    let failed = as_other(
        "/api/auth/authorization/fail",
        json!({"ticket": ticket, "reason": "DENIED"}),
    )
    .await;
    assert_eq!(failed["action"], "BAD_REQUEST", "{failed}");
    let unknown = as_other(
        "/api/auth/authorization/fail",
        json!({"ticket": "no-such-ticket", "reason": "DENIED"}),
    )
    .await;
    // ...exactly as for a ticket that does not exist, so nothing is confirmed...
    assert_eq!(failed["resultCode"], unknown["resultCode"]);
    // ...and the owner's ticket still works.
    let mine = f.issue(&ticket, "john").await;
    assert_eq!(mine["action"], "LOCATION", "{mine}");

    // Token tickets (password grant).
    let pw = f
        .token("grant_type=password&username=john&password=pw")
        .await;
    assert_eq!(pw["action"], "PASSWORD", "{pw}");
    let foreign_fail = as_other(
        "/api/auth/token/fail",
        json!({"ticket": pw["ticket"], "reason": "INVALID_RESOURCE_OWNER_CREDENTIALS"}),
    )
    .await;
    let unknown_fail = as_other(
        "/api/auth/token/fail",
        json!({"ticket": "no-such-ticket", "reason": "INVALID_RESOURCE_OWNER_CREDENTIALS"}),
    )
    .await;
    assert_eq!(foreign_fail["resultCode"], unknown_fail["resultCode"]);
    let foreign_issue = as_other(
        "/api/auth/token/issue",
        json!({"ticket": pw["ticket"], "subject": "mallory"}),
    )
    .await;
    assert_ne!(foreign_issue["action"], "OK", "{foreign_issue}");
    let issued = f
        .api(
            "/api/auth/token/issue",
            json!({"ticket": pw["ticket"], "subject": "john"}),
        )
        .await;
    assert_eq!(issued["action"], "OK", "{issued}");
}

#[tokio::test]
async fn redirect_uris_with_control_characters_are_refused() {
    let f = Fixture::with_service(json!({"loopbackRedirectionUriVariable": true})).await;
    let registered = ["http://127.0.0.1/cb", "http://localhost"];
    let (status, mut client) = f
        .manage(
            reqwest::Method::GET,
            &format!("/api/client/get/{}", f.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    client["redirectUris"] = json!(registered);
    f.api(&format!("/api/client/update/{}", f.client_id), client)
        .await;

    let ask = |uri: &str| {
        format!(
            "response_type=code&client_id={}&state=s&redirect_uri={}",
            f.client_id,
            url_encode(uri)
        )
    };
    // CR/LF (and other control characters) used to pass the normalised match and be echoed.
    for hostile in [
        "http://127.0.0.1:4444/c\r\n\r\nb",
        "http://127.0.0.1:4444/c\tb",
        "http://127.0.0.1/cb\n",
        "http://127.0.0.1:4444/cb\u{7f}",
    ] {
        let a = f.authorize(&ask(hostile)).await;
        assert_eq!(a["action"], "BAD_REQUEST", "{hostile:?}: {a}");
        let body = a["responseContent"].as_str().unwrap_or("");
        assert!(!body.contains('\r') && !body.contains('\n'), "{body:?}");
    }
    // A loopback URI with another port is still accepted, used as sent (once validated), and
    // the token request repeats it exactly (RFC 6749 §4.1.3), also where the parser would
    // have normalised it (a trailing slash for an empty path).
    for given in ["http://127.0.0.1:4444/cb", "http://localhost:54321"] {
        let a = f.authorize(&ask(given)).await;
        assert_eq!(a["action"], "INTERACTION", "{a}");
        let issued = f.issue(&a["ticket"], "john").await;
        let location = issued["responseContent"].as_str().unwrap();
        assert!(
            location.starts_with(&format!("{given}?")) && location.contains("code="),
            "{location}"
        );
        let code = issued["authorizationCode"].as_str().unwrap();
        let t = f
            .token(&format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                url_encode(given)
            ))
            .await;
        assert_eq!(t["action"], "OK", "{t}");
    }
    // Spaces and non-ASCII are not used as sent.
    for odd in ["http://127.0.0.1:4444/c b", "http://127.0.0.1:4444/cé"] {
        let a = f.authorize(&ask(odd)).await;
        assert_eq!(a["action"], "BAD_REQUEST", "{odd:?}: {a}");
    }
}

#[tokio::test]
async fn durations_are_bounded_and_never_overflow() {
    let f = Fixture::new().await;
    let owner = OWNER_KEY.to_string();
    // Settings beyond the documented maximum are refused at creation and update.
    let (status, v) = f
        .server
        .call(
            reqwest::Method::POST,
            "/api/service/create",
            (&owner, OWNER_SECRET),
            Some(json!({"serviceName": "x", "accessTokenDuration": i64::MAX / 10})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (_, mut service) = f.owner_get_service().await;
    service["refreshTokenDuration"] = json!(9_000_000_000_000_000_i64);
    let (status, v) = f
        .server
        .call(
            reqwest::Method::POST,
            &format!("/api/service/update/{}", f.key),
            (&owner, OWNER_SECRET),
            Some(service),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, mut client) = f
        .manage(
            reqwest::Method::GET,
            &format!("/api/client/get/{}", f.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    client["extension"] = json!({"accessTokenDuration": i64::MAX});
    let (status, v) = f
        .manage(
            reqwest::Method::POST,
            &format!("/api/client/update/{}", f.client_id),
            Some(client),
        )
        .await;
    assert_eq!(status, 400, "{v}");

    // A huge duration handed to /authorization/issue is cut to the maximum: the expiry stays
    // in the future and agrees with expires_in.
    let base = format!(
        "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&state=s",
        f.client_id
    );
    let a = f.authorize(&base).await;
    let issued = f
        .api(
            "/api/auth/authorization/issue",
            json!({"ticket": a["ticket"], "subject": "john", "accessTokenDuration": i64::MAX}),
        )
        .await;
    assert_eq!(issued["action"], "LOCATION", "{issued}");
    let code = issued["authorizationCode"].as_str().unwrap();
    let t = f.redeem(code).await;
    assert_eq!(t["action"], "OK", "{t}");
    let expires_at = t["accessTokenExpiresAt"].as_i64().unwrap();
    assert!(expires_at > 0, "{t}");
    let i = f.introspect(t["accessToken"].as_str().unwrap()).await;
    assert_eq!(i["action"], "OK", "{i}");
}

#[tokio::test]
async fn api_keys_are_parsed_strictly() {
    let f = Fixture::new().await;
    let probe = |key: String| {
        let f = &f;
        async move {
            f.server
                .call(
                    reqwest::Method::POST,
                    "/api/auth/introspection",
                    (&key, &f.secret),
                    Some(json!({"token": "x"})),
                )
                .await
                .0
        }
    };
    assert_eq!(probe(f.key.clone()).await, 200);
    for variant in [
        format!("0{}", f.key),
        format!("+{}", f.key),
        format!("00{}", f.key),
        format!(" {}", f.key),
    ] {
        assert_eq!(probe(variant.clone()).await, 401, "{variant}");
    }
    let owner = OWNER_KEY.to_string();
    let (status, _) = f
        .server
        .call(
            reqwest::Method::GET,
            "/api/service/get/list",
            (&format!("0{owner}"), OWNER_SECRET),
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn client_web_uris_must_be_https() {
    let f = Fixture::new().await;
    for (member, value) in [
        ("logoUri", json!("javascript:alert(1)")),
        ("policyUri", json!("http://example.com/policy")),
        ("tosUri", json!("data:text/html,hi")),
        ("clientUri", json!("javascript:alert(1)")),
        ("jwksUri", json!("file:///etc/passwd")),
        (
            "logoUris",
            json!([{"tag": "ja", "value": "javascript:alert(1)"}]),
        ),
    ] {
        let (status, v) = f
            .manage(
                reqwest::Method::POST,
                "/api/client/create",
                Some(json!({"clientName": "x", "redirectUris": [REDIRECT], member: value})),
            )
            .await;
        assert_eq!(status, 400, "{member}: {v}");
        assert!(v["resultMessage"].as_str().unwrap().contains(member), "{v}");
    }
    let (status, v) = f
        .manage(
            reqwest::Method::POST,
            "/api/client/create",
            Some(json!({"clientName": "x", "redirectUris": [REDIRECT],
                        "logoUri": "https://app.example.com/logo.png"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn an_update_without_settings_is_refused_and_keeps_everything() {
    let f = Fixture::new().await;
    let owner = OWNER_KEY.to_string();
    let (_, before) = f.owner_get_service().await;
    assert!(before["jwks"].is_string(), "{before}");
    for body in [json!({}), json!({"apiKey": f.key.parse::<i64>().unwrap()})] {
        let (status, v) = f
            .server
            .call(
                reqwest::Method::POST,
                &format!("/api/service/update/{}", f.key),
                (&owner, OWNER_SECRET),
                Some(body),
            )
            .await;
        assert_eq!(status, 400, "{v}");
    }
    let (status, v) = f
        .manage(
            reqwest::Method::POST,
            &format!("/api/client/update/{}", f.client_id),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let (_, after) = f.owner_get_service().await;
    assert_eq!(before["jwks"], after["jwks"]);
    assert_eq!(before["supportedScopes"], after["supportedScopes"]);

    // get → change one setting → update keeps every other setting, the keys included.
    let mut changed = after.clone();
    changed["description"] = json!("changed");
    let (status, v) = f
        .server
        .call(
            reqwest::Method::POST,
            &format!("/api/service/update/{}", f.key),
            (&owner, OWNER_SECRET),
            Some(changed),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (_, last) = f.owner_get_service().await;
    assert_eq!(last["description"], "changed");
    assert_eq!(before["jwks"], last["jwks"]);
    assert_eq!(before["accessTokenDuration"], last["accessTokenDuration"]);
}

#[tokio::test]
async fn a_service_cannot_probe_another_services_codes_and_tokens() {
    let f = Fixture::new().await;
    let (other_key, other_secret) = second_service(&f).await;
    let other = (other_key.as_str(), other_secret.as_str());
    // A call with the other service's credentials.
    let as_other = |path: &'static str, body: Value| f.server.post(path, other, body);
    let mallory = as_other(
        "/api/client/create",
        json!({"clientName": "m", "clientType": "CONFIDENTIAL", "redirectUris": [REDIRECT],
                   "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"], "responseTypes": ["CODE"],
                   "tokenAuthMethod": "CLIENT_SECRET_BASIC"}),
    )
    .await;
    let as_mallory = |parameters: String| {
        json!({"parameters": parameters,
               "clientId": mallory["clientId"].as_i64().unwrap().to_string(),
               "clientSecret": mallory["clientSecret"]})
    };

    // A's code presented to B: the same answer as for a code that does not exist.
    let code = f.code("").await;
    let foreign = as_other(
        "/api/auth/token",
        as_mallory(format!(
            "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}"
        )),
    )
    .await;
    let unknown = as_other(
        "/api/auth/token",
        as_mallory(format!(
            "grant_type=authorization_code&code=no-such-code&redirect_uri={REDIRECT_ENC}"
        )),
    )
    .await;
    assert_eq!(foreign["action"], "BAD_REQUEST", "{foreign}");
    assert_eq!(foreign["resultCode"], unknown["resultCode"]);
    // A's code still works, once.
    let t = f.redeem(&code).await;
    assert_eq!(t["action"], "OK", "{t}");

    // A's refresh token and access token presented to B: unknown, and left alone.
    let refresh = t["refreshToken"].as_str().unwrap();
    let foreign = as_other(
        "/api/auth/token",
        as_mallory(format!("grant_type=refresh_token&refresh_token={refresh}")),
    )
    .await;
    let unknown = as_other(
        "/api/auth/token",
        as_mallory("grant_type=refresh_token&refresh_token=no-such-token".into()),
    )
    .await;
    assert_eq!(foreign["resultCode"], unknown["resultCode"], "{foreign}");
    let access = t["accessToken"].as_str().unwrap();
    let probe = as_other("/api/auth/introspection", json!({"token": access})).await;
    let nothing = as_other("/api/auth/introspection", json!({"token": "no-such-token"})).await;
    assert_eq!(probe["resultCode"], nothing["resultCode"], "{probe}");
    as_other(
        "/api/auth/revocation",
        as_mallory(format!("token={access}")),
    )
    .await;
    assert_eq!(f.introspect(access).await["action"], "OK");
    let refreshed = f
        .token(&format!("grant_type=refresh_token&refresh_token={refresh}"))
        .await;
    assert_eq!(refreshed["action"], "OK", "{refreshed}");
}
