//! Tickets and authorization codes, and the purge of everything that expired.

use castellan_core::records::{AuthorizationCode, Millis, TicketKind};
use castellan_store::codec::{TokenRow, from_json};
use castellan_store::{Redemption, StoredCode, StoredTicket};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use crate::error::PgResult;
use crate::sql::{self, col};
use crate::tokens;

pub async fn put_ticket(
    c: &impl GenericClient,
    kind: TicketKind,
    hash: &str,
    service_api_key: i64,
    data: &str,
    expires_at: Millis,
) -> PgResult<()> {
    sql::execute(
        c,
        "INSERT INTO tickets (hash, kind, service_api_key, data, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&hash, &kind.as_str(), &service_api_key, &data, &expires_at],
    )
    .await?;
    Ok(())
}

/// A ticket from the columns `service_api_key, data, expires_at`.
fn ticket_row(row: &Row) -> PgResult<StoredTicket> {
    Ok(StoredTicket {
        service_api_key: col(row, 0)?,
        data: col(row, 1)?,
        expires_at: col(row, 2)?,
    })
}

/// One statement: of concurrent takers on any node, only the one whose delete removed the row
/// gets it back.
pub async fn take_ticket(
    c: &impl GenericClient,
    kind: TicketKind,
    hash: &str,
    service_api_key: i64,
) -> PgResult<Option<StoredTicket>> {
    let row = sql::query_opt(
        c,
        "DELETE FROM tickets WHERE hash = $1 AND kind = $2 AND service_api_key = $3
         RETURNING service_api_key, data, expires_at",
        &[&hash, &kind.as_str(), &service_api_key],
    )
    .await?;
    row.as_ref().map(ticket_row).transpose()
}

pub async fn get_ticket(
    c: &impl GenericClient,
    kind: TicketKind,
    hash: &str,
    service_api_key: i64,
) -> PgResult<Option<StoredTicket>> {
    let row = sql::query_opt(
        c,
        "SELECT service_api_key, data, expires_at FROM tickets
         WHERE hash = $1 AND kind = $2 AND service_api_key = $3",
        &[&hash, &kind.as_str(), &service_api_key],
    )
    .await?;
    row.as_ref().map(ticket_row).transpose()
}

/// Deletes the ticket and, if this transaction's delete removed it, stores what it issued;
/// `false` if it was gone. A concurrent delete of the same row waits for this transaction
/// and then finds nothing to delete.
pub async fn use_ticket(
    tx: &Transaction<'_>,
    kind: TicketKind,
    ticket_hash: &str,
    service_api_key: i64,
    code: Option<(&str, &AuthorizationCode, &str)>,
    token: Option<&TokenRow>,
) -> PgResult<bool> {
    let deleted = sql::execute(
        tx,
        "DELETE FROM tickets WHERE hash = $1 AND kind = $2 AND service_api_key = $3",
        &[&ticket_hash, &kind.as_str(), &service_api_key],
    )
    .await?;
    if deleted == 0 {
        return Ok(false);
    }
    if let Some((hash, code, data)) = code {
        put_code(tx, hash, code, data).await?;
    }
    if let Some(token) = token {
        tokens::insert_row(tx, token).await?;
    }
    Ok(true)
}

pub async fn put_code(
    c: &impl GenericClient,
    hash: &str,
    code: &AuthorizationCode,
    data: &str,
) -> PgResult<()> {
    sql::execute(
        c,
        "INSERT INTO codes (hash, service_api_key, client_id, grant_id, used, expires_at, data)
         VALUES ($1, $2, $3, $4, FALSE, $5, $6)",
        &[
            &hash,
            &code.service_api_key,
            &code.client_id,
            &code.grant_id,
            &code.expires_at,
            &data,
        ],
    )
    .await?;
    Ok(())
}

pub async fn get_code(c: &impl GenericClient, hash: &str) -> PgResult<Option<StoredCode>> {
    let Some(row) =
        sql::query_opt(c, "SELECT data, used FROM codes WHERE hash = $1", &[&hash]).await?
    else {
        return Ok(None);
    };
    let data: &str = col(&row, 0)?;
    Ok(Some(StoredCode {
        code: from_json(data)?,
        used: col(&row, 1)?,
    }))
}

/// Marks the code used and stores the token. The conditional update is what makes exactly one
/// of several concurrent redemptions succeed, whichever nodes they run on: the others wait on
/// the row lock, then see `used` already set.
pub async fn redeem_code(
    tx: &Transaction<'_>,
    hash: &str,
    token: &TokenRow,
    exclusive: bool,
) -> PgResult<Redemption> {
    let claimed = sql::execute(
        tx,
        "UPDATE codes SET used = TRUE WHERE hash = $1 AND used = FALSE",
        &[&hash],
    )
    .await?;
    if claimed == 1 {
        tokens::insert(tx, token, exclusive).await?;
        return Ok(Redemption::Redeemed);
    }
    let exists = sql::query_opt(tx, "SELECT 1 FROM codes WHERE hash = $1", &[&hash]).await?;
    Ok(match exists {
        Some(_) => Redemption::AlreadyUsed,
        None => Redemption::NotFound,
    })
}

/// Deletes at most `batch` expired rows in all, table after table. Several nodes may purge at
/// once: each delete only removes rows that are still there.
pub async fn purge_expired(c: &impl GenericClient, now: Millis, batch: u32) -> PgResult<u64> {
    const PURGES: [&str; 4] = [
        "DELETE FROM tickets WHERE hash IN
            (SELECT hash FROM tickets WHERE expires_at < $1 LIMIT $2)",
        "DELETE FROM codes WHERE hash IN
            (SELECT hash FROM codes WHERE expires_at < $1 LIMIT $2)",
        "DELETE FROM tokens WHERE access_hash IN
            (SELECT access_hash FROM tokens WHERE dead_at < $1 LIMIT $2)",
        "DELETE FROM retired_refresh WHERE hash IN
            (SELECT hash FROM retired_refresh WHERE expires_at < $1 LIMIT $2)",
    ];
    let mut left = u64::from(batch);
    for statement in PURGES {
        if left == 0 {
            break;
        }
        let limit = i64::try_from(left).unwrap_or(i64::MAX);
        let deleted = sql::execute(c, statement, &[&now, &limit]).await?;
        left = left.saturating_sub(deleted);
    }
    Ok(u64::from(batch) - left)
}
