//! The node itself, apart from any front end: who it is, its keys, the registry it trusts, its
//! store, clock and policy, and the caches and wake-ups its use cases and workers share. The REST
//! API ([`crate::http`]), the workers ([`crate::workers`]) and a web console all hold one
//! `Arc<Node>` and act through [`crate::ops`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;

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
    pub escalation: crate::workers::notify::Escalation,
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
    /// How often a peer whose envelopes all wait out a backoff is tried with its earliest one,
    /// so that a peer back from an outage is found within this time.
    pub probe_interval: Duration,
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
            max_attachment_bytes: crate::ops::data::MAX_ATTACHMENT_BYTES,
            rejections_logged_per_minute: 60,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_connections_per_ip: 256,
            probe_interval: Duration::from_secs(5),
        }
    }
}

/// How long an `Idempotency-Key` and its answer are kept.
pub const IDEMPOTENCY_KEEP: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// A running node's shared state.
#[derive(Debug)]
pub struct Node {
    pub id: NodeId,
    pub keys: NodeKeys,
    pub registry: Registry,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub http: reqwest::Client,
    pub tunables: Tunables,
    pub policy: hanoinet_core::policy::Policy,
    pub escalation: crate::workers::notify::Escalation,
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
    pub creator: crate::ops::batch::Creator,
    /// Upper levels of the ledger tree (immutable once written).
    pub node_cache: crate::ops::ledger::NodeCache,
    /// Rejected envelopes logged per signer (a flood is not logged entry by entry).
    pub rejections: crate::ops::inbound::RejectionBudget,
    /// The key of the ledger's keyed commitments (derived from the node's signing key).
    pub commit_key: zeroize::Zeroizing<[u8; 32]>,
    /// This process's name among the replicas: the holder of the leases it takes.
    pub instance: String,
    /// Peers a delivery of this process failed to since it last reached them: the first
    /// delivery that reaches one again makes its whole backlog due.
    pub failing_peers: std::sync::Mutex<std::collections::HashSet<hanoinet_core::NodeId>>,
    /// When this process started.
    pub started_at: jiff::Timestamp,
}

impl Node {
    /// This node's own registry entry.
    pub fn me(&self) -> Option<&NodeEntry> {
        self.registry.node(&self.id)
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
