//! `demo`: a local network of four nodes on loopback, each with its own SQLite database and keys.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use hanoinet_core::{NodeId, SystemClock};
use hanoinet_node::provision::dir;
use hanoinet_node::provision::network::{self, NodeSpec};
use hanoinet_store::Store;

/// The demo's nodes: 24/7 points of contact of three (fictitious-dated) States Parties, and of
/// Chile, which in the demo registry has only signed, so requests under the Convention to it are
/// refused.
pub const DEMO_NODES: [&str; 4] = ["VNM/247", "FRA/247", "KEN/247", "CHL/247"];

/// A node's public side listens this many ports above the node.
pub const PUBLIC_PORT_OFFSET: u16 = 10;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the network (keys, databases, registry, network.json); reused if it exists.
    #[arg(long, default_value = "hanoinet-demo")]
    pub dir: PathBuf,
    /// First port; the nodes listen on PORT, PORT+1, PORT+2, PORT+3 on 127.0.0.1, and their
    /// public sides (the response centres) on PORT+10 to PORT+13.
    #[arg(long, default_value_t = 7400)]
    pub base_port: u16,
}

pub async fn run(a: DemoArgs) -> anyhow::Result<()> {
    crate::init_logging("warn");
    let mut net = if a.dir.join(network::NETWORK_FILE).exists() {
        println!(
            "reusing the demo network in {} (delete the directory to start afresh)",
            a.dir.display()
        );
        network::read_network(&a.dir)?
    } else {
        let mut specs = Vec::new();
        for (i, id) in DEMO_NODES.iter().enumerate() {
            let port = a
                .base_port
                .checked_add(i as u16)
                .context("--base-port is too high")?;
            specs.push(NodeSpec {
                id: id.parse::<NodeId>()?,
                listen: format!("127.0.0.1:{port}"),
                database: None,
            });
        }
        println!("creating a demo network in {}", a.dir.display());
        network::provision(
            &a.dir,
            &specs,
            network::demo_states(network::today())?,
            true,
        )
        .await?
    };
    // Console users (a demo network made before the console gets them now).
    if net.nodes.iter().any(|n| n.console.is_none()) {
        network::enrol_console_users(&a.dir, &mut net).await?;
    }
    // Public sides (a demo network made before the response centre gets them now).
    network::ensure_public_sides(&a.dir, &mut net, PUBLIC_PORT_OFFSET)?;

    let mut handles = Vec::new();
    for n in &net.nodes {
        let (file, config) = dir::load(&n.dir, None)?;
        let store = Store::connect_with(&file.database, hanoinet_store::Durability::Normal)
            .await
            .with_context(|| format!("opening {}", file.database))?;
        let listener = tokio::net::TcpListener::bind(&file.listen).await.with_context(|| {
            format!("cannot listen on {} for {}: is another demo running? Stop it, or use --base-port with a new --dir", file.listen, n.id)
        })?;
        handles.push(
            hanoinet_node::start(
                listener,
                config,
                store,
                Arc::new(SystemClock),
                std::future::pending(),
            )
            .await
            .with_context(|| format!("starting {} (is another demo running?)", n.id))?,
        );
    }
    // Viet Nam's node is a response centre with sample reports (demo data).
    if let Some(vnm) = handles.first() {
        let added = hanoinet_node::provision::sample_reports::seed(&vnm.state).await?;
        if added > 0 {
            println!(
                "{added} sample citizens' reports (demo data) taken in by {}",
                vnm.state.id
            );
        }
    }

    println!();
    println!(
        "hanoinet demo network (DEMO DATA: fictitious registry signed by a local depositary key;"
    );
    println!(
        "SQLite with synchronous=NORMAL: a crash loses nothing, a power loss may lose the last commits)"
    );
    println!();
    println!(
        "  {:<8}  {:<24}  OFFICER / SUPERVISOR / AUDITOR TOKEN",
        "NODE", "API URL"
    );
    for n in &net.nodes {
        println!("  {:<8}  {:<24}  {}", n.id, n.api_url, n.token);
        println!("  {:<8}  {:<24}  {}", "", "", n.supervisor_token);
        println!("  {:<8}  {:<24}  {}", "", "", n.auditor_token);
    }
    println!();
    println!(
        "web console (sign in with a username, its password and the current code of its TOTP secret in an authenticator app; all in network.json):"
    );
    for n in &net.nodes {
        if let Some(c) = &n.console {
            println!("  {:<8}  {}", n.id, c.url);
            for u in &c.users {
                println!(
                    "  {:<8}    {:<12} password {}  TOTP secret {}",
                    "", u.username, u.password, u.totp_secret
                );
            }
        }
    }
    if let Some(c) = net.nodes.first().and_then(|n| n.console.as_ref()) {
        println!(
            "  open {} (Viet Nam's 24/7 point of contact) to start",
            c.url
        );
    }
    println!();
    println!("response centre (citizens report scams; analysts triage them):");
    for n in &net.nodes {
        if let Some(p) = &n.public_url {
            println!(
                "  {:<8}  public side {p}  analyst token {}",
                n.id, n.analyst_token
            );
        }
    }
    if let Some(vnm) = net.nodes.first()
        && let Some(p) = &vnm.public_url
    {
        println!();
        println!("  check a number against Viet Nam's public list:");
        println!("  curl -s '{p}public/v1/check?type=phone&value=0799123456'");
        println!("  the analysts' queue:");
        println!(
            "  curl -s '{}/api/v1/reports' -H 'Authorization: Bearer {}'",
            vnm.api_url, vnm.analyst_token
        );
    }
    println!();
    println!(
        "network file: {}",
        a.dir.join(network::NETWORK_FILE).display()
    );
    if let (Some(vnm), Some(fra)) = (net.nodes.first(), net.nodes.get(1)) {
        let example = |to: &NodeId| {
            hanoinet_core::catalogue::examples::example(
                hanoinet_core::request::RequestType::Preservation,
                to.as_str(),
                "",
            )
            .to_string()
        };
        println!();
        println!(
            "try it: send a preservation request from {} to {}:",
            vnm.id, fra.id
        );
        println!();
        println!(
            "  curl -s -X POST {}/api/v1/requests -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{}'",
            vnm.api_url,
            vnm.token,
            example(&fra.id)
        );
        println!();
        println!(
            "  curl -s '{}/api/v1/requests?direction=incoming' -H 'Authorization: Bearer {}'",
            fra.api_url, fra.token
        );
        if let Some(chl) = net.nodes.get(3) {
            println!();
            println!(
                "the same to {} is refused: Chile has only signed (see {}/api/v1/registry):",
                chl.id, vnm.api_url
            );
            println!();
            println!(
                "  curl -s -X POST {}/api/v1/requests -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{}'",
                vnm.api_url,
                vnm.token,
                example(&chl.id)
            );
        }
        println!();
        println!(
            "every request type, its fields and an example: {}/api/v1/catalogue",
            vnm.api_url
        );
    }
    println!();
    println!("serving until Ctrl-C");
    crate::commands::node::shutdown_signal().await;
    println!("stopping");
    for h in handles {
        h.shutdown().await;
    }
    Ok(())
}
