//! `castellan serve`: the HTTP server, the background purge, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
// Boolean variables take 1/0, true/false, yes/no and on/off, as people write them.
use castellan_engine::Engine;
use castellan_http::server;
use clap::builder::BoolishValueParser;

use crate::demo::{self, DEMO_REDIRECT_URI};
use crate::setup::{self, DataArgs};

#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CASTELLAN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub data: DataArgs,
    /// Do not create the demo service and client on an empty data directory.
    #[arg(long, env = "CASTELLAN_NO_DEMO", value_parser = BoolishValueParser::new())]
    pub no_demo: bool,
    /// How long (milliseconds) service and client settings are served from memory. Changes
    /// made through this server apply at once; changes made by another process on the same
    /// database apply within this time. 0 reads the database on every call.
    #[arg(long, env = "CASTELLAN_CACHE_TTL_MS", default_value_t = castellan_engine::DEFAULT_CACHE_TTL_MS)]
    pub cache_ttl_ms: i64,
    /// Mark the console's cookies `Secure`: set it when people reach Castellan over HTTPS (for
    /// example through a TLS-terminating proxy), so the browser never sends them in clear.
    #[arg(long, env = "CASTELLAN_SECURE_COOKIES", value_parser = BoolishValueParser::new())]
    pub secure_cookies: bool,
    /// The address of a reverse proxy in front of Castellan (repeat, or comma-separate in the
    /// variable): its `X-Forwarded-For` then names the client for the console's sign-in limits.
    /// Without it every client behind the proxy would share one limit.
    #[arg(
        long = "trusted-proxy",
        env = "CASTELLAN_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The most connections open at once. At the limit, a new connection closes the oldest
    /// one that has no request in progress. Also held below the open-file limit.
    #[arg(long, env = "CASTELLAN_MAX_CONNECTIONS", default_value_t = server::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// How long (milliseconds) a client may take to send a request's header.
    #[arg(
        long,
        env = "CASTELLAN_HEADER_READ_TIMEOUT_MS",
        default_value_t = server::DEFAULT_HEADER_READ_TIMEOUT_MS
    )]
    pub header_read_timeout_ms: u64,
    /// How long (milliseconds) a client may take to send a request's body, from its header on.
    #[arg(long, env = "CASTELLAN_BODY_READ_TIMEOUT_MS", default_value_t = server::DEFAULT_BODY_READ_TIMEOUT_MS)]
    pub body_read_timeout_ms: u64,
    /// How long (milliseconds) a connection may stay open with no request in progress.
    #[arg(long, env = "CASTELLAN_IDLE_TIMEOUT_MS", default_value_t = server::DEFAULT_IDLE_TIMEOUT_MS)]
    pub idle_timeout_ms: u64,
    /// On SIGTERM or Ctrl-C: how long (milliseconds) calls in progress may take to finish
    /// before the server exits anyway.
    #[arg(long, env = "CASTELLAN_DRAIN_TIMEOUT_MS", default_value_t = server::DEFAULT_DRAIN_TIMEOUT_MS)]
    pub drain_timeout_ms: u64,
}

/// File descriptors kept out of the connection limit: database files and connections, logs,
/// the listener, and whatever a call opens.
const RESERVED_FILES: u64 = 64;

/// Raises the open-file soft limit to the hard limit and returns the connection limit that
/// fits under it, warning when that is below what was asked for.
fn connection_limit(asked: usize, database_connections: usize) -> usize {
    let files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            return asked;
        }
    };
    let reserved = RESERVED_FILES + database_connections as u64;
    let fits = usize::try_from(files.saturating_sub(reserved)).unwrap_or(usize::MAX);
    if fits < asked {
        tracing::warn!(
            open_file_limit = files,
            max_connections = fits,
            asked,
            "the open-file limit is low: connections are limited to fit under it (raise it with `ulimit -n`)"
        );
    }
    asked.min(fits).max(1)
}

/// How often expired records are purged, and how many go per batch.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);
const PURGE_BATCH: u32 = 1000;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let engine = setup::open_engine(&args.data, args.cache_ttl_ms).await?;
    let generated_owner = setup::ensure_owner(&engine).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let local = listener.local_addr()?;

    println!("Castellan listening on http://{local}");
    println!(
        "  console:  http://{local}/console (sign in with the service owner's API key and secret)"
    );
    println!("  database: {}", args.data.describe());
    if let Some(owner) = &generated_owner {
        println!(
            "  service owner (shown once; set CASTELLAN_SERVICE_OWNER_API_KEY/_SECRET to choose your own):"
        );
        println!("    API key:    {}", owner.api_key);
        println!("    API secret: {}", owner.api_secret);
    }
    if !args.no_demo {
        let owners = engine.store().list_owners().await?;
        if let Some(owner) = owners.first()
            && let Some(demo) = demo::create_if_empty(&engine, owner).await?
        {
            print_demo(&local, &demo);
        }
    }

    tokio::spawn(purge_loop(engine.clone()));
    let app = castellan_http::router(engine.clone()).merge(castellan_console::router(
        engine,
        castellan_console::ConsoleOptions {
            secure_cookies: args.secure_cookies,
            trusted_proxies: args.trusted_proxies.clone(),
        },
    ));
    let limits = server::Limits {
        max_connections: connection_limit(
            args.max_connections,
            args.data.pool.database_max_connections,
        ),
        header_read_timeout: Duration::from_millis(args.header_read_timeout_ms.max(1)),
        body_read_timeout: Duration::from_millis(args.body_read_timeout_ms.max(1)),
        idle_timeout: Duration::from_millis(args.idle_timeout_ms.max(1)),
        drain_timeout: Duration::from_millis(args.drain_timeout_ms),
    };
    match server::serve(listener, app, limits, shutdown_signal()).await {
        server::Drained::Completely => {}
        server::Drained::Abandoned(open) => {
            tracing::warn!(
                open,
                "drain deadline passed; closing the remaining connections"
            );
        }
    }
    tracing::info!("shut down");
    Ok(())
}

fn print_demo(local: &SocketAddr, demo: &demo::Demo) {
    let key = demo.service.api_key;
    let secret = demo.service.api_secret.as_deref().unwrap_or("");
    let client_id = demo.client.client_id;
    let client_secret = demo.client.client_secret.as_deref().unwrap_or("");
    println!("  demo service (shown once):");
    println!("    API key:       {key}");
    println!("    API secret:    {secret}");
    println!("  demo client:");
    println!("    client ID:     {client_id}");
    println!("    client secret: {client_secret}");
    println!("    redirect URI:  {DEMO_REDIRECT_URI}");
    println!("  try the authorization request:");
    println!(
        "    curl -s -u '{key}:{secret}' http://{local}/api/auth/authorization \\\n      -H 'Content-Type: application/json' \\\n      -d '{{\"parameters\":\"response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb%2Fexample.com&state=123\"}}'"
    );
}

async fn purge_loop(engine: Arc<Engine>) {
    let mut ticker = tokio::time::interval(PURGE_INTERVAL);
    loop {
        ticker.tick().await;
        loop {
            match engine.purge_expired(PURGE_BATCH).await {
                Ok(n) if u64::from(PURGE_BATCH) <= n => tokio::task::yield_now().await,
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(purged = n, "expired records purged");
                    }
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "purge failed");
                    break;
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
