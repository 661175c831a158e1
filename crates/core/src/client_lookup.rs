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

/// The numeric ID a client identifier (or an API key) names: only the canonical decimal form
/// (digits, no sign, no leading zero), so "0123" and "+123" never name the same client or
/// service as "123".
pub fn identifier_as_id(identifier: &str) -> Option<i64> {
    if identifier.is_empty()
        || identifier.len() > 19
        || identifier.starts_with('0')
        || !identifier.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    identifier.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::identifier_as_id;

    #[test]
    fn only_canonical_decimal_ids() {
        assert_eq!(identifier_as_id("123"), Some(123));
        assert_eq!(identifier_as_id("9223372036854775807"), Some(i64::MAX));
        for other in [
            "",
            "0",
            "0123",
            "+123",
            "-123",
            " 123",
            "123 ",
            "1e3",
            "9223372036854775808",
            "12345678901234567890",
            "１２３",
        ] {
            assert_eq!(identifier_as_id(other), None, "{other:?}");
        }
    }
}
