//! The Convention catalogue: the one table of article and paragraph references.
//!
//! Every reference the code shows to a user (validation errors, refusal grounds, the API's
//! field descriptions) comes from here, never from a string literal elsewhere, so a legal
//! reviewer corrects a reference in one place. Paragraph numbers inside Art. 40 and Art. 42
//! follow `CONVENTION.md`; where the adopted text is known only approximately, the reference is
//! marked `approximate`.

use std::fmt;

use serde::Serialize;

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

impl fmt::Display for ArticleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Art. {}{}", self.article, self.paragraph)
    }
}

/// Art. 42: expedited preservation of stored electronic data.
pub mod art42 {
    use super::ArticleRef;

    pub const ARTICLE: ArticleRef = ArticleRef::exact(42, "");
    pub const AUTHORITY: ArticleRef = ArticleRef::exact(42, "(2)(a)");
    pub const OFFENCE_AND_FACTS: ArticleRef = ArticleRef::exact(42, "(2)(b)");
    pub const DATA_AND_RELATIONSHIP: ArticleRef = ArticleRef::exact(42, "(2)(c)");
    pub const CUSTODIAN_OR_LOCATION: ArticleRef = ArticleRef::exact(42, "(2)(d)");
    pub const NECESSITY: ArticleRef = ArticleRef::exact(42, "(2)(e)");
    pub const MLA_TO_FOLLOW: ArticleRef = ArticleRef::exact(42, "(2)(f)");
    pub const CONFIDENTIALITY: ArticleRef = ArticleRef::exact(42, "(2)(g)");
    /// Dual criminality is not required for preservation.
    pub const NO_DUAL_CRIMINALITY: ArticleRef = ArticleRef::approx(42, "(4)");
    /// The reservation allowing refusal where dual criminality will not be met at disclosure.
    pub const DUAL_CRIMINALITY_RESERVATION: ArticleRef = ArticleRef::exact(42, "(5)");
    /// Preservation may be refused only on the grounds of Art. 40(21)(b)-(d) and 40(22).
    pub const REFUSAL_GROUNDS: ArticleRef = ArticleRef::approx(42, "(6)");
    /// The requested State informs promptly when preservation will not ensure availability.
    pub const INFORM_REQUESTER: ArticleRef = ArticleRef::exact(42, "(7)");
    /// Preservation lasts not less than 60 days.
    pub const MINIMUM_PERIOD: ArticleRef = ArticleRef::approx(42, "(8)");
    /// The minimum preservation period in days.
    pub const MINIMUM_PERIOD_DAYS: i64 = 60;
}

/// Art. 40: general principles and procedures of mutual legal assistance.
pub mod art40 {
    use super::ArticleRef;

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
}

/// Art. 41: the 24/7 network.
pub mod art41 {
    use super::ArticleRef;

    pub const POINT_OF_CONTACT: ArticleRef = ArticleRef::exact(41, "(1)");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_display_as_citations() {
        assert_eq!(art42::AUTHORITY.to_string(), "Art. 42(2)(a)");
        assert_eq!(art42::ARTICLE.to_string(), "Art. 42");
        assert_eq!(art40::DISCRIMINATION.to_string(), "Art. 40(22)");
        assert_eq!(art41::POINT_OF_CONTACT.to_string(), "Art. 41(1)");
    }
}
