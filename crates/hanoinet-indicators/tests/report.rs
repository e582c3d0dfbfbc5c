//! What a citizen sends: every fault named with its field, all at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanoinet_indicators::Context;
use hanoinet_indicators::report::{Category, check};
use jiff::Timestamp;
use serde_json::{Value, json};

fn now() -> Timestamp {
    "2026-12-01T12:00:00Z".parse().unwrap()
}

fn faults(body: Value) -> Vec<(String, String)> {
    let cx = Context::for_state("VNM").unwrap();
    match check(&body, &cx, now()) {
        Ok(r) => panic!("accepted: {r:?}"),
        Err(e) => e.into_iter().map(|f| (f.field, f.message)).collect(),
    }
}

fn fields(body: Value) -> Vec<String> {
    faults(body).into_iter().map(|(f, _)| f).collect()
}

#[test]
fn a_full_report_is_checked_and_canonical() {
    let cx = Context::for_state("VNM").unwrap();
    let body = json!({
        "category": "scam_call",
        "description": "  A man said he was from the police and asked for a transfer.  ",
        "occurred_at": "2026-11-30T21:15:00+07:00",
        "loss": {"amount": "15000000", "currency": "vnd"},
        "payment_method": "bank_transfer",
        "contact": "0912 000 111",
        "consent": true,
        "indicators": [
            {"type": "phone", "value": "0912 345 678"},
            {"type": "phone", "value": "+84912345678"},
            {"type": "bank_account", "value": "0071 0001 23456", "bank": "VCB"}
        ]
    });
    let r = check(&body, &cx, now()).unwrap();
    assert_eq!(r.category, Category::ScamCall);
    assert_eq!(
        r.description,
        "A man said he was from the police and asked for a transfer."
    );
    assert_eq!(r.occurred_at.unwrap().to_string(), "2026-11-30T14:15:00Z");
    let loss = r.loss.unwrap();
    assert_eq!(
        (loss.minor, loss.currency, loss.amount()),
        (15_000_000, "VND", "15000000".into())
    );
    assert_eq!(r.contact.as_deref(), Some("0912 000 111"));
    // The same number twice is one indicator.
    assert_eq!(r.indicators.len(), 2);
    assert_eq!(r.indicators[0].canonical, "+84912345678");
    assert_eq!(r.indicators[1].canonical, "VN:VCB:0071000123456");
}

#[test]
fn amounts_follow_the_currency_minor_unit() {
    let cx = Context::for_state("VNM").unwrap();
    let with = |amount: Value, currency: &str| {
        check(
            &json!({"category": "other", "description": "x", "loss": {"amount": amount, "currency": currency}}),
            &cx,
            now(),
        )
    };
    assert_eq!(with(json!(12.5), "USD").unwrap().loss.unwrap().minor, 1250);
    assert_eq!(
        with(json!("12.50"), "EUR").unwrap().loss.unwrap().amount(),
        "12.50"
    );
    assert_eq!(
        with(json!("1.005"), "KWD").unwrap().loss.unwrap().minor,
        1005
    );
    for (amount, currency, words) in [
        (json!("12.5"), "VND", "more decimals"),
        (json!(0), "USD", "more than zero"),
        (json!(-5), "USD", "positive number"),
        (json!("1e9"), "USD", "positive number"),
        (json!("12,50"), "EUR", "positive number"),
        (json!("  "), "EUR", "positive number"),
        (json!(1e300), "USD", "positive number"),
        (json!("99999999999999999999"), "USD", "too large"),
        (json!("1000000000001"), "USD", "larger than"),
        (json!(10), "XYZ", "ISO 4217"),
        (json!(10), "XAU", "no minor unit"),
        (json!(10), "", "ISO 4217"),
    ] {
        let errs = with(amount.clone(), currency).expect_err(&format!("{amount} {currency}"));
        assert!(
            errs.iter().any(|e| e.message.contains(words)),
            "{amount} {currency}: {errs:?}"
        );
    }
}

#[test]
fn every_fault_is_named_with_its_field_at_once() {
    let got = fields(json!({
        "category": "lottery",
        "description": 12,
        "occurred_at": "yesterday",
        "loss": {"amount": 10, "currency": "ABC", "tip": 1},
        "payment_method": "cheque",
        "contact": "me@example.com",
        "indicators": [
            {"type": "phone", "value": "hello"},
            {"type": "fax", "value": "123"},
            "not an object",
            {"type": "url", "value": "javascript:alert(1)", "extra": true},
            {"type": "bank_account", "value": "0071000123456"}
        ],
        "admin": true
    }));
    for expected in [
        "category",
        "description",
        "occurred_at",
        "loss.currency",
        "loss.tip",
        "payment_method",
        "contact",
        "indicators[0].value",
        "indicators[1].type",
        "indicators[2]",
        "indicators[3].value",
        "indicators[3].extra",
        "indicators[4].bank",
        "admin",
    ] {
        assert!(
            got.iter().any(|f| f == expected),
            "no fault for {expected}: {got:?}"
        );
    }
}

#[test]
fn hostile_bodies_are_refused_with_reasons() {
    assert_eq!(fields(json!([1, 2])), ["body"]);
    assert_eq!(fields(json!("report")), ["body"]);
    assert_eq!(fields(json!({})), ["category", "description"]);
    assert_eq!(fields(json!({"category": "other"})), ["description"]);
    assert_eq!(
        fields(json!({"category": "other", "description": "   "})),
        ["description"]
    );
    assert_eq!(
        fields(json!({"category": "other", "description": "x".repeat(5001)})),
        ["description"]
    );
    assert_eq!(
        fields(json!({"category": "other", "description": "a\u{0}b"})),
        ["description"]
    );
    assert_eq!(
        fields(json!({"category": "other", "description": "x", "occurred_at": "2027-01-01"})),
        ["occurred_at"]
    );
    assert_eq!(
        fields(json!({"category": "other", "description": "x", "occurred_at": "1970-01-01"})),
        ["occurred_at"]
    );
    assert_eq!(
        fields(json!({"category": "other", "description": "x", "consent": "yes"})),
        ["consent"]
    );
    assert_eq!(
        fields(json!({"category": "other", "description": "x", "contact": "me", "consent": false})),
        ["contact"]
    );
    assert_eq!(
        fields(json!({"category": "other", "description": "x", "indicators": {"type": "phone"}})),
        ["indicators"]
    );
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"type": "sms_sender", "value": format!("S{i}")}))
        .collect();
    assert_eq!(
        fields(json!({"category": "other", "indicators": many})),
        ["indicators"]
    );
    assert_eq!(
        fields(json!({"category": "other", "indicators": [{"type": "phone"}]})),
        ["indicators[0].value"]
    );
    assert_eq!(
        fields(json!({"category": "other", "indicators": [{"type": "phone", "value": 912345678}]})),
        ["indicators[0]"]
    );
    assert_eq!(
        fields(json!({"category": null, "description": "x"})),
        ["category"]
    );
    assert_eq!(
        fields(json!({"category": ["other"], "description": "x"})),
        ["category"]
    );
}

#[test]
fn a_contact_without_consent_is_never_kept() {
    let cx = Context::for_state("VNM").unwrap();
    // Consent without a contact is fine; a date alone is midnight UTC.
    let r = check(&json!({"category": "other", "description": "x", "consent": true, "occurred_at": "2026-11-30"}), &cx, now()).unwrap();
    assert_eq!(r.contact, None);
    assert_eq!(r.occurred_at.unwrap().to_string(), "2026-11-30T00:00:00Z");
    let f = faults(json!({"category": "other", "description": "x", "contact": "me@example.com"}));
    assert!(f[0].1.contains("consent"), "{f:?}");
}
