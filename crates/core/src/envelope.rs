//! Building the common reply envelope.

use std::fmt::Display;

use crate::enums::Action;
use crate::model::Service;
use crate::response::OAuthError;
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

/// An error reply whose `responseContent` is the error JSON: the OAuth `error`, the result code's
/// message as `error_description`, and its `error_uri` (each as the service's flags allow).
pub fn error_json_envelope(
    service: &Service,
    kind: &'static str,
    action: Action,
    error: &'static str,
    code: ResultCode,
    args: &[&dyn Display],
) -> Envelope {
    let err = OAuthError::new(error, code, args);
    let content = err.to_json(service);
    envelope_with_message(kind, action, code, err.message, Some(content))
}
