//! The accessors every middleware's service has.

/// `get_ref`, `get_mut` and `into_inner` of a service whose inner service
/// of type `S` is its field `inner`: expanded inside its `impl<S>` block.
macro_rules! inner_service_accessors {
    () => {
        /// The inner service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The inner service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Consumes the layer's service, returning the inner one.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}
