//! Progress of a long transfer on standard error: one line redrawn in place on a terminal (bytes,
//! percentage, rate, time left), a line every tenth of the way otherwise (a log stays short).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Progress {
    what: String,
    total: u64,
    done: u64,
    started: Instant,
    /// Bytes already there when this run started (a resumed transfer): not counted in the rate.
    resumed_from: u64,
    last_drawn: Option<Instant>,
    last_tenth: u64,
    /// Whether [`Progress::at`] was called yet (its first call says where the transfer starts).
    begun: bool,
    terminal: bool,
    quiet: bool,
}

impl Progress {
    pub fn new(what: impl Into<String>, total: u64, quiet: bool) -> Self {
        Self {
            what: what.into(),
            total,
            done: 0,
            started: Instant::now(),
            resumed_from: 0,
            last_drawn: None,
            last_tenth: 0,
            begun: false,
            terminal: std::io::stderr().is_terminal(),
            quiet,
        }
    }

    /// Where the transfer stands now (after a resume, where the other side says it stands).
    pub fn at(&mut self, done: u64) {
        if !self.begun {
            self.begun = true;
            self.resumed_from = done;
            self.last_tenth = done.saturating_mul(10).checked_div(self.total).unwrap_or(0);
            if done > 0 && !self.quiet {
                eprintln!(
                    "{}: resuming at {} of {}",
                    self.what,
                    bytes(done),
                    bytes(self.total)
                );
            }
        }
        self.done = done.min(self.total);
        self.draw(false);
    }

    /// The transfer is complete.
    pub fn finish(&mut self) {
        self.done = self.total;
        self.draw(true);
    }

    /// A note (a retry, a check) on its own line.
    pub fn note(&self, message: &str) {
        if self.quiet {
            return;
        }
        if self.terminal {
            eprintln!();
        }
        eprintln!("{}: {message}", self.what);
    }

    fn draw(&mut self, last: bool) {
        if self.quiet {
            return;
        }
        let now = Instant::now();
        let tenth = self
            .done
            .saturating_mul(10)
            .checked_div(self.total)
            .unwrap_or(10);
        let due = if self.terminal {
            last || self
                .last_drawn
                .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(200))
        } else {
            last || tenth > self.last_tenth
        };
        if !due {
            return;
        }
        self.last_drawn = Some(now);
        self.last_tenth = tenth;
        let secs = now.duration_since(self.started).as_secs_f64().max(0.001);
        let rate = (self.done.saturating_sub(self.resumed_from)) as f64 / secs;
        let pct = if self.total == 0 {
            100.0
        } else {
            self.done as f64 * 100.0 / self.total as f64
        };
        let left = if rate > 0.0 && !last {
            format!(
                ", {} left",
                duration((self.total - self.done) as f64 / rate)
            )
        } else if last {
            format!(" in {}", duration(secs))
        } else {
            String::new()
        };
        let line = format!(
            "{}: {} of {} ({pct:.0} %), {}/s{left}",
            self.what,
            bytes(self.done),
            bytes(self.total),
            bytes(rate as u64),
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
            if last {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }
}

/// A byte count for people: 1.5 GiB, 320.0 MiB, 12 KiB.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn duration(secs: f64) -> String {
    if secs < 10.0 {
        return format!("{secs:.1} s");
    }
    let secs = secs as u64;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(super::bytes(0), "0 B");
        assert_eq!(super::bytes(1023), "1023 B");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(super::bytes(2 << 30), "2.0 GiB");
        assert_eq!(super::duration(75.2), "1 min 15 s");
        assert_eq!(super::duration(0.84), "0.8 s");
        assert_eq!(super::duration(12.5), "12 s");
    }

    #[test]
    fn only_a_start_past_zero_is_a_resume() {
        let mut p = super::Progress::new("x", 100, true);
        p.at(0);
        p.at(30);
        assert_eq!(
            p.resumed_from, 0,
            "a fresh transfer that moved on is no resume"
        );
        let mut p = super::Progress::new("x", 100, true);
        p.at(40);
        p.at(50);
        assert_eq!(p.resumed_from, 40);
    }
}
