//! Keeps the indicator lookup's index ([`crate::lookup`]) current on a node with a public side:
//! builds it, then reads the changes any replica committed every `tunables.lookup_refresh`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::node::Node;

/// Builds the index, then refreshes it every `every` until `stop`.
pub async fn run(state: Arc<Node>, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = state.lookup.refresh(&state.store).await {
            tracing::warn!(error = %e, "refreshing the indicator lookup failed; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}
