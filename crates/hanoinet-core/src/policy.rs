//! Node policy: what the Convention leaves to each State and its node, with defaults.

use serde::{Deserialize, Serialize};

use crate::catalogue::art41;
use crate::catalogue::forms::RequestType;
use crate::request::Urgency;

/// A node's policy, from `node.json` (`"policy": {...}`); every member has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Request types whose outgoing requests a supervisor other than the author must approve
    /// before they are sent (four-eyes).
    pub approval_required: Vec<RequestType>,
    /// Acknowledgement target for an incoming request, in minutes (Art. 41: the Convention sets
    /// no hour limit; the node does).
    pub ack_minutes: i64,
    /// Acknowledgement target for an emergency, in minutes.
    pub emergency_ack_minutes: i64,
    /// Days an API token is valid after it is issued or rotated (`0`: no expiry, for machine
    /// integrations whose tokens are rotated by other means).
    pub token_days: i64,
    /// Minutes a peer may stay unreachable (every delivery to it failing) before an alert is
    /// raised; another follows when it answers again. `0`: at the first failure.
    pub peer_unreachable_minutes: i64,
    /// Days the response centre keeps a citizen's report (and its contact) unless a case holds
    /// it; then it is purged and the purge logged. `0`: kept until purged by other means.
    pub report_retention_days: i64,
    /// Where reports of child sexual abuse material are referred (a hotline, the competent
    /// unit), shown to the reporter and the child-protection analysts.
    pub csam_referral: String,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            approval_required: vec![
                RequestType::RealtimeTraffic,
                RequestType::Interception,
                RequestType::JointInvestigation,
            ],
            ack_minutes: art41::DEFAULT_ACK_MINUTES,
            emergency_ack_minutes: art41::DEFAULT_EMERGENCY_ACK_MINUTES,
            token_days: 90,
            peer_unreachable_minutes: 10,
            report_retention_days: 730,
            csam_referral: String::new(),
        }
    }
}

impl Policy {
    /// When a token issued at `now` stops working, if it does.
    pub fn token_expiry(&self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        (self.token_days > 0)
            .then(|| {
                now.checked_add(jiff::SignedDuration::from_hours(24 * self.token_days))
                    .ok()
            })
            .flatten()
    }

    pub fn needs_approval(&self, t: RequestType) -> bool {
        self.approval_required.contains(&t)
    }

    /// Minutes the node has to acknowledge an incoming request of this urgency.
    pub fn ack_target_minutes(&self, urgency: Urgency) -> i64 {
        match urgency {
            Urgency::Emergency => self.emergency_ack_minutes,
            Urgency::Normal | Urgency::Urgent => self.ack_minutes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let p: Policy = serde_json::from_str("{}").unwrap();
        assert_eq!(p, Policy::default());
        assert!(p.needs_approval(RequestType::Interception));
        assert!(!p.needs_approval(RequestType::Preservation));
        assert_eq!(p.ack_target_minutes(Urgency::Emergency), 15);
        assert_eq!(p.ack_target_minutes(Urgency::Normal), 60);
        let p: Policy =
            serde_json::from_str(r#"{"approval_required": ["mla"], "ack_minutes": 30}"#).unwrap();
        assert!(p.needs_approval(RequestType::Mla) && !p.needs_approval(RequestType::Interception));
        assert!(serde_json::from_str::<Policy>(r#"{"approval": []}"#).is_err());
    }
}
