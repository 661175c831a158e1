//! A small pool of read connections. Point lookups take microseconds, so they run inline on
//! the calling task; WAL mode lets them proceed while the writer commits.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use castellan_store::StoreResult;
use rusqlite::Connection;

use crate::connection::open_reader;

/// Idle connections kept for reuse; more are opened when needed and closed when returned.
const MAX_IDLE: usize = 4;

pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub fn new(path: PathBuf) -> StoreResult<Self> {
        let first = open_reader(&path)?;
        Ok(Self {
            path,
            idle: Mutex::new(vec![first]),
        })
    }

    /// Runs `f` with a read connection from the pool.
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let reused = self.idle().pop();
        let mut conn = match reused {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = f(&mut conn);
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        result
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        // The guarded Vec is valid whatever a panicking holder was doing.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
