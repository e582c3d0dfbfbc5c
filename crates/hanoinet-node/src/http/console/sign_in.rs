//! Signing in (password + TOTP code), signing out, and the user's own settings (language,
//! time zone).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{
    Console, Who, accept_language, behind_https, cookie_of, home_of, internal, page, see_other,
    set_cookie,
};
use crate::error::{ErrorCode, NodeError};
use crate::http::i18n::{Lang, negotiate};
use crate::node::Node;
use crate::ops::signin;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/settings", get(settings).post(save_settings))
}

async fn home(c: Result<Console, Response>) -> Response {
    match c {
        Ok(c) => see_other(home_of(c.user().role)),
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
            let mut res = Redirect::to(home_of(s.user.role)).into_response();
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
pub(super) struct CsrfForm {
    pub csrf: String,
}

async fn sign_out(
    State(state): State<Arc<Node>>,
    headers: HeaderMap,
    c: Console,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = c.check_csrf(&f.csrf) {
        return refused;
    }
    let token = cookie_of(&headers).unwrap_or_default();
    if let Err(e) = signin::sign_out(&state, &token).await {
        return internal(e);
    }
    let lang = c.lang;
    let mut res = page(
        SignInPage::new(lang, String::new(), None, Some(lang.text("signed-out"))),
        StatusCode::OK,
    );
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", c.secure, true));
    res
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    lang: Lang,
    langs: &'static [Lang],
    signed_in: Option<Who>,
    saved_lang: Option<Lang>,
    zone: String,
    zones: Vec<String>,
    saved: bool,
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn settings(c: Console, Query(q): Query<SavedQuery>) -> Response {
    page(
        SettingsPage {
            lang: c.lang,
            langs: Lang::ALL,
            signed_in: Some(c.who("/settings")),
            saved_lang: c.session.language.as_deref().and_then(Lang::parse),
            zone: c.session.time_zone.clone().unwrap_or_else(|| "UTC".into()),
            zones: super::when::zones(),
            saved: q.saved.is_some(),
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct SettingsForm {
    csrf: String,
    language: String,
    time_zone: String,
}

async fn save_settings(
    State(state): State<Arc<Node>>,
    c: Console,
    Form(f): Form<SettingsForm>,
) -> Response {
    if let Err(refused) = c.check_csrf(&f.csrf) {
        return refused;
    }
    // An empty language follows the browser; anything else must be one of the console's.
    let language = match f.language.as_str() {
        "" => None,
        l => match Lang::parse(l) {
            Some(l) => Some(l),
            None => {
                return c.message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "error-title",
                    "error-invalid",
                );
            }
        },
    };
    if jiff::tz::TimeZone::get(&f.time_zone).is_err() {
        return c.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "error-title",
            "error-invalid",
        );
    }
    if let Err(e) = state
        .store
        .set_console_preferences(&c.user().id, language.map(Lang::as_str), Some(&f.time_zone))
        .await
    {
        return c.failure(e.into());
    }
    see_other("/settings?saved=1")
}
