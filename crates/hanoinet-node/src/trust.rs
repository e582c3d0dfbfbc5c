//! What a running node trusts: the signed registry (installed without a restart, never rolled
//! back) and, of the key pairs it holds, the one its registry entry publishes.
//!
//! A registry reaches a node by `hanoinet registry install` (written to the database, which every
//! replica polls), by SIGHUP (the node re-reads `registry.json`) or by `POST /api/v1/registry`.
//! Each way ends in [`crate::node::Node::install_registry`]: the signature is verified against the trust
//! anchor, the serial must be higher than the installed one's (also across restarts: the
//! database keeps it), and the registry must still list this node with keys it holds.

use hanoinet_core::NodeId;
use hanoinet_core::legal::PartyFacts;
use hanoinet_ledger::entry::{Event, actors};
use hanoinet_protocol::keys::{Keyring, VerifyingKey};
use hanoinet_protocol::{NodeKeys, Registry, SignedRegistry};
use hanoinet_store::{RegistryInstall, Store, StoreError};

/// One verified registry and what the node derives from it.
#[derive(Debug)]
pub struct Trusted {
    pub registry: Registry,
    /// The signed file, exactly as verified (served to verifiers).
    pub file: String,
    /// What the legal gate needs of every State.
    pub parties: Vec<PartyFacts>,
    /// The key pairs the registry lists for this node that it holds, each with its period,
    /// the current one first: it signs with the first valid at the time.
    pub held: Vec<HeldKeys>,
}

/// A key pair of the node's own with the period its registry entry gives it.
#[derive(Debug)]
pub struct HeldKeys {
    pub keys: NodeKeys,
    pub valid_from: Option<jiff::Timestamp>,
    pub valid_until: Option<jiff::Timestamp>,
}

impl Trusted {
    /// The key pair the node signs with at `now`: the first it holds that the registry lists
    /// as valid then (the current one once its `valid_from` has passed, an earlier one before);
    /// the current one if none is.
    pub fn signing_keys(&self, now: jiff::Timestamp) -> &NodeKeys {
        self.held
            .iter()
            .find(|h| {
                h.valid_from.is_none_or(|f| f <= now) && h.valid_until.is_none_or(|u| now < u)
            })
            .map_or(&self.held[0].keys, |h| &h.keys)
    }

    /// The current key pair (what the registry publishes as the node's keys).
    pub fn current_keys(&self) -> &NodeKeys {
        &self.held[0].keys
    }
}

impl std::ops::Deref for Trusted {
    type Target = Registry;
    fn deref(&self) -> &Registry {
        &self.registry
    }
}

/// Why a registry was not installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "registry serial {offered} is not newer than the installed serial {installed}: a registry is never rolled back (ask the depositary for a newer one)"
    )]
    Rollback { offered: u64, installed: u64 },
    #[error(
        "the registry does not list this node ({0}); installing it would cut the node off the network"
    )]
    DropsNode(NodeId),
    #[error(
        "the registry publishes keys for {0} that this node does not hold (keys.json); run `hanoinet keys rotate` on this node and send its identity.json to the depositary"
    )]
    UnknownKeys(NodeId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl InstallError {
    /// The reason recorded in the ledger.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::Rollback { .. } => "rollback",
            Self::DropsNode(_) => "drops_node",
            Self::UnknownKeys(_) => "unknown_keys",
            Self::Store(_) => "store",
        }
    }
}

impl From<InstallError> for crate::error::NodeError {
    fn from(e: InstallError) -> Self {
        use crate::error::ErrorCode;
        let code = match &e {
            InstallError::Invalid(_) => ErrorCode::RegistryInvalid,
            InstallError::Rollback { .. } => ErrorCode::RegistryRollback,
            InstallError::DropsNode(_) => ErrorCode::RegistryDropsNode,
            InstallError::UnknownKeys(_) => ErrorCode::RegistryUnknownKeys,
            InstallError::Store(_) => {
                return match e {
                    InstallError::Store(s) => Self::Store(s),
                    _ => Self::internal("unreachable"),
                };
            }
        };
        Self::Refused {
            code,
            message: e.to_string(),
        }
    }
}

/// Verifies `file` against `anchor` and checks that it lists `id` with keys `keyring` holds.
pub fn verify(
    id: &NodeId,
    keyring: &Keyring,
    anchor: &VerifyingKey,
    file: &str,
) -> Result<Trusted, InstallError> {
    let registry = SignedRegistry::parse(file)
        .and_then(|s| s.verify(anchor))
        .map_err(|e| InstallError::Invalid(e.to_string()))?;
    from_registry(id, keyring, registry, file.to_owned())
}

/// A verified registry's [`Trusted`] form, if it lists `id` with keys `keyring` holds.
pub fn from_registry(
    id: &NodeId,
    keyring: &Keyring,
    registry: Registry,
    file: String,
) -> Result<Trusted, InstallError> {
    let entry = registry
        .node(id)
        .ok_or_else(|| InstallError::DropsNode(id.clone()))?;
    let published = entry
        .public_keys()
        .map_err(|e| InstallError::Invalid(e.to_string()))?;
    let current = keyring
        .find(&published)
        .ok_or_else(|| InstallError::UnknownKeys(id.clone()))?
        .clone();
    let mut held = vec![HeldKeys {
        keys: current,
        valid_from: entry.valid_from,
        valid_until: entry.valid_until,
    }];
    for p in &entry.previous_keys {
        let Ok(public) = hanoinet_protocol::PublicKeys::from_b64(&p.signing_key, &p.encryption_key)
        else {
            continue;
        };
        if let Some(k) = keyring.find(&public)
            && !entry
                .revoked_keys
                .iter()
                .any(|r| r.signing_key == p.signing_key)
        {
            held.push(HeldKeys {
                keys: k.clone(),
                valid_from: p.valid_from,
                valid_until: Some(p.valid_until),
            });
        }
    }
    let parties = registry.party_facts();
    Ok(Trusted {
        registry,
        file,
        parties,
        held,
    })
}

/// At start: the registry to serve, of the one in the node's files (`configured`) and the one
/// installed in the database. The higher serial wins; a file older than the installed registry
/// is refused (logged), never served. A newer file is installed.
pub async fn at_start(
    store: &Store,
    id: &NodeId,
    keyring: &Keyring,
    anchor: &VerifyingKey,
    configured: Trusted,
    now: jiff::Timestamp,
) -> Result<Trusted, InstallError> {
    let installed = store.installed_registry().await?;
    match installed {
        Some(i)
            if i.serial > configured.serial
                || (i.serial == configured.serial && i.signed_file != configured.file) =>
        {
            let t = verify(id, keyring, anchor, &i.signed_file)?;
            tracing::warn!(
                file_serial = configured.serial,
                installed_serial = i.serial,
                "the registry file is not newer than the registry installed in the database; refusing it (no rollback) and serving serial {}; replace registry.json with the current registry",
                i.serial
            );
            Ok(t)
        }
        Some(i) if i.serial == configured.serial => Ok(configured),
        previous => {
            let entry = install_entry(id, &configured, previous.map(|p| p.serial), "start", now);
            match store
                .install_registry(configured.serial, &configured.file, now, &[entry])
                .await?
            {
                RegistryInstall::Installed => Ok(configured),
                // Another replica installed a newer one meanwhile: serve that.
                RegistryInstall::NotNewer { .. } => match store.installed_registry().await? {
                    Some(i) if i.signed_file != configured.file => {
                        verify(id, keyring, anchor, &i.signed_file)
                    }
                    _ => Ok(configured),
                },
            }
        }
    }
}

pub(crate) fn install_entry(
    id: &NodeId,
    t: &Trusted,
    previous: Option<u64>,
    source: &str,
    now: jiff::Timestamp,
) -> Vec<u8> {
    let mut e = hanoinet_ledger::Entry::new(
        Event::RegistryInstalled.as_str(),
        now,
        id.as_str(),
        actors::SYSTEM.into(),
        format!("registry:{}", t.serial),
    )
    .attr("serial", t.serial.to_string())
    .attr(
        "registry",
        hanoinet_ledger::Entry::commitment(t.file.as_bytes()),
    )
    .attr("source", source)
    .attr("signing_key", t.current_keys().public().signing_b64());
    if let Some(p) = previous {
        e = e.attr("previous_serial", p.to_string());
    }
    e.encode()
}

/// Where a registry is installed: a node's database, for the node's identity and keys.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub store: &'a Store,
    pub id: &'a NodeId,
    pub keyring: &'a Keyring,
    pub anchor: &'a VerifyingKey,
}

/// Verifies `file` and installs it in the database if its serial is higher than both `current`
/// (what the caller serves) and the installed one's. `hanoinet registry install` uses it with
/// the node's files; a running node through [`crate::node::Node::install_registry`].
pub async fn install_into(
    target: &Target<'_>,
    file: &str,
    source: &str,
    current: u64,
    now: jiff::Timestamp,
) -> Result<(Trusted, Installed), InstallError> {
    let t = verify(target.id, target.keyring, target.anchor, file)?;
    let installed = target.store.installed_registry_serial().await?;
    let previous = installed.unwrap_or(0).max(current);
    if t.serial <= previous {
        return Err(InstallError::Rollback {
            offered: t.serial,
            installed: previous,
        });
    }
    let entry = install_entry(target.id, &t, Some(previous), source, now);
    match target
        .store
        .install_registry(t.serial, file, now, &[entry])
        .await?
    {
        RegistryInstall::Installed => {
            let done = Installed {
                serial: t.serial,
                previous_serial: previous,
            };
            Ok((t, done))
        }
        RegistryInstall::NotNewer { installed } => Err(InstallError::Rollback {
            offered: t.serial,
            installed,
        }),
    }
}

/// What an installation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installed {
    pub serial: u64,
    pub previous_serial: u64,
}
