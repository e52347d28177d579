//! Code generation for `#[beacon::instrument]`, from the parsed [`InstrumentArgs`].
//!
//! The span is created and entered as `tracing::instrument` does it (same `span!` call, same
//! level check before it for sync functions, the same `Instrument` wrapper for futures), but
//! every path is under `::beacon::__private`, so the user's crate needs no `tracing`
//! dependency: `tracing`'s own macros name their paths with `$crate`, which resolves through
//! the re-export.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{Error, FnArg, Ident, LitStr, Pat, Type};

use crate::attr::{FieldKind, InstrumentArgs, Level};

/// The instrumented function.
pub(crate) fn instrument(args: InstrumentArgs, item: TokenStream) -> syn::Result<TokenStream> {
    let mut func: syn::ItemFn = syn::parse2(item).map_err(|e| {
        Error::new(
            e.span(),
            "#[beacon::instrument] goes on a function (free, inherent or trait-impl method)",
        )
    })?;
    // `#[async_trait]` has already turned `async fn m() -> T` into
    // `fn m() -> Pin<Box<dyn Future<Output = T> + Send + '_>> { Box::pin(async move { … }) }`:
    // instrument the future it returns, not the call that makes it (as `tracing::instrument`
    // does).
    let async_trait = async_trait_body(&func);
    let output: Option<Type> = match (&async_trait, &func.sig.output) {
        (Some(_), syn::ReturnType::Type(_, ty)) => future_output(ty),
        (None, syn::ReturnType::Type(_, ty)) => Some((**ty).clone()),
        (_, syn::ReturnType::Default) => None,
    };
    let returns_result = match &output {
        Some(Type::Path(p)) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        _ => false,
    };
    if let Some(span) = args.err {
        if !returns_result {
            return Err(Error::new(
                span,
                "`err` needs a function that returns `Result`",
            ));
        }
    }
    let fn_name = args
        .name
        .as_ref()
        .map_or_else(|| func.sig.ident.to_string(), LitStr::value);
    let is_async = func.sig.asyncness.is_some() || async_trait.is_some();
    let span = span_expr(&args, &func.sig.inputs, &fn_name)?;
    let level = level_tokens(args.level.unwrap_or(Level::Info));
    let mut block: syn::Block = match &async_trait {
        Some(inner) => inner.block.clone(),
        None => (*func.block).clone(),
    };
    if is_async {
        // A `return` of the declared type first, so that the async block's output is inferred
        // as the function's (`?` inside it needs to know its error type).
        let ty = output
            .as_ref()
            .map_or_else(|| syn::parse_quote!(()), erase_impl_trait);
        block = syn::parse_quote_spanned! {ty.span()=> {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::let_with_type_underscore,
                clippy::needless_return,
                clippy::unreachable
            )]
            if false {
                let __beacon_fake_return: #ty = loop {};
                return __beacon_fake_return;
            }
            #block
        }};
    }
    let inner = body(
        &args,
        &fn_name,
        is_async,
        returns_result,
        output.as_ref(),
        &block,
    );
    let release_parent = args
        .parent
        .as_ref()
        .map(|_| quote!(::beacon::__private::release_parent();));
    let tracing = quote!(::beacon::__private::tracing);
    let new_body: TokenStream = if is_async {
        quote! {
            let __beacon_span = #span;
            #release_parent
            let __beacon_future = async move { #inner };
            if !__beacon_span.is_disabled() {
                #tracing::Instrument::instrument(__beacon_future, __beacon_span).await
            } else {
                __beacon_future.await
            }
        }
    } else {
        // As `tracing::instrument`: the span and guard exist only when the level is enabled,
        // which the compiler removes entirely when it is statically off.
        quote! {
            let __beacon_span;
            let __beacon_guard;
            if #tracing::level_enabled!(#level)
                || #tracing::if_log_enabled!(#level, { true } else { false })
            {
                __beacon_span = #span;
                __beacon_guard = __beacon_span.enter();
            }
            #release_parent
            #inner
        }
    };
    match async_trait {
        Some(_) => {
            let pinned: syn::Expr =
                syn::parse_quote!(::std::boxed::Box::pin(async move { #new_body }));
            if let Some(syn::Stmt::Expr(last, None)) = func.block.stmts.last_mut() {
                *last = pinned;
            }
        }
        None => {
            *func.block = syn::parse_quote!({
                #[allow(clippy::suspicious_else_formatting)]
                {
                    #new_body
                }
            });
        }
    }
    Ok(quote!(#func))
}

/// What runs inside the entered span: the user's block, and around it what `err`, `metrics`
/// and `ret` add.
fn body(
    args: &InstrumentArgs,
    fn_name: &str,
    is_async: bool,
    returns_result: bool,
    output: Option<&Type>,
    block: &syn::Block,
) -> TokenStream {
    if !(args.err.is_some() || args.metrics || args.ret) {
        return quote!(#block);
    }
    // An annotation helps `?` infer its conversion; not possible for `impl Trait` or borrowed
    // returns, which then go unannotated.
    let annotate = output.filter(|ty| {
        let text = quote!(#ty).to_string();
        !text.contains("impl ") && !text.contains('&') && !text.contains('\'')
    });
    // With `metrics`, the body runs as the caller of the instrumented functions it calls, so
    // their `function.calls` carry `caller.function` / `caller.module`.
    let run_body = if args.metrics {
        if is_async {
            quote!(::beacon::__private::AsCaller::new(#fn_name, ::std::module_path!(), async move #block))
        } else {
            quote!({
                let __beacon_caller = ::beacon::__private::CallerGuard::enter(#fn_name, ::std::module_path!());
                #block
            })
        }
    } else if is_async {
        quote!(async move #block)
    } else {
        quote!(#block)
    };
    let run = match (is_async, annotate) {
        (true, Some(ty)) => quote!(let __beacon_result: #ty = #run_body.await;),
        (true, None) => quote!(let __beacon_result = #run_body.await;),
        (false, Some(ty)) => quote!(let __beacon_result: #ty = (|| -> #ty #run_body)();),
        (false, None) => quote!(let __beacon_result = (|| #run_body)();),
    };
    let start = args.metrics.then(|| match &args.objective {
        Some(o) => quote!(let __beacon_call = ::beacon::__private::Call::start_with_objective(#fn_name, ::std::module_path!(), &#o);),
        None => quote!(let __beacon_call = ::beacon::__private::Call::start(#fn_name, ::std::module_path!());),
    });
    let record_err = args.err.map(|_| {
        quote! {
            if let ::std::result::Result::Err(e) = &__beacon_result {
                #[allow(unused_imports)]
                use ::beacon::__private::{
                    ErrorTypeViaDebug as _, ErrorTypeViaName as _, ErrorTypeViaTrait as _,
                };
                let error_type = (&&&::beacon::__private::ErrorProbe(e)).error_type();
                ::beacon::__private::record_error_as(e, error_type);
            }
        }
    });
    let finish = args.metrics.then(|| match (&args.ok_if, &args.error_if) {
        (Some(f), _) => quote!(__beacon_call.finish(!(#f)(&__beacon_result));),
        (_, Some(f)) => quote!(__beacon_call.finish((#f)(&__beacon_result));),
        _ if returns_result => {
            quote!(__beacon_call.finish(::std::result::Result::is_err(&__beacon_result));)
        }
        _ => quote!(__beacon_call.finish(false);),
    });
    // `ret`: the return value's `Debug`, at the span's level and target, as
    // `tracing::instrument(ret)` logs it.
    let ret = args.ret.then(|| {
        let level = level_tokens(args.level.unwrap_or(Level::Info));
        let target = target_tokens(args);
        quote!(::beacon::__private::tracing::event!(target: #target, #level, return = ?__beacon_result);)
    });
    quote! {
        #start
        #run
        #record_err
        #finish
        #ret
        __beacon_result
    }
}

fn level_tokens(level: Level) -> TokenStream {
    let l = match level {
        Level::Trace => quote!(TRACE),
        Level::Debug => quote!(DEBUG),
        Level::Info => quote!(INFO),
        Level::Warn => quote!(WARN),
        Level::Error => quote!(ERROR),
    };
    quote!(::beacon::__private::tracing::Level::#l)
}

fn target_tokens(args: &InstrumentArgs) -> TokenStream {
    match &args.target {
        Some(t) => quote!(#t),
        None => quote!(::std::module_path!()),
    }
}

/// How an argument is recorded, chosen from its declared type as `tracing::instrument` does:
/// primitives as values, everything else with `Debug`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Record {
    Value,
    /// An unsigned integer: an integer attribute when it fits in `i64` (see
    /// `beacon::__private::AsUnsignedField`).
    Unsigned,
    Debug,
}

impl Record {
    fn of(ty: &Type) -> Self {
        const UNSIGNED: &[&str] = &[
            "u8",
            "u16",
            "u32",
            "u64",
            "usize",
            "NonZeroU8",
            "NonZeroU16",
            "NonZeroU32",
            "NonZeroU64",
            "NonZeroUsize",
        ];
        // tracing-attributes' list, less the unsigned types.
        const VALUE: &[&str] = &[
            "bool",
            "str",
            "i8",
            "i16",
            "i32",
            "i64",
            "u128",
            "i128",
            "f32",
            "f64",
            "isize",
            "String",
            "NonZeroI8",
            "NonZeroI16",
            "NonZeroI32",
            "NonZeroI64",
            "NonZeroU128",
            "NonZeroI128",
            "NonZeroIsize",
            "Wrapping",
        ];
        match ty {
            Type::Path(p) => match p.path.segments.last().map(|s| s.ident.to_string()) {
                Some(name) if UNSIGNED.contains(&name.as_str()) => Self::Unsigned,
                Some(name) if VALUE.contains(&name.as_str()) => Self::Value,
                _ => Self::Debug,
            },
            Type::Reference(r) => Self::of(&r.elem),
            _ => Self::Debug,
        }
    }
}

/// The names an argument pattern binds (`x`, `(a, b)`, `Point { x, y }`), and how each is
/// recorded: only a plain binding's type is known.
fn bindings(pat: &Pat, record: Record, out: &mut Vec<(Ident, Record)>) {
    match pat {
        Pat::Ident(p) => out.push((p.ident.clone(), record)),
        Pat::Reference(p) => bindings(&p.pat, record, out),
        Pat::Struct(p) => {
            for f in &p.fields {
                bindings(&f.pat, Record::Debug, out);
            }
        }
        Pat::Tuple(p) => {
            for e in &p.elems {
                bindings(e, Record::Debug, out);
            }
        }
        Pat::TupleStruct(p) => {
            for e in &p.elems {
                bindings(e, Record::Debug, out);
            }
        }
        _ => {}
    }
}

/// `::beacon::__private::tracing::span!(..)` with the arguments, the `fields(..)`, the span
/// kind and the remote parent.
fn span_expr(
    args: &InstrumentArgs,
    inputs: &syn::punctuated::Punctuated<FnArg, syn::Token![,]>,
    fn_name: &str,
) -> syn::Result<TokenStream> {
    let tracing = quote!(::beacon::__private::tracing);
    let mut params: Vec<(Ident, Record)> = Vec::new();
    for input in inputs {
        match input {
            FnArg::Typed(t) => bindings(&t.pat, Record::of(&t.ty), &mut params),
            FnArg::Receiver(r) => {
                params.push((Ident::new("self", r.self_token.span), Record::Debug))
            }
        }
    }
    for skip in &args.skips {
        if !params.iter().any(|(name, _)| name == skip) {
            return Err(Error::new(
                skip.span(),
                "attempting to skip non-existent parameter",
            ));
        }
    }
    let unsigned = |value: TokenStream| quote!(::beacon::__private::AsUnsignedField::unsigned_field(&#value).as_value());
    let mut fields: Vec<TokenStream> = Vec::new();
    for (name, record) in &params {
        let skipped = args.skip_all
            || args.skips.contains(name)
            // A field of the same name replaces the argument.
            || args.fields.iter().any(|f| f.names(name));
        if skipped {
            continue;
        }
        fields.push(match record {
            Record::Value => quote!(#name = #name),
            Record::Unsigned => {
                let value = unsigned(quote!(#name));
                quote!(#name = #value)
            }
            Record::Debug => quote!(#name = #tracing::field::debug(&#name)),
        });
    }
    for field in &args.fields {
        let name = &field.name;
        let kind = field.kind;
        fields.push(match (&field.value, kind) {
            // `fields(x = arg)` of an unsigned argument: an integer, as the argument would be.
            (Some(syn::Expr::Path(p)), FieldKind::Value)
                if params
                    .iter()
                    .any(|(n, r)| *r == Record::Unsigned && p.path.is_ident(n)) =>
            {
                let value = unsigned(quote!(#p));
                quote!(#name = #value)
            }
            (Some(value), _) => quote!(#name = #kind #value),
            // As `tracing::instrument`: a bare name is a field recorded later.
            (None, FieldKind::Value) => quote!(#name = #tracing::field::Empty),
            (None, _) => quote!(#kind #name),
        });
    }
    if let Some(kind) = &args.kind {
        fields.push(quote!(otel.kind = #kind));
    }
    if let Some(expr) = &args.parent {
        // The context is attached while the span is created (a field value, evaluated only
        // when the span is enabled, recording nothing), so the span's parent is the remote
        // one; `release_parent` detaches it right after.
        // Spanned at the expression, so a value of the wrong type is reported there.
        let attach = quote_spanned!(expr.span()=> ::beacon::__private::attach_parent(&(#expr)));
        fields.push(quote!(beacon.parent = #attach));
    }
    let name = args
        .name
        .as_ref()
        .map_or_else(|| quote!(#fn_name), |n| quote!(#n));
    let target = target_tokens(args);
    let level = level_tokens(args.level.unwrap_or(Level::Info));
    Ok(quote!(#tracing::span!(target: #target, #level, #name, #(#fields),*)))
}

/// `impl Trait` replaced by `_`, so the type can annotate a `let`.
fn erase_impl_trait(ty: &Type) -> Type {
    struct Eraser;
    impl VisitMut for Eraser {
        fn visit_type_mut(&mut self, t: &mut Type) {
            if let Type::ImplTrait(_) = t {
                *t = syn::parse_quote!(_);
            } else {
                syn::visit_mut::visit_type_mut(self, t);
            }
        }
    }
    let mut ty = ty.clone();
    Eraser.visit_type_mut(&mut ty);
    ty
}

/// The `async move { … }` of an `#[async_trait]` method body: its last statement is
/// `Box::pin(async move { … })`.
fn async_trait_body(func: &syn::ItemFn) -> Option<syn::ExprAsync> {
    if func.sig.asyncness.is_some() {
        return None;
    }
    let Some(syn::Stmt::Expr(syn::Expr::Call(call), None)) = func.block.stmts.last() else {
        return None;
    };
    let syn::Expr::Path(path) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    match call.args.first() {
        Some(syn::Expr::Async(inner)) if inner.capture.is_some() => Some(inner.clone()),
        _ => None,
    }
}

/// `T` of `Pin<Box<dyn Future<Output = T> + …>>`.
fn future_output(ty: &syn::Type) -> Option<syn::Type> {
    let syn::Type::Path(pin) = ty else {
        return None;
    };
    let generic = |seg: &syn::PathSegment| -> Option<syn::Type> {
        let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
            return None;
        };
        args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
    };
    let boxed = generic(pin.path.segments.last()?)?;
    let syn::Type::Path(boxed) = boxed else {
        return None;
    };
    let syn::Type::TraitObject(object) = generic(boxed.path.segments.last()?)? else {
        return None;
    };
    object.bounds.iter().find_map(|b| match b {
        syn::TypeParamBound::Trait(t) => {
            let seg = t.path.segments.last()?;
            if seg.ident != "Future" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
                return None;
            };
            args.args.iter().find_map(|a| match a {
                syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                    Some(assoc.ty.clone())
                }
                _ => None,
            })
        }
        _ => None,
    })
}
