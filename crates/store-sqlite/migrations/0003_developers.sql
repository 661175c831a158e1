-- Developers of a service: they sign in to the Developer Console and manage the clients whose
-- `developer` is their login. `id` is "<service API key>:<login>".
CREATE TABLE developers (
    id              TEXT PRIMARY KEY,
    service_api_key INTEGER NOT NULL REFERENCES services (api_key) ON DELETE CASCADE,
    login           TEXT NOT NULL,
    display_name    TEXT,
    password_hash   TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (service_api_key, login)
);
