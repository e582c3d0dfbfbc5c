//! `registry`: the depositary's tools.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use jiff::civil::Date;

use hanoinet_core::StateCode;
use hanoinet_node::provision::dir;
use hanoinet_protocol::keys::{DepositaryKey, verifying_key_from_b64};
use hanoinet_protocol::registry::{
    IdentityFile, Instrument, InstrumentKind, Registry, Reservation, SignedRegistry, StateEntry,
};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Create a depositary key pair: DIR/depositary.key (secret, mode 0600) and DIR/depositary.pub.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Start a new registry draft (unsigned JSON).
    New {
        /// The draft file to create.
        #[arg(long)]
        file: PathBuf,
        /// Publication serial number; increase it with every publication.
        #[arg(long, default_value_t = 1)]
        serial: u64,
        /// Label the registry as demonstration data.
        #[arg(long)]
        demo: bool,
    },
    /// Add or replace a State in a draft.
    AddState(Box<AddStateArgs>),
    /// Add or replace a node in a draft, from the identity.json that `hanoinet init` (or
    /// `hanoinet keys rotate`) wrote. A node already listed with other keys is rotated: its old
    /// keys stay valid for --overlap, so that envelopes in flight and peers that have not
    /// installed the new registry yet keep working.
    AddNode {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        identity: PathBuf,
        /// How long the node's previous keys stay valid after the new ones take over
        /// (a duration such as 48h or 7d; longer than the 24 h an envelope may wait).
        #[arg(long, default_value = "48h", value_parser = parse_duration)]
        overlap: jiff::SignedDuration,
        /// When the new keys take over (RFC 3339; default: as soon as the registry is
        /// installed). Publish the registry ahead of it so every node has it by then.
        #[arg(long)]
        valid_from: Option<Timestamp>,
    },
    /// Remove a State and its nodes from a draft.
    RemoveState {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        code: StateCode,
    },
    /// Remove a node from a draft.
    RemoveNode {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        id: hanoinet_core::NodeId,
    },
    /// Revoke a node's signing key in a draft: envelopes, receipts and tree heads signed by it
    /// are refused once the registry is installed.
    RevokeKey {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        node: hanoinet_core::NodeId,
        /// The signing key (base64) to revoke; default: the node's current key.
        #[arg(long)]
        key: Option<String>,
        /// From when it is refused (RFC 3339; default: now).
        #[arg(long)]
        at: Option<Timestamp>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Increase a draft's serial by one (every publication needs a higher serial).
    BumpSerial {
        #[arg(long)]
        file: PathBuf,
    },
    /// Sign a draft with the depositary key, producing the registry nodes use.
    Sign {
        #[arg(long)]
        file: PathBuf,
        /// The depositary's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// Where to write the signed registry.
        #[arg(long)]
        out: PathBuf,
        /// Set the serial before signing (it must be higher than the last published one).
        #[arg(long)]
        serial: Option<u64>,
    },
    /// Install a newer signed registry in a node: verified against the node's depositary.pub,
    /// refused if its serial is not higher than the installed one's (no rollback) or if it no
    /// longer lists the node with keys it holds. A running node takes it up within seconds;
    /// registry.json is replaced.
    Install {
        /// The signed registry file.
        file: PathBuf,
        #[command(flatten)]
        db: crate::commands::node::NodeDb,
    },
    /// Print a registry: a draft, a signed file (with --depositary-key to check its
    /// signature), or the registry a node serves (--dir).
    Show {
        /// A draft or signed registry file.
        file: Option<PathBuf>,
        /// A node directory: show the registry installed in its database (or registry.json).
        #[arg(long, env = "HANOINET_DIR", conflicts_with = "file")]
        dir: Option<PathBuf>,
        /// Overrides the database URL of node.json (with --dir).
        #[arg(long, env = "HANOINET_DATABASE", requires = "dir")]
        database: Option<String>,
        /// The depositary's public key (base64 or a file) to verify a signed file against.
        #[arg(long)]
        depositary_key: Option<String>,
        /// Print the registry's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a signed registry against a depositary public key and print its summary.
    Verify {
        #[arg(long)]
        registry: PathBuf,
        /// The depositary's public key: base64, or a path to a depositary.pub file.
        #[arg(long)]
        depositary_key: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InstrumentArg {
    Ratification,
    Acceptance,
    Approval,
    Accession,
}

#[derive(Debug, Args)]
pub struct AddStateArgs {
    #[arg(long)]
    pub file: PathBuf,
    /// ISO 3166-1 alpha-3 code, or a regional organization's code.
    #[arg(long)]
    pub code: StateCode,
    #[arg(long)]
    pub name: String,
    /// The State is a regional economic integration organization.
    #[arg(long)]
    pub regional_organization: bool,
    /// Date of signature, YYYY-MM-DD.
    #[arg(long)]
    pub signed: Option<Date>,
    /// Kind of instrument deposited (requires --deposited).
    #[arg(long, value_enum, requires = "deposited")]
    pub instrument: Option<InstrumentArg>,
    /// Date the instrument was deposited, YYYY-MM-DD (requires --instrument).
    #[arg(long, requires = "instrument")]
    pub deposited: Option<Date>,
    /// Date a denunciation was received, YYYY-MM-DD.
    #[arg(long)]
    pub denounced: Option<Date>,
    /// Accepted languages, comma-separated ISO 639-1 codes.
    #[arg(long, value_delimiter = ',')]
    pub languages: Vec<String>,
    /// A reservation or declaration: ARTICLE=DATE=TEXT, e.g. "42(5)=2026-03-10=dual criminality".
    #[arg(long = "reservation")]
    pub reservations: Vec<String>,
    /// For a regional organization: a member State's code (repeatable).
    #[arg(long = "member", requires = "regional_organization")]
    pub members: Vec<StateCode>,
    /// The central authority for mutual legal assistance (Art. 40).
    #[arg(long)]
    pub central_authority: Option<String>,
    /// How to reach the 24/7 point of contact besides its node (Art. 41).
    #[arg(long)]
    pub point_of_contact: Option<String>,
    /// Requests must go through diplomatic channels.
    #[arg(long)]
    pub diplomatic_channel_required: bool,
    /// Urgent requests are accepted through INTERPOL.
    #[arg(long)]
    pub interpol_accepted: bool,
}

fn parse_duration(s: &str) -> Result<jiff::SignedDuration, String> {
    let span: jiff::Span = s
        .parse()
        .map_err(|e| format!("{s:?} is not a duration such as 48h or 7d: {e}"))?;
    let d = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| e.to_string())?;
    if d.is_negative() {
        return Err("the duration must not be negative".into());
    }
    Ok(d)
}

fn read_draft(path: &std::path::Path) -> anyhow::Result<Registry> {
    serde_json::from_str(&dir::read(path)?)
        .with_context(|| format!("{} is not a registry draft", path.display()))
}

fn write_draft(path: &std::path::Path, r: &Registry) -> anyhow::Result<()> {
    dir::write(path, &serde_json::to_string_pretty(r)?)
}

fn depositary_public(arg: &str) -> anyhow::Result<hanoinet_protocol::keys::VerifyingKey> {
    let text = if std::path::Path::new(arg).is_file() {
        dir::read(std::path::Path::new(arg))?
    } else {
        arg.to_owned()
    };
    verifying_key_from_b64(text.trim()).context(
        "--depositary-key is neither an Ed25519 public key in base64 nor a file holding one",
    )
}

pub async fn run(c: RegistryCommand) -> anyhow::Result<()> {
    match c {
        RegistryCommand::Keygen { out } => {
            std::fs::create_dir_all(&out)?;
            let key = DepositaryKey::generate();
            dir::write_secret(&out.join("depositary.key"), &key.to_key_file_json())?;
            dir::write(
                &out.join("depositary.pub"),
                &format!("{}\n", key.public_b64()),
            )?;
            println!("{}", key.public_b64());
        }
        RegistryCommand::New { file, serial, demo } => {
            anyhow::ensure!(!file.exists(), "{} already exists", file.display());
            let mut r = Registry::new(Timestamp::now(), demo);
            r.serial = serial;
            write_draft(&file, &r)?;
            println!("created draft {}", file.display());
        }
        RegistryCommand::AddState(a) => {
            let mut r = read_draft(&a.file)?;
            let mut reservations = Vec::new();
            for spec in &a.reservations {
                let mut parts = spec.splitn(3, '=');
                let (Some(article), Some(made), Some(text)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    anyhow::bail!("--reservation must be ARTICLE=YYYY-MM-DD=TEXT, got {spec:?}");
                };
                reservations.push(Reservation {
                    article: article.trim().into(),
                    made: made
                        .trim()
                        .parse()
                        .with_context(|| format!("bad date in {spec:?}"))?,
                    text: text.trim().into(),
                    withdrawn: None,
                });
            }
            let instrument = match (a.instrument, a.deposited) {
                (Some(kind), Some(deposited)) => Some(Instrument {
                    kind: match kind {
                        InstrumentArg::Ratification => InstrumentKind::Ratification,
                        InstrumentArg::Acceptance => InstrumentKind::Acceptance,
                        InstrumentArg::Approval => InstrumentKind::Approval,
                        InstrumentArg::Accession => InstrumentKind::Accession,
                    },
                    deposited,
                }),
                _ => None,
            };
            r.upsert_state(StateEntry {
                regional_organization: a.regional_organization,
                signed: a.signed,
                instrument,
                denounced: a.denounced,
                reservations,
                languages: a.languages,
                members: a.members,
                central_authority: a.central_authority,
                point_of_contact: a.point_of_contact,
                diplomatic_channel_required: a.diplomatic_channel_required,
                interpol_accepted: a.interpol_accepted,
                ..StateEntry::new(a.code.clone(), a.name)
            });
            write_draft(&a.file, &r)?;
            println!("state {} recorded in {}", a.code, a.file.display());
        }
        RegistryCommand::AddNode {
            file,
            identity,
            overlap,
            valid_from,
        } => {
            let mut r = read_draft(&file)?;
            let node = IdentityFile::parse(&dir::read(&identity)?)?;
            anyhow::ensure!(
                r.state(&node.id.state()).is_some(),
                "add state {} before its node {}",
                node.id.state(),
                node.id
            );
            let id = node.id.clone();
            let keys = node.public_keys()?;
            match r.nodes.iter_mut().find(|n| n.id == id) {
                Some(existing) if existing.public_keys()? != keys => {
                    let from = valid_from.unwrap_or_else(Timestamp::now);
                    let until = from
                        .checked_add(overlap)
                        .context("--valid-from plus --overlap is out of range")?;
                    existing.rotate_to(&keys, until);
                    existing.valid_from = valid_from;
                    existing.url = node.url.clone();
                    existing.role = node.role;
                    println!(
                        "node {id}: new keys{}; the previous keys stay valid until {until}",
                        valid_from.map_or(String::new(), |f| format!(" from {f}"))
                    );
                }
                Some(existing) => {
                    existing.url = node.url.clone();
                    existing.role = node.role;
                }
                None => r.upsert_node(node),
            }
            write_draft(&file, &r)?;
            println!("node {id} recorded in {}", file.display());
        }
        RegistryCommand::RemoveState { file, code } => {
            let mut r = read_draft(&file)?;
            let nodes = r.nodes.iter().filter(|n| n.id.state() == code).count();
            anyhow::ensure!(
                r.remove_state(&code),
                "state {code} is not in {}",
                file.display()
            );
            write_draft(&file, &r)?;
            println!(
                "state {code} and its {nodes} node(s) removed from {}",
                file.display()
            );
        }
        RegistryCommand::RemoveNode { file, id } => {
            let mut r = read_draft(&file)?;
            anyhow::ensure!(r.remove_node(&id), "node {id} is not in {}", file.display());
            write_draft(&file, &r)?;
            println!("node {id} removed from {}", file.display());
        }
        RegistryCommand::RevokeKey {
            file,
            node,
            key,
            at,
            reason,
        } => {
            let mut r = read_draft(&file)?;
            let entry = r
                .nodes
                .iter_mut()
                .find(|n| n.id == node)
                .with_context(|| format!("node {node} is not in {}", file.display()))?;
            let key = key.unwrap_or_else(|| entry.signing_key.clone());
            verifying_key_from_b64(&key).context("--key is not an Ed25519 public key")?;
            anyhow::ensure!(
                key == entry.signing_key
                    || entry.previous_keys.iter().any(|p| p.signing_key == key),
                "{key} is not a key of {node}'s in {}",
                file.display()
            );
            entry.revoked_keys.retain(|k| k.signing_key != key);
            entry
                .revoked_keys
                .push(hanoinet_protocol::registry::RevokedKey {
                    signing_key: key.clone(),
                    revoked_at: at.unwrap_or_else(Timestamp::now),
                    reason,
                });
            let current = key == entry.signing_key;
            write_draft(&file, &r)?;
            println!("key {key} of {node} revoked in {}", file.display());
            if current {
                println!(
                    "note: it is {node}'s current key: the node cannot send until it rotates its keys (hanoinet keys rotate) and you add its new identity"
                );
            }
        }
        RegistryCommand::BumpSerial { file } => {
            let mut r = read_draft(&file)?;
            r.serial = r.serial.checked_add(1).context("serial overflow")?;
            write_draft(&file, &r)?;
            println!("{}: serial {}", file.display(), r.serial);
        }
        RegistryCommand::Install { file, db } => install(&file, &db).await?,
        RegistryCommand::Show {
            file,
            dir: node_dir,
            database,
            depositary_key,
            json,
        } => show(file, node_dir, database, depositary_key, json).await?,
        RegistryCommand::Sign {
            file,
            key,
            out,
            serial,
        } => {
            let mut r = read_draft(&file)?;
            if let Some(s) = serial {
                r.serial = s;
                write_draft(&file, &r)?;
            }
            r.issued_at = Timestamp::now();
            let key = DepositaryKey::from_key_file_json(&dir::read(&key)?)?;
            let signed = r.sign(&key)?;
            dir::write(&out, &signed.to_json())?;
            println!(
                "signed registry serial {} ({} states, {} nodes) written to {}",
                r.serial,
                r.states.len(),
                r.nodes.len(),
                out.display()
            );
        }
        RegistryCommand::Verify {
            registry,
            depositary_key,
        } => {
            let trust = depositary_public(&depositary_key)?;
            let signed = SignedRegistry::parse(&dir::read(&registry)?)?;
            let r = signed.verify(&trust)?;
            print_summary(&r, "signature verifies");
        }
    }
    Ok(())
}

fn print_summary(r: &Registry, signature: &str) {
    println!(
        "registry serial {} issued {}: {signature}",
        r.serial, r.issued_at
    );
    if r.demo {
        println!("DEMO DATA");
    }
    for s in &r.states {
        let status = match (&s.instrument, s.signed) {
            (Some(i), _) => format!("{:?} deposited {}", i.kind, i.deposited).to_lowercase(),
            (None, Some(d)) => format!("signed {d}"),
            (None, None) => "not signed".into(),
        };
        println!("  state {} {} ({status})", s.code, s.name);
    }
    let now = Timestamp::now();
    for n in &r.nodes {
        let mut keys = format!("key {}", n.signing_key);
        if let Some(f) = n.valid_from {
            keys.push_str(&format!(" from {f}"));
        }
        if let Some(u) = n.valid_until {
            keys.push_str(&format!(" until {u}"));
        }
        if n.revoked_at(&n.signing_key, now) {
            keys.push_str(" REVOKED");
        }
        println!("  node {} {} {keys}", n.id, n.url);
        for p in &n.previous_keys {
            let state = if n.revoked_at(&p.signing_key, now) {
                "revoked"
            } else if p.valid_until <= now {
                "expired"
            } else {
                "valid"
            };
            println!(
                "    previous key {} until {} ({state})",
                p.signing_key, p.valid_until
            );
        }
        for k in &n.revoked_keys {
            println!(
                "    revoked key {} at {}{}",
                k.signing_key,
                k.revoked_at,
                k.reason
                    .as_ref()
                    .map_or(String::new(), |r| format!(": {r}"))
            );
        }
    }
}

/// `registry install FILE --dir D`.
async fn install(file: &std::path::Path, db: &crate::commands::node::NodeDb) -> anyhow::Result<()> {
    use crate::exit::Failure;
    let text = dir::read(file)?;
    let keyring = hanoinet_protocol::keys::Keyring::from_key_file_json(&dir::read(
        &db.dir.join(dir::KEYS_FILE),
    )?)?;
    let anchor = verifying_key_from_b64(dir::read(&db.dir.join(dir::TRUST_FILE))?.trim())
        .context("depositary.pub does not hold an Ed25519 public key")?;
    let (config, store) = db.open().await?;
    let registry_path = db.dir.join(dir::REGISTRY_FILE);
    let on_disk = dir::verify_registry_file(&registry_path, &anchor)
        .map(|r| r.serial)
        .unwrap_or(0);
    let target = hanoinet_node::trust::Target {
        store: &store,
        id: &config.id,
        keyring: &keyring,
        anchor: &anchor,
    };
    let result =
        hanoinet_node::trust::install_into(&target, &text, "cli", on_disk, Timestamp::now()).await;
    store.close().await;
    let (_, done) = result.map_err(|e| {
        let failure = match e {
            hanoinet_node::trust::InstallError::Rollback { .. } => Failure::Conflict,
            hanoinet_node::trust::InstallError::Store(_) => Failure::Unavailable,
            _ => Failure::Invalid,
        };
        failure.wrap(anyhow::anyhow!("refusing {}: {e}", file.display()))
    })?;
    dir::replace(&registry_path, &text, 0o644)?;
    println!(
        "installed registry serial {} (was {}) for {}; {} replaced. A running node takes it up within a few seconds (or at once on SIGHUP).",
        done.serial,
        done.previous_serial,
        config.id,
        registry_path.display()
    );
    Ok(())
}

/// `registry show`.
async fn show(
    file: Option<PathBuf>,
    node_dir: Option<PathBuf>,
    database: Option<String>,
    depositary_key: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let (registry, signature) = match (file, node_dir) {
        (Some(file), _) => {
            let text = dir::read(&file)?;
            match SignedRegistry::parse(&text) {
                Ok(signed) => match depositary_key {
                    Some(k) => (
                        signed.verify(&depositary_public(&k)?)?,
                        "signature verifies",
                    ),
                    None => (
                        serde_json::from_str(&signed.registry)
                            .context("the signed file holds no registry")?,
                        "signature not checked (give --depositary-key)",
                    ),
                },
                Err(_) => (read_draft(&file)?, "unsigned draft"),
            }
        }
        (None, Some(node_dir)) => {
            let anchor = verifying_key_from_b64(dir::read(&node_dir.join(dir::TRUST_FILE))?.trim())
                .context("depositary.pub does not hold an Ed25519 public key")?;
            let db = crate::commands::node::NodeDb {
                dir: node_dir.clone(),
                database,
            };
            let (_, store) = db.open().await?;
            let installed = store.installed_registry().await;
            store.close().await;
            match installed? {
                Some(i) => (
                    SignedRegistry::parse(&i.signed_file)?.verify(&anchor)?,
                    "installed in the node's database; signature verifies",
                ),
                None => (
                    dir::verify_registry_file(&node_dir.join(dir::REGISTRY_FILE), &anchor)?,
                    "registry.json (none installed yet); signature verifies",
                ),
            }
        }
        (None, None) => anyhow::bail!("give a registry FILE or a node --dir"),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&registry)?);
    } else {
        print_summary(&registry, signature);
    }
    Ok(())
}
