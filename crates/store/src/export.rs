//! Rows as every backend stores them, for moving a whole installation from one backend to
//! another (`castellan export` / `castellan import`). Values are copied as stored: hashes stay
//! hashes and sealed secrets stay sealed, so the target must be opened with the same master key.

use serde::{Deserialize, Serialize};

/// The tables in the order an import must follow (services before their clients).
pub const TABLES: [Table; 9] = [
    Table::Meta,
    Table::Counters,
    Table::Owners,
    Table::Services,
    Table::Clients,
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
            Row::Ticket { hash, .. }
            | Row::Code { hash, .. }
            | Row::RetiredRefresh { hash, .. } => Cursor::Text(hash.clone()),
            Row::Token { access_hash, .. } => Cursor::Text(access_hash.clone()),
        }
    }
}
