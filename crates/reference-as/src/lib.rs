//! A small OpenID Connect authorization server built on Castellan's HTTP API, the way Authlete's
//! sample servers are built on Authlete's: it owns the login and consent pages and the user
//! accounts, and hands every protocol decision to Castellan, relaying each `action` as the API
//! reference prescribes (status, headers, body).

pub mod bootstrap;
pub mod castellan;
pub mod pages;
pub mod session;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::castellan::Castellan;
use crate::session::{Session, Sessions, set_cookie};
use crate::users::Users;

pub struct App {
    pub castellan: Castellan,
    pub users: Users,
    pub sessions: Sessions,
    /// Credentials a resource server presents at `/introspect`.
    pub introspection_credentials: (String, String),
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/login", post(login))
        .route("/consent", post(consent))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo).post(userinfo))
        .route("/introspect", post(introspect))
        .route("/revoke", post(revoke))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

/// No page of this server may be framed (clickjacking of the login and consent pages), none
/// loads anything from anywhere, and no response is sniffed into another type. A response that
/// set its own policy keeps it.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(PAGE_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The login and consent pages: plain HTML forms, no script, style or framing.
const PAGE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
/// Castellan's form_post page submits itself with an inline `onload` handler.
const FORM_POST_POLICY: &str =
    "default-src 'none'; script-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

type AppState = State<Arc<App>>;

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn text_of(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_owned()
}

/// A failure talking to Castellan: the user agent gets a 500, the log the reason.
fn server_error(e: anyhow::Error) -> Response {
    tracing::error!(error = %e, "Castellan call failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "server error").into_response()
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn json_body(status: StatusCode, content: String) -> Response {
    no_store(
        (
            status,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            content,
        )
            .into_response(),
    )
}

/// What the authorization endpoint's actions ask the server to send (redirect, auto-posting
/// form, or error JSON).
fn relay_authorization(reply: &Value) -> Response {
    let content = text_of(reply, "responseContent");
    match reply["action"].as_str() {
        Some("LOCATION") => {
            no_store((StatusCode::FOUND, [(header::LOCATION, content)]).into_response())
        }
        Some("FORM") => {
            let mut response = no_store(Html(content).into_response());
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(FORM_POST_POLICY),
            );
            response
        }
        Some("BAD_REQUEST") => json_body(StatusCode::BAD_REQUEST, content),
        _ => json_body(StatusCode::INTERNAL_SERVER_ERROR, content),
    }
}

/// The token, revocation and introspection actions.
fn relay_token(reply: &Value, realm: &str) -> Response {
    let content = text_of(reply, "responseContent");
    match reply["action"].as_str() {
        Some("OK") => json_body(StatusCode::OK, content),
        Some("BAD_REQUEST") => json_body(StatusCode::BAD_REQUEST, content),
        Some("INVALID_CLIENT") => {
            let mut r = json_body(StatusCode::UNAUTHORIZED, content);
            if let Ok(v) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            r
        }
        _ => json_body(StatusCode::INTERNAL_SERVER_ERROR, content),
    }
}

fn with_cookie(mut response: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&set_cookie(id)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

// ----- discovery and keys ------------------------------------------------------------------

async fn discovery(State(app): AppState) -> Response {
    match app.castellan.get_text("/api/service/configuration").await {
        Ok(doc) => json_body(StatusCode::OK, doc),
        Err(e) => server_error(e),
    }
}

async fn jwks(State(app): AppState) -> Response {
    match app.castellan.get_text("/api/service/jwks/get").await {
        Ok(doc) => json_body(StatusCode::OK, doc),
        Err(e) => server_error(e),
    }
}

// ----- authorization -------------------------------------------------------------------------

async fn authorize_get(
    State(app): AppState,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    authorize(&app, &headers, q.unwrap_or_default()).await
}

async fn authorize_post(State(app): AppState, headers: HeaderMap, body: Bytes) -> Response {
    authorize(&app, &headers, String::from_utf8_lossy(&body).into_owned()).await
}

/// Whether the session's login satisfies the request: a user is logged in, recently enough
/// for `maxAge`, as the required subject, and the request does not insist on a new login.
fn login_satisfies(session: &Session, pending: &Value) -> bool {
    let Some(subject) = &session.subject else {
        return false;
    };
    let max_age = pending["maxAge"].as_i64().unwrap_or(0);
    let fresh = max_age <= 0 || session.auth_time + max_age >= now_seconds();
    let required = pending["subject"].as_str();
    let forced = pending["prompts"]
        .as_array()
        .is_some_and(|p| p.iter().any(|x| x == "LOGIN"));
    fresh && required.is_none_or(|r| r == subject) && !forced
}

async fn authorize(app: &App, headers: &HeaderMap, parameters: String) -> Response {
    let reply = match app
        .castellan
        .post(
            "/api/auth/authorization",
            &json!({ "parameters": parameters }),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let (id, mut session) = app.sessions.load(headers);
    match reply["action"].as_str() {
        Some("INTERACTION") => {
            let reference = session::new_id();
            let page = match (&session.subject, login_satisfies(&session, &reply)) {
                (Some(subject), true) => pages::consent(&reply, subject, &reference),
                _ => pages::login(&reply, None),
            };
            session.pending = Some(reply);
            session.pending_ref = Some(reference);
            session.logged_in_for = None;
            app.sessions.save(&id, session);
            with_cookie(no_store(Html(page).into_response()), &id)
        }
        Some("NO_INTERACTION") => {
            // prompt=none: answer at once, from the session as it is.
            let decided = if login_satisfies(&session, &reply) {
                issue(app, &reply, &session).await
            } else {
                let reason = if session.subject.is_none() {
                    "NOT_LOGGED_IN"
                } else if reply["subject"].is_string() {
                    "DIFFERENT_SUBJECT"
                } else {
                    "EXCEEDS_MAX_AGE"
                };
                fail(app, &reply, reason).await
            };
            decided.unwrap_or_else(server_error)
        }
        _ => relay_authorization(&reply),
    }
}

/// The claim values the request asked to see in the ID token.
fn requested_claims(users: &Users, subject: &str, names: &Value) -> Option<String> {
    let user = users.by_subject(subject)?;
    let picked: Map<String, Value> = names
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|n| user.claims.get(n).map(|v| (n.to_owned(), v.clone())))
        .collect();
    (!picked.is_empty()).then(|| Value::Object(picked).to_string())
}

async fn issue(app: &App, pending: &Value, session: &Session) -> anyhow::Result<Response> {
    let subject = session.subject.clone().unwrap_or_default();
    let mut body = json!({
        "ticket": pending["ticket"],
        "subject": subject,
        "authTime": session.auth_time,
    });
    if let Some(claims) = requested_claims(&app.users, &subject, &pending["claims"]) {
        body["claims"] = Value::from(claims);
    }
    let reply = app
        .castellan
        .post("/api/auth/authorization/issue", &body)
        .await?;
    Ok(relay_authorization(&reply))
}

async fn fail(app: &App, pending: &Value, reason: &str) -> anyhow::Result<Response> {
    let reply = app
        .castellan
        .post(
            "/api/auth/authorization/fail",
            &json!({ "ticket": pending["ticket"], "reason": reason }),
        )
        .await?;
    Ok(relay_authorization(&reply))
}

fn form(body: &[u8]) -> Map<String, Value> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect()
}

fn no_pending() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(
            "<!DOCTYPE html><p>There is no authorization request in progress. Start again from the application.</p>"
                .to_owned(),
        ),
    )
        .into_response()
}

async fn login(State(app): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let (id, mut session) = app.sessions.load(&headers);
    let Some(pending) = session.pending.clone() else {
        return no_pending();
    };
    let fields = form(&body);
    let username = fields.get("username").and_then(Value::as_str).unwrap_or("");
    let password = fields.get("password").and_then(Value::as_str).unwrap_or("");
    let Some(user) = app.users.authenticate(username, password) else {
        let page = pages::login(&pending, Some("The user name or the password is wrong."));
        return with_cookie(no_store(Html(page).into_response()), &id);
    };
    let subject = user.subject.clone();
    if pending["subject"].as_str().is_some_and(|s| s != subject) {
        let page = pages::login(&pending, Some("This request is for another user."));
        return with_cookie(no_store(Html(page).into_response()), &id);
    }
    session.subject = Some(subject.clone());
    session.auth_time = now_seconds();
    session.logged_in_for = session.pending_ref.clone();
    let reference = session.pending_ref.clone().unwrap_or_default();
    let id = app.sessions.save_renewed(&id, session);
    with_cookie(
        no_store(Html(pages::consent(&pending, &subject, &reference)).into_response()),
        &id,
    )
}

async fn consent(State(app): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let (id, mut session) = app.sessions.load(&headers);
    let fields = form(&body);
    let posted_ref = fields.get("request").and_then(Value::as_str);
    // The form must be the one shown for the pending request, and the login must hold for it:
    // made for this request, or an earlier one that satisfies it (max_age, prompt=login,
    // the required subject).
    let (Some(pending), Some(_), Some(reference)) = (
        session.pending.clone(),
        session.subject.as_ref(),
        session.pending_ref.clone(),
    ) else {
        return no_pending();
    };
    let logged_in = session.logged_in_for.as_deref() == Some(reference.as_str())
        || login_satisfies(&session, &pending);
    if posted_ref != Some(reference.as_str()) || !logged_in {
        return no_pending();
    }
    session.pending = None;
    session.pending_ref = None;
    session.logged_in_for = None;
    app.sessions.save(&id, session.clone());
    let decision = fields
        .get("decision")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let decided = match decision.as_deref() {
        Some("approve") => issue(&app, &pending, &session).await,
        _ => fail(&app, &pending, "DENIED").await,
    };
    decided.unwrap_or_else(server_error)
}

// ----- token, userinfo, introspection, revocation -----------------------------------------

/// `client_id` and `client_secret` from `Authorization: Basic` (RFC 6749 §2.3.1: each part is
/// form-urlencoded).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

fn credentials_body(headers: &HeaderMap, parameters: &[u8]) -> Value {
    let mut body = json!({ "parameters": String::from_utf8_lossy(parameters) });
    if let Some((id, secret)) = basic_credentials(headers) {
        body["clientId"] = Value::from(id);
        body["clientSecret"] = Value::from(secret);
    }
    body
}

async fn token(State(app): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let reply = match app
        .castellan
        .post("/api/auth/token", &credentials_body(&headers, &body))
        .await
    {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    if reply["action"] != "PASSWORD" {
        return relay_token(&reply, "token");
    }
    // Resource owner password credentials: this server checks them, Castellan issues.
    let username = text_of(&reply, "username");
    let password = text_of(&reply, "password");
    let outcome = match app.users.authenticate(&username, &password) {
        Some(user) => {
            let body = json!({ "ticket": reply["ticket"], "subject": user.subject });
            app.castellan.post("/api/auth/token/issue", &body).await
        }
        None => {
            let body = json!({ "ticket": reply["ticket"], "reason": "INVALID_RESOURCE_OWNER_CREDENTIALS" });
            app.castellan.post("/api/auth/token/fail", &body).await
        }
    };
    match outcome {
        Ok(r) => relay_token(&r, "token"),
        Err(e) => server_error(e),
    }
}

/// The access token of a userinfo request: `Authorization: Bearer`, or `access_token` in a
/// form body (RFC 6750 §2.1, §2.2).
fn bearer_token(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    from_header.or_else(|| {
        form(body)
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// An error of the userinfo endpoint: its status and `WWW-Authenticate` challenge.
fn challenge(reply: &Value) -> Response {
    let status = match reply["action"].as_str() {
        Some("BAD_REQUEST") => StatusCode::BAD_REQUEST,
        Some("UNAUTHORIZED") => StatusCode::UNAUTHORIZED,
        Some("FORBIDDEN") => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut r = no_store(status.into_response());
    if let Ok(v) = HeaderValue::from_str(&text_of(reply, "responseContent")) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

async fn userinfo(State(app): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let token = bearer_token(&headers, &body);
    let checked = match app
        .castellan
        .post("/api/auth/userinfo", &json!({ "token": token }))
        .await
    {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    if checked["action"] != "OK" {
        return challenge(&checked);
    }
    let subject = text_of(&checked, "subject");
    let claims = requested_claims(&app.users, &subject, &checked["claims"]);
    let mut request = json!({ "token": token });
    if let Some(claims) = claims {
        request["claims"] = Value::from(claims);
    }
    let issued = match app
        .castellan
        .post("/api/auth/userinfo/issue", &request)
        .await
    {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let content = text_of(&issued, "responseContent");
    match issued["action"].as_str() {
        Some("JSON") => json_body(StatusCode::OK, content),
        Some("JWT") => no_store(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/jwt")],
                content,
            )
                .into_response(),
        ),
        _ => challenge(&issued),
    }
}

async fn introspect(State(app): AppState, headers: HeaderMap, body: Bytes) -> Response {
    // RFC 7662 §2.1: only authorized resource servers may ask.
    let allowed = basic_credentials(&headers).is_some_and(|(id, secret)| {
        let (want_id, want_secret) = &app.introspection_credentials;
        let same = |a: &str, b: &str| {
            aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
        };
        // Both compared, always: the time does not tell which part was wrong.
        same(&id, want_id) & same(&secret, want_secret)
    });
    if !allowed {
        let mut r = (StatusCode::UNAUTHORIZED, "").into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"introspect\""),
        );
        return r;
    }
    let request = json!({ "parameters": String::from_utf8_lossy(&body) });
    match app
        .castellan
        .post("/api/auth/introspection/standard", &request)
        .await
    {
        Ok(r) => relay_token(&r, "introspect"),
        Err(e) => server_error(e),
    }
}

async fn revoke(State(app): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let reply = match app
        .castellan
        .post("/api/auth/revocation", &credentials_body(&headers, &body))
        .await
    {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    match reply["action"].as_str() {
        Some("OK") => no_store(StatusCode::OK.into_response()),
        _ => relay_token(&reply, "revoke"),
    }
}
