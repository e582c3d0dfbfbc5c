//! The one lifecycle every request follows, written as data: [`TRANSITIONS`] lists every allowed
//! move (from which statuses, to which, by which side, for which types, with what it needs).
//! Nothing else in the code decides whether a status change is allowed.
//!
//! ```text
//! draft ─► awaiting_approval ─► queued ─► delivered ─► acknowledged ─┬─► more_information_requested ─► acknowledged
//!   └──────────────────────────►┘                                    ├─► consultation ─► postponed | refused | accepted…
//!                                                                    ├─► accepted | accepted_with_conditions ─► partially_executed ─► executed
//!                                                                    ├─► refused (types without prior consultation)
//!                                                                    └─► informed_requester_decides (Art. 42(7)) ─► acknowledged
//! requesting side: withdrawn (before a decision), no_longer_needed (after), closed (at the end)
//! system: queued ─► delivered (receipt), accepted ─► expired (preservation period over)
//! ```
//!
//! After delivery the requested node orders the history: its own moves are applied at once and
//! sent to the requesting node; the requesting side's moves travel as proposals the requested
//! node applies (if still allowed) and sends back, so both nodes hold the same history.

use serde::{Deserialize, Serialize};

use crate::catalogue::forms::{RefusalRule, RequestType};
use crate::catalogue::{ArticleRef, art40, art42};

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Written, not submitted; only on the requesting node.
    Draft,
    /// Submitted; a supervisor of the same node other than its author must approve it.
    AwaitingApproval,
    /// Committed to the requesting node's outbox, not yet acknowledged by the peer.
    Queued,
    /// The requested node stored it and returned a signed receipt.
    Delivered,
    /// An officer of the requested State took it up.
    Acknowledged,
    /// The requested State asked for more information (Art. 40).
    MoreInformationRequested,
    /// The requested State consults before refusing or postponing (Art. 40).
    Consultation,
    /// Execution postponed: it would interfere with an ongoing investigation (Art. 40).
    Postponed,
    Accepted,
    /// Accepted subject to conditions, which the requesting State must comply with (Art. 40).
    AcceptedWithConditions,
    PartiallyExecuted,
    Executed,
    /// Refused, with grounds and reasons.
    Refused,
    /// Preservation will not ensure availability or would prejudice the investigation; the
    /// requesting State decides whether to proceed (Art. 42(7)).
    InformedRequesterDecides,
    /// The requesting State no longer needs the assistance (Art. 40).
    NoLongerNeeded,
    /// The requesting State withdrew it before a decision.
    Withdrawn,
    /// The preservation period ended.
    Expired,
    Closed,
}

impl Status {
    pub const ALL: [Self; 18] = [
        Self::Draft,
        Self::AwaitingApproval,
        Self::Queued,
        Self::Delivered,
        Self::Acknowledged,
        Self::MoreInformationRequested,
        Self::Consultation,
        Self::Postponed,
        Self::Accepted,
        Self::AcceptedWithConditions,
        Self::PartiallyExecuted,
        Self::Executed,
        Self::Refused,
        Self::InformedRequesterDecides,
        Self::NoLongerNeeded,
        Self::Withdrawn,
        Self::Expired,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Acknowledged => "acknowledged",
            Self::MoreInformationRequested => "more_information_requested",
            Self::Consultation => "consultation",
            Self::Postponed => "postponed",
            Self::Accepted => "accepted",
            Self::AcceptedWithConditions => "accepted_with_conditions",
            Self::PartiallyExecuted => "partially_executed",
            Self::Executed => "executed",
            Self::Refused => "refused",
            Self::InformedRequesterDecides => "informed_requester_decides",
            Self::NoLongerNeeded => "no_longer_needed",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the requesting node has not sent the request yet.
    pub fn before_sending(self) -> bool {
        matches!(self, Self::Draft | Self::AwaitingApproval)
    }

    /// A preservation in this status keeps the data preserved. `executed` does too: for a
    /// preservation it means the data are secured, and they stay so until the period ends (or a
    /// follow-up request is decided); it does not end the preservation early (Art. 42).
    pub fn preserves(self) -> bool {
        matches!(
            self,
            Self::Accepted
                | Self::AcceptedWithConditions
                | Self::PartiallyExecuted
                | Self::Executed
        )
    }

    /// The statuses that [`Status::preserves`].
    pub const PRESERVING: [Self; 4] = [
        Self::Accepted,
        Self::AcceptedWithConditions,
        Self::PartiallyExecuted,
        Self::Executed,
    ];
}

/// Who makes a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// An officer of the requesting node.
    Requesting,
    /// An officer of the requested node.
    Requested,
    /// The node itself (a receipt, a clock).
    System,
}

impl Side {
    pub const ALL: [Self; 3] = [Self::Requesting, Self::Requested, Self::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requesting => "requesting",
            Self::Requested => "requested",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Which request types a move applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    All,
    /// Types that are answered (everything but spontaneous information).
    Answered,
    /// Answered types whose refusal or postponement needs no prior consultation.
    WithoutConsultation,
    /// Expedited preservation (Art. 42) only.
    Preservation,
    /// Answered types whose execution may be postponed (Art. 40): not preservation or the
    /// disclosure of preserved traffic data, where Art. 42(7) (inform, the requester decides) is
    /// the path.
    Postponable,
    /// [`Applies::Postponable`] types that need no consultation first.
    PostponableWithoutConsultation,
    /// Spontaneous information only.
    Spontaneous,
}

impl Applies {
    pub fn to(self, t: RequestType) -> bool {
        match self {
            Self::All => true,
            Self::Answered => t.is_answered(),
            Self::WithoutConsultation => t.is_answered() && !t.consult_before_refusal(),
            Self::Preservation => t == RequestType::Preservation,
            Self::Postponable => t.is_answered() && !preserved_data(t),
            Self::PostponableWithoutConsultation => {
                Self::WithoutConsultation.to(t) && !preserved_data(t)
            }
            Self::Spontaneous => t.form().refusal == RefusalRule::NotApplicable,
        }
    }
}

/// Preservation (Art. 42) and the disclosure of preserved traffic data (Art. 43).
fn preserved_data(t: RequestType) -> bool {
    matches!(
        t,
        RequestType::Preservation | RequestType::TrafficDisclosure
    )
}

/// What a move must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// A `note` saying this.
    Note(&'static str),
    /// Refusal grounds the type allows and an explanation.
    Grounds,
    /// The conditions of acceptance (`conditions`).
    Conditions,
    /// A supervisor of the same node who is not the request's author.
    Approval,
}

/// One allowed move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: &'static [Status],
    pub to: Status,
    pub by: Side,
    pub applies: Applies,
    pub needs: Needs,
    pub article: Option<ArticleRef>,
}

use Applies as A;
use Needs as N;
use Side::{Requested, Requesting, System};
use Status::*;

const fn t(
    from: &'static [Status],
    to: Status,
    by: Side,
    applies: Applies,
    needs: Needs,
    article: Option<ArticleRef>,
) -> Transition {
    Transition {
        from,
        to,
        by,
        applies,
        needs,
        article,
    }
}

/// Statuses in which the requested State has not decided yet.
const UNDECIDED: &[Status] = &[
    Queued,
    Delivered,
    Acknowledged,
    MoreInformationRequested,
    Consultation,
    InformedRequesterDecides,
];

/// Statuses after a decision in which assistance is still under way.
const UNDER_WAY: &[Status] = &[
    Postponed,
    Accepted,
    AcceptedWithConditions,
    PartiallyExecuted,
];

/// Every allowed move. The order is the order of the lifecycle.
pub const TRANSITIONS: &[Transition] = &[
    // Before sending: the requesting node alone.
    t(
        &[Draft],
        AwaitingApproval,
        Requesting,
        A::All,
        N::Nothing,
        None,
    ),
    t(&[Draft], Queued, Requesting, A::All, N::Nothing, None),
    t(
        &[AwaitingApproval],
        Queued,
        Requesting,
        A::All,
        N::Approval,
        None,
    ),
    t(
        &[AwaitingApproval],
        Draft,
        Requesting,
        A::All,
        N::Note("why the request is returned to its author"),
        None,
    ),
    t(
        &[Draft, AwaitingApproval],
        Withdrawn,
        Requesting,
        A::All,
        N::Nothing,
        None,
    ),
    // Delivery.
    t(&[Queued], Delivered, System, A::All, N::Nothing, None),
    t(
        &[Delivered],
        Acknowledged,
        Requested,
        A::All,
        N::Nothing,
        None,
    ),
    // Execution, on the requested side.
    t(
        &[Acknowledged],
        MoreInformationRequested,
        Requested,
        A::Answered,
        N::Note("the information needed"),
        Some(art40::MORE_INFORMATION),
    ),
    t(
        &[MoreInformationRequested],
        Acknowledged,
        Requesting,
        A::Answered,
        N::Note("the information provided"),
        Some(art40::MORE_INFORMATION),
    ),
    t(
        &[Acknowledged],
        Consultation,
        Requested,
        A::Answered,
        N::Note(
            "what the requested State considers: refusal, postponement, or the conditions under which assistance could be given",
        ),
        Some(art40::CONSULTATION),
    ),
    t(
        &[Consultation, Postponed],
        Acknowledged,
        Requested,
        A::Answered,
        N::Nothing,
        None,
    ),
    t(
        &[Acknowledged],
        Postponed,
        Requested,
        A::PostponableWithoutConsultation,
        N::Note("why execution would interfere with an ongoing investigation"),
        Some(art40::POSTPONEMENT),
    ),
    t(
        &[Consultation],
        Postponed,
        Requested,
        A::Postponable,
        N::Note("why execution would interfere with an ongoing investigation"),
        Some(art40::POSTPONEMENT),
    ),
    t(
        &[Acknowledged, Consultation, Postponed],
        Accepted,
        Requested,
        A::Answered,
        N::Nothing,
        None,
    ),
    t(
        &[Acknowledged, Consultation],
        AcceptedWithConditions,
        Requested,
        A::Answered,
        N::Conditions,
        Some(art40::CONSULTATION),
    ),
    t(
        &[Acknowledged],
        Refused,
        Requested,
        A::WithoutConsultation,
        N::Grounds,
        None,
    ),
    t(
        &[Consultation, Postponed],
        Refused,
        Requested,
        A::Answered,
        N::Grounds,
        None,
    ),
    t(
        &[Acknowledged, Accepted],
        InformedRequesterDecides,
        Requested,
        A::Preservation,
        N::Note(
            "why preservation will not ensure the data's availability or would threaten confidentiality or prejudice the investigation",
        ),
        Some(art42::INFORM_REQUESTER),
    ),
    t(
        &[InformedRequesterDecides],
        Acknowledged,
        Requesting,
        A::Preservation,
        N::Nothing,
        Some(art42::INFORM_REQUESTER),
    ),
    t(
        &[Accepted, AcceptedWithConditions],
        PartiallyExecuted,
        Requested,
        A::Answered,
        N::Note("what has been executed so far"),
        None,
    ),
    t(
        &[Accepted, AcceptedWithConditions, PartiallyExecuted],
        Executed,
        Requested,
        A::Answered,
        N::Nothing,
        None,
    ),
    // The requesting side ends it.
    t(UNDECIDED, Withdrawn, Requesting, A::All, N::Nothing, None),
    t(
        UNDER_WAY,
        NoLongerNeeded,
        Requesting,
        A::Answered,
        N::Nothing,
        Some(art40::EXECUTION_AND_STATUS),
    ),
    t(
        &[
            Accepted,
            AcceptedWithConditions,
            PartiallyExecuted,
            Executed,
        ],
        Expired,
        System,
        A::Preservation,
        N::Nothing,
        Some(art42::MINIMUM_PERIOD),
    ),
    t(
        &[Executed, Refused, NoLongerNeeded, Withdrawn, Expired],
        Closed,
        Requesting,
        A::All,
        N::Nothing,
        None,
    ),
    t(
        &[Acknowledged],
        Closed,
        Requesting,
        A::Spontaneous,
        N::Nothing,
        None,
    ),
];

/// The moves `side` may make on a request of type `kind` in status `from`.
pub fn moves(
    from: Status,
    kind: RequestType,
    side: Side,
) -> impl Iterator<Item = &'static Transition> {
    TRANSITIONS
        .iter()
        .filter(move |t| t.by == side && t.applies.to(kind) && t.from.contains(&from))
}

/// The move from `from` to `to`, or the statuses `side` could move to instead.
pub fn find(
    from: Status,
    to: Status,
    kind: RequestType,
    side: Side,
) -> Result<&'static Transition, Vec<Status>> {
    moves(from, kind, side)
        .find(|t| t.to == to)
        .ok_or_else(|| moves(from, kind, side).map(|t| t.to).collect())
}

/// The way from `from` to `to` for the requested side, acknowledging first when the request
/// is only delivered (answering a request takes it up): one or two moves.
pub fn path_for_requested(
    from: Status,
    to: Status,
    kind: RequestType,
) -> Result<Vec<&'static Transition>, Vec<Status>> {
    match find(from, to, kind, Requested) {
        Ok(t) => Ok(vec![t]),
        Err(allowed) if from == Delivered => {
            let ack =
                find(Delivered, Acknowledged, kind, Requested).map_err(|_| allowed.clone())?;
            let then = find(Acknowledged, to, kind, Requested).map_err(|_| {
                let mut a = allowed.clone();
                a.extend(moves(Acknowledged, kind, Requested).map(|t| t.to));
                a
            })?;
            Ok(vec![ack, then])
        }
        Err(allowed) => Err(allowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn allowed(from: Status, to: Status, kind: RequestType, side: Side) -> bool {
        find(from, to, kind, side).is_ok()
    }

    /// The whole table, written out by hand as (from, to, side, types it applies to): the code's
    /// table must allow exactly these moves and no other.
    #[test]
    fn the_table_allows_exactly_the_lifecycle() {
        use RequestType as T;
        let answered: Vec<T> = T::ALL
            .into_iter()
            .filter(|t| *t != T::SpontaneousInformation)
            .collect();
        let consult: Vec<T> = vec![T::StoredData, T::RealtimeTraffic, T::Interception, T::Mla];
        let no_consult: Vec<T> = answered
            .iter()
            .copied()
            .filter(|t| !consult.contains(t))
            .collect();
        let all = T::ALL.to_vec();
        let pres = vec![T::Preservation];
        let spont = vec![T::SpontaneousInformation];
        let mut expected: BTreeSet<(&str, &str, &str, &str)> = BTreeSet::new();
        let mut add = |from: &[Status], to: Status, side: Side, kinds: &[T]| {
            for f in from {
                for k in kinds {
                    let side = match side {
                        Requesting => "requesting",
                        Requested => "requested",
                        System => "system",
                    };
                    expected.insert((f.as_str(), to.as_str(), side, k.as_str()));
                }
            }
        };
        add(&[Draft], AwaitingApproval, Requesting, &all);
        add(&[Draft], Queued, Requesting, &all);
        add(&[AwaitingApproval], Queued, Requesting, &all);
        add(&[AwaitingApproval], Draft, Requesting, &all);
        add(&[Draft, AwaitingApproval], Withdrawn, Requesting, &all);
        add(&[Queued], Delivered, System, &all);
        add(&[Delivered], Acknowledged, Requested, &all);
        add(
            &[Acknowledged],
            MoreInformationRequested,
            Requested,
            &answered,
        );
        add(
            &[MoreInformationRequested],
            Acknowledged,
            Requesting,
            &answered,
        );
        add(&[Acknowledged], Consultation, Requested, &answered);
        add(
            &[Consultation, Postponed],
            Acknowledged,
            Requested,
            &answered,
        );
        // Art. 40 postponement is not for preservation or preserved traffic data (Art. 42(7) is).
        let postponable = |kinds: &[T]| -> Vec<T> {
            kinds
                .iter()
                .copied()
                .filter(|t| !matches!(t, T::Preservation | T::TrafficDisclosure))
                .collect()
        };
        add(
            &[Acknowledged],
            Postponed,
            Requested,
            &postponable(&no_consult),
        );
        add(
            &[Consultation],
            Postponed,
            Requested,
            &postponable(&answered),
        );
        add(
            &[Acknowledged, Consultation, Postponed],
            Accepted,
            Requested,
            &answered,
        );
        add(
            &[Acknowledged, Consultation],
            AcceptedWithConditions,
            Requested,
            &answered,
        );
        add(&[Acknowledged], Refused, Requested, &no_consult);
        add(&[Consultation, Postponed], Refused, Requested, &answered);
        add(
            &[Acknowledged, Accepted],
            InformedRequesterDecides,
            Requested,
            &pres,
        );
        add(&[InformedRequesterDecides], Acknowledged, Requesting, &pres);
        add(
            &[Accepted, AcceptedWithConditions],
            PartiallyExecuted,
            Requested,
            &answered,
        );
        add(
            &[Accepted, AcceptedWithConditions, PartiallyExecuted],
            Executed,
            Requested,
            &answered,
        );
        add(
            &[
                Queued,
                Delivered,
                Acknowledged,
                MoreInformationRequested,
                Consultation,
                InformedRequesterDecides,
            ],
            Withdrawn,
            Requesting,
            &all,
        );
        add(
            &[
                Postponed,
                Accepted,
                AcceptedWithConditions,
                PartiallyExecuted,
            ],
            NoLongerNeeded,
            Requesting,
            &answered,
        );
        // An executed preservation stays in force until its period ends (Art. 42).
        add(
            &[
                Accepted,
                AcceptedWithConditions,
                PartiallyExecuted,
                Executed,
            ],
            Expired,
            System,
            &pres,
        );
        add(
            &[Executed, Refused, NoLongerNeeded, Withdrawn, Expired],
            Closed,
            Requesting,
            &all,
        );
        add(&[Acknowledged], Closed, Requesting, &spont);

        let mut actual = BTreeSet::new();
        for from in Status::ALL {
            for to in Status::ALL {
                for side in [Requesting, Requested, System] {
                    for k in T::ALL {
                        if allowed(from, to, k, side) {
                            let s = match side {
                                Requesting => "requesting",
                                Requested => "requested",
                                System => "system",
                            };
                            actual.insert((from.as_str(), to.as_str(), s, k.as_str()));
                        }
                    }
                }
            }
        }
        let missing: Vec<_> = expected.difference(&actual).collect();
        let extra: Vec<_> = actual.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?}\nextra {extra:?}"
        );
    }

    #[test]
    fn forbidden_moves_name_the_allowed_ones() {
        let p = RequestType::Preservation;
        // An MLA request is not refused without consultation first (Art. 40).
        let err = find(Acknowledged, Refused, RequestType::Mla, Requested).unwrap_err();
        assert!(!err.contains(&Refused));
        assert!(err.contains(&Consultation) && err.contains(&Accepted));
        // A preservation may be refused at once.
        assert!(allowed(Acknowledged, Refused, p, Requested));
        // Only the requested side decides; only the requesting side withdraws.
        assert!(!allowed(Acknowledged, Accepted, p, Requesting));
        assert!(!allowed(Acknowledged, Withdrawn, p, Requested));
        // Terminal statuses lead only to closed.
        for s in [Executed, Refused, NoLongerNeeded, Withdrawn, Expired] {
            let next: Vec<Status> = Status::ALL
                .into_iter()
                .filter(|to| allowed(s, *to, p, Requesting) || allowed(s, *to, p, Requested))
                .collect();
            assert_eq!(next, vec![Closed], "{s:?}");
        }
        // Nothing leaves closed.
        for to in Status::ALL {
            for side in [Requesting, Requested, System] {
                assert!(!allowed(Closed, to, p, side));
            }
        }
        // Art. 42(7) is for preservation only; spontaneous information is never accepted.
        assert!(!allowed(
            Acknowledged,
            InformedRequesterDecides,
            RequestType::Mla,
            Requested
        ));
        assert!(!allowed(
            Acknowledged,
            Accepted,
            RequestType::SpontaneousInformation,
            Requested
        ));
        // Approval needs a supervisor.
        assert_eq!(
            find(AwaitingApproval, Queued, p, Requesting).unwrap().needs,
            Needs::Approval
        );
    }

    #[test]
    fn answering_a_delivered_request_acknowledges_it_first() {
        let p = RequestType::Preservation;
        let path = path_for_requested(Delivered, Accepted, p).unwrap();
        assert_eq!(
            path.iter().map(|t| t.to).collect::<Vec<_>>(),
            [Acknowledged, Accepted]
        );
        assert_eq!(
            path_for_requested(Delivered, Acknowledged, p)
                .unwrap()
                .len(),
            1
        );
        let err = path_for_requested(Delivered, Refused, RequestType::Mla).unwrap_err();
        assert!(
            err.contains(&Acknowledged) && err.contains(&Consultation),
            "{err:?}"
        );
        assert!(path_for_requested(Executed, Accepted, p).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("maybe"), None);
    }
}
