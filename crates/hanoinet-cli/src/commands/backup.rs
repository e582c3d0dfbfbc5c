//! `hanoinet backup` and `hanoinet restore`: a consistent copy of a node's SQLite database while
//! it runs, whose ledger is verified (signature and every entry) before it is called a backup,
//! and again before it replaces a database. PostgreSQL: `pg_dump` (OPERATING.md).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use hanoinet_node::provision::dir;
use hanoinet_protocol::keys::Keyring;
use hanoinet_store::{Durability, Store};

use crate::exit::Failure;

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: crate::commands::node::NodeDb,
    /// The backup file to create (it must not exist; it is created with mode 0600).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[arg(long, env = "HANOINET_DIR")]
    pub dir: PathBuf,
    /// The backup file (`hanoinet backup --out`).
    #[arg(long)]
    pub from: PathBuf,
    /// Replace an existing database (it is kept beside it as `node.db.before-restore-<time>`).
    #[arg(long)]
    pub force: bool,
}

const PG_RECIPE: &str = "this node's database is PostgreSQL: back it up with `pg_dump --format=custom --file=node.dump URL` and restore with `pg_restore --clean --if-exists --dbname=URL node.dump` (OPERATING.md, Backup and restore)";

fn own_keys(node_dir: &Path) -> anyhow::Result<Vec<hanoinet_protocol::PublicKeys>> {
    let ring = Keyring::from_key_file_json(&dir::read(&node_dir.join(dir::KEYS_FILE))?)?;
    Ok(ring.pairs().iter().map(|k| k.public().clone()).collect())
}

/// Opens `file` as a database and verifies its ledger with the node's keys.
async fn verified(file: &Path, keys: &[hanoinet_protocol::PublicKeys]) -> anyhow::Result<String> {
    let url = format!("sqlite://{}", file.display());
    let store = Store::connect_with(&url, Durability::Normal)
        .await
        .with_context(|| format!("{} is not a hanoinet database", file.display()))?;
    let result = hanoinet_node::ops::audit::verify_store(&store, keys).await;
    let size = store.ledger_size().await;
    store.close().await;
    match result? {
        Ok(v) => Ok(format!(
            "its ledger verifies: {} entries under the head signed at {} ({} in all)",
            v.tree_size,
            v.signed_at,
            size.unwrap_or(v.tree_size)
        )),
        Err(why) => Err(Failure::Invalid.wrap(anyhow::anyhow!(
            "the ledger of {} does not verify: {why}",
            file.display()
        ))),
    }
}

pub async fn backup(a: BackupArgs) -> anyhow::Result<()> {
    let (config, store) = a.db.open().await?;
    let database = a.db.database.clone().unwrap_or(config.database.clone());
    if dir::sqlite_file(&database).is_none() {
        store.close().await;
        return Err(Failure::Invalid.wrap(anyhow::anyhow!(PG_RECIPE)));
    }
    // Created empty and private first: VACUUM INTO writes into it, and case content never
    // sits in a file others can read.
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(&a.out)
        .with_context(|| format!("creating {} (it must not exist)", a.out.display()))?;
    let written = store.backup_into(&a.out).await;
    store.close().await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&a.out);
        return Err(anyhow::anyhow!("writing the backup: {e}"));
    }
    let check = verified(&a.out, &own_keys(&a.db.dir)?).await;
    let check = match check {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&a.out);
            return Err(e.context("the copy was removed"));
        }
    };
    let bytes = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup of {} written to {} ({:.1} MB); {check}",
        config.id,
        a.out.display(),
        bytes as f64 / 1e6
    );
    Ok(())
}

pub async fn restore(a: RestoreArgs) -> anyhow::Result<()> {
    let text = dir::read(&a.dir.join(dir::CONFIG_FILE))?;
    let config: dir::FileConfig = serde_json::from_str(&text).context("node.json is malformed")?;
    let Some(target) = dir::sqlite_file(&config.database) else {
        return Err(Failure::Invalid.wrap(anyhow::anyhow!(PG_RECIPE)));
    };
    let check = verified(&a.from, &own_keys(&a.dir)?).await?;
    // No server may run on the database meanwhile: hold its serving lock.
    let _lock = if target.exists() {
        let store = Store::connect_with(&config.database, Durability::Full).await?;
        let lock = store
            .lock_for_serving("restore")
            .await
            .map_err(|e| Failure::Unavailable.wrap(anyhow::anyhow!("{e}; stop the node first")))?;
        store.close().await;
        if !a.force {
            return Err(Failure::Conflict.wrap(anyhow::anyhow!(
                "{} exists: give --force to replace it (it is kept beside it)",
                target.display()
            )));
        }
        Some(lock)
    } else {
        None
    };
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let mut kept = None;
    if target.exists() {
        let aside = PathBuf::from(format!("{}.before-restore-{stamp}", target.display()));
        std::fs::rename(&target, &aside)
            .with_context(|| format!("moving {} aside", target.display()))?;
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", target.display()));
            if side.exists() {
                std::fs::rename(&side, format!("{}{suffix}", aside.display()))?;
            }
        }
        kept = Some(aside);
    }
    let tmp = PathBuf::from(format!("{}.restoring", target.display()));
    let _ = std::fs::remove_file(&tmp);
    std::fs::copy(&a.from, &tmp).with_context(|| format!("copying {}", a.from.display()))?;
    dir::set_mode(&tmp, 0o600)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &target)?;
    println!(
        "restored {} from {}; {check}{}",
        target.display(),
        a.from.display(),
        kept.map_or(String::new(), |k| format!(
            "; the previous database is kept as {}",
            k.display()
        ))
    );
    Ok(())
}
