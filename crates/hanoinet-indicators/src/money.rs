//! Bank accounts: IBANs (by `iban_validate`: the country's format and the check digits) and
//! national account numbers with their bank.

use crate::{Context, Indicator, IndicatorType, Rejection};
use iban::{Iban, IbanLike};

/// An IBAN, in its electronic form (`DE89370400440532013000`). Accepted with or without the
/// four-character groups of the paper form, in either case; refused when the check digits or the
/// country's format say it cannot exist.
pub fn iban(value: &str) -> Result<Indicator, Rejection> {
    parse_iban(value)
        .map(|iban| Indicator::new(IndicatorType::Iban, iban))
        .map_err(|e| Rejection::new("value", format!("is not a valid IBAN ({e})")))
}

fn parse_iban(value: &str) -> Result<String, iban::ParseIbanError> {
    let upper = value.to_ascii_uppercase();
    let upper = upper
        .strip_prefix("IBAN")
        .map(str::trim_start)
        .unwrap_or(&upper);
    let iban: Iban = upper.parse()?;
    Ok(iban.electronic_str().to_owned())
}

/// The shortest and longest national account number accepted (the IBAN's limit).
pub const ACCOUNT_DIGITS: std::ops::RangeInclusive<usize> = 4..=34;

/// The longest bank identifier accepted (a name, a national code or a BIC).
pub const MAX_BANK: usize = 64;

/// A national bank account: `<State alpha-2>:<BANK>:<NUMBER>` (`VN:VCB:0071000123456`), the
/// number without the spaces and hyphens of its printed form, the bank as given in upper case
/// without spaces. A value that is an IBAN becomes an `iban` indicator; a value in the canonical
/// form with no separate bank is read as such (so the canonical form is a fixed point).
pub fn bank_account(value: &str, bank: Option<&str>, cx: &Context) -> Result<Indicator, Rejection> {
    if let Ok(iban) = parse_iban(value) {
        return Ok(Indicator::new(IndicatorType::Iban, iban));
    }
    // The canonical form itself, as a partner sends it: `<alpha-2>:<bank>:<number>`.
    let mut country = cx.alpha2();
    let (value, bank) = match (bank, value.splitn(3, ':').collect::<Vec<_>>().as_slice()) {
        (None, [cc, bank, number]) => {
            country = isocountry::CountryCode::for_alpha2_caseless(cc)
                .map_err(|_| {
                    Rejection::new("value", "does not start with an ISO 3166-1 alpha-2 code")
                })?
                .alpha2();
            (*number, Some(*bank))
        }
        _ => (value, bank),
    };
    let number: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>();
    if !number.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Rejection::new(
            "value",
            "is not an account number (digits and letters only, spaces and hyphens allowed)",
        ));
    }
    if !ACCOUNT_DIGITS.contains(&number.len()) {
        return Err(Rejection::new(
            "value",
            format!(
                "is not an account number ({} to {} characters)",
                ACCOUNT_DIGITS.start(),
                ACCOUNT_DIGITS.end()
            ),
        ));
    }
    let bank = bank
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            Rejection::new(
                "bank",
                "is required for a bank account (its name, code or BIC)",
            )
        })?;
    let bank: String = bank
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("")
        .to_uppercase();
    if bank.chars().count() > MAX_BANK || bank.chars().any(|c| c.is_control() || c == ':') {
        return Err(Rejection::new(
            "bank",
            format!("is not a bank name or code (at most {MAX_BANK} characters, no colon)"),
        ));
    }
    let canonical = format!("{country}:{bank}:{}", number.to_ascii_uppercase());
    Ok(Indicator::new(IndicatorType::BankAccount, canonical))
}
