//! Scratch databases for tests: each test gets a database of its own on the server named by
//! `CASTELLAN_TEST_DATABASE_URL`, dropped when the test ends.

// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio_postgres::{Config, NoTls};

/// The variable that names the server tests may create databases on.
pub const TEST_URL_VAR: &str = "CASTELLAN_TEST_DATABASE_URL";

/// The test server's URL, or `None` after saying on standard error that PostgreSQL tests are
/// skipped. CI always sets it, so there they run (and fail when the server is missing).
pub fn test_server_url() -> Option<String> {
    match std::env::var(TEST_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("skipped: {TEST_URL_VAR} is not set, so no PostgreSQL test runs");
            None
        }
    }
}

/// A database created for one test; dropped (with its connections) when this is dropped.
pub struct ScratchDatabase {
    pub url: String,
    admin: Config,
    name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl ScratchDatabase {
    /// Creates an empty database on the server of `server_url`.
    pub async fn create(server_url: &str) -> ScratchDatabase {
        let admin = Config::from_str(server_url).expect("test database URL");
        let name = format!(
            "castellan_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        run_admin(&admin, &format!("CREATE DATABASE {name}")).await;
        let mut url = url::Url::parse(server_url).expect("test database URL");
        url.set_path(&name);
        ScratchDatabase {
            url: url.to_string(),
            admin,
            name,
        }
    }
}

async fn run_admin(admin: &Config, statement: &str) {
    let (client, connection) = admin
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
    let task = tokio::spawn(connection);
    client
        .batch_execute(statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    drop(client);
    let _ = task.await;
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // Drop may run inside a runtime, which cannot block: use a thread with its own.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(run_admin(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ));
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop the scratch database {}", self.name);
        }
    }
}
