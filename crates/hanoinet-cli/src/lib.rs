//! The `hanoinet` command line: `demo`, `init`, `serve`, `registry`, `user`, `request`, `bench`.
//!
//! Layout: [`Cli`] is the clap definition; each subcommand lives in `commands/`. The server-side
//! commands drive `hanoinet-node` directly; `request` is a thin client over the REST API.

mod commands;

use clap::{Parser, Subcommand};

pub use commands::bench::BenchArgs;

/// hanoinet: cooperation under the UN Convention against Cybercrime, node to node.
#[derive(Debug, Parser)]
#[command(name = "hanoinet", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local demonstration network (VNM/247, FRA/247, KEN/247, CHL/247) on loopback until
    /// Ctrl-C.
    Demo(commands::demo::DemoArgs),
    /// Create a node directory with fresh keys and print its public identity.
    Init(commands::node::InitArgs),
    /// Run a node: REST API, federation endpoint and delivery worker.
    Serve(commands::node::ServeArgs),
    /// Depositary tools: keys, registry drafts, signing and verification.
    #[command(subcommand)]
    Registry(commands::registry::RegistryCommand),
    /// Manage a node's users.
    #[command(subcommand)]
    User(commands::node::UserCommand),
    /// Send, list, show and answer cooperation requests (a client of a node's REST API).
    #[command(subcommand)]
    Request(commands::request::RequestCommand),
    /// The tamper-evident log: verify a node's log as an auditor.
    #[command(subcommand)]
    Ledger(commands::ledger::LedgerCommand),
    /// Benchmarks that print their figures.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(a) => commands::demo::run(a).await,
        Command::Init(a) => commands::node::init(a),
        Command::Serve(a) => commands::node::serve(a).await,
        Command::Registry(c) => commands::registry::run(c),
        Command::User(c) => commands::node::user(c).await,
        Command::Request(c) => commands::request::run(c).await,
        Command::Ledger(c) => commands::ledger::run(c).await,
        Command::Bench(c) => commands::bench::run(c).await,
    }
}

/// Installs the log subscriber: `RUST_LOG` if set, else `default`.
pub fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
