//! Messages about a request: status enquiries and their answers (Art. 40), extensions of a
//! preservation (Art. 42), notices that confidentiality cannot be kept (Art. 40(20)).

use hanoinet_core::request::Flow;
use hanoinet_core::request::{self, FieldCode, FieldError};
use serde_json::{Value, json};

use hanoinet_core::NodeId;
use hanoinet_core::catalogue::art40;
use hanoinet_core::request::Direction;
use hanoinet_ledger::Entry;
use hanoinet_ledger::entry::Event;
use hanoinet_protocol::Envelope;
use hanoinet_store::{Message, NewOutbox, RequestRecord, User};

use crate::error::{Detail, NodeError, NodeResult};
use crate::node::Node;
use hanoinet_protocol::payload::{MessageKind, MessagePayload};

use super::moves::*;

/// `POST .../status-enquiry`: asks the requested node where the request stands; its node
/// answers automatically with a `status_reply` (Art. 40).
pub async fn status_enquiry(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    note: Option<String>,
) -> NodeResult<Message> {
    if rec.direction != Direction::Outgoing || rec.status.before_sending() {
        return Err(NodeError::conflict(
            "a status enquiry is made by the requesting node about a request it has sent",
        )
        .with_detail(Detail {
            status: Some(rec.status),
            direction: Some(rec.direction),
            ..Detail::default()
        }));
    }
    let body = json!({"note": note, "article": art40::EXECUTION_AND_STATUS.to_string()});
    send_recorded(state, user, rec, &rec.to, MessageKind::StatusEnquiry, body).await
}

/// A message about `rec` to `to`, sealed, with its record and ledger entry, ready to store.
pub struct Prepared {
    pub message: Message,
    pub outbox: NewOutbox,
    pub ledger: Entry,
}

/// Prepares a message from `user` about `rec` to `to`.
pub fn prepare_message(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    to: &NodeId,
    kind: MessageKind,
    body: Value,
    in_reply_to: Option<String>,
) -> NodeResult<Prepared> {
    let now = state.clock.now();
    let id = uuid::Uuid::now_v7().to_string();
    let env = send_message(state, rec, to, &id, kind, &body, in_reply_to.clone(), now)?;
    let ledger = crate::ops::ledger::entry(
        state,
        Event::MessageSent,
        crate::ops::ledger::user_actor(user),
        format!("request:{}", rec.id),
    )
    .attr("kind", kind)
    .attr("envelope", env.header.id.to_string())
    .attr("envelope_hash", hex::encode(env.hash()));
    Ok(Prepared {
        message: Message {
            id,
            request_id: rec.id,
            direction: Flow::Sent,
            kind,
            body,
            at: now,
            in_reply_to,
        },
        outbox: outbox(&env, rec.id, now),
        ledger,
    })
}

/// Sends a message from `user` about `rec` to `to` and records it.
pub async fn send_recorded(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    to: &NodeId,
    kind: MessageKind,
    body: Value,
) -> NodeResult<Message> {
    let p = prepare_message(state, user, rec, to, kind, body, None)?;
    state
        .store
        .add_message(&p.message, Some(&p.outbox), &[p.ledger.encode()])
        .await?;
    state.outbox_wake.notify_one();
    Ok(p.message)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn send_message(
    state: &Node,
    rec: &RequestRecord,
    to: &NodeId,
    id: &str,
    kind: MessageKind,
    body: &Value,
    in_reply_to: Option<String>,
    now: jiff::Timestamp,
) -> NodeResult<Envelope> {
    let payload = MessagePayload {
        request_id: rec.id,
        message_id: id.to_owned(),
        kind: kind.to_owned(),
        body: body.clone(),
        in_reply_to,
        tree_head: crate::ops::ledger::cached_head(state),
    };
    crate::ops::outbound::seal(state, to, None, &payload, now)
}

/// `POST .../confidentiality-notice` on the requested side: tells the requesting State promptly
/// that the request cannot be kept confidential (Art. 40(20)); it decides whether to proceed.
pub async fn confidentiality_notice(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    note: String,
) -> NodeResult<Message> {
    if rec.direction != Direction::Incoming {
        return Err(NodeError::conflict(
            "the requested State's node gives this notice about a request it received",
        ));
    }
    let body = json!({"note": note, "article": art40::CONFIDENTIALITY.to_string()});
    send_recorded(
        state,
        user,
        rec,
        &rec.from,
        MessageKind::ConfidentialityNotice,
        body,
    )
    .await
}

/// What `POST .../extension` did.
#[derive(Debug)]
pub enum Extended {
    /// The requesting side asked for more time (the message sent).
    Asked(Message),
    /// The requested side granted it (the request, with its new `preserved_until`).
    Granted(Box<RequestRecord>),
}

/// `POST .../extension` `{days, note?}` on an accepted preservation (Art. 42): the requesting
/// side asks for `days` more, the requested side grants them.
pub async fn extend(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    body: &Value,
) -> NodeResult<Extended> {
    let mut errors = Vec::new();
    let obj = body.as_object().cloned().unwrap_or_default();
    for k in obj.keys().filter(|k| *k != "days" && *k != "note") {
        errors.push(crate::ops::data::field(
            k,
            FieldCode::UnknownField,
            format!("{k:?} is not a field of an extension (days, note)"),
        ));
    }
    let days = obj.get("days").and_then(Value::as_i64);
    if !days.is_some_and(|d| (1..=3650).contains(&d)) {
        errors.push(FieldError::new(
            "days",
            if obj.contains_key("days") {
                FieldCode::Invalid
            } else {
                FieldCode::Missing
            },
            "days is required: a whole number of days from 1 to 3650".into(),
            Some(hanoinet_core::catalogue::art42::MINIMUM_PERIOD),
        ));
    }
    let note = request::long_text(obj.get("note"), "note", None).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let (Some(days), true) = (days, errors.is_empty()) else {
        return Err(NodeError::Invalid(errors));
    };
    let in_force = rec.request_type == request::RequestType::Preservation
        && rec.status.preserves()
        && rec.preserved_until.is_some();
    if !in_force {
        return Err(NodeError::conflict(format!(
            "only an accepted preservation can be extended; this is a {} request that is {}",
            rec.request_type.as_str(),
            rec.status.as_str()
        ))
        .with_detail(Detail::status(rec.status)));
    }
    match rec.direction {
        Direction::Outgoing => Ok(Extended::Asked(
            request_extension(state, user, rec, days, note).await?,
        )),
        Direction::Incoming => {
            grant_extension(state, user, rec, days, note).await?;
            let rec = crate::ops::requests::load(state, &rec.id.to_string()).await?;
            Ok(Extended::Granted(Box::new(rec)))
        }
    }
}

/// `POST .../extension` on the requesting side: asks the requested node to keep the preserved
/// data `days` longer (Art. 42).
pub async fn request_extension(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    days: i64,
    reason: Option<String>,
) -> NodeResult<Message> {
    let body = json!({"days": days, "reason": reason, "preserved_until": rec.preserved_until});
    send_recorded(
        state,
        user,
        rec,
        &rec.to,
        MessageKind::ExtensionRequest,
        body,
    )
    .await
}

/// `POST .../extension` on the requested side: keeps the data `days` longer and tells the
/// requesting node the new end.
pub async fn grant_extension(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    days: i64,
    note: Option<String>,
) -> NodeResult<jiff::Timestamp> {
    let current = rec
        .preserved_until
        .ok_or_else(|| NodeError::conflict("only a preservation in force can be extended"))?;
    let until = current
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .map_err(NodeError::internal)?;
    let in_reply_to = rec
        .messages
        .iter()
        .rev()
        .find(|m| m.kind == MessageKind::ExtensionRequest && m.direction == Flow::Received)
        .map(|m| m.id.clone());
    let body = json!({"days": days, "preserved_until": until, "note": note});
    let p = prepare_message(
        state,
        user,
        rec,
        &rec.from,
        MessageKind::ExtensionGranted,
        body,
        in_reply_to,
    )?;
    let ledger = p.ledger.attr("preserved_until", until.to_string());
    if !state
        .store
        .extend_preservation(rec.id, until, &p.message, &p.outbox, &[ledger.encode()])
        .await?
    {
        return Err(NodeError::conflict(format!(
            "the preservation is {} and cannot be extended now",
            rec.status.as_str()
        )));
    }
    state.outbox_wake.notify_one();
    Ok(until)
}
