//! The single writer: one thread owns the read-write connection and commits queued operations
//! in groups. Concurrent writes share one transaction and so one fsync, and operations that
//! check then change (redeeming a code, rotating a refresh token) are serialised for free.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use castellan_store::{StoreError, StoreResult};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

/// Most operations committed together: bounds the latency a batch adds to its first operation.
const MAX_BATCH: usize = 512;

/// A queued operation and, once it has run, its result awaiting the commit.
trait Op: Send {
    /// Runs the operation inside the batch transaction; `false` if it failed.
    fn apply(&mut self, tx: &Transaction<'_>) -> bool;
    /// Replies to the caller: the operation's result, or `batch_error` if the batch did not
    /// commit (then nothing the operation did was kept).
    fn deliver(self: Box<Self>, batch_error: Option<&str>);
}

struct Pending<F, T> {
    op: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<F, T> Op for Pending<F, T>
where
    F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send,
    T: Send,
{
    fn apply(&mut self, tx: &Transaction<'_>) -> bool {
        let result = match self.op.take() {
            Some(op) => op(tx),
            None => Err(StoreError::Backend("write operation ran twice".into())),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn deliver(self: Box<Self>, batch_error: Option<&str>) {
        let result = match (batch_error, self.result) {
            (Some(e), _) => Err(StoreError::Backend(format!("write not committed: {e}"))),
            (None, Some(result)) => result,
            (None, None) => Err(StoreError::Backend("write operation did not run".into())),
        };
        // A caller that went away (cancelled request) needs no reply; the write stands.
        let _ = self.reply.send(result);
    }
}

/// Handle to the writer thread. Dropping it lets queued work commit, then stops the thread.
pub struct Writer {
    queue: Option<mpsc::Sender<Box<dyn Op>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(conn: Connection) -> StoreResult<Self> {
        let (queue, jobs) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("castellan-sqlite-writer".into())
            .spawn(move || write_loop(conn, jobs))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Runs `op` in the next batch and returns its result once the batch is durable.
    pub async fn run<F, T>(&self, op: F) -> StoreResult<T>
    where
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending: Box<dyn Op> = Box::new(Pending {
            op: Some(op),
            result: None,
            reply,
        });
        self.queue
            .as_ref()
            .ok_or_else(stopped)?
            .send(pending)
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the loop after the work already queued.
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the storage writer has stopped".into())
}

/// The writer checkpoints after this many operations (a few thousand log pages: a page written
/// many times between checkpoints is copied once), or this long after the last checkpoint
/// when anything was written since.
const CHECKPOINT_AFTER_OPS: usize = 1024;
const CHECKPOINT_AFTER: Duration = Duration::from_secs(1);

fn write_loop(mut conn: Connection, jobs: mpsc::Receiver<Box<dyn Op>>) {
    let mut ops_since_checkpoint = 0usize;
    let mut last_checkpoint = Instant::now();
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let outcome = apply_batch(&mut conn, &mut batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, operations = batch.len(), "write batch failed");
        }
        let batch_error = outcome.err().map(|e| e.to_string());
        let batch_len = batch.len();
        for op in batch {
            op.deliver(batch_error.as_deref());
        }
        // With the replies sent, fold the log back into the database file once it has grown.
        // Run here, between batches, the checkpoint sees no concurrent writer, so it copies
        // every frame and the next commit starts the log file over instead of extending it.
        ops_since_checkpoint += batch_len;
        if ops_since_checkpoint >= CHECKPOINT_AFTER_OPS
            || last_checkpoint.elapsed() >= CHECKPOINT_AFTER
        {
            ops_since_checkpoint = 0;
            last_checkpoint = Instant::now();
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    }
}

/// Runs the batch in one transaction, each operation inside a savepoint so a failing one is
/// undone alone. An error here means the whole batch was rolled back.
fn apply_batch(conn: &mut Connection, batch: &mut [Box<dyn Op>]) -> rusqlite::Result<()> {
    let started = Instant::now();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for op in batch.iter_mut() {
        tx.prepare_cached("SAVEPOINT op")?.execute([])?;
        if !op.apply(&tx) {
            tx.prepare_cached("ROLLBACK TO op")?.execute([])?;
        }
        tx.prepare_cached("RELEASE op")?.execute([])?;
    }
    let applied = Instant::now();
    tx.commit()?;
    tracing::trace!(
        operations = batch.len(),
        apply_us = (applied - started).as_micros() as u64,
        commit_us = applied.elapsed().as_micros() as u64,
        "write batch committed"
    );
    Ok(())
}
