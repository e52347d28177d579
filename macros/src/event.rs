//! `#[derive(Event)]`: the `beacon::Event` impl of a struct, its fields as attributes.

use proc_macro2::Span;
use quote::quote;
use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Error, Fields, LitBool, LitStr};

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

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
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
        let Some(ident) = field.ident.as_ref() else {
            return Err(Error::new(
                field.span(),
                "#[derive(Event)] needs named fields",
            ));
        };
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
