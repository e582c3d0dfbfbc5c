//! `GET /console/events`: Server-Sent Events for the inbox. The stream says `changed` when an
//! incoming request arrives, changes or is escalated (a missed acknowledgement deadline), and
//! the page fetches its table again. It reads the database, not this process's memory, so a
//! request received by another replica shows as quickly; it ends when the session does.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream};

use hanoinet_core::request::Direction;

use super::Console;
use crate::node::Node;
use crate::ops::signin;

/// How often the stream looks for a change.
const POLL: Duration = Duration::from_secs(1);
/// How often it checks that the session is still open.
const SESSION_CHECK: u32 = 30;

pub fn routes() -> Router<Arc<Node>> {
    Router::new().route("/console/events", get(events))
}

struct Watch {
    state: Arc<Node>,
    token: String,
    last: Option<(i64, i64, i64)>,
    ticks: u32,
}

async fn events(State(state): State<Arc<Node>>, c: Console) -> Response {
    if let Err(e) = crate::ops::access::require_reader(c.user()) {
        return c.failure(e);
    }
    let w = Watch {
        state,
        token: c.token.clone(),
        last: None,
        ticks: 0,
    };
    Sse::new(changes(w))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn changes(w: Watch) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(Some(w), |w| async move {
        let mut w = w?;
        loop {
            w.ticks += 1;
            if w.ticks % SESSION_CHECK == 0 && signin::session(&w.state, &w.token).await.is_err() {
                // The session ended: say so once; the page's next fetch goes to sign-in.
                return Some((Ok(Event::default().event("changed").data("ended")), None));
            }
            match w
                .state
                .store
                .requests_fingerprint(Direction::Incoming)
                .await
            {
                Ok(now) => {
                    let changed = w.last.is_some_and(|l| l != now);
                    w.last = Some(now);
                    if changed {
                        return Some((
                            Ok(Event::default().event("changed").data("inbox")),
                            Some(w),
                        ));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "console events: reading the inbox failed"),
            }
            tokio::time::sleep(POLL).await;
        }
    })
}
