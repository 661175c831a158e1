//! Clients of a service.

use castellan_core::model::Client;
use castellan_store::{ClientRecord, Page, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqlResultExt;
use crate::rows::{self, from_json, to_json};
use crate::services::next_number;

pub fn create(conn: &Connection, mut record: ClientRecord) -> StoreResult<ClientRecord> {
    let client_id = record.client.client_id;
    let taken: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM clients WHERE client_id = ?1")
        .db()?
        .query_row([client_id], |row| row.get(0))
        .optional()
        .db()?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!(
            "client ID {client_id} is taken"
        )));
    }
    check_alias(conn, &record)?;
    record.client.number = next_number(conn, "client")?;
    record.client.client_secret = None;
    conn.prepare_cached(
        "INSERT INTO clients
            (client_id, service_api_key, number, alias, developer, sealed_secret, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .db()?
    .execute(params![
        client_id,
        record.service_api_key,
        record.client.number,
        alias(&record.client),
        record.client.developer,
        record.sealed_secret,
        to_json(&record.client)?,
    ])
    .db()?;
    Ok(record)
}

pub fn get(
    conn: &Connection,
    service_api_key: i64,
    client_id: i64,
) -> StoreResult<Option<ClientRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT service_api_key, sealed_secret, doc FROM clients
             WHERE client_id = ?1 AND service_api_key = ?2",
        )
        .db()?
        .query_row(params![client_id, service_api_key], client_row)
        .optional()
        .db()?;
    row.map(client_record).transpose()
}

pub fn get_by_alias(
    conn: &Connection,
    service_api_key: i64,
    alias: &str,
) -> StoreResult<Option<ClientRecord>> {
    let row = conn
        .prepare_cached(
            "SELECT service_api_key, sealed_secret, doc FROM clients
             WHERE service_api_key = ?1 AND alias = ?2",
        )
        .db()?
        .query_row(params![service_api_key, alias], client_row)
        .optional()
        .db()?;
    row.map(client_record).transpose()
}

pub fn count(conn: &Connection, service_api_key: i64) -> StoreResult<u64> {
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM clients WHERE service_api_key = ?1")
        .db()?
        .query_row([service_api_key], |row| row.get(0))
        .db()?;
    Ok(rows::count(total))
}

pub fn list(
    conn: &mut Connection,
    service_api_key: i64,
    developer: Option<&str>,
    start: u32,
    end: u32,
) -> StoreResult<Page<ClientRecord>> {
    // One read transaction: the total and the window come from the same snapshot.
    let tx = conn.transaction().db()?;
    let total: i64 = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM clients
             WHERE service_api_key = ?1 AND (?2 IS NULL OR developer = ?2)",
        )
        .db()?
        .query_row(params![service_api_key, developer], |row| row.get(0))
        .db()?;
    let mut items = Vec::new();
    if let Some((limit, offset)) = rows::window(start, end) {
        items = tx
            .prepare_cached(
                "SELECT service_api_key, sealed_secret, doc FROM clients
                 WHERE service_api_key = ?1 AND (?2 IS NULL OR developer = ?2)
                 ORDER BY number LIMIT ?3 OFFSET ?4",
            )
            .db()?
            .query_map(
                params![service_api_key, developer, limit, offset],
                client_row,
            )
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
    }
    tx.commit().db()?;
    rows::page(total, items, client_record)
}

/// Replaces the document; keeps the number the store assigned and the sealed secret.
pub fn update(conn: &Connection, mut record: ClientRecord) -> StoreResult<bool> {
    let number: Option<i32> = conn
        .prepare_cached("SELECT number FROM clients WHERE client_id = ?1 AND service_api_key = ?2")
        .db()?
        .query_row(
            params![record.client.client_id, record.service_api_key],
            |row| row.get(0),
        )
        .optional()
        .db()?;
    let Some(number) = number else {
        return Ok(false);
    };
    check_alias(conn, &record)?;
    record.client.number = number;
    record.client.client_secret = None;
    conn.prepare_cached(
        "UPDATE clients SET alias = ?2, developer = ?3, doc = ?4 WHERE client_id = ?1",
    )
    .db()?
    .execute(params![
        record.client.client_id,
        alias(&record.client),
        record.client.developer,
        to_json(&record.client)?,
    ])
    .db()?;
    Ok(true)
}

/// Swaps the sealed secret if it is still `expected`.
pub fn set_secret(
    conn: &Connection,
    service_api_key: i64,
    client_id: i64,
    expected: &str,
    sealed_secret: &str,
) -> StoreResult<bool> {
    let updated = conn
        .prepare_cached(
            "UPDATE clients SET sealed_secret = ?4
             WHERE client_id = ?1 AND service_api_key = ?2 AND sealed_secret = ?3",
        )
        .db()?
        .execute(params![client_id, service_api_key, expected, sealed_secret])
        .db()?;
    Ok(updated > 0)
}

/// Deletes the client and what was issued to it. Its tickets stay: they name no client row
/// and fail when used, as the client is gone.
pub fn delete(conn: &Connection, service_api_key: i64, client_id: i64) -> StoreResult<bool> {
    let deleted = conn
        .prepare_cached("DELETE FROM clients WHERE client_id = ?1 AND service_api_key = ?2")
        .db()?
        .execute(params![client_id, service_api_key])
        .db()?;
    if deleted == 0 {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM codes WHERE service_api_key = ?1 AND client_id = ?2",
        "DELETE FROM tokens WHERE service_api_key = ?1 AND client_id = ?2",
        "DELETE FROM retired_refresh WHERE service_api_key = ?1 AND client_id = ?2",
    ] {
        conn.prepare_cached(sql)
            .db()?
            .execute(params![service_api_key, client_id])
            .db()?;
    }
    Ok(true)
}

/// The alias as stored: an empty alias is no alias, so it cannot collide.
fn alias(client: &Client) -> Option<&str> {
    client.client_id_alias.as_deref().filter(|a| !a.is_empty())
}

/// `Conflict` if another client of the service already uses the record's alias.
fn check_alias(conn: &Connection, record: &ClientRecord) -> StoreResult<()> {
    let Some(alias) = alias(&record.client) else {
        return Ok(());
    };
    let holder: Option<i64> = conn
        .prepare_cached("SELECT client_id FROM clients WHERE service_api_key = ?1 AND alias = ?2")
        .db()?
        .query_row(params![record.service_api_key, alias], |row| row.get(0))
        .optional()
        .db()?;
    match holder {
        Some(id) if id != record.client.client_id => Err(StoreError::Conflict(format!(
            "client ID alias {alias:?} is taken in this service"
        ))),
        _ => Ok(()),
    }
}

type ClientRow = (i64, String, String);

fn client_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ClientRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn client_record((service_api_key, sealed_secret, doc): ClientRow) -> StoreResult<ClientRecord> {
    Ok(ClientRecord {
        service_api_key,
        sealed_secret,
        client: from_json::<Client>(&doc)?,
    })
}
