//! Escalation: a cooperation request drafted from citizens' reports (a preservation to the State
//! of the provider, registrar or bank; a `spontaneous_information` to another node), which then
//! follows the ordinary lifecycle and four-eyes rules.

use jiff::Timestamp;
use serde_json::Value;

use hanoinet_core::request::{FieldCode, FieldError};
use hanoinet_ledger::entry::Event;
use hanoinet_store::{Report, StoredIndicator, User};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;
use crate::ops::ledger::{entry, user_actor};
use crate::ops::triage::{MAX_LIST, invalid, load_report, require_analyst};

/// What an escalation drafts.
pub const ESCALATIONS: [hanoinet_core::request::RequestType; 2] = [
    hanoinet_core::request::RequestType::Preservation,
    hanoinet_core::request::RequestType::SpontaneousInformation,
];

/// `POST /api/v1/reports/{id}/escalate`: drafts a cooperation request from this report and any
/// others named (`{"type": "preservation" | "spontaneous_information", "to": NODE, "reports":
/// [ids], "fields": {…}}`), pre-filled with the reports' codes, category, period, losses and
/// indicators (never a reporter's contact or words); `fields` overrides or completes what is
/// pre-filled. The draft then follows the ordinary lifecycle: an officer submits it, and four
/// eyes apply where the policy says. The reports are linked to it (they then outlive the
/// retention period).
pub async fn escalate(
    state: &Node,
    user: &User,
    id: &str,
    body: &Value,
) -> NodeResult<hanoinet_store::RequestRecord> {
    use hanoinet_core::request::RequestType;
    require_analyst(user)?;
    let Some(obj) = body.as_object() else {
        return Err(invalid(
            "body",
            "the body must be a JSON object: {\"type\": \"preservation\", \"to\": \"FRA/247\"}",
        ));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "to" | "reports" | "fields"))
    {
        return Err(NodeError::invalid(FieldError::new(
            k,
            FieldCode::UnknownField,
            format!("{k} is not a field of an escalation (type, to, reports, fields)"),
            None,
        )));
    }
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .and_then(RequestType::parse)
        .filter(|t| ESCALATIONS.contains(t))
        .ok_or_else(|| {
            invalid(
                "type",
                "type must be preservation or spontaneous_information",
            )
        })?;
    let to = obj
        .get("to")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("to", "to is required: the node to send to (e.g. FRA/247)"))?;
    let mut ids = vec![id.to_owned()];
    match obj.get("reports") {
        None | Some(Value::Null) => {}
        Some(Value::Array(more)) if more.len() <= MAX_LIST as usize => {
            for m in more {
                let m = m
                    .as_str()
                    .ok_or_else(|| invalid("reports", "reports must be a list of report ids"))?;
                if !ids.iter().any(|i| i == m) {
                    ids.push(m.to_owned());
                }
            }
        }
        Some(_) => {
            return Err(invalid(
                "reports",
                format!("reports must be a list of at most {MAX_LIST} report ids"),
            ));
        }
    }
    let mut reports = Vec::new();
    let mut indicators: Vec<StoredIndicator> = Vec::new();
    for rid in &ids {
        let r = load_report(state, user, rid).await?;
        for i in state.store.report_indicators(rid).await? {
            if !indicators.iter().any(|x| x.hash == i.hash) {
                indicators.push(i);
            }
        }
        reports.push(r);
    }
    let prefilled = prefill(state, kind, to, &reports, &indicators);
    let mut request = prefilled;
    if let Some(fields) = obj.get("fields") {
        let Some(fields) = fields.as_object() else {
            return Err(invalid(
                "fields",
                "fields must be an object of the request's fields",
            ));
        };
        for (k, v) in fields {
            if matches!(k.as_str(), "type" | "to") {
                return Err(invalid(
                    &format!("fields.{k}"),
                    format!("{k} is given at the top of the escalation"),
                ));
            }
            request[k] = v.clone();
        }
    }
    let new = hanoinet_core::request::validate_new_request(&request).map_err(NodeError::Invalid)?;
    let rec = crate::ops::requests::create_outgoing(state, user, new, true).await?;
    let now = state.clock.now();
    for r in &reports {
        let logged = entry(
            state,
            Event::ReportEscalated,
            user_actor(user),
            format!("report:{}", r.code),
        )
        .attr("request", rec.id.to_string())
        .attr("type", kind.as_str());
        state
            .store
            .link_report(&r.id, &rec.id.to_string(), now, &[logged.encode()])
            .await?;
    }
    Ok(rec)
}

/// The request a set of reports suggests: what the reports establish, in words an officer of
/// the requested State reads, without the reporters' personal data.
fn prefill(
    state: &Node,
    kind: hanoinet_core::request::RequestType,
    to: &str,
    reports: &[Report],
    indicators: &[StoredIndicator],
) -> Value {
    use hanoinet_core::request::RequestType;
    let restricted = reports.iter().any(|r| r.restricted);
    let codes: Vec<&str> = reports.iter().map(|r| r.code.as_str()).collect();
    let first = reports.iter().map(|r| r.created_at).min();
    let last = reports.iter().map(|r| r.created_at).max();
    let mut losses: Vec<(String, i64)> = Vec::new();
    for r in reports {
        if let Some((minor, cur)) = &r.loss {
            match losses.iter_mut().find(|(c, _)| c == cur) {
                Some(l) => l.1 += minor,
                None => losses.push((cur.clone(), *minor)),
            }
        }
    }
    let losses = losses
        .iter()
        .map(|(c, m)| format!("{} {c}", hanoinet_indicators::report::format_amount(*m, c)))
        .collect::<Vec<_>>()
        .join(", ");
    let values = indicators
        .iter()
        .map(|i| format!("{} {}", i.kind, i.canonical))
        .collect::<Vec<_>>()
        .join("; ");
    let categories = {
        let mut c: Vec<&str> = reports.iter().map(|r| r.category.as_str()).collect();
        c.sort_unstable();
        c.dedup();
        c.join(", ")
    };
    let day = |t: Option<Timestamp>| {
        t.map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let facts = format!(
        "{} report(s) to the national response centre ({}) between {} and {}, category {}{}. Reports: {}.",
        reports.len(),
        state.id,
        day(first),
        day(last),
        categories,
        if losses.is_empty() {
            String::new()
        } else {
            format!("; reported losses {losses}")
        },
        codes.join(", ")
    );
    let authority = format!("National response centre, {}", state.id);
    let offence_category = if restricted {
        "child_sexual_abuse_material"
    } else {
        "ict_theft_or_fraud"
    };
    let mut body = serde_json::json!({
        "type": kind.as_str(),
        "to": to,
        "offence_category": offence_category,
        "language": "en",
        "proportionality_justification": format!("Only the records tied to the {} reported indicator(s) are sought.", indicators.len()),
    });
    match kind {
        RequestType::Preservation => {
            body["requesting_authority"] = authority.into();
            body["offence"] = if restricted {
                "Child sexual abuse material online"
            } else {
                "ICT-related fraud"
            }
            .into();
            body["summary_of_facts"] = facts.into();
            body["data_to_preserve"] =
                format!("Subscriber, registration, log-in and transaction records of: {values}")
                    .into();
            body["relationship_to_offence"] =
                "Named by the reporters as the means by which the offence was committed.".into();
            body["custodian_or_location"] = "The provider, registrar or bank holding the records named above, in the requested State".into();
            body["necessity"] =
                "Providers keep such records for a short time only; the reports are recent.".into();
            body["mla_request_to_follow"] = true.into();
            body["confidential"] = true.into();
        }
        _ => {
            body["providing_authority"] = authority.into();
            body["information"] = format!("{facts} Indicators: {values}.").into();
            body["relevance"] =
                "The indicators point to services, accounts or numbers in your territory.".into();
        }
    }
    body
}
