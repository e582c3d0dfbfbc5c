//! The node itself, apart from any front end: who it is, its keys, the registry it trusts, its
//! store, clock and policy, and the caches and wake-ups its use cases and workers share. The REST
//! API ([`crate::http`]), the workers ([`crate::workers`]) and a web console all hold one
//! `Arc<Node>` and act through [`crate::ops`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use hanoinet_core::{Clock, NodeId};
use hanoinet_protocol::keys::{Keyring, VerifyingKey};
use hanoinet_protocol::registry::Registry;
use hanoinet_store::Store;

use crate::trust::{InstallError, Installed, Target, Trusted, install_into, verify};
use hanoinet_ledger::entry::{Event, actors};

/// Everything a node needs to run.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: NodeId,
    /// Every key pair the node holds (keys.json): it signs with the one its registry entry
    /// publishes.
    pub keyring: Keyring,
    /// Where the keyring was read from: re-read when a registry publishes keys of this node's
    /// that it does not hold yet, or an envelope opens with none (after `hanoinet keys rotate`).
    pub keys_file: Option<std::path::PathBuf>,
    /// The depositary's public key (trust.pub): every registry must verify against it.
    pub trust_anchor: VerifyingKey,
    /// The registry, already verified against the depositary's key.
    pub registry: Registry,
    /// The signed registry file the registry was verified from (served to verifiers).
    pub registry_file: String,
    pub tunables: Tunables,
    pub policy: hanoinet_core::policy::Policy,
    pub escalation: crate::workers::notify::Escalation,
    /// Serve HTTPS with this configuration (node.json → `tls`); plain HTTP without.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Certificate authorities (PEM) trusted for peers' `https://` URLs besides the public
    /// roots (node.json → `tls.peer_ca`).
    pub peer_roots: Vec<String>,
    /// Where the public side (the response centre's pages and `/public/v1`) listens, on a
    /// listener of its own (node.json → `public.listen`); none without.
    pub public_listen: Option<String>,
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
    /// Of those, a transfer's chunks in flight at once (each holds up to ~1 MiB in memory while
    /// it is sealed and sent; a few keep a link busy).
    pub bulk_concurrency: usize,
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
    /// Reports one client address may send to the public side per hour.
    pub public_reports_per_hour: u32,
    /// Concurrent connections to the listener, in all.
    pub max_connections: usize,
    /// Concurrent connections from one client address (behind a reverse proxy, that is the
    /// proxy: raise it there).
    pub max_connections_per_ip: usize,
    /// How often a peer whose envelopes all wait out a backoff is tried with its earliest one,
    /// so that a peer back from an outage is found within this time.
    pub probe_interval: Duration,
    /// How often the lookup's index reads the changes other replicas committed.
    pub lookup_refresh: Duration,
}

impl Default for Tunables {
    fn default() -> Self {
        Self {
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            lease: Duration::from_secs(60),
            concurrency: 32,
            bulk_concurrency: 4,
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
            public_reports_per_hour: 10,
            max_connections: 4096,
            max_connections_per_ip: 256,
            probe_interval: Duration::from_secs(5),
            lookup_refresh: Duration::from_millis(500),
        }
    }
}

/// How long an `Idempotency-Key` and its answer are kept.
pub const IDEMPOTENCY_KEEP: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// A running node's shared state.
#[derive(Debug)]
pub struct Node {
    pub id: NodeId,
    /// Every key pair the node holds (read it with [`Node::keyring`]).
    pub keyring: std::sync::RwLock<Arc<Keyring>>,
    /// keys.json, re-read when it changed and a key is missing.
    pub keys_file: Option<std::path::PathBuf>,
    /// When keys.json was last read (its modification time).
    pub keys_read: std::sync::Mutex<Option<std::time::SystemTime>>,
    /// The depositary's public key every registry must verify against.
    pub trust_anchor: VerifyingKey,
    /// The registry in force and what derives from it (read it with [`Node::registry`]; a
    /// newer one replaces it while the node runs).
    pub trusted: std::sync::RwLock<Arc<Trusted>>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub http: reqwest::Client,
    pub tunables: Tunables,
    pub policy: hanoinet_core::policy::Policy,
    pub escalation: crate::workers::notify::Escalation,
    /// Woken when an envelope is queued, so delivery starts at once.
    pub outbox_wake: Notify,
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
    /// Counters `GET /metrics` reports.
    pub metrics: crate::metrics::Metrics,
    /// Calls per client address on the public side.
    pub rate: crate::ops::reports::RateLimiter,
    /// The indicator lookup's index (built and refreshed on a node with a public side).
    pub lookup: crate::lookup::Lookup,
    /// Resumable uploads hashed as their bytes come.
    pub upload_hashers: crate::ops::upload::Hashers,
}

impl Node {
    /// Whether the registry in force lists this node.
    pub fn listed(&self) -> bool {
        self.registry().node(&self.id).is_some()
    }

    /// The key pair the node signs with now.
    pub fn keys(&self) -> hanoinet_protocol::NodeKeys {
        self.registry().signing_keys(self.clock.now()).clone()
    }

    /// Whether `check` accepts one of the keys `signer` has now (by the registry in force: its
    /// current keys, or earlier ones within their overlap; never a revoked key).
    pub fn signed_by(
        &self,
        signer: &NodeId,
        check: impl Fn(&hanoinet_protocol::PublicKeys) -> bool,
    ) -> bool {
        self.registry()
            .keys_valid_at(signer, self.clock.now())
            .iter()
            .any(check)
    }

    /// Opens an envelope sealed to this node, with whichever of its key pairs it was sealed to.
    pub fn open(
        &self,
        env: &hanoinet_protocol::Envelope,
    ) -> Result<Vec<u8>, hanoinet_protocol::EnvelopeError> {
        let current = self.keys();
        let any = |ring: &Keyring| {
            ring.pairs()
                .iter()
                .filter(|k| k.public() != current.public())
                .find_map(|k| env.open(k).ok())
        };
        env.open(&current).or_else(|e| {
            any(&self.keyring())
                .or_else(|| {
                    self.reload_keyring()
                        .then(|| any(&self.keyring()))
                        .flatten()
                })
                .ok_or(e)
        })
    }

    /// The key pairs the node holds.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.keyring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Re-reads keys.json if it changed since it was read; true if it was re-read.
    pub fn reload_keyring(&self) -> bool {
        let Some(path) = &self.keys_file else {
            return false;
        };
        let Ok(modified) = std::fs::metadata(path).and_then(|m| m.modified()) else {
            return false;
        };
        let mut read = self
            .keys_read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *read == Some(modified) {
            return false;
        }
        *read = Some(modified);
        let ring = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Keyring::from_key_file_json(&t).map_err(|e| e.to_string()));
        match ring {
            Ok(ring) => {
                tracing::info!(pairs = ring.pairs().len(), "re-read {}", path.display());
                *self
                    .keyring
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(ring);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot re-read {}", path.display());
                false
            }
        }
    }
}

/// Checks that `config` describes a node that may run: it is in the registry, and its keys are
/// the ones the registry publishes.
pub fn check_identity(config: &NodeConfig) -> anyhow::Result<crate::trust::Trusted> {
    crate::trust::from_registry(
        &config.id,
        &config.keyring,
        config.registry.clone(),
        config.registry_file.clone(),
    )
    .map_err(|e| match e {
        crate::trust::InstallError::DropsNode(id) => anyhow::anyhow!(
            "node {id} is not in the registry; ask the depositary to add its identity.json and re-sign"
        ),
        crate::trust::InstallError::UnknownKeys(id) => anyhow::anyhow!(
            "this node's keys do not match the keys the registry publishes for {id}; the registry or keys.json is stale"
        ),
        e => anyhow::anyhow!("registry entry has invalid keys: {e}"),
    })
}

// ----- the registry in force ---------------------------------------------------------------

impl Node {
    /// The registry in force now (cheap: an `Arc` clone). Hold it for one use case, not longer.
    pub fn registry(&self) -> Arc<Trusted> {
        self.trusted
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn swap(&self, t: Trusted) {
        let t = Arc::new(t);
        let old = {
            let mut slot = self
                .trusted
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::replace(&mut *slot, t.clone())
        };
        if old.current_keys().public() != t.current_keys().public() {
            tracing::info!(
                signing_key = %t.current_keys().public().signing_b64(),
                valid_from = ?t.held[0].valid_from,
                "the registry publishes new keys for this node: it signs with them from their valid_from on"
            );
        }
        tracing::info!(
            serial = t.serial,
            previous = old.serial,
            "registry installed"
        );
    }

    /// Installs the signed registry `file` (from `source`: `api`, `signal`, ...), or says why
    /// not. A refusal is written to the ledger as well.
    pub async fn install_registry(
        &self,
        file: &str,
        source: &str,
    ) -> Result<Installed, InstallError> {
        let current = self.registry();
        let result = self.try_install(file, source, current.serial).await;
        if let Err(e) = &result
            && !matches!(e, InstallError::Store(_))
        {
            tracing::warn!(error = %e, source, "registry refused");
            let entry = hanoinet_ledger::Entry::new(
                Event::RegistryRefused.as_str(),
                self.clock.now(),
                self.id.as_str(),
                actors::SYSTEM.into(),
                format!("registry:{}", current.serial),
            )
            .attr("reason", e.reason())
            .attr(
                "offered",
                hanoinet_ledger::Entry::commitment(file.as_bytes()),
            )
            .attr("source", source);
            if let Err(e) = self.store.append_ledger(&[entry.encode()]).await {
                tracing::error!(error = %e, "could not log a refused registry");
            }
        }
        result
    }

    async fn try_install(
        &self,
        file: &str,
        source: &str,
        current: u64,
    ) -> Result<Installed, InstallError> {
        // Once more after re-reading keys.json, if the registry names keys it did not hold.
        let mut attempt = None;
        for _ in 0..2 {
            let ring = self.keyring();
            let target = Target {
                store: &self.store,
                id: &self.id,
                keyring: &ring,
                anchor: &self.trust_anchor,
            };
            let result = install_into(&target, file, source, current, self.clock.now()).await;
            let retry =
                matches!(result, Err(InstallError::UnknownKeys(_))) && self.reload_keyring();
            attempt = Some(result);
            if !retry {
                break;
            }
        }
        let Some(attempt) = attempt else {
            return Err(InstallError::Invalid("no installation was tried".into()));
        };
        match attempt {
            Ok((t, done)) => {
                self.swap(t);
                Ok(done)
            }
            Err(e) => {
                if matches!(e, InstallError::Rollback { installed, .. } if installed > current) {
                    // Another process installed a newer one: take it up.
                    self.refresh_registry().await?;
                }
                Err(e)
            }
        }
    }

    /// Takes up a registry another process installed in the database (replicas poll this).
    /// True if the registry changed.
    pub async fn refresh_registry(&self) -> Result<bool, InstallError> {
        let current = self.registry().serial;
        match self.store.installed_registry_serial().await? {
            Some(s) if s > current => {}
            _ => return Ok(false),
        }
        let Some(i) = self.store.installed_registry().await? else {
            return Ok(false);
        };
        if i.serial <= self.registry().serial {
            return Ok(false);
        }
        let t = match verify(
            &self.id,
            &self.keyring(),
            &self.trust_anchor,
            &i.signed_file,
        ) {
            Err(InstallError::UnknownKeys(_)) if self.reload_keyring() => verify(
                &self.id,
                &self.keyring(),
                &self.trust_anchor,
                &i.signed_file,
            )?,
            other => other?,
        };
        self.swap(t);
        Ok(true)
    }
}
