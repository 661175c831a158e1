//! Opening the data directory: master key, store, engine, service-owner credentials.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use castellan_core::secret::{Entropy, SecretKeys, new_numeric_id, new_token};
use castellan_engine::{Engine, SystemClock, SystemEntropy, load_or_create_master_key};
use castellan_store_sqlite::SqliteStore;

#[derive(Clone, Debug, clap::Args)]
pub struct DataArgs {
    /// Directory of the embedded database.
    #[arg(long, env = "CASTELLAN_DATA_DIR", default_value = "castellan-data")]
    pub data_dir: PathBuf,
    /// File holding the master key (created on first start). It must live outside the data
    /// directory: the key protects the secrets the database holds. CASTELLAN_MASTER_KEY
    /// (base64url, 32 bytes) takes precedence.
    #[arg(long, env = "CASTELLAN_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

impl DataArgs {
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
    let store = SqliteStore::open(&args.data_dir.join("castellan.db"))
        .with_context(|| format!("opening the database in {}", args.data_dir.display()))?;
    let engine = Arc::new(
        Engine::new(
            Arc::new(store),
            SecretKeys::from_master(&master),
            Arc::new(SystemClock),
        )
        .with_cache_ttl_ms(cache_ttl_ms),
    );
    engine.check_master_key().await.map_err(|e| anyhow!(e))?;
    Ok(engine)
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
