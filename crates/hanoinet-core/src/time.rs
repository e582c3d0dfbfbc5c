//! Timestamp conventions: microsecond precision everywhere, stored as integer microseconds since
//! the Unix epoch and shown as RFC 3339 in UTC.

use jiff::Timestamp;

/// Drops sub-microsecond precision, which no encoding or database column keeps.
pub fn truncate_to_micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

/// Integer microseconds since the Unix epoch: the storage and wire form of a timestamp.
pub fn to_micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// The inverse of [`to_micros`]; `None` outside jiff's supported range.
pub fn from_micros(us: i64) -> Option<Timestamp> {
    Timestamp::from_microsecond(us).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip() {
        let t: Timestamp = "2026-11-22T08:00:00.123456789Z".parse().unwrap();
        let t = truncate_to_micros(t);
        assert_eq!(t.to_string(), "2026-11-22T08:00:00.123456Z");
        assert_eq!(from_micros(to_micros(t)), Some(t));
        assert_eq!(from_micros(i64::MAX), None);
    }
}
