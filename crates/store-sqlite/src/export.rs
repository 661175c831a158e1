//! Whole-table export and import, for moving an installation between backends.

use castellan_store::StoreResult;
use castellan_store::export::{Cursor, Row, Table};
use rusqlite::{Connection, ToSql, params};

use crate::error::SqlResultExt;

pub fn export_rows(
    conn: &Connection,
    table: Table,
    after: &Cursor,
    limit: u32,
) -> StoreResult<Vec<Row>> {
    let (int, text) = (after.int(), after.text());
    let (sql, key): (&str, &dyn ToSql) = match table {
        Table::Meta => (
            "SELECT key, value FROM meta WHERE key > ?1 ORDER BY key LIMIT ?2",
            &text,
        ),
        Table::Counters => (
            "SELECT name, value FROM counters WHERE name > ?1 ORDER BY name LIMIT ?2",
            &text,
        ),
        Table::Owners => (
            "SELECT api_key, number, secret_hash FROM owners WHERE api_key > ?1 ORDER BY api_key LIMIT ?2",
            &int,
        ),
        Table::Services => (
            "SELECT api_key, number, owner_api_key, secret_hash, doc, sealed_jwks FROM services WHERE api_key > ?1 ORDER BY api_key LIMIT ?2",
            &int,
        ),
        Table::Clients => (
            "SELECT client_id, service_api_key, number, alias, developer, sealed_secret, doc FROM clients WHERE client_id > ?1 ORDER BY client_id LIMIT ?2",
            &int,
        ),
        Table::Tickets => (
            "SELECT hash, kind, service_api_key, data, expires_at FROM tickets WHERE hash > ?1 ORDER BY hash LIMIT ?2",
            &text,
        ),
        Table::Codes => (
            "SELECT hash, service_api_key, client_id, grant_id, used, expires_at, data FROM codes WHERE hash > ?1 ORDER BY hash LIMIT ?2",
            &text,
        ),
        Table::Tokens => (
            "SELECT access_hash, refresh_hash, service_api_key, client_id, subject, grant_id, access_expires_at, refresh_expires_at, dead_at, data FROM tokens WHERE access_hash > ?1 ORDER BY access_hash LIMIT ?2",
            &text,
        ),
        Table::RetiredRefresh => (
            "SELECT hash, service_api_key, client_id, grant_id, expires_at FROM retired_refresh WHERE hash > ?1 ORDER BY hash LIMIT ?2",
            &text,
        ),
    };
    let mut statement = conn.prepare_cached(sql).db()?;
    let rows = statement
        .query_map(params![key, limit], |r| {
            Ok(match table {
                Table::Meta => Row::Meta {
                    key: r.get(0)?,
                    value: r.get(1)?,
                },
                Table::Counters => Row::Counter {
                    name: r.get(0)?,
                    value: r.get(1)?,
                },
                Table::Owners => Row::Owner {
                    api_key: r.get(0)?,
                    number: r.get(1)?,
                    secret_hash: r.get(2)?,
                },
                Table::Services => Row::Service {
                    api_key: r.get(0)?,
                    number: r.get(1)?,
                    owner_api_key: r.get(2)?,
                    secret_hash: r.get(3)?,
                    doc: r.get(4)?,
                    sealed_jwks: r.get(5)?,
                },
                Table::Clients => Row::Client {
                    client_id: r.get(0)?,
                    service_api_key: r.get(1)?,
                    number: r.get(2)?,
                    alias: r.get(3)?,
                    developer: r.get(4)?,
                    sealed_secret: r.get(5)?,
                    doc: r.get(6)?,
                },
                Table::Tickets => Row::Ticket {
                    hash: r.get(0)?,
                    kind: r.get(1)?,
                    service_api_key: r.get(2)?,
                    data: r.get(3)?,
                    expires_at: r.get(4)?,
                },
                Table::Codes => Row::Code {
                    hash: r.get(0)?,
                    service_api_key: r.get(1)?,
                    client_id: r.get(2)?,
                    grant_id: r.get(3)?,
                    used: r.get(4)?,
                    expires_at: r.get(5)?,
                    data: r.get(6)?,
                },
                Table::Tokens => Row::Token {
                    access_hash: r.get(0)?,
                    refresh_hash: r.get(1)?,
                    service_api_key: r.get(2)?,
                    client_id: r.get(3)?,
                    subject: r.get(4)?,
                    grant_id: r.get(5)?,
                    access_expires_at: r.get(6)?,
                    refresh_expires_at: r.get(7)?,
                    dead_at: r.get(8)?,
                    data: r.get(9)?,
                },
                Table::RetiredRefresh => Row::RetiredRefresh {
                    hash: r.get(0)?,
                    service_api_key: r.get(1)?,
                    client_id: r.get(2)?,
                    grant_id: r.get(3)?,
                    expires_at: r.get(4)?,
                },
            })
        })
        .db()?;
    rows.collect::<rusqlite::Result<_>>().db()
}

pub fn import_rows(conn: &Connection, rows: &[Row]) -> StoreResult<()> {
    for row in rows {
        let (sql, values): (&str, Vec<&dyn ToSql>) = match row {
            Row::Meta { key, value } => (
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                vec![key, value],
            ),
            Row::Counter { name, value } => (
                "INSERT INTO counters (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                vec![name, value],
            ),
            Row::Owner {
                api_key,
                number,
                secret_hash,
            } => (
                "INSERT INTO owners (api_key, number, secret_hash) VALUES (?1, ?2, ?3)",
                vec![api_key, number, secret_hash],
            ),
            Row::Service {
                api_key,
                number,
                owner_api_key,
                secret_hash,
                doc,
                sealed_jwks,
            } => (
                "INSERT INTO services (api_key, number, owner_api_key, secret_hash, doc, sealed_jwks) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                vec![
                    api_key,
                    number,
                    owner_api_key,
                    secret_hash,
                    doc,
                    sealed_jwks,
                ],
            ),
            Row::Client {
                client_id,
                service_api_key,
                number,
                alias,
                developer,
                sealed_secret,
                doc,
            } => (
                "INSERT INTO clients (client_id, service_api_key, number, alias, developer, sealed_secret, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                vec![
                    client_id,
                    service_api_key,
                    number,
                    alias,
                    developer,
                    sealed_secret,
                    doc,
                ],
            ),
            Row::Ticket {
                hash,
                kind,
                service_api_key,
                data,
                expires_at,
            } => (
                "INSERT INTO tickets (hash, kind, service_api_key, data, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                vec![hash, kind, service_api_key, data, expires_at],
            ),
            Row::Code {
                hash,
                service_api_key,
                client_id,
                grant_id,
                used,
                expires_at,
                data,
            } => (
                "INSERT INTO codes (hash, service_api_key, client_id, grant_id, used, expires_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                vec![
                    hash,
                    service_api_key,
                    client_id,
                    grant_id,
                    used,
                    expires_at,
                    data,
                ],
            ),
            Row::Token {
                access_hash,
                refresh_hash,
                service_api_key,
                client_id,
                subject,
                grant_id,
                access_expires_at,
                refresh_expires_at,
                dead_at,
                data,
            } => (
                "INSERT INTO tokens (access_hash, refresh_hash, service_api_key, client_id, subject, grant_id, access_expires_at, refresh_expires_at, dead_at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                vec![
                    access_hash,
                    refresh_hash,
                    service_api_key,
                    client_id,
                    subject,
                    grant_id,
                    access_expires_at,
                    refresh_expires_at,
                    dead_at,
                    data,
                ],
            ),
            Row::RetiredRefresh {
                hash,
                service_api_key,
                client_id,
                grant_id,
                expires_at,
            } => (
                "INSERT INTO retired_refresh (hash, service_api_key, client_id, grant_id, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                vec![hash, service_api_key, client_id, grant_id, expires_at],
            ),
        };
        conn.prepare_cached(sql).db()?.execute(&values[..]).db()?;
    }
    Ok(())
}
