//! Giving data on a request (Art. 36 conditions), Art. 43(1) traffic disclosure, and reading
//! the data a request holds.

use base64::Engine;
use hanoinet_core::request::FieldCode;
use hanoinet_core::request::Flow;
use hanoinet_ledger::Event;
use hanoinet_store::AttachmentState;
use serde_json::Value;

use hanoinet_core::catalogue::{art36, art43};
use hanoinet_core::request::{Direction, FieldError, MAX_TEXT_CHARS, RequestType};
use hanoinet_core::text::{Lines, TextError, clean};
use hanoinet_protocol::authorization::OnwardAuthorization;
use hanoinet_store::{Attachment, ChunkRef, DataTransfer, NewOutbox, RequestRecord, User};

use crate::error::{Detail, NodeError, NodeResult};
use crate::node::Node;
use crate::ops::access::{require_officer, require_reader};
use crate::ops::requests::load;

use super::data::*;

/// A transfer with its attachments.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub transfer: DataTransfer,
    pub attachments: Vec<Attachment>,
}

/// `t` with its attachments as stored now.
pub async fn with_attachments(state: &Node, t: DataTransfer) -> NodeResult<Transfer> {
    let attachments = state.store.attachments_of_transfer(&t.id).await?;
    Ok(Transfer {
        transfer: t,
        attachments,
    })
}

/// `POST /api/v1/requests/{id}/traffic-disclosure` (the requested node, on a preservation it
/// carries out): `{conditions, service_provider, transmission_path, traffic_data}`. Art. 43(1):
/// while preserving traffic data, the preserving State that finds a service provider in another
/// State took part in the transmission discloses, on its own initiative, enough traffic data to
/// identify that provider and the path. The conditions of Art. 36 apply as to any data.
pub async fn disclose_traffic(
    state: &Node,
    user: &User,
    id: &str,
    body: Value,
) -> NodeResult<Transfer> {
    require_officer(user)?;
    let rec = load(state, id).await?;
    if rec.request_type != RequestType::Preservation
        || rec.direction != Direction::Incoming
        || !rec.status.preserves()
    {
        return Err(NodeError::conflict(format!(
                "an {} disclosure is made by the preserving node on a preservation it accepted; this is a {} {} request that is {}",
                art43::DISCLOSURE,
                rec.direction.as_str(),
                rec.request_type.as_str(),
                rec.status.as_str()
            ),
        )
        .with_detail(Detail::status(rec.status)));
    }
    let obj = body.as_object().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    for k in obj.keys() {
        if k != "conditions" && !ART43_MEMBERS.contains(&k.as_str()) {
            errors.push(field(
                k,
                FieldCode::UnknownField,
                format!(
                    "{k:?} is not a field of an {} disclosure (conditions, {})",
                    art43::DISCLOSURE,
                    ART43_MEMBERS.join(", ")
                ),
            ));
        }
    }
    let mut results = serde_json::Map::new();
    for k in ART43_MEMBERS {
        match obj.get(k).and_then(Value::as_str).map(|v| clean(v, MAX_TEXT_CHARS, Lines::Many)) {
            Some(Ok(v)) => {
                results.insert(k.to_owned(), Value::String(v));
            }
            None | Some(Err(TextError::Empty)) => errors.push(FieldError::new(
                k,
                FieldCode::Missing,
                format!(
                    "{k} is required: enough traffic data to identify the service provider and the path ({})",
                    art43::DISCLOSURE
                ),
                Some(art43::DISCLOSURE),
            )),
            Some(Err(e)) => errors.push(FieldError::new(k, e.code(), format!("{k} {e}"), Some(art43::DISCLOSURE))),
        }
    }
    let conds = conditions(obj.get("conditions"), crate::ops::gate::today(state));
    let conds = match conds {
        Ok(c) if errors.is_empty() => c,
        Ok(_) => return Err(NodeError::Invalid(errors)),
        Err(e) => {
            errors.extend(e);
            return Err(NodeError::Invalid(errors));
        }
    };
    let give = Give {
        conds,
        results: Some(Value::Object(results)),
        attachments: Vec::new(),
        forwarded: None,
        basis: Some(ART43_BASIS),
    };
    let transfer = transmit(state, user, &rec, give).await?;
    with_attachments(state, transfer).await
}

/// `POST /api/v1/requests/{id}/data`: `{conditions, results?, attachments?: [ids]}`.
pub async fn give(state: &Node, user: &User, id: &str, body: Value) -> NodeResult<Transfer> {
    require_officer(user)?;
    let rec = load(state, id).await?;
    if rec.request_type == RequestType::Preservation {
        return Err(preservation_discloses_nothing());
    }
    if !may_give(&rec) {
        return Err(NodeError::conflict(format!(
                "data is given by the requested node once it accepted (or with spontaneous information); this request is {} here",
                rec.status.as_str()
            ),
        )
        .with_detail(Detail::status(rec.status)));
    }
    let today = crate::ops::gate::today(state);
    let mut errors = Vec::new();
    let obj = body.as_object().cloned().unwrap_or_default();
    for k in obj.keys() {
        if !["conditions", "results", "attachments"].contains(&k.as_str()) {
            errors.push(field(
                k,
                FieldCode::UnknownField,
                format!(
                    "{k:?} is not a field of a data transfer (conditions, results, attachments)"
                ),
            ));
        }
    }
    let conds = conditions(obj.get("conditions"), today).map_err(|e| {
        errors.extend(e);
    });
    let results = obj.get("results").filter(|v| !v.is_null()).cloned();
    if let Some(r) = &results
        && r.as_object().is_none_or(|o| o.is_empty())
    {
        errors.push(field(
            "results",
            FieldCode::Invalid,
            "results is an object with at least one member (or absent)",
        ));
    }
    let mut attachments = Vec::new();
    match obj.get("attachments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) => {
            for (i, v) in ids.iter().enumerate() {
                let a = match v.as_str() {
                    Some(aid) => state.store.attachment(aid).await?,
                    None => None,
                };
                match a {
                    Some(a) if a.request_id == rec.id && a.state == AttachmentState::Staged => {
                        attachments.push(a)
                    }
                    _ => errors.push(field(
                        &format!("attachments[{i}]"),
                        FieldCode::Invalid,
                        "not an uploaded, unsent attachment of this request",
                    )),
                }
            }
        }
        Some(_) => errors.push(field(
            "attachments",
            FieldCode::Invalid,
            "attachments is a list of attachment ids",
        )),
    }
    if results.is_none() && attachments.is_empty() && errors.is_empty() {
        errors.push(field(
            "results",
            FieldCode::Missing,
            "a data transfer carries results, attachments, or both",
        ));
    }
    let Ok(conds) = conds else {
        return Err(NodeError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(NodeError::Invalid(errors));
    }
    let give = Give {
        conds,
        results,
        attachments,
        forwarded: None,
        basis: None,
    };
    let transfer = transmit(state, user, &rec, give).await?;
    with_attachments(state, transfer).await
}

/// `GET /api/v1/requests/{id}/data`.
pub async fn transfers(state: &Node, user: &User, id: &str) -> NodeResult<Vec<Transfer>> {
    require_reader(user)?;
    let rec = load(state, id).await?;
    let mut out = Vec::new();
    let transfers = state.store.transfers_of(rec.id).await?;
    for t in &transfers {
        out.push(with_attachments(state, t.clone()).await?);
    }
    // Who read which data (Art. 36 results included), and when, is part of the record.
    let opened = crate::ops::ledger::entry(
        state,
        Event::DataOpened,
        crate::ops::ledger::user_actor(user),
        format!("request:{}", rec.id),
    )
    .attr(
        "transfers",
        transfers
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    state.store.append_ledger(&[opened.encode()]).await?;
    Ok(out)
}

/// Attachment `aid` of request `id`, if its content is held (complete, staged or sent) and
/// `user` may read it. Opening it is recorded with [`opened`].
pub async fn attachment(state: &Node, user: &User, id: &str, aid: &str) -> NodeResult<Attachment> {
    require_reader(user)?;
    let rec = load(state, id).await?;
    let a = state
        .store
        .attachment(aid)
        .await?
        .filter(|a| a.request_id == rec.id)
        .ok_or_else(|| NodeError::not_found(format!("no attachment {aid} on request {id}")))?;
    match a.state {
        AttachmentState::Complete | AttachmentState::Staged | AttachmentState::Sent => Ok(a),
        AttachmentState::Purged => Err(NodeError::gone(format!(
            "{} was purged at the end of its retention period ({}); its SHA-256 {} and size {} remain on record",
            a.name,
            art36::CONDITIONS,
            a.sha256.unwrap_or_default(),
            a.size
        ))),
        other => Err(NodeError::conflict(format!(
            "{} is {other}: not all of it has arrived, or it did not match its hash",
            a.name
        ))),
    }
}

/// Records that `user` opened attachment `a` (all of it, or the byte `range` named), before
/// any byte of it goes out.
pub async fn opened(
    state: &Node,
    user: &User,
    a: &Attachment,
    range: Option<String>,
) -> NodeResult<()> {
    let mut entry = crate::ops::ledger::entry(
        state,
        Event::AttachmentOpened,
        crate::ops::ledger::user_actor(user),
        format!("request:{}", a.request_id),
    )
    .attr("attachment", a.id.clone())
    .attr("sha256", a.sha256.clone().unwrap_or_default());
    if let Some(r) = range {
        entry = entry.attr("range", r);
    }
    state.store.append_ledger(&[entry.encode()]).await?;
    Ok(())
}

/// Seals a queued chunk for its peer, now: the chunk's bytes from the attachment's store, under
/// the envelope id the transfer queued it with.
pub(crate) async fn seal_chunk(
    state: &Node,
    envelope_id: hanoinet_core::EnvelopeId,
    peer: &hanoinet_core::NodeId,
    request_id: hanoinet_core::RequestId,
    c: &ChunkRef,
) -> NodeResult<hanoinet_protocol::Envelope> {
    let bytes = state
        .store
        .chunk(&c.attachment_id, c.idx)
        .await?
        .ok_or_else(|| {
            NodeError::internal(format!(
                "chunk {} of {} is no longer stored",
                c.idx, c.attachment_id
            ))
        })?;
    let chunk = ChunkPayload {
        transfer_id: c.transfer_id.clone(),
        request_id,
        attachment_id: c.attachment_id.clone(),
        idx: c.idx,
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    };
    crate::ops::outbound::seal_with_id(state, envelope_id, peer, None, &chunk, state.clock.now())
}

/// What one transfer carries.
pub struct Give {
    pub conds: Conditions,
    pub results: Option<Value>,
    pub attachments: Vec<Attachment>,
    /// Data passed on: the transfer they came with, and the authorization.
    pub forwarded: Option<(String, OnwardAuthorization)>,
    /// [`ART43_BASIS`] for an Art. 43(1) disclosure on a preservation.
    pub basis: Option<&'static str>,
}

/// Seals the transfer, queues it with every chunk (each sealed when it is first sent, so that
/// the size of the attachments costs neither memory nor a second copy on disk), records it.
pub async fn transmit(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    give: Give,
) -> NodeResult<DataTransfer> {
    for a in &give.attachments {
        let stored = state.store.chunk_count(&a.id).await?;
        if stored != a.chunks {
            return Err(NodeError::internal(format!(
                "{} holds {stored} of its {} chunks",
                a.id, a.chunks
            )));
        }
    }
    let sending = prepare_transfer(state, user, rec, give)?;
    state
        .store
        .send_transfer(
            &sending.transfer,
            &sending.attachments,
            &sending.outbox,
            &[sending.ledger.encode()],
        )
        .await?;
    state.outbox_wake.notify_one();
    let transfer = sending.transfer;
    tracing::info!(request = %rec.id, transfer = %transfer.id, to = %transfer.peer, "data sent");
    Ok(transfer)
}

/// A transfer ready to commit: its row, its attachments as sent, its envelopes, its entry.
pub(crate) struct Sending {
    pub transfer: DataTransfer,
    pub attachments: Vec<Attachment>,
    pub outbox: Vec<NewOutbox>,
    pub ledger: hanoinet_ledger::Entry,
}

/// Seals a transfer and lists its chunks' envelopes (sealed when first sent, by the delivery
/// worker: [`seal_chunk`]) without recording anything.
pub(crate) fn prepare_transfer(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    give: Give,
) -> NodeResult<Sending> {
    let Give {
        conds,
        results,
        attachments,
        forwarded,
        basis,
    } = give;
    let (forwarded_from, authorization) = forwarded.unzip();
    let now = state.clock.now();
    let peer = peer_of(rec).clone();
    let transfer_id = uuid::Uuid::now_v7().to_string();
    let metas: Vec<AttachmentMeta> = attachments
        .iter()
        .map(|a| AttachmentMeta {
            id: a.id.clone(),
            name: a.name.clone(),
            sha256: a.sha256.clone().unwrap_or_default(),
            size: a.size,
            chunks: a.chunks,
        })
        .collect();
    let payload = TransferPayload {
        transfer_id: transfer_id.clone(),
        request_id: rec.id,
        conditions: conds.clone(),
        results: results.clone(),
        attachments: metas,
        forwarded_from: forwarded_from.clone(),
        authorization,
        basis: basis.map(str::to_owned),
    };
    let env = crate::ops::outbound::seal(state, &peer, None, &payload, now)?;
    let mut outbox = vec![NewOutbox {
        envelope_id: env.header.id,
        peer: peer.clone(),
        kind: env.header.kind.as_str().into(),
        request_id: rec.id,
        envelope: env.to_json(),
        created_at: now,
        chunk: None,
    }];
    for a in &attachments {
        for idx in 0..a.chunks {
            outbox.push(NewOutbox {
                envelope_id: hanoinet_core::EnvelopeId::new_v7(),
                peer: peer.clone(),
                kind: hanoinet_protocol::Kind::DataChunk.as_str().into(),
                request_id: rec.id,
                envelope: String::new(),
                created_at: now,
                chunk: Some(ChunkRef {
                    transfer_id: transfer_id.clone(),
                    attachment_id: a.id.clone(),
                    idx,
                }),
            });
        }
    }
    let transfer = DataTransfer {
        id: transfer_id.clone(),
        request_id: rec.id,
        direction: Flow::Sent,
        peer: peer.clone(),
        conditions: conds.clone(),
        results,
        retention_until: conds.retention_until,
        onward_transfer: conds.onward_transfer,
        created_at: now,
        purged_at: None,
        forwarded_from,
    };
    let sent: Vec<Attachment> = attachments
        .into_iter()
        .map(|a| Attachment {
            transfer_id: Some(transfer_id.clone()),
            state: AttachmentState::Sent,
            ..a
        })
        .collect();
    let ledger = crate::ops::ledger::entry(
        state,
        Event::DataSent,
        crate::ops::ledger::user_actor(user),
        format!("request:{}", rec.id),
    )
    .attr("transfer", transfer_id.clone())
    .attr("peer", peer.as_str())
    .attr(
        "attachments",
        sent.iter()
            .map(|a| a.sha256.clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(","),
    )
    .attr("retention_until", conds.retention_until.to_string())
    .attr("onward_transfer", conds.onward_transfer.as_str())
    .attr(
        "conditions",
        crate::ops::ledger::commit(state, transfer.conditions.to_json().to_string().as_bytes()),
    );
    Ok(Sending {
        transfer,
        attachments: sent,
        outbox,
        ledger,
    })
}
