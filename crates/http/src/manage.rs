//! Handlers of the management APIs: services (service-owner credentials) and clients (service
//! credentials).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use castellan_core::model::{Client, Service};
use castellan_core::result_code::{A148001, A149001, ResultCode};
use castellan_engine::{ClientSecretChange, ManageError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::ApiBody;
use crate::caller::{OwnerCaller, ServiceCaller};
use crate::{ApiError, AppState};

/// Default and largest window of the list APIs.
const DEFAULT_END: u32 = 5;
const MAX_WINDOW: u32 = 1000;

pub(crate) fn manage_error(path: &str, e: ManageError) -> ApiError {
    match e {
        ManageError::BadRequest(m) => ApiError::bad_request(path, m),
        ManageError::NotFound(m) => ApiError::not_found(path, m),
        ManageError::Conflict(m) => ApiError::conflict(m),
        ManageError::Engine(e) => ApiError::internal(path, e),
    }
}

pub(crate) fn parse_id(path: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(path, format!("'{raw}' is not a valid identifier.")))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    start: Option<String>,
    end: Option<String>,
    developer: Option<String>,
}

fn window(path: &str, q: &ListQuery) -> Result<(u32, u32), ApiError> {
    let parse = |v: &Option<String>, default: u32, name: &str| -> Result<u32, ApiError> {
        match v.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => s.parse::<u32>().map_err(|_| {
                ApiError::bad_request(path, format!("'{name}' must be a non-negative integer."))
            }),
        }
    };
    let start = parse(&q.start, 0, "start")?;
    let end = parse(&q.end, DEFAULT_END, "end")?;
    Ok((start, end.min(start.saturating_add(MAX_WINDOW))))
}

/// A list reply: the window as asked, the total, and the items unless the window is empty.
fn list_body(start: u32, end: u32, total: u64, key: &str, items: Value) -> Value {
    let mut body = json!({ "start": start, "end": end, "totalCount": total });
    if end > start {
        body[key] = items;
    }
    body
}

/// The reply of the two client-secret APIs.
fn secret_change_body(code: ResultCode, change: ClientSecretChange) -> Response {
    Json(json!({
        "resultCode": code.code,
        "resultMessage": code.message(&[&change.client_id]),
        "newClientSecret": change.new_secret,
        "oldClientSecret": change.old_secret,
    }))
    .into_response()
}

// ----- services ---------------------------------------------------------------------------

pub async fn create_service(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    ApiBody(input): ApiBody<Service>,
) -> Result<Json<Service>, ApiError> {
    let path = uri.path();
    engine
        .create_service(&owner, input)
        .await
        .map(Json)
        .map_err(|e| manage_error(path, e))
}

pub async fn get_service(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    Path(api_key): Path<String>,
) -> Result<Json<Service>, ApiError> {
    let path = uri.path();
    let key = parse_id(path, &api_key)?;
    engine
        .get_service(Some(&owner), key)
        .await
        .map(Json)
        .map_err(|e| manage_error(path, e))
}

pub async fn list_services(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let path = uri.path();
    let (start, end) = window(path, &q)?;
    let page = engine
        .list_services(Some(&owner), start, end)
        .await
        .map_err(|e| manage_error(path, e))?;
    Ok(Json(list_body(
        start,
        end,
        page.total,
        "services",
        json!(page.services),
    )))
}

pub async fn update_service(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    Path(api_key): Path<String>,
    ApiBody(input): ApiBody<Service>,
) -> Result<Json<Service>, ApiError> {
    let path = uri.path();
    let key = parse_id(path, &api_key)?;
    engine
        .update_service(Some(&owner), key, input)
        .await
        .map(Json)
        .map_err(|e| manage_error(path, e))
}

pub async fn delete_service(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    Path(api_key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let path = uri.path();
    let key = parse_id(path, &api_key)?;
    engine
        .delete_service(Some(&owner), key)
        .await
        .map_err(|e| manage_error(path, e))?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- clients ----------------------------------------------------------------------------

pub async fn create_client(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    ApiBody(input): ApiBody<Client>,
) -> Result<Json<Client>, ApiError> {
    let path = uri.path();
    engine
        .create_client(&service, input)
        .await
        .map(Json)
        .map_err(|e| manage_error(path, e))
}

pub async fn get_client(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    Path(id): Path<String>,
) -> Result<Json<Client>, ApiError> {
    let path = uri.path();
    engine
        .get_client(&service, &id)
        .await
        .map(Json)
        .map_err(|e| manage_error(path, e))
}

pub async fn list_clients(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let path = uri.path();
    let (start, end) = window(path, &q)?;
    let developer = q.developer.as_deref().filter(|d| !d.is_empty());
    let page = engine
        .list_clients(&service, developer, start, end)
        .await
        .map_err(|e| manage_error(path, e))?;
    let mut body = list_body(start, end, page.total, "clients", json!(page.clients));
    if let Some(d) = developer {
        body["developer"] = json!(d);
    }
    Ok(Json(body))
}

pub async fn update_client(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    Path(id): Path<String>,
    ApiBody(input): ApiBody<Client>,
) -> Result<Json<Client>, ApiError> {
    let path = uri.path();
    let client_id = parse_id(path, &id)?;
    engine
        .update_client(&service, client_id, input)
        .await
        .map(Json)
        .map_err(|e| manage_error(path, e))
}

pub async fn delete_client(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let path = uri.path();
    engine
        .delete_client(&service, &id)
        .await
        .map_err(|e| manage_error(path, e))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn refresh_client_secret(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let path = uri.path();
    let change = engine
        .change_client_secret(&service, &id, None)
        .await
        .map_err(|e| manage_error(path, e))?;
    Ok(secret_change_body(A148001, change))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretUpdate {
    #[serde(default)]
    client_secret: Option<String>,
}

pub async fn update_client_secret(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    Path(id): Path<String>,
    ApiBody(input): ApiBody<SecretUpdate>,
) -> Result<Response, ApiError> {
    let path = uri.path();
    let Some(secret) = input.client_secret else {
        return Err(ApiError::bad_request(path, "'clientSecret' is required."));
    };
    let change = engine
        .change_client_secret(&service, &id, Some(secret))
        .await
        .map_err(|e| manage_error(path, e))?;
    Ok(secret_change_body(A149001, change))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockFlag {
    #[serde(default)]
    client_locked: Option<Value>,
}

pub async fn update_client_lock_flag(
    State(engine): State<AppState>,
    uri: Uri,
    ServiceCaller(service): ServiceCaller,
    Path(id): Path<String>,
    ApiBody(input): ApiBody<LockFlag>,
) -> Result<Response, ApiError> {
    let path = uri.path();
    // A boolean, or "true"/"false" from a form body.
    let locked = match input.client_locked {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
        _ => {
            return Err(ApiError::bad_request(
                path,
                "'clientLocked' (true or false) is required.",
            ));
        }
    };
    let client_id = engine
        .set_client_lock(&service, &id, locked)
        .await
        .map_err(|e| manage_error(path, e))?;
    // Authlete's result code for this API is not documented; the SDKs read no field of it.
    Ok(Json(json!({
        "resultMessage": format!("The lock flag of the client (ID = {client_id}) is now {locked}."),
    }))
    .into_response())
}
