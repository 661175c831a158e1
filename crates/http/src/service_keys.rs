//! Castellan's own API for rotating a service's signing keys (service-owner credentials).
//! Authlete has no equivalent: there the owner edits `jwks` by hand, which works here too.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use castellan_core::enums::JwsAlg;
use castellan_core::jose::rotation::KeyState;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::ApiBody;
use crate::caller::OwnerCaller;
use crate::manage::{manage_error, parse_id};
use crate::{ApiError, AppState};

fn keys_body(keys: Vec<KeyState>) -> Json<Value> {
    Json(json!({ "keys": keys }))
}

pub async fn list(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    Path(api_key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let path = uri.path();
    let key = parse_id(path, &api_key)?;
    let keys = engine
        .list_service_keys(Some(&owner), key)
        .await
        .map_err(|e| manage_error(path, e))?;
    Ok(keys_body(keys))
}

#[derive(Debug, Deserialize)]
pub struct AddKey {
    alg: String,
}

pub async fn add(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    Path(api_key): Path<String>,
    ApiBody(body): ApiBody<AddKey>,
) -> Result<Json<KeyState>, ApiError> {
    let path = uri.path();
    let key = parse_id(path, &api_key)?;
    let alg = JwsAlg::from_protocol(&body.alg)
        .ok_or_else(|| ApiError::bad_request(path, format!("unknown alg '{}'", body.alg)))?;
    engine
        .add_service_key(Some(&owner), key, alg)
        .await
        .map(Json)
        .map_err(|e| manage_error(path, e))
}

#[derive(Debug, Deserialize)]
pub struct KeyId {
    kid: String,
}

/// Which change a key-id call makes.
#[derive(Clone, Copy)]
enum KeyChange {
    Activate,
    Remove,
}

async fn change(
    engine: AppState,
    uri: Uri,
    owner: castellan_store::OwnerRecord,
    api_key: String,
    kid: String,
    which: KeyChange,
) -> Result<Json<Value>, ApiError> {
    let path = uri.path();
    let key = parse_id(path, &api_key)?;
    let owner = Some(&owner);
    let keys = match which {
        KeyChange::Activate => engine.activate_service_key(owner, key, &kid).await,
        KeyChange::Remove => engine.remove_service_key(owner, key, &kid).await,
    }
    .map_err(|e| manage_error(path, e))?;
    Ok(keys_body(keys))
}

pub async fn activate(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    Path(api_key): Path<String>,
    ApiBody(body): ApiBody<KeyId>,
) -> Result<Json<Value>, ApiError> {
    change(engine, uri, owner, api_key, body.kid, KeyChange::Activate).await
}

pub async fn remove(
    State(engine): State<AppState>,
    uri: Uri,
    OwnerCaller(owner): OwnerCaller,
    Path(api_key): Path<String>,
    ApiBody(body): ApiBody<KeyId>,
) -> Result<Json<Value>, ApiError> {
    change(engine, uri, owner, api_key, body.kid, KeyChange::Remove).await
}
