//! Developers of a service.

use castellan_store::export::developer_id;
use castellan_store::{DeveloperRecord, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqlResultExt;

const COLUMNS: &str = "service_api_key, login, display_name, password_hash, disabled, created_at";

pub fn create(conn: &Connection, d: &DeveloperRecord) -> StoreResult<()> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO developers
                (id, service_api_key, login, display_name, password_hash, disabled, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
        )
        .db()?
        .execute(params![
            developer_id(d.service_api_key, &d.login),
            d.service_api_key,
            d.login,
            d.display_name,
            d.password_hash,
            d.disabled,
            d.created_at,
        ])
        .db()?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "the login {:?} is taken in this service",
            d.login
        )));
    }
    Ok(())
}

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeveloperRecord> {
    Ok(DeveloperRecord {
        service_api_key: row.get(0)?,
        login: row.get(1)?,
        display_name: row.get(2)?,
        password_hash: row.get(3)?,
        disabled: row.get(4)?,
        created_at: row.get(5)?,
    })
}

pub fn get(
    conn: &Connection,
    service_api_key: i64,
    login: &str,
) -> StoreResult<Option<DeveloperRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM developers WHERE id = ?1"))
        .db()?
        .query_row([developer_id(service_api_key, login)], record)
        .optional()
        .db()
}

pub fn list(conn: &Connection, service_api_key: i64) -> StoreResult<Vec<DeveloperRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM developers WHERE service_api_key = ?1 ORDER BY login"
    ))
    .db()?
    .query_map([service_api_key], record)
    .db()?
    .collect::<rusqlite::Result<_>>()
    .db()
}

pub fn update(conn: &Connection, d: &DeveloperRecord) -> StoreResult<bool> {
    let updated = conn
        .prepare_cached(
            "UPDATE developers SET display_name = ?2, password_hash = ?3, disabled = ?4 WHERE id = ?1",
        )
        .db()?
        .execute(params![
            developer_id(d.service_api_key, &d.login),
            d.display_name,
            d.password_hash,
            d.disabled,
        ])
        .db()?;
    Ok(updated > 0)
}
