//! The case pages: the 24/7 inbox, outgoing requests, the supervisors' approval queue, a new
//! request (a form per type, generated from the catalogue) and a request's own page with the
//! moves the transition table allows. Every action calls the use case the REST API calls.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use hanoinet_core::access::Role;
use hanoinet_core::request::{self, Direction, FieldError, RequestType, Status, Urgency};
use hanoinet_store::{ListOrder, RequestRecord};

use super::forms::{self, Field};
use super::{Console, When, Who, page, see_other};
use crate::error::NodeError;
use crate::http::i18n::Lang;
use crate::node::Node;
use crate::ops;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/inbox", get(inbox))
        .route("/inbox/rows", get(inbox_rows))
        .route("/outgoing", get(outgoing))
        .route("/approvals", get(approvals))
        .route("/requests/new", get(choose_type))
        .route("/requests/new/{kind}", get(new_form).post(create))
}

/// One row of a list of requests.
pub struct Row {
    pub id: String,
    pub kind: String,
    pub peer: String,
    pub urgency: String,
    pub emergency: bool,
    pub status: String,
    pub created: When,
    pub ack_due: Option<When>,
    pub author: String,
    pub own: bool,
}

pub(super) fn urgency_of(r: &RequestRecord) -> Urgency {
    r.fields
        .as_object()
        .and_then(request::RequestFacts::of)
        .map_or(Urgency::Normal, |f| f.urgency)
}

fn row(c: &Console, r: &RequestRecord) -> Row {
    let urgency = urgency_of(r);
    let author = r.created_by.clone().unwrap_or_default();
    Row {
        id: r.id.to_string(),
        kind: type_label(c.lang, r.request_type),
        peer: match r.direction {
            Direction::Incoming => r.from.to_string(),
            Direction::Outgoing => r.to.to_string(),
        },
        urgency: c.lang.text(&format!("urgency-{}", urgency.as_str())),
        emergency: urgency == Urgency::Emergency,
        status: status_label(c.lang, r.status),
        created: c.when(r.created_at),
        // The deadline counts while the request waits for its acknowledgement.
        ack_due: r
            .ack_due_at
            .filter(|_| r.status == Status::Delivered)
            .map(|t| c.when(t)),
        own: author == c.user().name,
        author,
    }
}

pub fn type_label(lang: Lang, t: RequestType) -> String {
    lang.text(&format!("type-{}", t.as_str()))
}

pub fn status_label(lang: Lang, s: Status) -> String {
    lang.text(&format!("status-{}", s.as_str()))
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage {
    lang: Lang,
    signed_in: Option<Who>,
    rows: Vec<Row>,
    shown: Option<String>,
}

#[derive(Template)]
#[template(path = "console/inbox_rows.html")]
struct InboxRows {
    lang: Lang,
    rows: Vec<Row>,
    shown: Option<String>,
}

/// The inbox's rows, and the line saying how many of how many it shows (when not all).
async fn inbox_list(state: &Node, c: &Console) -> Result<(Vec<Row>, Option<String>), Response> {
    match ops::requests::inbox(state, c.user()).await {
        Ok((recs, total)) => {
            let shown = (recs.len() < total as usize).then(|| {
                c.lang.text_with(
                    "inbox-showing",
                    &[
                        ("shown", recs.len().to_string()),
                        ("total", total.to_string()),
                    ],
                )
            });
            Ok((recs.iter().map(|(r, _)| row(c, r)).collect(), shown))
        }
        Err(e) => Err(c.failure(e)),
    }
}

async fn inbox(State(state): State<Arc<Node>>, c: Console) -> Response {
    match inbox_list(&state, &c).await {
        Ok((rows, shown)) => page(
            InboxPage {
                lang: c.lang,
                signed_in: Some(c.who("/inbox")),
                rows,
                shown,
            },
            StatusCode::OK,
        ),
        Err(r) => r,
    }
}

/// The inbox's table alone, fetched again when the event stream says something changed.
async fn inbox_rows(State(state): State<Arc<Node>>, c: Console) -> Response {
    match inbox_list(&state, &c).await {
        Ok((rows, shown)) => page(
            InboxRows {
                lang: c.lang,
                rows,
                shown,
            },
            StatusCode::OK,
        ),
        Err(r) => r,
    }
}

#[derive(Template)]
#[template(path = "console/outgoing.html")]
struct ListPage {
    lang: Lang,
    signed_in: Option<Who>,
    title: String,
    approvals: bool,
    rows: Vec<Row>,
}

async fn outgoing(State(state): State<Arc<Node>>, c: Console) -> Response {
    let recs = ops::requests::list(
        &state,
        c.user(),
        Some(Direction::Outgoing),
        ListOrder::Newest,
        ops::requests::MAX_LIST,
    )
    .await;
    list_page(&c, "/outgoing", "outgoing-title", false, recs)
}

/// The supervisors' queue: outgoing requests awaiting approval; each can be approved by a
/// supervisor other than its author (the page says so; the use case enforces it).
async fn approvals(State(state): State<Arc<Node>>, c: Console) -> Response {
    if c.user().role != Role::Supervisor {
        return c.message(StatusCode::FORBIDDEN, "approvals-title", "not-for-role");
    }
    let recs = ops::requests::awaiting_approval(&state, c.user()).await;
    list_page(&c, "/approvals", "approvals-title", true, recs)
}

fn list_page(
    c: &Console,
    here: &str,
    title: &str,
    approvals: bool,
    recs: crate::error::NodeResult<Vec<RequestRecord>>,
) -> Response {
    match recs {
        Ok(recs) => page(
            ListPage {
                lang: c.lang,
                signed_in: Some(c.who(here)),
                title: c.lang.text(title),
                approvals,
                rows: recs.iter().map(|r| row(c, r)).collect(),
            },
            StatusCode::OK,
        ),
        Err(e) => c.failure(e),
    }
}

/// A request type in the chooser.
struct TypeChoice {
    code: &'static str,
    label: String,
    article: String,
}

#[derive(Template)]
#[template(path = "console/choose_type.html")]
struct ChooseTypePage {
    lang: Lang,
    signed_in: Option<Who>,
    types: Vec<TypeChoice>,
}

async fn choose_type(c: Console) -> Response {
    if let Err(e) = ops::access::require_officer(c.user()) {
        return c.failure(e);
    }
    page(
        ChooseTypePage {
            lang: c.lang,
            signed_in: Some(c.who("/requests/new")),
            types: RequestType::ALL
                .iter()
                .map(|t| TypeChoice {
                    code: t.as_str(),
                    label: type_label(c.lang, *t),
                    article: t.form().article.to_string(),
                })
                .collect(),
        },
        StatusCode::OK,
    )
}

/// A node of another State the request can go to.
pub(super) struct Peer {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "console/new_request.html")]
struct NewRequestPage {
    lang: Lang,
    signed_in: Option<Who>,
    kind: &'static str,
    title: String,
    article: String,
    peers: Vec<Peer>,
    to: String,
    to_error: Option<String>,
    fields: Vec<Field>,
    /// Every error, first on the page, each a link to its field (or without one, for the
    /// errors that belong to no field: the legal gate's, the body's).
    summary: Vec<(Option<String>, String)>,
}

pub(super) fn peers(state: &Node) -> Vec<Peer> {
    let mut out: Vec<Peer> = state
        .registry()
        .nodes
        .iter()
        .filter(|n| n.id.state() != state.id.state())
        .map(|n| Peer {
            id: n.id.to_string(),
            label: format!("{} ({})", n.id, n.id.state()),
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn new_request_page(
    state: &Node,
    c: &Console,
    t: RequestType,
    values: &[(String, String)],
    errors: &[FieldError],
) -> NewRequestPage {
    let fields = forms::fields(c.lang, t, values, errors);
    let to_error = errors
        .iter()
        .find(|e| e.field == "to")
        .map(|e| forms::error_text(c.lang, e));
    let summary = errors
        .iter()
        .map(|e| {
            let text = forms::error_text(c.lang, e);
            match fields.iter().find(|f| f.name == e.field) {
                Some(f) => (
                    Some(format!("f-{}", f.name)),
                    format!("{}: {text}", f.label),
                ),
                None if e.field == "to" => (
                    Some("f-to".into()),
                    format!("{}: {text}", c.lang.text("field-to")),
                ),
                None => (None, text),
            }
        })
        .collect();
    NewRequestPage {
        lang: c.lang,
        signed_in: Some(c.who("/requests/new")),
        kind: t.as_str(),
        title: type_label(c.lang, t),
        article: t.form().article.to_string(),
        peers: peers(state),
        to: value_of(values, "to").to_owned(),
        to_error,
        fields,
        summary,
    }
}

pub(super) fn value_of<'a>(values: &'a [(String, String)], key: &str) -> &'a str {
    values
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

async fn new_form(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(kind): Path<String>,
) -> Response {
    if let Err(e) = ops::access::require_officer(c.user()) {
        return c.failure(e);
    }
    let Some(t) = RequestType::parse(&kind) else {
        return c.failure(NodeError::not_found("no such request type"));
    };
    page(new_request_page(&state, &c, t, &[], &[]), StatusCode::OK)
}

/// `POST /requests/new/{type}`: the form, read into the API's body and created by the same use
/// case; a draft stays here, "send" submits it (for approval where the policy asks for four
/// eyes). Errors come back next to their fields.
async fn create(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(kind): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = c.check_csrf(value_of(&values, "csrf")) {
        return refused;
    }
    let Some(t) = RequestType::parse(&kind) else {
        return c.failure(NodeError::not_found("no such request type"));
    };
    let draft = value_of(&values, "action") == "draft";
    let body = forms::body(t, value_of(&values, "to"), &values, draft);
    let created = match ops::requests::parse_new(body) {
        Ok((new, draft)) => ops::requests::create_outgoing(&state, c.user(), new, draft).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(rec) => see_other(&format!("/requests/{}", rec.id)),
        Err(NodeError::Invalid(errors)) => page(
            new_request_page(&state, &c, t, &values, &errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => c.failure(e),
    }
}
