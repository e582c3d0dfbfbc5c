//! Cooperation requests: the types a user can send, the validation of a new request's body, the
//! response a requested State gives, and the statuses a request moves through.
//!
//! Validation reports every problem at once, one [`FieldError`] per field, each naming the
//! Convention paragraph that makes the field necessary.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalogue::{ArticleRef, art40, art42};
use crate::ids::NodeId;

/// Longest accepted free-text field, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest accepted short field (authority names, node ids), in characters.
pub const MAX_SHORT_CHARS: usize = 500;

/// The kinds of cooperation request this node can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    /// Expedited preservation of stored electronic data (Art. 42).
    Preservation,
}

impl RequestType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preservation => "preservation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "preservation" => Some(Self::Preservation),
            _ => None,
        }
    }
}

/// Which side of a request this node is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// This node sent the request (it is the requesting side).
    Outgoing,
    /// This node received the request (it is the requested side).
    Incoming,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outgoing => "outgoing",
            Self::Incoming => "incoming",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "outgoing" => Some(Self::Outgoing),
            "incoming" => Some(Self::Incoming),
            _ => None,
        }
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Committed to the requesting node's outbox, not yet acknowledged by the peer.
    Queued,
    /// The requested node stored it and returned a signed receipt.
    Delivered,
    /// The requested State accepted it.
    Accepted,
    /// The requested State refused it, with grounds.
    Refused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Accepted => "accepted",
            Self::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "delivered" => Some(Self::Delivered),
            "accepted" => Some(Self::Accepted),
            "refused" => Some(Self::Refused),
            _ => None,
        }
    }

    /// Whether the requested State may still answer a request in this status.
    pub fn awaits_decision(self) -> bool {
        matches!(self, Self::Queued | Self::Delivered)
    }
}

/// One problem with one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    /// Stable machine-readable code: `missing`, `empty`, `invalid`, `too_long`, `unknown_field`,
    /// `not_a_ground`.
    pub code: String,
    pub message: String,
    /// The Convention paragraph that requires the field, e.g. `Art. 42(2)(a)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
}

impl FieldError {
    fn new(field: &str, code: &str, message: String, article: Option<ArticleRef>) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            message,
            article: article.map(|a| a.to_string()),
        }
    }
}

/// The contents of an Art. 42 preservation request, as validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreservationFields {
    /// (a) the authority seeking preservation.
    pub requesting_authority: String,
    /// (b) the offence under investigation.
    pub offence: String,
    /// (b) a brief summary of the facts.
    pub summary_of_facts: String,
    /// (c) the stored data to preserve.
    pub data_to_preserve: String,
    /// (c) the data's relationship to the offence.
    pub relationship_to_offence: String,
    /// (d) what is known of the custodian or the system's location; "unknown" must be said.
    pub custodian_or_location: String,
    /// (e) why preservation is necessary.
    pub necessity: String,
    /// (f) the requesting State will follow up with an MLA request.
    pub mla_request_to_follow: bool,
    /// (g) keep the request confidential and do not notify the user.
    pub confidential: bool,
}

/// A text field of a preservation request: its name, the paragraph requiring it, its limit.
struct TextField {
    name: &'static str,
    article: ArticleRef,
    max_chars: usize,
    what: &'static str,
}

const PRESERVATION_TEXT_FIELDS: [TextField; 7] = [
    TextField {
        name: "requesting_authority",
        article: art42::AUTHORITY,
        max_chars: MAX_SHORT_CHARS,
        what: "the authority seeking preservation",
    },
    TextField {
        name: "offence",
        article: art42::OFFENCE_AND_FACTS,
        max_chars: MAX_TEXT_CHARS,
        what: "the offence that is the subject of the investigation or proceedings",
    },
    TextField {
        name: "summary_of_facts",
        article: art42::OFFENCE_AND_FACTS,
        max_chars: MAX_TEXT_CHARS,
        what: "a brief summary of the related facts",
    },
    TextField {
        name: "data_to_preserve",
        article: art42::DATA_AND_RELATIONSHIP,
        max_chars: MAX_TEXT_CHARS,
        what: "the stored electronic data to be preserved",
    },
    TextField {
        name: "relationship_to_offence",
        article: art42::DATA_AND_RELATIONSHIP,
        max_chars: MAX_TEXT_CHARS,
        what: "the data's relationship to the offence",
    },
    TextField {
        name: "custodian_or_location",
        article: art42::CUSTODIAN_OR_LOCATION,
        max_chars: MAX_TEXT_CHARS,
        what: "what is known of the custodian of the data or the location of the system (write \"unknown\" if nothing is known)",
    },
    TextField {
        name: "necessity",
        article: art42::NECESSITY,
        max_chars: MAX_TEXT_CHARS,
        what: "the necessity of the preservation",
    },
];

/// Field names a new-request body may carry besides the type's own fields.
const ENVELOPE_FIELDS: [&str; 2] = ["type", "to"];
const PRESERVATION_FLAG_FIELDS: [&str; 2] = ["mla_request_to_follow", "confidential"];

/// A new request as the API accepts it, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub to: NodeId,
    pub fields: PreservationFields,
}

impl NewRequest {
    pub fn request_type(&self) -> RequestType {
        RequestType::Preservation
    }
}

/// Validates a new request's JSON body. Returns every problem found, not just the first.
pub fn validate_new_request(body: &Value) -> Result<NewRequest, Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "invalid",
            "the request body must be a JSON object".into(),
            None,
        )]);
    };
    let mut errors = Vec::new();

    let kind = match obj.get("type") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "type",
                "missing",
                "the request type is required (one of: preservation)".into(),
                None,
            ));
            None
        }
        Some(Value::String(s)) => match RequestType::parse(s) {
            Some(t) => Some(t),
            None => {
                errors.push(FieldError::new(
                    "type",
                    "invalid",
                    format!("unknown request type {s:?} (one of: preservation)"),
                    None,
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "type",
                "invalid",
                "the request type must be a string (one of: preservation)".into(),
                None,
            ));
            None
        }
    };

    let to = match obj.get("to") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "to",
                "missing",
                "the requested node is required, e.g. \"FRA/247\"".into(),
                Some(crate::catalogue::art41::POINT_OF_CONTACT),
            ));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.push(FieldError::new(
                "to",
                "empty",
                "the requested node must not be empty".into(),
                None,
            ));
            None
        }
        Some(Value::String(s)) => match s.parse::<NodeId>() {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push(FieldError::new("to", "invalid", e.to_string(), None));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "to",
                "invalid",
                "the requested node must be a string such as \"FRA/247\"".into(),
                None,
            ));
            None
        }
    };

    // Only preservation exists today; an unknown type already produced an error above, and the
    // type's own fields are still checked so the user sees every problem in one answer.
    let fields = validate_preservation(obj, &mut errors);

    for key in obj.keys() {
        let known = ENVELOPE_FIELDS.contains(&key.as_str())
            || PRESERVATION_FLAG_FIELDS.contains(&key.as_str())
            || PRESERVATION_TEXT_FIELDS.iter().any(|f| f.name == key);
        if !known {
            errors.push(FieldError::new(
                key,
                "unknown_field",
                format!("{key:?} is not a field of a preservation request"),
                None,
            ));
        }
    }

    match (kind, to, fields) {
        (Some(RequestType::Preservation), Some(to), Some(fields)) if errors.is_empty() => {
            Ok(NewRequest { to, fields })
        }
        _ => Err(errors),
    }
}

fn validate_preservation(
    obj: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<PreservationFields> {
    let before = errors.len();
    let mut texts: Vec<String> = Vec::with_capacity(PRESERVATION_TEXT_FIELDS.len());
    for f in &PRESERVATION_TEXT_FIELDS {
        match obj.get(f.name) {
            None | Some(Value::Null) => errors.push(FieldError::new(
                f.name,
                "missing",
                format!("{} is required: {}", f.name, f.what),
                Some(f.article),
            )),
            Some(Value::String(s)) if s.trim().is_empty() => errors.push(FieldError::new(
                f.name,
                "empty",
                format!("{} must not be empty: {}", f.name, f.what),
                Some(f.article),
            )),
            Some(Value::String(s)) if s.chars().count() > f.max_chars => {
                errors.push(FieldError::new(
                    f.name,
                    "too_long",
                    format!("{} is longer than {} characters", f.name, f.max_chars),
                    Some(f.article),
                ))
            }
            Some(Value::String(s)) => texts.push(s.trim().to_owned()),
            Some(_) => errors.push(FieldError::new(
                f.name,
                "invalid",
                format!("{} must be a string: {}", f.name, f.what),
                Some(f.article),
            )),
        }
    }

    let mla = match obj.get("mla_request_to_follow") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "mla_request_to_follow",
                "missing",
                "mla_request_to_follow is required: state that a request for mutual legal assistance for the search, seizure or disclosure of the data will follow".into(),
                Some(art42::MLA_TO_FOLLOW),
            ));
            None
        }
        Some(Value::Bool(true)) => Some(true),
        Some(Value::Bool(false)) => {
            errors.push(FieldError::new(
                "mla_request_to_follow",
                "invalid",
                "a preservation request must state that a request for mutual legal assistance will follow; without one, preservation has no purpose under Art. 42".into(),
                Some(art42::MLA_TO_FOLLOW),
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "mla_request_to_follow",
                "invalid",
                "mla_request_to_follow must be true or false".into(),
                Some(art42::MLA_TO_FOLLOW),
            ));
            None
        }
    };

    let confidential = match obj.get("confidential") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new(
                "confidential",
                "invalid",
                "confidential must be true or false".into(),
                Some(art42::CONFIDENTIALITY),
            ));
            false
        }
    };

    if errors.len() != before {
        return None;
    }
    let mut it = texts.into_iter();
    Some(PreservationFields {
        requesting_authority: it.next()?,
        offence: it.next()?,
        summary_of_facts: it.next()?,
        data_to_preserve: it.next()?,
        relationship_to_offence: it.next()?,
        custodian_or_location: it.next()?,
        necessity: it.next()?,
        mla_request_to_follow: mla?,
        confidential,
    })
}

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
}

impl RefusalGround {
    pub const ALL: [Self; 6] = [
        Self::NotInConformity,
        Self::EssentialInterests,
        Self::DomesticLawProhibits,
        Self::ContraryToLegalSystem,
        Self::Discrimination,
        Self::DualCriminalityReservation,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NotInConformity => "not_in_conformity",
            Self::EssentialInterests => "essential_interests",
            Self::DomesticLawProhibits => "domestic_law_prohibits",
            Self::ContraryToLegalSystem => "contrary_to_legal_system",
            Self::Discrimination => "discrimination",
            Self::DualCriminalityReservation => "dual_criminality_reservation",
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
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.code() == s)
    }

    /// Whether the ground may be cited against a preservation request (Art. 42: only
    /// 40(21)(b)-(d), 40(22), and 42(5) where the requested State made that reservation).
    pub fn allowed_for_preservation(self) -> bool {
        !matches!(self, Self::NotInConformity)
    }
}

/// What the requested State decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Refuse {
        grounds: Vec<RefusalGround>,
        explanation: String,
    },
}

impl Decision {
    pub fn status(&self) -> Status {
        match self {
            Self::Accept => Status::Accepted,
            Self::Refuse { .. } => Status::Refused,
        }
    }
}

/// Facts about the requested State that decide which refusal grounds it may cite.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestedStateFacts {
    /// The requested State made the Art. 42(5) dual-criminality reservation.
    pub has_dual_criminality_reservation: bool,
}

/// Validates a response body (`{"decision":"accept"}` or
/// `{"decision":"refuse","grounds":[...],"explanation":"..."}`) for a preservation request.
pub fn validate_decision(
    body: &Value,
    facts: RequestedStateFacts,
) -> Result<Decision, Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "invalid",
            "the response body must be a JSON object".into(),
            None,
        )]);
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        if !["decision", "grounds", "explanation"].contains(&key.as_str()) {
            errors.push(FieldError::new(
                key,
                "unknown_field",
                format!("{key:?} is not a field of a response"),
                None,
            ));
        }
    }
    let decision = match obj.get("decision").and_then(Value::as_str) {
        Some("accept") => {
            for extra in ["grounds", "explanation"] {
                if obj.get(extra).is_some_and(|v| !v.is_null()) {
                    errors.push(FieldError::new(
                        extra,
                        "invalid",
                        format!("{extra} belongs to a refusal, not to an acceptance"),
                        None,
                    ));
                }
            }
            Some(Decision::Accept)
        }
        Some("refuse") => refusal(obj, facts, &mut errors),
        Some(other) => {
            errors.push(FieldError::new(
                "decision",
                "invalid",
                format!("unknown decision {other:?} (one of: accept, refuse)"),
                None,
            ));
            None
        }
        None => {
            errors.push(FieldError::new(
                "decision",
                "missing",
                "decision is required (one of: accept, refuse)".into(),
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
    facts: RequestedStateFacts,
    errors: &mut Vec<FieldError>,
) -> Option<Decision> {
    let before = errors.len();
    let mut grounds = Vec::new();
    match obj.get("grounds") {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let field = format!("grounds[{i}]");
                let Some(code) = item.as_str() else {
                    errors.push(FieldError::new(
                        &field,
                        "invalid",
                        "a ground is a string code".into(),
                        None,
                    ));
                    continue;
                };
                match code {
                    "fiscal_matters" => errors.push(FieldError::new(
                        &field,
                        "not_a_ground",
                        "that the offence involves fiscal matters is not a ground for refusal".into(),
                        Some(art40::NOT_FISCAL),
                    )),
                    "bank_secrecy" => errors.push(FieldError::new(
                        &field,
                        "not_a_ground",
                        "bank secrecy is not a ground for refusal".into(),
                        Some(art40::NOT_BANK_SECRECY),
                    )),
                    _ => match RefusalGround::parse(code) {
                        None => errors.push(FieldError::new(
                            &field,
                            "invalid",
                            format!(
                                "unknown ground {code:?} (one of: {})",
                                RefusalGround::ALL.map(RefusalGround::code).join(", ")
                            ),
                            None,
                        )),
                        Some(g) if !g.allowed_for_preservation() => errors.push(FieldError::new(
                            &field,
                            "not_a_ground",
                            format!(
                                "{} ({}) is not a ground for refusing preservation; only Art. 40(21)(b)-(d), 40(22) and, with the reservation, 42(5) are",
                                g.code(),
                                g.article()
                            ),
                            Some(art42::REFUSAL_GROUNDS),
                        )),
                        Some(RefusalGround::DualCriminalityReservation)
                            if !facts.has_dual_criminality_reservation =>
                        {
                            errors.push(FieldError::new(
                                &field,
                                "not_a_ground",
                                "dual criminality may be cited only by a State that made the Art. 42(5) reservation, and this State did not".into(),
                                Some(art42::DUAL_CRIMINALITY_RESERVATION),
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
            "missing",
            "a refusal must cite at least one ground".into(),
            Some(art42::REFUSAL_GROUNDS),
        )),
        Some(_) => errors.push(FieldError::new(
            "grounds",
            "invalid",
            "grounds must be a list of ground codes".into(),
            Some(art42::REFUSAL_GROUNDS),
        )),
    }
    let explanation = match obj.get("explanation") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= MAX_TEXT_CHARS => {
            Some(s.trim().to_owned())
        }
        Some(Value::String(s)) if !s.trim().is_empty() => {
            errors.push(FieldError::new(
                "explanation",
                "too_long",
                format!("explanation is longer than {MAX_TEXT_CHARS} characters"),
                Some(art40::REASONS),
            ));
            None
        }
        _ => {
            errors.push(FieldError::new(
                "explanation",
                "missing",
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

/// The date until which accepted preserved data must be kept: at least 60 days after acceptance
/// (Art. 42).
pub fn preserved_until(accepted_at: Timestamp) -> Timestamp {
    let min = SignedDuration::from_hours(24 * art42::MINIMUM_PERIOD_DAYS);
    accepted_at.saturating_add(min).unwrap_or(accepted_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "type": "preservation",
            "to": "FRA/247",
            "requesting_authority": "Cybercrime Unit, Ministry of Public Security, Viet Nam",
            "offence": "ICT fraud (Art. 13)",
            "summary_of_facts": "Phishing campaign against bank customers.",
            "data_to_preserve": "Subscriber and login records of account x@example.fr",
            "relationship_to_offence": "The account registered the phishing domain.",
            "custodian_or_location": "Example Mail SAS, Paris",
            "necessity": "Logs are deleted after 30 days.",
            "mla_request_to_follow": true,
            "confidential": true
        })
    }

    #[test]
    fn a_complete_request_is_accepted() {
        let r = validate_new_request(&valid()).unwrap();
        assert_eq!(r.to.as_str(), "FRA/247");
        assert!(r.fields.confidential);
        assert_eq!(r.request_type(), RequestType::Preservation);
    }

    #[test]
    fn confidential_is_optional() {
        let mut v = valid();
        v.as_object_mut().unwrap().remove("confidential");
        assert!(!validate_new_request(&v).unwrap().fields.confidential);
    }

    #[test]
    fn each_missing_or_empty_field_is_named_with_its_paragraph() {
        let cases = [
            ("requesting_authority", "Art. 42(2)(a)"),
            ("offence", "Art. 42(2)(b)"),
            ("summary_of_facts", "Art. 42(2)(b)"),
            ("data_to_preserve", "Art. 42(2)(c)"),
            ("relationship_to_offence", "Art. 42(2)(c)"),
            ("custodian_or_location", "Art. 42(2)(d)"),
            ("necessity", "Art. 42(2)(e)"),
            ("mla_request_to_follow", "Art. 42(2)(f)"),
        ];
        for (field, article) in cases {
            let mut missing = valid();
            missing.as_object_mut().unwrap().remove(field);
            let errs = validate_new_request(&missing).unwrap_err();
            assert_eq!(errs.len(), 1, "{field}: {errs:?}");
            assert_eq!(errs[0].field, field);
            assert_eq!(errs[0].code, "missing");
            assert_eq!(errs[0].article.as_deref(), Some(article));

            if field != "mla_request_to_follow" {
                let mut empty = valid();
                empty[field] = json!("   ");
                let errs = validate_new_request(&empty).unwrap_err();
                assert_eq!(
                    (errs[0].field.as_str(), errs[0].code.as_str()),
                    (field, "empty")
                );
                let mut wrong = valid();
                wrong[field] = json!(42);
                let errs = validate_new_request(&wrong).unwrap_err();
                assert_eq!(
                    (errs[0].field.as_str(), errs[0].code.as_str()),
                    (field, "invalid")
                );
            }
        }
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let errs = validate_new_request(&json!({"type": "preservation"})).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields.len(), 9, "{fields:?}");
        assert!(fields.contains(&"to"));
        assert!(fields.contains(&"necessity"));
    }

    #[test]
    fn invalid_values_are_rejected() {
        for (field, value, code) in [
            ("type", json!("extradition"), "invalid"),
            ("type", json!(null), "missing"),
            ("to", json!("france"), "invalid"),
            ("to", json!(""), "empty"),
            ("mla_request_to_follow", json!(false), "invalid"),
            ("mla_request_to_follow", json!("yes"), "invalid"),
            ("confidential", json!("no"), "invalid"),
            ("offence", json!("x".repeat(MAX_TEXT_CHARS + 1)), "too_long"),
            (
                "requesting_authority",
                json!("x".repeat(MAX_SHORT_CHARS + 1)),
                "too_long",
            ),
            ("colour", json!("blue"), "unknown_field"),
        ] {
            let mut v = valid();
            v[field] = value;
            let errs = validate_new_request(&v).unwrap_err();
            assert!(
                errs.iter().any(|e| e.field == field && e.code == code),
                "{field}: {errs:?}"
            );
        }
        assert!(validate_new_request(&json!([1, 2])).is_err());
    }

    #[test]
    fn decisions() {
        let facts = RequestedStateFacts::default();
        assert_eq!(
            validate_decision(&json!({"decision": "accept"}), facts).unwrap(),
            Decision::Accept
        );
        let d = validate_decision(
            &json!({"decision": "refuse", "grounds": ["essential_interests", "discrimination"], "explanation": "x"}),
            facts,
        )
        .unwrap();
        assert_eq!(d.status(), Status::Refused);

        for (body, field, code) in [
            (
                json!({"decision": "refuse", "grounds": ["fiscal_matters"], "explanation": "x"}),
                "grounds[0]",
                "not_a_ground",
            ),
            (
                json!({"decision": "refuse", "grounds": ["bank_secrecy"], "explanation": "x"}),
                "grounds[0]",
                "not_a_ground",
            ),
            (
                json!({"decision": "refuse", "grounds": ["not_in_conformity"], "explanation": "x"}),
                "grounds[0]",
                "not_a_ground",
            ),
            (
                json!({"decision": "refuse", "grounds": ["dual_criminality_reservation"], "explanation": "x"}),
                "grounds[0]",
                "not_a_ground",
            ),
            (
                json!({"decision": "refuse", "grounds": ["whim"], "explanation": "x"}),
                "grounds[0]",
                "invalid",
            ),
            (
                json!({"decision": "refuse", "grounds": [], "explanation": "x"}),
                "grounds",
                "missing",
            ),
            (
                json!({"decision": "refuse", "grounds": ["essential_interests"]}),
                "explanation",
                "missing",
            ),
            (json!({"decision": "maybe"}), "decision", "invalid"),
            (json!({}), "decision", "missing"),
            (
                json!({"decision": "accept", "grounds": ["discrimination"]}),
                "grounds",
                "invalid",
            ),
        ] {
            let errs = validate_decision(&body, facts).unwrap_err();
            assert!(
                errs.iter().any(|e| e.field == field && e.code == code),
                "{body}: {errs:?}"
            );
        }

        let reserved = RequestedStateFacts {
            has_dual_criminality_reservation: true,
        };
        assert!(validate_decision(
            &json!({"decision": "refuse", "grounds": ["dual_criminality_reservation"], "explanation": "x"}),
            reserved
        )
        .is_ok());
    }

    #[test]
    fn preservation_lasts_at_least_sixty_days() {
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(preserved_until(t).to_string(), "2026-03-02T00:00:00Z");
    }

    #[test]
    fn codes_round_trip() {
        for s in [
            Status::Queued,
            Status::Delivered,
            Status::Accepted,
            Status::Refused,
        ] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for g in RefusalGround::ALL {
            assert_eq!(RefusalGround::parse(g.code()), Some(g));
        }
        assert_eq!(Direction::parse("incoming"), Some(Direction::Incoming));
        assert_eq!(
            RequestType::parse("preservation"),
            Some(RequestType::Preservation)
        );
    }
}
