//! The protocol core of Castellan: parses, validates and decides every Authlete-compatible API
//! call, and builds the replies. No I/O and no async: the caller loads what is needed, passes
//! the current time and a source of randomness, and persists what the decision says.

pub mod authorization;
pub mod authorization_issue;
pub mod claims;
pub mod client_lookup;
pub mod discovery;
pub mod enums;
pub mod envelope;
pub mod id_token;
pub mod introspection;
pub mod jose;
pub mod jwt_access_token;
pub mod model;
pub mod params;
pub mod records;
pub mod redirect;
pub mod response;
pub mod result_code;
pub mod revocation;
pub mod secret;
pub mod store_ops;
pub mod token;
pub mod userinfo;
pub mod wire;
