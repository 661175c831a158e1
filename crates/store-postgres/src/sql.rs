//! Thin helpers over the driver: cached statements, typed columns.

use castellan_store::StoreError;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql};

use crate::error::PgResult;

pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub async fn execute(c: &impl GenericClient, sql: &str, params: Params<'_>) -> PgResult<u64> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.execute(&statement, params).await?)
}

pub async fn query_opt(
    c: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> PgResult<Option<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&statement, params).await?)
}

pub async fn query_one(c: &impl GenericClient, sql: &str, params: Params<'_>) -> PgResult<Row> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_one(&statement, params).await?)
}

pub async fn query(c: &impl GenericClient, sql: &str, params: Params<'_>) -> PgResult<Vec<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

/// Column `index` of `row`, or a backend error when its type is not what the schema says.
pub fn col<'r, T: FromSql<'r>>(row: &'r Row, index: usize) -> PgResult<T> {
    row.try_get(index)
        .map_err(|e| StoreError::Backend(format!("unexpected value in column {index}: {e}")).into())
}
