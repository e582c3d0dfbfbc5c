//! A node's keys: an Ed25519 signing key and an X25519 key for HPKE, and their public halves as
//! they appear in the registry.

use ed25519_dalek::SigningKey;
pub use ed25519_dalek::{Signature, VerifyingKey};
use hpke::{Deserializable, Kem as _, Serializable};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::b64;

/// The HPKE KEM: DHKEM(X25519, HKDF-SHA256).
pub type Kem = hpke::kem::X25519HkdfSha256;
pub type EncryptionPublicKey = <Kem as hpke::Kem>::PublicKey;
pub type EncryptionPrivateKey = <Kem as hpke::Kem>::PrivateKey;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a valid Ed25519 public key")]
    Signing,
    #[error("not a valid X25519 public key")]
    Encryption,
    #[error("key file is malformed: {0}")]
    KeyFile(String),
}

/// A node's private keys.
#[derive(Clone)]
pub struct NodeKeys {
    signing: SigningKey,
    encryption: EncryptionPrivateKey,
    public: PublicKeys,
}

impl std::fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKeys")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The secret key file's JSON form. Written with mode 0600; never logged.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub format: String,
    /// Ed25519 secret key (32-byte seed), base64: the newest key pair.
    pub signing_secret: String,
    /// X25519 secret key (32 bytes), base64.
    pub encryption_secret: String,
    /// Key pairs held from before a rotation (newest first): the node still signs with one of
    /// them until the registry publishes the new pair, and opens envelopes sealed to them while
    /// the registry lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub older: Vec<KeyPairSecrets>,
    /// The secret of the ledger's keyed commitments (base64, 32 bytes). Absent until the first
    /// rotation: it is then derived from the signing key, and a rotation writes it down so that
    /// commitments stay comparable across keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_secret: Option<String>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.signing_secret.zeroize();
        self.encryption_secret.zeroize();
        self.commitment_secret.zeroize();
    }
}

impl Drop for KeyPairSecrets {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.signing_secret.zeroize();
        self.encryption_secret.zeroize();
    }
}

/// One older key pair in a [`KeyFile`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPairSecrets {
    pub signing_secret: String,
    pub encryption_secret: String,
}

pub const KEY_FILE_FORMAT: &str = "hanoinet-node-keys/1";

impl NodeKeys {
    /// Fresh keys from the operating system's random number generator.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let signing = SigningKey::generate(&mut rng);
        let (encryption, _) = Kem::gen_keypair_with_rng(&mut rng);
        Self::assemble(signing, encryption)
    }

    /// Keys from their secret bytes (used by key files and test vectors).
    pub fn from_secrets(
        signing_secret: &[u8; 32],
        encryption_secret: &[u8; 32],
    ) -> Result<Self, KeyError> {
        let signing = SigningKey::from_bytes(signing_secret);
        let encryption = EncryptionPrivateKey::from_bytes(encryption_secret)
            .map_err(|_| KeyError::KeyFile("bad X25519 secret".into()))?;
        Ok(Self::assemble(signing, encryption))
    }

    fn assemble(signing: SigningKey, encryption: EncryptionPrivateKey) -> Self {
        let public = PublicKeys {
            signing: signing.verifying_key(),
            encryption: Kem::sk_to_pk(&encryption),
        };
        Self {
            signing,
            encryption,
            public,
        }
    }

    pub fn public(&self) -> &PublicKeys {
        &self.public
    }

    pub(crate) fn encryption_key(&self) -> &EncryptionPrivateKey {
        &self.encryption
    }

    /// A 32-byte secret for one purpose (`label`), derived from the signing key with
    /// HKDF-SHA256 (RFC 5869): the node keeps one secret file, and each purpose its own key.
    pub fn derive_secret(&self, label: &str) -> Zeroizing<[u8; 32]> {
        let ikm = Zeroizing::new(self.signing.to_bytes());
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(None, ikm.as_slice());
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 8160, so expanding cannot fail.
        let _ = hk.expand(label.as_bytes(), out.as_mut_slice());
        out
    }

    /// Signs `message` (already domain-separated by the caller's canonical encoding).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.signing.sign(message).to_bytes()
    }

    fn secrets(&self) -> KeyPairSecrets {
        let enc = Zeroizing::new(self.encryption.to_bytes().to_vec());
        let sig = Zeroizing::new(self.signing.to_bytes());
        KeyPairSecrets {
            signing_secret: b64::encode(sig.as_slice()),
            encryption_secret: b64::encode(&enc),
        }
    }

    fn from_pair(pair: &KeyPairSecrets) -> Result<Self, KeyError> {
        let sig = Zeroizing::new(
            b64::decode_array::<32>(&pair.signing_secret).ok_or_else(|| {
                KeyError::KeyFile("signing_secret is not 32 bytes of base64".into())
            })?,
        );
        let enc = Zeroizing::new(b64::decode_array::<32>(&pair.encryption_secret).ok_or_else(
            || KeyError::KeyFile("encryption_secret is not 32 bytes of base64".into()),
        )?);
        Self::from_secrets(&sig, &enc)
    }

    /// The key file's JSON text (one key pair). The returned string holds secrets and zeroizes
    /// on drop.
    pub fn to_key_file_json(&self) -> Zeroizing<String> {
        Keyring::new(self.clone()).to_key_file_json()
    }

    /// The newest key pair of a key file.
    pub fn from_key_file_json(text: &str) -> Result<Self, KeyError> {
        Ok(Keyring::from_key_file_json(text)?.newest().clone())
    }
}

/// Every key pair a node holds: the newest first, then older ones kept across a rotation. The
/// node signs with the pair its registry entry publishes and opens envelopes with any of them.
#[derive(Clone)]
pub struct Keyring {
    pairs: Vec<NodeKeys>,
    commitment: Zeroizing<[u8; 32]>,
    commitment_written: bool,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("pairs", &self.pairs)
            .finish_non_exhaustive()
    }
}

/// The label the ledger's commitment key is derived under (`NodeKeys::derive_secret`).
pub const COMMITMENT_KEY_LABEL: &str = "hanoinet/v1/ledger-commitment-key";

impl Keyring {
    /// A keyring of one pair.
    pub fn new(keys: NodeKeys) -> Self {
        let commitment = keys.derive_secret(COMMITMENT_KEY_LABEL);
        Self {
            pairs: vec![keys],
            commitment,
            commitment_written: false,
        }
    }

    /// The pair created last.
    pub fn newest(&self) -> &NodeKeys {
        &self.pairs[0]
    }

    /// Every pair, newest first.
    pub fn pairs(&self) -> &[NodeKeys] {
        &self.pairs
    }

    /// The pair whose public keys are `public`.
    pub fn find(&self, public: &PublicKeys) -> Option<&NodeKeys> {
        self.pairs.iter().find(|k| k.public() == public)
    }

    /// The secret of the ledger's keyed commitments: the same across rotations.
    pub fn commitment_secret(&self) -> &Zeroizing<[u8; 32]> {
        &self.commitment
    }

    /// Adds a fresh pair as the newest; the others are kept.
    pub fn rotate(&mut self) -> &NodeKeys {
        self.pairs.insert(0, NodeKeys::generate());
        self.commitment_written = true;
        &self.pairs[0]
    }

    /// Drops the pairs `keep` says no: the newest pair always stays.
    pub fn retain(&mut self, mut keep: impl FnMut(&NodeKeys) -> bool) -> usize {
        let before = self.pairs.len();
        let newest = self.pairs.remove(0);
        self.pairs.retain(|k| keep(k));
        self.pairs.insert(0, newest);
        before - self.pairs.len()
    }

    /// The key file's JSON text. The returned string holds secrets and zeroizes on drop.
    pub fn to_key_file_json(&self) -> Zeroizing<String> {
        let newest = self.pairs[0].secrets();
        let file = KeyFile {
            format: KEY_FILE_FORMAT.into(),
            signing_secret: newest.signing_secret.clone(),
            encryption_secret: newest.encryption_secret.clone(),
            older: self.pairs[1..].iter().map(NodeKeys::secrets).collect(),
            commitment_secret: self
                .commitment_written
                .then(|| b64::encode(self.commitment.as_slice())),
        };
        Zeroizing::new(serde_json::to_string_pretty(&file).unwrap_or_default())
    }

    pub fn from_key_file_json(text: &str) -> Result<Self, KeyError> {
        let file: KeyFile =
            serde_json::from_str(text).map_err(|e| KeyError::KeyFile(e.to_string()))?;
        if file.format != KEY_FILE_FORMAT {
            return Err(KeyError::KeyFile(format!(
                "unknown format {:?}",
                file.format
            )));
        }
        let mut pairs = vec![NodeKeys::from_pair(&KeyPairSecrets {
            signing_secret: file.signing_secret.clone(),
            encryption_secret: file.encryption_secret.clone(),
        })?];
        for pair in &file.older {
            pairs.push(NodeKeys::from_pair(pair)?);
        }
        let (commitment, commitment_written) = match &file.commitment_secret {
            Some(c) => (
                Zeroizing::new(b64::decode_array::<32>(c).ok_or_else(|| {
                    KeyError::KeyFile("commitment_secret is not 32 bytes of base64".into())
                })?),
                true,
            ),
            None => (pairs[0].derive_secret(COMMITMENT_KEY_LABEL), false),
        };
        Ok(Self {
            pairs,
            commitment,
            commitment_written,
        })
    }
}

/// A node's public keys, as published in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeys {
    pub signing: VerifyingKey,
    pub encryption: EncryptionPublicKey,
}

impl PublicKeys {
    pub fn signing_b64(&self) -> String {
        b64::encode(self.signing.as_bytes())
    }

    pub fn encryption_b64(&self) -> String {
        b64::encode(&self.encryption.to_bytes())
    }

    pub fn from_b64(signing: &str, encryption: &str) -> Result<Self, KeyError> {
        Ok(Self {
            signing: verifying_key_from_b64(signing)?,
            encryption: encryption_key_from_b64(encryption)?,
        })
    }
}

pub fn verifying_key_from_b64(s: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = b64::decode_array::<32>(s).ok_or(KeyError::Signing)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Signing)?;
    // A weak (small-order) key would let anyone forge signatures that verify non-strictly.
    if key.is_weak() {
        return Err(KeyError::Signing);
    }
    Ok(key)
}

pub fn encryption_key_from_b64(s: &str) -> Result<EncryptionPublicKey, KeyError> {
    let bytes = b64::decode_array::<32>(s).ok_or(KeyError::Encryption)?;
    EncryptionPublicKey::from_bytes(&bytes).map_err(|_| KeyError::Encryption)
}

/// A depositary's signing key (it has no encryption key: it only signs the registry).
#[derive(Clone)]
pub struct DepositaryKey(SigningKey);

impl std::fmt::Debug for DepositaryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DepositaryKey")
            .field(&self.public_b64())
            .finish()
    }
}

pub const DEPOSITARY_KEY_FORMAT: &str = "hanoinet-depositary-key/1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositaryKeyFile {
    format: String,
    signing_secret: String,
}

impl DepositaryKey {
    pub fn generate() -> Self {
        Self(SigningKey::generate(&mut rand::rng()))
    }

    pub fn from_secret(secret: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(secret))
    }

    pub fn public(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    pub fn public_b64(&self) -> String {
        b64::encode(self.0.verifying_key().as_bytes())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.0.sign(message).to_bytes()
    }

    pub fn to_key_file_json(&self) -> Zeroizing<String> {
        let secret = Zeroizing::new(self.0.to_bytes());
        let file = DepositaryKeyFile {
            format: DEPOSITARY_KEY_FORMAT.into(),
            signing_secret: b64::encode(secret.as_slice()),
        };
        Zeroizing::new(serde_json::to_string_pretty(&file).unwrap_or_default())
    }

    pub fn from_key_file_json(text: &str) -> Result<Self, KeyError> {
        let file: DepositaryKeyFile =
            serde_json::from_str(text).map_err(|e| KeyError::KeyFile(e.to_string()))?;
        if file.format != DEPOSITARY_KEY_FORMAT {
            return Err(KeyError::KeyFile(format!(
                "unknown format {:?}",
                file.format
            )));
        }
        let secret = Zeroizing::new(
            b64::decode_array::<32>(&file.signing_secret).ok_or_else(|| {
                KeyError::KeyFile("signing_secret is not 32 bytes of base64".into())
            })?,
        );
        Ok(Self::from_secret(&secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip() {
        let k = NodeKeys::generate();
        let back = NodeKeys::from_key_file_json(&k.to_key_file_json()).unwrap();
        assert_eq!(back.public(), k.public());
        let d = DepositaryKey::generate();
        let back = DepositaryKey::from_key_file_json(&d.to_key_file_json()).unwrap();
        assert_eq!(back.public(), d.public());
    }

    #[test]
    fn public_keys_round_trip_through_base64() {
        let k = NodeKeys::generate();
        let p = k.public();
        assert_eq!(
            &PublicKeys::from_b64(&p.signing_b64(), &p.encryption_b64()).unwrap(),
            p
        );
        assert!(verifying_key_from_b64("AAAA").is_err());
        // The identity point is a weak key and must be refused.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(verifying_key_from_b64(&b64::encode(&identity)).is_err());
    }

    #[test]
    fn debug_does_not_print_secrets() {
        let k = NodeKeys::generate();
        let file = k.to_key_file_json();
        let secret: KeyFile = serde_json::from_str(&file).unwrap();
        assert!(!format!("{k:?}").contains(&secret.signing_secret));
    }
}
