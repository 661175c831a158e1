//! The HTTP/1.1 server loop: connections are limited in number and time, so no client can
//! exhaust the process's sockets or hold it open forever.
//!
//! - A request's header must arrive within `header_read_timeout`, and its body in full within
//!   `body_read_timeout` of the header (a body that stalls or trickles fails, so a request
//!   cannot stay "in progress" for ever); a connection with no request in progress is closed
//!   after `idle_timeout`, whatever it trickles in.
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
use tokio::sync::{Notify, watch};
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
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

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
    let (stop_tx, stop_rx) = watch::channel(false);
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
                // is in a request, the new one waits for one to end (or for shutdown).
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
                let conn = registry.add(started);
                let task = Connection {
                    app: app.clone(),
                    limits: limits.clone(),
                    registry: Arc::clone(&registry),
                    state: conn,
                    started,
                    stop: stop_rx.clone(),
                };
                tokio::spawn(task.run(stream, peer));
            }
            Err(e) => {
                // Out of descriptors (or a transient accept error): free one if we can and
                // retry after a pause rather than spin.
                tracing::warn!(error = %e, open = registry.open(), "accept failed");
                registry.evict_oldest_idle();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
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

/// The open connections, oldest first, and a count of the tasks serving them.
#[derive(Default)]
struct Registry {
    inner: Mutex<Inner>,
    /// Connection tasks still running (evicted ones included until they end).
    tasks: AtomicUsize,
    /// Signalled whenever a connection ends or finishes a request.
    changed: Notify,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Connections that count against the limit, by age (ids grow).
    open: BTreeMap<u64, Arc<ConnState>>,
}

struct ConnState {
    id: u64,
    /// Requests being handled on this connection now.
    busy: AtomicUsize,
    /// When it last started or finished a request (ms since the server started).
    last_active_ms: AtomicU64,
    /// Asks the connection's task to close it now.
    close: Notify,
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

    fn add(&self, started: Instant) -> Arc<ConnState> {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        let state = Arc::new(ConnState {
            id,
            busy: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(elapsed_ms(started)),
            close: Notify::new(),
        });
        inner.open.insert(id, Arc::clone(&state));
        self.tasks.fetch_add(1, Ordering::AcqRel);
        state
    }

    /// Closes the oldest connection with no request in progress; `false` if there is none.
    fn evict_oldest_idle(&self) -> bool {
        let mut inner = self.lock();
        let victim = inner
            .open
            .values()
            .find(|c| c.busy.load(Ordering::Acquire) == 0)
            .map(|c| c.id);
        match victim.and_then(|id| inner.open.remove(&id)) {
            Some(conn) => {
                conn.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn finished(&self, id: u64) {
        self.lock().open.remove(&id);
        self.tasks.fetch_sub(1, Ordering::AcqRel);
        self.changed.notify_waiters();
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Counts a request as in progress on its connection for as long as it lives, including when
/// the connection is dropped mid-request.
struct InRequest {
    conn: Arc<ConnState>,
    registry: Arc<Registry>,
    started: Instant,
}

impl InRequest {
    fn begin(conn: &Arc<ConnState>, registry: &Arc<Registry>, started: Instant) -> Self {
        conn.busy.fetch_add(1, Ordering::AcqRel);
        conn.last_active_ms
            .store(elapsed_ms(started), Ordering::Release);
        Self {
            conn: Arc::clone(conn),
            registry: Arc::clone(registry),
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
        self.registry.changed.notify_waiters();
    }
}

struct Connection {
    app: Router,
    limits: Limits,
    registry: Arc<Registry>,
    state: Arc<ConnState>,
    started: Instant,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        let app = self.app.clone();
        let (state, registry, started) = (
            Arc::clone(&self.state),
            Arc::clone(&self.registry),
            self.started,
        );
        let body_read_timeout = self.limits.body_read_timeout;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let guard = InRequest::begin(&state, &registry, started);
            request.extensions_mut().insert(ConnectInfo(peer));
            // Whether the handler read the whole body: when it answered without (a refused
            // caller, an unknown route), the connection cannot be reused, and the response
            // says so instead of the connection just dropping under the client's next call.
            let mut body_read = None;
            let request = request.map(|body| {
                if body.is_end_stream() {
                    axum::body::Body::new(body)
                } else {
                    let read = Arc::new(AtomicBool::new(false));
                    body_read = Some(Arc::clone(&read));
                    axum::body::Body::new(DeadlineBody {
                        inner: body,
                        deadline: Box::pin(tokio::time::sleep(body_read_timeout)),
                        read,
                    })
                }
            });
            let response = app.clone().oneshot(request);
            async move {
                let mut response = response.await;
                if let (Ok(response), Some(read)) = (&mut response, body_read)
                    && !read.load(Ordering::Acquire)
                {
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                drop(guard);
                response
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout)
            .keep_alive(true);
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        let mut stopping = *self.stop.borrow();
        if stopping {
            conn.as_mut().graceful_shutdown();
        }
        loop {
            let idle_for = Duration::from_millis(
                elapsed_ms(self.started)
                    .saturating_sub(self.state.last_active_ms.load(Ordering::Acquire)),
            );
            // While a request runs, look again a whole idle period later (never spin).
            let wait = if self.state.busy.load(Ordering::Acquire) == 0 {
                self.limits.idle_timeout.saturating_sub(idle_for)
            } else {
                self.limits.idle_timeout
            };
            tokio::select! {
                _ = conn.as_mut() => break,
                () = self.state.close.notified() => break,
                changed = self.stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_err() || self.state.busy.load(Ordering::Acquire) == 0 {
                        break;
                    }
                    // Finish the request in progress, then close.
                    conn.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep(wait) => {
                    let idle = self.state.busy.load(Ordering::Acquire) == 0;
                    let last = self.state.last_active_ms.load(Ordering::Acquire);
                    let quiet = elapsed_ms(self.started).saturating_sub(last);
                    if idle && Duration::from_millis(quiet) >= self.limits.idle_timeout {
                        break;
                    }
                }
            }
        }
        self.registry.finished(self.state.id);
    }
}

/// A request body that must arrive in full before its deadline; after it, reading fails.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// Set once the body was read to its end.
    read: Arc<AtomicBool>,
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
                self.read.store(true, Ordering::Release);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
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
    async fn idle_and_slow_header_connections_time_out() {
        let limits = Limits {
            header_read_timeout: Duration::from_millis(200),
            idle_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let (addr, stop, task) = start(limits).await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        assert!(closed_within(&mut slow, Duration::from_secs(2)).await);
        assert!(closed_within(&mut idle, Duration::from_secs(2)).await);
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
