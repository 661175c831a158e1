//! Rows as every backend stores them, for moving a whole installation from one backend to
//! another (`castellan export` / `castellan import`). Values are copied as stored: hashes stay
//! hashes and sealed secrets stay sealed, so the target must be opened with the same master key.

use serde::{Deserialize, Serialize};

use crate::StoreResult;

/// The tables in the order an import must follow (services before their clients).
pub const TABLES: [Table; 10] = [
    Table::Meta,
    Table::Counters,
    Table::Owners,
    Table::Services,
    Table::Clients,
    Table::Developers,
    Table::Tickets,
    Table::Codes,
    Table::Tokens,
    Table::RetiredRefresh,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Meta,
    Counters,
    Owners,
    Services,
    Clients,
    Developers,
    Tickets,
    Codes,
    Tokens,
    RetiredRefresh,
}

/// Where a page of an export starts: after the row with this key (tables are read in key
/// order, so a page never repeats or skips a row that stays put).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    Start,
    Int(i64),
    Text(String),
}

impl Cursor {
    /// The integer key to start after (`i64::MIN` from the start).
    pub fn int(&self) -> i64 {
        match self {
            Cursor::Int(key) => *key,
            _ => i64::MIN,
        }
    }

    /// The text key to start after (the empty string, which sorts first, from the start).
    pub fn text(&self) -> &str {
        match self {
            Cursor::Text(key) => key,
            _ => "",
        }
    }
}

/// One stored row, column for column. JSON documents (`doc`, `data`) are carried as the text
/// the store keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "table", rename_all = "snake_case")]
pub enum Row {
    Meta {
        key: String,
        value: String,
    },
    Counter {
        name: String,
        value: i64,
    },
    Owner {
        api_key: i64,
        number: i64,
        secret_hash: String,
    },
    Service {
        api_key: i64,
        number: i64,
        owner_api_key: i64,
        secret_hash: String,
        doc: String,
        sealed_jwks: Option<String>,
    },
    Client {
        client_id: i64,
        service_api_key: i64,
        number: i64,
        alias: Option<String>,
        developer: Option<String>,
        sealed_secret: String,
        doc: String,
    },
    Developer {
        service_api_key: i64,
        login: String,
        display_name: Option<String>,
        password_hash: String,
        disabled: bool,
        created_at: i64,
    },
    Ticket {
        hash: String,
        kind: String,
        service_api_key: i64,
        data: String,
        expires_at: i64,
    },
    Code {
        hash: String,
        service_api_key: i64,
        client_id: i64,
        grant_id: String,
        used: bool,
        expires_at: i64,
        data: String,
    },
    Token {
        access_hash: String,
        refresh_hash: Option<String>,
        service_api_key: i64,
        client_id: i64,
        subject: Option<String>,
        grant_id: String,
        access_expires_at: i64,
        refresh_expires_at: i64,
        dead_at: i64,
        data: String,
    },
    RetiredRefresh {
        hash: String,
        service_api_key: i64,
        client_id: i64,
        grant_id: String,
        expires_at: i64,
    },
}

impl Row {
    /// The cursor that continues an export after this row.
    pub fn cursor(&self) -> Cursor {
        match self {
            Row::Meta { key, .. } => Cursor::Text(key.clone()),
            Row::Counter { name, .. } => Cursor::Text(name.clone()),
            Row::Owner { api_key, .. } | Row::Service { api_key, .. } => Cursor::Int(*api_key),
            Row::Client { client_id, .. } => Cursor::Int(*client_id),
            Row::Developer {
                service_api_key,
                login,
                ..
            } => Cursor::Text(developer_id(*service_api_key, login)),
            Row::Ticket { hash, .. }
            | Row::Code { hash, .. }
            | Row::RetiredRefresh { hash, .. } => Cursor::Text(hash.clone()),
            Row::Token { access_hash, .. } => Cursor::Text(access_hash.clone()),
        }
    }
}

/// The key of a developer row: unique, and ordered for export paging.
pub fn developer_id(service_api_key: i64, login: &str) -> String {
    format!("{service_api_key}:{login}")
}

/// A column value on its way into a backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Int(i64),
    Text(&'a str),
    Owned(String),
    OptText(Option<&'a str>),
    Bool(bool),
}

/// Typed access to the columns of one result row, by position.
pub trait Columns {
    fn int(&self, index: usize) -> StoreResult<i64>;
    fn text(&self, index: usize) -> StoreResult<String>;
    fn opt_text(&self, index: usize) -> StoreResult<Option<String>>;
    fn boolean(&self, index: usize) -> StoreResult<bool>;
}

impl Table {
    /// A page of the table in key order: `$1` is the key to start after (see [`Table::int_key`]),
    /// `$2` the page size. The SQL both backends run.
    pub fn select_sql(self) -> &'static str {
        match self {
            Table::Meta => "SELECT key, value FROM meta WHERE key > $1 ORDER BY key LIMIT $2",
            Table::Counters => {
                "SELECT name, value FROM counters WHERE name > $1 ORDER BY name LIMIT $2"
            }
            Table::Owners => {
                "SELECT api_key, number, secret_hash FROM owners
                 WHERE api_key > $1 ORDER BY api_key LIMIT $2"
            }
            Table::Services => {
                "SELECT api_key, number, owner_api_key, secret_hash, doc, sealed_jwks FROM services
                 WHERE api_key > $1 ORDER BY api_key LIMIT $2"
            }
            Table::Clients => {
                "SELECT client_id, service_api_key, number, alias, developer, sealed_secret, doc
                 FROM clients WHERE client_id > $1 ORDER BY client_id LIMIT $2"
            }
            Table::Developers => {
                "SELECT service_api_key, login, display_name, password_hash, disabled, created_at
                 FROM developers WHERE id > $1 ORDER BY id LIMIT $2"
            }
            Table::Tickets => {
                "SELECT hash, kind, service_api_key, data, expires_at FROM tickets
                 WHERE hash > $1 ORDER BY hash LIMIT $2"
            }
            Table::Codes => {
                "SELECT hash, service_api_key, client_id, grant_id, used, expires_at, data
                 FROM codes WHERE hash > $1 ORDER BY hash LIMIT $2"
            }
            Table::Tokens => {
                "SELECT access_hash, refresh_hash, service_api_key, client_id, subject, grant_id,
                    access_expires_at, refresh_expires_at, dead_at, data
                 FROM tokens WHERE access_hash > $1 ORDER BY access_hash LIMIT $2"
            }
            Table::RetiredRefresh => {
                "SELECT hash, service_api_key, client_id, grant_id, expires_at FROM retired_refresh
                 WHERE hash > $1 ORDER BY hash LIMIT $2"
            }
        }
    }

    /// Whether the table's key is an integer (else text).
    pub fn int_key(self) -> bool {
        matches!(self, Table::Owners | Table::Services | Table::Clients)
    }
}

impl Row {
    /// The row of `table` in `columns`, as [`Table::select_sql`] lists them.
    pub fn read(table: Table, c: &impl Columns) -> StoreResult<Row> {
        Ok(match table {
            Table::Meta => Row::Meta {
                key: c.text(0)?,
                value: c.text(1)?,
            },
            Table::Counters => Row::Counter {
                name: c.text(0)?,
                value: c.int(1)?,
            },
            Table::Owners => Row::Owner {
                api_key: c.int(0)?,
                number: c.int(1)?,
                secret_hash: c.text(2)?,
            },
            Table::Services => Row::Service {
                api_key: c.int(0)?,
                number: c.int(1)?,
                owner_api_key: c.int(2)?,
                secret_hash: c.text(3)?,
                doc: c.text(4)?,
                sealed_jwks: c.opt_text(5)?,
            },
            Table::Clients => Row::Client {
                client_id: c.int(0)?,
                service_api_key: c.int(1)?,
                number: c.int(2)?,
                alias: c.opt_text(3)?,
                developer: c.opt_text(4)?,
                sealed_secret: c.text(5)?,
                doc: c.text(6)?,
            },
            Table::Developers => Row::Developer {
                service_api_key: c.int(0)?,
                login: c.text(1)?,
                display_name: c.opt_text(2)?,
                password_hash: c.text(3)?,
                disabled: c.boolean(4)?,
                created_at: c.int(5)?,
            },
            Table::Tickets => Row::Ticket {
                hash: c.text(0)?,
                kind: c.text(1)?,
                service_api_key: c.int(2)?,
                data: c.text(3)?,
                expires_at: c.int(4)?,
            },
            Table::Codes => Row::Code {
                hash: c.text(0)?,
                service_api_key: c.int(1)?,
                client_id: c.int(2)?,
                grant_id: c.text(3)?,
                used: c.boolean(4)?,
                expires_at: c.int(5)?,
                data: c.text(6)?,
            },
            Table::Tokens => Row::Token {
                access_hash: c.text(0)?,
                refresh_hash: c.opt_text(1)?,
                service_api_key: c.int(2)?,
                client_id: c.int(3)?,
                subject: c.opt_text(4)?,
                grant_id: c.text(5)?,
                access_expires_at: c.int(6)?,
                refresh_expires_at: c.int(7)?,
                dead_at: c.int(8)?,
                data: c.text(9)?,
            },
            Table::RetiredRefresh => Row::RetiredRefresh {
                hash: c.text(0)?,
                service_api_key: c.int(1)?,
                client_id: c.int(2)?,
                grant_id: c.text(3)?,
                expires_at: c.int(4)?,
            },
        })
    }

    /// The statement that stores this row as it is (counters and metadata are set, the rest
    /// inserted), and its values for `$1`, `$2`, ...
    pub fn insert(&self) -> (&'static str, Vec<Value<'_>>) {
        use Value::{Bool, Int, OptText, Owned, Text};
        match self {
            Row::Developer {
                service_api_key,
                login,
                display_name,
                password_hash,
                disabled,
                created_at,
            } => (
                "INSERT INTO developers
                    (id, service_api_key, login, display_name, password_hash, disabled, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    Owned(developer_id(*service_api_key, login)),
                    Int(*service_api_key),
                    Text(login),
                    OptText(display_name.as_deref()),
                    Text(password_hash),
                    Bool(*disabled),
                    Int(*created_at),
                ],
            ),
            Row::Meta { key, value } => (
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                vec![Text(key), Text(value)],
            ),
            Row::Counter { name, value } => (
                "INSERT INTO counters (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                vec![Text(name), Int(*value)],
            ),
            Row::Owner {
                api_key,
                number,
                secret_hash,
            } => (
                "INSERT INTO owners (api_key, number, secret_hash) VALUES ($1, $2, $3)",
                vec![Int(*api_key), Int(*number), Text(secret_hash)],
            ),
            Row::Service {
                api_key,
                number,
                owner_api_key,
                secret_hash,
                doc,
                sealed_jwks,
            } => (
                "INSERT INTO services (api_key, number, owner_api_key, secret_hash, doc, sealed_jwks)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                vec![
                    Int(*api_key),
                    Int(*number),
                    Int(*owner_api_key),
                    Text(secret_hash),
                    Text(doc),
                    OptText(sealed_jwks.as_deref()),
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
                "INSERT INTO clients
                    (client_id, service_api_key, number, alias, developer, sealed_secret, doc)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    Int(*client_id),
                    Int(*service_api_key),
                    Int(*number),
                    OptText(alias.as_deref()),
                    OptText(developer.as_deref()),
                    Text(sealed_secret),
                    Text(doc),
                ],
            ),
            Row::Ticket {
                hash,
                kind,
                service_api_key,
                data,
                expires_at,
            } => (
                "INSERT INTO tickets (hash, kind, service_api_key, data, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                vec![
                    Text(hash),
                    Text(kind),
                    Int(*service_api_key),
                    Text(data),
                    Int(*expires_at),
                ],
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
                "INSERT INTO codes
                    (hash, service_api_key, client_id, grant_id, used, expires_at, data)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    Text(hash),
                    Int(*service_api_key),
                    Int(*client_id),
                    Text(grant_id),
                    Bool(*used),
                    Int(*expires_at),
                    Text(data),
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
                "INSERT INTO tokens (access_hash, refresh_hash, service_api_key, client_id,
                    subject, grant_id, access_expires_at, refresh_expires_at, dead_at, data)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                vec![
                    Text(access_hash),
                    OptText(refresh_hash.as_deref()),
                    Int(*service_api_key),
                    Int(*client_id),
                    OptText(subject.as_deref()),
                    Text(grant_id),
                    Int(*access_expires_at),
                    Int(*refresh_expires_at),
                    Int(*dead_at),
                    Text(data),
                ],
            ),
            Row::RetiredRefresh {
                hash,
                service_api_key,
                client_id,
                grant_id,
                expires_at,
            } => (
                "INSERT INTO retired_refresh (hash, service_api_key, client_id, grant_id, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                vec![
                    Text(hash),
                    Int(*service_api_key),
                    Int(*client_id),
                    Text(grant_id),
                    Int(*expires_at),
                ],
            ),
        }
    }
}
