//! Environment variable substitution, exactly as the configuration data model defines it
//! (`specification/configuration/data-model.md`, "Environment variable substitution").
//!
//! ```abnf
//! SUBSTITUTION-REF = "${" ["env:"] ENV-NAME [":-" DEFAULT-VALUE] "}"
//! INVALID-SUBSTITUTION-REF = "${" *(VCHAR-WSP-NO-RBRACE) "}"
//! ENV-NAME = (ALPHA / "_") *(ALPHA / DIGIT / "_")
//! DEFAULT-VALUE = *(VCHAR-WSP-NO-RBRACE)
//! ```
//!
//! `$$` is an escape for one `$`, and the `$` it produces never starts a reference: the input
//! is consumed left to right, split at each `$$`, and only the text between escapes is matched
//! against `SUBSTITUTION-REF`. A substituted value is used verbatim (never substituted again).
//! The default applies when the variable is undefined *or empty*; an undefined variable
//! without a default becomes the empty string. A `${…}` that is not a valid reference is an
//! error (the spec: "the parser must return an empty result … and an error").

use super::error::FileErrorKind;

/// Substitutes every reference in `input`. `Ok(None)` when the input holds no `$` at all,
/// so the caller can keep the original scalar (and its YAML typing) untouched.
pub(crate) fn substitute(
    input: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, FileErrorKind> {
    if !input.contains('$') {
        return Ok(None);
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    loop {
        match rest.find("$$") {
            Some(at) => {
                segment(&rest[..at], lookup, &mut out)?;
                out.push('$');
                rest = &rest[at + 2..];
            }
            None => {
                segment(rest, lookup, &mut out)?;
                return Ok(Some(out));
            }
        }
    }
}

/// Substitutes the references in one escape-free segment.
fn segment(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> Result<(), FileErrorKind> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        // A reference ends at the first `}`: neither grammar allows `}` inside.
        let Some(close) = after.find('}') else {
            // `${` never closed matches neither grammar: it is plain text.
            out.push_str(&rest[start..]);
            return Ok(());
        };
        let body = &after[..close];
        match reference(body) {
            Some((name, default)) => {
                let value = lookup(name).filter(|v| !v.is_empty());
                match (value, default) {
                    (Some(v), _) => out.push_str(&v),
                    (None, Some(d)) => out.push_str(d),
                    (None, None) => {}
                }
            }
            None if body.is_empty() || !body.chars().all(vchar_wsp_no_rbrace) => {
                // `${}` and bodies with control characters match neither grammar: plain text.
                out.push_str(&rest[start..start + 2 + close + 1]);
            }
            None => {
                return Err(FileErrorKind::Substitution {
                    reference: format!("${{{body}}}"),
                });
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(())
}

/// Parses the inside of `${…}` as `["env:"] ENV-NAME [":-" DEFAULT-VALUE]`.
fn reference(body: &str) -> Option<(&str, Option<&str>)> {
    let body = body.strip_prefix("env:").unwrap_or(body);
    let (name, default) = match body.find(":-") {
        Some(at) => (&body[..at], Some(&body[at + 2..])),
        None => (body, None),
    };
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    if let Some(d) = default {
        if !d.chars().all(vchar_wsp_no_rbrace) {
            return None;
        }
    }
    Some((name, default))
}

/// `VCHAR-WSP-NO-RBRACE = %x21-7C / "~" / WSP`, widened to any non-control character so that
/// UTF-8 text in defaults (which YAML allows) is accepted.
fn vchar_wsp_no_rbrace(c: char) -> bool {
    c != '}' && (c == ' ' || c == '\t' || !c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The environment of the data model's example table.
    fn spec_env(name: &str) -> Option<String> {
        let v = match name {
            "STRING_VALUE" => "value",
            "BOOL_VALUE" => "true",
            "INT_VALUE" => "1",
            "FLOAT_VALUE" => "1.1",
            "HEX_VALUE" => "0xdeadbeef",
            "INVALID_MAP_VALUE" => "value\nkey:value",
            "DO_NOT_REPLACE_ME" => "Never use this value",
            "REPLACE_ME" => "${DO_NOT_REPLACE_ME}",
            "VALUE_WITH_ESCAPE" => "value$$",
            "EMPTY" => "",
            _ => return None,
        };
        Some(v.to_owned())
    }

    fn run(input: &str) -> Result<String, FileErrorKind> {
        substitute(input, &spec_env).map(|o| o.unwrap_or_else(|| input.to_owned()))
    }

    /// Every row of the data model's table whose input is a plain string (the typing of the
    /// result is tested with the YAML reader, in `yaml.rs`).
    #[test]
    fn the_data_model_table() {
        let table: &[(&str, &str)] = &[
            ("${STRING_VALUE}", "value"),
            ("${BOOL_VALUE}", "true"),
            ("${INT_VALUE}", "1"),
            ("${FLOAT_VALUE}", "1.1"),
            ("${HEX_VALUE}", "0xdeadbeef"),
            ("${env:STRING_VALUE}", "value"),
            ("${INVALID_MAP_VALUE}", "value\nkey:value"),
            ("foo ${STRING_VALUE} ${FLOAT_VALUE}", "foo value 1.1"),
            ("${UNDEFINED_KEY}", ""),
            ("${UNDEFINED_KEY:-fallback}", "fallback"),
            ("${REPLACE_ME}", "${DO_NOT_REPLACE_ME}"),
            ("${UNDEFINED_KEY:-${STRING_VALUE}}", "${STRING_VALUE}"),
            ("$${STRING_VALUE}", "${STRING_VALUE}"),
            ("$$${STRING_VALUE}", "$value"),
            ("$$$${STRING_VALUE}", "$${STRING_VALUE}"),
            ("$${STRING_VALUE:-fallback}", "${STRING_VALUE:-fallback}"),
            (
                "$${STRING_VALUE:-${STRING_VALUE}}",
                "${STRING_VALUE:-value}",
            ),
            (
                "${UNDEFINED_KEY:-$${UNDEFINED_KEY}}",
                "${UNDEFINED_KEY:-${UNDEFINED_KEY}}",
            ),
            ("${VALUE_WITH_ESCAPE}", "value$$"),
            ("a $$ b", "a $ b"),
            ("a $ b", "a $ b"),
            // The spec's pseudocode example: FOO=a, BAR=b, BAZ=c reads `${FOO} b ${BAZ}`.
            ("$${FOO} ${STRING_VALUE} $${BAZ}", "${FOO} value ${BAZ}"),
            // "substituted if ENV-NAME is null, empty, or undefined"
            ("${EMPTY:-d}", "d"),
            ("${EMPTY}", ""),
            // Odd `$` sequences that match neither grammar are left as they are.
            ("$", "$"),
            ("${", "${"),
            ("${}", "${}"),
            ("$STRING_VALUE", "$STRING_VALUE"),
            ("${STRING_VALUE", "${STRING_VALUE"),
            ("}${STRING_VALUE}{", "}value{"),
        ];
        for (input, want) in table {
            assert_eq!(run(input).as_deref(), Ok(*want), "input {input:?}");
        }
    }

    /// "`${STRING_VALUE:?error}` … Invalid substitution reference produces parse error", and
    /// the spec's own invalid examples `${1API_KEY}` and `${API_$KEY}`.
    #[test]
    fn invalid_references_are_errors() {
        for input in [
            "${STRING_VALUE:?error}",
            "${1API_KEY}",
            "${API_$KEY}",
            "x ${env:} y",
            "${ SPACE}",
            "${A-B}",
        ] {
            match run(input) {
                Err(FileErrorKind::Substitution { reference }) => {
                    assert!(input.contains(&reference), "{input:?}: {reference:?}")
                }
                other => panic!("{input:?} should be an invalid reference, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_scalar_without_dollar_is_left_alone() {
        assert_eq!(substitute("plain", &spec_env), Ok(None));
    }
}
