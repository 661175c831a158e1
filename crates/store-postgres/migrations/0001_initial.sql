-- The PostgreSQL schema. It keeps to SQL that CockroachDB and YugabyteDB also run: BIGINT, TEXT
-- and BOOLEAN columns, plain indexes, no sequences, no advisory locks, no LISTEN/NOTIFY.
-- Records are kept as JSON text (`doc`, `data`); the columns beside them are what the store
-- looks up, filters and enforces uniqueness on. Hashes are keyed hashes of secrets.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The `number` shown for owners, services and clients: assigned once, never reused.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('owner', 0), ('service', 0), ('client', 0);

CREATE TABLE owners (
    api_key     BIGINT PRIMARY KEY,
    number      BIGINT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL
);

CREATE TABLE services (
    api_key       BIGINT PRIMARY KEY,
    number        BIGINT NOT NULL UNIQUE,
    owner_api_key BIGINT NOT NULL,
    secret_hash   TEXT NOT NULL,
    doc           TEXT NOT NULL,
    -- The JWK Set with private keys, sealed with the master key; NULL when there is none.
    sealed_jwks   TEXT
);
CREATE INDEX services_owner ON services (owner_api_key, number);

CREATE TABLE clients (
    client_id       BIGINT PRIMARY KEY,
    service_api_key BIGINT NOT NULL REFERENCES services (api_key) ON DELETE CASCADE,
    number          BIGINT NOT NULL UNIQUE,
    alias           TEXT,
    developer       TEXT,
    sealed_secret   TEXT NOT NULL,
    doc             TEXT NOT NULL,
    CONSTRAINT clients_alias_unique UNIQUE (service_api_key, alias)
);
CREATE INDEX clients_service ON clients (service_api_key, number);

CREATE TABLE tickets (
    hash            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('authorization', 'token')),
    service_api_key BIGINT NOT NULL,
    data            TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX tickets_service ON tickets (service_api_key);
CREATE INDEX tickets_expiry ON tickets (expires_at);

CREATE TABLE codes (
    hash            TEXT PRIMARY KEY,
    service_api_key BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    grant_id        TEXT NOT NULL,
    used            BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at      BIGINT NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX codes_client ON codes (service_api_key, client_id);
CREATE INDEX codes_expiry ON codes (expires_at);

-- One row per access token, with its refresh token when one was issued.
CREATE TABLE tokens (
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
CREATE INDEX tokens_grant ON tokens (service_api_key, grant_id);
CREATE INDEX tokens_subject ON tokens (service_api_key, client_id, subject);
CREATE INDEX tokens_dead ON tokens (dead_at);

-- Refresh tokens rotated out, remembered until expiry so a replay can be recognised.
CREATE TABLE retired_refresh (
    hash            TEXT PRIMARY KEY,
    service_api_key BIGINT NOT NULL,
    client_id       BIGINT NOT NULL,
    grant_id        TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX retired_refresh_client ON retired_refresh (service_api_key, client_id);
CREATE INDEX retired_refresh_expiry ON retired_refresh (expires_at);
