//! Whole-table export and import, for moving an installation between backends. The SQL and the
//! column lists are shared with the PostgreSQL backend (`castellan_store::export`); SQLite takes
//! its `$1`, `$2` placeholders in order.

use castellan_store::StoreResult;
use castellan_store::export::{Columns, Cursor, Row, Table, Value};
use rusqlite::{Connection, ToSql, params};

use crate::error::SqlResultExt;

struct SqliteColumns<'r, 's>(&'r rusqlite::Row<'s>);

impl Columns for SqliteColumns<'_, '_> {
    fn int(&self, index: usize) -> StoreResult<i64> {
        self.0.get(index).db()
    }
    fn text(&self, index: usize) -> StoreResult<String> {
        self.0.get(index).db()
    }
    fn opt_text(&self, index: usize) -> StoreResult<Option<String>> {
        self.0.get(index).db()
    }
    fn boolean(&self, index: usize) -> StoreResult<bool> {
        self.0.get(index).db()
    }
}

pub fn export_rows(
    conn: &Connection,
    table: Table,
    after: &Cursor,
    limit: u32,
) -> StoreResult<Vec<Row>> {
    let (int, text) = (after.int(), after.text());
    let key: &dyn ToSql = if table.int_key() { &int } else { &text };
    let mut statement = conn.prepare_cached(table.select_sql()).db()?;
    let mut rows = statement.query(params![key, limit]).db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        out.push(Row::read(table, &SqliteColumns(row))?);
    }
    Ok(out)
}

pub fn import_rows(conn: &Connection, rows: &[Row]) -> StoreResult<()> {
    for row in rows {
        let (statement, values) = row.insert();
        let params: Vec<&dyn ToSql> = values
            .iter()
            .map(|v| -> &dyn ToSql {
                match v {
                    Value::Int(i) => i,
                    Value::Text(t) => t,
                    Value::Owned(t) => t,
                    Value::OptText(t) => t,
                    Value::Bool(b) => b,
                }
            })
            .collect();
        conn.prepare_cached(statement)
            .db()?
            .execute(&params[..])
            .db()?;
    }
    Ok(())
}
