//! Building the common reply envelope.

use std::fmt::Display;

use crate::enums::Action;
use crate::result_code::ResultCode;
use crate::wire::Envelope;

pub fn envelope(
    kind: &'static str,
    action: Action,
    code: ResultCode,
    args: &[&dyn Display],
    response_content: Option<String>,
) -> Envelope {
    Envelope {
        result_code: code.code,
        result_message: code.message(args),
        kind,
        action,
        response_content,
    }
}

/// An envelope carrying a message that was already rendered (an OAuth error's).
pub fn envelope_with_message(
    kind: &'static str,
    action: Action,
    code: ResultCode,
    message: String,
    response_content: Option<String>,
) -> Envelope {
    Envelope {
        result_code: code.code,
        result_message: message,
        kind,
        action,
        response_content,
    }
}
