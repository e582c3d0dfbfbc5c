//! The officer's web console, served at `/` next to the API: server-rendered HTML (askama
//! templates checked at compile time), forms that work without JavaScript, every string from
//! the message files ([`super::i18n`]). Pages call the same `ops/` as the REST API.
//!
//! Security: the session cookie is `HttpOnly`, `SameSite=Strict` and `Secure` behind https;
//! every state-changing form carries the session's CSRF token and every POST must come from
//! this origin; pages send a strict Content-Security-Policy (no inline script or style), deny
//! framing and are never cached. No case data goes in a URL.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use hanoinet_store::ConsoleSession;

use crate::error::{ErrorCode, NodeError};
use crate::http::i18n::{Lang, negotiate};
use crate::node::Node;
use crate::ops::signin;

/// The session cookie's name.
pub const COOKIE: &str = "hn_session";
/// The largest form the console accepts (bytes).
const MAX_FORM_BYTES: usize = 16 * 1024;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes (merged into the node's router outside the API's JSON-only layer).
pub fn router() -> Router<Arc<Node>> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/inbox", get(inbox))
        .route("/console/console.css", get(stylesheet))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn(protect))
}

/// Headers on every console answer, and the same-origin rule for every POST.
async fn protect(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.method() == axum::http::Method::POST && !same_origin(req.headers()) {
        return (StatusCode::FORBIDDEN, "cross-origin form refused").into_response();
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// A POST is accepted only if its `Origin` (or, without one, its `Referer`) names this host:
/// a page elsewhere cannot submit the console's forms, the sign-in form included.
fn same_origin(h: &HeaderMap) -> bool {
    let Some(host) = h.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let from = h
        .get(header::ORIGIN)
        .or_else(|| h.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match from.and_then(|f| url::Url::parse(f).ok()) {
        Some(u) => {
            let authority = match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                _ => return false,
            };
            authority.eq_ignore_ascii_case(host)
        }
        // Browsers send Origin on every POST; a client that sends neither is not a browser
        // form, and a form is all these routes take.
        None => false,
    }
}

fn behind_https(h: &HeaderMap) -> bool {
    h.get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn cookie_of(h: &HeaderMap) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(value: &str, secure: bool, clear: bool) -> HeaderValue {
    let mut c = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    if clear {
        c.push_str("; Max-Age=0");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn accept_language(h: &HeaderMap) -> Option<&str> {
    h.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())
}

/// Who is signed in, as the page header shows them.
struct Who {
    name: String,
    role: &'static str,
    csrf: String,
}

impl Who {
    fn of(s: &ConsoleSession) -> Self {
        Self {
            name: s.account.user.name.clone(),
            role: s.account.user.role.as_str(),
            csrf: s.csrf_token.clone(),
        }
    }
}

/// The signed-in session of a request, or the way to the sign-in page.
async fn signed_in(state: &Node, headers: &HeaderMap) -> Result<ConsoleSession, Response> {
    let token = cookie_of(headers).unwrap_or_default();
    match signin::session(state, &token).await {
        Ok(s) => Ok(s),
        Err(NodeError::Unauthorized(_)) => Err(Redirect::to("/sign-in").into_response()),
        Err(e) => Err(internal(e)),
    }
}

fn internal(e: NodeError) -> Response {
    tracing::error!(error = ?e, "console page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

fn page(t: impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => internal(NodeError::internal(e)),
    }
}

async fn home(State(state): State<Arc<Node>>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok(_) => Redirect::to("/inbox").into_response(),
        Err(to_sign_in) => to_sign_in,
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    lang: Lang,
    langs: &'static [Lang],
    signed_in: Option<Who>,
    username: String,
    error: Option<String>,
    notice: Option<String>,
}

impl SignInPage {
    fn new(lang: Lang, username: String, error: Option<String>, notice: Option<String>) -> Self {
        Self {
            lang,
            langs: Lang::ALL,
            signed_in: None,
            username,
            error,
            notice,
        }
    }
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn sign_in_page(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = negotiate(None, q.lang.as_deref(), accept_language(&headers));
    page(
        SignInPage::new(lang, String::new(), None, None),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct SignInForm {
    username: String,
    password: String,
    code: String,
    lang: Option<String>,
}

async fn sign_in(
    State(state): State<Arc<Node>>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let lang = negotiate(None, f.lang.as_deref(), accept_language(&headers));
    let again = |status: StatusCode, error: String| {
        page(
            SignInPage::new(lang, f.username.clone(), Some(error), None),
            status,
        )
    };
    match signin::sign_in(&state, &f.username, &f.password, &f.code).await {
        Ok(s) => {
            let mut res = Redirect::to("/inbox").into_response();
            res.headers_mut().insert(
                header::SET_COOKIE,
                set_cookie(&s.token, behind_https(&headers), false),
            );
            res
        }
        Err(NodeError::Unauthorized(m)) if m.contains("already used") => {
            again(StatusCode::UNAUTHORIZED, lang.text("sign-in-code-used"))
        }
        Err(NodeError::Unauthorized(_)) => {
            again(StatusCode::UNAUTHORIZED, lang.text("sign-in-wrong"))
        }
        Err(e) if e.code() == ErrorCode::TooManyAttempts => {
            let seconds = signin::retry_after_seconds(&e).unwrap_or(30);
            let mut res = again(
                StatusCode::TOO_MANY_REQUESTS,
                lang.text_with("sign-in-too-many", &[("seconds", seconds.to_string())]),
            );
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(NodeError::Invalid(_)) => again(StatusCode::UNAUTHORIZED, lang.text("sign-in-wrong")),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
    State(state): State<Arc<Node>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(to_sign_in) => return to_sign_in,
    };
    if !signin::csrf_matches(&session, &f.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "the form's CSRF token is not this session's",
        )
            .into_response();
    }
    let token = cookie_of(&headers).unwrap_or_default();
    if let Err(e) = signin::sign_out(&state, &token).await {
        return internal(e);
    }
    let lang = negotiate(session.language.as_deref(), None, accept_language(&headers));
    let mut res = page(
        SignInPage::new(lang, String::new(), None, Some(lang.text("signed-out"))),
        StatusCode::OK,
    );
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie("", behind_https(&headers), true),
    );
    res
}

/// One row of the inbox.
struct InboxRow {
    id: String,
    kind: &'static str,
    from: String,
    urgency: &'static str,
    emergency: bool,
    status: &'static str,
    ack_due: Option<String>,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage {
    lang: Lang,
    signed_in: Option<Who>,
    rows: Vec<InboxRow>,
}

async fn inbox(State(state): State<Arc<Node>>, headers: HeaderMap) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(s) => s,
        Err(to_sign_in) => return to_sign_in,
    };
    let lang = negotiate(session.language.as_deref(), None, accept_language(&headers));
    let recs = match crate::ops::requests::inbox(&state, &session.account.user).await {
        Ok(r) => r,
        Err(NodeError::Forbidden { .. }) => {
            return page(
                MessagePage {
                    lang,
                    signed_in: Some(Who::of(&session)),
                    title: lang.text("inbox-title"),
                    text: lang.text("not-for-role"),
                },
                StatusCode::FORBIDDEN,
            );
        }
        Err(e) => return internal(e),
    };
    let rows = recs
        .iter()
        .map(|(r, urgency)| InboxRow {
            id: r.id.to_string(),
            kind: r.request_type.as_str(),
            from: r.from.to_string(),
            urgency: urgency.as_str(),
            emergency: *urgency == hanoinet_core::request::Urgency::Emergency,
            status: r.status.as_str(),
            ack_due: r.ack_due_at.map(|t| t.to_string()),
        })
        .collect();
    page(
        InboxPage {
            lang,
            signed_in: Some(Who::of(&session)),
            rows,
        },
        StatusCode::OK,
    )
}

/// A page that only says something (a refusal, a notice), in the page frame.
#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage {
    lang: Lang,
    signed_in: Option<Who>,
    title: String,
    text: String,
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/console.css"),
    )
        .into_response()
}
