//! Managing a node's users from the console (role `admin`): adding one with its console sign-in,
//! resetting a user's sign-in (new password and TOTP secret, shown once), disabling a user.
//! Each change is a ledger entry naming the admin.

use hanoinet_core::access::Role;
use hanoinet_core::request::FieldCode;
use hanoinet_ledger::entry::Event;
use hanoinet_store::{User, UserAccount};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;
use crate::ops::access::require_admin;
use crate::ops::signin::{self, Enrolment};

/// Longest user name.
pub const MAX_NAME_CHARS: usize = 64;

/// Every user of the node.
pub async fn list(state: &Node, admin: &User) -> NodeResult<Vec<UserAccount>> {
    require_admin(admin)?;
    Ok(state.store.list_users().await?)
}

fn check_name(name: &str) -> NodeResult<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(NodeError::invalid(crate::ops::data::field(
            "username",
            FieldCode::Invalid,
            format!("a user name has 1 to {MAX_NAME_CHARS} letters, digits, '-', '_' or '.'"),
        )))
    }
}

/// Adds user `name` with `role` and a console sign-in (`password` and a new TOTP secret). The
/// user's API token is not shown: it can be rotated with the CLI when an API client needs one.
pub async fn add(
    state: &Node,
    admin: &User,
    name: &str,
    role: Role,
    password: &str,
) -> NodeResult<Enrolment> {
    require_admin(admin)?;
    check_name(name)?;
    signin::check_password_policy(password)?;
    let user = User {
        id: hanoinet_core::RequestId::new_v7().to_string(),
        name: name.to_owned(),
        role,
    };
    let token = crate::ops::auth::new_token();
    let entry = crate::ops::ledger::entry(
        state,
        Event::UserCreated,
        crate::ops::ledger::user_actor(admin),
        format!("user:{}", user.id),
    )
    .attr("role", role.as_str());
    let added = state
        .store
        .add_user(
            &user,
            &crate::ops::auth::token_hash(&token),
            state.clock.now(),
            None,
            &[entry.encode()],
        )
        .await?;
    if !added {
        return Err(NodeError::invalid(crate::ops::data::field(
            "username",
            FieldCode::Invalid,
            format!("a user named {name:?} already exists"),
        )));
    }
    signin::enrol(state, name, password, crate::ops::ledger::user_actor(admin)).await
}

/// Gives user `name` a new console password and TOTP secret; the old ones stop working and the
/// user's sessions end.
pub async fn reset_sign_in(
    state: &Node,
    admin: &User,
    name: &str,
    password: &str,
) -> NodeResult<Enrolment> {
    require_admin(admin)?;
    signin::enrol(state, name, password, crate::ops::ledger::user_actor(admin)).await
}

/// Disables user `name`: their token and console sessions stop working at once. An admin may
/// not disable themself (a node must keep someone who can manage it).
pub async fn disable(state: &Node, admin: &User, name: &str) -> NodeResult<User> {
    require_admin(admin)?;
    if name == admin.name {
        return Err(NodeError::conflict(
            "an admin may not disable their own account",
        ));
    }
    let actor = crate::ops::ledger::user_actor(admin);
    state
        .store
        .disable_user(name, state.clock.now(), |u| {
            crate::ops::ledger::entry(
                state,
                Event::UserDisabled,
                actor.clone(),
                format!("user:{}", u.id),
            )
            .encode()
        })
        .await?
        .ok_or_else(|| NodeError::not_found(format!("no enabled user named {name:?}")))
}
