//! `hanoinet doctor`: checks a node directory as an administrator would before (and while)
//! running it: files and their permissions, the registry (signature, serial, this node's entry
//! and key validity), the database, and each peer (reachable, which node answers, clock skew,
//! backlog). Prints one line per check; exits 1 if any check fails.

use std::time::{Duration, Instant};

use clap::Args;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use hanoinet_node::provision::dir;
use hanoinet_protocol::keys::{Keyring, verifying_key_from_b64};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub db: crate::commands::node::NodeDb,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// How long to wait for each peer.
    #[arg(long, default_value_t = 5)]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    check: String,
    level: Level,
    detail: String,
}

#[derive(Default)]
struct Report(Vec<Check>);

impl Report {
    fn add(&mut self, check: impl Into<String>, level: Level, detail: impl Into<String>) {
        self.0.push(Check {
            check: check.into(),
            level,
            detail: detail.into(),
        });
    }
}

/// The largest clock difference with a peer before envelopes risk being refused as stale.
const MAX_SKEW: SignedDuration = SignedDuration::from_secs(60);
/// Warn this long before the node's own keys stop being valid.
const KEY_WARNING: SignedDuration = SignedDuration::from_hours(14 * 24);

pub async fn run(a: DoctorArgs) -> anyhow::Result<()> {
    let mut r = Report::default();
    let d = &a.db.dir;
    let now = Timestamp::now();
    if !d.is_dir() {
        return Err(crate::exit::Failure::NotFound.wrap(anyhow::anyhow!(
            "{} is not a node directory (`hanoinet init` creates one)",
            d.display()
        )));
    }

    // Files.
    let config = match dir::read(&d.join(dir::CONFIG_FILE))
        .and_then(|t| Ok(serde_json::from_str::<dir::FileConfig>(&t)?))
    {
        Ok(c) => {
            r.add(
                "config",
                Level::Ok,
                format!("{} for node {}", d.join(dir::CONFIG_FILE).display(), c.id),
            );
            Some(c)
        }
        Err(e) => {
            r.add("config", Level::Fail, format!("{e:#}"));
            None
        }
    };
    let keyring = match dir::read(&d.join(dir::KEYS_FILE))
        .and_then(|t| Ok(Keyring::from_key_file_json(&t)?))
    {
        Ok(k) => {
            r.add(
                "keys",
                Level::Ok,
                format!("{} key pair(s) in keys.json", k.pairs().len()),
            );
            Some(k)
        }
        Err(e) => {
            r.add("keys", Level::Fail, format!("{e:#}"));
            None
        }
    };
    let database =
        a.db.database
            .clone()
            .or_else(|| config.as_ref().map(|c| c.database.clone()));
    let problems = dir::permission_problems(d, database.as_deref().unwrap_or_default());
    if problems.is_empty() {
        r.add(
            "permissions",
            Level::Ok,
            "node directory 0700, secrets and database 0600",
        );
    }
    for p in problems {
        r.add("permissions", Level::Fail, p);
    }

    // Registry.
    let anchor =
        dir::read(&d.join(dir::TRUST_FILE)).and_then(|t| Ok(verifying_key_from_b64(t.trim())?));
    let registry = match &anchor {
        Ok(anchor) => match dir::verify_registry_file(&d.join(dir::REGISTRY_FILE), anchor) {
            Ok(reg) => {
                r.add(
                    "registry",
                    Level::Ok,
                    format!(
                        "registry.json serial {} issued {}: signature verifies",
                        reg.serial, reg.issued_at
                    ),
                );
                Some(reg)
            }
            Err(e) => {
                r.add("registry", Level::Fail, format!("{e:#}"));
                None
            }
        },
        Err(e) => {
            r.add("registry", Level::Fail, format!("depositary.pub: {e:#}"));
            None
        }
    };
    if let (Some(c), Some(reg), Some(k)) = (&config, &registry, &keyring) {
        match reg.node(&c.id) {
            None => r.add(
                "identity",
                Level::Fail,
                format!("the registry does not list {}", c.id),
            ),
            Some(entry) => {
                let current = entry.public_keys().ok();
                match current.as_ref().and_then(|p| k.find(p)) {
                    None => r.add(
                        "identity",
                        Level::Fail,
                        "the registry publishes keys for this node that keys.json does not hold",
                    ),
                    Some(_) => r.add(
                        "identity",
                        Level::Ok,
                        format!("{} listed with keys this node holds", c.id),
                    ),
                }
                let valid = entry.keys_valid_at(now);
                if !valid.iter().any(|p| k.find(p).is_some()) {
                    r.add(
                        "key validity",
                        Level::Fail,
                        "none of this node's keys is valid now (expired, not yet valid or revoked): peers refuse what it signs",
                    );
                } else if let Some(until) = entry.valid_until.filter(|u| now + KEY_WARNING >= *u) {
                    r.add("key validity", Level::Warn, format!("this node's keys stop being valid at {until}: rotate them (hanoinet keys rotate)"));
                } else {
                    r.add("key validity", Level::Ok, "this node's keys are valid");
                }
            }
        }
    }

    // Database.
    let mut installed_serial = None;
    let mut gauges = None;
    if let Some(db) = &database {
        let opened = tokio::time::timeout(
            Duration::from_secs(10),
            hanoinet_store::Store::connect_with(db, hanoinet_store::Durability::Normal),
        )
        .await;
        match opened {
            Ok(Ok(store)) => {
                let started = Instant::now();
                match store.ping().await {
                    Ok(()) => r.add(
                        "database",
                        Level::Ok,
                        format!(
                            "{} answers in {} ms",
                            crate::commands::node::redact(db),
                            started.elapsed().as_millis()
                        ),
                    ),
                    Err(e) => r.add("database", Level::Fail, e.to_string()),
                }
                installed_serial = store.installed_registry_serial().await.ok().flatten();
                gauges = store.gauges(now).await.ok();
                if let Ok(outages) = store.peer_outages().await {
                    for o in outages {
                        r.add(
                            format!("peer {}", o.peer),
                            Level::Warn,
                            format!(
                                "deliveries failing since {}{}",
                                o.failing_since,
                                o.last_error.map_or(String::new(), |e| format!(": {e}"))
                            ),
                        );
                    }
                }
                store.close().await;
            }
            Ok(Err(e)) => r.add(
                "database",
                Level::Fail,
                format!("cannot open {}: {e}", crate::commands::node::redact(db)),
            ),
            Err(_) => r.add(
                "database",
                Level::Fail,
                format!(
                    "{} did not answer within 10 s",
                    crate::commands::node::redact(db)
                ),
            ),
        }
    }
    if let (Some(installed), Some(reg)) = (installed_serial, &registry) {
        if installed > reg.serial {
            r.add(
                "registry serial",
                Level::Warn,
                format!("registry.json has serial {} but the database holds serial {installed}: the node serves {installed}; replace registry.json", reg.serial),
            );
        } else {
            r.add(
                "registry serial",
                Level::Ok,
                format!("installed serial {installed}"),
            );
        }
    }

    // Peers.
    if let (Some(c), Some(reg)) = (&config, &registry) {
        let mut http = reqwest::Client::builder().timeout(Duration::from_secs(a.timeout_secs));
        // The network's private CA, if node.json names one (as the node itself trusts it).
        if let Some(ca) = c.tls.as_ref().and_then(|t| t.peer_ca.as_ref()) {
            let path = if ca.is_absolute() {
                ca.clone()
            } else {
                d.join(ca)
            };
            match dir::read(&path).map(|pem| reqwest::Certificate::from_pem_bundle(pem.as_bytes()))
            {
                Ok(Ok(certs)) => {
                    for cert in certs {
                        http = http.add_root_certificate(cert);
                    }
                }
                _ => r.add(
                    "tls",
                    Level::Fail,
                    format!("tls.peer_ca {} is not a PEM bundle", path.display()),
                ),
            }
        }
        let http = http.build()?;
        let backlog = |peer: &str| {
            gauges
                .as_ref()
                .and_then(|g| g.backlog.iter().find(|(p, _)| p == peer).map(|(_, n)| *n))
                .unwrap_or(0)
        };
        // All peers at once: an unreachable one costs its timeout, not the sum of them.
        let mut probes = tokio::task::JoinSet::new();
        for (i, n) in reg.nodes.iter().enumerate().filter(|(_, n)| n.id != c.id) {
            let http = http.clone();
            let url = format!("{}/healthz", n.url);
            probes.spawn(async move {
                let started = Instant::now();
                let res = http.get(url).send().await;
                let took = started.elapsed();
                let res = match res {
                    Ok(res) => {
                        let date = res
                            .headers()
                            .get(reqwest::header::DATE)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| jiff::fmt::rfc2822::parse(v).ok())
                            .map(|z| z.timestamp());
                        let body: serde_json::Value = res.json().await.unwrap_or_default();
                        Ok((date, body))
                    }
                    Err(e) => Err(e),
                };
                (i, took, res)
            });
        }
        let mut answers = probes.join_all().await;
        answers.sort_by_key(|(i, _, _)| *i);
        for (i, took, res) in answers {
            let n = &reg.nodes[i];
            let name = format!("peer {}", n.id);
            let queued = backlog(n.id.as_str());
            let (date, body) = match res {
                Ok(answer) => answer,
                Err(e) => {
                    r.add(
                        name,
                        Level::Fail,
                        format!("{}: unreachable ({e}); {queued} envelope(s) waiting", n.url),
                    );
                    continue;
                }
            };
            if body["node"].as_str() != Some(n.id.as_str()) {
                r.add(
                    name,
                    Level::Fail,
                    format!("{} answers as {:?}, not as {}", n.url, body["node"], n.id),
                );
                continue;
            }
            // The Date header has one-second resolution; half the round trip is the error.
            let skew = date.map(|d| d.duration_since(now + took / 2));
            match skew {
                Some(s) if s.abs() > MAX_SKEW => r.add(
                    name,
                    Level::Fail,
                    format!(
                        "clock differs by {} s (more than {} s: envelopes may be refused as stale)",
                        s.as_secs(),
                        MAX_SKEW.as_secs()
                    ),
                ),
                _ => r.add(
                    name,
                    if queued > 0 { Level::Warn } else { Level::Ok },
                    format!(
                        "{} answers in {} ms (version {}){}; {queued} envelope(s) waiting",
                        n.url,
                        took.as_millis(),
                        body["version"].as_str().unwrap_or("?"),
                        skew.map_or(String::new(), |s| format!(
                            ", clock within {} s",
                            s.as_secs().abs() + 1
                        )),
                    ),
                ),
            }
            if n.url.starts_with("http://") && !reg.demo {
                r.add(
                    format!("peer {}", n.id),
                    Level::Warn,
                    "plain http:// URL: use https:// outside a demo",
                );
            }
        }
    }

    let failed = r.0.iter().filter(|c| c.level == Level::Fail).count();
    let warned = r.0.iter().filter(|c| c.level == Level::Warn).count();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": failed == 0, "failed": failed, "warnings": warned, "checks": r.0,
            }))?
        );
    } else {
        for c in &r.0 {
            let tag = match c.level {
                Level::Ok => "ok  ",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            println!("{tag}  {:<18} {}", c.check, c.detail);
        }
        println!("{failed} problem(s), {warned} warning(s)");
    }
    anyhow::ensure!(failed == 0, "doctor found {failed} problem(s)");
    Ok(())
}
