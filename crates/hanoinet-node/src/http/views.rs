//! JSON views: how the API shows requests, messages and data transfers.

use serde_json::{Map, Value, json};

use hanoinet_core::request::Direction;
use hanoinet_store::{Message, RequestRecord};

use crate::node::Node;

/// The API's JSON view of a request: metadata, the type's fields at top level (as they were
/// posted), the decision, the status history and the receipts.
pub fn request_view(state: &Node, r: &RequestRecord) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("type".into(), json!(r.request_type.as_str()));
    m.insert("direction".into(), json!(r.direction.as_str()));
    m.insert("from".into(), json!(r.from));
    m.insert("to".into(), json!(r.to));
    m.insert("status".into(), json!(r.status.as_str()));
    m.insert("created_at".into(), json!(r.created_at));
    m.insert("updated_at".into(), json!(r.updated_at));
    m.insert("created_by".into(), json!(r.created_by));
    if let Value::Object(fields) = &r.fields {
        for (k, v) in fields {
            m.insert(k.clone(), v.clone());
        }
    }
    m.insert("preserved_until".into(), json!(r.preserved_until));
    if r.direction == Direction::Incoming {
        m.insert("ack_due_at".into(), json!(r.ack_due_at));
        m.insert("escalated_at".into(), json!(r.escalated_at));
    }
    let decision = r.decision.clone().map(|mut d| {
        if let Value::Object(o) = &mut d {
            o.insert("decided_at".into(), json!(r.decided_at));
        }
        d
    });
    m.insert("decision".into(), decision.unwrap_or(Value::Null));
    m.insert(
        "history".into(),
        Value::Array(
            r.history
                .iter()
                .map(|e| {
                    let mut v = json!({"status": e.status.as_str(), "at": e.at});
                    if let Some(by) = &e.by {
                        v["by"] = json!(by);
                    }
                    if let Some(note) = &e.note {
                        v["note"] = json!(note);
                    }
                    if let Some(d) = &e.details {
                        v["details"] = d.clone();
                    }
                    v
                })
                .collect(),
        ),
    );
    // The four-eyes approval, signed by the requesting node (on both nodes).
    let approval = r
        .history
        .iter()
        .rev()
        .find_map(|e| e.details.as_ref()?.get("approval").cloned());
    m.insert("approval".into(), approval.unwrap_or(Value::Null));
    m.insert(
        "allowed_transitions".into(),
        json!(
            crate::ops::moves::allowed_moves(&state.policy, r)
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
        ),
    );
    m.insert(
        "messages".into(),
        Value::Array(r.messages.iter().map(|msg| message_view(msg, r)).collect()),
    );
    m.insert("warnings".into(), r.warnings.clone());
    m.insert("envelope_id".into(), json!(r.envelope_id));
    m.insert("receipt".into(), r.receipt.clone().unwrap_or(Value::Null));
    m.insert(
        "response_receipt".into(),
        r.response_receipt.clone().unwrap_or(Value::Null),
    );
    Value::Object(m)
}

/// The API's view of a message; a sent proposal says whether it is still pending, applied or
/// declined.
pub fn message_view(msg: &Message, r: &RequestRecord) -> Value {
    let mut v = json!({
        "id": msg.id,
        "kind": msg.kind,
        "direction": msg.direction,
        "at": msg.at,
        "body": msg.body,
        "in_reply_to": msg.in_reply_to,
    });
    if let Some(state) = crate::ops::updates::proposal_state(msg, r) {
        v["state"] = json!(state);
    }
    v
}

/// The API's view of a data transfer and its attachments.
pub fn transfer_view(t: &crate::ops::give::Transfer) -> Value {
    let (t, atts) = (&t.transfer, &t.attachments);
    json!({
        "id": t.id,
        "direction": t.direction,
        "peer": t.peer,
        "conditions": t.conditions,
        "results": t.results,
        "retention_until": t.retention_until.to_string(),
        "onward_transfer": t.onward_transfer,
        "created_at": t.created_at,
        "purged_at": t.purged_at,
        "forwarded_from": t.forwarded_from,
        "attachments": atts.iter().map(attachment_view).collect::<Vec<_>>(),
    })
}

/// The API's view of an attachment (metadata, never content).
pub fn attachment_view(a: &hanoinet_store::Attachment) -> Value {
    json!({
        "id": a.id, "name": a.name, "sha256": a.sha256, "size": a.size, "chunks": a.chunks, "state": a.state,
    })
}
