//! The registry: which States signed and ratified, and every node's id, URL and public keys,
//! signed by the depositary's key. Every node verifies it against a depositary key it was given
//! out of band (its trust anchor) and refuses to start if the signature does not verify.
//!
//! The signed form carries the registry as the exact JSON text that was signed, so verifiers never
//! need to re-serialize JSON to check a signature.

use std::collections::BTreeSet;

use ed25519_dalek::{Signature, VerifyingKey};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use hanoinet_core::legal::{self, InForce, NotInForce, PartyFacts};
use hanoinet_core::{NodeId, StateCode};

use crate::b64;
use crate::canonical::{Canonical, domain};
use crate::keys::{DepositaryKey, KeyError, PublicKeys};

pub const REGISTRY_FORMAT: &str = "hanoinet-registry/1";
pub const SIGNED_REGISTRY_FORMAT: &str = "hanoinet-signed-registry/1";
pub const IDENTITY_FORMAT: &str = "hanoinet-node-identity/1";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry file is malformed: {0}")]
    Malformed(String),
    #[error(
        "registry is signed by key {found}, not by the trusted depositary key {trusted}; refusing to use it"
    )]
    WrongSigner { found: String, trusted: String },
    #[error(
        "registry signature does not verify against the trusted depositary key; the file was altered or is not the depositary's"
    )]
    BadSignature,
    #[error("registry content is invalid: {0}")]
    Invalid(String),
}

/// The kind of instrument a State deposited (Art. 64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentKind {
    Ratification,
    Acceptance,
    Approval,
    Accession,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    pub kind: InstrumentKind,
    pub deposited: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reservation {
    /// The article and paragraph the reservation or declaration concerns, e.g. `42(5)`.
    pub article: String,
    pub text: String,
    pub made: Date,
    /// When the reservation was withdrawn, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateEntry {
    pub code: StateCode,
    pub name: String,
    #[serde(default)]
    pub regional_organization: bool,
    #[serde(default)]
    pub signed: Option<Date>,
    #[serde(default)]
    pub instrument: Option<Instrument>,
    #[serde(default)]
    pub denounced: Option<Date>,
    #[serde(default)]
    pub reservations: Vec<Reservation>,
    /// Languages in which the State accepts requests (ISO 639-1 codes).
    #[serde(default)]
    pub languages: Vec<String>,
    /// For a regional economic integration organization: its member States.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<StateCode>,
    /// The central authority for mutual legal assistance (Art. 40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub central_authority: Option<String>,
    /// The 24/7 point of contact (Art. 41): how to reach it besides its node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_of_contact: Option<String>,
    /// Requests must go through diplomatic channels (Art. 40).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub diplomatic_channel_required: bool,
    /// Urgent requests are accepted through INTERPOL (Art. 40).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interpol_accepted: bool,
}

impl StateEntry {
    /// A State that has neither signed nor deposited anything yet.
    pub fn new(code: StateCode, name: impl Into<String>) -> Self {
        Self {
            code,
            name: name.into(),
            regional_organization: false,
            signed: None,
            instrument: None,
            denounced: None,
            reservations: Vec::new(),
            languages: Vec::new(),
            members: Vec::new(),
            central_authority: None,
            point_of_contact: None,
            diplomatic_channel_required: false,
            interpol_accepted: false,
        }
    }

    /// Whether the State made (and has not withdrawn) the Art. 42(5) dual-criminality
    /// reservation.
    pub fn has_dual_criminality_reservation(&self) -> bool {
        self.reservations.iter().any(|r| {
            r.withdrawn.is_none()
                && hanoinet_core::catalogue::art42::DUAL_CRIMINALITY_RESERVATION
                    .matches_text(&r.article)
        })
    }

    /// Whether the State declared (and has not withdrawn) that it requires dual criminality for
    /// mutual legal assistance.
    pub fn requires_dual_criminality(&self) -> bool {
        self.reservations.iter().any(|r| {
            r.withdrawn.is_none()
                && hanoinet_core::catalogue::art40::DUAL_CRIMINALITY.matches_text(&r.article)
        })
    }

    /// What the legal gate needs to know of the State.
    pub fn party_facts(&self) -> PartyFacts {
        PartyFacts {
            code: self.code.as_str().to_owned(),
            regional_organization: self.regional_organization,
            signed: self.signed,
            deposited: self.instrument.as_ref().map(|i| i.deposited),
            denounced: self.denounced,
            members: self.members.iter().map(|m| m.as_str().to_owned()).collect(),
        }
    }

    /// Whether the State accepts requests in `language`. A State that lists no language
    /// accepts any.
    pub fn accepts_language(&self, language: &str) -> bool {
        self.languages.is_empty() || self.languages.iter().any(|l| l == language)
    }
}

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// The State's 24/7 point of contact (Art. 41).
    PointOfContact,
    /// The State's central authority for mutual legal assistance (Art. 40).
    CentralAuthority,
}

/// A node's public identity: what `hanoinet init` writes for the depositary to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    pub id: NodeId,
    pub role: NodeRole,
    /// Base URL of the node (its federation endpoint is `{url}/federation/v1/envelopes`).
    pub url: String,
    /// Ed25519 public key, base64.
    pub signing_key: String,
    /// X25519 public key for HPKE, base64.
    pub encryption_key: String,
    /// The current keys are not valid before this time (a rotation published ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    /// The current keys are not valid from this time on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Keys the node used before its current ones, still valid for their period: signatures by
    /// them verify and envelopes may still be sealed to them while the node's peers catch up
    /// with a rotation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_keys: Vec<KeyPeriod>,
    /// Signing keys of the node that must never be trusted again (compromised or lost),
    /// whatever period they were listed with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_keys: Vec<RevokedKey>,
}

/// A node's earlier key pair and the period in which it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPeriod {
    pub signing_key: String,
    pub encryption_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    pub valid_until: Timestamp,
}

/// A revoked signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedKey {
    pub signing_key: String,
    /// From when the key is refused. What it signed before stays verifiable as history (a
    /// ledger's old tree heads); a live message signed by it is refused once this has passed.
    pub revoked_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn within(at: Timestamp, from: Option<Timestamp>, until: Option<Timestamp>) -> bool {
    from.is_none_or(|f| f <= at) && until.is_none_or(|u| at < u)
}

impl NodeEntry {
    /// A node entry with current keys and no history.
    pub fn new(id: NodeId, role: NodeRole, url: String, keys: &PublicKeys) -> Self {
        Self {
            id,
            role,
            url,
            signing_key: keys.signing_b64(),
            encryption_key: keys.encryption_b64(),
            valid_from: None,
            valid_until: None,
            previous_keys: Vec::new(),
            revoked_keys: Vec::new(),
        }
    }

    /// The current keys: what messages to the node are sealed to.
    pub fn public_keys(&self) -> Result<PublicKeys, KeyError> {
        PublicKeys::from_b64(&self.signing_key, &self.encryption_key)
    }

    /// Whether the signing key (base64) was revoked at or before `at`.
    pub fn revoked_at(&self, signing_key: &str, at: Timestamp) -> bool {
        self.revoked_keys
            .iter()
            .any(|r| r.signing_key == signing_key && r.revoked_at <= at)
    }

    /// The keys whose signatures made at `at` verify: the current keys within their period,
    /// earlier keys within theirs, none revoked at `at`. Current keys first.
    pub fn keys_valid_at(&self, at: Timestamp) -> Vec<PublicKeys> {
        let current = within(at, self.valid_from, self.valid_until)
            .then_some((self.signing_key.as_str(), self.encryption_key.as_str()));
        let earlier = self
            .previous_keys
            .iter()
            .filter(|p| within(at, p.valid_from, Some(p.valid_until)))
            .map(|p| (p.signing_key.as_str(), p.encryption_key.as_str()));
        current
            .into_iter()
            .chain(earlier)
            .filter(|(s, _)| !self.revoked_at(s, at))
            .filter_map(|(s, e)| PublicKeys::from_b64(s, e).ok())
            .collect()
    }

    /// Every key pair the registry lists for the node, current first, revoked or not.
    pub fn all_keys(&self) -> Vec<PublicKeys> {
        std::iter::once((self.signing_key.as_str(), self.encryption_key.as_str()))
            .chain(
                self.previous_keys
                    .iter()
                    .map(|p| (p.signing_key.as_str(), p.encryption_key.as_str())),
            )
            .filter_map(|(s, e)| PublicKeys::from_b64(s, e).ok())
            .collect()
    }

    /// Replaces the node's keys with `keys`, keeping the old ones valid until `keep_until`
    /// (unless they are the same keys, or revoked).
    pub fn rotate_to(&mut self, keys: &PublicKeys, keep_until: Timestamp) {
        if self.signing_key == keys.signing_b64() && self.encryption_key == keys.encryption_b64() {
            return;
        }
        let old = KeyPeriod {
            signing_key: std::mem::replace(&mut self.signing_key, keys.signing_b64()),
            encryption_key: std::mem::replace(&mut self.encryption_key, keys.encryption_b64()),
            valid_from: self.valid_from.take(),
            valid_until: match self.valid_until.take() {
                Some(u) if u < keep_until => u,
                _ => keep_until,
            },
        };
        self.previous_keys
            .retain(|p| p.signing_key != self.signing_key && p.signing_key != old.signing_key);
        self.previous_keys.insert(0, old);
    }

    /// Checks the keys and their periods.
    fn validate_keys(&self) -> Result<(), String> {
        self.public_keys().map_err(|e| e.to_string())?;
        if let (Some(f), Some(u)) = (self.valid_from, self.valid_until)
            && f >= u
        {
            return Err("valid_from is not before valid_until".into());
        }
        let mut seen = BTreeSet::from([self.signing_key.as_str()]);
        let mut seen_enc = BTreeSet::from([self.encryption_key.as_str()]);
        for p in &self.previous_keys {
            PublicKeys::from_b64(&p.signing_key, &p.encryption_key)
                .map_err(|e| format!("previous key {}: {e}", p.signing_key))?;
            if !seen.insert(&p.signing_key) || !seen_enc.insert(&p.encryption_key) {
                return Err(format!("key {} is listed twice", p.signing_key));
            }
            if p.valid_from.is_some_and(|f| f >= p.valid_until) {
                return Err(format!(
                    "previous key {}: valid_from is not before valid_until",
                    p.signing_key
                ));
            }
        }
        for r in &self.revoked_keys {
            crate::keys::verifying_key_from_b64(&r.signing_key)
                .map_err(|e| format!("revoked key {}: {e}", r.signing_key))?;
        }
        Ok(())
    }
}

/// The identity file `hanoinet init` writes: a [`NodeEntry`] with a format tag.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityFile {
    pub format: String,
    #[serde(flatten)]
    pub node: NodeEntry,
}

impl IdentityFile {
    pub fn new(node: NodeEntry) -> Self {
        Self {
            format: IDENTITY_FORMAT.into(),
            node,
        }
    }

    pub fn parse(text: &str) -> Result<NodeEntry, RegistryError> {
        let f: Self =
            serde_json::from_str(text).map_err(|e| RegistryError::Malformed(e.to_string()))?;
        if f.format != IDENTITY_FORMAT {
            return Err(RegistryError::Malformed(format!(
                "unknown identity format {:?}",
                f.format
            )));
        }
        f.node
            .public_keys()
            .map_err(|e| RegistryError::Invalid(format!("node {}: {e}", f.node.id)))?;
        Ok(f.node)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    pub format: String,
    /// Increases with every publication.
    pub serial: u64,
    pub issued_at: Timestamp,
    /// True for demonstration registries: their States and dates are not real.
    #[serde(default)]
    pub demo: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    pub states: Vec<StateEntry>,
    pub nodes: Vec<NodeEntry>,
}

impl Registry {
    pub fn new(issued_at: Timestamp, demo: bool) -> Self {
        Self {
            format: REGISTRY_FORMAT.into(),
            serial: 1,
            issued_at,
            demo,
            notice: demo.then(|| "DEMO DATA: States, dates and nodes in this registry are fictitious and for demonstration only.".into()),
            states: Vec::new(),
            nodes: Vec::new(),
        }
    }

    pub fn node(&self, id: &NodeId) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| &n.id == id)
    }

    pub fn state(&self, code: &StateCode) -> Option<&StateEntry> {
        self.states.iter().find(|s| &s.code == code)
    }

    /// The legal-gate facts of every listed State and organization.
    pub fn party_facts(&self) -> Vec<PartyFacts> {
        self.states.iter().map(StateEntry::party_facts).collect()
    }

    /// The general entry-into-force date (Art. 65(1)), if forty instruments are deposited.
    pub fn general_in_force_from(&self) -> Option<Date> {
        legal::general_entry_into_force(&self.party_facts())
    }

    /// When the Convention is in force for one State.
    pub fn in_force(&self, state: &StateEntry) -> InForce {
        legal::party_in_force(
            &self.party_facts(),
            &state.party_facts(),
            self.general_in_force_from(),
        )
    }

    /// Checks that a request under the Convention between `a` and `b` is possible on `day`.
    pub fn convention_between(
        &self,
        a: &StateCode,
        b: &StateCode,
        day: Date,
    ) -> Result<(), NotInForce> {
        legal::both_in_force(&self.party_facts(), a.as_str(), b.as_str(), day)
    }

    /// Adds or replaces a State.
    pub fn upsert_state(&mut self, state: StateEntry) {
        self.states.retain(|s| s.code != state.code);
        self.states.push(state);
        self.states.sort_by(|a, b| a.code.cmp(&b.code));
    }

    /// Removes a State and its nodes; false if it was not listed.
    pub fn remove_state(&mut self, code: &StateCode) -> bool {
        let before = self.states.len();
        self.states.retain(|s| &s.code != code);
        self.nodes.retain(|n| &n.id.state() != code);
        for s in &mut self.states {
            s.members.retain(|m| m != code);
        }
        self.states.len() != before
    }

    /// Removes a node; false if it was not listed.
    pub fn remove_node(&mut self, id: &NodeId) -> bool {
        let before = self.nodes.len();
        self.nodes.retain(|n| &n.id != id);
        self.nodes.len() != before
    }

    /// The keys of node `id` whose signatures made at `at` verify (none for an unknown node).
    pub fn keys_valid_at(&self, id: &NodeId, at: Timestamp) -> Vec<PublicKeys> {
        self.node(id)
            .map(|n| n.keys_valid_at(at))
            .unwrap_or_default()
    }

    /// Adds or replaces a node.
    pub fn upsert_node(&mut self, node: NodeEntry) {
        self.nodes.retain(|n| n.id != node.id);
        self.nodes.push(node);
        self.nodes.sort_by(|a, b| a.id.cmp(&b.id));
    }

    /// Checks what a signature cannot: unique ids, every node's State listed, valid keys and URLs.
    pub fn validate(&self) -> Result<(), RegistryError> {
        let bad = |m: String| Err(RegistryError::Invalid(m));
        if self.format != REGISTRY_FORMAT {
            return bad(format!("unknown registry format {:?}", self.format));
        }
        let mut codes = BTreeSet::new();
        for s in &self.states {
            if !codes.insert(&s.code) {
                return bad(format!("state {} is listed twice", s.code));
            }
        }
        for s in &self.states {
            if !s.members.is_empty() && !s.regional_organization {
                return bad(format!(
                    "{} lists members but is not a regional organization",
                    s.code
                ));
            }
            if let Some(m) = s.members.iter().find(|m| !codes.contains(m)) {
                return bad(format!("{}: member {m} is not listed", s.code));
            }
            if let Some(l) = s
                .languages
                .iter()
                .find(|l| l.len() != 2 || !l.bytes().all(|b| b.is_ascii_lowercase()))
            {
                return bad(format!(
                    "{}: language {l:?} is not an ISO 639-1 code",
                    s.code
                ));
            }
        }
        let mut ids = BTreeSet::new();
        for n in &self.nodes {
            if !ids.insert(&n.id) {
                return bad(format!("node {} is listed twice", n.id));
            }
            if !codes.contains(&n.id.state()) {
                return bad(format!(
                    "node {} belongs to state {}, which is not listed",
                    n.id,
                    n.id.state()
                ));
            }
            if let Err(e) = n.validate_keys() {
                return bad(format!("node {}: {e}", n.id));
            }
            if !(n.url.starts_with("http://") || n.url.starts_with("https://"))
                || n.url.ends_with('/')
            {
                return bad(format!(
                    "node {}: url must be http(s)://host[:port][/path] without a trailing slash, got {:?}",
                    n.id, n.url
                ));
            }
        }
        Ok(())
    }

    /// Signs the registry with the depositary's key.
    pub fn sign(&self, key: &DepositaryKey) -> Result<SignedRegistry, RegistryError> {
        self.validate()?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| RegistryError::Malformed(e.to_string()))?;
        let signature = key.sign(&signing_input(&text));
        Ok(SignedRegistry {
            format: SIGNED_REGISTRY_FORMAT.into(),
            registry: text,
            signed_by: key.public_b64(),
            signature: b64::encode(&signature),
        })
    }
}

fn signing_input(text: &str) -> Vec<u8> {
    Canonical::new(domain::REGISTRY).str(text).finish()
}

/// The published registry file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRegistry {
    pub format: String,
    /// The registry's JSON text, exactly as signed.
    pub registry: String,
    /// The depositary's public key (base64), for information: verifiers use their trust anchor.
    pub signed_by: String,
    /// Ed25519 signature (base64) over the canonical encoding of `registry`.
    pub signature: String,
}

impl SignedRegistry {
    pub fn parse(text: &str) -> Result<Self, RegistryError> {
        let s: Self =
            serde_json::from_str(text).map_err(|e| RegistryError::Malformed(e.to_string()))?;
        if s.format != SIGNED_REGISTRY_FORMAT {
            return Err(RegistryError::Malformed(format!(
                "unknown signed-registry format {:?}",
                s.format
            )));
        }
        Ok(s)
    }

    /// Verifies the signature against the trusted depositary key, then parses and validates the
    /// registry. Nothing from the registry is used before the signature verifies.
    pub fn verify(&self, trusted: &VerifyingKey) -> Result<Registry, RegistryError> {
        let trusted_b64 = b64::encode(trusted.as_bytes());
        if self.signed_by != trusted_b64 {
            return Err(RegistryError::WrongSigner {
                found: self.signed_by.clone(),
                trusted: trusted_b64,
            });
        }
        let sig = b64::decode_array::<64>(&self.signature).ok_or(RegistryError::BadSignature)?;
        trusted
            .verify_strict(&signing_input(&self.registry), &Signature::from_bytes(&sig))
            .map_err(|_| RegistryError::BadSignature)?;
        let reg: Registry = serde_json::from_str(&self.registry)
            .map_err(|e| RegistryError::Malformed(e.to_string()))?;
        reg.validate()?;
        Ok(reg)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::NodeKeys;

    fn registry() -> Registry {
        let mut r = Registry::new("2026-11-22T00:00:00Z".parse().unwrap(), true);
        for code in ["VNM", "FRA"] {
            r.upsert_state(StateEntry {
                signed: Some("2025-10-25".parse().unwrap()),
                languages: vec!["en".into()],
                ..StateEntry::new(code.parse().unwrap(), code)
            });
        }
        let k = NodeKeys::generate();
        r.upsert_node(NodeEntry::new(
            "VNM/247".parse().unwrap(),
            NodeRole::PointOfContact,
            "http://127.0.0.1:7400".into(),
            k.public(),
        ));
        r
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn rotated_keys_verify_for_their_period_and_revoked_keys_never_do() {
        let d = DepositaryKey::generate();
        let mut r = registry();
        let old = r.nodes[0].public_keys().unwrap();
        let new = NodeKeys::generate();
        r.nodes[0].rotate_to(new.public(), at("2026-12-03T00:00:00Z"));
        let r = SignedRegistry::parse(&r.sign(&d).unwrap().to_json())
            .unwrap()
            .verify(&d.public())
            .unwrap();
        let n = &r.nodes[0];
        assert_eq!(
            &n.public_keys().unwrap(),
            new.public(),
            "sealing goes to the new keys"
        );
        assert_eq!(
            n.keys_valid_at(at("2026-12-02T00:00:00Z")),
            vec![new.public().clone(), old.clone()],
            "both during the overlap, the current first"
        );
        assert_eq!(
            n.keys_valid_at(at("2026-12-03T00:00:00Z")),
            vec![new.public().clone()],
            "the old key ends at valid_until"
        );

        let mut revoked = r.clone();
        revoked.nodes[0].revoked_keys.push(RevokedKey {
            signing_key: old.signing_b64(),
            revoked_at: at("2026-12-01T12:00:00Z"),
            reason: Some("key compromised".into()),
        });
        revoked.validate().unwrap();
        let n = &revoked.nodes[0];
        assert_eq!(
            n.keys_valid_at(at("2026-12-02T00:00:00Z")),
            vec![new.public().clone()]
        );
        assert_eq!(
            n.keys_valid_at(at("2026-12-01T00:00:00Z")).len(),
            2,
            "what it signed before the revocation stays verifiable as history"
        );

        // Rotating twice keeps one entry per key; rotating to the same keys changes nothing.
        let mut twice = r.clone();
        let newer = NodeKeys::generate();
        twice.nodes[0].rotate_to(newer.public(), at("2026-12-05T00:00:00Z"));
        twice.nodes[0].rotate_to(newer.public(), at("2026-12-06T00:00:00Z"));
        assert_eq!(twice.nodes[0].previous_keys.len(), 2);
        twice.validate().unwrap();
    }

    #[test]
    fn key_periods_are_validated() {
        let d = DepositaryKey::generate();
        let mut r = registry();
        let k = r.nodes[0].public_keys().unwrap();
        r.nodes[0].previous_keys.push(KeyPeriod {
            signing_key: k.signing_b64(),
            encryption_key: k.encryption_b64(),
            valid_from: None,
            valid_until: at("2027-01-01T00:00:00Z"),
        });
        let e = r.sign(&d).unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
        let mut r = registry();
        r.nodes[0].valid_from = Some(at("2027-01-01T00:00:00Z"));
        r.nodes[0].valid_until = Some(at("2026-01-01T00:00:00Z"));
        assert!(r.sign(&d).is_err());
        let mut r = registry();
        r.nodes[0].revoked_keys.push(RevokedKey {
            signing_key: "AAAA".into(),
            revoked_at: at("2026-01-01T00:00:00Z"),
            reason: None,
        });
        assert!(r.sign(&d).is_err());
    }

    #[test]
    fn removing_a_state_removes_its_nodes() {
        let mut r = registry();
        assert!(r.remove_state(&"VNM".parse().unwrap()));
        assert!(r.nodes.is_empty());
        assert!(!r.remove_state(&"VNM".parse().unwrap()));
        assert!(!r.remove_node(&"FRA/247".parse().unwrap()));
    }

    #[test]
    fn sign_and_verify() {
        let d = DepositaryKey::generate();
        let r = registry();
        let signed = r.sign(&d).unwrap();
        let back = SignedRegistry::parse(&signed.to_json())
            .unwrap()
            .verify(&d.public())
            .unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn tampering_or_another_signer_is_refused() {
        let d = DepositaryKey::generate();
        let signed = registry().sign(&d).unwrap();
        let mut tampered = signed.clone();
        tampered.registry = tampered.registry.replace("VNM/247", "VNM/248");
        assert!(matches!(
            tampered.verify(&d.public()),
            Err(RegistryError::BadSignature)
        ));

        let other = DepositaryKey::generate();
        assert!(matches!(
            signed.verify(&other.public()),
            Err(RegistryError::WrongSigner { .. })
        ));
        // Claiming the trusted key without its signature does not help.
        let mut forged = registry().sign(&other).unwrap();
        forged.signed_by = d.public_b64();
        assert!(matches!(
            forged.verify(&d.public()),
            Err(RegistryError::BadSignature)
        ));
    }

    #[test]
    fn invalid_content_is_refused_even_when_signed() {
        let d = DepositaryKey::generate();
        let mut r = registry();
        r.nodes[0].id = "KEN/247".parse().unwrap();
        assert!(matches!(r.sign(&d), Err(RegistryError::Invalid(_))));
        let mut r = registry();
        r.nodes[0].url = "ftp://x".into();
        assert!(r.sign(&d).is_err());
        let mut r = registry();
        r.nodes[0].signing_key = "AAAA".into();
        assert!(r.sign(&d).is_err());
    }

    #[test]
    fn reservations_are_recognized() {
        let mut s = registry().states[0].clone();
        assert!(!s.has_dual_criminality_reservation());
        s.reservations.push(Reservation {
            article: "42 (5)".into(),
            text: "x".into(),
            made: "2026-01-01".parse().unwrap(),
            withdrawn: None,
        });
        assert!(s.has_dual_criminality_reservation());
    }
}
