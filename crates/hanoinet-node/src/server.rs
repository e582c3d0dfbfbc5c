//! Runs a node: the HTTP listener (API and federation endpoint) and the workers. The one file
//! outside `http/` that starts the server.

use hanoinet_ledger::entry::actors;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use hanoinet_core::Clock;
use hanoinet_store::Store;

use crate::node::{Node, NodeConfig, check_identity};

/// A running node.
#[derive(Debug)]
pub struct NodeHandle {
    pub addr: SocketAddr,
    /// Where the public side listens, if the node has one.
    pub public_addr: Option<SocketAddr>,
    /// The listener serves HTTPS.
    pub tls: bool,
    pub state: Arc<Node>,
    /// Open connections to the listener.
    pub connections: Arc<crate::http::listener::Connections>,
    server: JoinHandle<()>,
    public: Option<JoinHandle<()>>,
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
        if let Some(p) = self.public {
            let _ = p.await;
        }
        let _ = self.worker.await;
        let _ = self.ledger.await;
        let _ = self.clocks.await;
        let _ = self.notifier.await;
        self.state.store.close().await;
    }

    /// Aborts both tasks at once, as a crash would (the store keeps what was committed).
    pub fn abort(self) {
        self.server.abort();
        if let Some(p) = &self.public {
            p.abort();
        }
        self.worker.abort();
        self.ledger.abort();
        self.clocks.abort();
        self.notifier.abort();
    }
}

/// Starts a node on `listener` with `store`, until `shutdown` completes or the handle is shut
/// down. The process takes leases under a name of its own and releases none at start (see
/// [`start_instance`]).
pub async fn start(
    listener: TcpListener,
    config: NodeConfig,
    store: Store,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<NodeHandle> {
    let instance = format!("{}/{}", config.id, uuid::Uuid::now_v7().simple());
    launch(listener, config, store, clock, shutdown, instance).await
}

/// Starts a node as the process named `instance`, which must hold the serving lock
/// (`Store::lock_for_serving`): the leases its earlier run held (on SQLite: every lease) are
/// released first, so that what a killed process had reserved goes out at once.
pub async fn start_instance(
    listener: TcpListener,
    config: NodeConfig,
    store: Store,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    instance: &str,
) -> anyhow::Result<NodeHandle> {
    let released = store.release_leases(instance).await?;
    if released > 0 {
        tracing::info!(
            released,
            "took back envelopes an earlier run had reserved; delivering them now"
        );
    }
    launch(
        listener,
        config,
        store,
        clock,
        shutdown,
        instance.to_owned(),
    )
    .await
}

async fn launch(
    listener: TcpListener,
    config: NodeConfig,
    store: Store,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    instance: String,
) -> anyhow::Result<NodeHandle> {
    let configured = check_identity(&config)?;
    config.escalation.validate()?;
    let addr = listener.local_addr()?;
    let mut http = reqwest::Client::builder();
    for pem in &config.peer_roots {
        for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .context("tls.peer_ca is not a PEM certificate bundle")?
        {
            http = http.add_root_certificate(cert);
        }
    }
    let tls = config.tls.clone();
    // Bound before anything starts, so that a taken address fails the start with its name.
    let public_listener = match &config.public_listen {
        Some(at) => Some(
            TcpListener::bind(at)
                .await
                .with_context(|| format!("binding the public listener (public.listen) to {at}"))?,
        ),
        None => None,
    };
    let http = http
        .connect_timeout(Duration::from_secs(5))
        .timeout(config.tunables.request_timeout)
        .pool_max_idle_per_host(config.tunables.concurrency)
        .user_agent(concat!("hanoinet/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let commit_key = config.keyring.commitment_secret().clone();
    let started_at = clock.now();
    let trusted = crate::trust::at_start(
        &store,
        &config.id,
        &config.keyring,
        &config.trust_anchor,
        configured,
        started_at,
    )
    .await?;
    let state = Arc::new(Node {
        id: config.id,
        keys_read: std::sync::Mutex::new(
            config
                .keys_file
                .as_ref()
                .and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()),
        ),
        keyring: std::sync::RwLock::new(Arc::new(config.keyring)),
        keys_file: config.keys_file,
        trust_anchor: config.trust_anchor,
        trusted: std::sync::RwLock::new(Arc::new(trusted)),
        head: std::sync::RwLock::new(None),
        seen_heads: std::sync::Mutex::new(std::collections::HashMap::new()),
        creator: crate::ops::batch::spawn(store.clone()),
        node_cache: Default::default(),
        rejections: Default::default(),
        commit_key,
        store,
        clock,
        http,
        tunables: config.tunables,
        policy: config.policy,
        escalation: config.escalation,
        outbox_wake: Notify::new(),
        started_at,
        instance,
        failing_peers: Default::default(),
        upload_hashers: Default::default(),
        metrics: Default::default(),
        rate: Default::default(),
        lookup: Default::default(),
    });

    let (stop, stop_rx) = watch::channel(false);
    let stop_on_future = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_on_future.send(true);
    });

    let app = crate::http::router(state.clone());
    let connections: Arc<crate::http::listener::Connections> = Default::default();
    let limits = crate::http::listener::Limits {
        header_read_timeout: state.tunables.header_read_timeout,
        max_connections: state.tunables.max_connections,
        max_connections_per_ip: state.tunables.max_connections_per_ip,
    };
    let server = tokio::spawn(crate::http::listener::serve(
        listener,
        app,
        limits.clone(),
        connections.clone(),
        stop_rx.clone(),
        state.tunables.request_timeout,
        tls.clone(),
    ));
    let mut public_addr = None;
    let public = match public_listener {
        Some(l) => {
            public_addr = Some(l.local_addr()?);
            // The lookup it serves: built, then refreshed by version cursor until the stop.
            tokio::spawn(crate::workers::lookup::run(
                state.clone(),
                state.tunables.lookup_refresh,
                stop_rx.clone(),
            ));
            Some(tokio::spawn(crate::http::listener::serve(
                l,
                crate::http::public::router(state.clone()),
                limits.clone(),
                Default::default(),
                stop_rx.clone(),
                state.tunables.request_timeout,
                tls.clone(),
            )))
        }
        None => None,
    };
    log_start(&state).await?;
    let worker = tokio::spawn(crate::workers::delivery::run(
        state.clone(),
        stop_rx.clone(),
    ));
    let ledger = tokio::spawn(crate::workers::ledger::run(state.clone(), stop_rx.clone()));
    let clocks = tokio::spawn(crate::workers::clocks::run(state.clone(), stop_rx.clone()));
    let notifier = tokio::spawn(crate::workers::notify::run(state.clone(), stop_rx));
    tracing::info!(node = %state.id, %addr, public = ?public_addr, tls = tls.is_some(), backend = state.store.backend(), "node started");
    Ok(NodeHandle {
        addr,
        public_addr,
        public,
        tls: tls.is_some(),
        state,
        connections,
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
async fn log_start(state: &Node) -> anyhow::Result<()> {
    use hanoinet_ledger::{Entry, entry::Event};
    let trusted = state.registry();
    let entry = crate::ops::ledger::entry(
        state,
        Event::NodeStarted,
        actors::SYSTEM.into(),
        format!("registry:{}", trusted.serial),
    )
    .attr("registry", Entry::commitment(trusted.file.as_bytes()))
    .attr("signing_key", trusted.current_keys().public().signing_b64())
    .attr(
        "encryption_key",
        trusted.current_keys().public().encryption_b64(),
    )
    .attr("version", env!("CARGO_PKG_VERSION"));
    state
        .store
        .append_ledger(&[entry.encode()])
        .await
        .context("writing the ledger")?;
    Ok(())
}
