//! The demo's response centre: sample citizens' reports (DEMO DATA: fictitious people, numbers,
//! accounts and sites) taken in through the same use case as a real report, and a few of their
//! indicators confirmed by the demo's analyst, so that the public check finds something.

use serde_json::{Value, json};

use hanoinet_store::ReportFilter;

use crate::node::Node;

/// The sample reports (their language, body).
fn samples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "vi",
            json!({
                "category": "impersonation_of_authority",
                "description": "DEMO DATA. A caller said he was a police officer investigating money laundering and told me to move my savings to a 'safe account'.",
                "occurred_at": "2026-11-28",
                "loss": {"amount": 150000000, "currency": "VND"},
                "payment_method": "bank_transfer",
                "indicators": [
                    {"type": "phone", "value": "0799 123 456"},
                    {"type": "bank_account", "value": "1903 4567 8901", "bank": "DEMOBANK"}
                ]
            }),
        ),
        (
            "vi",
            json!({
                "category": "scam_call",
                "description": "DEMO DATA. Same voice, same story: 'your ID card was used to open an account'.",
                "occurred_at": "2026-11-29",
                "indicators": [{"type": "phone", "value": "+84 799 123 456"}]
            }),
        ),
        (
            "vi",
            json!({
                "category": "scam_sms",
                "description": "DEMO DATA. An SMS said my bank account would be locked and gave a link to 'verify'.",
                "occurred_at": "2026-11-30T08:12:00+07:00",
                "indicators": [
                    {"type": "sms_sender", "value": "DEMO-BANK"},
                    {"type": "url", "value": "http://demobank-xacminh.example/dang-nhap?id=8812"}
                ]
            }),
        ),
        (
            "en",
            json!({
                "category": "phishing_site",
                "description": "DEMO DATA. A page that looks like my bank's log-in page.",
                "indicators": [{"type": "domain", "value": "login.demobank-xacminh.example"}]
            }),
        ),
        (
            "en",
            json!({
                "category": "investment_or_romance_scam",
                "description": "DEMO DATA. Met someone online who showed me a trading app; I deposited crypto and cannot withdraw.",
                "occurred_at": "2026-11-15",
                "loss": {"amount": "2500.00", "currency": "USD"},
                "payment_method": "crypto",
                "indicators": [
                    {"type": "crypto_address", "value": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"},
                    {"type": "social_handle", "value": "@demo_trader_anna", "platform": "telegram"}
                ]
            }),
        ),
        (
            "vi",
            json!({
                "category": "online_shopping_fraud",
                "description": "DEMO DATA. Paid for a phone on a social-media shop; nothing arrived and the page vanished.",
                "loss": {"amount": 8900000, "currency": "VND"},
                "payment_method": "bank_transfer",
                "indicators": [
                    {"type": "bank_account", "value": "1903-4567-8901", "bank": "demobank"},
                    {"type": "social_handle", "value": "https://www.facebook.com/demo.shop.giare", "platform": null}
                ]
            }),
        ),
        (
            "en",
            json!({
                "category": "account_takeover",
                "description": "DEMO DATA. Someone took over my e-mail after a 'security alert' message.",
                "indicators": [{"type": "email", "value": "Security-Team@DemoBank-Support.example"}]
            }),
        ),
        (
            "fr",
            json!({
                "category": "extortion",
                "description": "DEMO DATA. Un message menaçait de publier des photos si je ne payais pas.",
                "loss": {"amount": "300", "currency": "EUR"},
                "indicators": [{"type": "iban", "value": "DE89 3704 0044 0532 0130 00"}]
            }),
        ),
    ]
}

/// Takes in the sample reports once (nothing happens on a node that has reports already) and
/// has the analyst `analyst` confirm the recurring phone number (TLP:CLEAR) and the phishing
/// domain (TLP:GREEN). Returns how many reports were added.
pub async fn seed(state: &Node) -> anyhow::Result<usize> {
    let any = state
        .store
        .reports(&ReportFilter {
            limit: 1,
            ..ReportFilter::default()
        })
        .await?;
    if !any.is_empty() {
        return Ok(0);
    }
    let mut phone = None;
    let mut domain = None;
    let mut n = 0;
    for (lang, body) in samples() {
        let done = crate::ops::reports::submit(state, &body, lang).await?;
        for i in &done.indicators {
            match i.kind {
                hanoinet_indicators::IndicatorType::Phone => phone = Some(i.hash.clone()),
                hanoinet_indicators::IndicatorType::Domain => domain = Some(i.hash.clone()),
                _ => {}
            }
        }
        n += 1;
    }
    if let Some(analyst) = state.store.user_by_name("analyst").await? {
        let expires = (state.clock.now() + jiff::SignedDuration::from_hours(24 * 180)).to_string();
        for (hash, tlp) in [(phone, "clear"), (domain, "green")] {
            if let Some(hash) = hash {
                crate::ops::triage::decide(
                    state,
                    &analyst,
                    &hash,
                    &json!({"decision": "confirm", "tlp": tlp, "expires": expires}),
                )
                .await?;
            }
        }
    }
    Ok(n)
}
