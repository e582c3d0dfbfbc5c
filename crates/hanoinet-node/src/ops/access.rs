//! What each role may do (`hanoinet_core::access::Role`), checked by every use case's caller.

use hanoinet_core::access::Role;
use hanoinet_store::User;

use crate::error::{NodeError, NodeResult};

pub fn require_officer(user: &User) -> NodeResult<()> {
    if user.role.may_act_on_requests() {
        Ok(())
    } else {
        Err(NodeError::forbidden(format!(
            "role {} may read but not send or answer requests",
            user.role.as_str()
        )))
    }
}

pub fn require_reader(user: &User) -> NodeResult<()> {
    if user.role.may_read_requests() {
        Ok(())
    } else {
        Err(NodeError::forbidden(format!(
            "role {} may not read cases; it audits through /api/v1/ledger",
            user.role.as_str()
        )))
    }
}

pub fn require_auditor(user: &User) -> NodeResult<()> {
    if user.role.may_audit() {
        Ok(())
    } else {
        Err(NodeError::forbidden(format!(
            "role {} may not read the ledger; auditors and supervisors may",
            user.role.as_str()
        )))
    }
}

pub fn require_admin(user: &User) -> NodeResult<()> {
    if user.role.may_administer() {
        Ok(())
    } else {
        Err(NodeError::forbidden(format!(
            "role {} may not manage users; admins may",
            user.role.as_str()
        )))
    }
}

/// Roles that exist, for the CLI's help text.
pub fn roles() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.as_str()).collect()
}
