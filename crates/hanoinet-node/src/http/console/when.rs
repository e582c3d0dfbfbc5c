//! Times as a user reads them: stored in UTC, shown in the user's time zone with their
//! language's date pattern (the `datetime` message), and carried in `<time datetime>` in UTC
//! for the countdown script.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::http::i18n::Lang;

/// A time, for a template.
pub struct When {
    /// RFC 3339 in UTC (`<time datetime>`).
    pub iso: String,
    /// As the user reads it.
    pub local: String,
}

impl When {
    pub fn new(t: Timestamp, zone: &TimeZone, lang: Lang) -> Self {
        let z = t.to_zoned(zone.clone());
        let two = |n: i8| format!("{n:02}");
        let local = lang.text_with(
            "datetime",
            &[
                ("year", z.year().to_string()),
                ("month", two(z.month())),
                ("day", two(z.day())),
                ("hour", two(z.hour())),
                ("minute", two(z.minute())),
            ],
        );
        Self {
            iso: t.to_string(),
            local,
        }
    }
}

/// The time zones a user may choose: every IANA name this binary knows, UTC first.
pub fn zones() -> Vec<String> {
    let mut all: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.to_string())
        .filter(|n| {
            n.contains('/')
                && !n.starts_with("Etc/")
                && !n.starts_with("posix/")
                && !n.starts_with("right/")
        })
        .collect();
    all.sort();
    all.dedup();
    all.insert(0, "UTC".into());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_in_the_users_zone_and_pattern() {
        let t: Timestamp = "2026-12-01T23:30:00Z".parse().unwrap();
        let hcm = TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
        let w = When::new(t, &hcm, Lang::Vi);
        assert_eq!(w.iso, "2026-12-01T23:30:00Z");
        assert_eq!(w.local, "06:30 02/12/2026");
        let w = When::new(t, &TimeZone::UTC, Lang::En);
        assert_eq!(w.local, "2026-12-01 23:30");
        let w = When::new(t, &TimeZone::get("Europe/Paris").unwrap(), Lang::Fr);
        assert_eq!(w.local, "02/12/2026 00:30");
        let w = When::new(t, &TimeZone::UTC, Lang::Zh);
        assert_eq!(w.local, "2026年12月01日 23:30");
        assert!(zones().iter().any(|z| z == "Asia/Ho_Chi_Minh"));
        assert_eq!(zones()[0], "UTC");
    }
}
