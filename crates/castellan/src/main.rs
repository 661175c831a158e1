//! The `castellan` binary: parses the command line and runs it.

mod cli;
mod demo;
mod serve;
mod setup;
mod transfer;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("castellan: {e:#}");
            ExitCode::FAILURE
        }
    }
}
