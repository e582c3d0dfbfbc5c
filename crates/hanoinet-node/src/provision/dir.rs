//! A node's directory:
//!
//! | file | what | who writes it |
//! | --- | --- | --- |
//! | `node.json` | id, listen address, database URL | `hanoinet init` |
//! | `keys.json` | the node's secret keys (mode 0600) | `hanoinet init` |
//! | `identity.json` | the node's public identity, for the depositary | `hanoinet init` |
//! | `depositary.pub` | the depositary's public key: the trust anchor | `hanoinet init` |
//! | `registry.json` | the signed registry | the operator, from the depositary |
//! | `node.db` | the SQLite database, unless `database` names another | the node |

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use hanoinet_core::NodeId;
use hanoinet_protocol::NodeKeys;
use hanoinet_protocol::keys::{Keyring, VerifyingKey, verifying_key_from_b64};
use hanoinet_protocol::registry::{IdentityFile, NodeEntry, NodeRole, SignedRegistry};

use crate::node::{NodeConfig, Tunables};

pub const CONFIG_FILE: &str = "node.json";
pub const KEYS_FILE: &str = "keys.json";
pub const IDENTITY_FILE: &str = "identity.json";
pub const TRUST_FILE: &str = "depositary.pub";
pub const REGISTRY_FILE: &str = "registry.json";
pub const CONFIG_FORMAT: &str = "hanoinet-node-config/1";

/// `node.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub format: String,
    pub id: NodeId,
    /// Address the HTTP server binds, e.g. `0.0.0.0:7400`.
    pub listen: String,
    /// `sqlite://PATH` or `postgres://...`.
    pub database: String,
    /// What the Convention leaves to the node: approvals, acknowledgement targets.
    #[serde(default)]
    pub policy: hanoinet_core::policy::Policy,
    /// Who hears of missed deadlines and reminders (webhooks, e-mail).
    #[serde(default)]
    pub escalation: crate::workers::notify::Escalation,
    /// Limits of the HTTP listener; every member has a default.
    #[serde(default)]
    pub http: HttpLimits,
    /// Serve HTTPS (built-in TLS) instead of plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
    /// The response centre's public side, on a listener of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<PublicSide>,
}

/// `node.json` → `public`: where citizens reach the response centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSide {
    /// Address the public listener binds, e.g. `0.0.0.0:8080` (not the officers' `listen`).
    pub listen: String,
    /// Reports one client address may send per hour (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports_per_hour: Option<u32>,
}

/// `node.json` → `tls`: PEM files, relative to the node directory unless absolute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// Its private key (keep it 0600).
    pub key: PathBuf,
    /// Certificate authorities trusted for peers' `https://` URLs besides the public roots
    /// (a private CA of the network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_ca: Option<PathBuf>,
}

/// `node.json` → `http`: what a client may hold of the listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Concurrent connections in all.
    pub max_connections: usize,
    /// Concurrent connections from one address (behind a reverse proxy every connection comes
    /// from the proxy: raise this to `max_connections` there and cap clients at the proxy).
    pub max_connections_per_ip: usize,
    /// Seconds a client has to send a request's headers; also the keep-alive idle timeout.
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request body (uploads: the longest pause).
    pub body_read_timeout_secs: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        let t = Tunables::default();
        Self {
            max_connections: t.max_connections,
            max_connections_per_ip: t.max_connections_per_ip,
            header_read_timeout_secs: t.header_read_timeout.as_secs(),
            body_read_timeout_secs: t.body_read_timeout.as_secs(),
        }
    }
}

impl HttpLimits {
    fn apply(&self, t: &mut Tunables) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.max_connections >= 1 && self.max_connections_per_ip >= 1,
            "node.json http: connection limits are at least 1"
        );
        anyhow::ensure!(
            (1..=600).contains(&self.header_read_timeout_secs)
                && (1..=3600).contains(&self.body_read_timeout_secs),
            "node.json http: header_read_timeout_secs is 1 to 600, body_read_timeout_secs 1 to 3600"
        );
        t.max_connections = self.max_connections;
        t.max_connections_per_ip = self.max_connections_per_ip;
        t.header_read_timeout = std::time::Duration::from_secs(self.header_read_timeout_secs);
        t.body_read_timeout = std::time::Duration::from_secs(self.body_read_timeout_secs);
        Ok(())
    }
}

/// What `init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub id: NodeId,
    pub role: NodeRole,
    /// The URL peers reach this node at.
    pub url: String,
    pub listen: String,
    pub database: Option<String>,
    /// The depositary's public key (base64): the registry must be signed by it.
    pub depositary_key: String,
}

fn absolute(dir: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))
}

/// Creates a node directory with fresh keys. Refuses to overwrite existing keys.
pub fn init(dir: &Path, opts: &InitOptions) -> anyhow::Result<NodeEntry> {
    let dir = absolute(dir)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    set_mode(&dir, 0o700)?;
    if dir.join(KEYS_FILE).exists() {
        bail!(
            "{} already holds a node's keys; refusing to overwrite them",
            dir.display()
        );
    }
    verifying_key_from_b64(opts.depositary_key.trim())
        .context("the depositary key must be an Ed25519 public key in base64")?;
    let url = opts.url.trim_end_matches('/').to_owned();
    anyhow::ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--url must start with http:// or https://"
    );

    let keys = NodeKeys::generate();
    write_secret(&dir.join(KEYS_FILE), &keys.to_key_file_json())?;
    let entry = NodeEntry::new(opts.id.clone(), opts.role, url, keys.public());
    write(
        &dir.join(IDENTITY_FILE),
        &serde_json::to_string_pretty(&IdentityFile::new(entry.clone()))?,
    )?;
    write(
        &dir.join(TRUST_FILE),
        &format!("{}\n", opts.depositary_key.trim()),
    )?;
    let database = opts
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("node.db").display()));
    let config = FileConfig {
        format: CONFIG_FORMAT.into(),
        id: opts.id.clone(),
        listen: opts.listen.clone(),
        database,
        policy: Default::default(),
        escalation: Default::default(),
        http: Default::default(),
        tls: None,
        public: None,
    };
    write(
        &dir.join(CONFIG_FILE),
        &serde_json::to_string_pretty(&config)?,
    )?;
    Ok(entry)
}

/// Reads a node directory and verifies its registry. `registry` overrides `DIR/registry.json`.
pub fn load(dir: &Path, registry: Option<&Path>) -> anyhow::Result<(FileConfig, NodeConfig)> {
    let dir = absolute(dir)?;
    let config: FileConfig = serde_json::from_str(&read(&dir.join(CONFIG_FILE))?)
        .with_context(|| format!("{} is malformed", dir.join(CONFIG_FILE).display()))?;
    anyhow::ensure!(
        config.format == CONFIG_FORMAT,
        "unknown config format {:?}",
        config.format
    );
    let keyring = Keyring::from_key_file_json(&read(&dir.join(KEYS_FILE))?)
        .with_context(|| format!("reading {}", dir.join(KEYS_FILE).display()))?;
    let trust = verifying_key_from_b64(read(&dir.join(TRUST_FILE))?.trim()).with_context(|| {
        format!(
            "{} does not hold an Ed25519 public key",
            dir.join(TRUST_FILE).display()
        )
    })?;
    let registry_path = registry.map_or_else(|| dir.join(REGISTRY_FILE), Path::to_path_buf);
    let registry = verify_registry_file(&registry_path, &trust)?;
    let registry_file = read(&registry_path)?;
    let mut tunables = Tunables::default();
    config.http.apply(&mut tunables)?;
    if let Some(p) = &config.public {
        if p.listen == config.listen {
            anyhow::bail!(
                "node.json: public.listen must differ from listen: the public side has a listener of its own"
            );
        }
        if let Some(n) = p.reports_per_hour {
            if n == 0 {
                anyhow::bail!("node.json: public.reports_per_hour must be at least 1");
            }
            tunables.public_reports_per_hour = n;
        }
    }
    let (tls, peer_roots) = match &config.tls {
        None => (None, Vec::new()),
        Some(t) => {
            let at = |p: &Path| {
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    dir.join(p)
                }
            };
            let server = crate::tls::tls_config(&at(&t.cert), &at(&t.key))?;
            let roots = match &t.peer_ca {
                Some(ca) => vec![read(&at(ca)).context("reading tls.peer_ca")?],
                None => Vec::new(),
            };
            (Some(server), roots)
        }
    };
    let node = NodeConfig {
        id: config.id.clone(),
        keyring,
        keys_file: Some(dir.join(KEYS_FILE)),
        trust_anchor: trust,
        registry,
        registry_file,
        tunables,
        policy: config.policy.clone(),
        escalation: config.escalation.clone(),
        tls,
        peer_roots,
        public_listen: config.public.as_ref().map(|p| p.listen.clone()),
    };
    crate::node::check_identity(&node)?;
    Ok((config, node))
}

/// Reads and verifies a signed registry file against the trusted key.
pub fn verify_registry_file(
    path: &Path,
    trust: &VerifyingKey,
) -> anyhow::Result<hanoinet_protocol::Registry> {
    let text = read(path).context(
        "no registry: copy the depositary's signed registry.json into the node directory",
    )?;
    let signed = SignedRegistry::parse(&text)
        .with_context(|| format!("{} is not a signed registry", path.display()))?;
    signed.verify(trust).with_context(|| {
        format!(
            "refusing the registry {}: its signature does not verify",
            path.display()
        )
    })
}

/// Sets a file's or directory's mode (Unix only).
pub fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// What is readable by others than the owner: the node directory (0700 expected), its keys and
/// the SQLite database with its `-wal` and `-shm` files (0600 expected). One line per problem,
/// with the command that fixes it.
pub fn permission_problems(dir: &Path, database: &str) -> Vec<String> {
    let mut out = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut check = |p: &Path, want: u32| {
            if let Ok(m) = std::fs::metadata(p) {
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    out.push(format!(
                        "{} has mode {mode:o}, readable by others: chmod {want:o} {}",
                        p.display(),
                        p.display()
                    ));
                }
            }
        };
        check(dir, 0o700);
        check(&dir.join(KEYS_FILE), 0o600);
        if let Some(db) = sqlite_file(database) {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = db.clone().into_os_string();
                p.push(suffix);
                check(Path::new(&p), 0o600);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, database);
    out
}

/// The file of a `sqlite://PATH` URL (without its `?options`).
pub fn sqlite_file(database: &str) -> Option<PathBuf> {
    let rest = database.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Registry nodes whose URL is plain `http://`: envelopes are sealed and signed, but the
/// transport then shows who talks to whom and when, and the API's bearer tokens travel in clear
/// if officers use the same URL.
pub fn plain_http_nodes(registry: &hanoinet_protocol::Registry) -> Vec<(NodeId, String)> {
    registry
        .nodes
        .iter()
        .filter(|n| n.url.starts_with("http://"))
        .map(|n| (n.id.clone(), n.url.clone()))
        .collect()
}

pub fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Replaces a file atomically (a temporary file beside it, synced, then renamed over it), with
/// `mode`: a crash leaves the old file or the new one, never half of one.
pub fn replace(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let written = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("replacing {}", path.display()));
    }
    if let Some(parent) = path.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Adds a fresh key pair to the node's keys.json (the older pairs stay: the node signs with
/// them until its registry publishes the new one) and writes identity.json with the new public
/// keys, for the depositary. Returns the new identity.
pub fn rotate_keys(dir: &Path) -> anyhow::Result<NodeEntry> {
    let keys_path = dir.join(KEYS_FILE);
    let mut ring = Keyring::from_key_file_json(&read(&keys_path)?)
        .with_context(|| format!("reading {}", keys_path.display()))?;
    let identity_path = dir.join(IDENTITY_FILE);
    let mut entry = IdentityFile::parse(&read(&identity_path)?)
        .with_context(|| format!("reading {}", identity_path.display()))?;
    let public = ring.rotate().public().clone();
    entry.signing_key = public.signing_b64();
    entry.encryption_key = public.encryption_b64();
    entry.valid_from = None;
    entry.valid_until = None;
    entry.previous_keys.clear();
    entry.revoked_keys.clear();
    replace(&keys_path, &ring.to_key_file_json(), 0o600)?;
    replace(
        &identity_path,
        &serde_json::to_string_pretty(&IdentityFile::new(entry.clone()))?,
        0o644,
    )?;
    Ok(entry)
}

/// Writes a file only its owner can read.
pub fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}
