//! The owner's pages: sign-in, services (list, create, view, edit, delete) and signing keys.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State as AxumState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use castellan_core::discovery::JwksPublication;
use castellan_core::enums::JwsAlg;
use castellan_core::model::Service;
use castellan_engine::{DEFAULT_KEY_ALGS, ManageError, defaults};
use castellan_store::OwnerRecord;

use crate::form::Fields;
use crate::limiter::AttemptKeys;
use crate::pages::{self, DeveloperRow, KeyRow, ServiceRow, ServiceView};
use crate::session::{self, Principal, Scope, Session, SignInToken};
use crate::{State, settings};

/// A signed-in owner, or a redirect to the sign-in page.
pub struct Signed {
    session: Session,
    owner: OwnerRecord,
}

impl FromRequestParts<State> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &State) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/console/sign-in").into_response();
        let session = Session::from_headers(console.engine.keys(), &parts.headers, Scope::Owner)
            .ok_or_else(to_sign_in)?;
        let Principal::Owner(api_key) = session.principal else {
            return Err(to_sign_in());
        };
        let owner = match console.engine.store().get_owner(api_key).await {
            Ok(Some(owner)) => owner,
            Ok(None) => return Err(to_sign_in()),
            Err(e) => return Err(pages::failure(&e.to_string())),
        };
        // Signed out elsewhere, or the owner's secret changed since sign-in.
        let store = &**console.engine.store();
        match session::current_epoch(store, &session.principal, owner.secret_hash.as_str()).await {
            Ok(epoch) if session.in_epoch(&epoch) => Ok(Signed { session, owner }),
            Ok(_) => Err(to_sign_in()),
            Err(e) => Err(pages::failure(&e.to_string())),
        }
    }
}

/// A page for a signed-in owner, with the session renewed (the idle limit counts from now).
fn page(
    console: &State,
    signed: &Signed,
    status: StatusCode,
    html: Result<String, askama::Error>,
) -> Response {
    let mut response = pages::respond(status, html);
    session::add_cookies(
        response.headers_mut(),
        [signed
            .session
            .renewed_cookie(console.engine.keys(), console.secure_cookies)],
    );
    response
}

fn message(
    console: &State,
    signed: &Signed,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let html = pages::Message {
        signed_in: Some(&signed.session.csrf),
        title,
        message: text,
    }
    .render();
    page(console, signed, status, html)
}

/// A form posted without this session's CSRF token.
fn forged(console: &State, signed: &Signed) -> Response {
    message(
        console,
        signed,
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form was not issued in your session. Reload the page and submit it again.",
    )
}

fn manage_error(console: &State, signed: &Signed, e: ManageError) -> Response {
    match e {
        ManageError::BadRequest(m) => {
            message(console, signed, StatusCode::BAD_REQUEST, "Not accepted", &m)
        }
        ManageError::NotFound(_) => message(
            console,
            signed,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such service among yours.",
        ),
        ManageError::Conflict(m) => message(console, signed, StatusCode::CONFLICT, "Try again", &m),
        ManageError::Engine(e) => pages::failure(&e.to_string()),
    }
}

// ----- sign-in -------------------------------------------------------------------------------

pub async fn home(console: AxumState<State>, headers: HeaderMap) -> Redirect {
    match Session::from_headers(console.engine.keys(), &headers, Scope::Owner) {
        Some(_) => Redirect::to("/console/services"),
        None => Redirect::to("/console/sign-in"),
    }
}

fn sign_in_form(
    console: &State,
    status: StatusCode,
    api_key: &str,
    error: Option<&str>,
) -> Response {
    let (token, cookie) =
        SignInToken::issue(console.engine.keys(), Scope::Owner, console.secure_cookies);
    let html = pages::SignIn {
        signed_in: None,
        csrf: &token.token,
        api_key,
        error,
    }
    .render();
    let mut response = pages::respond(status, html);
    session::add_cookies(response.headers_mut(), [cookie]);
    response
}

pub async fn sign_in_page(AxumState(console): AxumState<State>) -> Response {
    sign_in_form(&console, StatusCode::OK, "", None)
}

pub async fn sign_in(
    AxumState(console): AxumState<State>,
    headers: HeaderMap,
    parts: axum::extract::Request,
) -> Response {
    let peer = console.client_key(&parts);
    let body = match axum::body::to_bytes(parts.into_body(), 64 * 1024).await {
        Ok(body) => body,
        Err(_) => {
            return sign_in_form(
                &console,
                StatusCode::BAD_REQUEST,
                "",
                Some("The form could not be read."),
            );
        }
    };
    let fields = Fields::parse(&body);
    let (api_key, api_secret) = (fields.get("api_key"), fields.get("api_secret"));
    if !SignInToken::verify(
        console.engine.keys(),
        &headers,
        Scope::Owner,
        fields.get("csrf"),
    ) {
        return sign_in_form(
            &console,
            StatusCode::FORBIDDEN,
            api_key,
            Some("The form expired. Sign in again."),
        );
    }
    // The account is the API key as typed, cut short: only the canonical form can sign in,
    // and a typed variant counts against the address anyway.
    let account: String = api_key.chars().take(32).collect();
    let limit_keys = AttemptKeys::new(&peer, &format!("key:{account}"));
    if !console.limiter.begin(&limit_keys) {
        return sign_in_form(
            &console,
            StatusCode::TOO_MANY_REQUESTS,
            api_key,
            Some("Too many failed attempts. Wait a few minutes before trying again."),
        );
    }
    match console.engine.authenticate_owner(api_key, api_secret).await {
        Ok(Ok(owner)) => {
            console.limiter.succeeded(&limit_keys);
            tracing::info!(owner = owner.api_key, "console sign-in");
            console
                .signed_in(
                    Principal::Owner(owner.api_key),
                    owner.secret_hash.as_str(),
                    "/console/services",
                )
                .await
        }
        Ok(Err(_)) => {
            tracing::warn!(peer, "console sign-in refused");
            sign_in_form(
                &console,
                StatusCode::UNAUTHORIZED,
                api_key,
                Some("The API key or the API secret is wrong."),
            )
        }
        Err(e) => pages::failure(&e.to_string()),
    }
}

pub async fn sign_out(
    AxumState(console): AxumState<State>,
    signed: Signed,
    body: Bytes,
) -> Response {
    if !signed.session.accepts(Fields::parse(&body).get("csrf")) {
        return forged(&console, &signed);
    }
    let store = &**console.engine.store();
    if let Err(e) = session::end_all_sessions(store, &signed.session.principal).await {
        return pages::failure(&e.to_string());
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    session::add_cookies(
        response.headers_mut(),
        [session::cleared_session(
            Scope::Owner,
            console.secure_cookies,
        )],
    );
    response
}

// ----- services ------------------------------------------------------------------------------

fn client_count(service: &Service) -> String {
    service
        .metadata
        .iter()
        .flatten()
        .find(|p| p.key.as_deref() == Some("clientCount"))
        .and_then(|p| p.value.clone())
        .unwrap_or_default()
}

pub async fn services(AxumState(console): AxumState<State>, signed: Signed) -> Response {
    // The console lists up to a thousand services; the API pages through any number.
    let page_of = match console
        .engine
        .list_services(Some(&signed.owner), 0, 1000)
        .await
    {
        Ok(page_of) => page_of,
        Err(e) => return manage_error(&console, &signed, e),
    };
    let services = page_of
        .services
        .iter()
        .map(|s| ServiceRow {
            api_key: s.api_key,
            name: s.service_name.clone().unwrap_or_default(),
            issuer: s.issuer.clone().unwrap_or_default(),
            clients: client_count(s),
        })
        .collect();
    let html = pages::Services {
        signed_in: Some(&signed.session.csrf),
        services,
        notice: None,
    }
    .render();
    page(&console, &signed, StatusCode::OK, html)
}

fn new_service_form(
    console: &State,
    signed: &Signed,
    status: StatusCode,
    fields: Option<&Fields>,
    error: Option<&str>,
) -> Response {
    let html = pages::ServiceNew {
        signed_in: Some(&signed.session.csrf),
        csrf: &signed.session.csrf,
        name: fields.map_or("", |f| f.get("name")),
        issuer: fields.map_or("", |f| f.get("issuer")),
        error,
    }
    .render();
    page(console, signed, status, html)
}

pub async fn new_service_page(AxumState(console): AxumState<State>, signed: Signed) -> Response {
    new_service_form(&console, &signed, StatusCode::OK, None, None)
}

pub async fn create_service(
    AxumState(console): AxumState<State>,
    signed: Signed,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !signed.session.accepts(fields.get("csrf")) {
        return forged(&console, &signed);
    }
    let name = fields.get("name");
    if name.is_empty() || name.chars().count() > 100 {
        return new_service_form(
            &console,
            &signed,
            StatusCode::BAD_REQUEST,
            Some(&fields),
            Some("The name must have 1 to 100 characters."),
        );
    }
    let issuer = match settings::check_issuer(fields.get("issuer")) {
        Ok(issuer) => issuer,
        Err(m) => {
            return new_service_form(
                &console,
                &signed,
                StatusCode::BAD_REQUEST,
                Some(&fields),
                Some(&m),
            );
        }
    };
    let input = defaults::service(name, &issuer);
    match console.engine.create_service(&signed.owner, input).await {
        Ok(created) => {
            tracing::info!(
                owner = signed.owner.api_key,
                service = created.api_key,
                "service created in the console"
            );
            let html = pages::ServiceCreated {
                signed_in: Some(&signed.session.csrf),
                name: created.service_name.as_deref().unwrap_or_default(),
                api_key: created.api_key,
                api_secret: created.api_secret.as_deref().unwrap_or_default(),
                notice: "The service is created. Copy its API secret now: it is shown only once, and only a hash of it is kept.",
            }
            .render();
            page(&console, &signed, StatusCode::OK, html)
        }
        Err(ManageError::BadRequest(m)) => new_service_form(
            &console,
            &signed,
            StatusCode::BAD_REQUEST,
            Some(&fields),
            Some(&m),
        ),
        Err(e) => manage_error(&console, &signed, e),
    }
}

fn view_of(service: &Service) -> ServiceView {
    let scopes: Vec<String> = service
        .supported_scopes
        .iter()
        .flatten()
        .map(|s| {
            let name = s.name.clone().unwrap_or_default();
            if s.default_entry {
                format!("{name} (default)")
            } else {
                name
            }
        })
        .collect();
    let on_off = |on: bool, yes: &str, no: &str| if on { yes.to_owned() } else { no.to_owned() };
    let pkce = if service.pkce_s256_required {
        "required, S256".to_owned()
    } else {
        on_off(
            service.pkce_required,
            "required",
            "required for public clients only",
        )
    };
    ServiceView {
        api_key: service.api_key,
        name: service.service_name.clone().unwrap_or_default(),
        issuer: service.issuer.clone().unwrap_or_default(),
        description: service.description.clone().unwrap_or_default(),
        grant_types: pages::listing(
            service
                .supported_grant_types
                .iter()
                .flatten()
                .map(|g| g.protocol()),
        ),
        response_types: pages::listing(
            service
                .supported_response_types
                .iter()
                .flatten()
                .map(|r| r.protocol()),
        ),
        scopes: if scopes.is_empty() {
            "none".into()
        } else {
            scopes.join(", ")
        },
        access_token_duration: service.access_token_duration,
        refresh_token_duration: service.refresh_token_duration,
        id_token_duration: service.id_token_duration,
        pkce,
        refresh: on_off(
            service.refresh_token_kept,
            "kept when used",
            "rotated on each use",
        ),
        clients: client_count(service),
        keys: Vec::new(),
    }
}

async fn service_page(
    console: &State,
    signed: &Signed,
    api_key: i64,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let service = match console
        .engine
        .get_service(Some(&signed.owner), api_key)
        .await
    {
        Ok(service) => service,
        Err(e) => return manage_error(console, signed, e),
    };
    let keys = match console
        .engine
        .list_service_keys(Some(&signed.owner), api_key)
        .await
    {
        Ok(keys) => keys,
        Err(e) => return manage_error(console, signed, e),
    };
    let mut view = view_of(&service);
    view.keys = keys
        .into_iter()
        .map(|k| KeyRow {
            alg: k.alg.unwrap_or(k.kty),
            kid: k.kid,
            signing: k.signing,
        })
        .collect();
    let developers = match console
        .engine
        .list_developers(Some(&signed.owner), api_key)
        .await
    {
        Ok(list) => list
            .into_iter()
            .map(|d| DeveloperRow {
                login: d.login,
                display_name: d.display_name.unwrap_or_default(),
                disabled: d.disabled,
            })
            .collect(),
        Err(e) => return manage_error(console, signed, e),
    };
    let algorithms: Vec<&str> = DEFAULT_KEY_ALGS.iter().map(|a| a.protocol()).collect();
    let html = pages::ServicePage {
        signed_in: Some(&signed.session.csrf),
        csrf: &signed.session.csrf,
        view,
        developers,
        algorithms: &algorithms,
        notice,
        error,
    }
    .render();
    page(console, signed, status, html)
}

pub async fn service(
    AxumState(console): AxumState<State>,
    signed: Signed,
    Path(api_key): Path<String>,
) -> Response {
    match api_key.parse() {
        Ok(key) => service_page(&console, &signed, key, StatusCode::OK, None, None).await,
        Err(_) => manage_error(&console, &signed, ManageError::NotFound(api_key)),
    }
}

async fn owned(console: &State, signed: &Signed, api_key: &str) -> Result<Service, Response> {
    let Ok(key) = api_key.parse() else {
        return Err(manage_error(
            console,
            signed,
            ManageError::NotFound(api_key.into()),
        ));
    };
    console
        .engine
        .get_service(Some(&signed.owner), key)
        .await
        .map_err(|e| manage_error(console, signed, e))
}

pub async fn edit_page(
    AxumState(console): AxumState<State>,
    signed: Signed,
    Path(api_key): Path<String>,
) -> Response {
    let service = match owned(&console, &signed, &api_key).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    let html = pages::ServiceEdit {
        signed_in: Some(&signed.session.csrf),
        csrf: &signed.session.csrf,
        api_key: service.api_key,
        form: settings::form_of(&service),
        error: None,
    }
    .render();
    page(&console, &signed, StatusCode::OK, html)
}

pub async fn edit(
    AxumState(console): AxumState<State>,
    signed: Signed,
    Path(api_key): Path<String>,
    body: Bytes,
) -> Response {
    let (fields, service) = match posted(&console, &signed, &api_key, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let key = service.api_key;
    let refused = |form_service: &Service, error: &str| {
        let html = pages::ServiceEdit {
            signed_in: Some(&signed.session.csrf),
            csrf: &signed.session.csrf,
            api_key: key,
            form: settings::form_of(form_service),
            error: Some(error),
        }
        .render();
        page(&console, &signed, StatusCode::BAD_REQUEST, html)
    };
    let changed = match settings::apply(service.clone(), &fields) {
        Ok(changed) => changed,
        Err(m) => return refused(&service, &m),
    };
    match console
        .engine
        .update_service(Some(&signed.owner), key, changed.clone())
        .await
    {
        Ok(_) => {
            service_page(
                &console,
                &signed,
                key,
                StatusCode::OK,
                Some("Settings saved."),
                None,
            )
            .await
        }
        Err(ManageError::BadRequest(m)) => refused(&changed, &m),
        Err(e) => manage_error(&console, &signed, e),
    }
}

pub async fn jwks(
    AxumState(console): AxumState<State>,
    signed: Signed,
    Path(api_key): Path<String>,
) -> Response {
    let service = match owned(&console, &signed, &api_key).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    let text = match console.engine.service_jwks(&service, true, false) {
        JwksPublication::Keys(json) => json,
        JwksPublication::Elsewhere(uri) => format!("The keys are published at {uri}."),
        JwksPublication::Nothing => "The service has no keys.".to_owned(),
    };
    let html = pages::Jwks {
        signed_in: Some(&signed.session.csrf),
        api_key: service.api_key,
        jwks: &text,
    }
    .render();
    page(&console, &signed, StatusCode::OK, html)
}

pub async fn keys(
    AxumState(console): AxumState<State>,
    signed: Signed,
    Path((api_key, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (fields, service) = match posted(&console, &signed, &api_key, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let (owner, key) = (Some(&signed.owner), service.api_key);
    let done = match action.as_str() {
        "add" => match JwsAlg::from_protocol(fields.get("alg")) {
            Some(alg) => console
                .engine
                .add_service_key(owner, key, alg)
                .await
                .map(|k| format!("Key {} added.", k.kid)),
            None => Err(ManageError::BadRequest("Choose an algorithm.".into())),
        },
        "activate" => console
            .engine
            .activate_service_key(owner, key, fields.get("kid"))
            .await
            .map(|_| "The key now signs; the key it replaces verifies only.".to_owned()),
        "remove" => console
            .engine
            .remove_service_key(owner, key, fields.get("kid"))
            .await
            .map(|_| "The key is retired.".to_owned()),
        _ => Err(ManageError::NotFound(action.clone())),
    };
    outcome(&console, &signed, key, done).await
}

pub async fn delete(
    AxumState(console): AxumState<State>,
    signed: Signed,
    Path(api_key): Path<String>,
    body: Bytes,
) -> Response {
    let (fields, service) = match posted(&console, &signed, &api_key, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    if fields.get("confirm") != service.api_key.to_string() {
        return service_page(
            &console,
            &signed,
            service.api_key,
            StatusCode::BAD_REQUEST,
            None,
            Some("Type the service's API key to confirm the deletion."),
        )
        .await;
    }
    match console
        .engine
        .delete_service(Some(&signed.owner), service.api_key)
        .await
    {
        Ok(()) => {
            tracing::info!(
                owner = signed.owner.api_key,
                service = service.api_key,
                "service deleted in the console"
            );
            Redirect::to("/console/services").into_response()
        }
        Err(e) => manage_error(&console, &signed, e),
    }
}

pub async fn developers(
    AxumState(console): AxumState<State>,
    signed: Signed,
    Path((api_key, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (fields, service) = match posted(&console, &signed, &api_key, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let (owner, key, login) = (Some(&signed.owner), service.api_key, fields.get("login"));
    let done = match action.as_str() {
        "add" => console
            .engine
            .create_developer(
                owner,
                key,
                login,
                Some(fields.get("display_name")),
                fields.get("password"),
            )
            .await
            .map(|d| format!("Developer {} added.", d.login)),
        "disable" => console
            .engine
            .set_developer_disabled(owner, key, login, true)
            .await
            .map(|()| format!("Developer {login} disabled: they cannot sign in any more.")),
        "enable" => console
            .engine
            .set_developer_disabled(owner, key, login, false)
            .await
            .map(|()| format!("Developer {login} enabled.")),
        _ => Err(ManageError::NotFound(action.clone())),
    };
    outcome(&console, &signed, key, done).await
}

pub async fn regenerate_secret(
    AxumState(console): AxumState<State>,
    signed: Signed,
    Path(api_key): Path<String>,
    body: Bytes,
) -> Response {
    if !signed.session.accepts(Fields::parse(&body).get("csrf")) {
        return forged(&console, &signed);
    }
    let service = match owned(&console, &signed, &api_key).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    match console
        .engine
        .regenerate_service_secret(Some(&signed.owner), service.api_key)
        .await
    {
        Ok(secret) => {
            tracing::info!(
                owner = signed.owner.api_key,
                service = service.api_key,
                "service API secret regenerated in the console"
            );
            let html = pages::ServiceCreated {
                signed_in: Some(&signed.session.csrf),
                name: service.service_name.as_deref().unwrap_or_default(),
                api_key: service.api_key,
                api_secret: &secret,
                notice: "A new API secret replaces the old one, which no longer works. Copy it now: it is shown only once, and only a hash of it is kept.",
            }
            .render();
            page(&console, &signed, StatusCode::OK, html)
        }
        Err(e) => manage_error(&console, &signed, e),
    }
}

/// A posted form with this session's CSRF token, and the owner's service it is about.
async fn posted(
    console: &State,
    signed: &Signed,
    api_key: &str,
    body: &[u8],
) -> Result<(Fields, Service), Response> {
    let fields = Fields::parse(body);
    if !signed.session.accepts(fields.get("csrf")) {
        return Err(forged(console, signed));
    }
    let service = owned(console, signed, api_key).await?;
    Ok((fields, service))
}

/// The service page after an action: its notice, or what was wrong with the request.
async fn outcome(
    console: &State,
    signed: &Signed,
    api_key: i64,
    done: Result<String, ManageError>,
) -> Response {
    match done {
        Ok(notice) => {
            service_page(
                console,
                signed,
                api_key,
                StatusCode::OK,
                Some(&notice),
                None,
            )
            .await
        }
        Err(ManageError::BadRequest(m) | ManageError::NotFound(m) | ManageError::Conflict(m)) => {
            service_page(
                console,
                signed,
                api_key,
                StatusCode::BAD_REQUEST,
                None,
                Some(&m),
            )
            .await
        }
        Err(e) => manage_error(console, signed, e),
    }
}
