//! Errors inside the backend, and how they reach callers as [`StoreError`].

use castellan_store::StoreError;
use tokio_postgres::error::SqlState;

pub type PgResult<T> = Result<T, PgError>;

#[derive(Debug)]
pub enum PgError {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<StoreError> for PgError {
    fn from(e: StoreError) -> Self {
        PgError::Store(e)
    }
}

impl PgError {
    fn state(&self) -> Option<&SqlState> {
        match self {
            PgError::Db(e) => e.code(),
            PgError::Store(_) => None,
        }
    }

    /// The transaction lost a race the database could not order (serialization failure,
    /// deadlock) and may simply be run again. PostgreSQL's default isolation rarely says so;
    /// CockroachDB at its default SERIALIZABLE isolation often does.
    pub fn is_retryable(&self) -> bool {
        self.state().is_some_and(|s| {
            *s == SqlState::T_R_SERIALIZATION_FAILURE || *s == SqlState::T_R_DEADLOCK_DETECTED
        })
    }

    pub fn is_unique_violation(&self) -> bool {
        self.state() == Some(&SqlState::UNIQUE_VIOLATION)
    }

    /// The constraint a violation names, if any.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            PgError::Db(e) => e.as_db_error().and_then(|d| d.constraint()),
            PgError::Store(_) => None,
        }
    }

    pub fn into_store(self) -> StoreError {
        match self {
            PgError::Store(e) => e,
            PgError::Db(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                StoreError::Conflict(describe(&e))
            }
            PgError::Db(e) => StoreError::Backend(describe(&e)),
        }
    }
}

/// The server's own message when there is one; "unavailable" when the connection failed or
/// broke (`error connecting to server: Connection refused`); the driver's message otherwise.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("database error {}: {}", db.code().code(), db.message());
    }
    let cause = std::error::Error::source(e);
    let unreachable = e.is_closed() || cause.is_some_and(|c| c.is::<std::io::Error>());
    let what = if unreachable {
        "database unavailable"
    } else {
        "database error"
    };
    match cause {
        Some(cause) => format!("{what}: {e}: {cause}"),
        None => format!("{what}: {e}"),
    }
}
