//! Closed sets of names that are stored and sent as strings: one enum per set, the string of
//! each member written once.
//!
//! [`names!`](crate::names!) declares such an enum with `ALL`, `as_str`, `parse`, `Display` and
//! serde (de)serialization as that string; an unknown string is an error, never a default.

/// Declares a closed set of names.
///
/// ```
/// hanoinet_core::names! {
///     /// Which way a thing went.
///     pub enum Way { Up => "up", Down => "down" }
/// }
/// assert_eq!(Way::parse("up"), Some(Way::Up));
/// assert_eq!(Way::Down.as_str(), "down");
/// assert_eq!(serde_json::to_string(&Way::Up).unwrap(), "\"up\"");
/// assert!(serde_json::from_str::<Way>("\"sideways\"").is_err());
/// ```
#[macro_export]
macro_rules! names {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name as stored and sent.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The member with this name, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    let expected: Vec<&str> = Self::ALL.iter().map(|x| x.as_str()).collect();
                    <D::Error as $crate::__serde::de::Error>::custom(format!(
                        "unknown {} {:?}, expected one of: {}",
                        stringify!($name),
                        s,
                        expected.join(", ")
                    ))
                })
            }
        }
    };
}
