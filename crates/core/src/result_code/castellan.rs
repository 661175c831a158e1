//! Result codes Castellan allocates for checks Authlete's catalogue has no code for. They start
//! with `C`, so they never collide with one of Authlete's.

use super::ResultCode;

pub const C014401: ResultCode = ResultCode::new(
    "C014401",
    "The authorization request contains multiple 'id_token_hint' parameters.",
);
pub const C014402: ResultCode = ResultCode::new(
    "C014402",
    "The value of 'id_token_hint' is not an ID token issued by this service, or its signature cannot be verified.",
);
pub const C050101: ResultCode = ResultCode::new(
    "C050101",
    "The access token cannot be issued as a JWT: the service has no single key to sign it with '{Algorithm}'.",
);
pub const C000301: ResultCode = ResultCode::new(
    "C000301",
    "The value of '{Parameter}' lists more than {Max} values, or a value longer than {MaxLength} characters.",
);
pub const C013301: ResultCode = ResultCode::new(
    "C013301",
    "The value of 'state' contains control characters; only printable ASCII is allowed (RFC 6749 Appendix A.5).",
);
