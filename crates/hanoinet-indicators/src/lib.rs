//! Fraud indicators: the phone numbers, links, domains, addresses, accounts, handles and sender
//! names citizens report, each brought to one canonical form by its own field's library, and the
//! identity every party computes from that form.
//!
//! The identity of an indicator is `sha256("<type>:<canonical form>")` in lower-case hex
//! ([`identity`]); PROTOCOL.md § "Indicators" gives the rules and test vectors, so a bank, a telco
//! or a browser computes the same hash before it asks.
//!
//! One module per family of types: [`phone`] (phone numbers, SMS senders), [`web`] (URLs, domains,
//! e-mail addresses), [`money`] (IBANs, national bank accounts), [`crypto`] (Bitcoin, Ethereum and
//! TRON addresses) and [`social`] (handles on social platforms). [`report`] checks what a citizen
//! sends with a report.
//!
//! **Architecture Invariant:** this crate does no I/O; every rule is a function of its input and
//! the [`Context`] (the node's State).

pub mod crypto;
pub mod money;
pub mod phone;
pub mod report;
pub mod social;
pub mod web;

use serde::Serialize;
use sha2::{Digest, Sha256};

hanoinet_core::names! {
    /// What an indicator is.
    pub enum IndicatorType {
        Phone => "phone",
        Url => "url",
        Domain => "domain",
        Email => "email",
        Iban => "iban",
        BankAccount => "bank_account",
        CryptoAddress => "crypto_address",
        SocialHandle => "social_handle",
        SmsSender => "sms_sender",
    }
}

hanoinet_core::names! {
    /// What analysts decided about an indicator.
    pub enum IndicatorStatus {
        /// Reported, not decided yet.
        Reported => "reported",
        /// Confirmed: published according to its TLP level until it expires.
        Confirmed => "confirmed",
        /// Looked at and found not to be fraudulent.
        FalsePositive => "false_positive",
    }
}

hanoinet_core::names! {
    /// Traffic Light Protocol 2.0: who may see a confirmed indicator.
    pub enum Tlp {
        /// Public: shown on the public pages and in the feeds.
        Clear => "clear",
        /// The community: partner institutions and nodes.
        Green => "green",
        /// Named recipients only.
        Amber => "amber",
        /// This node's analysts only.
        Red => "red",
    }
}

/// Where the indicators are reported: the State whose numbering plan and banks are the default.
#[derive(Debug, Clone)]
pub struct Context {
    /// ISO 3166-1 alpha-2 code of the node's State (`VN`), upper case.
    alpha2: &'static str,
    region: phonenumber::country::Id,
}

impl Context {
    /// The context of a node in the State with this ISO 3166-1 alpha-3 code (`VNM`).
    pub fn for_state(alpha3: &str) -> Result<Context, Rejection> {
        let country = isocountry::CountryCode::for_alpha3_caseless(alpha3)
            .map_err(|_| Rejection::new("state", "is not an ISO 3166-1 alpha-3 code"))?;
        let alpha2 = country.alpha2();
        let region = alpha2
            .parse::<phonenumber::country::Id>()
            .map_err(|_| Rejection::new("state", "has no telephone numbering plan"))?;
        Ok(Context { alpha2, region })
    }

    /// ISO 3166-1 alpha-2 code of the State (`VN`).
    pub fn alpha2(&self) -> &'static str {
        self.alpha2
    }

    pub(crate) fn region(&self) -> phonenumber::country::Id {
        self.region
    }
}

/// A value refused, with the reason in words a citizen understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct Rejection {
    /// The part of the input that is wrong (`value`, `bank`, `platform`…).
    pub field: &'static str,
    /// Why, as a phrase that follows the field's name.
    pub reason: String,
}

impl Rejection {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Rejection {
        Rejection {
            field,
            reason: reason.into(),
        }
    }
}

/// What a citizen or a partner gives: a type, a value and, for two types, a qualifier.
#[derive(Debug, Clone, Default)]
pub struct Raw<'a> {
    /// The value as typed or pasted.
    pub value: &'a str,
    /// `bank_account`: the bank (its national code, BIC or name).
    pub bank: Option<&'a str>,
    /// `social_handle`: the platform (see [`social::PLATFORMS`]).
    pub platform: Option<&'a str>,
}

/// The longest value accepted for any type, in bytes (a URL's practical limit).
pub const MAX_VALUE_BYTES: usize = 2048;

/// An indicator in its canonical form, with its identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Indicator {
    /// The type (may differ from the one given: a bank account that is an IBAN is an `iban`).
    #[serde(rename = "type")]
    pub kind: IndicatorType,
    /// The canonical form.
    pub canonical: String,
    /// `sha256("<type>:<canonical>")`, lower-case hex.
    pub hash: String,
}

impl Indicator {
    pub(crate) fn new(kind: IndicatorType, canonical: String) -> Indicator {
        let hash = identity(kind, &canonical);
        Indicator {
            kind,
            canonical,
            hash,
        }
    }
}

/// The identity of an indicator: `sha256("<type>:<canonical>")` in lower-case hex.
pub fn identity(kind: IndicatorType, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_str().as_bytes());
    h.update(b":");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// Whether `s` is an indicator identity: 64 lower-case hex characters.
pub fn is_identity(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Brings a value of the given type to its canonical form.
pub fn normalise(kind: IndicatorType, raw: &Raw<'_>, cx: &Context) -> Result<Indicator, Rejection> {
    let value = raw.value.trim();
    if value.is_empty() {
        return Err(Rejection::new("value", "is empty"));
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(Rejection::new(
            "value",
            format!("is longer than {MAX_VALUE_BYTES} bytes"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Rejection::new("value", "contains control characters"));
    }
    match kind {
        IndicatorType::Phone => phone::phone(value, cx),
        IndicatorType::SmsSender => phone::sms_sender(value, cx),
        IndicatorType::Url => web::url(value),
        IndicatorType::Domain => web::domain(value),
        IndicatorType::Email => web::email(value),
        IndicatorType::Iban => money::iban(value),
        IndicatorType::BankAccount => money::bank_account(value, raw.bank, cx),
        IndicatorType::CryptoAddress => crypto::address(value),
        IndicatorType::SocialHandle => social::handle(value, raw.platform),
    }
}
