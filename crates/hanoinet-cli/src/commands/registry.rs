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
    /// Add or replace a node in a draft, from the identity.json that `hanoinet init` wrote.
    AddNode {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        identity: PathBuf,
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

pub fn run(c: RegistryCommand) -> anyhow::Result<()> {
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
        RegistryCommand::AddNode { file, identity } => {
            let mut r = read_draft(&file)?;
            let node = IdentityFile::parse(&dir::read(&identity)?)?;
            anyhow::ensure!(
                r.state(&node.id.state()).is_some(),
                "add state {} before its node {}",
                node.id.state(),
                node.id
            );
            let id = node.id.clone();
            r.upsert_node(node);
            write_draft(&file, &r)?;
            println!("node {id} recorded in {}", file.display());
        }
        RegistryCommand::Sign { file, key, out } => {
            let mut r = read_draft(&file)?;
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
            println!(
                "registry serial {} issued {}: signature verifies",
                r.serial, r.issued_at
            );
            if r.demo {
                println!("DEMO DATA");
            }
            for s in &r.states {
                println!("  state {} {}", s.code, s.name);
            }
            for n in &r.nodes {
                println!("  node {} {}", n.id, n.url);
            }
        }
    }
    Ok(())
}
