-- The PostgreSQL schema. It keeps to SQL that CockroachDB and YugabyteDB also run: BIGINT, TEXT
-- and BOOLEAN columns, plain indexes, no sequences, no advisory locks, no LISTEN/NOTIFY. Every
-- statement can run again (IF NOT EXISTS, ON CONFLICT), so a migration cut short on a database
-- without transactional DDL can simply be rerun.
-- Records are kept as JSON text (`doc`, `data`); the columns beside them are what the store
-- looks up, filters and enforces uniqueness on. Hashes are keyed hashes of secrets.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The `number` shown for owners, services and clients: assigned once, never reused.
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('owner', 0), ('service', 0), ('client', 0)
    ON CONFLICT (name) DO NOTHING;

CREATE TABLE IF NOT EXISTS owners (
    api_key     BIGINT PRIMARY KEY,
    number      BIGINT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS services (
    api_key       BIGINT PRIMARY KEY,
    number        BIGINT NOT NULL UNIQUE,
    owner_api_key BIGINT NOT NULL,
    secret_hash   TEXT NOT NULL,
    doc           TEXT NOT NULL,
    -- The JWK Set with private keys, sealed with the master key; NULL when there is none.
    sealed_jwks   TEXT
);
CREATE INDEX IF NOT EXISTS services_owner ON services (owner_api_key, number);

CREATE TABLE IF NOT EXISTS clients (
    client_id       BIGINT PRIMARY KEY,
    service_api_key BIGINT NOT NULL REFERENCES services (api_key) ON DELETE CASCADE,
    number          BIGINT NOT NULL UNIQUE,
    alias           TEXT,
    developer       TEXT,
    sealed_secret   TEXT NOT NULL,
    doc             TEXT NOT NULL,
    CONSTRAINT clients_alias_unique UNIQUE (service_api_key, alias)
);
CREATE INDEX IF NOT EXISTS clients_service ON clients (service_api_key, number);

CREATE TABLE IF NOT EXISTS tickets (
    hash            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('authorization', 'token')),
    service_api_key BIGINT NOT NULL,
    data            TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_service ON tickets (service_api_key);
CREATE INDEX IF NOT EXISTS tickets_expiry ON tickets (expires_at);

CREATE TABLE IF NOT EXISTS codes (
    hash            TEXT PRIMARY KEY,
    service_api_key BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    grant_id        TEXT NOT NULL,
    used            BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at      BIGINT NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS codes_client ON codes (service_api_key, client_id);
CREATE INDEX IF NOT EXISTS codes_expiry ON codes (expires_at);

-- One row per access token, with its refresh token when one was issued.
CREATE TABLE IF NOT EXISTS tokens (
    access_hash        TEXT PRIMARY KEY,
    refresh_hash       TEXT UNIQUE,
    service_api_key    BIGINT NOT NULL,
    client_id          BIGINT NOT NULL,
    subject            TEXT,
    grant_id           TEXT NOT NULL,
    access_expires_at  BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    -- The later of the two expiries: after it the row serves nothing and may be purged.
    dead_at            BIGINT NOT NULL,
    data               TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_grant ON tokens (service_api_key, grant_id);
CREATE INDEX IF NOT EXISTS tokens_subject ON tokens (service_api_key, client_id, subject);
CREATE INDEX IF NOT EXISTS tokens_dead ON tokens (dead_at);

-- Refresh tokens rotated out, remembered until expiry so a replay can be recognised.
CREATE TABLE IF NOT EXISTS retired_refresh (
    hash            TEXT PRIMARY KEY,
    service_api_key BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    grant_id        TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS retired_refresh_client ON retired_refresh (service_api_key, client_id);
CREATE INDEX IF NOT EXISTS retired_refresh_expiry ON retired_refresh (expires_at);
