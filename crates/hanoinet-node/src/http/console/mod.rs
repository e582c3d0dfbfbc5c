//! The officer's web console, served at `/` next to the API: server-rendered HTML (askama
//! templates checked at compile time), forms that work without JavaScript, every string from
//! the message files ([`super::i18n`]). Pages call the same `ops/` as the REST API, so every
//! rule has one implementation and every console action leaves the API's ledger entries.
//!
//! Security: the session cookie is `HttpOnly`, `SameSite=Strict` and `Secure` behind https;
//! every state-changing form carries the session's CSRF token and every POST must come from
//! this origin; pages send a strict Content-Security-Policy (no inline script or style), deny
//! framing and are never cached. No case data goes in a URL (request ids are random UUIDs).

// A page that refuses answers with the page that says so: `Result<_, Response>` is the handler's
// own shape (axum's rejections are the same), not an error travelling far.
#![allow(clippy::result_large_err)]

mod admin;
pub(crate) mod assets;
mod audit;
mod case;
mod centre;
mod centre_figures;
mod events;
mod forms;
mod give;
mod registry;
mod requests;
mod sign_in;
mod when;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use hanoinet_core::access::Role;
use hanoinet_store::{ConsoleSession, User};

use crate::error::NodeError;
use crate::http::i18n::{Lang, negotiate};
use crate::node::Node;
use crate::ops::signin;

pub use when::When;

/// The session cookie's name.
pub const COOKIE: &str = "hn_session";
/// The largest form the console accepts (bytes); attachments have their own limit.
const MAX_FORM_BYTES: usize = 256 * 1024;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes (merged into the node's router outside the API's JSON-only layer).
pub fn router() -> Router<Arc<Node>> {
    Router::new()
        .merge(sign_in::routes())
        .merge(requests::routes())
        .merge(case::routes())
        .merge(centre::routes())
        .merge(centre_figures::routes())
        .merge(give::routes())
        .merge(audit::routes())
        .merge(registry::routes())
        .merge(admin::routes())
        .merge(events::routes())
        .merge(assets::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn(protect))
}

/// Headers on every console answer, and the same-origin rule for every POST.
pub(crate) async fn protect(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.method() == axum::http::Method::POST && !same_origin(req.headers()) {
        let lang = negotiate(None, None, accept_language(req.headers()));
        return bare(
            lang,
            StatusCode::FORBIDDEN,
            "error-title",
            "error-cross-origin",
        );
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
        // Not `no-referrer`: with it a browser sends `Origin: null` on the console's own forms.
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// A POST is accepted only if it comes from this origin: its `Origin` names this host, or (a
/// browser that sent `Origin: null` or none) its `Sec-Fetch-Site` is `same-origin`, or (an older
/// browser) its `Referer` names this host. A page elsewhere cannot submit the console's forms,
/// the sign-in form included; a client that says nothing is refused.
fn same_origin(h: &HeaderMap) -> bool {
    let Some(host) = h.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let names_host = |v: &str| match url::Url::parse(v) {
        Ok(u) => {
            let authority = match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                _ => return false,
            };
            authority.eq_ignore_ascii_case(host)
        }
        Err(_) => false,
    };
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    match (
        get("origin").filter(|o| *o != "null"),
        get("sec-fetch-site"),
        get("referer"),
    ) {
        (Some(origin), _, _) => names_host(origin),
        (None, Some(site), _) => site == "same-origin",
        (None, None, Some(referer)) => names_host(referer),
        (None, None, None) => false,
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

pub(crate) fn accept_language(h: &HeaderMap) -> Option<&str> {
    h.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok())
}

fn query_lang(parts: &Parts) -> Option<String> {
    parts.uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.into_owned())
    })
}

/// One link of the page header's menu.
pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// Who is signed in, as the page frame shows them, with the menu their role opens.
pub struct Who {
    pub name: String,
    pub role: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

/// The pages each role's menu lists (a page still checks the role itself).
fn menu(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Officer => &[
            ("/inbox", "nav-inbox"),
            ("/outgoing", "nav-outgoing"),
            ("/requests/new", "nav-new"),
            ("/alerts", "nav-alerts"),
            ("/registry", "nav-registry"),
            ("/statistics", "nav-statistics"),
            ("/settings", "nav-settings"),
        ],
        Role::Supervisor => &[
            ("/inbox", "nav-inbox"),
            ("/outgoing", "nav-outgoing"),
            ("/requests/new", "nav-new"),
            ("/approvals", "nav-approvals"),
            ("/alerts", "nav-alerts"),
            ("/registry", "nav-registry"),
            ("/audit", "nav-audit"),
            ("/statistics", "nav-statistics"),
            ("/settings", "nav-settings"),
        ],
        Role::Auditor => &[
            ("/audit", "nav-audit"),
            ("/alerts", "nav-alerts"),
            ("/registry", "nav-registry"),
            ("/settings", "nav-settings"),
        ],
        Role::Admin => &[
            ("/admin", "nav-admin"),
            ("/registry", "nav-registry"),
            ("/settings", "nav-settings"),
        ],
        Role::Analyst => &[
            ("/reports", "nav-reports"),
            ("/indicators", "nav-indicators"),
            ("/warnings", "nav-warnings"),
            ("/statistics", "nav-statistics"),
            ("/settings", "nav-settings"),
        ],
        Role::CsamAnalyst => &[
            ("/reports", "nav-reports"),
            ("/reports?queue=restricted", "nav-restricted"),
            ("/indicators", "nav-indicators"),
            ("/warnings", "nav-warnings"),
            ("/statistics", "nav-statistics"),
            ("/settings", "nav-settings"),
        ],
    }
}

/// The first page of a role after sign-in.
pub fn home_of(role: Role) -> &'static str {
    menu(role)[0].0
}

/// A signed-in console request: the session, the language and time zone to answer in.
/// Extracting it from a request without a valid session answers with the way to sign in.
pub struct Console {
    pub session: ConsoleSession,
    pub lang: Lang,
    pub zone: jiff::tz::TimeZone,
    pub token: String,
    pub secure: bool,
}

impl FromRequestParts<Arc<Node>> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Node>) -> Result<Self, Response> {
        let token = cookie_of(&parts.headers).unwrap_or_default();
        let session = match signin::session(state, &token).await {
            Ok(s) => s,
            Err(NodeError::Unauthorized(_)) => {
                // A fragment fetched by script learns it must reload; a page goes to sign-in.
                if parts.headers.contains_key("hx-request") {
                    let mut r = StatusCode::UNAUTHORIZED.into_response();
                    r.headers_mut()
                        .insert("hx-redirect", HeaderValue::from_static("/sign-in"));
                    return Err(r);
                }
                return Err(Redirect::to("/sign-in").into_response());
            }
            Err(e) => {
                let lang = negotiate(None, None, accept_language(&parts.headers));
                return Err(failure_bare(lang, e));
            }
        };
        let q = query_lang(parts);
        let lang = negotiate(
            session.language.as_deref(),
            q.as_deref(),
            accept_language(&parts.headers),
        );
        let zone = session
            .time_zone
            .as_deref()
            .and_then(|z| jiff::tz::TimeZone::get(z).ok())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        Ok(Self {
            session,
            lang,
            zone,
            token,
            secure: behind_https(&parts.headers),
        })
    }
}

impl Console {
    pub fn user(&self) -> &User {
        &self.session.account.user
    }

    /// The page frame's view of the user, with `here` marked in the menu.
    pub fn who(&self, here: &str) -> Who {
        let role = self.user().role;
        Who {
            name: self.user().name.clone(),
            role: self.lang.text(&format!("role-{}", role.as_str())),
            csrf: self.session.csrf_token.clone(),
            nav: menu(role)
                .iter()
                .map(|(href, key)| NavItem {
                    href,
                    label: self.lang.text(key),
                    current: *href == here,
                })
                .collect(),
        }
    }

    /// A time as this user reads it (their time zone, their language's pattern).
    pub fn when(&self, t: jiff::Timestamp) -> When {
        When::new(t, &self.zone, self.lang)
    }

    /// `Err` (a 403 page) unless `presented` is this session's CSRF token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), Response> {
        if signin::csrf_matches(&self.session, presented) {
            Ok(())
        } else {
            Err(self.message(StatusCode::FORBIDDEN, "error-title", "error-csrf"))
        }
    }

    /// A page that only says something, in the page frame.
    pub fn message(&self, status: StatusCode, title: &str, text: &str) -> Response {
        page(
            MessagePage {
                lang: self.lang,
                signed_in: Some(self.who("")),
                title: self.lang.text(title),
                text: self.lang.text(text),
            },
            status,
        )
    }

    /// The page for an error a use case returned.
    pub fn failure(&self, e: NodeError) -> Response {
        match failure_key(&e) {
            Some((status, key)) => self.message(status, "error-title", key),
            None => internal(e),
        }
    }
}

/// The status and message of an error shown as a page (`None`: an internal error).
fn failure_key(e: &NodeError) -> Option<(StatusCode, &'static str)> {
    use crate::error::ErrorCode;
    Some(match e {
        NodeError::Forbidden { message, .. } if message.starts_with("four eyes") => {
            (StatusCode::FORBIDDEN, "error-four-eyes")
        }
        NodeError::Forbidden { .. } => (StatusCode::FORBIDDEN, "not-for-role"),
        NodeError::NotFound(_) => (StatusCode::NOT_FOUND, "error-not-found"),
        NodeError::Conflict { .. } => (StatusCode::CONFLICT, "error-conflict"),
        NodeError::Gone(_) => (StatusCode::GONE, "error-gone"),
        NodeError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "error-invalid"),
        NodeError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "session-ended"),
        NodeError::Refused { code, .. } if *code == ErrorCode::TooManyAttempts => {
            (StatusCode::TOO_MANY_REQUESTS, "error-too-many")
        }
        NodeError::Refused { .. } => (StatusCode::CONFLICT, "error-conflict"),
        NodeError::Store(_) | NodeError::Internal(_) => return None,
    })
}

fn failure_bare(lang: Lang, e: NodeError) -> Response {
    match failure_key(&e) {
        Some((status, key)) => bare(lang, status, "error-title", key),
        None => internal(e),
    }
}

/// A message page for someone not signed in.
fn bare(lang: Lang, status: StatusCode, title: &str, text: &str) -> Response {
    page(
        MessagePage {
            lang,
            signed_in: None,
            title: lang.text(title),
            text: lang.text(text),
        },
        status,
    )
}

pub(crate) fn internal(e: NodeError) -> Response {
    tracing::error!(error = ?e, "console page failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "500",
    )
        .into_response()
}

/// Renders a template as an HTML answer.
pub fn page(t: impl Template, status: StatusCode) -> Response {
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

/// The answer to a form that worked: back to a page (303, so a reload does not post again).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
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
