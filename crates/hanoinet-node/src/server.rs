//! Runs a node: the HTTP server (API and federation endpoint) and the delivery worker.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use hanoinet_core::{Clock, NodeId};
use hanoinet_protocol::NodeKeys;
use hanoinet_protocol::registry::{NodeEntry, Registry};
use hanoinet_store::Store;

/// Everything a node needs to run.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: NodeId,
    pub keys: NodeKeys,
    /// The registry, already verified against the depositary's key.
    pub registry: Registry,
    /// The signed registry file the registry was verified from (served to verifiers).
    pub registry_file: String,
    pub tunables: Tunables,
    pub policy: hanoinet_core::policy::Policy,
    pub escalation: crate::notify::Escalation,
}

/// Timings and limits, with production defaults; tests shorten them.
#[derive(Debug, Clone)]
pub struct Tunables {
    /// First retry delay; doubles per attempt up to `max_backoff`, with jitter.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claimed outbox row stays reserved for the worker that claimed it.
    pub lease: Duration,
    /// Envelopes in flight at once.
    pub concurrency: usize,
    /// How often the worker looks for due envelopes when nothing woke it (other replicas may
    /// have queued some).
    pub poll_interval: Duration,
    /// Oldest `created_at` a received envelope may carry.
    pub max_envelope_age: Duration,
    /// How far in the future a received envelope's `created_at` may be (clock skew).
    pub max_clock_skew: Duration,
    /// Timeout of one delivery attempt.
    pub request_timeout: Duration,
    /// How often the ledger integrates queued entries, signs a head if the log grew, and checks
    /// peers' heads.
    pub ledger_interval: Duration,
    /// How often deadlines (acknowledgement, preservation) are checked.
    pub clock_interval: Duration,
    /// Largest attachment accepted for upload, in bytes.
    pub max_attachment_bytes: usize,
    /// Rejected envelopes of one signer written to the ledger per minute, at most.
    pub rejections_logged_per_minute: u32,
    /// Time a client has to send a request's headers; also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// Time a client has to send a whole (bounded) request body: API bodies and envelopes.
    /// Uploads are streamed and instead may pause at most this long between two reads.
    pub body_read_timeout: Duration,
    /// Concurrent connections to the listener, in all.
    pub max_connections: usize,
    /// Concurrent connections from one client address (behind a reverse proxy, that is the
    /// proxy: raise it there).
    pub max_connections_per_ip: usize,
}

impl Default for Tunables {
    fn default() -> Self {
        Self {
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            lease: Duration::from_secs(60),
            concurrency: 32,
            poll_interval: Duration::from_secs(2),
            max_envelope_age: Duration::from_secs(24 * 3600),
            max_clock_skew: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            ledger_interval: Duration::from_secs(2),
            clock_interval: Duration::from_secs(15),
            max_attachment_bytes: crate::data::MAX_ATTACHMENT_BYTES,
            rejections_logged_per_minute: 60,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_connections_per_ip: 256,
        }
    }
}

/// Shared state of a running node.
#[derive(Debug)]
pub struct AppState {
    pub id: NodeId,
    pub keys: NodeKeys,
    pub registry: Registry,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub http: reqwest::Client,
    pub tunables: Tunables,
    pub policy: hanoinet_core::policy::Policy,
    pub escalation: crate::notify::Escalation,
    /// What the legal gate needs of every State, read once from the (immutable) registry.
    pub parties: Vec<hanoinet_core::legal::PartyFacts>,
    /// Woken when an envelope is queued, so delivery starts at once.
    pub outbox_wake: Notify,
    /// The signed registry file.
    pub registry_file: String,
    /// Cache of the latest signed tree head (the store holds them all).
    pub head: std::sync::RwLock<Option<hanoinet_ledger::SignedTreeHead>>,
    /// Cache of the last head recorded per peer, so that the same head riding on every receipt
    /// is verified and stored once.
    pub seen_heads: std::sync::Mutex<std::collections::HashMap<NodeId, (u64, [u8; 32])>>,
    /// Commits new requests in groups.
    pub creator: crate::batch::Creator,
    /// Upper levels of the ledger tree (immutable once written).
    pub node_cache: crate::ledger::NodeCache,
    /// Rejected envelopes logged per signer (a flood is not logged entry by entry).
    pub rejections: crate::federation::RejectionBudget,
    /// Open connections to the listener.
    pub connections: Arc<crate::listener::Connections>,
    /// The key of the ledger's keyed commitments (derived from the node's signing key).
    pub commit_key: zeroize::Zeroizing<[u8; 32]>,
}

impl AppState {
    /// This node's own registry entry.
    pub fn me(&self) -> Option<&NodeEntry> {
        self.registry.node(&self.id)
    }
}

/// A running node.
#[derive(Debug)]
pub struct NodeHandle {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
    ledger: JoinHandle<()>,
    clocks: JoinHandle<()>,
    notifier: JoinHandle<()>,
    stop: watch::Sender<bool>,
}

impl NodeHandle {
    /// Stops accepting work, lets in-flight requests finish, and waits for both tasks.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.worker.await;
        let _ = self.ledger.await;
        let _ = self.clocks.await;
        let _ = self.notifier.await;
        self.state.store.close().await;
    }

    /// Aborts both tasks at once, as a crash would (the store keeps what was committed).
    pub fn abort(self) {
        self.server.abort();
        self.worker.abort();
        self.ledger.abort();
        self.clocks.abort();
        self.notifier.abort();
    }
}

/// Checks that `config` describes a node that may run: it is in the registry, and its keys are
/// the ones the registry publishes.
pub fn check_identity(config: &NodeConfig) -> anyhow::Result<()> {
    let entry = config.registry.node(&config.id).with_context(|| {
        format!("node {} is not in the registry; ask the depositary to add its identity.json and re-sign", config.id)
    })?;
    let published = entry
        .public_keys()
        .context("registry entry has invalid keys")?;
    anyhow::ensure!(
        &published == config.keys.public(),
        "this node's keys do not match the keys the registry publishes for {}; the registry or keys.json is stale",
        config.id
    );
    Ok(())
}

/// Starts a node on `listener` with `store`, until `shutdown` completes or the handle is shut
/// down.
pub async fn start(
    listener: TcpListener,
    config: NodeConfig,
    store: Store,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<NodeHandle> {
    check_identity(&config)?;
    config.escalation.validate()?;
    let addr = listener.local_addr()?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(config.tunables.request_timeout)
        .pool_max_idle_per_host(config.tunables.concurrency)
        .user_agent(concat!("hanoinet/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let parties = config.registry.party_facts();
    let commit_key = config
        .keys
        .derive_secret(hanoinet_ledger::entry::COMMITMENT_KEY_LABEL);
    let state = Arc::new(AppState {
        id: config.id,
        keys: config.keys,
        registry: config.registry,
        registry_file: config.registry_file,
        head: std::sync::RwLock::new(None),
        seen_heads: std::sync::Mutex::new(std::collections::HashMap::new()),
        creator: crate::batch::spawn(store.clone()),
        node_cache: Default::default(),
        rejections: Default::default(),
        connections: Default::default(),
        commit_key,
        store,
        clock,
        http,
        tunables: config.tunables,
        policy: config.policy,
        escalation: config.escalation,
        parties,
        outbox_wake: Notify::new(),
    });

    let (stop, stop_rx) = watch::channel(false);
    let stop_on_future = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_on_future.send(true);
    });

    let app = router(state.clone());
    let limits = crate::listener::Limits {
        header_read_timeout: state.tunables.header_read_timeout,
        max_connections: state.tunables.max_connections,
        max_connections_per_ip: state.tunables.max_connections_per_ip,
    };
    let server = tokio::spawn(crate::listener::serve(
        listener,
        app,
        limits,
        state.connections.clone(),
        stop_rx.clone(),
        state.tunables.request_timeout,
    ));
    log_start(&state).await?;
    let worker = tokio::spawn(crate::delivery::run(state.clone(), stop_rx.clone()));
    let ledger = tokio::spawn(crate::ledger::run(state.clone(), stop_rx.clone()));
    let clocks = tokio::spawn(crate::clocks::run(state.clone(), stop_rx.clone()));
    let notifier = tokio::spawn(crate::notify::run(state.clone(), stop_rx));
    tracing::info!(node = %state.id, %addr, backend = state.store.backend(), "node started");
    Ok(NodeHandle {
        addr,
        state,
        server,
        worker,
        ledger,
        clocks,
        notifier,
        stop,
    })
}

/// Logs the start with commitments to the registry and keys in use, so that a change of either
/// shows in the ledger.
async fn log_start(state: &AppState) -> anyhow::Result<()> {
    use hanoinet_ledger::{Entry, entry::events};
    let entry = crate::ledger::entry(
        state,
        events::NODE_STARTED,
        "system".into(),
        format!("registry:{}", state.registry.serial),
    )
    .attr(
        "registry",
        Entry::commitment(state.registry_file.as_bytes()),
    )
    .attr("signing_key", state.keys.public().signing_b64())
    .attr("encryption_key", state.keys.public().encryption_b64())
    .attr("version", env!("CARGO_PKG_VERSION"));
    state
        .store
        .append_ledger(&[entry.encode()])
        .await
        .context("writing the ledger")?;
    Ok(())
}

pub fn router(state: Arc<AppState>) -> Router {
    crate::api::routes()
        .merge(crate::data::routes())
        .merge(crate::federation::routes())
        .merge(crate::ledger::api_routes())
        .merge(crate::ledger::federation_routes())
        .layer(axum::middleware::from_fn(json_bodies_only))
        .with_state(state)
}

/// A request with a body is JSON: a declared `Content-Type` must be `application/json` (or
/// `…+json`), except on an attachment upload, which is the file's bytes. Text sent as
/// `text/plain`, or a form, is not taken for JSON.
async fn json_bodies_only(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let h = req.headers();
    let has_body = h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    let upload = req.uri().path().ends_with("/attachments");
    // An absent type is taken for JSON; a declared one must say JSON.
    let json = h.get(header::CONTENT_TYPE).is_none_or(|v| {
        v.to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"))
    });
    if has_body && !upload && !json {
        return crate::error::ApiError::new(
            crate::error::ErrorCode::UnsupportedMediaType,
            "request bodies are JSON: send them with Content-Type: application/json",
        )
        .into_response();
    }
    next.run(req).await
}
