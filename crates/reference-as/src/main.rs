//! `castellan-reference-as`: runs the reference authorization server against a running
//! Castellan. See the crate's README section in the repository README.

use std::sync::Arc;

use castellan_reference_as::bootstrap::{self, Provisioned};
use castellan_reference_as::castellan::Castellan;
use castellan_reference_as::session::Sessions;
use castellan_reference_as::users::{self, Users};
use castellan_reference_as::{App, router};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "castellan-reference-as",
    version,
    about = "A small OpenID Connect authorization server on Castellan's API"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Castellan's base URL.
    #[arg(long, env = "CASTELLAN_URL", default_value = "http://127.0.0.1:8080")]
    castellan_url: String,
    /// Where this server listens.
    #[arg(long, env = "REFERENCE_AS_LISTEN", default_value = "127.0.0.1:9000")]
    listen: String,
    /// This server's issuer and base URL (default: http://<listen>).
    #[arg(long, env = "REFERENCE_AS_ISSUER")]
    issuer: Option<String>,
    /// The service owner's credentials, to create this server's service and demo client.
    #[arg(long, env = "CASTELLAN_SERVICE_OWNER_API_KEY")]
    owner_api_key: Option<String>,
    #[arg(long, env = "CASTELLAN_SERVICE_OWNER_API_SECRET")]
    owner_api_secret: Option<String>,
    /// Redirect URIs of the demo client (repeat for several).
    #[arg(long = "redirect-uri", default_value = "http://127.0.0.1:3000/cb")]
    redirect_uris: Vec<String>,
    /// The users file (JSON); the built-in one holds the demo user testuser01.
    #[arg(long, env = "REFERENCE_AS_USERS")]
    users: Option<std::path::PathBuf>,
    /// Also write the issuer and the demo client's credentials to this file (JSON), for scripts.
    #[arg(long)]
    credentials_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the Argon2 hash of a password, for the users file.
    HashPassword { password: String },
}

fn print_banner(base: &str, p: &Provisioned, introspection: &(String, String)) {
    println!("Castellan reference authorization server on {base}");
    println!("  discovery:      {base}/.well-known/openid-configuration");
    println!(
        "  service:        API key {} (created for this server)",
        p.api_key
    );
    println!(
        "  demo client:    client_id {} / client_secret {}",
        p.client_id, p.client_secret
    );
    println!(
        "  introspection:  {} / {}",
        introspection.0, introspection.1
    );
    println!("  demo user:      testuser01 / testuser01 (demo only)");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Some(Command::HashPassword { password }) = cli.command {
        println!("{}", users::hash_password(&password)?);
        return Ok(());
    }
    let users = match &cli.users {
        Some(path) => Users::parse(&std::fs::read_to_string(path)?)?,
        None => Users::parse(users::DEMO_USERS)?,
    };
    let base = cli
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", cli.listen));
    let (Some(owner_key), Some(owner_secret)) = (&cli.owner_api_key, &cli.owner_api_secret) else {
        anyhow::bail!(
            "the service owner's credentials are needed (--owner-api-key and --owner-api-secret, \
             or CASTELLAN_SERVICE_OWNER_API_KEY and CASTELLAN_SERVICE_OWNER_API_SECRET)"
        );
    };
    let provisioned = bootstrap::provision(
        &cli.castellan_url,
        (owner_key, owner_secret),
        &base,
        &cli.redirect_uris,
    )
    .await?;
    // The demo client's credentials double as the resource server's for /introspect.
    let introspection = (
        provisioned.client_id.clone(),
        provisioned.client_secret.clone(),
    );
    let app = Arc::new(App {
        castellan: Castellan::new(
            &cli.castellan_url,
            &provisioned.api_key,
            &provisioned.api_secret,
        ),
        users,
        sessions: Sessions::default(),
        introspection_credentials: introspection.clone(),
    });
    let listener = tokio::net::TcpListener::bind(&cli.listen).await?;
    if let Some(path) = &cli.credentials_file {
        let credentials = serde_json::json!({
            "issuer": base,
            "client_id": provisioned.client_id,
            "client_secret": provisioned.client_secret,
        });
        std::fs::write(path, credentials.to_string())?;
    }
    print_banner(&base, &provisioned, &introspection);
    axum::serve(listener, router(app)).await?;
    Ok(())
}
