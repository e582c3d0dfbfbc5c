//! Scratch databases for tests and benchmarks (`hanoinet bench`): a fresh database per use, on
//! either backend. Tampering helpers are in `tamper`, behind the `test-support` feature.
//!
//! PostgreSQL tests use the server named by `HANOINET_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`): each test creates a randomly named database there
//! and drops it when the [`TestDb`] is dropped.

use std::path::PathBuf;

use sqlx::Connection;

/// The backends every store and end-to-end suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// The PostgreSQL server used by tests and benchmarks.
pub fn postgres_admin_url() -> String {
    std::env::var("HANOINET_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDb {
    /// A fresh, empty database. `dir` is where a SQLite file goes (a temporary directory when
    /// `None`).
    pub async fn new(backend: Backend, dir: Option<PathBuf>) -> Result<Self, sqlx::Error> {
        match backend {
            Backend::Sqlite => {
                let (path, tmp) = match dir {
                    Some(d) => (d.join("node.db"), None),
                    None => {
                        let t = TempDir::new("db");
                        (t.0.join("node.db"), Some(t))
                    }
                };
                Ok(Self {
                    url: format!("sqlite://{}", path.display()),
                    pg_name: None,
                    _dir: tmp,
                })
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("hanoinet_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.as_str(), |(b, _)| b)
                    .to_owned();
                Ok(Self {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = postgres_admin_url();
        // Drop may run inside a runtime; do the async cleanup on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A TCP port that was free a moment ago on 127.0.0.1 (for processes that must be told their
/// port before they bind it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

/// A temporary directory removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "hanoinet-{prefix}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let _ = std::fs::create_dir_all(&p);
        Self(p)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
