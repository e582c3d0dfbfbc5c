//! The installed registry (shared by every replica; its serial only increases) and each peer's
//! reachability as deliveries find it.

use jiff::Timestamp;
use sqlx::Row;

use hanoinet_core::time::to_micros;

use crate::records::ts;

use crate::{Alert, Notification, Store, StoreError};

/// The signed registry the node serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledRegistry {
    pub serial: u64,
    pub signed_file: String,
    pub installed_at: Timestamp,
}

/// What installing a registry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryInstall {
    Installed,
    /// The installed registry's serial is this one's or higher: nothing changed.
    NotNewer {
        installed: u64,
    },
}

/// A peer deliveries fail to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerOutage {
    pub peer: String,
    pub failing_since: Timestamp,
    pub last_error: Option<String>,
    pub alerted_at: Option<Timestamp>,
}

fn serial(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// The installed registry, if one was installed.
    pub async fn installed_registry(&self) -> Result<Option<InstalledRegistry>, StoreError> {
        with_read!(self, |pool| {
            let row = sqlx::query(
                "SELECT serial, signed_file, installed_at FROM installed_registry WHERE singleton = 1",
            )
            .fetch_optional(pool)
            .await?;
            row.map(|r| {
                Ok(InstalledRegistry {
                    serial: serial(r.try_get("serial")?),
                    signed_file: r.try_get("signed_file")?,
                    installed_at: ts(r.try_get("installed_at")?)?,
                })
            })
            .transpose()
        })
    }

    /// The installed registry's serial (what replicas poll).
    pub async fn installed_registry_serial(&self) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> = with_read!(self, |pool| {
            sqlx::query_scalar("SELECT serial FROM installed_registry WHERE singleton = 1")
                .fetch_optional(pool)
                .await?
        });
        Ok(v.map(serial))
    }

    /// Installs a verified registry with its ledger entries if its serial is higher than the
    /// installed one's (compare-and-set: two replicas installing at once install it once).
    pub async fn install_registry(
        &self,
        serial_no: u64,
        signed_file: &str,
        now: Timestamp,
        ledger: &[Vec<u8>],
    ) -> Result<RegistryInstall, StoreError> {
        let new = i64::try_from(serial_no)
            .map_err(|_| StoreError::Corrupt("registry serial out of range".into()))?;
        let out = with_tx!(self, |tx| {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT serial FROM installed_registry WHERE singleton = 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            match current {
                Some(c) if c >= new => {
                    return Ok(RegistryInstall::NotNewer {
                        installed: serial(c),
                    });
                }
                _ => {}
            }
            let changed = sqlx::query(
                "INSERT INTO installed_registry (singleton, serial, signed_file, installed_at)
                 VALUES (1, $1, $2, $3)
                 ON CONFLICT (singleton) DO UPDATE SET serial = excluded.serial,
                     signed_file = excluded.signed_file, installed_at = excluded.installed_at
                 WHERE installed_registry.serial < excluded.serial",
            )
            .bind(new)
            .bind(signed_file)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(RegistryInstall::NotNewer {
                    installed: current.map_or(serial_no, serial),
                });
            }
            insert_ledger!(tx, ledger);
            RegistryInstall::Installed
        });
        Ok(out)
    }

    /// Records a failed delivery to `peer`: the outage starts now unless it already started.
    pub async fn peer_failed(
        &self,
        peer: &str,
        now: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        with_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO peer_health (peer, failing_since, last_error) VALUES ($1, $2, $3)
                 ON CONFLICT (peer) DO UPDATE SET
                     failing_since = COALESCE(peer_health.failing_since, excluded.failing_since),
                     last_error = excluded.last_error",
            )
            .bind(peer)
            .bind(to_micros(now))
            .bind(error)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Records that `peer` answered: ends its outage and returns it, with the recovery's alert,
    /// ledger entries and notifications committed together when the outage had been alerted
    /// (`recovered` builds them from the outage).
    pub async fn peer_reached(
        &self,
        peer: &str,
        now: Timestamp,
        recovered: impl Fn(&PeerOutage) -> (Alert, Vec<Vec<u8>>, Vec<Notification>),
    ) -> Result<Option<PeerOutage>, StoreError> {
        let out = with_tx!(self, |tx| {
            let row = sqlx::query(
                "SELECT failing_since, last_error, alerted_at FROM peer_health
                 WHERE peer = $1 AND failing_since IS NOT NULL",
            )
            .bind(peer)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let outage = outage_row(peer.to_owned(), &row)?;
            sqlx::query(
                "UPDATE peer_health SET failing_since = NULL, alerted_at = NULL, last_success = $2
                 WHERE peer = $1",
            )
            .bind(peer)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
            if outage.alerted_at.is_some() {
                let (alert, ledger, notifications) = recovered(&outage);
                insert_alert!(tx, &alert);
                insert_notifications!(tx, &notifications);
                insert_ledger!(tx, &ledger);
            }
            Some(outage)
        });
        Ok(out)
    }

    /// Peers in an outage, longest first.
    pub async fn peer_outages(&self) -> Result<Vec<PeerOutage>, StoreError> {
        with_read!(self, |pool| {
            let rows = sqlx::query(
                "SELECT peer, failing_since, last_error, alerted_at FROM peer_health
                 WHERE failing_since IS NOT NULL ORDER BY failing_since",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| outage_row(r.try_get("peer")?, r))
                .collect()
        })
    }

    /// Raises the unreachable alert of an outage that began at `failing_since`, once (the alert
    /// id names the outage), with its ledger entries and notifications; false if the outage
    /// ended or was alerted already.
    pub async fn alert_peer_outage(
        &self,
        peer: &str,
        failing_since: Timestamp,
        now: Timestamp,
        alert: &Alert,
        ledger: &[Vec<u8>],
        notifications: &[Notification],
    ) -> Result<bool, StoreError> {
        let out = with_tx!(self, |tx| {
            let changed = sqlx::query(
                "UPDATE peer_health SET alerted_at = $3
                 WHERE peer = $1 AND failing_since = $2 AND alerted_at IS NULL",
            )
            .bind(peer)
            .bind(to_micros(failing_since))
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            insert_alert!(tx, alert);
            insert_notifications!(tx, notifications);
            insert_ledger!(tx, ledger);
            true
        });
        Ok(out)
    }
}

fn outage_row<R: Row>(peer: String, r: &R) -> Result<PeerOutage, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(PeerOutage {
        peer,
        failing_since: ts(r.try_get("failing_since")?)?,
        last_error: r.try_get("last_error")?,
        alerted_at: r
            .try_get::<Option<i64>, _>("alerted_at")?
            .map(ts)
            .transpose()?,
    })
}

/// Figures `GET /metrics` reports from the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Envelopes not delivered yet, per peer.
    pub backlog: Vec<(String, i64)>,
    /// Incoming requests awaiting acknowledgement whose deadline has not passed.
    pub ack_pending: i64,
    /// Incoming requests still unacknowledged after their deadline.
    pub ack_missed: i64,
    /// Entries in the ledger (integrated).
    pub ledger_size: i64,
}

impl Store {
    /// The figures of [`Gauges`], read in one go.
    pub async fn gauges(&self, now: Timestamp) -> Result<Gauges, StoreError> {
        use hanoinet_core::request::{Direction, Status};
        let ledger_size = i64::try_from(self.ledger_size().await?).unwrap_or(i64::MAX);
        with_read!(self, |pool| {
            let backlog: Vec<(String, i64)> = sqlx::query_as(
                "SELECT peer, COUNT(*) FROM outbox WHERE delivered_at IS NULL GROUP BY peer ORDER BY peer",
            )
            .fetch_all(pool)
            .await?;
            let (pending, missed): (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT SUM(CASE WHEN ack_due_at > $3 THEN 1 ELSE 0 END),
                        SUM(CASE WHEN ack_due_at <= $3 THEN 1 ELSE 0 END)
                 FROM requests WHERE direction = $1 AND status = $2 AND ack_due_at IS NOT NULL",
            )
            .bind(Direction::Incoming.as_str())
            .bind(Status::Delivered.as_str())
            .bind(to_micros(now))
            .fetch_one(pool)
            .await?;
            Ok(Gauges {
                backlog,
                ack_pending: pending.unwrap_or(0),
                ack_missed: missed.unwrap_or(0),
                ledger_size,
            })
        })
    }
}
