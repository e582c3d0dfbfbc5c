//! One log entry: what happened, when, on which node, by whom, to what, with hash commitments.
//!
//! An entry never holds personal data or case content: actors are user ids (not names) or node
//! ids, subjects are request and envelope ids, content appears only as SHA-256 commitments, and
//! attribute values are codes (statuses, refusal grounds, error codes).
//!
//! Encoding (the exact bytes that are hashed as the leaf): canonical(`hanoinet/v1/ledger-entry`,
//! event, at, node, actor, subject, then each attribute as two fields, key and value, in the
//! order recorded). See PROTOCOL.md.

use jiff::Timestamp;
use serde::Serialize;

use hanoinet_protocol::canonical::Canonical;

pub const DOMAIN: &str = "hanoinet/v1/ledger-entry";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// What happened, e.g. `request_created` (see [`Event`]).
    pub event: String,
    pub at: Timestamp,
    /// The node whose log this is.
    pub node: String,
    /// Who did it: `user:<id>`, `node:<node id>` or `system`.
    pub actor: String,
    /// What it happened to: `request:<id>`, `user:<id>`, `registry:<serial>`... or empty.
    pub subject: String,
    /// Codes and commitments (`sha256:<hex>`), never personal data.
    pub attributes: Vec<(String, String)>,
}

pub use hanoinet_protocol::keys::COMMITMENT_KEY_LABEL;

hanoinet_core::names! {
    /// The events a node logs (the `event` of the entries it writes; an entry read from
    /// elsewhere may carry any name).
    pub enum Event {
        RequestCreated => "request_created",
        RequestDelivered => "request_delivered",
        RequestReceived => "request_received",
        RequestOpened => "request_opened",
        /// A list of cases was read (attribute `requests`: the ids, comma-separated).
        RequestsListed => "requests_listed",
        /// The data transferred on a request were read (attribute `transfers`: the ids).
        DataOpened => "data_opened",
        /// An auditor had the node compute the keyed commitment of some content.
        CommitmentComputed => "commitment_computed",
        ResponseDelivered => "response_delivered",
        EnvelopeRejected => "envelope_rejected",
        UserCreated => "user_created",
        UserDisabled => "user_disabled",
        TokenRotated => "token_rotated",
        NodeStarted => "node_started",
        PeerLogInconsistent => "peer_log_inconsistent",
        /// A status change made on this node (attributes: from, to, by, grounds).
        StatusChanged => "status_changed",
        /// A status change received from the peer.
        StatusReceived => "status_received",
        MessageSent => "message_sent",
        MessageReceived => "message_received",
        /// An incoming request was not acknowledged in time; escalated.
        AckDeadlineMissed => "ack_deadline_missed",
        /// A preservation's end is near (attributes: days_before, preserved_until).
        PreservationReminder => "preservation_reminder",
        DataSent => "data_sent",
        DataReceived => "data_received",
        DataPurged => "data_purged",
        DataForwarded => "data_forwarded",
        AttachmentOpened => "attachment_opened",
        OnwardAuthorized => "onward_transfer_authorized",
        /// A user was given console credentials (enrolment or reset; attributes: none).
        ConsoleEnrolled => "console_enrolled",
        /// A console sign-in failed (attributes: reason `password` or `code`, failures).
        ConsoleSignInFailed => "console_sign_in_failed",
        ConsoleSignedIn => "console_signed_in",
        /// A console session ended (attribute reason: `sign_out` or `timeout`).
        ConsoleSignedOut => "console_signed_out",
        /// An auditor verified the log from the console ("verify now").
        LedgerVerified => "ledger_verified",
        /// A newer signed registry was installed in the running node (attributes: serial,
        /// previous serial, commitment to the file, source).
        RegistryInstalled => "registry_installed",
        /// A registry was offered and refused (attribute reason: `rollback`, `drops_node`,
        /// `unknown_keys`, `invalid`).
        RegistryRefused => "registry_refused",
        /// A peer has been unreachable longer than the policy allows.
        PeerUnreachable => "peer_unreachable",
        /// A peer that was reported unreachable answers again.
        PeerRecovered => "peer_recovered",
        /// A citizen's report came in on the public side (subject `report:CODE`; attributes:
        /// category, indicators, content commitment).
        ReportReceived => "report_received",
        /// An analyst opened a report (attribute: revealed).
        ReportOpened => "report_opened",
        /// An analyst closed a report (the reporter's status follows).
        ReportClosed => "report_closed",
        /// An analyst added a note to a report (attribute: content commitment).
        ReportNoteAdded => "report_note_added",
        /// A cooperation request was drafted from reports (attribute: request).
        ReportEscalated => "report_escalated",
        /// An analyst decided an indicator (subject `indicator:HASH`; attributes: decision, tlp,
        /// expires).
        IndicatorDecided => "indicator_decided",
        /// Reports past the retention period were purged (attributes: count, codes).
        ReportsPurged => "reports_purged",
        /// A reporter attached a screenshot (attributes: content type, size, keyed commitment).
        ReportFileAdded => "report_file_added",
        /// An analyst published a public warning (attribute: content commitment).
        WarningPublished => "warning_published",
    }
}

/// Who did something, when it was not a user (`user:<id>`) or a node (`node:<id>`).
pub mod actors {
    /// The node itself (a clock, a receipt, start-up).
    pub const SYSTEM: &str = "system";
    /// Someone at the node's console with the node's files (`hanoinet user ...`).
    pub const OPERATOR: &str = "operator";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a ledger entry: {0}")]
pub struct DecodeError(String);

impl Entry {
    pub fn new(event: &str, at: Timestamp, node: &str, actor: String, subject: String) -> Self {
        Self {
            event: event.into(),
            at,
            node: node.into(),
            actor,
            subject,
            attributes: Vec::new(),
        }
    }

    pub fn attr(mut self, key: &str, value: impl Into<String>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }

    /// A SHA-256 commitment to `content`, as an attribute value.
    /// A plain commitment, for content that is public anyway (the registry file): anyone
    /// holding the content can check it.
    pub fn commitment(content: &[u8]) -> String {
        format!("sha256:{}", hex::encode(hanoinet_protocol::sha256(content)))
    }

    /// A keyed commitment, for case content: HMAC-SHA256 under the node's commitment key
    /// ([`COMMITMENT_KEY_LABEL`]), so that someone who reads the log cannot confirm a guess of
    /// the content; the node computes it for an auditor who holds the content.
    pub fn keyed_commitment(key: &[u8; 32], content: &[u8]) -> String {
        use hmac::{KeyInit, Mac};
        // RFC 2104: a key shorter than the 64-byte block is padded with zeros; doing it here
        // gives the fixed-size key `new` takes, so there is no failure case to handle.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(key);
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&block.into());
        mac.update(content);
        format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut c = Canonical::new(DOMAIN);
        c.str(&self.event)
            .timestamp(self.at)
            .str(&self.node)
            .str(&self.actor)
            .str(&self.subject);
        for (k, v) in &self.attributes {
            c.str(k).str(v);
        }
        c.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let err = |m: &str| DecodeError(m.to_owned());
        let mut fields = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (len, tail) = rest
                .split_at_checked(4)
                .ok_or_else(|| err("truncated length"))?;
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let (field, tail) = tail
                .split_at_checked(len)
                .ok_or_else(|| err("truncated field"))?;
            fields.push(field);
            rest = tail;
        }
        if fields.len() < 6 || fields.len() % 2 != 0 || fields[0] != DOMAIN.as_bytes() {
            return Err(err("wrong shape"));
        }
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| err("not UTF-8"));
        let micros = i64::from_be_bytes(fields[2].try_into().map_err(|_| err("bad timestamp"))?);
        let at = Timestamp::from_microsecond(micros).map_err(|_| err("bad timestamp"))?;
        let mut attributes = Vec::new();
        for pair in fields[6..].chunks(2) {
            attributes.push((text(pair[0])?, text(pair[1])?));
        }
        Ok(Self {
            event: text(fields[1])?,
            at,
            node: text(fields[3])?,
            actor: text(fields[4])?,
            subject: text(fields[5])?,
            attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let e = Entry::new(
            Event::RequestCreated.as_str(),
            "2026-11-22T08:00:00.000001Z".parse().unwrap(),
            "VNM/247",
            "user:1".into(),
            "request:abc".into(),
        )
        .attr("peer", "FRA/247")
        .attr("payload", Entry::commitment(b"secret case content"));

        let bytes = e.encode();
        assert_eq!(Entry::decode(&bytes).unwrap(), e);
        assert!(!String::from_utf8_lossy(&bytes).contains("secret case content"));
        assert!(Entry::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(Entry::decode(b"junk").is_err());
    }

    #[test]
    fn keyed_commitments_are_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe" (zero-padded, as HMAC pads it anyway).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            Entry::keyed_commitment(&key, b"what do ya want for nothing?"),
            "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(
            Entry::keyed_commitment(&[1; 32], b"x"),
            Entry::keyed_commitment(&[2; 32], b"x")
        );
    }
}
