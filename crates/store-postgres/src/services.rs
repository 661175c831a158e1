//! Installation metadata, service owners and services.

use castellan_core::model::Service;
use castellan_core::secret::SecretHash;
use castellan_store::codec::{self, from_json, to_json};
use castellan_store::{OwnerRecord, Page, ServiceRecord, StoreError};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use crate::error::PgResult;
use crate::sql::{self, col};

pub async fn meta_get(c: &impl GenericClient, key: &str) -> PgResult<Option<String>> {
    match sql::query_opt(c, "SELECT value FROM meta WHERE key = $1", &[&key]).await? {
        Some(row) => Ok(Some(col(&row, 0)?)),
        None => Ok(None),
    }
}

pub async fn meta_set(c: &impl GenericClient, key: &str, value: &str) -> PgResult<()> {
    sql::execute(
        c,
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )
    .await?;
    Ok(())
}

/// The next value of a `counters` row. The row lock serialises concurrent callers on every
/// node; the transaction that fails gives its number back by rolling back.
pub async fn next_number(tx: &Transaction<'_>, counter: &str) -> PgResult<i32> {
    let row = sql::query_one(
        tx,
        "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
        &[&counter],
    )
    .await?;
    Ok(codec::number(col(&row, 0)?)?)
}

pub async fn upsert_owner(
    tx: &Transaction<'_>,
    api_key: i64,
    secret_hash: &str,
) -> PgResult<OwnerRecord> {
    const UPDATE: &str = "UPDATE owners SET secret_hash = $2 WHERE api_key = $1";
    if sql::execute(tx, UPDATE, &[&api_key, &secret_hash]).await? == 0 {
        let number = i64::from(next_number(tx, "owner").await?);
        let inserted = sql::execute(
            tx,
            "INSERT INTO owners (api_key, number, secret_hash) VALUES ($1, $2, $3)
             ON CONFLICT (api_key) DO NOTHING",
            &[&api_key, &number, &secret_hash],
        )
        .await?;
        if inserted == 0 {
            // Another node inserted the same owner meanwhile: set the secret on its row.
            sql::execute(tx, UPDATE, &[&api_key, &secret_hash]).await?;
        }
    }
    get_owner(tx, api_key)
        .await?
        .ok_or_else(|| StoreError::Backend("owner vanished while being stored".into()).into())
}

pub async fn get_owner(c: &impl GenericClient, api_key: i64) -> PgResult<Option<OwnerRecord>> {
    let row = sql::query_opt(
        c,
        "SELECT api_key, secret_hash, number FROM owners WHERE api_key = $1",
        &[&api_key],
    )
    .await?;
    row.as_ref().map(owner_row).transpose()
}

pub async fn list_owners(c: &impl GenericClient) -> PgResult<Vec<OwnerRecord>> {
    let rows = sql::query(
        c,
        "SELECT api_key, secret_hash, number FROM owners ORDER BY number",
        &[],
    )
    .await?;
    rows.iter().map(owner_row).collect()
}

fn owner_row(row: &Row) -> PgResult<OwnerRecord> {
    Ok(OwnerRecord {
        api_key: col(row, 0)?,
        secret_hash: SecretHash::from_stored(col(row, 1)?),
        number: codec::number(col(row, 2)?)?,
    })
}

pub async fn create_service(
    tx: &Transaction<'_>,
    mut record: ServiceRecord,
) -> PgResult<ServiceRecord> {
    let api_key = record.service.api_key;
    record.service.number = next_number(tx, "service").await?;
    record.service.api_secret = None;
    record.service.jwks = None;
    let inserted = sql::execute(
        tx,
        "INSERT INTO services (api_key, number, owner_api_key, secret_hash, doc, sealed_jwks)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (api_key) DO NOTHING",
        &[
            &api_key,
            &i64::from(record.service.number),
            &record.owner_api_key,
            &record.secret_hash.as_str(),
            &to_json(&record.service)?,
            &record.sealed_jwks,
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!("API key {api_key} is taken")).into());
    }
    Ok(record)
}

const SERVICE_COLUMNS: &str = "owner_api_key, secret_hash, doc, sealed_jwks";

pub async fn get_service(c: &impl GenericClient, api_key: i64) -> PgResult<Option<ServiceRecord>> {
    let row = sql::query_opt(
        c,
        &format!("SELECT {SERVICE_COLUMNS} FROM services WHERE api_key = $1"),
        &[&api_key],
    )
    .await?;
    row.as_ref().map(service_record).transpose()
}

/// The total and the window come from one snapshot (`tx` is a repeatable-read transaction).
pub async fn list_services(
    tx: &Transaction<'_>,
    owner_api_key: Option<i64>,
    start: u32,
    end: u32,
) -> PgResult<Page<ServiceRecord>> {
    let total: i64 = col(
        &sql::query_one(
            tx,
            "SELECT COUNT(*) FROM services WHERE $1::BIGINT IS NULL OR owner_api_key = $1",
            &[&owner_api_key],
        )
        .await?,
        0,
    )?;
    let mut rows = Vec::new();
    if let Some((limit, offset)) = codec::window(start, end) {
        rows = sql::query(
            tx,
            &format!(
                "SELECT {SERVICE_COLUMNS} FROM services
                 WHERE $1::BIGINT IS NULL OR owner_api_key = $1
                 ORDER BY number LIMIT $2 OFFSET $3"
            ),
            &[&owner_api_key, &limit, &offset],
        )
        .await?;
    }
    let items = rows.iter().map(service_record).collect::<PgResult<_>>()?;
    Ok(Page {
        total: codec::count(total),
        items,
    })
}

/// Replaces everything but the API key and the number the store assigned.
pub async fn update_service(tx: &Transaction<'_>, record: ServiceRecord) -> PgResult<bool> {
    replace_service(tx, record, None).await
}

/// `update_service` when the stored sealed JWK Set is still `expected`.
pub async fn update_service_if_keys(
    tx: &Transaction<'_>,
    record: ServiceRecord,
    expected: Option<&str>,
) -> PgResult<bool> {
    replace_service(tx, record, Some(expected)).await
}

async fn replace_service(
    tx: &Transaction<'_>,
    mut record: ServiceRecord,
    expected_keys: Option<Option<&str>>,
) -> PgResult<bool> {
    let api_key = record.service.api_key;
    let Some(row) = sql::query_opt(
        tx,
        "SELECT number FROM services WHERE api_key = $1",
        &[&api_key],
    )
    .await?
    else {
        return Ok(false);
    };
    record.service.number = codec::number(col(&row, 0)?)?;
    record.service.api_secret = None;
    record.service.jwks = None;
    let (check, expected) = match expected_keys {
        Some(expected) => (true, expected),
        None => (false, None),
    };
    let updated = sql::execute(
        tx,
        "UPDATE services SET owner_api_key = $2, doc = $3, sealed_jwks = $4
         WHERE api_key = $1 AND (NOT $5 OR sealed_jwks IS NOT DISTINCT FROM $6::TEXT)",
        &[
            &api_key,
            &record.owner_api_key,
            &to_json(&record.service)?,
            &record.sealed_jwks,
            &check,
            &expected,
        ],
    )
    .await?;
    Ok(updated > 0)
}

pub async fn set_secret(c: &impl GenericClient, api_key: i64, secret_hash: &str) -> PgResult<bool> {
    let updated = sql::execute(
        c,
        "UPDATE services SET secret_hash = $2 WHERE api_key = $1",
        &[&api_key, &secret_hash],
    )
    .await?;
    Ok(updated > 0)
}

/// Deletes the service with everything issued under it. Clients go by the foreign key's cascade.
pub async fn delete_service(tx: &Transaction<'_>, api_key: i64) -> PgResult<bool> {
    for table in ["tickets", "codes", "tokens", "retired_refresh"] {
        sql::execute(
            tx,
            &format!("DELETE FROM {table} WHERE service_api_key = $1"),
            &[&api_key],
        )
        .await?;
    }
    let deleted = sql::execute(tx, "DELETE FROM services WHERE api_key = $1", &[&api_key]).await?;
    Ok(deleted > 0)
}

fn service_record(row: &Row) -> PgResult<ServiceRecord> {
    let doc: &str = col(row, 2)?;
    Ok(ServiceRecord {
        owner_api_key: col(row, 0)?,
        secret_hash: SecretHash::from_stored(col(row, 1)?),
        sealed_jwks: col(row, 3)?,
        service: from_json::<Service>(doc)?,
    })
}
