//! Data given in answer to requests, with the conditions of Convention Art. 36 (and the use
//! limits of Art. 40), enforced by the receiving node:
//!
//! - attachments are uploaded as a stream (`POST .../attachments?name=`), stored in chunks with
//!   their SHA-256 and size, up to [`MAX_ATTACHMENT_BYTES`];
//! - `POST .../data` sends a transfer: its conditions (purpose, use limitation, retention-until,
//!   onward transfer `prohibited | with_authorization`), structured results, and each chunk as an
//!   envelope of its own, sealed like every payload; the receiver checks every attachment's size
//!   and hash once all chunks are in;
//! - at retention-until the receiving node purges the content (results, chunks) and keeps the
//!   metadata and hashes, with a ledger entry;
//! - forwarding to a third node is refused unless the original sender signed an onward-transfer
//!   authorization for that node (requested with `onward-requests`, given with
//!   `onward-authorizations`), which is verified against its registry key.

use base64::Engine;
use hanoinet_core::request::FieldCode;
use hanoinet_core::request::Flow;
use hanoinet_ledger::Event;
use hanoinet_ledger::entry::actors;
use hanoinet_protocol::payload::OnwardRule;
use hanoinet_store::AttachmentState;
use jiff::civil::Date;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use hanoinet_core::NodeId;
use hanoinet_core::catalogue::{art36, art40, art42, art43, art44};
use hanoinet_core::request::{
    Direction, FieldError, MAX_SHORT_CHARS, MAX_TEXT_CHARS, RequestType, Status,
};
use hanoinet_core::text::{Lines, TextError, clean};
use hanoinet_ledger::Entry;
use hanoinet_protocol::authorization::OnwardAuthorization;
use hanoinet_store::{Attachment, DataTransfer, RequestRecord};

use crate::error::{Detail, ErrorCode, NodeError, NodeResult};
use crate::node::Node;
use hanoinet_protocol::payload::MessageKind;

/// Largest attachment accepted by default (`Tunables::max_attachment_bytes`), in bytes: 8 GiB
/// (evidence such as disk images and log exports; uploads, transfers and downloads stream in
/// chunks, so the size costs disk, not memory).
pub const MAX_ATTACHMENT_BYTES: usize = 8 << 30;
/// Furthest retention date data may carry, in years from today.
pub const MAX_RETENTION_YEARS: i16 = 10;
/// Longest attachment name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Bytes per stored chunk and per `data_chunk` envelope.
pub const CHUNK_BYTES: usize = 256 * 1024;

pub use hanoinet_protocol::payload::{
    ART43_BASIS, AttachmentMeta, ChunkPayload, Conditions, TransferPayload,
};

/// The members of an Art. 43(1) disclosure's results, all one-line or multi-line text.
pub(crate) const ART43_MEMBERS: [&str; 3] =
    ["service_provider", "transmission_path", "traffic_data"];

pub(crate) fn field(field: &str, code: FieldCode, message: impl Into<String>) -> FieldError {
    FieldError::new(field, code, message.into(), None)
}

pub(crate) fn peer_of(rec: &RequestRecord) -> &NodeId {
    match rec.direction {
        Direction::Outgoing => &rec.to,
        Direction::Incoming => &rec.from,
    }
}

/// Checks conditions as posted.
pub(crate) fn conditions(v: Option<&Value>, today: Date) -> Result<Conditions, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(o) = v.and_then(Value::as_object) else {
        return Err(vec![FieldError::new(
            "conditions",
            FieldCode::Missing,
            "conditions are required: purpose, use_limitation, retention_until, onward_transfer"
                .into(),
            Some(art36::CONDITIONS),
        )]);
    };
    let text = |k: &str, max: usize, lines: Lines, errors: &mut Vec<FieldError>| {
        let name = format!("conditions.{k}");
        let (code, message) = match o
            .get(k)
            .and_then(Value::as_str)
            .map(|s| clean(s, max, lines))
        {
            Some(Ok(t)) => return t,
            None | Some(Err(TextError::Empty)) => {
                (FieldCode::Missing, format!("{name} is required"))
            }
            Some(Err(e)) => (e.code(), format!("{name} {e}")),
        };
        errors.push(FieldError::new(
            &name,
            code,
            message,
            Some(art36::CONDITIONS),
        ));
        String::new()
    };
    let purpose = text("purpose", MAX_SHORT_CHARS, Lines::One, &mut errors);
    let use_limitation = text("use_limitation", MAX_TEXT_CHARS, Lines::Many, &mut errors);
    let retention = o
        .get("retention_until")
        .and_then(Value::as_str)
        .and_then(|d| d.parse::<Date>().ok());
    let latest = today.saturating_add(jiff::ToSpan::years(MAX_RETENTION_YEARS));
    match retention {
        Some(d) if d > today && d <= latest => {}
        Some(_) => errors.push(FieldError::new(
            "conditions.retention_until",
            FieldCode::Invalid,
            format!(
                "retention_until must be a date after today and at most {MAX_RETENTION_YEARS} years ahead (until {latest})"
            ),
            Some(art36::CONDITIONS),
        )),
        None => errors.push(FieldError::new(
            "conditions.retention_until",
            FieldCode::Missing,
            "conditions.retention_until is required (YYYY-MM-DD)".into(),
            Some(art36::CONDITIONS),
        )),
    }
    let given = o.get("onward_transfer").and_then(Value::as_str);
    let onward = given.and_then(OnwardRule::parse);
    if onward.is_none() {
        errors.push(FieldError::new(
            "conditions.onward_transfer",
            if given.is_some() {
                FieldCode::Invalid
            } else {
                FieldCode::Missing
            },
            "conditions.onward_transfer must be prohibited or with_authorization".into(),
            Some(art36::ONWARD_TRANSFER),
        ));
    }
    for k in o.keys() {
        if ![
            "purpose",
            "use_limitation",
            "retention_until",
            "onward_transfer",
        ]
        .contains(&k.as_str())
        {
            errors.push(field(
                &format!("conditions.{k}"),
                FieldCode::UnknownField,
                format!("{k:?} is not a condition"),
            ));
        }
    }
    match (retention, onward) {
        (Some(retention_until), Some(o)) if errors.is_empty() => Ok(Conditions {
            purpose,
            use_limitation,
            retention_until,
            onward_transfer: o,
        }),
        _ => Err(errors),
    }
}

/// Who may give data on a request: the requested node once it accepted, or the sender of
/// spontaneous information.
pub fn may_give(rec: &RequestRecord) -> bool {
    // Preservation secures data; disclosing them takes a request for them (Art. 44, or the
    // Art. 43 disclosure of preserved traffic data).
    if rec.request_type == RequestType::Preservation {
        return false;
    }
    match rec.direction {
        Direction::Incoming => matches!(
            rec.status,
            Status::Accepted
                | Status::AcceptedWithConditions
                | Status::PartiallyExecuted
                | Status::Executed
        ),
        Direction::Outgoing => {
            rec.request_type == RequestType::SpontaneousInformation && !rec.status.before_sending()
        }
    }
}

/// Whether `results` are exactly an Art. 43(1) disclosure: the three members, clean text.
pub(crate) fn art43_results(results: Option<&Value>) -> bool {
    results.and_then(Value::as_object).is_some_and(|o| {
        o.len() == ART43_MEMBERS.len()
            && ART43_MEMBERS.iter().all(|k| {
                o.get(*k)
                    .and_then(Value::as_str)
                    .is_some_and(|v| clean(v, MAX_TEXT_CHARS, Lines::Many).as_deref() == Ok(v))
            })
    })
}

pub(crate) fn preservation_discloses_nothing() -> NodeError {
    NodeError::conflict(format!(
            "a preservation secures the data ({}); disclosing them takes a request for them: a stored_data request ({}) that follows this one, or traffic_disclosure for preserved traffic data ({}); the preserving node's own {} disclosure identifying a provider in another State goes through POST .../traffic-disclosure",
            art42::MINIMUM_PERIOD,
            art44::ACCESS,
            art43::REFUSAL_GROUNDS,
            art43::DISCLOSURE
        ),
    )
    .with_detail(Detail {
        code: Some("preservation_discloses_nothing"),
        ..Detail::default()
    })
}

/// Whether data may be given on `rec` once the requested node decides (it may stage them now).
pub(crate) fn may_give_later(rec: &RequestRecord) -> bool {
    rec.direction == Direction::Incoming
        && rec.request_type.is_answered()
        && rec.request_type != RequestType::Preservation
        && matches!(
            rec.status,
            Status::Delivered
                | Status::Acknowledged
                | Status::MoreInformationRequested
                | Status::Consultation
                | Status::Postponed
        )
}

/// Most uses one onward-transfer authorization may grant.
pub const MAX_ONWARD_USES: u32 = 100;

/// `max_uses` belongs to an authorization only.
pub(crate) fn no_uses(max_uses: Option<u32>) -> NodeResult<()> {
    match max_uses {
        None => Ok(()),
        Some(_) => Err(NodeError::Invalid(vec![field(
            "max_uses",
            FieldCode::UnknownField,
            "max_uses is set by the node that authorizes, not asked for or used here",
        )])),
    }
}

pub(crate) async fn transfer_of(
    state: &Node,
    rec: &RequestRecord,
    tid: &str,
) -> NodeResult<DataTransfer> {
    state
        .store
        .transfer(tid)
        .await?
        .filter(|t| t.request_id == rec.id)
        .ok_or_else(|| {
            NodeError::not_found(format!("no data transfer {tid} on request {}", rec.id))
        })
}

/// The verified authorizations on record for passing `t` on to `to` (for any purpose).
pub(crate) fn authorizations_for(
    state: &Node,
    rec: &RequestRecord,
    t: &DataTransfer,
    to: &NodeId,
) -> Vec<OnwardAuthorization> {
    rec.messages
        .iter()
        .filter(|m| m.kind == MessageKind::OnwardAuthorization && m.direction == Flow::Received)
        .filter_map(|m| {
            serde_json::from_value::<OnwardAuthorization>(m.body.get("authorization")?.clone()).ok()
        })
        .filter(|a| {
            a.transfer_id == t.id
                && a.grantor == t.peer
                && a.holder == state.id
                && &a.third == to
                && state.signed_by(&t.peer, |k| a.verify(k))
        })
        .collect()
}

// ----- inbound --------------------------------------------------------------------------------

/// A `data_transfer` from a peer of the request.
pub async fn inbound_transfer(
    state: &Node,
    env: &hanoinet_protocol::Envelope,
    p: TransferPayload,
) -> NodeResult<crate::ops::updates::Inbound> {
    let rec = crate::ops::updates::peer_request_any(state, p.request_id, &env.header.from).await?;
    let c = &p.conditions;
    let bad = |m: &str| NodeError::refused(ErrorCode::InvalidPayload, m.to_owned());
    match (
        rec.request_type == RequestType::Preservation,
        p.basis.as_deref(),
    ) {
        (true, Some(ART43_BASIS)) => {
            if rec.direction != Direction::Outgoing
                || !p.attachments.is_empty()
                || !art43_results(p.results.as_ref())
            {
                return Err(bad(&format!(
                    "an {} disclosure comes from the preserving State and carries only service_provider, transmission_path and traffic_data",
                    art43::DISCLOSURE
                )));
            }
        }
        (true, _) => {
            return Err(bad(&format!(
                "a preservation secures data and discloses none ({}); data come with a request for them ({}, {}), or as the preserving State's {} disclosure",
                art42::ARTICLE,
                art43::REFUSAL_GROUNDS,
                art44::ACCESS,
                art43::DISCLOSURE
            )));
        }
        (false, None) => {}
        (false, Some(_)) => {
            return Err(bad(&format!(
                "only a preservation carries an {} disclosure",
                art43::DISCLOSURE
            )));
        }
    }
    let today = crate::ops::gate::today(state);
    if clean(&c.purpose, MAX_SHORT_CHARS, Lines::One).as_deref() != Ok(c.purpose.as_str())
        || clean(&c.use_limitation, MAX_TEXT_CHARS, Lines::Many).as_deref()
            != Ok(c.use_limitation.as_str())
    {
        return Err(bad(&format!(
            "data carry their purpose and use limitation ({}, {}), as clean text within the limits",
            art36::CONDITIONS,
            art40::USE_LIMITATION
        )));
    }
    if c.retention_until > today.saturating_add(jiff::ToSpan::years(MAX_RETENTION_YEARS)) {
        return Err(bad("retention_until is at most 10 years ahead"));
    }
    if p.results
        .as_ref()
        .is_some_and(|r| r.as_object().is_none_or(|o| o.is_empty()))
    {
        return Err(bad(
            "results is an object with at least one member (or absent)",
        ));
    }
    match (&p.forwarded_from, &p.authorization) {
        (None, None) => {}
        (Some(from), Some(a)) => {
            let authorized = state.signed_by(&a.grantor, |k| a.verify(k))
                && a.holder == env.header.from
                && a.third == state.id
                && &a.transfer_id == from
                && a.purpose == c.purpose;
            if !authorized {
                return Err(bad(&format!(
                    "data passed on carry the original sender's authorization, for this node and this purpose ({})",
                    art36::ONWARD_TRANSFER
                )));
            }
        }
        _ => {
            return Err(bad(&format!(
                "data passed on carry the original sender's authorization ({}), and only they do",
                art36::ONWARD_TRANSFER
            )));
        }
    }
    for a in &p.attachments {
        let expected = (a.size + CHUNK_BYTES as i64 - 1) / CHUNK_BYTES as i64;
        let clean_name = clean(&a.name, MAX_NAME_CHARS, Lines::One)
            .is_ok_and(|n| n == a.name && !n.contains(['/', '\\']));
        if !clean_name {
            return Err(bad(
                "an attachment's name is a file name without slashes, control or bidirectional-override characters",
            ));
        }
        if a.size <= 0
            || a.size > state.tunables.max_attachment_bytes as i64
            || a.chunks != expected
            || a.sha256.len() != 64
        {
            return Err(bad(
                "an attachment states its size (within the limit), chunk count and SHA-256",
            ));
        }
    }
    let now = state.clock.now();
    let transfer = DataTransfer {
        id: p.transfer_id.clone(),
        request_id: rec.id,
        direction: Flow::Received,
        peer: env.header.from.clone(),
        conditions: c.clone(),
        results: p.results.clone(),
        retention_until: c.retention_until,
        onward_transfer: c.onward_transfer,
        created_at: now,
        purged_at: None,
        forwarded_from: p.forwarded_from.clone(),
    };
    let atts = p
        .attachments
        .iter()
        .map(|a| Attachment {
            id: a.id.clone(),
            request_id: rec.id,
            transfer_id: Some(p.transfer_id.clone()),
            name: a.name.clone(),
            sha256: Some(a.sha256.clone()),
            size: a.size,
            chunks: a.chunks,
            state: AttachmentState::Receiving,
            created_at: now,
        })
        .collect();
    let ledger = crate::ops::updates::received_entry(state, Event::DataReceived, env, rec.id)
        .attr("transfer", p.transfer_id.clone())
        .attr(
            "attachments",
            p.attachments
                .iter()
                .map(|a| a.sha256.clone())
                .collect::<Vec<_>>()
                .join(","),
        )
        .attr("retention_until", c.retention_until.to_string())
        .attr("onward_transfer", c.onward_transfer.as_str());
    Ok(crate::ops::updates::Inbound {
        effect: hanoinet_store::InboundEffect::Transfer(Box::new(transfer), atts),
        ledger,
        head: None,
    })
}

/// A `data_chunk`.
pub async fn inbound_chunk(
    state: &Node,
    env: &hanoinet_protocol::Envelope,
    p: ChunkPayload,
) -> NodeResult<(hanoinet_store::InboundEffect, Entry)> {
    let rec = crate::ops::updates::peer_request_any(state, p.request_id, &env.header.from).await?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(p.data.as_bytes())
        .map_err(|_| NodeError::refused(ErrorCode::InvalidPayload, "chunk data is not base64"))?;
    if data.is_empty() || data.len() > CHUNK_BYTES || p.idx < 0 {
        return Err(NodeError::refused(
            ErrorCode::InvalidPayload,
            "a chunk holds 1 to 262144 bytes",
        ));
    }
    let entry = crate::ops::updates::received_entry(state, Event::MessageReceived, env, rec.id)
        .attr("kind", "data_chunk")
        .attr("attachment", p.attachment_id.clone())
        .attr("chunk", p.idx.to_string());
    Ok((
        hanoinet_store::InboundEffect::Chunk {
            attachment_id: p.attachment_id,
            idx: p.idx,
            data,
        },
        entry,
    ))
}

/// Once every chunk of an attachment is in: checks its size and SHA-256, and marks it
/// `complete`, or `corrupt` (with an alert).
pub async fn check_complete(state: &Node, attachment_id: &str) -> NodeResult<()> {
    let Some(a) = state.store.attachment(attachment_id).await? else {
        return Ok(()); // its transfer has not arrived yet; it checks again then
    };
    if a.state != AttachmentState::Receiving || state.store.chunk_count(&a.id).await? < a.chunks {
        return Ok(());
    }
    let mut hasher = Sha256::new();
    let mut size = 0i64;
    for idx in 0..a.chunks {
        let c = state.store.chunk(&a.id, idx).await?.unwrap_or_default();
        size += c.len() as i64;
        hasher.update(&c);
    }
    let ok = size == a.size && Some(hex::encode(hasher.finalize())) == a.sha256;
    let alert = (!ok).then(|| hanoinet_store::Alert {
            id: format!("attachment_corrupt:{}", a.id),
            kind: hanoinet_store::AlertKind::AttachmentCorrupt,
            subject: format!("request:{}", a.request_id),
            message: format!(
                "{} does not match the size and SHA-256 its sender stated",
                a.name
            ),
            evidence: json!({"attachment": a.id, "expected_sha256": a.sha256, "expected_size": a.size, "size": size}),
            created_at: state.clock.now(),
    });
    let settled = if ok {
        AttachmentState::Complete
    } else {
        AttachmentState::Corrupt
    };
    state
        .store
        .settle_attachment(&a.id, settled, alert.as_ref())
        .await?;
    Ok(())
}

/// Days a staged attachment, or a chunk whose transfer never came, is kept before it is removed.
pub const STALE_UPLOAD_DAYS: i64 = 7;

/// Purges received data whose retention period ended, and uploads that never became data
/// (run by the clocks).
pub async fn purge_due(state: &Node) -> NodeResult<()> {
    let today = crate::ops::gate::today(state);
    let before = state
        .clock
        .now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * STALE_UPLOAD_DAYS))
        .map_err(NodeError::internal)?;
    let (chunks, staged) = state.store.drop_stale_uploads(before).await?;
    if chunks + staged > 0 {
        tracing::info!(chunks, staged, "removed uploads that never became data");
    }
    for t in state.store.transfers_due_for_purge(today).await? {
        let entry = crate::ops::ledger::entry(
            state,
            Event::DataPurged,
            actors::SYSTEM.into(),
            format!("request:{}", t.request_id),
        )
        .attr("transfer", t.id.clone())
        .attr("retention_until", t.retention_until.to_string())
        .attr("article", art36::CONDITIONS.to_string())
        .attr("use_limitation_article", art40::USE_LIMITATION.to_string());
        // What was received stays provable (header, hash, signature); the content goes.
        let reduced: Vec<(String, String)> = state
            .store
            .transfer_envelopes(&t.id)
            .await?
            .into_iter()
            .filter_map(|(id, json)| {
                let env = hanoinet_protocol::Envelope::from_json(json.as_bytes()).ok()?;
                Some((id, env.reduced().to_json()))
            })
            .collect();
        if state
            .store
            .purge_transfer(&t.id, state.clock.now(), &reduced, &[entry.encode()])
            .await?
        {
            tracing::info!(transfer = %t.id, request = %t.request_id, "retention ended: data purged");
        }
    }
    Ok(())
}
