//! A serde [`Deserializer`](serde::Deserializer) over [`Node`]s that keeps the field path and
//! the position, so that every error the typed model raises names both.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::error::{FileError, FileErrorKind};
use super::yaml::{Node, Value};

/// Components the schema defines that Beacon does not implement: named as such in errors.
const SCHEMA_ONLY: &[&str] = &[
    "otlp_file/development",
    "jaeger_remote/development",
    "composite/development",
    "probability/development",
    "opencensus",
    "event_to_span_event_bridge/development",
    "ottrace",
];

impl de::Error for FileError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        FileError::new(FileErrorKind::Unsupported {
            why: msg.to_string(),
        })
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        FileError::invalid(unexpected(&unexp), friendly(&exp.to_string()))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        FileError::invalid(unexpected(&unexp), friendly(&exp.to_string()))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let accepted = one_of(expected);
        FileError::new(FileErrorKind::UnsupportedComponent {
            name: variant.to_owned(),
            expected: if SCHEMA_ONLY.contains(&variant) {
                format!("{accepted} (the schema defines {variant}; Beacon does not implement it)")
            } else {
                accepted
            },
        })
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        FileError::new(FileErrorKind::UnknownField {
            field: field.to_owned(),
            expected: one_of(expected),
        })
    }

    fn missing_field(field: &'static str) -> Self {
        FileError::new(FileErrorKind::MissingField {
            field: field.to_owned(),
        })
    }
}

fn unexpected(u: &de::Unexpected<'_>) -> String {
    match u {
        de::Unexpected::Str(s) => (*s).to_owned(),
        de::Unexpected::Signed(i) => i.to_string(),
        de::Unexpected::Unsigned(i) => i.to_string(),
        // `{:?}` keeps the decimal point: `1.0` is shown as written, not as `1`.
        de::Unexpected::Float(x) => format!("{x:?}"),
        de::Unexpected::Bool(b) => b.to_string(),
        de::Unexpected::Unit => "null".to_owned(),
        other => other.to_string(),
    }
}

/// What serde's primitive visitors expect (`u16`, `f64`), in the words of the file's reader.
fn friendly(expected: &str) -> String {
    match expected {
        "u8" => "a whole number from 0 to 255".to_owned(),
        "u16" => "a whole number from 0 to 65535 (unquoted)".to_owned(),
        "u32" => "a whole number from 0 to 4294967295 (unquoted)".to_owned(),
        "u64" | "usize" => "a whole number of at least 0 (unquoted)".to_owned(),
        "i8" => "a whole number from -128 to 127 (unquoted)".to_owned(),
        "i64" => "a whole number (unquoted)".to_owned(),
        "f64" | "f32" => "a number (unquoted)".to_owned(),
        "a boolean" => "true or false (unquoted)".to_owned(),
        other => other.to_owned(),
    }
}

fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing here".to_owned(),
        [one] => format!("`{one}`"),
        _ => format!(
            "one of {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Deserializes `T` from `node`, attaching the position and field path to any error.
pub(crate) fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, FileError> {
    T::deserialize(De {
        node,
        path: String::new(),
    })
}

#[derive(Clone)]
struct De<'a> {
    node: &'a Node,
    path: String,
}

impl<'a> De<'a> {
    fn fail(&self, e: FileError) -> FileError {
        e.at(self.node.mark, &self.path)
    }

    fn child(&self, node: &'a Node, segment: Segment<'_>) -> De<'a> {
        let path = match segment {
            Segment::Key(k) if self.path.is_empty() => k.to_owned(),
            Segment::Key(k) => format!("{}.{k}", self.path),
            Segment::Index(i) => format!("{}[{i}]", self.path),
        };
        De { node, path }
    }
}

enum Segment<'k> {
    Key(&'k str),
    Index(usize),
}

macro_rules! attach {
    ($self:ident, $e:expr) => {{
        let me = $self.clone();
        ($e).map_err(|e| me.fail(e))
    }};
}

impl<'de> de::Deserializer<'de> for De<'de> {
    type Error = FileError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FileError> {
        let me = self.clone();
        let result = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
                (Ok(i), _) => visitor.visit_i64(i),
                (_, Ok(u)) => visitor.visit_u64(u),
                _ => Err(FileError::invalid(i, "an integer that fits in 64 bits")),
            },
            Value::Float(x) => visitor.visit_f64(*x),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(Seq {
                de: self.clone(),
                items: items.iter().enumerate(),
            }),
            Value::Map(entries) => visitor.visit_map(Map {
                de: self.clone(),
                entries: entries.iter(),
                value: None,
            }),
        };
        result.map_err(|e| me.fail(e))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FileError> {
        match self.node.value {
            Value::Null => attach!(self, visitor.visit_none()),
            _ => {
                let me = self.clone();
                visitor.visit_some(self).map_err(|e| me.fail(e))
            }
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FileError> {
        match &self.node.value {
            // The schema's objects are nullable: `console:` is a console exporter with defaults.
            Value::Null => attach!(
                self,
                visitor.visit_map(Map {
                    de: self.clone(),
                    entries: [].iter(),
                    value: None,
                })
            ),
            Value::Map(_) => self.deserialize_any(visitor),
            other => Err(self.fail(FileError::invalid(other.describe(), "a mapping"))),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FileError> {
        match &self.node.value {
            Value::Seq(_) => self.deserialize_any(visitor),
            other => Err(self.fail(FileError::invalid(other.describe(), "a sequence"))),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FileError> {
        match &self.node.value {
            Value::Map(_) => self.deserialize_any(visitor),
            Value::Null => attach!(
                self,
                visitor.visit_map(Map {
                    de: self.clone(),
                    entries: [].iter(),
                    value: None,
                })
            ),
            other => Err(self.fail(FileError::invalid(other.describe(), "a mapping"))),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FileError> {
        match &self.node.value {
            Value::Str(s) => attach!(self, visitor.visit_str(s)),
            other => Err(self.fail(FileError::invalid(other.describe(), "a string"))),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FileError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FileError> {
        match &self.node.value {
            Value::Null => attach!(self, visitor.visit_unit()),
            // `always_on: {}` is the same as `always_on:`.
            Value::Map(entries) if entries.is_empty() => attach!(self, visitor.visit_unit()),
            other => Err(self.fail(FileError::invalid(
                other.describe(),
                "nothing (this component takes no settings)",
            ))),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FileError> {
        match &self.node.value {
            Value::Str(_) => attach!(self, visitor.visit_enum(Plain(self.clone()))),
            Value::Map(entries) if entries.len() == 1 => {
                let (key, key_mark, value) = &entries[0];
                attach!(
                    self,
                    visitor.visit_enum(Tagged {
                        key,
                        key_mark: *key_mark,
                        de: self.child(value, Segment::Key(key)),
                    })
                )
            }
            Value::Map(entries) => Err(self.fail(FileError::invalid(
                format!(
                    "a mapping with {} keys ({})",
                    entries.len(),
                    entries
                        .iter()
                        .map(|(k, _, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!("exactly one key, {}", one_of(variants)),
            ))),
            other => Err(self.fail(FileError::invalid(
                other.describe(),
                format!("a mapping with one key, {}", one_of(variants)),
            ))),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FileError> {
        let me = self.clone();
        visitor.visit_newtype_struct(self).map_err(|e| me.fail(e))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit_struct tuple tuple_struct identifier ignored_any
    }
}

struct Seq<'a, I> {
    de: De<'a>,
    items: I,
}

impl<'de, I: Iterator<Item = (usize, &'de Node)>> de::SeqAccess<'de> for Seq<'de, I> {
    type Error = FileError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, FileError> {
        match self.items.next() {
            Some((i, node)) => seed
                .deserialize(self.de.child(node, Segment::Index(i)))
                .map(Some),
            None => Ok(None),
        }
    }
}

struct Map<'a, I> {
    de: De<'a>,
    entries: I,
    value: Option<De<'a>>,
}

impl<'de, I: Iterator<Item = &'de (String, super::yaml::Mark, Node)>> de::MapAccess<'de>
    for Map<'de, I>
{
    type Error = FileError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FileError> {
        let Some((key, key_mark, node)) = self.entries.next() else {
            return Ok(None);
        };
        let child = self.de.child(node, Segment::Key(key));
        let key_path = child.path.clone();
        self.value = Some(child);
        let k: de::value::StrDeserializer<'_, FileError> = key.as_str().into_deserializer();
        seed.deserialize(k)
            .map(Some)
            .map_err(|e| e.at(*key_mark, &key_path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, FileError> {
        match self.value.take() {
            Some(de) => seed.deserialize(de),
            None => Err(FileError::invalid("a value", "a key first")),
        }
    }
}

/// An enum written as a plain string (`temporality_preference: delta`).
struct Plain<'a>(De<'a>);

impl<'de> de::EnumAccess<'de> for Plain<'de> {
    type Error = FileError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), FileError> {
        let Value::Str(s) = &self.0.node.value else {
            return Err(FileError::invalid(self.0.node.value.describe(), "a string"));
        };
        let d: de::value::StrDeserializer<'_, FileError> = s.as_str().into_deserializer();
        let v = seed.deserialize(d)?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for Plain<'de> {
    type Error = FileError;
    fn unit_variant(self) -> Result<(), FileError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        _seed: T,
    ) -> Result<T::Value, FileError> {
        Err(FileError::invalid(
            self.0.node.value.describe(),
            "a mapping with the component's settings",
        ))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _v: V) -> Result<V::Value, FileError> {
        Err(FileError::invalid(
            self.0.node.value.describe(),
            "a mapping",
        ))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, FileError> {
        Err(FileError::invalid(
            self.0.node.value.describe(),
            "a mapping",
        ))
    }
}

/// A plugin written as a one-key mapping (`otlp_http: {endpoint: …}`, `always_on:`).
struct Tagged<'a> {
    key: &'a str,
    key_mark: super::yaml::Mark,
    de: De<'a>,
}

impl<'de> de::EnumAccess<'de> for Tagged<'de> {
    type Error = FileError;
    type Variant = De<'de>;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, De<'de>), FileError> {
        let d: de::value::StrDeserializer<'_, FileError> = self.key.into_deserializer();
        let v = seed
            .deserialize(d)
            .map_err(|e| e.at(self.key_mark, &self.de.path))?;
        Ok((v, self.de))
    }
}

impl<'de> de::VariantAccess<'de> for De<'de> {
    type Error = FileError;
    fn unit_variant(self) -> Result<(), FileError> {
        de::Deserialize::deserialize(self)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, FileError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, FileError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FileError> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}
