//! The Developer Console of one service, under `/console/developer/{apiKey}`: a developer signs
//! in with the account the owner made and manages only the clients whose `developer` is their
//! login. Another developer's client, or a client of another service, is "not found".

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State as AxumState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use castellan_core::enums::ClientType;
use castellan_core::model::{Client, Service};
use castellan_engine::{ManageError, WRONG_CURRENT_PASSWORD};
use castellan_store::DeveloperRecord;

use crate::form::Fields;
use crate::limiter::AttemptKeys;
use crate::pages::{self, AppRow, AppView, DevChrome};
use crate::session::{self, Principal, Scope, Session, SignInToken};
use crate::{State, client_settings};

/// The service whose console the path names (`/console/developer/{apiKey}/...`).
fn path_service_key(path: &str) -> Option<i64> {
    path.strip_prefix("/console/developer/")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

fn base(api_key: i64) -> String {
    format!("/console/developer/{api_key}")
}

fn no_such_console() -> Response {
    (StatusCode::NOT_FOUND, "There is no such Developer Console.").into_response()
}

async fn service_of(console: &State, api_key: i64) -> Result<Service, Response> {
    match console.engine.get_service(None, api_key).await {
        Ok(service) => Ok(service),
        Err(ManageError::NotFound(_)) => Err(no_such_console()),
        Err(e) => {
            tracing::error!(cause = %e, "developer console failure");
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

fn chrome(service: &Service, login: &str) -> DevChrome {
    DevChrome {
        api_key: service.api_key,
        service_name: service.service_name.clone().unwrap_or_default(),
        login: login.to_owned(),
    }
}

/// A signed-in, enabled developer of the service in the path.
pub struct Dev {
    session: Session,
    service: Arc<Service>,
    developer: DeveloperRecord,
}

impl FromRequestParts<State> for Dev {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &State) -> Result<Self, Response> {
        let api_key = path_service_key(parts.uri.path()).ok_or_else(no_such_console)?;
        let to_sign_in = || {
            let mut response = Redirect::to(&format!("{}/sign-in", base(api_key))).into_response();
            session::add_cookies(
                response.headers_mut(),
                [session::cleared_session(
                    Scope::Developer(api_key),
                    console.secure_cookies,
                )],
            );
            response
        };
        let session = Session::from_headers(
            console.engine.keys(),
            &parts.headers,
            Scope::Developer(api_key),
        )
        .ok_or_else(to_sign_in)?;
        let Principal::Developer { login, .. } = &session.principal else {
            return Err(to_sign_in());
        };
        let service = service_of(console, api_key).await?;
        // A developer the owner disabled is signed out at their next request.
        let store = &**console.engine.store();
        match console.engine.active_developer(api_key, login).await {
            Ok(Some(developer)) => {
                // Signed out elsewhere, or the password changed since sign-in.
                let epoch =
                    session::current_epoch(store, &session.principal, &developer.password_hash)
                        .await;
                match epoch {
                    Ok(epoch) if session.in_epoch(&epoch) => Ok(Dev {
                        session,
                        service: Arc::new(service),
                        developer,
                    }),
                    Ok(_) => Err(to_sign_in()),
                    Err(e) => {
                        tracing::error!(cause = %e, "developer console failure");
                        Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
                    }
                }
            }
            Ok(None) => Err(to_sign_in()),
            Err(e) => {
                tracing::error!(cause = %e, "developer console failure");
                Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        }
    }
}

impl Dev {
    fn chrome(&self) -> DevChrome {
        chrome(&self.service, &self.developer.login)
    }

    /// A page with the session renewed.
    fn page(
        &self,
        console: &State,
        status: StatusCode,
        page: Result<String, askama::Error>,
    ) -> Response {
        let mut response = pages::respond(status, page);
        session::add_cookies(
            response.headers_mut(),
            [self
                .session
                .renewed_cookie(console.engine.keys(), console.secure_cookies)],
        );
        response
    }

    fn message(&self, console: &State, status: StatusCode, title: &str, message: &str) -> Response {
        let page = pages::DevMessage {
            signed_in: Some(&self.session.csrf),
            dev: self.chrome(),
            title,
            message,
        }
        .render();
        self.page(console, status, page)
    }

    fn forged(&self, console: &State) -> Response {
        self.message(
            console,
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form was not issued in your session. Reload the page and submit it again.",
        )
    }

    fn not_yours(&self, console: &State) -> Response {
        self.message(
            console,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such application among yours.",
        )
    }

    fn failed(&self, console: &State, e: ManageError) -> Response {
        match e {
            ManageError::NotFound(_) => self.not_yours(console),
            ManageError::BadRequest(m) | ManageError::Conflict(m) => {
                self.message(console, StatusCode::BAD_REQUEST, "Not accepted", &m)
            }
            ManageError::Engine(e) => {
                tracing::error!(cause = %e, "developer console failure");
                self.message(
                    console,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Try again in a moment.",
                )
            }
        }
    }

    /// A posted form with this session's CSRF token, and the developer's own client it is about.
    async fn posted_app(
        &self,
        console: &State,
        client_id: &str,
        body: &[u8],
    ) -> Result<(Fields, Client), Response> {
        let fields = Fields::parse(body);
        if !self.session.accepts(fields.get("csrf")) {
            return Err(self.forged(console));
        }
        let client = self.own_app(console, client_id).await?;
        Ok((fields, client))
    }

    /// The developer's own client with this ID.
    async fn own_app(&self, console: &State, client_id: &str) -> Result<Client, Response> {
        if client_id.parse::<i64>().is_err() {
            return Err(self.not_yours(console));
        }
        match console.engine.get_client(&self.service, client_id).await {
            Ok(client) if client.developer.as_deref() == Some(self.developer.login.as_str()) => {
                Ok(client)
            }
            Ok(_) => Err(self.not_yours(console)),
            Err(e) => Err(self.failed(console, e)),
        }
    }
}

// ----- sign-in -------------------------------------------------------------------------------

pub async fn home(
    AxumState(console): AxumState<State>,
    Path(api_key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(key) = api_key.parse::<i64>() else {
        return no_such_console();
    };
    match Session::from_headers(console.engine.keys(), &headers, Scope::Developer(key)) {
        Some(_) => Redirect::to(&format!("{}/apps", base(key))).into_response(),
        None => Redirect::to(&format!("{}/sign-in", base(key))).into_response(),
    }
}

async fn sign_in_form(
    console: &State,
    api_key: i64,
    status: StatusCode,
    login: &str,
    error: Option<&str>,
) -> Response {
    let service = match service_of(console, api_key).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    let (token, cookie) = SignInToken::issue(
        console.engine.keys(),
        Scope::Developer(api_key),
        console.secure_cookies,
    );
    let page = pages::DevSignIn {
        signed_in: None,
        dev: chrome(&service, ""),
        csrf: &token.token,
        login,
        error,
    }
    .render();
    let mut response = pages::respond(status, page);
    session::add_cookies(response.headers_mut(), [cookie]);
    response
}

pub async fn sign_in_page(
    AxumState(console): AxumState<State>,
    Path(api_key): Path<String>,
) -> Response {
    match api_key.parse() {
        Ok(key) => sign_in_form(&console, key, StatusCode::OK, "", None).await,
        Err(_) => no_such_console(),
    }
}

/// The account a developer's sign-in attempts (and password-change attempts) count against,
/// the login cut short as typed logins can be any length.
fn limited_account(api_key: i64, login: &str) -> String {
    let login: String = login.chars().take(100).collect();
    format!("dev:{api_key}:{login}")
}

pub async fn sign_in(
    AxumState(console): AxumState<State>,
    Path(api_key): Path<String>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Response {
    let Ok(key) = api_key.parse::<i64>() else {
        return no_such_console();
    };
    let peer = console.client_key(&request);
    let Ok(body) = axum::body::to_bytes(request.into_body(), 64 * 1024).await else {
        return sign_in_form(
            &console,
            key,
            StatusCode::BAD_REQUEST,
            "",
            Some("The form could not be read."),
        )
        .await;
    };
    let fields = Fields::parse(&body);
    let (login, password) = (fields.get("login"), fields.get("password"));
    if !SignInToken::verify(
        console.engine.keys(),
        &headers,
        Scope::Developer(key),
        fields.get("csrf"),
    ) {
        return sign_in_form(
            &console,
            key,
            StatusCode::FORBIDDEN,
            login,
            Some("The form expired. Sign in again."),
        )
        .await;
    }
    let limit_keys = AttemptKeys::new(&peer, &limited_account(key, login));
    if !console.limiter.begin(&limit_keys) {
        return sign_in_form(
            &console,
            key,
            StatusCode::TOO_MANY_REQUESTS,
            login,
            Some("Too many failed attempts. Wait a few minutes before trying again."),
        )
        .await;
    }
    match console
        .engine
        .authenticate_developer(key, login, password)
        .await
    {
        Ok(Some(developer)) => {
            console.limiter.succeeded(&limit_keys);
            tracing::info!(service = key, developer = %developer.login, "developer console sign-in");
            console
                .signed_in(
                    Principal::Developer {
                        service: key,
                        login: developer.login,
                    },
                    &developer.password_hash,
                    &format!("{}/apps", base(key)),
                )
                .await
        }
        Ok(None) => {
            tracing::warn!(service = key, peer, "developer console sign-in refused");
            sign_in_form(
                &console,
                key,
                StatusCode::UNAUTHORIZED,
                login,
                Some("The login or the password is wrong, or the account is disabled."),
            )
            .await
        }
        Err(e) => {
            tracing::error!(cause = %e, "developer console failure");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn sign_out(AxumState(console): AxumState<State>, dev: Dev, body: Bytes) -> Response {
    if !dev.session.accepts(Fields::parse(&body).get("csrf")) {
        return dev.forged(&console);
    }
    let store = &**console.engine.store();
    if let Err(e) = session::end_all_sessions(store, &dev.session.principal).await {
        tracing::error!(cause = %e, "developer console failure");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let key = dev.service.api_key;
    let mut response = Redirect::to(&format!("{}/sign-in", base(key))).into_response();
    session::add_cookies(
        response.headers_mut(),
        [session::cleared_session(
            Scope::Developer(key),
            console.secure_cookies,
        )],
    );
    response
}

// ----- applications --------------------------------------------------------------------------

fn kind(client: &Client) -> String {
    match client.client_type {
        Some(ClientType::Public) => "public".into(),
        _ => "confidential".into(),
    }
}

pub async fn apps(AxumState(console): AxumState<State>, dev: Dev) -> Response {
    // Up to a thousand applications per developer are listed.
    let listed = console
        .engine
        .list_clients(&dev.service, Some(&dev.developer.login), 0, 1000)
        .await;
    let apps = match listed {
        Ok(page) => page
            .clients
            .iter()
            .map(|c| AppRow {
                client_id: c.client_id,
                name: c.client_name.clone().unwrap_or_default(),
                kind: kind(c),
            })
            .collect(),
        Err(e) => return dev.failed(&console, e),
    };
    let page = pages::Apps {
        signed_in: Some(&dev.session.csrf),
        dev: dev.chrome(),
        apps,
        notice: None,
    }
    .render();
    dev.page(&console, StatusCode::OK, page)
}

fn app_form(
    console: &State,
    dev: &Dev,
    status: StatusCode,
    client: &Client,
    existing: Option<i64>,
    error: Option<&str>,
) -> Response {
    let root = base(dev.service.api_key);
    let (heading, action, cancel) = match existing {
        None => (
            "Register an application",
            format!("{root}/apps/new"),
            format!("{root}/apps"),
        ),
        Some(id) => (
            "Edit the application",
            format!("{root}/apps/{id}/edit"),
            format!("{root}/apps/{id}"),
        ),
    };
    let page = pages::AppForm {
        signed_in: Some(&dev.session.csrf),
        dev: dev.chrome(),
        csrf: &dev.session.csrf,
        heading,
        action,
        cancel,
        form: client_settings::form_of(client),
        error,
    }
    .render();
    dev.page(console, status, page)
}

/// What a new application starts as: a confidential web client of the code flow.
fn new_app() -> Client {
    Client {
        client_type: Some(ClientType::Confidential),
        grant_types: Some(vec![
            castellan_core::enums::GrantType::AuthorizationCode,
            castellan_core::enums::GrantType::RefreshToken,
        ]),
        response_types: Some(vec![castellan_core::enums::ResponseType::Code]),
        ..Client::default()
    }
}

pub async fn new_app_page(AxumState(console): AxumState<State>, dev: Dev) -> Response {
    app_form(&console, &dev, StatusCode::OK, &new_app(), None, None)
}

fn secret_page(console: &State, dev: &Dev, client: &Client, notice: &str) -> Response {
    let confidential = client.client_type != Some(ClientType::Public);
    let page = pages::AppSecret {
        signed_in: Some(&dev.session.csrf),
        dev: dev.chrome(),
        name: client.client_name.as_deref().unwrap_or_default(),
        notice,
        client_id: client.client_id,
        client_secret: client.client_secret.as_deref().filter(|_| confidential),
    }
    .render();
    dev.page(console, StatusCode::OK, page)
}

pub async fn create_app(AxumState(console): AxumState<State>, dev: Dev, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    if !dev.session.accepts(fields.get("csrf")) {
        return dev.forged(&console);
    }
    let mut input = match client_settings::apply(new_app(), &fields) {
        Ok(input) => input,
        Err(m) => {
            return app_form(
                &console,
                &dev,
                StatusCode::BAD_REQUEST,
                &new_app(),
                None,
                Some(&m),
            );
        }
    };
    input.developer = Some(dev.developer.login.clone());
    match console
        .engine
        .create_client(&dev.service, input.clone())
        .await
    {
        Ok(client) => {
            tracing::info!(service = dev.service.api_key, client = client.client_id, developer = %dev.developer.login, "client registered in the developer console");
            let notice = if client.client_type == Some(ClientType::Public) {
                "The application is registered. As a public client it has no secret."
            } else {
                "The application is registered. Copy its client secret now: it is shown only this once."
            };
            secret_page(&console, &dev, &client, notice)
        }
        Err(ManageError::BadRequest(m)) => app_form(
            &console,
            &dev,
            StatusCode::BAD_REQUEST,
            &input,
            None,
            Some(&m),
        ),
        Err(e) => dev.failed(&console, e),
    }
}

fn app_page(
    console: &State,
    dev: &Dev,
    status: StatusCode,
    client: &Client,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let view = AppView {
        client_id: client.client_id,
        name: client.client_name.clone().unwrap_or_default(),
        kind: kind(client),
        confidential: client.client_type != Some(ClientType::Public),
        redirect_uris: pages::listing(client.redirect_uris.iter().flatten().map(String::as_str)),
        grant_types: pages::listing(client.grant_types.iter().flatten().map(|g| g.protocol())),
        response_types: pages::listing(
            client.response_types.iter().flatten().map(|r| r.protocol()),
        ),
        auth_method: client
            .token_auth_method
            .map_or("client_secret_basic", |m| m.protocol())
            .to_owned(),
        sign_alg: client
            .id_token_sign_alg
            .map_or("RS256", |a| a.protocol())
            .to_owned(),
        pkce: if client.pkce_required {
            "required".into()
        } else {
            "required for public clients".into()
        },
    };
    let page = pages::AppPage {
        signed_in: Some(&dev.session.csrf),
        dev: dev.chrome(),
        csrf: &dev.session.csrf,
        view,
        notice,
        error,
    }
    .render();
    dev.page(console, status, page)
}

pub async fn app(
    AxumState(console): AxumState<State>,
    dev: Dev,
    Path((_, client_id)): Path<(String, String)>,
) -> Response {
    match dev.own_app(&console, &client_id).await {
        Ok(client) => app_page(&console, &dev, StatusCode::OK, &client, None, None),
        Err(response) => response,
    }
}

pub async fn edit_page(
    AxumState(console): AxumState<State>,
    dev: Dev,
    Path((_, client_id)): Path<(String, String)>,
) -> Response {
    match dev.own_app(&console, &client_id).await {
        Ok(client) => app_form(
            &console,
            &dev,
            StatusCode::OK,
            &client,
            Some(client.client_id),
            None,
        ),
        Err(response) => response,
    }
}

pub async fn edit(
    AxumState(console): AxumState<State>,
    dev: Dev,
    Path((_, client_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (fields, client) = match dev.posted_app(&console, &client_id, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let id = client.client_id;
    let mut changed = match client_settings::apply(client.clone(), &fields) {
        Ok(changed) => changed,
        Err(m) => {
            return app_form(
                &console,
                &dev,
                StatusCode::BAD_REQUEST,
                &client,
                Some(id),
                Some(&m),
            );
        }
    };
    // The owner of an application does not change by editing it.
    changed.developer = client.developer.clone();
    match console
        .engine
        .update_client(&dev.service, id, changed.clone())
        .await
    {
        Ok(saved) => app_page(&console, &dev, StatusCode::OK, &saved, Some("Saved."), None),
        Err(ManageError::BadRequest(m)) => app_form(
            &console,
            &dev,
            StatusCode::BAD_REQUEST,
            &changed,
            Some(id),
            Some(&m),
        ),
        Err(e) => dev.failed(&console, e),
    }
}

pub async fn new_secret(
    AxumState(console): AxumState<State>,
    dev: Dev,
    Path((_, client_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (_, client) = match dev.posted_app(&console, &client_id, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    if client.client_type == Some(ClientType::Public) {
        return app_page(
            &console,
            &dev,
            StatusCode::BAD_REQUEST,
            &client,
            None,
            Some("A public client has no secret."),
        );
    }
    match console
        .engine
        .change_client_secret(&dev.service, &client_id, None)
        .await
    {
        Ok(change) => {
            let mut shown = client;
            shown.client_secret = Some(change.new_secret);
            secret_page(
                &console,
                &dev,
                &shown,
                "A new client secret replaces the old one. Copy it now: it is shown only this once.",
            )
        }
        Err(e) => dev.failed(&console, e),
    }
}

pub async fn delete(
    AxumState(console): AxumState<State>,
    dev: Dev,
    Path((_, client_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (fields, client) = match dev.posted_app(&console, &client_id, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    if fields.get("confirm") != client.client_id.to_string() {
        return app_page(
            &console,
            &dev,
            StatusCode::BAD_REQUEST,
            &client,
            None,
            Some("Type the client ID to confirm the deletion."),
        );
    }
    match console.engine.delete_client(&dev.service, &client_id).await {
        Ok(()) => Redirect::to(&format!("{}/apps", base(dev.service.api_key))).into_response(),
        Err(e) => dev.failed(&console, e),
    }
}

fn password_form(console: &State, dev: &Dev, status: StatusCode, error: Option<&str>) -> Response {
    let page = pages::DevPassword {
        signed_in: Some(&dev.session.csrf),
        dev: dev.chrome(),
        csrf: &dev.session.csrf,
        error,
    }
    .render();
    dev.page(console, status, page)
}

pub async fn password_page(AxumState(console): AxumState<State>, dev: Dev) -> Response {
    password_form(&console, &dev, StatusCode::OK, None)
}

pub async fn change_password(
    AxumState(console): AxumState<State>,
    mut dev: Dev,
    request: axum::extract::Request,
) -> Response {
    let peer = console.client_key(&request);
    let Ok(body) = axum::body::to_bytes(request.into_body(), 64 * 1024).await else {
        return password_form(
            &console,
            &dev,
            StatusCode::BAD_REQUEST,
            Some("The form could not be read."),
        );
    };
    let fields = Fields::parse(&body);
    if !dev.session.accepts(fields.get("csrf")) {
        return dev.forged(&console);
    }
    if fields.get("new") != fields.get("repeat") {
        return password_form(
            &console,
            &dev,
            StatusCode::BAD_REQUEST,
            Some("The two new passwords differ."),
        );
    }
    // The current password is guessed against the same budget as at sign-in.
    let limit_keys = AttemptKeys::new(
        &peer,
        &limited_account(dev.service.api_key, &dev.developer.login),
    );
    if !console.limiter.begin(&limit_keys) {
        return password_form(
            &console,
            &dev,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many failed attempts. Wait a few minutes before trying again."),
        );
    }
    let changed = console
        .engine
        .change_developer_password(
            dev.service.api_key,
            &dev.developer.login,
            fields.get("current"),
            fields.get("new"),
        )
        .await;
    if !matches!(&changed, Err(ManageError::BadRequest(m)) if m == WRONG_CURRENT_PASSWORD) {
        console.limiter.succeeded(&limit_keys);
    }
    match changed {
        Ok(()) => {
            tracing::info!(service = dev.service.api_key, developer = %dev.developer.login, "developer password changed");
            // The new password ends the developer's other sessions; this one moves on to the
            // new epoch.
            let renewed = match console
                .engine
                .active_developer(dev.service.api_key, &dev.developer.login)
                .await
            {
                Ok(Some(developer)) => {
                    let store = &**console.engine.store();
                    session::current_epoch(store, &dev.session.principal, &developer.password_hash)
                        .await
                        .ok()
                }
                _ => None,
            };
            if let Some(epoch) = renewed {
                dev.session.move_to_epoch(epoch);
            }
            dev.message(
                &console,
                StatusCode::OK,
                "Password changed",
                "Your password is changed; use it from your next sign-in. Your other sessions are signed out.",
            )
        }
        Err(ManageError::BadRequest(m)) => {
            password_form(&console, &dev, StatusCode::BAD_REQUEST, Some(&m))
        }
        Err(e) => dev.failed(&console, e),
    }
}
