//! Provisions a complete local network in one directory: a depositary key, one directory per
//! node, a signed registry, an officer per node, and `network.json`. Used by `hanoinet demo`, the
//! end-to-end tests and the delivery benchmark.

use hanoinet_ledger::Event;
use std::path::{Path, PathBuf};

use anyhow::Context;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use hanoinet_core::access::Role;
use hanoinet_core::{NodeId, StateCode};
use hanoinet_protocol::keys::DepositaryKey;
use hanoinet_protocol::registry::{
    Instrument, InstrumentKind, NodeRole, Registry, Reservation, StateEntry,
};
use hanoinet_store::{Durability, Store, User};

use crate::provision::dir::{self, InitOptions};

pub const NETWORK_FILE: &str = "network.json";

/// `network.json`: how to reach each node of a local network, with an officer's token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkFile {
    pub nodes: Vec<NetworkNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkNode {
    pub id: NodeId,
    pub api_url: String,
    /// An officer's bearer token (demo data).
    pub token: String,
    /// An auditor's bearer token: reads the ledger, not the cases (demo data).
    pub auditor_token: String,
    /// A supervisor's bearer token: approves requests others wrote (four eyes) (demo data).
    #[serde(default)]
    pub supervisor_token: String,
    /// An analyst's bearer token: the response centre's triage (demo data).
    #[serde(default)]
    pub analyst_token: String,
    /// A child-protection analyst's bearer token: also the restricted queue (demo data).
    #[serde(default)]
    pub csam_analyst_token: String,
    /// Where the node's public side (the response centre) is, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// The node's directory.
    pub dir: PathBuf,
    /// The web console and its demo users (written by `hanoinet demo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<ConsoleAccess>,
}

/// Where a node's web console is and who can sign in to it (demo data only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleAccess {
    pub url: String,
    pub users: Vec<ConsoleUser>,
}

/// A console user of the demo: password and TOTP secret (base32) in clear, demo data only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleUser {
    pub username: String,
    pub password: String,
    pub totp_secret: String,
    pub role: Role,
}

/// One node to provision.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub id: NodeId,
    /// Where the node listens, e.g. `127.0.0.1:7400`; its URL is `http://{listen}`.
    pub listen: String,
    /// Database URL; SQLite in the node's directory when `None`.
    pub database: Option<String>,
}

/// The node directory for `id` under a network directory (`VNM/247` → `VNM-247`).
pub fn node_dir(network_dir: &Path, id: &NodeId) -> PathBuf {
    network_dir.join(id.as_str().replace('/', "-"))
}

/// Today's date (UTC).
pub fn today() -> Date {
    Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn date(s: &str) -> anyhow::Result<Date> {
    s.parse().with_context(|| format!("bad date {s}"))
}

/// Filler Parties of the demonstration registry: code, name, languages, day of 2026 on which the
/// instrument was deposited. With the named States below they make more than forty instruments.
const DEMO_PARTIES: [(&str, &str, &str, i16); 38] = [
    ("ARG", "Argentina", "es", 5),
    ("AUS", "Australia", "en", 8),
    ("AUT", "Austria", "de", 12),
    ("BEL", "Belgium", "fr", 15),
    ("BGD", "Bangladesh", "en", 19),
    ("BRA", "Brazil", "pt", 22),
    ("CMR", "Cameroon", "fr", 26),
    ("COL", "Colombia", "es", 29),
    ("DEU", "Germany", "de", 33),
    ("DOM", "Dominican Republic", "es", 36),
    ("EGY", "Egypt", "ar", 40),
    ("ESP", "Spain", "es", 43),
    ("ETH", "Ethiopia", "en", 47),
    ("GHA", "Ghana", "en", 50),
    ("IDN", "Indonesia", "id", 54),
    ("IND", "India", "en", 57),
    ("ITA", "Italy", "it", 61),
    ("JPN", "Japan", "ja", 64),
    ("KHM", "Cambodia", "km", 68),
    ("LAO", "Lao People's Democratic Republic", "lo", 71),
    ("MAR", "Morocco", "fr", 75),
    ("MEX", "Mexico", "es", 78),
    ("MYS", "Malaysia", "ms", 82),
    ("NGA", "Nigeria", "en", 85),
    ("NLD", "Netherlands", "nl", 89),
    ("PAK", "Pakistan", "en", 92),
    ("PER", "Peru", "es", 96),
    ("PHL", "Philippines", "en", 99),
    ("POL", "Poland", "pl", 103),
    ("PRT", "Portugal", "pt", 106),
    ("RWA", "Rwanda", "en", 110),
    ("SEN", "Senegal", "fr", 113),
    ("SGP", "Singapore", "en", 117),
    ("THA", "Thailand", "th", 120),
    ("TUN", "Tunisia", "ar", 124),
    ("TZA", "United Republic of Tanzania", "sw", 127),
    ("URY", "Uruguay", "es", 131),
    ("ZAF", "South Africa", "en", 134),
];

/// The States of the demonstration registry (fictitious dates, labelled as demo data), relative
/// to `today` where the point is the window they are in:
///
/// - 41 States deposited instruments in the first months of 2026 (VNM, FRA, KEN and 38 others),
///   so the Convention is in force generally;
/// - `EU`, a regional organization whose members FRA, DEU, ITA, ESP, NLD, BEL deposited too (its
///   instrument does not count towards the forty);
/// - FRA made the Art. 42(5) reservation;
/// - CHL and NZL signed only (CHL has a node, so the refusal can be seen); CHL requires
///   diplomatic channels;
/// - SWE deposited ten days before `today`: in force only from its 30th day;
/// - URY denounced the Convention a month before `today` (in force until the year is up).
pub fn demo_states(today: Date) -> anyhow::Result<Vec<StateEntry>> {
    use jiff::ToSpan;
    let signed = date("2025-10-25")?;
    let party = |code: &str,
                 name: &str,
                 langs: &[&str],
                 deposited: Option<Date>|
     -> anyhow::Result<StateEntry> {
        Ok(StateEntry {
            signed: Some(signed),
            instrument: deposited.map(|d| Instrument {
                kind: InstrumentKind::Ratification,
                deposited: d,
            }),
            languages: langs.iter().map(|l| (*l).to_owned()).collect(),
            ..StateEntry::new(code.parse::<StateCode>()?, name)
        })
    };
    let day_of_2026 =
        |n: i16| date("2026-01-01").map(|d| d.saturating_add((i64::from(n) - 1).days()));

    let mut states = vec![
        StateEntry {
            central_authority: Some("Ministry of Public Security, International Cooperation Department (demo)".into()),
            point_of_contact: Some("24/7 desk, Department of Cybersecurity and High-Tech Crime Prevention (demo)".into()),
            interpol_accepted: true,
            ..party("VNM", "Viet Nam", &["vi", "en"], Some(date("2026-02-14")?))?
        },
        StateEntry {
            central_authority: Some("Ministry of Justice, Bureau of International Mutual Assistance in Criminal Matters (demo)".into()),
            reservations: vec![Reservation {
                article: hanoinet_core::catalogue::art42::DUAL_CRIMINALITY_RESERVATION.short(),
                text: "Demo: France may refuse preservation for offences other than those established under the Convention where dual criminality cannot be met at the time of disclosure.".into(),
                made: date("2026-03-10")?,
                withdrawn: None,
            }],
            ..party("FRA", "France", &["fr", "en"], Some(date("2026-03-10")?))?
        },
        party("KEN", "Kenya", &["en", "sw"], Some(date("2026-04-02")?))?,
        StateEntry {
            diplomatic_channel_required: true,
            ..party("CHL", "Chile", &["es"], None)?
        },
        party("NZL", "New Zealand", &["en"], None)?,
        party("SWE", "Sweden", &["sv", "en"], Some(today.saturating_sub(10.days())))?,
        StateEntry {
            regional_organization: true,
            members: ["BEL", "DEU", "ESP", "FRA", "ITA", "NLD"]
                .iter()
                .map(|c| c.parse())
                .collect::<Result<_, _>>()?,
            ..party("EU", "European Union", &["en", "fr", "de"], Some(date("2026-03-20")?))?
        },
    ];
    for (code, name, lang, day) in DEMO_PARTIES {
        let langs: &[&str] = if lang == "en" { &["en"] } else { &[lang, "en"] };
        let mut p = party(code, name, langs, Some(day_of_2026(day)?))?;
        if code == "URY" {
            p.denounced = Some(today.saturating_sub(30.days()));
        }
        states.push(p);
    }
    Ok(states)
}

/// Creates the network under `network_dir`. Fails if it already exists.
pub async fn provision(
    network_dir: &Path,
    nodes: &[NodeSpec],
    states: Vec<StateEntry>,
    demo: bool,
) -> anyhow::Result<NetworkFile> {
    let network_dir = std::path::absolute(network_dir)?;
    std::fs::create_dir_all(&network_dir)?;
    anyhow::ensure!(
        !network_dir.join(NETWORK_FILE).exists(),
        "{} already holds a network",
        network_dir.display()
    );
    let depositary = DepositaryKey::generate();
    let dep_dir = network_dir.join("depositary");
    std::fs::create_dir_all(&dep_dir)?;
    if !dep_dir.join("depositary.key").exists() {
        dir::write_secret(
            &dep_dir.join("depositary.key"),
            &depositary.to_key_file_json(),
        )?;
    }
    dir::write(
        &dep_dir.join("depositary.pub"),
        &format!("{}\n", depositary.public_b64()),
    )?;

    let mut registry = Registry::new(Timestamp::now(), demo);
    for s in states {
        registry.upsert_state(s);
    }
    for spec in nodes {
        let entry = dir::init(
            &node_dir(&network_dir, &spec.id),
            &InitOptions {
                id: spec.id.clone(),
                // Local networks name a central authority `STATE/CA`; every other node is a
                // 24/7 point of contact.
                role: if spec.id.as_str().ends_with("/CA") {
                    NodeRole::CentralAuthority
                } else {
                    NodeRole::PointOfContact
                },
                url: format!("http://{}", spec.listen),
                listen: spec.listen.clone(),
                database: spec.database.clone(),
                depositary_key: depositary.public_b64(),
            },
        )?;
        registry.upsert_node(entry);
    }
    let signed = registry.sign(&depositary)?;
    dir::write(&dep_dir.join(dir::REGISTRY_FILE), &signed.to_json())?;

    let mut out = NetworkFile { nodes: Vec::new() };
    for spec in nodes {
        let ndir = node_dir(&network_dir, &spec.id);
        dir::write(&ndir.join(dir::REGISTRY_FILE), &signed.to_json())?;
        let (config, _) = dir::load(&ndir, None)?;
        let store = Store::connect_with(&config.database, Durability::Normal)
            .await
            .with_context(|| format!("opening {}", config.database))?;
        let token = add_user(&store, &spec.id, "officer", Role::Officer).await?;
        let auditor_token = add_user(&store, &spec.id, "auditor", Role::Auditor).await?;
        let supervisor_token = add_user(&store, &spec.id, "supervisor", Role::Supervisor).await?;
        let analyst_token = add_user(&store, &spec.id, "analyst", Role::Analyst).await?;
        let csam_analyst_token =
            add_user(&store, &spec.id, "csam-analyst", Role::CsamAnalyst).await?;
        // The admin works in the console only (users and their sign-in); its API token opens
        // nothing and is not kept.
        add_user(&store, &spec.id, "admin", Role::Admin).await?;
        store.close().await;
        out.nodes.push(NetworkNode {
            id: spec.id.clone(),
            api_url: format!("http://{}", spec.listen),
            token,
            auditor_token,
            supervisor_token,
            analyst_token,
            csam_analyst_token,
            public_url: None,
            dir: ndir,
            console: None,
        });
    }
    dir::write(
        &network_dir.join(NETWORK_FILE),
        &serde_json::to_string_pretty(&out)?,
    )?;
    Ok(out)
}

/// Gives every user of every node a console password and TOTP secret and writes them, with
/// each console's URL, into `network.json` (`nodes[].console`). For the demo: the passwords
/// and secrets are in that file in clear.
pub async fn enrol_console_users(network_dir: &Path, net: &mut NetworkFile) -> anyhow::Result<()> {
    use hanoinet_ledger::{Entry, entry::Event};
    for n in &mut net.nodes {
        if n.console.is_some() {
            continue;
        }
        let (config, _) = dir::load(&n.dir, None)?;
        let store = Store::connect_with(&config.database, Durability::Normal)
            .await
            .with_context(|| format!("opening {}", config.database))?;
        let mut users = Vec::new();
        for account in store.list_users().await? {
            let user = account.user;
            // Three words' worth of randomness, typeable.
            let password = crate::ops::auth::new_token()
                .trim_start_matches("hnt_")
                .chars()
                .take(20)
                .collect::<String>();
            let (hash, secret) = crate::ops::signin::new_credentials(&password)?;
            let entry = Entry::new(
                Event::ConsoleEnrolled.as_str(),
                hanoinet_core::Clock::now(&hanoinet_core::SystemClock),
                n.id.as_str(),
                hanoinet_ledger::entry::actors::OPERATOR.into(),
                format!("user:{}", user.id),
            );
            store
                .set_console_credentials(
                    &user.id,
                    &hash,
                    &secret,
                    Timestamp::now(),
                    &[entry.encode()],
                )
                .await?;
            users.push(ConsoleUser {
                username: user.name,
                password,
                totp_secret: crate::ops::signin::secret_to_base32(&secret),
                role: user.role,
            });
        }
        store.close().await;
        n.console = Some(ConsoleAccess {
            url: format!("{}/", n.api_url.trim_end_matches('/')),
            users,
        });
    }
    dir::write(
        &network_dir.join(NETWORK_FILE),
        &serde_json::to_string_pretty(&net)?,
    )?;
    Ok(())
}

/// Reads `network.json`.
pub fn read_network(network_dir: &Path) -> anyhow::Result<NetworkFile> {
    let text = dir::read(&network_dir.join(NETWORK_FILE))?;
    serde_json::from_str(&text).context("network.json is malformed")
}

/// Adds a user to a node's store, with its ledger entry; returns the new bearer token.
pub async fn add_user(
    store: &Store,
    node: &NodeId,
    name: &str,
    role: Role,
) -> anyhow::Result<String> {
    add_user_until(store, node, name, role, None).await
}

/// [`add_user`] with a token that stops working at `expires_at`.
pub async fn add_user_until(
    store: &Store,
    node: &NodeId,
    name: &str,
    role: Role,
    expires_at: Option<Timestamp>,
) -> anyhow::Result<String> {
    use hanoinet_ledger::{Entry, entry::Event};
    let token = crate::ops::auth::new_token();
    let user = User {
        id: hanoinet_core::RequestId::new_v7().to_string(),
        name: name.into(),
        role,
    };
    let entry = Entry::new(
        Event::UserCreated.as_str(),
        hanoinet_core::Clock::now(&hanoinet_core::SystemClock),
        node.as_str(),
        hanoinet_ledger::entry::actors::OPERATOR.into(),
        format!("user:{}", user.id),
    )
    .attr("role", role.as_str());
    let added = store
        .add_user(
            &user,
            &crate::ops::auth::token_hash(&token),
            Timestamp::now(),
            expires_at,
            &[entry.encode()],
        )
        .await?;
    anyhow::ensure!(added, "a user named {name:?} already exists");
    Ok(token)
}

/// A local network whose nodes are not started yet: one loopback listener per node (port 0) and
/// each node's database (fresh PostgreSQL databases, or SQLite files in the node directories).
/// For tests and benchmarks.
#[derive(Debug)]
pub struct LocalNetwork {
    pub file: NetworkFile,
    pub listeners: Vec<tokio::net::TcpListener>,
    /// Dropped databases are removed: keep this alive as long as the network.
    pub databases: Vec<hanoinet_store::testing::TestDb>,
}

/// Provisions a demo-registry network of `ids` under `dir` on `backend`.
pub async fn local(
    dir: &Path,
    ids: &[&str],
    backend: hanoinet_store::testing::Backend,
) -> anyhow::Result<LocalNetwork> {
    use hanoinet_store::testing::{Backend, TestDb};
    let (mut specs, mut listeners, mut databases) = (Vec::new(), Vec::new(), Vec::new());
    for id in ids {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let db = TestDb::new(Backend::Postgres, None).await.context(
                    "creating a PostgreSQL database (is the server at HANOINET_TEST_POSTGRES up?)",
                )?;
                let url = db.url.clone();
                databases.push(db);
                Some(url)
            }
        };
        specs.push(NodeSpec {
            id: id.parse()?,
            listen: l.local_addr()?.to_string(),
            database,
        });
        listeners.push(l);
    }
    let file = provision(dir, &specs, demo_states(today())?, true).await?;
    Ok(LocalNetwork {
        file,
        listeners,
        databases,
    })
}

/// Starts one provisioned node on `listener` with `tunables`, on the system clock.
pub async fn start_node(
    node: &NetworkNode,
    listener: tokio::net::TcpListener,
    tunables: crate::Tunables,
) -> anyhow::Result<crate::NodeHandle> {
    start_node_with_clock(
        node,
        listener,
        tunables,
        std::sync::Arc::new(hanoinet_core::SystemClock),
    )
    .await
}

/// Starts one provisioned node on `clock` (tests share a `ManualClock` between nodes).
pub async fn start_node_with_clock(
    node: &NetworkNode,
    listener: tokio::net::TcpListener,
    tunables: crate::Tunables,
    clock: std::sync::Arc<dyn hanoinet_core::Clock>,
) -> anyhow::Result<crate::NodeHandle> {
    start_node_durable(node, listener, tunables, clock, Durability::Normal).await
}

/// [`start_node_with_clock`] with SQLite committing with `durability` (the benchmark compares).
pub async fn start_node_durable(
    node: &NetworkNode,
    listener: tokio::net::TcpListener,
    tunables: crate::Tunables,
    clock: std::sync::Arc<dyn hanoinet_core::Clock>,
    durability: Durability,
) -> anyhow::Result<crate::NodeHandle> {
    let (file, mut config) = dir::load(&node.dir, None)?;
    // What node.json says of the public side stays.
    let per_hour = config.tunables.public_reports_per_hour;
    config.tunables = tunables;
    config.tunables.public_reports_per_hour = per_hour;
    let store = Store::connect_with(&file.database, durability)
        .await
        .with_context(|| format!("opening {}", file.database))?;
    crate::start(listener, config, store, clock, std::future::pending()).await
}

/// What `hanoinet user disable` and `rotate-token` log: the operator acted on a user.
fn operator_entry(node: &NodeId, event: Event, user: &User) -> Vec<u8> {
    hanoinet_ledger::Entry::new(
        event.as_str(),
        hanoinet_core::Clock::now(&hanoinet_core::SystemClock),
        node.as_str(),
        hanoinet_ledger::entry::actors::OPERATOR.into(),
        format!("user:{}", user.id),
    )
    .attr("role", user.role.as_str())
    .encode()
}

/// Disables user `name`: its token stops working at once.
pub async fn disable_user(store: &Store, node: &NodeId, name: &str) -> anyhow::Result<User> {
    store
        .disable_user(name, Timestamp::now(), |u| {
            operator_entry(node, Event::UserDisabled, u)
        })
        .await?
        .ok_or_else(|| anyhow::anyhow!("no enabled user named {name:?}"))
}

/// Gives user `name` a new token valid until `expires_at` (the old one stops working); returns
/// the token.
pub async fn rotate_token(
    store: &Store,
    node: &NodeId,
    name: &str,
    expires_at: Option<Timestamp>,
) -> anyhow::Result<String> {
    let token = crate::ops::auth::new_token();
    store
        .rotate_token(
            name,
            &crate::ops::auth::token_hash(&token),
            expires_at,
            |u| operator_entry(node, Event::TokenRotated, u),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("no enabled user named {name:?}"))?;
    Ok(token)
}

/// Gives every node of a local network a public side (the response centre's listener) on its
/// own port (`listen`'s port + `offset`), unless its node.json has one, and writes each one's
/// URL into `network.json` (`nodes[].public_url`).
pub fn ensure_public_sides(
    network_dir: &Path,
    net: &mut NetworkFile,
    offset: u16,
) -> anyhow::Result<()> {
    for n in &mut net.nodes {
        let path = n.dir.join(dir::CONFIG_FILE);
        let mut config: serde_json::Value = serde_json::from_str(&dir::read(&path)?)
            .with_context(|| format!("{} is malformed", path.display()))?;
        let listen = match config.pointer("/public/listen").and_then(|v| v.as_str()) {
            Some(l) => l.to_owned(),
            None => {
                let own: std::net::SocketAddr = config["listen"]
                    .as_str()
                    .unwrap_or_default()
                    .parse()
                    .with_context(|| format!("{}: listen is not an address", path.display()))?;
                let port = own
                    .port()
                    .checked_add(offset)
                    .context("no port left for the public side")?;
                let l = std::net::SocketAddr::new(own.ip(), port).to_string();
                config["public"] = serde_json::json!({"listen": l});
                dir::write(&path, &serde_json::to_string_pretty(&config)?)?;
                l
            }
        };
        n.public_url = Some(format!("http://{listen}/"));
    }
    dir::write(
        &network_dir.join(NETWORK_FILE),
        &serde_json::to_string_pretty(net)?,
    )?;
    Ok(())
}
