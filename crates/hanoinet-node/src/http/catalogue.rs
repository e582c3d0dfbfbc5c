//! `GET /api/v1/catalogue` and `GET /api/v1/registry`: reference data user interfaces build
//! their forms and pickers from, computed from the core catalogue and the verified registry.

use serde_json::{Value, json};

use hanoinet_core::catalogue::examples::example;
use hanoinet_core::catalogue::forms::{
    COMMON_FIELDS, LEGAL_BASES, OFFENCE_CATEGORIES, URGENCIES, field_json,
};
use hanoinet_core::catalogue::{ArticleRef, art40, art42, art65, art67};
use hanoinet_core::request::{RefusalGround, RequestType};

use crate::node::Node;

fn article(a: ArticleRef) -> Value {
    json!({"ref": a.to_string(), "approximate": a.approximate})
}

/// The catalogue document.
pub fn document() -> Value {
    let types: Vec<Value> = RequestType::ALL
        .into_iter()
        .map(|t| {
            let form = t.form();
            json!({
                "type": form.code,
                "title": form.title,
                "article": article(form.article),
                "fields": form.fields.iter().map(field_json).collect::<Vec<_>>(),
                "answered": t.is_answered(),
                "consultation_before_refusal": t.consult_before_refusal(),
                "refusal_grounds": RefusalGround::allowed_codes(form.refusal, true),
                "refusal_ground_articles": RefusalGround::ALL
                    .into_iter()
                    .filter(|g| g.allowed_under(form.refusal, true))
                    .map(|g| json!({"code": g.code(), "article": article(g.article_for(t))}))
                    .collect::<Vec<_>>(),
                "example": example(t, "FRA/247", "0190f0a0-0000-7000-8000-000000000001"),
            })
        })
        .collect();
    json!({
        "convention": "United Nations Convention against Cybercrime (General Assembly resolution 79/243, annex)",
        "note": "Paragraph numbers marked approximate await legal review against the adopted text.",
        "request_types": types,
        "common_fields": COMMON_FIELDS.iter().map(field_json).collect::<Vec<_>>(),
        "offence_categories": OFFENCE_CATEGORIES.iter().map(|(code, a, title)| json!({
            "code": code, "title": title, "article": article(*a),
        })).collect::<Vec<_>>(),
        "refusal_grounds": RefusalGround::ALL.iter().map(|g| json!({
            "code": g.code(), "title": g.title(), "article": article(g.article()),
        })).collect::<Vec<_>>(),
        "not_grounds": [
            {"code": "fiscal_matters", "title": "The offence is also considered to involve fiscal matters", "article": article(art40::NOT_FISCAL)},
            {"code": "bank_secrecy", "title": "Bank secrecy", "article": article(art40::NOT_BANK_SECRECY)},
        ],
        "dual_criminality_reservation": {
            "code": "dual_criminality_reservation",
            "article": article(art42::DUAL_CRIMINALITY_RESERVATION),
            "applies": "preservation and traffic_disclosure requests, only when the requested State made the reservation",
        },
        "legal_bases": LEGAL_BASES,
        "urgencies": URGENCIES,
        "entry_into_force": {
            "instruments_required": art65::INSTRUMENTS_REQUIRED,
            "general_delay_days": art65::GENERAL_DELAY_DAYS,
            "later_delay_days": art65::LATER_DELAY_DAYS,
            "denunciation_delay_years": art67::DELAY_YEARS,
            "articles": [article(art65::GENERAL), article(art65::LATER_PARTIES), article(art67::DENUNCIATION)],
        },
    })
}

/// The registry as this node verified it, with entry-into-force dates computed.
pub fn registry_view(state: &Node) -> Value {
    let reg = &state.registry();
    let general = reg.general_in_force_from();
    let states: Vec<Value> = reg
        .states
        .iter()
        .map(|s| {
            let f = reg.in_force(s);
            let nodes: Vec<Value> = reg
                .nodes
                .iter()
                .filter(|n| n.id.state() == s.code)
                .map(|n| json!({"id": n.id, "role": n.role, "url": n.url}))
                .collect();
            json!({
                "code": s.code.as_str(),
                "name": s.name,
                "regional_organization": s.regional_organization,
                "members": s.members.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "signed": s.signed.map(|d| d.to_string()),
                "instrument": s.instrument.as_ref().map(|i| json!({
                    "kind": i.kind,
                    "deposited": i.deposited.to_string(),
                })),
                "denounced": s.denounced.map(|d| d.to_string()),
                "reservations": s.reservations.iter().map(|r| json!({
                    "article": r.article,
                    "text": r.text,
                    "made": r.made.to_string(),
                    "withdrawn": r.withdrawn.map(|d| d.to_string()),
                })).collect::<Vec<_>>(),
                "in_force_from": f.from.map(|d| d.to_string()),
                "in_force_until": f.until.map(|d| d.to_string()),
                "in_force_today": f.on(crate::ops::gate::today(state)),
                "languages": s.languages,
                "central_authority": s.central_authority,
                "point_of_contact": s.point_of_contact,
                "diplomatic_channel_required": s.diplomatic_channel_required,
                "interpol_accepted": s.interpol_accepted,
                "nodes": nodes,
            })
        })
        .collect();
    json!({
        "general_in_force_from": general.map(|d| d.to_string()),
        "today": crate::ops::gate::today(state).to_string(),
        "serial": reg.serial,
        "issued_at": reg.issued_at,
        "demo": reg.demo,
        "notice": reg.notice,
        "this_node": state.id,
        "states": states,
        "nodes": reg.nodes.iter().map(|n| json!({
            "id": n.id,
            "role": n.role,
            "url": n.url,
            "signing_key": n.signing_key,
            "encryption_key": n.encryption_key,
        })).collect::<Vec<_>>(),
    })
}
