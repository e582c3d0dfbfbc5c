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
}

impl NodeEntry {
    pub fn public_keys(&self) -> Result<PublicKeys, KeyError> {
        PublicKeys::from_b64(&self.signing_key, &self.encryption_key)
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
            if let Err(e) = n.public_keys() {
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
        r.upsert_node(NodeEntry {
            id: "VNM/247".parse().unwrap(),
            role: NodeRole::PointOfContact,
            url: "http://127.0.0.1:7400".into(),
            signing_key: k.public().signing_b64(),
            encryption_key: k.public().encryption_b64(),
        });
        r
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
