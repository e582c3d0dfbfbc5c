//! A request's own page: its fields as filed, its history, the moves the transition table
//! allows this user now (with the grounds a refusal may cite), messages and status enquiries,
//! data with their Art. 36 conditions and downloads, receipts; and the forms that act on it,
//! each calling the use case the REST API calls.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value};

use hanoinet_core::access::Role;
use hanoinet_core::catalogue::forms::FieldSpec;
use hanoinet_core::request::{self, Direction, FieldError, RefusalGround, Status, Urgency};

use super::forms;
use super::requests::{status_label, type_label, urgency_of, value_of};
use super::{Console, When, Who, page, see_other};
use crate::error::NodeError;
use crate::http::i18n::Lang;
use crate::node::Node;
use crate::ops;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/requests/{id}", get(show))
        .route("/requests/{id}/move", post(move_request))
        .route("/requests/{id}/approve", post(approve))
        .route("/requests/{id}/enquiry", post(enquiry))
        .route("/requests/{id}/attachments/{aid}", get(download))
}

/// One step of a request's history.
struct Step {
    status: String,
    at: When,
    by: String,
    note: Option<String>,
    grounds: Vec<String>,
    conditions: Option<String>,
    explanation: Option<String>,
}

/// A field of the request as filed.
struct Shown {
    label: String,
    article: String,
    value: String,
}

/// A move this user can make now, with what it needs.
struct MoveForm {
    to: &'static str,
    /// The move an officer most often makes next (the first button, in the accent colour).
    primary: bool,
    label: String,
    refusal: bool,
    conditional: bool,
    grounds: Vec<GroundChoice>,
}

struct GroundChoice {
    code: &'static str,
    label: String,
    article: String,
    checked: bool,
}

struct LedgerRow {
    index: u64,
    event: String,
    at: When,
    /// `Some(true)` proof verified, `Some(false)` it failed, `None` not yet in a signed head.
    included: Option<bool>,
}

struct MessageRow {
    kind: String,
    sent: bool,
    at: When,
    text: Option<String>,
}

struct AttachmentRow {
    id: String,
    name: String,
    size: i64,
    sha256: String,
    state: String,
    downloadable: bool,
}

struct TransferRow {
    sent: bool,
    peer: String,
    purpose: String,
    use_limitation: String,
    retention_until: String,
    onward: String,
    attachments: Vec<AttachmentRow>,
}

#[derive(Template)]
#[template(path = "console/request.html")]
struct RequestPage {
    lang: Lang,
    signed_in: Option<Who>,
    id: String,
    title: String,
    article: String,
    incoming: bool,
    peer: String,
    status: String,
    urgency: String,
    emergency: bool,
    ack_due: Option<When>,
    preserved_until: Option<When>,
    author: String,
    fields: Vec<Shown>,
    steps: Vec<Step>,
    moves: Vec<MoveForm>,
    has_simple_moves: bool,
    move_errors: Vec<String>,
    note: String,
    explanation: String,
    conditions: String,
    can_approve: bool,
    own_request: bool,
    awaiting_approval: bool,
    can_enquire: bool,
    can_give: bool,
    can_extend: bool,
    onward_rules: Vec<(&'static str, String)>,
    messages: Vec<MessageRow>,
    transfers: Vec<TransferRow>,
    receipt: bool,
    response_receipt: bool,
    ledger: Vec<LedgerRow>,
    ledger_hint: Option<String>,
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The message naming the field of a request-page form an error is about.
fn label_of(field: &str) -> Option<&'static str> {
    let name = field.rsplit('.').next().unwrap_or(field);
    let name = name.split('[').next().unwrap_or(name);
    Some(match name {
        "purpose" => "condition-purpose",
        "use_limitation" => "condition-use",
        "retention_until" => "condition-retention",
        "onward_transfer" => "condition-onward",
        "results" => "give-results",
        "attachments" | "name" => "give-file",
        "grounds" => "grounds",
        "explanation" => "explanation",
        "conditions" => "conditions",
        "days" => "extend-days",
        "note" => "note-optional",
        _ => return None,
    })
}

fn ground_label(lang: Lang, code: &str) -> String {
    lang.text(&format!("ground-{code}"))
}

/// The request page, with the errors of a move that was refused (and what the user typed).
async fn request_page(
    state: &Node,
    c: &Console,
    id: &str,
    move_errors: &[FieldError],
    typed: &[(String, String)],
) -> Result<RequestPage, Response> {
    let (rec, _pending) = ops::requests::open(state, c.user(), id)
        .await
        .map_err(|e| c.failure(e))?;
    let transfers = ops::give::transfers(state, c.user(), id)
        .await
        .map_err(|e| c.failure(e))?;
    let (proven, head) = ops::ledger::entries_about(state, rec.id)
        .await
        .map_err(|e| c.failure(e))?;
    let lang = c.lang;
    let t = rec.request_type;
    let fields_obj = rec.fields.as_object().cloned().unwrap_or_default();
    let fields = forms::specs(t)
        .filter_map(|spec: &FieldSpec| {
            fields_obj.get(spec.name).map(|v| Shown {
                label: lang.text(&format!("field-{}", spec.name)),
                article: spec.article.to_string(),
                value: forms::shown(lang, spec, v),
            })
        })
        .collect();
    let steps = rec
        .history
        .iter()
        .map(|e| {
            let d = e.details.clone().unwrap_or(Value::Null);
            Step {
                status: status_label(lang, e.status),
                at: c.when(e.at),
                by: e
                    .by
                    .map(|s| lang.text(&format!("side-{}", s.as_str())))
                    .unwrap_or_default(),
                note: e.note.clone(),
                grounds: d
                    .get("grounds")
                    .and_then(Value::as_array)
                    .map(|g| {
                        g.iter()
                            .filter_map(Value::as_str)
                            .map(|code| ground_label(lang, code))
                            .collect()
                    })
                    .unwrap_or_default(),
                conditions: text_of(&d, "conditions"),
                explanation: text_of(&d, "explanation"),
            }
        })
        .collect();
    let officer = c.user().role.may_act_on_requests();
    let author = rec.created_by.clone().unwrap_or_default();
    let own_request = author == c.user().name;
    let awaiting_approval =
        rec.direction == Direction::Outgoing && rec.status == Status::AwaitingApproval;
    let facts = ops::moves::own_facts(state, &rec);
    let checked: Vec<&str> = typed
        .iter()
        .filter(|(k, _)| k == "grounds")
        .map(|(_, v)| v.as_str())
        .collect();
    let moves = if officer {
        ops::moves::allowed_moves(&state.policy, &rec)
            .into_iter()
            // The approval move has its own button, for supervisors.
            .filter(|s| !(awaiting_approval && *s == Status::Queued))
            .enumerate()
            .map(|(i, to)| MoveForm {
                to: to.as_str(),
                primary: i == 0,
                label: lang.text(&format!("move-{}", to.as_str())),
                refusal: to == Status::Refused,
                conditional: to == Status::AcceptedWithConditions,
                grounds: if to == Status::Refused {
                    RefusalGround::ALL
                        .into_iter()
                        .filter(|g| g.allowed_under(t.form().refusal, facts.reservation_applies()))
                        .map(|g| GroundChoice {
                            code: g.code(),
                            label: ground_label(lang, g.code()),
                            article: g.article_for(t).to_string(),
                            checked: checked.contains(&g.code()),
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    let messages = rec
        .messages
        .iter()
        .map(|m| MessageRow {
            kind: lang.text(&format!("message-{}", m.kind.as_str())),
            sent: m.direction == request::Flow::Sent,
            at: c.when(m.at),
            text: text_of(&m.body, "note").or_else(|| text_of(&m.body, "text")),
        })
        .collect();
    let transfers = transfers
        .iter()
        .map(|tr| {
            let t = &tr.transfer;
            TransferRow {
                sent: t.direction == request::Flow::Sent,
                peer: t.peer.to_string(),
                purpose: t.conditions.purpose.clone(),
                use_limitation: t.conditions.use_limitation.clone(),
                retention_until: t.conditions.retention_until.to_string(),
                onward: lang.text(&format!("onward-{}", t.conditions.onward_transfer.as_str())),
                attachments: tr
                    .attachments
                    .iter()
                    .map(|a| AttachmentRow {
                        id: a.id.clone(),
                        name: a.name.clone(),
                        size: a.size,
                        sha256: a.sha256.clone().unwrap_or_default(),
                        state: lang.text(&format!("attachment-{}", a.state.as_str())),
                        downloadable: matches!(
                            a.state,
                            hanoinet_store::AttachmentState::Complete
                                | hanoinet_store::AttachmentState::Staged
                                | hanoinet_store::AttachmentState::Sent
                        ),
                    })
                    .collect(),
            }
        })
        .collect();
    let urgency = urgency_of(&rec);
    Ok(RequestPage {
        lang,
        signed_in: Some(c.who("")),
        id: rec.id.to_string(),
        title: type_label(lang, t),
        article: t.form().article.to_string(),
        incoming: rec.direction == Direction::Incoming,
        peer: match rec.direction {
            Direction::Incoming => rec.from.to_string(),
            Direction::Outgoing => rec.to.to_string(),
        },
        status: status_label(lang, rec.status),
        urgency: lang.text(&format!("urgency-{}", urgency.as_str())),
        emergency: urgency == Urgency::Emergency,
        ack_due: rec
            .ack_due_at
            .filter(|_| rec.status == Status::Delivered)
            .map(|at| c.when(at)),
        preserved_until: rec.preserved_until.map(|at| c.when(at)),
        author,
        fields,
        steps,
        has_simple_moves: moves.iter().any(|m| !m.refusal && !m.conditional),
        moves,
        move_errors: move_errors
            .iter()
            .map(|e| match label_of(&e.field) {
                Some(key) => format!("{}: {}", lang.text(key), forms::error_text(lang, e)),
                None => forms::error_text(lang, e),
            })
            .collect(),
        note: value_of(typed, "note").to_owned(),
        explanation: value_of(typed, "explanation").to_owned(),
        conditions: value_of(typed, "conditions").to_owned(),
        can_approve: awaiting_approval && c.user().role == Role::Supervisor && !own_request,
        own_request,
        awaiting_approval,
        can_enquire: officer
            && rec.direction == Direction::Outgoing
            && !rec.status.before_sending(),
        can_give: officer && ops::data::may_give(&rec),
        can_extend: officer && t == request::RequestType::Preservation && rec.status.preserves(),
        onward_rules: hanoinet_protocol::payload::OnwardRule::ALL
            .iter()
            .map(|r| (r.as_str(), lang.text(&format!("onward-{}", r.as_str()))))
            .collect(),
        messages,
        transfers,
        receipt: rec.receipt.is_some(),
        response_receipt: rec.response_receipt.is_some(),
        ledger: proven
            .iter()
            .map(|p| LedgerRow {
                index: p.index,
                event: p.entry.event.clone(),
                at: c.when(p.entry.at),
                included: p.included,
            })
            .collect(),
        ledger_hint: head
            .map(|h| lang.text_with("ledger-hint", &[("size", h.head.tree_size.to_string())])),
    })
}

/// The request page again with the errors of a form that was refused (422), or the page for
/// an error that is not about the form's fields.
pub(super) async fn again_with(
    state: &Node,
    c: &Console,
    id: &str,
    e: NodeError,
    typed: &[(String, String)],
) -> Response {
    match e {
        NodeError::Invalid(errors) => match request_page(state, c, id, &errors, typed).await {
            Ok(p) => page(p, StatusCode::UNPROCESSABLE_ENTITY),
            Err(r) => r,
        },
        e => c.failure(e),
    }
}

async fn show(State(state): State<Arc<Node>>, c: Console, Path(id): Path<String>) -> Response {
    match request_page(&state, &c, &id, &[], &[]).await {
        Ok(p) => page(p, StatusCode::OK),
        Err(r) => r,
    }
}

/// What every form on a request's page checks first: the CSRF token, an officer's role, the
/// request. `Err` is the page that says why not.
pub(super) async fn acting_on(
    state: &Node,
    c: &Console,
    id: &str,
    csrf: &str,
) -> Result<hanoinet_store::RequestRecord, Response> {
    c.check_csrf(csrf)?;
    ops::access::require_officer(c.user()).map_err(|e| c.failure(e))?;
    ops::requests::load(state, id)
        .await
        .map_err(|e| c.failure(e))
}

/// A move form as the API's transition body: `status`, `note`, and for a refusal `grounds`
/// and `explanation`, for a conditional acceptance `conditions` (blank fields left out, so the
/// validation names what is missing).
fn move_body(values: &[(String, String)]) -> Value {
    let mut o = Map::new();
    o.insert("status".into(), Value::from(value_of(values, "status")));
    for key in ["note", "explanation", "conditions"] {
        let v = value_of(values, key).trim();
        if !v.is_empty() {
            o.insert(key.into(), Value::from(v));
        }
    }
    let grounds: Vec<Value> = values
        .iter()
        .filter(|(k, _)| k == "grounds")
        .map(|(_, v)| Value::from(v.as_str()))
        .collect();
    if !grounds.is_empty() {
        o.insert("grounds".into(), Value::Array(grounds));
    }
    Value::Object(o)
}

/// `POST /requests/{id}/move`: the same validation and use case as
/// `POST /api/v1/requests/{id}/transitions`.
async fn move_request(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(id): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    let rec = match acting_on(&state, &c, &id, value_of(&values, "csrf")).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let result = match request::validate_move(
        &move_body(&values),
        rec.request_type,
        ops::moves::own_facts(&state, &rec),
    ) {
        Err(errors) => Err(NodeError::Invalid(errors)),
        Ok(mv) => ops::moves::apply(&state, c.user(), &rec, mv)
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => see_other(&format!("/requests/{id}")),
        Err(NodeError::Invalid(errors)) => {
            match request_page(&state, &c, &id, &errors, &values).await {
                Ok(p) => page(p, StatusCode::UNPROCESSABLE_ENTITY),
                Err(r) => r,
            }
        }
        Err(e) => c.failure(e),
    }
}

#[derive(serde::Deserialize)]
struct CsrfOnly {
    csrf: String,
}

/// `POST /requests/{id}/approve`: four eyes, by the same use case as the API's approval.
async fn approve(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let rec = match acting_on(&state, &c, &id, &f.csrf).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    if rec.direction != Direction::Outgoing {
        return c.failure(NodeError::conflict(
            "approval is for requests this node sends",
        ));
    }
    let mv = request::Move {
        to: Status::Queued,
        note: None,
        decision: None,
    };
    match ops::moves::move_requesting(&state, c.user(), &rec, mv).await {
        Ok(_) => see_other(&format!("/requests/{id}")),
        Err(e) => c.failure(e),
    }
}

#[derive(serde::Deserialize)]
struct EnquiryForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /requests/{id}/enquiry`: a status enquiry (Art. 40), as the API sends it.
async fn enquiry(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(id): Path<String>,
    Form(f): Form<EnquiryForm>,
) -> Response {
    let rec = match acting_on(&state, &c, &id, &f.csrf).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let note = match request::long_text(
        Some(&Value::from(f.note.trim())).filter(|v| v.as_str() != Some("")),
        "note",
        None,
    ) {
        Ok(n) => n,
        Err(e) => {
            return again_with(&state, &c, &id, NodeError::Invalid(vec![e]), &[]).await;
        }
    };
    match ops::messages::status_enquiry(&state, c.user(), &rec, note).await {
        Ok(_) => see_other(&format!("/requests/{id}")),
        Err(e) => c.failure(e),
    }
}

/// An attachment's content, as the API serves it (the read is in the ledger).
async fn download(
    State(state): State<Arc<Node>>,
    c: Console,
    Path((id, aid)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    let served = match ops::give::attachment(&state, c.user(), &id, &aid).await {
        Ok(a) => crate::http::data::serve_attachment(&state, c.user(), a, &headers).await,
        Err(e) => Err(e),
    };
    match served {
        Ok(r) => r,
        Err(e) => c.failure(e),
    }
}
