//! JSON read strictly: an object that names a member twice is refused, instead of keeping the
//! last value silently (two readers of the same bytes could otherwise see different requests),
//! and nesting is bounded.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 32;

/// Parses `bytes` as JSON, refusing duplicate members and nesting deeper than [`MAX_DEPTH`].
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Strict(MAX_DEPTH).deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// For `#[serde(deserialize_with = ...)]` on a map member: duplicates refused.
pub fn strict_map<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    match Strict(MAX_DEPTH).deserialize(d)? {
        Value::Object(m) => Ok(m),
        _ => Err(de::Error::custom("expected an object")),
    }
}

#[derive(Clone, Copy)]
struct Strict(usize);

impl Strict {
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        self.0
            .checked_sub(1)
            .map(Strict)
            .ok_or_else(|| E::custom(format!("JSON nested deeper than {MAX_DEPTH} levels")))
    }
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!("member {k:?} appears twice")));
            }
            let v = map.next_value_seed(inner)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_depth_are_refused() {
        assert_eq!(
            parse(br#"{"a": [1, {"b": null}], "c": "x"}"#).unwrap(),
            serde_json::json!({"a": [1, {"b": null}], "c": "x"})
        );
        let e = parse(br#"{"fields": {"offence": "a", "offence": "b"}}"#).unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(parse(deep.as_bytes()).is_err());
        let ok = format!("{}{}", "[".repeat(30), "]".repeat(30));
        assert!(parse(ok.as_bytes()).is_ok());
        assert!(parse(b"{} x").is_err());
        assert_eq!(parse(b"1.5").unwrap(), serde_json::json!(1.5));
    }
}
