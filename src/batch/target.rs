//! Where a part goes. OData and Graph write a part's `url` four ways: a
//! path, a path relative to the batch's own URL (`users?$select=id`), an
//! absolute URL, and `$<id>` for the resource an earlier part created (its
//! `Location`). Each is read here into a path on this service; nothing ever
//! leaves it. A `$<id>` past the first segment is found by
//! [`reference`](super::reference): a value in the query, resolved when
//! the part runs, or a form not resolved, which refuses the part.

use std::borrow::Cow;

use bytes::Bytes;
use http::request::Parts as Head;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Uri};

use super::encoding::slice_of;
use super::reference::{decoded, scan, Refer, Scanned, ValueRef};

/// Where a part goes.
#[derive(Debug)]
pub(crate) enum Target {
    /// A path (and query) on this service.
    Path(PathAndQuery),
    /// `$<id>`: below what the part at this index created (its `Location`),
    /// followed by `rest` (`/orders`, `?$select=id` or nothing).
    Created { part: usize, rest: String },
    /// A url whose query holds values of earlier answers: `url` with each
    /// of `values` replaced by the value it names, below what part `below`
    /// created when given (`url` is then the rest after `$<id>`), else a
    /// path and query of its own.
    Valued {
        below: Option<usize>,
        url: Box<str>,
        values: Box<[ValueRef]>,
    },
    /// A url holding a reference in a place where none is resolved: why.
    /// The part answers 400 without running.
    Refused(String),
}

/// What a part's url is read against: the batch request's own URL and the
/// origin it was sent to.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    batch_path: String,
    scheme: Option<Scheme>,
    authority: Option<Authority>,
}

impl Root {
    /// The root of a batch sent as `head` to the batch endpoint at
    /// `batch_path`. The origin is the request's own: the scheme and
    /// authority of its URI when it has them, else its `Host`.
    pub(crate) fn of(head: &Head, batch_path: &str) -> Self {
        let host = || {
            head.headers
                .get(http::header::HOST)
                .and_then(|host| Authority::try_from(host.as_bytes()).ok())
        };
        Self {
            batch_path: batch_path.to_owned(),
            scheme: head.uri.scheme().cloned(),
            authority: head.uri.authority().cloned().or_else(host),
        }
    }

    /// Reads a part's `url`, its parts named by a function (with ids of at
    /// most 128 bytes, the default `max_id_len`), as the tests name them.
    #[cfg(test)]
    pub(crate) fn read(
        &self,
        url: &str,
        reference: impl Fn(&str) -> Result<Option<usize>, String>,
    ) -> Result<Target, String> {
        self.read_in(url, reference, &Bytes::new())
    }

    /// Reads a part's `url`. `reference` says what `$<name>` is: `Ok(Some)`
    /// an earlier part it depends on, `Ok(None)` no part (so a path segment
    /// of its own, such as OData's `$metadata`), or why it cannot be used.
    /// A path written as it is, a slice of the batch body `within`, is kept
    /// as a slice of it rather than copied.
    pub(crate) fn read_in(
        &self,
        url: &str,
        reference: impl Refer,
        within: &Bytes,
    ) -> Result<Target, String> {
        // The usual url: a path of letters, digits and `-_~/`, which holds
        // no reference, escape, query or dot segment and needs no encoding.
        // What the rest of this function would find of it, it is told at
        // once; only the checks of a path without dot segments are left.
        if is_plain_path(url) {
            return self.plain_path_in(url, within).map(Target::Path);
        }
        if url.contains('\\') {
            return Err("The url must not contain a backslash.".to_owned());
        }
        // A reference names a part by its id as written, before encoding.
        let unrooted = url
            .strip_prefix('/')
            .filter(|rest| !rest.starts_with('/'))
            .unwrap_or(url);
        if let Some(after) = unrooted
            .strip_prefix('$')
            .or_else(|| unrooted.strip_prefix("%24"))
        {
            let end = after.find(['/', '?']).unwrap_or(after.len());
            let name = percent_decoded(&after[..end]);
            if let Some(part) = name.map_or(Ok(None), |name| reference.refer(&name))? {
                let rest = percent_encoded(&after[end..]);
                check_segments(&rest)?;
                return Ok(match scan(&rest, &reference)? {
                    Scanned::Plain => Target::Created {
                        part,
                        rest: rest.into_owned(),
                    },
                    Scanned::Values(values) => Target::Valued {
                        below: Some(part),
                        url: rest.into(),
                        values: values.into(),
                    },
                    Scanned::Refused(why) => Target::Refused(why),
                });
            }
        }
        let url = &*percent_encoded(url);
        if url.starts_with("//") {
            return Err("The url must be on this service: '//' names another host.".to_owned());
        }
        let path = if url.starts_with('/') {
            Cow::Borrowed(url)
        } else if has_scheme(url) {
            let uri: Uri = url
                .parse()
                .map_err(|_| "The url is not a valid URL.".to_owned())?;
            if !self.is_own(&uri) {
                return Err(format!(
                    "The url names another origin than this service's ({}); only requests to this service are run.",
                    self.origin()
                ));
            }
            Cow::Owned(
                uri.path_and_query()
                    .map_or_else(|| "/".to_owned(), |path| path.as_str().to_owned()),
            )
        } else {
            Cow::Owned(format!("{}{url}", self.directory()))
        };
        let path = path_of(self.path_in(&path, within)?);
        Ok(match scan(path.as_str(), &reference)? {
            Scanned::Plain => Target::Path(path),
            Scanned::Values(values) => Target::Valued {
                below: None,
                url: path.as_str().into(),
                values: values.into(),
            },
            Scanned::Refused(why) => Target::Refused(why),
        })
    }

    /// The path of `$<id>` once part `<id>` answered with `location`,
    /// followed by `rest`.
    pub(crate) fn created(&self, location: &HeaderValue, rest: &str) -> Result<Uri, String> {
        let text = location
            .to_str()
            .map_err(|_| "its Location is not a URL".to_owned())?;
        let uri: Uri = text
            .parse()
            .map_err(|_| "its Location is not a URL".to_owned())?;
        if uri.scheme().is_some() && !self.is_own(&uri) {
            return Err("its Location is on another origin".to_owned());
        }
        if uri.scheme().is_none() && !text.starts_with('/') {
            return Err("its Location is not a path on this service".to_owned());
        }
        let path = if rest.is_empty() {
            uri.path_and_query()
                .map_or_else(|| "/".to_owned(), |path| path.as_str().to_owned())
        } else if rest.starts_with('/') {
            format!("{}{rest}", uri.path().trim_end_matches('/'))
        } else {
            format!("{}{rest}", uri.path())
        };
        self.path(&path)
    }

    /// A path and query, checked: a valid URI path, no `.` or `..` segment,
    /// not the batch endpoint itself.
    pub(crate) fn path(&self, path: &str) -> Result<Uri, String> {
        self.path_in(path, &Bytes::new())
    }

    /// [`path`](Self::path), sharing the bytes of `within` when `path` is
    /// a slice of it (parsed alike: a `str` is parsed from a copy).
    fn path_in(&self, path: &str, within: &Bytes) -> Result<Uri, String> {
        check_segments(path)?;
        self.undotted_path_in(path, within)
    }

    /// [`path_in`](Self::path_in) for a path known to hold no `.` or `..`
    /// segment.
    fn undotted_path_in(&self, path: &str, within: &Bytes) -> Result<Uri, String> {
        let parsed = match slice_of(within, path) {
            Some(shared) => Uri::from_maybe_shared(shared),
            None => path.parse(),
        };
        let uri: Uri = parsed.map_err(|_| "The url is not a valid path and query.".to_owned())?;
        if uri.scheme().is_some() || uri.authority().is_some() || !path.starts_with('/') {
            return Err("The url must be a path on this service.".to_owned());
        }
        self.not_the_batch(uri.path())?;
        Ok(uri)
    }

    /// [`undotted_path_in`](Self::undotted_path_in) for a path that
    /// [`is_plain_path`]: a path and query, with no scheme or authority to
    /// look for.
    fn plain_path_in(&self, path: &str, within: &Bytes) -> Result<PathAndQuery, String> {
        let parsed = match slice_of(within, path) {
            Some(shared) => PathAndQuery::from_maybe_shared(shared),
            None => PathAndQuery::try_from(path),
        };
        let path_and_query =
            parsed.map_err(|_| "The url is not a valid path and query.".to_owned())?;
        self.not_the_batch(path_and_query.path())?;
        Ok(path_and_query)
    }

    /// Refuses `path` when it is the batch endpoint itself.
    fn not_the_batch(&self, path: &str) -> Result<(), String> {
        if path.trim_end_matches('/') == self.batch_path.trim_end_matches('/') {
            return Err("A batch cannot contain another batch.".to_owned());
        }
        Ok(())
    }

    /// The batch path up to its last `/`: OData's service root, against
    /// which a relative url is resolved.
    fn directory(&self) -> &str {
        let end = self.batch_path.rfind('/').map_or(0, |slash| slash + 1);
        match &self.batch_path[..end] {
            "" => "/",
            directory => directory,
        }
    }

    /// Whether an absolute URL is on the origin the batch was sent to. When
    /// the service does not know its own scheme (a request in origin form,
    /// as servers receive them), `http` and `https` are both its own.
    fn is_own(&self, uri: &Uri) -> bool {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return false;
        };
        let scheme_is_own = match &self.scheme {
            Some(own) => own == scheme,
            None => *scheme == Scheme::HTTP || *scheme == Scheme::HTTPS,
        };
        let default_port = |scheme: &Scheme| if *scheme == Scheme::HTTPS { 443 } else { 80 };
        let authority_is_own = self.authority.as_ref().is_some_and(|own| {
            !authority.as_str().contains('@')
                && own.host().eq_ignore_ascii_case(authority.host())
                && own
                    .port_u16()
                    .unwrap_or_else(|| default_port(self.scheme.as_ref().unwrap_or(scheme)))
                    == authority.port_u16().unwrap_or_else(|| default_port(scheme))
        });
        scheme_is_own && authority_is_own
    }

    /// The origin as the refusal names it.
    fn origin(&self) -> String {
        match (&self.scheme, &self.authority) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            (None, Some(authority)) => format!("http(s)://{authority}"),
            _ => "unknown: the batch request has no Host".to_owned(),
        }
    }
}

/// Whether `url` is a path of letters, digits and `-_~/` on this service
/// (not `//`, which names a host).
fn is_plain_path(url: &str) -> bool {
    url.starts_with('/')
        && !url.starts_with("//")
        && url
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~' | b'/'))
}

/// The path and query of a URI that [`Root::path_in`] made, which has
/// nothing before them.
fn path_of(uri: Uri) -> PathAndQuery {
    uri.into_parts()
        .path_and_query
        .unwrap_or_else(|| PathAndQuery::from_static("/"))
}

/// `url` with what a URI cannot hold as it is percent-encoded (spaces,
/// quotes, braces, controls, non-ASCII as its UTF-8 bytes), as a browser
/// sends it: Graph's own examples write `$filter=city eq null`.
fn percent_encoded(url: &str) -> Cow<'_, str> {
    let unsafe_byte = |byte: u8| byte <= b' ' || byte >= 0x7f || b"\"<>`{}|^".contains(&byte);
    if !url.bytes().any(unsafe_byte) {
        return Cow::Borrowed(url);
    }
    let mut encoded = String::with_capacity(url.len() + 16);
    for byte in url.bytes() {
        if unsafe_byte(byte) {
            encoded.push_str(&format!("%{byte:02X}"));
        } else {
            encoded.push(char::from(byte));
        }
    }
    Cow::Owned(encoded)
}

/// `text` with `%XX` decoded, if it is UTF-8 then.
fn percent_decoded(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains('%') {
        return Some(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some((byte, len)) = decoded(bytes, at) {
        out.push(byte);
        at += len;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Refuses `.` and `..` segments, written plainly or percent-encoded.
fn check_segments(path: &str) -> Result<(), String> {
    let end = path
        .bytes()
        .position(|byte| byte == b'?' || byte == b'#')
        .unwrap_or(path.len());
    let path = &path[..end];
    // A dot segment holds a dot, as it is or percent-encoded: most paths
    // have neither, and are not split.
    if !path.bytes().any(|byte| byte == b'.' || byte == b'%') {
        return Ok(());
    }
    if path.split('/').any(is_dot_segment) {
        return Err("The url must not contain '.' or '..' segments.".to_owned());
    }
    Ok(())
}

/// Whether `segment` is `.` or `..`, each dot perhaps percent-encoded
/// (`%2e`, `%2E`): read in place, without decoding a copy.
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() && dots < 3 {
        rest = match rest {
            [b'.', after @ ..] => after,
            [b'%', b'2', b'e' | b'E', after @ ..] => after,
            _ => return false,
        };
        dots += 1;
    }
    rest.is_empty() && (dots == 1 || dots == 2)
}

/// Whether `url` starts with a scheme (RFC 3986 §3.1) and so is absolute.
fn has_scheme(url: &str) -> bool {
    let Some(colon) = url.find(':') else {
        return false;
    };
    let scheme = &url[..colon];
    !url[..colon].contains(['/', '?', '#'])
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_told_in_every_spelling() {
        for dot in [".", "..", "%2e", "%2E", "%2e%2E", ".%2e", "%2e."] {
            assert!(is_dot_segment(dot), "{dot}");
        }
        for other in [
            "",
            "...",
            "a",
            ".a",
            "%2",
            "%2f",
            "%2e%2e%2e",
            "%%2e",
            "x..",
        ] {
            assert!(!is_dot_segment(other), "{other}");
        }
    }

    fn root(batch_path: &str, uri: &str, host: Option<&'static str>) -> Root {
        let mut request = http::Request::post(uri);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        let (head, ()) = request.body(()).unwrap().into_parts();
        Root::of(&head, batch_path)
    }

    fn path(root: &Root, url: &str) -> Result<String, String> {
        match root.read(url, |_| Ok(None))? {
            Target::Path(uri) => Ok(uri.to_string()),
            Target::Created { .. } => unreachable!("no part is referenced"),
            Target::Valued { .. } | Target::Refused(_) => unreachable!("no part is referenced"),
        }
    }

    #[test]
    fn relative_urls_resolve_against_the_batch_url() {
        let top = root("/$batch", "/$batch", Some("api.example"));
        assert_eq!(path(&top, "users?$select=id").unwrap(), "/users?$select=id");
        assert_eq!(path(&top, "/users/1").unwrap(), "/users/1");
        assert_eq!(path(&top, "$metadata").unwrap(), "/$metadata");
        assert_eq!(
            path(&top, "users?$filter=city eq null&$count=true").unwrap(),
            "/users?$filter=city%20eq%20null&$count=true"
        );
        assert_eq!(
            path(&top, "/me/drive/root:/{file}:/caf\u{e9}").unwrap(),
            "/me/drive/root:/%7Bfile%7D:/caf%C3%A9"
        );
        let versioned = root("/v1.0/$batch", "/v1.0/$batch", Some("api.example"));
        assert_eq!(path(&versioned, "me/drive").unwrap(), "/v1.0/me/drive");
        assert!(path(&versioned, "$batch").is_err(), "itself");
    }

    #[test]
    fn absolute_urls_are_run_only_on_the_batchs_own_origin() {
        let root = root("/$batch", "/$batch", Some("127.0.0.1:8080"));
        assert_eq!(
            path(&root, "http://127.0.0.1:8080/health").unwrap(),
            "/health"
        );
        assert_eq!(path(&root, "HTTP://127.0.0.1:8080").unwrap(), "/");
        for foreign in [
            "http://127.0.0.1:8081/health",
            "http://evil.example/health",
            "http://127.0.0.1/health",
            "http://user@127.0.0.1:8080/health",
            "ftp://127.0.0.1:8080/health",
            "//127.0.0.1:8080/health",
        ] {
            assert!(path(&root, foreign).is_err(), "{foreign}");
        }
        let tls = self::root("/$batch", "https://api.example/$batch", None);
        assert_eq!(path(&tls, "https://API.example:443/a").unwrap(), "/a");
        assert!(path(&tls, "http://api.example/a").is_err());
        let nameless = self::root("/$batch", "/$batch", None);
        assert!(path(&nameless, "http://api.example/a").is_err());
    }

    #[test]
    fn plain_paths_are_read_as_any_path_is() {
        let graph = root("/v1.0/$batch", "/v1.0/$batch", Some("h:1"));
        for plain in ["/", "/me", "/users/42/manager", "/a-b_c~d/", "/v1"] {
            assert!(is_plain_path(plain), "{plain}");
            assert_eq!(path(&graph, plain).as_deref(), Ok(plain));
            // The short way and the long way read the same path.
            let short = graph.plain_path_in(plain, &Bytes::new());
            let long = graph.path(plain).map(path_of);
            assert_eq!(short, long, "{plain}");
        }
        // What the usual path is not: each takes the long way.
        for other in ["//h/me", "/a.b", "/%61", "/$1", "/a?b", "me", "/a b", "/é"] {
            assert!(!is_plain_path(other), "{other}");
        }
        assert!(path(&graph, "//h/me").is_err());
        // The checks of every path still hold for a plain one.
        let plain_batch = root("/batch", "/batch", Some("h:1"));
        assert_eq!(
            path(&plain_batch, "/batch/"),
            Err("A batch cannot contain another batch.".to_owned())
        );
        assert_eq!(
            plain_batch
                .plain_path_in("/batch", &Bytes::new())
                .map(|_| ()),
            plain_batch.path("/batch").map(|_| ())
        );
    }

    #[test]
    fn dot_segments_and_backslashes_are_refused() {
        let root = root("/$batch", "/$batch", Some("h"));
        for url in ["/a/../b", "a/%2E%2e/b", "./a", "/a\\b", "/a/.?x"] {
            assert!(path(&root, url).is_err(), "{url}");
        }
    }

    #[test]
    fn references_name_an_earlier_part_and_resolve_below_its_location() {
        let root = root("/$batch", "/$batch", Some("h:1"));
        let earlier = |name: &str| match name {
            "1" => Ok(Some(0)),
            "2" => Err("not in dependsOn".to_owned()),
            _ => Ok(None),
        };
        for (url, rest) in [
            ("$1/orders", "/orders"),
            ("/$1?$select=id", "?$select=id"),
            ("$1", ""),
        ] {
            match root.read(url, earlier).unwrap() {
                Target::Created { part, rest: got } => assert_eq!((part, got.as_str()), (0, rest)),
                Target::Path(uri) => panic!("{url} read as {uri}"),
                other => panic!("{url} read as {other:?}"),
            }
        }
        assert!(root.read("$2/orders", earlier).is_err());
        let accented = |name: &str| Ok((name == "caf\u{e9}").then_some(3));
        match root.read("$caf\u{e9}/a b", accented).unwrap() {
            Target::Created { part, rest } => assert_eq!((part, rest.as_str()), (3, "/a%20b")),
            Target::Path(uri) => panic!("read as {uri}"),
            other => panic!("read as {other:?}"),
        }
        assert!(root.read("$1/../admin", earlier).is_err());

        let created = |location: &'static str, rest: &str| {
            root.created(&HeaderValue::from_static(location), rest)
                .map(|uri| uri.to_string())
        };
        assert_eq!(created("/users/7", "/orders").unwrap(), "/users/7/orders");
        assert_eq!(created("/users/7/", "/orders").unwrap(), "/users/7/orders");
        assert_eq!(
            created("http://h:1/users/7", "?$select=id").unwrap(),
            "/users/7?$select=id"
        );
        assert_eq!(created("/users/7?x=1", "").unwrap(), "/users/7?x=1");
        assert!(created("http://other/users/7", "").is_err());
        assert!(created("users/7", "").is_err());
    }
}
