//! What the requested State decides and how a request moves: refusal grounds and the articles
//! that allow them, decisions (accept, accept with conditions, refuse), the validation of a
//! move or a decision against the transition table and the requested State's declarations.
//! Re-exported by [`crate::request`].

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalogue::forms::RefusalRule;
use crate::catalogue::{ArticleRef, art36, art40, art41, art42, art43, art45, art46, art47, art48};

use crate::request::*;

/// A ground on which a requested State may refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalGround {
    NotInConformity,
    EssentialInterests,
    DomesticLawProhibits,
    ContraryToLegalSystem,
    Discrimination,
    DualCriminalityReservation,
    /// Art. 45 and 46 are endeavours: the measure may be declined where domestic law or
    /// applicable treaties do not permit it.
    NotPermittedDomestically,
    /// Art. 47, 48: cooperation is by agreement and consistent with domestic law; declined with
    /// reasons.
    CooperationDeclined,
    /// Art. 36(1)(a): the personal data cannot be transferred lawfully under the requested
    /// State's data-protection law.
    PersonalDataProtection,
    /// Absence of dual criminality, for mutual legal assistance, by a State that declared it
    /// requires it (never for preservation: Art. 42 has its own rule).
    DualCriminality,
}

impl RefusalGround {
    pub const ALL: [Self; 10] = [
        Self::NotInConformity,
        Self::EssentialInterests,
        Self::DomesticLawProhibits,
        Self::ContraryToLegalSystem,
        Self::Discrimination,
        Self::DualCriminalityReservation,
        Self::NotPermittedDomestically,
        Self::CooperationDeclined,
        Self::PersonalDataProtection,
        Self::DualCriminality,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NotInConformity => "not_in_conformity",
            Self::EssentialInterests => "essential_interests",
            Self::DomesticLawProhibits => "domestic_law_prohibits",
            Self::ContraryToLegalSystem => "contrary_to_legal_system",
            Self::Discrimination => "discrimination",
            Self::DualCriminalityReservation => "dual_criminality_reservation",
            Self::NotPermittedDomestically => "not_permitted_domestically",
            Self::CooperationDeclined => "cooperation_declined",
            Self::PersonalDataProtection => "personal_data_protection",
            Self::DualCriminality => "dual_criminality",
        }
    }

    pub fn article(self) -> ArticleRef {
        match self {
            Self::NotInConformity => art40::NOT_IN_CONFORMITY,
            Self::EssentialInterests => art40::ESSENTIAL_INTERESTS,
            Self::DomesticLawProhibits => art40::DOMESTIC_LAW_PROHIBITS,
            Self::ContraryToLegalSystem => art40::CONTRARY_TO_LEGAL_SYSTEM,
            Self::Discrimination => art40::DISCRIMINATION,
            Self::DualCriminalityReservation => art42::DUAL_CRIMINALITY_RESERVATION,
            Self::NotPermittedDomestically => art45::COLLECTION,
            Self::CooperationDeclined => art47::COOPERATION,
            Self::PersonalDataProtection => art36::NOT_REQUIRED_TO_TRANSFER,
            Self::DualCriminality => art40::DUAL_CRIMINALITY,
        }
    }

    /// The article a ground cites for a request of type `t` (where it depends on the type: an
    /// Art. 46 refusal cites Art. 46, a 24/7 measure Art. 41(3), joint investigations Art. 48).
    pub fn article_for(self, t: RequestType) -> ArticleRef {
        match (self, t) {
            (Self::NotPermittedDomestically, RequestType::Interception) => art46::INTERCEPTION,
            (Self::NotPermittedDomestically, _)
                if t.form().refusal == RefusalRule::PointOfContactGrounds =>
            {
                art41::MEASURES
            }
            (Self::CooperationDeclined, RequestType::JointInvestigation) => {
                art48::JOINT_INVESTIGATION
            }
            _ => self.article(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.code() == s)
    }

    /// What the ground means, in words (its articles from the catalogue).
    pub fn title(self) -> String {
        match self {
            Self::NotInConformity => format!(
                "The request is not made in conformity with {}",
                art40::GENERAL
            ),
            Self::EssentialInterests => "Execution is likely to prejudice sovereignty, security, ordre public or other essential interests".to_owned(),
            Self::DomesticLawProhibits => "Domestic law would prohibit the action for a similar offence under domestic investigation".to_owned(),
            Self::ContraryToLegalSystem => "Granting the request would be contrary to the legal system of the requested State".to_owned(),
            Self::Discrimination => "Substantial grounds to believe the request aims at or would prejudice a person on account of sex, race, language, religion, nationality, ethnic origin or political opinions".to_owned(),
            Self::DualCriminalityReservation => format!(
                "Dual criminality will not be met at the time of disclosure (only with the {} reservation, for offences other than the Convention's own)",
                art42::DUAL_CRIMINALITY_RESERVATION
            ),
            Self::NotPermittedDomestically => format!(
                "The measure is not permitted by the requested State's domestic law (and practice, {}) or applicable treaties ({} and {} are endeavours)",
                art41::MEASURES,
                art45::COLLECTION,
                art46::INTERCEPTION
            ),
            Self::CooperationDeclined => format!(
                "Cooperation under {} or {} is by agreement and consistent with domestic law: declined, with the reasons",
                art47::COOPERATION,
                art48::JOINT_INVESTIGATION
            ),
            Self::DualCriminality => format!(
                "The conduct is not an offence under the requested State's law, which requires dual criminality for mutual legal assistance ({})",
                art40::DUAL_CRIMINALITY
            ),
            Self::PersonalDataProtection => format!(
                "The personal data asked for cannot be transferred lawfully under the requested State's laws on the protection of personal data ({})",
                art36::NOT_REQUIRED_TO_TRANSFER
            ),
        }
    }

    /// Whether the ground may be cited under a type's refusal rule. `reserved` says whether the
    /// requested State made the Art. 42(5) reservation.
    pub fn allowed_under(self, rule: RefusalRule, reserved: bool) -> bool {
        use RefusalGround::*;
        match rule {
            RefusalRule::PreservationGrounds | RefusalRule::TrafficDisclosureGrounds => {
                match self {
                    EssentialInterests
                    | DomesticLawProhibits
                    | ContraryToLegalSystem
                    | Discrimination => true,
                    DualCriminalityReservation => {
                        reserved && rule == RefusalRule::PreservationGrounds
                    }
                    NotInConformity
                    | NotPermittedDomestically
                    | CooperationDeclined
                    | DualCriminality => false,
                    // Preservation transfers nothing; the disclosure of traffic data does.
                    PersonalDataProtection => rule == RefusalRule::TrafficDisclosureGrounds,
                }
            }
            RefusalRule::MlaGrounds => !matches!(
                self,
                DualCriminalityReservation | NotPermittedDomestically | CooperationDeclined
            ),
            RefusalRule::PointOfContactGrounds => !matches!(
                self,
                DualCriminalityReservation | CooperationDeclined | DualCriminality
            ),
            RefusalRule::EndeavourGrounds => {
                !matches!(self, DualCriminalityReservation | CooperationDeclined)
            }
            RefusalRule::CooperationGrounds => self == CooperationDeclined,
            RefusalRule::NotApplicable => false,
        }
    }

    /// The grounds a type allows, for the catalogue and error messages.
    pub fn allowed_codes(rule: RefusalRule, reserved: bool) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|g| g.allowed_under(rule, reserved))
            .map(Self::code)
            .collect()
    }
}

/// What the requested State decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Accept,
    /// Accepted subject to conditions the requesting State must comply with (Art. 40).
    AcceptWithConditions {
        conditions: String,
    },
    Refuse {
        grounds: Vec<RefusalGround>,
        explanation: String,
    },
}

impl Decision {
    pub fn status(&self) -> Status {
        match self {
            Self::Accept => Status::Accepted,
            Self::AcceptWithConditions { .. } => Status::AcceptedWithConditions,
            Self::Refuse { .. } => Status::Refused,
        }
    }
}

/// An acceptance with conditions: `conditions` must say them (Art. 40).
fn conditional(obj: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Decision> {
    match long_text(
        obj.get("conditions"),
        "conditions",
        Some(art40::CONSULTATION),
    ) {
        Ok(Some(conditions)) => Some(Decision::AcceptWithConditions { conditions }),
        Err(e) if e.code != FieldCode::Invalid => {
            errors.push(e);
            None
        }
        _ => {
            errors.push(FieldError::new(
                "conditions",
                FieldCode::Missing,
                "conditions is required: the conditions subject to which assistance is given"
                    .into(),
                Some(art40::CONSULTATION),
            ));
            None
        }
    }
}

/// A move a user asks for (`POST /api/v1/requests/{id}/transitions`), as validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub to: Status,
    pub note: Option<String>,
    /// For `accepted`, `accepted_with_conditions` and `refused`: the decision it records.
    pub decision: Option<Decision>,
}

/// Validates a move body: `{"status": "...", "note": "..."}`, plus `grounds` and `explanation`
/// for `refused` and `conditions` for `accepted_with_conditions`.
pub fn validate_move(
    body: &Value,
    kind: RequestType,
    facts: RequestedStateFacts,
) -> Result<Move, Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            FieldCode::Invalid,
            "the body must be a JSON object".into(),
            None,
        )]);
    };
    let mut errors = Vec::new();
    let statuses = Status::ALL.map(Status::as_str).join(", ");
    let to = match obj.get("status") {
        Some(Value::String(s)) => Status::parse(s).or_else(|| {
            errors.push(FieldError::new(
                "status",
                FieldCode::Invalid,
                format!("unknown status {s:?} (one of: {statuses})"),
                None,
            ));
            None
        }),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "status",
                FieldCode::Missing,
                format!(
                    "status is required: the status to move the request to (one of: {statuses})"
                ),
                None,
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "status",
                FieldCode::Invalid,
                "status must be a string".into(),
                None,
            ));
            None
        }
    };
    let note = match long_text(obj.get("note"), "note", None) {
        Ok(n) => n,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let decision_keys = ["grounds", "explanation", "conditions"];
    for key in obj.keys() {
        if key != "status" && key != "note" && !decision_keys.contains(&key.as_str()) {
            errors.push(FieldError::new(
                key,
                FieldCode::UnknownField,
                format!("{key:?} is not a field of a status change (status, note, grounds, explanation, conditions)"),
                None,
            ));
        }
    }
    let decision = match to {
        Some(Status::Refused) => refusal(obj, kind, facts, &mut errors),
        Some(Status::AcceptedWithConditions) => conditional(obj, &mut errors),
        Some(Status::Accepted) => Some(Decision::Accept),
        _ => None,
    };
    if !matches!(
        to,
        Some(Status::Refused) | Some(Status::AcceptedWithConditions)
    ) {
        for key in decision_keys {
            if obj.get(key).is_some_and(|v| !v.is_null()) {
                errors.push(FieldError::new(
                    key,
                    FieldCode::NotAllowed,
                    format!("{key} belongs to a refusal or a conditional acceptance"),
                    None,
                ));
            }
        }
    }
    match to {
        Some(to) if errors.is_empty() => Ok(Move { to, note, decision }),
        _ => Err(errors),
    }
}

/// Facts about the requested State, and the request, that decide which refusal grounds it may
/// cite.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestedStateFacts {
    /// The requested State made the Art. 42(5) dual-criminality reservation.
    pub has_dual_criminality_reservation: bool,
    /// The request concerns an offence other than those established in accordance with the
    /// Convention (Arts. 7-17): `serious_crime`. The Art. 42(5) reservation covers only these.
    pub offence_outside_convention: bool,
    /// The requested State declared that it requires dual criminality for mutual legal
    /// assistance.
    pub requires_dual_criminality: bool,
}

impl RequestedStateFacts {
    /// Whether the Art. 42(5) reservation may be cited against this request.
    pub fn reservation_applies(self) -> bool {
        self.has_dual_criminality_reservation && self.offence_outside_convention
    }
}

/// Validates a response body (`{"decision":"accept"}` or
/// `{"decision":"refuse","grounds":[...],"explanation":"..."}`) for a request of `kind`.
pub fn validate_decision(
    body: &Value,
    kind: RequestType,
    facts: RequestedStateFacts,
) -> Result<Decision, Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            FieldCode::Invalid,
            "the response body must be a JSON object".into(),
            None,
        )]);
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        if !["decision", "grounds", "explanation", "conditions"].contains(&key.as_str()) {
            errors.push(FieldError::new(
                key,
                FieldCode::UnknownField,
                format!("{key:?} is not a field of a response"),
                None,
            ));
        }
    }
    let decision = match obj.get("decision").and_then(Value::as_str) {
        Some("accept") => {
            for extra in ["grounds", "explanation", "conditions"] {
                if obj.get(extra).is_some_and(|v| !v.is_null()) {
                    errors.push(FieldError::new(
                        extra,
                        FieldCode::Invalid,
                        format!("{extra} belongs to a refusal, not to an acceptance"),
                        None,
                    ));
                }
            }
            Some(Decision::Accept)
        }
        Some("refuse") => refusal(obj, kind, facts, &mut errors),
        Some("accept_with_conditions") => conditional(obj, &mut errors),
        Some(other) => {
            errors.push(FieldError::new(
                "decision",
                FieldCode::Invalid,
                format!(
                    "unknown decision {other:?} (one of: accept, accept_with_conditions, refuse)"
                ),
                None,
            ));
            None
        }
        None => {
            errors.push(FieldError::new(
                "decision",
                FieldCode::Missing,
                "decision is required (one of: accept, accept_with_conditions, refuse)".into(),
                None,
            ));
            None
        }
    };
    match decision {
        Some(d) if errors.is_empty() => Ok(d),
        _ => Err(errors),
    }
}

fn refusal(
    obj: &Map<String, Value>,
    kind: RequestType,
    facts: RequestedStateFacts,
    errors: &mut Vec<FieldError>,
) -> Option<Decision> {
    let before = errors.len();
    let rule = kind.form().refusal;
    let rule_article = match rule {
        RefusalRule::TrafficDisclosureGrounds => art43::REFUSAL_GROUNDS,
        RefusalRule::PreservationGrounds => art42::REFUSAL_GROUNDS,
        RefusalRule::PointOfContactGrounds => art41::MEASURES,
        RefusalRule::CooperationGrounds if kind == RequestType::JointInvestigation => {
            art48::JOINT_INVESTIGATION
        }
        RefusalRule::CooperationGrounds => art47::COOPERATION,
        RefusalRule::EndeavourGrounds if kind == RequestType::Interception => art46::INTERCEPTION,
        RefusalRule::EndeavourGrounds => art45::COLLECTION,
        _ => art40::NOT_IN_CONFORMITY,
    };
    if rule == RefusalRule::NotApplicable {
        errors.push(FieldError::new(
            "decision",
            FieldCode::Invalid,
            format!("a {} is not a request and is not refused", kind.as_str()),
            None,
        ));
        return None;
    }
    let mut grounds = Vec::new();
    match obj.get("grounds") {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let field = format!("grounds[{i}]");
                let Some(code) = item.as_str() else {
                    errors.push(FieldError::new(
                        &field,
                        FieldCode::Invalid,
                        "a ground is a string code".into(),
                        None,
                    ));
                    continue;
                };
                match code {
                    "fiscal_matters" => errors.push(FieldError::new(
                        &field,
                        FieldCode::NotAGround,
                        "that the offence involves fiscal matters is not a ground for refusal".into(),
                        Some(art40::NOT_FISCAL),
                    )),
                    "bank_secrecy" => errors.push(FieldError::new(
                        &field,
                        FieldCode::NotAGround,
                        "bank secrecy is not a ground for refusal".into(),
                        Some(art40::NOT_BANK_SECRECY),
                    )),
                    _ => match RefusalGround::parse(code) {
                        None => errors.push(FieldError::new(
                            &field,
                            FieldCode::Invalid,
                            format!(
                                "unknown ground {code:?} (one of: {})",
                                RefusalGround::ALL.map(RefusalGround::code).join(", ")
                            ),
                            None,
                        )),
                        Some(RefusalGround::DualCriminalityReservation)
                            if rule == RefusalRule::PreservationGrounds
                                && !facts.has_dual_criminality_reservation =>
                        {
                            errors.push(FieldError::new(
                                &field,
                                FieldCode::NotAGround,
                                format!(
                                    "dual criminality may be cited only by a State that made the {} reservation, and this State did not",
                                    art42::DUAL_CRIMINALITY_RESERVATION
                                ),
                                Some(art42::DUAL_CRIMINALITY_RESERVATION),
                            ))
                        }
                        Some(RefusalGround::DualCriminalityReservation)
                            if rule == RefusalRule::PreservationGrounds
                                && !facts.offence_outside_convention =>
                        {
                            errors.push(FieldError::new(
                                &field,
                                FieldCode::NotAGround,
                                format!(
                                    "the {} reservation covers only offences other than those established in accordance with the Convention; this request concerns one of the Convention's offences ({}), so dual criminality is no ground to refuse preserving the data",
                                    art42::DUAL_CRIMINALITY_RESERVATION,
                                    crate::catalogue::offences::range()
                                ),
                                Some(art42::DUAL_CRIMINALITY_RESERVATION),
                            ))
                        }
                        Some(RefusalGround::DualCriminality)
                            if RefusalGround::DualCriminality.allowed_under(rule, false)
                                && !facts.requires_dual_criminality =>
                        {
                            errors.push(FieldError::new(
                                &field,
                                FieldCode::NotAGround,
                                format!(
                                    "absence of dual criminality may be cited only by a State that declared it requires dual criminality for mutual legal assistance ({}), and this State did not",
                                    art40::DUAL_CRIMINALITY
                                ),
                                Some(art40::DUAL_CRIMINALITY),
                            ))
                        }
                        Some(g) if !g.allowed_under(rule, facts.reservation_applies()) => {
                            errors.push(FieldError::new(
                                &field,
                                FieldCode::NotAGround,
                                format!(
                                    "{} ({}) is not a ground for refusing a {} request; allowed: {}",
                                    g.code(),
                                    g.article_for(kind),
                                    kind.as_str(),
                                    RefusalGround::allowed_codes(rule, facts.reservation_applies()).join(", ")
                                ),
                                Some(rule_article),
                            ))
                        }
                        Some(g) if grounds.contains(&g) => {}
                        Some(g) => grounds.push(g),
                    },
                }
            }
        }
        Some(Value::Array(_)) | None | Some(Value::Null) => errors.push(FieldError::new(
            "grounds",
            FieldCode::Missing,
            "a refusal must cite at least one ground".into(),
            Some(rule_article),
        )),
        Some(_) => errors.push(FieldError::new(
            "grounds",
            FieldCode::Invalid,
            "grounds must be a list of ground codes".into(),
            Some(rule_article),
        )),
    }
    let explanation = match long_text(obj.get("explanation"), "explanation", Some(art40::REASONS)) {
        Ok(Some(e)) => Some(e),
        Err(e) if e.code != FieldCode::Invalid => {
            errors.push(e);
            None
        }
        _ => {
            errors.push(FieldError::new(
                "explanation",
                FieldCode::Missing,
                "reasons must be given for any refusal".into(),
                Some(art40::REASONS),
            ));
            None
        }
    };
    if errors.len() != before {
        return None;
    }
    Some(Decision::Refuse {
        grounds,
        explanation: explanation?,
    })
}

/// The date until which accepted preserved data must be kept: acceptance plus the longer of 60
/// days and the period the requesting State asked for (Art. 42).
pub fn preserved_until(accepted_at: Timestamp, requested_days: Option<i64>) -> Timestamp {
    let days = requested_days.unwrap_or(0).max(art42::MINIMUM_PERIOD_DAYS);
    accepted_at
        .saturating_add(SignedDuration::from_hours(24 * days))
        .unwrap_or(accepted_at)
}
