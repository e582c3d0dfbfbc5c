//! Signing in to the web console: a password (Argon2id) and a TOTP code (RFC 6238) for every
//! user, sessions kept in the store (any replica serves any session), back-off after repeated
//! failures, an idle and an absolute timeout, sign-out. The console's HTTP layer holds only
//! the session cookie and the CSRF token this module hands out.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jiff::{SignedDuration, Timestamp};
use totp_rs::{Builder, Secret, Totp};

use hanoinet_ledger::Event;
use hanoinet_store::{ConsoleSession, NewConsoleSession, User};

use crate::error::{ErrorCode, NodeError, NodeResult};
use crate::node::Node;

/// A session unused this long ends.
pub const IDLE_TIMEOUT: SignedDuration = SignedDuration::from_mins(30);
/// A session ends this long after sign-in, however busy (a shared office PC).
pub const MAX_SESSION: SignedDuration = SignedDuration::from_hours(12);
/// Failed attempts allowed before each further one waits.
pub const FREE_FAILURES: i64 = 5;
/// The first wait after the free failures; it doubles with each further failure...
pub const FIRST_WAIT: SignedDuration = SignedDuration::from_secs(30);
/// ...up to this.
pub const MAX_WAIT: SignedDuration = SignedDuration::from_mins(15);
/// Password length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

const LOCKED_PREFIX: &str = "too many failed attempts: try again in ";

/// For a `too_many_attempts` answer of [`sign_in`]: the seconds to wait.
pub fn retry_after_seconds(e: &NodeError) -> Option<i64> {
    match e {
        NodeError::Refused { code, message } if *code == ErrorCode::TooManyAttempts => message
            .strip_prefix(LOCKED_PREFIX)?
            .strip_suffix(" s")?
            .parse()
            .ok(),
        _ => None,
    }
}

/// The one answer to a wrong username, password or code, so that none is told apart.
const WRONG: &str = "wrong username, password or code";

/// What enrolling a user gives, once: the TOTP secret for an authenticator app.
#[derive(Clone)]
pub struct Enrolment {
    /// The secret in base32 (RFC 4648, no padding), to type in.
    pub secret_base32: String,
    /// The `otpauth://totp/...` URI, for a QR code.
    pub otpauth_uri: String,
}

/// A session just opened: the cookie value (shown once; the store keeps its hash) and the
/// CSRF token every state-changing form carries.
#[derive(Clone)]
pub struct SignedIn {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
}

// Secrets never reach a log line, even through a `{:?}`.
impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment { .. }")
    }
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> NodeResult<Totp> {
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| NodeError::internal(format!("TOTP: {e}")))
}

fn unix_seconds(t: Timestamp) -> u64 {
    u64::try_from(t.as_second()).unwrap_or(0)
}

/// A password's hash and a new TOTP secret: what enrolment stores (blocking: Argon2id).
pub fn new_credentials(password: &str) -> NodeResult<(String, Vec<u8>)> {
    check_password_policy(password)?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| NodeError::internal(format!("password hashing: {e}")))?;
    Ok((hash, Secret::generate().as_ref().to_vec()))
}

/// A TOTP secret in base32 (RFC 4648, no padding), as authenticator apps take it.
pub fn secret_to_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// Hashes a password with Argon2id (default parameters: 19 MiB, 2 passes), off the async
/// threads.
pub async fn hash_password(password: String) -> NodeResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| NodeError::internal(format!("password hashing: {e}")))
    })
    .await
    .map_err(NodeError::internal)?
}

async fn password_matches(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that an unknown username costs
/// the same time as a wrong password.
async fn decoy_hash() -> String {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_init(|| async {
            hash_password(crate::ops::auth::new_token())
                .await
                .unwrap_or_default()
        })
        .await
        .clone()
}

pub fn check_password_policy(password: &str) -> NodeResult<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(NodeError::Invalid(vec![crate::ops::data::field(
            "password",
            hanoinet_core::request::FieldCode::Invalid,
            format!(
                "a console password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
            ),
        )]));
    }
    Ok(())
}

/// Gives user `name` a console password and a new TOTP secret (enrolment, or a reset by an
/// administrator: the old secret stops working and the user's sessions end). `actor` is who
/// did it, for the ledger.
pub async fn enrol(
    state: &Node,
    name: &str,
    password: &str,
    actor: String,
) -> NodeResult<Enrolment> {
    check_password_policy(password)?;
    let user = state
        .store
        .user_by_name(name)
        .await?
        .ok_or_else(|| NodeError::not_found(format!("no user {name:?}")))?;
    let owned = password.to_owned();
    let (hash, bytes) = tokio::task::spawn_blocking(move || new_credentials(&owned))
        .await
        .map_err(NodeError::internal)??;
    let totp = totp(bytes.clone(), state.id.as_str(), &user.name)?;
    let entry = crate::ops::ledger::entry(
        state,
        Event::ConsoleEnrolled,
        actor,
        format!("user:{}", user.id),
    );
    state
        .store
        .set_console_credentials(
            &user.id,
            &hash,
            &bytes,
            state.clock.now(),
            &[entry.encode()],
        )
        .await?;
    Ok(Enrolment {
        secret_base32: secret_to_base32(&bytes),
        otpauth_uri: totp
            .to_url()
            .map_err(|e| NodeError::internal(format!("TOTP URI: {e}")))?,
    })
}

/// How long the attempt after `failures` failures waits.
pub fn wait_after(failures: i64) -> SignedDuration {
    if failures < FREE_FAILURES {
        return SignedDuration::ZERO;
    }
    let doublings = u32::try_from((failures - FREE_FAILURES).min(16)).unwrap_or(16);
    FIRST_WAIT
        .checked_mul(2i32.saturating_pow(doublings))
        .unwrap_or(MAX_WAIT)
        .min(MAX_WAIT)
}

/// Signs a user in with their password and a current TOTP code; opens a session. Every
/// failure answers the same `unauthorized`; after [`FREE_FAILURES`] failures each attempt
/// waits longer (`too_many_attempts`, with the time to wait), whether or not it is right.
pub async fn sign_in(state: &Node, name: &str, password: &str, code: &str) -> NodeResult<SignedIn> {
    let now = state.clock.now();
    let Some((account, creds)) = state.store.console_login(name).await? else {
        let _ = password_matches(password.to_owned(), decoy_hash().await).await;
        return Err(NodeError::unauthorized(WRONG));
    };
    let user = account.user.clone();
    if creds.locked_until > now {
        let secs = creds.locked_until.duration_since(now).as_secs().max(1);
        return Err(NodeError::refused(
            ErrorCode::TooManyAttempts,
            format!("{LOCKED_PREFIX}{secs} s"),
        ));
    }
    let password_ok = password_matches(password.to_owned(), creds.password_hash.clone()).await;
    let totp = totp(creds.totp_secret.clone(), state.id.as_str(), &user.name)?;
    let step = totp.check(code.trim(), unix_seconds(now));
    if !password_ok {
        return Err(failed(state, &user, creds.failed_attempts + 1, "password").await);
    }
    let Some(step) = step else {
        return Err(failed(state, &user, creds.failed_attempts + 1, "code").await);
    };
    if account.disabled_at.is_some() {
        return Err(NodeError::unauthorized(
            "this user is disabled; ask the node's administrator",
        ));
    }
    let token = format!(
        "hns_{}",
        crate::ops::auth::new_token().trim_start_matches("hnt_")
    );
    let csrf_token = crate::ops::auth::new_token()
        .trim_start_matches("hnt_")
        .to_owned();
    let session = NewConsoleSession {
        token_hash: crate::ops::auth::token_hash(&token),
        user_id: user.id.clone(),
        csrf_token: csrf_token.clone(),
        at: now,
    };
    let entry = crate::ops::ledger::entry(
        state,
        Event::ConsoleSignedIn,
        format!("user:{}", user.id),
        format!("user:{}", user.id),
    );
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if !state
        .store
        .console_signed_in(step, &session, &[entry.encode()])
        .await?
    {
        // The code was right but already used (replayed, or a second sign-in in the same
        // 30 seconds): not a failure of the user's secret, and not accepted.
        return Err(NodeError::unauthorized(
            "that code was already used; wait for the next one",
        ));
    }
    Ok(SignedIn {
        token,
        csrf_token,
        user,
    })
}

/// Records failure number `failures` of `user` (and the wait it brings); the answer to give.
async fn failed(state: &Node, user: &User, failures: i64, why: &str) -> NodeError {
    let now = state.clock.now();
    let until = now.saturating_add(wait_after(failures)).unwrap_or(now);
    let entry = crate::ops::ledger::entry(
        state,
        Event::ConsoleSignInFailed,
        format!("user:{}", user.id),
        format!("user:{}", user.id),
    )
    .attr("reason", why)
    .attr("failures", failures.to_string());
    match state
        .store
        .console_sign_in_failed(&user.id, until, &[entry.encode()])
        .await
    {
        Ok(()) => NodeError::unauthorized(WRONG),
        Err(e) => e.into(),
    }
}

/// The open session with this cookie: `unauthorized` if there is none, it ended, it was idle
/// longer than [`IDLE_TIMEOUT`] or open longer than [`MAX_SESSION`] (it is ended then), or its
/// user was disabled.
pub async fn session(state: &Node, token: &str) -> NodeResult<ConsoleSession> {
    let hash = crate::ops::auth::token_hash(token);
    let now = state.clock.now();
    let Some(s) = state.store.console_session(&hash).await? else {
        return Err(NodeError::unauthorized("not signed in"));
    };
    let expired = now.duration_since(s.last_seen_at) >= IDLE_TIMEOUT
        || now.duration_since(s.created_at) >= MAX_SESSION;
    if expired || s.account.disabled_at.is_some() {
        end(state, &hash, &s.account.user, "timeout").await?;
        return Err(NodeError::unauthorized("the session ended; sign in again"));
    }
    if now.duration_since(s.last_seen_at) >= SignedDuration::from_mins(1) {
        state.store.touch_console_session(&hash, now).await?;
    }
    Ok(s)
}

/// Whether a form's CSRF token is the session's (compared in constant time).
pub fn csrf_matches(session: &ConsoleSession, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(session.csrf_token.as_bytes().ct_eq(presented.as_bytes()))
}

/// Ends the session with this cookie (sign-out). Signing out twice is not an error.
pub async fn sign_out(state: &Node, token: &str) -> NodeResult<()> {
    let hash = crate::ops::auth::token_hash(token);
    if let Some(s) = state.store.console_session(&hash).await? {
        end(state, &hash, &s.account.user, "sign_out").await?;
    }
    Ok(())
}

async fn end(state: &Node, hash: &[u8; 32], user: &User, why: &str) -> NodeResult<()> {
    let entry = crate::ops::ledger::entry(
        state,
        Event::ConsoleSignedOut,
        format!("user:{}", user.id),
        format!("user:{}", user.id),
    )
    .attr("reason", why);
    state
        .store
        .end_console_session(hash, state.clock.now(), &[entry.encode()])
        .await?;
    Ok(())
}

/// The current code of a secret (for the demo's printed credentials and for tests).
pub fn current_code(secret: &[u8], at: Timestamp) -> NodeResult<String> {
    Ok(totp(secret.to_vec(), "hanoinet", "user")?
        .generate(unix_seconds(at))
        .to_string())
}

/// Decodes a base32 TOTP secret (as printed at enrolment).
pub fn secret_from_base32(s: &str) -> NodeResult<Vec<u8>> {
    Secret::try_from_base32(s)
        .map(|s| s.as_ref().to_vec())
        .map_err(|e| NodeError::internal(format!("TOTP secret: {e}")))
}
