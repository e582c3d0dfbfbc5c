//! The public side's publications: analysts' warnings and the public list on a page, as Atom
//! (RFC 4287) and JSON Feed 1.1 feeds, and the weekly reports drawn as an SVG chart on the
//! server. Counts, warnings and confirmed public indicators only: no personal data.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::NodeError;
use crate::http::console::page;
use crate::http::i18n::Lang;
use crate::http::public_pages::{LangQuery, lang_of};
use crate::node::Node;

type NodeRef = State<Arc<Node>>;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route("/warnings", get(warnings_page))
        .route("/feed.atom", get(feed_atom))
        .route("/feed.json", get(feed_json))
        .route("/trends.svg", get(trends_svg))
}

/// Warnings and confirmed public indicators shown, most recent first.
const PUBLISHED: i64 = 100;
/// Weeks the public trends cover.
const TREND_WEEKS: i64 = 12;

/// What the public pages and feeds publish: warnings, and the public list's latest entries.
async fn published(
    state: &Node,
) -> Result<
    (
        Vec<hanoinet_store::Warning>,
        Vec<hanoinet_store::StoredIndicator>,
    ),
    Response,
> {
    let warnings = state
        .store
        .warnings(PUBLISHED)
        .await
        .map_err(|e| crate::http::console::internal(e.into()))?;
    let indicators = state
        .store
        .public_indicators(state.clock.now(), PUBLISHED)
        .await
        .map_err(|e| crate::http::console::internal(e.into()))?;
    Ok((warnings, indicators))
}

#[derive(Template)]
#[template(path = "public/warnings.html")]
struct WarningsPage {
    lang: Lang,
    langs: &'static [Lang],
    warnings: Vec<hanoinet_store::Warning>,
    /// (type label, value, confirmed on)
    indicators: Vec<(String, String, String)>,
    /// (week, category label, reports)
    trends: Vec<(String, String, i64)>,
}

async fn warnings_page(
    State(state): NodeRef,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let (warnings, indicators) = match published(&state).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let stats = match crate::ops::statistics::compute(&state, TREND_WEEKS).await {
        Ok(s) => s,
        Err(e) => return crate::http::console::internal(e),
    };
    let indicators = indicators
        .iter()
        .map(|i| {
            (
                lang.text(&format!("indicator-{}", i.kind)),
                i.canonical.clone(),
                i.decided_at
                    .map(|t| t.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let trends = stats
        .weeks
        .iter()
        .map(|w| {
            (
                w.week.to_string(),
                lang.text(&format!("category-{}", w.category)),
                w.reports,
            )
        })
        .collect();
    page(
        WarningsPage {
            lang,
            langs: Lang::ALL,
            warnings,
            indicators,
            trends,
        },
        StatusCode::OK,
    )
}

struct FeedEntry {
    id: String,
    title: String,
    updated: String,
    text: String,
}

#[derive(Template)]
#[template(path = "public/feed.atom", escape = "html")]
struct AtomFeed {
    node: String,
    title: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

/// Warnings and confirmed public indicators as feed entries, newest first.
fn entries(
    lang: Lang,
    warnings: &[hanoinet_store::Warning],
    indicators: &[hanoinet_store::StoredIndicator],
) -> Vec<FeedEntry> {
    let mut out: Vec<(jiff::Timestamp, FeedEntry)> = warnings
        .iter()
        .map(|w| {
            (
                w.published_at,
                FeedEntry {
                    id: format!("urn:uuid:{}", w.id),
                    title: w.title.clone(),
                    updated: w.published_at.to_string(),
                    text: w.body.clone(),
                },
            )
        })
        .collect();
    for i in indicators {
        let at = i.decided_at.unwrap_or(i.last_seen);
        let title = lang.text_with(
            "pub-feed-indicator",
            &[
                ("kind", lang.text(&format!("indicator-{}", i.kind))),
                ("value", i.canonical.clone()),
            ],
        );
        out.push((
            at,
            FeedEntry {
                id: format!("urn:hanoinet:indicator:{}", i.hash),
                title: title.clone(),
                updated: at.to_string(),
                text: title,
            },
        ));
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.0));
    out.into_iter().map(|(_, e)| e).collect()
}

/// `GET /feed.atom`: warnings and confirmed public indicators (RFC 4287).
async fn feed_atom(
    State(state): NodeRef,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let (warnings, indicators) = match published(&state).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let entries = entries(lang, &warnings, &indicators);
    let updated = entries
        .first()
        .map_or_else(|| state.started_at.to_string(), |e| e.updated.clone());
    let feed = AtomFeed {
        node: state.id.to_string(),
        title: lang.text("pub-name"),
        updated,
        entries,
    };
    match feed.render() {
        Ok(xml) => (
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            xml,
        )
            .into_response(),
        Err(e) => crate::http::console::internal(NodeError::internal(e)),
    }
}

/// `GET /feed.json`: the same as a JSON Feed 1.1.
async fn feed_json(
    State(state): NodeRef,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let (warnings, indicators) = match published(&state).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let items: Vec<Value> = entries(lang, &warnings, &indicators)
        .into_iter()
        .map(|e| json!({"id": e.id, "title": e.title, "content_text": e.text, "date_published": e.updated}))
        .collect();
    (
        [(header::CONTENT_TYPE, "application/feed+json; charset=utf-8")],
        axum::Json(json!({
            "version": "https://jsonfeed.org/version/1.1",
            "title": lang.text("pub-name"),
            "language": lang.as_str(),
            "items": items,
        })),
    )
        .into_response()
}

/// One category's part of one week's bar.
struct Segment {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
    color: &'static str,
    label: String,
}

/// A week's label under its bar.
struct Tick {
    x: i64,
    short: String,
}

/// A category in the legend.
struct Key {
    y: i64,
    color: &'static str,
    label: String,
}

/// One colour per category, told apart with colour-blindness (Okabe–Ito, and two more).
const COLORS: [&str; 10] = [
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000",
    "#999999", "#1f4e79",
];

#[derive(Template)]
#[template(path = "public/trends.svg", escape = "html")]
struct TrendsSvg {
    title: String,
    height: i64,
    max: i64,
    segments: Vec<Segment>,
    ticks: Vec<Tick>,
    legend: Vec<Key>,
}

/// `GET /trends.svg`: reports per week and category over the last twelve weeks, stacked, drawn
/// on the server (no script, no personal data: counts only), with its legend.
async fn trends_svg(
    State(state): NodeRef,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    use hanoinet_indicators::report::Category;
    let lang = lang_of(&headers, q.lang.as_deref());
    let stats = match crate::ops::statistics::compute(&state, TREND_WEEKS).await {
        Ok(s) => s,
        Err(e) => return crate::http::console::internal(e),
    };
    let Some(first) = stats.since else {
        return crate::http::console::internal(NodeError::internal("no first week"));
    };
    let weeks: Vec<jiff::civil::Date> = (0..TREND_WEEKS)
        .filter_map(|i| first.checked_add(jiff::Span::new().days(7 * i)).ok())
        .collect();
    let count = |d: jiff::civil::Date, c: Category| {
        stats
            .weeks
            .iter()
            .filter(|w| w.week == d && w.category == c)
            .map(|w| w.reports)
            .sum::<i64>()
    };
    let total = |d: jiff::civil::Date| Category::ALL.iter().map(|c| count(d, *c)).sum::<i64>();
    let max = weeks.iter().map(|d| total(*d)).max().unwrap_or(0).max(1);
    let (left, width, top, height) = (44, 586, 20, 180);
    let slot = width / TREND_WEEKS;
    let color = |c: Category| {
        COLORS[Category::ALL.iter().position(|x| *x == c).unwrap_or(0) % COLORS.len()]
    };
    let mut segments = Vec::new();
    let mut ticks = Vec::new();
    for (i, d) in weeks.iter().enumerate() {
        let x = left + i as i64 * slot + 4;
        let mut base = top + height;
        for c in Category::ALL {
            let n = count(*d, *c);
            if n == 0 {
                continue;
            }
            let h = (n * height / max).max(1);
            base -= h;
            segments.push(Segment {
                x,
                y: base,
                w: slot - 8,
                h,
                color: color(*c),
                label: format!("{d} · {}: {n}", lang.text(&format!("category-{c}"))),
            });
        }
        ticks.push(Tick {
            x: x + (slot - 8) / 2,
            short: d.strftime("%m-%d").to_string(),
        });
    }
    let present: Vec<Category> = Category::ALL
        .iter()
        .copied()
        .filter(|c| weeks.iter().any(|d| count(*d, *c) > 0))
        .collect();
    let legend = present
        .iter()
        .enumerate()
        .map(|(i, c)| Key {
            y: 244 + 16 * i as i64,
            color: color(*c),
            label: lang.text(&format!("category-{c}")),
        })
        .collect();
    let svg = TrendsSvg {
        title: lang.text("pub-trends-alt"),
        height: 240 + 16 * present.len() as i64 + 8,
        max,
        segments,
        ticks,
        legend,
    };
    match svg.render() {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            body,
        )
            .into_response(),
        Err(e) => crate::http::console::internal(NodeError::internal(e)),
    }
}
