//! Passing data on to a third State (Art. 36): asking the original sender, its signed
//! authorization (purpose, number of uses), and the forward itself.

use hanoinet_core::request::FieldCode;
use hanoinet_core::request::Flow;
use hanoinet_ledger::Event;
use hanoinet_protocol::payload::OnwardRule;
use hanoinet_store::AttachmentState;
use serde::Deserialize;
use serde_json::{Value, json};

use hanoinet_core::NodeId;
use hanoinet_core::catalogue::art36;
use hanoinet_core::request::{FieldError, MAX_SHORT_CHARS};
use hanoinet_core::text::{Lines, clean};
use hanoinet_protocol::authorization::OnwardAuthorization;
use hanoinet_store::{Attachment, Message, RequestRecord, User};

use crate::error::{Detail, NodeError, NodeResult};
use crate::node::Node;
use crate::ops::access::require_officer;
use crate::ops::requests::load;
use hanoinet_protocol::payload::MessageKind;

use super::data::*;
use super::give::{Give, Transfer, with_attachments};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Onward {
    to: String,
    purpose: String,
    /// Only on an authorization: how many times the data may be passed on (default 1).
    #[serde(default)]
    max_uses: Option<u32>,
}

fn onward_body(v: Value) -> NodeResult<(NodeId, String, Option<u32>)> {
    let mut o: Onward = serde_json::from_value(v).map_err(|e| {
        NodeError::Invalid(vec![FieldError::new(
            "",
            FieldCode::Invalid,
            format!("the body is {{\"to\": NODE, \"purpose\": TEXT}}: {e}"),
            Some(art36::ONWARD_TRANSFER),
        )])
    })?;
    let to: NodeId = o
        .to
        .parse()
        .map_err(|e| NodeError::Invalid(vec![field("to", FieldCode::Invalid, format!("{e}"))]))?;
    o.purpose = clean(&o.purpose, MAX_SHORT_CHARS, Lines::One).map_err(|e| {
        NodeError::Invalid(vec![field("purpose", e.code(), format!("purpose {e}"))])
    })?;
    if o.max_uses
        .is_some_and(|n| !(1..=MAX_ONWARD_USES).contains(&n))
    {
        return Err(NodeError::Invalid(vec![field(
            "max_uses",
            FieldCode::Invalid,
            format!("max_uses is a whole number from 1 to {MAX_ONWARD_USES}"),
        )]));
    }
    Ok((to, o.purpose, o.max_uses))
}

/// `POST .../data/{tid}/onward-requests` (the node that received the data): asks the original
/// sender for an onward-transfer authorization.
pub async fn request_onward(
    state: &Node,
    user: &User,
    id: &str,
    tid: &str,
    body: Value,
) -> NodeResult<(Message, RequestRecord)> {
    require_officer(user)?;
    let rec = load(state, id).await?;
    let t = transfer_of(state, &rec, tid).await?;
    if t.direction != Flow::Received {
        return Err(NodeError::conflict(
            "only the node that received the data asks to pass it on",
        ));
    }
    let (to, purpose, max_uses) = onward_body(body)?;
    no_uses(max_uses)?;
    let grantor: NodeId = t.peer.clone();
    let m = crate::ops::messages::send_recorded(
        state,
        user,
        &rec,
        &grantor,
        MessageKind::OnwardRequest,
        json!({"transfer_id": t.id, "to": to, "purpose": purpose, "article": art36::ONWARD_TRANSFER.to_string()}),
    )
    .await?;
    Ok((m, rec))
}

/// `POST .../data/{tid}/onward-authorizations` (the node that sent the data): signs and sends an
/// authorization to pass this transfer on to `to` for `purpose`.
pub async fn authorize_onward(
    state: &Node,
    user: &User,
    id: &str,
    tid: &str,
    body: Value,
) -> NodeResult<(Message, RequestRecord)> {
    require_officer(user)?;
    let rec = load(state, id).await?;
    let t = transfer_of(state, &rec, tid).await?;
    if t.direction != Flow::Sent {
        return Err(NodeError::conflict(
            "only the node that sent the data authorizes passing it on",
        ));
    }
    if t.onward_transfer == OnwardRule::Prohibited {
        return Err(NodeError::conflict(
            "this transfer's conditions prohibit onward transfer; send the data again with other conditions instead",
        ));
    }
    let (to, purpose, max_uses) = onward_body(body)?;
    if state.registry().node(&to).is_none() {
        return Err(NodeError::Invalid(vec![field(
            "to",
            FieldCode::UnknownNode,
            format!("{to} is not a node in the registry"),
        )]));
    }
    let holder: NodeId = t.peer.clone();
    let auth = OnwardAuthorization::sign(
        &t.id,
        holder.clone(),
        to.clone(),
        &purpose,
        max_uses.unwrap_or(1),
        state.clock.now(),
        &state.keys(),
        state.id.clone(),
    );
    let doc = serde_json::to_value(&auth).map_err(NodeError::internal)?;
    let m = crate::ops::messages::send_recorded(
        state,
        user,
        &rec,
        &holder,
        MessageKind::OnwardAuthorization,
        json!({"authorization": doc}),
    )
    .await?;
    Ok((m, rec))
}

/// `POST .../data/{tid}/forward` (the node that received the data): passes it on to a third
/// node as spontaneous information, only with the original sender's authorization (Art. 36).
pub async fn forward(
    state: &Node,
    user: &User,
    id: &str,
    tid: &str,
    body: Value,
) -> NodeResult<(RequestRecord, Transfer)> {
    require_officer(user)?;
    let rec = load(state, id).await?;
    let t = transfer_of(state, &rec, tid).await?;
    let (to, purpose, max_uses) = onward_body(body)?;
    no_uses(max_uses)?;
    if t.direction != Flow::Received {
        return Err(NodeError::conflict(
            "only data this node received is forwarded",
        ));
    }
    if t.purged_at.is_some() {
        return Err(NodeError::gone(
            "the data were purged at the end of their retention period",
        ));
    }
    if to == t.peer {
        return Err(NodeError::Invalid(vec![field(
            "to",
            FieldCode::Invalid,
            "the data came from that node",
        )]));
    }
    let refused = |why: String| {
        NodeError::forbidden(why).with_detail(Detail {
            code: Some("onward_transfer_not_authorized"),
            article: Some(art36::ONWARD_TRANSFER.to_string()),
            ..Detail::default()
        })
    };
    if t.onward_transfer == OnwardRule::Prohibited {
        return Err(refused(format!(
            "{} transferred these data on condition that they are not passed on ({})",
            t.peer,
            art36::ONWARD_TRANSFER
        )));
    }
    let auths = authorizations_for(state, &rec, &t, &to);
    if auths.is_empty() {
        return Err(refused(format!(
            "passing these data on to {to} needs the prior authorization of {} ({}); ask for it with POST .../data/{}/onward-requests",
            t.peer,
            art36::ONWARD_TRANSFER,
            t.id
        )));
    }
    // Only for the purpose authorized, and only as often as authorized.
    let for_purpose: Vec<&OnwardAuthorization> =
        auths.iter().filter(|a| a.purpose == purpose).collect();
    if for_purpose.is_empty() {
        let allowed: Vec<&str> = auths.iter().map(|a| a.purpose.as_str()).collect();
        return Err(refused(format!(
            "{} authorized passing these data on to {to} for another purpose ({}); they go only with the purpose authorized ({})",
            t.peer,
            allowed.join("; "),
            art36::ONWARD_TRANSFER
        )));
    }
    // The attachments travel again, sealed for the third node (chunk by chunk, when sent).
    let originals = state.store.attachments_of_transfer(&t.id).await?;
    for a in &originals {
        if a.state != AttachmentState::Complete {
            return Err(NodeError::conflict(format!(
                "{} has not fully arrived",
                a.name
            )));
        }
    }
    // One use of an authorization for this purpose, each tried in turn: everything is recorded
    // in the transaction that takes the use, or nothing is.
    for auth in for_purpose {
        let (outgoing, created) =
            third_state_request(state, user, &rec, &t, &to, &purpose, auth).await?;
        let now = state.clock.now();
        // Copies of the attachments, under new ids, for the new transfer.
        let copies: Vec<Attachment> = originals
            .iter()
            .map(|a| Attachment {
                id: uuid::Uuid::now_v7().to_string(),
                request_id: created.id,
                transfer_id: None,
                state: AttachmentState::Staged,
                created_at: now,
                ..a.clone()
            })
            .collect();
        let pairs: Vec<(String, String)> = copies
            .iter()
            .zip(&originals)
            .map(|(c, a)| (c.id.clone(), a.id.clone()))
            .collect();
        let give = Give {
            conds: Conditions {
                purpose: purpose.clone(),
                use_limitation: t.conditions.use_limitation.clone(),
                retention_until: t.conditions.retention_until,
                onward_transfer: OnwardRule::Prohibited,
            },
            results: t.results.clone(),
            attachments: copies,
            forwarded: Some((t.id.clone(), auth.clone())),
            basis: None,
        };
        let sending = crate::ops::give::prepare_transfer(state, user, &created, give)?;
        let entry = crate::ops::ledger::entry(
            state,
            Event::DataForwarded,
            crate::ops::ledger::user_actor(user),
            format!("request:{}", rec.id),
        )
        .attr("transfer", t.id.clone())
        .attr("to", to.as_str())
        .attr("new_transfer", sending.transfer.id.clone())
        .attr(
            "authorization",
            crate::ops::ledger::commit(state, &auth.signature),
        );
        let forwarding = hanoinet_store::Forwarding {
            auth_sig: &hex::encode(auth.signature),
            max_uses: auth.max_uses,
            from_transfer: &t.id,
            at: now,
            request: &outgoing,
            copies: &pairs,
            transfer: &sending.transfer,
            attachments: &sending.attachments,
            outbox: &sending.outbox,
            ledger: &[sending.ledger.encode(), entry.encode()],
        };
        if state.store.forward_transfer(&forwarding).await? {
            state.outbox_wake.notify_one();
            tracing::info!(request = %created.id, transfer = %sending.transfer.id, %to, "data forwarded");
            let new = load(state, &created.id.to_string()).await?;
            return Ok((new, with_attachments(state, sending.transfer).await?));
        }
    }
    Err(refused(format!(
        "the authorization of {} to pass these data on to {to} has been used as often as it allows; ask for a new one",
        t.peer
    )))
}

/// The request of spontaneous information to the third node that carries forwarded data,
/// checked and sealed, not yet recorded.
async fn third_state_request(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    t: &hanoinet_store::DataTransfer,
    to: &NodeId,
    purpose: &str,
    auth: &OnwardAuthorization,
) -> NodeResult<(hanoinet_store::NewOutgoing, RequestRecord)> {
    let offence = rec
        .fields
        .get("offence_category")
        .cloned()
        .unwrap_or(json!("serious_crime"));
    let mut body = json!({
        "type": "spontaneous_information",
        "to": to.as_str(),
        "providing_authority": state.id.as_str(),
        "information": format!("Data received from {} (transfer {}), passed on with its authorization of {}.", t.peer, t.id, auth.granted_at),
        "relevance": purpose,
        "offence_category": offence,
        "language": rec.fields.get("language").cloned().unwrap_or(json!("en")),
        "proportionality_justification": format!("Passed on for the authorized purpose only: {purpose}"),
        "confidential": true,
    });
    if offence == "serious_crime" {
        body["max_penalty_years"] = rec
            .fields
            .get("max_penalty_years")
            .cloned()
            .unwrap_or(json!(4));
    }
    let (new_request, _) = crate::ops::requests::parse_new(body)?;
    crate::ops::requests::prepare_outgoing(state, user, new_request, false).await
}
