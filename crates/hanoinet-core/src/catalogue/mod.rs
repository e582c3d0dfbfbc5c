//! The Convention catalogue: the one table of article and paragraph references.
//!
//! Every reference the code shows to a user (validation errors, refusal grounds, the API's
//! field descriptions) comes from here, never from a string literal elsewhere, so a legal
//! reviewer corrects a reference in one place. Paragraph numbers inside Art. 40 and Art. 42
//! follow `CONVENTION.md`; where the adopted text is known only approximately, the reference is
//! marked `approximate`.

use std::fmt;

use serde::Serialize;

pub mod examples;
pub mod forms;

/// A reference to an article of the Convention, optionally narrowed to a paragraph and
/// sub-paragraph, shown as `Art. 42(2)(a)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ArticleRef {
    pub article: u16,
    /// Paragraph and sub-paragraph as printed after the article number, e.g. `(2)(a)`.
    pub paragraph: &'static str,
    /// True where the paragraph numbering is not yet confirmed against the adopted text.
    pub approximate: bool,
}

impl ArticleRef {
    const fn exact(article: u16, paragraph: &'static str) -> Self {
        Self {
            article,
            paragraph,
            approximate: false,
        }
    }
    const fn approx(article: u16, paragraph: &'static str) -> Self {
        Self {
            article,
            paragraph,
            approximate: true,
        }
    }
}

impl ArticleRef {
    /// The reference without the `Art. ` prefix, as depositary notifications write it: `42(5)`.
    pub fn short(&self) -> String {
        format!("{}{}", self.article, self.paragraph)
    }

    /// Whether a reference written by someone else (a reservation in the registry: `42(5)`,
    /// `Art. 42(5)`, `article 42, paragraph 5`, `Art. 42 para. 5`) names this article and
    /// paragraph: the numbers and letters are compared, the words and punctuation ignored.
    pub fn matches_text(&self, text: &str) -> bool {
        const WORDS: [&str; 8] = [
            "art",
            "arts",
            "article",
            "paragraph",
            "para",
            "subparagraph",
            "of",
            "the",
        ];
        let tokens = |s: &str| -> Vec<String> {
            s.to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty() && !WORDS.contains(t) && *t != "convention")
                .map(str::to_owned)
                .collect()
        };
        let mine = tokens(&self.short());
        !mine.is_empty() && tokens(text) == mine
    }
}

impl fmt::Display for ArticleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Art. {}{}", self.article, self.paragraph)
    }
}

/// Art. 2: use of terms.
pub mod art2 {
    use super::ArticleRef;

    /// "Serious crime": punishable by a maximum of at least four years' deprivation of liberty.
    pub const SERIOUS_CRIME: ArticleRef = ArticleRef::exact(2, "(h)");
    /// The least maximum penalty, in years, that makes an offence a serious crime.
    pub const SERIOUS_CRIME_MIN_YEARS: i64 = 4;
    /// "Emergency": a significant and imminent risk to the life or safety of a natural person.
    pub const EMERGENCY: ArticleRef = ArticleRef::exact(2, "(o)");
}

/// Art. 7-17: the Convention's own offences.
pub mod offences {
    use super::ArticleRef;

    /// The articles of the Convention's own offences, as a range: `Arts. 7-17`.
    pub fn range() -> String {
        format!("Arts. {}-{}", ILLEGAL_ACCESS.article, LAUNDERING.article)
    }

    pub const ILLEGAL_ACCESS: ArticleRef = ArticleRef::exact(7, "");
    pub const ILLEGAL_INTERCEPTION: ArticleRef = ArticleRef::exact(8, "");
    pub const DATA_INTERFERENCE: ArticleRef = ArticleRef::exact(9, "");
    pub const SYSTEM_INTERFERENCE: ArticleRef = ArticleRef::exact(10, "");
    pub const MISUSE_OF_DEVICES: ArticleRef = ArticleRef::exact(11, "");
    pub const ICT_FORGERY: ArticleRef = ArticleRef::exact(12, "");
    pub const ICT_THEFT_OR_FRAUD: ArticleRef = ArticleRef::exact(13, "");
    pub const CHILD_SEXUAL_ABUSE_MATERIAL: ArticleRef = ArticleRef::exact(14, "");
    pub const GROOMING: ArticleRef = ArticleRef::exact(15, "");
    pub const NON_CONSENSUAL_INTIMATE_IMAGES: ArticleRef = ArticleRef::exact(16, "");
    pub const LAUNDERING: ArticleRef = ArticleRef::exact(17, "");
}

/// Art. 24: conditions and safeguards (proportionality, limits of scope and duration).
pub mod art24 {
    use super::ArticleRef;

    pub const PROPORTIONALITY: ArticleRef = ArticleRef::approx(24, "(1)");
    pub const SCOPE_AND_DURATION: ArticleRef = ArticleRef::approx(24, "(2)");
}

/// Art. 35: general principles of international cooperation.
pub mod art35 {
    use super::ArticleRef;

    /// Cooperation covers the Convention's offences and evidence of any serious crime.
    pub const SCOPE: ArticleRef = ArticleRef::approx(35, "(1)");
}

/// Art. 36: protection of personal data.
pub mod art36 {
    use super::ArticleRef;

    /// The transferring State may attach conditions to personal data it transfers.
    pub const CONDITIONS: ArticleRef = ArticleRef::approx(36, "(1)");
    /// Received data are subject to effective safeguards in the receiving State.
    pub const SAFEGUARDS: ArticleRef = ArticleRef::approx(36, "(2)");
    /// Onward transfer needs the prior authorization of the original transferring State.
    pub const ONWARD_TRANSFER: ArticleRef = ArticleRef::approx(36, "(3)");
    /// A State is not required to transfer personal data it cannot transfer lawfully under its
    /// laws on the protection of personal data.
    pub const NOT_REQUIRED_TO_TRANSFER: ArticleRef = ArticleRef::approx(36, "(1)(a)");
}

/// Art. 40: general principles and procedures of mutual legal assistance.
pub mod art40 {
    use super::ArticleRef;

    /// Scope of mutual legal assistance.
    pub const GENERAL: ArticleRef = ArticleRef::exact(40, "(1)");
    /// Spontaneous information without a prior request.
    pub const SPONTANEOUS: ArticleRef = ArticleRef::approx(40, "(4)");
    /// Requests go to the requested State's central authority.
    pub const CENTRAL_AUTHORITY: ArticleRef = ArticleRef::approx(40, "(13)");
    /// Requests are made in writing in a language acceptable to the requested State.
    pub const LANGUAGE: ArticleRef = ArticleRef::approx(40, "(14)");
    /// Contents of a request, (a)-(g).
    pub const CONTENTS_AUTHORITY: ArticleRef = ArticleRef::approx(40, "(15)(a)");
    pub const CONTENTS_SUBJECT: ArticleRef = ArticleRef::approx(40, "(15)(b)");
    pub const CONTENTS_FACTS: ArticleRef = ArticleRef::approx(40, "(15)(c)");
    pub const CONTENTS_ASSISTANCE: ArticleRef = ArticleRef::approx(40, "(15)(d)");
    pub const CONTENTS_PERSONS: ArticleRef = ArticleRef::approx(40, "(15)(e)");
    pub const CONTENTS_TIME_LIMIT: ArticleRef = ArticleRef::approx(40, "(15)(f)");
    pub const CONTENTS_PURPOSE: ArticleRef = ArticleRef::approx(40, "(15)(g)");
    /// The requested State may ask for additional information.
    pub const MORE_INFORMATION: ArticleRef = ArticleRef::approx(40, "(16)");
    /// Use limitation: no other use without prior consent.
    pub const USE_LIMITATION: ArticleRef = ArticleRef::approx(40, "(19)");
    /// Confidentiality of the request.
    pub const CONFIDENTIALITY: ArticleRef = ArticleRef::approx(40, "(20)");
    /// Assistance may be declined for absence of dual criminality, by a State that declares it
    /// requires dual criminality for mutual legal assistance (as UNTOC Art. 18(9)).
    pub const DUAL_CRIMINALITY: ArticleRef = ArticleRef::approx(40, "(9)");
    pub const NOT_IN_CONFORMITY: ArticleRef = ArticleRef::approx(40, "(21)(a)");
    pub const ESSENTIAL_INTERESTS: ArticleRef = ArticleRef::approx(40, "(21)(b)");
    pub const DOMESTIC_LAW_PROHIBITS: ArticleRef = ArticleRef::approx(40, "(21)(c)");
    pub const CONTRARY_TO_LEGAL_SYSTEM: ArticleRef = ArticleRef::approx(40, "(21)(d)");
    pub const DISCRIMINATION: ArticleRef = ArticleRef::approx(40, "(22)");
    /// Fiscal matters are not a ground for refusal.
    pub const NOT_FISCAL: ArticleRef = ArticleRef::approx(40, "(23)");
    /// Bank secrecy is not a ground for refusal.
    pub const NOT_BANK_SECRECY: ArticleRef = ArticleRef::approx(40, "(8)");
    /// Reasons must be given for any refusal.
    pub const REASONS: ArticleRef = ArticleRef::approx(40, "(24)");
    /// Execution as soon as possible; reasonable status enquiries are answered; the requesting
    /// State says when assistance is no longer needed.
    pub const EXECUTION_AND_STATUS: ArticleRef = ArticleRef::approx(40, "(25)");
    /// Postponement where execution would interfere with an ongoing investigation.
    pub const POSTPONEMENT: ArticleRef = ArticleRef::approx(40, "(26)");
    /// Consultation before refusing or postponing; accepted conditions must be complied with.
    pub const CONSULTATION: ArticleRef = ArticleRef::approx(40, "(27)");
}

/// Art. 41: the 24/7 network.
pub mod art41 {
    use super::ArticleRef;

    pub const POINT_OF_CONTACT: ArticleRef = ArticleRef::exact(41, "(1)");
    pub const TECHNICAL_ADVICE: ArticleRef = ArticleRef::approx(41, "(3)(a)");
    pub const PRESERVATION: ArticleRef = ArticleRef::approx(41, "(3)(b)");
    pub const EVIDENCE: ArticleRef = ArticleRef::approx(41, "(3)(c)");
    pub const LOCATE_SUSPECT: ArticleRef = ArticleRef::approx(41, "(3)(d)");
    pub const EMERGENCY_DISCLOSURE: ArticleRef = ArticleRef::approx(41, "(3)(e)");
    /// The measures of paragraph 3 are carried out "if permitted by domestic law and practice".
    pub const MEASURES: ArticleRef = ArticleRef::approx(41, "(3)");
    /// Default acknowledgement target for an incoming request (node policy; the Convention sets
    /// no hour limit).
    pub const DEFAULT_ACK_MINUTES: i64 = 60;
    /// Default acknowledgement target for an emergency.
    pub const DEFAULT_EMERGENCY_ACK_MINUTES: i64 = 15;
}

/// Art. 42: expedited preservation of stored electronic data.
pub mod art42 {
    use super::ArticleRef;

    pub const ARTICLE: ArticleRef = ArticleRef::exact(42, "");
    pub const AUTHORITY: ArticleRef = ArticleRef::approx(42, "(2)(a)");
    pub const OFFENCE_AND_FACTS: ArticleRef = ArticleRef::approx(42, "(2)(b)");
    pub const DATA_AND_RELATIONSHIP: ArticleRef = ArticleRef::approx(42, "(2)(c)");
    pub const CUSTODIAN_OR_LOCATION: ArticleRef = ArticleRef::approx(42, "(2)(d)");
    pub const NECESSITY: ArticleRef = ArticleRef::approx(42, "(2)(e)");
    pub const MLA_TO_FOLLOW: ArticleRef = ArticleRef::approx(42, "(2)(f)");
    pub const CONFIDENTIALITY: ArticleRef = ArticleRef::approx(42, "(2)(g)");
    /// Dual criminality is not required for preservation.
    pub const NO_DUAL_CRIMINALITY: ArticleRef = ArticleRef::approx(42, "(4)");
    /// The reservation allowing refusal where dual criminality will not be met at disclosure.
    pub const DUAL_CRIMINALITY_RESERVATION: ArticleRef = ArticleRef::exact(42, "(5)");
    /// Preservation may be refused only on the grounds of Art. 40(21)(b)-(d) and 40(22).
    pub const REFUSAL_GROUNDS: ArticleRef = ArticleRef::approx(42, "(6)");
    /// The requested State informs promptly when preservation will not ensure availability.
    pub const INFORM_REQUESTER: ArticleRef = ArticleRef::exact(42, "(7)");
    /// Preservation lasts not less than 60 days, and until the follow-up request is decided.
    pub const MINIMUM_PERIOD: ArticleRef = ArticleRef::approx(42, "(8)");
    /// The minimum preservation period in days.
    pub const MINIMUM_PERIOD_DAYS: i64 = 60;
    /// Reminders before a preservation expires, in days before `preserved_until`.
    pub const REMINDER_DAYS: [i64; 2] = [14, 3];
}

/// Art. 43: expedited disclosure of preserved traffic data.
pub mod art43 {
    use super::ArticleRef;

    pub const DISCLOSURE: ArticleRef = ArticleRef::exact(43, "(1)");
    /// Same limited refusal grounds as Art. 42.
    pub const REFUSAL_GROUNDS: ArticleRef = ArticleRef::approx(43, "(2)");
}

/// Art. 44: mutual legal assistance in accessing stored electronic data.
pub mod art44 {
    use super::ArticleRef;

    pub const ACCESS: ArticleRef = ArticleRef::exact(44, "(1)");
    /// Expedited where the data are particularly vulnerable to loss or modification.
    pub const EXPEDITED: ArticleRef = ArticleRef::approx(44, "(3)");
}

/// Art. 45: real-time collection of traffic data.
pub mod art45 {
    use super::ArticleRef;

    pub const COLLECTION: ArticleRef = ArticleRef::exact(45, "(1)");
    pub const CONTENTS: ArticleRef = ArticleRef::approx(45, "(2)");
    pub const PERIOD: ArticleRef = ArticleRef::approx(45, "(2)(f)");
}

/// Art. 46: interception of content data.
pub mod art46 {
    use super::ArticleRef;

    pub const INTERCEPTION: ArticleRef = ArticleRef::exact(46, "(1)");
    pub const CONTENTS: ArticleRef = ArticleRef::approx(46, "(2)");
    pub const PERIOD: ArticleRef = ArticleRef::approx(46, "(2)(f)");
}

/// Art. 47: law enforcement cooperation.
pub mod art47 {
    use super::ArticleRef;

    pub const COOPERATION: ArticleRef = ArticleRef::exact(47, "(1)");
}

/// Art. 48: joint investigations.
pub mod art48 {
    use super::ArticleRef;

    pub const JOINT_INVESTIGATION: ArticleRef = ArticleRef::exact(48, "");
}

/// Art. 64: signature, ratification, acceptance, approval and accession.
pub mod art64 {
    use super::ArticleRef;

    pub const INSTRUMENTS: ArticleRef = ArticleRef::exact(64, "");
    /// A regional economic integration organization may become a Party if at least one of its
    /// member States has done so.
    pub const REGIONAL_ORGANIZATION: ArticleRef = ArticleRef::approx(64, "(3)");
}

/// Art. 65: entry into force.
pub mod art65 {
    use super::ArticleRef;

    /// The 90th day after the 40th instrument; a regional organization's instrument does not
    /// count in addition to those of its member States.
    pub const GENERAL: ArticleRef = ArticleRef::exact(65, "(1)");
    /// For a later State: the 30th day after its deposit, or the general date if later.
    pub const LATER_PARTIES: ArticleRef = ArticleRef::exact(65, "(2)");
    pub const INSTRUMENTS_REQUIRED: usize = 40;
    pub const GENERAL_DELAY_DAYS: i64 = 90;
    pub const LATER_DELAY_DAYS: i64 = 30;
}

/// Art. 67: denunciation.
pub mod art67 {
    use super::ArticleRef;

    /// Denunciation takes effect one year after the Secretary-General receives it.
    pub const DENUNCIATION: ArticleRef = ArticleRef::exact(67, "");
    pub const DELAY_YEARS: i16 = 1;
    /// A regional economic integration organization ceases to be a Party when all its member
    /// States have denounced the Convention.
    pub const REGIONAL_ORGANIZATION: ArticleRef = ArticleRef::approx(67, "(2)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_display_as_citations() {
        assert_eq!(art42::AUTHORITY.to_string(), "Art. 42(2)(a)");
        let r = art42::DUAL_CRIMINALITY_RESERVATION;
        assert_eq!(r.short(), "42(5)");
        for text in [
            "42(5)",
            "Art. 42(5)",
            "article 42, paragraph 5",
            "Art. 42 para. 5",
            "ARTICLE 42 (5)",
        ] {
            assert!(r.matches_text(text), "{text}");
        }
        for text in ["42(6)", "42", "4(25)", "article 43, paragraph 5", ""] {
            assert!(!r.matches_text(text), "{text}");
        }
        assert_eq!(art42::ARTICLE.to_string(), "Art. 42");
        assert_eq!(art40::DISCRIMINATION.to_string(), "Art. 40(22)");
        assert_eq!(art41::POINT_OF_CONTACT.to_string(), "Art. 41(1)");
    }
}
