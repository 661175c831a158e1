//! Installation metadata, service owners and services.

use castellan_core::model::Service;
use castellan_store::{OwnerRecord, Page, ServiceRecord, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqlResultExt;
use crate::rows::{self, from_json, to_json};

pub fn meta_get(conn: &Connection, key: &str) -> StoreResult<Option<String>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .db()?
        .query_row([key], |row| row.get(0))
        .optional()
        .db()
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .db()?
    .execute([key, value])
    .db()?;
    Ok(())
}

/// The next value of a `counters` row. Runs in the writer, whose savepoint undoes the increment
/// if the operation fails.
pub fn next_number(conn: &Connection, counter: &str) -> StoreResult<i32> {
    let value: i64 = conn
        .prepare_cached("UPDATE counters SET value = value + 1 WHERE name = ?1 RETURNING value")
        .db()?
        .query_row([counter], |row| row.get(0))
        .db()?;
    rows::number(value)
}

pub fn upsert_owner(
    conn: &Connection,
    api_key: i64,
    secret_hash: &str,
) -> StoreResult<OwnerRecord> {
    let updated = conn
        .prepare_cached("UPDATE owners SET secret_hash = ?2 WHERE api_key = ?1")
        .db()?
        .execute(params![api_key, secret_hash])
        .db()?;
    if updated == 0 {
        let number = next_number(conn, "owner")?;
        conn.prepare_cached(
            "INSERT INTO owners (api_key, number, secret_hash) VALUES (?1, ?2, ?3)",
        )
        .db()?
        .execute(params![api_key, number, secret_hash])
        .db()?;
    }
    get_owner(conn, api_key)?
        .ok_or_else(|| StoreError::Backend("owner vanished while being stored".into()))
}

pub fn get_owner(conn: &Connection, api_key: i64) -> StoreResult<Option<OwnerRecord>> {
    conn.prepare_cached("SELECT api_key, secret_hash, number FROM owners WHERE api_key = ?1")
        .db()?
        .query_row([api_key], owner_row)
        .optional()
        .db()
}

pub fn list_owners(conn: &Connection) -> StoreResult<Vec<OwnerRecord>> {
    conn.prepare_cached("SELECT api_key, secret_hash, number FROM owners ORDER BY number")
        .db()?
        .query_map([], owner_row)
        .db()?
        .collect::<rusqlite::Result<_>>()
        .db()
}

fn owner_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OwnerRecord> {
    Ok(OwnerRecord {
        api_key: row.get(0)?,
        secret_hash: rows::hash(row.get(1)?),
        number: row.get(2)?,
    })
}

pub fn create_service(conn: &Connection, mut record: ServiceRecord) -> StoreResult<ServiceRecord> {
    let api_key = record.service.api_key;
    if number_of(conn, api_key)?.is_some() {
        return Err(StoreError::Conflict(format!("API key {api_key} is taken")));
    }
    record.service.number = next_number(conn, "service")?;
    record.service.api_secret = None;
    record.service.jwks = None;
    conn.prepare_cached(
        "INSERT INTO services (api_key, number, owner_api_key, secret_hash, doc, sealed_jwks)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .db()?
    .execute(params![
        api_key,
        record.service.number,
        record.owner_api_key,
        record.secret_hash.as_str(),
        to_json(&record.service)?,
        record.sealed_jwks,
    ])
    .db()?;
    Ok(record)
}

pub fn get_service(conn: &Connection, api_key: i64) -> StoreResult<Option<ServiceRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT owner_api_key, secret_hash, doc, sealed_jwks FROM services WHERE api_key = ?1",
        )
        .db()?
        .query_row([api_key], service_columns)
        .optional()
        .db()?;
    row.map(service_record).transpose()
}

pub fn list_services(
    conn: &mut Connection,
    owner_api_key: Option<i64>,
    start: u32,
    end: u32,
) -> StoreResult<Page<ServiceRecord>> {
    // One read transaction: the total and the window come from the same snapshot.
    let tx = conn.transaction().db()?;
    let total: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM services WHERE ?1 IS NULL OR owner_api_key = ?1")
        .db()?
        .query_row([owner_api_key], |row| row.get(0))
        .db()?;
    let mut items = Vec::new();
    if let Some((limit, offset)) = rows::window(start, end) {
        items = tx
            .prepare_cached(
                "SELECT owner_api_key, secret_hash, doc, sealed_jwks FROM services
                 WHERE ?1 IS NULL OR owner_api_key = ?1
                 ORDER BY number LIMIT ?2 OFFSET ?3",
            )
            .db()?
            .query_map(params![owner_api_key, limit, offset], service_columns)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
    }
    tx.commit().db()?;
    rows::page(total, items, service_record)
}

/// Replaces everything but the API key and the number the store assigned.
pub fn update_service(conn: &Connection, record: ServiceRecord) -> StoreResult<bool> {
    replace_service(conn, record, None)
}

/// `update_service` when the stored sealed JWK Set is still `expected`.
pub fn update_service_if_keys(
    conn: &Connection,
    record: ServiceRecord,
    expected: Option<&str>,
) -> StoreResult<bool> {
    replace_service(conn, record, Some(expected))
}

fn replace_service(
    conn: &Connection,
    mut record: ServiceRecord,
    expected_keys: Option<Option<&str>>,
) -> StoreResult<bool> {
    let Some(number) = number_of(conn, record.service.api_key)? else {
        return Ok(false);
    };
    record.service.number = number;
    record.service.api_secret = None;
    record.service.jwks = None;
    let (check, expected) = match expected_keys {
        Some(expected) => (true, expected),
        None => (false, None),
    };
    let updated = conn
        .prepare_cached(
            "UPDATE services SET owner_api_key = ?2, doc = ?3, sealed_jwks = ?4
             WHERE api_key = ?1 AND (NOT ?5 OR sealed_jwks IS ?6)",
        )
        .db()?
        .execute(params![
            record.service.api_key,
            record.owner_api_key,
            to_json(&record.service)?,
            record.sealed_jwks,
            check,
            expected,
        ])
        .db()?;
    Ok(updated > 0)
}

pub fn set_secret(conn: &Connection, api_key: i64, secret_hash: &str) -> StoreResult<bool> {
    let updated = conn
        .prepare_cached("UPDATE services SET secret_hash = ?2 WHERE api_key = ?1")
        .db()?
        .execute(params![api_key, secret_hash])
        .db()?;
    Ok(updated > 0)
}

/// Deletes the service with everything issued under it. Clients go by the foreign key's cascade.
pub fn delete_service(conn: &Connection, api_key: i64) -> StoreResult<bool> {
    for sql in [
        "DELETE FROM tickets WHERE service_api_key = ?1",
        "DELETE FROM codes WHERE service_api_key = ?1",
        "DELETE FROM tokens WHERE service_api_key = ?1",
        "DELETE FROM retired_refresh WHERE service_api_key = ?1",
    ] {
        conn.prepare_cached(sql).db()?.execute([api_key]).db()?;
    }
    let deleted = conn
        .prepare_cached("DELETE FROM services WHERE api_key = ?1")
        .db()?
        .execute([api_key])
        .db()?;
    Ok(deleted > 0)
}

fn number_of(conn: &Connection, api_key: i64) -> StoreResult<Option<i32>> {
    conn.prepare_cached("SELECT number FROM services WHERE api_key = ?1")
        .db()?
        .query_row([api_key], |row| row.get(0))
        .optional()
        .db()
}

/// `owner_api_key, secret_hash, doc, sealed_jwks`, in that order.
type ServiceColumns = (i64, String, String, Option<String>);

fn service_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<ServiceColumns> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn service_record(
    (owner_api_key, secret_hash, doc, sealed_jwks): ServiceColumns,
) -> StoreResult<ServiceRecord> {
    Ok(ServiceRecord {
        owner_api_key,
        secret_hash: rows::hash(secret_hash),
        sealed_jwks,
        service: from_json::<Service>(&doc)?,
    })
}
