//! Token records: issue, lookup, refresh-token rotation and revocation.

use castellan_core::records::TokenRecord;
use castellan_store::{RefreshLookup, Rotation, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqlResultExt;
use crate::rows::{TokenRow, TokenRowSql, from_json};

/// Stores a token; with `exclusive`, first drops the subject's other tokens for the client.
pub fn insert(conn: &Connection, row: &TokenRow, exclusive: bool) -> StoreResult<()> {
    if let (true, Some(subject)) = (exclusive, &row.subject) {
        conn.prepare_cached(
            "DELETE FROM tokens WHERE service_api_key = ?1 AND client_id = ?2 AND subject = ?3",
        )
        .db()?
        .execute(params![row.service_api_key, row.client_id, subject])
        .db()?;
    }
    row.insert(conn)
}

pub fn by_access(conn: &Connection, hash: &str) -> StoreResult<Option<TokenRecord>> {
    let data: Option<String> = conn
        .prepare_cached("SELECT data FROM tokens WHERE access_hash = ?1")
        .db()?
        .query_row([hash], |row| row.get(0))
        .optional()
        .db()?;
    data.as_deref().map(from_json).transpose()
}

pub fn by_refresh(conn: &Connection, hash: &str) -> StoreResult<RefreshLookup> {
    let data: Option<String> = conn
        .prepare_cached("SELECT data FROM tokens WHERE refresh_hash = ?1")
        .db()?
        .query_row([hash], |row| row.get(0))
        .optional()
        .db()?;
    if let Some(data) = data {
        return Ok(RefreshLookup::Live(from_json(&data)?));
    }
    // Rotation retires a hash in the same commit that removes it from `tokens`, so looking
    // here second cannot miss a hash that was live a moment ago.
    let retired = conn
        .prepare_cached(
            "SELECT service_api_key, client_id, grant_id FROM retired_refresh WHERE hash = ?1",
        )
        .db()?
        .query_row([hash], |row| {
            Ok(RefreshLookup::Retired {
                service_api_key: row.get(0)?,
                client_id: row.get(1)?,
                grant_id: row.get(2)?,
            })
        })
        .optional()
        .db()?;
    Ok(retired.unwrap_or(RefreshLookup::Unknown))
}

/// Moves the record holding `old_refresh` to the new hashes and contents. With `retire`, the
/// old refresh hash is remembered (until the old record's refresh expiry) for replay detection.
pub fn rotate(
    conn: &Connection,
    old_refresh: &str,
    row: &TokenRow,
    retire: bool,
) -> StoreResult<Rotation> {
    let current: Option<(i64, i64, i64, String, i64)> = conn
        .prepare_cached(
            "SELECT id, service_api_key, client_id, grant_id, refresh_expires_at
             FROM tokens WHERE refresh_hash = ?1",
        )
        .db()?
        .query_row([old_refresh], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()
        .db()?;
    let Some((id, service_api_key, client_id, grant_id, refresh_expires_at)) = current else {
        return Ok(Rotation::Gone);
    };
    let mut values = row.params().to_vec();
    values.push(&id);
    conn.prepare_cached(
        "UPDATE tokens SET access_hash = ?1, refresh_hash = ?2, service_api_key = ?3,
            client_id = ?4, subject = ?5, grant_id = ?6, access_expires_at = ?7,
            refresh_expires_at = ?8, dead_at = ?9, data = ?10
         WHERE id = ?11",
    )
    .db()?
    .execute(&values[..])
    .db()?;
    if retire {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO retired_refresh
                (hash, service_api_key, client_id, grant_id, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .db()?
        .execute(params![
            old_refresh,
            service_api_key,
            client_id,
            grant_id,
            refresh_expires_at
        ])
        .db()?;
    }
    Ok(Rotation::Rotated)
}

pub fn revoke_by_access(conn: &Connection, hash: &str) -> StoreResult<Option<TokenRecord>> {
    delete_returning(
        conn,
        "DELETE FROM tokens WHERE access_hash = ?1 RETURNING data",
        hash,
    )
}

pub fn revoke_by_refresh(conn: &Connection, hash: &str) -> StoreResult<Option<TokenRecord>> {
    delete_returning(
        conn,
        "DELETE FROM tokens WHERE refresh_hash = ?1 RETURNING data",
        hash,
    )
}

pub fn revoke_grant(conn: &Connection, service_api_key: i64, grant_id: &str) -> StoreResult<u64> {
    let deleted = conn
        .prepare_cached("DELETE FROM tokens WHERE service_api_key = ?1 AND grant_id = ?2")
        .db()?
        .execute(params![service_api_key, grant_id])
        .db()?;
    Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
}

fn delete_returning(conn: &Connection, sql: &str, hash: &str) -> StoreResult<Option<TokenRecord>> {
    let data: Option<String> = conn
        .prepare_cached(sql)
        .db()?
        .query_row([hash], |row| row.get(0))
        .optional()
        .db()?;
    data.as_deref().map(from_json).transpose()
}
