//! Cooperation requests: the types a user can send, the validation of a new request's body, the
//! response a requested State gives, and the statuses a request moves through.
//!
//! Validation reports every problem at once, one [`FieldError`] per field, each naming the
//! Convention paragraph that makes the field necessary.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalogue::forms::{COMMON_FIELDS, FieldKind, FieldSpec, Presence};
use crate::catalogue::{ArticleRef, art2, art43, art44};
use crate::ids::NodeId;

pub use crate::catalogue::forms::{MAX_SHORT_CHARS, MAX_TEXT_CHARS, RequestType};
pub use crate::decision::*;

crate::names! {
    /// Which side of a request this node is on.
    pub enum Direction {
        /// This node sent the request (it is the requesting side).
        Outgoing => "outgoing",
        /// This node received the request (it is the requested side).
        Incoming => "incoming",
    }
}

crate::names! {
    /// Which way a message or a data transfer went, seen from this node.
    pub enum Flow {
        /// This node sent it.
        Sent => "sent",
        /// This node received it.
        Received => "received",
    }
}

crate::names! {
    /// The stable machine-readable code of a [`FieldError`].
    pub enum FieldCode {
        Missing => "missing",
        Empty => "empty",
        Invalid => "invalid",
        TooLong => "too_long",
        UnknownField => "unknown_field",
        NotAGround => "not_a_ground",
        NotAllowed => "not_allowed",
        ConventionNotInForce => "convention_not_in_force",
        UnknownNode => "unknown_node",
        SameState => "same_state",
        UnknownRequest => "unknown_request",
        /// A number outside its allowed range.
        OutOfRange => "out_of_range",
        /// Text with a control character other than tab and line breaks.
        ControlCharacter => "control_character",
        /// Text with a bidirectional-override control (Trojan Source).
        BidiControl => "bidi_control",
    }
}

pub use crate::lifecycle::Status;

/// One problem with one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    /// Stable machine-readable code.
    pub code: FieldCode,
    pub message: String,
    /// The Convention paragraph that requires the field, e.g. `Art. 42(2)(a)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// True where that paragraph number is not yet confirmed against the adopted text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub article_approximate: bool,
    /// For `convention_not_in_force`: the first day a request under the Convention would be
    /// possible (YYYY-MM-DD), when one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_from: Option<String>,
}

impl FieldError {
    pub fn new(field: &str, code: FieldCode, message: String, article: Option<ArticleRef>) -> Self {
        Self {
            field: field.to_owned(),
            code,
            message,
            article: article.map(|a| a.to_string()),
            article_approximate: article.is_some_and(|a| a.approximate),
            possible_from: None,
        }
    }
}

/// How urgent a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    Urgent,
    /// A significant and imminent risk to the life or safety of a natural person (Art. 2).
    Emergency,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Urgent => "urgent",
            Self::Emergency => "emergency",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "normal" => Some(Self::Normal),
            "urgent" => Some(Self::Urgent),
            "emergency" => Some(Self::Emergency),
            _ => None,
        }
    }
}

/// A new request as the API accepts it, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    pub to: NodeId,
    pub request_type: RequestType,
    /// Every field of the request but `type` and `to`: strings trimmed, flags and defaults
    /// (`urgency`, `legal_basis`) filled in.
    pub fields: Map<String, Value>,
    /// What the node acts on, read from those fields once, when they were validated.
    pub facts: RequestFacts,
}

/// The facts of a request that the node acts on, read from its validated fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    pub offence_category: String,
    pub legal_basis: String,
    pub urgency: Urgency,
    pub language: String,
    pub time_limit: Option<jiff::civil::Date>,
    pub follows_request: Option<crate::RequestId>,
    /// Preservation only: the period asked for, in days.
    pub requested_period_days: Option<i64>,
}

impl RequestFacts {
    /// Reads the facts from validated fields (a stored request's, or while validating a new
    /// one); `None` if they do not hold them.
    pub fn of(fields: &Map<String, Value>) -> Option<Self> {
        let s = |k: &str| fields.get(k).and_then(Value::as_str);
        Some(Self {
            offence_category: s("offence_category")?.to_owned(),
            legal_basis: s("legal_basis").unwrap_or("convention").to_owned(),
            urgency: Urgency::parse(s("urgency").unwrap_or("normal"))?,
            language: s("language")?.to_owned(),
            time_limit: s("time_limit").and_then(|d| d.parse().ok()),
            follows_request: s("follows_request").and_then(|r| r.parse().ok()),
            requested_period_days: fields.get("requested_period_days").and_then(Value::as_i64),
        })
    }

    /// Whether the request rests on the Convention (and so needs it in force for both States).
    pub fn under_convention(&self) -> bool {
        self.legal_basis == "convention"
    }
}

/// Validates a new request's JSON body. Returns every problem found, not just the first.
pub fn validate_new_request(body: &Value) -> Result<NewRequest, Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            FieldCode::Invalid,
            "the request body must be a JSON object".into(),
            None,
        )]);
    };
    let mut errors = Vec::new();
    let type_list = RequestType::ALL.map(RequestType::as_str).join(", ");
    let kind = match obj.get("type") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "type",
                FieldCode::Missing,
                format!("the request type is required (one of: {type_list})"),
                None,
            ));
            None
        }
        Some(Value::String(s)) => RequestType::parse(s).or_else(|| {
            errors.push(FieldError::new(
                "type",
                FieldCode::Invalid,
                format!("unknown request type {s:?} (one of: {type_list})"),
                None,
            ));
            None
        }),
        Some(_) => {
            errors.push(FieldError::new(
                "type",
                FieldCode::Invalid,
                format!("the request type must be a string (one of: {type_list})"),
                None,
            ));
            None
        }
    };

    let to = match obj.get("to") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new(
                "to",
                FieldCode::Missing,
                "the requested node is required, e.g. \"FRA/247\"".into(),
                Some(crate::catalogue::art41::POINT_OF_CONTACT),
            ));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            errors.push(FieldError::new(
                "to",
                FieldCode::Empty,
                "the requested node must not be empty".into(),
                None,
            ));
            None
        }
        Some(Value::String(s)) => match s.parse::<NodeId>() {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push(FieldError::new(
                    "to",
                    FieldCode::Invalid,
                    e.to_string(),
                    None,
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "to",
                FieldCode::Invalid,
                "the requested node must be a string such as \"FRA/247\"".into(),
                None,
            ));
            None
        }
    };

    // Without a known type, only the fields every request shares can be checked.
    let own: &[FieldSpec] = kind.map_or(&[], |k| k.form().fields);
    let specs = || own.iter().chain(COMMON_FIELDS.iter());
    let mut fields = Map::new();
    for spec in specs() {
        if let Some(v) = check_field(spec, obj.get(spec.name), &mut errors) {
            fields.insert(spec.name.to_owned(), v);
        }
    }
    cross_field_rules(kind, obj, &fields, &mut errors);

    if kind.is_some() {
        for key in obj.keys() {
            let known = key == "type" || key == "to" || specs().any(|f| f.name == key);
            if !known {
                errors.push(FieldError::new(
                    key,
                    FieldCode::UnknownField,
                    format!(
                        "{key:?} is not a field of a {} request",
                        kind.map_or("", RequestType::as_str)
                    ),
                    None,
                ));
            }
        }
    }

    match (kind, to) {
        (Some(request_type), Some(to)) if errors.is_empty() => match RequestFacts::of(&fields) {
            Some(facts) => Ok(NewRequest {
                to,
                request_type,
                fields,
                facts,
            }),
            // Validation checked every field the facts are read from.
            None => Err(vec![FieldError::new(
                "",
                FieldCode::Invalid,
                "the request's facts could not be read from its fields".into(),
                None,
            )]),
        },
        _ => Err(errors),
    }
}

/// Checks one field against its spec; returns its normalized value if present and valid (or
/// its default).
fn check_field(spec: &FieldSpec, v: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<Value> {
    let name = spec.name;
    let err = |errors: &mut Vec<FieldError>, code: FieldCode, message: String| {
        errors.push(FieldError::new(name, code, message, Some(spec.article)));
    };
    let v = match v {
        None | Some(Value::Null) => {
            match (spec.presence, spec.kind) {
                (Presence::Required, _) => err(
                    errors,
                    FieldCode::Missing,
                    format!("{name} is required: {}", spec.description),
                ),
                (_, FieldKind::Flag) => return Some(Value::Bool(false)),
                (_, FieldKind::OneOf(values)) if name == "urgency" || name == "legal_basis" => {
                    return values.first().map(|d| Value::String((*d).to_owned()));
                }
                _ => {}
            }
            return None;
        }
        Some(v) => v,
    };
    match spec.kind {
        FieldKind::Text(max) => match v {
            Value::String(s) => match crate::text::clean(s, max, lines_of(max)) {
                Ok(t) => return Some(Value::String(t)),
                Err(crate::text::TextError::Empty) => err(
                    errors,
                    FieldCode::Empty,
                    format!("{name} must not be empty: {}", spec.description),
                ),
                Err(e) => err(errors, e.code(), format!("{name} {e}")),
            },
            _ => err(
                errors,
                FieldCode::Invalid,
                format!("{name} must be a string: {}", spec.description),
            ),
        },
        FieldKind::Flag => match v {
            Value::Bool(_) => return Some(v.clone()),
            _ => err(
                errors,
                FieldCode::Invalid,
                format!("{name} must be true or false"),
            ),
        },
        FieldKind::MustBeTrue => match v {
            Value::Bool(true) => return Some(v.clone()),
            Value::Bool(false) => err(
                errors,
                FieldCode::Invalid,
                format!(
                    "{name} must be true: the request must state {}",
                    spec.description
                ),
            ),
            _ => err(
                errors,
                FieldCode::Invalid,
                format!("{name} must be true or false"),
            ),
        },
        FieldKind::Integer { min, max } => match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => return Some(Value::from(n)),
            _ => err(
                errors,
                FieldCode::Invalid,
                format!("{name} must be a whole number from {min} to {max}"),
            ),
        },
        FieldKind::Date => match v.as_str().map(str::parse::<jiff::civil::Date>) {
            Some(Ok(d))
                if v.as_str().is_some_and(|s| s.len() == 10)
                    && (MIN_YEAR..=MAX_YEAR).contains(&d.year()) =>
            {
                return Some(Value::String(d.to_string()));
            }
            Some(Ok(_)) => err(
                errors,
                FieldCode::OutOfRange,
                format!("{name} must be a date between {MIN_YEAR} and {MAX_YEAR}"),
            ),
            _ => err(
                errors,
                FieldCode::Invalid,
                format!("{name} must be a date written YYYY-MM-DD"),
            ),
        },
        FieldKind::OneOf(values) => match v.as_str() {
            Some(s) if values.contains(&s) => return Some(v.clone()),
            _ => err(
                errors,
                FieldCode::Invalid,
                format!("{name} must be one of: {}", values.join(", ")),
            ),
        },
        FieldKind::RequestRef => match v.as_str().map(str::parse::<crate::RequestId>) {
            Some(Ok(id)) => return Some(Value::String(id.to_string())),
            _ => err(
                errors,
                FieldCode::Invalid,
                format!("{name} must be the id of an earlier request"),
            ),
        },
        FieldKind::Language => match v.as_str() {
            Some(s) if s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase()) => {
                return Some(v.clone());
            }
            _ => err(
                errors,
                FieldCode::Invalid,
                format!("{name} must be an ISO 639-1 language code such as \"en\" or \"fr\""),
            ),
        },
    }
    None
}

/// The offence category for offences other than the Convention's own (Art. 2(h): serious crime).
pub const SERIOUS_CRIME: &str = "serious_crime";

/// Dates a request may carry: nothing the Convention deals with lies outside these years.
pub const MIN_YEAR: i16 = 2000;
pub const MAX_YEAR: i16 = 2100;

/// Short fields are one line; long ones may hold line breaks.
fn lines_of(max: usize) -> crate::text::Lines {
    if max <= MAX_SHORT_CHARS {
        crate::text::Lines::One
    } else {
        crate::text::Lines::Many
    }
}

/// A long free-text member (`note`, `conditions`, `explanation`) under the text policy: the
/// cleaned text, `None` if absent or empty-looking, or an error for `field`.
pub fn long_text(
    v: Option<&Value>,
    field: &str,
    article: Option<crate::catalogue::ArticleRef>,
) -> Result<Option<String>, FieldError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            crate::text::clean_optional(Some(s), MAX_TEXT_CHARS, crate::text::Lines::Many)
                .map_err(|e| FieldError::new(field, e.code(), format!("{field} {e}"), article))
        }
        Some(_) => Err(FieldError::new(
            field,
            FieldCode::Invalid,
            format!("{field} must be a string"),
            article,
        )),
    }
}

/// The rules that tie fields together: conditional requirements and values that depend on the
/// type.
fn cross_field_rules(
    kind: Option<RequestType>,
    obj: &Map<String, Value>,
    fields: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    let present = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
    let value = |k: &str| fields.get(k).and_then(Value::as_str);
    let already = |errors: &Vec<FieldError>, k: &str| errors.iter().any(|e| e.field == k);
    let spec = |k: &str| COMMON_FIELDS.iter().find(|f| f.name == k);
    let need = |errors: &mut Vec<FieldError>, k: &str, why: &str| {
        if !present(k) && !already(errors, k) {
            errors.push(FieldError::new(
                k,
                FieldCode::Missing,
                format!("{k} is required {why}"),
                spec(k).map(|s| s.article),
            ));
        }
    };

    // A serious crime is one punishable by at least four years (Art. 2(h)). That threshold
    // defines the Convention's scope: a request under another legal basis (a treaty,
    // reciprocity, domestic law) records the offence and its penalty as given.
    let under_convention = value("legal_basis").is_none_or(|b| b == "convention");
    if value("offence_category") == Some(SERIOUS_CRIME) {
        need(
            errors,
            "max_penalty_years",
            "when offence_category is serious_crime",
        );
        if let Some(years) = fields.get("max_penalty_years").and_then(Value::as_i64)
            && years < art2::SERIOUS_CRIME_MIN_YEARS
            && under_convention
        {
            errors.push(FieldError::new(
                "max_penalty_years",
                FieldCode::Invalid,
                format!(
                    "a serious crime is punishable by at least {} years of deprivation of liberty; {years} is not enough: cooperation covers the Convention's offences and serious crimes only",
                    art2::SERIOUS_CRIME_MIN_YEARS
                ),
                Some(art2::SERIOUS_CRIME),
            ));
        }
    }
    if value("legal_basis").is_some_and(|b| b != "convention") {
        need(
            errors,
            "legal_basis_detail",
            "when the request rests on another basis than the Convention: name the treaty, reciprocity undertaking or law",
        );
    }
    match value("urgency") {
        Some("emergency") => need(
            errors,
            "emergency_reason",
            "for an emergency: describe the significant and imminent risk to the life or safety of a natural person",
        ),
        _ if present("emergency_reason") && !already(errors, "urgency") => {
            errors.push(FieldError::new(
                "emergency_reason",
                FieldCode::NotAllowed,
                "emergency_reason belongs to a request with urgency emergency".into(),
                Some(art2::EMERGENCY),
            ));
        }
        _ => {}
    }
    if present("time_limit") {
        need(errors, "time_limit_reasons", "when a time limit is given");
    }
    match kind {
        Some(RequestType::EmergencyDisclosure)
            if value("urgency") != Some("emergency") && !already(errors, "urgency") =>
        {
            errors.push(FieldError::new(
                "urgency",
                FieldCode::Invalid,
                "an emergency disclosure request must have urgency emergency".into(),
                Some(crate::catalogue::art41::EMERGENCY_DISCLOSURE),
            ));
        }
        Some(RequestType::TrafficDisclosure) => need(
            errors,
            "follows_request",
            &format!(
                "for a traffic-data disclosure: the preservation request it follows ({})",
                art43::DISCLOSURE
            ),
        ),
        Some(RequestType::StoredData)
            if fields.get("expedited") == Some(&Value::Bool(true))
                && !present("expedited_reason") =>
        {
            errors.push(FieldError::new(
                "expedited_reason",
                FieldCode::Missing,
                "expedited_reason is required when expedited is true".into(),
                Some(art44::EXPEDITED),
            ));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid(t: RequestType) -> Value {
        crate::catalogue::examples::example(t, "FRA/247", PRESERVATION_ID)
    }

    const PRESERVATION_ID: &str = "0190f0a0-0000-7000-8000-000000000001";

    /// Each type's required fields and the paragraph each must cite, written out by hand.
    fn required(t: RequestType) -> Vec<(&'static str, &'static str)> {
        let mut own: Vec<(&str, &str)> = match t {
            RequestType::Preservation => vec![
                ("requesting_authority", "Art. 42(2)(a)"),
                ("offence", "Art. 42(2)(b)"),
                ("summary_of_facts", "Art. 42(2)(b)"),
                ("data_to_preserve", "Art. 42(2)(c)"),
                ("relationship_to_offence", "Art. 42(2)(c)"),
                ("custodian_or_location", "Art. 42(2)(d)"),
                ("necessity", "Art. 42(2)(e)"),
                ("mla_request_to_follow", "Art. 42(2)(f)"),
            ],
            RequestType::TrafficDisclosure => vec![
                ("requesting_authority", "Art. 43(1)"),
                ("traffic_data", "Art. 43(1)"),
                ("service_provider", "Art. 43(1)"),
                ("transmission_path", "Art. 43(1)"),
                ("follows_request", "Art. 44(1)"),
            ],
            RequestType::StoredData => vec![
                ("requesting_authority", "Art. 40(15)(a)"),
                ("subject_matter", "Art. 40(15)(b)"),
                ("conducting_authority", "Art. 40(15)(b)"),
                ("summary_of_facts", "Art. 40(15)(c)"),
                ("assistance_sought", "Art. 40(15)(d)"),
                ("data_description", "Art. 44(1)"),
                ("purpose", "Art. 40(15)(g)"),
            ],
            RequestType::RealtimeTraffic => vec![
                ("requesting_authority", "Art. 40(15)(a)"),
                ("subject_matter", "Art. 40(15)(b)"),
                ("conducting_authority", "Art. 40(15)(b)"),
                ("summary_of_facts", "Art. 40(15)(c)"),
                ("data_to_collect", "Art. 45(2)"),
                ("relationship_to_offence", "Art. 45(2)"),
                ("identifying_information", "Art. 45(2)"),
                ("necessity", "Art. 45(2)"),
                ("collection_period_days", "Art. 45(2)(f)"),
                ("period_justification", "Art. 45(2)(f)"),
                ("purpose", "Art. 40(15)(g)"),
            ],
            RequestType::Interception => vec![
                ("requesting_authority", "Art. 40(15)(a)"),
                ("subject_matter", "Art. 40(15)(b)"),
                ("conducting_authority", "Art. 40(15)(b)"),
                ("summary_of_facts", "Art. 40(15)(c)"),
                ("data_to_collect", "Art. 46(2)"),
                ("relationship_to_offence", "Art. 46(2)"),
                ("identifying_information", "Art. 46(2)"),
                ("necessity", "Art. 46(2)"),
                ("collection_period_days", "Art. 46(2)(f)"),
                ("period_justification", "Art. 46(2)(f)"),
                ("purpose", "Art. 40(15)(g)"),
            ],
            RequestType::Mla => vec![
                ("requesting_authority", "Art. 40(15)(a)"),
                ("subject_matter", "Art. 40(15)(b)"),
                ("conducting_authority", "Art. 40(15)(b)"),
                ("summary_of_facts", "Art. 40(15)(c)"),
                ("assistance_sought", "Art. 40(15)(d)"),
                ("purpose", "Art. 40(15)(g)"),
            ],
            RequestType::SpontaneousInformation => vec![
                ("providing_authority", "Art. 40(4)"),
                ("information", "Art. 40(4)"),
                ("relevance", "Art. 40(4)"),
            ],
            RequestType::LawEnforcement => vec![
                ("requesting_authority", "Art. 47(1)"),
                ("subject_matter", "Art. 47(1)"),
                ("information_sought", "Art. 47(1)"),
                ("purpose", "Art. 40(15)(g)"),
            ],
            RequestType::JointInvestigation => vec![
                ("requesting_authority", "Art. 48"),
                ("subject_matter", "Art. 48"),
                ("proposed_arrangement", "Art. 48"),
                ("purpose", "Art. 40(15)(g)"),
            ],
            RequestType::TechnicalAdvice => vec![
                ("requesting_authority", "Art. 41(3)(a)"),
                ("advice_sought", "Art. 41(3)(a)"),
            ],
            RequestType::EvidenceAndLegalInformation => vec![
                ("requesting_authority", "Art. 41(3)(c)"),
                ("assistance_sought", "Art. 41(3)(c)"),
                ("summary_of_facts", "Art. 41(3)(c)"),
            ],
            RequestType::LocateSuspect => vec![
                ("requesting_authority", "Art. 41(3)(d)"),
                ("identifying_information", "Art. 41(3)(d)"),
                ("reasons", "Art. 41(3)(d)"),
            ],
            RequestType::EmergencyDisclosure => vec![
                ("requesting_authority", "Art. 41(3)(e)"),
                ("data_sought", "Art. 41(3)(e)"),
                ("custodian_or_location", "Art. 41(3)(e)"),
                ("how_data_averts_emergency", "Art. 41(3)(e)"),
                ("emergency_reason", "Art. 2(o)"),
            ],
        };
        own.extend([
            ("offence_category", "Art. 35(1)"),
            ("language", "Art. 40(14)"),
            ("proportionality_justification", "Art. 24(1)"),
        ]);
        own
    }

    fn errors_of(v: &Value) -> Vec<FieldError> {
        validate_new_request(v).unwrap_err()
    }

    fn has(errs: &[FieldError], field: &str, code: &str) -> bool {
        errs.iter().any(|e| e.field == field && e.code == code)
    }

    #[test]
    fn every_type_has_a_valid_request() {
        for t in RequestType::ALL {
            let r = validate_new_request(&valid(t)).unwrap_or_else(|e| panic!("{t:?}: {e:?}"));
            assert_eq!(r.request_type, t);
            assert_eq!(r.to.as_str(), "FRA/247");
            let facts = RequestFacts::of(&r.fields).unwrap();
            assert_eq!(facts.legal_basis, "convention", "default legal basis");
            assert!(!r.fields.contains_key("type") && !r.fields.contains_key("to"));
        }
        let r = validate_new_request(&valid(RequestType::Preservation)).unwrap();
        assert_eq!(r.fields["urgency"], "normal");
    }

    #[test]
    fn every_missing_field_of_every_type_is_named_with_its_paragraph() {
        for t in RequestType::ALL {
            for (field, article) in required(t) {
                let mut v = valid(t);
                v.as_object_mut().unwrap().remove(field);
                let errs = errors_of(&v);
                let e = errs
                    .iter()
                    .find(|e| e.field == field)
                    .unwrap_or_else(|| panic!("{t:?} without {field}: {errs:?}"));
                assert_eq!(e.code, FieldCode::Missing, "{t:?} {field}");
                assert_eq!(e.article.as_deref(), Some(article), "{t:?} {field}");
                assert_eq!(errs.len(), 1, "{t:?} without {field}: {errs:?}");
            }
        }
    }

    #[test]
    fn catalogue_requires_exactly_the_listed_fields() {
        for t in RequestType::ALL {
            let listed: std::collections::BTreeSet<&str> =
                required(t).into_iter().map(|(f, _)| f).collect();
            let mut empty = json!({"type": t.as_str(), "to": "FRA/247"});
            if t == RequestType::EmergencyDisclosure {
                empty["urgency"] = json!("emergency");
            }
            let missing: std::collections::BTreeSet<&str> = errors_of(&empty)
                .iter()
                .filter(|e| e.code == FieldCode::Missing)
                .map(|e| {
                    required(t)
                        .into_iter()
                        .map(|(f, _)| f)
                        .find(|f| *f == e.field)
                        .unwrap_or("unexpected")
                })
                .collect();
            assert_eq!(missing, listed, "{t:?}");
        }
    }

    /// A value of the wrong kind for each field kind.
    fn wrong_value(kind: FieldKind) -> Value {
        match kind {
            FieldKind::Text(_) => json!(42),
            FieldKind::Flag | FieldKind::MustBeTrue => json!("yes"),
            FieldKind::Integer { max, .. } => json!(max + 1),
            FieldKind::Date => json!("2026-02-30"),
            FieldKind::OneOf(_) => json!("something_else"),
            FieldKind::RequestRef => json!("not-a-request-id"),
            FieldKind::Language => json!("english"),
        }
    }

    #[test]
    fn every_invalid_value_of_every_type_is_rejected() {
        for t in RequestType::ALL {
            for spec in t.form().fields.iter().chain(COMMON_FIELDS) {
                let mut v = valid(t);
                v[spec.name] = wrong_value(spec.kind);
                let errs = errors_of(&v);
                assert!(
                    has(&errs, spec.name, "invalid"),
                    "{t:?} {} = {}: {errs:?}",
                    spec.name,
                    v[spec.name]
                );
                if let FieldKind::Text(max) = spec.kind {
                    v[spec.name] = json!("  ");
                    assert!(
                        has(&errors_of(&v), spec.name, "empty"),
                        "{t:?} {}",
                        spec.name
                    );
                    v[spec.name] = json!("x".repeat(max + 1));
                    assert!(
                        has(&errors_of(&v), spec.name, "too_long"),
                        "{t:?} {}",
                        spec.name
                    );
                }
            }
            let mut v = valid(t);
            v["colour"] = json!("blue");
            assert!(has(&errors_of(&v), "colour", "unknown_field"), "{t:?}");
        }
    }

    #[test]
    fn envelope_fields_are_checked() {
        for (field, value, code) in [
            ("type", json!("extradition"), "invalid"),
            ("type", json!(null), "missing"),
            ("type", json!(7), "invalid"),
            ("to", json!("france"), "invalid"),
            ("to", json!(""), "empty"),
            ("to", json!(null), "missing"),
        ] {
            let mut v = valid(RequestType::Preservation);
            v[field] = value;
            assert!(has(&errors_of(&v), field, code), "{field}");
        }
        assert!(validate_new_request(&json!([1, 2])).is_err());
        // A preservation request must say that an MLA request will follow.
        let mut v = valid(RequestType::Preservation);
        v["mla_request_to_follow"] = json!(false);
        assert!(has(&errors_of(&v), "mla_request_to_follow", "invalid"));
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let errs = errors_of(&json!({"type": "preservation"}));
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        // to, eight preservation fields, three common ones.
        assert_eq!(fields.len(), 12, "{fields:?}");
    }

    #[test]
    fn the_four_year_threshold_is_the_conventions_scope_only() {
        let mut v = crate::catalogue::examples::example(RequestType::Preservation, "FRA/247", "");
        v["offence_category"] = json!("serious_crime");
        v["max_penalty_years"] = json!(2);
        assert!(
            validate_new_request(&v).is_err(),
            "under the Convention: at least 4 years"
        );
        v["legal_basis"] = json!("bilateral_treaty");
        v["legal_basis_detail"] = json!("VNM-FRA treaty of 2019");
        let ok = validate_new_request(&v).expect("another basis records the offence as given");
        assert_eq!(ok.fields["max_penalty_years"], json!(2));
    }

    #[test]
    fn serious_crime_needs_at_least_four_years() {
        let mut v = valid(RequestType::Mla);
        v["offence_category"] = json!("serious_crime");
        let errs = errors_of(&v);
        assert!(has(&errs, "max_penalty_years", "missing"), "{errs:?}");
        assert_eq!(errs[0].article.as_deref(), Some("Art. 2(h)"));
        v["max_penalty_years"] = json!(3);
        let errs = errors_of(&v);
        assert!(has(&errs, "max_penalty_years", "invalid"), "{errs:?}");
        v["max_penalty_years"] = json!(4);
        assert!(validate_new_request(&v).is_ok());
    }

    #[test]
    fn conditional_fields() {
        let base = valid(RequestType::Mla);
        let with = |k: &str, val: Value| {
            let mut v = base.clone();
            v[k] = val;
            v
        };
        // Another legal basis must be recorded.
        let v = with("legal_basis", json!("reciprocity"));
        assert!(has(&errors_of(&v), "legal_basis_detail", "missing"));
        let mut v2 = v.clone();
        v2["legal_basis_detail"] = json!("Reciprocity note of 2026-01-02");
        let r = validate_new_request(&v2).unwrap();
        assert!(!RequestFacts::of(&r.fields).unwrap().under_convention());
        // An emergency needs its reason; a reason needs an emergency.
        assert!(has(
            &errors_of(&with("urgency", json!("emergency"))),
            "emergency_reason",
            "missing"
        ));
        assert!(has(
            &errors_of(&with("emergency_reason", json!("risk"))),
            "emergency_reason",
            "not_allowed"
        ));
        // A time limit needs its reasons (Art. 40(15)(f)).
        let v = with("time_limit", json!("2026-12-01"));
        assert!(has(&errors_of(&v), "time_limit_reasons", "missing"));
        // An emergency disclosure is for emergencies only.
        let mut v = valid(RequestType::EmergencyDisclosure);
        v["urgency"] = json!("urgent");
        v.as_object_mut().unwrap().remove("emergency_reason");
        assert!(has(&errors_of(&v), "urgency", "invalid"));
        // Expedited access needs the reason the data are vulnerable (Art. 44).
        let mut v = valid(RequestType::StoredData);
        v["expedited"] = json!(true);
        assert!(has(&errors_of(&v), "expedited_reason", "missing"));
        v["expedited_reason"] = json!("The provider rotates logs weekly");
        assert!(validate_new_request(&v).is_ok());
    }

    #[test]
    fn decisions() {
        let facts = RequestedStateFacts::default();
        let p = RequestType::Preservation;
        assert_eq!(
            validate_decision(&json!({"decision": "accept"}), p, facts).unwrap(),
            Decision::Accept
        );
        let d = validate_decision(
            &json!({"decision": "refuse", "grounds": ["essential_interests", "discrimination"], "explanation": "x"}),
            p,
            facts,
        )
        .unwrap();
        assert_eq!(d.status(), Status::Refused);

        for (body, field, code) in [
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
                json!({"decision": "refuse", "grounds": ["not_permitted_domestically"], "explanation": "x"}),
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
            let errs = validate_decision(&body, p, facts).unwrap_err();
            assert!(has(&errs, field, code), "{body}: {errs:?}");
        }

        // Fiscal matters and bank secrecy are never grounds, whatever the type.
        for t in RequestType::ALL.into_iter().filter(|t| t.is_answered()) {
            for not in ["fiscal_matters", "bank_secrecy"] {
                let errs = validate_decision(
                    &json!({"decision": "refuse", "grounds": [not], "explanation": "x"}),
                    t,
                    facts,
                )
                .unwrap_err();
                assert!(has(&errs, "grounds[0]", "not_a_ground"), "{t:?} {not}");
                assert!(errs[0].message.contains("not a ground"), "{errs:?}");
            }
        }

        // Each type's allowed set.
        let allowed = |t: RequestType, g: &str, reserved: bool| {
            validate_decision(
                &json!({"decision": "refuse", "grounds": [g], "explanation": "x"}),
                t,
                RequestedStateFacts {
                    has_dual_criminality_reservation: reserved,
                    offence_outside_convention: true,
                    ..Default::default()
                },
            )
            .is_ok()
        };
        assert!(allowed(p, "dual_criminality_reservation", true));
        // Art. 42(5): the reservation concerns preservation, and only offences other than the
        // Convention's own.
        assert!(!allowed(
            RequestType::TrafficDisclosure,
            "dual_criminality_reservation",
            true
        ));
        let convention_offence = validate_decision(
            &json!({"decision": "refuse", "grounds": ["dual_criminality_reservation"], "explanation": "x"}),
            p,
            RequestedStateFacts {
                has_dual_criminality_reservation: true,
                offence_outside_convention: false,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(has(&convention_offence, "grounds[0]", "not_a_ground"));
        assert!(
            convention_offence[0].message.contains("Arts. 7-17"),
            "{convention_offence:?}"
        );
        assert!(!allowed(
            RequestType::Mla,
            "dual_criminality_reservation",
            true
        ));
        assert!(allowed(RequestType::Mla, "not_in_conformity", false));
        assert!(!allowed(
            RequestType::Mla,
            "not_permitted_domestically",
            false
        ));
        assert!(allowed(
            RequestType::Interception,
            "not_permitted_domestically",
            false
        ));
        assert!(allowed(
            RequestType::RealtimeTraffic,
            "not_permitted_domestically",
            false
        ));
        assert!(!allowed(
            RequestType::TrafficDisclosure,
            "not_in_conformity",
            false
        ));
        assert!(allowed(
            RequestType::TrafficDisclosure,
            "essential_interests",
            false
        ));
        assert!(!allowed(
            RequestType::SpontaneousInformation,
            "essential_interests",
            false
        ));
        // Art. 41(3): "if permitted by domestic law and practice".
        for t in [
            RequestType::TechnicalAdvice,
            RequestType::EvidenceAndLegalInformation,
            RequestType::LocateSuspect,
            RequestType::EmergencyDisclosure,
        ] {
            assert!(allowed(t, "not_permitted_domestically", false), "{t:?}");
            assert!(allowed(t, "essential_interests", false), "{t:?}");
            assert!(!allowed(t, "cooperation_declined", false), "{t:?}");
        }
        // Art. 47, 48: declined with reasons, not on Art. 40 grounds.
        for t in [RequestType::LawEnforcement, RequestType::JointInvestigation] {
            assert!(allowed(t, "cooperation_declined", false), "{t:?}");
            assert!(!allowed(t, "essential_interests", false), "{t:?}");
            assert!(!allowed(t, "not_in_conformity", false), "{t:?}");
        }
        assert!(!allowed(RequestType::Mla, "cooperation_declined", false));
        // Art. 36(1)(a): wherever data would be transferred, not for a preservation.
        for t in [
            RequestType::StoredData,
            RequestType::Mla,
            RequestType::TrafficDisclosure,
            RequestType::RealtimeTraffic,
            RequestType::Interception,
            RequestType::EmergencyDisclosure,
        ] {
            assert!(allowed(t, "personal_data_protection", false), "{t:?}");
        }
        assert!(!allowed(p, "personal_data_protection", true));
        // Dual criminality for MLA: only a State that declared it requires it.
        let mla_dual = |declared: bool| {
            validate_decision(
                &json!({"decision": "refuse", "grounds": ["dual_criminality"], "explanation": "x"}),
                RequestType::Mla,
                RequestedStateFacts {
                    requires_dual_criminality: declared,
                    ..Default::default()
                },
            )
        };
        assert!(mla_dual(true).is_ok());
        assert!(has(
            &mla_dual(false).unwrap_err(),
            "grounds[0]",
            "not_a_ground"
        ));
        assert!(
            !allowed(p, "dual_criminality", true),
            "never for preservation"
        );
        assert!(!allowed(
            RequestType::LawEnforcement,
            "dual_criminality",
            true
        ));
        // An Art. 46 refusal cites Art. 46.
        assert_eq!(
            RefusalGround::NotPermittedDomestically
                .article_for(RequestType::Interception)
                .to_string(),
            "Art. 46(1)"
        );
        assert_eq!(
            RefusalGround::NotPermittedDomestically
                .article_for(RequestType::RealtimeTraffic)
                .to_string(),
            "Art. 45(1)"
        );
        assert!(
            validate_decision(
                &json!({"decision": "accept"}),
                RequestType::SpontaneousInformation,
                facts
            )
            .is_ok()
        );
    }

    #[test]
    fn moves() {
        let f = RequestedStateFacts::default();
        let p = RequestType::Preservation;
        let m = validate_move(
            &json!({"status": "consultation", "note": "  conditions?  "}),
            p,
            f,
        )
        .unwrap();
        assert_eq!(
            (m.to, m.note.as_deref(), m.decision),
            (Status::Consultation, Some("conditions?"), None)
        );
        let m = validate_move(
            &json!({"status": "refused", "grounds": ["essential_interests"], "explanation": "x"}),
            p,
            f,
        )
        .unwrap();
        assert_eq!(m.decision.unwrap().status(), Status::Refused);
        let m = validate_move(
            &json!({"status": "accepted_with_conditions", "conditions": "Use only in case 17"}),
            p,
            f,
        )
        .unwrap();
        assert!(matches!(
            m.decision,
            Some(Decision::AcceptWithConditions { .. })
        ));
        for (body, field, code) in [
            (json!({}), "status", "missing"),
            (json!({"status": "sideways"}), "status", "invalid"),
            (
                json!({"status": "refused", "explanation": "x"}),
                "grounds",
                "missing",
            ),
            (
                json!({"status": "refused", "grounds": ["fiscal_matters"], "explanation": "x"}),
                "grounds[0]",
                "not_a_ground",
            ),
            (
                json!({"status": "accepted_with_conditions"}),
                "conditions",
                "missing",
            ),
            (
                json!({"status": "accepted", "grounds": ["discrimination"]}),
                "grounds",
                "not_allowed",
            ),
            (
                json!({"status": "accepted", "colour": "red"}),
                "colour",
                "unknown_field",
            ),
            (json!({"status": "accepted", "note": 3}), "note", "invalid"),
        ] {
            let errs = validate_move(&body, p, f).unwrap_err();
            assert!(has(&errs, field, code), "{body}: {errs:?}");
        }
    }

    #[test]
    fn preservation_lasts_the_longer_of_sixty_days_and_the_period_asked() {
        let t: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(preserved_until(t, None).to_string(), "2026-03-02T00:00:00Z");
        assert_eq!(
            preserved_until(t, Some(30)).to_string(),
            "2026-03-02T00:00:00Z"
        );
        assert_eq!(
            preserved_until(t, Some(90)).to_string(),
            "2026-04-01T00:00:00Z"
        );
    }

    #[test]
    fn codes_round_trip() {
        for g in RefusalGround::ALL {
            assert_eq!(RefusalGround::parse(g.code()), Some(g));
        }
        for t in RequestType::ALL {
            assert_eq!(RequestType::parse(t.as_str()), Some(t));
        }
        assert_eq!(Direction::parse("incoming"), Some(Direction::Incoming));
        assert_eq!(Urgency::parse("emergency"), Some(Urgency::Emergency));
    }
}
