//! Administration (role `admin`): the node's users and roles, adding a user, resetting a
//! user's sign-in (the new TOTP secret shown once, as a QR code rendered here), disabling a
//! user; the node's policy, read-only.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use hanoinet_core::access::Role;

use super::{Console, When, Who, page, see_other};
use crate::error::NodeError;
use crate::http::i18n::Lang;
use crate::node::Node;
use crate::ops;
use crate::ops::signin::Enrolment;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/admin", get(admin))
        .route("/admin/users", post(add))
        .route("/admin/users/{name}/reset", post(reset))
        .route("/admin/users/{name}/disable", post(disable))
}

struct UserRow {
    name: String,
    role: String,
    created: When,
    last_used: Option<When>,
    disabled: Option<When>,
    me: bool,
}

struct RoleChoice {
    code: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "console/admin.html")]
struct AdminPage {
    lang: Lang,
    signed_in: Option<Who>,
    users: Vec<UserRow>,
    roles: Vec<RoleChoice>,
    approval_required: Vec<String>,
    ack_minutes: i64,
    emergency_ack_minutes: i64,
    error: Option<String>,
    username: String,
}

async fn admin_page(
    state: &Node,
    c: &Console,
    error: Option<String>,
    username: &str,
) -> Result<AdminPage, Response> {
    let users = ops::users::list(state, c.user())
        .await
        .map_err(|e| c.failure(e))?;
    Ok(AdminPage {
        lang: c.lang,
        signed_in: Some(c.who("/admin")),
        users: users
            .iter()
            .map(|a| UserRow {
                name: a.user.name.clone(),
                role: c.lang.text(&format!("role-{}", a.user.role.as_str())),
                created: c.when(a.created_at),
                last_used: a.last_used_at.map(|t| c.when(t)),
                disabled: a.disabled_at.map(|t| c.when(t)),
                me: a.user.name == c.user().name,
            })
            .collect(),
        roles: Role::ALL
            .iter()
            .map(|r| RoleChoice {
                code: r.as_str(),
                label: c.lang.text(&format!("role-{}", r.as_str())),
            })
            .collect(),
        approval_required: state
            .policy
            .approval_required
            .iter()
            .map(|t| super::requests::type_label(c.lang, *t))
            .collect(),
        ack_minutes: state.policy.ack_minutes,
        emergency_ack_minutes: state.policy.emergency_ack_minutes,
        error,
        username: username.to_owned(),
    })
}

async fn admin(State(state): State<Arc<Node>>, c: Console) -> Response {
    match admin_page(&state, &c, None, "").await {
        Ok(p) => page(p, StatusCode::OK),
        Err(r) => r,
    }
}

/// The page that shows a new sign-in once: the QR code for an authenticator app and the secret
/// in text for typing.
#[derive(Template)]
#[template(path = "console/enrolment.html")]
struct EnrolmentPage {
    lang: Lang,
    signed_in: Option<Who>,
    username: String,
    secret: String,
    qr_svg: String,
}

fn enrolment_page(c: &Console, username: &str, e: &Enrolment) -> Response {
    match qr_svg(&e.otpauth_uri) {
        Some(svg) => page(
            EnrolmentPage {
                lang: c.lang,
                signed_in: Some(c.who("/admin")),
                username: username.to_owned(),
                secret: e.secret_base32.clone(),
                qr_svg: svg,
            },
            StatusCode::OK,
        ),
        None => c.failure(NodeError::internal(
            "the sign-in secret does not fit a QR code",
        )),
    }
}

/// The QR code of `text` as SVG markup (one path of dark modules, four modules of quiet zone).
pub fn qr_svg(text: &str) -> Option<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let border = 4;
    let n = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="240" height="240" role="img" shape-rendering="crispEdges"><rect width="{n}" height="{n}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    ))
}

#[derive(Deserialize)]
struct AddForm {
    csrf: String,
    username: String,
    role: String,
    password: String,
}

async fn add(State(state): State<Arc<Node>>, c: Console, Form(f): Form<AddForm>) -> Response {
    if let Err(refused) = c.check_csrf(&f.csrf) {
        return refused;
    }
    let name = f.username.trim();
    let Some(role) = Role::parse(&f.role) else {
        return again(&state, &c, "admin-bad-role", name).await;
    };
    match ops::users::add(&state, c.user(), name, role, &f.password).await {
        Ok(e) => enrolment_page(&c, name, &e),
        Err(NodeError::Invalid(errors)) => {
            let key = if errors.iter().any(|e| e.field == "password") {
                "admin-bad-password"
            } else {
                "admin-bad-name"
            };
            again(&state, &c, key, name).await
        }
        Err(e) => c.failure(e),
    }
}

async fn again(state: &Node, c: &Console, key: &str, name: &str) -> Response {
    match admin_page(state, c, Some(c.lang.text(key)), name).await {
        Ok(p) => page(p, StatusCode::UNPROCESSABLE_ENTITY),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ResetForm {
    csrf: String,
    password: String,
}

async fn reset(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(name): Path<String>,
    Form(f): Form<ResetForm>,
) -> Response {
    if let Err(refused) = c.check_csrf(&f.csrf) {
        return refused;
    }
    match ops::users::reset_sign_in(&state, c.user(), &name, &f.password).await {
        Ok(e) => enrolment_page(&c, &name, &e),
        Err(NodeError::Invalid(_)) => again(&state, &c, "admin-bad-password", "").await,
        Err(e) => c.failure(e),
    }
}

async fn disable(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(name): Path<String>,
    Form(f): Form<super::sign_in::CsrfForm>,
) -> Response {
    if let Err(refused) = c.check_csrf(&f.csrf) {
        return refused;
    }
    match ops::users::disable(&state, c.user(), &name).await {
        Ok(_) => see_other("/admin"),
        Err(e) => c.failure(e),
    }
}
