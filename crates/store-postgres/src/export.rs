//! Whole-table export and import, for moving an installation between backends.

use castellan_store::export::{Cursor, Row, Table};
use deadpool_postgres::{GenericClient, Transaction};

use crate::error::PgResult;
use crate::sql::{self, col};

pub async fn export_rows(
    c: &impl GenericClient,
    table: Table,
    after: &Cursor,
    limit: u32,
) -> PgResult<Vec<Row>> {
    let limit = i64::from(limit);
    let (int, text) = (after.int(), after.text());
    let rows = match table {
        Table::Meta => sql::query(c, "SELECT key, value FROM meta WHERE key > $1 ORDER BY key LIMIT $2", &[&text, &limit]).await?,
        Table::Counters => sql::query(c, "SELECT name, value FROM counters WHERE name > $1 ORDER BY name LIMIT $2", &[&text, &limit]).await?,
        Table::Owners => sql::query(c, "SELECT api_key, number, secret_hash FROM owners WHERE api_key > $1 ORDER BY api_key LIMIT $2", &[&int, &limit]).await?,
        Table::Services => sql::query(c, "SELECT api_key, number, owner_api_key, secret_hash, doc, sealed_jwks FROM services WHERE api_key > $1 ORDER BY api_key LIMIT $2", &[&int, &limit]).await?,
        Table::Clients => sql::query(c, "SELECT client_id, service_api_key, number, alias, developer, sealed_secret, doc FROM clients WHERE client_id > $1 ORDER BY client_id LIMIT $2", &[&int, &limit]).await?,
        Table::Tickets => sql::query(c, "SELECT hash, kind, service_api_key, data, expires_at FROM tickets WHERE hash > $1 ORDER BY hash LIMIT $2", &[&text, &limit]).await?,
        Table::Codes => sql::query(c, "SELECT hash, service_api_key, client_id, grant_id, used, expires_at, data FROM codes WHERE hash > $1 ORDER BY hash LIMIT $2", &[&text, &limit]).await?,
        Table::Tokens => sql::query(c, "SELECT access_hash, refresh_hash, service_api_key, client_id, subject, grant_id, access_expires_at, refresh_expires_at, dead_at, data FROM tokens WHERE access_hash > $1 ORDER BY access_hash LIMIT $2", &[&text, &limit]).await?,
        Table::RetiredRefresh => sql::query(c, "SELECT hash, service_api_key, client_id, grant_id, expires_at FROM retired_refresh WHERE hash > $1 ORDER BY hash LIMIT $2", &[&text, &limit]).await?,
    };
    rows.iter()
        .map(|r| {
            Ok(match table {
                Table::Meta => Row::Meta {
                    key: col(r, 0)?,
                    value: col(r, 1)?,
                },
                Table::Counters => Row::Counter {
                    name: col(r, 0)?,
                    value: col(r, 1)?,
                },
                Table::Owners => Row::Owner {
                    api_key: col(r, 0)?,
                    number: col(r, 1)?,
                    secret_hash: col(r, 2)?,
                },
                Table::Services => Row::Service {
                    api_key: col(r, 0)?,
                    number: col(r, 1)?,
                    owner_api_key: col(r, 2)?,
                    secret_hash: col(r, 3)?,
                    doc: col(r, 4)?,
                    sealed_jwks: col(r, 5)?,
                },
                Table::Clients => Row::Client {
                    client_id: col(r, 0)?,
                    service_api_key: col(r, 1)?,
                    number: col(r, 2)?,
                    alias: col(r, 3)?,
                    developer: col(r, 4)?,
                    sealed_secret: col(r, 5)?,
                    doc: col(r, 6)?,
                },
                Table::Tickets => Row::Ticket {
                    hash: col(r, 0)?,
                    kind: col(r, 1)?,
                    service_api_key: col(r, 2)?,
                    data: col(r, 3)?,
                    expires_at: col(r, 4)?,
                },
                Table::Codes => Row::Code {
                    hash: col(r, 0)?,
                    service_api_key: col(r, 1)?,
                    client_id: col(r, 2)?,
                    grant_id: col(r, 3)?,
                    used: col(r, 4)?,
                    expires_at: col(r, 5)?,
                    data: col(r, 6)?,
                },
                Table::Tokens => Row::Token {
                    access_hash: col(r, 0)?,
                    refresh_hash: col(r, 1)?,
                    service_api_key: col(r, 2)?,
                    client_id: col(r, 3)?,
                    subject: col(r, 4)?,
                    grant_id: col(r, 5)?,
                    access_expires_at: col(r, 6)?,
                    refresh_expires_at: col(r, 7)?,
                    dead_at: col(r, 8)?,
                    data: col(r, 9)?,
                },
                Table::RetiredRefresh => Row::RetiredRefresh {
                    hash: col(r, 0)?,
                    service_api_key: col(r, 1)?,
                    client_id: col(r, 2)?,
                    grant_id: col(r, 3)?,
                    expires_at: col(r, 4)?,
                },
            })
        })
        .collect()
}

pub async fn import_rows(tx: &Transaction<'_>, rows: &[Row]) -> PgResult<()> {
    for row in rows {
        match row {
            Row::Meta { key, value } => {
                crate::services::meta_set(tx, key, value).await?;
            }
            Row::Counter { name, value } => {
                sql::execute(tx, "INSERT INTO counters (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", &[name, value]).await?;
            }
            Row::Owner {
                api_key,
                number,
                secret_hash,
            } => {
                sql::execute(
                    tx,
                    "INSERT INTO owners (api_key, number, secret_hash) VALUES ($1, $2, $3)",
                    &[api_key, number, secret_hash],
                )
                .await?;
            }
            Row::Service {
                api_key,
                number,
                owner_api_key,
                secret_hash,
                doc,
                sealed_jwks,
            } => {
                sql::execute(tx, "INSERT INTO services (api_key, number, owner_api_key, secret_hash, doc, sealed_jwks) VALUES ($1, $2, $3, $4, $5, $6)", &[api_key, number, owner_api_key, secret_hash, doc, sealed_jwks]).await?;
            }
            Row::Client {
                client_id,
                service_api_key,
                number,
                alias,
                developer,
                sealed_secret,
                doc,
            } => {
                sql::execute(tx, "INSERT INTO clients (client_id, service_api_key, number, alias, developer, sealed_secret, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)", &[client_id, service_api_key, number, alias, developer, sealed_secret, doc]).await?;
            }
            Row::Ticket {
                hash,
                kind,
                service_api_key,
                data,
                expires_at,
            } => {
                sql::execute(tx, "INSERT INTO tickets (hash, kind, service_api_key, data, expires_at) VALUES ($1, $2, $3, $4, $5)", &[hash, kind, service_api_key, data, expires_at]).await?;
            }
            Row::Code {
                hash,
                service_api_key,
                client_id,
                grant_id,
                used,
                expires_at,
                data,
            } => {
                sql::execute(tx, "INSERT INTO codes (hash, service_api_key, client_id, grant_id, used, expires_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)", &[hash, service_api_key, client_id, grant_id, used, expires_at, data]).await?;
            }
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
            } => {
                sql::execute(tx, "INSERT INTO tokens (access_hash, refresh_hash, service_api_key, client_id, subject, grant_id, access_expires_at, refresh_expires_at, dead_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", &[access_hash, refresh_hash, service_api_key, client_id, subject, grant_id, access_expires_at, refresh_expires_at, dead_at, data]).await?;
            }
            Row::RetiredRefresh {
                hash,
                service_api_key,
                client_id,
                grant_id,
                expires_at,
            } => {
                sql::execute(tx, "INSERT INTO retired_refresh (hash, service_api_key, client_id, grant_id, expires_at) VALUES ($1, $2, $3, $4, $5)", &[hash, service_api_key, client_id, grant_id, expires_at]).await?;
            }
        }
    }
    Ok(())
}
