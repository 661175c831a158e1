//! Embedded migrations, safe when several nodes start at once.
//!
//! Each migration runs in a transaction that first claims its version in `castellan_schema`;
//! a node starting alongside another blocks on that row until the first commits, then finds the
//! version taken and skips the migration. Row locks only: no advisory locks, which CockroachDB
//! and YugabyteDB do not provide as PostgreSQL does.

use castellan_store::StoreError;
use deadpool_postgres::Object;
use tokio_postgres::error::SqlState;

use crate::error::{PgError, PgResult};
use crate::sql;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (
        2,
        "developers",
        include_str!("../migrations/0002_developers.sql"),
    ),
];

/// The schema version this build writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to date; returns the versions applied by this call.
pub async fn migrate(conn: &mut Object) -> PgResult<Vec<i64>> {
    create_version_table(conn).await?;
    let newest: Option<i64> = sql::col(
        &sql::query_one(&*conn, "SELECT MAX(version) FROM castellan_schema", &[]).await?,
        0,
    )?;
    if let Some(newest) = newest.filter(|v| *v > CURRENT_VERSION) {
        // Written by a newer release: its data may not mean what this build thinks it means.
        return Err(StoreError::Backend(format!(
            "database schema version {newest} is newer than this build supports ({CURRENT_VERSION})"
        ))
        .into());
    }
    let mut applied = Vec::new();
    for (version, name, script) in MIGRATIONS {
        let tx = conn.transaction().await?;
        let claimed = sql::execute(
            &tx,
            "INSERT INTO castellan_schema (version, name, applied_at)
             VALUES ($1, $2, (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT)
             ON CONFLICT (version) DO NOTHING",
            &[version, name],
        )
        .await?;
        if claimed == 0 {
            tx.rollback().await?;
            continue;
        }
        tx.batch_execute(script).await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied storage migration");
        applied.push(*version);
    }
    Ok(applied)
}

/// `CREATE TABLE IF NOT EXISTS` can still collide when two nodes run it at the same instant
/// (PostgreSQL checks the catalogue before it locks it, and reports the clash as a duplicate
/// table, type or catalogue key); the loser retries and finds the table.
async fn create_version_table(conn: &Object) -> PgResult<()> {
    const CREATE: &str = "CREATE TABLE IF NOT EXISTS castellan_schema (
        version    BIGINT PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at BIGINT NOT NULL
    )";
    let mut attempts = 0;
    loop {
        match conn.batch_execute(CREATE).await {
            Ok(()) => return Ok(()),
            Err(e)
                if attempts < 3
                    && e.code().is_some_and(|c| {
                        *c == SqlState::UNIQUE_VIOLATION
                            || *c == SqlState::DUPLICATE_TABLE
                            || *c == SqlState::DUPLICATE_OBJECT
                    }) =>
            {
                attempts += 1;
            }
            Err(e) => return Err(PgError::Db(e)),
        }
    }
}
