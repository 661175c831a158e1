//! Writes a decision asks for. Values are raw here; the engine hashes them before storage.

use crate::records::{TokenRecord, TokenTicket};

#[derive(Debug)]
pub enum TokenWrite {
    /// Store a new token (with `exclusive`: replacing the subject's other tokens of the client).
    Insert {
        access: String,
        refresh: Option<String>,
        record: TokenRecord,
        exclusive: bool,
    },
    /// Mark the code used and store the token issued from it, atomically (with `exclusive`:
    /// replacing the subject's other tokens of the client).
    RedeemCode {
        code: String,
        access: String,
        refresh: Option<String>,
        record: TokenRecord,
        grant_id: String,
        exclusive: bool,
    },
    /// Replace the token holding `old_refresh`.
    Rotate {
        old_refresh: String,
        access: String,
        refresh: Option<String>,
        record: TokenRecord,
    },
    /// Store a password-grant ticket.
    PutTokenTicket { ticket: String, record: TokenTicket },
}
