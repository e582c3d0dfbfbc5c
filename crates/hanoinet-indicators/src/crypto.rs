//! Crypto-currency addresses: Bitcoin (Base58Check by `bs58`, SegWit bech32/bech32m by
//! `bech32`), Ethereum and EVM chains (EIP-55 mixed-case checksum by Keccak-256 from `sha3`) and
//! TRON (Base58Check).

use crate::{Indicator, IndicatorType, Rejection};
use sha3::{Digest, Keccak256};

/// Base58Check version bytes: Bitcoin P2PKH and P2SH (main and test networks), TRON.
const BASE58_VERSIONS: [u8; 5] = [0x00, 0x05, 0x6f, 0xc4, 0x41];

/// A Bitcoin, Ethereum or TRON address, refused unless its checksum holds. Canonical forms:
/// Base58Check as written (it is case-sensitive); bech32/bech32m in lower case; Ethereum as
/// `0x` and 40 lower-case hex digits (a mixed-case address must carry a valid EIP-55 checksum).
pub fn address(value: &str) -> Result<Indicator, Rejection> {
    let canonical = if let Some(hex) = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        ethereum(hex)?
    } else if value
        .get(..3)
        .is_some_and(|h| h.eq_ignore_ascii_case("bc1") || h.eq_ignore_ascii_case("tb1"))
    {
        segwit(value)?
    } else {
        base58(value)?
    };
    Ok(Indicator::new(IndicatorType::CryptoAddress, canonical))
}

fn ethereum(hex_digits: &str) -> Result<String, Rejection> {
    if hex_digits.len() != 40 || !hex_digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Rejection::new(
            "value",
            "is not an Ethereum address (0x and 40 hexadecimal digits)",
        ));
    }
    let lower = hex_digits.to_ascii_lowercase();
    let mixed = hex_digits != lower && hex_digits != hex_digits.to_ascii_uppercase();
    if mixed && hex_digits != eip55(&lower) {
        return Err(Rejection::new(
            "value",
            "is not an Ethereum address (its EIP-55 checksum, the mixed case, is wrong)",
        ));
    }
    Ok(format!("0x{lower}"))
}

/// The EIP-55 spelling of 40 lower-case hex digits: a letter is upper case where the matching
/// nibble of Keccak-256 of the lower-case digits is 8 or more.
pub fn eip55(lower: &str) -> String {
    let hash = Keccak256::digest(lower.as_bytes());
    lower
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
            if nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn segwit(value: &str) -> Result<String, Rejection> {
    let (hrp, version, program) = bech32::segwit::decode(value)
        .map_err(|e| Rejection::new("value", format!("is not a Bitcoin address (bech32: {e})")))?;
    if hrp != bech32::hrp::BC && hrp != bech32::hrp::TB {
        return Err(Rejection::new(
            "value",
            "is not a Bitcoin address (unknown network)",
        ));
    }
    bech32::segwit::encode(hrp, version, &program)
        .map_err(|e| Rejection::new("value", format!("is not a Bitcoin address (bech32: {e})")))
}

fn base58(value: &str) -> Result<String, Rejection> {
    let bytes = bs58::decode(value)
        .with_check(None)
        .into_vec()
        .map_err(|e| {
            Rejection::new(
                "value",
                format!("is not a Bitcoin, Ethereum or TRON address (Base58Check: {e})"),
            )
        })?;
    // The payload after decoding: version byte, 20-byte hash (the checksum is already removed).
    match bytes.first() {
        Some(v) if bytes.len() == 21 && BASE58_VERSIONS.contains(v) => Ok(value.to_owned()),
        _ => Err(Rejection::new(
            "value",
            "is not a Bitcoin or TRON address (unknown version or length)",
        )),
    }
}
