//! Reading `#[failure(..)]` attributes, and refusing the ones that misuse a
//! status before any code runs.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Field, LitInt, LitStr, Member, Path, Token};

/// The kinds a variant may be, in the policy's vocabulary.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A prerequisite attempted and refused with its own client error.
    Rejected(u16),
    Unavailable,
    Timeout,
    BadGateway,
    /// 400 or 422.
    Invalid(u16),
    Precondition,
    Internal,
    /// The wrapped error's own mapping.
    Transparent,
    /// The wrapped error classified by `Failure::from_error`.
    FromError,
}

impl Kind {
    /// Whether the client is told the variant's `Display` by default.
    pub(crate) fn is_client_error(self) -> bool {
        matches!(
            self,
            Kind::Rejected(_) | Kind::Invalid(_) | Kind::Precondition
        )
    }

    /// Whether the kind is one of the crate's server faults (5xx).
    pub(crate) fn is_server_fault(self) -> bool {
        matches!(
            self,
            Kind::Unavailable | Kind::Timeout | Kind::BadGateway | Kind::Internal
        )
    }

    fn keyword(self) -> &'static str {
        match self {
            Kind::Rejected(_) => "rejected",
            Kind::Unavailable => "unavailable",
            Kind::Timeout => "timeout",
            Kind::BadGateway => "bad_gateway",
            Kind::Invalid(_) => "invalid",
            Kind::Precondition => "precondition",
            Kind::Internal => "internal",
            Kind::Transparent => "transparent",
            Kind::FromError => "from_error",
        }
    }

    /// The status the default policy answers the kind with, in words.
    fn answers(self) -> &'static str {
        match self {
            Kind::Unavailable => "503 Service Unavailable, with Retry-After",
            Kind::Timeout => "504 Gateway Timeout",
            Kind::BadGateway => "502 Bad Gateway",
            Kind::Internal => "500 Internal Server Error",
            Kind::Precondition => "428 Precondition Required",
            Kind::Invalid(_) => "400 Bad Request, or 422 with `invalid(422)`",
            Kind::Rejected(_) => "424 Failed Dependency",
            Kind::Transparent => "what the wrapped error answers",
            Kind::FromError => "what the wrapped error means",
        }
    }
}

const KINDS: &str = "rejected(STATUS), unavailable, timeout, bad_gateway, invalid, \
                     invalid(422), precondition, internal, transparent, from_error";

const KEYS: &str = "the kind (rejected(STATUS), unavailable, timeout, bad_gateway, invalid, \
                    precondition, internal, transparent, from_error), dependency = \"..\", \
                    code = \"..\", type = \"..\", title = \"..\", detail = \"..\", expose, \
                    retry_after = SECONDS, www_authenticate = \"..\", allow = \"..\"";

/// What the type itself says (`crate = ".."`, a default dependency), and for
/// a struct, its mapping.
#[derive(Default)]
pub(crate) struct Container {
    pub(crate) krate: Option<Path>,
    pub(crate) spec: Spec,
}

/// The mapping of one variant (or of a struct).
#[derive(Default)]
pub(crate) struct Spec {
    pub(crate) kind: Option<(Kind, Span)>,
    pub(crate) dependency: Option<LitStr>,
    pub(crate) code: Option<LitStr>,
    pub(crate) problem_type: Option<LitStr>,
    pub(crate) title: Option<LitStr>,
    pub(crate) detail: Option<LitStr>,
    pub(crate) expose: Option<Span>,
    pub(crate) retry_after: Option<LitInt>,
    pub(crate) www_authenticate: Option<LitStr>,
    pub(crate) allow: Option<LitStr>,
}

/// What one field is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Dependency,
    RetryAfter,
    Errors,
    Source,
}

/// The fields of a variant that the mapping reads.
#[derive(Default)]
pub(crate) struct Fields {
    pub(crate) dependency: Option<(Member, Span)>,
    pub(crate) retry_after: Option<(Member, Span)>,
    pub(crate) errors: Option<(Member, Span)>,
    /// The field `from_error` classifies, when marked.
    pub(crate) source: Option<(Member, Span)>,
    /// Each extension member: the field, the member's name.
    pub(crate) extensions: Vec<(Member, LitStr)>,
}

fn duplicate(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Error {
    meta.error(format!("duplicate `{key}`: give it once"))
}

fn set<T>(
    slot: &mut Option<T>,
    value: T,
    meta: &ParseNestedMeta<'_>,
    key: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(meta, key));
    }
    *slot = Some(value);
    Ok(())
}

/// An optional `(STATUS)` after a kind.
fn status(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<(u16, Span)>> {
    if !meta.input.peek(syn::token::Paren) {
        return Ok(None);
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let lit: LitInt = content.parse()?;
    let code = lit.base10_parse::<u16>()?;
    Ok(Some((code, lit.span())))
}

fn kind_error(span: Span, message: String) -> syn::Error {
    syn::Error::new(span, message)
}

/// The kind a `rejected(STATUS)` names, refusing a status that is not a
/// refusal.
fn rejected(code: u16, span: Span) -> syn::Result<Kind> {
    match code {
        424 => Err(kind_error(
            span,
            "`rejected` takes the prerequisite's own refusal status (403, 404, 409, 412, ...), \
             not 424: the policy answers the client with 424 itself. Write, e.g., \
             `rejected(409)`"
                .to_owned(),
        )),
        503 => Err(kind_error(
            span,
            "a prerequisite that answered 503 is down, not refused: write `unavailable` (503, \
             with an optional `retry_after = SECONDS`) instead of `rejected(503)`"
                .to_owned(),
        )),
        504 => Err(kind_error(
            span,
            "a prerequisite that answered 504 timed out, it did not refuse: write `timeout` \
             (504) instead of `rejected(504)`"
                .to_owned(),
        )),
        500..=599 => Err(kind_error(
            span,
            format!(
                "a prerequisite that answered {code} failed on its side, it did not refuse: \
                 write `bad_gateway` (502) instead of `rejected({code})`; `rejected` takes a \
                 client error (400-499)"
            ),
        )),
        400..=499 => Ok(Kind::Rejected(code)),
        _ => Err(kind_error(
            span,
            format!(
                "`rejected` takes the client error (400-499) the prerequisite refused with, \
                 not {code}"
            ),
        )),
    }
}

/// A status given to a kind that takes none (or not that one).
fn misplaced_status(kind: Kind, code: u16, span: Span) -> syn::Error {
    let keyword = kind.keyword();
    if code == 424 {
        return kind_error(
            span,
            format!(
                "`{keyword}` cannot answer 424: 424 Failed Dependency is kept for a \
                 prerequisite that was attempted and refused. Write `{keyword}` alone (it \
                 answers {}), or, if the prerequisite refused, `rejected(409)` (its own 4xx \
                 status) with `dependency = \"..\"`",
                kind.answers()
            ),
        );
    }
    match kind {
        Kind::Invalid(_) => kind_error(
            span,
            format!("`invalid` answers 400 or 422, not {code}: write `invalid` or `invalid(422)`"),
        ),
        _ => kind_error(
            span,
            format!(
                "`{keyword}` takes no status: the policy answers it with {}. Write \
                 `{keyword}` alone",
                kind.answers()
            ),
        ),
    }
}

fn lit_str(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    meta.value()?.parse()
}

/// Reads one key of a variant's (or struct's) mapping.
fn spec_key(spec: &mut Spec, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let path = &meta.path;
    let Some(ident) = path.get_ident() else {
        return Err(meta.error(format!("unknown failure attribute; expected {KEYS}")));
    };
    let key = ident.to_string();
    let span = ident.span();
    let kind = match key.as_str() {
        "rejected" => match status(meta)? {
            Some((code, span)) => Some(rejected(code, span)?),
            None => {
                return Err(meta.error(
                    "`rejected` needs the prerequisite's own refusal status: write, e.g., \
                     `rejected(409)`",
                ))
            }
        },
        "invalid" => match status(meta)? {
            None | Some((400, _)) => Some(Kind::Invalid(400)),
            Some((422, _)) => Some(Kind::Invalid(422)),
            Some((code, span)) => return Err(misplaced_status(Kind::Invalid(400), code, span)),
        },
        "unavailable" | "timeout" | "bad_gateway" | "precondition" | "internal" | "transparent"
        | "from_error" => {
            let kind = match key.as_str() {
                "unavailable" => Kind::Unavailable,
                "timeout" => Kind::Timeout,
                "bad_gateway" => Kind::BadGateway,
                "precondition" => Kind::Precondition,
                "internal" => Kind::Internal,
                "transparent" => Kind::Transparent,
                _ => Kind::FromError,
            };
            if let Some((code, span)) = status(meta)? {
                return Err(misplaced_status(kind, code, span));
            }
            Some(kind)
        }
        _ => None,
    };
    if let Some(kind) = kind {
        if let Some((earlier, _)) = spec.kind {
            return Err(meta.error(format!(
                "a second kind: this is already `{}`; give one kind of {KINDS}",
                earlier.keyword()
            )));
        }
        spec.kind = Some((kind, span));
        return Ok(());
    }
    match key.as_str() {
        "dependency" => set(&mut spec.dependency, lit_str(meta)?, meta, "dependency"),
        "code" => set(&mut spec.code, lit_str(meta)?, meta, "code"),
        "type" => set(&mut spec.problem_type, lit_str(meta)?, meta, "type"),
        "title" => set(&mut spec.title, lit_str(meta)?, meta, "title"),
        "detail" => set(&mut spec.detail, lit_str(meta)?, meta, "detail"),
        "www_authenticate" => set(
            &mut spec.www_authenticate,
            lit_str(meta)?,
            meta,
            "www_authenticate",
        ),
        "allow" => set(&mut spec.allow, lit_str(meta)?, meta, "allow"),
        "retry_after" => {
            let seconds: LitInt = meta.value()?.parse()?;
            seconds.base10_parse::<u64>()?;
            set(&mut spec.retry_after, seconds, meta, "retry_after")
        }
        "expose" => set(&mut spec.expose, span, meta, "expose"),
        _ => Err(meta.error(format!(
            "unknown failure attribute `{key}`; expected {KEYS}"
        ))),
    }
}

fn is_failure(attr: &Attribute) -> bool {
    attr.path().is_ident("failure")
}

/// The mapping given in `attrs` (a variant's).
pub(crate) fn spec(attrs: &[Attribute]) -> syn::Result<Spec> {
    let mut spec = Spec::default();
    for attr in attrs.iter().filter(|attr| is_failure(attr)) {
        attr.parse_nested_meta(|meta| spec_key(&mut spec, &meta))?;
    }
    Ok(spec)
}

/// The type's own attributes: `crate = ".."`, and the mapping keys (a
/// struct's mapping, or an enum's default `dependency`).
pub(crate) fn container(attrs: &[Attribute]) -> syn::Result<Container> {
    let mut container = Container::default();
    for attr in attrs.iter().filter(|attr| is_failure(attr)) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let path: LitStr = meta.value()?.parse()?;
                let path: Path = path.parse()?;
                return set(&mut container.krate, path, &meta, "crate");
            }
            spec_key(&mut container.spec, &meta)
        })?;
    }
    Ok(container)
}

/// The names the crate writes itself, which an extension member may not take.
const RESERVED: [&str; 17] = [
    "type",
    "title",
    "status",
    "detail",
    "instance",
    "dependency",
    "dependency_status",
    "code",
    "errors",
    "retryable",
    "request_id",
    "trace_id",
    "skipped",
    "cause",
    "root_cause",
    "part",
    "field",
];

/// Checks an extension member's name as RFC 9457 §3.2 asks, and against
/// the members the crate writes.
fn member_name(name: &LitStr) -> syn::Result<()> {
    let value = name.value();
    let mut chars = value.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && value.len() >= 3
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Err(syn::Error::new(
            name.span(),
            format!(
                "extension member name {value:?} must start with a letter, use only letters, \
                 digits and '_', and be at least 3 characters long (RFC 9457 §3.2): write \
                 `#[failure(extension = \"...\")]` with such a name"
            ),
        ));
    }
    if RESERVED.contains(&value.as_str()) {
        return Err(syn::Error::new(
            name.span(),
            format!(
                "extension member name {value:?} is a member the crate writes itself: name \
                 it otherwise with `#[failure(extension = \"...\")]`"
            ),
        ));
    }
    Ok(())
}

/// Whether thiserror's attributes mark `field` as a source.
fn thiserror_source(field: &Field) -> bool {
    field
        .attrs
        .iter()
        .any(|attr| attr.path().is_ident("source") || attr.path().is_ident("from"))
        || field.ident.as_ref().is_some_and(|ident| ident == "source")
}

/// Whether `field` is an error wrapped by the variant: marked
/// `#[failure(source)]`, or a source to thiserror.
pub(crate) fn wraps_error(field: &Field) -> syn::Result<bool> {
    Ok(thiserror_source(field) || roles(field)?.0.contains(&Role::Source))
}

/// The roles `#[failure(..)]` gives a field, and its extension name.
fn roles(field: &Field) -> syn::Result<(Vec<Role>, Option<LitStr>)> {
    let mut roles = Vec::new();
    let mut extension = None;
    for attr in field.attrs.iter().filter(|attr| is_failure(attr)) {
        attr.parse_nested_meta(|meta| {
            let role = if meta.path.is_ident("dependency") {
                Role::Dependency
            } else if meta.path.is_ident("retry_after") {
                Role::RetryAfter
            } else if meta.path.is_ident("errors") {
                Role::Errors
            } else if meta.path.is_ident("source") {
                Role::Source
            } else if meta.path.is_ident("extension") {
                let name = if meta.input.peek(Token![=]) {
                    lit_str(&meta)?
                } else {
                    match &field.ident {
                        Some(ident) => LitStr::new(&ident.to_string(), ident.span()),
                        None => {
                            return Err(meta.error(
                                "a field without a name needs one for its member: write \
                                 `#[failure(extension = \"...\")]`",
                            ))
                        }
                    }
                };
                member_name(&name)?;
                return set(&mut extension, name, &meta, "extension");
            } else {
                return Err(meta.error(
                    "unknown field attribute; expected dependency (the field holds the \
                     prerequisite's name), retry_after (a Duration), errors (pairs of JSON \
                     pointer and detail), extension or extension = \"name\" (a problem member), \
                     source (the error `from_error` classifies)",
                ));
            };
            if roles.contains(&role) {
                return Err(meta.error("duplicate field attribute: give it once"));
            }
            roles.push(role);
            Ok(())
        })?;
    }
    Ok((roles, extension))
}

/// The roles of a variant's (or struct's) fields.
pub(crate) fn fields<'a>(fields: impl IntoIterator<Item = &'a Field>) -> syn::Result<Fields> {
    let mut out = Fields::default();
    for (index, field) in fields.into_iter().enumerate() {
        let member = match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(syn::Index::from(index)),
        };
        let span = field.span();
        let (roles, extension) = roles(field)?;
        for role in roles {
            let slot = match role {
                Role::Dependency => &mut out.dependency,
                Role::RetryAfter => &mut out.retry_after,
                Role::Errors => &mut out.errors,
                Role::Source => &mut out.source,
            };
            if slot.is_some() {
                let name = match role {
                    Role::Dependency => "dependency",
                    Role::RetryAfter => "retry_after",
                    Role::Errors => "errors",
                    Role::Source => "source",
                };
                return Err(syn::Error::new(
                    span,
                    format!("a second `#[failure({name})]` field: mark one"),
                ));
            }
            *slot = Some((member.clone(), span));
        }
        if let Some(name) = extension {
            if let Some((_, earlier)) = out
                .extensions
                .iter()
                .find(|(_, earlier)| earlier.value() == name.value())
            {
                return Err(syn::Error::new(
                    name.span(),
                    format!("duplicate extension member {:?}", earlier.value()),
                ));
            }
            out.extensions.push((member, name));
        }
    }
    Ok(out)
}

/// What thiserror's `#[error(..)]` on a variant says of its `Display`.
pub(crate) enum Display {
    /// No `#[error]`: a `Display` of the user's own.
    Unknown,
    /// `#[error(transparent)]`: the wrapped error's own text.
    Transparent,
    /// A format string and the fields it shows.
    Format {
        /// The string, when it has no braces and no arguments: the text
        /// itself, known now.
        constant: Option<String>,
        /// The fields the text shows (names, or positions of a tuple's).
        shows: Vec<String>,
    },
}

/// Reads thiserror's `#[error(..)]` among `attrs`.
pub(crate) fn display(attrs: &[Attribute]) -> Display {
    let Some(attr) = attrs.iter().find(|attr| attr.path().is_ident("error")) else {
        return Display::Unknown;
    };
    let Ok(list) = attr.meta.require_list() else {
        return Display::Unknown;
    };
    let tokens = list.tokens.clone();
    let mut iter = tokens.clone().into_iter();
    let first = iter.next();
    if let Some(proc_macro2::TokenTree::Ident(ident)) = &first {
        if ident == "transparent" {
            return Display::Transparent;
        }
    }
    let Some(proc_macro2::TokenTree::Literal(literal)) = first else {
        return Display::Unknown;
    };
    let Ok(format) = syn::parse2::<LitStr>(proc_macro2::TokenTree::Literal(literal).into()) else {
        return Display::Unknown;
    };
    let text = format.value();
    let rest: Vec<proc_macro2::TokenTree> = iter.collect();
    let mut shows = Vec::new();
    // `{name}`, `{0}`, `{name:?}`; `{{` is an escaped brace.
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '{' {
            continue;
        }
        if chars.peek().is_some_and(|(_, next)| *next == '{') {
            chars.next();
            continue;
        }
        let name: String = chars
            .by_ref()
            .map(|(_, c)| c)
            .take_while(|c| *c != '}')
            .collect();
        let name = name.split(':').next().unwrap_or_default().trim().to_owned();
        if !name.is_empty() {
            shows.push(name);
        }
    }
    // Arguments after the string: `.field`, `.0`.
    let mut dotted = false;
    for token in &rest {
        match token {
            proc_macro2::TokenTree::Punct(punct) if punct.as_char() == '.' => dotted = true,
            proc_macro2::TokenTree::Ident(ident) if dotted => {
                shows.push(ident.to_string());
                dotted = false;
            }
            proc_macro2::TokenTree::Literal(literal) if dotted => {
                shows.push(literal.to_string());
                dotted = false;
            }
            _ => dotted = false,
        }
    }
    let constant = (!text.contains(['{', '}']) && rest.is_empty()).then_some(text);
    Display::Format { constant, shows }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(attr: Attribute) -> Display {
        display(&[attr])
    }

    fn shown(display: &Display) -> (Option<&str>, Vec<&str>) {
        match display {
            Display::Format { constant, shows } => (
                constant.as_deref(),
                shows.iter().map(String::as_str).collect(),
            ),
            _ => panic!("not a format"),
        }
    }

    #[test]
    fn a_format_string_tells_the_fields_it_shows() {
        let cases: [(Attribute, Option<&str>, Vec<&str>); 6] = [
            (
                syn::parse_quote!(#[error("Sold out.")]),
                Some("Sold out."),
                vec![],
            ),
            (
                syn::parse_quote!(#[error("Only {left} left of {sku:?}.")]),
                None,
                vec!["left", "sku"],
            ),
            (syn::parse_quote!(#[error("{0} failed")]), None, vec!["0"]),
            (
                syn::parse_quote!(#[error("query failed: {}", .source)]),
                None,
                vec!["source"],
            ),
            (
                syn::parse_quote!(#[error("shard {}: {}", .0, .1)]),
                None,
                vec!["0", "1"],
            ),
            // Escaped braces show nothing, and the text is not constant.
            (syn::parse_quote!(#[error("a {{literal}}")]), None, vec![]),
        ];
        for (attr, constant, shows) in cases {
            assert_eq!(shown(&read(attr)), (constant, shows));
        }
    }

    #[test]
    fn transparent_and_unknown_displays_are_told_apart() {
        assert!(matches!(
            read(syn::parse_quote!(#[error(transparent)])),
            Display::Transparent
        ));
        assert!(matches!(
            read(syn::parse_quote!(#[doc = "no error attribute"])),
            Display::Unknown
        ));
    }

    #[test]
    fn member_names_follow_rfc_9457_and_avoid_the_crates_own() {
        let name = |text: &str| LitStr::new(text, Span::call_site());
        assert!(member_name(&name("limitKg")).is_ok());
        assert!(member_name(&name("left")).is_ok());
        for bad in ["ok", "1st", "with-dash", "dependency", "type", "retryable"] {
            assert!(member_name(&name(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn statuses_on_rejected_are_refusals_only() {
        let span = Span::call_site();
        assert!(matches!(rejected(409, span), Ok(Kind::Rejected(409))));
        for code in [424, 500, 502, 503, 504, 200, 302] {
            assert!(rejected(code, span).is_err(), "{code}");
        }
        let message = rejected(503, span).err().map(|e| e.to_string());
        assert!(message.is_some_and(|m| m.contains("write `unavailable`")));
    }
}
