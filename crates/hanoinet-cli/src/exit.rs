//! The exit status: a script can tell an unreachable node or database from a refused token or
//! bad input without reading the message.
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | done |
//! | 1 | any other failure (also `doctor` finding a problem) |
//! | 2 | the command line is wrong (clap) |
//! | 3 | unreachable: the node, the database or a port could not be reached or bound |
//! | 4 | unauthorized: the token is missing, wrong, expired or lacks the role |
//! | 5 | invalid input: the node (or the CLI) refused what was given (`422`, `400`) |
//! | 6 | not found: no such request, user or file on the node |
//! | 7 | conflict: the move, key or serial conflicts with the current state (`409`) |

use std::fmt;

/// Why a command failed, when the exit status should say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Unavailable,
    Unauthorized,
    Invalid,
    NotFound,
    Conflict,
}

impl Failure {
    pub fn code(self) -> u8 {
        match self {
            Self::Unavailable => 3,
            Self::Unauthorized => 4,
            Self::Invalid => 5,
            Self::NotFound => 6,
            Self::Conflict => 7,
        }
    }

    /// `error` marked with this failure (its message is unchanged).
    pub fn wrap(self, error: anyhow::Error) -> anyhow::Error {
        anyhow::Error::new(Coded(self, error))
    }

    /// The failure an HTTP status stands for.
    pub fn from_status(status: u16) -> Option<Self> {
        match status {
            401 | 403 => Some(Self::Unauthorized),
            400 | 413 | 422 => Some(Self::Invalid),
            404 | 410 => Some(Self::NotFound),
            409 => Some(Self::Conflict),
            502..=504 => Some(Self::Unavailable),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Coded(Failure, anyhow::Error);

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.1)
    }
}

impl std::error::Error for Coded {}

/// The exit status for an error: the first marked failure in its chain, else 1.
pub fn status(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<Coded>().map(|c| c.0.code()))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_failure_survives_context() {
        let e = Failure::Unauthorized.wrap(anyhow::anyhow!("token refused"));
        let e = e.context("listing requests");
        assert_eq!(status(&e), 4);
        assert_eq!(format!("{e:#}"), "listing requests: token refused");
        assert_eq!(status(&anyhow::anyhow!("other")), 1);
        assert_eq!(Failure::from_status(422), Some(Failure::Invalid));
        assert_eq!(Failure::from_status(500), None);
    }
}
