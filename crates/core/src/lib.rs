//! The protocol core of Castellan: parses, validates and decides every Authlete-compatible API
//! call, and builds the replies. No I/O and no async: the caller loads what is needed, passes
//! the current time and a source of randomness, and persists what the decision says.

pub mod enums;
pub mod model;
pub mod records;
pub mod result_code;
pub mod secret;
