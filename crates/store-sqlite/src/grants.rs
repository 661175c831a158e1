//! Tickets and authorization codes, and the purge of everything that expired.

use castellan_core::records::{AuthorizationCode, Millis, TicketKind};
use castellan_store::{Redemption, StoreResult, StoredCode, StoredTicket};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqlResultExt;
use crate::rows::{self, TokenRow, TokenRowSql, from_json};
use crate::tokens;

pub fn put_ticket(
    conn: &Connection,
    kind: TicketKind,
    hash: &str,
    service_api_key: i64,
    data: &str,
    expires_at: Millis,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO tickets (hash, kind, service_api_key, data, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .db()?
    .execute(params![
        hash,
        kind.as_str(),
        service_api_key,
        data,
        expires_at
    ])
    .db()?;
    Ok(())
}

/// A ticket from the columns `service_api_key, data, expires_at`.
fn ticket_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredTicket> {
    Ok(StoredTicket {
        service_api_key: row.get(0)?,
        data: row.get(1)?,
        expires_at: row.get(2)?,
    })
}

pub fn take_ticket(
    conn: &Connection,
    kind: TicketKind,
    hash: &str,
    service_api_key: i64,
) -> StoreResult<Option<StoredTicket>> {
    conn.prepare_cached(
        "DELETE FROM tickets WHERE hash = ?1 AND kind = ?2 AND service_api_key = ?3
         RETURNING service_api_key, data, expires_at",
    )
    .db()?
    .query_row(params![hash, kind.as_str(), service_api_key], ticket_row)
    .optional()
    .db()
}

pub fn get_ticket(
    conn: &Connection,
    kind: TicketKind,
    hash: &str,
    service_api_key: i64,
) -> StoreResult<Option<StoredTicket>> {
    conn.prepare_cached(
        "SELECT service_api_key, data, expires_at FROM tickets
         WHERE hash = ?1 AND kind = ?2 AND service_api_key = ?3",
    )
    .db()?
    .query_row(params![hash, kind.as_str(), service_api_key], ticket_row)
    .optional()
    .db()
}

/// Deletes the ticket and, if it was there, stores the code; `false` if it was gone.
pub fn use_ticket(
    conn: &Connection,
    kind: TicketKind,
    ticket_hash: &str,
    service_api_key: i64,
    code: Option<(&str, &AuthorizationCode, &str)>,
    token: Option<&TokenRow>,
) -> StoreResult<bool> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM tickets WHERE hash = ?1 AND kind = ?2 AND service_api_key = ?3",
        )
        .db()?
        .execute(params![ticket_hash, kind.as_str(), service_api_key])
        .db()?;
    if deleted == 0 {
        return Ok(false);
    }
    if let Some((hash, code, data)) = code {
        put_code(conn, hash, code, data)?;
    }
    if let Some(token) = token {
        token.insert(conn)?;
    }
    Ok(true)
}

pub fn put_code(
    conn: &Connection,
    hash: &str,
    code: &AuthorizationCode,
    data: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO codes (hash, service_api_key, client_id, grant_id, used, expires_at, data)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
    )
    .db()?
    .execute(params![
        hash,
        code.service_api_key,
        code.client_id,
        code.grant_id,
        code.expires_at,
        data,
    ])
    .db()?;
    Ok(())
}

pub fn get_code(conn: &Connection, hash: &str) -> StoreResult<Option<StoredCode>> {
    let row: Option<(String, bool)> = conn
        .prepare_cached("SELECT data, used FROM codes WHERE hash = ?1")
        .db()?
        .query_row([hash], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .db()?;
    row.map(|(data, used)| {
        Ok(StoredCode {
            code: from_json(&data)?,
            used,
        })
    })
    .transpose()
}

/// Marks the code used and stores the token; the conditional update is what makes exactly one
/// of several concurrent redemptions succeed.
pub fn redeem_code(
    conn: &Connection,
    hash: &str,
    token: &TokenRow,
    exclusive: bool,
) -> StoreResult<Redemption> {
    let claimed = conn
        .prepare_cached("UPDATE codes SET used = 1 WHERE hash = ?1 AND used = 0")
        .db()?
        .execute([hash])
        .db()?;
    if claimed == 1 {
        tokens::insert(conn, token, exclusive)?;
        return Ok(Redemption::Redeemed);
    }
    let exists: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM codes WHERE hash = ?1")
        .db()?
        .query_row([hash], |row| row.get(0))
        .optional()
        .db()?;
    Ok(match exists {
        Some(_) => Redemption::AlreadyUsed,
        None => Redemption::NotFound,
    })
}

/// Deletes at most `batch` expired rows in all, table after table.
pub fn purge_expired(conn: &Connection, now: Millis, batch: u32) -> StoreResult<u64> {
    const PURGES: [&str; 4] = [
        "DELETE FROM tickets WHERE rowid IN
            (SELECT rowid FROM tickets WHERE expires_at < ?1 LIMIT ?2)",
        "DELETE FROM codes WHERE rowid IN
            (SELECT rowid FROM codes WHERE expires_at < ?1 LIMIT ?2)",
        "DELETE FROM tokens WHERE id IN
            (SELECT id FROM tokens WHERE dead_at < ?1 LIMIT ?2)",
        "DELETE FROM retired_refresh WHERE rowid IN
            (SELECT rowid FROM retired_refresh WHERE expires_at < ?1 LIMIT ?2)",
    ];
    let mut left = i64::from(batch);
    for sql in PURGES {
        if left <= 0 {
            break;
        }
        let deleted = conn
            .prepare_cached(sql)
            .db()?
            .execute(params![now, left])
            .db()?;
        left -= i64::try_from(deleted).unwrap_or(i64::MAX);
    }
    Ok(rows::count(i64::from(batch) - left.max(0)))
}
