//! Who may do what on a node.

use serde::{Deserialize, Serialize};

/// A user's role on their own node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sends, receives and answers cooperation requests (24/7 officer, central-authority staff).
    Officer,
    /// An officer who may also approve outgoing requests.
    Supervisor,
    /// Reads the log and its proofs; reads no case and changes nothing.
    Auditor,
    /// Manages the node's users (adds them, resets their sign-in, disables them) and sees the
    /// policy; reads no case and sends nothing (separation of duties).
    Admin,
}

impl Role {
    pub const ALL: [Self; 4] = [Self::Officer, Self::Supervisor, Self::Auditor, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Supervisor => "supervisor",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the role may create requests and record decisions.
    pub fn may_act_on_requests(self) -> bool {
        matches!(self, Self::Officer | Self::Supervisor)
    }

    /// Whether the role may read cases (requests and their contents). Auditors may not: they
    /// audit through the ledger, which holds no case content.
    pub fn may_read_requests(self) -> bool {
        matches!(self, Self::Officer | Self::Supervisor)
    }

    /// Whether the role may manage the node's users.
    pub fn may_administer(self) -> bool {
        matches!(self, Self::Admin)
    }

    /// Whether the role may read the ledger and its proofs.
    pub fn may_audit(self) -> bool {
        matches!(self, Self::Auditor | Self::Supervisor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(Role::Officer.may_act_on_requests());
        assert!(!Role::Auditor.may_act_on_requests());
        assert!(!Role::Auditor.may_read_requests());
        assert!(Role::Auditor.may_audit());
        assert!(!Role::Officer.may_audit());
        assert!(Role::Admin.may_administer());
        assert!(!Role::Admin.may_read_requests() && !Role::Admin.may_act_on_requests());
        assert!(!Role::Admin.may_audit() && !Role::Supervisor.may_administer());
        assert_eq!(Role::parse("root"), None);
    }
}
