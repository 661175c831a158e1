//! Whole-table export and import, for moving an installation between backends. The SQL and the
//! column lists are shared with the embedded backend (`castellan_store::export`).

use castellan_store::StoreResult;
use castellan_store::export::{Columns, Cursor, Row, Table, Value};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::types::ToSql;

use crate::error::PgResult;
use crate::sql::{self, col};

struct PgColumns<'r>(&'r tokio_postgres::Row);

impl Columns for PgColumns<'_> {
    fn int(&self, index: usize) -> StoreResult<i64> {
        col(self.0, index).map_err(|e| e.into_store())
    }
    fn text(&self, index: usize) -> StoreResult<String> {
        col(self.0, index).map_err(|e| e.into_store())
    }
    fn opt_text(&self, index: usize) -> StoreResult<Option<String>> {
        col(self.0, index).map_err(|e| e.into_store())
    }
    fn boolean(&self, index: usize) -> StoreResult<bool> {
        col(self.0, index).map_err(|e| e.into_store())
    }
}

pub async fn export_rows(
    c: &impl GenericClient,
    table: Table,
    after: &Cursor,
    limit: u32,
) -> PgResult<Vec<Row>> {
    let (int, text, limit) = (after.int(), after.text(), i64::from(limit));
    let key: &(dyn ToSql + Sync) = if table.int_key() { &int } else { &text };
    let rows = sql::query(c, table.select_sql(), &[key, &limit]).await?;
    Ok(rows
        .iter()
        .map(|r| Row::read(table, &PgColumns(r)))
        .collect::<StoreResult<_>>()?)
}

pub async fn import_rows(tx: &Transaction<'_>, rows: &[Row]) -> PgResult<()> {
    for row in rows {
        let (statement, values) = row.insert();
        let params: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|v| -> &(dyn ToSql + Sync) {
                match v {
                    Value::Int(i) => i,
                    Value::Text(t) => t,
                    Value::Owned(t) => t,
                    Value::OptText(t) => t,
                    Value::Bool(b) => b,
                }
            })
            .collect();
        sql::execute(tx, statement, &params).await?;
    }
    Ok(())
}
