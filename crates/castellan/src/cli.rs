//! The command line. `serve` runs the server; `service` and `client` administer the data
//! directory directly (no credentials needed: whoever can read the data directory and the
//! master key is the administrator). They are safe to use while a server runs on the same data
//! directory: SQLite serialises the writers.

use std::io::IsTerminal;

use castellan_core::enums::{ClientAuthMethod, ClientType, GrantType, JwsAlg, ResponseType};
use castellan_core::jose::rotation::KeyState;
use castellan_core::model::{Client, Service};
use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::demo;
use crate::serve::{self, ServeArgs};
use crate::setup::{self, DataArgs};
use crate::transfer;

#[derive(Debug, Parser)]
#[command(
    name = "castellan",
    version,
    about = "A self-hosted OAuth 2.0 / OpenID Connect engine with an Authlete 2.x compatible API"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve(ServeArgs),
    /// Manage services.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Manage clients of a service.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Bring the database schema up to date, then exit. `serve` does this too at start; both
    /// are safe while other nodes run or start on the same database.
    Migrate {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Write every service, client, key, grant and live token as JSON lines (to standard
    /// output, or to a file only its owner can read). Stop the servers first for a consistent
    /// copy. The rows hold no plain secrets: import them with the same master key.
    Export {
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Read an export (from standard input, or a file) into an empty database, e.g. from the
    /// embedded database to PostgreSQL: `castellan export | castellan import --database URL`.
    Import {
        #[arg(long)]
        input: Option<std::path::PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, clap::Args)]
struct Output {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum ServiceCommand {
    /// Create a service (configured like the demo one: code flow, refresh tokens, client
    /// credentials and password grants, client_secret_basic/post and none).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        issuer: String,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    List {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    Get {
        api_key: i64,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    Delete {
        api_key: i64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Rotate a service's signing keys: add a key (published, and signing once activated when
    /// another key already signs with its algorithm), activate it, remove the old one.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    List {
        api_key: i64,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    Add {
        api_key: i64,
        /// RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA.
        #[arg(long)]
        alg: String,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    Activate {
        api_key: i64,
        kid: String,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    Remove {
        api_key: i64,
        kid: String,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register a client.
    Create {
        /// API key of the service.
        #[arg(long)]
        service: i64,
        #[arg(long)]
        name: String,
        /// A redirect URI; repeat for several.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Register a public client (token auth method `none`, PKCE required).
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    List {
        #[arg(long)]
        service: i64,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    Get {
        #[arg(long)]
        service: i64,
        /// Client ID or alias.
        client: String,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        out: Output,
    },
    Delete {
        #[arg(long)]
        service: i64,
        client: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Log lines go to stderr from a background thread, so a request never waits on the write;
/// the returned guard flushes what is queued when it drops.
fn init_logging() -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // The database's own notices ("relation already exists, skipping") are not news.
        .unwrap_or_else(|_| "info,tokio_postgres=warn".into());
    let json = std::env::var("CASTELLAN_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Not lossy: under a flood of lines, callers wait rather than lines being dropped. The
    // writer thread flushes whenever it has emptied its queue, so buffering only joins the
    // lines of a burst into one write.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    guard
}

fn print<T: Serialize>(
    out: &Output,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if out.json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text());
    }
    Ok(())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let _log_flush = init_logging();
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Service(cmd) => service(cmd).await,
        Command::Client(cmd) => client(cmd).await,
        Command::Migrate { data } => migrate(&data).await,
        Command::Export { output, data } => transfer::export(&data, output.as_deref()).await,
        Command::Import { input, data } => transfer::import(&data, input.as_deref()).await,
    }
}

async fn migrate(data: &DataArgs) -> anyhow::Result<()> {
    setup::open_store(data).await?;
    println!("database schema up to date ({})", data.describe());
    Ok(())
}

async fn service(cmd: ServiceCommand) -> anyhow::Result<()> {
    match cmd {
        ServiceCommand::Create {
            name,
            issuer,
            data,
            out,
        } => {
            let engine = setup::open_engine(&data, 0).await?;
            if let Some(owner) = setup::ensure_owner(&engine).await? {
                eprintln!(
                    "service owner created: API key {} / API secret {}",
                    owner.api_key, owner.api_secret
                );
            }
            let owners = engine.store().list_owners().await?;
            let owner = owners
                .first()
                .ok_or_else(|| anyhow::anyhow!("no service owner"))?;
            let mut input = demo::demo_service();
            input.service_name = Some(name);
            input.issuer = Some(issuer);
            let created = engine.create_service(owner, input).await?;
            print(&out, &created, || {
                format!(
                    "API key:    {}\nAPI secret: {} (shown once)",
                    created.api_key,
                    created.api_secret.as_deref().unwrap_or("")
                )
            })
        }
        ServiceCommand::List { data, out } => {
            let engine = setup::open_engine(&data, 0).await?;
            let page = engine.list_services(None, 0, u32::MAX).await?;
            print(&out, &page.services, || {
                page.services
                    .iter()
                    .map(|s| {
                        format!(
                            "{}\t{}\t{}",
                            s.api_key,
                            s.service_name.as_deref().unwrap_or(""),
                            s.issuer.as_deref().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ServiceCommand::Get { api_key, data, out } => {
            let engine = setup::open_engine(&data, 0).await?;
            let service = engine.get_service(None, api_key).await?;
            print(&out, &service, || {
                serde_json::to_string_pretty(&service).unwrap_or_default()
            })
        }
        ServiceCommand::Delete { api_key, data } => {
            let engine = setup::open_engine(&data, 0).await?;
            engine.delete_service(None, api_key).await?;
            println!("deleted service {api_key}");
            Ok(())
        }
        ServiceCommand::Key(cmd) => key(cmd).await,
    }
}

fn key_lines(keys: &[KeyState]) -> String {
    keys.iter()
        .map(|k| {
            format!(
                "{}\t{}\t{}\t{}",
                k.kid,
                k.alg.as_deref().unwrap_or(&k.kty),
                if k.signing { "signing" } else { "verify-only" },
                k.kty
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn key(cmd: KeyCommand) -> anyhow::Result<()> {
    let (data, out) = match &cmd {
        KeyCommand::List { data, out, .. }
        | KeyCommand::Add { data, out, .. }
        | KeyCommand::Activate { data, out, .. }
        | KeyCommand::Remove { data, out, .. } => (data, out),
    };
    let engine = setup::open_engine(data, 0).await?;
    let keys = match &cmd {
        KeyCommand::List { api_key, .. } => engine.list_service_keys(None, *api_key).await?,
        KeyCommand::Add { api_key, alg, .. } => {
            let alg = JwsAlg::from_protocol(alg)
                .ok_or_else(|| anyhow::anyhow!("unknown algorithm '{alg}'"))?;
            vec![engine.add_service_key(None, *api_key, alg).await?]
        }
        KeyCommand::Activate { api_key, kid, .. } => {
            engine.activate_service_key(None, *api_key, kid).await?
        }
        KeyCommand::Remove { api_key, kid, .. } => {
            engine.remove_service_key(None, *api_key, kid).await?
        }
    };
    print(out, &keys, || key_lines(&keys))
}

async fn load_service(engine: &castellan_engine::Engine, api_key: i64) -> anyhow::Result<Service> {
    Ok(engine.get_service(None, api_key).await?)
}

async fn client(cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Create {
            service,
            name,
            redirect_uris,
            public,
            data,
            out,
        } => {
            let engine = setup::open_engine(&data, 0).await?;
            let service = load_service(&engine, service).await?;
            let mut input = Client {
                client_name: Some(name),
                redirect_uris: Some(redirect_uris),
                response_types: Some(vec![ResponseType::Code]),
                ..demo::demo_client()
            };
            if public {
                input.client_type = Some(ClientType::Public);
                input.token_auth_method = Some(ClientAuthMethod::None);
                input.grant_types =
                    Some(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]);
            }
            let created = engine.create_client(&service, input).await?;
            print(&out, &created, || {
                format!(
                    "client ID:     {}\nclient secret: {}",
                    created.client_id,
                    created.client_secret.as_deref().unwrap_or("")
                )
            })
        }
        ClientCommand::List { service, data, out } => {
            let engine = setup::open_engine(&data, 0).await?;
            let service = load_service(&engine, service).await?;
            let page = engine.list_clients(&service, None, 0, u32::MAX).await?;
            print(&out, &page.clients, || {
                page.clients
                    .iter()
                    .map(|c| {
                        format!(
                            "{}\t{}",
                            c.client_id,
                            c.client_name.as_deref().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ClientCommand::Get {
            service,
            client,
            data,
            out,
        } => {
            let engine = setup::open_engine(&data, 0).await?;
            let service = load_service(&engine, service).await?;
            let found = engine.get_client(&service, &client).await?;
            print(&out, &found, || {
                serde_json::to_string_pretty(&found).unwrap_or_default()
            })
        }
        ClientCommand::Delete {
            service,
            client,
            data,
        } => {
            let engine = setup::open_engine(&data, 0).await?;
            let service = load_service(&engine, service).await?;
            engine.delete_client(&service, &client).await?;
            println!("deleted client {client}");
            Ok(())
        }
    }
}
