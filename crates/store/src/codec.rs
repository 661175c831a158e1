//! Records ↔ rows, shared by the SQL backends: each record is stored as JSON beside the
//! columns the store queries by.

use castellan_core::records::{Millis, TokenRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Page, StoreError, StoreResult, TokenHashes};

pub fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("cannot encode: {e}")))
}

pub fn from_json<T: DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored record is unreadable: {e}")))
}

/// An integer column or counter as the `i32` the data model uses.
pub fn number(value: i64) -> StoreResult<i32> {
    i32::try_from(value).map_err(|_| StoreError::Backend(format!("number {value} out of range")))
}

pub fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// `LIMIT` and `OFFSET` for the window `[start, end)`; `None` when it is empty.
pub fn window(start: u32, end: u32) -> Option<(i64, i64)> {
    (end > start).then(|| (i64::from(end - start), i64::from(start)))
}

/// A page of records decoded from raw rows.
pub fn page<R, T>(
    total: i64,
    raw: Vec<R>,
    decode: impl Fn(R) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    Ok(Page {
        total: count(total),
        items: raw.into_iter().map(decode).collect::<StoreResult<_>>()?,
    })
}

/// A token record as a `tokens` table holds it: built and encoded before any SQL runs.
pub struct TokenRow {
    pub access_hash: String,
    pub refresh_hash: Option<String>,
    pub service_api_key: i64,
    pub client_id: i64,
    pub subject: Option<String>,
    pub grant_id: String,
    pub access_expires_at: Millis,
    pub refresh_expires_at: Millis,
    pub dead_at: Millis,
    pub data: String,
}

impl TokenRow {
    pub fn new(hashes: &TokenHashes, token: &TokenRecord) -> StoreResult<Self> {
        Ok(Self {
            access_hash: hashes.access.as_str().to_owned(),
            refresh_hash: hashes.refresh.as_ref().map(|h| h.as_str().to_owned()),
            service_api_key: token.service_api_key,
            client_id: token.client_id,
            subject: token.subject.clone(),
            grant_id: token.grant_id.clone(),
            access_expires_at: token.access_expires_at,
            refresh_expires_at: token.refresh_expires_at,
            dead_at: token.dead_at(),
            data: to_json(token)?,
        })
    }
}
