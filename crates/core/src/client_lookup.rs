//! The outcome of resolving a `client_id` (numeric ID or alias) against storage.

use crate::model::Client;

#[derive(Clone, Debug)]
pub enum ClientLookup {
    Found {
        client: Box<Client>,
        alias_used: bool,
    },
    /// No client has that ID (nor alias, when aliases are enabled for the service).
    NotFound,
    /// A client has that alias, but its own alias switch is off.
    AliasNotEnabled,
}

/// How a client identifier should be looked up: the engine performs these in order.
pub fn identifier_as_id(identifier: &str) -> Option<i64> {
    if identifier.is_empty()
        || identifier.len() > 19
        || !identifier.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    identifier.parse().ok()
}
