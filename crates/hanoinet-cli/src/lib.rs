//! The `hanoinet` command line: `demo`, `init`, `serve`, `registry`, `user`, `request`, `bench`.
//!
//! Layout: [`Cli`] is the clap definition; each subcommand lives in `commands/`. The server-side
//! commands drive `hanoinet-node` directly; `request` is a thin client over the REST API.

mod commands;
pub mod exit;
mod progress;

use clap::{Parser, Subcommand};

pub use commands::bench::BenchArgs;

/// hanoinet: cooperation under the UN Convention against Cybercrime, node to node.
#[derive(Debug, Parser)]
#[command(name = "hanoinet", version = hanoinet_node::VERSION_LINE, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log lines as text (plain when not on a terminal) or as one JSON object per line.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "HANOINET_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

static LOG_FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

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
    /// Check a node: files and permissions, registry and keys, database, every peer (reachable,
    /// clock skew, backlog). Exits 1 if a check fails.
    Doctor(commands::doctor::DoctorArgs),
    /// Copy a node's SQLite database while it runs (VACUUM INTO, mode 0600) and verify the
    /// copy's ledger.
    Backup(commands::backup::BackupArgs),
    /// Replace a stopped node's SQLite database with a backup whose ledger verifies.
    Restore(commands::backup::RestoreArgs),
    /// A node's keys: rotate them.
    #[command(subcommand)]
    Keys(commands::node::KeysCommand),
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
    let _ = LOG_FORMAT.set(cli.log_format);
    match cli.command {
        Command::Demo(a) => commands::demo::run(a).await,
        Command::Init(a) => commands::node::init(a),
        Command::Serve(a) => commands::node::serve(a).await,
        Command::Registry(c) => commands::registry::run(c).await,
        Command::Keys(c) => commands::node::keys(c),
        Command::Doctor(a) => commands::doctor::run(a).await,
        Command::Backup(a) => commands::backup::backup(a).await,
        Command::Restore(a) => commands::backup::restore(a).await,
        Command::User(c) => commands::node::user(c).await,
        Command::Request(c) => commands::request::run(c).await,
        Command::Ledger(c) => commands::ledger::run(c).await,
        Command::Bench(c) => commands::bench::run(c).await,
    }
}

/// Installs the log subscriber on standard error: `RUST_LOG` if set, else `default`; in the
/// `--log-format` chosen; colours only on a terminal (and never with `NO_COLOR`).
pub fn init_logging(default: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = match LOG_FORMAT.get().copied().unwrap_or(LogFormat::Text) {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .try_init(),
    };
}
