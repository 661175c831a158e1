//! Clients of a service.

use castellan_core::model::Client;
use castellan_store::codec::{self, from_json, to_json};
use castellan_store::{ClientRecord, Page, StoreError};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use crate::error::{PgError, PgResult};
use crate::services::next_number;
use crate::sql::{self, col};

pub async fn create(tx: &Transaction<'_>, mut record: ClientRecord) -> PgResult<ClientRecord> {
    record.client.number = next_number(tx, "client").await?;
    record.client.client_secret = None;
    let inserted = sql::execute(
        tx,
        "INSERT INTO clients
            (client_id, service_api_key, number, alias, developer, sealed_secret, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &record.client.client_id,
            &record.service_api_key,
            &i64::from(record.client.number),
            &alias(&record.client),
            &record.client.developer,
            &record.sealed_secret,
            &to_json(&record.client)?,
        ],
    )
    .await;
    inserted.map_err(|e| conflict(e, &record))?;
    Ok(record)
}

const CLIENT_COLUMNS: &str = "service_api_key, sealed_secret, doc";

pub async fn get(
    c: &impl GenericClient,
    service_api_key: i64,
    client_id: i64,
) -> PgResult<Option<ClientRecord>> {
    let row = sql::query_opt(
        c,
        &format!(
            "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1 AND service_api_key = $2"
        ),
        &[&client_id, &service_api_key],
    )
    .await?;
    row.as_ref().map(client_record).transpose()
}

pub async fn get_by_alias(
    c: &impl GenericClient,
    service_api_key: i64,
    alias: &str,
) -> PgResult<Option<ClientRecord>> {
    let row = sql::query_opt(
        c,
        &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE service_api_key = $1 AND alias = $2"),
        &[&service_api_key, &alias],
    )
    .await?;
    row.as_ref().map(client_record).transpose()
}

pub async fn count(c: &impl GenericClient, service_api_key: i64) -> PgResult<u64> {
    let row = sql::query_one(
        c,
        "SELECT COUNT(*) FROM clients WHERE service_api_key = $1",
        &[&service_api_key],
    )
    .await?;
    Ok(codec::count(col(&row, 0)?))
}

/// The total and the window come from one snapshot (`tx` is a repeatable-read transaction).
pub async fn list(
    tx: &Transaction<'_>,
    service_api_key: i64,
    developer: Option<&str>,
    start: u32,
    end: u32,
) -> PgResult<Page<ClientRecord>> {
    const FILTER: &str = "service_api_key = $1 AND ($2::TEXT IS NULL OR developer = $2)";
    let total: i64 = col(
        &sql::query_one(
            tx,
            &format!("SELECT COUNT(*) FROM clients WHERE {FILTER}"),
            &[&service_api_key, &developer],
        )
        .await?,
        0,
    )?;
    let mut rows = Vec::new();
    if let Some((limit, offset)) = codec::window(start, end) {
        rows = sql::query(
            tx,
            &format!(
                "SELECT {CLIENT_COLUMNS} FROM clients WHERE {FILTER}
                 ORDER BY number LIMIT $3 OFFSET $4"
            ),
            &[&service_api_key, &developer, &limit, &offset],
        )
        .await?;
    }
    let items = rows.iter().map(client_record).collect::<PgResult<_>>()?;
    Ok(Page {
        total: codec::count(total),
        items,
    })
}

/// Replaces the document; keeps the number the store assigned and the sealed secret.
pub async fn update(tx: &Transaction<'_>, mut record: ClientRecord) -> PgResult<bool> {
    let Some(row) = sql::query_opt(
        tx,
        "SELECT number FROM clients WHERE client_id = $1 AND service_api_key = $2",
        &[&record.client.client_id, &record.service_api_key],
    )
    .await?
    else {
        return Ok(false);
    };
    record.client.number = codec::number(col(&row, 0)?)?;
    record.client.client_secret = None;
    let updated = sql::execute(
        tx,
        "UPDATE clients SET alias = $2, developer = $3, doc = $4 WHERE client_id = $1",
        &[
            &record.client.client_id,
            &alias(&record.client),
            &record.client.developer,
            &to_json(&record.client)?,
        ],
    )
    .await
    .map_err(|e| conflict(e, &record))?;
    Ok(updated > 0)
}

/// Swaps the sealed secret if it is still `expected`: one statement, so concurrent changes on
/// any number of nodes are ordered by the row lock and only one finds its expectation met.
pub async fn set_secret(
    c: &impl GenericClient,
    service_api_key: i64,
    client_id: i64,
    expected: &str,
    sealed_secret: &str,
) -> PgResult<bool> {
    let updated = sql::execute(
        c,
        "UPDATE clients SET sealed_secret = $4
         WHERE client_id = $1 AND service_api_key = $2 AND sealed_secret = $3",
        &[&client_id, &service_api_key, &expected, &sealed_secret],
    )
    .await?;
    Ok(updated > 0)
}

/// Deletes the client and what was issued to it. Its tickets stay: they name no client row
/// and fail when used, as the client is gone.
pub async fn delete(tx: &Transaction<'_>, service_api_key: i64, client_id: i64) -> PgResult<bool> {
    let deleted = sql::execute(
        tx,
        "DELETE FROM clients WHERE client_id = $1 AND service_api_key = $2",
        &[&client_id, &service_api_key],
    )
    .await?;
    if deleted == 0 {
        return Ok(false);
    }
    for table in ["codes", "tokens", "retired_refresh"] {
        sql::execute(
            tx,
            &format!("DELETE FROM {table} WHERE service_api_key = $1 AND client_id = $2"),
            &[&service_api_key, &client_id],
        )
        .await?;
    }
    Ok(true)
}

/// The alias as stored: an empty alias is no alias, so it cannot collide.
fn alias(client: &Client) -> Option<&str> {
    client.client_id_alias.as_deref().filter(|a| !a.is_empty())
}

/// Names what a uniqueness violation collided with, as the embedded store does.
fn conflict(e: PgError, record: &ClientRecord) -> PgError {
    if !e.is_unique_violation() {
        return e;
    }
    let what = if e.constraint() == Some("clients_alias_unique") {
        let alias = alias(&record.client).unwrap_or_default();
        format!("client ID alias {alias:?} is taken in this service")
    } else {
        format!("client ID {} is taken", record.client.client_id)
    };
    StoreError::Conflict(what).into()
}

fn client_record(row: &Row) -> PgResult<ClientRecord> {
    let doc: &str = col(row, 2)?;
    Ok(ClientRecord {
        service_api_key: col(row, 0)?,
        sealed_secret: col(row, 1)?,
        client: from_json::<Client>(doc)?,
    })
}
