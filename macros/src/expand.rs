//! Code generation for `#[beacon::instrument]`, from the parsed [`InstrumentArgs`].

use quote::quote;
use syn::spanned::Spanned as _;
use syn::{Error, LitStr};

use crate::attr::InstrumentArgs;

/// The instrumented function.
pub(crate) fn instrument(
    args: InstrumentArgs,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let mut func: syn::ItemFn = syn::parse2(item).map_err(|e| {
        Error::new(
            e.span(),
            "#[beacon::instrument] goes on a function (free, inherent or trait-impl method)",
        )
    })?;
    let InstrumentArgs {
        name,
        level,
        target,
        skips,
        skip_all,
        fields: user_fields,
        ret,
        err,
        kind,
        metrics,
        objective,
        parent,
        ok_if,
        error_if,
    } = args;
    // Passed through to `tracing::instrument`.
    let mut pass: Vec<proc_macro2::TokenStream> = Vec::new();
    if let Some(v) = &name {
        pass.push(quote!(name = #v));
    }
    if let Some(l) = level {
        let l = l.as_str();
        pass.push(quote!(level = #l));
    }
    if let Some(t) = &target {
        pass.push(quote!(target = #t));
    }
    if !skips.is_empty() {
        pass.push(quote!(skip(#(#skips),*)));
    }
    if skip_all {
        pass.push(quote!(skip_all));
    }
    if ret {
        pass.push(quote!(ret));
    }
    let mut fields: Vec<proc_macro2::TokenStream> =
        user_fields.iter().map(|f| quote!(#f)).collect();
    if let Some(v) = &kind {
        fields.push(quote!(otel.kind = #v));
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
