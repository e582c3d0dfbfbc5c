//! Phone numbers (to E.164 by `phonenumber`, Google's libphonenumber metadata) and SMS senders.

use crate::{Context, Indicator, IndicatorType, Rejection};
use phonenumber::Mode;

/// A phone number, national or international, to E.164 (`+84912345678`). A national number is
/// read in the node's State; `00…`/`+…` numbers in their own. Refused unless the numbering plan
/// says the number is valid (a possible length is not enough).
pub fn phone(value: &str, cx: &Context) -> Result<Indicator, Rejection> {
    e164(value, cx).map(|n| Indicator::new(IndicatorType::Phone, n))
}

fn e164(value: &str, cx: &Context) -> Result<String, Rejection> {
    let number = phonenumber::parse(Some(cx.region()), value)
        .map_err(|_| Rejection::new("value", "is not a phone number"))?;
    if !phonenumber::is_valid(&number) {
        return Err(Rejection::new(
            "value",
            "is not a valid phone number in its country's numbering plan",
        ));
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

/// The longest alphanumeric sender ID a GSM network carries.
pub const MAX_SENDER_ID: usize = 11;

/// The sender of an SMS: a phone number (to E.164), a short code of the node's State
/// (`VN:8079`) or an alphanumeric sender ID (upper case, at most 11 characters: `VIETCOMBANK`).
pub fn sms_sender(value: &str, cx: &Context) -> Result<Indicator, Rejection> {
    let numeric = value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let canonical = if numeric {
        match e164(value, cx) {
            Ok(n) => n,
            Err(refused) => {
                let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                if (3..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                    format!("{}:{digits}", cx.alpha2())
                } else {
                    return Err(refused);
                }
            }
        }
    } else {
        if !value.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(Rejection::new(
                "value",
                "is not a sender ID: letters, digits and punctuation of the Latin alphabet only",
            ));
        }
        if value.chars().count() > MAX_SENDER_ID {
            return Err(Rejection::new(
                "value",
                format!("is longer than a sender ID can be ({MAX_SENDER_ID} characters)"),
            ));
        }
        value.to_ascii_uppercase()
    };
    Ok(Indicator::new(IndicatorType::SmsSender, canonical))
}
