-- The service's JWK Set (private keys included), sealed with the master key like client
-- secrets; NULL when the service has none.
ALTER TABLE services ADD COLUMN sealed_jwks TEXT;
