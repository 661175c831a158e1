-- Developers of a service: they sign in to the Developer Console and manage the clients whose
-- `developer` is their login. `id` is "<service API key>:<login>".
CREATE TABLE IF NOT EXISTS developers (
    id              TEXT PRIMARY KEY,
    service_api_key BIGINT NOT NULL REFERENCES services (api_key) ON DELETE CASCADE,
    login           TEXT NOT NULL,
    display_name    TEXT,
    password_hash   TEXT NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    CONSTRAINT developers_login_unique UNIQUE (service_api_key, login)
);
