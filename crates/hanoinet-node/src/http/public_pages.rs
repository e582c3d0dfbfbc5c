//! The public side's pages for citizens: a report form that works on a phone and without
//! JavaScript (it posts the same report as `POST /public/v1/reports`), following a report with
//! its code and secret, and checking a number, link or account. In the console's languages, with
//! the console's headers (strict CSP, no framing, no caching) and its same-origin rule for forms.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hanoinet_core::request::FieldCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use hanoinet_indicators::report::{Category, PaymentMethod};
use hanoinet_indicators::{IndicatorType, Raw};

use crate::error::NodeError;
use crate::http::console::{accept_language, page};
use crate::http::i18n::{Lang, negotiate};
use crate::node::Node;
use crate::ops::reports;

type NodeRef = State<Arc<Node>>;

/// Indicator rows on the form (a report may name more through the API).
pub const FORM_ROWS: usize = 5;
use crate::http::public_form::MAX_FORM;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/", get(home))
        .route(
            "/report",
            get(report_page)
                .post(report_form)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::http::public_form::MAX_MULTIPART,
                )),
        )
        .route("/status", get(status_page).post(status_form))
        .route("/check", get(check_page))
        .merge(crate::http::public_feeds::routes())
        .route("/public.css", get(css))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM))
        .layer(axum::middleware::from_fn(crate::http::console::protect))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::http::console::assets::CSS,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    pub(crate) lang: Option<String>,
}

pub(crate) fn lang_of(headers: &HeaderMap, asked: Option<&str>) -> Lang {
    negotiate(None, asked, accept_language(headers))
}

/// `(code, label)` pairs of a closed set, labelled in `lang`.
fn labelled<T: Copy + Into<String>>(lang: Lang, prefix: &str, all: &[T]) -> Vec<(String, String)> {
    all.iter()
        .map(|x| {
            let code: String = (*x).into();
            let label = lang.text(&format!("{prefix}-{code}"));
            (code, label)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "public/home.html")]
struct Home {
    lang: Lang,
    langs: &'static [Lang],
}

async fn home(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    page(
        Home {
            lang,
            langs: Lang::ALL,
        },
        StatusCode::OK,
    )
}

/// What the form holds, to show it again with its faults.
#[derive(Debug, Default)]
struct FormState {
    category: String,
    description: String,
    occurred_at: String,
    loss_amount: String,
    loss_currency: String,
    payment_method: String,
    contact: String,
    consent: bool,
    /// (type, value, bank or platform, faulty)
    rows: Vec<(String, String, String, bool)>,
}

impl FormState {
    /// A blank form, with its indicator rows.
    fn empty() -> Self {
        Self {
            rows: vec![Default::default(); FORM_ROWS],
            ..Self::default()
        }
    }
}

/// The faulty fields' paths.
#[derive(Debug, Default)]
struct Bad(Vec<String>);

impl Bad {
    fn has(&self, field: &str) -> bool {
        self.0.iter().any(|f| f == field)
    }
}

/// A fault as the form shows it: the field's label and the reason.
struct Shown {
    label: String,
    message: String,
}

#[derive(Template)]
#[template(path = "public/report.html")]
struct ReportPage {
    lang: Lang,
    langs: &'static [Lang],
    form: FormState,
    errors: Vec<Shown>,
    bad: Bad,
    categories: Vec<(String, String)>,
    payments: Vec<(String, String)>,
    types: Vec<(String, String)>,
}

impl ReportPage {
    fn new(lang: Lang, form: FormState, errors: Vec<Shown>, bad: Vec<String>) -> Self {
        Self {
            lang,
            langs: Lang::ALL,
            form,
            errors,
            bad: Bad(bad),
            categories: labelled(lang, "category", Category::ALL),
            payments: labelled(lang, "payment", PaymentMethod::ALL),
            types: labelled(lang, "indicator", IndicatorType::ALL),
        }
    }
}

async fn report_page(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let form = FormState::empty();
    page(
        ReportPage::new(lang, form, Vec::new(), Vec::new()),
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "public/reported.html")]
struct Reported {
    lang: Lang,
    langs: &'static [Lang],
    code: String,
    secret: String,
    referral: Option<String>,
    indicators: Vec<(String, String)>,
    /// How many screenshots were kept with the report, in words (none: `None`).
    kept: Option<String>,
    /// Files sent with a restricted report, not kept.
    dropped: bool,
}

/// The form's pairs, first value of each name.
fn pairs(body: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        out.entry(k.into_owned())
            .or_insert(Value::String(v.into_owned()));
    }
    out
}

fn text_of(m: &Map<String, Value>, k: &str) -> String {
    m.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `POST /report`: the form, as the same report the API takes, with its screenshots (a
/// multipart form; never kept for the restricted category).
async fn report_form(
    State(state): NodeRef,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Response {
    let allowance = crate::http::public::Allowance {
        max: state.tunables.public_reports_per_hour,
        ..crate::http::public::REPORTS
    };
    let too_many = |lang: Lang, form: FormState| {
        let errors = vec![Shown {
            label: lang.text("pub-report-title"),
            message: lang.text("pub-too-many"),
        }];
        page(
            ReportPage::new(lang, form, errors, Vec::new()),
            StatusCode::TOO_MANY_REQUESTS,
        )
    };
    // A post that may carry megabytes of files is counted before it is read.
    let multipart = crate::http::public_form::is_multipart(&req);
    if multipart
        && state
            .rate
            .take("report", peer.ip(), allowance.max, allowance.window)
            .is_err()
    {
        let lang = lang_of(&headers, None);
        return too_many(lang, FormState::empty());
    }
    let Ok(posted) = crate::http::public_form::read(&state, req).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let m = posted.fields;
    let lang = lang_of(&headers, m.get("lang").and_then(Value::as_str));
    let mut form = FormState {
        category: text_of(&m, "category"),
        description: text_of(&m, "description"),
        occurred_at: text_of(&m, "occurred_at"),
        loss_amount: text_of(&m, "loss_amount"),
        loss_currency: text_of(&m, "loss_currency"),
        payment_method: text_of(&m, "payment_method"),
        contact: text_of(&m, "contact"),
        consent: m.contains_key("consent"),
        rows: (0..FORM_ROWS)
            .map(|i| {
                (
                    text_of(&m, &format!("ind_type_{i}")),
                    text_of(&m, &format!("ind_value_{i}")),
                    text_of(&m, &format!("ind_extra_{i}")),
                    false,
                )
            })
            .collect(),
    };
    if !multipart
        && state
            .rate
            .take("report", peer.ip(), allowance.max, allowance.window)
            .is_err()
    {
        return too_many(lang, form);
    }
    // Screenshots: never kept for the restricted category (and the citizen is told so);
    // otherwise each must be an image within the limits before anything is kept.
    let restricted = Category::parse(&form.category).is_some_and(Category::is_restricted);
    let dropped = restricted
        && (posted.discarded > 0 || !posted.files.is_empty() || !posted.refused.is_empty());
    let mut refused = posted.refused;
    let files: Vec<Vec<u8>> = if restricted {
        refused.clear();
        Vec::new()
    } else {
        for (i, f) in posted.files.iter().enumerate() {
            if reports::strip_image(f).is_err() {
                refused.push((i + 1, "pub-fault-screenshot-type"));
            }
        }
        posted.files
    };
    if !refused.is_empty() {
        refused.sort_unstable();
        let errors = refused
            .iter()
            .map(|(n, key)| Shown {
                label: format!("{} {n}", lang.text("pub-field-screenshots")),
                message: lang.text(key),
            })
            .collect();
        return page(
            ReportPage::new(lang, form, errors, vec!["screenshot".into()]),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    // The report as JSON: blank fields left out, indicator rows with a value, in order.
    let mut report = Map::new();
    let mut put = |k: &str, v: &str| {
        if !v.trim().is_empty() {
            report.insert(k.into(), Value::String(v.to_owned()));
        }
    };
    put("category", &form.category);
    put("description", &form.description);
    put("occurred_at", &form.occurred_at);
    put("payment_method", &form.payment_method);
    put("contact", &form.contact);
    if form.consent {
        report.insert("consent".into(), Value::Bool(true));
    }
    if !form.loss_amount.trim().is_empty() || !form.loss_currency.trim().is_empty() {
        report.insert(
            "loss".into(),
            json!({"amount": form.loss_amount, "currency": form.loss_currency}),
        );
    }
    let mut rows = Vec::new();
    let mut list = Vec::new();
    for (i, (kind, value, extra, _)) in form.rows.iter().enumerate() {
        if value.trim().is_empty() {
            continue;
        }
        let mut item = json!({"type": kind, "value": value});
        if !extra.trim().is_empty() {
            let key = if kind == IndicatorType::SocialHandle.as_str() {
                "platform"
            } else {
                "bank"
            };
            item[key] = Value::String(extra.clone());
        }
        rows.push(i);
        list.push(item);
    }
    if !list.is_empty() {
        report.insert("indicators".into(), Value::Array(list));
    }
    match reports::submit(&state, &Value::Object(report), lang.as_str()).await {
        Ok(done) => {
            let mut kept = 0;
            for f in &files {
                match reports::attach(&state, &done.code, &done.secret, f).await {
                    Ok(_) => kept += 1,
                    // Checked above; a report's own limit is the only way left to refuse one.
                    Err(e) => tracing::warn!(error = %e, "a screenshot of the form was not kept"),
                }
            }
            let referral = (restricted && !state.policy.csam_referral.is_empty()).then(|| {
                lang.text_with(
                    "pub-csam-referral",
                    &[("where", state.policy.csam_referral.clone())],
                )
            });
            let indicators = done
                .indicators
                .iter()
                .map(|i| {
                    (
                        lang.text(&format!("indicator-{}", i.kind)),
                        i.canonical.clone(),
                    )
                })
                .collect();
            page(
                Reported {
                    lang,
                    langs: Lang::ALL,
                    code: done.code,
                    secret: done.secret,
                    referral,
                    indicators,
                    kept: (kept > 0).then(|| {
                        lang.text_with("pub-reported-screenshots", &[("count", kept.to_string())])
                    }),
                    dropped,
                },
                StatusCode::CREATED,
            )
        }
        Err(NodeError::Invalid(faults)) => {
            let mut errors = Vec::new();
            let mut bad = Vec::new();
            for f in faults {
                // `indicators[2].value` is the form's row of the third indicator given.
                let label = match f
                    .field
                    .strip_prefix("indicators[")
                    .and_then(|r| r.split_once(']'))
                {
                    Some((n, _)) => {
                        let row = n.parse::<usize>().ok().and_then(|n| rows.get(n).copied());
                        if let Some(r) = row
                            && let Some(slot) = form.rows.get_mut(r)
                        {
                            slot.3 = true;
                        }
                        format!(
                            "{} {}",
                            lang.text("pub-field-indicators"),
                            row.map_or(0, |r| r + 1)
                        )
                    }
                    None => {
                        let key = match f.field.as_str() {
                            "loss.amount" | "loss" => "pub-field-loss_amount",
                            "loss.currency" => "pub-field-loss_currency",
                            "category" => "pub-field-category",
                            "occurred_at" => "pub-field-occurred_at",
                            "payment_method" => "pub-field-payment_method",
                            "contact" => "pub-field-contact",
                            "consent" => "pub-field-consent",
                            _ => "pub-field-description",
                        };
                        lang.text(key)
                    }
                };
                let kind = f
                    .field
                    .strip_prefix("indicators[")
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(n, _)| n.parse::<usize>().ok())
                    .and_then(|n| rows.get(n))
                    .and_then(|r| form.rows.get(*r))
                    .and_then(|row| IndicatorType::parse(&row.0));
                let message = lang.text(fault_key(&f.field, f.code, kind));
                bad.push(f.field.clone());
                errors.push(Shown { label, message });
            }
            page(
                ReportPage::new(lang, form, errors, bad),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => crate::http::console::internal(e),
    }
}

/// The message a citizen reads for a fault in the form: by the field and the kind of fault,
/// and for a number, link or account by its type (never the API's English sentence).
fn fault_key(field: &str, code: FieldCode, kind: Option<IndicatorType>) -> &'static str {
    match code {
        FieldCode::TooLong => return "invalid-too_long",
        FieldCode::ControlCharacter => return "invalid-control_character",
        FieldCode::BidiControl => return "invalid-bidi_control",
        _ => {}
    }
    if field.starts_with("indicators[") {
        return match field.rsplit_once('.').map(|(_, tail)| tail) {
            Some("bank") => "pub-fault-bank",
            Some("platform") => "pub-fault-platform",
            Some("type") => "pub-fault-choose",
            Some("value") if code == FieldCode::Missing => "pub-fault-required",
            _ => match kind {
                Some(IndicatorType::Phone) => "pub-fault-phone",
                Some(IndicatorType::Url) => "pub-fault-url",
                Some(IndicatorType::Domain) => "pub-fault-domain",
                Some(IndicatorType::Email) => "pub-fault-email",
                Some(IndicatorType::Iban) => "pub-fault-iban",
                Some(IndicatorType::BankAccount) => "pub-fault-bank_account",
                Some(IndicatorType::CryptoAddress) => "pub-fault-crypto_address",
                Some(IndicatorType::SocialHandle) => "pub-fault-social_handle",
                Some(IndicatorType::SmsSender) => "pub-fault-sms_sender",
                None => "pub-fault-choose",
            },
        };
    }
    match (field, code) {
        ("category", _) => "pub-fault-category",
        ("occurred_at", FieldCode::OutOfRange) => "pub-fault-date-range",
        ("occurred_at", _) => "pub-fault-date",
        ("loss" | "loss.amount", _) => "pub-fault-amount",
        ("loss.currency", _) => "pub-fault-currency",
        ("contact", FieldCode::NotAllowed) => "pub-fault-consent",
        ("description", FieldCode::Missing) => "pub-fault-nothing",
        ("indicators", _) => "pub-fault-too-many",
        _ => "invalid-invalid",
    }
}

#[derive(Template)]
#[template(path = "public/status.html")]
struct StatusPage {
    lang: Lang,
    langs: &'static [Lang],
    code: String,
    status: Option<String>,
    error: Option<String>,
}

async fn status_page(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    page(
        StatusPage {
            lang,
            langs: Lang::ALL,
            code: String::new(),
            status: None,
            error: None,
        },
        StatusCode::OK,
    )
}

/// `POST /status`: code and secret in the body, never in a URL.
async fn status_form(
    State(state): NodeRef,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let m = pairs(&body);
    let lang = lang_of(&headers, m.get("lang").and_then(Value::as_str));
    let code = text_of(&m, "code").trim().to_ascii_uppercase();
    let a = crate::http::public::STATUS;
    let mut p = StatusPage {
        lang,
        langs: Lang::ALL,
        code: code.clone(),
        status: None,
        error: None,
    };
    if state
        .rate
        .take("status", peer.ip(), a.max, a.window)
        .is_err()
    {
        p.error = Some(lang.text("pub-too-many"));
        return page(p, StatusCode::TOO_MANY_REQUESTS);
    }
    match reports::status(&state, &code, &text_of(&m, "secret")).await {
        Ok(s) => {
            let words = lang.text(&format!("report-status-{s}"));
            p.status = Some(format!(
                "{} {words}",
                lang.text_with("pub-status-is", &[("code", code)])
            ));
            page(p, StatusCode::OK)
        }
        Err(NodeError::NotFound(_)) => {
            p.error = Some(lang.text("pub-status-unknown"));
            page(p, StatusCode::NOT_FOUND)
        }
        Err(e) => crate::http::console::internal(e),
    }
}

#[derive(Debug, Deserialize)]
struct CheckQuery {
    lang: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    value: Option<String>,
    extra: Option<String>,
}

struct CheckResult {
    listed: bool,
    canonical: String,
}

#[derive(Template)]
#[template(path = "public/check.html")]
struct CheckPage {
    lang: Lang,
    langs: &'static [Lang],
    types: Vec<(String, String)>,
    kind: String,
    value: String,
    extra: String,
    result: Option<CheckResult>,
    error: Option<String>,
}

/// `GET /check?type=&value=`: the form, and the answer when a value is given.
async fn check_page(
    State(state): NodeRef,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CheckQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let mut p = CheckPage {
        lang,
        langs: Lang::ALL,
        types: labelled(lang, "indicator", IndicatorType::ALL),
        kind: q
            .kind
            .clone()
            .unwrap_or_else(|| IndicatorType::Phone.as_str().into()),
        value: q.value.clone().unwrap_or_default(),
        extra: q.extra.clone().unwrap_or_default(),
        result: None,
        error: None,
    };
    let value = p.value.trim().to_owned();
    if value.is_empty() {
        return page(p, StatusCode::OK);
    }
    let a = crate::http::public::CHECKS;
    if state
        .rate
        .take("check", peer.ip(), a.max, a.window)
        .is_err()
    {
        p.error = Some(lang.text("pub-too-many"));
        return page(p, StatusCode::TOO_MANY_REQUESTS);
    }
    let Some(kind) = IndicatorType::parse(&p.kind) else {
        p.error = Some(lang.text("pub-field-indicator-type"));
        return page(p, StatusCode::UNPROCESSABLE_ENTITY);
    };
    let extra = Some(p.extra.as_str()).filter(|e| !e.trim().is_empty());
    let raw = Raw {
        value: &value,
        bank: extra.filter(|_| kind == IndicatorType::BankAccount),
        platform: extra.filter(|_| kind == IndicatorType::SocialHandle),
    };
    match reports::check(&state, kind, &raw).await {
        Ok((ind, listing)) => {
            p.result = Some(CheckResult {
                listed: listing.is_some(),
                canonical: ind.canonical,
            });
            page(p, StatusCode::OK)
        }
        Err(NodeError::Invalid(faults)) => {
            p.error = faults.into_iter().next().map(|f| f.message);
            page(p, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => crate::http::console::internal(e),
    }
}
