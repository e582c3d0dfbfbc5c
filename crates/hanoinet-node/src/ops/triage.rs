//! The response centre's analysts: the queue of reports, reports grouped by the indicators they
//! share, decisions on indicators, notes, closing. Every action is a ledger entry naming codes
//! and commitments, never content.

use jiff::Timestamp;
use serde_json::Value;

use hanoinet_core::request::{FieldCode, FieldError};
use hanoinet_core::text::Lines;
use hanoinet_indicators::report::ReportStatus;
use hanoinet_indicators::{IndicatorStatus, IndicatorType, Tlp};
use hanoinet_ledger::entry::Event;
use hanoinet_store::{
    IndicatorDecision, IndicatorFilter, IndicatorLoss, Report, ReportFilter, ReportNote,
    StoredIndicator, User,
};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;
use crate::ops::ledger::{commit, entry, user_actor};

/// Most rows one list returns.
pub const MAX_LIST: i64 = 200;
/// The longest note, in characters.
pub const MAX_NOTE: usize = 5000;
/// The longest a confirmation may last before it must be decided again.
pub const MAX_CONFIRMATION_DAYS: i64 = 3 * 366;

pub fn require_analyst(user: &User) -> NodeResult<()> {
    if user.role.may_triage() {
        Ok(())
    } else {
        Err(NodeError::forbidden(format!(
            "role {} may not triage reports; analysts may",
            user.role.as_str()
        )))
    }
}

pub(crate) fn require_open(user: &User, restricted: bool) -> NodeResult<()> {
    if restricted && !user.role.may_open_restricted() {
        Err(NodeError::forbidden(
            "this is in the restricted queue (child sexual abuse material): only the csam_analyst role opens it",
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> NodeError {
    NodeError::invalid(FieldError::new(
        field,
        FieldCode::Invalid,
        message.into(),
        None,
    ))
}

/// The report `id`, for an analyst who may open it (a restricted one: the csam_analyst role).
pub(crate) async fn load_report(state: &Node, user: &User, id: &str) -> NodeResult<Report> {
    require_analyst(user)?;
    let report = state
        .store
        .report(id)
        .await?
        .ok_or_else(|| NodeError::not_found(format!("no report {id}")))?;
    require_open(user, report.restricted)?;
    Ok(report)
}

/// Which queue a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Ordinary,
    Restricted,
}

/// The reports of a queue, newest first.
pub async fn list_reports(
    state: &Node,
    user: &User,
    queue: Queue,
    status: Option<ReportStatus>,
    indicator: Option<String>,
    before: Option<String>,
    limit: i64,
) -> NodeResult<Vec<Report>> {
    require_analyst(user)?;
    require_open(user, queue == Queue::Restricted)?;
    let filter = ReportFilter {
        status,
        restricted: Some(queue == Queue::Restricted),
        indicator,
        before,
        limit: limit.clamp(1, MAX_LIST),
    };
    Ok(state.store.reports(&filter).await?)
}

/// A report with what an analyst needs to triage it.
#[derive(Debug, Clone)]
pub struct ReportFile {
    pub report: Report,
    pub indicators: Vec<StoredIndicator>,
    /// Other reports sharing an indicator: (id, code, shared identity).
    pub related: Vec<(String, String, String)>,
    pub notes: Vec<ReportNote>,
    pub files: Vec<hanoinet_store::ReportFile>,
    /// Restricted content is shown only when asked for (`reveal`).
    pub revealed: bool,
}

/// Opens a report: the first analyst to open it puts it `in_review`. A restricted report's
/// description and values are withheld unless `reveal` (which the log records).
pub async fn open_report(
    state: &Node,
    user: &User,
    id: &str,
    reveal: bool,
) -> NodeResult<ReportFile> {
    let mut report = load_report(state, user, id).await?;
    let revealed = !report.restricted || reveal;
    let logged = entry(
        state,
        Event::ReportOpened,
        user_actor(user),
        format!("report:{}", report.code),
    )
    .attr("revealed", revealed.to_string());
    let now = state.clock.now();
    if report.status == ReportStatus::Received
        && state
            .store
            .move_report(
                id,
                &[ReportStatus::Received],
                ReportStatus::InReview,
                now,
                &[logged.encode()],
            )
            .await?
    {
        report.status = ReportStatus::InReview;
        report.triaged_at = Some(now);
    } else {
        state.store.append_ledger(&[logged.encode()]).await?;
    }
    let indicators = state.store.report_indicators(id).await?;
    let related = state
        .store
        .related_reports(id, user.role.may_open_restricted(), MAX_LIST)
        .await?;
    let notes = state.store.report_notes(id).await?;
    let files = state.store.report_files(id).await?;
    Ok(ReportFile {
        report,
        indicators,
        related,
        notes,
        files,
        revealed,
    })
}

/// A screenshot of a report: its type and bytes.
pub async fn screenshot(
    state: &Node,
    user: &User,
    id: &str,
    file: &str,
) -> NodeResult<(String, Vec<u8>)> {
    load_report(state, user, id).await?;
    state
        .store
        .report_file_data(id, file)
        .await?
        .ok_or_else(|| NodeError::not_found(format!("no screenshot {file} on report {id}")))
}

/// Closes a report (from any open status); the reporter sees `closed`.
pub async fn close_report(state: &Node, user: &User, id: &str) -> NodeResult<Report> {
    let report = load_report(state, user, id).await?;
    let logged = entry(
        state,
        Event::ReportClosed,
        user_actor(user),
        format!("report:{}", report.code),
    )
    .attr("from", report.status.as_str());
    let open = [
        ReportStatus::Received,
        ReportStatus::InReview,
        ReportStatus::Confirmed,
    ];
    if !state
        .store
        .move_report(
            id,
            &open,
            ReportStatus::Closed,
            state.clock.now(),
            &[logged.encode()],
        )
        .await?
    {
        return Err(NodeError::conflict(format!(
            "report {} is already closed",
            report.code
        )));
    }
    state
        .store
        .report(id)
        .await?
        .ok_or_else(|| NodeError::not_found(format!("no report {id}")))
}

/// Adds a note to a report.
pub async fn add_note(state: &Node, user: &User, id: &str, body: &Value) -> NodeResult<ReportNote> {
    let report = load_report(state, user, id).await?;
    if let Some(obj) = body.as_object()
        && let Some(k) = obj.keys().find(|k| k.as_str() != "body")
    {
        return Err(invalid(k, format!("{k} is not a field of a note (body)")));
    }
    let text = match body.get("body") {
        Some(Value::String(s)) => {
            hanoinet_core::text::clean(s, MAX_NOTE, Lines::Many).map_err(|e| {
                NodeError::invalid(FieldError::new("body", e.code(), format!("body {e}"), None))
            })?
        }
        _ => return Err(invalid("body", "body is required: the note's text")),
    };
    let note = ReportNote {
        id: uuid::Uuid::now_v7().to_string(),
        report_id: id.to_owned(),
        author_id: user.id.clone(),
        body: text,
        created_at: state.clock.now(),
    };
    let logged = entry(
        state,
        Event::ReportNoteAdded,
        user_actor(user),
        format!("report:{}", report.code),
    )
    .attr("content", commit(state, note.body.as_bytes()));
    state
        .store
        .add_report_note(&note, &[logged.encode()])
        .await?;
    Ok(note)
}

/// An indicator with its reported losses.
#[derive(Debug, Clone)]
pub struct IndicatorFile {
    pub indicator: StoredIndicator,
    pub losses: Vec<IndicatorLoss>,
}

/// Indicators by status and type, most reported first, with their losses.
pub async fn list_indicators(
    state: &Node,
    user: &User,
    status: Option<IndicatorStatus>,
    kind: Option<IndicatorType>,
    limit: i64,
) -> NodeResult<Vec<IndicatorFile>> {
    require_analyst(user)?;
    let list = state
        .store
        .indicators(&IndicatorFilter {
            status,
            kind,
            restricted: user.role.may_open_restricted(),
            limit: limit.clamp(1, MAX_LIST),
        })
        .await?;
    with_losses(state, list).await
}

async fn with_losses(state: &Node, list: Vec<StoredIndicator>) -> NodeResult<Vec<IndicatorFile>> {
    let hashes: Vec<String> = list.iter().map(|i| i.hash.clone()).collect();
    let losses = state.store.indicator_losses(&hashes).await?;
    Ok(list
        .into_iter()
        .map(|indicator| {
            let losses = losses
                .iter()
                .filter(|l| l.hash == indicator.hash)
                .cloned()
                .collect();
            IndicatorFile { indicator, losses }
        })
        .collect())
}

pub async fn indicator(state: &Node, user: &User, hash: &str) -> NodeResult<IndicatorFile> {
    require_analyst(user)?;
    let found = state
        .store
        .indicator(hash)
        .await?
        .ok_or_else(|| NodeError::not_found(format!("no indicator {hash}")))?;
    require_open(user, found.restricted)?;
    with_losses(state, vec![found])
        .await?
        .pop()
        .ok_or_else(|| NodeError::internal("indicator vanished"))
}

/// `POST /api/v1/indicators/{hash}/decision`: `{"decision": "confirm", "tlp", "expires"}` or
/// `{"decision": "false_positive"}`.
pub async fn decide(
    state: &Node,
    user: &User,
    hash: &str,
    body: &Value,
) -> NodeResult<IndicatorFile> {
    require_analyst(user)?;
    let found = state
        .store
        .indicator(hash)
        .await?
        .ok_or_else(|| NodeError::not_found(format!("no indicator {hash}")))?;
    require_open(user, found.restricted)?;
    let now = state.clock.now();
    let decision = parse_decision(body, now)?;
    let d = IndicatorDecision {
        status: decision.0,
        tlp: decision.1,
        expires_at: decision.2,
        by: user.id.clone(),
        at: now,
    };
    let mut logged = entry(
        state,
        Event::IndicatorDecided,
        user_actor(user),
        format!("indicator:{hash}"),
    )
    .attr("decision", d.status.as_str());
    if let Some(t) = d.tlp {
        logged = logged.attr("tlp", t.as_str());
    }
    if let Some(e) = d.expires_at {
        logged = logged.attr("expires", e.to_string());
    }
    if !state
        .store
        .decide_indicator(hash, &d, &[logged.encode()])
        .await?
    {
        return Err(NodeError::not_found(format!("no indicator {hash}")));
    }
    indicator(state, user, hash).await
}

fn parse_decision(
    body: &Value,
    now: Timestamp,
) -> NodeResult<(IndicatorStatus, Option<Tlp>, Option<Timestamp>)> {
    let Some(obj) = body.as_object() else {
        return Err(invalid(
            "body",
            "the body must be a JSON object: {\"decision\": \"confirm\", \"tlp\": \"clear\", \"expires\": \"2027-06-01T00:00:00Z\"}",
        ));
    };
    let mut errors = Vec::new();
    for k in obj.keys() {
        if !matches!(k.as_str(), "decision" | "tlp" | "expires") {
            errors.push(FieldError::new(
                k,
                FieldCode::UnknownField,
                format!("{k} is not a field of a decision (decision, tlp, expires)"),
                None,
            ));
        }
    }
    let decision = obj.get("decision").and_then(Value::as_str);
    let out = match decision {
        Some("confirm") => {
            let tlp = match obj.get("tlp").and_then(Value::as_str) {
                Some(t) => Tlp::parse(t).or_else(|| {
                    errors.push(FieldError::new(
                        "tlp",
                        FieldCode::Invalid,
                        format!("tlp must be one of clear, green, amber, red, got {t:?}"),
                        None,
                    ));
                    None
                }),
                None => {
                    errors.push(FieldError::new(
                        "tlp",
                        FieldCode::Missing,
                        "tlp is required to confirm: clear, green, amber or red".into(),
                        None,
                    ));
                    None
                }
            };
            let expires = match obj.get("expires").and_then(Value::as_str) {
                Some(e) => match e.parse::<Timestamp>() {
                    Ok(t) if t <= now => {
                        errors.push(FieldError::new(
                            "expires",
                            FieldCode::OutOfRange,
                            "expires must be in the future".into(),
                            None,
                        ));
                        None
                    }
                    Ok(t)
                        if t > now
                            + jiff::SignedDuration::from_hours(24 * MAX_CONFIRMATION_DAYS) =>
                    {
                        errors.push(FieldError::new(
                            "expires",
                            FieldCode::OutOfRange,
                            format!("expires must be within {MAX_CONFIRMATION_DAYS} days"),
                            None,
                        ));
                        None
                    }
                    Ok(t) => Some(t),
                    Err(_) => {
                        errors.push(FieldError::new(
                            "expires",
                            FieldCode::Invalid,
                            format!("expires must be an RFC 3339 time, got {e:?}"),
                            None,
                        ));
                        None
                    }
                },
                None => {
                    errors.push(FieldError::new(
                        "expires",
                        FieldCode::Missing,
                        "expires is required to confirm: when the confirmation lapses (RFC 3339)"
                            .into(),
                        None,
                    ));
                    None
                }
            };
            (IndicatorStatus::Confirmed, tlp, expires)
        }
        Some("false_positive") => {
            for k in ["tlp", "expires"] {
                if obj.contains_key(k) {
                    errors.push(FieldError::new(
                        k,
                        FieldCode::NotAllowed,
                        format!("{k} applies only to a confirmation"),
                        None,
                    ));
                }
            }
            (IndicatorStatus::FalsePositive, None, None)
        }
        other => {
            errors.push(FieldError::new(
                "decision",
                if other.is_none() {
                    FieldCode::Missing
                } else {
                    FieldCode::Invalid
                },
                "decision must be \"confirm\" or \"false_positive\"".into(),
                None,
            ));
            (IndicatorStatus::Reported, None, None)
        }
    };
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(NodeError::Invalid(errors))
    }
}

/// Purges the reports past the node's retention period that no case holds (policy
/// `report_retention_days`, default 730), their notes, files and contacts, and the undecided
/// indicators only they named; each batch is one ledger entry naming the codes.
pub async fn purge_due(state: &Node) -> NodeResult<usize> {
    let days = state.policy.report_retention_days;
    if days <= 0 {
        return Ok(0);
    }
    let now = state.clock.now();
    let Ok(cutoff) = now.checked_sub(jiff::SignedDuration::from_hours(24 * days)) else {
        return Ok(0);
    };
    const BATCH: i64 = 500;
    let mut total = 0;
    loop {
        let purged = state
            .store
            .purge_reports(cutoff, BATCH, |codes| {
                vec![
                    entry(
                        state,
                        Event::ReportsPurged,
                        hanoinet_ledger::entry::actors::SYSTEM.into(),
                        "reports:retention".into(),
                    )
                    .attr("count", codes.len().to_string())
                    .attr("codes", codes.join(","))
                    .attr("before", cutoff.to_string())
                    .encode(),
                ]
            })
            .await?;
        total += purged.len();
        if (purged.len() as i64) < BATCH {
            break;
        }
    }
    if total > 0 {
        tracing::info!(
            purged = total,
            days,
            "retention ended: citizens' reports purged"
        );
    }
    Ok(total)
}
