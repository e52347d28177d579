//! Beacon's procedural macros, re-exported by `beacon`: use them as `beacon::Event`.
//! The generated code names only `::beacon::__private` paths.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::spanned::Spanned as _;
use syn::{parse_macro_input, Data, DeriveInput, Error, Fields, LitBool, LitStr};

/// Derives `beacon::Event` for a struct with named fields.
///
/// Type attribute `#[event(name = "…", severity = "info", span_event = true, log = true,
/// metric = true)]` (`name` required; severity one of trace, debug, info, warn, error,
/// fatal). Field attributes: `#[event(skip)]` leaves it out, `#[event(sensitive)]` records
/// `REDACTED`, `#[event(display)]` / `#[event(debug)]` record its `Display` / `Debug` text,
/// `#[event(rename = "…")]` changes the attribute key. Other fields must be integers, floats,
/// `bool`, `String`, `&str`, or an `Option` of those.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

#[derive(Default)]
struct TypeOptions {
    name: Option<LitStr>,
    severity: Option<LitStr>,
    span_event: Option<LitBool>,
    log: Option<LitBool>,
    metric: Option<LitBool>,
}

enum Mode {
    Value,
    Skip,
    Sensitive,
    Display,
    Debug,
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let mut opts = TypeOptions::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "name" => opts.name = Some(meta.value()?.parse()?),
                "severity" => opts.severity = Some(meta.value()?.parse()?),
                "span_event" => opts.span_event = Some(meta.value()?.parse()?),
                "log" => opts.log = Some(meta.value()?.parse()?),
                "metric" => opts.metric = Some(meta.value()?.parse()?),
                _ => {
                    return Err(meta.error(
                        "unknown event option; expected name, severity, span_event, log or metric",
                    ))
                }
            }
            Ok(())
        })?;
    }
    let name = opts.name.ok_or_else(|| {
        Error::new(
            Span::call_site(),
            "an event needs a name: add #[event(name = \"area.what_happened\")]",
        )
    })?;
    let severity = match opts.severity {
        None => quote!(::beacon::__private::Severity::Info),
        Some(s) => {
            let variant = match s.value().to_ascii_lowercase().as_str() {
                "trace" => quote!(Trace),
                "debug" => quote!(Debug),
                "info" => quote!(Info),
                "warn" | "warning" => quote!(Warn),
                "error" => quote!(Error),
                "fatal" => quote!(Fatal),
                _ => {
                    return Err(Error::new(
                        s.span(),
                        "unknown severity; expected trace, debug, info, warn, error or fatal",
                    ))
                }
            };
            quote!(::beacon::__private::Severity::#variant)
        }
    };
    let flag = |v: &Option<LitBool>| v.as_ref().is_none_or(LitBool::value);
    let (span_event, log, metric) = (flag(&opts.span_event), flag(&opts.log), flag(&opts.metric));

    let Data::Struct(data) = &input.data else {
        return Err(Error::new(
            input.span(),
            "#[derive(Event)] works on structs with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(Error::new(
            data.fields.span(),
            "#[derive(Event)] needs named fields: they become the attribute keys",
        ));
    };
    let mut pushes = Vec::new();
    for field in &fields.named {
        let ident = field.ident.as_ref().expect("named field");
        let mut mode = Mode::Value;
        let mut key = ident.to_string();
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("event")) {
            attr.parse_nested_meta(|meta| {
                let k = meta
                    .path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match k.as_str() {
                    "skip" => mode = Mode::Skip,
                    "sensitive" => mode = Mode::Sensitive,
                    "display" => mode = Mode::Display,
                    "debug" => mode = Mode::Debug,
                    "rename" => key = meta.value()?.parse::<LitStr>()?.value(),
                    _ => return Err(meta.error(
                        "unknown field option; expected skip, sensitive, display, debug or rename",
                    )),
                }
                Ok(())
            })?;
        }
        let push = match mode {
            // Read, so a skipped or redacted field does not look unused.
            Mode::Skip => quote! {
                let _ = &self.#ident;
            },
            Mode::Sensitive => quote! {
                let _ = &self.#ident;
                out.push(::beacon::__private::KeyValue::new(#key, ::beacon::__private::REDACTED));
            },
            Mode::Display => quote! {
                out.push(::beacon::__private::KeyValue::new(#key, ::std::string::ToString::to_string(&self.#ident)));
            },
            Mode::Debug => quote! {
                out.push(::beacon::__private::KeyValue::new(#key, ::std::format!("{:?}", &self.#ident)));
            },
            // Spanned at the field, so an unsupported type is reported there.
            Mode::Value => quote::quote_spanned! {field.ty.span()=>
                if let ::std::option::Option::Some(value) =
                    ::beacon::__private::ToAttribute::to_attribute(&self.#ident)
                {
                    out.push(::beacon::__private::KeyValue::new(#key, value));
                }
            },
        };
        pushes.push(push);
    }
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let count = pushes.len();
    Ok(quote! {
        impl #impl_generics ::beacon::__private::Event for #ty #ty_generics #where_clause {
            const NAME: &'static str = #name;
            const SEVERITY: ::beacon::__private::Severity = #severity;
            const SPAN_EVENT: bool = #span_event;
            const LOG: bool = #log;
            const METRIC: bool = #metric;

            fn attributes(&self) -> ::std::vec::Vec<::beacon::__private::KeyValue> {
                let mut out = ::std::vec::Vec::with_capacity(#count);
                #(#pushes)*
                out
            }
        }
    })
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

/// Instruments a function: everything `tracing::instrument` does (it is used underneath, so
/// the function's crate needs `tracing` as a dependency), plus:
///
/// - `kind = "server" | "client" | "producer" | "consumer" | "internal"`: the span kind.
/// - `err`: on a function returning `Result`, an `Err` sets the span status to Error with the
///   error's message and records `error.type`: the error's `beacon::ErrorType` if it has one,
///   else `Type::Variant` for an enum error whose `Debug` names the variant
///   (`OrderError::OutOfStock`), else the type's name; `Ok` leaves it unset.
/// - `objective = CONST` (with `metrics`): a `beacon::slo::Objective` whose labels go on the
///   metrics; `beacon::slo::prometheus_rules` turns it into recording and burn-rate alert rules.
/// - `metrics`: records `function.calls` (counter; `function`, `module`, `result` = ok/error,
///   and `caller.function` / `caller.module` when called from another function instrumented
///   with `metrics`), `function.calls.duration` (histogram, seconds) and
///   `function.calls.concurrent` (up-down counter) — autometrics' names and labels, so its
///   dashboards and queries work as they are.
/// - `ok_if = path` / `error_if = path` (with `metrics`): a `fn(&ReturnType) -> bool` deciding
///   the `result` label instead of `Result::is_err`, so expected outcomes (a declined card, a
///   404) do not spend the error budget — as autometrics' options of the same names. The span
///   status still follows `err`.
/// - `parent = expr`: starts the span under a remote parent — an `opentelemetry::Context` (say,
///   extracted by a propagator from a message's headers) or a `SpanContext` — instead of the
///   current span; something `tracing::instrument` cannot do.
///
/// Works on free functions, inherent and trait-impl methods, generic functions, and methods
/// of an `#[async_trait]` impl (put `#[async_trait]` on the impl, this on the method).
///
/// Passed through to `tracing::instrument`: `name`, `level`, `target`, `skip(..)`, `skip_all`,
/// `fields(..)`, `ret`. Anything else is a compile error that points at it.
#[proc_macro_attribute]
pub fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = proc_macro2::TokenStream::from(item);
    instrument_impl(args, item)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

fn instrument_impl(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let mut pass: Vec<proc_macro2::TokenStream> = Vec::new();
    let mut fields: Vec<proc_macro2::TokenStream> = Vec::new();
    let mut err: Option<proc_macro2::Span> = None;
    let mut metrics = false;
    let mut objective: Option<syn::Expr> = None;
    let mut parent: Option<syn::Expr> = None;
    let mut ok_if: Option<syn::Expr> = None;
    let mut error_if: Option<syn::Expr> = None;
    let mut name: Option<LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "name" => {
                let v: LitStr = meta.value()?.parse()?;
                pass.push(quote!(name = #v));
                name = Some(v);
            }
            "level" | "target" => {
                let v: LitStr = meta.value()?.parse()?;
                let k = &meta.path;
                pass.push(quote!(#k = #v));
            }
            "skip" | "fields" => {
                let content;
                syn::parenthesized!(content in meta.input);
                let inner: proc_macro2::TokenStream = content.parse()?;
                if key == "skip" {
                    pass.push(quote!(skip(#inner)));
                } else {
                    fields.push(inner);
                }
            }
            "skip_all" | "ret" => {
                let k = &meta.path;
                pass.push(quote!(#k));
            }
            "kind" => {
                let v: LitStr = meta.value()?.parse()?;
                if !matches!(v.value().as_str(), "server" | "client" | "producer" | "consumer" | "internal") {
                    return Err(Error::new(
                        v.span(),
                        "unknown span kind; expected server, client, producer, consumer or internal",
                    ));
                }
                fields.push(quote!(otel.kind = #v));
            }
            "err" => err = Some(meta.path.span()),
            "metrics" => metrics = true,
            "objective" => objective = Some(meta.value()?.parse()?),
            "parent" => parent = Some(meta.value()?.parse()?),
            "ok_if" => ok_if = Some(meta.value()?.parse()?),
            "error_if" => error_if = Some(meta.value()?.parse()?),
            _ => {
                return Err(meta.error(
                    "unknown option; expected name, level, target, skip, skip_all, fields, ret, err, kind, metrics, objective, ok_if, error_if or parent",
                ))
            }
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, args)?;

    let mut func: syn::ItemFn = syn::parse2(item).map_err(|e| {
        Error::new(
            e.span(),
            "#[beacon::instrument] goes on a function (free, inherent or trait-impl method)",
        )
    })?;
    if let (Some(expr), false) = (&objective, metrics) {
        return Err(Error::new(
            expr.span(),
            "`objective` labels the function's metrics: add `metrics` too",
        ));
    }
    for expr in [&ok_if, &error_if].into_iter().flatten() {
        if !metrics {
            return Err(Error::new(
                expr.span(),
                "`ok_if` / `error_if` decide the `result` label of the function's metrics: add `metrics` too",
            ));
        }
    }
    if let (Some(_), Some(expr)) = (&ok_if, &error_if) {
        return Err(Error::new(
            expr.span(),
            "use `ok_if` or `error_if`, not both",
        ));
    }
    // `#[async_trait]` has already turned `async fn m() -> T` into
    // `fn m() -> Pin<Box<dyn Future<Output = T> + Send + '_>> { Box::pin(async move { … }) }`:
    // instrument the future it returns, not the call that makes it (as `tracing::instrument`
    // does).
    let async_trait = async_trait_body(&func);
    let output: Option<syn::Type> = match (&async_trait, &func.sig.output) {
        (Some(_), syn::ReturnType::Type(_, ty)) => future_output(ty),
        (None, syn::ReturnType::Type(_, ty)) => Some((**ty).clone()),
        (_, syn::ReturnType::Default) => None,
    };
    let returns_result = match &output {
        Some(syn::Type::Path(p)) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        _ => false,
    };
    if let Some(span) = err {
        if !returns_result {
            return Err(Error::new(
                span,
                "`err` needs a function that returns `Result`",
            ));
        }
    }
    let fn_name = name
        .as_ref()
        .map_or_else(|| func.sig.ident.to_string(), LitStr::value);
    // An annotation helps `?` infer its conversion; not possible for `impl Trait` or borrowed
    // returns, which then go unannotated.
    let annotate = output.as_ref().filter(|ty| {
        let text = quote!(#ty).to_string();
        !text.contains("impl ") && !text.contains('&') && !text.contains('\'')
    });
    let is_async = func.sig.asyncness.is_some() || async_trait.is_some();
    let block: syn::Block = match &async_trait {
        Some(inner) => inner.block.clone(),
        None => (*func.block).clone(),
    };
    // With `metrics`, the body runs as the caller of the instrumented functions it calls, so
    // their `function.calls` carry `caller.function` / `caller.module`.
    let body = if metrics {
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
        (true, Some(ty)) => quote!(let __beacon_result: #ty = #body.await;),
        (true, None) => quote!(let __beacon_result = #body.await;),
        (false, Some(ty)) => quote!(let __beacon_result: #ty = (|| -> #ty #body)();),
        (false, None) => quote!(let __beacon_result = (|| #body)();),
    };
    // `parent = expr`: the context is attached while the span is created (as a field value
    // `tracing::instrument` evaluates at that moment, recording nothing), so the span's parent
    // is the remote one; the body releases it before anything else runs.
    let release_parent = parent.as_ref().map(|expr| {
        // Spanned at the expression, so a value of the wrong type is reported there.
        let attach =
            quote::quote_spanned!(expr.span()=> ::beacon::__private::attach_parent(&(#expr)));
        fields.push(quote!(beacon.parent = #attach));
        quote!(::beacon::__private::release_parent();)
    });
    if err.is_some() || metrics || release_parent.is_some() {
        let start = metrics.then(|| match &objective {
            Some(o) => quote!(let __beacon_call = ::beacon::__private::Call::start_with_objective(#fn_name, ::std::module_path!(), &#o);),
            None => quote!(let __beacon_call = ::beacon::__private::Call::start(#fn_name, ::std::module_path!());),
        });
        let record_err = err.map(|_| {
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
        let finish = metrics.then(|| match (&ok_if, &error_if) {
            (Some(f), _) => quote!(__beacon_call.finish(!(#f)(&__beacon_result));),
            (_, Some(f)) => quote!(__beacon_call.finish((#f)(&__beacon_result));),
            _ if returns_result => {
                quote!(__beacon_call.finish(::std::result::Result::is_err(&__beacon_result));)
            }
            _ => quote!(__beacon_call.finish(false);),
        });
        let new_block: syn::Block = syn::parse_quote!({
            #release_parent
            #start
            #run
            #record_err
            #finish
            __beacon_result
        });
        match async_trait {
            Some(_) => {
                let pinned: syn::Expr =
                    syn::parse_quote!(::std::boxed::Box::pin(async move #new_block));
                if let Some(syn::Stmt::Expr(last, None)) = func.block.stmts.last_mut() {
                    *last = pinned;
                }
            }
            None => *func.block = new_block,
        }
    }
    if !fields.is_empty() {
        pass.push(quote!(fields(#(#fields),*)));
    }
    Ok(quote! {
        #[::beacon::__private::tracing::instrument(#(#pass),*)]
        #func
    })
}
