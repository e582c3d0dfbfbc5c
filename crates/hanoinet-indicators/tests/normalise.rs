//! Normalisation tables: per type, the forms people type and paste, and the hostile ones. Each
//! accepted value is checked twice: its canonical form, and that the canonical form is a fixed
//! point (a bank that normalises the canonical form again asks for the same hash).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hanoinet_indicators::{Context, IndicatorType, Raw, identity, normalise};

const OK: bool = true;
const NO: bool = false;

fn vn() -> Context {
    Context::for_state("VNM").unwrap()
}

/// Runs a table: `(input, accepted, canonical or the words the refusal must contain)`.
fn table(kind: IndicatorType, rows: &[(&str, bool, &str)], raw: impl Fn(&str) -> Raw<'_>) {
    let cx = vn();
    let mut failures = Vec::new();
    for (input, accepted, expected) in rows {
        match (normalise(kind, &raw(input), &cx), accepted) {
            (Ok(ind), true) => {
                if ind.canonical != *expected {
                    failures.push(format!(
                        "{input:?}: canonical {:?}, expected {expected:?}",
                        ind.canonical
                    ));
                }
                match normalise(ind.kind, &raw(&ind.canonical), &cx) {
                    Ok(again) if again == ind => {}
                    other => failures.push(format!(
                        "{input:?}: {:?} is not a fixed point: {other:?}",
                        ind.canonical
                    )),
                }
                assert_eq!(ind.hash, identity(ind.kind, &ind.canonical));
            }
            (Ok(ind), false) => failures.push(format!(
                "{input:?}: accepted as {:?}, should be refused",
                ind.canonical
            )),
            (Err(r), true) => {
                failures.push(format!("{input:?}: refused ({r}), expected {expected:?}"))
            }
            (Err(r), false) => {
                if !r.to_string().contains(expected) {
                    failures.push(format!(
                        "{input:?}: refused with {r:?}, expected words {expected:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{kind}:\n{}", failures.join("\n"));
    // Hostile: refused, or accepted only by rewriting it (a national format, mixed case, a
    // `..` path, spaces): everything but an input already in its canonical form.
    let refused = rows.iter().filter(|r| !r.1).count();
    let hostile = rows.iter().filter(|r| !r.1 || r.0 != r.2).count();
    assert!(rows.len() >= 20, "{kind}: a table of at least 20 cases");
    assert!(refused >= 10, "{kind}: at least 10 refusals, {refused}");
    assert!(
        hostile >= 15,
        "{kind}: at least 15 hostile cases, {hostile}"
    );
}

fn plain(v: &str) -> Raw<'_> {
    Raw {
        value: v,
        ..Raw::default()
    }
}

/// A bank account row: the bank after a `|` (`VCB` when none is written, none for `-`).
fn with_bank(v: &str) -> Raw<'_> {
    let default = if v.contains(':') { "-" } else { "VCB" };
    let (value, bank) = v.split_once('|').map_or((v, default), |(a, b)| (a, b));
    Raw {
        value,
        bank: Some(bank).filter(|b| *b != "-"),
        platform: None,
    }
}

/// A handle row: the platform after a `|` (`telegram` when none is written, none for `-`).
fn on(v: &str) -> Raw<'_> {
    let default = if v.contains(':') { "-" } else { "telegram" };
    let (value, platform) = v.split_once('|').map_or((v, default), |(a, b)| (a, b));
    Raw {
        value,
        bank: None,
        platform: Some(platform).filter(|p| *p != "-"),
    }
}

#[test]
fn phone_numbers_to_e164() {
    table(
        IndicatorType::Phone,
        &[
            ("0912345678", OK, "+84912345678"),
            ("091 234 5678", OK, "+84912345678"),
            ("091-234-5678", OK, "+84912345678"),
            ("(091) 234.5678", OK, "+84912345678"),
            ("+84 91 234 56 78", OK, "+84912345678"),
            ("+84912345678", OK, "+84912345678"),
            ("0084912345678", OK, "+84912345678"),
            ("tel:+84-91-234-5678", OK, "+84912345678"),
            ("  +84912345678\t", OK, "+84912345678"),
            ("+84 (0) 91 234 5678", OK, "+84912345678"),
            ("024 3825 6789", OK, "+842438256789"),
            ("+44 20 7946 0018", OK, "+442079460018"),
            ("+1 650-253-0000", OK, "+16502530000"),
            ("00 44 20 7946 0018", OK, "+442079460018"),
            ("+254 712 345678", OK, "+254712345678"),
            ("＋８４９１２３４５６７８", NO, "phone number"),
            ("+84 91 234 56 78 ext. 12", OK, "+84912345678"),
            ("", NO, "empty"),
            ("hello", NO, "not a phone number"),
            ("0", NO, "phone number"),
            ("091234", NO, "not a valid phone number"),
            ("09123456789012345", NO, "phone number"),
            ("+999 1234567", NO, "phone number"),
            ("+84 00 000 0000", NO, "phone number"),
            ("+1 555 0100", NO, "phone number"),
            ("javascript:alert(1)", NO, "phone number"),
            ("+84912345678\u{0}", NO, "control characters"),
            ("'; DROP TABLE reports; --", NO, "phone number"),
            ("+", NO, "phone number"),
        ],
        plain,
    );
}

#[test]
fn sms_senders_by_number_code_or_name() {
    table(
        IndicatorType::SmsSender,
        &[
            ("0912345678", OK, "+84912345678"),
            ("+84 91 234 5678", OK, "+84912345678"),
            ("8079", OK, "VN:8079"),
            ("9029", OK, "VN:9029"),
            ("123", OK, "VN:123"),
            ("12345678", OK, "VN:12345678"),
            ("Vietcombank", OK, "VIETCOMBANK"),
            ("VCB", OK, "VCB"),
            ("vcb", OK, "VCB"),
            ("  BIDV  ", OK, "BIDV"),
            ("Bo Cong An", OK, "BO CONG AN"),
            ("VN-POST", OK, "VN-POST"),
            ("MB.Bank", OK, "MB.BANK"),
            ("Techcombank", OK, "TECHCOMBANK"),
            ("", NO, "empty"),
            ("12", NO, "phone number"),
            ("123456789", NO, "phone number"),
            ("VIETCOMBANKVN", NO, "longer than a sender ID"),
            ("Ngân hàng", NO, "Latin alphabet"),
            ("VCB\u{7}", NO, "control characters"),
            ("BANK\u{200B}", NO, "Latin alphabet"),
            ("😀BANK", NO, "Latin alphabet"),
            ("+", NO, "phone number"),
            ("12 34 56 78 90 12", NO, "phone number"),
        ],
        plain,
    );
}

#[test]
fn urls_by_whatwg_and_safe_browsing() {
    table(
        IndicatorType::Url,
        &[
            ("http://example.com/", OK, "http://example.com/"),
            ("example.com", OK, "http://example.com/"),
            ("HTTPS://Example.COM/Login", OK, "https://example.com/Login"),
            ("https://example.com:443/a", OK, "https://example.com/a"),
            ("http://example.com:80/a", OK, "http://example.com/a"),
            ("http://example.com:8080/a", OK, "http://example.com:8080/a"),
            (
                "http://example.com/a/./b/../c",
                OK,
                "http://example.com/a/c",
            ),
            (
                "http://example.com/%2E%2E/secret",
                OK,
                "http://example.com/secret",
            ),
            ("http://example.com//a///b", OK, "http://example.com/a/b"),
            ("http://example.com/a#fragment", OK, "http://example.com/a"),
            ("http://user:pass@example.com/a", OK, "http://example.com/a"),
            (
                "http://paypal.com@evil.example/",
                OK,
                "http://evil.example/",
            ),
            ("http://..example.com../", OK, "http://example.com/"),
            ("http://www.example..com/", OK, "http://www.example.com/"),
            (
                "http://bücher.example/",
                OK,
                "http://xn--bcher-kva.example/",
            ),
            (
                "http://BÜCHER.example/",
                OK,
                "http://xn--bcher-kva.example/",
            ),
            (
                "http://xn--bcher-kva.example/",
                OK,
                "http://xn--bcher-kva.example/",
            ),
            ("http://0x7f.1/", OK, "http://127.0.0.1/"),
            ("http://3279880203/", OK, "http://195.127.0.11/"),
            ("http://[::1]/", OK, "http://[::1]/"),
            ("http://example.com/%25%32%35", OK, "http://example.com/%25"),
            ("http://example.com/a b", OK, "http://example.com/a%20b"),
            ("http://example.com/?", OK, "http://example.com/"),
            (
                "http://example.com/?q=1&r=%41",
                OK,
                "http://example.com/?q=1&r=A",
            ),
            (
                "http://example.com/đăng-nhập",
                OK,
                "http://example.com/%C4%91%C4%83ng-nh%E1%BA%ADp",
            ),
            ("  http://example.com/\n", OK, "http://example.com/"),
            ("http://evil.blogspot.com/", OK, "http://evil.blogspot.com/"),
            ("", NO, "empty"),
            ("javascript:alert(1)", NO, "web address"),
            (
                "data:text/html,<script>alert(1)</script>",
                NO,
                "web address",
            ),
            ("ftp://example.com/", NO, "only http and https"),
            ("file:///etc/passwd", NO, "only http and https"),
            ("mailto://someone@example.com", NO, "only http and https"),
            ("http://", NO, "web address"),
            ("http://com/", NO, "public suffix"),
            ("http://co.uk/", NO, "public suffix"),
            ("http://localhost/", NO, "public suffix"),
            ("http://exa mple.com/", NO, "web address"),
            ("http://example.com:99999/", NO, "web address"),
            ("http://.../", NO, "empty host"),
            ("http://ex\u{0}ample.com/", NO, "control characters"),
        ],
        plain,
    );
}

#[test]
fn domains_to_their_registrable_domain() {
    table(
        IndicatorType::Domain,
        &[
            ("example.com", OK, "example.com"),
            ("EXAMPLE.COM", OK, "example.com"),
            ("example.com.", OK, "example.com"),
            ("www.example.com", OK, "example.com"),
            ("login.secure.bank.example.co.uk", OK, "example.co.uk"),
            ("https://Login.Example.com/path?q=1", OK, "example.com"),
            ("example.com:8443", OK, "example.com"),
            ("evil.blogspot.com", OK, "evil.blogspot.com"),
            ("a.b.evil.blogspot.com", OK, "evil.blogspot.com"),
            (
                "vietcombank-xacminh.com.vn",
                OK,
                "vietcombank-xacminh.com.vn",
            ),
            ("bücher.de", OK, "xn--bcher-kva.de"),
            ("xn--bcher-kva.de", OK, "xn--bcher-kva.de"),
            ("пример.рф", OK, "xn--e1afmkfd.xn--p1ai"),
            ("EXAMPLE.XN--P1AI", OK, "example.xn--p1ai"),
            ("..example..com..", OK, "example.com"),
            ("", NO, "empty"),
            ("com", NO, "public suffix"),
            ("co.uk", NO, "public suffix"),
            ("blogspot.com", NO, "public suffix"),
            ("192.168.1.1", NO, "IP address"),
            ("[2001:db8::1]", NO, "IP address"),
            ("exa mple.com", NO, "web address"),
            ("javascript:alert(1)", NO, "web address"),
            ("ftp://example.com", NO, "only http and https"),
            ("example.com\u{0}", NO, "control characters"),
            ("localhost", NO, "public suffix"),
            ("...", NO, "empty host"),
        ],
        plain,
    );
}

#[test]
fn email_addresses_with_lower_case_domains() {
    table(
        IndicatorType::Email,
        &[
            ("support@example.com", OK, "support@example.com"),
            ("Support@Example.COM", OK, "Support@example.com"),
            ("mailto:support@example.com", OK, "support@example.com"),
            ("MAILTO:support@example.com", OK, "support@example.com"),
            ("  support@example.com  ", OK, "support@example.com"),
            (
                "first.last+tag@example.co.uk",
                OK,
                "first.last+tag@example.co.uk",
            ),
            ("hotro@bücher.de", OK, "hotro@xn--bcher-kva.de"),
            ("a@sub.example.com", OK, "a@sub.example.com"),
            ("a@example.com.", NO, "e-mail address"),
            ("", NO, "empty"),
            ("support", NO, "e-mail address"),
            ("@example.com", NO, "e-mail address"),
            ("support@", NO, "e-mail address"),
            ("support@com", NO, "e-mail address"),
            ("support@@example.com", NO, "e-mail address"),
            ("Name <support@example.com>", NO, "e-mail address"),
            ("support@[127.0.0.1]", NO, "e-mail address"),
            ("support@co.uk", NO, "public suffix"),
            ("sup port@example.com", NO, "e-mail address"),
            ("support@example..com", NO, "e-mail address"),
            ("support@example.com\u{0}", NO, "control characters"),
            (
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com",
                NO,
                "e-mail address",
            ),
        ],
        plain,
    );
}

#[test]
fn ibans_by_their_check_digits() {
    table(
        IndicatorType::Iban,
        &[
            ("DE89370400440532013000", OK, "DE89370400440532013000"),
            ("DE89 3704 0044 0532 0130 00", OK, "DE89370400440532013000"),
            ("de89370400440532013000", OK, "DE89370400440532013000"),
            ("de89 3704 0044 0532 0130 00", OK, "DE89370400440532013000"),
            (
                "IBAN DE89 3704 0044 0532 0130 00",
                OK,
                "DE89370400440532013000",
            ),
            ("GB82WEST12345698765432", OK, "GB82WEST12345698765432"),
            (
                "FR1420041010050500013M02606",
                OK,
                "FR1420041010050500013M02606",
            ),
            (
                "MR1300020001010000123456753",
                OK,
                "MR1300020001010000123456753",
            ),
            ("  NL91ABNA0417164300 ", OK, "NL91ABNA0417164300"),
            ("", NO, "empty"),
            ("DE88370400440532013000", NO, "IBAN"),
            ("DE89370400440532013001", NO, "IBAN"),
            ("DE8937040044053201300", NO, "IBAN"),
            ("DE893704004405320130000", NO, "IBAN"),
            ("XX89370400440532013000", NO, "IBAN"),
            ("DE89-3704-0044-0532-0130-00", NO, "IBAN"),
            ("DE89 37040044 0532013000", NO, "IBAN"),
            ("GB82WEST1234569876543Z", NO, "IBAN"),
            ("0532013000", NO, "IBAN"),
            ("DE89370400440532013000\u{0}", NO, "control characters"),
            ("DÉ89370400440532013000", NO, "IBAN"),
            ("GB00WEST12345698765432", NO, "IBAN"),
        ],
        plain,
    );
}

#[test]
fn national_bank_accounts_with_their_bank() {
    let cx = vn();
    // An IBAN given as a bank account is an `iban`.
    let as_iban = normalise(
        IndicatorType::BankAccount,
        &with_bank("DE89370400440532013000"),
        &cx,
    )
    .unwrap();
    assert_eq!(as_iban.kind, IndicatorType::Iban);
    table(
        IndicatorType::BankAccount,
        &[
            ("0071000123456", OK, "VN:VCB:0071000123456"),
            ("0071 0001 23456", OK, "VN:VCB:0071000123456"),
            ("0071-0001-23456", OK, "VN:VCB:0071000123456"),
            ("0071000123456|vcb", OK, "VN:VCB:0071000123456"),
            (
                "0071000123456|Vietcombank",
                OK,
                "VN:VIETCOMBANK:0071000123456",
            ),
            (
                "0071000123456|Viet Com Bank",
                OK,
                "VN:VIETCOMBANK:0071000123456",
            ),
            ("0071000123456|BFTVVNVX", OK, "VN:BFTVVNVX:0071000123456"),
            ("0071000123456|970436", OK, "VN:970436:0071000123456"),
            (
                "19034567890123|Techcombank",
                OK,
                "VN:TECHCOMBANK:19034567890123",
            ),
            ("ab12cd34|VCB", OK, "VN:VCB:AB12CD34"),
            (
                "0071000123456|Ngân hàng Ngoại thương",
                OK,
                "VN:NGÂNHÀNGNGOẠITHƯƠNG:0071000123456",
            ),
            ("1234|VCB", OK, "VN:VCB:1234"),
            ("KE:EQUITY:0123456789", OK, "KE:EQUITY:0123456789"),
            ("vn:vcb:0071000123456", OK, "VN:VCB:0071000123456"),
            ("XX:VCB:0071000123456", NO, "ISO 3166-1 alpha-2"),
            ("", NO, "empty"),
            ("123|VCB", NO, "4 to 34"),
            ("12345678901234567890123456789012345|VCB", NO, "4 to 34"),
            ("0071000123456|-", NO, "bank is required"),
            ("0071000123456|   ", NO, "bank is required"),
            ("0071.000.123456|VCB", NO, "digits and letters only"),
            ("0071000123456|VCB:FAKE", NO, "no colon"),
            ("00710001234５6|VCB", NO, "digits and letters only"),
            ("0071000123456; DROP|VCB", NO, "digits and letters only"),
            (
                "0071000123456|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                NO,
                "at most 64",
            ),
        ],
        with_bank,
    );
}

#[test]
fn crypto_addresses_by_their_checksums() {
    table(
        IndicatorType::CryptoAddress,
        &[
            (
                "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
                OK,
                "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            ),
            (
                "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
                OK,
                "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            ),
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                OK,
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            ),
            (
                "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
                OK,
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            ),
            (
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
                OK,
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            ),
            (
                "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
                OK,
                "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
            ),
            (
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                OK,
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ),
            (
                "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                OK,
                "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
            ),
            (
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
                OK,
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ),
            (
                "0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED",
                OK,
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ),
            (
                "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
                OK,
                "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            ),
            ("", NO, "empty"),
            ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", NO, "EIP-55"),
            ("0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", NO, "EIP-55"),
            (
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
                NO,
                "40 hexadecimal",
            ),
            (
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd",
                NO,
                "40 hexadecimal",
            ),
            (
                "0xZZAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                NO,
                "40 hexadecimal",
            ),
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", NO, "Base58Check"),
            ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", NO, "Base58Check"),
            ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", NO, "bech32"),
            ("bc1qw508d6qejxtdg4y5r3zarvaRy0c5xw7kv8f3t4", NO, "bech32"),
            (
                "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
                NO,
                "bech32",
            ),
            (
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\u{0}",
                NO,
                "control characters",
            ),
            ("ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9", NO, "address"),
            ("11111111111111111111111111111111", NO, "address"),
            ("bitcoin:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", NO, "address"),
        ],
        plain,
    );
}

#[test]
fn social_handles_with_their_platform() {
    table(
        IndicatorType::SocialHandle,
        &[
            ("support_vcb", OK, "telegram:support_vcb"),
            ("@Support_VCB", OK, "telegram:support_vcb"),
            ("  @support_vcb ", OK, "telegram:support_vcb"),
            ("support_vcb|Telegram", OK, "telegram:support_vcb"),
            ("Bo.Cong.An|facebook", OK, "facebook:bo.cong.an"),
            ("https://t.me/Support_VCB|-", OK, "telegram:support_vcb"),
            (
                "https://www.facebook.com/bo.cong.an?ref=x|-",
                OK,
                "facebook:bo.cong.an",
            ),
            ("https://www.tiktok.com/@scammer|-", OK, "tiktok:scammer"),
            ("https://twitter.com/Scammer|-", OK, "x:scammer"),
            ("https://zalo.me/0912345678|-", OK, "zalo:0912345678"),
            ("nguyễn_văn_a|zalo", OK, "zalo:nguyễn_văn_a"),
            ("scam-shop|instagram", OK, "instagram:scam-shop"),
            ("Telegram:@Support_VCB", OK, "telegram:support_vcb"),
            ("myspace:someone", NO, "is not one of"),
            ("", NO, "empty"),
            ("support_vcb|-", NO, "platform is required"),
            ("support_vcb|myspace", NO, "is not one of"),
            ("@|telegram", NO, "no handle"),
            ("support vcb", NO, "not a handle"),
            ("support/vcb", NO, "not a handle"),
            ("<script>", NO, "not a handle"),
            ("https://evil.example/support|-", NO, "not a known platform"),
            ("https://t.me/|-", NO, "without a handle"),
            (
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                NO,
                "longer than 64",
            ),
            ("support_vcb\u{0}", NO, "control characters"),
            ("support_vcb\u{200B}", NO, "not a handle"),
        ],
        on,
    );
}

/// The vectors PROTOCOL.md publishes: whoever implements the identity must get these.
#[test]
fn identity_vectors_match_protocol_md() {
    let cx = vn();
    let vectors = [
        (IndicatorType::Phone, "0912 345 678"),
        (IndicatorType::Url, "HTTP://Example.COM:80/a/../login#x"),
        (IndicatorType::Domain, "Login.Example.co.uk"),
        (IndicatorType::Email, "Support@Example.COM"),
        (IndicatorType::Iban, "de89 3704 0044 0532 0130 00"),
        (
            IndicatorType::CryptoAddress,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        ),
        (IndicatorType::SmsSender, "Vietcombank"),
    ];
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../PROTOCOL.md")).unwrap();
    let mut rows = Vec::new();
    for (kind, input) in vectors {
        let ind = normalise(kind, &plain(input), &cx).unwrap();
        rows.push(format!(
            "| `{kind}` | `{input}` | `{}` | `{}` |",
            ind.canonical, ind.hash
        ));
    }
    let bank = Raw {
        value: "0071 0001 23456",
        bank: Some("VCB"),
        platform: None,
    };
    let ind = normalise(IndicatorType::BankAccount, &bank, &cx).unwrap();
    rows.push(format!(
        "| `bank_account` | `0071 0001 23456` (bank `VCB`) | `{}` | `{}` |",
        ind.canonical, ind.hash
    ));
    let handle = Raw {
        value: "@Support_VCB",
        bank: None,
        platform: Some("telegram"),
    };
    let ind = normalise(IndicatorType::SocialHandle, &handle, &cx).unwrap();
    rows.push(format!(
        "| `social_handle` | `@Support_VCB` (platform `telegram`) | `{}` | `{}` |",
        ind.canonical, ind.hash
    ));
    let missing: Vec<&String> = rows.iter().filter(|r| !doc.contains(r.as_str())).collect();
    assert!(
        missing.is_empty(),
        "PROTOCOL.md lacks these vector rows:\n{}",
        missing
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The identity itself, by hand: sha256 of the type, a colon and the canonical form.
    assert_eq!(
        identity(IndicatorType::Phone, "+84912345678"),
        sha256_hex(b"phone:+84912345678")
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
