//! [`KeyScope`]: whose keys a request's key is among.

use http::header::{AUTHORIZATION, COOKIE};
use http::request::Parts;

/// Whose keys a request's key is among: the bytes returned name the caller,
/// and a key is looked up only among the keys of callers with the same
/// bytes, so that one client can never replay another's answer (nor learn
/// that another used a key). The bytes are hashed (SHA-256) before they
/// reach the store; they are never stored in clear.
///
/// Implemented for closures, `Fn(&http::request::Parts) -> Vec<u8>`:
///
/// ```
/// use http::request::Parts;
/// use tower_failed_dependency::idempotency::IdempotencyLayer;
///
/// // Scoped by an API key header instead of credentials.
/// let layer = IdempotencyLayer::new().scope(|request: &Parts| {
///     request
///         .headers
///         .get("x-api-key")
///         .map(|key| key.as_bytes().to_vec())
///         .unwrap_or_default()
/// });
/// # let _ = layer;
/// ```
pub trait KeyScope: Send + Sync + 'static {
    /// The bytes that name the caller of `request`.
    fn scope(&self, request: &Parts) -> Vec<u8>;
}

impl<F> KeyScope for F
where
    F: Fn(&Parts) -> Vec<u8> + Send + Sync + 'static,
{
    fn scope(&self, request: &Parts) -> Vec<u8> {
        self(request)
    }
}

/// The default scope: the request's credentials, its `Authorization` header
/// whole, or else its `Cookie` header whole; requests with neither share one
/// anonymous scope (where a key is then as secret as it is unguessable).
///
/// A client whose cookies change between a request and its retry (a
/// refreshed session) is another caller: scope by a session or account id
/// instead, with a closure.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct Credentials;

impl KeyScope for Credentials {
    fn scope(&self, request: &Parts) -> Vec<u8> {
        let headers = &request.headers;
        let (tag, value): (&[u8], _) = match headers.get(AUTHORIZATION) {
            Some(value) => (b"authorization\n", Some(value)),
            None => (b"cookie\n", headers.get(COOKIE)),
        };
        match value {
            Some(value) => [tag, value.as_bytes()].concat(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::builder();
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn credentials_name_the_caller() {
        let alice = Credentials.scope(&parts(&[("authorization", "Bearer a")]));
        let bob = Credentials.scope(&parts(&[("authorization", "Bearer b")]));
        let cookie = Credentials.scope(&parts(&[("cookie", "Bearer a")]));
        assert_ne!(alice, bob);
        assert_ne!(alice, cookie, "a cookie is not the same credential");
        assert!(Credentials.scope(&parts(&[])).is_empty());
    }
}
