//! The checks a validated request must pass against the registry and this node's records, run
//! by the requesting node before it sends and, independently, by the requested node on receipt:
//!
//! - the legal gate: a request under the Convention needs it in force for both States on the day
//!   (Art. 65, 67), computed from the verified registry;
//! - links: a request that follows an earlier one (an Art. 44 request after a preservation)
//!   names a request this node holds between the same two States;
//! - language: a warning, not a block, when the requested State does not list the request's
//!   language (Art. 40).

use hanoinet_core::request::FieldCode;
use serde_json::{Value, json};

use hanoinet_core::catalogue::{art40, art65};
use hanoinet_core::request::{FieldError, RequestFacts};
use hanoinet_core::{NodeId, RequestId};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;

/// Today's date in UTC on the node's clock.
pub fn today(state: &Node) -> jiff::civil::Date {
    state.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// Runs the checks for a request from `from` to `to`. `Ok` carries the warnings to show with
/// the request; `Err` every problem found.
pub async fn check(
    state: &Node,
    from: &NodeId,
    to: &NodeId,
    facts: &RequestFacts,
) -> NodeResult<Result<Value, Vec<FieldError>>> {
    check_typed(state, from, to, facts, None).await
}

/// [`check`], with the request type for the channel warnings (MLA goes to a central authority).
pub async fn check_typed(
    state: &Node,
    from: &NodeId,
    to: &NodeId,
    facts: &RequestFacts,
    kind: Option<hanoinet_core::request::RequestType>,
) -> NodeResult<Result<Value, Vec<FieldError>>> {
    let mut errors = Vec::new();
    if facts.under_convention()
        && let Err(e) = hanoinet_core::legal::both_in_force(
            &state.registry().parties,
            from.state().as_str(),
            to.state().as_str(),
            today(state),
        )
    {
        errors.push(FieldError {
            possible_from: e.possible_from.map(|d| d.to_string()),
            ..FieldError::new(
                "legal_basis",
                FieldCode::ConventionNotInForce,
                e.reason,
                Some(art65::GENERAL),
            )
        });
    }
    if let Some(linked) = facts.follows_request
        && let Some(problem) = check_link(state, linked, from, to).await?
    {
        errors.push(problem);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let mut warnings = Vec::new();
    if let Some(requested) = state.registry().state(&to.state())
        && !requested.accepts_language(&facts.language)
    {
        warnings.push(json!({
            "code": "language_not_accepted",
            "field": "language",
            "message": format!(
                "{} lists {} as the languages it accepts requests in, not {:?}; the request may be delayed or returned for translation",
                requested.code,
                requested.languages.join(", "),
                facts.language
            ),
            "article": art40::LANGUAGE.to_string(),
        }));
    }
    // Channels (Art. 40): mutual legal assistance goes to the central authority, or through
    // diplomatic channels where the requested State requires them. Warnings: the 24/7 network
    // may still carry an urgent request, to be confirmed through the proper channel.
    if let Some(requested) = state.registry().state(&to.state()) {
        if requested.diplomatic_channel_required {
            warnings.push(json!({
                "code": "diplomatic_channel_required",
                "field": "to",
                "message": format!("{} requires requests through diplomatic channels; send the formal request that way as well", requested.code),
                "article": art40::CENTRAL_AUTHORITY.to_string(),
            }));
        }
        let mla = kind.is_some_and(|k| k.consult_before_refusal());
        let reg = state.registry();
        let to_poc = reg
            .node(to)
            .is_some_and(|n| n.role == hanoinet_protocol::registry::NodeRole::PointOfContact);
        let authority = reg.nodes.iter().find(|n| {
            n.id.state() == to.state()
                && n.role == hanoinet_protocol::registry::NodeRole::CentralAuthority
        });
        if mla
            && to_poc
            && let Some(ca) = authority
        {
            warnings.push(json!({
                "code": "not_central_authority",
                "field": "to",
                "message": format!("mutual legal assistance requests go to {}'s central authority, {}; {to} is its 24/7 point of contact", requested.code, ca.id),
                "article": art40::CENTRAL_AUTHORITY.to_string(),
            }));
        }
    }
    Ok(Ok(Value::Array(warnings)))
}

async fn check_link(
    state: &Node,
    linked: RequestId,
    from: &NodeId,
    to: &NodeId,
) -> NodeResult<Option<FieldError>> {
    let rec = state
        .store
        .get_request(linked)
        .await
        .map_err(NodeError::from)?;
    let same_states = rec.as_ref().is_some_and(|r| {
        let pair = [r.from.state(), r.to.state()];
        pair.contains(&from.state()) && pair.contains(&to.state())
    });
    Ok((!same_states).then(|| {
        FieldError::new(
            "follows_request",
            FieldCode::UnknownRequest,
            format!(
                "{linked} is not a request between {} and {} held by this node",
                from.state(),
                to.state()
            ),
            Some(hanoinet_core::catalogue::art44::ACCESS),
        )
    }))
}
