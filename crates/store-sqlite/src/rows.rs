//! Records ↔ rows: each record is stored as JSON beside the columns the store queries by.

use castellan_core::records::{Millis, TokenRecord};
use castellan_core::secret::SecretHash;
use castellan_store::{Page, StoreError, StoreResult, TokenHashes};
use rusqlite::{Connection, ToSql};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::SqlResultExt;

pub fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("cannot encode: {e}")))
}

pub fn from_json<T: DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored record is unreadable: {e}")))
}

pub fn hash(stored: String) -> SecretHash {
    SecretHash::from_stored(stored)
}

/// An `INTEGER` column or counter as the `i32` the data model uses.
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

/// A token record as the `tokens` table holds it. Built (and encoded) by the caller, so the
/// writer thread only executes SQL.
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

    /// Values for `?1`..`?10`, in the column order of [`TokenRow::insert`].
    pub fn params(&self) -> [&dyn ToSql; 10] {
        [
            &self.access_hash,
            &self.refresh_hash,
            &self.service_api_key,
            &self.client_id,
            &self.subject,
            &self.grant_id,
            &self.access_expires_at,
            &self.refresh_expires_at,
            &self.dead_at,
            &self.data,
        ]
    }

    pub fn insert(&self, conn: &Connection) -> StoreResult<()> {
        conn.prepare_cached(
            "INSERT INTO tokens (access_hash, refresh_hash, service_api_key, client_id, subject,
                grant_id, access_expires_at, refresh_expires_at, dead_at, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .db()?
        .execute(&self.params()[..])
        .db()?;
        Ok(())
    }
}
