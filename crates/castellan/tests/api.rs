//! HTTP integration tests: the real router and the embedded store, on an ephemeral port,
//! driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn full_walkthrough() {
    let f = Fixture::new().await;
    let a = f.authorize(&format!("response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&scope=history.read&state=xyz", f.client_id)).await;
    assert_eq!(a["action"], "INTERACTION");
    assert_eq!(a["resultCode"], "A004001");
    assert_eq!(a["ticket"].as_str().unwrap().len(), 43);
    assert_eq!(a["client"]["clientId"], f.client_id);
    assert!(a["client"].get("clientSecret").is_none());
    assert_eq!(a["scopes"][0]["name"], "history.read");
    assert_eq!(a["maxAge"], 0);
    assert_eq!(a["display"], "PAGE");

    let issued = f
        .api(
            "/api/auth/authorization/issue",
            json!({"ticket": a["ticket"], "subject": 42, "authTime": 1700000000}),
        )
        .await;
    assert_eq!(issued["action"], "LOCATION");
    assert_eq!(issued["resultCode"], "A040001");
    let location = issued["responseContent"].as_str().unwrap();
    let code = issued["authorizationCode"].as_str().unwrap();
    assert_eq!(
        location,
        format!("{REDIRECT}?state=xyz&code={code}&iss=https%3A%2F%2Fas.example.com")
    );

    // The ticket is single use.
    let again = f.issue(&a["ticket"], "john").await;
    assert_eq!(again["action"], "BAD_REQUEST");
    assert_eq!(again["resultCode"], "A041202");

    let token = f.redeem(code).await;
    assert_eq!(token["action"], "OK", "{token}");
    assert_eq!(token["resultCode"], "A050001");
    assert_eq!(token["grantType"], "AUTHORIZATION_CODE");
    assert_eq!(token["subject"], "42");
    assert_eq!(token["clientId"], f.client_id);
    assert_eq!(token["accessTokenDuration"], 3600);
    let body = content(&token);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "history.read");
    let at = token["accessToken"].as_str().unwrap();
    assert_eq!(body["access_token"], at);
    assert!(token["refreshToken"].as_str().is_some());

    let intro = f
        .api(
            "/api/auth/introspection",
            json!({"token": at, "scopes": ["history.read"], "subject": "42"}),
        )
        .await;
    assert_eq!(intro["action"], "OK");
    assert_eq!(intro["resultCode"], "A056001");
    assert_eq!(intro["responseContent"], "Bearer error=\"invalid_request\"");
    assert_eq!(intro["usable"], true);
    assert_eq!(intro["sufficient"], true);
    assert_eq!(intro["refreshable"], true);
    assert_eq!(intro["clientId"], f.client_id);

    let forbidden = f
        .api(
            "/api/auth/introspection",
            json!({"token": at, "scopes": ["timeline.read"]}),
        )
        .await;
    assert_eq!(forbidden["action"], "FORBIDDEN");
    assert!(
        forbidden["responseContent"]
            .as_str()
            .unwrap()
            .starts_with("Bearer error=\"insufficient_scope\"")
    );

    let std = f
        .api(
            "/api/auth/introspection/standard",
            json!({"parameters": format!("token={at}")}),
        )
        .await;
    assert_eq!(std["action"], "OK");
    let std_body = content(&std);
    assert_eq!(std_body["active"], true);
    assert_eq!(std_body["client_id"], f.client_id.to_string());
    assert_eq!(std_body["sub"], "42");

    let revoked = f
        .as_client("/api/auth/revocation", &format!("token={at}"))
        .await;
    assert_eq!(revoked["action"], "OK", "{revoked}");
    let after = f.introspect(at).await;
    assert_eq!(after["action"], "UNAUTHORIZED");
    assert_eq!(after["existent"], false);
    // Revoking the access token revoked its refresh token too.
    let refreshed = f
        .token(&format!(
            "grant_type=refresh_token&refresh_token={}",
            token["refreshToken"].as_str().unwrap()
        ))
        .await;
    assert_eq!(refreshed["action"], "BAD_REQUEST");
}

#[tokio::test]
async fn replayed_code_revokes_its_tokens() {
    let f = Fixture::new().await;
    let code = f.code("").await;
    let first = f.redeem(&code).await;
    assert_eq!(first["action"], "OK");
    let replay = f.redeem(&code).await;
    assert_eq!(replay["action"], "BAD_REQUEST");
    assert_eq!(content(&replay)["error"], "invalid_grant");
    let intro = f.introspect(first["accessToken"].as_str().unwrap()).await;
    assert_eq!(intro["action"], "UNAUTHORIZED");
}

#[tokio::test]
async fn parallel_redemptions_yield_exactly_one_token() {
    let f = Arc::new(Fixture::new().await);
    let code = f.code("").await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let f = f.clone();
            let code = code.clone();
            tokio::spawn(
                async move { f.redeem(&code).await["action"].as_str().unwrap().to_owned() },
            )
        })
        .collect();
    let results = futures::future::join_all(tasks).await;
    let oks = results
        .iter()
        .filter(|r| r.as_ref().unwrap() == "OK")
        .count();
    assert_eq!(oks, 1, "{results:?}");
}

#[tokio::test]
async fn refresh_rotation_and_reuse_detection() {
    let f = Fixture::new().await;
    let token = f.redeem(&f.code("").await).await;
    let rt1 = token["refreshToken"].as_str().unwrap().to_owned();
    let refresh = |rt: String| {
        let f = &f;
        async move {
            f.token(&format!("grant_type=refresh_token&refresh_token={rt}"))
                .await
        }
    };
    let second = refresh(rt1.clone()).await;
    assert_eq!(second["action"], "OK", "{second}");
    assert_eq!(second["grantType"], "REFRESH_TOKEN");
    let rt2 = second["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    // The old access token died with the rotation.
    assert_eq!(
        f.introspect(token["accessToken"].as_str().unwrap()).await["action"],
        "UNAUTHORIZED"
    );
    // Reusing the rotated-out refresh token revokes the grant.
    let reuse = refresh(rt1).await;
    assert_eq!(reuse["action"], "BAD_REQUEST");
    assert_eq!(content(&reuse)["error"], "invalid_grant");
    assert_eq!(
        f.introspect(second["accessToken"].as_str().unwrap()).await["action"],
        "UNAUTHORIZED"
    );
    assert_eq!(refresh(rt2).await["action"], "BAD_REQUEST");
}

#[tokio::test]
async fn client_credentials_and_password_grants() {
    let f = Fixture::new().await;
    let cc = f
        .token("grant_type=client_credentials&scope=timeline.read")
        .await;
    assert_eq!(cc["action"], "OK", "{cc}");
    assert!(cc.get("refreshToken").is_none());
    assert!(cc.get("subject").is_none());
    assert_eq!(content(&cc)["scope"], "timeline.read");

    let pw = f
        .token("grant_type=password&username=john&password=pw")
        .await;
    assert_eq!(pw["action"], "PASSWORD", "{pw}");
    assert_eq!(pw["username"], "john");
    assert!(pw.get("responseContent").is_none());
    let issued = f
        .api(
            "/api/auth/token/issue",
            json!({"ticket": pw["ticket"], "subject": "john"}),
        )
        .await;
    assert_eq!(issued["action"], "OK", "{issued}");
    assert_eq!(issued["resultCode"], "A054001");
    assert_eq!(issued["subject"], "john");

    let pw2 = f
        .token("grant_type=password&username=john&password=bad")
        .await;
    let failed = f
        .api(
            "/api/auth/token/fail",
            json!({"ticket": pw2["ticket"], "reason": "INVALID_RESOURCE_OWNER_CREDENTIALS"}),
        )
        .await;
    assert_eq!(failed["action"], "BAD_REQUEST");
    assert_eq!(failed["resultCode"], "A067301");
    assert_eq!(content(&failed)["error"], "invalid_request");
}

#[tokio::test]
async fn client_authentication_is_enforced() {
    let f = Fixture::new().await;
    let code = f.code("").await;
    let params = format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}");
    let wrong = f.api("/api/auth/token", json!({"parameters": params, "clientId": f.client_id.to_string(), "clientSecret": "nope"})).await;
    assert_eq!(wrong["action"], "INVALID_CLIENT");
    assert_eq!(wrong["resultCode"], "A157305");
    // client_secret_basic: a secret in the body does not count.
    let post = f
        .api("/api/auth/token", json!({"parameters": format!("{params}&client_id={}&client_secret={}", f.client_id, f.client_secret)}))
        .await;
    assert_eq!(post["action"], "INVALID_CLIENT");
    assert_eq!(post["resultCode"], "A157304");
    let unknown = f
        .api(
            "/api/auth/token",
            json!({"parameters": params, "clientId": "123", "clientSecret": "x"}),
        )
        .await;
    assert_eq!(unknown["action"], "INVALID_CLIENT");
    // The code is still good after those failures.
    assert_eq!(f.redeem(&code).await["action"], "OK");
}

#[tokio::test]
async fn public_client_needs_pkce() {
    let f = Fixture::new().await;
    let base = format!(
        "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&state=p",
        f.public_id
    );
    let no_pkce = f.authorize(&base).await;
    assert_eq!(no_pkce["action"], "LOCATION");
    let loc = no_pkce["responseContent"].as_str().unwrap();
    assert!(
        loc.starts_with(&format!("{REDIRECT}?error=invalid_request")),
        "{loc}"
    );
    assert!(loc.contains("state=p"));

    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let a = f
        .authorize(&format!(
            "{base}&code_challenge={challenge}&code_challenge_method=S256"
        ))
        .await;
    assert_eq!(a["action"], "INTERACTION", "{a}");
    let issued = f.issue(&a["ticket"], "u").await;
    let code = issued["authorizationCode"].as_str().unwrap();
    let token_params = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}&client_id={}",
        f.public_id
    );
    let bad = f
        .api(
            "/api/auth/token",
            json!({"parameters": format!("{token_params}&code_verifier={}", "x".repeat(43))}),
        )
        .await;
    assert_eq!(bad["action"], "BAD_REQUEST");
    assert_eq!(bad["resultCode"], "A050315");
    let good = f
        .api(
            "/api/auth/token",
            json!({"parameters": format!("{token_params}&code_verifier={verifier}")}),
        )
        .await;
    assert_eq!(good["action"], "OK", "{good}");
}

impl Fixture {
    /// A code for the public client, with the PKCE verifier that redeems it.
    async fn public_code(&self) -> (String, &'static str) {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let a = self
            .authorize(&format!(
                "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}&code_challenge={challenge}&code_challenge_method=S256",
                self.public_id
            ))
            .await;
        let issued = self.issue(&a["ticket"], "u").await;
        let code = issued["authorizationCode"].as_str().unwrap().to_owned();
        (code, verifier)
    }

    /// Redeems a fresh code of the public client without naming any client.
    async fn redeem_public_code_anonymously(&self) -> Value {
        let (code, verifier) = self.public_code().await;
        let params = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}&code_verifier={verifier}"
        );
        self.api("/api/auth/token", json!({ "parameters": params }))
            .await
    }
}

#[tokio::test]
async fn client_id_may_be_omitted_only_when_the_service_allows_it() {
    // Not allowed (the default): a token request must name its client.
    let f = Fixture::new().await;
    let refused = f.redeem_public_code_anonymously().await;
    assert_eq!(refused["action"], "BAD_REQUEST", "{refused}");
    assert_eq!(refused["resultCode"], "A244305");

    // Allowed: the public client is inferred from the code, then from the refresh token.
    let f = Fixture::with_service(json!({"missingClientIdAllowed": true})).await;
    let ok = f.redeem_public_code_anonymously().await;
    assert_eq!(ok["action"], "OK", "{ok}");
    assert_eq!(ok["clientId"], f.public_id);
    let refreshed = f
        .api(
            "/api/auth/token",
            json!({ "parameters": format!("grant_type=refresh_token&refresh_token={}", ok["refreshToken"].as_str().unwrap()) }),
        )
        .await;
    assert_eq!(refreshed["action"], "OK", "{refreshed}");

    // A confidential client's code without its credentials is still refused.
    let code = f.code("").await;
    let anonymous = f
        .api(
            "/api/auth/token",
            json!({ "parameters": format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}") }),
        )
        .await;
    assert_eq!(anonymous["action"], "INVALID_CLIENT", "{anonymous}");
    // An unknown code names no client.
    let unknown = f
        .api(
            "/api/auth/token",
            json!({ "parameters": format!("grant_type=authorization_code&code=nope&redirect_uri={REDIRECT_ENC}") }),
        )
        .await;
    assert_eq!(unknown["action"], "BAD_REQUEST");
    assert_eq!(unknown["resultCode"], "A244305");
}

#[tokio::test]
async fn single_access_token_per_subject_applies_to_code_redemption() {
    let f = Fixture::with_service(json!({"singleAccessTokenPerSubject": true})).await;
    let first = f.redeem(&f.code("").await).await;
    assert_eq!(first["action"], "OK", "{first}");
    let second = f.redeem(&f.code("").await).await;
    assert_eq!(second["action"], "OK", "{second}");
    let old = f.introspect(first["accessToken"].as_str().unwrap()).await;
    assert_eq!(old["action"], "UNAUTHORIZED", "{old}");
    let new = f.introspect(second["accessToken"].as_str().unwrap()).await;
    assert_eq!(new["action"], "OK", "{new}");

    // Client-credentials tokens have no subject and are left alone.
    let f = Fixture::with_service(json!({"singleAccessTokenPerSubject": true})).await;
    let cc1 = f.token("grant_type=client_credentials").await;
    let cc2 = f.token("grant_type=client_credentials").await;
    for t in [&cc1, &cc2] {
        let seen = f.introspect(t["accessToken"].as_str().unwrap()).await;
        assert_eq!(seen["action"], "OK", "{seen}");
    }
}

#[tokio::test]
async fn introspection_names_the_client_alias() {
    let f = Fixture::with_service(json!({"clientIdAliasEnabled": true})).await;
    let (status, client) = f
        .manage(
            reqwest::Method::GET,
            &format!("/api/client/get/{}", f.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut updated = client.clone();
    updated["clientIdAlias"] = json!("my-client");
    updated["clientIdAliasEnabled"] = json!(true);
    let saved = f
        .api(&format!("/api/client/update/{}", f.client_id), updated)
        .await;
    assert_eq!(saved["clientIdAlias"], "my-client", "{saved}");
    let token = f.token("grant_type=client_credentials").await;
    let seen = f.introspect(token["accessToken"].as_str().unwrap()).await;
    assert_eq!(seen["clientIdAlias"], "my-client", "{seen}");
    assert_eq!(seen["clientIdAliasUsed"], false);
}

#[tokio::test]
async fn client_lock_flag() {
    let f = Fixture::new().await;
    let path = format!("/api/client/lock_flag/update/{}", f.client_id);
    let call = |body: Value| {
        let path = path.clone();
        let f = &f;
        async move {
            f.server
                .call(reqwest::Method::POST, &path, f.creds(), Some(body))
                .await
        }
    };
    let (status, _) = call(json!({})).await;
    assert_eq!(status, 400);
    let (status, _) = call(json!({"clientLocked": "maybe"})).await;
    assert_eq!(status, 400);

    let (status, _) = call(json!({"clientLocked": true})).await;
    assert_eq!(status, 200);
    let refused = f.token("grant_type=client_credentials").await;
    assert_eq!(refused["action"], "INVALID_CLIENT", "{refused}");
    let a = f
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT_ENC}",
            f.client_id
        ))
        .await;
    assert_eq!(a["action"], "BAD_REQUEST", "{a}");

    let (status, _) = call(json!({"clientLocked": false})).await;
    assert_eq!(status, 200);
    let ok = f.token("grant_type=client_credentials").await;
    assert_eq!(ok["action"], "OK", "{ok}");

    let (status, _) = f
        .manage(
            reqwest::Method::POST,
            "/api/client/lock_flag/update/12345",
            Some(json!({"clientLocked": true})),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn authorization_errors() {
    let f = Fixture::new().await;
    let unknown = f.authorize("response_type=code&client_id=999").await;
    assert_eq!(unknown["action"], "BAD_REQUEST");
    assert_eq!(unknown["resultCode"], "A010304");
    let bad_redirect = f
        .authorize(&format!(
            "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example",
            f.client_id
        ))
        .await;
    assert_eq!(bad_redirect["resultCode"], "A011304");
    assert_eq!(bad_redirect["action"], "BAD_REQUEST");
    let dup = f
        .authorize(&format!(
            "response_type=code&client_id={0}&client_id={0}",
            f.client_id
        ))
        .await;
    assert_eq!(dup["resultCode"], "A010303");
    let missing = f.authorize(&format!("client_id={}", f.client_id)).await;
    assert_eq!(missing["resultCode"], "A009301");
    let no_params = f.api("/api/auth/authorization", json!({})).await;
    assert_eq!(no_params["resultCode"], "A004201");
    assert_eq!(content(&no_params)["error"], "invalid_request");
    let dup_scope = f
        .authorize(&format!(
            "response_type=code&client_id={}&scope=a&scope=b&state=q",
            f.client_id
        ))
        .await;
    assert_eq!(dup_scope["action"], "LOCATION");
    assert!(
        dup_scope["responseContent"]
            .as_str()
            .unwrap()
            .contains("error=invalid_request")
    );
    let form = f
        .authorize(&format!(
            "response_type=code&client_id={}&response_mode=form_post&state=fp",
            f.client_id
        ))
        .await;
    assert_eq!(form["action"], "INTERACTION");
    let issued = f.issue(&form["ticket"], "u").await;
    assert_eq!(issued["action"], "FORM");
    let html = issued["responseContent"].as_str().unwrap();
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")));
    assert!(html.contains("name=\"state\" value=\"fp\""));
    let none = f
        .authorize(&format!(
            "response_type=code&client_id={}&prompt=none",
            f.client_id
        ))
        .await;
    assert_eq!(none["action"], "NO_INTERACTION");
    let failed = f
        .api(
            "/api/auth/authorization/fail",
            json!({"ticket": none["ticket"], "reason": "NOT_LOGGED_IN"}),
        )
        .await;
    assert_eq!(failed["action"], "LOCATION");
    assert!(
        failed["responseContent"]
            .as_str()
            .unwrap()
            .contains("error=login_required")
    );
}

#[tokio::test]
async fn caller_authentication_and_bad_bodies() {
    let f = Fixture::new().await;
    let url = format!("{}/api/auth/authorization", f.server.base);
    let http = &f.server.http;
    let resp = http
        .post(&url)
        .json(&json!({"parameters": "x=y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["resultCode"], "A001202");
    assert!(v.get("action").is_none());

    let (status, v) = f
        .server
        .call(
            reqwest::Method::POST,
            "/api/auth/authorization",
            (&f.key, "wrong"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(v["resultCode"], "A003204");

    for body in [
        &b"{not json"[..],
        &b"[1,2]"[..],
        &b"{\"parameters\": 5.5e400}"[..],
        &[0xff, 0xfe, 0x00][..],
    ] {
        let resp = http
            .post(&url)
            .basic_auth(&f.key, Some(&f.secret))
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["resultCode"], "A000201");
    }
    let wrong_type = http
        .post(&url)
        .basic_auth(&f.key, Some(&f.secret))
        .json(&json!({"parameters": {"a": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);
    let huge = http
        .post(&url)
        .basic_auth(&f.key, Some(&f.secret))
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 400);

    // Form-encoded bodies work too.
    let resp = http
        .post(&url)
        .basic_auth(&f.key, Some(&f.secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "parameters={}",
            url_encode(&format!("response_type=code&client_id={}", f.client_id))
        ))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["action"], "INTERACTION", "{v}");
}

#[tokio::test]
async fn management_round_trip() {
    let f = Fixture::new().await;
    let (status, got) = f
        .manage(
            reqwest::Method::GET,
            &format!("/api/client/get/{}", f.client_id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["clientSecret"], f.client_secret);
    let mut updated = got.clone();
    updated["clientName"] = json!("renamed");
    let (status, after) = f
        .manage(
            reqwest::Method::POST,
            &format!("/api/client/update/{}", f.client_id),
            Some(updated),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(after["clientName"], "renamed");
    assert_eq!(after["clientSecret"], f.client_secret);
    let (_, list) = f
        .manage(reqwest::Method::GET, "/api/client/get/list", None)
        .await;
    assert_eq!(list["totalCount"], 2);
    assert_eq!(list["start"], 0);
    assert_eq!(list["end"], 5);
    let (_, refreshed) = f
        .manage(
            reqwest::Method::GET,
            &format!("/api/client/secret/refresh/{}", f.client_id),
            None,
        )
        .await;
    assert_eq!(refreshed["resultCode"], "A148001");
    assert_eq!(refreshed["oldClientSecret"], f.client_secret);
    let (status, _) = f
        .manage(
            reqwest::Method::DELETE,
            &format!("/api/client/delete/{}", f.client_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = f
        .manage(
            reqwest::Method::GET,
            &format!("/api/client/get/{}", f.client_id),
            None,
        )
        .await;
    assert_eq!(status, 404);

    let owner = OWNER_KEY.to_string();
    let (status, svc) = f.owner_get_service().await;
    assert_eq!(status, 200);
    assert_eq!(svc["metadata"][0]["value"], "1");
    assert!(svc.get("apiSecret").is_none());
    let (status, _) = f
        .server
        .call(
            reqwest::Method::GET,
            &format!("/api/service/get/{}", f.key),
            (&owner, "bad"),
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn redirect_uris_that_run_content_are_refused() {
    let f = Fixture::new().await;
    for uri in [
        "javascript:alert(document.domain)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "file:///etc/passwd",
    ] {
        let (status, reply) = f
            .manage(
                reqwest::Method::POST,
                "/api/client/create",
                Some(json!({"clientName": "x", "redirectUris": [uri]})),
            )
            .await;
        assert_eq!(status, 400, "{uri}: {reply}");
    }
    // Native apps' custom schemes stay allowed.
    let (status, reply) = f
        .manage(
            reqwest::Method::POST,
            "/api/client/create",
            Some(json!({"clientName": "x", "redirectUris": ["com.example.app:/cb"]})),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
}
