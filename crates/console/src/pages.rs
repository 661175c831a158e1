//! The pages, as askama templates (`templates/`): every value is HTML-escaped on output.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A rendered page with its status; a page that failed to render becomes a logged 500.
pub fn respond(status: StatusCode, page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => failure(&e.to_string()),
    }
}

/// 500, logged; the page says no more than that something failed.
pub fn failure(cause: &str) -> Response {
    tracing::error!(cause, "console failure");
    let page = Message {
        signed_in: None,
        title: "Something went wrong",
        message: "The request could not be completed. Try again in a moment.",
    }
    .render();
    match page {
        Ok(html) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Items for a table cell: comma-separated, or "none".
pub fn listing<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignIn<'a> {
    pub signed_in: Option<&'a str>,
    pub csrf: &'a str,
    pub api_key: &'a str,
    pub error: Option<&'a str>,
}

pub struct ServiceRow {
    pub api_key: i64,
    pub name: String,
    pub issuer: String,
    pub clients: String,
}

#[derive(Template)]
#[template(path = "services.html")]
pub struct Services<'a> {
    pub signed_in: Option<&'a str>,
    pub services: Vec<ServiceRow>,
    pub notice: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "service_new.html")]
pub struct ServiceNew<'a> {
    pub signed_in: Option<&'a str>,
    pub csrf: &'a str,
    pub name: &'a str,
    pub issuer: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "service_created.html")]
pub struct ServiceCreated<'a> {
    pub signed_in: Option<&'a str>,
    pub name: &'a str,
    pub api_key: i64,
    pub api_secret: &'a str,
    pub notice: &'a str,
}

pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub signing: bool,
}

pub struct ServiceView {
    pub api_key: i64,
    pub name: String,
    pub issuer: String,
    pub description: String,
    pub grant_types: String,
    pub response_types: String,
    pub scopes: String,
    pub access_token_duration: i64,
    pub refresh_token_duration: i64,
    pub id_token_duration: i64,
    pub pkce: String,
    pub refresh: String,
    pub clients: String,
    pub keys: Vec<KeyRow>,
}

#[derive(Template)]
#[template(path = "service.html")]
pub struct ServicePage<'a> {
    pub signed_in: Option<&'a str>,
    pub csrf: &'a str,
    pub view: ServiceView,
    pub developers: Vec<DeveloperRow>,
    pub algorithms: &'a [&'a str],
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// A named text field of a form.
pub struct Field {
    pub name: String,
    pub label: String,
    pub value: String,
}

pub struct ServiceForm {
    pub name: String,
    pub issuer: String,
    pub description: String,
    pub grant_types: Vec<Choice>,
    pub response_types: Vec<Choice>,
    pub auth_methods: Vec<Choice>,
    pub scopes: String,
    pub claims: String,
    pub acrs: String,
    pub ui_locales: String,
    pub claim_locales: String,
    pub endpoints: Vec<Field>,
    pub id_token_key: String,
    pub user_info_key: String,
    pub access_token_key: String,
    pub access_token_algs: Vec<Choice>,
    pub access_token_duration: String,
    pub refresh_token_duration: String,
    pub id_token_duration: String,
    pub flags: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "service_edit.html")]
pub struct ServiceEdit<'a> {
    pub signed_in: Option<&'a str>,
    pub csrf: &'a str,
    pub api_key: i64,
    pub form: ServiceForm,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "jwks.html")]
pub struct Jwks<'a> {
    pub signed_in: Option<&'a str>,
    pub api_key: i64,
    pub jwks: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub signed_in: Option<&'a str>,
    pub title: &'a str,
    pub message: &'a str,
}

/// What every Developer Console page shows in its header.
pub struct DevChrome {
    pub api_key: i64,
    pub service_name: String,
    pub login: String,
}

#[derive(Template)]
#[template(path = "dev_sign_in.html")]
pub struct DevSignIn<'a> {
    pub signed_in: Option<&'a str>,
    pub dev: DevChrome,
    pub csrf: &'a str,
    pub login: &'a str,
    pub error: Option<&'a str>,
}

pub struct AppRow {
    pub client_id: i64,
    pub name: String,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "apps.html")]
pub struct Apps<'a> {
    pub signed_in: Option<&'a str>,
    pub dev: DevChrome,
    pub apps: Vec<AppRow>,
    pub notice: Option<&'a str>,
}

pub struct AppFormFields {
    pub client_name: String,
    pub description: String,
    pub client_types: Vec<Choice>,
    pub application_types: Vec<Choice>,
    pub redirect_uris: String,
    pub grant_types: Vec<Choice>,
    pub response_types: Vec<Choice>,
    pub auth_methods: Vec<Choice>,
    pub sign_algs: Vec<Choice>,
    pub subject_types: Vec<Choice>,
    pub userinfo_algs: Vec<Choice>,
    pub default_max_age: String,
    pub pkce_required: bool,
    pub logo_uri: String,
    pub policy_uri: String,
    pub tos_uri: String,
    pub contacts: String,
    pub jwks_uri: String,
    pub jwks: String,
}

#[derive(Template)]
#[template(path = "app_form.html")]
pub struct AppForm<'a> {
    pub signed_in: Option<&'a str>,
    pub dev: DevChrome,
    pub csrf: &'a str,
    pub heading: &'a str,
    pub action: String,
    pub cancel: String,
    pub form: AppFormFields,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "app_secret.html")]
pub struct AppSecret<'a> {
    pub signed_in: Option<&'a str>,
    pub dev: DevChrome,
    pub name: &'a str,
    pub notice: &'a str,
    pub client_id: i64,
    pub client_secret: Option<&'a str>,
}

pub struct AppView {
    pub client_id: i64,
    pub name: String,
    pub kind: String,
    pub confidential: bool,
    pub redirect_uris: String,
    pub grant_types: String,
    pub response_types: String,
    pub auth_method: String,
    pub sign_alg: String,
    pub pkce: String,
}

#[derive(Template)]
#[template(path = "app.html")]
pub struct AppPage<'a> {
    pub signed_in: Option<&'a str>,
    pub dev: DevChrome,
    pub csrf: &'a str,
    pub view: AppView,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "dev_message.html")]
pub struct DevMessage<'a> {
    pub signed_in: Option<&'a str>,
    pub dev: DevChrome,
    pub title: &'a str,
    pub message: &'a str,
}

pub struct DeveloperRow {
    pub login: String,
    pub display_name: String,
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "dev_password.html")]
pub struct DevPassword<'a> {
    pub signed_in: Option<&'a str>,
    pub dev: DevChrome,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}
