//! Escalation contacts: the pluggable notifier. Every escalation and reminder becomes one
//! notification per contact (a webhook URL, or an e-mail address via an SMTP relay), stored in
//! the same transaction as its alert and delivered by [`run`] with retries and backoff, so a
//! contact that is down gets it later and nothing is lost.
//!
//! Notifications carry codes, ids and times only (no case content, no personal data).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use hanoinet_store::Notification;

use crate::node::Node;

/// `node.json` → `"escalation"`: who hears of missed deadlines and reminders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Escalation {
    /// URLs that receive a JSON `POST` per event.
    pub webhooks: Vec<String>,
    /// E-mail through an SMTP relay.
    pub smtp: Option<Smtp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// The relay, `host:port` (plain SMTP; the relay handles TLS onwards).
    pub server: String,
    pub from: String,
    pub to: Vec<String>,
}

/// Channels of notification.
pub const WEBHOOK: &str = "webhook";
pub const SMTP: &str = "smtp";

impl Escalation {
    /// Checks the configuration at start-up, so a typo is found before a deadline is missed.
    pub fn validate(&self) -> anyhow::Result<()> {
        for url in &self.webhooks {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "escalation webhook {url:?} must be an http(s) URL"
            );
        }
        if let Some(s) = &self.smtp {
            anyhow::ensure!(
                s.server
                    .rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok()),
                "escalation smtp.server must be host:port, got {:?}",
                s.server
            );
            s.from
                .parse::<lettre::message::Mailbox>()
                .map_err(|e| anyhow::anyhow!("escalation smtp.from {:?}: {e}", s.from))?;
            for to in &s.to {
                to.parse::<lettre::message::Mailbox>()
                    .map_err(|e| anyhow::anyhow!("escalation smtp.to {to:?}: {e}"))?;
            }
        }
        Ok(())
    }

    /// One notification per contact for an event.
    pub fn notifications(
        &self,
        event_id: &str,
        subject: &str,
        body: &Value,
        now: jiff::Timestamp,
    ) -> Vec<Notification> {
        let mut out = Vec::new();
        let text = body.to_string();
        let mut push = |channel: &str, target: &str| {
            out.push(Notification {
                id: format!("{event_id}:{channel}:{target}"),
                channel: channel.into(),
                target: target.into(),
                subject: subject.into(),
                body: text.clone(),
                created_at: now,
                attempts: 0,
            });
        };
        for url in &self.webhooks {
            push(WEBHOOK, url);
        }
        if let Some(s) = &self.smtp {
            for to in &s.to {
                push(SMTP, to);
            }
        }
        out
    }
}

async fn send(state: &Node, n: &Notification) -> Result<(), String> {
    match n.channel.as_str() {
        WEBHOOK => {
            let resp = state
                .http
                .post(&n.target)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-Hanoinet-Node", state.id.as_str())
                .body(n.body.clone())
                .send()
                .await
                .map_err(|e| format!("cannot reach {}: {e}", n.target))?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(format!("{} answered {}", n.target, resp.status()))
            }
        }
        SMTP => {
            let smtp = state
                .escalation
                .smtp
                .as_ref()
                .ok_or("no SMTP relay is configured any more")?;
            email(smtp, n).await
        }
        other => Err(format!("unknown channel {other:?}")),
    }
}

async fn email(smtp: &Smtp, n: &Notification) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let (host, port) = smtp
        .server
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .ok_or("smtp.server must be host:port")?;
    let body: Value = serde_json::from_str(&n.body).unwrap_or(Value::Null);
    let text = format!(
        "{}\n\n{}\n\n-- \nhanoinet escalation (codes and ids only; open the case on the node)\n",
        n.subject,
        serde_json::to_string_pretty(&body).unwrap_or_default()
    );
    let message = Message::builder()
        .from(smtp.from.parse().map_err(|e| format!("from: {e}"))?)
        .to(n.target.parse().map_err(|e| format!("to: {e}"))?)
        .subject(n.subject.clone())
        .body(text)
        .map_err(|e| format!("building the e-mail: {e}"))?;
    // Plain SMTP to the relay: the relay is local or on a trusted network and handles TLS onward.
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP {}: {e}", smtp.server))
}

/// Sends what is due now; returns how many were sent.
pub async fn flush(state: &Node) -> usize {
    let now = state.clock.now();
    let lease = now
        .checked_add(jiff::SignedDuration::from_secs(60))
        .unwrap_or(now);
    let due = match state
        .store
        .claim_notifications(now, lease, 32, &state.instance)
        .await
    {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "claiming notifications failed");
            return 0;
        }
    };
    let mut sent = 0;
    for n in due {
        let outcome = send(state, &n).await;
        let now = state.clock.now();
        let recorded = match &outcome {
            Ok(()) => {
                sent += 1;
                tracing::info!(notification = %n.id, channel = %n.channel, "escalation contact notified");
                state.store.notification_attempted(&n.id, now, Ok(())).await
            }
            Err(e) => {
                let delay = crate::workers::delivery::backoff(
                    n.attempts,
                    state.tunables.base_backoff,
                    state.tunables.max_backoff,
                );
                let retry = now
                    .checked_add(jiff::SignedDuration::try_from(delay).unwrap_or_default())
                    .unwrap_or(now);
                tracing::warn!(notification = %n.id, channel = %n.channel, error = %e, "notifying an escalation contact failed; will retry");
                state
                    .store
                    .notification_attempted(&n.id, now, Err((e.as_str(), retry)))
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "recording a notification attempt failed");
        }
    }
    sent
}

/// Delivers notifications until `stop`.
pub async fn run(state: Arc<Node>, mut stop: watch::Receiver<bool>) {
    loop {
        flush(&state).await;
        tokio::select! {
            _ = tokio::time::sleep(state.tunables.poll_interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
