//! Tampering with a store the way an attacker with database access would, for the tests that
//! prove the ledger and the node catch it. Compiled only with the `test-support` feature (a
//! dev-dependency feature: never in a release binary).

/// Runs raw SQL against a store, bypassing every invariant: tests use it to tamper with data the
/// way an attacker with database access would.
pub async fn execute_raw(store: &crate::Store, sql: &str) -> Result<u64, sqlx::Error> {
    match store {
        crate::Store::Sqlite { write, .. } => {
            Ok(sqlx::query(sql).execute(write).await?.rows_affected())
        }
        crate::Store::Postgres(pool) => Ok(sqlx::query(sql).execute(pool).await?.rows_affected()),
    }
}

/// Replaces a node's whole log with `entries`, recomputing every tree hash atomically: what an
/// attacker who rewrites history and covers their tracks would do.
pub async fn rebuild_ledger(
    store: &crate::Store,
    entries: &[Vec<u8>],
) -> Result<(), crate::StoreError> {
    store.rewrite_ledger_for_tests(entries).await
}
