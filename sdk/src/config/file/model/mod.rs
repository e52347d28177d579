//! The typed model of the OpenTelemetry configuration schema (`opentelemetry-configuration`
//! v1.0 and v1.1), for the parts Beacon implements. Names follow the schema exactly; objects
//! reject keys the schema does not define (`additionalProperties: false`), except the top
//! level, which the schema leaves open. A plugin position (exporter, processor, sampler,
//! propagator, detector, aggregation) with a name Beacon does not implement is an error naming
//! it.

#![allow(dead_code)] // Fields the schema defines and the mapping only validates.

use serde::Deserialize;

mod instrumentation;
mod logger;
mod meter;
mod tracer;

pub(crate) use instrumentation::*;
pub(crate) use logger::*;
pub(crate) use meter::*;
pub(crate) use tracer::*;

/// The whole file (`OpenTelemetryConfiguration`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Configuration {
    pub(crate) file_format: FileFormat,
    pub(crate) disabled: Option<bool>,
    pub(crate) log_level: Option<Severity>,
    pub(crate) resource: Option<Resource>,
    pub(crate) attribute_limits: Option<AttributeLimits>,
    pub(crate) propagator: Option<Propagator>,
    pub(crate) tracer_provider: Option<TracerProvider>,
    pub(crate) meter_provider: Option<MeterProvider>,
    pub(crate) logger_provider: Option<LoggerProvider>,
    #[serde(rename = "instrumentation/development")]
    pub(crate) instrumentation: Option<Instrumentation>,
}

/// `file_format`: a string. An unquoted `1.1` is a YAML number, which the schema does not
/// accept; the error says to quote it.
#[derive(Debug, Clone)]
pub(crate) struct FileFormat(pub(crate) String);

impl<'de> Deserialize<'de> for FileFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = FileFormat;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a quoted string such as \"1.1\" (unquoted, 1.1 is a YAML number)")
            }
            fn visit_str<E>(self, v: &str) -> Result<FileFormat, E> {
                Ok(FileFormat(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `SeverityNumber`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Severity {
    Trace,
    Trace2,
    Trace3,
    Trace4,
    Debug,
    Debug2,
    Debug3,
    Debug4,
    Info,
    Info2,
    Info3,
    Info4,
    Warn,
    Warn2,
    Warn3,
    Warn4,
    Error,
    Error2,
    Error3,
    Error4,
    Fatal,
    Fatal2,
    Fatal3,
    Fatal4,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Resource {
    pub(crate) attributes: Option<Vec<AttributeNameValue>>,
    pub(crate) attributes_list: Option<String>,
    #[serde(rename = "detection/development")]
    pub(crate) detection: Option<ResourceDetection>,
    pub(crate) schema_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttributeNameValue {
    pub(crate) name: String,
    pub(crate) value: AttributeValue,
    #[serde(rename = "type")]
    pub(crate) kind: Option<AttributeType>,
}

/// `string`, `number`, `boolean`, `null`, or a non-empty array of one of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttributeValue {
    Bool(bool),
    Int(i64),
    Double(f64),
    String(String),
    BoolArray(Vec<bool>),
    IntArray(Vec<i64>),
    DoubleArray(Vec<f64>),
    StringArray(Vec<String>),
    Null(()),
}

const ATTRIBUTE_VALUE: &str =
    "a string, number or boolean, or a non-empty array of strings, numbers or booleans";

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(ATTRIBUTE_VALUE)
            }
            fn visit_bool<E>(self, v: bool) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AttributeValue, E> {
                i64::try_from(v).map(AttributeValue::Int).map_err(|_| {
                    E::invalid_value(serde::de::Unexpected::Unsigned(v), &"an integer below 2^63")
                })
            }
            fn visit_f64<E>(self, v: f64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Double(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<AttributeValue, E> {
                Ok(AttributeValue::String(v.to_owned()))
            }
            fn visit_unit<E>(self) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Null(()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AttributeValue, A::Error> {
                use serde::de::Error as _;
                let mut items: Vec<AttributeValue> = Vec::new();
                while let Some(item) = seq.next_element::<AttributeValue>()? {
                    items.push(item);
                }
                let mismatch = || {
                    A::Error::invalid_type(
                        serde::de::Unexpected::Seq,
                        &"an array whose items are all strings, all booleans or all numbers",
                    )
                };
                match items.first() {
                    None => Err(mismatch()),
                    Some(AttributeValue::Bool(_)) => items
                        .iter()
                        .map(|i| match i {
                            AttributeValue::Bool(b) => Ok(*b),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<_, _>>()
                        .map(AttributeValue::BoolArray),
                    Some(AttributeValue::String(_)) => items
                        .iter()
                        .map(|i| match i {
                            AttributeValue::String(s) => Ok(s.clone()),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<_, _>>()
                        .map(AttributeValue::StringArray),
                    Some(AttributeValue::Int(_))
                        if items.iter().all(|i| matches!(i, AttributeValue::Int(_))) =>
                    {
                        items
                            .iter()
                            .map(|i| match i {
                                AttributeValue::Int(n) => Ok(*n),
                                _ => Err(mismatch()),
                            })
                            .collect::<Result<_, _>>()
                            .map(AttributeValue::IntArray)
                    }
                    #[allow(clippy::cast_precision_loss)]
                    Some(AttributeValue::Int(_) | AttributeValue::Double(_)) => items
                        .iter()
                        .map(|i| match i {
                            AttributeValue::Int(n) => Ok(*n as f64),
                            AttributeValue::Double(x) => Ok(*x),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<_, _>>()
                        .map(AttributeValue::DoubleArray),
                    Some(_) => Err(mismatch()),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AttributeType {
    String,
    Bool,
    Int,
    Double,
    StringArray,
    BoolArray,
    IntArray,
    DoubleArray,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceDetection {
    pub(crate) attributes: Option<IncludeExclude>,
    pub(crate) detectors: Option<Vec<ResourceDetector>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ResourceDetector {
    Container(()),
    Host(()),
    Process(()),
    Service(()),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncludeExclude {
    pub(crate) included: Option<Vec<String>>,
    pub(crate) excluded: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttributeLimits {
    pub(crate) attribute_value_length_limit: Option<u64>,
    pub(crate) attribute_count_limit: Option<u64>,
    /// Defined after v1.1; accepted so newer files load.
    pub(crate) attribute_value_depth_limit: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Propagator {
    pub(crate) composite: Option<Vec<TextMapPropagator>>,
    pub(crate) composite_list: Option<String>,
}

/// `TextMapPropagator`; `jaeger` is Beacon's (the schema allows plugins here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TextMapPropagator {
    Tracecontext(()),
    Baggage(()),
    B3(()),
    B3multi(()),
    Jaeger(()),
}
