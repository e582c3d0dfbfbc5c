//! The auditor's page (the node's signed tree head, the heads of its peers, alerts) and the
//! alerts page. Nothing here opens case content: the ledger holds codes and commitments only.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::{Console, When, Who, page};
use crate::http::i18n::Lang;
use crate::node::Node;
use crate::ops;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/audit", get(audit))
        .route("/audit/verify", axum::routing::post(verify))
        .route("/alerts", get(alerts))
}

struct HeadRow {
    log: String,
    size: u64,
    root: String,
    at: Option<When>,
    checked: bool,
}

struct AlertRow {
    kind: String,
    subject: String,
    at: When,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    lang: Lang,
    signed_in: Option<Who>,
    head: Option<HeadRow>,
    peers: Vec<HeadRow>,
    alerts: Vec<AlertRow>,
    verdict: Option<Verdict>,
}

/// What "verify now" found.
struct Verdict {
    ok: bool,
    text: String,
    /// Why it failed, as the verifier says it (technical evidence: sizes and hashes).
    detail: Option<String>,
}

async fn alert_rows(state: &Node, c: &Console) -> Result<Vec<AlertRow>, Response> {
    let alerts = state
        .store
        .alerts(100)
        .await
        .map_err(|e| c.failure(e.into()))?;
    Ok(alerts
        .iter()
        .map(|a| AlertRow {
            kind: c.lang.text(&format!("alert-{}", a.kind.as_str())),
            subject: a.subject.clone(),
            at: c.when(a.created_at),
        })
        .collect())
}

async fn audit(State(state): State<Arc<Node>>, c: Console) -> Response {
    audit_page(&state, &c, None).await
}

/// `POST /audit/verify`: the checks of `hanoinet ledger verify`, on this node's store.
async fn verify(
    State(state): State<Arc<Node>>,
    c: Console,
    axum::extract::Form(f): axum::extract::Form<super::sign_in::CsrfForm>,
) -> Response {
    if let Err(refused) = c.check_csrf(&f.csrf) {
        return refused;
    }
    let verdict = match ops::audit::verify_now(&state, c.user()).await {
        Ok(Ok(v)) => {
            let mut args = vec![
                ("log", v.log_id.clone()),
                ("size", v.tree_size.to_string()),
                ("root", hex::encode(v.root_hash)),
            ];
            let key = match v.consistent_with {
                Some((n, at)) => {
                    args.push(("earlier", n.to_string()));
                    args.push(("at", c.when(at).local));
                    "audit-verified-consistent"
                }
                None => "audit-verified",
            };
            Verdict {
                ok: true,
                text: c.lang.text_with(key, &args),
                detail: None,
            }
        }
        Ok(Err(why)) => Verdict {
            ok: false,
            text: c.lang.text("audit-failed"),
            detail: Some(why.0),
        },
        Err(e) => return c.failure(e),
    };
    audit_page(&state, &c, Some(verdict)).await
}

async fn audit_page(state: &Node, c: &Console, verdict: Option<Verdict>) -> Response {
    if let Err(e) = ops::access::require_auditor(c.user()) {
        return c.failure(e);
    }
    let head = match ops::ledger::refresh(state).await {
        Ok(h) => h,
        Err(e) => return c.failure(e),
    };
    let peers = match state.store.peer_heads().await {
        Ok(p) => p,
        Err(e) => return c.failure(e.into()),
    };
    let alerts = match alert_rows(state, c).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    page(
        AuditPage {
            lang: c.lang,
            signed_in: Some(c.who("/audit")),
            head: head.map(|h| HeadRow {
                log: h.head.log_id.clone(),
                size: h.head.tree_size,
                root: hex::encode(h.head.root_hash),
                at: Some(c.when(h.head.timestamp)),
                checked: true,
            }),
            peers: peers
                .iter()
                .map(|p| HeadRow {
                    log: p.peer.clone(),
                    size: p.tree_size,
                    root: hex::encode(p.root_hash),
                    at: None,
                    checked: p.checked,
                })
                .collect(),
            alerts,
            verdict,
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "console/alerts.html")]
struct AlertsPage {
    lang: Lang,
    signed_in: Option<Who>,
    alerts: Vec<AlertRow>,
}

/// Alerts (missed deadlines, expiring preservations, corrupt attachments, inconsistent peer
/// logs): for officers, supervisors and auditors.
async fn alerts(State(state): State<Arc<Node>>, c: Console) -> Response {
    let role = c.user().role;
    if !(role.may_read_requests() || role.may_audit()) {
        return c.message(StatusCode::FORBIDDEN, "alerts-title", "not-for-role");
    }
    match alert_rows(&state, &c).await {
        Ok(alerts) => page(
            AlertsPage {
                lang: c.lang,
                signed_in: Some(c.who("/alerts")),
                alerts,
            },
            StatusCode::OK,
        ),
        Err(r) => r,
    }
}
