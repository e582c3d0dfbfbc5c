//! Group commit for request creation: concurrent API calls that create requests share one
//! transaction. Each caller waits for the commit of its own request before it answers, so a
//! `201` still means "durably stored".

use tokio::sync::{mpsc, oneshot};

use hanoinet_store::{NewOutgoing, Store};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;

/// Most creations committed together.
const MAX_BATCH: usize = 256;

type Job = (NewOutgoing, oneshot::Sender<Result<(), String>>);

/// The sending half the API uses.
#[derive(Debug, Clone)]
pub struct Creator(mpsc::UnboundedSender<Job>);

/// Starts the committing task; it ends when every [`Creator`] is dropped.
pub fn spawn(store: Store) -> Creator {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        let mut jobs = Vec::new();
        while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
            let (items, replies): (Vec<NewOutgoing>, Vec<_>) = jobs.drain(..).unzip();
            let result = store
                .create_outgoing(&items)
                .await
                .map_err(|e| e.to_string());
            for reply in replies {
                let _ = reply.send(result.clone());
            }
        }
    });
    Creator(tx)
}

/// Stores one new outgoing request, committed with whatever else is being created right now.
pub async fn create(state: &Node, item: NewOutgoing) -> NodeResult<()> {
    let (reply, done) = oneshot::channel();
    state
        .creator
        .0
        .send((item, reply))
        .map_err(|_| NodeError::internal("the request writer has stopped"))?;
    match done.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(NodeError::internal(e)),
        Err(_) => Err(NodeError::internal("the request writer has stopped")),
    }
}
