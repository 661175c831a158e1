//! Token records: issue, lookup, refresh-token rotation and revocation.

use castellan_core::records::TokenRecord;
use castellan_store::codec::{TokenRow, from_json};
use castellan_store::{RefreshLookup, Rotation};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::ToSql;

use crate::error::PgResult;
use crate::sql::{self, col};

pub async fn insert_row(c: &impl GenericClient, row: &TokenRow) -> PgResult<()> {
    sql::execute(
        c,
        "INSERT INTO tokens (access_hash, refresh_hash, service_api_key, client_id, subject,
            grant_id, access_expires_at, refresh_expires_at, dead_at, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &columns(row),
    )
    .await?;
    Ok(())
}

/// Values for `$1`..`$10`, in the column order of [`insert_row`].
fn columns(row: &TokenRow) -> [&(dyn ToSql + Sync); 10] {
    [
        &row.access_hash,
        &row.refresh_hash,
        &row.service_api_key,
        &row.client_id,
        &row.subject,
        &row.grant_id,
        &row.access_expires_at,
        &row.refresh_expires_at,
        &row.dead_at,
        &row.data,
    ]
}

/// Stores a token; with `exclusive`, first drops the subject's other tokens for the client.
///
/// Two exclusive issuances for one subject at once would each delete what the other had not
/// committed yet and both insert; locking the client's row first makes them take turns, on any
/// node and at any isolation level.
pub async fn insert(tx: &Transaction<'_>, row: &TokenRow, exclusive: bool) -> PgResult<()> {
    if let (true, Some(subject)) = (exclusive, &row.subject) {
        sql::query_opt(
            tx,
            "SELECT 1 FROM clients WHERE client_id = $1 AND service_api_key = $2 FOR UPDATE",
            &[&row.client_id, &row.service_api_key],
        )
        .await?;
        sql::execute(
            tx,
            "DELETE FROM tokens WHERE service_api_key = $1 AND client_id = $2 AND subject = $3",
            &[&row.service_api_key, &row.client_id, subject],
        )
        .await?;
    }
    insert_row(tx, row).await
}

pub async fn by_access(c: &impl GenericClient, hash: &str) -> PgResult<Option<TokenRecord>> {
    record(c, "SELECT data FROM tokens WHERE access_hash = $1", hash).await
}

/// Looks in the live tokens, then in the retired refresh tokens. Rotation retires a hash in the
/// same transaction that removes it from `tokens`, and the second query sees every commit the
/// first one missed, so a hash live a moment ago is found in one place or the other.
pub async fn by_refresh(c: &impl GenericClient, hash: &str) -> PgResult<RefreshLookup> {
    if let Some(live) = record(c, "SELECT data FROM tokens WHERE refresh_hash = $1", hash).await? {
        return Ok(RefreshLookup::Live(live));
    }
    let retired = sql::query_opt(
        c,
        "SELECT service_api_key, client_id, grant_id FROM retired_refresh WHERE hash = $1",
        &[&hash],
    )
    .await?;
    match retired {
        Some(row) => Ok(RefreshLookup::Retired {
            service_api_key: col(&row, 0)?,
            client_id: col(&row, 1)?,
            grant_id: col(&row, 2)?,
        }),
        None => Ok(RefreshLookup::Unknown),
    }
}

/// Moves the record holding `old_refresh` to the new hashes and contents. With `retire`, the
/// old refresh hash is remembered (until the old record's refresh expiry) for replay detection.
///
/// `FOR UPDATE` makes concurrent rotations of one refresh token queue on its row; when the
/// first commits, the others re-read the row, no longer find the old hash, and get `Gone`.
pub async fn rotate(
    tx: &Transaction<'_>,
    old_refresh: &str,
    row: &TokenRow,
    retire: bool,
) -> PgResult<Rotation> {
    let Some(current) = sql::query_opt(
        tx,
        "SELECT access_hash, service_api_key, client_id, grant_id, refresh_expires_at
         FROM tokens WHERE refresh_hash = $1 FOR UPDATE",
        &[&old_refresh],
    )
    .await?
    else {
        return Ok(Rotation::Gone);
    };
    let old_access: &str = col(&current, 0)?;
    let (service_api_key, client_id): (i64, i64) = (col(&current, 1)?, col(&current, 2)?);
    let grant_id: &str = col(&current, 3)?;
    let refresh_expires_at: i64 = col(&current, 4)?;
    let updated = sql::execute(
        tx,
        "UPDATE tokens SET access_hash = $1, refresh_hash = $2, service_api_key = $3,
            client_id = $4, subject = $5, grant_id = $6, access_expires_at = $7,
            refresh_expires_at = $8, dead_at = $9, data = $10
         WHERE access_hash = $11 AND refresh_hash = $12",
        &[&columns(row)[..], &[&old_access, &old_refresh]].concat(),
    )
    .await?;
    if updated == 0 {
        return Ok(Rotation::Gone);
    }
    if retire {
        sql::execute(
            tx,
            "INSERT INTO retired_refresh (hash, service_api_key, client_id, grant_id, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (hash) DO UPDATE SET service_api_key = excluded.service_api_key,
                client_id = excluded.client_id, grant_id = excluded.grant_id,
                expires_at = excluded.expires_at",
            &[
                &old_refresh,
                &service_api_key,
                &client_id,
                &grant_id,
                &refresh_expires_at,
            ],
        )
        .await?;
    }
    Ok(Rotation::Rotated)
}

pub async fn revoke_by_access(c: &impl GenericClient, hash: &str) -> PgResult<Option<TokenRecord>> {
    record(
        c,
        "DELETE FROM tokens WHERE access_hash = $1 RETURNING data",
        hash,
    )
    .await
}

pub async fn revoke_by_refresh(
    c: &impl GenericClient,
    hash: &str,
) -> PgResult<Option<TokenRecord>> {
    record(
        c,
        "DELETE FROM tokens WHERE refresh_hash = $1 RETURNING data",
        hash,
    )
    .await
}

pub async fn revoke_grant(
    c: &impl GenericClient,
    service_api_key: i64,
    grant_id: &str,
) -> PgResult<u64> {
    sql::execute(
        c,
        "DELETE FROM tokens WHERE service_api_key = $1 AND grant_id = $2",
        &[&service_api_key, &grant_id],
    )
    .await
}

/// The record in the `data` column of the one row `statement` yields for `hash`.
async fn record(
    c: &impl GenericClient,
    statement: &str,
    hash: &str,
) -> PgResult<Option<TokenRecord>> {
    let Some(row) = sql::query_opt(c, statement, &[&hash]).await? else {
        return Ok(None);
    };
    let data: &str = col(&row, 0)?;
    Ok(Some(from_json(data)?))
}
