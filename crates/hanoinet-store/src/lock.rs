//! One serving process per SQLite database, one per instance name on PostgreSQL.
//!
//! SQLite: an exclusive `flock` on `<database>.lock`, held while the process serves (SQLite's own
//! locks are per transaction and let a second server start and deliver the same outbox).
//! PostgreSQL: a session advisory lock keyed by the instance name, held on a connection of its
//! own; replicas have distinct instance names, and a second process with the same name (the same
//! node directory on the same host, by default) is refused. The lock ends with the process.

use sha2::{Digest, Sha256};
use sqlx::Connection;

use crate::{Store, StoreError};

/// Held while a process serves; dropping it releases the lock.
#[derive(Debug)]
pub struct ServeLock {
    instance: String,
    _file: Option<std::fs::File>,
    _pg: Option<sqlx::PgConnection>,
}

impl ServeLock {
    /// The instance name the lock was taken for.
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

impl Store {
    /// Takes the serving lock for `instance`, or says who holds it.
    pub async fn lock_for_serving(&self, instance: &str) -> Result<ServeLock, StoreError> {
        match self {
            Self::Sqlite { .. } => {
                let db = self.sqlite_path().unwrap_or_default();
                let mut path = db.clone().into_os_string();
                path.push(".lock");
                let path = std::path::PathBuf::from(path);
                let mut opts = std::fs::OpenOptions::new();
                opts.create(true).truncate(false).write(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let file = opts
                    .open(&path)
                    .map_err(|e| StoreError::Io(format!("opening {}: {e}", path.display())))?;
                match file.try_lock() {
                    Ok(()) => Ok(ServeLock {
                        instance: instance.to_owned(),
                        _file: Some(file),
                        _pg: None,
                    }),
                    Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(format!(
                        "another process is serving the SQLite database {} (it holds {}); \
                         stop it first: SQLite serves one process (run replicas on PostgreSQL)",
                        db.display(),
                        path.display()
                    ))),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(StoreError::Io(format!("locking {}: {e}", path.display())))
                    }
                }
            }
            Self::Postgres(pool) => {
                let mut conn = sqlx::PgConnection::connect_with(&pool.connect_options()).await?;
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(advisory_key(instance))
                    .fetch_one(&mut conn)
                    .await?;
                if !locked {
                    return Err(StoreError::Locked(format!(
                        "another process already serves as instance {instance:?} on this \
                         PostgreSQL database; give each replica its own --instance"
                    )));
                }
                Ok(ServeLock {
                    instance: instance.to_owned(),
                    _file: None,
                    _pg: Some(conn),
                })
            }
        }
    }
}

/// The advisory lock's key: the first 8 bytes of SHA-256 of the instance name.
fn advisory_key(instance: &str) -> i64 {
    let d = Sha256::digest(format!("hanoinet/serve/{instance}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_be_bytes(b)
}

impl Store {
    /// Writes a consistent copy of the SQLite database into `target` (`VACUUM INTO`), which must
    /// not exist or be empty; the caller creates it first with the mode it wants. Other
    /// processes may go on writing meanwhile. PostgreSQL has its own tools (`pg_dump`).
    pub async fn backup_into(&self, target: &std::path::Path) -> Result<(), StoreError> {
        match self {
            Self::Sqlite { bulk, .. } => {
                let target = target
                    .to_str()
                    .ok_or_else(|| StoreError::Io("the backup path is not UTF-8".into()))?;
                sqlx::query("VACUUM INTO $1")
                    .bind(target)
                    .execute(bulk)
                    .await?;
                Ok(())
            }
            Self::Postgres(_) => Err(StoreError::Io(
                "a PostgreSQL database is backed up with pg_dump (see OPERATING.md)".into(),
            )),
        }
    }
}
