//! Console sign-in as an attacker tries it: wrong passwords and codes, guessing past the
//! back-off, a code used twice, a session replayed after sign-out, an idle session, a disabled
//! user, a second replica serving the same session.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use hanoinet_core::ManualClock;
use hanoinet_ledger::Event;
use hanoinet_node::error::{ErrorCode, NodeError};
use hanoinet_node::ops::signin;

use crate::harness::*;

both_backends!(console_sign_in_resists_guessing_replay_and_stale_sessions);

const PASSWORD: &str = "correct horse battery staple";

async fn console_sign_in_resists_guessing_replay_and_stale_sessions(
    backend: hanoinet_store::testing::Backend,
) {
    let clock = Arc::new(ManualClock::new(
        "2026-12-02T08:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let net = Net::start_with(backend, &IDS[..1], clock.clone(), |_| {}).await;
    let node = &net.node(VNM).state;
    let name = node.store.list_users().await.unwrap()[0].user.name.clone();

    // Enrolment: a short password is refused; a good one gives a secret once.
    assert!(matches!(
        signin::enrol(node, &name, "short", "operator".into()).await,
        Err(NodeError::Invalid(_))
    ));
    let e = signin::enrol(node, &name, PASSWORD, "operator".into())
        .await
        .unwrap();
    assert!(
        e.otpauth_uri.starts_with("otpauth://totp/"),
        "{}",
        e.otpauth_uri
    );
    let secret = signin::secret_from_base32(&e.secret_base32).unwrap();
    let code =
        |c: &ManualClock| signin::current_code(&secret, hanoinet_core::Clock::now(c)).unwrap();
    let unauthorized = |r: Result<signin::SignedIn, NodeError>| match r {
        Err(NodeError::Unauthorized(m)) => m,
        other => panic!("expected unauthorized, got {other:?}"),
    };

    // Wrong password, wrong code, unknown user: one and the same answer.
    let a = unauthorized(signin::sign_in(node, &name, "wrong password!!", &code(&clock)).await);
    let b = unauthorized(signin::sign_in(node, &name, PASSWORD, "000000").await);
    let c = unauthorized(signin::sign_in(node, "nobody", PASSWORD, &code(&clock)).await);
    assert!(a == b && b == c, "{a} / {b} / {c}");

    // The right password and code open a session; the same code cannot open a second one.
    let s = signin::sign_in(node, &name, PASSWORD, &code(&clock))
        .await
        .unwrap();
    assert_eq!(s.user.name, name);
    let replayed = unauthorized(signin::sign_in(node, &name, PASSWORD, &code(&clock)).await);
    assert!(replayed.contains("already used"), "{replayed}");
    let session = signin::session(node, &s.token).await.unwrap();
    assert!(signin::csrf_matches(&session, &s.csrf_token));
    assert!(!signin::csrf_matches(&session, "forged"));
    assert!(!signin::csrf_matches(&session, ""));

    // Another replica over the same database serves the same session.
    let replica = net.replica(VNM).await;
    signin::session(&replica.state, &s.token).await.unwrap();

    // Sign-out ends it everywhere; replaying the cookie afterwards fails.
    signin::sign_out(node, &s.token).await.unwrap();
    assert!(matches!(
        signin::session(&replica.state, &s.token).await,
        Err(NodeError::Unauthorized(_))
    ));
    signin::sign_out(node, &s.token).await.unwrap();

    // An idle session ends after the idle timeout, a busy one after the absolute limit.
    clock.advance(SignedDuration::from_secs(31));
    let s = signin::sign_in(node, &name, PASSWORD, &code(&clock))
        .await
        .unwrap();
    clock.advance(signin::IDLE_TIMEOUT - SignedDuration::from_secs(1));
    signin::session(node, &s.token).await.unwrap();
    clock.advance(signin::IDLE_TIMEOUT - SignedDuration::from_secs(1));
    signin::session(node, &s.token).await.unwrap();
    clock.advance(signin::IDLE_TIMEOUT);
    assert!(matches!(
        signin::session(node, &s.token).await,
        Err(NodeError::Unauthorized(_))
    ));

    // Guessing: after the free failures every attempt waits, even a right one, and the wait
    // grows; once it has passed, the right password and code work and the count starts again.
    clock.advance(SignedDuration::from_secs(31));
    for _ in 0..signin::FREE_FAILURES {
        unauthorized(signin::sign_in(node, &name, "guess guess guess", &code(&clock)).await);
    }
    match signin::sign_in(node, &name, PASSWORD, &code(&clock)).await {
        Err(e) => assert_eq!(e.code(), ErrorCode::TooManyAttempts, "{e:?}"),
        Ok(_) => panic!("a right guess inside the back-off was let in"),
    }
    assert_eq!(
        signin::wait_after(signin::FREE_FAILURES),
        signin::FIRST_WAIT
    );
    assert_eq!(
        signin::wait_after(signin::FREE_FAILURES + 1),
        signin::FIRST_WAIT * 2
    );
    assert_eq!(signin::wait_after(1000), signin::MAX_WAIT);
    clock.advance(signin::FIRST_WAIT + SignedDuration::from_secs(1));
    signin::sign_in(node, &name, PASSWORD, &code(&clock))
        .await
        .unwrap();

    // A reset (new secret) ends the user's sessions and the old secret stops working.
    clock.advance(SignedDuration::from_secs(31));
    let s = signin::sign_in(node, &name, PASSWORD, &code(&clock)).await;
    let s = s.unwrap();
    let e2 = signin::enrol(node, &name, PASSWORD, "operator".into())
        .await
        .unwrap();
    assert_ne!(e2.secret_base32, e.secret_base32);
    assert!(signin::session(node, &s.token).await.is_err());
    clock.advance(SignedDuration::from_secs(31));
    unauthorized(signin::sign_in(node, &name, PASSWORD, &code(&clock)).await);

    // Debug output (what a log line would show) carries no secret.
    let shown = format!("{s:?} {e:?}");
    assert!(
        !shown.contains(&s.token)
            && !shown.contains(&s.csrf_token)
            && !shown.contains(&e.secret_base32),
        "{shown}"
    );

    // Every step is in the ledger, and neither the password nor the secret is.
    let wanted = [
        Event::ConsoleEnrolled,
        Event::ConsoleSignInFailed,
        Event::ConsoleSignedIn,
        Event::ConsoleSignedOut,
    ];
    let mut logged = Vec::new();
    for _ in 0..100 {
        let size = crate::ledger::head(&net, VNM).await.head.tree_size;
        logged = crate::ledger::entries(&net, VNM, size).await;
        let events = crate::ledger::events_of(&logged);
        if wanted
            .iter()
            .all(|w| events.iter().any(|e| e == w.as_str()))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let events = crate::ledger::events_of(&logged);
    for w in wanted {
        assert!(
            events.iter().any(|e| e == w.as_str()),
            "{w} not logged: {events:?}"
        );
    }
    for leaf in &logged {
        let text = String::from_utf8_lossy(leaf);
        assert!(!text.contains(PASSWORD) && !text.contains(&e.secret_base32));
        assert!(!text.contains(&e2.secret_base32));
    }
}
