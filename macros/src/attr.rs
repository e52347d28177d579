//! `#[beacon::instrument(..)]`'s arguments, parsed into [`InstrumentArgs`]: every option typed
//! and checked on its own (an unknown option, span kind or level is an error at its tokens);
//! the checks that need the function too (`err` without `Result`…) are in `expand`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Error, Expr, Ident, LitStr, Token};

/// Every option of `#[beacon::instrument(..)]`.
#[derive(Default)]
pub(crate) struct InstrumentArgs {
    /// `name = "…"`: the span name (and the `function` label), instead of the function's.
    pub(crate) name: Option<LitStr>,
    /// `level = "…"`: the span's level (default INFO).
    pub(crate) level: Option<Level>,
    /// `target = "…"`: the span's target (default the module path).
    pub(crate) target: Option<LitStr>,
    /// `skip(a, b)`: arguments not recorded.
    pub(crate) skips: Vec<Ident>,
    /// `skip_all`: no argument recorded.
    pub(crate) skip_all: bool,
    /// `fields(..)`: extra span fields, in `tracing::span!` syntax.
    pub(crate) fields: Vec<Field>,
    /// `ret`: the return value is logged (as `Debug`) in the span.
    pub(crate) ret: bool,
    /// `err`: an `Err` sets the span status and `error.type`.
    pub(crate) err: Option<Span>,
    /// `kind = "…"`: the span kind, one of [`SPAN_KINDS`].
    pub(crate) kind: Option<LitStr>,
    /// `metrics`: the `function.calls*` metrics.
    pub(crate) metrics: bool,
    /// `objective = CONST` (with `metrics`).
    pub(crate) objective: Option<Expr>,
    /// `parent = expr`: a remote parent context.
    pub(crate) parent: Option<Expr>,
    /// `ok_if = path` (with `metrics`).
    pub(crate) ok_if: Option<Expr>,
    /// `error_if = path` (with `metrics`).
    pub(crate) error_if: Option<Expr>,
}

/// What `kind = "…"` accepts.
const SPAN_KINDS: &[&str] = &["server", "client", "producer", "consumer", "internal"];

/// A span level.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn parse_lit(lit: &LitStr) -> syn::Result<Self> {
        let value = lit.value();
        Ok(match value.to_ascii_lowercase().as_str() {
            "trace" => Self::Trace,
            "debug" => Self::Debug,
            "info" => Self::Info,
            "warn" => Self::Warn,
            "error" => Self::Error,
            _ => {
                return Err(Error::new(
                    lit.span(),
                    "unknown level; expected \"trace\", \"debug\", \"info\", \"warn\" or \"error\"",
                ))
            }
        })
    }
}

/// How a field value is recorded: as a value, `%` (`Display`) or `?` (`Debug`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    Value,
    Display,
    Debug,
}

impl ToTokens for FieldKind {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Self::Value => {}
            Self::Display => tokens.extend(quote!(%)),
            Self::Debug => tokens.extend(quote!(?)),
        }
    }
}

/// One entry of `fields(..)`: `name`, `name = value`, `name = %value`, `name = ?value`,
/// `%name`, `?name` (the last two: the local variable of that name).
pub(crate) struct Field {
    /// A dotted name (`order.id`); keywords allowed (`type`).
    pub(crate) name: Punctuated<Ident, Token![.]>,
    pub(crate) value: Option<Expr>,
    pub(crate) kind: FieldKind,
}

impl Field {
    /// Whether this field names (and so replaces) the argument `arg`.
    pub(crate) fn names(&self, arg: &Ident) -> bool {
        self.name.len() == 1 && self.name.first().is_some_and(|i| i == arg)
    }
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut kind = sigil(input)?.unwrap_or(FieldKind::Value);
        let name = Punctuated::parse_separated_nonempty_with(input, Ident::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            if let Some(k) = sigil(input)? {
                kind = k;
            }
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Self { name, value, kind })
    }
}

fn sigil(input: ParseStream<'_>) -> syn::Result<Option<FieldKind>> {
    Ok(if input.peek(Token![%]) {
        input.parse::<Token![%]>()?;
        Some(FieldKind::Display)
    } else if input.peek(Token![?]) {
        input.parse::<Token![?]>()?;
        Some(FieldKind::Debug)
    } else {
        None
    })
}

impl InstrumentArgs {
    /// Parses the attribute's arguments.
    pub(crate) fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut out = Self::default();
        let parser = syn::meta::parser(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "name" => out.name = Some(meta.value()?.parse()?),
                "level" => out.level = Some(Level::parse_lit(&meta.value()?.parse()?)?),
                "target" => out.target = Some(meta.value()?.parse()?),
                "skip" => {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let skips = Punctuated::<Ident, Token![,]>::parse_terminated_with(
                        &content,
                        Ident::parse_any,
                    )?;
                    out.skips.extend(skips);
                }
                "fields" => {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
                    out.fields.extend(fields);
                }
                "skip_all" => out.skip_all = true,
                "ret" => out.ret = true,
                "kind" => {
                    let v: LitStr = meta.value()?.parse()?;
                    if !SPAN_KINDS.contains(&v.value().as_str()) {
                        return Err(Error::new(
                            v.span(),
                            "unknown span kind; expected server, client, producer, consumer or internal",
                        ));
                    }
                    out.kind = Some(v);
                }
                "err" => out.err = Some(meta.path.span()),
                "metrics" => out.metrics = true,
                "objective" => out.objective = Some(meta.value()?.parse()?),
                "parent" => out.parent = Some(meta.value()?.parse()?),
                "ok_if" => out.ok_if = Some(meta.value()?.parse()?),
                "error_if" => out.error_if = Some(meta.value()?.parse()?),
                _ => {
                    return Err(meta.error(
                        "unknown option; expected name, level, target, skip, skip_all, fields, ret, err, kind, metrics, objective, ok_if, error_if or parent",
                    ))
                }
            }
            Ok(())
        });
        syn::parse::Parser::parse2(parser, args)?;
        out.check()?;
        Ok(out)
    }

    /// The rules between options.
    fn check(&self) -> syn::Result<()> {
        if let (Some(expr), false) = (&self.objective, self.metrics) {
            return Err(Error::new(
                expr.span(),
                "`objective` labels the function's metrics: add `metrics` too",
            ));
        }
        for expr in [&self.ok_if, &self.error_if].into_iter().flatten() {
            if !self.metrics {
                return Err(Error::new(
                    expr.span(),
                    "`ok_if` / `error_if` decide the `result` label of the function's metrics: add `metrics` too",
                ));
            }
        }
        if let (Some(_), Some(expr)) = (&self.ok_if, &self.error_if) {
            return Err(Error::new(
                expr.span(),
                "use `ok_if` or `error_if`, not both",
            ));
        }
        Ok(())
    }
}
