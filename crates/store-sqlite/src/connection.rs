//! Opening connections with the settings every connection needs.

use std::path::Path;
use std::time::Duration;

use castellan_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

use crate::error::SqlResultExt;

/// How long a connection waits for a lock held by another connection (or process).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Distinct statements each connection keeps prepared.
const STATEMENT_CACHE: usize = 64;

/// The read-write connection the writer owns.
pub fn open_writer(path: &Path) -> StoreResult<Connection> {
    let conn = open(path)?;
    // WAL lets readers proceed during a write; `FULL` syncs the log on every commit, so a
    // committed write survives power loss, not only a crash of this process.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .db()?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "cannot use write-ahead logging (journal mode is {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL").db()?;
    conn.pragma_update(None, "foreign_keys", "ON").db()?;
    // The writer checkpoints between batches itself (see `writer`), after replying, so no
    // commit waits for one.
    conn.pragma_update(None, "wal_autocheckpoint", 0).db()?;
    // Keep the log file from staying large after a burst of writes.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .db()?;
    Ok(conn)
}

/// A connection for the read pool; it refuses writes so a mistake cannot bypass the writer.
pub fn open_reader(path: &Path) -> StoreResult<Connection> {
    let conn = open(path)?;
    conn.pragma_update(None, "query_only", "ON").db()?;
    Ok(conn)
}

fn open(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        StoreError::Backend(format!("cannot open database {}: {e}", path.display()))
    })?;
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}
