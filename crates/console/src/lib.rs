//! The consoles: server-rendered pages under `/console`, served by `castellan serve` beside the
//! API and built on the same engine. The Service Owner Console (`owner.rs`) manages services,
//! their keys and their developers; each service's Developer Console (`developer.rs`, under
//! `/console/developer/{apiKey}`) lets its developers manage their own clients. No JavaScript is needed (one small
//! script adds copy buttons). Sessions are sealed cookies (`session.rs`), every form carries a
//! CSRF token, every page is sent with a strict Content-Security-Policy, and sign-in attempts are
//! limited (`limiter.rs`).

mod address;
mod client_settings;
mod developer;
mod form;
mod limiter;
mod owner;
mod pages;
mod session;
mod settings;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use castellan_engine::Engine;

use crate::limiter::SignInLimiter;

/// How the console is reached.
#[derive(Clone, Debug, Default)]
pub struct ConsoleOptions {
    /// Mark cookies `Secure`: the console is reached over HTTPS (directly or through a proxy).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` names the client (for the sign-in limits).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// What the console's handlers share.
pub struct Console {
    engine: Arc<Engine>,
    secure_cookies: bool,
    trusted_proxies: Vec<std::net::IpAddr>,
    limiter: SignInLimiter,
}

impl Console {
    /// The answer to a successful sign-in: a new session (with a new CSRF token), the sign-in
    /// form's token cleared, and a redirect to `location`.
    async fn signed_in(
        &self,
        principal: session::Principal,
        credential: &str,
        location: &str,
    ) -> Response {
        let scope = principal.scope();
        let epoch =
            match session::current_epoch(&**self.engine.store(), &principal, credential).await {
                Ok(epoch) => epoch,
                Err(e) => return pages::failure(&e.to_string()),
            };
        let session = session::Session::start(principal, epoch);
        let mut response = axum::response::Redirect::to(location).into_response();
        session::add_cookies(
            response.headers_mut(),
            [
                session.renewed_cookie(self.engine.keys(), self.secure_cookies),
                session::cleared_sign_in(scope, self.secure_cookies),
            ],
        );
        response
    }

    /// The limiter's key for the client of a request.
    fn client_key(&self, request: &axum::extract::Request) -> String {
        let Some(peer) = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        else {
            return "ip:unknown".to_owned();
        };
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        address::limit_key(address::client_address(
            peer.0.ip(),
            forwarded,
            &self.trusted_proxies,
        ))
    }
}

type State = Arc<Console>;

/// The console's routes, all under `/console`.
pub fn router(engine: Arc<Engine>, options: ConsoleOptions) -> Router {
    let console = Arc::new(Console {
        engine,
        secure_cookies: options.secure_cookies,
        trusted_proxies: options.trusted_proxies,
        limiter: SignInLimiter::default(),
    });
    Router::new()
        .route("/console", get(owner::home))
        .route("/console/", get(owner::home))
        .route(
            "/console/sign-in",
            get(owner::sign_in_page).post(owner::sign_in),
        )
        .route("/console/sign-out", post(owner::sign_out))
        .route("/console/services", get(owner::services))
        .route(
            "/console/services/new",
            get(owner::new_service_page).post(owner::create_service),
        )
        .route("/console/services/{api_key}", get(owner::service))
        .route(
            "/console/services/{api_key}/edit",
            get(owner::edit_page).post(owner::edit),
        )
        .route("/console/services/{api_key}/jwks", get(owner::jwks))
        .route(
            "/console/services/{api_key}/keys/{action}",
            post(owner::keys),
        )
        .route("/console/services/{api_key}/delete", post(owner::delete))
        .route(
            "/console/services/{api_key}/secret",
            post(owner::regenerate_secret),
        )
        .route(
            "/console/services/{api_key}/developers/{action}",
            post(owner::developers),
        )
        .route("/console/developer/{api_key}", get(developer::home))
        .route("/console/developer/{api_key}/", get(developer::home))
        .route(
            "/console/developer/{api_key}/sign-in",
            get(developer::sign_in_page).post(developer::sign_in),
        )
        .route(
            "/console/developer/{api_key}/sign-out",
            post(developer::sign_out),
        )
        .route(
            "/console/developer/{api_key}/password",
            get(developer::password_page).post(developer::change_password),
        )
        .route("/console/developer/{api_key}/apps", get(developer::apps))
        .route(
            "/console/developer/{api_key}/apps/new",
            get(developer::new_app_page).post(developer::create_app),
        )
        .route(
            "/console/developer/{api_key}/apps/{client_id}",
            get(developer::app),
        )
        .route(
            "/console/developer/{api_key}/apps/{client_id}/edit",
            get(developer::edit_page).post(developer::edit),
        )
        .route(
            "/console/developer/{api_key}/apps/{client_id}/secret",
            post(developer::new_secret),
        )
        .route(
            "/console/developer/{api_key}/apps/{client_id}/delete",
            post(developer::delete),
        )
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/console.js", get(js))
        .layer(axum::middleware::map_response(protect))
        .with_state(console)
}

/// Headers on every console response: no framing, no inline or foreign code, no caching of
/// pages that may show secrets, no referrer.
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../assets/console.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/console.js"),
    )
}
