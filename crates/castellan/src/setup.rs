//! Opening the data directory: master key, store, engine, service-owner credentials.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use castellan_core::secret::{Entropy, SecretKeys, new_numeric_id, new_token};
use castellan_engine::{Engine, SystemClock, SystemEntropy, load_or_create_master_key};
use castellan_store::Store;
use castellan_store_postgres::{PoolOptions, PostgresStore};
use castellan_store_sqlite::SqliteStore;

#[derive(Clone, Debug, clap::Args)]
pub struct DataArgs {
    /// Directory of the embedded database (unused with --database).
    #[arg(long, env = "CASTELLAN_DATA_DIR", default_value = "castellan-data")]
    pub data_dir: PathBuf,
    /// A PostgreSQL database to use instead of the embedded one:
    /// postgres://user:password@host:port/database. Several nodes may share it; they must then
    /// share the master key too (CASTELLAN_MASTER_KEY).
    #[arg(long = "database", env = "CASTELLAN_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub pool: PoolArgs,
    /// File holding the master key (created on first start). It must live outside the data
    /// directory: the key protects the secrets the database holds. CASTELLAN_MASTER_KEY
    /// (base64url, 32 bytes) takes precedence.
    #[arg(long, env = "CASTELLAN_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

/// PostgreSQL connection-pool settings.
#[derive(Clone, Debug, clap::Args)]
pub struct PoolArgs {
    /// Connections to PostgreSQL this node keeps open at most.
    #[arg(long, env = "CASTELLAN_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: usize,
    /// How long connecting to PostgreSQL may take, in milliseconds.
    #[arg(
        long,
        env = "CASTELLAN_DATABASE_CONNECT_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub database_connect_timeout_ms: u64,
    /// How long one storage operation may take in all (waiting for a connection included), in
    /// milliseconds; past it the call answers with a server error instead of waiting on.
    #[arg(long, env = "CASTELLAN_DATABASE_TIMEOUT_MS", default_value_t = 10000)]
    pub database_timeout_ms: u64,
    /// PEM certificates to trust for TLS to PostgreSQL (a private CA, or the server's own
    /// self-signed certificate) instead of the system's roots. TLS is on with `sslmode=require`
    /// in the URL or with this file; the server's certificate and name are always checked.
    #[arg(long, env = "CASTELLAN_DATABASE_CA_FILE", value_name = "PEM")]
    pub database_ca_file: Option<PathBuf>,
}

impl PoolArgs {
    fn options(&self) -> PoolOptions {
        PoolOptions {
            max_connections: self.database_max_connections,
            connect_timeout: Duration::from_millis(self.database_connect_timeout_ms),
            operation_timeout: Duration::from_millis(self.database_timeout_ms),
            ca_file: self.database_ca_file.clone(),
        }
    }
}

impl DataArgs {
    /// The PostgreSQL URL, when one was given.
    pub fn postgres_url(&self) -> anyhow::Result<Option<&str>> {
        match self.database_url.as_deref().filter(|u| !u.is_empty()) {
            None => Ok(None),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Some(url))
            }
            Some(_) => Err(anyhow!(
                "--database takes a postgres:// URL; leave it out for the embedded database"
            )),
        }
    }

    /// Where the data lives, for people: the password of a database URL is left out.
    pub fn describe(&self) -> String {
        match self.postgres_url() {
            Ok(Some(url)) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    let _ = parsed.set_password(None);
                    format!("PostgreSQL {parsed}")
                }
                Err(_) => "PostgreSQL".to_owned(),
            },
            _ => format!("embedded, in {}", self.data_dir.display()),
        }
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| sibling_key_file(&self.data_dir))
    }
}

/// `./castellan-data` → `./castellan-data.key`.
fn sibling_key_file(data_dir: &Path) -> PathBuf {
    let mut name = data_dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "castellan-data".into());
    name.push(".key");
    data_dir.with_file_name(name)
}

/// `cache_ttl_ms`: how long services and clients may be served from memory (0: never).
pub async fn open_engine(args: &DataArgs, cache_ttl_ms: i64) -> anyhow::Result<Arc<Engine>> {
    let env_key = std::env::var("CASTELLAN_MASTER_KEY").ok();
    let master = load_or_create_master_key(env_key.as_deref(), &args.master_key_path())
        .map_err(|e| anyhow!(e))?;
    let store = open_store(args).await?;
    let engine = Arc::new(
        Engine::new(
            store,
            SecretKeys::from_master(&master),
            Arc::new(SystemClock),
        )
        .with_cache_ttl_ms(cache_ttl_ms),
    );
    engine.check_master_key().await.map_err(|e| anyhow!(e))?;
    Ok(engine)
}

/// Opens the configured database and brings its schema up to date.
pub async fn open_store(args: &DataArgs) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match args.postgres_url()? {
        Some(url) => Arc::new(
            PostgresStore::open(url, &args.pool.options())
                .await
                .with_context(|| format!("opening the database ({})", args.describe()))?,
        ),
        None => Arc::new(
            SqliteStore::open(&args.data_dir.join("castellan.db"))
                .with_context(|| format!("opening the database in {}", args.data_dir.display()))?,
        ),
    })
}

/// Service-owner credentials that were generated now, to print once.
pub struct GeneratedOwner {
    pub api_key: i64,
    pub api_secret: String,
}

/// Applies `CASTELLAN_SERVICE_OWNER_API_KEY`/`_SECRET` when set; otherwise makes sure one owner
/// exists, generating its credentials on first start.
pub async fn ensure_owner(engine: &Engine) -> anyhow::Result<Option<GeneratedOwner>> {
    let key = std::env::var("CASTELLAN_SERVICE_OWNER_API_KEY")
        .ok()
        .filter(|v| !v.is_empty());
    let secret = std::env::var("CASTELLAN_SERVICE_OWNER_API_SECRET")
        .ok()
        .filter(|v| !v.is_empty());
    match (key, secret) {
        (Some(key), Some(secret)) => {
            let api_key: i64 = key
                .parse()
                .context("CASTELLAN_SERVICE_OWNER_API_KEY must be a positive integer")?;
            if api_key <= 0 {
                return Err(anyhow!(
                    "CASTELLAN_SERVICE_OWNER_API_KEY must be a positive integer"
                ));
            }
            engine.set_owner(api_key, &secret).await?;
            Ok(None)
        }
        (Some(_), None) | (None, Some(_)) => Err(anyhow!(
            "set both CASTELLAN_SERVICE_OWNER_API_KEY and CASTELLAN_SERVICE_OWNER_API_SECRET, or neither"
        )),
        (None, None) => {
            if !engine.store().list_owners().await?.is_empty() {
                return Ok(None);
            }
            let mut entropy = SystemEntropy;
            let api_key = new_numeric_id(&mut entropy as &mut dyn Entropy);
            let api_secret = new_token(&mut entropy);
            engine.set_owner(api_key, &api_secret).await?;
            Ok(Some(GeneratedOwner {
                api_key,
                api_secret,
            }))
        }
    }
}
