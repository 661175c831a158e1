//! Records ↔ rows: each record is stored as JSON beside the columns the store queries by.

use castellan_core::secret::SecretHash;
use castellan_store::StoreResult;
use rusqlite::{Connection, ToSql};

use crate::error::SqlResultExt;

pub use castellan_store::codec::{TokenRow, count, from_json, number, page, to_json, window};

pub fn hash(stored: String) -> SecretHash {
    SecretHash::from_stored(stored)
}

/// Binding a [`TokenRow`] to SQLite statements.
pub trait TokenRowSql {
    fn params(&self) -> [&dyn ToSql; 10];
    fn insert(&self, conn: &Connection) -> StoreResult<()>;
}

impl TokenRowSql for TokenRow {
    /// Values for `?1`..`?10`, in the column order of [`TokenRowSql::insert`].
    fn params(&self) -> [&dyn ToSql; 10] {
        [
            &self.access_hash,
            &self.refresh_hash,
            &self.service_api_key,
            &self.client_id,
            &self.subject,
            &self.grant_id,
            &self.access_expires_at,
            &self.refresh_expires_at,
            &self.dead_at,
            &self.data,
        ]
    }

    fn insert(&self, conn: &Connection) -> StoreResult<()> {
        conn.prepare_cached(
            "INSERT INTO tokens (access_hash, refresh_hash, service_api_key, client_id, subject,
                grant_id, access_expires_at, refresh_expires_at, dead_at, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .db()?
        .execute(&self.params()[..])
        .db()?;
        Ok(())
    }
}
