//! `init`, `serve` and `user`: running one node.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use hanoinet_core::access::Role;
use hanoinet_core::{NodeId, SystemClock};
use hanoinet_node::provision::dir::{self, InitOptions};
use hanoinet_protocol::registry::NodeRole;
use hanoinet_store::{Durability, Store};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// The State's 24/7 point of contact (Art. 41).
    PointOfContact,
    /// The State's central authority for mutual legal assistance (Art. 40).
    CentralAuthority,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The node directory to create.
    #[arg(long, env = "HANOINET_DIR")]
    pub dir: PathBuf,
    /// The node's id, STATE/NAME, e.g. VNM/247.
    #[arg(long)]
    pub id: NodeId,
    /// The URL peers reach this node at, e.g. https://hanoinet.example.gov.vn.
    #[arg(long)]
    pub url: String,
    /// The depositary's public key (base64): the registry must be signed by it.
    #[arg(long)]
    pub depositary_key: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7400")]
    pub listen: String,
    /// Database URL (sqlite://PATH or postgres://...); default: SQLite in the node directory.
    #[arg(long)]
    pub database: Option<String>,
    #[arg(long, value_enum, default_value = "point-of-contact")]
    pub role: RoleArg,
}

pub fn init(a: InitArgs) -> anyhow::Result<()> {
    let entry = dir::init(
        &a.dir,
        &InitOptions {
            id: a.id,
            role: match a.role {
                RoleArg::PointOfContact => NodeRole::PointOfContact,
                RoleArg::CentralAuthority => NodeRole::CentralAuthority,
            },
            url: a.url,
            listen: a.listen,
            database: a.database,
            depositary_key: a.depositary_key,
        },
    )?;
    println!("created node {} in {}", entry.id, a.dir.display());
    println!(
        "send {} to the depositary to be added to the registry,",
        a.dir.join(dir::IDENTITY_FILE).display()
    );
    println!(
        "then put the signed registry at {} and run: hanoinet serve --dir {}",
        a.dir.join(dir::REGISTRY_FILE).display(),
        a.dir.display()
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The node directory (see `hanoinet init`).
    #[arg(long, env = "HANOINET_DIR")]
    pub dir: PathBuf,
    /// Overrides the database URL of node.json (sqlite://PATH or postgres://...).
    #[arg(long, env = "HANOINET_DATABASE")]
    pub database: Option<String>,
    /// Overrides the listen address of node.json.
    #[arg(long, env = "HANOINET_LISTEN")]
    pub listen: Option<String>,
    /// Signed registry to use instead of DIR/registry.json.
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// First delivery retry delay in milliseconds; doubles per attempt, with jitter.
    #[arg(long, default_value_t = 1000)]
    pub retry_base_ms: u64,
    /// Longest delivery retry delay in milliseconds.
    #[arg(long, default_value_t = 300_000)]
    pub retry_max_ms: u64,
    /// How long a delivery worker reserves an envelope it is sending, in milliseconds. After a
    /// crash, envelopes in flight are retried when their reservation ends.
    #[arg(long, default_value_t = 60_000)]
    pub lease_ms: u64,
    /// How SQLite commits: `full` syncs every commit, so a receipt given survives a power loss;
    /// `normal` survives a process crash only (faster; the demo and the benchmarks use it).
    #[arg(long, value_enum, default_value = "full", env = "HANOINET_SQLITE_SYNC")]
    pub sqlite_sync: SyncArg,
    /// This process's name among the replicas of one PostgreSQL database (default: host name
    /// and node directory). Two processes with the same name are refused; at start a process
    /// takes back the envelopes its earlier run had reserved.
    #[arg(long, env = "HANOINET_INSTANCE")]
    pub instance: Option<String>,
}

/// `--sqlite-sync`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SyncArg {
    Full,
    Normal,
}

pub async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    crate::init_logging("info");
    let (file, mut node) = dir::load(&a.dir, a.registry.as_deref())
        .map_err(|e| crate::exit::Failure::Invalid.wrap(e))?;
    anyhow::ensure!(
        a.retry_base_ms > 0 && a.retry_base_ms <= a.retry_max_ms,
        "--retry-base-ms must be positive and at most --retry-max-ms"
    );
    anyhow::ensure!(a.lease_ms >= 100, "--lease-ms must be at least 100");
    node.tunables.base_backoff = Duration::from_millis(a.retry_base_ms);
    node.tunables.max_backoff = Duration::from_millis(a.retry_max_ms);
    node.tunables.lease = Duration::from_millis(a.lease_ms);
    let database = a.database.unwrap_or(file.database);
    let listen = a.listen.unwrap_or(file.listen);
    for problem in dir::permission_problems(&a.dir, &database) {
        tracing::warn!("{problem}");
    }
    for (id, url) in dir::plain_http_nodes(&node.registry) {
        tracing::warn!(
            "the registry gives {id} a plain http:// URL ({url}): use https:// outside a demo"
        );
    }
    // The port first: a port in use fails in milliseconds, before any migration runs.
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))
        .map_err(|e| crate::exit::Failure::Unavailable.wrap(e))?;
    let durability = match a.sqlite_sync {
        SyncArg::Full => Durability::Full,
        SyncArg::Normal => Durability::Normal,
    };
    let store = open_store(&database, durability).await?;
    let instance = a.instance.unwrap_or_else(|| default_instance(&a.dir));
    let lock = store
        .lock_for_serving(&instance)
        .await
        .map_err(|e| crate::exit::Failure::Unavailable.wrap(e.into()))?;
    let handle = hanoinet_node::start_instance(
        listener,
        node,
        store,
        Arc::new(SystemClock),
        std::future::pending(),
        lock.instance(),
    )
    .await?;
    println!(
        "node {} serving on {}://{}",
        handle.state.id,
        if handle.tls { "https" } else { "http" },
        handle.addr
    );
    let registry_path = a
        .registry
        .clone()
        .unwrap_or_else(|| a.dir.join(dir::REGISTRY_FILE));
    tokio::spawn(reload_on_hangup(handle.state.clone(), registry_path));
    shutdown_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    drop(lock);
    Ok(())
}

/// On SIGHUP, installs the registry file if it is newer than the one served.
async fn reload_on_hangup(state: Arc<hanoinet_node::node::Node>, path: std::path::PathBuf) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            let text = match dir::read(&path) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "SIGHUP: cannot read the registry");
                    continue;
                }
            };
            if text == state.registry().file {
                tracing::info!(
                    serial = state.registry().serial,
                    "SIGHUP: {} is the registry in force already",
                    path.display()
                );
                continue;
            }
            match state.install_registry(&text, "signal").await {
                Ok(done) => tracing::info!(
                    serial = done.serial,
                    previous = done.previous_serial,
                    "SIGHUP: registry installed"
                ),
                Err(e) => tracing::warn!(error = %e, "SIGHUP: registry refused"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (state, path);
}

/// Opens a node's database with a message that says what to do when it cannot be reached.
pub async fn open_store(database: &str, durability: Durability) -> anyhow::Result<Store> {
    Store::connect_with(database, durability)
        .await
        .map_err(|e| {
            let unreachable = e.is_unreachable();
            let what = format!("cannot open the database {}: {e}", redact(database));
            if unreachable {
                crate::exit::Failure::Unavailable.wrap(anyhow::anyhow!(
                    "{what} (is the database server running and reachable?)"
                ))
            } else {
                anyhow::anyhow!(what)
            }
        })
}

/// `host:/absolute/node/dir`: distinct for replicas on different hosts or directories.
fn default_instance(dir: &std::path::Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".into());
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    format!("{}:{}", host.trim(), dir.display())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user and print their bearer token (shown once; only its hash is stored). The
    /// token expires after the node policy's `token_days` (default 90; 0: never).
    Add(UserAddArgs),
    /// List users: role, when created, last used (to the minute), token expiry, disabled.
    List(UserListArgs),
    /// Disable a user: their token stops working at once (logged in the ledger).
    Disable(UserNameArgs),
    /// Give a user a new token and print it (shown once); the old token stops working.
    RotateToken(UserNameArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a fresh key pair to keys.json and write identity.json with its public keys for the
    /// depositary. The node keeps signing with its current keys until the registry publishes
    /// the new ones, then switches by itself; envelopes sealed to the old keys still open.
    Rotate {
        #[arg(long, env = "HANOINET_DIR")]
        dir: PathBuf,
    },
}

pub fn keys(c: KeysCommand) -> anyhow::Result<()> {
    match c {
        KeysCommand::Rotate { dir: d } => {
            let entry = dir::rotate_keys(&d)?;
            println!(
                "new keys for {}: signing key {}\nSend {} to the depositary (`hanoinet registry add-node --identity ...`); the node switches to the new keys when it installs a registry that publishes them.",
                entry.id,
                entry.signing_key,
                d.join(dir::IDENTITY_FILE).display()
            );
        }
    }
    Ok(())
}

/// Where the node's users live: its directory, or another database.
#[derive(Debug, Args)]
pub struct NodeDb {
    #[arg(long, env = "HANOINET_DIR")]
    pub dir: PathBuf,
    /// Overrides the database URL of node.json.
    #[arg(long, env = "HANOINET_DATABASE")]
    pub database: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserListArgs {
    #[command(flatten)]
    pub db: NodeDb,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserNameArgs {
    #[command(flatten)]
    pub db: NodeDb,
    /// The user's name.
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    pub db: NodeDb,
    /// A unique user name.
    #[arg(long)]
    pub name: String,
    /// officer (send and answer), supervisor (also approve), auditor (the ledger only), admin
    /// (users only), analyst (the response centre's reports and indicators), csam_analyst (also
    /// the restricted queue of child sexual abuse material).
    #[arg(long, default_value = "officer", value_parser = parse_role)]
    pub role: Role,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!(
            "unknown role {s:?} (one of: {})",
            hanoinet_node::ops::access::roles().join(", ")
        )
    })
}

impl NodeDb {
    /// The node's config and an open store.
    pub(crate) async fn open(&self) -> anyhow::Result<(dir::FileConfig, Store)> {
        let text = dir::read(&self.dir.join(dir::CONFIG_FILE))?;
        let file: dir::FileConfig =
            serde_json::from_str(&text).context("node.json is malformed")?;
        let database = self.database.clone().unwrap_or(file.database.clone());
        let store = Store::connect(&database)
            .await
            .with_context(|| format!("opening {}", redact(&database)))?;
        Ok((file, store))
    }
}

pub async fn user(c: UserCommand) -> anyhow::Result<()> {
    use hanoinet_node::provision::network;
    match c {
        UserCommand::Add(a) => {
            anyhow::ensure!(!a.name.trim().is_empty(), "--name must not be empty");
            let (file, store) = a.db.open().await?;
            let expires = file.policy.token_expiry(jiff::Timestamp::now());
            let token =
                network::add_user_until(&store, &file.id, a.name.trim(), a.role, expires).await;
            store.close().await;
            println!("{}", token?);
            Ok(())
        }
        UserCommand::List(a) => {
            let (_, store) = a.db.open().await?;
            let users = store.list_users().await;
            store.close().await;
            let users = users?;
            let at = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
            if a.json {
                let list: Vec<_> = users
                    .iter()
                    .map(|u| {
                        serde_json::json!({
                            "id": u.user.id, "name": u.user.name, "role": u.user.role.as_str(),
                            "created_at": u.created_at, "last_used_at": u.last_used_at,
                            "token_expires_at": u.token_expires_at, "disabled_at": u.disabled_at,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"users": list}))?
                );
            } else {
                println!(
                    "{:<24} {:<11} {:<22} {:<22} {:<22} DISABLED",
                    "NAME", "ROLE", "CREATED", "LAST USED", "TOKEN EXPIRES"
                );
                for u in &users {
                    let created = u.created_at.to_string();
                    println!(
                        "{:<24} {:<11} {:<22} {:<22} {:<22} {}",
                        u.user.name,
                        u.user.role.as_str(),
                        &created[..created.len().min(20)],
                        at(u.last_used_at).unwrap_or_else(|| "never".into()),
                        at(u.token_expires_at).unwrap_or_else(|| "never".into()),
                        at(u.disabled_at).unwrap_or_else(|| "-".into()),
                    );
                }
            }
            Ok(())
        }
        UserCommand::Disable(a) => {
            let (file, store) = a.db.open().await?;
            let done = network::disable_user(&store, &file.id, a.name.trim()).await;
            store.close().await;
            let u = done?;
            println!(
                "disabled {} ({}); their token no longer works",
                u.name,
                u.role.as_str()
            );
            Ok(())
        }
        UserCommand::RotateToken(a) => {
            let (file, store) = a.db.open().await?;
            let expires = file.policy.token_expiry(jiff::Timestamp::now());
            let token = network::rotate_token(&store, &file.id, a.name.trim(), expires).await;
            store.close().await;
            println!("{}", token?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
