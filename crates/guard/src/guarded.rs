//! The one shape of every guard layer: a [`Guard`] decides, [`Guarded`]
//! adapts it to tower (after tower-http's `AsyncRequireAuthorization`, plus a
//! hook on the way out).
//!
//! A guard's [`Guard::admit`] takes the request and either hands it on —
//! with what it proved added to the extensions — or refuses with a
//! [`Rejection`]; a refused request never reaches the inner service. Whatever
//! answer comes back, the inner service's or the refusal, passes
//! [`Guard::finish`] with the guard's [`Guard::Note`] (the rate-limit headers,
//! the verified key for the response signature, the subject for the audit).
//! Request and response bodies are generic; a guard that reads the body (the
//! signature layer) passes on an empty one and the bytes as an extension.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use slipgate_guard::{Guard, Guarded, Rejection};
//! use slipgate_proto::ProblemCode;
//! use tower::ServiceExt as _;
//!
//! /// Refuses requests without a `x-ticket` header.
//! #[derive(Debug, Clone)]
//! struct Ticket;
//!
//! impl<B: Send + 'static> Guard<B> for Ticket {
//!     type Note = ();
//!     async fn admit(&self, request: Request<B>, _: &mut ()) -> Result<Request<B>, Rejection> {
//!         match request.headers().contains_key("x-ticket") {
//!             true => Ok(request),
//!             false => Err(Rejection::new(ProblemCode::Forbidden, "no ticket")),
//!         }
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let inner = tower::service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
//! let answer = Guarded::new(Ticket, inner).oneshot(Request::new(String::new())).await.unwrap();
//! assert_eq!(answer.status(), 403);
//! assert!(answer.extensions().get::<Rejection>().is_some());
//! # });
//! ```

use std::future::Future;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::{Request, Response};
use tower::Service;

use crate::Rejection;

/// A decision about a request, adapted to tower by [`Guarded`].
pub trait Guard<B>: Clone + Send + Sync + 'static {
    /// What [`Self::admit`] leaves for [`Self::finish`]; `()` when nothing.
    type Note: Default + Send + 'static;

    /// Admits the request (returning it, with what the guard proved in its
    /// extensions) or refuses it.
    fn admit(
        &self,
        request: Request<B>,
        note: &mut Self::Note,
    ) -> impl Future<Output = Result<Request<B>, Rejection>> + Send;

    /// Runs on every answer leaving the layer, the inner service's or the
    /// guard's own refusal.
    fn finish<R>(&self, note: Self::Note, response: &mut Response<R>) {
        let _ = (note, response);
    }
}

/// The service of every guard layer: [`Guard::admit`], then the inner service
/// or the refusal, then [`Guard::finish`].
#[derive(Debug, Clone)]
pub struct Guarded<G, S> {
    guard: G,
    inner: S,
}

impl<G, S> Guarded<G, S> {
    /// `inner` behind `guard`.
    pub fn new(guard: G, inner: S) -> Self {
        Self { guard, inner }
    }
}

impl<G, S, B, R> Service<Request<B>> for Guarded<G, S>
where
    G: Guard<B>,
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is the one that was not polled ready; keep the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let mut note = G::Note::default();
            let mut response = match guard.admit(request, &mut note).await {
                Ok(request) => inner.call(request).await?,
                Err(rejection) => rejection.into_response(),
            };
            guard.finish(note, &mut response);
            Ok(response)
        })
    }
}

/// Implements [`tower::Layer`] for a guard: the layer is the guard, and
/// builds [`Guarded`] around the inner service.
macro_rules! guard_layer {
    ($($guard:ty),* $(,)?) => {$(
        impl<S> tower::Layer<S> for $guard {
            type Service = $crate::Guarded<Self, S>;
            fn layer(&self, inner: S) -> Self::Service {
                $crate::Guarded::new(self.clone(), inner)
            }
        }
    )*};
}
pub(crate) use guard_layer;
