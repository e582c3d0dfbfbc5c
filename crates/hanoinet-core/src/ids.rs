//! Identifiers, parsed once at the boundary and trusted inside.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// Why a textual identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error(
        "state code must be 2 to 8 upper-case ASCII letters (ISO 3166-1 alpha-3 or a regional organization's code), got {0:?}"
    )]
    StateCode(String),
    #[error(
        "node id must look like STATE/NAME (for example VNM/247), NAME being 1 to 32 upper-case letters, digits or '-', got {0:?}"
    )]
    NodeId(String),
    #[error("not a UUID: {0:?}")]
    Uuid(String),
}

/// A State Party's code: ISO 3166-1 alpha-3 for a State (`VNM`), or a regional economic
/// integration organization's code (`EU`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateCode(String);

impl StateCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for StateCode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let ok = (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::StateCode(s.to_owned()))
        }
    }
}

/// A node of the network: `STATE/NAME`, e.g. `VNM/247` (Viet Nam's 24/7 point of contact) or
/// `VNM/CA` (its central authority).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

impl NodeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The State Party this node belongs to.
    pub fn state(&self) -> StateCode {
        // The constructor guarantees a '/' with a valid state code before it.
        let state = self.0.split('/').next().unwrap_or_default();
        StateCode(state.to_owned())
    }
}

impl FromStr for NodeId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let err = || IdError::NodeId(s.to_owned());
        let (state, name) = s.split_once('/').ok_or_else(err)?;
        state.parse::<StateCode>().map_err(|_| err())?;
        let name_ok = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return Err(err());
        }
        Ok(Self(s.to_owned()))
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (UUIDv7) identifier.
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn from_uuid(u: Uuid) -> Self {
                Self(u)
            }
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Uuid::parse_str(s).map(Self).map_err(|_| IdError::Uuid(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_id!(
    /// A cooperation request's global id: chosen by the requesting node, known by the same id on
    /// both nodes.
    RequestId
);
uuid_id!(
    /// An envelope's id (UUIDv7); the unit of idempotent delivery.
    EnvelopeId
);

macro_rules! string_id_impls {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id_impls!(StateCode);
string_id_impls!(NodeId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        for ok in ["VNM/247", "FRA/CA", "EU/EUROJUST-1", "KEN/247"] {
            let id: NodeId = ok.parse().unwrap();
            assert_eq!(id.as_str(), ok);
        }
        assert_eq!("VNM/247".parse::<NodeId>().unwrap().state().as_str(), "VNM");
        // Display honours width, so tables line up.
        assert_eq!(
            format!("{:<9}|", "VNM/247".parse::<NodeId>().unwrap()),
            "VNM/247  |"
        );
        for bad in [
            "",
            "VNM",
            "vnm/247",
            "VNM/",
            "/247",
            "VNM/24 7",
            "VNM/247/x",
            "V/1",
        ] {
            assert!(bad.parse::<NodeId>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn state_codes() {
        assert!("VNM".parse::<StateCode>().is_ok());
        assert!("EU".parse::<StateCode>().is_ok());
        assert!("vnm".parse::<StateCode>().is_err());
        assert!("V".parse::<StateCode>().is_err());
        assert!("VN1".parse::<StateCode>().is_err());
    }

    #[test]
    fn uuid_ids_round_trip_through_json() {
        let id = RequestId::new_v7();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<RequestId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<RequestId>("\"nope\"").is_err());
    }
}
