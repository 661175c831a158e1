-- Records are kept as JSON (`doc`, `data`); the columns beside them are what the store looks
-- up, filters and enforces uniqueness on. Hashes are keyed hashes of secrets, never secrets.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The `number` shown for owners, services and clients: assigned once, never reused.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('owner', 0), ('service', 0), ('client', 0);

CREATE TABLE owners (
    api_key     INTEGER PRIMARY KEY,
    number      INTEGER NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL
);

CREATE TABLE services (
    api_key       INTEGER PRIMARY KEY,
    number        INTEGER NOT NULL UNIQUE,
    owner_api_key INTEGER NOT NULL,
    secret_hash   TEXT NOT NULL,
    doc           TEXT NOT NULL
);
CREATE INDEX services_owner ON services (owner_api_key, number);

CREATE TABLE clients (
    client_id       INTEGER PRIMARY KEY,
    service_api_key INTEGER NOT NULL REFERENCES services (api_key) ON DELETE CASCADE,
    number          INTEGER NOT NULL UNIQUE,
    alias           TEXT,
    developer       TEXT,
    sealed_secret   TEXT NOT NULL,
    doc             TEXT NOT NULL,
    UNIQUE (service_api_key, alias)
);
CREATE INDEX clients_service ON clients (service_api_key, number);

CREATE TABLE tickets (
    hash            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('authorization', 'token')),
    service_api_key INTEGER NOT NULL,
    data            TEXT NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX tickets_service ON tickets (service_api_key);
CREATE INDEX tickets_expiry ON tickets (expires_at);

CREATE TABLE codes (
    hash            TEXT PRIMARY KEY,
    service_api_key INTEGER NOT NULL,
    client_id       INTEGER NOT NULL,
    grant_id        TEXT NOT NULL,
    used            INTEGER NOT NULL DEFAULT 0,
    expires_at      INTEGER NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX codes_client ON codes (service_api_key, client_id);
CREATE INDEX codes_expiry ON codes (expires_at);

-- One row per access token, with its refresh token when one was issued.
CREATE TABLE tokens (
    id                 INTEGER PRIMARY KEY,
    access_hash        TEXT NOT NULL UNIQUE,
    refresh_hash       TEXT UNIQUE,
    service_api_key    INTEGER NOT NULL,
    client_id          INTEGER NOT NULL,
    subject            TEXT,
    grant_id           TEXT NOT NULL,
    access_expires_at  INTEGER NOT NULL,
    refresh_expires_at INTEGER NOT NULL,
    -- The later of the two expiries: after it the row serves nothing and may be purged.
    dead_at            INTEGER NOT NULL,
    data               TEXT NOT NULL
);
CREATE INDEX tokens_grant ON tokens (service_api_key, grant_id);
CREATE INDEX tokens_subject ON tokens (service_api_key, client_id, subject);
CREATE INDEX tokens_dead ON tokens (dead_at);

-- Refresh tokens rotated out, remembered until expiry so a replay can be recognised.
CREATE TABLE retired_refresh (
    hash            TEXT PRIMARY KEY,
    service_api_key INTEGER NOT NULL,
    client_id       INTEGER NOT NULL,
    grant_id        TEXT NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX retired_refresh_client ON retired_refresh (service_api_key, client_id);
CREATE INDEX retired_refresh_expiry ON retired_refresh (expires_at);
