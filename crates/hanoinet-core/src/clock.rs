//! The time source. Everything that computes a deadline takes a [`Clock`], so tests move time
//! instead of sleeping.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

use crate::time::truncate_to_micros;

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, truncated to whole microseconds (the precision every encoding and the
    /// database keep).
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate_to_micros(Timestamp::now())
    }
}

/// A clock that only moves when told to. For tests and simulations.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Mutex::new(truncate_to_micros(start)))
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t = t.saturating_add(by).unwrap_or(*t);
    }

    pub fn set(&self, to: Timestamp) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = truncate_to_micros(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-11-22T08:00:00Z".parse().unwrap();
        let c = ManualClock::new(start);
        assert_eq!(c.now(), start);
        c.advance(SignedDuration::from_hours(2));
        assert_eq!(
            c.now(),
            "2026-11-22T10:00:00Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn system_clock_has_microsecond_precision() {
        let t = SystemClock.now();
        assert_eq!(t.subsec_nanosecond() % 1000, 0);
    }
}
