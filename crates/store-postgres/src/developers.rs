//! Developers of a service.

use castellan_store::export::developer_id;
use castellan_store::{DeveloperRecord, StoreError};
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::error::PgResult;
use crate::sql::{self, col};

const COLUMNS: &str = "service_api_key, login, display_name, password_hash, disabled, created_at";

pub async fn create(c: &impl GenericClient, d: &DeveloperRecord) -> PgResult<()> {
    let inserted = sql::execute(
        c,
        "INSERT INTO developers
            (id, service_api_key, login, display_name, password_hash, disabled, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        &[
            &developer_id(d.service_api_key, &d.login),
            &d.service_api_key,
            &d.login,
            &d.display_name,
            &d.password_hash,
            &d.disabled,
            &d.created_at,
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "the login {:?} is taken in this service",
            d.login
        ))
        .into());
    }
    Ok(())
}

pub async fn get(
    c: &impl GenericClient,
    service_api_key: i64,
    login: &str,
) -> PgResult<Option<DeveloperRecord>> {
    let row = sql::query_opt(
        c,
        &format!("SELECT {COLUMNS} FROM developers WHERE id = $1"),
        &[&developer_id(service_api_key, login)],
    )
    .await?;
    row.as_ref().map(record).transpose()
}

pub async fn list(c: &impl GenericClient, service_api_key: i64) -> PgResult<Vec<DeveloperRecord>> {
    let rows = sql::query(
        c,
        &format!("SELECT {COLUMNS} FROM developers WHERE service_api_key = $1 ORDER BY login"),
        &[&service_api_key],
    )
    .await?;
    rows.iter().map(record).collect()
}

pub async fn update(c: &impl GenericClient, d: &DeveloperRecord) -> PgResult<bool> {
    let updated = sql::execute(
        c,
        "UPDATE developers SET display_name = $2, password_hash = $3, disabled = $4 WHERE id = $1",
        &[
            &developer_id(d.service_api_key, &d.login),
            &d.display_name,
            &d.password_hash,
            &d.disabled,
        ],
    )
    .await?;
    Ok(updated > 0)
}

fn record(row: &Row) -> PgResult<DeveloperRecord> {
    Ok(DeveloperRecord {
        service_api_key: col(row, 0)?,
        login: col(row, 1)?,
        display_name: col(row, 2)?,
        password_hash: col(row, 3)?,
        disabled: col(row, 4)?,
        created_at: col(row, 5)?,
    })
}
