//! `ledger verify`: an auditor's independent check of a node's log.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use hanoinet_ledger::SignedTreeHead;
use hanoinet_ledger::audit::Verifier;
use hanoinet_ledger::tree::Hash;
use hanoinet_protocol::SignedRegistry;
use hanoinet_protocol::keys::verifying_key_from_b64;

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Download a node's log, recompute its root, check its signed tree head against the node's
    /// key in the registry, and check it is consistent with the last head this command saw.
    /// Exits non-zero on any mismatch.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The node's API URL and an auditor's (or supervisor's) token (--token or --token-file).
    #[command(flatten)]
    pub conn: crate::commands::request::Conn,
    /// The depositary's public key (base64, or a file holding it). Without it, the key that
    /// signed the node's registry is trusted on first use and pinned in the state file.
    #[arg(long)]
    pub depositary_key: Option<String>,
    /// Where the last verified head is kept (default: under $XDG_STATE_HOME or ~/.local/state).
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// What the verifier remembers between runs.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    url: String,
    depositary_key: String,
    head: SignedTreeHead,
}

fn default_state_path(url: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    let name: String = url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    base.join("hanoinet/ledger").join(format!("{name}.json"))
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status();
        let v: Value = resp
            .json()
            .await
            .with_context(|| format!("{url} did not answer JSON"))?;
        if !status.is_success() {
            bail!(
                "{url} answered {status}: {} {}",
                v["error"].as_str().unwrap_or(""),
                v["message"].as_str().unwrap_or("")
            );
        }
        Ok(v)
    }
}

fn parse_hashes(v: &Value) -> anyhow::Result<Vec<Hash>> {
    v.as_array()
        .context("expected a list of hashes")?
        .iter()
        .map(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h.as_str().context("hash is not a string")?, &mut out)
                .context("hash is not 64 hex digits")?;
            Ok(out)
        })
        .collect()
}

fn trusted_key(
    arg: Option<&str>,
    pinned: Option<&State>,
    signed: &SignedRegistry,
) -> anyhow::Result<(String, bool)> {
    if let Some(a) = arg {
        let text = if Path::new(a).is_file() {
            std::fs::read_to_string(a)?
        } else {
            a.to_owned()
        };
        return Ok((text.trim().to_owned(), false));
    }
    if let Some(s) = pinned {
        return Ok((s.depositary_key.clone(), false));
    }
    Ok((signed.signed_by.clone(), true))
}

pub async fn run(c: LedgerCommand) -> anyhow::Result<()> {
    let LedgerCommand::Verify(a) = c;
    let client = Client {
        http: a.conn.http()?,
        base: a.conn.url.trim_end_matches('/').to_owned(),
        token: a.conn.token()?,
    };
    let state_path = a
        .state
        .clone()
        .unwrap_or_else(|| default_state_path(&client.base));
    let previous: Option<State> =
        match std::fs::read_to_string(&state_path) {
            Ok(text) => Some(serde_json::from_str(&text).with_context(|| {
                format!("{} is not a verifier state file", state_path.display())
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", state_path.display())),
        };

    let head: SignedTreeHead = serde_json::from_value(client.get("/api/v1/ledger/head").await?)
        .context("the node's tree head is malformed")?;
    let signed: SignedRegistry =
        serde_json::from_value(client.get("/api/v1/registry/signed").await?)
            .context("the node's registry is malformed")?;

    let (trust_b64, first_use) =
        trusted_key(a.depositary_key.as_deref(), previous.as_ref(), &signed)?;
    let trust = verifying_key_from_b64(&trust_b64)
        .context("the depositary key is not an Ed25519 public key in base64")?;
    if first_use {
        eprintln!(
            "warning: no --depositary-key given and no earlier run: trusting depositary key {trust_b64} on first use"
        );
    }
    let fail = |why: String| -> anyhow::Result<()> {
        println!("FAIL: {why}");
        bail!("ledger verification failed")
    };
    let registry = match signed.verify(&trust) {
        Ok(r) => r,
        Err(e) => {
            return fail(format!(
                "the node's registry does not verify against the depositary key: {e}"
            ));
        }
    };
    let Some(node) = registry.node(&head.head.log_id.parse()?) else {
        return fail(format!(
            "log {} is not a node in the registry",
            head.head.log_id
        ));
    };
    let size = head.head.tree_size;
    let mut check = match Verifier::new(
        &head,
        &node.public_keys()?,
        previous.as_ref().map(|p| &p.head),
    ) {
        Ok(v) => v,
        Err(why) => return fail(why.0),
    };

    // Download and recompute.
    while check.wants_entries() {
        let page = client
            .get(&format!(
                "/api/v1/ledger/entries?start={}&end={size}",
                check.next_index()
            ))
            .await?;
        let entries = page["entries"].as_array().context("entries missing")?;
        if entries.is_empty() {
            return fail(check.ran_out().0);
        }
        for e in entries {
            let leaf = hanoinet_protocol::b64::decode(e["leaf"].as_str().context("leaf missing")?)
                .context("leaf is not base64")?;
            let index = e["index"].as_u64().context("index missing")?;
            if let Err(why) = check.entry(index, &leaf) {
                return fail(why.0);
            }
        }
        if size > 100_000 {
            eprint!("\rdownloaded {} of {size} entries", check.next_index());
        }
    }
    if size > 100_000 {
        eprintln!();
    }
    if let Err(why) = check.entries_done() {
        return fail(why.0);
    }
    // The last entry's inclusion proof and the consistency proof, as the node serves them.
    if let Some((index, tree_size)) = check.inclusion_wanted() {
        let p = client
            .get(&format!(
                "/api/v1/ledger/proof/inclusion?index={index}&tree_size={tree_size}"
            ))
            .await?;
        if let Err(why) = check.inclusion(&parse_hashes(&p["inclusion_path"])?) {
            return fail(why.0);
        }
    }
    if let Some((first, second)) = check.consistency_wanted() {
        let p = client
            .get(&format!(
                "/api/v1/ledger/proof/consistency?first={first}&second={second}"
            ))
            .await?;
        if let Err(why) = check.consistency(&parse_hashes(&p["consistency_path"])?) {
            return fail(why.0);
        }
    }
    let verified = check.finish();
    let consistent_with = verified
        .consistent_with
        .map(|(n, at)| format!(", consistent with the head of {n} entries verified at {at}"))
        .unwrap_or_default();

    if let Some(dir) = state_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let state = State {
        url: client.base.clone(),
        depositary_key: trust_b64,
        head: head.clone(),
    };
    std::fs::write(&state_path, serde_json::to_string_pretty(&state)?)
        .with_context(|| format!("writing {}", state_path.display()))?;
    println!(
        "OK: log {} verified: {size} entries, root {}, head signed by {} at {}{consistent_with}",
        head.head.log_id,
        hex::encode(head.head.root_hash),
        head.head.log_id,
        head.head.timestamp
    );
    Ok(())
}
