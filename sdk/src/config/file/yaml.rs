//! Reading YAML into a tree of [`Node`]s that remember where they were, with environment
//! substitution applied to scalar values and node types resolved afterwards by the YAML 1.2
//! core schema (so `${PORT}` can be an integer, while `"${PORT}"` stays a string).
//!
//! Parsing uses `yaml-rust2`'s event parser: it is pure Rust, maintained, implements YAML 1.2,
//! and reports each scalar's style (plain or quoted) and position — the two things the data
//! model's "types are resolved after substitution" rule and line/column errors need, and that
//! the serde-level YAML crates (`serde_yaml` is deprecated; its forks type scalars before we
//! could substitute) do not expose.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::{FileError, FileErrorKind};
use super::subst::substitute;

/// The deepest nesting read. The schema's deepest path is about ten levels.
pub(crate) const MAX_DEPTH: usize = 64;
/// The most nodes read, aliases expanded (a guard against "billion laughs").
pub(crate) const MAX_NODES: usize = 100_000;

/// A position in the file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mark {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl From<Marker> for Mark {
    fn from(m: Marker) -> Self {
        Self {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) mark: Mark,
    pub(crate) value: Value,
}

/// A node's typed value (YAML 1.2 core schema).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys are strings (the schema has no other keys), in file order.
    Map(Vec<(String, Mark, Node)>),
}

impl Value {
    /// A short description for "invalid type" errors.
    pub(crate) fn describe(&self) -> String {
        match self {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Str(s) => s.clone(),
            Value::Seq(_) => "a sequence".to_owned(),
            Value::Map(_) => "a mapping".to_owned(),
        }
    }
}

enum Open {
    Seq(Mark, usize, Vec<Node>),
    Map(
        Mark,
        usize,
        Vec<(String, Mark, Node)>,
        Option<(String, Mark)>,
    ),
}

/// Parses `text` (one YAML document) into a [`Node`], substituting `${…}` references in scalar
/// values with `lookup`.
pub(crate) fn read(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Node, FileError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    loop {
        let (event, marker) = parser.next_token().map_err(|e| {
            FileError::new(FileErrorKind::Yaml(e.info().to_owned())).at((*e.marker()).into(), "")
        })?;
        let mark = Mark::from(marker);
        let complete: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(FileError::new(FileErrorKind::Yaml(
                        "more than one document; a configuration file holds one".to_owned(),
                    ))
                    .at(mark, ""));
                }
                None
            }
            Event::DocumentEnd => None,
            Event::Alias(id) => {
                let node = anchors.get(&id).cloned().ok_or_else(|| {
                    FileError::new(FileErrorKind::Yaml("alias to an unknown anchor".into()))
                        .at(mark, "")
                })?;
                nodes = nodes.saturating_add(count(&node));
                Some((node, 0))
            }
            Event::Scalar(raw, style, anchor, tag) => {
                // "Mapping keys are not candidates for substitution."
                let is_key = matches!(stack.last(), Some(Open::Map(_, _, _, None)));
                let no_lookup = |_: &str| None;
                let value = if is_key && raw.contains('$') {
                    Ok(Value::Str(raw))
                } else {
                    scalar(
                        &raw,
                        style,
                        tag.as_ref(),
                        if is_key { &no_lookup } else { lookup },
                    )
                }
                .map_err(|k| FileError::new(k).at(mark, &path_of(&stack)))?;
                nodes += 1;
                Some((Node { mark, value }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                push(&mut stack, Open::Seq(mark, anchor, Vec::new()), mark)?;
                None
            }
            Event::MappingStart(anchor, _) => {
                push(&mut stack, Open::Map(mark, anchor, Vec::new(), None), mark)?;
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(m, anchor, items)) => {
                    nodes += 1;
                    Some((
                        Node {
                            mark: m,
                            value: Value::Seq(items),
                        },
                        anchor,
                    ))
                }
                _ => return Err(internal(mark)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(m, anchor, entries, None)) => {
                    nodes += 1;
                    Some((
                        Node {
                            mark: m,
                            value: Value::Map(entries),
                        },
                        anchor,
                    ))
                }
                _ => return Err(internal(mark)),
            },
        };
        if nodes > MAX_NODES {
            return Err(
                FileError::new(FileErrorKind::TooManyNodes { max: MAX_NODES }).at(mark, ""),
            );
        }
        let Some((node, anchor)) = complete else {
            continue;
        };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        let path = path_of(&stack);
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::Seq(_, _, items)) => items.push(node),
            Some(Open::Map(_, _, entries, pending)) => match pending.take() {
                Some((key, key_mark)) => {
                    if entries.iter().any(|(k, _, _)| *k == key) {
                        return Err(FileError::new(FileErrorKind::Yaml(format!(
                            "duplicate key {key:?}"
                        )))
                        .at(key_mark, &path));
                    }
                    entries.push((key, key_mark, node));
                }
                None => {
                    // Mapping keys are never substituted; the schema's keys are strings.
                    let key = match node.value {
                        Value::Str(s) => s,
                        Value::Null => String::new(),
                        Value::Bool(_) | Value::Int(_) | Value::Float(_) => key_text(&node),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(FileError::new(FileErrorKind::Yaml(
                                "a mapping key must be a string".into(),
                            ))
                            .at(node.mark, &path));
                        }
                    };
                    *pending = Some((key, node.mark));
                }
            },
        }
    }
    root.ok_or_else(|| {
        FileError::new(FileErrorKind::MissingField {
            field: "file_format".into(),
        })
    })
}

fn internal(mark: Mark) -> FileError {
    FileError::new(FileErrorKind::Yaml("unbalanced collection events".into())).at(mark, "")
}

fn push(stack: &mut Vec<Open>, open: Open, mark: Mark) -> Result<(), FileError> {
    if stack.len() >= MAX_DEPTH {
        return Err(FileError::new(FileErrorKind::TooDeep { max: MAX_DEPTH }).at(mark, ""));
    }
    stack.push(open);
    Ok(())
}

fn count(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(_, _, n)| count(n)).sum::<usize>(),
        _ => 1,
    }
}

/// A key that YAML typed as a bool or number is used as written.
fn key_text(node: &Node) -> String {
    match &node.value {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => x.to_string(),
        _ => String::new(),
    }
}

/// The field path of the node about to be completed, for errors found while reading.
fn path_of(stack: &[Open]) -> String {
    let mut out = String::new();
    for open in stack {
        match open {
            Open::Seq(_, _, items) => out.push_str(&format!("[{}]", items.len())),
            Open::Map(_, _, _, Some((key, _))) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Open::Map(_, _, _, None) => {}
        }
    }
    out
}

fn scalar(
    raw: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, FileErrorKind> {
    let text = substitute(raw, lookup)?.unwrap_or_else(|| raw.to_owned());
    if let Some(tag) = tag {
        if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
            return match tag.suffix.as_str() {
                "str" => Ok(Value::Str(text)),
                "null" | "bool" | "int" | "float" => Ok(resolve_plain(&text)),
                other => Err(FileErrorKind::Yaml(format!(
                    "tag !!{other} is not part of the YAML 1.2 core schema"
                ))),
            };
        }
        return Err(FileErrorKind::Yaml(format!(
            "tag {}{} is not part of the YAML 1.2 core schema",
            tag.handle, tag.suffix
        )));
    }
    Ok(match style {
        TScalarStyle::Plain => resolve_plain(&text),
        _ => Value::Str(text),
    })
}

/// The YAML 1.2 core schema's resolution of a plain scalar.
pub(crate) fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = s.strip_prefix("0x") {
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Ok(i) = i128::from_str_radix(hex, 16) {
                return Value::Int(i);
            }
        }
    }
    if let Some(oct) = s.strip_prefix("0o") {
        if !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            if let Ok(i) = i128::from_str_radix(oct, 8) {
                return Value::Int(i);
            }
        }
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse::<i128>() {
            return Value::Int(i);
        }
    }
    if is_core_float(digits) {
        if let Ok(x) = s.parse::<f64>() {
            return Value::Float(x);
        }
    }
    Value::Str(s.to_owned())
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && (!int.is_empty() || !frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        let v = match name {
            "STRING_VALUE" => "value",
            "BOOL_VALUE" => "true",
            "INT_VALUE" => "1",
            "FLOAT_VALUE" => "1.1",
            "HEX_VALUE" => "0xdeadbeef",
            "INVALID_MAP_VALUE" => "value\nkey:value",
            _ => return None,
        };
        Some(v.to_owned())
    }

    fn value_of(yaml: &str) -> Value {
        let node = read(yaml, &env).unwrap_or_else(|e| panic!("{yaml:?}: {e}"));
        match node.value {
            Value::Map(mut entries) => entries.remove(0).2.value,
            other => panic!("{yaml:?} is not a mapping: {other:?}"),
        }
    }

    /// The data model's table, "Resolved Tag URI" column: types are resolved after
    /// substitution, quoting forces a string, and structures cannot be injected.
    #[test]
    fn node_types_are_resolved_after_substitution() {
        let table: &[(&str, Value)] = &[
            ("key: ${STRING_VALUE}", Value::Str("value".into())),
            ("key: ${BOOL_VALUE}", Value::Bool(true)),
            ("key: ${INT_VALUE}", Value::Int(1)),
            ("key: ${FLOAT_VALUE}", Value::Float(1.1)),
            ("key: ${HEX_VALUE}", Value::Int(3_735_928_559)),
            ("key: \"${STRING_VALUE}\"", Value::Str("value".into())),
            ("key: \"${BOOL_VALUE}\"", Value::Str("true".into())),
            ("key: \"${INT_VALUE}\"", Value::Str("1".into())),
            ("key: \"${FLOAT_VALUE}\"", Value::Str("1.1".into())),
            ("key: \"${HEX_VALUE}\"", Value::Str("0xdeadbeef".into())),
            ("key: ${env:STRING_VALUE}", Value::Str("value".into())),
            (
                "key: ${INVALID_MAP_VALUE}",
                Value::Str("value\nkey:value".into()),
            ),
            (
                "key: foo ${STRING_VALUE} ${FLOAT_VALUE}",
                Value::Str("foo value 1.1".into()),
            ),
            ("key: ${UNDEFINED_KEY}", Value::Null),
            (
                "key: ${UNDEFINED_KEY:-fallback}",
                Value::Str("fallback".into()),
            ),
            (
                "key: $${STRING_VALUE}",
                Value::Str("${STRING_VALUE}".into()),
            ),
            ("key: a $$ b", Value::Str("a $ b".into())),
            ("key: '${INT_VALUE}'", Value::Str("1".into())),
            ("key: !!str ${INT_VALUE}", Value::Str("1".into())),
            ("key: 0o17", Value::Int(15)),
            ("key: -12", Value::Int(-12)),
            ("key: 1e3", Value::Float(1000.0)),
            ("key: .5", Value::Float(0.5)),
            ("key: ~", Value::Null),
            ("key: yes", Value::Str("yes".into())),
        ];
        for (yaml, want) in table {
            assert_eq!(&value_of(yaml), want, "{yaml}");
        }
    }

    /// "Usage of substitution syntax in keys is ignored."
    #[test]
    fn keys_are_not_substituted() {
        let node = read("${STRING_VALUE}: value", &env).expect("parses");
        let Value::Map(entries) = node.value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0, "${STRING_VALUE}");
    }

    #[test]
    fn marks_are_one_based_lines_and_columns() {
        let node = read("a:\n  b: 1\n", &env).expect("parses");
        let Value::Map(entries) = node.value else {
            panic!("not a map")
        };
        let Value::Map(inner) = &entries[0].2.value else {
            panic!("not a map")
        };
        assert_eq!(inner[0].2.mark, Mark { line: 2, column: 6 });
    }

    #[test]
    fn hostile_shapes_are_errors() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        // Beacon's own limit, or the parser's, whichever comes first: an error either way.
        assert!(matches!(
            read(&deep, &env).map_err(|e| *e.kind),
            Err(FileErrorKind::TooDeep { .. } | FileErrorKind::Yaml(_))
        ));
        let nested = "a:\n".to_owned()
            + &(1..100)
                .map(|i| format!("{}a:\n", "  ".repeat(i)))
                .collect::<String>();
        assert!(matches!(
            read(&nested, &env).map_err(|e| *e.kind),
            Err(FileErrorKind::TooDeep { max: MAX_DEPTH })
        ));
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("l{}", i - 1)
            };
            laughs.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert!(matches!(
            read(&laughs, &env).map_err(|e| *e.kind),
            Err(FileErrorKind::TooManyNodes { .. })
        ));
        assert!(matches!(
            read("a: 1\na: 2\n", &env).map_err(|e| *e.kind),
            Err(FileErrorKind::Yaml(_))
        ));
        assert!(matches!(
            read("a: [1\n", &env).map_err(|e| *e.kind),
            Err(FileErrorKind::Yaml(_))
        ));
        let err = read("a:\n  b: ${1X}\n", &env).expect_err("invalid reference");
        assert_eq!((err.line, err.column), (Some(2), Some(6)));
        assert_eq!(err.field, "a.b");
    }
}
