//! What a citizen sends with a report, checked field by field: every fault is named with its
//! field (`indicators[2].value`), all of them at once, so a form can mark each.

use crate::{Context, Indicator, IndicatorType, Raw, normalise};
use hanoinet_core::request::FieldCode;
use hanoinet_core::text::{Lines, TextError, clean};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use serde::Serialize;
use serde_json::{Map, Value};

hanoinet_core::names! {
    /// What happened to the reporter.
    pub enum Category {
        PhishingSite => "phishing_site",
        ScamCall => "scam_call",
        ScamSms => "scam_sms",
        InvestmentOrRomanceScam => "investment_or_romance_scam",
        ImpersonationOfAuthority => "impersonation_of_authority",
        OnlineShoppingFraud => "online_shopping_fraud",
        Extortion => "extortion",
        AccountTakeover => "account_takeover",
        ChildSexualAbuseMaterial => "child_sexual_abuse_material",
        Other => "other",
    }
}

impl Category {
    /// Child sexual abuse material: no files, no content shown, a restricted queue.
    pub fn is_restricted(self) -> bool {
        self == Category::ChildSexualAbuseMaterial
    }
}

hanoinet_core::names! {
    /// How the reporter paid, if they lost money.
    pub enum PaymentMethod {
        BankTransfer => "bank_transfer",
        Card => "card",
        EWallet => "e_wallet",
        MobileMoney => "mobile_money",
        Crypto => "crypto",
        GiftCard => "gift_card",
        Cash => "cash",
        Other => "other",
    }
}

hanoinet_core::names! {
    /// Where a report stands, as its reporter sees it.
    pub enum ReportStatus {
        Received => "received",
        InReview => "in_review",
        Confirmed => "confirmed",
        Closed => "closed",
    }
}

/// The longest description, in characters.
pub const MAX_DESCRIPTION: usize = 5000;
/// The most indicators one report may carry.
pub const MAX_INDICATORS: usize = 20;
/// The longest contact, in characters.
pub const MAX_CONTACT: usize = 200;
/// The largest loss accepted, in major units (above any real fraud; below i64 minor units).
pub const MAX_LOSS_MAJOR: u64 = 1_000_000_000_000;

/// A loss: an amount in the currency's minor units (cents, đồng…) and its ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loss {
    /// The amount in minor units.
    pub minor: i64,
    /// ISO 4217 alphabetic code.
    pub currency: &'static str,
    /// Digits after the decimal point in this currency.
    pub exponent: u16,
}

impl Loss {
    /// The amount in major units as a decimal string (`1500000`, `12.50`).
    pub fn amount(&self) -> String {
        format_minor(self.minor, self.exponent)
    }
}

/// An amount in minor units of an ISO 4217 currency, written in major units (`1250`, `USD` →
/// `12.50`); a code without a minor unit is written as is.
pub fn format_amount(minor: i64, currency: &str) -> String {
    let exponent = iso_currency::Currency::from_code(currency)
        .and_then(|c| c.exponent())
        .unwrap_or(0);
    format_minor(minor, exponent)
}

/// Minor units written in major units (`1250`, 2 → `12.50`).
pub fn format_minor(minor: i64, exponent: u16) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(u32::from(exponent));
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = usize::from(exponent)
    )
}

/// A report as checked: every field valid, every indicator canonical and distinct.
#[derive(Debug, Clone)]
pub struct Report {
    /// What happened.
    pub category: Category,
    /// In the reporter's words.
    pub description: String,
    /// When it happened, if the reporter says.
    pub occurred_at: Option<Timestamp>,
    /// What was lost, if anything.
    pub loss: Option<Loss>,
    /// How it was paid.
    pub payment_method: Option<PaymentMethod>,
    /// How to reach the reporter: present only with their consent.
    pub contact: Option<String>,
    /// The indicators, canonical, without duplicates, in the order given.
    pub indicators: Vec<Indicator>,
}

/// One fault in a report: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field, as a path (`loss.currency`, `indicators[1].value`).
    pub field: String,
    /// What kind of fault (the API's `details[].code`; a form words it for the citizen).
    pub code: FieldCode,
    /// What is wrong, in a sentence.
    pub message: String,
}

fn fault(
    errors: &mut Vec<FieldError>,
    field: impl Into<String>,
    code: FieldCode,
    message: impl Into<String>,
) {
    errors.push(FieldError {
        field: field.into(),
        code,
        message: message.into(),
    });
}

const FIELDS: &[&str] = &[
    "category",
    "description",
    "occurred_at",
    "loss",
    "payment_method",
    "contact",
    "consent",
    "indicators",
];

/// Checks a report's JSON body; `now` bounds `occurred_at`.
pub fn check(body: &Value, cx: &Context, now: Timestamp) -> Result<Report, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = body.as_object() else {
        fault(
            &mut errors,
            "body",
            FieldCode::Invalid,
            "must be a JSON object",
        );
        return Err(errors);
    };
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            fault(
                &mut errors,
                key.as_str(),
                FieldCode::UnknownField,
                format!("is not a field of a report (fields: {})", FIELDS.join(", ")),
            );
        }
    }
    let category = match obj.get("category") {
        Some(Value::String(s)) => Category::parse(s).or_else(|| {
            fault(
                &mut errors,
                "category",
                FieldCode::Invalid,
                format!("must be one of {}", names(Category::ALL)),
            );
            None
        }),
        None | Some(Value::Null) => {
            fault(
                &mut errors,
                "category",
                FieldCode::Missing,
                format!("is required: one of {}", names(Category::ALL)),
            );
            None
        }
        Some(_) => {
            fault(
                &mut errors,
                "category",
                FieldCode::Invalid,
                "must be a string",
            );
            None
        }
    };
    let description = text(
        obj,
        "description",
        MAX_DESCRIPTION,
        Lines::Many,
        &mut errors,
    )
    .unwrap_or_default();
    let occurred_at = occurred(obj, now, &mut errors);
    let loss = loss(obj, &mut errors);
    let payment_method = match obj.get("payment_method") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => PaymentMethod::parse(s).or_else(|| {
            fault(
                &mut errors,
                "payment_method",
                FieldCode::Invalid,
                format!("must be one of {}", names(PaymentMethod::ALL)),
            );
            None
        }),
        Some(_) => {
            fault(
                &mut errors,
                "payment_method",
                FieldCode::Invalid,
                "must be a string",
            );
            None
        }
    };
    let consent = match obj.get("consent") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            fault(
                &mut errors,
                "consent",
                FieldCode::Invalid,
                "must be true or false",
            );
            false
        }
    };
    let contact = text(obj, "contact", MAX_CONTACT, Lines::One, &mut errors);
    if contact.is_some() && !consent {
        fault(
            &mut errors,
            "contact",
            FieldCode::NotAllowed,
            "is kept only with the reporter's consent: set consent to true, or leave contact out",
        );
    }
    let indicators = indicators(obj, cx, &mut errors);
    let named = |f: &str| errors.iter().any(|e: &FieldError| e.field.starts_with(f));
    if description.is_empty()
        && indicators.is_empty()
        && !named("indicators")
        && !named("description")
    {
        fault(
            &mut errors,
            "description",
            FieldCode::Missing,
            "is required when no indicator is given",
        );
    }
    match (errors.is_empty(), category) {
        (true, Some(category)) => Ok(Report {
            category,
            description,
            occurred_at,
            loss,
            payment_method,
            contact: contact.filter(|_| consent),
            indicators,
        }),
        _ => Err(errors),
    }
}

fn names<T: Copy + Into<String>>(all: &[T]) -> String {
    all.iter()
        .map(|x| (*x).into())
        .collect::<Vec<String>>()
        .join(", ")
}

/// An optional text field under the house text policy (`hanoinet_core::text`: trimmed, no
/// control or bidirectional-override characters, a length limit); `None` when absent or blank.
fn text(
    obj: &Map<String, Value>,
    field: &str,
    max: usize,
    lines: Lines,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match clean(s, max, lines) {
            Ok(t) => Some(t),
            Err(TextError::Empty) => None,
            Err(e) => {
                fault(errors, field, e.code(), e.to_string());
                None
            }
        },
        Some(_) => {
            fault(errors, field, FieldCode::Invalid, "must be a string");
            None
        }
    }
}

/// `occurred_at`: an RFC 3339 time or a calendar date (`2026-11-30`, read as midnight UTC), not
/// in the future and not before 1990.
fn occurred(
    obj: &Map<String, Value>,
    now: Timestamp,
    errors: &mut Vec<FieldError>,
) -> Option<Timestamp> {
    let s = match obj.get("occurred_at") {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) if s.trim().is_empty() => return None,
        Some(Value::String(s)) => s.trim(),
        Some(_) => {
            fault(
                errors,
                "occurred_at",
                FieldCode::Invalid,
                "must be a date (2026-11-30) or a time (2026-11-30T21:15:00+07:00)",
            );
            return None;
        }
    };
    let at = s.parse::<Timestamp>().ok().or_else(|| {
        s.parse::<Date>()
            .ok()
            .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    });
    let Some(at) = at else {
        fault(
            errors,
            "occurred_at",
            FieldCode::Invalid,
            "must be a date (2026-11-30) or a time (2026-11-30T21:15:00+07:00)",
        );
        return None;
    };
    let earliest = Timestamp::from_second(631_152_000).unwrap_or(Timestamp::UNIX_EPOCH); // 1990-01-01
    if at > now + jiff::SignedDuration::from_hours(24) {
        fault(
            errors,
            "occurred_at",
            FieldCode::OutOfRange,
            "is in the future",
        );
        None
    } else if at < earliest {
        fault(
            errors,
            "occurred_at",
            FieldCode::OutOfRange,
            "is before 1990",
        );
        None
    } else {
        Some(at)
    }
}

/// `loss`: `{"amount": 1500000, "currency": "VND"}`; the amount a number or a decimal string,
/// positive, with no more decimals than the currency has.
fn loss(obj: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Loss> {
    let loss = match obj.get("loss") {
        None | Some(Value::Null) => return None,
        Some(Value::Object(o)) => o,
        Some(_) => {
            fault(
                errors,
                "loss",
                FieldCode::Invalid,
                "must be an object: {\"amount\": 1500000, \"currency\": \"VND\"}",
            );
            return None;
        }
    };
    for key in loss.keys() {
        if key != "amount" && key != "currency" {
            fault(
                errors,
                format!("loss.{key}"),
                FieldCode::UnknownField,
                "is not a field of a loss (amount, currency)",
            );
        }
    }
    let currency = match loss.get("currency") {
        Some(Value::String(code)) => {
            match iso_currency::Currency::from_code(&code.trim().to_ascii_uppercase()) {
                Some(c) => match c.exponent() {
                    Some(exponent) => Some((c.code(), exponent)),
                    None => {
                        fault(
                            errors,
                            "loss.currency",
                            FieldCode::Invalid,
                            "is not a currency of money (it has no minor unit)",
                        );
                        None
                    }
                },
                None => {
                    fault(
                        errors,
                        "loss.currency",
                        FieldCode::Invalid,
                        "is not an ISO 4217 currency code (like VND, USD, EUR)",
                    );
                    None
                }
            }
        }
        _ => {
            fault(
                errors,
                "loss.currency",
                FieldCode::Missing,
                "is required: an ISO 4217 currency code (like VND, USD, EUR)",
            );
            None
        }
    };
    let amount = match loss.get("amount") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        _ => {
            fault(
                errors,
                "loss.amount",
                FieldCode::Missing,
                "is required: a positive number",
            );
            None
        }
    };
    let (currency, exponent) = currency?;
    let minor = match minor_units(&amount?, exponent) {
        Ok(m) => m,
        Err(why) => {
            fault(errors, "loss.amount", FieldCode::Invalid, why);
            return None;
        }
    };
    Some(Loss {
        minor,
        currency,
        exponent,
    })
}

/// A positive decimal in major units to minor units.
fn minor_units(amount: &str, exponent: u16) -> Result<i64, String> {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(
            "must be a positive number written with digits and at most one decimal point".into(),
        );
    }
    if frac.len() > usize::from(exponent) {
        return Err(format!(
            "has more decimals than the currency has ({exponent})"
        ));
    }
    let whole: u64 = whole.parse().map_err(|_| "is too large".to_owned())?;
    if whole > MAX_LOSS_MAJOR {
        return Err(format!("is larger than {MAX_LOSS_MAJOR}"));
    }
    let scale = 10u64.pow(u32::from(exponent));
    let frac_value: u64 = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<width$}", width = usize::from(exponent));
        padded.parse().map_err(|_| "is not a number".to_owned())?
    };
    let minor = whole * scale + frac_value;
    if minor == 0 {
        return Err("must be more than zero".into());
    }
    i64::try_from(minor).map_err(|_| "is too large".into())
}

/// `indicators`: a list of `{"type", "value"}` (with `bank` or `platform` where the type needs
/// one), canonical and without duplicates.
fn indicators(
    obj: &Map<String, Value>,
    cx: &Context,
    errors: &mut Vec<FieldError>,
) -> Vec<Indicator> {
    let list = match obj.get("indicators") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(list)) => list,
        Some(_) => {
            fault(
                errors,
                "indicators",
                FieldCode::Invalid,
                "must be a list of {\"type\", \"value\"}",
            );
            return Vec::new();
        }
    };
    if list.len() > MAX_INDICATORS {
        fault(
            errors,
            "indicators",
            FieldCode::OutOfRange,
            format!("has more than {MAX_INDICATORS} items"),
        );
        return Vec::new();
    }
    let mut out: Vec<Indicator> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let at = |f: &str| format!("indicators[{i}].{f}");
        let Some(item) = item.as_object() else {
            fault(
                errors,
                format!("indicators[{i}]"),
                FieldCode::Invalid,
                "must be an object {\"type\", \"value\"}",
            );
            continue;
        };
        for key in item.keys() {
            if !matches!(key.as_str(), "type" | "value" | "bank" | "platform") {
                fault(
                    errors,
                    at(key),
                    FieldCode::UnknownField,
                    "is not a field of an indicator (type, value, bank, platform)",
                );
            }
        }
        let kind = match item.get("type") {
            Some(Value::String(s)) => IndicatorType::parse(s),
            _ => None,
        };
        let Some(kind) = kind else {
            fault(
                errors,
                at("type"),
                FieldCode::Invalid,
                format!("must be one of {}", names(IndicatorType::ALL)),
            );
            continue;
        };
        let string = |f: &str| match item.get(f) {
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(()),
        };
        let (Ok(value), Ok(bank), Ok(platform)) =
            (string("value"), string("bank"), string("platform"))
        else {
            fault(
                errors,
                format!("indicators[{i}]"),
                FieldCode::Invalid,
                "value, bank and platform must be strings",
            );
            continue;
        };
        let Some(value) = value else {
            fault(errors, at("value"), FieldCode::Missing, "is required");
            continue;
        };
        match normalise(
            kind,
            &Raw {
                value,
                bank,
                platform,
            },
            cx,
        ) {
            Ok(ind) => {
                if !out.iter().any(|o| o.hash == ind.hash) {
                    out.push(ind);
                }
            }
            Err(r) => fault(errors, at(r.field), FieldCode::Invalid, r.reason),
        }
    }
    out
}
