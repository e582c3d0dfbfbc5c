//! The forms: every request type of Chapter V with its fields, each field with the paragraph that
//! requires it, plus the fields every request carries. Validation (`crate::request`) and the
//! API's `GET /api/v1/catalogue` both read these tables, so a user interface builds its forms
//! from them and a legal reviewer corrects them in one place.

use serde::{Deserialize, Serialize};

use super::{
    ArticleRef, art2, art24, art35, art40, art41, art42, art43, art44, art45, art46, art47, art48,
    offences,
};

/// Longest accepted free-text field, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest accepted short field (authority names, node ids), in characters.
pub const MAX_SHORT_CHARS: usize = 500;

/// The kinds of cooperation request this node carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestType {
    /// Expedited preservation of stored electronic data (Art. 42).
    Preservation,
    /// Expedited disclosure of preserved traffic data (Art. 43).
    TrafficDisclosure,
    /// Access to, seizure and disclosure of stored electronic data (Art. 44).
    StoredData,
    /// Real-time collection of traffic data (Art. 45).
    RealtimeTraffic,
    /// Interception of content data (Art. 46).
    Interception,
    /// General mutual legal assistance (Art. 40).
    Mla,
    /// Information sent without a prior request (Art. 40).
    SpontaneousInformation,
    /// Law enforcement cooperation (Art. 47).
    LawEnforcement,
    /// A joint investigation (Art. 48).
    JointInvestigation,
    /// Technical advice through the 24/7 network (Art. 41(3)(a)).
    TechnicalAdvice,
    /// Collection of evidence and provision of legal information through the 24/7 network
    /// (Art. 41(3)(c)).
    EvidenceAndLegalInformation,
    /// Locating a suspect through the 24/7 network (Art. 41(3)(d)).
    LocateSuspect,
    /// Electronic data to avert an emergency through the 24/7 network (Art. 41(3)(e)).
    EmergencyDisclosure,
}

/// How the requested State may refuse a type, and what precedes a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalRule {
    /// Art. 42: only 40(21)(b)-(d), 40(22) and, with the reservation and for offences other
    /// than the Convention's own, 42(5).
    PreservationGrounds,
    /// Art. 43: only 40(21)(b)-(d) and 40(22) (the 42(5) reservation concerns preservation).
    TrafficDisclosureGrounds,
    /// Art. 40 mutual legal assistance: 40(21)(a)-(d) and 40(22), after consultation.
    MlaGrounds,
    /// Art. 45 and 46: as mutual legal assistance, and also declined where domestic law or
    /// treaties do not permit the measure.
    EndeavourGrounds,
    /// Art. 41(3) measures of the 24/7 network, carried out "if permitted by domestic law and
    /// practice": 40(21)(a)-(d), 40(22), and not permitted domestically; no prior consultation.
    PointOfContactGrounds,
    /// Art. 47 and 48: cooperation by agreement and consistent with domestic law, declined with
    /// reasons (`cooperation_declined`), not on Art. 40 grounds.
    CooperationGrounds,
    /// Nothing to accept or refuse (spontaneous information).
    NotApplicable,
}

impl RequestType {
    pub const ALL: [Self; 13] = [
        Self::Preservation,
        Self::TrafficDisclosure,
        Self::StoredData,
        Self::RealtimeTraffic,
        Self::Interception,
        Self::Mla,
        Self::SpontaneousInformation,
        Self::LawEnforcement,
        Self::JointInvestigation,
        Self::TechnicalAdvice,
        Self::EvidenceAndLegalInformation,
        Self::LocateSuspect,
        Self::EmergencyDisclosure,
    ];

    pub fn as_str(self) -> &'static str {
        self.form().code
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The type's form: title, article, fields and refusal rule.
    pub fn form(self) -> &'static Form {
        match self {
            Self::Preservation => &PRESERVATION,
            Self::TrafficDisclosure => &TRAFFIC_DISCLOSURE,
            Self::StoredData => &STORED_DATA,
            Self::RealtimeTraffic => &REALTIME_TRAFFIC,
            Self::Interception => &INTERCEPTION,
            Self::Mla => &MLA,
            Self::SpontaneousInformation => &SPONTANEOUS_INFORMATION,
            Self::LawEnforcement => &LAW_ENFORCEMENT,
            Self::JointInvestigation => &JOINT_INVESTIGATION,
            Self::TechnicalAdvice => &TECHNICAL_ADVICE,
            Self::EvidenceAndLegalInformation => &EVIDENCE_AND_LEGAL_INFORMATION,
            Self::LocateSuspect => &LOCATE_SUSPECT,
            Self::EmergencyDisclosure => &EMERGENCY_DISCLOSURE,
        }
    }

    /// Art. 40 procedure applies: the requested State consults before refusing or postponing.
    pub fn consult_before_refusal(self) -> bool {
        matches!(
            self.form().refusal,
            RefusalRule::MlaGrounds | RefusalRule::EndeavourGrounds
        )
    }

    /// Whether the request is answered at all (everything but spontaneous information).
    pub fn is_answered(self) -> bool {
        self.form().refusal != RefusalRule::NotApplicable
    }
}

/// The value a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string of at most this many characters, not blank.
    Text(usize),
    /// `true` or `false`; absent means `false`.
    Flag,
    /// Must be present and `true`.
    MustBeTrue,
    /// An integer in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of these codes.
    OneOf(&'static [&'static str]),
    /// The id of an earlier request on this node.
    RequestRef,
    /// An ISO 639-1 language code (two lower-case letters).
    Language,
}

/// When a field must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
    /// Required when the condition holds (checked in `crate::request`), e.g.
    /// `offence_category = serious_crime`; otherwise not allowed or optional as the rule says.
    RequiredWhen(&'static str),
}

/// One field of a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub presence: Presence,
    pub article: ArticleRef,
    /// What the field holds, in words a user understands.
    pub description: &'static str,
}

/// A request type's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form {
    pub code: &'static str,
    pub title: &'static str,
    pub article: ArticleRef,
    pub fields: &'static [FieldSpec],
    pub refusal: RefusalRule,
}

const fn field(
    name: &'static str,
    kind: FieldKind,
    presence: Presence,
    article: ArticleRef,
    description: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        presence,
        article,
        description,
    }
}

const fn text(name: &'static str, article: ArticleRef, description: &'static str) -> FieldSpec {
    field(
        name,
        FieldKind::Text(MAX_TEXT_CHARS),
        Presence::Required,
        article,
        description,
    )
}

const fn short(name: &'static str, article: ArticleRef, description: &'static str) -> FieldSpec {
    field(
        name,
        FieldKind::Text(MAX_SHORT_CHARS),
        Presence::Required,
        article,
        description,
    )
}

const fn optional(spec: FieldSpec) -> FieldSpec {
    FieldSpec {
        presence: Presence::Optional,
        ..spec
    }
}

/// Offence categories (Art. 35: the Convention's offences, or evidence of a serious crime).
pub const OFFENCE_CATEGORIES: [(&str, ArticleRef, &str); 12] = [
    ("illegal_access", offences::ILLEGAL_ACCESS, "Illegal access"),
    (
        "illegal_interception",
        offences::ILLEGAL_INTERCEPTION,
        "Illegal interception",
    ),
    (
        "data_interference",
        offences::DATA_INTERFERENCE,
        "Interference with electronic data",
    ),
    (
        "system_interference",
        offences::SYSTEM_INTERFERENCE,
        "Interference with an information and communications technology system",
    ),
    (
        "misuse_of_devices",
        offences::MISUSE_OF_DEVICES,
        "Misuse of devices",
    ),
    (
        "ict_forgery",
        offences::ICT_FORGERY,
        "Information and communications technology system-related forgery",
    ),
    (
        "ict_theft_or_fraud",
        offences::ICT_THEFT_OR_FRAUD,
        "Information and communications technology system-related theft or fraud",
    ),
    (
        "child_sexual_abuse_material",
        offences::CHILD_SEXUAL_ABUSE_MATERIAL,
        "Offences related to online child sexual abuse or child sexual exploitation material",
    ),
    (
        "grooming",
        offences::GROOMING,
        "Solicitation or grooming for the purpose of committing a sexual offence against a child",
    ),
    (
        "non_consensual_intimate_images",
        offences::NON_CONSENSUAL_INTIMATE_IMAGES,
        "Non-consensual dissemination of intimate images",
    ),
    (
        "laundering",
        offences::LAUNDERING,
        "Laundering of proceeds of crime",
    ),
    (
        "serious_crime",
        art2::SERIOUS_CRIME,
        "Any other serious crime (maximum penalty of at least four years)",
    ),
];

const OFFENCE_CODES: &[&str] = &[
    "illegal_access",
    "illegal_interception",
    "data_interference",
    "system_interference",
    "misuse_of_devices",
    "ict_forgery",
    "ict_theft_or_fraud",
    "child_sexual_abuse_material",
    "grooming",
    "non_consensual_intimate_images",
    "laundering",
    "serious_crime",
];

/// Legal bases a request may rest on: the Convention, or another basis recorded on the request.
pub const LEGAL_BASES: &[&str] = &[
    "convention",
    "bilateral_treaty",
    "multilateral_treaty",
    "reciprocity",
    "domestic_law",
];

/// Urgency levels.
pub const URGENCIES: &[&str] = &["normal", "urgent", "emergency"];

/// Fields every request carries, whatever its type.
pub const COMMON_FIELDS: &[FieldSpec] = &[
    field(
        "offence_category",
        FieldKind::OneOf(OFFENCE_CODES),
        Presence::Required,
        art35::SCOPE,
        "the offence category: one of the Convention's own offences, or serious_crime",
    ),
    field(
        "max_penalty_years",
        FieldKind::Integer { min: 1, max: 200 },
        Presence::RequiredWhen("offence_category = serious_crime"),
        art2::SERIOUS_CRIME,
        "the maximum penalty of the offence, in years of deprivation of liberty (at least 4 for a serious crime)",
    ),
    field(
        "legal_basis",
        FieldKind::OneOf(LEGAL_BASES),
        Presence::Optional,
        art40::GENERAL,
        "the legal basis of the request: convention (the default), or another basis recorded in legal_basis_detail",
    ),
    field(
        "legal_basis_detail",
        FieldKind::Text(MAX_SHORT_CHARS),
        Presence::RequiredWhen("legal_basis is not convention"),
        art40::GENERAL,
        "the treaty, reciprocity undertaking or domestic law the request rests on",
    ),
    field(
        "urgency",
        FieldKind::OneOf(URGENCIES),
        Presence::Optional,
        art41::POINT_OF_CONTACT,
        "normal (the default), urgent, or emergency (imminent risk to life or safety only)",
    ),
    field(
        "emergency_reason",
        FieldKind::Text(MAX_TEXT_CHARS),
        Presence::RequiredWhen("urgency = emergency"),
        art2::EMERGENCY,
        "the significant and imminent risk to the life or safety of a natural person",
    ),
    field(
        "language",
        FieldKind::Language,
        Presence::Required,
        art40::LANGUAGE,
        "the language of the request (ISO 639-1 code, e.g. en, fr)",
    ),
    field(
        "proportionality_justification",
        FieldKind::Text(MAX_TEXT_CHARS),
        Presence::Required,
        art24::PROPORTIONALITY,
        "why the measure requested is proportionate to the offence and limited in scope and duration",
    ),
    field(
        "follows_request",
        FieldKind::RequestRef,
        Presence::Optional,
        art44::ACCESS,
        "the earlier request this one follows (e.g. the preservation a stored_data request follows)",
    ),
    field(
        "time_limit",
        FieldKind::Date,
        Presence::Optional,
        art40::CONTENTS_TIME_LIMIT,
        "the date by which execution is wished",
    ),
    field(
        "time_limit_reasons",
        FieldKind::Text(MAX_TEXT_CHARS),
        Presence::RequiredWhen("time_limit is given"),
        art40::CONTENTS_TIME_LIMIT,
        "the reasons for the time limit",
    ),
];

const MLA_AUTHORITY: FieldSpec = short(
    "requesting_authority",
    art40::CONTENTS_AUTHORITY,
    "the identity of the authority making the request",
);
const MLA_SUBJECT: FieldSpec = text(
    "subject_matter",
    art40::CONTENTS_SUBJECT,
    "the subject matter and nature of the investigation, prosecution or proceeding",
);
const MLA_CONDUCTING: FieldSpec = short(
    "conducting_authority",
    art40::CONTENTS_SUBJECT,
    "the name and functions of the authority conducting the investigation, prosecution or proceeding",
);
const MLA_FACTS: FieldSpec = text(
    "summary_of_facts",
    art40::CONTENTS_FACTS,
    "a summary of the relevant facts",
);
const MLA_PURPOSE: FieldSpec = text(
    "purpose",
    art40::CONTENTS_PURPOSE,
    "the purpose for which the evidence, information or action is sought",
);
const MLA_PERSONS: FieldSpec = optional(text(
    "persons_concerned",
    art40::CONTENTS_PERSONS,
    "where possible, the identity, location and nationality of any person concerned",
));
const MLA_PROCEDURE: FieldSpec = optional(text(
    "particular_procedure",
    art40::CONTENTS_ASSISTANCE,
    "any particular procedure the requesting State wishes to be followed",
));
const MLA_CONFIDENTIAL: FieldSpec = field(
    "confidential",
    FieldKind::Flag,
    Presence::Optional,
    art40::CONFIDENTIALITY,
    "the requested State keeps the request and its substance confidential",
);

pub const PRESERVATION: Form = Form {
    code: "preservation",
    title: "Expedited preservation of stored electronic data",
    article: art42::ARTICLE,
    refusal: RefusalRule::PreservationGrounds,
    fields: &[
        short(
            "requesting_authority",
            art42::AUTHORITY,
            "the authority seeking preservation",
        ),
        text(
            "offence",
            art42::OFFENCE_AND_FACTS,
            "the offence that is the subject of the investigation or proceedings",
        ),
        text(
            "summary_of_facts",
            art42::OFFENCE_AND_FACTS,
            "a brief summary of the related facts",
        ),
        text(
            "data_to_preserve",
            art42::DATA_AND_RELATIONSHIP,
            "the stored electronic data to be preserved",
        ),
        text(
            "relationship_to_offence",
            art42::DATA_AND_RELATIONSHIP,
            "the data's relationship to the offence",
        ),
        text(
            "custodian_or_location",
            art42::CUSTODIAN_OR_LOCATION,
            "what is known of the custodian of the data or the location of the system (write \"unknown\" if nothing is known)",
        ),
        text(
            "necessity",
            art42::NECESSITY,
            "the necessity of the preservation",
        ),
        field(
            "mla_request_to_follow",
            FieldKind::MustBeTrue,
            Presence::Required,
            art42::MLA_TO_FOLLOW,
            "that a request for mutual legal assistance for the search, seizure or disclosure of the data will follow",
        ),
        field(
            "confidential",
            FieldKind::Flag,
            Presence::Optional,
            art42::CONFIDENTIALITY,
            "the request is confidential and the user must not be notified",
        ),
        field(
            "requested_period_days",
            FieldKind::Integer { min: 1, max: 3650 },
            Presence::Optional,
            art42::MINIMUM_PERIOD,
            "how long preservation is wished, in days (never less than 60 is granted)",
        ),
    ],
};

pub const TRAFFIC_DISCLOSURE: Form = Form {
    code: "traffic_disclosure",
    title: "Expedited disclosure of preserved traffic data",
    article: art43::DISCLOSURE,
    refusal: RefusalRule::TrafficDisclosureGrounds,
    fields: &[
        short(
            "requesting_authority",
            art43::DISCLOSURE,
            "the authority that preserved the data and seeks or makes the disclosure",
        ),
        text(
            "traffic_data",
            art43::DISCLOSURE,
            "the preserved traffic data concerned",
        ),
        text(
            "service_provider",
            art43::DISCLOSURE,
            "the service provider in another State that took part in the transmission",
        ),
        text(
            "transmission_path",
            art43::DISCLOSURE,
            "the path through which the communication was transmitted, as far as known",
        ),
    ],
};

pub const STORED_DATA: Form = Form {
    code: "stored_data",
    title: "Access to, seizure and disclosure of stored electronic data",
    article: art44::ACCESS,
    refusal: RefusalRule::MlaGrounds,
    fields: &[
        MLA_AUTHORITY,
        MLA_SUBJECT,
        MLA_CONDUCTING,
        MLA_FACTS,
        text(
            "assistance_sought",
            art40::CONTENTS_ASSISTANCE,
            "the measure sought: search or similar access, seizure or similar securing, disclosure",
        ),
        text(
            "data_description",
            art44::ACCESS,
            "the stored electronic data concerned, including data preserved on an earlier preservation request",
        ),
        optional(text(
            "custodian_or_location",
            art44::ACCESS,
            "the custodian of the data or the location of the system, where known",
        )),
        MLA_PERSONS,
        MLA_PROCEDURE,
        MLA_PURPOSE,
        field(
            "expedited",
            FieldKind::Flag,
            Presence::Optional,
            art44::EXPEDITED,
            "the data are particularly vulnerable to loss or modification",
        ),
        field(
            "expedited_reason",
            FieldKind::Text(MAX_TEXT_CHARS),
            Presence::RequiredWhen("expedited = true"),
            art44::EXPEDITED,
            "why the data are particularly vulnerable to loss or modification",
        ),
        MLA_CONFIDENTIAL,
    ],
};

pub const REALTIME_TRAFFIC: Form = Form {
    code: "realtime_traffic",
    title: "Real-time collection of traffic data",
    article: art45::COLLECTION,
    refusal: RefusalRule::EndeavourGrounds,
    fields: &[
        MLA_AUTHORITY,
        MLA_SUBJECT,
        MLA_CONDUCTING,
        MLA_FACTS,
        text(
            "data_to_collect",
            art45::CONTENTS,
            "the traffic data to be collected",
        ),
        text(
            "relationship_to_offence",
            art45::CONTENTS,
            "the data's relationship to the offence",
        ),
        text(
            "identifying_information",
            art45::CONTENTS,
            "identifying information on the owner or user of the data or the location of the system",
        ),
        text(
            "necessity",
            art45::CONTENTS,
            "why the collection of the traffic data is needed",
        ),
        field(
            "collection_period_days",
            FieldKind::Integer { min: 1, max: 366 },
            Presence::Required,
            art45::PERIOD,
            "the period of collection, in days",
        ),
        text(
            "period_justification",
            art45::PERIOD,
            "the justification of the period of collection",
        ),
        MLA_PURPOSE,
        MLA_CONFIDENTIAL,
    ],
};

pub const INTERCEPTION: Form = Form {
    code: "interception",
    title: "Interception of content data",
    article: art46::INTERCEPTION,
    refusal: RefusalRule::EndeavourGrounds,
    fields: &[
        MLA_AUTHORITY,
        MLA_SUBJECT,
        MLA_CONDUCTING,
        MLA_FACTS,
        text(
            "data_to_collect",
            art46::CONTENTS,
            "the content data to be intercepted",
        ),
        text(
            "relationship_to_offence",
            art46::CONTENTS,
            "the data's relationship to the offence",
        ),
        text(
            "identifying_information",
            art46::CONTENTS,
            "identifying information on the owner or user of the data or the location of the system",
        ),
        text(
            "necessity",
            art46::CONTENTS,
            "why the interception is needed",
        ),
        field(
            "collection_period_days",
            FieldKind::Integer { min: 1, max: 366 },
            Presence::Required,
            art46::PERIOD,
            "the period of interception, in days",
        ),
        text(
            "period_justification",
            art46::PERIOD,
            "the justification of the period of interception",
        ),
        MLA_PURPOSE,
        MLA_CONFIDENTIAL,
    ],
};

pub const MLA: Form = Form {
    code: "mla",
    title: "Mutual legal assistance",
    article: art40::GENERAL,
    refusal: RefusalRule::MlaGrounds,
    fields: &[
        MLA_AUTHORITY,
        MLA_SUBJECT,
        MLA_CONDUCTING,
        MLA_FACTS,
        text(
            "assistance_sought",
            art40::CONTENTS_ASSISTANCE,
            "a description of the assistance sought",
        ),
        MLA_PROCEDURE,
        MLA_PERSONS,
        MLA_PURPOSE,
        MLA_CONFIDENTIAL,
    ],
};

pub const SPONTANEOUS_INFORMATION: Form = Form {
    code: "spontaneous_information",
    title: "Spontaneous information",
    article: art40::SPONTANEOUS,
    refusal: RefusalRule::NotApplicable,
    fields: &[
        short(
            "providing_authority",
            art40::SPONTANEOUS,
            "the authority providing the information",
        ),
        text(
            "information",
            art40::SPONTANEOUS,
            "the information transmitted",
        ),
        text(
            "relevance",
            art40::SPONTANEOUS,
            "why the information could assist the receiving State's inquiries or proceedings",
        ),
        optional(text(
            "use_limitations",
            art40::USE_LIMITATION,
            "restrictions on the use of the information",
        )),
        MLA_CONFIDENTIAL,
    ],
};

pub const LAW_ENFORCEMENT: Form = Form {
    code: "law_enforcement",
    title: "Law enforcement cooperation",
    article: art47::COOPERATION,
    refusal: RefusalRule::CooperationGrounds,
    fields: &[
        short(
            "requesting_authority",
            art47::COOPERATION,
            "the law enforcement authority making the request",
        ),
        text(
            "subject_matter",
            art47::COOPERATION,
            "the inquiry concerned",
        ),
        text(
            "information_sought",
            art47::COOPERATION,
            "the information sought: identity, whereabouts and activities of persons, movement of proceeds, means or methods, items for analysis",
        ),
        MLA_PURPOSE,
        MLA_CONFIDENTIAL,
    ],
};

pub const JOINT_INVESTIGATION: Form = Form {
    code: "joint_investigation",
    title: "Joint investigation",
    article: art48::JOINT_INVESTIGATION,
    refusal: RefusalRule::CooperationGrounds,
    fields: &[
        short(
            "requesting_authority",
            art48::JOINT_INVESTIGATION,
            "the authority proposing the joint investigation",
        ),
        text(
            "subject_matter",
            art48::JOINT_INVESTIGATION,
            "the matters under investigation",
        ),
        text(
            "proposed_arrangement",
            art48::JOINT_INVESTIGATION,
            "the proposed body or arrangement: participating authorities, roles, where it operates",
        ),
        field(
            "proposed_duration_days",
            FieldKind::Integer { min: 1, max: 3650 },
            Presence::Optional,
            art48::JOINT_INVESTIGATION,
            "the proposed duration, in days",
        ),
        MLA_PURPOSE,
        MLA_CONFIDENTIAL,
    ],
};

pub const TECHNICAL_ADVICE: Form = Form {
    code: "technical_advice",
    title: "Technical advice (24/7 network)",
    article: art41::TECHNICAL_ADVICE,
    refusal: RefusalRule::PointOfContactGrounds,
    fields: &[
        short(
            "requesting_authority",
            art41::TECHNICAL_ADVICE,
            "the point of contact or authority asking",
        ),
        text(
            "advice_sought",
            art41::TECHNICAL_ADVICE,
            "the technical question",
        ),
    ],
};

pub const EVIDENCE_AND_LEGAL_INFORMATION: Form = Form {
    code: "evidence_and_legal_information",
    title: "Collection of evidence and legal information (24/7 network)",
    article: art41::EVIDENCE,
    refusal: RefusalRule::PointOfContactGrounds,
    fields: &[
        short(
            "requesting_authority",
            art41::EVIDENCE,
            "the point of contact or authority asking",
        ),
        text(
            "assistance_sought",
            art41::EVIDENCE,
            "the evidence to collect, or the legal information asked for (e.g. what the requested State's law requires for a disclosure order)",
        ),
        text(
            "summary_of_facts",
            art41::EVIDENCE,
            "the facts the evidence or information concerns",
        ),
    ],
};

pub const LOCATE_SUSPECT: Form = Form {
    code: "locate_suspect",
    title: "Locating a suspect (24/7 network)",
    article: art41::LOCATE_SUSPECT,
    refusal: RefusalRule::PointOfContactGrounds,
    fields: &[
        short(
            "requesting_authority",
            art41::LOCATE_SUSPECT,
            "the point of contact or authority asking",
        ),
        text(
            "identifying_information",
            art41::LOCATE_SUSPECT,
            "what identifies the suspect (names, accounts, identifiers)",
        ),
        text(
            "reasons",
            art41::LOCATE_SUSPECT,
            "why the person is suspected and must be located",
        ),
        optional(text(
            "last_known_location",
            art41::LOCATE_SUSPECT,
            "the last known location",
        )),
    ],
};

pub const EMERGENCY_DISCLOSURE: Form = Form {
    code: "emergency_disclosure",
    title: "Electronic data to avert an emergency (24/7 network)",
    article: art41::EMERGENCY_DISCLOSURE,
    refusal: RefusalRule::PointOfContactGrounds,
    fields: &[
        short(
            "requesting_authority",
            art41::EMERGENCY_DISCLOSURE,
            "the point of contact or authority asking",
        ),
        text(
            "data_sought",
            art41::EMERGENCY_DISCLOSURE,
            "the electronic data sought",
        ),
        text(
            "custodian_or_location",
            art41::EMERGENCY_DISCLOSURE,
            "the custodian of the data or the location of the system (write \"unknown\" if nothing is known)",
        ),
        text(
            "how_data_averts_emergency",
            art41::EMERGENCY_DISCLOSURE,
            "how the data will help avert the emergency",
        ),
    ],
};

/// Where a request type's required fields come from, for `GET /api/v1/catalogue`.
pub fn field_json(f: &FieldSpec) -> serde_json::Value {
    use serde_json::json;
    let (kind, extra) = match f.kind {
        FieldKind::Text(max) => ("text", json!({"max_chars": max})),
        FieldKind::Flag => ("boolean", json!({"default": false})),
        FieldKind::MustBeTrue => ("boolean", json!({"must_be": true})),
        FieldKind::Integer { min, max } => ("integer", json!({"min": min, "max": max})),
        FieldKind::Date => ("date", json!({"format": "YYYY-MM-DD"})),
        FieldKind::OneOf(values) => ("enum", json!({"values": values})),
        FieldKind::RequestRef => ("request_id", json!({})),
        FieldKind::Language => ("language", json!({"format": "ISO 639-1"})),
    };
    let (required, required_when) = match f.presence {
        Presence::Required => (true, None),
        Presence::Optional => (false, None),
        Presence::RequiredWhen(c) => (false, Some(c)),
    };
    let mut v = json!({
        "name": f.name,
        "kind": kind,
        "required": required,
        "article": f.article.to_string(),
        "article_approximate": f.article.approximate,
        "description": f.description,
    });
    if let Some(c) = required_when {
        v["required_when"] = json!(c);
    }
    if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}
