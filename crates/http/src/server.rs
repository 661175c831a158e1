//! The HTTP/1.1 server loop: connections are limited in number and time, so no client can
//! exhaust the process's sockets or hold it open forever.
//!
//! - A request's head must arrive within `header_read_timeout` of its first byte (of the accept,
//!   for a new connection), and its body in full within `body_read_timeout` of the head (a
//!   body that stalls or trickles fails, so a request cannot stay in progress for ever). A
//!   keep-alive connection with no request in progress is closed after `idle_timeout`.
//! - Connections closed for room or at shutdown close at once when idle; otherwise hyper first
//!   finishes the request in progress and writes its response (bounded by `drain_timeout`).
//! - At most `max_connections` are open. At the limit, a new connection makes room by closing
//!   the oldest connection that has no request in progress (an idle keep-alive or a
//!   slow-header connection, both safe to drop), so a flood of idle sockets cannot lock out
//!   real clients. When every connection is busy, accepting waits for one to finish.
//! - Out of file descriptors, the loop closes an idle connection and retries shortly instead
//!   of spinning.
//! - On shutdown, listening stops, idle connections close at once, busy ones finish their
//!   request, and after `drain_timeout` the loop returns whatever slow clients do.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::ServiceExt;

/// Connection limits; see the module documentation.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: Duration::from_millis(DEFAULT_HEADER_READ_TIMEOUT_MS),
            body_read_timeout: Duration::from_millis(DEFAULT_BODY_READ_TIMEOUT_MS),
            idle_timeout: Duration::from_millis(DEFAULT_IDLE_TIMEOUT_MS),
            drain_timeout: Duration::from_millis(DEFAULT_DRAIN_TIMEOUT_MS),
        }
    }
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 60_000;
pub const DEFAULT_DRAIN_TIMEOUT_MS: u64 = 10_000;

/// How the serve loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished within the drain deadline.
    Completely,
    /// The deadline passed with this many connections still open; they are dropped.
    Abandoned(usize),
}

/// Serves `app` on `listener` until `shutdown` completes, then drains (see module docs).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> Drained {
    let registry = Arc::new(Registry::default());
    let started = Instant::now();
    tokio::pin!(shutdown);
    'serving: loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                // At the limit, the oldest idle connection makes room; when every connection
                // is in a request, the new one waits for one to become idle or end (or for
                // shutdown).
                while registry.open() >= limits.max_connections.max(1)
                    && !registry.evict_oldest_idle()
                {
                    tokio::select! {
                        () = &mut shutdown => break 'serving,
                        () = registry.changed.notified() => {}
                        // A notification can slip in before the wait starts: look again.
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
                let _ = stream.set_nodelay(true);
                let (conn, task_guard) = registry.add(started);
                let task = Connection {
                    app: app.clone(),
                    limits: limits.clone(),
                    state: conn,
                    started,
                };
                tokio::spawn(task.run(stream, peer, task_guard));
            }
            Err(e) if out_of_resources(&e) => {
                // Out of descriptors or memory: free a descriptor if we can, and retry after a
                // pause rather than spin.
                tracing::warn!(error = %e, open = registry.open(), "accept failed");
                registry.evict_oldest_idle();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                // A connection that failed before it was accepted (reset, aborted): next.
                tracing::debug!(error = %e, "accept failed");
            }
        }
    }
    drop(listener);
    // Every open connection closes (at once when idle, else after its request); evicted ones
    // were told already.
    for conn in registry.lock().open.values() {
        conn.close.notify_one();
    }
    let deadline = tokio::time::sleep(limits.drain_timeout);
    tokio::pin!(deadline);
    loop {
        let left = registry.tasks.load(Ordering::Acquire);
        if left == 0 {
            return Drained::Completely;
        }
        tokio::select! {
            () = &mut deadline => return Drained::Abandoned(left),
            () = registry.changed.notified() => {}
            // A notification can slip between the load and the wait: look again shortly.
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// Accept errors that say the process is out of descriptors or memory (Linux: EMFILE, ENFILE,
/// ENOBUFS, ENOMEM); elsewhere every accept error counts as one.
fn out_of_resources(e: &std::io::Error) -> bool {
    if cfg!(target_os = "linux") {
        matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12))
    } else {
        true
    }
}

/// The open connections, oldest first, and a count of the tasks serving them.
#[derive(Default)]
struct Registry {
    inner: Mutex<Inner>,
    /// Connection tasks still running (evicted ones included until they end).
    tasks: AtomicUsize,
    /// Signalled whenever a connection ends (a request's end is seen by looking again).
    changed: Notify,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Connections that count against the limit, by age (ids grow).
    open: BTreeMap<u64, Arc<ConnState>>,
}

/// `head_started_ms` when no request head is on its way.
const NO_HEAD: u64 = u64::MAX;

struct ConnState {
    id: u64,
    /// Requests being handled on this connection now, until their response body is written.
    busy: AtomicUsize,
    /// When it last started or finished a request (ms since the server started).
    last_active_ms: AtomicU64,
    /// When the head of the next request started to arrive (its first byte, or the accept of a
    /// new connection), while no request is in progress; [`NO_HEAD`] otherwise.
    head_started_ms: AtomicU64,
    /// Asks the connection's task to close it (at once when idle, else after the request).
    close: Notify,
    /// Whether the current request's body was read to its end (or it had none).
    body_read: AtomicBool,
    /// Whether the last write to the socket could not complete (a response waits for a slow
    /// reader).
    writing: AtomicBool,
}

impl ConnState {
    fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire) > 0
    }

    /// No request in progress and no response waiting to be written: closing loses nothing.
    fn is_idle(&self) -> bool {
        !self.is_busy() && !self.writing.load(Ordering::Acquire)
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the map inconsistent (every change is one
        // call), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open(&self) -> usize {
        self.lock().open.len()
    }

    fn add(self: &Arc<Self>, started: Instant) -> (Arc<ConnState>, TaskGuard) {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        let now = elapsed_ms(started);
        let state = Arc::new(ConnState {
            id,
            busy: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(now),
            head_started_ms: AtomicU64::new(now),
            close: Notify::new(),
            body_read: AtomicBool::new(true),
            writing: AtomicBool::new(false),
        });
        inner.open.insert(id, Arc::clone(&state));
        self.tasks.fetch_add(1, Ordering::AcqRel);
        let guard = TaskGuard {
            registry: Arc::clone(self),
            id,
        };
        (state, guard)
    }

    /// Asks the oldest connection with no request in progress to close, and stops counting it;
    /// `false` if there is none. The connection's own task checks again before it closes, so a
    /// request that starts meanwhile is finished first.
    fn evict_oldest_idle(&self) -> bool {
        let mut inner = self.lock();
        let victim = inner.open.values().find(|c| c.is_idle()).map(|c| c.id);
        match victim.and_then(|id| inner.open.remove(&id)) {
            Some(conn) => {
                conn.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Ends a connection's accounting when its task ends, even by a panic.
struct TaskGuard {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.registry.lock().open.remove(&self.id);
        self.registry.tasks.fetch_sub(1, Ordering::AcqRel);
        self.registry.changed.notify_waiters();
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Counts a request as in progress on its connection until its handler has answered (or the
/// connection is dropped mid-request).
struct InRequest {
    conn: Arc<ConnState>,
    started: Instant,
}

impl InRequest {
    fn begin(conn: &Arc<ConnState>, started: Instant) -> Self {
        conn.busy.fetch_add(1, Ordering::AcqRel);
        conn.head_started_ms.store(NO_HEAD, Ordering::Release);
        conn.last_active_ms
            .store(elapsed_ms(started), Ordering::Release);
        Self {
            conn: Arc::clone(conn),
            started,
        }
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        self.conn
            .last_active_ms
            .store(elapsed_ms(self.started), Ordering::Release);
        self.conn.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The socket, noting when the head of a request starts to arrive (for the header timeout,
/// which hyper's own timer would also apply to idle keep-alive connections).
struct TrackedIo {
    inner: TcpStream,
    state: Arc<ConnState>,
    started: Instant,
}

impl tokio::io::AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let state = &self.state;
            if !state.is_busy() && state.head_started_ms.load(Ordering::Acquire) == NO_HEAD {
                let now = elapsed_ms(self.started);
                let _ = state.head_started_ms.compare_exchange(
                    NO_HEAD,
                    now,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
        polled
    }
}

impl TrackedIo {
    fn note_write(&self, pending: bool) {
        if self.state.writing.load(Ordering::Relaxed) != pending {
            self.state.writing.store(pending, Ordering::Release);
        }
    }
}

impl tokio::io::AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note_write(polled.is_pending());
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note_write(polled.is_pending());
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.note_write(polled.is_pending());
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct Connection {
    app: Router,
    limits: Limits,
    state: Arc<ConnState>,
    started: Instant,
}

impl Connection {
    async fn run(self, stream: TcpStream, peer: SocketAddr, _task: TaskGuard) {
        let app = self.app.clone();
        let (state, started) = (Arc::clone(&self.state), self.started);
        let body_read_timeout = self.limits.body_read_timeout;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let guard = InRequest::begin(&state, started);
            request.extensions_mut().insert(ConnectInfo(peer));
            // Whether the handler reads the whole body: when it answers without (a refused
            // caller, an unknown route), the connection cannot be reused, and the response
            // says so instead of the connection just dropping under the client's next call.
            let has_body = !request.body().is_end_stream();
            state.body_read.store(!has_body, Ordering::Release);
            let request = request.map(|body| {
                if has_body {
                    axum::body::Body::new(DeadlineBody {
                        inner: body,
                        due: tokio::time::Instant::now() + body_read_timeout,
                        deadline: None,
                        state: Arc::clone(&state),
                    })
                } else {
                    axum::body::Body::new(body)
                }
            });
            let response = app.clone().oneshot(request);
            async move {
                let mut response = response.await?;
                if !guard.conn.body_read.load(Ordering::Acquire) {
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                drop(guard);
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            // The header timeout is kept here (see `TrackedIo`): hyper's would also cut idle
            // keep-alive connections at the header timeout instead of the idle timeout.
            .header_read_timeout(None)
            .keep_alive(true);
        let io = TrackedIo {
            inner: stream,
            state: Arc::clone(&self.state),
            started: self.started,
        };
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        // Once set: hyper closes at once if idle, else finishes the request in progress and its
        // response first; past the drain timeout the connection is dropped anyway.
        let mut closing_by: Option<tokio::time::Instant> = None;
        let drain = self.limits.drain_timeout;
        loop {
            let wait = self.next_check();
            let closing = closing_by.is_some();
            // The connection first: the other branches only wake it for timeouts and closing.
            tokio::select! {
                biased;
                _ = conn.as_mut() => break,
                () = self.state.close.notified(), if !closing => {
                    // Decided here, where no request can begin meanwhile: an idle connection
                    // (a slow head included) is dropped at once; otherwise hyper finishes the
                    // request and its response first.
                    if self.state.is_idle() {
                        break;
                    }
                    closing_by = Some(tokio::time::Instant::now() + drain);
                    conn.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep_until(closing_by.unwrap_or_else(tokio::time::Instant::now)), if closing => break,
                () = tokio::time::sleep(wait), if !closing => {
                    if self.timed_out() {
                        break;
                    }
                }
            }
        }
    }

    /// How long until the idle or header timeout could next be due.
    fn next_check(&self) -> Duration {
        if self.state.is_busy() {
            return self.limits.idle_timeout;
        }
        let now = elapsed_ms(self.started);
        let due = self.due_ms();
        Duration::from_millis(due.saturating_sub(now))
    }

    /// When the connection, idle now, is to be closed: the idle timeout after its last request,
    /// or the header timeout after a request head started to arrive, whichever is first.
    fn due_ms(&self) -> u64 {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let idle_due = self
            .state
            .last_active_ms
            .load(Ordering::Acquire)
            .saturating_add(ms(self.limits.idle_timeout));
        match self.state.head_started_ms.load(Ordering::Acquire) {
            NO_HEAD => idle_due,
            head => idle_due.min(head.saturating_add(ms(self.limits.header_read_timeout))),
        }
    }

    fn timed_out(&self) -> bool {
        !self.state.is_busy() && elapsed_ms(self.started) >= self.due_ms()
    }
}

/// A request body that must arrive in full before `due`; after it, reading fails. The timer is
/// set only if the body does not arrive at once (most arrive with the head).
struct DeadlineBody {
    inner: Incoming,
    due: tokio::time::Instant,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Its connection, told when the body was read to its end.
    state: Arc<ConnState>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            if frame.is_none() || self.inner.is_end_stream() {
                self.state.body_read.store(true, Ordering::Release);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let due = self.due;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Some(Err("the request body did not arrive in time".into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::watch;

    async fn start(
        limits: Limits,
    ) -> (
        SocketAddr,
        watch::Sender<bool>,
        tokio::task::JoinHandle<Drained>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .route("/ignore", axum::routing::post(|| async { "ignored" }))
            .route(
                "/read",
                axum::routing::post(|body: Bytes| async move { format!("{}", body.len()) }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "slow"
                }),
            );
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(serve(listener, app, limits, async move {
            let _ = stopped.changed().await;
        }));
        (addr, stop, task)
    }

    /// Whether the peer closed the connection (EOF) within `within`.
    async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(within, stream.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    async fn get_ok(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).await.unwrap();
        reply
    }

    #[tokio::test]
    async fn at_the_limit_the_oldest_idle_connection_makes_room() {
        let limits = Limits {
            max_connections: 2,
            ..Limits::default()
        };
        let (addr, stop, task) = start(limits).await;
        let mut first = TcpStream::connect(addr).await.unwrap();
        let mut second = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // A third connection is served; the oldest idle one was closed for it.
        assert!(get_ok(addr, "/").await.ends_with("ok"));
        assert!(closed_within(&mut first, Duration::from_secs(2)).await);
        assert!(!closed_within(&mut second, Duration::from_millis(100)).await);
        stop.send(true).unwrap();
        assert_eq!(task.await.unwrap(), Drained::Completely);
    }

    #[tokio::test]
    async fn slow_heads_meet_the_header_timeout_and_idle_connections_the_idle_timeout() {
        let limits = Limits {
            header_read_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(1500),
            ..Limits::default()
        };
        let (addr, stop, task) = start(limits).await;
        // A new connection that sends nothing, and one stuck mid-header: the header timeout.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        // A keep-alive connection after a request: open past the header timeout, closed at
        // the idle timeout.
        let mut kept = TcpStream::connect(addr).await.unwrap();
        kept.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        assert!(kept.read(&mut buf).await.unwrap() > 0);
        let started = Instant::now();
        assert!(closed_within(&mut slow, Duration::from_secs(1)).await);
        assert!(closed_within(&mut silent, Duration::from_secs(1)).await);
        assert!(!closed_within(&mut kept, Duration::from_millis(600)).await);
        assert!(closed_within(&mut kept, Duration::from_secs(3)).await);
        assert!(started.elapsed() >= Duration::from_millis(1200));
        stop.send(true).unwrap();
        assert_eq!(task.await.unwrap(), Drained::Completely);
    }

    #[tokio::test]
    async fn shutdown_finishes_calls_in_progress_and_closes_idle_ones() {
        let (addr, stop, task) = start(Limits::default()).await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let slow = tokio::spawn(get_ok(addr, "/slow"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(true).unwrap();
        assert!(closed_within(&mut idle, Duration::from_secs(1)).await);
        assert!(slow.await.unwrap().ends_with("slow"));
        assert_eq!(task.await.unwrap(), Drained::Completely);
    }

    #[tokio::test]
    async fn the_drain_deadline_is_kept_whatever_clients_do() {
        let limits = Limits {
            drain_timeout: Duration::from_millis(200),
            body_read_timeout: Duration::from_secs(30),
            ..Limits::default()
        };
        let (addr, stop, task) = start(limits).await;
        // A request whose body never comes: in progress until the drain deadline.
        let mut stuck = TcpStream::connect(addr).await.unwrap();
        stuck
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        stop.send(true).unwrap();
        let drained = task.await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            matches!(drained, Drained::Completely | Drained::Abandoned(1)),
            "{drained:?}"
        );
    }

    #[tokio::test]
    async fn a_response_that_left_the_body_unread_closes_the_connection() {
        let (addr, stop, task) = start(Limits::default()).await;
        let post = |path: &str| {
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        };
        let mut s = TcpStream::connect(addr).await.unwrap();
        // Read to the end: the connection stays open for the next request.
        s.write_all(post("/read").as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        let reply = String::from_utf8_lossy(&buf[..n]).to_lowercase();
        assert!(reply.ends_with("\r\n\r\n5"), "{reply}");
        assert!(!reply.contains("connection: close"), "{reply}");
        // Not read: the reply says the connection closes, and it does.
        s.write_all(post("/ignore").as_bytes()).await.unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).await.unwrap();
        let reply = reply.to_lowercase();
        assert!(reply.contains("connection: close"), "{reply}");
        assert!(reply.ends_with("ignored"), "{reply}");
        stop.send(true).unwrap();
        assert_eq!(task.await.unwrap(), Drained::Completely);
    }
}
