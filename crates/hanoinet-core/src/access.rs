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
    /// Works the response centre: triages citizens' reports, decides indicators, writes public
    /// warnings and drafts cooperation requests from reports (which officers then send). Opens
    /// no report of child sexual abuse material and reads no case.
    Analyst,
    /// An analyst who also opens the restricted queue of child sexual abuse material reports.
    CsamAnalyst,
}

impl Role {
    pub const ALL: [Self; 6] = [
        Self::Officer,
        Self::Supervisor,
        Self::Auditor,
        Self::Admin,
        Self::Analyst,
        Self::CsamAnalyst,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Supervisor => "supervisor",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
            Self::Analyst => "analyst",
            Self::CsamAnalyst => "csam_analyst",
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

    /// Whether the role may triage citizens' reports and decide indicators.
    pub fn may_triage(self) -> bool {
        matches!(self, Self::Analyst | Self::CsamAnalyst)
    }

    /// Whether the role may open reports of child sexual abuse material.
    pub fn may_open_restricted(self) -> bool {
        matches!(self, Self::CsamAnalyst)
    }

    /// Whether the role may read the response centre's statistics (no personal data).
    pub fn may_read_statistics(self) -> bool {
        matches!(
            self,
            Self::Officer | Self::Supervisor | Self::Analyst | Self::CsamAnalyst
        )
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
        assert!(Role::Analyst.may_triage() && !Role::Analyst.may_open_restricted());
        assert!(Role::CsamAnalyst.may_triage() && Role::CsamAnalyst.may_open_restricted());
        assert!(!Role::Analyst.may_read_requests() && !Role::Analyst.may_act_on_requests());
        assert!(!Role::Officer.may_triage() && !Role::Admin.may_triage());
    }
}
