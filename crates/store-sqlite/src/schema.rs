//! Embedded migrations. The schema version is SQLite's `user_version`: migration `n` (1-based)
//! brings the database to version `n`.

use castellan_store::{StoreError, StoreResult};
use rusqlite::{Connection, TransactionBehavior};

use crate::error::SqlResultExt;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_service_keys.sql"),
    include_str!("../migrations/0003_developers.sql"),
];

/// Applies the migrations the database has not seen yet, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .db()?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > known {
        // Written by a newer release: its data may not mean what this build thinks it means.
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this build supports ({known})"
        )));
    }
    for (version, sql) in (1..).zip(MIGRATIONS).skip_while(|(v, _)| *v <= current) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        tx.execute_batch(sql).db()?;
        // `user_version` lives in the database header and commits with the migration.
        tx.pragma_update(None, "user_version", version).db()?;
        tx.commit().db()?;
        tracing::info!(version, "applied storage migration");
    }
    Ok(())
}
