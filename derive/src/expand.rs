//! The code the derive writes: `From<T> for Failure`, `From<T> for
//! DependencyError`, the list of problems for OpenAPI, and the calls that
//! add axum's `IntoResponse` and utoipa's `IntoResponses` when the main
//! crate has those features.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields as SynFields, Ident, LitStr, Member, Type};

use crate::attr::{self, Display, Fields, Kind, Spec};

/// Where the prerequisite's name comes from.
enum NameFrom {
    Literal(LitStr),
    Field(Member),
}

/// The client-safe text a variant's failure carries.
enum Detail {
    None,
    Literal(String),
    /// The variant's `Display`, written when it is converted.
    Display,
}

/// One variant (or the struct), checked.
struct Variant {
    /// `Enum::Variant` or `Struct`.
    path: TokenStream,
    /// Its name, for OpenAPI.
    label: String,
    doc: Option<String>,
    kind: Kind,
    spec: Spec,
    fields: Fields,
    name: Option<NameFrom>,
    detail: Detail,
    /// `transparent`'s field, or `from_error`'s.
    wrapped: Option<(Member, Type)>,
}

impl Variant {
    /// Whether the fields are bound by reference: a server fault keeps the
    /// whole error as its source, after reading its fields.
    fn by_ref(&self) -> bool {
        self.kind.is_server_fault()
    }
}

fn error(span: Span, message: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, message)
}

/// The first paragraph of the doc comment.
fn doc(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("doc")) {
        let syn::Meta::NameValue(meta) = &attr.meta else {
            continue;
        };
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) = &meta.value
        else {
            continue;
        };
        let line = text.value().trim().to_owned();
        if line.is_empty() {
            if lines.is_empty() {
                continue;
            }
            break;
        }
        lines.push(line);
    }
    (!lines.is_empty()).then(|| lines.join(" "))
}

fn member_key(member: &Member) -> String {
    match member {
        Member::Named(ident) => ident.to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    }
}

/// A header value `HeaderValue::from_static` takes: visible ASCII, spaces
/// and tabs.
fn header_value(value: &LitStr, header: &str) -> syn::Result<()> {
    let text = value.value();
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    if valid {
        Ok(())
    } else {
        Err(error(
            value.span(),
            format!("`{header}` must be a header value: visible ASCII characters and spaces"),
        ))
    }
}

/// Checks one variant and decides where its name and detail come from.
#[allow(clippy::too_many_lines)]
fn variant(
    path: TokenStream,
    label: String,
    span: Span,
    attrs: &[Attribute],
    spec: Spec,
    syn_fields: &SynFields,
    default_name: Option<&LitStr>,
) -> syn::Result<Variant> {
    let Some((kind, kind_span)) = spec.kind else {
        return Err(error(
            span,
            format!(
                "`{label}` needs the kind of failure it is: add `#[failure(..)]` with one of \
                 rejected(STATUS) (with `dependency = \"..\"`: a prerequisite attempted and \
                 refused, 424), unavailable (503), timeout (504), bad_gateway (502), invalid \
                 (400) or invalid(422), precondition (428), internal (500), transparent, \
                 from_error"
            ),
        ));
    };
    let fields = attr::fields(syn_fields.iter())?;
    let display = attr::display(attrs);
    let members: Vec<(Member, &syn::Field)> = syn_fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(syn::Index::from(index)),
            };
            (member, field)
        })
        .collect();

    if kind == Kind::Transparent {
        let given = [
            spec.dependency.as_ref().map(|_| "dependency"),
            spec.code.as_ref().map(|_| "code"),
            spec.problem_type.as_ref().map(|_| "type"),
            spec.title.as_ref().map(|_| "title"),
            spec.detail.as_ref().map(|_| "detail"),
            spec.expose.as_ref().map(|_| "expose"),
            spec.retry_after.as_ref().map(|_| "retry_after"),
            spec.www_authenticate.as_ref().map(|_| "www_authenticate"),
            spec.allow.as_ref().map(|_| "allow"),
        ];
        if let Some(key) = given.into_iter().flatten().next() {
            return Err(error(
                kind_span,
                format!(
                    "`transparent` takes the wrapped error's mapping whole: remove `{key}`, or \
                     map the variant itself with a kind of its own"
                ),
            ));
        }
        let [(member, field)] = members.as_slice() else {
            return Err(error(
                kind_span,
                "`transparent` needs exactly one field: the error whose mapping it takes",
            ));
        };
        if fields.dependency.is_some()
            || fields.retry_after.is_some()
            || fields.errors.is_some()
            || !fields.extensions.is_empty()
        {
            return Err(error(
                field.span(),
                "`transparent` takes the wrapped error's mapping whole: remove the field's \
                 `#[failure(..)]`",
            ));
        }
        return Ok(Variant {
            path,
            label,
            doc: doc(attrs),
            kind,
            spec,
            fields,
            name: None,
            detail: Detail::None,
            wrapped: Some((member.clone(), field.ty.clone())),
        });
    }

    // The prerequisite's name.
    let name = match (&spec.dependency, &fields.dependency) {
        (Some(literal), Some((_, field_span))) => {
            let _ = literal;
            return Err(error(
                *field_span,
                "the name is given twice: keep `dependency = \"..\"` or the \
                 `#[failure(dependency)]` field",
            ));
        }
        (Some(literal), None) => Some(NameFrom::Literal(literal.clone())),
        (None, Some((member, _))) => Some(NameFrom::Field(member.clone())),
        (None, None) => default_name.map(|literal| NameFrom::Literal(literal.clone())),
    };
    let Some(name) = name else {
        let message = match kind {
            Kind::Rejected(code) => format!(
                "a `rejected({code})` failure must name the prerequisite that refused (a 424 \
                 that names no dependency never leaves): add `dependency = \"..\"` here or on \
                 the type, or mark the field that holds the name with `#[failure(dependency)]`"
            ),
            _ => "a failure names the prerequisite it reports (a `DependencyError` always \
                  does): add `dependency = \"..\"` here or on the type (`#[failure(dependency \
                  = \"..\")]` before the enum, for every variant), or mark the field that holds \
                  the name with `#[failure(dependency)]`"
                .to_owned(),
        };
        return Err(error(kind_span, message));
    };

    // Headers and hints that only fit some kinds.
    if let Some(seconds) = &spec.retry_after {
        if kind != Kind::Unavailable {
            return Err(error(
                seconds.span(),
                "`retry_after` is sent as Retry-After with a 503 only: it fits `unavailable`",
            ));
        }
    }
    if let Some((_, field_span)) = &fields.retry_after {
        if kind != Kind::Unavailable || spec.retry_after.is_some() {
            return Err(error(
                *field_span,
                "a `#[failure(retry_after)]` field fits `unavailable` only, without \
                 `retry_after = SECONDS`",
            ));
        }
    }
    if let Some(challenge) = &spec.www_authenticate {
        if kind != Kind::Rejected(401) {
            return Err(error(
                challenge.span(),
                "`www_authenticate` is sent on a 401 only: it fits `rejected(401)`",
            ));
        }
        header_value(challenge, "www_authenticate")?;
    }
    if let Some(methods) = &spec.allow {
        if kind != Kind::Rejected(405) {
            return Err(error(
                methods.span(),
                "`allow` is sent on a 405 only: it fits `rejected(405)`",
            ));
        }
        header_value(methods, "allow")?;
    }
    if let Some((_, field_span)) = &fields.errors {
        if !matches!(kind, Kind::Invalid(_)) {
            return Err(error(
                *field_span,
                "`#[failure(errors)]` lists what is wrong with the request's input: it fits \
                 `invalid` or `invalid(422)`",
            ));
        }
    }

    // The wrapped error `from_error` classifies.
    let wrapped = if kind == Kind::FromError {
        let marked: Vec<&(Member, &syn::Field)> = members
            .iter()
            .filter(|(_, field)| attr::wraps_error(field).unwrap_or(false))
            .collect();
        let chosen = match (marked.as_slice(), members.as_slice()) {
            ([one], _) => *one,
            ([], [only]) => only,
            _ => {
                return Err(error(
                    kind_span,
                    "`from_error` classifies one wrapped error: give the variant a single \
                     field, or mark the error with `#[source]`, `#[from]` or \
                     `#[failure(source)]`",
                ))
            }
        };
        let (member, field) = chosen;
        if fields.extensions.iter().any(|(m, _)| m == member)
            || fields.dependency.as_ref().is_some_and(|(m, _)| m == member)
        {
            return Err(error(
                field.span(),
                "the wrapped error is classified: it cannot also be the name or a member",
            ));
        }
        Some((member.clone(), field.ty.clone()))
    } else {
        if let Some((_, field_span)) = &fields.source {
            return Err(error(
                *field_span,
                "`#[failure(source)]` marks the error `from_error` classifies: add \
                 `from_error`, or remove it",
            ));
        }
        None
    };

    // The detail, and the misuse of `expose`.
    let wrapped_fields: Vec<String> = members
        .iter()
        .filter(|(member, field)| {
            attr::wraps_error(field).unwrap_or(false)
                || wrapped.as_ref().is_some_and(|(m, _)| m == member)
        })
        .map(|(member, _)| member_key(member))
        .collect();
    let leaks = match &display {
        Display::Unknown => None,
        Display::Transparent => Some("the wrapped error's text (`#[error(transparent)]`)".into()),
        Display::Format { shows, .. } => shows
            .iter()
            .find(|shown| wrapped_fields.contains(shown))
            .map(|shown| format!("the text of the wrapped error `{shown}`")),
    };
    let safe_text = "write the client-safe text instead, with `detail = \"..\"`";
    if let Some(expose) = spec.expose {
        if spec.detail.is_some() {
            return Err(error(
                expose,
                "`expose` and `detail` both set the detail: keep one",
            ));
        }
        if kind.is_client_error() {
            return Err(error(
                expose,
                "remove `expose`: a client error's detail is its `Display` already",
            ));
        }
        if kind == Kind::FromError {
            return Err(error(
                expose,
                format!(
                    "`expose` would show the wrapped error's text, which is internal and never \
                     rendered: {safe_text}"
                ),
            ));
        }
        if let Some(what) = &leaks {
            return Err(error(
                expose,
                format!(
                    "`expose` would show {what}, which is internal and never rendered: {safe_text}"
                ),
            ));
        }
    }
    let from_display = || match &display {
        Display::Format {
            constant: Some(text),
            ..
        } => Detail::Literal(text.clone()),
        _ => Detail::Display,
    };
    let detail = match (&spec.detail, spec.expose) {
        (Some(text), _) => Detail::Literal(text.value()),
        (None, Some(_)) => from_display(),
        (None, None) if kind.is_client_error() => {
            if let Some(what) = &leaks {
                return Err(error(
                    kind_span,
                    format!(
                        "a client error's detail is its `Display`, which here shows {what}: \
                         internals are never rendered; {safe_text}"
                    ),
                ));
            }
            from_display()
        }
        (None, None) => Detail::None,
    };

    Ok(Variant {
        path,
        label,
        doc: doc(attrs),
        kind,
        spec,
        fields,
        name: Some(name),
        detail,
        wrapped,
    })
}

/// What the generated code targets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Failure,
    DependencyError,
}

fn binding(member: &Member) -> Ident {
    format_ident!("__failure_field_{}", member_key(member))
}

/// The failure a variant's kind starts from, with what its attributes set
/// (not its detail, fields or source).
fn base(krate: &TokenStream, variant: &Variant) -> TokenStream {
    let ctor = match variant.kind {
        Kind::Rejected(code) => quote!(#krate::__private::rejected(#code)),
        Kind::Invalid(422) => quote!(#krate::Failure::unprocessable()),
        Kind::Invalid(_) => quote!(#krate::Failure::invalid_input()),
        Kind::Precondition => quote!(#krate::Failure::precondition_required()),
        Kind::Unavailable => quote!(#krate::Failure::unavailable()),
        Kind::Timeout => quote!(#krate::Failure::timeout()),
        Kind::BadGateway => quote!(#krate::Failure::bad_gateway()),
        Kind::Internal => quote!(#krate::Failure::internal()),
        Kind::Transparent | Kind::FromError => quote!(#krate::Failure::internal()),
    };
    let spec = &variant.spec;
    let code = spec.code.iter();
    let problem_type = spec.problem_type.iter();
    let title = spec.title.iter();
    let retry_after = spec.retry_after.iter();
    let challenge = spec.www_authenticate.iter();
    let allow = spec.allow.iter();
    quote! {
        #ctor
            #(.with_code(#code))*
            #(.with_type(#problem_type))*
            #(.with_title(#title))*
            #(.with_retry_after(::core::time::Duration::from_secs(#retry_after)))*
            #(.with_www_authenticate(#krate::__private::http::HeaderValue::from_static(#challenge)))*
            #(.with_allow(#krate::__private::http::HeaderValue::from_static(#allow)))*
    }
}

/// One arm of the conversion's `match`.
fn arm(
    krate: &TokenStream,
    variant: &Variant,
    target: Target,
    detail_is_option: bool,
) -> TokenStream {
    let path = &variant.path;
    if variant.kind == Kind::Transparent {
        let Some((member, _)) = &variant.wrapped else {
            return TokenStream::new();
        };
        let target = match target {
            Target::Failure => quote!(#krate::Failure),
            Target::DependencyError => quote!(#krate::DependencyError),
        };
        return quote! {
            #path { #member: __failure_inner } => ::core::convert::Into::<#target>::into(__failure_inner),
        };
    }
    let by_ref = variant.by_ref();
    let fields = &variant.fields;
    // The fields this target reads, each bound once.
    let mut bound: Vec<Member> = Vec::new();
    let mut bind = |member: &Member| {
        if !bound.contains(member) {
            bound.push(member.clone());
        }
    };
    if let Some((member, _)) = &variant.wrapped {
        bind(member);
    }
    if target == Target::DependencyError {
        if let Some(NameFrom::Field(member)) = &variant.name {
            bind(member);
        }
    }
    for (member, _) in fields.retry_after.iter().chain(fields.errors.iter()) {
        bind(member);
    }
    for (member, _) in &fields.extensions {
        bind(member);
    }
    let patterns = bound.iter().map(|member| {
        let name = binding(member);
        if by_ref {
            quote!(#member: ref #name)
        } else {
            quote!(#member: #name)
        }
    });
    let value = |member: &Member| {
        let name = binding(member);
        if by_ref {
            quote!(::core::clone::Clone::clone(#name))
        } else {
            quote!(#name)
        }
    };

    let name = match (&variant.name, target) {
        (Some(NameFrom::Literal(literal)), Target::DependencyError) => {
            quote!(let __failure_name = #literal;)
        }
        (Some(NameFrom::Field(member)), Target::DependencyError) => {
            let value = value(member);
            quote!(let __failure_name = #value;)
        }
        _ => TokenStream::new(),
    };
    let start = match &variant.wrapped {
        Some((member, _)) => {
            let name = binding(member);
            let spec = &variant.spec;
            let code = spec.code.iter();
            let problem_type = spec.problem_type.iter();
            let title = spec.title.iter();
            quote! {
                #krate::Failure::from_error(#name)
                    #(.with_code(#code))*
                    #(.with_type(#problem_type))*
                    #(.with_title(#title))*
            }
        }
        None => base(krate, variant),
    };
    let detail = match &variant.detail {
        Detail::None => TokenStream::new(),
        Detail::Literal(text) => quote!(let __failure = __failure.with_detail(#text);),
        Detail::Display if detail_is_option => quote! {
            let __failure = match __failure_detail {
                ::core::option::Option::Some(detail) => __failure.with_detail(detail),
                ::core::option::Option::None => __failure,
            };
        },
        Detail::Display => quote!(let __failure = __failure.with_detail(__failure_detail);),
    };
    let retry_after = fields.retry_after.iter().map(|(member, _)| {
        let value = value(member);
        quote!(let __failure = __failure.with_retry_after(#value);)
    });
    let errors = fields.errors.iter().map(|(member, _)| {
        let name = binding(member);
        quote! {
            let mut __failure = __failure;
            for (pointer, detail) in #name {
                __failure = __failure.with_error(pointer, detail);
            }
        }
    });
    let extensions = fields.extensions.iter().map(|(member, member_name)| {
        let name = binding(member);
        // Moved in, unless bound by reference or read again as the name.
        let named = target == Target::DependencyError
            && matches!(&variant.name, Some(NameFrom::Field(field)) if field == member);
        let value = if by_ref || named {
            quote!(&#name)
        } else {
            quote!(#name)
        };
        quote! {
            let __failure = {
                #[allow(unused_imports)]
                use #krate::__private::{IntoMember as _, SerializeMember as _};
                let value = #krate::__private::Extension(#value).into_member();
                #krate::__private::extension(__failure, #member_name, value)
            };
        }
    });
    let source = if by_ref {
        quote!(let __failure = __failure.with_source(error);)
    } else {
        TokenStream::new()
    };
    let end = match target {
        Target::Failure => quote!(__failure),
        Target::DependencyError => quote!(#krate::DependencyError::new(__failure_name, __failure)),
    };
    quote! {
        #path { #(#patterns,)* .. } => {
            let __failure = #start;
            #detail
            #(#retry_after)*
            #(#errors)*
            #(#extensions)*
            #name
            #source
            #end
        }
    }
}

/// The OpenAPI entry of a variant, or the call that adds a wrapped type's.
fn entry(krate: &TokenStream, variant: &Variant) -> TokenStream {
    if variant.kind == Kind::Transparent {
        let Some((_, ty)) = &variant.wrapped else {
            return TokenStream::new();
        };
        return quote!(<#ty as #krate::__private::Derived>::entries(__failure_entries););
    }
    let label = &variant.label;
    let doc = match &variant.doc {
        Some(doc) => quote!(::core::option::Option::Some(#doc)),
        None => quote!(::core::option::Option::None),
    };
    let dependency = match &variant.name {
        Some(NameFrom::Literal(literal)) => quote!(::core::option::Option::Some(#literal)),
        _ => quote!(::core::option::Option::None),
    };
    // `from_error`'s kind is known only when its error is: the failure
    // stands for its code and type, its statuses are the classifier's.
    let failure = base(krate, variant);
    let classified = variant.kind == Kind::FromError;
    quote! {
        __failure_entries.push(#krate::__private::Entry {
            variant: #label,
            doc: #doc,
            dependency: #dependency,
            failure: #failure,
            classified: #classified,
        });
    }
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let container = attr::container(&input.attrs)?;
    let krate = match &container.krate {
        Some(path) => quote!(#path),
        None => quote!(::tower_failed_dependency),
    };
    let ty = &input.ident;
    let variants = match &input.data {
        Data::Struct(data) => vec![variant(
            quote!(#ty),
            ty.to_string(),
            ty.span(),
            &input.attrs,
            container.spec,
            &data.fields,
            None,
        )?],
        Data::Enum(data) => {
            let spec = &container.spec;
            let misplaced = [
                spec.kind.as_ref().map(|(_, span)| ("the kind", *span)),
                spec.code.as_ref().map(|lit| ("`code`", lit.span())),
                spec.problem_type.as_ref().map(|lit| ("`type`", lit.span())),
                spec.title.as_ref().map(|lit| ("`title`", lit.span())),
                spec.detail.as_ref().map(|lit| ("`detail`", lit.span())),
                spec.expose.map(|span| ("`expose`", span)),
                spec.retry_after
                    .as_ref()
                    .map(|lit| ("`retry_after`", lit.span())),
                spec.www_authenticate
                    .as_ref()
                    .map(|lit| ("`www_authenticate`", lit.span())),
                spec.allow.as_ref().map(|lit| ("`allow`", lit.span())),
            ];
            if let Some((what, span)) = misplaced.into_iter().flatten().next() {
                return Err(error(
                    span,
                    format!(
                        "on an enum, {what} goes on each variant: the enum itself takes only \
                         `dependency = \"..\"` (the default name) and `crate = \"..\"`"
                    ),
                ));
            }
            if data.variants.is_empty() {
                return Err(error(
                    ty.span(),
                    "an enum without variants has no failure to map",
                ));
            }
            let mut out = Vec::new();
            let mut codes: HashMap<String, String> = HashMap::new();
            for v in &data.variants {
                let ident = &v.ident;
                let spec = attr::spec(&v.attrs)?;
                if let Some(code) = &spec.code {
                    if let Some(earlier) = codes.get(&code.value()) {
                        return Err(error(
                            code.span(),
                            format!(
                                "duplicate `code`: {:?} is already the code of `{earlier}`; give \
                                 each variant a code of its own, so that a client can tell \
                                 them apart",
                                code.value()
                            ),
                        ));
                    }
                    codes.insert(code.value(), ident.to_string());
                }
                out.push(variant(
                    quote!(#ty::#ident),
                    ident.to_string(),
                    ident.span(),
                    &v.attrs,
                    spec,
                    &v.fields,
                    container.spec.dependency.as_ref(),
                )?);
            }
            out
        }
        Data::Union(_) => {
            return Err(error(
                ty.span(),
                "`Failure` is derived for enums and structs, not unions",
            ))
        }
    };

    let generic = !input.generics.params.is_empty();
    let mut generics = input.generics.clone();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let needs_display = variants.iter().any(|v| matches!(v.detail, Detail::Display));
    let needs_source = variants.iter().any(Variant::by_ref);
    if generic {
        let clause = generics.make_where_clause();
        if needs_display {
            clause
                .predicates
                .push(syn::parse_quote!(#ty #ty_generics: ::core::fmt::Display));
        }
        if needs_source {
            clause.predicates.push(syn::parse_quote!(
                #ty #ty_generics: ::std::error::Error + ::core::marker::Send + ::core::marker::Sync + 'static
            ));
        }
        for v in &variants {
            if v.kind == Kind::Transparent {
                if let Some((_, inner)) = &v.wrapped {
                    clause
                        .predicates
                        .push(syn::parse_quote!(#inner: #krate::__private::Derived));
                }
            }
        }
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();

    // The detail written from `Display`, read before the fields move.
    let all_display = variants.iter().all(|v| matches!(v.detail, Detail::Display));
    let detail_is_option = needs_display && !all_display;
    let prepass = if !needs_display {
        TokenStream::new()
    } else if all_display {
        quote!(let __failure_detail = #krate::__private::display(&error);)
    } else {
        let shown = variants
            .iter()
            .filter(|v| matches!(v.detail, Detail::Display))
            .map(|v| &v.path);
        quote! {
            let __failure_detail = match &error {
                #(#shown { .. })|* => ::core::option::Option::Some(#krate::__private::display(&error)),
                _ => ::core::option::Option::None,
            };
        }
    };
    let failure_arms = variants
        .iter()
        .map(|v| arm(&krate, v, Target::Failure, detail_is_option));
    let error_arms = variants
        .iter()
        .map(|v| arm(&krate, v, Target::DependencyError, detail_is_option));
    let entries = variants.iter().map(|v| entry(&krate, v));
    let span = ty.span();
    let whole = quote!(#ty #ty_generics);
    let macro_generics = quote!(#impl_generics);
    let macro_where = quote!(#where_clause);
    let axum = quote_spanned!(span=> #krate::__derive_into_response! { {#macro_generics} {#whole} {#macro_where} });
    let utoipa = quote_spanned!(span=> #krate::__derive_into_responses! { {#macro_generics} {#whole} {#macro_where} });

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::core::convert::From<#whole> for #krate::Failure #where_clause {
            fn from(error: #whole) -> Self {
                #prepass
                match error {
                    #(#failure_arms)*
                }
            }
        }

        #[automatically_derived]
        impl #impl_generics ::core::convert::From<#whole> for #krate::DependencyError #where_clause {
            fn from(error: #whole) -> Self {
                #prepass
                match error {
                    #(#error_arms)*
                }
            }
        }

        #[automatically_derived]
        impl #impl_generics #krate::__private::Derived for #whole #where_clause {
            fn entries(__failure_entries: &mut ::std::vec::Vec<#krate::__private::Entry>) {
                #(#entries)*
            }
        }

        #axum
        #utoipa
    })
}
