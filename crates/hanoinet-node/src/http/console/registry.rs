//! The registry browser: the States with their instruments, reservations, contacts and nodes,
//! when the Convention enters into force for each, and a server-rendered SVG timeline of the
//! deposits towards the 40th instrument (Art. 65).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use jiff::civil::Date;

use hanoinet_core::catalogue::art65;

use super::{Console, Who, page};
use crate::http::i18n::Lang;
use crate::node::Node;

pub fn routes() -> Router<Arc<Node>> {
    Router::new().route("/registry", get(registry))
}

struct StateRow {
    code: String,
    name: String,
    instrument: Option<String>,
    deposited: Option<String>,
    in_force_from: Option<String>,
    in_force_today: bool,
    reservations: Vec<String>,
    central_authority: Option<String>,
    point_of_contact: Option<String>,
    nodes: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/registry.html")]
struct RegistryPage {
    lang: Lang,
    signed_in: Option<Who>,
    serial: u64,
    demo: bool,
    deposited: usize,
    required: usize,
    general_from: Option<String>,
    states: Vec<StateRow>,
    timeline: String,
    timeline_label: String,
}

async fn registry(State(state): State<Arc<Node>>, c: Console) -> Response {
    let reg = &state.registry();
    let today = crate::ops::gate::today(&state);
    let mut deposits: Vec<Date> = reg
        .states
        .iter()
        .filter(|s| !s.regional_organization)
        .filter_map(|s| s.instrument.as_ref().map(|i| i.deposited))
        .collect();
    deposits.sort();
    let general = reg.general_in_force_from();
    let required = art65::INSTRUMENTS_REQUIRED;
    let states = reg
        .states
        .iter()
        .map(|s| {
            let f = reg.in_force(s);
            StateRow {
                code: s.code.to_string(),
                name: s.name.clone(),
                instrument: s.instrument.as_ref().map(|i| {
                    let kind = serde_json::to_value(i.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    c.lang.text(&format!("instrument-{kind}"))
                }),
                deposited: s.instrument.as_ref().map(|i| i.deposited.to_string()),
                in_force_from: f.from.map(|d| d.to_string()),
                in_force_today: f.on(today),
                reservations: s
                    .reservations
                    .iter()
                    .filter(|r| r.withdrawn.is_none())
                    .map(|r| format!("{}: {}", r.article, r.text))
                    .collect(),
                central_authority: s.central_authority.clone(),
                point_of_contact: s.point_of_contact.clone(),
                nodes: reg
                    .nodes
                    .iter()
                    .filter(|n| n.id.state() == s.code)
                    .map(|n| n.id.to_string())
                    .collect(),
            }
        })
        .collect();
    let timeline_label = c.lang.text_with(
        "registry-timeline-label",
        &[
            ("count", deposits.len().to_string()),
            ("required", required.to_string()),
        ],
    );
    page(
        RegistryPage {
            lang: c.lang,
            signed_in: Some(c.who("/registry")),
            serial: reg.serial,
            demo: reg.demo,
            deposited: deposits.len(),
            required,
            general_from: general.map(|d| d.to_string()),
            states,
            timeline: timeline_svg(&deposits, required, general, today, &timeline_label),
            timeline_label,
        },
        StatusCode::OK,
    )
}

/// The deposits as a step line over time, the 40-instrument line, and the general entry into
/// force (when known) and today as vertical marks. Pure SVG attributes (no inline style, so the
/// page's Content-Security-Policy holds).
fn timeline_svg(
    deposits: &[Date],
    required: usize,
    general: Option<Date>,
    today: Date,
    label: &str,
) -> String {
    const W: f64 = 640.0;
    const H: f64 = 200.0;
    const PAD: f64 = 30.0;
    let first = deposits.first().copied().unwrap_or(today);
    let last = [Some(today), general, deposits.last().copied()]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(today);
    let span = (last - first).get_days().max(1) as f64;
    let x = |d: Date| PAD + ((d - first).get_days() as f64 / span) * (W - 2.0 * PAD);
    let top = required.max(deposits.len()).max(1) as f64;
    let y = |n: usize| H - PAD - (n as f64 / top) * (H - 2.0 * PAD);
    let mut path = format!("M{:.1},{:.1}", x(first), y(0));
    for (i, d) in deposits.iter().enumerate() {
        path.push_str(&format!(" H{:.1} V{:.1}", x(*d), y(i + 1)));
    }
    path.push_str(&format!(" H{:.1}", x(last)));
    let mut marks = format!(
        r##"<line x1="{PAD}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#a50e0e" stroke-dasharray="4 3"/>"##,
        W - PAD,
        y(required),
        y(required)
    );
    marks.push_str(&format!(
        r##"<line x1="{:.1}" x2="{:.1}" y1="{PAD}" y2="{:.1}" stroke="#555"/>"##,
        x(today),
        x(today),
        H - PAD
    ));
    if let Some(g) = general {
        marks.push_str(&format!(
            r##"<line x1="{:.1}" x2="{:.1}" y1="{PAD}" y2="{:.1}" stroke="#0a5c2f" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#0a5c2f" text-anchor="middle">{g}</text>"##,
            x(g),
            x(g),
            H - PAD,
            x(g),
            PAD - 6.0
        ));
    }
    let text = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-labelledby="timeline-title" class="timeline-chart"><title id="timeline-title">{}</title><rect width="{W}" height="{H}" fill="#fff"/><line x1="{PAD}" x2="{PAD}" y1="{PAD}" y2="{:.1}" stroke="#111"/><line x1="{PAD}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#111"/>{marks}<path d="{path}" fill="none" stroke="#0b4f9c" stroke-width="2"/><text x="{PAD}" y="{:.1}" font-size="11" fill="#111">{first}</text><text x="{:.1}" y="{:.1}" font-size="11" fill="#111" text-anchor="end">{last}</text><text x="{:.1}" y="{:.1}" font-size="11" fill="#a50e0e">{required}</text></svg>"##,
        text(label),
        H - PAD,
        W - PAD,
        H - PAD,
        H - PAD,
        H - PAD + 16.0,
        W - PAD,
        H - PAD + 16.0,
        W - PAD + 2.0,
        y(required) + 4.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_steps_once_per_deposit_and_marks_the_threshold() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let deposits = [d("2025-03-01"), d("2025-06-01"), d("2026-01-10")];
        let svg = timeline_svg(&deposits, 40, None, d("2026-12-01"), "3 of 40 <x>");
        assert_eq!(svg.matches(" V").count(), 3, "{svg}");
        assert!(svg.contains("stroke-dasharray") && svg.contains("3 of 40 &lt;x&gt;"));
        assert!(!svg.contains("style="));
        let none = timeline_svg(&[], 40, None, d("2026-12-01"), "0");
        assert!(none.starts_with("<svg"));
    }
}
